"""Oracle tests of the spread estimators on hand-worked bars, recomputed here from the
papers' formulas (Corwin and Schultz 2012, equations 14 and 18 and section III.A;
Abdi and Ranaldo 2017, equation 9), and a simulated market whose spread is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.costs.spread_estimators import (
    Estimator,
    NegativeEstimates,
    abdi_ranaldo,
    abdi_ranaldo_terms,
    corwin_schultz,
    corwin_schultz_moments,
    corwin_schultz_spread,
    overnight_adjusted,
    pair_moments,
    pooled_spread,
)

K = 3 - 2 * math.sqrt(2)


def cs_by_hand(h0: float, l0: float, h1: float, l1: float) -> float:
    """Corwin-Schultz from two (already adjusted) bars, straight from the paper."""
    beta = math.log(h0 / l0) ** 2 + math.log(h1 / l1) ** 2
    gamma = math.log(max(h0, h1) / min(l0, l1)) ** 2
    alpha = (math.sqrt(2 * beta) - math.sqrt(beta)) / K - math.sqrt(gamma / K)
    return 2 * (math.exp(alpha) - 1) / (1 + math.exp(alpha))


def test_corwin_schultz_without_an_overnight_move() -> None:
    high, low, close = [101.0, 100.8], [99.0, 99.2], [100.5, 100.0]
    # day 2's range holds day 1's close: no adjustment
    expected = cs_by_hand(101, 99, 100.8, 99.2)
    assert expected > 0
    assert corwin_schultz(high, low, close)[0] == pytest.approx(expected, rel=1e-12)


def test_corwin_schultz_overnight_rise_and_fall_shift_the_next_day() -> None:
    # a rise: day 2's low (102) above day 1's close (100): day 2 lowered by 2
    up = corwin_schultz([101.0, 104.0], [99.0, 102.0], [100.0, 103.0])
    assert up[0] == pytest.approx(max(cs_by_hand(101, 99, 102, 100), 0.0), rel=1e-12)
    # a fall: day 2's high (98) below day 1's close (100): day 2 raised by 2
    down = corwin_schultz([101.0, 98.0], [99.0, 96.0], [100.0, 97.0])
    assert down[0] == pytest.approx(max(cs_by_hand(101, 99, 100, 98), 0.0), rel=1e-12)
    h1, l1 = overnight_adjusted([101.0, 104.0, 98.0], [99.0, 102.0, 96.0],
                                [100.0, 103.0, 97.0])
    np.testing.assert_allclose(h1, [102.0, 103.0])  # day 3: high 98 < close 103: +5
    np.testing.assert_allclose(l1, [100.0, 101.0])
    raw = corwin_schultz([101.0, 104.0], [99.0, 102.0], [100.0, 103.0], adjust_overnight=False,
                         negative=NegativeEstimates.KEEP)
    assert raw[0] == pytest.approx(cs_by_hand(101, 99, 104, 102), rel=1e-12)


def test_a_negative_corwin_schultz_estimate_is_zero_or_kept() -> None:
    # narrow ranges far apart: the two-day range exceeds what two days of variance give
    high, low, close = [101.0, 103.0], [100.0, 102.0], [101.0, 102.5]
    expected = cs_by_hand(101, 100, 102, 101)  # adjusted: low 102 > close 101 -> -1
    assert expected < 0
    assert corwin_schultz(high, low, close)[0] == 0.0
    kept = corwin_schultz(high, low, close, negative=NegativeEstimates.KEEP)
    assert kept[0] == pytest.approx(expected, rel=1e-12)


def test_abdi_ranaldo_by_hand() -> None:
    high, low, close = [101.0, 102.0, 100.0], [99.0, 100.0, 98.0], [101.0, 100.2, 99.9]
    eta = [(math.log(h) + math.log(lo)) / 2 for h, lo in zip(high, low, strict=True)]
    c = [math.log(x) for x in close]
    terms = [4 * (c[t] - eta[t]) * (c[t] - eta[t + 1]) for t in range(2)]
    np.testing.assert_allclose(abdi_ranaldo_terms(high, low, close), terms, rtol=1e-12)
    assert terms[1] < 0 < terms[0]  # a negative two-day term: the corrected spread is 0
    np.testing.assert_allclose(abdi_ranaldo(high, low, close),
                               [math.sqrt(terms[0]), 0.0], rtol=1e-12)
    assert pooled_spread(Estimator.ABDI_RANALDO, [np.mean(terms)]) == pytest.approx(
        math.sqrt(max(np.mean(terms), 0.0)))
    assert pooled_spread(Estimator.ABDI_RANALDO, [-1.0]) == 0.0


def test_a_bad_bar_gives_nan_not_a_number() -> None:
    cs = corwin_schultz([101.0, 100.0, 102.0], [99.0, 0.0, 100.0], [100.0, 100.0, 101.0])
    assert np.isnan(cs).all()  # the middle day has no positive low: both pairs unusable
    ar = abdi_ranaldo_terms([101.0, 100.0, 102.0], [99.0, 101.0, 100.0], [100.0, 100.0, 101.0])
    assert np.isnan(ar).all()  # high below low


@given(st.floats(0.001, 0.05), st.floats(50.0, 500.0))
@settings(max_examples=50, deadline=None)
def test_a_constant_bar_with_no_variance_has_no_negative_spread(width: float,
                                                                price: float) -> None:
    # the same bar every day (no price move): both estimators give a spread >= 0
    high, low = price * (1 + width), price * (1 - width)
    bars = np.full(5, high), np.full(5, low), np.full(5, price)
    assert (corwin_schultz(*bars) >= 0).all()
    assert (abdi_ranaldo(*bars) >= 0).all()
    moments = pair_moments(Estimator.CORWIN_SCHULTZ, *bars)
    assert pooled_spread(Estimator.CORWIN_SCHULTZ, moments.mean(0)) >= 0


def simulated_bars(spread: float, sigma_daily: float, n_days: int, seed: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trades at the bid or the ask of a random-walk mid (390 a day): daily H, L, C."""
    rng = np.random.default_rng(seed)
    steps = 390
    mid = np.cumsum(rng.normal(0, sigma_daily / math.sqrt(steps), n_days * steps))
    side = rng.choice([-1.0, 1.0], n_days * steps)
    price = 100 * np.exp(mid + side * spread / 2).reshape(n_days, steps)
    return price.max(1), price.min(1), price[:, -1]


