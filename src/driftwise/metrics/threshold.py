"""Optimal rebalancing thresholds: the square-root formula and the corrected no-trade band.

All inputs are fractions: costs of traded value (0.002 = 20 bps), volatilities
annualized, horizons in years. Functions broadcast over any array shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray
from driftwise.errors import ConfigError

CASH_TOL = 1e-12
"""A target cash weight this close to 0 is none (rounding of ``1 - sum(t)``)."""


def _f64(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` with ``0 / anything = 0`` and ``positive / 0 = inf``, no warning."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(num == 0.0, 0.0, num / den)
    return np.asarray(out, dtype=np.float64)


def square_root_threshold(
    cost: npt.ArrayLike, sigma_annual: npt.ArrayLike, horizon_years: npt.ArrayLike = 1.0
) -> FloatArray:
    """The square-root "optimal threshold" ``sqrt(2 TC / (sigma^2 T))`` of the methodology.

    Reported for comparison only, labelled as the square-root formula; decide with
    :func:`optimal_half_band`.

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
    Erratum: with TC = 0.002, sigma_p = 0.15, T = 1 the formula gives
    ``sqrt(0.004 / 0.0225) = 0.4216`` (42%), not the "about 5%" the methodology
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


@dataclass(frozen=True)
class CorrectedBand:
    """The corrected no-trade half-band of a target portfolio, with its inputs.

    Attributes
    ----------
    half_band : float
        ``h* = (3 k s^2 / (4 lam))^(1/3)``, in portfolio-drift units (``1/2 sum |d_i|``),
        a fraction of NAV.
    drift_vol : float
        ``s``, volatility of the portfolio drift along the drift direction, per
        ``sqrt(year)``.
    tracking_penalty : float
        ``lam = (gamma/2) u^T S u / (1/2 sum |u_i|)^2``: cost per year of a squared unit
        of portfolio drift along ``u``.
    one_way_cost : float
        ``k``, fraction of traded value.
    tracking_aversion : float
        ``gamma``.
    direction : tuple of float
        The drift direction ``u`` (assets in the order given, then cash when the target
        holds cash), scaled to unit length.
    """

    half_band: float
    drift_vol: float
    tracking_penalty: float
    one_way_cost: float
    tracking_aversion: float
    direction: tuple[float, ...]

    def at_cost(self, one_way_cost: npt.ArrayLike) -> FloatArray:
        """The same band at another one-way cost (``s`` and ``lam`` do not depend on it)."""
        return optimal_half_band(one_way_cost, self.drift_vol, self.tracking_penalty)


def corrected_band(target_weights: npt.ArrayLike, cov_annual: npt.ArrayLike,
                   one_way_cost: float, tracking_aversion: float, *,
                   target_cash_weight: float | None = None,
                   direction: npt.ArrayLike | None = None) -> CorrectedBand:
    """The corrected optimal no-trade half-band of a target portfolio .

    The one function behind every theoretical band driftwise shows (monitor, plan,
    backtest comparison, report).

    Parameters
    ----------
    target_weights : array_like, shape (N,)
        Target weights of the assets, fractions of NAV.
    cov_annual : array_like, shape (N, N)
        Annualized covariance of the assets' returns.
    one_way_cost : float
        ``k``, one-way proportional cost, fraction of traded value (0.002 = 20 bps).
    tracking_aversion : float
        ``gamma`` of the loss ``cost + (gamma/2) TE^2``.
    target_cash_weight : float, optional
        Target cash weight (riskless, one more position of the drift); default
        ``1 - sum(target_weights)``; within :data:`CASH_TOL` of 0, no cash.
    direction : array_like, shape (N,), optional
        The drift direction ``u`` over the assets (default: see Notes). With target
        cash, cash takes ``-sum(u)`` (a deviation moves weight, it creates none).

    Returns
    -------
    CorrectedBand

    Raises
    ------
    ConfigError
        Shapes that do not match, a non-finite input, a negative cost or aversion, a
        zero direction.

    Notes
    -----
    Weights drift as ``d_i = t_i (r_i - r_p)`` with ``r_p = sum_j t_j r_j`` (cash earns
    0), so ``d = A r`` with ``A = diag(t) - t t^T`` over the assets and cash, and the
    deviation's covariance per year is ``Omega = A S A^T``. The default direction ``u``
    is the leading eigenvector of ``Omega``: the direction along which the portfolio
    drifts most (it sums to zero: weight moves from some positions to others). A
    deviation ``d = x u / D(u)`` with ``D(u) = 1/2 sum |u_i|`` has portfolio drift
    ``|x|`` and tracking penalty ``(gamma/2) d^T S d = lam x^2`` with
    ``lam = (gamma/2) u^T S u / D(u)^2``; ``s``, consistently, is the volatility of
    ``x``, the drift measured along ``u``: the projection ``d = c u`` with
    ``c = u^T d / u^T u`` gives ``s = D(u) sqrt(u^T Omega u) / (u^T u)``. Then
    ``h* = (3 k s^2 / (4 lam))^(1/3)`` (:func:`optimal_half_band`).

    Two assets (weight ``w`` and ``1 - w``, no cash): ``Omega`` is proportional to
    ``[[1, -1], [-1, 1]]``, ``u = (1, -1)/sqrt(2)``, ``s = w (1 - w) sigma`` and
    ``lam = (gamma/2) sigma^2`` with ``sigma`` the volatility of ``r_1 - r_2``; hence
    ``h* = (1.5 w^2 (1 - w)^2 k / gamma)^(1/3)`` for any covariance
    (:func:`mean_variance_half_band`; 60/40, 20 bps, ``gamma = 2``: 4.4%). When the
    portfolio cannot drift (``Omega = 0``: one asset, or identical assets), ``s = 0``
    and the band is 0. When the largest eigenvalue of ``Omega`` is repeated, the
    direction is the eigen-solver's pick within that space.
    """
    t, cov = _band_inputs(target_weights, cov_annual)
    k = float(_non_negative(one_way_cost, "one_way_cost"))
    gamma = float(_non_negative(tracking_aversion, "tracking_aversion"))
    cash = 1.0 - float(t.sum()) if target_cash_weight is None else float(target_cash_weight)
    if not math.isfinite(cash):
        raise ConfigError(f"target_cash_weight must be finite, found {cash}")
    with_cash = abs(cash) > CASH_TOL
    if with_cash:
        t = np.append(t, cash)
        cov = np.pad(cov, ((0, 1), (0, 1)))
    mix = np.diag(t) - np.outer(t, t)
    omega = mix @ cov @ mix.T
    u = _direction(omega, direction, len(t), with_cash)
    size = 0.5 * float(np.abs(u).sum())
    norm2 = float(u @ u)
    lam = 0.5 * gamma * max(float(u @ cov @ u), 0.0) / size**2
    s = size * math.sqrt(max(float(u @ omega @ u), 0.0)) / norm2
    band = float(optimal_half_band(k, s, lam))
    return CorrectedBand(half_band=band, drift_vol=s, tracking_penalty=lam, one_way_cost=k,
                         tracking_aversion=gamma,
                         direction=tuple(float(v) for v in u / math.sqrt(norm2)))


