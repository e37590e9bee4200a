"""Statistics across many paths: intervals, differences, P(beats), a ranking with intervals.

Paths that start within one path length of each other overlap in time, so they are not
independent draws. The intervals here resample in two stages:

1. **across paths**, a circular **moving-block bootstrap over start dates**: the start
   dates are a series, resampled in blocks of ``ceil(length_days / step_days)``
   consecutive start dates (one block spans the start dates whose paths overlap), with
   every portfolio of a start date kept together (Kunsch 1989, Ann. Statist. 17(3);
   Politis and Romano 1992);
2. **within each drawn path**, its own circular block bootstrap of the days
   (:func:`~driftwise.backtest.bootstrap.bootstrap_metric`), so that the interval also
   carries each path's sampling noise.

Draw ``s`` of a metric is the mean over the drawn start dates of the mean over their
portfolios of draw ``s`` of each path. Metrics without a within-path bootstrap (the
number of rebalances, maximum drift, the Sharpe difference) enter with their observed
value. Every rule sees the same resamples, so differences are paired.

**Score and ranking**: the score of a path is the utility ``γ/2 · TE² + cost per year``
(smaller is better, as the single-path ranking). ``P(a beats b)`` is the share of draws in
which the mean score of ``a`` is below that of ``b``; ``share_of_paths`` the share of paths
where it is. The ranking ranks the rules by mean score in every draw; a rule's rank
interval is the 2.5%-97.5% range of its ranks, and two rules **cannot be told apart**
when the interval of their score difference contains 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwise._types import FloatArray, IntArray
from driftwise.backtest.bootstrap import block_bootstrap_indices
from driftwise.backtest.paths import PATH_METRICS, PathRuns
from driftwise.errors import ConfigError

ALPHA = 0.05
"""Two-sided level of every interval (95%)."""
HIGHER_IS_BETTER = ("return_annual", "sharpe", "sharpe_diff")


@dataclass(frozen=True, eq=False)
class PathStats:
    """The across-path tables.

    Attributes
    ----------
    summary : pd.DataFrame
        One row per (rule, metric): ``mean``, ``low``, ``high``, ``median`` across paths.
    differences : pd.DataFrame
        One row per (a, b, metric), ``a`` before ``b`` in the rules' order: ``estimate``
        (mean of a − b), ``low``, ``high``, ``p_a_better`` (share of draws where ``a`` is
        better on the metric), ``share_of_paths`` (share of paths where it is).
    ranking : pd.DataFrame
        Best first by mean score: ``rank``, ``score``, ``score_low``, ``score_high``,
        ``rank_low``, ``rank_high``, ``tied_with`` (the rules it cannot be told apart
        from), ``p_best`` (share of draws where it ranks first).
    n_paths, n_starts, block_starts : int
        Paths, start dates, start dates per resampled block.
    """

    summary: pd.DataFrame
    differences: pd.DataFrame
    ranking: pd.DataFrame
    n_paths: int
    n_starts: int
    block_starts: int


def start_blocks(length_days: int, step_days: int) -> int:
    """Start dates per block: those whose paths overlap, ``ceil(length / step)``."""
    return max(1, -(-length_days // step_days))


def path_draws(runs: PathRuns, metric: str, starts: IntArray) -> FloatArray:
    """Two-stage draws of a metric's mean across paths, shape (S, C).

    Parameters
    ----------
    runs : PathRuns
    metric : str
        One of :data:`~driftwise.backtest.paths.PATH_METRICS`.
    starts : ndarray of intp, shape (S, K)
        Resampled start-date positions (:func:`block_bootstrap_indices` over K start dates).
    """
    if metric in runs.draws:
        per_path = runs.draws[metric]
    else:
        samples = next(iter(runs.draws.values())).shape[1]
        per_path = np.repeat(runs.values(metric)[:, None, :], samples, axis=1)
    return mean_draws(runs, per_path, starts)


def mean_draws(runs: PathRuns, per_path: FloatArray, starts: IntArray) -> FloatArray:
    """Draw ``s``: the mean over the drawn start dates of the mean over each start date's
    portfolios of each path's draw ``s``; ``per_path`` (P, S, C) -> (S, C)."""
    start_of = np.asarray([p.start_index for p in runs.paths], dtype=np.intp)
    n_starts = int(start_of.max()) + 1
    counts = np.bincount(start_of, minlength=n_starts).astype(np.float64)
    by_start = np.zeros((n_starts, *per_path.shape[1:]))
    np.add.at(by_start, start_of, per_path)
    by_start /= counts[:, None, None]
    s_index = np.arange(starts.shape[0])[:, None]
    return np.asarray(by_start[starts, s_index, :].mean(axis=1), dtype=np.float64)


