"""Almgren–Chriss optimal execution with linear impact (Almgren & Chriss 2000).

Model (R. Almgren and N. Chriss, "Optimal execution of portfolio transactions",
Journal of Risk 3(2), 2000). A position of ``X`` shares is worked to zero over a horizon
``T`` (trading days) in ``N`` intervals of length ``tau = T / N``. ``x_k`` is the holding
still to trade at ``t_k = k tau`` (``x_0 = X``, ``x_N = 0``) and ``n_k = x_{k-1} - x_k`` the
shares traded in interval ``k``.

- permanent impact ``g(v) = gamma v`` (USD/share per share of cumulative trading),
- temporary impact ``h(v) = epsilon sgn(n) + eta v`` with ``v = n_k / tau`` the trading rate
  (shares/day), so ``eta`` is in USD·day/share²,
- price volatility ``sigma`` in USD per share per sqrt(day) (``sigma_daily * price``).

Every function is sign-agnostic (a purchase is the mirror image of a sale), takes arrays
that broadcast over leading axes (``(..., n_assets)``) and returns trajectories shaped
``(..., n_intervals + 1)``. Units: time in trading days, money in USD.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray
from driftwise.errors import ConfigError

BPS = 1e-4
"""One basis point as a fraction."""


def sigma_usd(sigma_daily: npt.ArrayLike, price_usd: npt.ArrayLike) -> FloatArray:
    """Daily price volatility in USD per share from a fractional daily volatility.

    Parameters
    ----------
    sigma_daily : array_like, shape (..., n_assets)
        Standard deviation of daily returns (fraction, e.g. 0.02).
    price_usd : array_like, shape (..., n_assets)
        Price per share.

    Returns
    -------
    ndarray, shape (..., n_assets)
        ``sigma_daily * price_usd`` (USD/share/sqrt(day)).
    """
    return np.asarray(np.multiply(sigma_daily, price_usd), dtype=np.float64)


def calibrate_eta(
    impact_bps_at_rate: npt.ArrayLike,
    rate: npt.ArrayLike,
    price_usd: npt.ArrayLike,
    adv_shares: npt.ArrayLike,
) -> FloatArray:
    """Linear temporary-impact coefficient matching the cost model at one participation.

    Parameters
    ----------
    impact_bps_at_rate : array_like, shape (..., n_assets)
        The cost model's impact (bps of traded value) at participation ``rate``.
    rate : array_like, shape (..., n_assets)
        Planned participation: shares traded per day / ADV (fraction, > 0).
    price_usd : array_like, shape (..., n_assets)
    adv_shares : array_like, shape (..., n_assets)
        Average daily volume (shares, > 0).

    Returns
    -------
    ndarray, shape (..., n_assets)
        ``eta`` in USD·day/share²; NaN where ``rate`` or ``adv_shares`` is not positive.

    Notes
    -----
    Trading at rate ``v = rate * ADV`` shares/day the linear model charges ``eta v`` USD per
    share; the cost model charges ``impact_bps * 1e-4 * price``. Equating them,

        ``eta = impact_bps(rate) * 1e-4 * price / (rate * ADV)``.

    The two models agree exactly at the planned participation. For a concave cost model
    (square-root law, 3/5 power) the linear model overstates the cost of trading faster
    than planned and understates it when slower, so the optimal trajectory is reliable
    near the planned rate, which is where the schedule trades.
    """
    rate_a = np.asarray(rate, dtype=np.float64)
    adv = np.asarray(adv_shares, dtype=np.float64)
    speed = rate_a * adv
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.asarray(impact_bps_at_rate, dtype=np.float64) * BPS * np.asarray(
            price_usd, dtype=np.float64) / speed
    return np.asarray(np.where(speed > 0.0, eta, np.nan), dtype=np.float64)


def _eta_tilde(eta: npt.ArrayLike, gamma: npt.ArrayLike, tau: npt.ArrayLike) -> FloatArray:
    eta_t = np.asarray(eta, dtype=np.float64) - 0.5 * np.asarray(
        gamma, dtype=np.float64) * np.asarray(tau, dtype=np.float64)
    if np.any(eta_t <= 0.0):
        raise ConfigError("Almgren-Chriss needs eta - gamma * tau / 2 > 0 (temporary impact "
                          "must dominate); use more intervals or check eta and gamma")
    return np.asarray(eta_t, dtype=np.float64)


def ac_kappa(
    sigma: npt.ArrayLike,
    eta: npt.ArrayLike,
    risk_aversion: npt.ArrayLike,
    tau_days: npt.ArrayLike,
    gamma: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Urgency ``kappa`` (1/day) of the optimal trajectory.

    Parameters
    ----------
    sigma : array_like, shape (..., n_assets)
        Volatility, USD/share/sqrt(day).
    eta : array_like, shape (..., n_assets)
        Temporary impact, USD·day/share².
    risk_aversion : array_like, broadcastable
        ``lambda`` in 1/USD (objective ``E + lambda V``), >= 0.
    tau_days : array_like, broadcastable
        Interval length in days.
    gamma : array_like, broadcastable
        Permanent impact, USD/share².

    Returns
    -------
    ndarray, shape (..., n_assets)

    Notes
    -----
    Almgren & Chriss (2000), section 2: ``kappa_tilde^2 = lambda sigma^2 / eta_tilde`` with
    ``eta_tilde = eta - gamma tau / 2``, and ``kappa`` solves
    ``2 (cosh(kappa tau) - 1) / tau^2 = kappa_tilde^2``, i.e.
    ``kappa = arccosh(1 + u) / tau`` with ``u = kappa_tilde^2 tau^2 / 2``, computed as
    ``log1p(u + sqrt(u (u + 2))) / tau`` to stay exact for small ``u``.
    """
    lam = np.asarray(risk_aversion, dtype=np.float64)
    if np.any(lam < 0.0) or not np.all(np.isfinite(lam)):
        raise ConfigError("risk aversion must be finite and >= 0")
    tau = np.asarray(tau_days, dtype=np.float64)
    if np.any(tau <= 0.0):
        raise ConfigError("interval length tau must be > 0")
    eta_t = _eta_tilde(eta, gamma, tau)
    u = 0.5 * lam * np.square(np.asarray(sigma, dtype=np.float64)) / eta_t * tau**2
    return np.asarray(np.log1p(u + np.sqrt(u * (u + 2.0))) / tau, dtype=np.float64)


