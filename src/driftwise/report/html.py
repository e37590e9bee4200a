"""Page assembly: one self-contained HTML file with a nav bar and one section per page.

A report is a sequence of :class:`Page` objects (plan, backtest, validation), each a
headline in plain words, a row of key figures and a list of blocks (charts, tables,
bullet lists, notes). :func:`render_html` turns them into one HTML document that opens
with no network: plotly.js is embedded once, inline, and every chart is a plotly
figure drawn in SVG (scatter, bar and heatmap traces only, never WebGL).

Numbers stay fractions and USD inside the code; percents and basis points appear only
through the display formatters of this module.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from driftwise import __version__
from driftwise._atomic import write_text

Formatter = Callable[[object], str]
DASH = "–"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
WEBGL_TRACES = frozenset({"scattergl", "heatmapgl", "pointcloud", "splom", "parcoords"})
PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b",
           "#9d755d", "#ff9da6", "#bab0ac")
"""Series colours, by position, so one configuration keeps its colour across charts."""


def color(i: int) -> str:
    """The ``i``-th series colour (cycling)."""
    return PALETTE[i % len(PALETTE)]


class Tone(StrEnum):
    """Colour of a headline: what a reader should feel at a glance."""

    GO = "go"
    WAIT = "wait"
    STOP = "stop"
    INFO = "info"


@dataclass(frozen=True)
class Tile:
    """One key figure shown under a headline (label, value, small print)."""

    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Chart:
    """A plotly figure with a stable key (``data-figure`` attribute and div id)."""

    key: str
    title: str
    figure: go.Figure
    caption: str = ""
    height_px: int = 420


@dataclass(frozen=True)
class Table:
    """A DataFrame shown as an HTML table; ``formats`` maps columns to display formatters."""

    key: str
    title: str
    frame: pd.DataFrame
    formats: Mapping[str, Formatter] = field(default_factory=dict)
    caption: str = ""
    index: bool = True


@dataclass(frozen=True)
class Bullets:
    """A titled list of sentences (reasons, checks)."""

    title: str
    items: tuple[str, ...]
    marks: tuple[bool | None, ...] = ()


@dataclass(frozen=True)
class Note:
    """A paragraph of plain text."""

    text: str


Block = Chart | Table | Bullets | Note


@dataclass(frozen=True)
class Page:
    """One section of the report.

    Attributes
    ----------
    key : str
        Anchor of the section (``plan``, ``backtest``, ``validation``).
    title : str
        Name in the nav bar and section heading.
    headline : str
        The conclusion in words a portfolio manager understands (e.g. "Decision: REBALANCE ...").
    tone : Tone
    tiles : tuple of Tile
        Key figures under the headline.
    blocks : tuple of Block
    subtitle : str
        Context line (date, portfolio, data).
    """

    key: str
    title: str
    headline: str
    tone: Tone
    tiles: tuple[Tile, ...] = ()
    blocks: tuple[Block, ...] = ()
    subtitle: str = ""

    @property
    def charts(self) -> tuple[Chart, ...]:
        """The page's charts, in order."""
        return tuple(b for b in self.blocks if isinstance(b, Chart))


# ---------------------------------------------------------------- display formatters

def _finite(x: object) -> float | None:
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def fmt_pct(x: object, digits: int = 2) -> str:
    """A fraction as a percent (0.0508 -> ``5.08%``); NaN/None -> dash, inf -> ``∞``."""
    value = _finite(x)
    if value is None:
        return "∞" if _is_inf(x) else DASH
    return f"{100 * value:.{digits}f}%"


def fmt_bps(x: object, digits: int = 1) -> str:
    """A fraction as basis points (0.0001 -> ``1.0 bp``)."""
    value = _finite(x)
    if value is None:
        return "∞" if _is_inf(x) else DASH
    return f"{1e4 * value:.{digits}f} bp"


def fmt_usd(x: object, digits: int = 0) -> str:
    """USD with thousands separators, large amounts in millions (``USD 1.09M``)."""
    value = _finite(x)
    if value is None:
        return DASH
    if abs(value) >= 1e6:
        return f"USD {value / 1e6:,.2f}M"
    return f"USD {value:,.{digits}f}"


def fmt_num(x: object, digits: int = 2) -> str:
    """A plain number with thousands separators."""
    value = _finite(x)
    if value is None:
        return "∞" if _is_inf(x) else DASH
    return f"{value:,.{digits}f}"


