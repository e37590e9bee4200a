"""Households, tax status, model portfolios with overrides, and the market date of a
snapshot (migration 0004): the accounts file and its errors, a model's version written
into each follower with its cash override (hand-computed), each account planned with its
tax status and restrictions, the household's wash-sale rule across its accounts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from tests.record.daily_data import day, fill_record, sample_inputs

from driftwise.app.daily import run_daily
from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.config import default_config
from driftwise.data.accounts import read_account_file
from driftwise.data.model import Holdings, TaxStatus
from driftwise.errors import DataError
from driftwise.record import imports, transaction
from driftwise.record.accounts import account_profiles, import_accounts
from driftwise.record.holdings import account_id, latest_snapshot_id, market_date
from driftwise.record.inputs import effective_targets
from driftwise.record.schema import accounts, households, orders, plans

DAY = "2022-12-28"
TIGHT = default_config().with_overrides({"policy.threshold": 0.03,
                                          "policy.skip_if_cost_exceeds_benefit": False})
"""A 3 % threshold: the sample rebalances on the day."""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


# --- the migration ---------------------------------------------------------------------


def test_a_record_at_0003_is_migrated_and_keeps_its_accounts(db_url: str) -> None:
    from alembic import command

    from driftwise.record import (
        _alembic_config,
        current_revision,
        head_revision,
        migrate,
        open_engine,
    )

    engine = open_engine(db_url)
    transaction(engine, lambda c: command.upgrade(_alembic_config(c), "0003"))
    assert current_revision(engine) == "0003"
    with engine.begin() as c:
        c.exec_driver_sql("INSERT INTO accounts (name, created_at) "
                          "VALUES ('kept', CURRENT_TIMESTAMP)")
        assert not sa.inspect(c).has_table("households")
    assert migrate(engine) == ("0003", head_revision())
    with engine.connect() as c:
        (row,) = c.execute(sa.select(accounts)).all()
        assert row.name == "kept" and row.tax_status is None and row.household_id is None
        assert row.model_id is None and row.cash_target_weight is None
        assert account_profiles(c)["kept"].tax_status is None
        assert sa.inspect(c).has_table("model_weights")
    engine.dispose()


# --- the accounts file -----------------------------------------------------------------


ACCOUNTS = """account,household,tax_status,cash_target_weight,do_not_buy,do_not_sell
joint,smith,taxable,0.05,,
ira,smith,tax-deferred,,AAPL;msft,XOM
roth,,tax_exempt,,,
"""


def test_the_accounts_file_is_read_exactly(tmp_path: Path) -> None:
    found = read_account_file(_write(tmp_path, "accounts.csv", ACCOUNTS))
    joint, ira, roth = found.rows
    assert (joint.household, joint.tax_status, joint.cash_target_weight) == (
        "smith", TaxStatus.TAXABLE, 0.05)
    assert (ira.tax_status, ira.do_not_buy, ira.do_not_sell) == (
        TaxStatus.TAX_DEFERRED, ("AAPL", "MSFT"), ("XOM",))
    assert roth.household is None and roth.tax_status is TaxStatus.TAX_EXEMPT
    assert found.lines == (2, 3, 4) and "model" not in found.columns


@pytest.mark.parametrize(("text", "row", "field"), [
    ("account,tax_status\na,taxable\nb,roth\n", 3, "tax_status"),
    ("account,cash_target_weight\na,0.1\nb,1.0\n", 3, "cash_target_weight"),
    ("account,cash_target_weight\na,-0.1\n", 2, "cash_target_weight"),
    ("account,do_not_buy\na,AAPL;$$\n", 2, "do_not_buy"),
    ("account,household\na,x\na,y\n", 3, "account"),
    ("account,household\n,x\n", 2, "account"),
])
def test_a_bad_accounts_file_names_file_row_and_field(tmp_path: Path, text: str, row: int,
                                                      field: str) -> None:
    with pytest.raises(DataError) as caught:
        read_account_file(_write(tmp_path, "accounts.csv", text))
    message = str(caught.value)
    assert "accounts.csv" in message and f"row {row}" in message
    assert f"field '{field}'" in message


def test_import_accounts_from_the_command_line(engine: Engine, db_url: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "accounts.csv", ACCOUNTS)
    assert main(["import", "--db", db_url, "--accounts", str(path), "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    counts = {c["table"]: c for c in out["changes"]}
    assert counts["accounts"]["added"] == 3 and counts["households"]["added"] == 1
    with engine.connect() as c:
        found = account_profiles(c)
        assert found["ira"].household == found["joint"].household == "smith"
        assert found["ira"].tax_status is TaxStatus.TAX_DEFERRED
        assert found["ira"].do_not_buy == ("AAPL", "MSFT")
        (cash,) = c.execute(sa.select(accounts.c.cash_target_weight).where(
            accounts.c.name == "joint")).one()
        assert str(cash) == "0.05"
        assert c.execute(sa.select(sa.func.count()).select_from(households)).scalar() == 1
    # the same file again changes nothing; a file without a column leaves it alone
    assert main(["import", "--db", db_url, "--accounts", str(path), "--json"]) == EXIT_OK
    again = {c["table"]: c for c in json.loads(capsys.readouterr().out)["changes"]}
    assert again["accounts"] == {"table": "accounts", "added": 0, "changed": 0, "removed": 0}
    only = _write(tmp_path, "status.csv", "account,tax_status\nira,taxable\n")
    assert main(["import", "--db", db_url, "--accounts", str(only)]) == EXIT_OK
    with engine.connect() as c:
        ira = account_profiles(c)["ira"]
    assert ira.tax_status is TaxStatus.TAXABLE and ira.household == "smith"
    assert ira.do_not_sell == ("XOM",)


def test_an_unknown_model_stores_nothing(engine: Engine, db_url: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "accounts.csv", "account,model\na,growth\nb,nothing\n")
    assert main(["import", "--db", db_url, "--accounts", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "accounts.csv" in err and "row 2" in err and "field 'model'" in err
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(accounts)).scalar() == 0


# --- model portfolios ------------------------------------------------------------------


MODEL = "ticker,target_weight\nAAA,0.6\nBBB,0.3\nCASH,0.1\n"


def _weights(engine: Engine, name: str) -> tuple[dict[str, float], float]:
    with engine.connect() as c:
        found = effective_targets(c, account_id(c, name), dt.date(2030, 1, 1))
    assert found is not None
    return found[1].weights.to_dict(), found[1].cash_weight


def test_a_model_is_written_into_each_follower_with_its_cash_override(
        engine: Engine, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    model = _write(tmp_path, "growth.csv", MODEL)
    assert main(["import", "--db", db_url, "--model", "growth", "--targets",
                 str(model)]) == EXIT_OK
    book = _write(tmp_path, "accounts.csv",
                  "account,model,cash_target_weight\na,growth,0.28\nb,growth,\n")
    assert main(["import", "--db", db_url, "--accounts", str(book)]) == EXIT_OK
    # by hand: a's cash 0.28, the rest scaled by (1 - 0.28) / (1 - 0.1) = 0.8
    weights, cash = _weights(engine, "a")
    assert cash == 0.28
    assert weights == pytest.approx({"AAA": 0.48, "BBB": 0.24}, abs=1e-15)
    assert sum(weights.values()) + cash == pytest.approx(1.0, abs=1e-15)
    assert _weights(engine, "b") == (pytest.approx({"AAA": 0.6, "BBB": 0.3}),
                                     pytest.approx(0.1, abs=1e-15))
    # a new version of the model becomes a new target version of each follower
    _write(tmp_path, "growth.csv", "ticker,target_weight\nAAA,0.5\nBBB,0.5\n")
    capsys.readouterr()
    assert main(["import", "--db", db_url, "--model", "growth", "--targets", str(model),
                 "--json"]) == EXIT_OK
    changes = {c["table"]: c for c in json.loads(capsys.readouterr().out)["changes"]}
    assert changes["targets"]["changed"] == 4  # AAA and BBB of both followers
    assert _weights(engine, "a") == (pytest.approx({"AAA": 0.36, "BBB": 0.36}), 0.28)
    assert _weights(engine, "b") == (pytest.approx({"AAA": 0.5, "BBB": 0.5}), 0.0)
    assert main(["import", "--db", db_url, "--model", "growth", "--targets", str(model),
                 "--json"]) == EXIT_OK
    again = json.loads(capsys.readouterr().out)["changes"]
    assert not any(c["added"] or c["changed"] or c["removed"] for c in again)


def test_model_goes_with_targets_only(db_url: str, tmp_path: Path) -> None:
    model = _write(tmp_path, "growth.csv", MODEL)
    assert main(["import", "--db", db_url, "--model", "growth"]) != EXIT_OK
    assert main(["import", "--db", db_url, "--model", "growth", "--targets", str(model),
                 "--account", "x"]) != EXIT_OK


# --- planning each account with its profile --------------------------------------------


def _profile(engine: Engine, text: str) -> None:
    found = read_account_file(pd.read_csv(pd.io.common.StringIO(text), dtype=str))
    transaction(engine, lambda c: import_accounts(c, found))


def _orders(engine: Engine, name: str) -> pd.DataFrame:
    with engine.connect() as c:
        rows = c.execute(sa.select(orders.c.ticker, orders.c.side).where(
            orders.c.account_id == account_id(c, name))).all()
    return pd.DataFrame(rows, columns=["ticker", "side"])


def _reasons(run: object, name: str) -> tuple[str, ...]:
    (found,) = [a for a in run.accounts if a.account == name]  # type: ignore[attr-defined]
    return tuple(found.reasons)


def test_each_account_is_planned_with_its_tax_status_and_restrictions(engine: Engine) -> None:
    fill_record(engine, sample_inputs(), ("free", "ira", "held"))
    _profile(engine, "account,tax_status,do_not_buy\nira,tax_deferred,\nheld,,BAC RRC\n")
    config = TIGHT.with_overrides({"tax.enabled": True})
    run = run_daily(engine, config, day(DAY))
    assert any(r.startswith("tax off: account ira is tax-deferred") for r in
               _reasons(run, "ira"))
    assert not any("tax off" in r for r in _reasons(run, "free"))
    free, held = _orders(engine, "free"), _orders(engine, "held")
    bought = set(free.loc[free["side"] == "BUY", "ticker"])
    assert {"BAC", "RRC"} & bought  # the control: the unrestricted account buys them
    assert not {"BAC", "RRC"} & set(held.loc[held["side"] == "BUY", "ticker"])
    assert any("restrictions: do-not-buy BAC, RRC" in r for r in _reasons(run, "held"))
    with engine.connect() as c:
        stored = c.execute(sa.select(plans.c.configuration).where(
            plans.c.account_id == account_id(c, "ira"))).scalar_one()
    assert "enabled = false" in stored  # the plan keeps the configuration it ran with


def _lots(holdings: Holdings, price: pd.Series, loss_ticker: str) -> Holdings:
    """Lot-level holdings: one old lot per ticker at today's price, ``loss_ticker``'s
    bought at 1.5 times it (a loss)."""
    rows = [(t, float(s), pd.Timestamp("2020-01-02"),
             float(s) * float(price[t]) * (1.5 if t == loss_ticker else 1.0), None)
            for t, s in holdings.shares.items()]
    frame = pd.DataFrame(rows, columns=["ticker", "shares", "acquired", "cost_basis_usd",
                                        "account"])
    frame["acquired"] = frame["acquired"].astype("datetime64[ns]")
    return dataclasses.replace(holdings, lots=frame)


def _household_book(engine: Engine, household: bool) -> str:
    """Accounts ``a-buyer`` (underweight X: its plan buys X) and ``b-seller`` (overweight
    X in a lot at a loss: its plan would sell X), in one household or not; returns X."""
    inputs = sample_inputs()
    fill_record(engine, inputs, ("a-buyer", "b-seller"))
    price = inputs.market.prices.loc[DAY]
    x = str(inputs.holdings.shares.index[0])
    under = inputs.holdings.shares.copy()
    under[x] = np.floor(under[x] * 0.5)
    over = inputs.holdings.shares.copy()
    over[x] = np.floor(over[x] * 1.8)

    def work(c: Connection) -> None:
        imports.import_holdings(c, account_id(c, "a-buyer"),
                                dataclasses.replace(inputs.holdings, shares=under))
        imports.import_holdings(c, account_id(c, "b-seller"), _lots(
            dataclasses.replace(inputs.holdings, shares=over), price, x))

    transaction(engine, work)
    if household:
        _profile(engine, "account,household\na-buyer,smith\nb-seller,smith\n")
    return x


@pytest.mark.parametrize(("household", "workers"), [(False, 1), (True, 1), (True, 2)])
def test_in_one_run_the_loss_sale_is_kept_and_the_household_buy_held_back(
        engine: Engine, household: bool, workers: int) -> None:
    """``a-buyer`` (planned first by name) would buy X, ``b-seller`` sell X at a loss:
    in one household the sale is kept and the buy held back, its reason naming
    ``b-seller``, in this process or on a 2-worker local cluster (the household one
    task); apart, both trade (the control)."""
    x = _household_book(engine, household)
    run = run_daily(engine, TIGHT.with_overrides({"tax.enabled": True}), day(DAY),
                    workers=workers)
    buyer, seller = _orders(engine, "a-buyer"), _orders(engine, "b-seller")
    assert ((seller["ticker"] == x) & (seller["side"] == "SELL")).any()
    bought = ((buyer["ticker"] == x) & (buyer["side"] == "BUY")).any()
    said = [r for r in _reasons(run, "a-buyer") if "(household wash sale)" in r]
    assert bought is not household
    if household:
        (text,) = said
        assert text.startswith(f"{x}: not bought (household wash sale): account b-seller "
                               f"sells {x} at a loss (")
        assert "in this run's plan, within 30 days" in text
    else:
        assert not said
    assert not [r for r in _reasons(run, "b-seller") if "household" in r]


def test_a_household_buy_recorded_as_a_fill_washes_too(engine: Engine, tmp_path: Path) -> None:
    x = _household_book(engine, household=True)
    fills = _write(tmp_path, "fills.csv", "ticker,side,shares,price_usd,fee_usd,filled_at,"
                   f"exec_id\n{x},BUY,10,100,0,2022-12-20T15:00:00,E1\n")
    assert main(["fills", "--record", "--db", str(engine.url), "--account", "a-buyer",
                 "--fills", str(fills)]) == EXIT_OK
    run = run_daily(engine, TIGHT.with_overrides({"tax.enabled": True}), day(DAY),
                    names=["b-seller"])
    seller = _orders(engine, "b-seller")
    assert not ((seller["ticker"] == x) & (seller["side"] == "SELL")).any()
    assert any("another account of the household" in r for r in _reasons(run, "b-seller"))


# --- the market date of a snapshot -----------------------------------------------------


def test_a_snapshot_carries_its_market_date(engine: Engine, db_url: str, tmp_path: Path
                                            ) -> None:
    holdings = _write(tmp_path, "h.csv", "ticker,shares\nAAA,10\nCASH,100\n")
    prices = _write(tmp_path, "p.csv", "date,ticker,close\n2022-12-27,AAA,10\n"
                    "2022-12-28,AAA,11\n")
    assert main(["import", "--db", db_url, "--holdings", str(holdings), "--prices",
                 str(prices)]) == EXIT_OK
    with engine.connect() as c:
        first = latest_snapshot_id(c, account_id(c, "main"))
        assert first is not None and market_date(c, first) == dt.date(2022, 12, 28)
    _write(tmp_path, "h.csv", "ticker,shares\nAAA,12\nCASH,100\n")
    assert main(["import", "--db", db_url, "--holdings", str(holdings), "--as-of",
                 "2022-12-27"]) == EXIT_OK
    fills = _write(tmp_path, "f.csv", "ticker,side,shares,price_usd,fee_usd,filled_at,"
                   "exec_id\nAAA,BUY,1,11,0,2022-12-28T15:00:00,E1\n")
    assert main(["fills", "--record", "--db", db_url, "--fills", str(fills)]) == EXIT_OK
    with engine.connect() as c:
        ids = range(first, first + 3)
        assert [market_date(c, i) for i in ids] == [
            dt.date(2022, 12, 28), dt.date(2022, 12, 27), dt.date(2022, 12, 28)]


def test_daily_writes_the_dashboard_after_the_run(engine: Engine, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    fill_record(engine, sample_inputs(), ("first", "second"))
    page = tmp_path / "book.html"
    assert main(["daily", "--db", str(engine.url), "--as-of", DAY, "--dashboard",
                 str(page), "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["dashboard"] == str(page)
    html = page.read_text("utf-8")
    assert "first" in html and "second" in html
    # the same page as the dashboard command writes from the record
    again = tmp_path / "again.html"
    assert main(["dashboard", "--db", str(engine.url), "--as-of", DAY, "--out",
                 str(again)]) == EXIT_OK
    assert _unstamped(again.read_text("utf-8")) == _unstamped(html)


def _unstamped(html: str) -> str:
    """The page without its footer's time stamp (the two runs may straddle a minute)."""
    stamped = re.subn(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", html)
    assert stamped[1] == 1
    return stamped[0]


def test_import_risk_free_stores_the_series_and_names_bad_rows(
        engine: Engine, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from driftwise.record.schema import market_series

    bad = _write(tmp_path, "rf.csv", "date,rate_annual\n2022-12-27,0.04\n2022-12-28,4.1\n")
    assert main(["import", "--db", db_url, "--risk-free", str(bad)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "rf.csv" in err and "row 3" in err and "field 'rate_annual'" in err
    good = _write(tmp_path, "rf.csv", "date,rate_annual\n2022-12-27,0.04\n2022-12-28,0.041\n")
    assert main(["import", "--db", db_url, "--risk-free", str(good)]) == EXIT_OK
    with engine.connect() as c:
        stored = c.execute(sa.select(market_series.c.date, market_series.c.value).where(
            market_series.c.series == "risk_free").order_by(market_series.c.date)).all()
    assert [(d, str(v)) for d, v in stored] == [(dt.date(2022, 12, 27), "0.04"),
                                                (dt.date(2022, 12, 28), "0.041")]


@pytest.mark.parametrize("household", [False, True])
def test_the_harvest_scan_of_the_record_shows_the_household_wash(
        engine: Engine, tmp_path: Path, household: bool,
        capsys: pytest.CaptureFixture[str]) -> None:
    x = _household_book(engine, household)
    fills = _write(tmp_path, "fills.csv", "ticker,side,shares,price_usd,fee_usd,filled_at,"
                   f"exec_id\n{x},BUY,10,100,0,2022-12-20T15:00:00,E1\n")
    assert main(["fills", "--record", "--db", str(engine.url), "--account", "a-buyer",
                 "--fills", str(fills)]) == EXIT_OK
    capsys.readouterr()
    assert main(["harvest", "--record", "--db", str(engine.url), "--account", "b-seller",
                 "--as-of", DAY, "--json"]) == EXIT_OK
    (row,) = [r for r in json.loads(capsys.readouterr().out)["candidates"]
              if r["ticker"] == x]
    assert row["proposed"] is not household
    assert ("another account of the household" in row["note"]) is household


@pytest.mark.parametrize("household", [False, True])
def test_no_buy_washes_a_loss_another_household_account_realized(
        engine: Engine, tmp_path: Path, household: bool) -> None:
    """``b-seller`` sold X from its loss lot (a fills run, 8 days before): ``a-buyer``
    (underweight X, its lots at no gain) does not buy X in the household, and says why;
    alone it buys X (the control)."""
    x = _household_book(engine, household)
    inputs = sample_inputs()
    price = inputs.market.prices.loc[DAY]
    under = inputs.holdings.shares.copy()
    under[x] = np.floor(under[x] * 0.5)
    transaction(engine, lambda c: imports.import_holdings(c, account_id(c, "a-buyer"), _lots(
        dataclasses.replace(inputs.holdings, shares=under), price, loss_ticker="")))
    sale = float(price[x])
    fills = _write(tmp_path, "fills.csv", "ticker,side,shares,price_usd,fee_usd,filled_at,"
                   f"exec_id\n{x},SELL,100,{sale:.2f},0,2022-12-20T15:00:00,S1\n")
    assert main(["fills", "--record", "--db", str(engine.url), "--account", "b-seller",
                 "--fills", str(fills)]) == EXIT_OK
    with engine.connect() as c:
        from driftwise.record.accounts import household_loss_sales

        found = household_loss_sales(c, account_profiles(c, ["a-buyer"])["a-buyer"],
                                     day(DAY), 30)
    if household:
        ((ticker, account, sold_on, loss, status),) = found
        assert (ticker, account, sold_on, status) == (x, "b-seller", dt.date(2022, 12, 20),
                                                      "filled")
        # by hand: 100 shares of a lot whose basis is 1.5 times the day's price, sold at
        # the price written to the cent
        assert loss == pytest.approx(100 * (1.5 * float(price[x]) - float(f"{sale:.2f}")),
                                     rel=1e-9)
    else:
        assert found == ()
    run = run_daily(engine, TIGHT.with_overrides({"tax.enabled": True}), day(DAY),
                    names=["a-buyer"])
    buyer = _orders(engine, "a-buyer")
    bought = ((buyer["ticker"] == x) & (buyer["side"] == "BUY")).any()
    said = [r for r in _reasons(run, "a-buyer") if r.startswith(f"{x}:") and "wash" in r]
    assert bought is not household and bool(said) is household
