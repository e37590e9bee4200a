"""Effective bid-ask spreads estimated from daily high, low and close.

Two estimators of the full effective spread (a fraction of price) from two consecutive
daily bars, for stocks whose quotes are not available:

* **Corwin and Schultz (2012)**, "A Simple Way to Estimate Bid-Ask Spreads from Daily High
  and Low Prices", *Journal of Finance* 67(2): the high/low ratio of a day holds two days of
  variance and one spread, that of two days four days of variance and one spread, so the
  two solve for the spread. With the paper's overnight adjustment and its two ways of
  handling a negative estimate.
* **Abdi and Ranaldo (2017)**, "A Simple Estimation of Bid-Ask Spreads from Daily Close,
  High, and Low Prices", *Review of Financial Studies* 30(12): the close against the
  mid-range (the mean of the log high and log low) of the same day and of the next day.

Both return one estimate per pair of days ``(t, t+1)``; :func:`pooled_spread` averages them
over a sample as each paper does over a month.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from driftwise._types import FloatArray

CS_DENOMINATOR = 3.0 - 2.0 * np.sqrt(2.0)
"""``3 - 2·sqrt(2)``, the constant of Corwin and Schultz's equation (18)."""


class NegativeEstimates(StrEnum):
    """What a negative two-day Corwin-Schultz estimate becomes (the paper's section III.B).

    ``ZERO``: the two-day spread is set to zero before averaging (the paper's main
    results). ``KEEP``: kept negative, so that averages are unbiased where the true spread
    is small.
    """

    ZERO = "zero"
    KEEP = "keep"


def overnight_adjusted(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike
                       ) -> tuple[FloatArray, FloatArray]:
    """Day ``t+1``'s high and low shifted by any overnight move outside its range.

    Parameters
    ----------
    high, low, close : array_like, shape (T,)
        Daily high, low and close of one stock, USD, in date order.

    Returns
    -------
    high_next, low_next : ndarray, shape (T - 1,)
        The high and low of days ``1 .. T-1`` adjusted against the close of the day before.

    Notes
    -----
    Corwin and Schultz (2012), section III.A: when day ``t+1``'s low is above day ``t``'s
    close, the price rose overnight; both the high and the low of ``t+1`` are lowered by
    ``low_{t+1} - close_t``. When day ``t+1``'s high is below day ``t``'s close, both are
    raised by ``close_t - high_{t+1}``. Otherwise they are left as they are.
    """
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    prev_close, h1, l1 = c[:-1], h[1:], lo[1:]
    shift = np.where(l1 > prev_close, l1 - prev_close,
                     np.where(h1 < prev_close, h1 - prev_close, 0.0))
    return h1 - shift, l1 - shift