def fmt_date(x: object) -> str:
    """A date as ``YYYY-MM-DD`` (dash when missing)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return DASH
    try:
        return str(pd.Timestamp(x).date())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return html.escape(str(x))


def _is_inf(x: object) -> bool:
    try:
        return math.isinf(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- rendering

STYLE = """
:root{--ink:#1d2733;--muted:#5b6b7c;--line:#d9e0e7;--bg:#f5f7fa;--go:#1b7f4b;--wait:#a86b00;
--stop:#b3261e;--info:#1f5fa8}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
nav{position:sticky;top:0;z-index:10;background:#17212b;color:#fff;display:flex;gap:4px;
align-items:center;padding:0 24px;height:48px}
nav .brand{font-weight:700;margin-right:20px;letter-spacing:.02em}
nav a{color:#cfd8e3;text-decoration:none;padding:6px 12px;border-radius:4px}
nav a:hover{background:#2c3a48;color:#fff}
header.report{max-width:1200px;margin:24px auto 0;padding:0 24px}
header.report h1{margin:0;font-size:26px}
header.report p{margin:4px 0;color:var(--muted)}
main{max-width:1200px;margin:0 auto;padding:0 24px 48px}
section.page{background:#fff;border:1px solid var(--line);border-radius:8px;margin:24px 0;
padding:20px 28px;scroll-margin-top:60px}
section.page>h2{margin:0 0 2px;font-size:22px}
.subtitle{color:var(--muted);margin:0 0 12px}
.headline{font-size:19px;font-weight:600;padding:14px 18px;border-radius:6px;margin:8px 0 16px;
border-left:6px solid var(--info);background:#eef4fb}
.headline.go{border-color:var(--go);background:#eaf6ef}
.headline.wait{border-color:var(--wait);background:#fdf4e3}
.headline.stop{border-color:var(--stop);background:#fbeceb}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;
margin:0 0 18px}
.tile{border:1px solid var(--line);border-radius:6px;padding:10px 14px}
.tile .label{color:var(--muted);font-size:13px}
.tile .value{font-size:18px;font-weight:600;white-space:nowrap}
.tile .detail{color:var(--muted);font-size:12px}
figure.chart{margin:18px 0;border-top:1px solid var(--line);padding-top:10px}
figure.chart h3,.block h3{margin:6px 0;font-size:16px}
figcaption,.caption{color:var(--muted);font-size:13px;margin:4px 0}
.block{margin:18px 0;border-top:1px solid var(--line);padding-top:10px}
.scroll{overflow-x:auto;max-height:520px;overflow-y:auto}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #edf0f3;text-align:left;white-space:nowrap}
th{background:#f0f3f6;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
ul.marks{list-style:none;padding-left:4px}
ul.marks li::before{display:inline-block;width:1.4em;font-weight:700}
ul.marks li.ok::before{content:"✓";color:var(--go)}
ul.marks li.bad::before{content:"✗";color:var(--stop)}
footer{max-width:1200px;margin:0 auto;padding:0 24px 32px;color:var(--muted);font-size:12px}
"""


@cache
def plotly_js() -> str:
    """The plotly.js bundle of the installed plotly, to inline once per report."""
    return str(plotly.offline.get_plotlyjs())


def chart_html(chart: Chart) -> str:
    """One chart as a ``<figure>`` holding its plotly div and the script that draws it.

    Raises
    ------
    ValueError
        A trace would render with WebGL (no SVG for the browser test to check).
    """
    webgl = sorted({t.type for t in chart.figure.data} & WEBGL_TRACES)
    if webgl:
        raise ValueError(f"chart {chart.key!r} uses WebGL traces {webgl}; use SVG traces")
    div = chart.figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"fig-{chart.key}",
        default_height=f"{chart.height_px}px", default_width="100%", config=PLOTLY_CONFIG)
    caption = f"<figcaption>{html.escape(chart.caption)}</figcaption>" if chart.caption else ""
    return (f'<figure class="chart" data-figure="{html.escape(chart.key)}">'
            f"<h3>{html.escape(chart.title)}</h3>{caption}{div}</figure>")


def table_html(table: Table) -> str:
    """A DataFrame as an escaped HTML table (numbers right-aligned)."""
    frame = table.frame
    head = ([html.escape(str(frame.index.name or ""))] if table.index else [])
    head += [html.escape(str(c)) for c in frame.columns]
    rows = []
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = [f"<td>{html.escape(str(label))}</td>"] if table.index else []
        for column, value in zip(frame.columns, row, strict=True):
            text, numeric = _cell(value, table.formats.get(str(column)))
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f'<p class="caption">{html.escape(table.caption)}</p>' if table.caption else ""
    return (f'<div class="block" data-table="{html.escape(table.key)}">'
            f"<h3>{html.escape(table.title)}</h3>{caption}<div class=\"scroll\"><table>"
            "<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></div>")


def _cell(value: object, formatter: Formatter | None) -> tuple[str, bool]:
    if formatter is not None:
        return html.escape(formatter(value)), True
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return html.escape(fmt_num(value)), True
    if isinstance(value, pd.Timestamp):
        return fmt_date(value), False
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH, False
    return html.escape(str(value)), False


def block_html(block: Block) -> str:
    """Any block as HTML."""
    if isinstance(block, Chart):
        return chart_html(block)
    if isinstance(block, Table):
        return table_html(block)
    if isinstance(block, Bullets):
        items = []
        for i, text in enumerate(block.items):
            mark = block.marks[i] if i < len(block.marks) else None
            cls = "" if mark is None else (' class="ok"' if mark else ' class="bad"')
            items.append(f"<li{cls}>{html.escape(text)}</li>")
        kind = "marks" if block.marks else "plain"
        return (f'<div class="block"><h3>{html.escape(block.title)}</h3>'
                f'<ul class="{kind}">' + "".join(items) + "</ul></div>")
    return f'<p class="note">{html.escape(block.text)}</p>'


def page_html(page: Page) -> str:
    """One page as a ``<section>`` with its headline, tiles and blocks."""
    tiles = "".join(
        f'<div class="tile"><div class="label">{html.escape(t.label)}</div>'
        f'<div class="value">{html.escape(t.value)}</div>'
        f'<div class="detail">{html.escape(t.detail)}</div></div>' for t in page.tiles)
    subtitle = f'<p class="subtitle">{html.escape(page.subtitle)}</p>' if page.subtitle else ""
    return (f'<section class="page" id="{html.escape(page.key)}" data-page="{page.key}">'
            f"<h2>{html.escape(page.title)}</h2>{subtitle}"
            f'<div class="headline {page.tone.value}">{html.escape(page.headline)}</div>'
            + (f'<div class="tiles">{tiles}</div>' if tiles else "")
            + "".join(block_html(b) for b in page.blocks) + "</section>")


def render_html(pages: Sequence[Page], *, title: str = "driftwise report",
                subtitle: str = "", generated: datetime | None = None) -> str:
    """Assemble pages into one self-contained HTML document.

    Parameters
    ----------
    pages : sequence of Page
        At least one; keys must be unique (they are the nav anchors).
    title, subtitle : str
    generated : datetime, optional
        Time stamp in the footer (default: now, UTC).

    Raises
    ------
    ValueError
        No page, or two pages or two charts with the same key.
    """
    if not pages:
        raise ValueError("a report needs at least one page")
    _unique([p.key for p in pages], "page")
    _unique([c.key for p in pages for c in p.charts], "chart")
    stamp = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f'<a href="#{html.escape(p.key)}">{html.escape(p.title)}</a>' for p in pages)
    sub = f"<p>{html.escape(subtitle)}</p>" if subtitle else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{plotly_js()}</script></head><body>'
        f'<nav><span class="brand">driftwise</span>{nav}</nav>'
        f'<header class="report"><h1>{html.escape(title)}</h1>{sub}</header>'
        "<main>" + "".join(page_html(p) for p in pages) + "</main>"
        f"<footer>Generated {stamp} by driftwise {__version__}. Self-contained: opens with "
        "no network. Weights and rates are fractions shown as percents; costs in basis "
        "points of NAV unless stated.</footer></body></html>\n")


def _unique(keys: list[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"two {what}s share the key {key!r}")
        seen.add(key)


def write_html(path: str | Path, pages: Sequence[Page], *, title: str = "driftwise report",
               subtitle: str = "", generated: datetime | None = None) -> Path:
    """Render ``pages`` (see :func:`render_html`) and write them to ``path`` (UTF-8).

    Returns the path written, its parent folders created when missing.
    """
    out = Path(path)
    write_text(out, render_html(pages, title=title, subtitle=subtitle, generated=generated))
    return out


def styled(figure: go.Figure, *, x_title: str = "", y_title: str = "",
           y_format: str | None = None, x_format: str | None = None,
           legend: bool = True) -> go.Figure:
    """Apply the report's look to ``figure`` (white template, legend on top, axis formats).

    ``x_format`` / ``y_format`` are d3 formats such as ``".1%"`` (values stay fractions).
    """
    figure.update_layout(
        template="plotly_white", margin={"l": 60, "r": 20, "t": 30, "b": 50},
        font={"size": 12}, showlegend=legend, hovermode="closest",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0})
    if x_title:
        figure.update_xaxes(title_text=x_title)
    if y_title:
        figure.update_yaxes(title_text=y_title)
    if x_format:
        figure.update_xaxes(tickformat=x_format)
    if y_format:
        figure.update_yaxes(tickformat=y_format)
    return figure
