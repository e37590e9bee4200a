"""Effective bid-ask spreads estimated from daily high, low and close (and open).

Two estimators of the full effective spread (a fraction of price) from consecutive daily
bars, for stocks whose quotes are not available:

* **Corwin and Schultz (2012)**, "A Simple Way to Estimate Bid-Ask Spreads from Daily High
  and Low Prices", *Journal of Finance* 67(2): the high/low ratio of a day holds one day of
  variance and one spread, that of two days two days of variance and one spread, so the
  two solve for the spread. Their equations hold for the *expectations* ``beta`` and
  ``gamma``; a sample's spread is computed from the sample means of ``beta`` and ``gamma``
  (:func:`corwin_schultz_moments`, :func:`corwin_schultz_spread`), not by averaging the
  two-day estimates. The two-day estimate (:func:`corwin_schultz`) carries a bias that
  grows with volatility: ``sqrt`` of one pair's ``beta`` is not the ``sqrt`` of its
  expectation, and setting negative estimates to zero before averaging adds a positive
  bias of the order of the daily volatility (``tests/costs/test_spread_simulation.py``:
  a constant 10 bps spread reads 49 bps at 1% daily volatility and 114 bps at 2.5%).
* **Abdi and Ranaldo (2017)**, "A Simple Estimation of Bid-Ask Spreads from Daily Close,
  High, and Low Prices", *Review of Financial Studies* 30(12): the close against the
  mid-range (the mean of the log high and log low) of the same day and of the next day.
  Its terms average to the squared spread; the square root is taken of the sample mean.

Overnight returns: Corwin and Schultz shift day ``t+1``'s range only when it does not hold
day ``t``'s close. A gap inside the range still widens the two-day range, so their
``gamma`` grows with overnight variance and the spread reads low, by an amount
proportional to volatility. With the day's open, :func:`overnight_adjusted` removes the
whole overnight return (day ``t+1``'s bar divided by ``open_{t+1} / close_t``), which
leaves only the bid-ask bounce of the open and the close in the shift.

:func:`pair_moments` gives each pair's values and :func:`pooled_spread` the spread of a
sample from their means (the "moment form").
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
    results; biased upwards in proportion to volatility where the spread is small against
    it). ``KEEP``: kept negative.
    """

    ZERO = "zero"
    KEEP = "keep"


def overnight_adjusted(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike,
                       opening: npt.ArrayLike | None = None
                       ) -> tuple[FloatArray, FloatArray]:
    """Day ``t+1``'s high and low with the overnight return taken out.

    Parameters
    ----------
    high, low, close : array_like, shape (T,)
        Daily high, low and close of one stock, USD, in date order.
    opening : array_like, shape (T,), optional
        Daily open, USD. Where day ``t+1``'s open is known (finite and positive), its high
        and low are divided by ``open_{t+1} / close_t``: the whole overnight return is
        removed. Elsewhere (and without ``opening``) Corwin and Schultz's rule.

    Returns
    -------
    high_next, low_next : ndarray, shape (T - 1,)
        The high and low of days ``1 .. T-1`` adjusted against the close of the day before.

    Notes
    -----
    Corwin and Schultz (2012), section III.A: when day ``t+1``'s low is above day ``t``'s
    close, the price rose overnight; both the high and the low of ``t+1`` are lowered by
    ``low_{t+1} - close_t``. When day ``t+1``'s high is below day ``t``'s close, both are
    raised by ``close_t - high_{t+1}``. Otherwise they are left as they are, although an
    overnight move inside the range still widens the two-day range (module docstring).
    """
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    prev_close, h1, l1 = c[:-1], h[1:], lo[1:]
    shift = np.where(l1 > prev_close, l1 - prev_close,
                     np.where(h1 < prev_close, h1 - prev_close, 0.0))
    h_cs, l_cs = h1 - shift, l1 - shift
    if opening is None:
        return h_cs, l_cs
    o1 = np.asarray(opening, dtype=np.float64)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        known = np.isfinite(o1) & (o1 > 0) & (prev_close > 0)
        ratio = np.where(known, o1 / prev_close, 1.0)
    return (np.asarray(np.where(known, h1 / ratio, h_cs), dtype=np.float64),
            np.asarray(np.where(known, l1 / ratio, l_cs), dtype=np.float64))


