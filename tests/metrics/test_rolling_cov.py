"""The rolling covariance equals the planner's estimator, window by window.

Oracle: :func:`driftwise.metrics.risk.sample_covariance` on each window (the function
:meth:`MarketHistory.cov_on` calls for one day) and, independently, ``pandas.DataFrame.cov``
(pairwise-complete, ``ddof = 1``) times 252.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from driftwise.errors import ConfigError
from driftwise.metrics.risk import sample_covariance
from driftwise.metrics.rolling_cov import BLOCK_DAYS, rolling_sample_covariance

RTOL = 1e-12
"""Agreement asked of every entry, relative to the pair's scale: ``sqrt(var_i var_j)``, or
``sqrt(m_i m_j)`` where larger, ``m_i`` the window's mean square of asset i's returns (a
covariance near zero has no digits of its own to compare, and a variance far below the mean
square, returns nearly equal over the window, is the difference of sums of the mean
square's size and has only their digits)."""


def _reference(returns: np.ndarray, end: int, window: int, mp: int | None) -> np.ndarray:
    return sample_covariance(returns[max(0, end - window + 1): end + 1], window, mp)


def _mean_square(returns: np.ndarray, end: int, window: int) -> np.ndarray:
    """Each asset's mean square return over the window ending at ``end``, annualized."""
    part = returns[max(0, end - window + 1): end + 1]
    seen = np.isfinite(part)
    squares = np.where(seen, part, 0.0) ** 2
    return np.asarray(squares.sum(axis=0) / np.maximum(seen.sum(axis=0), 1) * 252.0)


def _assert_close(got: np.ndarray, want: np.ndarray,
                  mean_square: np.ndarray | None = None) -> None:
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    diag = np.abs(np.diagonal(want, axis1=-2, axis2=-1))
    if mean_square is not None:
        diag = np.maximum(np.nan_to_num(diag), mean_square)
    scale = np.sqrt(diag[..., :, None] * diag[..., None, :])
    ok = ~np.isnan(want)
    err = np.abs(got - want)[ok]
    assert (err <= RTOL * scale[ok] + 1e-300).all(), float((err / (scale[ok] + 1e-300)).max())


@st.composite
def panels(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int | None]:
    """Returns with NaN gaps, whole missing rows and columns, short histories; ends in
    any order (repeats allowed), spanning several blocks."""
    n_rows = draw(st.integers(2, 3 * BLOCK_DAYS + 40))
    n_assets = draw(st.integers(1, 6))
    window = draw(st.integers(2, 80))
    mp = draw(st.one_of(st.none(), st.integers(2, window)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.001, 0.2, n_assets)
    drift = rng.uniform(-0.05, 0.05, n_assets)
    returns = drift + vol * rng.standard_t(3, (n_rows, n_assets))
    gaps = draw(st.floats(0.0, 0.6))
    returns[rng.random((n_rows, n_assets)) < gaps] = np.nan
    if draw(st.booleans()):  # a stock listed late: no history before some row
        returns[: int(rng.integers(0, n_rows)), int(rng.integers(0, n_assets))] = np.nan
    if draw(st.booleans()):  # the first row of a return series is missing
        returns[0] = np.nan
    if draw(st.booleans()):  # a non-finite value is missing too
        returns[int(rng.integers(0, n_rows)), int(rng.integers(0, n_assets))] = np.inf
    ends = draw(st.lists(st.integers(0, n_rows - 1), min_size=1, max_size=60))
    if draw(st.booleans()):
        ends = list(range(n_rows))
    return returns, np.array(ends), window, mp


@settings(max_examples=150, deadline=None)
@given(panels())
@example((np.array([[np.nan, np.nan, np.nan, np.nan],
                    [0.05619539, 0.0077644, -0.04301794, 0.13863931],
                    [-0.10978298, 0.00767391, -0.00723638, 0.07513319]]),
          np.array([0, 1, 2]), 12, 2))  # a two-day variance 1e-6 of a 6e-5 mean square
def test_each_window_equals_the_planner_s_sample_covariance(
        panel: tuple[np.ndarray, np.ndarray, int, int | None]) -> None:
    returns, ends, window, mp = panel
    got = rolling_sample_covariance(returns, ends, window, mp)
    want = np.stack([_reference(returns, int(e), window, mp) for e in ends])
    _assert_close(got, want, np.stack([_mean_square(returns, int(e), window) for e in ends]))


def test_a_year_of_daily_windows_equals_pandas_pairwise_covariance() -> None:
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0004, 0.012, (600, 8))
    returns[rng.random(returns.shape) < 0.1] = np.nan
    returns[:200, 2] = np.nan  # listed on row 200
    ends = np.arange(600)
    got = rolling_sample_covariance(returns, ends, 252)
    for e in (0, 1, 130, 251, 252, 253, 400, 599):
        frame = pd.DataFrame(returns[max(0, e - 251): e + 1])
        want = frame.cov(min_periods=126).to_numpy() * 252
        _assert_close(got[e], want)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 399), min_size=1, max_size=30), st.integers(2, 300))
