"""Page assembly: one self-contained HTML file with a nav bar and one section per page.

A report is a sequence of :class:`Page` objects (plan, backtest, validation), each a
headline in plain words, a row of key figures and a list of blocks (charts, tables,
bullet lists, notes). :func:`render_html` turns them into one HTML document that opens
with no network: plotly's basic bundle (scatter, bar and pie traces, drawn in SVG) is
embedded once, inline, and a heat table is a static SVG drawn here, with no script.

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

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from driftwise import __version__
from driftwise._atomic import write_text

Formatter = Callable[[object], str]
DASH = "–"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
BASIC_TRACES = frozenset({"scatter", "bar", "pie"})
"""The trace types plotly's basic bundle draws (the only bundle a report embeds)."""
ASSETS = Path(__file__).with_name("assets")
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
    sortable: bool = False
    """Sorted by a click on a column's heading (each cell keeps its raw value, so numbers
    sort as numbers whatever their display)."""


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


@dataclass(frozen=True)
class HeatPanel:
    """One panel of a heat table: a value per (row, column) cell and its display text.

    Attributes
    ----------
    title : str
    values : numpy.ndarray
        Shape ``(n_rows, n_columns)``, any unit; NaN for an empty cell (left blank).
    texts : tuple of tuple of str
        The value written in each cell, same shape as ``values``.
    scale : tuple of str
        Two hex colours, lightest (lowest value) and darkest (highest value).
    """

    title: str
    values: np.ndarray
    texts: tuple[tuple[str, ...], ...]
    scale: tuple[str, str] = ("#f7fbff", "#08519c")


@dataclass(frozen=True)
class HeatTable:
    """Panels of cells over the same rows and columns, drawn as one static SVG."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[str, ...]
    column_title: str
    row_title: str
    panels: tuple[HeatPanel, ...]
    caption: str = ""


Block = Chart | HeatTable | Table | Bullets | Note


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


def plotly_js_path() -> Path:
    """The shipped plotly.js basic bundle (``assets/plotly-basic-<version>.min.js``).

    Raises
    ------
    FileNotFoundError
        No bundle, or more than one, in the package's ``assets`` folder.
    """
    found = sorted(ASSETS.glob("plotly-basic-*.min.js"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one plotly-basic-<version>.min.js in {ASSETS}, found "
                                f"{[p.name for p in found]}; run scripts/fetch_plotly_basic.py")
    return found[0]


@cache
def plotly_js() -> str:
    """The plotly.js basic bundle (scatter, bar, pie), to inline once per report."""
    return plotly_js_path().read_text(encoding="utf-8")


def chart_html(chart: Chart) -> str:
    """One chart as a ``<figure>`` holding its plotly div and the script that draws it.

    Raises
    ------
    ValueError
        A trace the embedded basic bundle cannot draw (anything but scatter, bar, pie).
    """
    other = sorted({t.type for t in chart.figure.data} - BASIC_TRACES)
    if other:
        raise ValueError(f"chart {chart.key!r} uses traces {other} that plotly's basic "
                         f"bundle does not draw (WebGL or other); use {sorted(BASIC_TRACES)} "
                         "or a HeatTable")
    div = chart.figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"fig-{chart.key}",
        default_height=f"{chart.height_px}px", default_width="100%", config=PLOTLY_CONFIG)
    caption = f"<figcaption>{html.escape(chart.caption)}</figcaption>" if chart.caption else ""
    return (f'<figure class="chart" data-figure="{html.escape(chart.key)}">'
            f"<h3>{html.escape(chart.title)}</h3>{caption}{div}</figure>")


CELL_W_PX, CELL_H_PX, CHAR_W_PX, GAP_PX = 76, 30, 7, 28


def heat_table_html(table: HeatTable) -> str:
    """A heat table as a ``<figure>`` holding one static SVG: its panels side by side.

    Each cell is a ``<rect>`` coloured on its panel's sequential scale (lowest value
    lightest), with its value written in and a ``<title>`` naming row, column and value.
    """
    label_w = CHAR_W_PX * max(map(len, (*table.rows, table.row_title))) + 12
    panel_w = CELL_W_PX * len(table.columns)
    grid_h = CELL_H_PX * len(table.rows)
    parts = [_svg_text(label_w - 6, 16, table.row_title, anchor="end", weight="600")]
    for i, panel in enumerate(table.panels):
        left = label_w + i * (panel_w + GAP_PX)
        parts.append(_svg_text(left + panel_w / 2, 16, panel.title, weight="600"))
        parts.extend(_heat_cells(table, panel, left, 26))
        parts.extend(_svg_text(left + (j + 0.5) * CELL_W_PX, 44 + grid_h, name)
                     for j, name in enumerate(table.columns))
        parts.append(_svg_text(left + panel_w / 2, 64 + grid_h, table.column_title))
    parts.extend(_svg_text(label_w - 6, 26 + (k + 0.5) * CELL_H_PX + 4, name, anchor="end")
                 for k, name in enumerate(table.rows))
    width = label_w + len(table.panels) * (panel_w + GAP_PX)
    height = grid_h + 76
    caption = f"<figcaption>{html.escape(table.caption)}</figcaption>" if table.caption else ""
    return (f'<figure class="chart heat" data-figure="{html.escape(table.key)}">'
            f"<h3>{html.escape(table.title)}</h3>{caption}"
            f'<svg class="heat-table" role="img" aria-label="{html.escape(table.title)}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            'style="max-width:100%;height:auto;font-size:12px">'
            + "".join(parts) + "</svg></figure>")


def _heat_cells(table: HeatTable, panel: HeatPanel, left: float, top: float) -> list[str]:
    """The ``<g class="cell">`` of every cell of one panel."""
    values = np.asarray(panel.values, dtype=float)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    cells = []
    for k, row in enumerate(table.rows):
        for j, column in enumerate(table.columns):
            value, text = values[k, j], panel.texts[k][j]
            share = 0.0 if high <= low or not math.isfinite(value) else (value - low) / (high - low)
            fill = _mix(panel.scale, share) if math.isfinite(value) else "#ffffff"
            x, y = left + j * CELL_W_PX, top + k * CELL_H_PX
            tip = html.escape(f"{table.row_title} {row}, {table.column_title} {column}: {text}")
            cells.append(
                f'<g class="cell"><title>{tip}</title><rect x="{x}" y="{y}" width="{CELL_W_PX}" '
                f'height="{CELL_H_PX}" fill="{fill}" stroke="#ffffff"/>'
                + _svg_text(x + CELL_W_PX / 2, y + CELL_H_PX / 2 + 4, text,
                            fill="#ffffff" if share > 0.55 else "#1d2733") + "</g>")
    return cells


def _mix(scale: tuple[str, str], share: float) -> str:
    """The colour ``share`` (0 to 1) of the way from ``scale[0]`` to ``scale[1]``."""
    a, b = (tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in scale)
    return "#" + "".join(f"{round(x + share * (y - x)):02x}" for x, y in zip(a, b, strict=True))


def _svg_text(x: float, y: float, text: str, *, anchor: str = "middle", fill: str = "#1d2733",
              weight: str = "400") -> str:
    return (f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}">{html.escape(text)}</text>')


def table_html(table: Table) -> str:
    """A DataFrame as an escaped HTML table (numbers right-aligned).

    A sortable table's cells carry their raw value in ``data-value`` (a number, or the
    text; empty when missing) for :data:`SORT_SCRIPT`.
    """
    frame = table.frame
    head = ([html.escape(str(frame.index.name or ""))] if table.index else [])
    head += [html.escape(str(c)) for c in frame.columns]
    rows = []
    for label, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = [f"<td{_raw(label, table.sortable)}>{html.escape(str(label))}</td>"
                 ] if table.index else []
        for column, value in zip(frame.columns, row, strict=True):
            text, numeric = _cell(value, table.formats.get(str(column)))
            raw = _raw(value, table.sortable)
            cells.append(f'<td class="num"{raw}>{text}</td>' if numeric
                         else f"<td{raw}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f'<p class="caption">{html.escape(table.caption)}</p>' if table.caption else ""
    kind = ' class="sortable"' if table.sortable else ""
    return (f'<div class="block" data-table="{html.escape(table.key)}">'
            f"<h3>{html.escape(table.title)}</h3>{caption}<div class=\"scroll\"><table{kind}>"
            "<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></div>")


def _raw(value: object, sortable: bool) -> str:
    """The ``data-value`` attribute of a sortable table's cell ("" otherwise)."""
    if not sortable:
        return ""
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        text = repr(number) if math.isfinite(number) else ""
    elif value is None or (isinstance(value, float) and math.isnan(value)):
        text = ""
    else:
        text = str(value)
    return f' data-value="{html.escape(text)}"'


