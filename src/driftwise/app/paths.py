"""What ``driftwise backtest --paths-length ...`` adds: every rule over many paths.

:func:`compare_paths` lays out the paths (:func:`driftwise.backtest.paths.make_paths`:
rolling start dates, the given portfolio or random point-in-time portfolios), runs every
rule on every path in one batch and computes the across-path statistics
(:mod:`driftwise.backtest.path_stats`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from driftwise import _display
from driftwise.backtest.path_stats import PathStats, path_statistics
from driftwise.backtest.paths import (
    PathRuns,
    PathSettings,
    given_stocks,
    make_paths,
    run_paths,
    universe_of,
)
from driftwise.calendar import DateLike
from driftwise.config import Config
from driftwise.config.assemble import rule_grid, run_window
from driftwise.data.model import Inputs


@dataclass(frozen=True, eq=False)
class PathComparison:
    """Every rule on many paths, with intervals across paths.

    Attributes
    ----------
    settings : PathSettings
    runs : PathRuns
        Each path's metrics and within-path bootstrap draws.
    stats : PathStats
        Summary, pairwise differences, ranking with intervals.
    """

    settings: PathSettings
    runs: PathRuns
    stats: PathStats

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per rule and metric (``config``, ``metric``, ``mean``, ``low``,
        ``high``, ``median``), the mean across paths and its 95% interval."""
        return self.stats.summary.copy()

    def describe(self) -> str:
        """What was run, and how the intervals treat the overlap of paths."""
        s, st = self.settings, self.stats
        who = (f"{s.portfolios} random portfolio(s) of {s.size} stocks per start date, drawn "
               f"from the stocks priced with {s.min_history_days} sessions of history on "
               "that date" if s.portfolios else "the given portfolio")
        return (f"{st.n_paths} paths: {st.n_starts} start dates every {s.step_days} sessions, "
                f"{s.length_days} sessions each, {who}. Intervals (95%): a moving-block "
                f"bootstrap over start dates in blocks of {st.block_starts} (paths that "
                "overlap in time stay together), then a block bootstrap of the days within "
                f"each drawn path; G = {st.n_blocks:.1f} independent blocks of start dates, "
                "each interval widened by t(G−1)/z"
                + ("" if st.n_blocks >= 2 else " (fewer than two: no interval)")
                + "; rank intervals and ties at 95% over each rule's comparisons "
                "(Bonferroni).")

    def _figures(self) -> list[tuple[str, object]]:
        r = self.stats.ranking
        return [(str(name), f"rank {row['rank']} [{row['rank_low']}-{row['rank_high']}], "
                 f"score {1e4 * row['score']:.1f} bps [{1e4 * row['score_low']:.1f}, "
                 f"{1e4 * row['score_high']:.1f}]") for name, row in r.iterrows()]

    def __repr__(self) -> str:
        return _display.text(self.describe(), self._figures())

    def _repr_html_(self) -> str:
        return _display.html_card(self.describe(), self._figures(),
                                  [("Ranking", self.stats.ranking)])


def compare_paths(inputs: Inputs, configs: Sequence[Config], names: Sequence[str], *,
                  first: DateLike, last: DateLike, settings: PathSettings, samples: int,
                  block: int, seed: int,
                  progress: Callable[[int, int], None] | None = None,
                  workers: int | None = None, scheduler: str | None = None
                  ) -> PathComparison:
    """Run ``configs`` over the paths of ``[first, last]`` laid out by ``settings``.

    The starting NAV of every path is the single run's
    (:func:`~driftwise.config.assemble.run_window`); ``samples``, ``block`` and ``seed``
    drive both bootstrap stages. ``workers`` (above 1) or ``scheduler``: the paths run on
    a Dask cluster (:func:`~driftwise.backtest.paths.run_paths`), the same result.
    """
    configs = list(configs)
    window = run_window(configs, first, last, inputs)
    universe = universe_of(inputs)
    given = [] if inputs.targets is None else given_stocks(inputs)
    paths = make_paths(universe, pd.Timestamp(first), pd.Timestamp(last), settings, given)
    runs = run_paths(inputs, universe, rule_grid(configs, list(names)), paths,
                     nav_usd=window.initial_nav_usd, samples=samples, block=block, seed=seed,
                     progress=progress, cash_earns_risk_free=window.cash_earns_risk_free,
                     workers=workers, scheduler=scheduler)
    stats = path_statistics(runs, length_days=settings.length_days,
                            step_days=settings.step_days,
                            tracking_aversion=configs[0].policy.tracking_aversion, seed=seed)
    return PathComparison(settings=settings, runs=runs, stats=stats)
