"""The after-tax page and a plan with lots render in headless Chromium (no network, no
JavaScript error, every chart drawn); skips as ``test_browser`` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driftwise.app.aftertax import after_tax_compare
from driftwise.config import Config
from driftwise.data.sample import load_sample
from driftwise.report import report_pages, write_report

pytest.importorskip("selenium.webdriver",
                    reason="selenium is not installed (pip install -e '.[test]')")

from .test_browser import _errors, _load, browser  # noqa: F401  (the shared fixture)


def test_after_tax_page_renders_in_chromium(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    config = Config().with_overrides({"policy.trigger": "threshold",
                                      "policy.threshold": 0.05,
                                      "tax.harvest_in_trades": True})
    result = after_tax_compare(load_sample(), config, start="2022-01-03", end="2022-12-28",
                               samples=100)
    path = write_report(tmp_path / "aftertax.html", after_tax=result)
    expected = {f"fig-{c.key}" for page in report_pages(after_tax=result) for c in page.charts}
    state = _load(browser, path)
    assert _errors(browser) == []
    assert {s["id"] for s in state} == expected == {"fig-aftertax-nav"}
    for chart in state:
        assert chart["svgs"] >= 1 and all(n > 0 for n in chart["drawn"]), chart
