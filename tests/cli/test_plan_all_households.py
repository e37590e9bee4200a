"""``driftwise plan --all`` with households (``--accounts``): no buy washes another
account's loss, proposed in the same run or sold in the recent-sales file (by its
``account`` column); asset location split by tax status (worked by hand); accounts
apart or without a household unchanged; a Dask run equal to the serial one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from driftwise.cli import EXIT_BAD_INPUT, EXIT_OK, main
from driftwise.data.sample import load_sample

AS_OF = "2022-12-28"
TICKERS = ("AAPL", "MSFT", "XOM")
TARGETS = "ticker,target_weight\nAAPL,0.4\nMSFT,0.3\nXOM,0.28\nCASH,0.02\n"
CONFIG = ("[policy]\nthreshold = 0.03\nskip_if_cost_exceeds_benefit = false\n"
          "[tax]\nenabled = true\n")


@pytest.fixture(scope="module")
def prices(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.Series]:
    folder = tmp_path_factory.mktemp("household")
    frame = load_sample().market.prices.loc["2020-01-01":AS_OF, list(TICKERS)]
    path = folder / "prices.csv"
    frame.rename_axis("date").reset_index().to_csv(path, index=False)
    return path, frame.loc[AS_OF]


def _lots(account: str, shares: dict[str, float], price: pd.Series, loss: str = "",
          cash: float = 10_000.0) -> list[dict[str, Any]]:
    """One old lot per ticker at the day's price (no gain), ``loss``'s at 1.5 times it."""
    rows: list[dict[str, Any]] = [
        {"account": account, "ticker": t, "shares": n, "acquired": "2020-06-01",
         "cost_basis_usd": round(n * float(price[t]) * (1.5 if t == loss else 1.0), 2),
         "market_value_usd": ""} for t, n in shares.items()]
    rows.append({"account": account, "ticker": "CASH", "shares": "", "acquired": "",
                 "cost_basis_usd": "", "market_value_usd": cash})
    return rows


def _book(folder: Path, price: pd.Series) -> Path:
    """``a-buyer`` underweight AAPL and MSFT (its plan buys them), ``b-seller``
    overweight AAPL held in a lot at a loss (its plan sells it), ``c-other`` as
    ``a-buyer``."""
    under = {"AAPL": 100.0, "MSFT": 150.0, "XOM": 600.0}
    over = {"AAPL": 900.0, "MSFT": 250.0, "XOM": 600.0}
    rows = (_lots("a-buyer", under, price) + _lots("b-seller", over, price, loss="AAPL")
            + _lots("c-other", under, price))
    path = folder / "book.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _run(tmp_path: Path, prices: tuple[Path, pd.Series], capsys: pytest.CaptureFixture[str],
         accounts: str | None, *extra: str, config: str = CONFIG) -> dict[str, Any]:
    (tmp_path / "targets.csv").write_text(TARGETS)
    (tmp_path / "driftwise.toml").write_text(config)
    args = ["plan", "--holdings", str(_book(tmp_path, prices[1])), "--prices",
            str(prices[0]), "--targets", str(tmp_path / "targets.csv"), "--as-of", AS_OF,
            "--config", str(tmp_path / "driftwise.toml"), "--all", "--json", *extra]
    if accounts is not None:
        (tmp_path / "accounts.csv").write_text(accounts)
        args += ["--accounts", str(tmp_path / "accounts.csv")]
    capsys.readouterr()
    assert main(args) == EXIT_OK, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)["accounts"]  # type: ignore[no-any-return]


def _trades(plan: dict[str, Any], side: str) -> set[str]:
    return {t["ticker"] for t in plan["trades"] if t["side"] == side}


def _said(plan: dict[str, Any]) -> list[str]:
    return [r for r in plan["reasons"] if "(household wash sale)" in r]


HOUSE = "account,household\na-buyer,smith\nb-seller,smith\n"


@pytest.mark.parametrize("household", [True, False])
def test_a_loss_sale_of_the_run_holds_back_the_household_buy(
        tmp_path: Path, prices: tuple[Path, pd.Series], capsys: pytest.CaptureFixture[str],
        household: bool) -> None:
    accounts = HOUSE if household else "account,household\na-buyer,smith\nb-seller,jones\n"
    plans = _run(tmp_path, prices, capsys, accounts)
    seller, buyer, other = plans["b-seller"], plans["a-buyer"], plans["c-other"]
    (sale,) = [t for t in seller["trades"] if t["ticker"] == "AAPL"]
    assert sale["side"] == "SELL"
    # the oracle: a lot bought at 1.5 times the price loses half the price a share
    assert sale["loss_usd"] == pytest.approx(0.5 * sale["shares"] * float(prices[1]["AAPL"]),
                                             rel=1e-9)
    assert ("AAPL" in _trades(buyer, "BUY")) is not household
    assert "AAPL" in _trades(other, "BUY")  # no household: unchanged
    if household:
        (text,) = _said(buyer)
        assert text.startswith("AAPL: not bought (household wash sale): account b-seller "
                               "sells AAPL at a loss (")
    else:
        assert not _said(buyer)
    assert not _said(seller) and not _said(other)


def test_without_a_household_the_plans_are_unchanged(
        tmp_path: Path, prices: tuple[Path, pd.Series],
        capsys: pytest.CaptureFixture[str]) -> None:
    apart = _run(tmp_path, prices, capsys, "account,household\na-buyer,smith\n")
    plain = _run(tmp_path, prices, capsys, None)
    assert apart == plain


def test_allowed_wash_sales_are_said_in_both_plans(
        tmp_path: Path, prices: tuple[Path, pd.Series],
        capsys: pytest.CaptureFixture[str]) -> None:
    plans = _run(tmp_path, prices, capsys, HOUSE,
                 config=CONFIG + "allow_wash_sales = true\n")
    assert "AAPL" in _trades(plans["a-buyer"], "BUY")
    assert "AAPL" in _trades(plans["b-seller"], "SELL")
    assert _said(plans["a-buyer"])[0].endswith("(allowed by tax.allow_wash_sales)")
    assert _said(plans["b-seller"])[0].startswith(
        "AAPL: wash sale (household wash sale): account a-buyer buys AAPL")


SALES = ("ticker,sold,shares,proceeds_usd,cost_basis_usd,account\n"
         "MSFT,2022-12-20,10,2000,3000,{who}\n")


@pytest.mark.parametrize(("who", "held"), [("b-seller", True), ("c-other", False),
                                           ("a-buyer", True)])
def test_the_recent_sales_of_the_household_hold_back_the_buy(
        tmp_path: Path, prices: tuple[Path, pd.Series], capsys: pytest.CaptureFixture[str],
        who: str, held: bool) -> None:
    """A loss sale of MSFT eight days before: sold by ``b-seller`` (same household:
    ``a-buyer`` does not buy MSFT, and names it), by ``c-other`` (outside the household:
    ``a-buyer`` buys it), by ``a-buyer`` itself (its own wash-sale rule holds it)."""
    sales = tmp_path / "sales.csv"
    sales.write_text(SALES.format(who=who))
    plans = _run(tmp_path, prices, capsys, HOUSE, "--sales", str(sales))
    buyer = plans["a-buyer"]
    assert ("MSFT" in _trades(buyer, "BUY")) is not held
    named = [r for r in _said(buyer) if r.startswith("MSFT:")]
    if who == "b-seller":
        assert named == ["MSFT: not bought (household wash sale): account b-seller sold MSFT "
                         "at a loss (1,000.00 USD) on 2022-12-20, within 30 days; the buy "
                         "would wash that loss (the loss sale is kept, the buy held back)"]
    else:
        assert not named
    assert "MSFT" in _trades(plans["c-other"], "BUY") or who == "c-other"


def test_a_sale_of_an_unknown_account_names_its_row(
        tmp_path: Path, prices: tuple[Path, pd.Series],
        capsys: pytest.CaptureFixture[str]) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_text(SALES.format(who="b-seller") + "AAPL,2022-12-21,1,1,2,nobody\n")
    (tmp_path / "targets.csv").write_text(TARGETS)
    args = ["plan", "--holdings", str(_book(tmp_path, prices[1])), "--prices",
            str(prices[0]), "--targets", str(tmp_path / "targets.csv"), "--as-of", AS_OF,
            "--all", "--sales", str(sales)]
    assert main(args) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "sales.csv" in err and "row 3" in err and "field 'account'" in err
    assert "Traceback" not in err


LOCATED = "account,household,tax_status\na-buyer,smith,taxable\nc-other,smith,tax_deferred\n"


def _located(tmp_path: Path, prices: tuple[Path, pd.Series],
             capsys: pytest.CaptureFixture[str], on: bool) -> dict[str, Any]:
    config = (CONFIG + "[accounts]\nasset_location = " + ("true" if on else "false")
              + '\ntax_inefficient_tickers = ["XOM"]\n')
    return _run(tmp_path, prices, capsys, LOCATED, config=config)


def _shares(plan: dict[str, Any], ticker: str, side: str) -> float:
    return sum(t["shares"] for t in plan["trades"]
               if t["ticker"] == ticker and t["side"] == side)


def test_asset_location_on_files(tmp_path: Path, prices: tuple[Path, pd.Series],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """``a-buyer`` and ``c-other`` hold the same (equal NAV ``N``); XOM is tax-inefficient.
    By hand: the household holds ``0.56 N`` of XOM, all of it fits in the IRA
    (``0.98 N``); the IRA's other ``0.42 N`` hold AAPL and MSFT as the household does
    (``0.8 : 0.6``): IRA AAPL 24 %, MSFT 18 %, XOM 56 %; the taxable account AAPL 56 %,
    MSFT 42 %, no XOM. Off (the control), both plan against the shared target."""
    off = _located(tmp_path, prices, capsys, on=False)
    plans = _located(tmp_path, prices, capsys, on=True)
    ira, joint = plans["c-other"], plans["a-buyer"]
    said = [r for r in ira["reasons"] if r.startswith("asset location")]
    assert said[0].endswith("this account's target: AAPL 24.0%, MSFT 18.0%, XOM 56.0%")
    assert next(r for r in joint["reasons"] if r.startswith("asset location")).endswith(
        "this account's target: AAPL 56.0%, MSFT 42.0%")
    assert not [r for p in off.values() for r in p["reasons"] if "asset location" in r]
    assert "XOM" in _trades(ira, "BUY") and "XOM" in _trades(off["c-other"], "SELL")
    assert _shares(joint, "XOM", "SELL") > _shares(off["a-buyer"], "XOM", "SELL")
    # outside the household: unchanged (but for the configuration it shows)
    assert ({k: v for k, v in plans["b-seller"].items() if k != "config"}
            == {k: v for k, v in off["b-seller"].items() if k != "config"})


def test_a_local_dask_cluster_plans_the_households_as_serially(
        tmp_path: Path, prices: tuple[Path, pd.Series],
        capsys: pytest.CaptureFixture[str]) -> None:
    serial = _run(tmp_path, prices, capsys, HOUSE)
    dask = _run(tmp_path, prices, capsys, HOUSE, "--workers", "2")
    assert dask == serial


def test_recorded_plans_store_the_loss_of_each_sale(
        tmp_path: Path, prices: tuple[Path, pd.Series],
        capsys: pytest.CaptureFixture[str]) -> None:
    """``plan --all --db``: the sale orders carry the loss of their lots (read later by
    the household's other accounts in ``driftwise daily``), the buys none."""
    import sqlalchemy as sa

    from driftwise.record import open_record
    from driftwise.record.holdings import account_id
    from driftwise.record.schema import orders

    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    assert main(["init", "--db", url]) == EXIT_OK
    plans = _run(tmp_path, prices, capsys, HOUSE, "--db", url)
    (sale,) = [t for t in plans["b-seller"]["trades"] if t["ticker"] == "AAPL"]
    engine = open_record(url)
    with engine.connect() as c:
        rows = c.execute(sa.select(orders.c.side, orders.c.shares, orders.c.loss_usd).where(
            (orders.c.account_id == account_id(c, "b-seller")) & (orders.c.ticker == "AAPL")
        )).all()
    engine.dispose()
    assert {r.side for r in rows} == {"SELL"}
    # the children of the schedule share the sale's loss in proportion to their shares
    total = sum(float(r.loss_usd) for r in rows)
    assert total == pytest.approx(sale["loss_usd"], abs=0.01 * len(rows))
    for r in rows:
        assert float(r.loss_usd) == pytest.approx(
            sale["loss_usd"] * float(r.shares) / sale["shares"], abs=0.005)