@pytest.mark.parametrize("spread", [0.002, 0.01])
def test_both_estimators_find_a_known_spread(spread: float) -> None:
    high, low, close = simulated_bars(spread, 0.01, 1500, seed=7)
    cs = float(pooled_spread(Estimator.CORWIN_SCHULTZ, np.nanmean(
        pair_moments(Estimator.CORWIN_SCHULTZ, high, low, close), axis=0)))
    ar = float(pooled_spread(Estimator.ABDI_RANALDO, np.nanmean(
        pair_moments(Estimator.ABDI_RANALDO, high, low, close), axis=0)))
    # range estimators are biased where variance dominates the spread: loose bounds
    assert 0.5 * spread < ar < 1.5 * spread, ar
    assert 0.3 * spread < cs < 2.5 * spread, cs
    wide = simulated_bars(3 * spread, 0.01, 1500, seed=7)
    assert float(np.nanmean(pair_moments(Estimator.ABDI_RANALDO, *wide))) > 4 * ar ** 2


def test_the_moment_form_by_hand() -> None:
    """Three days, two pairs: beta and gamma of each pair from the paper's definitions,
    their means, then equations 14 and 18 once, on the means (not the mean of the two-day
    spreads)."""
    high, low, close = [101.0, 101.5, 100.9], [99.0, 99.6, 98.8], [100.0, 100.5, 99.5]
    # neither day's range misses the previous close: no overnight shift
    betas = [math.log(101 / 99) ** 2 + math.log(101.5 / 99.6) ** 2,
             math.log(101.5 / 99.6) ** 2 + math.log(100.9 / 98.8) ** 2]
    gammas = [math.log(101.5 / 99) ** 2, math.log(101.5 / 98.8) ** 2]
    beta, gamma = corwin_schultz_moments(high, low, close)
    np.testing.assert_allclose(beta, betas, rtol=1e-12)
    np.testing.assert_allclose(gamma, gammas, rtol=1e-12)
    b, g = np.mean(betas), np.mean(gammas)
    alpha = (math.sqrt(2 * b) - math.sqrt(b)) / K - math.sqrt(g / K)
    expected = 2 * (math.exp(alpha) - 1) / (1 + math.exp(alpha))
    moments = pair_moments(Estimator.CORWIN_SCHULTZ, high, low, close)
    assert moments.shape == (2, 2)
    assert pooled_spread(Estimator.CORWIN_SCHULTZ, moments.mean(0)) == pytest.approx(
        expected, rel=1e-12)
    assert corwin_schultz_spread(b, g) == pytest.approx(expected, rel=1e-12)
    per_pair = corwin_schultz(high, low, close, negative=NegativeEstimates.KEEP)
    np.testing.assert_allclose(per_pair, [cs_by_hand(101, 99, 101.5, 99.6),
                                          cs_by_hand(101.5, 99.6, 100.9, 98.8)], rtol=1e-12)
    assert expected != pytest.approx(float(np.mean(per_pair)), rel=1e-3)
    # a negative moment-form spread is kept (a bias shows rather than hides)
    assert corwin_schultz_spread(0.0001, 0.0004) < 0


