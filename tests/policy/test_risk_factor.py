"""The factor model of a large Σ (``risk_factor`` above ``EXACT_RISK_ASSETS`` assets):
its leading eigenpairs by Lanczos (``leading_eigenpairs``) held to LAPACK's full
decomposition, recomputed here from the definition ``Σ v = λ v``."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwise.policy import optimize as opt

K = opt.N_FACTORS


def _sample_cov(seed: int, n: int, days: int) -> np.ndarray:
    """An annualized sample covariance of ``days`` returns of ``n`` assets (a market
    factor, sector factors and noise): rank at most ``days - 1``, as the planner's."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0, 0.01, (days, 1)) @ rng.uniform(0.5, 1.5, (1, n))
    sectors = rng.normal(0.0, 0.005, (days, 8)) @ rng.normal(0.0, 1.0, (8, n))
    noise = rng.normal(0.0, 0.02, (days, n)) * rng.uniform(0.3, 2.0, n)
    return 252.0 * np.cov(market + sectors + noise, rowvar=False)


def _reference(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All eigenvalues (ascending) and F, D of the K leading ones, from the full
    decomposition."""
    lam, vec = scipy.linalg.eigh(cov)
    top, top_vec = lam[-K:], vec[:, -K:]
    factor = np.sqrt(np.clip(top, 0.0, None))[:, None] * top_vec.T
    resid = np.sqrt(np.clip(np.diag(cov) - (factor**2).sum(axis=0), 0.0, None))
    return lam, factor, resid


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(opt.EXACT_RISK_ASSETS + 1, 160),
       days=st.integers(3, 300))
def test_factor_model_equals_the_full_decomposition(seed: int, n: int, days: int) -> None:
    """Eigenvalues to 1e-12 of the largest, and F'F to 1e-12 of max Σ where the K-th
    eigenvalue is apart from the next (elsewhere the subspace itself is not defined:
    see the tie test)."""
    cov = _sample_cov(seed, n, days)
    lam_all, ref_f, ref_d = _reference(cov)
    lam, vec = opt.leading_eigenpairs(cov, K)
    scale = lam_all[-1]
    np.testing.assert_allclose(lam, lam_all[-K:], rtol=0.0, atol=1e-12 * scale)
    # Σ v = λ v and V'V = I, recomputed
    np.testing.assert_allclose(cov @ vec, vec * lam, rtol=0.0, atol=1e-11 * scale)
    np.testing.assert_allclose(vec.T @ vec, np.eye(K), rtol=0.0, atol=1e-12)
    factor, diag = opt.risk_factor(cov, None, n)
    gap = lam_all[-K] - lam_all[-K - 1]
    if gap > 1e-3 * scale:
        np.testing.assert_allclose(factor.T @ factor, ref_f.T @ ref_f, rtol=0.0,
                                   atol=1e-12 * np.abs(cov).max())
        np.testing.assert_allclose(diag, ref_d, rtol=0.0, atol=1e-6 * np.sqrt(scale))
    # every asset's own variance is exact
    np.testing.assert_allclose((factor**2).sum(axis=0) + diag**2, np.diag(cov),
                               rtol=1e-10)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(opt.EXACT_RISK_ASSETS + 1, 120),
       split=st.floats(0.0, 1e-9))
def test_a_tie_at_the_last_factor_is_an_equally_good_approximation(
        seed: int, n: int, split: float) -> None:
    """The K-th and (K+1)-th eigenvalues equal (or within 1e-9): any basis of the tied
    space is a best rank-K approximation, so the factor model is held to the quality of
    LAPACK's, ``||Σ − F'F||_F = sqrt(Σ_{i>K} λ_i²)``, and to exact variances."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = np.sort(rng.uniform(0.01, 1.0, n))[::-1] * 0.1
    lam[:K - 1] += 1.0  # K - 1 clear factors, then a tie at the K-th
    lam[K - 1] = lam[K] + split
    cov = (q * lam) @ q.T
    cov = 0.5 * (cov + cov.T)
    factor, diag = opt.risk_factor(cov, None, n)
    lam_all, ref_f, _ = _reference(cov)
    best = np.sqrt((lam_all[:-K] ** 2).sum())
    ours = np.linalg.norm(cov - factor.T @ factor)
    theirs = np.linalg.norm(cov - ref_f.T @ ref_f)
    np.testing.assert_allclose(ours, best, rtol=1e-9)
    np.testing.assert_allclose(theirs, best, rtol=1e-9)
    np.testing.assert_allclose((factor**2).sum(axis=0) + diag**2, np.diag(cov), rtol=1e-10)


def test_the_same_covariance_gives_the_same_bits() -> None:
    """A day of a backtest and the same day planned alone: the same Σ, the same factor
    model, whatever was computed in between."""
    cov = _sample_cov(1, 300, 252)
    first = opt.risk_factor(cov, None, 300)
    opt.risk_factor(_sample_cov(2, 300, 40), None, 300)
    opt.risk_factor(_sample_cov(3, 200, 252), None, 200)
    again = opt.risk_factor(cov.copy(), None, 300)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_an_eigenvector_orthogonal_to_the_ones_is_found() -> None:
    """Two assets of equal variance and correlation −0.9: the leading eigenvector is
    (1, −1)/√2, orthogonal to the vector of ones (which the start vector is not)."""
    n = 100
    cov = np.eye(n) * 0.04
    cov[:2, :2] = [[1.0, -0.9], [-0.9, 1.0]]
    lam, vec = opt.leading_eigenpairs(cov, K)
    np.testing.assert_allclose(lam[-1], 1.9, rtol=1e-13)
    np.testing.assert_allclose(np.abs(vec[:2, -1]), np.sqrt(0.5), rtol=1e-12)
    np.testing.assert_allclose(lam[-2], 0.1, rtol=1e-13)


def test_fallbacks_to_lapacks_subset_driver() -> None:
    """A Σ of zeros (ARPACK refuses its start) and k ≥ N − 1 (outside ARPACK's range)
    go to ``scipy.linalg.eigh(..., driver="evr")``."""
    n = opt.EXACT_RISK_ASSETS + 5
    factor, diag = opt.risk_factor(np.zeros((n, n)), None, n)
    assert factor.shape == (K, n) and not factor.any() and not diag.any()
    cov = _sample_cov(4, n, 100)
    lam, vec = opt.leading_eigenpairs(cov, n - 1)
    ref_lam, ref_vec = scipy.linalg.eigh(cov, subset_by_index=[1, n - 1], driver="evr")
    np.testing.assert_array_equal(lam, ref_lam)
    np.testing.assert_array_equal(vec, ref_vec)


def test_an_asymmetric_input_is_taken_as_its_symmetric_part() -> None:
    """``(Σ + Σ')/2`` of an input that is not symmetric to the bit; a symmetric one is
    used as given (its symmetric part, to the bit)."""
    n = opt.EXACT_RISK_ASSETS + 20
    cov = _sample_cov(5, n, 252)
    skewed = cov + np.triu(np.full((n, n), 1e-9), 1)
    got = opt.risk_factor(skewed, None, n)
    want = opt.risk_factor(0.5 * (skewed + skewed.T), None, n)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    small = _sample_cov(6, 10, 252)
    np.testing.assert_array_equal(opt.risk_factor(small, None, 10)[0],
                                  np.linalg.cholesky(0.5 * (small + small.T)).T)