def optimal_trajectory(
    shares: npt.ArrayLike,
    horizon_days: npt.ArrayLike,
    n_intervals: int,
    *,
    sigma: npt.ArrayLike,
    eta: npt.ArrayLike,
    risk_aversion: npt.ArrayLike,
    gamma: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Holdings still to trade at each interval boundary on the optimal trajectory.

    Parameters
    ----------
    shares : array_like, shape (..., n_assets)
        Position to work, ``X`` (signed; the trajectory carries the sign).
    horizon_days : array_like, broadcastable
        Horizon ``T`` in trading days (> 0).
    n_intervals : int
        Number of intervals ``N`` (>= 1).
    sigma, eta, risk_aversion, gamma : array_like, broadcastable
        See :func:`ac_kappa`.

    Returns
    -------
    ndarray, shape (..., n_assets, n_intervals + 1)
        ``x_k`` for ``k = 0..N``; ``x_0 = X`` and ``x_N = 0`` exactly.

    Notes
    -----
    Almgren & Chriss (2000), eq. (18): ``x_k = X sinh(kappa (T - t_k)) / sinh(kappa T)``;
    as ``lambda -> 0`` (``kappa -> 0``) it tends to the TWAP line ``X (1 - t_k / T)``. The
    ratio is evaluated as ``exp(-kappa t_k) expm1(-2 kappa (T - t_k)) / expm1(-2 kappa T)``
    so that large ``kappa T`` does not overflow.
    """
    if n_intervals < 1:
        raise ConfigError(f"number of intervals must be >= 1, got {n_intervals}")
    horizon = np.asarray(horizon_days, dtype=np.float64)
    if np.any(horizon <= 0.0):
        raise ConfigError("execution horizon must be > 0 days")
    kappa = ac_kappa(sigma, eta, risk_aversion, horizon / n_intervals, gamma)
    x0 = np.asarray(shares, dtype=np.float64)
    x0, horizon, kappa = np.broadcast_arrays(x0, horizon, kappa)
    frac_t = np.arange(n_intervals + 1, dtype=np.float64) / n_intervals  # t_k / T
    kt = (kappa * horizon)[..., None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.exp(-kt * frac_t) * np.expm1(-2.0 * kt * (1.0 - frac_t)) / np.expm1(-2.0 * kt)
    ratio = np.where(kt > 0.0, ratio, 1.0 - frac_t)
    ratio[..., 0] = 1.0
    ratio[..., -1] = 0.0
    return np.asarray(x0[..., None] * ratio, dtype=np.float64)


def expected_shortfall(
    trajectory: npt.ArrayLike,
    horizon_days: npt.ArrayLike,
    *,
    eta: npt.ArrayLike,
    gamma: npt.ArrayLike = 0.0,
    epsilon_usd: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Expected implementation shortfall ``E[x]`` of a trajectory (USD).

    Parameters
    ----------
    trajectory : array_like, shape (..., n_intervals + 1)
        Holdings to trade ``x_0..x_N`` (any trajectory, not only the optimal one).
    horizon_days : array_like, shape (...)
        Horizon ``T`` in days.
    eta, gamma : array_like, shape (...)
        Temporary and permanent impact coefficients.
    epsilon_usd : array_like, shape (...)
        Fixed cost per share (half-spread plus fees), USD.

    Returns
    -------
    ndarray, shape (...)

    Notes
    -----
    Almgren & Chriss (2000), eq. (5)–(6) with ``n_k = x_{k-1} - x_k``:
    ``E = gamma X^2 / 2 + epsilon sum|n_k| + (eta_tilde / tau) sum n_k^2``,
    ``eta_tilde = eta - gamma tau / 2``.
    """
    x = np.asarray(trajectory, dtype=np.float64)
    n_intervals = x.shape[-1] - 1
    tau = np.asarray(horizon_days, dtype=np.float64) / n_intervals
    eta_t = _eta_tilde(eta, gamma, tau)
    trades = -np.diff(x, axis=-1)
    total = x[..., 0]
    return np.asarray(
        0.5 * np.asarray(gamma, dtype=np.float64) * total**2
        + np.asarray(epsilon_usd, dtype=np.float64) * np.abs(trades).sum(axis=-1)
        + eta_t / tau * np.square(trades).sum(axis=-1),
        dtype=np.float64,
    )


def shortfall_variance(
    trajectory: npt.ArrayLike, horizon_days: npt.ArrayLike, *, sigma: npt.ArrayLike
) -> FloatArray:
    """Variance ``V[x]`` of the implementation shortfall (USD²).

    Parameters
    ----------
    trajectory : array_like, shape (..., n_intervals + 1)
        Holdings to trade ``x_0..x_N``.
    horizon_days : array_like, shape (...)
    sigma : array_like, shape (...)
        USD/share/sqrt(day).

    Returns
    -------
    ndarray, shape (...)

    Notes
    -----
    Almgren & Chriss (2000), eq. (5): ``V = sigma^2 sum_{k=1}^{N} tau x_k^2``.
    """
    x = np.asarray(trajectory, dtype=np.float64)
    tau = np.asarray(horizon_days, dtype=np.float64) / (x.shape[-1] - 1)
    return np.asarray(
        np.square(np.asarray(sigma, dtype=np.float64)) * tau * np.square(x[..., 1:]).sum(axis=-1),
        dtype=np.float64,
    )
