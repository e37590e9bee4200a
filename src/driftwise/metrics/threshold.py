"""Optimal rebalancing thresholds: the seed's formula and the corrected band (SPEC 3.6, 12).

All inputs are fractions: costs of traded value (0.002 = 20 bps), volatilities
annualized, horizons in years. Functions broadcast over any array shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from driftwise.errors import ConfigError

FloatArray = npt.NDArray[np.float64]


def _f64(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def seed_optimal_threshold(
    cost: npt.ArrayLike, sigma_annual: npt.ArrayLike, horizon_years: npt.ArrayLike = 1.0
) -> FloatArray:
    """The seed methodology's "optimal threshold" ``sqrt(2 TC / (sigma^2 T))``.

    Reported for fidelity only, labelled as the seed's formula (SPEC section 12).

    Parameters
    ----------
    cost : array_like
        Transaction cost ``TC`` as a fraction of traded value (0.002 = 20 bps).
    sigma_annual : array_like
        Portfolio volatility ``sigma_p``, annualized.
    horizon_years : array_like
        Horizon ``T`` in years.

    Returns
    -------
    ndarray
        ``sqrt(2 TC / (sigma_p^2 T))``, a fraction.

    Notes
    -----
    Erratum (SPEC section 12): with TC = 0.002, sigma_p = 0.15, T = 1 the formula
    gives ``sqrt(0.004 / 0.0225) = 0.4216`` (42%), not the "about 5%" the seed
    states. It is the economic-order-quantity form of an optimal calendar
    *interval* under a fixed fee, not a drift band under proportional costs; use
    :func:`optimal_half_band` for decisions.
    """
    tc = _f64(cost)
    sigma = _f64(sigma_annual)
    horizon = _f64(horizon_years)
    _check_positive(sigma, "sigma_annual")
    _check_positive(horizon, "horizon_years")
    _check_non_negative(tc, "cost")
    return np.asarray(np.sqrt(2.0 * tc / (sigma**2 * horizon)), dtype=np.float64)


def optimal_half_band(k: npt.ArrayLike, s: npt.ArrayLike, lam: npt.ArrayLike) -> FloatArray:
    """Optimal no-trade half-band ``h* = (3 k s^2 / (4 lam))^(1/3)``.

    Parameters
    ----------
    k : array_like
        One-way proportional cost, fraction of traded value.
    s : array_like
        Volatility of the weight deviation, per ``sqrt(year)``.
    lam : array_like
        Tracking penalty: cost per year of a squared weight deviation (positive).

    Returns
    -------
    ndarray
        Half-width of the no-trade band around the target weight, a fraction.

    Notes
    -----
    With the deviation ``x`` a Brownian motion of variance ``s^2`` per year, kept in
    ``[-h, h]`` by trading only at the edges, ``x`` is uniform on the band, the
    tracking penalty costs ``lam E[x^2] = lam h^2 / 3`` a year and the trading costs
    ``k s^2 / (2 h)`` a year (local time at the edges). Minimizing the sum gives
    ``h^3 = 3 k s^2 / (4 lam)``: the band scales with ``cost^(1/3)``. Leland (2000),
    "Optimal portfolio management with transactions costs and capital gains taxes";
    Janecek and Shreve (2004), "Asymptotic analysis for optimal investment and
    consumption with transaction costs", Finance Stoch. 8; Rogers (2004), "Why is the
    effect of proportional transaction costs O(delta^(2/3))?".
    """
    kk = _f64(k)
    ss = _f64(s)
    ll = _f64(lam)
    _check_non_negative(kk, "k")
    _check_non_negative(ss, "s")
    _check_positive(ll, "lam")
    return np.asarray(np.cbrt(3.0 * kk * ss**2 / (4.0 * ll)), dtype=np.float64)


def mean_variance_half_band(
    w: npt.ArrayLike, k: npt.ArrayLike, gamma: npt.ArrayLike
) -> FloatArray:
    """Half-band of a mean-variance investor, ``(1.5 w^2 (1 - w)^2 k / gamma)^(1/3)``.

    Parameters
    ----------
    w : array_like
        Target weight of the risky asset (fraction of NAV).
    k : array_like
        One-way proportional cost, fraction of traded value.
    gamma : array_like
        Relative risk aversion (positive).

    Returns
    -------
    ndarray
        Half-width of the no-trade band around ``w``, a fraction.

    Notes
    -----
    :func:`optimal_half_band` with ``s = sigma w (1 - w)`` (volatility of the weight
    of a single risky asset held at ``w``) and ``lam = gamma sigma^2 / 2`` (the
    certainty-equivalent loss of a deviation); ``sigma`` cancels. Janecek and Shreve
    (2004); Rogers (2004).
    """
    ww = _f64(w)
    kk = _f64(k)
    gg = _f64(gamma)
    _check_non_negative(kk, "k")
    _check_positive(gg, "gamma")
    return np.asarray(np.cbrt(1.5 * ww**2 * (1.0 - ww) ** 2 * kk / gg), dtype=np.float64)


def _check_positive(x: FloatArray, name: str) -> None:
    if not np.all(x > 0.0):
        raise ConfigError(f"{name} must be positive, found {x[~(x > 0.0)][0]}")


def _check_non_negative(x: FloatArray, name: str) -> None:
    if not np.all(x >= 0.0):
        raise ConfigError(f"{name} must be non-negative, found {x[~(x >= 0.0)][0]}")


def _require(ok: bool, name: str, value: float, what: str) -> None:
    if not ok:
        raise ConfigError(f"{name} must be {what}, found {value}")


@dataclass(frozen=True)
class ThresholdInputs:
    """Inputs of both threshold formulas, validated when built.

    Attributes
    ----------
    cost : float
        One-way proportional cost (``TC`` and ``k``), fraction of traded value.
    sigma_annual : float
        Portfolio volatility for the seed formula, annualized.
    deviation_vol_annual : float
        Volatility ``s`` of the weight deviation, per ``sqrt(year)``.
    tracking_penalty : float
        ``lam``, cost per year of a squared weight deviation.
    horizon_years : float
        ``T`` of the seed formula.
    """

    cost: float
    sigma_annual: float
    deviation_vol_annual: float
    tracking_penalty: float
    horizon_years: float = 1.0

    def __post_init__(self) -> None:
        _require(math.isfinite(self.cost) and self.cost >= 0.0, "cost", self.cost, "non-negative")
        for name in ("sigma_annual", "tracking_penalty", "horizon_years"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value > 0.0, name, value, "positive")
        s = self.deviation_vol_annual
        _require(math.isfinite(s) and s >= 0.0, "deviation_vol_annual", s, "non-negative")


@dataclass(frozen=True)
class ThresholdReport:
    """Both threshold results next to their inputs, for the monitor.

    Attributes
    ----------
    inputs : ThresholdInputs
    seed_threshold : float
        :func:`seed_optimal_threshold` (the seed's formula, shown as such).
    half_band : float
        :func:`optimal_half_band` (the corrected no-trade half-band).
    """

    inputs: ThresholdInputs
    seed_threshold: float
    half_band: float

    @classmethod
    def from_inputs(cls, inputs: ThresholdInputs) -> ThresholdReport:
        """Compute both results."""
        seed = seed_optimal_threshold(inputs.cost, inputs.sigma_annual, inputs.horizon_years)
        band = optimal_half_band(
            inputs.cost, inputs.deviation_vol_annual, inputs.tracking_penalty
        )
        return cls(inputs=inputs, seed_threshold=float(seed), half_band=float(band))

    def to_dict(self) -> dict[str, float]:
        """Plain-data form for JSON output."""
        i = self.inputs
        return {
            "cost": i.cost,
            "sigma_annual": i.sigma_annual,
            "deviation_vol_annual": i.deviation_vol_annual,
            "tracking_penalty": i.tracking_penalty,
            "horizon_years": i.horizon_years,
            "seed_threshold": self.seed_threshold,
            "half_band": self.half_band,
        }
