"""The after-tax backtest's relief methods and harvest replacement pairs, by hand.

Relief: the synthetic market from June 2019 and one overweight asset held in three lots;
the first rebalance sells part of it. Whatever the sale's size, its realized short- and
long-term gains are those of the lots taken in the method's order, recomputed here from
the lots' numbers.

Pairs: one asset falls 30% and is harvested; its proceeds buy the configured replacement
(a ticker outside the targets), and with the swap back the replacement is sold and the
asset bought back once the wash-sale window has ended; basis and holding periods checked.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from driftwise.app.aftertax import run_one
from driftwise.config import Config
from driftwise.data.model import Inputs

from .conftest import synthetic_inputs

INPUTS = synthetic_inputs()
FLAT = np.array([120.0, 45.0, 80.0, 30.0, 18.0])
R_ST, R_LT = 0.37 + 0.038, 0.20 + 0.038

START = pd.Timestamp("2019-06-03")
P0 = float(INPUTS.market.prices.loc[START, "AAA"])
"""AAA's close on the first day, the price of the sale."""

# (id, shares, acquired, basis per share); long-term on 3 Jun 2019: only L1
LOTS = [("AAA:2017-01-03", 120.0, "2017-01-03", P0 - 70.0),   # LT gain 70 (16.66 a share)
        ("AAA:2019-03-01", 60.0, "2019-03-01", P0 + 20.0),    # ST loss 20 (-8.16)
        ("AAA:2018-09-04", 160.0, "2018-09-04", P0 - 45.0)]   # ST gain 45 (18.36)
ORDERS = {"fifo": [0, 2, 1], "hifo": [1, 2, 0], "min_tax": [1, 0, 2],
          "specific": [2, 1, 0]}
"""Each method's relief order, by hand (specific: L3 named, then minimum tax)."""


def _lot_inputs() -> Inputs:
    lots = pd.DataFrame({"ticker": "AAA", "shares": [n for _, n, _, _ in LOTS],
                         "acquired": pd.to_datetime([d for _, _, d, _ in LOTS]),
                         "cost_basis_usd": [n * b for _, n, _, b in LOTS],
                         "account": "taxable"})
    holdings = dataclasses.replace(INPUTS.holdings,
                                   shares=pd.Series({"AAA": 340.0}, name="shares"),
                                   cash_usd=20_000.0, lots=lots)
    return dataclasses.replace(INPUTS, holdings=holdings)


def _relief_config(method: str) -> Config:
    over: dict[str, object] = {
        "policy.trigger": "threshold", "policy.threshold": 0.2,
        "backtest.start_from_holdings": True, "backtest.start": str(START.date()),
        "backtest.end": "2019-07-31",  # before any other sale
        "tax.lot_relief": method, "tax.defer_short_term_gains": False}
    if method == "specific":
        over["tax.specific_lots"] = ["AAA:2018-09-04"]
    return Config().with_overrides(over)


def _by_hand(sold: float, order: list[int]) -> tuple[float, float]:
    """Realized (short, long) gain of ``sold`` shares at ``P0`` taken in ``order``."""
    short = long_ = 0.0
    left = sold
    for j in order:
        _, n, acquired, basis = LOTS[j]
        take = min(n, left)
        left -= take
        gain = take * (P0 - basis)
        if acquired == "2017-01-03":
            long_ += gain
        else:
            short += gain
    return short, long_


@pytest.mark.parametrize("aware", [False, True])
@pytest.mark.parametrize("method", list(ORDERS))
def test_each_relief_method_realizes_its_lots_by_hand(method: str, aware: bool) -> None:
    result = run_one(_lot_inputs(), _relief_config(method), aware=aware,
                     harvest_every="never")
    aaa = result.tickers.index("AAA")
    sold = 340.0 - float(result.shares[0, aaa])
    assert (np.diff(result.shares[:, aaa]) >= 0).all()  # sold on the first day only
    if not aware:
        assert sold > 60.0  # the sale spans two lots in every order
    else:  # after tax only the loss lot pays its way: where it comes first, it alone
        assert sold == (60.0 if ORDERS[method][0] == 1 else 0.0)
    short, long_ = _by_hand(sold, ORDERS[method])
    assert result.dates[0] == START
    first = result.years.iloc[0]
    assert first["realized_short_usd"] == pytest.approx(short, abs=1e-6)
    assert first["realized_long_usd"] == pytest.approx(long_, abs=1e-6)
    # the lots left are the method's last ones, with their basis per share
    left = result.lots[result.lots["lot_id"] != ""].set_index("lot_id")
    rest = sold
    for j in ORDERS[method]:
        name, n, _, basis = LOTS[j]
        take = min(n, rest)
        rest -= take
        if n - take > 1e-9:
            assert left.loc[name, "shares"] == pytest.approx(n - take)
            assert left.loc[name, "basis_usd"] == pytest.approx((n - take) * basis)
        else:
            assert name not in left.index


def test_the_four_methods_differ_here() -> None:
    sold = 132.0
    realized = {m: _by_hand(sold, o) for m, o in ORDERS.items()}
    assert len(set(realized.values())) == 4


# ------------------------------------------------------------------ harvest pairs


