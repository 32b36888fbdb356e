"""End to end on Admin → Notifications (Chromium against `streamlit run`, issue 23): an admin
configures a webhook channel, previews today's run, sends now (to an HTTP server started by the
test on 127.0.0.1) and reads the log. Skips outside CI when Chromium is missing."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from aims_metrics.store import open_db
from tests.test_browser_app import (  # noqa: F401  (server and browser are fixtures)
    browser,
    expect,
    rerun,
    server,
    settle,
    shoot,
    sign_in,
    visit,
)
from tests.test_notify_delivery import webhook  # noqa: F401  (the local HTTP server fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_configure_a_channel_preview_send_now_and_read_the_log(server, browser, webhook):  # noqa: F811
    base, db = server
    url, hook = webhook
    today = date.today()
    with open_db(db) as con:  # someone to remind, about a corrective action 3 days overdue
        con.execute("INSERT INTO people VALUES ('Dana Ruiz', 'dana@example.org', 'Risk', NULL)")
        con.execute(
            "INSERT INTO findings (finding_id, audit_id, clause_ref, finding_type, description, "
            "raised_on, due_on, owner, status) VALUES ('BF1', 'AX', '9.2', 'major_nc', "
            "'Model cards missing', ?, ?, 'Dana Ruiz', 'open')",
            [today - timedelta(days=60), today - timedelta(days=3)],
        )
    page = sign_in(browser, base, "admin")
    visit(page, base, "admin-notifications")
    expect(page.locator("h1").first).to_contain_text("Notifications")

    rerun(page, page.locator('[data-testid="stRadio"]').get_by_text("webhook", exact=True).click)
    page.get_by_role("textbox", name="Name", exact=True).fill("team-chat")
    page.get_by_role("textbox", name="Webhook URL").fill(url)
    page.get_by_role("button", name="Add channel").click()
    settle(page)
    expect(page.get_by_text("Added team-chat: json webhook http://127.0.0.1")).to_be_visible()

    page.get_by_role("tab", name="Preview").click()
    settle(page)
    expect(page.get_by_text("A dry run as of today")).to_be_visible()
    preview = page.locator('[data-testid="stDataFrame"]').filter(
        has_text="Corrective action overdue"
    )
    expect(
        preview.get_by_text("team-chat", exact=True).first
    ).to_be_attached()  # grid cell (a11y table)
    shoot(page, "admin-notifications-preview")
    page.get_by_role("button", name="Send now").click()
    settle(page)
    expect(page.get_by_text(re.compile(r"\d+ messages? sent"))).to_be_visible()
    assert len(hook.requests) == 1
    items = {i["id"]: i for i in json.loads(hook.requests[0][1])["items"]}
    assert items["BF1"]["to"] == "Dana Ruiz" and items["BF1"]["reminder"] == 1

    page.get_by_role("tab", name="Log").click()
    settle(page)
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
    shoot(page, "admin-notifications-log")
    with open_db(db) as con:
        assert con.execute("SELECT channel, status FROM notify_outbox").fetchall() == [
            ("team-chat", "sent")
        ]
    page.context.close()
