"""Error messages of the configuration: file, line and dotted field of each problem.

``tomllib`` reports syntax errors with a position but gives no positions for values, so
:func:`key_lines` scans the TOML text for the line of every key (section headers, dotted
keys, multi-line values, strings and comments) and :func:`render` turns a pydantic error
into "file, line N, field 'section.key': expected X, found Y", with a suggestion for a
mistyped key.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from typing import Any

from pydantic import BaseModel

_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def toml_message(message: str, source: str) -> str:
    """A tomllib error as 'file, line N, column M: not valid TOML: ...'."""
    match = _AT.search(message)
    if match is None:
        return f"{source}: not valid TOML: {message}"
    problem = message[: match.start()]
    return f"{source}, line {match[1]}, column {match[2]}: not valid TOML: {problem}"


def render(err: Any, source: str, lines: dict[tuple[str, ...], int],
           root: type[BaseModel]) -> str:
    """One pydantic error as 'file, line N, field 'a.b': expected X, found Y'."""
    ctx: dict[str, Any] = err.get("ctx") or {}
    loc = tuple(err["loc"]) + (_field_path(str(ctx["field"])) if "field" in ctx else ())
    keys = tuple(p for p in loc if isinstance(p, str))
    line = _line_of(keys, lines)
    related = (*keys[:-1], str(ctx.get("related")))
    if keys not in lines and related in lines:
        line = lines[related]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    where = source + (f", line {line}" if line is not None else "")
    where += f", field '{field}'" if field else ""
    if err["type"] == "extra_forbidden":
        what = "key" if len(keys) > 1 else (
            "section" if isinstance(err["input"], dict) else "top-level key")
        return f"{where}: unknown {what}; {_suggest(keys, root)}"
    found = ctx["found"] if "found" in ctx else show_value(err["input"])
    return f"{where}: expected {_expected(err)}, found {found}"


_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _field_path(text: str) -> tuple[str | int, ...]:
    """``"triggers[1].all_of[0]"`` as ``("triggers", 1, "all_of", 0)``."""
    return tuple(int(m[1]) if m[1] is not None else m[2] for m in _PART.finditer(text))


def _line_of(keys: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> int | None:
    """The line of ``keys``, else of its nearest enclosing table that is in the file."""
    return next((lines[keys[:n]] for n in range(len(keys), 0, -1) if keys[:n] in lines), None)


def _expected(err: Any) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    texts = {
        "greater_than": "a number > {gt}", "greater_than_equal": "a number ≥ {ge}",
        "less_than": "a number < {lt}", "less_than_equal": "a number ≤ {le}",
        "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
        "int_type": "a whole number", "int_from_float": "a whole number",
        "int_parsing": "a whole number", "bool_type": "true or false",
        "string_type": "a string", "tuple_type": "a list", "list_type": "a list",
        "model_type": "a table", "dict_type": "a table", "enum": "one of {expected}",
        "too_short": "at least {min_length} item(s)", "too_long": "at most {max_length} items",
        "driftwise": "{expected}",
    }
    if kind in texts:
        bounds = {k: int(v) if isinstance(v, float) and v.is_integer() else v
                  for k, v in ctx.items()}
        try:
            return texts[kind].format(**bounds)
        except KeyError:
            pass
    return str(err["msg"]).removeprefix("Input should be ").removeprefix("Value error, ")


def _suggest(keys: tuple[str, ...], root: type[BaseModel]) -> str:
    allowed = _allowed_keys(keys[:-1], root)
    close = difflib.get_close_matches(keys[-1], allowed, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return "expected one of: " + ", ".join(allowed)


def _allowed_keys(parents: tuple[str, ...], root: type[BaseModel]) -> list[str]:
    model: type[BaseModel] = root
    for part in parents:
        info = model.model_fields.get(part)
        annotation = None if info is None else info.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def show_value(value: object) -> str:
    """A TOML-ish rendering of a value for messages."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, str):
        text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif isinstance(value, tuple | list):
        text = "[" + ", ".join(show_value(v) for v in value) + "]"
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------- line finder

_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*$")
_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')"
                  r"(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*'))*)\s*=(.*)$")
_STRING = re.compile(r"\"(?:\\.|[^\"\\])*\"|'[^']*'")


def _split_key(key: str) -> tuple[str, ...]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[^.\s]+", key)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Best-effort map from a key path (``("policy", "threshold")``) to its 1-based line.

    Handles table headers, dotted keys and values spanning lines (arrays, multi-line
    strings); keys inside inline tables map to the line of the enclosing key.
    """
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    depth, in_string = 0, ""
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_string:
            if in_string in raw:
                in_string = ""
            continue
        if depth > 0:
            depth += _bracket_depth(raw)
            continue
        header = _HEADER.match(_STRING.sub('""', raw).split("#", 1)[0])
        if header:
            table = _split_key(header[1])
            found.setdefault(table, number)
            continue
        match = _KEY.match(raw)
        if match is None:
            continue
        found.setdefault(table + _split_key(match[1]), number)
        value = match[2]
        for quote in ('"""', "'''"):
            if value.count(quote) % 2 == 1:
                in_string = quote
        if not in_string:
            depth = max(_bracket_depth(value), 0)
    return found


def _bracket_depth(line: str) -> int:
    code = _STRING.sub('""', line).split("#", 1)[0]
    return code.count("[") + code.count("{") - code.count("]") - code.count("}")
