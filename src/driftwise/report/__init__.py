"""The HTML report: one self-contained file (plan, backtest and validation pages).

``write_report(path, plan=..., backtest=..., validation=...)`` writes whichever pages it
is given into one HTML file that opens with no network (plotly.js embedded once, every
chart drawn in SVG).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from driftwise.app.monitor import MonitorReport
from driftwise.app.plan import Plan
from driftwise.errors import ConfigError
from driftwise.report import backtest_page as _backtest
from driftwise.report import plan_page as _plan
from driftwise.report import validation_page as _validation
from driftwise.report.backtest_page import BacktestPageData, backtest_data
from driftwise.report.html import Page, render_html, write_html
from driftwise.report.tax_section import after_tax_page
from driftwise.report.validation_page import ValidationPageData

if TYPE_CHECKING:
    from driftwise.app.aftertax import AfterTaxComparison

__all__ = ["BacktestPageData", "Page", "ValidationPageData", "backtest_data", "render_html",
           "report_pages", "write_report"]


def report_pages(*, plan: Plan | None = None, monitor: MonitorReport | None = None,
                 backtest: object | None = None,
                 validation: ValidationPageData | pd.DataFrame | None = None,
                 after_tax: AfterTaxComparison | None = None) -> list[Page]:
    """The pages for whatever was given, in the order plan, backtest, after tax,
    validation.

    ``backtest`` is a :class:`BacktestPageData` or any object with the attributes of a
    ``BacktestResult`` (see :func:`driftwise.report.backtest_page.backtest_data`).
    """
    pages = []
    if plan is not None:
        pages.append(_plan.plan_page(plan, monitor))
    if backtest is not None:
        data = backtest if isinstance(backtest, BacktestPageData) else backtest_data(backtest)
        pages.append(_backtest.backtest_page(data))
    if after_tax is not None:
        pages.append(after_tax_page(after_tax))
    if validation is not None:
        pages.append(_validation.validation_page(validation))
    return pages


def write_report(path: str | Path, *, plan: Plan | None = None, backtest: object | None = None,
                 validation: ValidationPageData | pd.DataFrame | None = None,
                 monitor: MonitorReport | None = None, title: str = "driftwise report",
                 after_tax: AfterTaxComparison | None = None) -> Path:
    """Write the HTML report of a plan, a backtest, an after-tax backtest and/or a rule
    validation.

    Parameters
    ----------
    path : str or Path
        The HTML file to write (parent folders are created).
    plan : Plan, optional
        From :func:`driftwise.app.plan.make_plan`.
    backtest : BacktestPageData or BacktestResult-like, optional
    validation : ValidationPageData or pd.DataFrame, optional
        A bare DataFrame is the per-rule table.
    monitor : MonitorReport, optional
        The monitor of the plan's inputs and day, for the drift-against-band chart.
    title : str
    after_tax : AfterTaxComparison, optional
        From :func:`driftwise.app.aftertax.after_tax_compare`: the after-tax page.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ConfigError
        Nothing to report.
    """
    pages = report_pages(plan=plan, monitor=monitor, backtest=backtest, validation=validation,
                         after_tax=after_tax)
    if not pages:
        raise ConfigError("nothing to report: give a plan, a backtest or a validation")
    subtitle = ""
    if plan is not None:
        subtitle = (f"Portfolio as of {plan.as_of.date()} · NAV USD {plan.nav_usd:,.0f} · "
                    f"decision: {plan.decision.value}")
    return write_html(path, pages, title=title, subtitle=subtitle)