def _pair_inputs(*, zzz_falls: bool = False) -> Inputs:
    """Flat prices, AAA down 30% from the 10th session; ZZZ (outside the targets) flat at
    50, or down 30% from 2019-02-15 (``zzz_falls``)."""
    prices = INPUTS.market.prices.copy()
    prices.loc[:, :] = FLAT
    prices.iloc[10:, 0] = 84.0
    zzz = pd.Series(50.0, index=prices.index)
    if zzz_falls:
        zzz[zzz.index >= pd.Timestamp("2019-02-15")] = 35.0
    prices["ZZZ"] = zzz
    volumes = INPUTS.market.volumes
    assert volumes is not None
    market = dataclasses.replace(INPUTS.market, prices=prices,
                                 volumes=volumes.assign(ZZZ=volumes["AAA"]))
    return dataclasses.replace(INPUTS, market=market)


def _pair_config(**tax: object) -> Config:
    return Config().with_overrides({
        "policy.trigger": "threshold", "policy.threshold": 0.9,
        "backtest.initial_nav_usd": 1_000_000.0, "tax.harvest_pairs": ["AAA:ZZZ"],
        "tax.harvest_in_trades": True,
        **{f"tax.{k}": v for k, v in tax.items()}})


def _session(dates: pd.DatetimeIndex, on_or_after: pd.Timestamp) -> int:
    return int(np.searchsorted(dates, on_or_after))


@pytest.mark.parametrize("swap_back", [False, True])
def test_a_harvest_buys_its_pair_and_swaps_back_after_the_window(swap_back: bool) -> None:
    result = run_one(_pair_inputs(), _pair_config(), aware=True, swap_back=swap_back)
    dates = result.dates
    aaa, zzz = result.tickers.index("AAA"), result.tickers.index("ZZZ")
    h = _session(dates, pd.Timestamp("2019-02-01"))
    harvest = result.harvests
    assert harvest["date"].tolist() == [dates[h]] and harvest["replacement"].tolist() == ["ZZZ"]
    shares0 = np.trunc(0.25 * 1_000_000.0 / 120.0)
    assert result.harvested_loss_usd == pytest.approx(shares0 * 36.0)
    assert result.disallowed_usd == 0.0  # ZZZ is not substantially identical to AAA
    # the proceeds (less both trades' costs) bought ZZZ the same day, whole shares
    assert result.shares[h, aaa] == 0.0
    n_zzz = result.shares[h, zzz]
    proceeds = shares0 * 84.0
    assert 0.99 * proceeds / 50.0 < n_zzz <= proceeds / 50.0 and n_zzz == np.floor(n_zzz)
    back = _session(dates, dates[h] + pd.Timedelta(days=31))
    assert (result.shares[h:back, zzz] == n_zzz).all()
    assert (result.shares[h:back, aaa] == 0.0).all()
    lots = result.lots.set_index("ticker")
    if not swap_back:
        assert (result.shares[h:, zzz] == n_zzz).all() and (result.shares[h:, aaa] == 0).all()
        z = lots.loc["ZZZ"]
        assert z["shares"] == n_zzz and z["basis_usd"] == pytest.approx(n_zzz * 50.0)
        assert z["acquired"] == dates[h] and z["bought"] == dates[h]
        return
    # the first session 31 days on: ZZZ sold (flat: no gain), AAA bought with the proceeds
    assert result.shares[back, zzz] == 0.0 and (result.shares[back:, zzz] == 0).all()
    n_aaa = result.shares[back, aaa]
    assert 0.99 * n_zzz * 50.0 / 84.0 < n_aaa <= n_zzz * 50.0 / 84.0
    a = lots.loc["AAA"]
    # a new lot: its own price as basis, its holding period from the day it was bought
    assert a["shares"] == n_aaa and a["basis_usd"] == pytest.approx(n_aaa * 84.0)
    assert a["acquired"] == dates[back] and "ZZZ" not in lots.index
    assert result.years.iloc[0]["realized_short_usd"] == pytest.approx(-shares0 * 36.0)


def test_a_replacement_that_would_wash_a_loss_is_not_bought() -> None:
    # AAA harvested into ZZZ on 1 Feb; ZZZ falls and is harvested on 1 Mar; its pair AAA
    # was sold at a loss 28 days before: buying it would wash that loss, so the proceeds
    # wait in cash and buy ZZZ back after the window
    inputs = _pair_inputs(zzz_falls=True)
    result = run_one(inputs, _pair_config(harvest_pairs=["AAA:ZZZ", "ZZZ:AAA"]),
                     aware=True)
    rows = result.harvests
    assert rows["ticker"].tolist() == ["AAA", "ZZZ"]
    assert rows["replacement"].tolist() == ["ZZZ", "cash"]
    assert result.disallowed_usd == 0.0
    dates = result.dates
    march = _session(dates, pd.Timestamp("2019-03-01"))
    aaa, zzz = result.tickers.index("AAA"), result.tickers.index("ZZZ")
    back = _session(dates, dates[march] + pd.Timedelta(days=31))
    assert (result.shares[march:back, zzz] == 0).all() and result.shares[back, zzz] > 0
    assert (result.shares[march:, aaa] == 0).all()
    # allowed wash sales: the pair is bought and the loss moves to its basis
    allowed = run_one(inputs, _pair_config(harvest_pairs=["AAA:ZZZ", "ZZZ:AAA"],
                                           allow_wash_sales=True), aware=True)
    assert allowed.harvests["replacement"].tolist()[:2] == ["ZZZ", "AAA"]
    assert allowed.disallowed_usd > 0.0
