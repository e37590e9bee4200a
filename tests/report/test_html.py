"""Page assembly: one self-contained HTML file, each expected figure present and wired."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.offline
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftwise.app.plan import Plan
from driftwise.cli import EXIT_OK, main
from driftwise.errors import ConfigError
from driftwise.report import report_pages, write_report
from driftwise.report.html import (
    ASSETS,
    BASIC_TRACES,
    Bullets,
    Chart,
    HeatPanel,
    HeatTable,
    Note,
    Page,
    Table,
    Tile,
    Tone,
    fmt_bps,
    fmt_date,
    fmt_num,
    fmt_pct,
    fmt_usd,
    plotly_js,
    plotly_js_path,
    render_html,
)
from driftwise.report.validation_page import ValidationPageData

PLAN_FIGURES = {"plan-drift-bands", "plan-before-after", "plan-cost-split", "plan-schedule"}
BACKTEST_FIGURES = {"backtest-nav", "backtest-drift", "backtest-frontier", "backtest-activity",
                    "backtest-heat-cost", "backtest-heat-vix", "backtest-threshold"}
VALIDATION_FIGURES = {"validation-hit-rates", "validation-by-regime", "validation-by-cost"}


class Outline(HTMLParser):
    """What the tests look for: tags with attributes, scripts, figures, sections, links."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def having(self, tag: str, attr: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and attr in a]


def outline(text: str) -> Outline:
    parser = Outline()
    parser.feed(text)
    parser.close()
    return parser


def figure_keys(parsed: Outline) -> set[str]:
    return {a["data-figure"] for a in parsed.having("figure", "data-figure")}


def tiny_page(key: str = "p", chart_key: str = "c", headline: str = "Decision: SKIP") -> Page:
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1.0, 2.0]))
    return Page(key=key, title="Page", headline=headline, tone=Tone.INFO,
                tiles=(Tile("Drift", "5.00%", "before"),),
                blocks=(Chart(chart_key, "A chart", fig, caption="caption"),
                        Table("t", "A table", pd.DataFrame({"x": [0.5]}, index=["row"]),
                              {"x": fmt_pct}),
                        Bullets("Checks", ("ok", "bad"), (True, False)), Note("a note")))


# ---------------------------------------------------------------- formatters

def test_formatters_by_hand() -> None:
    assert fmt_pct(0.0508) == "5.08%"
    assert fmt_pct(0.05, 1) == "5.0%"
    assert fmt_bps(0.0001) == "1.0 bp"
    assert fmt_usd(357.4) == "USD 357"
    assert fmt_usd(-1_090_000) == "USD -1.09M"
    assert fmt_num(1234.5678) == "1,234.57"
    assert fmt_date(pd.Timestamp("2022-12-28 00:00")) == "2022-12-28"


@pytest.mark.parametrize("fmt", [fmt_pct, fmt_bps, fmt_num, fmt_usd])
def test_formatters_missing_values(fmt: object) -> None:
    assert fmt(float("nan")) == "–"  # type: ignore[operator]
    assert fmt(None) == "–"  # type: ignore[operator]
    assert fmt("text") == "–"  # type: ignore[operator]


def test_formatters_infinity() -> None:
    assert fmt_pct(float("inf")) == "∞"
    assert fmt_num(float("inf")) == "∞"
    assert fmt_date(None) == "–"


@given(st.floats(min_value=-10, max_value=10, allow_nan=False))
def test_fmt_pct_round_trips(x: float) -> None:
    text = fmt_pct(x, 4)
    assert math.isclose(float(text.rstrip("%")) / 100, x, abs_tol=1e-6)


# ---------------------------------------------------------------- render_html

def test_render_is_self_contained() -> None:
    text = render_html([tiny_page()], title="T")
    parsed = outline(text)
    # plotly.js inline exactly once, no external script, stylesheet or image
    assert text.count(plotly_js()) == 1
    assert not parsed.having("script", "src")
    assert not parsed.having("link", "href")
    assert not parsed.having("img", "src")
    for _, attrs in parsed.tags:
        for name in ("src", "href"):
            assert not re.match(r"(https?:)?//", attrs.get(name, "")), attrs


