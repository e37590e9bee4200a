"""Factor exposure targets of the optimized destination: betas and exposures.

A factor is the daily simple return of a long leg, minus that of a short leg when it has
one (a long-short proxy): by default the market is the S&P 500 index (``SP500``), size the
MSCI USA Size factor ETF minus the index (``SIZE − SP500``) and value the MSCI USA Value
factor ETF minus the index (``VLUE − SP500``); ``[optimizer] factors`` names others (e.g.
``IWM − SPY``). Each asset's betas come from the time-series regression, with an intercept,
of its daily simple returns on the factors' over the last ``window_days`` sessions up to and
including the decision day (never later: point in time):

``r_it = α_i + Σ_f β_if f_ft + ε_it``,

ordinary least squares over the days where the asset and every factor have a return.
The exposures of weights ``w`` (fractions of NAV) are ``B'w`` (F,), ``B`` (N, F): an
exposure target is the target portfolio's own, ``B't``, held either as a constraint,
``|B'(w − t)| <= bound`` per factor, or as a penalty, ``λ ||B'(w − t)||²`` added to the
objective (:mod:`driftwise.policy.optimize`).

Pure numpy: the prices arrive as arrays aligned to the market's dates (the planner's and
the backtest's one price history, :func:`driftwise.data.factor_prices.factor_leg_prices`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from driftwise._types import TRADING_DAYS, FloatArray
from driftwise.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_FACTORS: tuple[tuple[str, str, str | None], ...] = (
    ("market", "SP500", None), ("size", "SIZE", "SP500"), ("value", "VLUE", "SP500"))
"""(name, long leg, short leg) of the default factors: the S&P 500 index and the MSCI USA
Size and Value factor ETFs against it."""
DEFAULT_FACTOR_SPECS = tuple(f"{n} = {lo}" + ("" if sh is None else f" - {sh}")
                             for n, lo, sh in DEFAULT_FACTORS)
"""The default factors as ``[optimizer] factors`` writes them."""
MIN_OBSERVATIONS = 20
"""Fewest daily returns a beta is estimated from; an asset with fewer has no betas (zero
exposure, reported)."""


@dataclass(frozen=True)
class FactorSettings:
    """The factor exposure targets of the optimizer.

    Attributes
    ----------
    factors : tuple of (name, long ticker, short ticker or None)
        Each factor's return is the long leg's minus the short leg's (none: the long leg's).
    window_days : int
        Sessions of returns the betas are estimated from (up to the decision day).
    bound : float or None
        Largest ``|B'(w − t)|`` of each factor after trading (beta-weighted fraction of
        NAV); None: no constraint.
    penalty : float
        λ of ``λ ||B'(w − t)||²`` added to the objective (the units of ``(γ/2) TE²``);
        0: none.
    """

    factors: tuple[tuple[str, str, str | None], ...] = DEFAULT_FACTORS
    window_days: int = TRADING_DAYS
    bound: float | None = None
    penalty: float = 0.0

    def __post_init__(self) -> None:
        if not self.factors:
            raise ConfigError("optimizer.factors: at least one factor is needed")
        names = [f[0] for f in self.factors]
        if len(set(names)) != len(names):
            raise ConfigError(f"optimizer.factors: factor names must be unique; found {names}")
        for name, long, short in self.factors:
            if not long or long == short:
                raise ConfigError(f"optimizer.factors.{name}: expected a long ticker and an "
                                  f"optional different short ticker; found {long!r}, {short!r}")
        if int(self.window_days) < MIN_OBSERVATIONS:
            raise ConfigError(f"optimizer.factor_window_days must be at least "
                              f"{MIN_OBSERVATIONS}; found {self.window_days!r}")
        if self.bound is not None and not (0.0 <= self.bound <= 10.0):
            raise ConfigError(f"optimizer.factor_bound must be in [0, 10]; found {self.bound!r}")
        if not (np.isfinite(self.penalty) and self.penalty >= 0.0):
            raise ConfigError(f"optimizer.factor_penalty must be >= 0; found {self.penalty!r}")

    @property
    def active(self) -> bool:
        """Whether the factors enter the optimization (a bound or a penalty)."""
        return self.bound is not None or self.penalty > 0.0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f[0] for f in self.factors)

    @property
    def tickers(self) -> tuple[str, ...]:
        """Every leg's ticker, once, in order of appearance."""
        out: list[str] = []
        for _, long, short in self.factors:
            for t in (long, short):
                if t is not None and t not in out:
                    out.append(t)
        return tuple(out)


def parse_factor(spec: str) -> tuple[str, str, str | None]:
    """``"name = LONG"`` or ``"name = LONG - SHORT"`` (the minus between spaces, so that a
    ticker may hold a hyphen) -> (name, LONG, SHORT or None); tickers upper-cased.

    Raises
    ------
    ValueError
        Not of that form.
    """
    name, eq, legs = str(spec).partition("=")
    parts = [p.strip().upper() for p in legs.split(" - ")]
    ok = (eq and name.strip().isidentifier() and 1 <= len(parts) <= 2
          and all(p and " " not in p for p in parts) and len(set(parts)) == len(parts))
    if not ok:
        raise ValueError(f"'name = TICKER' or 'name = LONG - SHORT' (two different tickers); "
                         f"found {spec!r}")
    return name.strip(), parts[0], parts[1] if len(parts) == 2 else None


