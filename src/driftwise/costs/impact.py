"""Market impact laws, in fractions of traded value.

Two selectable laws (:class:`~driftwise.costs.params.ImpactModel`):

* **square root**: ``impact = Y * sigma_daily * sqrt(Q / ADV)``;
* **Almgren et al. (2005)**: ``impact = I / 2 + J`` with permanent impact
  ``I = gamma * sigma * (Q / V)**alpha * (Theta / V)**delta`` and temporary impact
  ``J = eta * sigma * (Q / (V * T))**beta`` (the 3/5-power law).

Both are written as a sum of power terms in the traded value ``a = |trade_usd|``:
``impact_usd = sum_k c_k * a**p_k`` (:func:`impact_terms`). The cost engine evaluates
that form over ``(n_configs, n_assets)`` arrays; the elementwise functions here are the
readable definitions the tests check it against.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray
from driftwise.costs.params import CostParams, ImpactModel

ImpactTerms = tuple[tuple[FloatArray, float], ...]
"""Pairs ``(c, p)``: ``impact_usd = sum c * |trade_usd| ** p``; ``c`` shaped (n_assets,)."""


def _f64(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def square_root_impact(
    fraction_of_adv: npt.ArrayLike, sigma_daily: npt.ArrayLike, impact_coef: float = 1.0
) -> FloatArray:
    """Square-root impact as a fraction of traded value.

    Parameters
    ----------
    fraction_of_adv : array_like, shape (..., n_assets)
        ``Q / ADV``: traded shares over average daily volume (non-negative).
    sigma_daily : array_like, shape (n_assets,)
        Daily volatility (fraction).
    impact_coef : float
        ``Y`` (default 1.0).

    Returns
    -------
    ndarray, shape (..., n_assets)
        Impact per unit traded (multiply by 1e4 for bps).

    Notes
    -----
    ``impact = Y * sigma_daily * sqrt(Q / ADV)``. The law and its
    order-one prefactor: Torre (1997), BARRA Market Impact Model Handbook; Toth et al.
    (2011), Phys. Rev. X 1, 021006; Bouchaud et al. (2018), *Trades, Quotes and Prices*,
    ch. 12. With Y = 1 and sigma = 1.5%, a trade of 1% of ADV costs 15 bps.
    """
    return np.asarray(impact_coef * _f64(sigma_daily) * np.sqrt(_f64(fraction_of_adv)),
                      dtype=np.float64)


def almgren_impact(
    fraction_of_adv: npt.ArrayLike,
    sigma_daily: npt.ArrayLike,
    outstanding_over_adv: npt.ArrayLike,
    params: CostParams,
) -> FloatArray:
    """Almgren, Thum, Hauptmann and Li (2005) realized impact, fraction of traded value.

    Parameters
    ----------
    fraction_of_adv : array_like, shape (..., n_assets)
        ``X / V``: traded shares over average daily volume (non-negative).
    sigma_daily : array_like, shape (n_assets,)
        Daily volatility (fraction).
    outstanding_over_adv : array_like, shape (n_assets,)
        ``Theta / V``: shares outstanding over ADV (inverse daily turnover).
    params : CostParams
        ``almgren_eta``, ``almgren_beta``, ``almgren_gamma``, ``almgren_alpha``,
        ``almgren_delta`` and ``execution_days`` (``T``).

    Returns
    -------
    ndarray, shape (..., n_assets)
        ``I / 2 + J`` per unit traded.

    Notes
    -----
    Almgren, Thum, Hauptmann and Li (2005), "Direct estimation of equity market impact",
    *Risk* 18(7), fitted on Citigroup US orders 2001-2003:

    * permanent ``I = gamma * sigma * (X / V)**alpha * (Theta / V)**delta`` with
      gamma = 0.314, alpha = 1, delta = 1/4;
    * temporary ``J = eta * sigma * (X / (V T))**beta`` with eta = 0.142, beta = 3/5;
    * the realized cost of an order worked at a constant rate is ``I / 2 + J`` (half the
      permanent move is paid on average while trading).

    ``sigma`` is daily volatility, ``V`` ADV in shares, ``T`` the execution time in days.
    """
    x = _f64(fraction_of_adv)
    sigma = _f64(sigma_daily)
    permanent = (params.almgren_gamma * sigma * x ** params.almgren_alpha
                 * _f64(outstanding_over_adv) ** params.almgren_delta)
    temporary = (params.almgren_eta * sigma
                 * (x / params.execution_days) ** params.almgren_beta)
    return np.asarray(0.5 * permanent + temporary, dtype=np.float64)


def impact_terms(
    sigma_daily: FloatArray,
    adv_usd: FloatArray,
    outstanding_over_adv: FloatArray,
    params: CostParams,
) -> ImpactTerms:
    """Impact as power terms of the traded value: ``impact_usd = sum c * a**p``.

    Parameters
    ----------
    sigma_daily : ndarray, shape (n_assets,)
        Daily volatility.
    adv_usd : ndarray, shape (n_assets,)
        ADV in USD (``price * ADV_shares``), positive.
    outstanding_over_adv : ndarray, shape (n_assets,)
        ``Theta / V``; NaN means unknown (``params.outstanding_over_adv`` is used).
    params : CostParams

    Returns
    -------
    tuple of (ndarray of shape (n_assets,), float)
        Coefficients in ``USD**(1 - p)`` and exponents ``p``.

    Notes
    -----
    With ``a = |trade_usd|`` and ``Q / ADV = a / adv_usd``:

    * square root: ``a * Y sigma sqrt(a / adv_usd) = (Y sigma / sqrt(adv_usd)) a**1.5``;
    * Almgren: ``a * J = eta sigma (adv_usd T)**-beta a**(1+beta)`` and
      ``a * I / 2 = (gamma / 2) sigma (Theta/V)**delta adv_usd**-alpha a**(1+alpha)``.
    """
    if params.impact_model is ImpactModel.SQUARE_ROOT:
        return ((params.impact_coef * sigma_daily / np.sqrt(adv_usd), 1.5),)
    theta_v = np.where(np.isnan(outstanding_over_adv), params.outstanding_over_adv,
                       outstanding_over_adv)
    beta, alpha = params.almgren_beta, params.almgren_alpha
    temporary = params.almgren_eta * sigma_daily * (adv_usd * params.execution_days) ** -beta
    permanent = (0.5 * params.almgren_gamma * sigma_daily
                 * theta_v ** params.almgren_delta * adv_usd ** -alpha)
    return ((temporary, 1.0 + beta), (permanent, 1.0 + alpha))
