"""End to end (Chromium against `streamlit run`): a governance lead imports the audit programme,
the coverage heatmap shows the gap, an SoA edit excludes a control, and readiness changes.

Skips outside CI when Chromium is missing (like tests/test_browser_app.py, whose server and
browser fixtures this module reuses).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from aims_metrics import store
from tests.test_browser_app import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    browser,
    rerun,
    server,
    settle,
    shoot,
    sign_in,
    visit,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import Page, expect  # noqa: E402

# The SoA editor's fixed column widths (pages/readiness.py SOA_COLUMNS), in pixels.
SOA_WIDTHS = {"control_id": 80, "title": 230, "applicable": 90, "justification": 230}
ROW_HEIGHT = 35
# Resolves once the browser has drawn a frame after the last change (a scroll, say).
NEXT_FRAME = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
# Scroll the element's scrolling ancestor up by `by` pixels.
SCROLL_UP = """(element, by) => {
  let box = element.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /auto|scroll/.test(getComputedStyle(box).overflowY))) {
    box = box.parentElement;
  }
  (box || document.scrollingElement).scrollBy(0, -by);
}"""


def metric(page: Page, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has_text=re.compile(f"^{label}"))
    return card.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


def soa_cell(page: Page, column: str, row: int = 0) -> tuple[float, float]:
    """The centre of an SoA editor cell (the grid draws on a canvas: no DOM per cell)."""
    grid = page.locator(".st-key-soa_editor")
    grid.evaluate("element => element.scrollIntoView({block: 'center'})")
    page.evaluate(NEXT_FRAME)
    box = grid.bounding_box()
    if box["y"] < 200:  # keep the grid clear of Streamlit's header bar at the top
        grid.evaluate(SCROLL_UP, 300 - box["y"])
        page.evaluate(NEXT_FRAME)
        box = grid.bounding_box()
    names = list(SOA_WIDTHS)
    left = sum(SOA_WIDTHS[n] for n in names[: names.index(column)])
    return box["x"] + left + SOA_WIDTHS[column] / 2, box["y"] + ROW_HEIGHT * (
        row + 1
    ) + ROW_HEIGHT / 2


def test_import_audits_see_the_gap_edit_the_soa_and_readiness_changes(server, browser, tmp_path):  # noqa: F811
    base, db = server
    today = date.today()
    with store.open_db(db) as con:
        store.set_setting(
            con, "audit_cycle_start", (today - timedelta(days=400)).isoformat(), "test"
        )
    page = sign_in(browser, base, "governance_lead")

    visit(page, base, "audit-programme")
    expect(page.get_by_text("No audits yet in the cycle")).to_be_visible()

    everything_but_a10 = "4;5;6;7;8;9;10;A.2;A.3;A.4;A.5;A.6;A.7;A.8;A.9"
    csv = tmp_path / "audits.csv"
    csv.write_text(
        "audit_id,audit_type,title,planned_start,planned_end,status,actual_end,lead_auditor,"
        "lead_auditor_unit,auditee_unit,scope\n"
        f"IA-1,internal,Whole AIMS,{today - timedelta(days=60)},{today - timedelta(days=55)},"
        f"completed,{today - timedelta(days=54)},Amira,Internal Audit,AI Office,{everything_but_a10}\n"
        f"IA-2,internal,Suppliers,{today + timedelta(days=30)},,planned,,Ravi,Internal Audit,Procurement,8.1\n"
    )
    visit(page, base, "data-import")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Table").click()
    page.get_by_role("option", name="Audit programme (9.2.2) (audits)").click()
    settle(page)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile("Browse files|Upload")).click()
    chooser.value.set_files(str(csv))
    settle(page)
    page.get_by_role("button", name="Import 2 rows into audits").click()
    expect(
        page.get_by_test_id("stAlertContentSuccess").get_by_text("Imported audits.csv: 2 inserted")
    ).to_be_visible()

    visit(page, base, "audit-programme")
    assert metric(page, "Gaps") == "3"  # A.10.2, A.10.3, A.10.4: no audit scoped A.10
    page.get_by_text("Only references with a gap in the cycle").click()
    settle(page)
    heatmap = page.locator(".st-key-programme_heatmap")
    for ref in ("A.10.2", "A.10.3", "A.10.4"):
        expect(heatmap.locator("g.ytick text", has_text=ref)).to_have_count(1)
    expect(heatmap.locator("g.ytick text", has_text="4.1")).to_have_count(0)
    expect(heatmap.get_by_text("■ Gap").first).to_be_visible()
    shoot(page, "audits-heatmap-gap")

    visit(page, base, "certification-readiness")
    assert metric(page, "Controls implemented") == "0 of 38"
    page.get_by_role("textbox", name="Control or title contains").fill("A.10.4")
    rerun(page, lambda: page.keyboard.press("Enter"))
    # Once the run has finished, only the new editor is left and its grid canvas is drawn.
    expect(page.locator(".st-key-soa_editor")).to_have_count(1)
    expect(page.locator(".st-key-soa_editor canvas").first).to_be_visible()
    page.evaluate(NEXT_FRAME)
    x, y = soa_cell(page, "justification")
    page.mouse.dblclick(x, y)  # opens the cell's editor
    editor = page.locator("#portal textarea").first
    expect(editor).to_be_visible()
    editor.fill("No AI products or services are provided to customers.")
    rerun(page, lambda: editor.press("Tab"))  # the edit is sent: the script runs again
    x, y = soa_cell(page, "applicable")
    rerun(page, lambda: page.mouse.click(x, y))  # toggles the checkbox
    rerun(page, page.get_by_role("button", name="Save SoA changes").click)
    expect(page.get_by_text("37 applicable, 1 excluded")).to_be_visible()
    assert metric(page, "Controls implemented") == "0 of 37"
    shoot(page, "audits-readiness-after-soa-edit")
    with store.open_db(db) as con:
        row = con.execute(
            "SELECT applicable, justification FROM soa WHERE control_id = 'A.10.4'"
        ).fetchall()
        logged = con.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'data.import' AND target = 'soa'"
        ).fetchall()
    assert row == [(False, "No AI products or services are provided to customers.")]
    assert logged == [(1,)]

    visit(page, base, "audit-programme")
    assert metric(page, "Gaps") == "2"  # the excluded control leaves the programme
    page.context.close()
    assert (ARTIFACTS / "audits-heatmap-gap.png").exists()