def simple_returns(prices: FloatArray) -> FloatArray:
    """Daily simple returns ``p_t / p_(t−1) − 1`` (T, N); row 0 and any day without
    both prices NaN."""
    p = np.asarray(prices, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = p[1:] / p[:-1] - 1.0
    out[~np.isfinite(out)] = np.nan
    return out


def factor_returns(leg_prices: FloatArray, settings: FactorSettings) -> FloatArray:
    """Each factor's daily return (T, F) from its legs' prices (T, L), the legs in the
    order of :attr:`FactorSettings.tickers`."""
    ret = simple_returns(leg_prices)
    col = {t: j for j, t in enumerate(settings.tickers)}
    out = np.empty((ret.shape[0], len(settings.factors)))
    for f, (_, long, short) in enumerate(settings.factors):
        out[:, f] = ret[:, col[long]] - (0.0 if short is None else ret[:, col[short]])
    return out


def estimate_betas(asset_returns: FloatArray, factor_ret: FloatArray,
                   min_obs: int = MIN_OBSERVATIONS) -> tuple[FloatArray, FloatArray]:
    """OLS betas with an intercept of each asset on the factors.

    Parameters
    ----------
    asset_returns : ndarray, shape (W, N)
        Daily simple returns of the assets (NaN: no return that day).
    factor_ret : ndarray, shape (W, F)
    min_obs : int
        Fewest days with the asset's and every factor's return.

    Returns
    -------
    betas : ndarray, shape (N, F)
        0 for an asset with fewer than ``min_obs`` days (or a singular design).
    known : ndarray of bool, shape (N,)
        Assets whose betas were estimated.
    """
    y = np.asarray(asset_returns, dtype=np.float64)
    fx = np.asarray(factor_ret, dtype=np.float64)
    n_obs, n_factors = fx.shape
    x = np.concatenate([np.ones((n_obs, 1)), fx], axis=1)
    use = np.isfinite(y) & np.all(np.isfinite(x), axis=1)[:, None]  # (W, N)
    x0 = np.where(np.isfinite(x), x, 0.0)
    y0 = np.where(use, y, 0.0)
    wts = use.astype(np.float64)
    xtx = np.einsum("wn,wa,wb->nab", wts, x0, x0)  # (N, F+1, F+1)
    xty = np.einsum("wa,wn->na", x0, y0)  # y0 is 0 where unused
    counts = use.sum(axis=0)
    betas = np.zeros((y.shape[1], n_factors))
    known = counts >= max(min_obs, n_factors + 2)
    for i in np.flatnonzero(known):
        try:
            coef = np.linalg.solve(xtx[i], xty[i])
        except np.linalg.LinAlgError:
            known[i] = False
            continue
        if not np.all(np.isfinite(coef)) or np.linalg.cond(xtx[i]) > 1e12:
            known[i] = False
            continue
        betas[i] = coef[1:]
    return betas, known


@dataclass(frozen=True, eq=False)
class FactorHistory:
    """The returns the betas of any day are estimated from, aligned to the market's price
    history (row ``r`` = the return of date ``r``, from the close before).

    Attributes
    ----------
    asset_returns : ndarray, shape (T, N)
    factor_ret : ndarray, shape (T, F)
    settings : FactorSettings
    """

    asset_returns: FloatArray
    factor_ret: FloatArray
    settings: FactorSettings

    def betas(self, row: int) -> tuple[FloatArray, FloatArray]:
        """Betas (N, F) and which assets have them (N,), from the ``window_days`` returns
        ending on row ``row`` (the decision day) inclusive: nothing after it."""
        end = int(row) + 1
        start = max(0, end - int(self.settings.window_days))
        return estimate_betas(self.asset_returns[start:end], self.factor_ret[start:end])


def factor_history(prices: pd.DataFrame, tickers: pd.Index,
                   settings: FactorSettings) -> FactorHistory:
    """The :class:`FactorHistory` of the market prices (index ``date``, one column per
    ticker): the assets ``tickers`` (a missing one has no returns) and the factor legs
    (:func:`driftwise.data.factor_prices.factor_leg_prices`), row ``r`` the date
    ``prices.index[r]``, as the planner's and the backtest's rows."""
    from driftwise.data.factor_prices import factor_leg_prices
    assets = prices.reindex(columns=tickers).to_numpy(dtype=np.float64)
    legs = factor_leg_prices(prices, settings.tickers).to_numpy(dtype=np.float64)
    return FactorHistory(simple_returns(assets), factor_returns(legs, settings), settings)


def exposures(betas: FloatArray, weights: FloatArray) -> FloatArray:
    """Factor exposures ``B'w`` (..., F) of weights (..., N)."""
    return np.asarray(np.asarray(weights, dtype=np.float64) @ betas, dtype=np.float64)