def path_statistics(runs: PathRuns, *, length_days: int, step_days: int,
                    tracking_aversion: float, seed: int = 0) -> PathStats:
    """Summary, pairwise differences and the ranking with intervals (module notes)."""
    if tracking_aversion < 0 or not np.isfinite(tracking_aversion):
        raise ConfigError(f"tracking_aversion must be finite and >= 0; "
                          f"found {tracking_aversion}")
    samples = next(iter(runs.draws.values())).shape[1]
    n_starts = max(p.start_index for p in runs.paths) + 1
    block = min(start_blocks(length_days, step_days), n_starts)
    starts = block_bootstrap_indices(n_starts, block, samples, np.random.default_rng(seed))
    observed = {m: runs.values(m) for m in PATH_METRICS}
    observed["score"] = 0.5 * tracking_aversion * observed["te_annual"] ** 2 + \
        observed["cost_per_year"]
    draws = {m: path_draws(runs, m, starts) for m in PATH_METRICS}
    draws["score"] = _score_draws(runs, starts, tracking_aversion)
    metrics = [*PATH_METRICS, "score"]
    summary = _summary(runs.names, observed, draws, metrics)
    differences = _differences(runs.names, observed, draws, metrics)
    ranking = _ranking(runs.names, observed["score"], draws["score"], differences)
    return PathStats(summary=summary, differences=differences, ranking=ranking,
                     n_paths=len(runs.paths), n_starts=n_starts, block_starts=block)


def _score_draws(runs: PathRuns, starts: IntArray, gamma: float) -> FloatArray:
    te, cost = runs.draws["te_annual"], runs.draws["cost_per_year"]
    return mean_draws(runs, 0.5 * gamma * te ** 2 + cost, starts)


def _summary(names: list[str], observed: dict[str, FloatArray], draws: dict[str, FloatArray],
             metrics: list[str]) -> pd.DataFrame:
    rows = []
    for metric in metrics:
        low, high = np.nanquantile(draws[metric], [ALPHA / 2, 1 - ALPHA / 2], axis=0)
        for c, name in enumerate(names):
            rows.append({"config": name, "metric": metric,
                         "mean": float(np.nanmean(observed[metric][:, c])),
                         "low": float(low[c]), "high": float(high[c]),
                         "median": float(np.nanmedian(observed[metric][:, c]))})
    return pd.DataFrame(rows)


def _differences(names: list[str], observed: dict[str, FloatArray],
                 draws: dict[str, FloatArray], metrics: list[str]) -> pd.DataFrame:
    rows = []
    for metric in metrics:
        sign = -1.0 if metric in HIGHER_IS_BETTER else 1.0
        for i, a in enumerate(names):
            for j in range(i + 1, len(names)):
                d = draws[metric][:, i] - draws[metric][:, j]
                o = observed[metric][:, i] - observed[metric][:, j]
                low, high = np.nanquantile(d, [ALPHA / 2, 1 - ALPHA / 2])
                rows.append({"a": a, "b": names[j], "metric": metric,
                             "estimate": float(np.nanmean(o)), "low": float(low),
                             "high": float(high),
                             "p_a_better": float(np.mean(sign * d < 0)),
                             "share_of_paths": float(np.mean(sign * o < 0))})
    return pd.DataFrame(rows)


def _ranking(names: list[str], observed: FloatArray, draws: FloatArray,
             differences: pd.DataFrame) -> pd.DataFrame:
    ranks = np.argsort(np.argsort(draws, axis=1, kind="stable"), axis=1, kind="stable") + 1
    score = np.nanmean(observed, axis=0)
    low, high = np.nanquantile(draws, [ALPHA / 2, 1 - ALPHA / 2], axis=0)
    rank_low, rank_high = np.quantile(ranks, [ALPHA / 2, 1 - ALPHA / 2], axis=0)
    scores = (differences[differences["metric"] == "score"] if len(differences)
              else differences)  # one rule: no pair
    tied = {n: [] for n in names}  # type: dict[str, list[str]]
    for _, row in scores.iterrows():
        if row["low"] <= 0.0 <= row["high"]:
            tied[row["a"]].append(row["b"])
            tied[row["b"]].append(row["a"])
    frame = pd.DataFrame({
        "score": score, "score_low": low, "score_high": high,
        "rank_low": rank_low.astype(int), "rank_high": rank_high.astype(int),
        "p_best": (ranks == 1).mean(axis=0),
        "tied_with": [", ".join(tied[n]) for n in names]},
        index=pd.Index(names, name="config"))
    frame = frame.sort_values("score", kind="stable")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame
