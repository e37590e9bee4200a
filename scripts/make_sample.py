"""Regenerate the embedded sample portfolio files in src/driftwise/data/sample/.

The sample: USD 10 million invested on 2022-06-30 (SAMPLE_LAST_REBALANCE) at an
equal-weight target of 4.9% per stock plus a 2% cash target, in whole shares (rounded
down), using the skfolio adjusted closes of that day. Run from the repository root:

    python scripts/make_sample.py
"""

from __future__ import annotations

import math

import pandas as pd

from driftwise.data.sample import (
    SAMPLE_DIR,
    SAMPLE_LAST_REBALANCE,
    SAMPLE_NAV_AT_REBALANCE_USD,
    load_sample_market,
)

STOCK_TARGET = 0.049
CASH_TARGET = 0.02

# GICS sectors and approximate market capitalizations at the end of 2022 (USD), rounded;
# they only set cost and liquidity tiers (large >= 10B, mid 2B-10B, small < 2B).
MASTER = {
    "AAPL": ("Information Technology", 2.07e12), "AMD": ("Information Technology", 1.04e11),
    "BAC": ("Financials", 2.65e11), "BBY": ("Consumer Discretionary", 1.8e10),
    "CVX": ("Energy", 3.47e11), "GE": ("Industrials", 7.3e10),
    "HD": ("Consumer Discretionary", 3.22e11), "JNJ": ("Health Care", 4.62e11),
    "JPM": ("Financials", 3.93e11), "KO": ("Consumer Staples", 2.75e11),
    "LLY": ("Health Care", 3.47e11), "MRK": ("Health Care", 2.81e11),
    "MSFT": ("Information Technology", 1.79e12), "PEP": ("Consumer Staples", 2.49e11),
    "PFE": ("Health Care", 2.88e11), "PG": ("Consumer Staples", 3.58e11),
    "RRC": ("Energy", 6.0e9), "UNH": ("Health Care", 4.95e11),
    "WMT": ("Consumer Staples", 3.82e11), "XOM": ("Energy", 4.54e11),
}


def main() -> None:
    prices = load_sample_market().prices.loc[SAMPLE_LAST_REBALANCE]
    budget = SAMPLE_NAV_AT_REBALANCE_USD * STOCK_TARGET
    shares = {t: math.floor(budget / float(p)) for t, p in prices.items()}
    invested = sum(shares[t] * float(prices[t]) for t in shares)
    cash = round(SAMPLE_NAV_AT_REBALANCE_USD - invested, 2)
    rows = [{"ticker": t, "shares": s} for t, s in sorted(shares.items())]
    rows.append({"ticker": "CASH", "shares": "", "market_value_usd": cash})
    pd.DataFrame(rows).to_csv(SAMPLE_DIR / "holdings.csv", index=False)
    targets = [{"ticker": t, "target_weight": STOCK_TARGET} for t in sorted(shares)]
    targets.append({"ticker": "CASH", "target_weight": CASH_TARGET})
    pd.DataFrame(targets).assign(effective_date=SAMPLE_LAST_REBALANCE.date()).to_csv(
        SAMPLE_DIR / "targets.csv", index=False)
    master = [{"ticker": t, "sector": s, "asset_class": "US Equity", "market_cap_usd": c}
              for t, (s, c) in sorted(MASTER.items())]
    pd.DataFrame(master).to_csv(SAMPLE_DIR / "security_master.csv", index=False)
    print(f"wrote {SAMPLE_DIR}: {len(shares)} stocks, cash {cash:,.2f} USD")


if __name__ == "__main__":
    main()
