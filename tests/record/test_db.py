"""Where the record lives and how it is opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.config import loads_config
from driftwise.errors import ConfigError, DataError
from driftwise.record import open_engine, open_record
from driftwise.record.db import ENV_VAR, as_url, default_path, resolve_url


def test_the_option_wins_then_the_configuration_then_the_environment(tmp_path: Path) -> None:
    env = {ENV_VAR: str(tmp_path / "env.sqlite"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert resolve_url("opt.sqlite", config_path="cfg.sqlite", environ=env) == as_url(
        "opt.sqlite")
    assert resolve_url(None, config_path="cfg.sqlite", environ=env) == as_url("cfg.sqlite")
    url = "postgresql+psycopg://u@h/db"
    assert resolve_url(None, config_url=url, environ=env) == url
    assert resolve_url(None, environ=env) == as_url(str(tmp_path / "env.sqlite"))
    del env[ENV_VAR]
    assert resolve_url(None, environ=env) == as_url(
        str(tmp_path / "xdg" / "driftwise" / "record.sqlite"))


def test_the_per_user_default_follows_xdg(tmp_path: Path) -> None:
    assert default_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "driftwise" / \
        "record.sqlite"
    assert default_path({}) == Path.home() / ".local" / "share" / "driftwise" / "record.sqlite"


def test_path_and_url_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="not both"):
        loads_config('[record]\npath = "a.sqlite"\nurl = "postgresql+psycopg://u@h/d"\n')
    with pytest.raises(ConfigError, match="not both"):
        resolve_url(None, config_path="a", config_url="b://c")


def test_an_unknown_database_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unsupported database"):
        open_engine("mysql://u@h/d")
    with pytest.raises(ConfigError, match="not a database URL"):
        open_engine("::://")


def test_a_record_not_initialised_asks_for_init(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="driftwise init"):
        open_record(as_url(str(tmp_path / "empty.sqlite")))


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    engine = open_engine(as_url(str(tmp_path / "r.sqlite")))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_each_address_setting_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """``--db``, ``[record] path``, ``[record] url`` and ``DRIFTWISE_DB`` each decide where
    ``driftwise init`` creates the record."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    config = tmp_path / "driftwise.toml"
    cases = {
        "option": (["--db", str(tmp_path / "opt.sqlite")], tmp_path / "opt.sqlite"),
        "path": (["--config", str(config)], tmp_path / "path.sqlite"),
        "url": (["--config", str(config)], tmp_path / "url.sqlite"),
        "env": ([], tmp_path / "env.sqlite"),
        "default": ([], tmp_path / "xdg" / "driftwise" / "record.sqlite"),
    }
    for name, (args, where) in cases.items():
        if name == "path":
            config.write_text(f'[record]\npath = "{where}"\n')
        if name == "url":
            config.write_text(f'[record]\nurl = "sqlite:///{where}"\n')
        if name == "env":
            monkeypatch.setenv(ENV_VAR, str(where))
        if name == "default":
            monkeypatch.delenv(ENV_VAR)
        assert main(["init", *args]) == EXIT_OK, name
        assert where.is_file(), name
    capsys.readouterr()
    assert main(["fills", "--record", "--fills", str(tmp_path / "none.csv"), "--db",
                 str(tmp_path / "opt.sqlite")]) == EXIT_BAD_INPUT


def test_an_unreachable_record_is_a_clear_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["init", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"]
                ) == EXIT_BAD_INPUT
    assert main(["init", "--db", "/proc/none/record.sqlite"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "cannot be reached" in err and "cannot be created" in err
    assert "Traceback" not in err


def test_a_writer_holds_the_lock_from_its_first_statement_and_readers_never_wait(
        tmp_path: Path) -> None:
    import sqlite3

    from driftwise.record import migrate, transaction

    path = tmp_path / "r.sqlite"
    engine = open_engine(as_url(str(path)))
    migrate(engine)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    seen: list[str] = []

    def work(connection: object) -> None:
        seen.append(other.execute("SELECT count(*) FROM events").fetchone()[0])  # reads go on
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # a second writer waits (here: gives up)

    transaction(engine, work)
    assert seen == [1]
    with engine.connect() as reading:  # a reader does not take the write lock
        reading.exec_driver_sql("SELECT count(*) FROM events").scalar()
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    other.close()
    engine.dispose()
