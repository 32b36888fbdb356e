"""End to end on the Fairness page (Chromium against `streamlit run`): a governance lead uploads
predictions, evaluates them, saves them as bias tests, and the bias KPI on the overview changes.
Skips outside CI when Chromium is missing (as tests/test_browser_app.py)."""

from __future__ import annotations

import re

import pytest

from tests.test_browser_app import (  # noqa: F401  (server and browser are fixtures)
    browser,
    card_value,
    expect,
    server,
    settle,
    shoot,
    sign_in,
    visit,
)
from tests.test_fairness_page import predictions_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def choose_quarter(page, label: str) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has_text="Quarter"
    ).click()
    page.get_by_role("option", name=label, exact=True).click()
    settle(page)


def test_upload_evaluate_save_and_the_bias_kpi_changes(server, browser, tmp_path):  # noqa: F811
    from pages import _ui

    base, _db = server
    page = sign_in(browser, base, "governance_lead")
    in_progress = _ui.quarter_options()[0]  # the tests run today: the quarter in progress
    choose_quarter(page, in_progress)
    before = card_value(page, "Bias test pass rate")

    csv = tmp_path / "model-3.1-predictions.csv"
    csv.write_text(predictions_csv(gap_rows=12))
    visit(page, base, "fairness-evaluation")
    expect(page.get_by_text("No computed evaluations yet")).to_be_visible()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile("Browse files|Upload")).click()
    chooser.value.set_files(str(csv))
    settle(page)
    expect(page.get_by_text("model-3.1-predictions.csv: 80 rows; the first 10")).to_be_visible()
    version = page.get_by_role("textbox", name="Model version")
    version.fill("3.1")
    version.press("Enter")
    settle(page)
    page.get_by_role("button", name="Evaluate").click()
    settle(page)
    expect(page.get_by_text("4 of 5 disparities fail")).to_be_visible()
    shoot(page, "governance_lead-fairness-evaluated")
    page.get_by_role("button", name="Save as bias tests").click()
    expect(page.get_by_text("Saved as bias tests: 5 inserted, 0 updated")).to_be_visible()
    settle(page)

    visit(page, base, "")  # a new session: pick the quarter again
    choose_quarter(page, in_progress)
    after = card_value(page, "Bias test pass rate")
    assert (before, after) == ("—", "20.0 %")  # no bias tests at all yet → 1 of 5 passed
    shoot(page, "governance_lead-overview-after-fairness")
    page.context.close()
