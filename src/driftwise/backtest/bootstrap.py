"""Block-bootstrap confidence intervals for differences between rules.

Daily backtest series are autocorrelated (drift builds up, rebalances cluster in
volatile spells), so days are resampled in blocks. Every configuration is resampled on
the **same** blocks of days (a paired bootstrap): the common market path cancels in a
difference and only the effect of the rule remains.

The resamples are an array ``(n_samples, n_days)`` of day indices; a metric is evaluated
on all of them at once by the kernels of :mod:`driftwise.backtest.metrics`, which reduce
the time axis of ``(n_samples, n_days, n_configs)`` arrays. Only memory-bounded chunks of
resamples are looped over.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import numpy as np
import pandas as pd

from driftwise._types import TRADING_DAYS, FloatArray, IntArray
from driftwise.backtest.metrics import (
    ResultLike,
    annualized_return,
    annualized_volatility,
    cost_per_year,
    daily_returns,
    result_arrays,
    sharpe_ratio,
)
from driftwise.errors import ConfigError

__all__ = [
    "BOOTSTRAP_METRICS", "BootstrapKind", "DifferenceCI", "block_bootstrap_indices",
    "bootstrap_metric", "difference_ci", "pairwise_differences",
]

Series = tuple[FloatArray, ...]

CHUNK_ELEMENTS = 1 << 22
"""Resampled values held in memory at once (about 32 MB of float64)."""


class BootstrapKind(StrEnum):
    """Block bootstrap schemes of Politis and Romano."""

    CIRCULAR = "circular"
    STATIONARY = "stationary"


class DifferenceCI(NamedTuple):
    """Bootstrap estimate and interval of ``metric(a) - metric(b)``.

    Attributes
    ----------
    estimate : float
        The difference on the observed days (equals the difference of the
        :func:`~driftwise.backtest.metrics.policy_metrics` values).
    low, high : float
        Percentile interval ``[q(alpha/2), q(1 - alpha/2)]`` of the resampled differences.
    share_le_zero : float
        Share of resampled differences ``<= 0``: a one-sided p-value of "a > b"
        (``2 * min(s, 1 - s)`` approximates a two-sided p-value).
    """

    estimate: float
    low: float
    high: float
    share_le_zero: float


@dataclass(frozen=True)
class _Spec:
    """How to bootstrap one metric: its per-day series and the statistic over them."""

    series: Callable[[dict[str, FloatArray], float], Series]
    stat: Callable[[Series, float], FloatArray]


def _returns(a: dict[str, FloatArray], p: float) -> Series:
    return (daily_returns(a["nav_usd"]),)


def _active(a: dict[str, FloatArray], p: float) -> Series:
    return (daily_returns(a["nav_usd"]) - daily_returns(a["ref_nav_usd"][:, None]),)


def _excess(a: dict[str, FloatArray], p: float) -> Series:
    return (daily_returns(a["nav_usd"]) - a["risk_free_annual"][:-1, None] / p,)


_SPECS: dict[str, _Spec] = {
    "te_annual": _Spec(_active, lambda s, p: annualized_volatility(s[0], periods_per_year=p)),
    "vol_annual": _Spec(_returns, lambda s, p: annualized_volatility(s[0], periods_per_year=p)),
    "sharpe": _Spec(_excess, lambda s, p: sharpe_ratio(s[0], periods_per_year=p)),
    "return_annual": _Spec(_returns, lambda s, p: annualized_return(s[0], periods_per_year=p)),
    "cost_per_year": _Spec(lambda a, p: (a["cost_usd"] / a["nav_usd"],),
                           lambda s, p: cost_per_year(s[0], 1.0, periods_per_year=p)),
    "turnover_per_year": _Spec(lambda a, p: (0.5 * a["traded_usd"] / a["nav_usd"],),
                               lambda s, p: np.asarray(p * np.mean(s[0], axis=-2))),
    "mean_drift": _Spec(lambda a, p: (a["drift"],),
                        lambda s, p: np.asarray(np.mean(s[0], axis=-2), dtype=np.float64)),
}

BOOTSTRAP_METRICS = tuple(_SPECS)
"""Metrics :func:`difference_ci` accepts (columns of ``policy_metrics``)."""


def block_bootstrap_indices(n: int, block: int, n_samples: int, rng: np.random.Generator, *,
                            kind: BootstrapKind | str = BootstrapKind.CIRCULAR) -> IntArray:
    """Day indices of block-bootstrap resamples.

    Parameters
    ----------
    n : int
        Number of days (observations) in the series, ``>= 1``.
    block : int
        Block length in days (circular) or mean block length (stationary), ``>= 1``.
    n_samples : int
        Number of resamples, ``>= 1``.
    rng : numpy.random.Generator
        Source of randomness.
    kind : BootstrapKind or str
        ``"circular"`` (default) or ``"stationary"``.

    Returns
    -------
    ndarray of intp, shape (n_samples, n)
        Row ``s`` lists the days of resample ``s``, each in ``[0, n)``.

    Raises
    ------
    ConfigError
        A non-positive ``n``, ``block`` or ``n_samples`` or an unknown ``kind``.

    Notes
    -----
    Circular block bootstrap (Politis and Romano 1992, "A circular block-resampling
    procedure for stationary data"): the series is wrapped on a circle, ``ceil(n / block)``
    blocks of ``block`` consecutive days start at uniform random days, and their
    concatenation is cut to ``n`` days. Every day is drawn with the same probability, so
    the resampled mean is unbiased for the observed mean.

    Stationary bootstrap (Politis and Romano 1994, JASA 89(428)): block lengths are
    geometric with mean ``block``; each day starts a new block at a uniform random day
    with probability ``1 / block``, else continues the previous block (wrapping).
    """
    for name, value in (("n", n), ("block", block), ("n_samples", n_samples)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"{name} must be a whole number >= 1, found {value!r}")
    try:
        scheme = BootstrapKind(kind)
    except ValueError:
        raise ConfigError(f"kind must be one of {[k.value for k in BootstrapKind]}, "
                          f"found {kind!r}") from None
    if scheme is BootstrapKind.CIRCULAR:
        n_blocks = -(-n // block)
        starts = rng.integers(0, n, size=(n_samples, n_blocks))
        days = (starts[:, :, None] + np.arange(block)) % n
        return np.asarray(days.reshape(n_samples, n_blocks * block)[:, :n], dtype=np.intp)
    new_block = rng.random((n_samples, n)) < 1.0 / block
    new_block[:, 0] = True
    starts = rng.integers(0, n, size=(n_samples, n))
    pos = np.arange(n)
    begun = np.maximum.accumulate(np.where(new_block, pos, 0), axis=1)
    first = np.take_along_axis(starts, begun, axis=1)
    return np.asarray((first + pos - begun) % n, dtype=np.intp)


def _check_metric(metric: str) -> _Spec:
    if metric not in _SPECS:
        raise ConfigError(f"metric must be one of {list(BOOTSTRAP_METRICS)}, found {metric!r}")
    return _SPECS[metric]


def _positions(result: ResultLike, labels: Sequence[str]) -> list[int]:
    names = list(result.names)
    out = []
    for label in labels:
        if label not in names:
            shown = ", ".join(map(str, names[:10])) + (", ..." if len(names) > 10 else "")
            raise ConfigError(f"unknown configuration {label!r}; the result holds: {shown}")
        out.append(names.index(label))
    return out


def bootstrap_metric(result: ResultLike, metric: str, *, configs: Sequence[str] | None = None,
                     block: int = 21, samples: int = 1000, seed: int = 0,
                     kind: BootstrapKind | str = BootstrapKind.CIRCULAR,
                     periods_per_year: float = TRADING_DAYS) -> tuple[FloatArray, FloatArray]:
    """A metric on the observed days and on paired block-bootstrap resamples.

    Parameters
    ----------
    result : ResultLike
        Backtest result, ``T`` days and ``C`` configurations.
    metric : str
        One of :data:`BOOTSTRAP_METRICS`.
    configs : sequence of str, optional
        Configuration names to evaluate (default: all, in the result's order).
    block, samples, seed, kind :
        Block length (days), number of resamples, random seed and scheme of
        :func:`block_bootstrap_indices`.
    periods_per_year : float
        Trading days in a year.

    Returns
    -------
    estimate : ndarray, shape (k,)
        The metric per configuration on the observed days.
    draws : ndarray, shape (samples, k)
        The metric on each resample; every configuration uses the same resampled days.

    Notes
    -----
    Return-based metrics resample the ``T - 1`` daily returns, flow metrics (costs,
    turnover, drift) the ``T`` days. The indices depend only on the series length,
    ``block``, ``samples``, ``seed`` and ``kind``, so any subset of configurations sees
    the same resamples.
    """
    spec = _check_metric(metric)
    arrays = result_arrays(result)
    cols = _positions(result, configs) if configs is not None else list(range(len(result.names)))
    p = float(periods_per_year)
    series = tuple(np.ascontiguousarray(s[:, cols]) for s in spec.series(arrays, p))
    n, k = series[0].shape
    estimate = spec.stat(series, p)
    days = block_bootstrap_indices(n, block, samples, np.random.default_rng(seed), kind=kind)
    chunk = max(1, CHUNK_ELEMENTS // (n * max(k, 1) * len(series)))
    draws = np.empty((samples, k))
    for lo in range(0, samples, chunk):
        rows = days[lo:lo + chunk]
        draws[lo:lo + chunk] = spec.stat(tuple(s[rows] for s in series), p)
    return estimate, draws


def _check_alpha(alpha: float) -> float:
    if not (isinstance(alpha, int | float) and 0.0 < alpha < 1.0):
        raise ConfigError(f"alpha must be between 0 and 1 (exclusive), found {alpha!r}")
    return float(alpha)


def _summaries(estimate: FloatArray, draws: FloatArray, ia: list[int], ib: list[int],
               alpha: float) -> list[DifferenceCI]:
    diffs = draws[:, ia] - draws[:, ib]
    low, high = np.quantile(diffs, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    share = np.mean(diffs <= 0.0, axis=0)
    point = estimate[ia] - estimate[ib]
    return [DifferenceCI(float(e), float(lo), float(hi), float(s))
            for e, lo, hi, s in zip(point, low, high, share, strict=True)]


def difference_ci(result: ResultLike, a: str, b: str, metric: str, *, block: int = 21,
                  samples: int = 1000, alpha: float = 0.05, seed: int = 0,
                  kind: BootstrapKind | str = BootstrapKind.CIRCULAR,
                  periods_per_year: float = TRADING_DAYS) -> DifferenceCI:
    """Paired block-bootstrap interval of ``metric(a) - metric(b)``.

    Parameters
    ----------
    result : ResultLike
        Backtest result.
    a, b : str
        Configuration names.
    metric : str
        One of :data:`BOOTSTRAP_METRICS` (``te_annual``, ``cost_per_year``,
        ``turnover_per_year``, ``sharpe``, ``return_annual``, ``vol_annual``,
        ``mean_drift``).
    block : int
        Block length in trading days (21, about a month).
    samples : int
        Number of resamples.
    alpha : float
        One minus the confidence level (0.05 gives a 95% interval).
    seed : int
        Random seed; the same seed gives the same interval.
    kind : BootstrapKind or str
        Circular (default) or stationary block bootstrap.
    periods_per_year : float
        Trading days in a year.

    Returns
    -------
    DifferenceCI
        ``(estimate, low, high, share_le_zero)``, in the metric's units.

    Raises
    ------
    ConfigError
        An unknown metric or configuration, or an invalid ``block``, ``samples`` or
        ``alpha``.

    Notes
    -----
    Percentile interval of the paired resampled differences (Efron and Tibshirani
    1993, ch. 13; Lahiri 2003, *Resampling Methods for Dependent Data*, ch. 2 for blocks).
    Identical configurations give ``(0, 0, 0, 1)``.
    """
    return difference_cis(result, [(a, b)], metric, block=block, samples=samples, alpha=alpha,
                          seed=seed, kind=kind, periods_per_year=periods_per_year)[0]


def difference_cis(result: ResultLike, pairs: Sequence[tuple[str, str]], metric: str, *,
                   block: int = 21, samples: int = 1000, alpha: float = 0.05, seed: int = 0,
                   kind: BootstrapKind | str = BootstrapKind.CIRCULAR,
                   periods_per_year: float = TRADING_DAYS) -> list[DifferenceCI]:
    """:func:`difference_ci` of each pair ``(a, b)`` of ``pairs``, from one set of
    resamples: the metric of every configuration named is resampled once, whatever the
    number of pairs it is in. Each equals :func:`difference_ci` of its pair to the bit
    (as :func:`pairwise_differences`' rows do).

    Raises
    ------
    ConfigError
        As :func:`difference_ci`.
    """
    q = _check_alpha(alpha)
    if not pairs:
        return []
    names = list(dict.fromkeys(name for pair in pairs for name in pair))
    if len(names) == 1:  # a configuration against itself: two columns, as two names give
        names = names * 2
    estimate, draws = bootstrap_metric(result, metric, configs=names, block=block,
                                       samples=samples, seed=seed, kind=kind,
                                       periods_per_year=periods_per_year)
    ia = [names.index(a) for a, _ in pairs]
    ib = [len(names) - 1 - names[::-1].index(b) for _, b in pairs]
    return _summaries(estimate, draws, ia, ib, q)


def pairwise_differences(result: ResultLike, metric: str, *, baseline: str | None = None,
                         block: int = 21, samples: int = 1000, alpha: float = 0.05,
                         seed: int = 0, kind: BootstrapKind | str = BootstrapKind.CIRCULAR,
                         periods_per_year: float = TRADING_DAYS) -> pd.DataFrame:
    """:func:`difference_ci` for every pair of configurations, or each against a baseline.

    Parameters
    ----------
    result : ResultLike
        Backtest result with ``C`` configurations.
    metric : str
        One of :data:`BOOTSTRAP_METRICS`.
    baseline : str, optional
        If given, rows are ``(name, baseline)`` for every other configuration;
        otherwise every pair ``(a, b)`` with ``a`` before ``b`` in the result's order.
    block, samples, alpha, seed, kind, periods_per_year :
        As in :func:`difference_ci`.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``a, b, metric, estimate, low, high, share_le_zero`` for
        ``metric(a) - metric(b)``. Each row equals :func:`difference_ci` with the same
        arguments (all pairs share one set of resamples).

    Raises
    ------
    ConfigError
        As :func:`difference_ci`, or an unknown baseline.
    """
    q = _check_alpha(alpha)
    _check_metric(metric)
    names = list(result.names)
    if baseline is not None:
        base = _positions(result, [baseline])[0]
        pairs = [(i, base) for i in range(len(names)) if i != base]
    else:
        pairs = list(itertools.combinations(range(len(names)), 2))
    columns = ["a", "b", "metric", *DifferenceCI._fields]
    if not pairs:
        return pd.DataFrame({c: [] for c in columns})
    estimate, draws = bootstrap_metric(result, metric, block=block, samples=samples,
                                       seed=seed, kind=kind, periods_per_year=periods_per_year)
    ia, ib = [i for i, _ in pairs], [j for _, j in pairs]
    rows = _summaries(estimate, draws, ia, ib, q)
    frame = pd.DataFrame(rows, columns=list(DifferenceCI._fields))
    frame.insert(0, "metric", metric)
    frame.insert(0, "b", [names[j] for j in ib])
    frame.insert(0, "a", [names[i] for i in ia])
    return frame