def test_render_wires_each_chart() -> None:
    parsed = outline(render_html([tiny_page(chart_key="drift")]))
    assert figure_keys(parsed) == {"drift"}
    divs = [a for a in parsed.having("div", "id") if "plotly-graph-div" in a.get("class", "")]
    assert [d["id"] for d in divs] == ["fig-drift"]
    assert sum('Plotly.newPlot(' in s and '"fig-drift"' in s for s in parsed.scripts) == 1


def test_render_nav_links_every_section() -> None:
    pages = [tiny_page("plan", "a"), tiny_page("backtest", "b")]
    parsed = outline(render_html(pages))
    links = [a["href"] for a in parsed.having("a", "href")]
    sections = [a["id"] for a in parsed.having("section", "id")]
    assert links == ["#plan", "#backtest"]
    assert sections == ["plan", "backtest"]


def test_render_escapes_text() -> None:
    text = render_html([tiny_page(headline="Decision: <script>alert(1)</script>")])
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)" in text


def test_render_table_and_bullets() -> None:
    text = render_html([tiny_page()])
    assert '<td class="num">50.00%</td>' in text
    assert '<li class="ok">ok</li>' in text and '<li class="bad">bad</li>' in text


def test_render_needs_a_page() -> None:
    with pytest.raises(ValueError, match="at least one page"):
        render_html([])


def test_render_rejects_duplicate_page_keys() -> None:
    with pytest.raises(ValueError, match="page"):
        render_html([tiny_page("p", "a"), tiny_page("p", "b")])


def test_render_rejects_duplicate_chart_keys() -> None:
    with pytest.raises(ValueError, match="chart"):
        render_html([tiny_page("p", "a"), tiny_page("q", "a")])


def test_render_rejects_webgl() -> None:
    page = Page("p", "P", "h", Tone.INFO,
                blocks=(Chart("gl", "GL", go.Figure(go.Scattergl(x=[1], y=[1]))),))
    with pytest.raises(ValueError, match="WebGL"):
        render_html([page])


# ---------------------------------------------------------------- write_report

def test_write_report_needs_something() -> None:
    with pytest.raises(ConfigError, match="nothing to report"):
        write_report("unused.html")


def test_write_report_all_pages(tmp_path: Path, sample_plan: Plan, sample_monitor: object,
                                backtest_result: SimpleNamespace,
                                validation_data: ValidationPageData) -> None:
    path = write_report(tmp_path / "deep" / "report.html", plan=sample_plan,
                        monitor=sample_monitor,  # type: ignore[arg-type]
                        backtest=backtest_result, validation=validation_data)
    assert path == tmp_path / "deep" / "report.html"
    text = path.read_text(encoding="utf-8")
    parsed = outline(text)
    keys = figure_keys(parsed)
    expected = PLAN_FIGURES | BACKTEST_FIGURES | VALIDATION_FIGURES
    if not len(sample_plan.trades):
        expected -= {"plan-cost-split", "plan-schedule"}
    assert keys == expected
    assert [a["id"] for a in parsed.having("section", "id")] == ["plan", "backtest", "validation"]
    assert f"Decision: {_decision_word(sample_plan)}" in text
    assert {a["data-table"] for a in parsed.having("div", "data-table")} >= {
        "plan-flags", "backtest-metrics", "validation-rules"}


def _decision_word(plan: Plan) -> str:
    return plan.decision.value.upper()


def test_report_pages_plug_in_one_at_a_time(sample_plan: Plan,
                                            validation_data: ValidationPageData) -> None:
    assert [p.key for p in report_pages(plan=sample_plan)] == ["plan"]
    assert [p.key for p in report_pages(validation=validation_data)] == ["validation"]
    assert [p.key for p in report_pages(validation=validation_data.rules)] == ["validation"]


