"""Validation of the methodology's insight rules on history.

Paths and events (:mod:`~driftwise.validation.events`), the fork-and-follow branch
simulation (:mod:`~driftwise.validation.branching`), the four rules' IF / THEN
definitions (:mod:`~driftwise.validation.rules`), clustered hit-rate intervals and
verdicts (:mod:`~driftwise.validation.stats`), the study over portfolios on both cores
(:mod:`~driftwise.validation.study`) and its outputs (:mod:`~driftwise.validation.output`).
See ``docs/rule-validation.md``.
"""

from driftwise.validation.branching import Branch, BranchPath, simulate_branch
from driftwise.validation.events import Portfolio, make_paths, path_days
from driftwise.validation.rules import RULES, Thresholds
from driftwise.validation.stats import HitRate, Verdict, clustered_hit_rate, verdict
from driftwise.validation.study import PortfolioSpec, StudyResult, StudySettings, run_study

__all__ = ["RULES", "Branch", "BranchPath", "HitRate", "Portfolio", "PortfolioSpec",
           "StudyResult", "StudySettings", "Thresholds", "Verdict", "clustered_hit_rate",
           "make_paths", "path_days", "run_study", "simulate_branch", "verdict"]
