"""End to end on the Fairness page (Chromium against `streamlit run`): a governance lead uploads
predictions, evaluates them, saves them as bias tests, and the bias KPI on the overview changes.
Skips outside CI when Chromium is missing (as tests/test_browser_app.py)."""

from __future__ import annotations

import re

import pytest

from aims_metrics import store
from aims_metrics.metrics import as_of, periods
from tests.test_browser_app import (  # noqa: F401  (server and browser are fixtures)
    browser,
    card_value,
    choose_quarter,
    expect,
    rerun,
    server,
    settle,
    shoot,
    sign_in,
    visit,
)
from tests.test_fairness_page import predictions_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def quarter_in_progress(db) -> str:
    """The quarter the tests run in, under the fiscal year of the server's database."""
    with store.read_db(db) as con:
        start = as_of.fiscal_start_month(con)
    return periods.last_completed_quarter(start_month=start).next().label


def test_upload_evaluate_save_and_the_bias_kpi_changes(server, browser, tmp_path):  # noqa: F811
    base, db = server
    page = sign_in(browser, base, "governance_lead")
    in_progress = quarter_in_progress(db)
    choose_quarter(page, in_progress)
    before = card_value(page, "Bias test pass rate")

    csv = tmp_path / "model-3.1-predictions.csv"
    csv.write_text(predictions_csv(gap_rows=12))
    visit(page, base, "fairness-evaluation")  # a new session: the last completed quarter again
    choose_quarter(page, in_progress)  # results default to the selected quarter
    expect(page.get_by_text("No computed evaluations yet")).to_be_visible()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile("Browse files|Upload")).click()
    rerun(page, lambda: chooser.value.set_files(str(csv)))
    expect(page.get_by_text("model-3.1-predictions.csv: 80 rows; the first 10")).to_be_visible()
    expect(
        page.get_by_text(f"Saved results count in the bias KPIs of {in_progress}")
    ).to_be_visible()
    version = page.get_by_role("textbox", name="Model version")
    version.fill("3.1")
    rerun(page, lambda: version.press("Enter"))
    rerun(page, page.get_by_role("button", name="Evaluate").click)
    expect(page.get_by_text("4 of 5 disparities fail")).to_be_visible()
    shoot(page, "governance_lead-fairness-evaluated")
    page.get_by_role("button", name="Save as bias tests").click()
    expect(page.get_by_text("Saved as bias tests: 5 inserted, 0 updated")).to_be_visible()
    settle(page)

    visit(page, base, "")  # a new session: pick the quarter again
    choose_quarter(page, in_progress)
    assert before == "—"  # no bias tests at all yet
    expect(  # 1 of 5 passed
        page.locator('[data-testid="stMetric"]')
        .filter(has_text=re.compile("^Bias test pass rate"))
        .first.locator('[data-testid="stMetricValue"]')
    ).to_have_text("20.0 %")
    shoot(page, "governance_lead-overview-after-fairness")
    page.context.close()
