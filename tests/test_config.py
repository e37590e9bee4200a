"""Tests of driftwise.config: defaults, template, TOML round trip, error messages."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from driftwise.config.messages import key_lines
from driftwise.config.model import (
    COMPONENTS,
    COMPOSITE,
    DEFAULT_CONFIG_TOML,
    UNSUPPORTED,
    AccountsConfig,
    BacktestConfig,
    ClusterConfig,
    Config,
    ConstraintsConfig,
    CostsConfig,
    DataConfig,
    Destination,
    ExecutionConfig,
    ImpactModel,
    LotRelief,
    OptimizerConfig,
    OrderType,
    PolicyConfig,
    PortfolioConfig,
    RecordConfig,
    RiskConfig,
    TaxConfig,
    TeModel,
    TriggerGroup,
    TriggerKind,
    default_config,
    load_config,
    loads_config,
    write_default_config,
)
from driftwise.data.model import DefaultTarget
from driftwise.errors import ConfigError, DriftwiseError
from driftwise.execution.schedule import ExecutionStyle
from driftwise.metrics.drift import BandMode
from driftwise.metrics.risk import CovarianceEstimator
from driftwise.policy.context import Anchor, Frequency
from driftwise.policy.triggers import CostBenefitForm

SECTIONS: dict[str, type[BaseModel]] = {
    "policy": PolicyConfig, "constraints": ConstraintsConfig, "optimizer": OptimizerConfig,
    "costs": CostsConfig,
    "risk": RiskConfig, "execution": ExecutionConfig, "tax": TaxConfig,
    "backtest": BacktestConfig, "portfolio": PortfolioConfig, "data": DataConfig,
    "record": RecordConfig, "cluster": ClusterConfig, "accounts": AccountsConfig,
}


def _error(text: str, tmp_path: Path, name: str = "dw.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


# ------------------------------------------------------------------ defaults


def test_defaults_are_valid_and_match_the_brief() -> None:
    cfg = default_config()
    assert cfg == Config.model_validate(cfg.model_dump())
    assert cfg.policy.trigger is TriggerKind.THRESHOLD
    assert cfg.policy.frequency is Frequency.QUARTER
    assert (cfg.policy.threshold, cfg.policy.hybrid_override) == (0.05, 0.10)
    assert (cfg.policy.band_abs, cfg.policy.band_rel) == (0.02, 0.25)
    assert cfg.policy.dynamic_multipliers == (1.0, 1.2, 1.5)
    assert (cfg.policy.delay_days, cfg.policy.max_delay_days) == (10, 20)
    assert cfg.costs.vix_breaks == (20.0, 30.0)
    assert cfg.costs.vix_multipliers == (1.0, 1.5, 2.5)
    assert cfg.risk.cov_windows_days == (60, 252)
    assert cfg.risk.te_model is TeModel.FULL
    assert cfg.backtest.thresholds == (0.03, 0.05, 0.07, 0.10)
    assert cfg.backtest.cost_levels_bps == (10.0, 20.0, 50.0)
    assert cfg.backtest.start is None and cfg.portfolio.last_rebalance is None
    assert cfg.tax.enabled is False and cfg.tax.lot_relief is LotRelief.HIFO


def test_every_field_has_a_default_and_a_description() -> None:
    assert set(Config.model_fields) == set(SECTIONS)
    for section, model in SECTIONS.items():
        for name, info in model.model_fields.items():
            assert not info.is_required(), f"{section}.{name}"
            assert info.description, f"{section}.{name}"


def test_enums_are_the_kernels_own() -> None:
    cfg = default_config()
    assert isinstance(cfg.policy.anchor, Anchor)
    assert isinstance(cfg.policy.band_mode, BandMode)
    assert isinstance(cfg.policy.cost_benefit_form, CostBenefitForm)
    assert isinstance(cfg.risk.estimator, CovarianceEstimator)
    assert isinstance(cfg.execution.style, ExecutionStyle)
    assert isinstance(cfg.portfolio.default_target, DefaultTarget)


def test_config_is_frozen_and_hashable() -> None:
    cfg = default_config()
    with pytest.raises(ValidationError):
        cfg.policy.threshold = 0.1  # type: ignore[misc]
    assert hash(cfg) == hash(default_config())


def test_the_defaults_built_without_validation_equal_the_validated_ones() -> None:
    """``default_config()`` skips the validators (``model_construct``); the result equals,
    field by field and in what counts as set, the configuration validated from nothing."""
    built, validated = default_config(), Config.model_validate({})
    assert built == validated == Config()
    assert built.model_dump() == validated.model_dump()
    assert built.to_toml() == validated.to_toml()
    assert built.model_fields_set == validated.model_fields_set == set()
    for name in Config.model_fields:
        mine, theirs = getattr(built, name), getattr(validated, name)
        assert type(mine) is type(theirs), name
        assert mine.model_fields_set == theirs.model_fields_set, name
        assert {k: type(v) for k, v in vars(mine).items()} == \
            {k: type(v) for k, v in vars(theirs).items()}, name


def test_config_error_is_a_driftwise_value_error() -> None:
    with pytest.raises(ConfigError) as info:
        loads_config("[policy]\nthreshold = 2.0\n")
    assert isinstance(info.value, DriftwiseError) and isinstance(info.value, ValueError)


# ------------------------------------------------------------------ template


def test_template_loads_to_the_defaults() -> None:
    assert loads_config(DEFAULT_CONFIG_TOML, source="template") == default_config()


def test_template_shows_every_field_after_a_comment() -> None:
    lines = DEFAULT_CONFIG_TOML.splitlines()
    keys: dict[str, list[str]] = {}
    section = ""
    for i, line in enumerate(lines):
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            section = header[1]
            keys[section] = []
            continue
        key = re.match(r"^(?:# )?(\w+) = ", line)
        if key and section:
            keys[section].append(key[1])
            assert lines[i - 1].startswith("#"), f"no comment above {section}.{key[1]}"
            assert len(line) <= 100
    assert list(keys) == list(SECTIONS)
    for section, model in SECTIONS.items():
        assert keys[section] == list(model.model_fields), section


def test_template_comments_out_exactly_the_optional_fields() -> None:
    commented = set(re.findall(r"^# (\w+) = ", DEFAULT_CONFIG_TOML, flags=re.M))
    optional = {name for model in SECTIONS.values() for name, info in model.model_fields.items()
                if info.default is None}
    assert commented == optional


def test_template_examples_of_optional_fields_are_valid() -> None:
    uncommented = re.sub(r"^# (\w+ = )", r"\1", DEFAULT_CONFIG_TOML, flags=re.M)
    # the record's address is a path or a URL, never both: each example on its own
    with_path = re.sub(r"^url = .*$", "", uncommented, flags=re.M)
    cfg = loads_config(with_path)
    assert cfg.backtest.start == date(2005, 1, 3) and cfg.costs.flat_cost_bps == 20.0
    assert cfg.record.path == "record.sqlite" and cfg.record.url is None
    with_url = loads_config(re.sub(r"^path = .*$", "", uncommented, flags=re.M))
    assert with_url.record.url is not None and with_url.record.url.startswith("postgresql")
    with pytest.raises(ConfigError, match="not both"):
        loads_config(uncommented)


def test_write_default_config(tmp_path: Path) -> None:
    path = write_default_config(tmp_path / "sub" / "driftwise.toml")
    assert path.read_text(encoding="utf-8") == DEFAULT_CONFIG_TOML
    assert load_config(path) == default_config()


def test_write_default_config_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "driftwise.toml"
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(path)) + ": file exists"):
        write_default_config(path)
    assert path.read_text(encoding="utf-8") == "# mine\n"
    write_default_config(path, overwrite=True)
    assert load_config(path) == default_config()


# ------------------------------------------------------------ serialization


def test_to_toml_round_trip_of_defaults() -> None:
    cfg = default_config()
    assert loads_config(cfg.to_toml()) == cfg


def test_to_toml_writes_dates_natively_and_leaves_out_none() -> None:
    cfg = default_config().with_overrides({"backtest.start": date(2010, 1, 4)})
    text = cfg.to_toml()
    assert "start = 2010-01-04\n" in text
    assert "end =" not in text and "flat_cost_bps" not in text
    assert "thresholds = [0.03, 0.05, 0.07, 0.1]\n" in text


def test_describe_is_json_ready() -> None:
    out = default_config().describe()
    assert json.loads(json.dumps(out)) == out
    assert out["policy"]["trigger"] == "threshold"
    assert out["backtest"]["start"] is None
    assert out["backtest"]["vix_multipliers"][1] == [1.0, 1.5, 2.5]


def test_non_defaults_lists_changed_fields() -> None:
    cfg = default_config().with_overrides({"policy.threshold": 0.03,
                                           "backtest.start": "2010-01-04"})
    assert cfg.non_defaults() == {"policy.threshold": 0.03, "backtest.start": "2010-01-04"}
    assert default_config().non_defaults() == {}


def test_from_dict_validates_like_a_file() -> None:
    cfg = Config.from_dict({"policy": {"trigger": "hybrid", "frequency": "month"}})
    assert cfg.policy.trigger is TriggerKind.HYBRID and cfg.policy.frequency is Frequency.MONTH
    with pytest.raises(ConfigError, match=r"^job\.json, field 'risk\.te_model': expected one of"):
        Config.from_dict({"risk": {"te_model": "exact"}}, source="job.json")


def test_with_overrides_names_source_and_field() -> None:
    with pytest.raises(ConfigError, match=r"^--set, field 'policy\.threshold': expected a num"):
        default_config().with_overrides({"policy.threshold": -1.0}, source="--set")
    with pytest.raises(ConfigError, match="did you mean 'threshold'"):
        default_config().with_overrides({"policy.treshold": 0.1})


# ------------------------------------------------------------------- errors


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    msg = _error("[policy]\nthreshold = 0.05\nanchor = first\n", tmp_path)
    assert msg.startswith(f"{tmp_path / 'dw.toml'}, line 3, column 10: not valid TOML")


def test_duplicate_key_is_a_toml_error(tmp_path: Path) -> None:
    msg = _error("[policy]\nthreshold = 0.05\nthreshold = 0.07\n", tmp_path)
    assert ", line 3, column" in msg and "not valid TOML" in msg


def test_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    msg = _error("[policy]\ntrigger = \"threshold\"\ntreshold = 0.05\n", tmp_path)
    assert msg == (f"{tmp_path / 'dw.toml'}, line 3, field 'policy.treshold': unknown key; "
                   "did you mean 'threshold'?")


def test_unknown_key_without_close_match_lists_the_keys(tmp_path: Path) -> None:
    msg = _error("[portfolio]\nzzz = 1\n", tmp_path)
    assert "field 'portfolio.zzz': unknown key; expected one of: last_rebalance, default_target" \
        in msg


def test_unknown_section(tmp_path: Path) -> None:
    msg = _error("[polcy]\nthreshold = 0.05\n", tmp_path)
    assert "line 1, field 'polcy': unknown section; did you mean 'policy'?" in msg


def test_wrong_type_string_for_number(tmp_path: Path) -> None:
    msg = _error("[policy]\n\nthreshold = \"0.05\"\n", tmp_path)
    assert msg.endswith("line 3, field 'policy.threshold': expected a number, found \"0.05\"")


def test_wrong_type_bool_and_int(tmp_path: Path) -> None:
    assert "field 'costs.cost_scale': expected a number, found true" in _error(
        "[costs]\ncost_scale = true\n", tmp_path)
    assert "field 'execution.slices_per_day': expected a whole number, found 13.5" in _error(
        "[execution]\nslices_per_day = 13.5\n", tmp_path)
    assert "field 'tax.enabled': expected true or false, found \"yes\"" in _error(
        "[tax]\nenabled = \"yes\"\n", tmp_path)


def test_integer_is_accepted_for_a_number() -> None:
    cfg = loads_config("[backtest]\ninitial_nav_usd = 250000\n")
    assert cfg.backtest.initial_nav_usd == 250_000.0
    assert isinstance(cfg.backtest.initial_nav_usd, float)


def test_out_of_range(tmp_path: Path) -> None:
    text = "[risk]\nvol_window_days = 60\n\n[policy]\nthreshold = 1.5\n"
    msg = _error(text, tmp_path)
    assert msg.endswith("line 5, field 'policy.threshold': expected a number ≤ 1, found 1.5")


@pytest.mark.parametrize(("text", "field", "expected"), [
    ("[policy]\nhybrid_override = 0.0", "policy.hybrid_override", "a number > 0"),
    ("[policy]\nband_rel = -0.1", "policy.band_rel", "a number ≥ 0"),
    ("[constraints]\ncash_buffer = 1.0", "constraints.cash_buffer", "a number < 1"),
    ("[costs]\nparticipation = 1.2", "costs.participation", "a number ≤ 1"),
    ("[tax]\nshort_term_rate = 1.2", "tax.short_term_rate", "a number ≤ 1"),
    ("[risk]\nvol_window_days = 1", "risk.vol_window_days", "a number ≥ 2"),
    ("[backtest]\nbootstrap_samples = 0", "backtest.bootstrap_samples", "a number ≥ 1"),
    ("[backtest]\nthresholds = []", "backtest.thresholds", "at least 1 item(s)"),
])
def test_range_checks(text: str, field: str, expected: str, tmp_path: Path) -> None:
    assert f"line 2, field '{field}': expected {expected}" in _error(text, tmp_path)


def test_not_finite(tmp_path: Path) -> None:
    msg = _error("[policy]\ntracking_aversion = inf\n", tmp_path)
    assert "line 2, field 'policy.tracking_aversion': expected a finite number, found inf" in msg


def test_bad_choice_lists_the_choices(tmp_path: Path) -> None:
    msg = _error("[policy]\ntrigger = \"treshold\"\n", tmp_path)
    assert "line 2, field 'policy.trigger': expected one of 'never', 'calendar'" in msg
    assert "found \"treshold\"" in msg


def test_list_must_be_increasing(tmp_path: Path) -> None:
    msg = _error("[backtest]\nthresholds = [0.05, 0.03]\n", tmp_path)
    assert msg.endswith("line 2, field 'backtest.thresholds': expected values in strictly "
                        "increasing order, found [0.05, 0.03]")
    msg = _error("[costs]\nvix_breaks = [30, 20]\n", tmp_path)
    assert "field 'costs.vix_breaks': expected values in strictly increasing order" in msg


def test_bad_list_item_names_its_index_and_the_key_line(tmp_path: Path) -> None:
    text = "[backtest]\nvix_multipliers = [\n  [1.0, 1.0, 1.0],\n  [1.0, \"2\", 3.0],\n]\n" \
           "seed = -1\n"
    msg = _error(text, tmp_path)
    assert msg.startswith(f"2 problems in {tmp_path / 'dw.toml'}:\n")
    assert "line 2, field 'backtest.vix_multipliers[1][1]': expected a number, found \"2\"" in msg
    assert "line 6, field 'backtest.seed': expected a number ≥ 0, found -1" in msg


# --------------------------------------------------- keys not supported (yet)


@pytest.mark.parametrize(("text", "line", "field", "why"), [
    ("[costs]\nspread_window_days = 20\n", 2, "costs.spread_window_days",
     "no input carries a spread history"),
])
def test_unsupported_key_is_rejected_naming_file_line_and_field(
        text: str, line: int, field: str, why: str, tmp_path: Path) -> None:
    msg = _error(text, tmp_path)
    assert msg.startswith(f"{tmp_path / 'dw.toml'}, line {line}, field '{field}': {field} is "
                          f"not supported yet: {why}")
    assert msg.endswith("; remove the key")


def test_several_unsupported_keys_are_listed_by_line(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(UNSUPPORTED, ("tax", "not_a_key"), "nothing reads it")
    msg = _error("[costs]\nspread_window_days = 20\n[tax]\nnot_a_key = 0.1\n", tmp_path)
    assert msg.startswith(f"2 problems in {tmp_path / 'dw.toml'}:\n")
    assert msg.index("line 2, field 'costs.spread_window_days'") < msg.index(
        "line 4, field 'tax.not_a_key'")


def test_unsupported_key_through_overrides_and_dicts() -> None:
    with pytest.raises(ConfigError, match=re.escape(
            "overrides, field 'costs.spread_window_days': costs.spread_window_days is not "
            "supported yet")):
        default_config().with_overrides({"costs.spread_window_days": 20})
    with pytest.raises(ConfigError, match=re.escape("<dict>, field 'costs.spread_window_days'")):
        Config.from_dict({"costs": {"spread_window_days": 20}})


def test_template_sets_no_unsupported_key() -> None:
    for section, key in UNSUPPORTED:
        assert not re.search(rf"^#? ?{key} = ", DEFAULT_CONFIG_TOML, flags=re.M), key
        assert key not in SECTIONS[section].model_fields


# --------------------------------------------------------- composed triggers


def test_composed_trigger_reads_round_trips_and_describes() -> None:
    text = ('[policy]\ntrigger = "all_of"\n'
            'triggers = ["threshold", { any_of = ["calendar", "cost_benefit"] }]\n')
    cfg = loads_config(text)
    first, group = cfg.policy.triggers
    assert first is TriggerKind.THRESHOLD and isinstance(group, TriggerGroup)
    assert group.mode is TriggerKind.ANY_OF
    assert group.components == (TriggerKind.CALENDAR, TriggerKind.COST_BENEFIT)
    assert loads_config(cfg.to_toml()) == cfg
    assert 'triggers = ["threshold", { any_of = ["calendar", "cost_benefit"] }]' \
        in cfg.to_toml()
    assert cfg.describe()["policy"]["triggers"] == [
        "threshold", {"any_of": ["calendar", "cost_benefit"]}]
    assert cfg.with_overrides({"policy.threshold": 0.07}).policy.triggers == cfg.policy.triggers
    assert Config.from_dict(json.loads(json.dumps(cfg.describe()))) == cfg


@pytest.mark.parametrize(("body", "line", "field", "expected"), [
    ('trigger = "any_of"\n', 2, "policy.triggers",
     'at least two triggers to compose for trigger = "any_of"'),
    ('trigger = "all_of"\ntriggers = []\n', 3, "policy.triggers",
     'at least two triggers to compose for trigger = "all_of"'),
    ('trigger = "any_of"\ntriggers = ["threshold"]\n', 3, "policy.triggers",
     "at least two triggers"),
    ('triggers = ["threshold", "calendar"]\n', 2, "policy.triggers",
     'no triggers list unless trigger = "any_of" or "all_of"'),
    ('trigger = "any_of"\ntriggers = ["treshold", "calendar"]\n', 3, "policy.triggers[0]",
     "one of 'calendar', 'threshold'"),
    ('trigger = "any_of"\ntriggers = ["calendar", "never"]\n', 3, "policy.triggers[1]",
     "a trigger that can fire (never cannot be composed)"),
    ('trigger = "any_of"\ntriggers = ["calendar", "calendar"]\n', 3, "policy.triggers[1]",
     "each trigger once"),
    ('trigger = "any_of"\ntriggers = ["calendar", "all_of"]\n', 3, "policy.triggers[1]",
     "a trigger name; nest with { all_of = [...] } instead"),
    ('trigger = "any_of"\ntriggers = ["bands",\n  { all_of = ["calendar",\n'
     '    { any_of = ["threshold", "hybrid"] }] }]\n', 3, "policy.triggers[1].all_of[1]",
     "a trigger name: compositions nest one level deep at most"),
    ('trigger = "any_of"\ntriggers = ["bands", { all_of = ["calendar"] }]\n', 3,
     "policy.triggers[1].all_of", "at least two triggers"),
    ('trigger = "any_of"\ntriggers = ["bands", { some_of = ["calendar", "threshold"] }]\n',
     3, "policy.triggers[1]", "a table with one key, any_of or all_of"),
    ('trigger = "any_of"\ntriggers = "threshold"\n', 3, "policy.triggers",
     "a list of trigger names"),
    ('trigger = "any_of"\ntriggers = ["bands", "calendar", "threshold", "hybrid", "dynamic",'
     ' "cost_benefit", "volatility_aware", { any_of = ["bands", "calendar"] },'
     ' { all_of = ["bands", "calendar"] }]\n', 3, "policy.triggers", "at most 8 triggers"),
])
def test_composition_errors_name_line_and_field(body: str, line: int, field: str,
                                                expected: str, tmp_path: Path) -> None:
    msg = _error("[policy]\n" + body, tmp_path)
    assert f"line {line}, field '{field}': expected {expected}" in msg, msg


def test_unknown_component_suggests_the_name(tmp_path: Path) -> None:
    msg = _error('[policy]\ntrigger = "any_of"\ntriggers = ["treshold", "calendar"]\n',
                 tmp_path)
    assert msg.endswith("found \"treshold\" (did you mean 'threshold'?)")


def test_triple_needs_three_values(tmp_path: Path) -> None:
    msg = _error("[costs]\nvix_multipliers = [1.0, 1.5]\n", tmp_path)
    assert "line 2, field 'costs.vix_multipliers" in msg


def test_duplicate_impact_model(tmp_path: Path) -> None:
    msg = _error("[backtest]\nimpact_models = [\"square_root\", \"square_root\"]\n", tmp_path)
    assert "field 'backtest.impact_models': expected each value once, found \"square_root\" twice" \
        in msg


def test_cross_field_delay(tmp_path: Path) -> None:
    msg = _error("[policy]\ndelay_days = 15\nmax_delay_days = 12\n", tmp_path)
    assert msg.endswith("line 3, field 'policy.max_delay_days': expected max_delay_days ≥ "
                        "delay_days (15), found 12")
    # the partner field's line serves when the named field is not in the file
    assert "line 2, field 'policy.max_delay_days'" in _error("[policy]\ndelay_days = 30\n",
                                                             tmp_path)


def test_cross_field_bands(tmp_path: Path) -> None:
    msg = _error("[policy]\nband_mode = \"relative\"\nband_rel = 0.0\n", tmp_path)
    assert "line 3, field 'policy.band_rel': expected band_rel > 0 for band_mode = " \
           "\"relative\", found 0.0" in msg
    msg = _error("[policy]\nband_abs = 0.0\nband_rel = 0.0\n", tmp_path)
    assert "line 2, field 'policy.band_abs': expected band_abs > 0" in msg
    cfg = loads_config("[policy]\nband_mode = \"relative\"\nband_abs = 0.0\n")
    assert cfg.policy.band_abs == 0.0


def test_cross_field_extreme_drift(tmp_path: Path) -> None:
    msg = _error("[policy]\nstress_max_drift = 0.2\n", tmp_path)
    assert "line 2, field 'policy.extreme_drift': expected extreme_drift ≥ stress_max_drift" in msg


def test_cross_field_dates(tmp_path: Path) -> None:
    msg = _error("[backtest]\nstart = 2020-01-02\nend = 2019-12-31\n", tmp_path)
    assert msg.endswith("line 3, field 'backtest.end': expected a date after start "
                        "(2020-01-02), found 2019-12-31")


def test_dates(tmp_path: Path) -> None:
    cfg = loads_config("[backtest]\nstart = \"2020-01-02\"\n[portfolio]\n"
                       "last_rebalance = 2024-03-28\n")
    assert cfg.backtest.start == date(2020, 1, 2)
    assert cfg.portfolio.last_rebalance == date(2024, 3, 28)
    msg = _error("[backtest]\nstart = 2020-01-02T10:00:00\n", tmp_path)
    assert "field 'backtest.start': expected a date such as 2020-01-31" in msg
    assert "field 'backtest.end': expected a date" in _error("[backtest]\nend = 20200102\n",
                                                             tmp_path)


def test_tickers_are_normalized_and_checked(tmp_path: Path) -> None:
    cfg = loads_config("[constraints]\ndo_not_buy = [\" xom\", \"BRK.B\"]\n")
    assert cfg.constraints.do_not_buy == ("XOM", "BRK.B")
    assert "field 'constraints.do_not_sell': expected tickers" in _error(
        "[constraints]\ndo_not_sell = [\"A B\"]\n", tmp_path)
    assert "expected each value once, found \"XOM\" twice" in _error(
        "[constraints]\ndo_not_buy = [\"xom\", \"XOM\"]\n", tmp_path)


def test_section_of_the_wrong_type(tmp_path: Path) -> None:
    assert "line 1, field 'policy': expected a table, found 3" in _error("policy = 3\n", tmp_path)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    assert "field 'treshold': unknown top-level key" in _error("treshold = 0.1\n", tmp_path)


def test_dotted_and_inline_keys_are_located(tmp_path: Path) -> None:
    msg = _error("# comment\npolicy.threshold = 2.0\n", tmp_path)
    assert "line 2, field 'policy.threshold'" in msg
    msg = _error("\npolicy = { threshold = 2.0 }\n", tmp_path)
    assert "line 2, field 'policy.threshold'" in msg


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: configuration file not found"):
        load_config(tmp_path / "nope.toml")
    path = tmp_path / "latin.toml"
    path.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin\.toml: not UTF-8"):
        load_config(path)


def test_key_lines_skips_strings_arrays_and_comments() -> None:
    text = ("a = 1 # x = 2\n"
            "b = [\n  \"[not]\",\n  1,\n]\n"
            "c = \"\"\"\nd = 3\n\"\"\"\n"
            "[t.u]  # [fake]\n"
            "'q.k' = 1\n"
            "e . f = 2\n")
    assert key_lines(text) == {("a",): 1, ("b",): 2, ("c",): 6, ("t", "u"): 9,
                                ("t", "u", "q.k"): 10, ("t", "u", "e", "f"): 11}


# ------------------------------------------------------- property: round trip

_unit = st.floats(min_value=0.0, max_value=1.0, exclude_min=True)
_frac = st.floats(min_value=0.0, max_value=1.0)
_pos = st.floats(min_value=1e-9, max_value=1e9)
_nonneg = st.floats(min_value=0.0, max_value=1e9)
_days = st.integers(min_value=1, max_value=5000)
_triple = st.tuples(_pos, _pos, _pos)
_tickers = st.lists(st.from_regex(r"[A-Z][A-Z0-9.]{0,4}", fullmatch=True), unique=True,
                    max_size=4).map(tuple)


def _increasing(elements: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(elements, min_size=1, max_size=5, unique=True).map(lambda v: tuple(sorted(v)))


_LEAVES = [k.value for k in COMPONENTS]


@st.composite
def _components(draw: st.DrawFn) -> list[Any]:
    """Two to four distinct components, one of them perhaps a nested composition."""
    names = draw(st.lists(st.sampled_from(_LEAVES), min_size=2, max_size=4, unique=True))
    items: list[Any] = list(names)
    if draw(st.booleans()):
        inner = draw(st.lists(st.sampled_from(_LEAVES), min_size=2, max_size=3, unique=True))
        items[0] = {draw(st.sampled_from(["any_of", "all_of"])): inner}
    return items


@st.composite
def _policy(draw: st.DrawFn) -> dict[str, Any]:
    delay = draw(st.integers(0, 60))
    stress_max = draw(_frac)
    trigger = draw(st.sampled_from(TriggerKind))
    return {
        "trigger": trigger,
        "triggers": draw(_components()) if trigger in COMPOSITE else [],
        "frequency": draw(st.sampled_from(Frequency)),
        "anchor": draw(st.sampled_from(Anchor)), "threshold": draw(_unit),
        "hybrid_override": draw(_unit), "band_abs": draw(_unit), "band_rel": draw(_unit),
        "band_mode": draw(st.sampled_from(BandMode)),
        "cost_benefit_form": draw(st.sampled_from(CostBenefitForm)),
        "tracking_aversion": draw(_pos), "benefit_horizon_days": draw(_days),
        "vol_aware_min_vol": draw(_pos), "vol_aware_min_drift": draw(_unit),
        "stress_delay": draw(st.booleans()), "stress_vix": draw(_pos),
        "stress_max_drift": stress_max,
        "extreme_drift": draw(st.floats(max(stress_max, 1e-9), 1.0)),
        "delay_days": delay, "max_delay_days": delay + draw(st.integers(0, 60)),
        "dynamic_multipliers": draw(_triple), "dynamic_stress_pause": draw(st.booleans()),
        "destination": draw(st.sampled_from(Destination)),
        "cost_constrained_multiple": draw(_pos),
        "skip_if_cost_exceeds_benefit": draw(st.booleans()),
    }


@st.composite
def _config(draw: st.DrawFn) -> Config:
    start, end = draw(st.one_of(st.none(), st.dates())), draw(st.one_of(st.none(), st.dates()))
    if start is not None and end is not None and end <= start:
        start, end = (end, start) if end < start else (start, None)
    data = {
        "policy": draw(_policy()),
        "constraints": {
            "long_only": draw(st.booleans()), "cash_buffer": draw(st.floats(0.0, 0.99)),
            "min_trade_usd": draw(_nonneg), "min_trade_shares": draw(_nonneg),
            "whole_shares": draw(st.booleans()), "do_not_buy": draw(_tickers),
            "do_not_sell": draw(_tickers), "max_turnover": draw(_pos),
            "min_adv_usd": draw(_nonneg), "max_liquidity_days": draw(_pos)},
        "costs": {
            "impact_model": draw(st.sampled_from(ImpactModel)), "impact_coef": draw(_nonneg),
            "vix_breaks": draw(st.lists(_pos, min_size=2, max_size=2, unique=True)
                               .map(lambda v: tuple(sorted(v)))),
            "vix_multipliers": draw(_triple), "participation": draw(_unit),
            "cost_scale": draw(_nonneg), "flat_cost_bps": draw(st.none() | _nonneg),
            "stale_after_days": draw(_days), "accept_stale_costs": draw(st.booleans()),
            "commission_bps": draw(_nonneg),
            "commission_per_share_usd": draw(st.none() | _nonneg),
            "min_ticket_usd": draw(_nonneg), "borrow_bps_annual": draw(_nonneg),
            "adv_window_days": draw(_days)},
        "risk": {
            "vol_window_days": draw(st.integers(2, 5000)),
            "cov_windows_days": draw(_increasing(st.integers(2, 5000))),
            "estimator": draw(st.sampled_from(CovarianceEstimator)),
            "te_model": draw(st.sampled_from(TeModel)), "drift_cap": draw(_unit)},
        "execution": {
            "style": draw(st.sampled_from(ExecutionStyle)), "participation": draw(_unit),
            "multi_day_after_days": draw(_pos), "risk_aversion": draw(_nonneg),
            "slices_per_day": draw(st.integers(1, 400)),
            "order_type": draw(st.sampled_from(OrderType))},
        "tax": {
            "enabled": draw(st.booleans()), "lot_relief": draw(st.sampled_from(LotRelief)),
            "specific_lots": ("AAA:2020-01-02", "BBB:2021-03-04#2"),
            "short_term_rate": draw(_frac), "long_term_rate": draw(_frac),
            "state_rate": draw(_frac), "niit_rate": draw(_frac),
            "long_term_after_days": draw(st.none() | _days),
            "gain_budget_usd": draw(st.none() | st.floats(0, 1e9)),
            "defer_short_term_gains": draw(st.booleans()),
            "defer_horizon_days": draw(st.integers(0, 400)),
            "wash_sale_days": draw(st.integers(0, 90)),
            "allow_wash_sales": draw(st.booleans()),
            "harvest_loss_threshold": draw(_frac),
            "harvest_min_loss_usd": draw(st.floats(0, 1e7)),
            "harvest_pairs": ("XLK:VGT",), "harvest_discount_rate_annual": draw(_frac),
            "harvest_years_to_sale": draw(_pos)},
        "backtest": {
            "start": start, "end": end, "start_from_holdings": draw(st.booleans()),
            "initial_nav_usd": draw(_pos), "thresholds": draw(_increasing(_unit)),
            "cost_levels_bps": draw(_increasing(_nonneg)),
            "vix_multipliers": tuple(draw(st.lists(_triple, min_size=1, max_size=4))),
            "impact_models": tuple(draw(st.lists(st.sampled_from(ImpactModel), min_size=1,
                                                 unique=True))),
            "bootstrap_block_days": draw(_days), "bootstrap_samples": draw(_days),
            "seed": draw(st.integers(0, 2**63 - 1))},
        "portfolio": {
            "last_rebalance": draw(st.none() | st.dates()),
            "default_target": draw(st.sampled_from(DefaultTarget))},
    }
    return Config.model_validate(data)


@given(_config())
def test_any_valid_config_survives_toml_round_trip(cfg: Config) -> None:
    text = cfg.to_toml()
    back = loads_config(text)
    assert back == cfg
    assert back.to_toml() == text
    assert json.loads(json.dumps(cfg.describe())) == cfg.describe()


def test_a_field_without_a_template_line_is_written_from_its_description() -> None:
    from driftwise.config import complete_template
    from driftwise.config.template import TEMPLATE_TOML

    assert "execution_days" not in TEMPLATE_TOML  # declared with the cost model only
    without = re.sub(r"# Coefficient Y of the square-root impact law.\nimpact_coef = 1.0\n", "",
                     TEMPLATE_TOML)
    assert without != TEMPLATE_TOML
    completed = complete_template(without)
    assert loads_config(completed) == default_config()
    block = completed.split("[costs]")[1]
    assert block.index("impact_model =") < block.index("impact_coef = 1.0") < block.index(
        "vix_breaks =")
    assert "# Y of the square-root law Y·σ_daily·sqrt(Q/ADV).\nimpact_coef" in completed
    optional = TEMPLATE_TOML.replace("# flat_cost_bps = 20.0\n", "")
    with pytest.raises(ValueError, match=r"costs\.flat_cost_bps"):
        complete_template(optional)
