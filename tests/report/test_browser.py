"""Render the report in headless Chromium: no JavaScript error, every chart drew SVG.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (installed by ``.ci/run``)
and ``selenium``; skips with the reason when either is missing. The network is switched
off in the browser, so a report that needed it would fail. A full-page screenshot is
saved to ``test-artifacts/report.png``.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from driftwise.app.monitor import MonitorReport
from driftwise.app.plan import Plan
from driftwise.report import report_pages, write_report
from driftwise.report.validation_page import ValidationPageData

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000", "--hide-scrollbars")
WIDTH_PX = 1400

ERROR_HOOK = """
window.__driftwiseErrors = [];
window.addEventListener('error', function (e) {
  var what = e.message || ('failed to load ' + (e.target && (e.target.src || e.target.href)));
  window.__driftwiseErrors.push(String(what));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__driftwiseErrors.push('unhandled rejection: ' + String(e.reason));
});
"""

# Per chart: its SVG layers, trace types, and how many non-empty marks each trace drew
# (bars and scatter draw <path d>).
CHART_STATE = """
function marks(group) {
  return Array.from(group.querySelectorAll('path, image')).filter(function (el) {
    var v = el.getAttribute('d') || el.getAttribute('href') || el.getAttribute('xlink:href') || '';
    return v.length > 0 && v !== 'M0,0Z';
  }).length;
}
return Array.from(document.querySelectorAll('.plotly-graph-div')).map(function (div) {
  var groups = div.querySelectorAll('.cartesianlayer .trace, .cartesianlayer .hm');
  return {id: div.id, ready: Boolean(div._fullLayout),
          svgs: div.querySelectorAll('svg.main-svg').length,
          types: (div.data || []).map(function (t) { return t.type || 'scatter'; }),
          drawn: Array.from(groups).map(marks)};
});
"""


def _binaries() -> tuple[str, str] | None:
    browser = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    found = _binaries()
    if found is None:
        pytest.skip("headless Chromium not available: install the Debian packages chromium "
                    "and chromium-driver (.ci/run does)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(found[1]), options=options)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ERROR_HOOK})
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        yield driver
    finally:
        driver.quit()


def _load(driver: Any, path: Path) -> list[dict[str, Any]]:
    """Open the report and wait until every chart has drawn (or 30 s have passed)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(path.resolve().as_uri())

    def drawn(d: Any) -> bool:
        state = d.execute_script(CHART_STATE)
        return bool(state) and all(s["ready"] and s["svgs"] and len(s["drawn"]) == len(s["types"])
                                   and all(s["drawn"]) for s in state)

    with contextlib.suppress(TimeoutException):  # the assertions say which chart failed
        WebDriverWait(driver, 30, poll_frequency=0.25).until(drawn)
    state: list[dict[str, Any]] = driver.execute_script(CHART_STATE)
    return state


def _errors(driver: Any) -> list[str]:
    errors = [str(e) for e in driver.execute_script("return window.__driftwiseErrors || []")]
    errors += [entry["message"] for entry in driver.get_log("browser")
               if entry.get("level") == "SEVERE"]
    return errors


def _screenshot(driver: Any, target: Path) -> None:
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": WIDTH_PX, "height": height, "scale": 1}})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(base64.b64decode(shot["data"]))