SORT_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('thead th').forEach(function (th, col) {
    th.style.cursor = 'pointer';
    th.title = 'sort by this column';
    th.addEventListener('click', function () {
      var down = th.getAttribute('aria-sort') === 'ascending';
      table.querySelectorAll('thead th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', down ? 'descending' : 'ascending');
      var body = table.tBodies[0];
      var rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-value');
        var y = b.cells[col].getAttribute('data-value');
        if (x === '' || y === '') { return (x === '') - (y === ''); }
        var p = Number(x), q = Number(y);
        var c = (isNaN(p) || isNaN(q)) ? x.localeCompare(y) : p - q;
        return down ? -c : c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""
"""Sorts a ``table.sortable`` by the raw values of the column whose heading is clicked
(ascending, then descending); missing values stay last."""


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
    if isinstance(block, HeatTable):
        return heat_table_html(block)
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
    _unique([b.key for p in pages for b in p.blocks if isinstance(b, Chart | HeatTable)],
            "chart")
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
        + (f'<script type="text/javascript">{SORT_SCRIPT}</script>' if _sortable(pages) else "")
        + f"<footer>Generated {stamp} by driftwise {__version__}. Self-contained: opens with "
        "no network. Weights and rates are fractions shown as percents; costs in basis "
        "points of NAV unless stated.</footer></body></html>\n")


def _sortable(pages: Sequence[Page]) -> bool:
    return any(isinstance(b, Table) and b.sortable for p in pages for b in p.blocks)


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


@cache
def light_template() -> go.layout.Template:
    """plotly's white template cut to what the report draws: its layout for cartesian axes
    and its defaults for scatter, bar and pie traces (each figure embeds its template)."""
    white = pio.templates["plotly_white"]
    layout = {key: value for key, value in white.layout.to_plotly_json().items()
              if key not in {"polar", "ternary", "coloraxis", "colorscale", "scene", "geo"}}
    data = {kind: white.data[kind] for kind in sorted(BASIC_TRACES)}
    return go.layout.Template(layout=layout, data=data)


def styled(figure: go.Figure, *, x_title: str = "", y_title: str = "",
           y_format: str | None = None, x_format: str | None = None,
           legend: bool = True) -> go.Figure:
    """Apply the report's look to ``figure`` (white template, legend on top, axis formats).

    ``x_format`` / ``y_format`` are d3 formats such as ``".1%"`` (values stay fractions).
    """
    figure.update_layout(
        template=light_template(), margin={"l": 60, "r": 20, "t": 30, "b": 50},
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