def test_a_day_s_covariance_does_not_depend_on_the_other_days_asked(
        others: list[int], window: int) -> None:
    """To the bit: a study's tasks ask for different sets of days, in one process or in
    several, and must give the same numbers."""
    rng = np.random.default_rng(3)
    returns = rng.normal(0.0005, 0.02, (400, 5))
    returns[rng.random(returns.shape) < 0.1] = np.nan
    every = rolling_sample_covariance(returns, np.arange(400), window)
    some = rolling_sample_covariance(returns, others, window)
    np.testing.assert_array_equal(some, every[others])


@pytest.mark.parametrize(("ends", "window", "mp", "match"), [
    ([0], 1, None, "window must be at least 2"),
    ([0], 10, 11, "min_periods"),
    ([5], 10, None, r"window ends must lie in \[0, 4\]"),
    ([-1], 10, None, "window ends"),
])
def test_bad_arguments_are_refused(ends: list[int], window: int, mp: int | None,
                                   match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        rolling_sample_covariance(np.zeros((5, 2)), ends, window, mp)


def test_ends_in_order_and_shuffled_give_the_same_bits() -> None:
    """Ends in order (written by the kernel in place) and the same ends shuffled (sorted,
    then put back in the order asked): the same covariance for each end, to the bit."""
    rng = np.random.default_rng(11)
    returns = rng.normal(0.0003, 0.015, (300, 6))
    returns[rng.random(returns.shape) < 0.05] = np.nan
    ends = np.arange(40, 140)
    in_order = rolling_sample_covariance(returns, ends, 60)
    shuffled = rng.permutation(ends)
    np.testing.assert_array_equal(rolling_sample_covariance(returns, shuffled, 60),
                                  in_order[shuffled - 40])
    repeated = np.array([50, 50, 51])  # equal ends are in order too
    np.testing.assert_array_equal(rolling_sample_covariance(returns, repeated, 60),
                                  in_order[repeated - 40])


def _same_sums(returns: np.ndarray, end: int, window: int, mp: int) -> np.ndarray:
    """The kernel's own order of operations in numpy (the shift by the mean of the window
    ending at the block's first row, summed row by row; then each later row added and the
    row leaving subtracted; a missing value adds zero), for equality to the bit."""
    span = max(1, min(BLOCK_DAYS, window // 4))
    first = end // span * span
    lo = max(first - window + 1, 0)
    base = returns[lo: first + 1]
    ok = np.isfinite(base)
    shift = np.cumsum(np.where(ok, base, 0.0), axis=0)[-1] / np.maximum(ok.sum(axis=0), 1)
    n = returns.shape[1]
    cnt, sx, sxy = np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n))

    def add(r: int, sign: float) -> None:
        m = np.isfinite(returns[r]).astype(float)
        x = np.where(m > 0, returns[r] - shift, 0.0)
        xi = x * sign
        cnt[...] += np.outer(m, m) * sign
        sx[...] += np.outer(xi, m)
        sxy[...] += np.outer(xi, x)

    for r in range(lo, first + 1):
        add(r, 1.0)
    for at in range(first + 1, end + 1):
        add(at, 1.0)
        if at - window >= 0:
            add(at - window, -1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (sxy - sx * sx.T / cnt) / (cnt - 1.0) * 252.0
    return np.where(cnt >= mp, cov, np.nan)


@pytest.mark.parametrize("missing", [0.0, 0.03])
def test_the_window_sums_equal_a_plain_numpy_sum_to_the_bit(missing: float) -> None:
    """Rows with every asset priced (the kernel's untested path) and rows with gaps (its
    tested path) give the sums of the same additions in the same order."""
    rng = np.random.default_rng(5)
    returns = rng.normal(0.0004, 0.012, (200, 7))
    returns[rng.random(returns.shape) < missing] = np.nan
    window = 40
    ends = np.arange(150, 200)
    got = rolling_sample_covariance(returns, ends, window)
    for j, e in enumerate(ends.tolist()):
        np.testing.assert_array_equal(got[j], _same_sums(returns, e, window, 20))
