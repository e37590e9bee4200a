"""The sample's market files, parsed once and kept on disk, equal the files parsed afresh."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from driftwise.data import sample
from driftwise.flags import Flag, Notice

Kept = tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, Notice]


def _parsed() -> Kept:
    """The files parsed afresh and the VIX with its proxy fitted on them."""
    prices, index, real = sample._read_sources(
        [sample._package_file(*s) for s in sample.SOURCES])
    vix, note = sample.vix_with_proxy(real, index.iloc[:, 0], pd.DatetimeIndex(prices.index))
    return prices, index, real, vix, note


def _assert_same(kept: Kept, fresh: Kept) -> None:
    for mine, theirs in zip(kept[:2], fresh[:2], strict=True):
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True, check_freq=True)
        assert mine.index.dtype == theirs.index.dtype and mine.index.name == theirs.index.name
        assert mine.columns.dtype == theirs.columns.dtype
    for mine, theirs in zip(kept[2:4], fresh[2:4], strict=True):  # the real VIX, the VIX
        pd.testing.assert_series_equal(mine, theirs, check_exact=True, check_freq=True)
        assert mine.index.dtype == theirs.index.dtype and mine.index.name == theirs.index.name
    assert kept[4] == fresh[4]  # the proxy's notice, its fit and ranges
    assert kept[4].flag is Flag.VIX_PROXY and "proxy VIX = " in kept[4].detail


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pycache" / "sample-market.npz"
    monkeypatch.setattr(sample, "_sample_cache", lambda paths: path)
    return path


def test_the_kept_files_equal_the_files_parsed(cache: Path) -> None:
    fresh = _parsed()
    first = sample._sample_files()  # parses, then writes the cache
    assert cache.exists()
    _assert_same(first, fresh)
    _assert_same(sample._sample_files(), fresh)  # read from the cache


def test_the_market_from_the_cache_is_the_market_from_the_files(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample.load_sample_market.cache_clear()
    try:
        sample._sample_files()
        kept = sample.load_sample_market()
        sample.load_sample_market.cache_clear()
        monkeypatch.setattr(sample, "_sample_files", _parsed)
        fresh = sample.load_sample_market()
        pd.testing.assert_frame_equal(kept.prices, fresh.prices, check_exact=True)
        pd.testing.assert_series_equal(kept.vix, fresh.vix, check_exact=True)
        assert kept.notices == fresh.notices
    finally:
        sample.load_sample_market.cache_clear()


@pytest.mark.parametrize("damage", [b"not an archive", b""])
def test_a_damaged_cache_is_parsed_around_and_rewritten(cache: Path, damage: bytes) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_bytes(damage)
    _assert_same(sample._sample_files(), _parsed())
    _assert_same(sample._sample_files(), _parsed())


def test_the_cache_name_follows_the_files(tmp_path: Path) -> None:
    file = tmp_path / "prices.csv.gz"
    file.write_bytes(b"one")
    before = sample._sample_cache([file])
    file.write_bytes(b"other content")
    assert sample._sample_cache([file]) != before
    assert before.parent.name == "__pycache__" and before.suffix == ".npz"