def corwin_schultz(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, *,
                   negative: NegativeEstimates = NegativeEstimates.ZERO,
                   adjust_overnight: bool = True) -> FloatArray:
    """The Corwin-Schultz spread of each pair of consecutive days.

    Parameters
    ----------
    high, low, close : array_like, shape (T,)
        Daily high, low and close of one stock, USD, in date order (``high >= low > 0``).
    negative : NegativeEstimates
        What a negative estimate becomes (zero, the default, or kept).
    adjust_overnight : bool
        Shift day ``t+1``'s range by any overnight move outside it
        (:func:`overnight_adjusted`; the paper's default).

    Returns
    -------
    ndarray, shape (T - 1,)
        Element ``t``: the full spread estimated from days ``t`` and ``t+1``, a fraction of
        price (0.001 = 10 bps); NaN where a price is missing or not positive.

    Notes
    -----
    With ``beta = ln(H_t/L_t)^2 + ln(H_{t+1}/L_{t+1})^2`` and
    ``gamma = ln(max(H_t, H_{t+1}) / min(L_t, L_{t+1}))^2``:
    ``alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2))``
    and ``S = 2 (e^alpha - 1) / (1 + e^alpha)`` (equations 14 and 18 of the paper).
    """
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    if adjust_overnight:
        h1, l1 = overnight_adjusted(h, lo, c)
    else:
        h1, l1 = h[1:], lo[1:]
    h0, l0 = h[:-1], lo[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = (h0 >= l0) & (l0 > 0) & (h1 >= l1) & (l1 > 0)
        beta = np.log(h0 / l0) ** 2 + np.log(h1 / l1) ** 2
        gamma = np.log(np.maximum(h0, h1) / np.minimum(l0, l1)) ** 2
        alpha = ((np.sqrt(2.0 * beta) - np.sqrt(beta)) / CS_DENOMINATOR
                 - np.sqrt(gamma / CS_DENOMINATOR))
        spread = 2.0 * (np.exp(alpha) - 1.0) / (1.0 + np.exp(alpha))
    if negative is NegativeEstimates.ZERO:
        spread = np.maximum(spread, 0.0)
    return np.asarray(np.where(valid, spread, np.nan), dtype=np.float64)


def abdi_ranaldo_terms(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike
                       ) -> FloatArray:
    """The Abdi-Ranaldo squared-spread term of each pair of consecutive days.

    Parameters
    ----------
    high, low, close : array_like, shape (T,)
        Daily high, low and close of one stock, USD, in date order.

    Returns
    -------
    ndarray, shape (T - 1,)
        Element ``t``: ``4 (c_t - eta_t)(c_t - eta_{t+1})``, whose expectation is the
        squared full spread (a fraction of price, squared; it can be negative); NaN where a
        price is missing or not positive.

    Notes
    -----
    ``c_t = ln close_t`` and ``eta_t = (ln high_t + ln low_t) / 2``, the mid-range
    (Abdi and Ranaldo 2017, equation 9). The spread of a sample is
    ``sqrt(max(mean of the terms, 0))`` (:func:`pooled_spread`); the "two-day corrected"
    version of the paper is :func:`abdi_ranaldo`.
    """
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = (h >= lo) & (lo > 0) & (c > 0)
        log_c = np.log(c)
        eta = 0.5 * (np.log(h) + np.log(lo))
        terms = 4.0 * (log_c[:-1] - eta[:-1]) * (log_c[:-1] - eta[1:])
    return np.asarray(np.where(valid[:-1] & valid[1:], terms, np.nan), dtype=np.float64)


def abdi_ranaldo(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
    """The Abdi-Ranaldo two-day corrected spread of each pair of consecutive days.

    Returns
    -------
    ndarray, shape (T - 1,)
        ``sqrt(max(term, 0))`` of :func:`abdi_ranaldo_terms`: a negative two-day estimate is
        set to zero (the paper's two-day corrected estimator), a fraction of price.
    """
    terms = abdi_ranaldo_terms(high, low, close)
    return np.asarray(np.sqrt(np.maximum(terms, 0.0)), dtype=np.float64)


class Estimator(StrEnum):
    """The spread estimator a calibration uses."""

    CORWIN_SCHULTZ = "corwin-schultz"
    ABDI_RANALDO = "abdi-ranaldo"


def pair_values(estimator: Estimator, high: npt.ArrayLike, low: npt.ArrayLike,
                close: npt.ArrayLike) -> FloatArray:
    """The per-pair values an estimator averages over a sample.

    Corwin-Schultz: the two-day spreads, negatives set to zero. Abdi-Ranaldo: the
    squared-spread terms (:func:`abdi_ranaldo_terms`), whose mean's square root is the
    sample's spread. Shape ``(T - 1,)``.
    """
    if estimator is Estimator.CORWIN_SCHULTZ:
        return corwin_schultz(high, low, close)
    return abdi_ranaldo_terms(high, low, close)


def pooled_spread(estimator: Estimator, mean_value: npt.ArrayLike) -> FloatArray:
    """The spread of a sample from the mean of its :func:`pair_values`.

    Corwin-Schultz: the mean itself. Abdi-Ranaldo: ``sqrt(max(mean, 0))``. A fraction of
    price, any shape.
    """
    value = np.asarray(mean_value, dtype=np.float64)
    if estimator is Estimator.CORWIN_SCHULTZ:
        return value
    return np.asarray(np.sqrt(np.maximum(value, 0.0)), dtype=np.float64)