def test_report_renders_in_chromium(browser: Any, tmp_path: Path, sample_plan: Plan,
                                    sample_monitor: MonitorReport,
                                    backtest_result: SimpleNamespace,
                                    validation_data: ValidationPageData) -> None:
    from selenium.webdriver.common.by import By

    parts = {"plan": sample_plan, "backtest": backtest_result, "validation": validation_data}
    path = write_report(tmp_path / "report.html", monitor=sample_monitor, **parts)
    expected = {f"fig-{c.key}" for page in report_pages(monitor=sample_monitor, **parts)
                for c in page.charts}

    state = _load(browser, path)
    _screenshot(browser, ARTIFACTS / "report.png")

    assert _errors(browser) == []
    assert {s["id"] for s in state} == expected
    for chart in state:
        assert chart["svgs"] >= 1, f"{chart['id']} drew no svg.main-svg"
        assert not {"scattergl", "heatmapgl"} & set(chart["types"]), chart
        assert len(chart["drawn"]) == len(chart["types"]), f"{chart['id']}: a trace is missing"
        assert all(n > 0 for n in chart["drawn"]), f"{chart['id']}: empty trace {chart}"
    headline = browser.find_element(By.CSS_SELECTOR, "#plan .headline").text
    assert headline.startswith(f"Decision: {sample_plan.decision.value.upper()}")
    for key in ("backtest-heat-cost", "backtest-heat-vix"):  # static SVG heat tables
        cells = browser.find_elements(
            By.CSS_SELECTOR, f'figure[data-figure="{key}"] svg.heat-table g.cell')
        assert len(cells) >= 4, f"{key}: {len(cells)} cells"
        for cell in cells:
            rect = cell.find_element(By.TAG_NAME, "rect")
            assert rect.is_displayed() and rect.size["width"] > 10 and rect.size["height"] > 10
            assert cell.find_element(By.TAG_NAME, "text").text.strip(), f"{key}: a blank cell"
    links = [a.get_attribute("hash") for a in browser.find_elements(By.CSS_SELECTOR, "nav a")]
    assert links == ["#plan", "#backtest", "#validation"]
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_plan_only_report_renders(browser: Any, tmp_path: Path, sample_plan: Plan) -> None:
    path = write_report(tmp_path / "plan.html", plan=sample_plan)
    state = _load(browser, path)
    assert _errors(browser) == []
    assert state and all(s["svgs"] and all(s["drawn"]) for s in state)
    assert all(s["id"].startswith("fig-plan-") for s in state)


def test_accounts_dashboard_renders_and_sorts(browser: Any, tmp_path: Path,
                                              book_url: str) -> None:
    """The dashboard of the synthetic book: no error, every chart drawn, the accounts
    needing action first (as the record says), the record's numbers shown, and a click on
    a heading sorts the table by its raw values."""
    from selenium.webdriver.common.by import By

    from driftwise.record import open_engine
    from driftwise.record.book_view import read_book
    from driftwise.report.dashboard import write_dashboard
    from driftwise.report.html import fmt_pct, fmt_usd

    from .conftest import BOOK_NEEDS_ACTION, BOOK_PLANS

    engine = open_engine(book_url)
    with engine.connect() as connection:
        view = read_book(connection)
    engine.dispose()
    path = write_dashboard(tmp_path / "book.html", view)
    state = _load(browser, path)
    _screenshot(browser, ARTIFACTS / "dashboard.png")

    assert _errors(browser) == []
    assert {s["id"] for s in state} == {"fig-dashboard-drift", "fig-dashboard-costs",
                                        "fig-dashboard-orders"}
    for chart in state:
        assert chart["svgs"] >= 1 and chart["drawn"] and all(n > 0 for n in chart["drawn"]), chart
    table = browser.find_element(By.CSS_SELECTOR, '[data-table="dashboard-accounts"] table')
    heads = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]

    def column(name: str) -> list[str]:
        i = heads.index(name)
        return [tr.find_elements(By.TAG_NAME, "td")[i].text
                for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]

    assert column("account") == [*BOOK_NEEDS_ACTION, "beta"]
    assert column("needs action") == ["yes"] * len(BOOK_NEEDS_ACTION) + ["no"]
    latest = {name: history[-1][2] for name, history in BOOK_PLANS.items()}
    assert column("drift") == [fmt_pct(latest[n]["drift"]) for n in column("account")]
    assert column("cost") == [fmt_usd(latest[n]["cost_usd"]) for n in column("account")]
    tiles = browser.find_elements(By.CSS_SELECTOR, "#book .tile .value")
    assert tiles[1].text == str(len(BOOK_NEEDS_ACTION))

    drift_head = table.find_elements(By.CSS_SELECTOR, "thead th")[heads.index("drift")]
    drift_head.click()
    ascending = sorted(latest, key=lambda n: latest[n]["drift"])
    assert column("account") == ascending
    drift_head.click()
    assert column("account") == ascending[::-1]
    orders = browser.find_elements(
        By.CSS_SELECTOR, '[data-table="dashboard-orders-list"] tbody tr')
    assert len(orders) == len(view.orders)