def _band_inputs(target_weights: npt.ArrayLike,
                 cov_annual: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    t = _f64(target_weights).reshape(-1)
    cov = _f64(cov_annual)
    if cov.shape != (t.size, t.size):
        raise ConfigError(f"cov_annual must be ({t.size}, {t.size}) for {t.size} target "
                          f"weights, found {cov.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(cov))):
        raise ConfigError("target weights and covariance must be finite numbers")
    return t, 0.5 * (cov + cov.T)


def _direction(omega: FloatArray, direction: npt.ArrayLike | None, n: int,
               with_cash: bool) -> FloatArray:
    """The drift direction: the leading eigenvector of ``omega`` or the caller's ``u``."""
    if direction is None:
        _, vectors = np.linalg.eigh(omega)
        u = np.asarray(vectors[:, -1], dtype=np.float64)
        lead = np.flatnonzero(np.abs(u) > 1e-12)
        return -u if lead.size and u[lead[0]] < 0.0 else u
    u = _f64(direction).reshape(-1)
    expected = n - 1 if with_cash else n
    if u.size != expected or not np.all(np.isfinite(u)):
        raise ConfigError(f"direction must hold {expected} finite numbers (one per asset), "
                          f"found {u.size}")
    if with_cash:
        u = np.append(u, -u.sum())
    if not np.any(u != 0.0):
        raise ConfigError("direction must not be zero")
    return u


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
        One-way proportional cost (``TC`` of the square-root formula, ``k`` of the band),
        fraction of traded value.
    portfolio_vol : float
        Portfolio volatility ``sigma_p`` for the square-root formula, annualized.
    drift_vol : float
        Volatility ``s`` of the portfolio drift along the drift direction, per
        ``sqrt(year)`` (:class:`CorrectedBand`).
    tracking_penalty : float
        ``lam``, cost per year of a squared unit of that drift (:class:`CorrectedBand`).
    horizon_years : float
        ``T`` of the square-root formula, positive.
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
    square_root_threshold : float
        :func:`square_root_threshold` (the square-root formula, shown for comparison).
    half_band : float
        :func:`optimal_half_band` (the corrected no-trade half-band).
    """

    inputs: ThresholdInputs
    square_root_threshold: float
    half_band: float

    @classmethod
    def from_inputs(cls, inputs: ThresholdInputs) -> ThresholdReport:
        """Compute both results."""
        root = square_root_threshold(
            inputs.one_way_cost, inputs.portfolio_vol, inputs.horizon_years
        )
        band = optimal_half_band(inputs.one_way_cost, inputs.drift_vol, inputs.tracking_penalty)
        return cls(inputs=inputs, square_root_threshold=float(root), half_band=float(band))

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
            "square_root_threshold": self.square_root_threshold,
            "half_band": self.half_band,
        }

    def rows(self) -> list[tuple[str, str]]:
        """Label and display value pairs (percents and bps for display only)."""
        i = self.inputs
        out = [
            ("one-way cost k", f"{i.one_way_cost * 1e4:.1f} bps"),
            ("portfolio volatility sigma_p", f"{i.portfolio_vol:.2%}"),
            ("horizon T", f"{i.horizon_years:g} y"),
            ("drift volatility s (along the drift direction)", f"{i.drift_vol:.2%}"),
            ("tracking penalty lambda = (gamma/2) u'Su / D(u)^2", f"{i.tracking_penalty:.4g}"),
        ]
        if i.tracking_aversion is not None:
            out.append(("tracking aversion gamma", f"{i.tracking_aversion:g}"))
        out += [
            (
                "square-root formula sqrt(2 TC/(sigma_p^2 T)), not a band",
                f"{self.square_root_threshold:.2%}",
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
