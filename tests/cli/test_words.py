"""What a user reads says only what is true.

* Every option a help text names in brackets survives rich's markup (``[backtest]`` is not
  eaten as a style tag).
* No user-visible text (help, command output, configuration descriptions, the commented
  template, docstrings, README and docs) speaks of where the project came from: rules and
  formulas are named by what they are.
* Every ``--option`` the README and the user guide show with a command exists in that
  command.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import typer.main

from driftwise.cli import EXIT_OK, app, main
from driftwise.config import DEFAULT_CONFIG_TOML

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = re.compile(r"\bSPEC\b|\bseed's\b|\bthe seed\b|\bSeed\b|"
                    r"\bseed (?:rule|formula|form|method|says|confidence|in interval)")
"""Words about where the methodology came from (a random seed is fine)."""


def commands() -> dict[str, object]:
    """Every leaf command by its name (``config init`` included)."""
    out: dict[str, object] = {}

    def walk(command: object, prefix: str) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            out[prefix] = command

    walk(typer.main.get_command(app), "")
    return out


COMMANDS = commands()


def options(name: str) -> set[str]:
    params = COMMANDS[name].params  # type: ignore[attr-defined]
    return {o for p in params  # the negative of a flag too (--no-after-tax)
            for o in (*p.opts, *getattr(p, "secondary_opts", ())) if o.startswith("--")}


def help_text(name: str, capsys: pytest.CaptureFixture[str],
              monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "300")
    capsys.readouterr()
    assert main([*name.split(), "--help"]) == EXIT_OK
    return capsys.readouterr().out


def _flat(text: str) -> str:
    """Text without box drawing and whitespace (rich wraps help over lines)."""
    return re.sub(r"[\s│─╭╮╰╯]+", "", text)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_keeps_every_bracket_and_names_no_origin(
        name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    shown = help_text(name, capsys, monkeypatch)
    assert not ORIGIN.search(shown), ORIGIN.search(shown)
    flat = _flat(shown)
    for param in COMMANDS[name].params:  # type: ignore[attr-defined]
        text = (getattr(param, "help", None) or "").replace("\\[", "[")
        for bracket in re.findall(r"\[[^\]]*\]", text):
            assert _flat(bracket) in flat, f"{name} {param.opts}: {bracket} eaten by markup"


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_no_string_or_docstring_of_the_package_names_the_origin() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {ORIGIN.search(text).group()}"  # type: ignore[union-attr]
             for path in sorted((ROOT / "src" / "driftwise").rglob("*.py"))
             for line, text in _strings(path) if ORIGIN.search(text)]
    assert not found, "\n".join(found)
    assert not ORIGIN.search(DEFAULT_CONFIG_TOML)


@pytest.mark.parametrize("doc", ["README.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
def test_docs_name_no_origin(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    found = [m.group() for m in ORIGIN.finditer(text)]
    assert not found, f"{doc}: {found}"


@pytest.mark.parametrize("args", [["plan"], ["monitor"], ["costs"]])
def test_command_output_names_no_origin(args: list[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == EXIT_OK
    out = capsys.readouterr().out
    assert not ORIGIN.search(out), ORIGIN.search(out)


def _shown_commands(text: str) -> list[tuple[str, set[str]]]:
    """``(command, options)`` of every ``driftwise COMMAND ...`` in the code blocks of
    ``text`` (continuation lines joined)."""
    out = []
    for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for call in re.findall(r"driftwise ([a-z-]+(?: init)?)((?:\s+[^|;&#]*)?)", line):
                name, rest = call
                if name in COMMANDS:
                    out.append((name, set(re.findall(r"(--[a-z][a-z-]*)", rest))))
    return out


@pytest.mark.parametrize("doc", ["README.md", "docs/user-guide.md"])
def test_every_option_shown_exists(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    shown = _shown_commands(text)
    assert shown, f"{doc} shows no command"
    for name, used in shown:
        missing = used - options(name) - {"--help"}
        assert not missing, f"{doc}: driftwise {name} has no {sorted(missing)}"
    every = set().union(*(options(n) for n in COMMANDS)) | {"--help"}
    named = set(re.findall(r"`(--[a-z][a-z-]*)", text))
    assert named <= every, f"{doc} names options no command has: {sorted(named - every)}"
