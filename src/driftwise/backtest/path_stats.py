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

**Few independent blocks.** The paths hold ``G = n_starts / block_starts`` independent
blocks of start dates (``PathStats.n_blocks``, shown beside the intervals), often under
ten. A percentile interval over so few clusters is too narrow (its quantiles are those of
a normal's, where ``G − 1`` degrees of freedom call for Student's ``t``), so each interval
is the percentile interval widened about the estimate by ``t(G − 1)/z`` at its level
(:func:`corrected_interval`; the ``t(G − 1)`` small-sample correction of the rest of the
product's cluster intervals). With fewer than two blocks there is no interval (NaN) and
no two rules are told apart.

**Score and ranking**: the score of a path is the utility ``γ/2 · TE² + cost per year``
(smaller is better, as the single-path ranking). ``P(a beats b)`` is the share of draws in
which the mean score of ``a`` is below that of ``b``; ``share_of_paths`` the share of paths
where it is; ``p_best`` the share of draws in which a rule ranks first. As the one-path
ranking (:mod:`driftwise.backtest.years`), a rule's **rank interval** counts the rules
shown better and worse than it, each of its ``C − 1`` score differences at level
``1 − α/(C − 1)`` (Bonferroni), and two rules **cannot be told apart** when their
difference's interval at that level contains 0: the rank interval spans exactly the rule
and its ties. The differences table shows each pair at 95% and at that level
(``low_joint``, ``high_joint``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from driftwise._types import FloatArray, IntArray
from driftwise.backtest.bootstrap import block_bootstrap_indices
from driftwise.backtest.paths import PATH_METRICS, PathRuns
from driftwise.backtest.years import joint_level
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
        (mean of a − b), ``low``, ``high`` (95%), ``low_joint``, ``high_joint`` (at the
        ranking's level ``1 − 5%/(C − 1)``), ``p_a_better`` (share of draws where ``a``
        is better on the metric), ``share_of_paths`` (share of paths where it is).
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

    @property
    def n_blocks(self) -> float:
        """``G``: the independent blocks of start dates, ``n_starts / block_starts``."""
        return self.n_starts / self.block_starts


def corrected_interval(estimate: FloatArray, draws: FloatArray, level: float,
                       n_blocks: float) -> tuple[FloatArray, FloatArray]:
    """The percentile interval of ``draws`` (axis 0) at ``level``, each side's distance
    from ``estimate`` widened by ``t(G − 1)/z`` at that level (``G = n_blocks``): the
    small-sample correction for few independent blocks (module notes). NaN with fewer
    than two blocks."""
    q = 0.5 + level / 2.0
    if n_blocks < 2.0:
        nan = np.full(np.shape(estimate), np.nan)
        return nan, nan.copy()
    low, high = np.nanquantile(draws, [1.0 - q, q], axis=0)
    widen = float(stats.t.ppf(q, n_blocks - 1.0) / stats.norm.ppf(q))
    return (estimate - widen * (estimate - low), estimate + widen * (high - estimate))


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
    g = n_starts / block
    summary = _summary(runs.names, observed, draws, metrics, g)
    differences = _differences(runs.names, observed, draws, metrics, g)
    ranking = _ranking(runs.names, observed["score"], draws["score"], differences, g)
    return PathStats(summary=summary, differences=differences, ranking=ranking,
                     n_paths=len(runs.paths), n_starts=n_starts, block_starts=block)


def _score_draws(runs: PathRuns, starts: IntArray, gamma: float) -> FloatArray:
    te, cost = runs.draws["te_annual"], runs.draws["cost_per_year"]
    return mean_draws(runs, 0.5 * gamma * te ** 2 + cost, starts)


def _summary(names: list[str], observed: dict[str, FloatArray], draws: dict[str, FloatArray],
             metrics: list[str], g: float) -> pd.DataFrame:
    rows = []
    for metric in metrics:
        mean = np.nanmean(observed[metric], axis=0)
        low, high = corrected_interval(mean, draws[metric], 1.0 - ALPHA, g)
        for c, name in enumerate(names):
            rows.append({"config": name, "metric": metric, "mean": float(mean[c]),
                         "low": float(low[c]), "high": float(high[c]),
                         "median": float(np.nanmedian(observed[metric][:, c]))})
    return pd.DataFrame(rows)


def _differences(names: list[str], observed: dict[str, FloatArray],
                 draws: dict[str, FloatArray], metrics: list[str], g: float) -> pd.DataFrame:
    rows = []
    joint = joint_level(len(names), 1.0 - ALPHA)
    for metric in metrics:
        sign = -1.0 if metric in HIGHER_IS_BETTER else 1.0
        for i, a in enumerate(names):
            for j in range(i + 1, len(names)):
                d = draws[metric][:, i] - draws[metric][:, j]
                o = observed[metric][:, i] - observed[metric][:, j]
                estimate = np.asarray(np.nanmean(o))
                low, high = corrected_interval(estimate, d, 1.0 - ALPHA, g)
                low_j, high_j = corrected_interval(estimate, d, joint, g)
                rows.append({"a": a, "b": names[j], "metric": metric,
                             "estimate": float(estimate), "low": float(low),
                             "high": float(high), "low_joint": float(low_j),
                             "high_joint": float(high_j),
                             "p_a_better": float(np.mean(sign * d < 0)),
                             "share_of_paths": float(np.mean(sign * o < 0))})
    return pd.DataFrame(rows)


def _ranking(names: list[str], observed: FloatArray, draws: FloatArray,
             differences: pd.DataFrame, g: float) -> pd.DataFrame:
    ranks = np.argsort(np.argsort(draws, axis=1, kind="stable"), axis=1, kind="stable") + 1
    score = np.nanmean(observed, axis=0)
    low, high = corrected_interval(score, draws, 1.0 - ALPHA, g)
    scores = (differences[differences["metric"] == "score"] if len(differences)
              else differences)  # one rule: no pair
    n = len(names)
    tied = {name: [] for name in names}  # type: dict[str, list[str]]
    better = dict.fromkeys(names, 0)  # rules shown better than the rule
    worse = dict.fromkeys(names, 0)
    for _, row in scores.iterrows():
        a, b = str(row["a"]), str(row["b"])
        if row["high_joint"] < 0.0:  # a's score below b's: a better
            better[b] += 1
            worse[a] += 1
        elif row["low_joint"] > 0.0:
            better[a] += 1
            worse[b] += 1
        else:  # the interval holds 0, or there is none
            tied[a].append(b)
            tied[b].append(a)
    frame = pd.DataFrame({
        "score": score, "score_low": low, "score_high": high,
        "rank_low": [1 + better[name] for name in names],
        "rank_high": [n - worse[name] for name in names],
        "p_best": (ranks == 1).mean(axis=0),
        "tied_with": [", ".join(tied[name]) for name in names]},
        index=pd.Index(names, name="config"))
    frame = frame.sort_values("score", kind="stable")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame
