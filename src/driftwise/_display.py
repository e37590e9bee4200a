"""How a result shows itself in a notebook and at the prompt: a title, key figures, tables.

Used by the ``__repr__`` and ``_repr_html_`` of the results the library API returns.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

MAX_ROWS = 20
"""Rows of a table shown in a notebook before it is cut."""


def text(title: str, pairs: Sequence[tuple[str, object]]) -> str:
    """``title`` then one ``label: value`` line per pair (the readable ``repr``)."""
    return "\n".join([title, *(f"  {label}: {value}" for label, value in pairs)])


def html_card(title: str, pairs: Sequence[tuple[str, object]],
              tables: Sequence[tuple[str, pd.DataFrame]]) -> str:
    """An HTML block: ``title``, the pairs as a two-column table, then ``tables``."""
    import html  # a notebook's call only (about 2 ms a command would pay for nothing)

    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                   f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                   for k, v in pairs)
    parts = [f"<div><strong>{html.escape(title)}</strong>", f"<table>{rows}</table>"]
    for caption, frame in tables:
        parts.append(f"<p><em>{html.escape(caption)}</em></p>")
        parts.append(frame.to_html(max_rows=MAX_ROWS, float_format=lambda x: f"{x:.6g}"))
    return "".join(parts) + "</div>"


def pct(value: object, digits: int = 2) -> str:
    """A fraction as a percent (``nan`` when missing)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return "nan" if number != number else f"{100 * number:.{digits}f}%"
