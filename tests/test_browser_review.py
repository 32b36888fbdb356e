"""End to end in Debian's Chromium against `streamlit run app.py`: a governance lead records a
decision with an action, finalises the review and downloads the archived minutes PDF."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from aims_metrics.review import actions, models, records
from aims_metrics.store import open_db
from tests.conftest import APP_PASSWORD, app_usernames, known_quarter

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    missing = not Path(CHROMIUM).exists()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing and not os.environ.get("CI"):
        pytest.skip("Chromium or playwright is not installed (browser tests never skip in CI)")


@pytest.fixture
def server(app_db: Path, tmp_path: Path):
    """`streamlit run app.py` on a free localhost port over a private copy of the app database."""
    _require_browser()
    q = known_quarter()
    with open_db(app_db) as con:
        records.save_review(
            con,
            models.ReviewRecord(
                quarter=q.label,
                held_on=q.end,
                chair="Dana Whitfield",
                attendees=[models.Attendee(name="Dana Whitfield", role="Chief Executive Officer")],
            ),
            "seed",
        )
    from tests.test_browser_app import app_server

    with app_server(
        app_db, tmp_path / "streamlit.log", "browser-test-session-key-0123456789"
    ) as url:
        yield url


def click_tab(page, name: str) -> None:
    """Click a tab once the app is idle: a rerun still running would redraw the tabs after the
    click (back on the first one); then wait until the tab is the selected one."""
    from playwright.sync_api import expect

    from tests.test_browser_app import settle

    settle(page)
    tab = page.get_by_role("tab", name=name)
    expect(tab).to_have_count(1)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def test_governance_lead_decides_adds_an_action_finalises_and_downloads(server, app_db, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from tests.test_browser_app import settle

    q = known_quarter()
    user = app_usernames()["governance_lead"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        from tests.test_browser_app import new_page

        page = new_page(browser, accept_downloads=True)
        page.goto(server)
        page.get_by_label("User name").fill(user)
        page.get_by_role("textbox", name="Password").fill(APP_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Signed in as")).to_be_visible()
        page.goto(f"{server}/management-review")
        expect(page.get_by_role("heading", name=f"Management review — {q.label}")).to_be_visible()

        click_tab(page, "Decisions and actions")
        page.get_by_label("Decision", exact=True).fill("Fund an internal auditor for AI systems")
        page.get_by_role("button", name="Add decision").click()
        expect(page.get_by_text("Decision added.")).to_be_visible()

        click_tab(page, "Decisions and actions")
        page.get_by_label("Action", exact=True).fill("Recruit the AI auditor")
        page.get_by_label("Owner", exact=True).fill("Sam Okafor")
        for part, value in (("year", str(q.end.year + 1)), ("month", "01"), ("day", "31")):
            page.get_by_role("spinbutton", name=f"{part}, Due on").click()
            page.keyboard.type(value)
        settle(page)  # every date part typed has been sent before the form is submitted
        page.get_by_role("button", name="Add action").click()
        expect(page.get_by_text(f"MR-{q.label}-01 added.")).to_be_visible()

        click_tab(page, "Finalise")
        page.get_by_role("button", name="Finalise minutes").click()
        expect(page.get_by_text("finalised and archived")).to_be_visible()

        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download final minutes").click()
        download = download_info.value
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        browser.close()

    assert target.name == f"AIMS-MR-{q.label}-r1.pdf"
    pdf = target.read_bytes()
    with open_db(app_db) as con:
        archived = records.archived_minutes(con, q)
        final = records.get_review(con, q)
        (action,) = actions.review_actions(con, q)
    assert pdf == archived.pdf and archived.intact
    assert final.is_final and final.finalised_by == user
    assert [d.text for d in final.decisions] == ["Fund an internal auditor for AI systems"]
    assert (action.description, action.owner, action.due_on.isoformat()) == (
        "Recruit the AI auditor",
        "Sam Okafor",
        f"{q.end.year + 1}-01-31",
    )
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Fund an internal auditor for AI systems" in text
    assert f"MR-{q.label}-01 Recruit the AI auditor Sam Okafor" in text