def test_every_chart_draws_in_svg(sample_plan: Plan, backtest_result: SimpleNamespace,
                                  validation_data: ValidationPageData) -> None:
    pages = report_pages(plan=sample_plan, backtest=backtest_result, validation=validation_data)
    types = {trace.type for page in pages for chart in page.charts for trace in chart.figure.data}
    assert types <= BASIC_TRACES == {"scatter", "bar", "pie"}  # what the basic bundle draws
    heat = [b.key for page in pages for b in page.blocks if isinstance(b, HeatTable)]
    assert heat == ["backtest-heat-cost", "backtest-heat-vix"]


# ---------------------------------------------------------------- the light report

def test_shipped_bundle_is_the_version_plotly_writes_for() -> None:
    header = plotly_js()[:200]
    found = re.search(r"plotly\.js \(basic - minified\) v(\d+\.\d+\.\d+)", header)
    assert found, f"no version in the bundle header {header!r}"
    wanted = plotly.offline.get_plotlyjs_version()
    assert found.group(1) == wanted, (
        f"{plotly_js_path().name} is plotly.js {found.group(1)} but the installed plotly "
        f"writes figures for {wanted}: run python scripts/fetch_plotly_basic.py")
    assert plotly_js_path().name == f"plotly-basic-{wanted}.min.js"
    assert "MIT License" in (ASSETS / "plotly-basic-LICENSE.txt").read_text(encoding="utf-8")


def test_render_rejects_a_trace_the_basic_bundle_cannot_draw() -> None:
    page = Page("p", "P", "h", Tone.INFO,
                blocks=(Chart("hm", "HM", go.Figure(go.Heatmap(z=[[1.0]]))),))
    with pytest.raises(ValueError, match="heatmap"):
        render_html([page])


def heat(values: list[list[float]]) -> HeatTable:
    texts = tuple(tuple(fmt_num(v) for v in row) for row in values)
    panel = HeatPanel("Cost", np.array(values), texts, ("#ffffff", "#000000"))
    return HeatTable("h", "Heat", ("5.0%", "10.0%"), ("10", "50"), "threshold", "cost (bp)",
                     (panel, panel))


def test_heat_table_is_a_static_svg_with_every_value() -> None:
    text = render_html([Page("p", "P", "h", Tone.INFO, blocks=(heat([[1.0, 2.0],
                                                                      [3.0, float("nan")]]),))])
    figure = text[text.index('<figure class="chart heat"'):]
    assert figure.count('<g class="cell">') == 8  # 2 panels x 2 rows x 2 columns
    assert figure.count("<title>") == 8
    assert "<title>cost (bp) 50, threshold 5.0%: 3.00</title>" in figure
    assert '"fig-h"' not in text and "Plotly.newPlot" not in figure
    fills = re.findall(r'fill="(#[0-9a-f]{6})" stroke', figure)
    # lowest value lightest, highest darkest, an empty cell white
    assert fills[:4] == ["#ffffff", "#808080", "#000000", "#ffffff"]
    assert figure_keys(outline(text)) == {"h"}


def test_heat_table_of_one_value_is_the_light_end() -> None:
    text = render_html([Page("p", "P", "h", Tone.INFO, blocks=(heat([[2.0, 2.0],
                                                                      [2.0, 2.0]]),))])
    assert set(re.findall(r'fill="(#[0-9a-f]{6})" stroke', text)) == {"#ffffff"}


def test_plan_report_of_the_sample_is_light(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.html"
    assert main(["plan", "--report", str(path)]) == EXIT_OK
    capsys.readouterr()
    size_bytes = path.stat().st_size
    assert size_bytes <= 1_500_000, f"the report weighs {size_bytes:,} bytes"
    text = path.read_text(encoding="utf-8")
    assert text.count(plotly_js()) == 1
    assert {"backtest-heat-cost", "backtest-heat-vix"} <= figure_keys(outline(text))
