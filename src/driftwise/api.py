"""The library API: ``import driftwise as dw``, with the command line's defaults.

Each function composes the functions the commands call, so ``dw.plan()`` is
``driftwise plan`` and ``dw.backtest()`` is ``driftwise backtest``: same inputs, same
configuration, same result. Inputs are files or pandas objects, checked by the same
readers (an error names the field and the row); nothing given means the embedded sample.
See ``docs/api.md`` for a session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from driftwise.config import Config, accepted_jumps, default_config, load_config
from driftwise.data.model import CASH, Inputs
from driftwise.errors import ConfigError

if TYPE_CHECKING:
    from driftwise.app.backtest import Comparison
    from driftwise.app.monitor import MonitorReport
    from driftwise.app.plan import Plan
    from driftwise.backtest.paths import PathSettings
    from driftwise.metrics.risk import CovarianceEstimator
    from driftwise.policy.context import Frequency
    from driftwise.validation.study import StudyResult

Table = str | Path | pd.DataFrame
"""A file path (CSV or Parquet) or a DataFrame with the columns of that file."""
ConfigLike = Config | str | Path | Mapping[str, object] | None
"""A configuration: a :class:`Config`, a TOML file, dotted overrides of the defaults
(``{"policy.threshold": 0.03}``), or None for the defaults."""


def as_config(value: ConfigLike = None) -> Config:
    """A configuration from a :class:`Config`, a TOML path, dotted overrides, or None.

    Raises
    ------
    ConfigError
        A file that does not validate, or an override naming an unknown field or with a
        bad value (the message names the field).
    """
    if value is None:
        return default_config()
    if isinstance(value, Config):
        return value
    if isinstance(value, str | Path):
        return load_config(value)
    if isinstance(value, Mapping):
        return default_config().with_overrides(value, source="config overrides")
    raise ConfigError(f"config: expected a Config, a TOML path or a dict of dotted fields; "
                      f"found {type(value).__name__}")


def load(*, holdings: Table | pd.Series | None = None, cash_usd: float = 0.0,
         targets: Table | pd.Series | None = None, prices: Table | None = None,
         volumes: Table | None = None, master: Table | None = None,
         vix: Table | pd.Series | None = None, lots: Table | None = None,
         costs: Table | None = None, last_rebalance: str | pd.Timestamp | None = None,
         accept_jumps: Sequence[str] = (), config: ConfigLike = None,
         sales: Table | None = None, risk_free: Table | pd.Series | None = None) -> Inputs:
    """Read and validate a portfolio's inputs; nothing given: the embedded sample.

    Parameters
    ----------
    holdings : path, DataFrame or Series, optional
        The holdings file's table (``ticker, shares``; a ``CASH`` row), or a Series of
        shares indexed by ticker with ``cash_usd`` beside it.
    cash_usd : float
        Cash in USD when ``holdings`` is a Series.
    targets : path, DataFrame or Series, optional
        The targets table, or a Series of target weights (fractions) indexed by ticker
        (``"CASH"`` for a cash target).
    prices : path or DataFrame, optional
        Daily closes in USD: long (``date, ticker, close``) or wide (a DataFrame indexed by
        date, one column per ticker). Needs ``holdings`` or ``targets``; with targets and no
        holdings the inputs serve a backtest only.
    volumes, master, lots, costs : path or DataFrame, optional
        Shares traded per day (as ``prices``), the security master, tax lots and the cost
        inputs, as the files of ``--volumes``, ``--master``, ``--lots``, ``--cost-file``.
    vix : path, DataFrame or Series, optional
        VIX closes (``date, close``), or a Series indexed by date.
    last_rebalance : date, optional
        Default: the configuration's ``portfolio.last_rebalance``.
    accept_jumps : sequence of str
        ``TICKER:YYYY-MM-DD`` price jumps known to be real (added to ``data.accept_jumps``).
    config : Config, path or dict, optional
        See :func:`as_config`.
    sales : path or DataFrame, optional
        Recent realized sales (``ticker, sold, shares, proceeds_usd, cost_basis_usd``), as
        the file of ``--sales``: the loss sales a buy would wash and the gains realized
        this year, which the plan after tax (``[tax] enabled``) reads.
    risk_free : path, DataFrame or Series, optional
        The risk-free rate (``date, rate_annual`` as a fraction), or a Series of annual
        rates indexed by date, as the file of ``--risk-free``: the rate cash earns in a
        backtest (unless ``backtest.cash_earns_risk_free = false``) and the Sharpe
        ratio's. Without it cash earns nothing, and the backtest flags it.

    Raises
    ------
    DataError
        An input fails validation (the message names the table, row and field).
    ConfigError
        ``holdings`` without ``prices``, or ``prices`` with neither holdings nor targets.
    """
    from driftwise.app.backtest import backtest_default_target
    from driftwise.data.loader import load_backtest_inputs, load_inputs

    cfg = as_config(config)
    jumps = accepted_jumps(cfg, accept_jumps)
    target, vix_table = _weights(targets), _closes(vix)
    rates = _rates(risk_free)
    if holdings is None and prices is not None:
        return load_backtest_inputs(prices=prices, targets=target, volumes=volumes,
                                    master=master, vix=vix_table, cost_file=costs,
                                    accept_jumps=jumps, risk_free=rates,
                                    default_target=backtest_default_target(cfg))
    last = last_rebalance if last_rebalance is not None else cfg.portfolio.last_rebalance
    inputs = load_inputs(holdings=_shares(holdings, cash_usd), targets=target, prices=prices,
                         volumes=volumes, master=master, vix=vix_table, lots=lots,
                         cost_file=costs,
                         last_rebalance=None if last is None else pd.Timestamp(last),
                         default_target=cfg.portfolio.default_target, accept_jumps=jumps,
                         risk_free=rates)
    if sales is None:
        return inputs
    import dataclasses

    from driftwise.data.sales import read_sales

    return dataclasses.replace(inputs, sales=read_sales(
        sales, as_of=inputs.market.prices.index[-1]))


def monitor(inputs: Inputs | None = None, *, config: ConfigLike = None,
            as_of: str | pd.Timestamp | None = None, threshold: float | None = None,
            estimator: CovarianceEstimator | str | None = None) -> MonitorReport:
    """Where the portfolio stands (``driftwise monitor``): drift, TE, drift speed, flags.

    ``inputs`` default: :func:`load` of the sample. ``threshold`` (portfolio drift,
    fraction) and ``estimator`` replace the configuration's ``monitor.threshold`` and
    ``risk.estimator``. Its ``to_frame()`` is the per-asset table.
    """
    import dataclasses

    from driftwise.app.monitor import monitor as run_monitor
    from driftwise.config.assemble import cost_params, monitor_config
    from driftwise.metrics.risk import CovarianceEstimator

    cfg = as_config(config)
    data = _checked(inputs if inputs is not None else load(config=cfg), as_of)
    settings = monitor_config(cfg)
    if estimator is not None:
        settings = dataclasses.replace(settings, estimator=CovarianceEstimator(estimator))
    if threshold is not None:
        settings = dataclasses.replace(settings, threshold=float(threshold))
    return run_monitor(data, as_of=as_of, config=settings, cost_params=cost_params(cfg))


def plan(inputs: Inputs | None = None, *, config: ConfigLike = None,
         as_of: str | pd.Timestamp | None = None, donate_usd: float = 0.0) -> Plan:
    """Today's decision (``driftwise plan``): rebalance, partial, delay, skip or invalid.

    ``inputs`` default: :func:`load` of the sample; ``as_of`` default: the last price date.
    ``donate_usd`` (``--donate-usd``): give that amount first in appreciated long-term
    lots (``Plan.donation`` shows the tax avoided). Its ``to_frame()`` is the trade list.
    """
    from driftwise.app.plan import make_plan

    cfg = as_config(config)
    data = _checked(inputs if inputs is not None else load(config=cfg), as_of)
    return make_plan(data, cfg, as_of=as_of, donate_usd=donate_usd)


def backtest(inputs: Inputs | None = None, rules: Sequence[str] | Mapping[str, Config] |
             None = None, *, config: ConfigLike = None,
             thresholds: Sequence[float] | None = None, cost_bps: float | None = None,
             start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None,
             samples: int | None = None, sweep: bool = False,
             workers: int | None = None, scheduler: str | None = None,
             paths: PathSettings | None = None) -> Comparison:
    """Compare rebalancing rules on history (``driftwise backtest``).

    Parameters
    ----------
    inputs : Inputs, optional
        Default: :func:`load` of the sample.
    rules : sequence of str or dict of str to Config, optional
        Names of standard policies (``"monthly"``, ``"threshold"``, ``"hybrid"``,
        ``"cost-benefit"``, ...; those with a threshold run once per ``thresholds``), or
        configurations by display name. Default: the methodology's five rules, plus the
        configuration's own rule as ``"your rule"`` when ``config`` is given.
    config : Config, path or dict, optional
        The base of the named rules (destination, constraints, costs, window).
    thresholds : sequence of float, optional
        Drift thresholds (fractions) of the threshold-type rules.
    cost_bps : float, optional
        A flat cost in bps of traded value instead of the cost model.
    start, end : date, optional
        Default: ``backtest.start`` / ``backtest.end``, else the last 10 years.
    samples : int, optional
        Bootstrap resamples (default ``backtest.bootstrap_samples``).
    sweep : bool
        Also sweep the configuration's ``[backtest]`` grid.
    workers : int, optional
        Processes of the local Dask cluster a large run is shared among (default
        ``cluster.workers``, else every core when the run is large enough; 1: this process
        alone); the result does not depend on it.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``) to share the run with
        instead (default ``cluster.scheduler``); the result does not depend on it.
    paths : PathSettings, optional
        Also run every rule over many paths (rolling start dates, random point-in-time
        portfolios; :class:`driftwise.backtest.paths.PathSettings`): ``result.paths`` holds
        the means across paths with intervals, P(beats) and a ranking with intervals
        (``result.paths.to_frame()``).

    Returns
    -------
    Comparison
        ``to_frame()``: one row per rule with its metrics and intervals.
    """
    from driftwise.app.backtest import backtest_window, compare
    from driftwise.app.sweep import SweepGrid
    from driftwise.config import policies

    cfg = as_config(config)
    data = inputs if inputs is not None else load(config=cfg)
    first, last = backtest_window(data, cfg, start, end)
    if isinstance(rules, Mapping):
        configs = {name: policies.with_flat_cost(c, cost_bps) for name, c in rules.items()}
    else:
        configs = policies.build_policies(cfg, rules, thresholds, cost_bps)
        if rules is None and config is not None:
            configs[policies.YOUR_RULE] = policies.with_flat_cost(cfg, cost_bps)
    b = cfg.backtest
    base = policies.threshold(0.05, destination=cfg.policy.destination, base=cfg)
    return compare(data, list(configs.values()), list(configs), start=first, end=last,
                   grid=SweepGrid.from_config(b) if sweep else None,
                   grid_base=policies.with_flat_cost(base, cost_bps),
                   samples=samples if samples is not None else b.bootstrap_samples,
                   block=b.bootstrap_block_days, seed=b.seed,
                   workers=workers if workers is not None else cfg.cluster.workers,
                   scheduler=scheduler if scheduler is not None else cfg.cluster.scheduler,
                   paths=paths)


def validate_rules(*, universe: str = "sample", data_dir: str | Path | None = None,
                   portfolios: int | None = None, start: str | None = None,
                   end: str | None = None, vix: str | Path | None = None,
                   risk_free: str | Path | None = None,
                   review: Frequency | str = "quarter", event_gap: int = 5,
                   nav_usd: float = 1e6, seed: int = 0, falsification: bool = True,
                   rules: Sequence[str] | None = None, workers: int | None = None,
                   scheduler: str | None = None, config: ConfigLike = None) -> StudyResult:
    """Test the methodology's insight rules on history (``driftwise validate-rules``).

    ``universe``: ``"sample"`` or ``"sp500"`` (the 504-stock data in ``data_dir``), with
    ``portfolios`` random portfolios added; ``risk_free``: a risk-free rate file
    (``date, rate_annual``) cash earns in the falsification backtest, as ``--risk-free``;
    ``rules``: keys of the rules to study (default
    all four); ``workers`` (default ``cluster.workers``, else 2) and ``scheduler`` (default
    ``cluster.scheduler``): where its tasks run (a local Dask cluster, or a running
    scheduler; the numbers do not depend on it); the other parameters as the command's
    options. Its ``to_frame()`` is the verdict per rule.
    """
    import dataclasses

    from driftwise.config.assemble import study_settings
    from driftwise.policy.context import Frequency
    from driftwise.validation.study import run_study, study_portfolios, study_window

    folder = Path(data_dir) if data_dir is not None else None
    specs = study_portfolios(universe, folder, portfolios, seed, start, end)
    if vix is not None:
        specs = [dataclasses.replace(spec, vix_file=str(vix)) for spec in specs]
    if risk_free is not None:
        from driftwise.data.market import read_risk_free

        read_risk_free(risk_free)  # a bad file fails here, before the study's tasks
        specs = [dataclasses.replace(spec, risk_free_file=str(risk_free)) for spec in specs]
    first, last = study_window(universe, start, end)
    cfg = as_config(config)
    workers = workers if workers is not None else cfg.cluster.workers or 2
    settings = study_settings(cfg, nav_usd=nav_usd, start=first,
                              end=last, review=Frequency(review), gap_days=event_gap,
                              workers=workers, seed=seed, falsification=falsification,
                              chunks=max(8, 2 * workers),
                              scheduler=scheduler if scheduler is not None
                              else cfg.cluster.scheduler)
    if rules is not None:
        settings = dataclasses.replace(settings, rules=tuple(rules))
    return run_study(specs, settings)


def report(inputs: Inputs | None = None, out: str | Path = "report.html", *,
           config: ConfigLike = None, as_of: str | pd.Timestamp | None = None,
           years: int = 10, sweep: bool = True, validate: bool = True) -> Path:
    """Write the self-contained HTML report (``driftwise report``) and return its path.

    The plan of ``inputs`` (default: the sample) on ``as_of``, the backtest of the
    methodology's five rules over the last ``years`` (with the sweep unless ``sweep`` is
    False) and, with ``validate``, the rule validation study of the sample.
    """
    from driftwise.cli.report import write_full_report

    cfg = as_config(config)
    data = inputs if inputs is not None else load(config=cfg)
    return write_full_report(Path(out), data, cfg, plan(data, config=cfg, as_of=as_of),
                             years=years, sweep=sweep, validate=validate)


def _checked(inputs: Inputs, as_of: str | pd.Timestamp | None) -> Inputs:
    """``inputs``, after refusing a last rebalance later than the as-of date.

    Raises
    ------
    ConfigError
        The last rebalance is after the as-of date (default: the last price date).
    """
    from driftwise.data.loader import last_rebalance_after

    day = last_rebalance_after(inputs, as_of)
    if day is not None and inputs.last_rebalance is not None:
        raise ConfigError(f"the last rebalance {inputs.last_rebalance.date()} is after the "
                          f"as-of date {day.date()}")
    return inputs


def _shares(holdings: Table | pd.Series | None, cash_usd: float) -> Table | None:
    """A holdings Series of shares (index ticker) as the holdings table, with its cash row."""
    if not isinstance(holdings, pd.Series):
        return _table("holdings", holdings)
    rows = pd.DataFrame({"ticker": [str(t) for t in holdings.index],
                         "shares": holdings.to_numpy()})
    cash = pd.DataFrame({"ticker": [CASH], "shares": [float(cash_usd)]})
    return pd.concat([rows, cash], ignore_index=True)


def _weights(targets: Table | pd.Series | None) -> Table | None:
    """A targets Series of weights (index ticker) as the targets table."""
    if not isinstance(targets, pd.Series):
        return _table("targets", targets)
    return pd.DataFrame({"ticker": [str(t) for t in targets.index],
                         "target_weight": targets.to_numpy()})


def _closes(vix: Table | pd.Series | None) -> Table | None:
    """A VIX Series (index date) as the VIX table."""
    if not isinstance(vix, pd.Series):
        return _table("vix", vix)
    return pd.DataFrame({"date": vix.index, "close": vix.to_numpy()})


def _rates(risk_free: Table | pd.Series | None) -> Table | None:
    """A risk-free Series (index date, annual fractions) as the risk-free table."""
    if not isinstance(risk_free, pd.Series):
        return _table("risk_free", risk_free)
    return pd.DataFrame({"date": risk_free.index, "rate_annual": risk_free.to_numpy()})


def _table(name: str, value: object) -> Table | None:
    if value is None or isinstance(value, str | Path | pd.DataFrame):
        return value
    raise ConfigError(f"{name}: expected a file path, a DataFrame or a Series; found "
                      f"{type(value).__name__}")
