"""The study's settings: assembled once from the configuration, sent whole to the workers."""

from __future__ import annotations

import ast
import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import driftwise.validation
from driftwise.backtest.engine import run_backtest
from driftwise.config import Config, policies
from driftwise.config.assemble import backtest_configs, study_settings
from driftwise.data.sample import load_sample
from driftwise.errors import ConfigError
from driftwise.policy.context import Frequency

PACKAGE = Path(driftwise.validation.__file__).parent
CONFIG_MODULES = {"driftwise.config", "driftwise.config.assemble"}


def _imports(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_module_reads_the_configuration(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not _imports(tree) & CONFIG_MODULES
    calls = [n.func.attr for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    assert "with_overrides" not in calls


def test_importing_the_study_loads_no_configuration() -> None:
    code = ("import sys, driftwise.validation, driftwise.validation.study; "
            "print(sorted(m for m in sys.modules if m in {'driftwise.config', "
            "'driftwise.config.assemble'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_settings_pickle_whole() -> None:
    config = Config().with_overrides({"policy.tracking_aversion": 5.0}, source="test")
    settings = study_settings(config, review=Frequency.MONTH, cost_levels_bps=(15.0,))
    again = pickle.loads(pickle.dumps(settings))
    model = again.model
    assert model.tracking_aversion == 5.0 and model.rule.gamma == 5.0
    assert model.config == {"policy.tracking_aversion": 5.0}
    grid = model.falsification.grid
    assert grid.names == ("threshold 5% | model", "calendar | model", "monthly | model",
                          "threshold 5% | flat 15 bps", "calendar | flat 15 bps",
                          "monthly | flat 15 bps")
    pd.testing.assert_frame_equal(grid.describe(),
                                  settings.model.falsification.grid.describe())
    assert list(grid.texts) == list(settings.model.falsification.grid.texts)


def test_falsification_runs_the_named_policies() -> None:
    inputs = load_sample()
    settings = study_settings(nav_usd=2e6, start="2019-01-01", end="2019-12-31",
                              cost_levels_bps=(20.0,))
    runs = settings.model.falsification
    ours = run_backtest(inputs, runs.grid, runs.window, workers=1)
    base = Config().with_overrides({"backtest.initial_nav_usd": 2e6}, source="test")
    flat = base.with_overrides({"costs.flat_cost_bps": 20.0}, source="test")
    configs = [policy for cfg in (base, flat)
               for policy in (policies.threshold(0.05, base=cfg),
                              policies.calendar(Frequency.QUARTER, base=cfg),
                              policies.monthly(base=cfg))]
    theirs = backtest_configs(inputs, configs, start="2019-01-01", end="2019-12-31",
                              names=runs.grid.names, workers=1)
    assert ours.initial_nav_usd == 2e6
    np.testing.assert_array_equal(ours.nav_usd, theirs.nav_usd)
    np.testing.assert_array_equal(ours.cost_usd, theirs.cost_usd)


def test_a_model_assembled_for_other_options_is_refused() -> None:
    settings = study_settings()
    for change in ({"nav_usd": 2e6}, {"review": Frequency.MONTH},
                   {"cost_levels_bps": (10.0,)}, {"start": "2019-01-01"}):
        with pytest.raises(ConfigError, match="falsification backtest"):
            dataclasses.replace(settings, **change)
