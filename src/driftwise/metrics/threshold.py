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


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` with ``0 / anything = 0`` and ``positive / 0 = inf``, no warning."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(num == 0.0, 0.0, num / den)
    return np.asarray(out, dtype=np.float64)


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
        Portfolio volatility ``sigma_p``, annualized (0 allowed: gives ``inf``).
    horizon_years : array_like
        Horizon ``T`` in years, positive.

    Returns
    -------
    ndarray
        ``sqrt(2 TC / (sigma_p^2 T))``, a fraction; 0 when ``TC = 0``, ``inf`` when
        ``TC > 0`` and ``sigma_p = 0``.

    Raises
    ------
    ConfigError
        A negative or NaN cost or volatility, or a horizon that is not positive.

    Notes
    -----
    Erratum (SPEC section 12): with TC = 0.002, sigma_p = 0.15, T = 1 the formula
    gives ``sqrt(0.004 / 0.0225) = 0.4216`` (42%), not the "about 5%" the seed
    states. It is the economic-order-quantity form of an optimal calendar
    *interval* under a fixed fee, not a drift band under proportional costs; use
    :func:`optimal_half_band` for decisions.
    """
    tc = _non_negative(cost, "cost")
    sigma = _non_negative(sigma_annual, "sigma_annual")
    horizon = _f64(horizon_years)
    if not np.all(horizon > 0.0):
        raise ConfigError(f"horizon_years must be positive, found {horizon[~(horizon > 0.0)][0]}")
    return np.asarray(np.sqrt(_ratio(2.0 * tc, sigma**2 * horizon)), dtype=np.float64)


def optimal_half_band(k: npt.ArrayLike, s: npt.ArrayLike, lam: npt.ArrayLike) -> FloatArray:
    """Optimal no-trade half-band ``h* = (3 k s^2 / (4 lam))^(1/3)``.

    Parameters
    ----------
    k : array_like
        One-way proportional cost, fraction of traded value.
    s : array_like
        Volatility of the weight deviation, per ``sqrt(year)``.
    lam : array_like
        Tracking penalty: cost per year of a squared weight deviation.

    Returns
    -------
    ndarray
        Half-width of the no-trade band around the target weight, a fraction; 0 when
        ``k s^2 = 0`` (free trading or no movement), ``inf`` when ``lam = 0`` and
        ``k s^2 > 0`` (deviations cost nothing: never trade).

    Raises
    ------
    ConfigError
        A negative or NaN input.

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
    kk = _non_negative(k, "k")
    ss = _non_negative(s, "s")
    ll = _non_negative(lam, "lam")
    return np.asarray(np.cbrt(_ratio(3.0 * kk * ss**2, 4.0 * ll)), dtype=np.float64)


def mean_variance_half_band(w: npt.ArrayLike, k: npt.ArrayLike, gamma: npt.ArrayLike) -> FloatArray:
    """Half-band of a mean-variance investor, ``(1.5 w^2 (1 - w)^2 k / gamma)^(1/3)``.

    Parameters
    ----------
    w : array_like
        Target weight of the risky asset (fraction of NAV).
    k : array_like
        One-way proportional cost, fraction of traded value.
    gamma : array_like
        Relative risk aversion (0 gives ``inf`` when the numerator is positive).

    Returns
    -------
    ndarray
        Half-width of the no-trade band around ``w``, a fraction.

    Raises
    ------
    ConfigError
        A negative or NaN cost or risk aversion.

    Notes
    -----
    :func:`optimal_half_band` with ``s = sigma w (1 - w)`` (volatility of the weight
    of a single risky asset held at ``w``) and ``lam = gamma sigma^2 / 2`` (the
    certainty-equivalent loss of a deviation); ``sigma`` cancels. Janecek and Shreve
    (2004); Rogers (2004).
    """
    ww = _f64(w)
    kk = _non_negative(k, "k")
    gg = _non_negative(gamma, "gamma")
    return np.asarray(np.cbrt(_ratio(1.5 * ww**2 * (1.0 - ww) ** 2 * kk, gg)), dtype=np.float64)


def _non_negative(x: npt.ArrayLike, name: str) -> FloatArray:
    v = _f64(x)
    if not np.all(v >= 0.0):
        raise ConfigError(f"{name} must be non-negative, found {v[~(v >= 0.0)][0]}")
    return v


@dataclass(frozen=True)
class ThresholdInputs:
    """Inputs of both threshold formulas, validated when built.

    Attributes
    ----------
    one_way_cost : float
        One-way proportional cost (``TC`` of the seed, ``k`` of the band), fraction of
        traded value.
    portfolio_vol : float
        Portfolio volatility ``sigma_p`` for the seed formula, annualized.
    drift_vol : float
        Volatility ``s`` of the weight deviation, per ``sqrt(year)``.
    tracking_penalty : float
        ``lam``, cost per year of a squared weight deviation.
    horizon_years : float
        ``T`` of the seed formula, positive.
    tracking_aversion : float or None
        The ``gamma`` from which the caller derived ``lam``, kept for display.
    """

    one_way_cost: float
    portfolio_vol: float
    drift_vol: float
    tracking_penalty: float
    horizon_years: float = 1.0
    tracking_aversion: float | None = None

    def __post_init__(self) -> None:
        for name in ("one_way_cost", "portfolio_vol", "drift_vol", "tracking_penalty"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0.0):
                raise ConfigError(f"{name} must be a non-negative number, found {value}")
        if not (math.isfinite(self.horizon_years) and self.horizon_years > 0.0):
            raise ConfigError(f"horizon_years must be positive, found {self.horizon_years}")
        gamma = self.tracking_aversion
        if gamma is not None and not (math.isfinite(gamma) and gamma >= 0.0):
            raise ConfigError(f"tracking_aversion must be a non-negative number, found {gamma}")


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
        seed = seed_optimal_threshold(
            inputs.one_way_cost, inputs.portfolio_vol, inputs.horizon_years
        )
        band = optimal_half_band(inputs.one_way_cost, inputs.drift_vol, inputs.tracking_penalty)
        return cls(inputs=inputs, seed_threshold=float(seed), half_band=float(band))

    def to_dict(self) -> dict[str, float | None]:
        """Plain-data form for JSON output (fractions, not percents)."""
        i = self.inputs
        return {
            "one_way_cost": i.one_way_cost,
            "portfolio_vol": i.portfolio_vol,
            "drift_vol": i.drift_vol,
            "tracking_penalty": i.tracking_penalty,
            "horizon_years": i.horizon_years,
            "tracking_aversion": i.tracking_aversion,
            "seed_threshold": self.seed_threshold,
            "half_band": self.half_band,
        }

    def rows(self) -> list[tuple[str, str]]:
        """Label and display value pairs (percents and bps for display only)."""
        i = self.inputs
        out = [
            ("one-way cost k", f"{i.one_way_cost * 1e4:.1f} bps"),
            ("portfolio volatility sigma_p", f"{i.portfolio_vol:.2%}"),
            ("horizon T", f"{i.horizon_years:g} y"),
            ("weight-deviation volatility s", f"{i.drift_vol:.2%}"),
            ("tracking penalty lambda", f"{i.tracking_penalty:.4g}"),
        ]
        if i.tracking_aversion is not None:
            out.append(("tracking aversion gamma", f"{i.tracking_aversion:g}"))
        out += [
            (
                "seed formula sqrt(2 TC/(sigma_p^2 T)) [seed, see SPEC 12]",
                f"{self.seed_threshold:.2%}",
            ),
            ("corrected half-band (3 k s^2/(4 lambda))^(1/3)", f"{self.half_band:.2%}"),
        ]
        return out


def threshold_report(
    *,
    one_way_cost: float,
    portfolio_vol: float,
    drift_vol: float,
    tracking_penalty: float,
    horizon_years: float = 1.0,
    tracking_aversion: float | None = None,
) -> ThresholdReport:
    """Validate the inputs and compute both thresholds (see :class:`ThresholdInputs`).

    Raises
    ------
    ConfigError
        An input out of range (see :class:`ThresholdInputs`).
    """
    inputs = ThresholdInputs(
        one_way_cost=float(one_way_cost),
        portfolio_vol=float(portfolio_vol),
        drift_vol=float(drift_vol),
        tracking_penalty=float(tracking_penalty),
        horizon_years=float(horizon_years),
        tracking_aversion=None if tracking_aversion is None else float(tracking_aversion),
    )
    return ThresholdReport.from_inputs(inputs)
