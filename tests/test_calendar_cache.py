"""The NYSE calendar: sessions kept on disk equal the calendar's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from driftwise import calendar


def test_the_sessions_kept_on_disk_are_the_calendar_s(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sessions.npy"
    monkeypatch.setattr(calendar, "_session_cache", lambda first, last: path)
    calendar._session_array.cache_clear()
    try:
        built = calendar._session_array(2000, 2009)
        assert path.exists()
        calendar._session_array.cache_clear()
        again = calendar._session_array(2000, 2009)
        assert np.array_equal(built, again) and not again.flags.writeable
        fresh = calendar._xnys(2000, 2009).sessions.tz_localize(None).values
        assert np.array_equal(again, fresh)
        path.write_bytes(b"not an array")  # a damaged file is rebuilt, not trusted
        calendar._session_array.cache_clear()
        assert np.array_equal(calendar._session_array(2000, 2009), fresh)
    finally:
        calendar._session_array.cache_clear()
