"""In Debian's Chromium against `streamlit run app.py` (the harness of test_browser_review.py):
a save on the management review keeps the user on the tab they were on, with its confirmation."""

from __future__ import annotations

import pytest

from tests.conftest import APP_PASSWORD, app_usernames, known_quarter
from tests.test_browser_review import CHROMIUM, CHROMIUM_ARGS, click_tab, server  # noqa: F401

pytestmark = pytest.mark.browser


def settled(page) -> None:
    """Wait until Streamlit is idle (the shared run-counting wait of test_browser_app): fields
    typed into while a rerun still redraws the page can be replaced under the typing."""
    from tests.test_browser_app import settle

    settle(page)


def test_saving_a_decision_keeps_the_decisions_tab_open(server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    q = known_quarter()
    expect.set_options(timeout=60_000)  # wait for the condition, however loaded the machine
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        from tests.test_browser_app import new_page

        page = new_page(browser)
        page.goto(server)
        page.get_by_label("User name").fill(app_usernames()["governance_lead"])
        page.get_by_role("textbox", name="Password").fill(APP_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Signed in as")).to_be_visible()
        page.goto(f"{server}/management-review")
        expect(page.get_by_role("heading", name=f"Management review — {q.label}")).to_be_visible()

        click_tab(page, "Decisions and actions")
        page.get_by_label("Decision", exact=True).fill("Fund an internal auditor for AI systems")
        page.get_by_role("button", name="Add decision").click()
        expect(page.get_by_text("Decision added.")).to_be_visible()
        settled(page)
        # no second click on the tab: the rerun left the user where they were
        tab = page.get_by_role("tab", name="Decisions and actions")
        expect(tab).to_have_attribute("aria-selected", "true")
        expect(page.get_by_label("Decision", exact=True)).to_have_value("")
        expect(page.get_by_role("button", name="Add action")).to_be_visible()

        settled(page)
        page.get_by_label("Action", exact=True).fill("Recruit the AI auditor")
        page.get_by_label("Owner", exact=True).fill("Sam Okafor")
        settled(page)
        for part, value in (("year", str(q.end.year + 1)), ("month", "01"), ("day", "31")):
            page.get_by_role("spinbutton", name=f"{part}, Due on").click()
            page.keyboard.type(value)
        settled(page)  # every date part typed has been sent before the form is submitted
        page.get_by_role("button", name="Add action").click()
        expect(page.get_by_text(f"MR-{q.label}-01 added.")).to_be_visible()
        expect(tab).to_have_attribute("aria-selected", "true")
        # the action picker of the new action is labelled "Action" too: the text field is the one
        action_field = page.get_by_role("textbox", name="Action")
        expect(action_field).to_have_count(1)  # the previous run's form is gone
        expect(action_field).to_have_value("")
        browser.close()