def test_the_open_removes_the_whole_overnight_return() -> None:
    """With the open, day t+1's high and low are divided by open_{t+1} / close_t, whether
    or not its range holds the close; a missing open falls back to the paper's rule."""
    high, low, close = [101.0, 102.0, 104.0], [99.0, 99.5, 101.0], [100.0, 101.0, 103.0]
    opening = [100.0, 100.8, float("nan")]
    h1, l1 = overnight_adjusted(high, low, close, opening)
    # day 2: open 100.8 over close 100: ratio 1.008, though 99.5 <= 100 <= 102 (the paper
    # would not shift); day 3: no open, low 101 above the close 101? no: 101 == 101, the
    # range holds it, no shift
    np.testing.assert_allclose(h1, [102.0 / 1.008, 104.0], rtol=1e-12)
    np.testing.assert_allclose(l1, [99.5 / 1.008, 101.0], rtol=1e-12)
    beta, gamma = corwin_schultz_moments(high, low, close, opening)
    assert beta[0] == pytest.approx(math.log(101 / 99) ** 2 + math.log(102 / 99.5) ** 2)
    assert gamma[0] == pytest.approx(math.log(max(101, 102 / 1.008) / min(99, 99.5 / 1.008))
                                     ** 2, rel=1e-12)
    ar = pair_moments(Estimator.ABDI_RANALDO, high, low, close, opening)
    np.testing.assert_allclose(ar[:, 0], abdi_ranaldo_terms(high, low, close), rtol=1e-12)


@given(st.floats(0.01, 100.0), st.integers(0, 1000))
@settings(max_examples=40, deadline=None)
def test_the_moment_form_does_not_depend_on_the_price_level(scale: float, seed: int) -> None:
    """Spreads are fractions of price: scaling every price by one factor, or moving each
    day's whole bar by an overnight factor that the open records, changes nothing."""
    high, low, close = simulated_bars(0.004, 0.01, 30, seed)
    opening = np.concatenate([[close[0]], close[:-1]])  # each day opens at the last close
    base = pooled_spread(Estimator.CORWIN_SCHULTZ, pair_moments(
        Estimator.CORWIN_SCHULTZ, high, low, close, opening).mean(0))
    scaled = pooled_spread(Estimator.CORWIN_SCHULTZ, pair_moments(
        Estimator.CORWIN_SCHULTZ, scale * high, scale * low, scale * close,
        scale * opening).mean(0))
    assert scaled == pytest.approx(base, rel=1e-9, abs=1e-12)
    factor = np.cumprod(np.random.default_rng(seed).lognormal(0.0, 0.01, 30))
    moved = pooled_spread(Estimator.CORWIN_SCHULTZ, pair_moments(
        Estimator.CORWIN_SCHULTZ, high * factor, low * factor, close * factor,
        opening * factor).mean(0))
    assert moved == pytest.approx(base, rel=1e-9, abs=1e-12)
