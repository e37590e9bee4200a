"""What ``driftwise backtest --after-tax`` shows: the rule after tax against itself without.

:func:`after_tax_compare` runs one configuration twice through
:func:`driftwise.backtest.aftertax.run_after_tax`: **tax-aware** (the planner's decision
after tax and loss harvesting) and **tax-unaware** (the same rule deciding without tax,
its lots relieved in the same order, the same taxes paid). The **tax alpha** is the
difference of their after-tax annual returns (each from its after-tax liquidation value),
with a paired block-bootstrap interval: the days' log returns of both paths are resampled
on the same blocks (:func:`~driftwise.backtest.bootstrap.block_bootstrap_indices`), the
last day's liquidation tax kept as it is (it is a fact of the end state, not a draw).

:func:`after_tax_sweep` runs a list of configurations that differ in ``[tax]`` (rates,
relief, harvest threshold, gain budget) the same way, one row each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise._types import TRADING_DAYS, FloatArray
from driftwise.app.tax import rates
from driftwise.backtest.aftertax import AfterTaxResult, AfterTaxSettings, run_after_tax
from driftwise.backtest.bootstrap import block_bootstrap_indices
from driftwise.calendar import DateLike
from driftwise.config import Config
from driftwise.config.assemble import rule_grid, run_window
from driftwise.data.market import cash_rate_notices
from driftwise.data.model import Inputs
from driftwise.flags import Notice
from driftwise.policy.tax_gate import TaxSettings
from driftwise.tax import Relief
from driftwise.tax.harvest import replacement_pairs

__all__ = ["AFTER_TAX_FIELDS", "AfterTaxComparison", "after_tax_compare",
           "after_tax_settings", "after_tax_sweep", "harvest_schedule", "tax_alpha_ci"]

AFTER_TAX_FIELDS = ("after_tax_return_annual", "pre_tax_return_annual",
                    "liquidation_value_usd", "final_nav_usd", "taxes_paid_usd",
                    "liquidation_tax_usd", "harvested_loss_usd", "disallowed_usd",
                    "n_rebalances", "n_harvest_days", "te_annual")
"""Columns of :attr:`AfterTaxComparison.metrics`."""


def harvest_schedule(config: Config, harvest_every: str | None = None) -> str:
    """When the tax-aware run harvests: ``harvest_every`` when given (it wins), else
    from ``tax.harvest_in_trades``: the first session of each month when the plan puts
    its harvests in the trade list (true), never when the plan only lists them (false,
    the default: a rule that follows the plan's trades harvests nothing)."""
    if harvest_every is not None:
        return harvest_every
    return "month" if config.tax.harvest_in_trades else "never"


def after_tax_settings(config: Config, *, aware: bool = True,
                       harvest_every: str | None = None,
                       swap_back: bool = False) -> AfterTaxSettings:
    """The after-tax settings of ``config``'s ``[tax]`` section.

    Every ``[tax]`` key is read: the rates and holding period, ``lot_relief`` with
    ``specific_lots`` (lots of the holdings the run starts from), the gain budget, the
    deferral, the wash-sale window and ``allow_wash_sales``, the harvest thresholds,
    ``harvest_pairs`` (a harvest's replacement) and the harvest value's discount rate and
    years to sale (the harvest table); ``harvest_in_trades`` sets whether the tax-aware
    run harvests (:func:`harvest_schedule`, unless ``harvest_every`` is given), and
    ``enabled`` makes ``driftwise backtest`` run after tax (``--after-tax`` /
    ``--no-after-tax`` win over it).
    """
    t = config.tax
    tax = TaxSettings(rates=rates(config), relief=Relief(t.lot_relief.value),
                      specific=t.specific_lots if t.lot_relief.value == Relief.SPECIFIC
                      else (),
                      gain_budget_usd=t.gain_budget_usd,
                      defer_horizon_days=(float(t.defer_horizon_days)
                                          if t.defer_short_term_gains else 0.0),
                      wash_window_days=t.wash_sale_days, allow_wash_sales=t.allow_wash_sales,
                      harvest_discount_rate_annual=t.harvest_discount_rate_annual,
                      harvest_years_to_sale=t.harvest_years_to_sale)
    return AfterTaxSettings(tax=tax, aware=aware,
                            harvest_every=harvest_schedule(config, harvest_every),
                            harvest_threshold=t.harvest_loss_threshold,
                            harvest_min_loss_usd=t.harvest_min_loss_usd,
                            harvest_pairs=tuple(replacement_pairs(t.harvest_pairs).items()),
                            swap_back=swap_back,
                            harvest_discount_rate_annual=t.harvest_discount_rate_annual,
                            harvest_years_to_sale=t.harvest_years_to_sale)


def run_one(inputs: Inputs, config: Config, *, aware: bool, harvest_every: str | None = None,
            swap_back: bool = False, start: DateLike | None = None,
            end: DateLike | None = None) -> AfterTaxResult:
    """One after-tax run of ``config`` over the window (``harvest_every`` None: from
    ``tax.harvest_in_trades``, :func:`harvest_schedule`)."""
    window = run_window([config], start, end, inputs)
    return run_after_tax(inputs, rule_grid([config]), window,
                         after_tax_settings(config, aware=aware, harvest_every=harvest_every,
                                            swap_back=swap_back))


def _log_returns(result: AfterTaxResult) -> tuple[FloatArray, float]:
    """Daily log returns before the last day's liquidation, and the liquidation's log
    factor."""
    nav = result.nav_usd
    daily = np.diff(np.log(np.concatenate([[result.initial_nav_usd], nav])))
    return daily, float(np.log(result.liquidation_value_usd / nav[-1]))


def tax_alpha_ci(aware: AfterTaxResult, unaware: AfterTaxResult, *, samples: int = 1000,
                 block: int = 21, seed: int = 0, level: float = 0.95
                 ) -> tuple[float, float, float]:
    """The tax alpha (after-tax annual return, aware − unaware) and its paired
    block-bootstrap interval (module docstring)."""
    ra, la = _log_returns(aware)
    rb, lb = _log_returns(unaware)
    n = len(ra)
    rng = np.random.default_rng(seed)
    idx = block_bootstrap_indices(n, block, samples, rng)
    per_year = TRADING_DAYS / max(n - 1, 1)
    a = np.expm1((ra[idx].sum(axis=1) + la) * per_year)
    b = np.expm1((rb[idx].sum(axis=1) + lb) * per_year)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(a - b, [tail, 1.0 - tail])
    estimate = aware.after_tax_return_annual - unaware.after_tax_return_annual
    return float(estimate), float(low), float(high)


def metrics_row(result: AfterTaxResult) -> dict[str, float]:
    """The after-tax metrics of one run (:data:`AFTER_TAX_FIELDS`)."""
    n = max(len(result.dates) - 1, 1)
    pre = (result.nav_usd[-1] / result.initial_nav_usd) ** (TRADING_DAYS / n) - 1.0
    return {"after_tax_return_annual": result.after_tax_return_annual,
            "pre_tax_return_annual": float(pre),
            "liquidation_value_usd": result.liquidation_value_usd,
            "final_nav_usd": float(result.nav_usd[-1]),
            "taxes_paid_usd": result.taxes_paid_usd,
            "liquidation_tax_usd": result.liquidation_tax_usd,
            "harvested_loss_usd": result.harvested_loss_usd,
            "disallowed_usd": result.disallowed_usd,
            "n_rebalances": float(result.rebalanced.sum()),
            "n_harvest_days": float(result.harvested.sum()),
            "te_annual": result.te_annual}


@dataclass(frozen=True)
class AfterTaxComparison:
    """The tax-aware and tax-unaware runs of one rule and the tax alpha.

    Attributes
    ----------
    aware, unaware : AfterTaxResult
    metrics : pd.DataFrame
        One row per run (``tax-aware``, ``tax-unaware``), :data:`AFTER_TAX_FIELDS`.
    tax_alpha, tax_alpha_low, tax_alpha_high : float
        After-tax annual return difference and its 95% interval, fractions a year.
    harvest_every : str
        When the tax-aware run harvested (:func:`harvest_schedule`).
    notices : tuple of Notice
        The window's flags ``backtest --after-tax`` prints: the days on which cash earns
        nothing (:func:`~driftwise.data.market.cash_rate_notices`).
    """

    aware: AfterTaxResult
    unaware: AfterTaxResult
    metrics: pd.DataFrame
    tax_alpha: float
    tax_alpha_low: float
    tax_alpha_high: float
    harvest_every: str
    notices: tuple[Notice, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"start": self.aware.dates[0], "end": self.aware.dates[-1],
                "days": len(self.aware.dates), "initial_nav_usd": self.aware.initial_nav_usd,
                "runs": self.metrics.to_dict(orient="index"),
                "tax_alpha": self.tax_alpha, "tax_alpha_low": self.tax_alpha_low,
                "tax_alpha_high": self.tax_alpha_high, "harvest_every": self.harvest_every,
                "years": {"tax-aware": self.aware.years, "tax-unaware": self.unaware.years}}


def after_tax_compare(inputs: Inputs, config: Config, *, start: DateLike | None = None,
                      end: DateLike | None = None, harvest_every: str | None = None,
                      swap_back: bool = False, samples: int = 1000, block: int = 21,
                      seed: int = 0) -> AfterTaxComparison:
    """Run ``config`` tax-aware and tax-unaware; the metrics and the tax alpha.

    ``harvest_every`` None: the tax-aware run harvests as ``tax.harvest_in_trades`` says
    (:func:`harvest_schedule`)."""
    every = harvest_schedule(config, harvest_every)
    aware = run_one(inputs, config, aware=True, harvest_every=every,
                    swap_back=swap_back, start=start, end=end)
    unaware = run_one(inputs, config, aware=False, harvest_every="never", start=start,
                      end=end)
    out = _comparison(aware, unaware, samples=samples, block=block, seed=seed,
                      harvest_every=every)
    dates = pd.DatetimeIndex(aware.dates)
    return dataclasses.replace(out, notices=cash_rate_notices(
        inputs.market, dates[0], dates[-1], earns=config.backtest.cash_earns_risk_free))


def _comparison(aware: AfterTaxResult, unaware: AfterTaxResult, *, samples: int,
                block: int, seed: int, harvest_every: str) -> AfterTaxComparison:
    metrics = pd.DataFrame([metrics_row(aware), metrics_row(unaware)],
                           index=pd.Index(["tax-aware", "tax-unaware"], name="run"))
    alpha, low, high = tax_alpha_ci(aware, unaware, samples=samples, block=block, seed=seed)
    return AfterTaxComparison(aware, unaware, metrics, alpha, low, high, harvest_every)


SWEEP_KEYS = ("short_term_rate", "long_term_rate", "lot_relief", "harvest_loss_threshold",
              "gain_budget_usd")
"""The ``[tax]`` keys :func:`after_tax_sweep` reports per row (with ``tax_weight``, the
optimized destination's γ_tax)."""

HARVEST_ONLY = {"harvest_loss_threshold": 0.10, "harvest_min_loss_usd": 1000.0,
                "harvest_discount_rate_annual": 0.05, "harvest_years_to_sale": 10.0,
                "harvest_in_trades": False}
"""``[tax]`` keys the tax-unaware run does not read (it never harvests): configurations
that differ only in them (or in :data:`AWARE_ONLY`) share one tax-unaware run."""

AWARE_ONLY = {"optimizer.tax_weight": 1.0}
"""Keys outside ``[tax]`` only the tax-aware run reads: γ_tax, the weight of the tax in
the optimized destination's solve (the tax-unaware run's solve has no tax term)."""


MIN_RUN_DAYS_PER_WORKER = 20_000
"""Least run-sessions (runs × sessions of the window) worth a worker process when
``workers`` is left to the run: an after-tax run is a Python day loop of about a
millisecond a session, and starting a local cluster costs seconds."""


def _sweep_workers(workers: int | None, scheduler: str | None, n_runs: int,
                   n_days: int) -> int | None:
    """Worker processes of a sweep (1: inline; None: a remote scheduler's)."""
    from driftwise.backtest.cluster import available_cores, check_workers

    check_workers(workers)
    if scheduler is not None:
        return None
    if workers is not None:
        return min(workers, n_runs)
    return max(1, min(available_cores(), n_runs * n_days // MIN_RUN_DAYS_PER_WORKER))


@dataclass(frozen=True)
class _SweepData:
    """What every task of a sweep reads (sent to each worker once)."""

    inputs: Inputs
    start: DateLike | None
    end: DateLike | None
    harvest_every: str | None
    swap_back: bool


def _sweep_task(data: _SweepData, item: tuple[Config, bool]) -> AfterTaxResult:
    """One run of a sweep: ``(configuration, tax-aware)``."""
    config, aware = item
    return run_one(data.inputs, config, aware=aware,
                   harvest_every=harvest_schedule(config, data.harvest_every) if aware
                   else "never",
                   swap_back=data.swap_back and aware, start=data.start, end=data.end)


def _unaware_key(config: Config) -> str:
    return with_tax(config, **HARVEST_ONLY).with_overrides(AWARE_ONLY).model_dump_json()


def after_tax_sweep(inputs: Inputs, configs: Sequence[Config], *,
                    start: DateLike | None = None, end: DateLike | None = None,
                    harvest_every: str | None = None, swap_back: bool = False,
                    samples: int = 1000, block: int = 21, seed: int = 0,
                    workers: int | None = 1, scheduler: str | None = None,
                    progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per configuration: its tax settings, after-tax metrics and tax alpha.

    The configurations share the window (:func:`~driftwise.config.assemble.run_window`
    refuses those that do not); each is compared with itself without tax awareness, as
    :func:`after_tax_compare` alone gives it. The runs are one batch: the tax-unaware run
    of configurations that differ only in their harvest settings (:data:`HARVEST_ONLY`)
    or in γ_tax (:data:`AWARE_ONLY`) is made once, and with ``workers`` above 1 or a
    ``scheduler`` the runs are tasks on a Dask cluster (:mod:`driftwise.backtest.cluster`),
    each run one task, the results in the configurations' order whatever the cluster.
    ``workers`` None: every core, fewer for a small sweep (:data:`MIN_RUN_DAYS_PER_WORKER`),
    inline below two.
    """
    configs = list(configs)
    run_window(configs, start, end, inputs)
    keys = [_unaware_key(c) for c in configs]
    first = {k: configs[j] for j, k in reversed(list(enumerate(keys)))}
    baselines = list(dict.fromkeys(keys))
    items = [(c, True) for c in configs] + [(first[k], False) for k in baselines]
    data = _SweepData(inputs, start, end, harvest_every, swap_back)
    window = run_window(configs[:1], start, end, inputs)
    dates = inputs.market.prices.index
    n_days = int(((dates >= pd.Timestamp(window.start or dates[0]))
                  & (dates <= pd.Timestamp(window.end or dates[-1]))).sum())
    jobs = _sweep_workers(workers, scheduler, len(items), n_days)
    if jobs != 1 and len(items) > 1:
        from driftwise.backtest.cluster import client, run_tasks

        with client(jobs, scheduler) as dask_client:
            results = run_tasks(dask_client, _sweep_task, items, data, progress)
    else:
        results = []
        for j, item in enumerate(items):
            results.append(_sweep_task(data, item))
            if progress is not None:
                progress(j + 1, len(items))
    aware_runs = results[:len(configs)]
    unaware_runs = dict(zip(baselines, results[len(configs):], strict=True))
    rows = []
    for config, key, aware in zip(configs, keys, aware_runs, strict=True):
        every = harvest_schedule(config, harvest_every)
        c = _comparison(aware, unaware_runs[key], samples=samples, block=block, seed=seed,
                        harvest_every=every)
        row: dict[str, object] = {k: _plain(getattr(config.tax, k)) for k in SWEEP_KEYS}
        row["tax_weight"] = config.optimizer.tax_weight
        row["harvest_every"] = every
        metrics = c.metrics.to_dict(orient="index")
        row.update({f"aware_{k}": v for k, v in metrics["tax-aware"].items()})
        row.update({"unaware_after_tax_return_annual":
                    metrics["tax-unaware"]["after_tax_return_annual"],
                    "unaware_te_annual": metrics["tax-unaware"]["te_annual"],
                    "tax_alpha": c.tax_alpha, "tax_alpha_low": c.tax_alpha_low,
                    "tax_alpha_high": c.tax_alpha_high})
        rows.append(row)
    return pd.DataFrame(rows)


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def with_tax(config: Config, **tax: object) -> Config:
    """``config`` with ``[tax]`` keys replaced (a sweep's member)."""
    return config.with_overrides({f"tax.{k}": v for k, v in tax.items()})