def corwin_schultz_moments(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike,
                           opening: npt.ArrayLike | None = None, *,
                           adjust_overnight: bool = True) -> tuple[FloatArray, FloatArray]:
    """Corwin and Schultz's ``beta`` and ``gamma`` of each pair of consecutive days.

    Parameters
    ----------
    high, low, close : array_like, shape (T,)
        Daily high, low and close of one stock, USD, in date order (``high >= low > 0``).
    opening : array_like, shape (T,), optional
        Daily open: the overnight return is removed with it (:func:`overnight_adjusted`).
    adjust_overnight : bool
        Shift day ``t+1``'s range for the overnight move (the paper's default).

    Returns
    -------
    beta, gamma : ndarray, shape (T - 1,)
        ``beta = ln(H_t/L_t)^2 + ln(H_{t+1}/L_{t+1})^2`` and
        ``gamma = ln(max(H_t, H_{t+1}) / min(L_t, L_{t+1}))^2`` (squared log ranges); NaN
        where a price is missing or not positive.
    """
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    if adjust_overnight:
        h1, l1 = overnight_adjusted(h, lo, c, opening)
    else:
        h1, l1 = h[1:], lo[1:]
    h0, l0 = h[:-1], lo[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = (h0 >= l0) & (l0 > 0) & (h1 >= l1) & (l1 > 0)
        beta = np.log(h0 / l0) ** 2 + np.log(h1 / l1) ** 2
        gamma = np.log(np.maximum(h0, h1) / np.minimum(l0, l1)) ** 2
    return (np.asarray(np.where(valid, beta, np.nan), dtype=np.float64),
            np.asarray(np.where(valid, gamma, np.nan), dtype=np.float64))


def corwin_schultz_spread(beta: npt.ArrayLike, gamma: npt.ArrayLike) -> FloatArray:
    """The Corwin-Schultz spread of ``beta`` and ``gamma`` (equations 14 and 18).

    ``alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2))``
    and ``S = 2 (e^alpha - 1) / (1 + e^alpha)``, a fraction of price, negative when
    ``gamma`` exceeds what ``beta`` implies (not truncated here). Given sample means of
    :func:`corwin_schultz_moments`, the sample's spread; given one pair's, its two-day
    estimate. Any shape (the two broadcast).
    """
    b, g = np.asarray(beta, dtype=np.float64), np.asarray(gamma, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        alpha = ((np.sqrt(2.0 * b) - np.sqrt(b)) / CS_DENOMINATOR
                 - np.sqrt(g / CS_DENOMINATOR))
    return np.asarray(2.0 * (np.exp(alpha) - 1.0) / (1.0 + np.exp(alpha)), dtype=np.float64)


def corwin_schultz(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, *,
                   opening: npt.ArrayLike | None = None,
                   negative: NegativeEstimates = NegativeEstimates.ZERO,
                   adjust_overnight: bool = True) -> FloatArray:
    """The Corwin-Schultz two-day spread of each pair of consecutive days.

    Parameters
    ----------
    high, low, close : array_like, shape (T,)
        Daily high, low and close of one stock, USD, in date order (``high >= low > 0``).
    opening : array_like, shape (T,), optional
        Daily open (:func:`overnight_adjusted`).
    negative : NegativeEstimates
        What a negative estimate becomes (zero, the default, or kept).
    adjust_overnight : bool
        Shift day ``t+1``'s range for the overnight move (the paper's default).

    Returns
    -------
    ndarray, shape (T - 1,)
        Element ``t``: the full spread estimated from days ``t`` and ``t+1`` alone, a
        fraction of price (0.001 = 10 bps); NaN where a price is missing or not positive.
        The average of these is **not** a sample's spread (module docstring): use
        :func:`pair_moments` and :func:`pooled_spread`.
    """
    beta, gamma = corwin_schultz_moments(high, low, close, opening,
                                         adjust_overnight=adjust_overnight)
    spread = corwin_schultz_spread(beta, gamma)
    if negative is NegativeEstimates.ZERO:
        spread = np.where(np.isnan(spread), np.nan, np.maximum(spread, 0.0))
    return np.asarray(spread, dtype=np.float64)


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
    version of the paper is :func:`abdi_ranaldo`. An overnight return moves ``eta_{t+1}``
    independently of ``c_t - eta_t``, so it adds noise to the terms but not bias.
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


MOMENTS: dict[Estimator, tuple[str, ...]] = {
    Estimator.CORWIN_SCHULTZ: ("beta", "gamma"),
    Estimator.ABDI_RANALDO: ("term",),
}
"""The per-pair values each estimator averages over a sample, in :func:`pair_moments`'s
column order."""


def pair_moments(estimator: Estimator, high: npt.ArrayLike, low: npt.ArrayLike,
                 close: npt.ArrayLike, opening: npt.ArrayLike | None = None) -> FloatArray:
    """The per-pair values an estimator averages over a sample.

    Corwin-Schultz: ``beta`` and ``gamma`` (:func:`corwin_schultz_moments`, the overnight
    return removed with ``opening`` when given). Abdi-Ranaldo: the squared-spread term
    (:func:`abdi_ranaldo_terms`). Shape ``(T - 1, k)``, the columns of :data:`MOMENTS`.
    """
    if estimator is Estimator.CORWIN_SCHULTZ:
        return np.column_stack(corwin_schultz_moments(high, low, close, opening))
    return abdi_ranaldo_terms(high, low, close)[:, None]


def pooled_spread(estimator: Estimator, mean_moments: npt.ArrayLike) -> FloatArray:
    """The spread of a sample from the means of its :func:`pair_moments` (last axis).

    Corwin-Schultz: :func:`corwin_schultz_spread` of the mean ``beta`` and ``gamma``
    (negative when the sample's ``gamma`` exceeds what its ``beta`` implies: not
    truncated, so that a bias shows). Abdi-Ranaldo: ``sqrt(max(mean term, 0))``. A fraction
    of price, shape ``mean_moments.shape[:-1]``.
    """
    value = np.asarray(mean_moments, dtype=np.float64)
    if estimator is Estimator.CORWIN_SCHULTZ:
        return corwin_schultz_spread(value[..., 0], value[..., 1])
    return np.asarray(np.sqrt(np.maximum(value[..., 0], 0.0)), dtype=np.float64)
