"""Admin → Notifications through AppTest (issue 23): executives are refused, governance leads and
analysts read, admins add channels, edit rule settings, preview, send now and read the log."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from aims_metrics import auth
from aims_metrics.notify.channels import add_channel
from aims_metrics.store import open_db
from pages import _ui
from tests.conftest import app_usernames
from tests.test_notify_delivery import webhook  # noqa: F401  (the local HTTP server fixture)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
USERS = app_usernames()
PAGE = "pages/notifications.py"
TODAY = date.today()


@pytest.fixture
def notify_db(app_db: Path) -> Path:
    """The app's known data plus a person and an overdue corrective action that is due a reminder."""
    with open_db(app_db) as con:
        con.execute("INSERT INTO people VALUES ('Dana Ruiz', 'dana@example.org', 'Risk', NULL)")
        con.execute(
            "INSERT INTO findings (finding_id, audit_id, clause_ref, finding_type, description, "
            "raised_on, due_on, owner, status) VALUES ('NF1', 'AX', '9.2', 'major_nc', ?, ?, ?, "
            "'dana ruiz', 'open')",
            ["<b>Model cards</b> missing", TODAY - timedelta(days=60), TODAY - timedelta(days=3)],
        )
    return app_db


def signed_in(role: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS[role]
    at.run()
    if role == "executive":  # only a hidden refusal is routed: open it as a browser would
        at._page_hash = calc_hash("admin-notifications")
        at.run()
    else:
        at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table_with(at: AppTest, column: str):
    """The one table on the page with this column (AppTest does not expose dataframe keys)."""
    (frame,) = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


@pytest.mark.parametrize("role", ["executive", "governance_lead", "analyst", "admin"])
def test_the_page_for_every_role(notify_db, role):
    at = signed_in(role)
    if role == "executive":
        assert len(at.error) == 1 and "not permitted" in at.error[0].value
        assert not at.title and not at.dataframe
        return
    assert at.title[0].value == "Notifications"
    assert not at.error
    buttons = {b.key for b in at.button} | {b.key for b in at.get("form_submit_button")}
    admin = role == "admin"
    assert ("notify_send_now" in buttons) is admin
    assert ("notify_add_submit" in buttons) is admin
    assert ("notify_settings_submit" in buttons) is admin
    preview = table_with(at, "title")
    row = preview[preview["id"] == "NF1"].iloc[0]
    assert row["to"] == "dana@example.org" and "3 days overdue, reminder 1" in row["status"]
    assert any("owners have no e-mail" in w.value for w in at.warning)
    assert "No channels yet" in " ".join(i.value for i in at.info)


def test_admin_adds_a_channel_sends_now_and_reads_the_log(notify_db, webhook):  # noqa: F811
    url, hook = webhook
    at = signed_in("admin")
    at.radio(key="notify_add_kind").set_value("webhook").run()
    at.text_input(key="notify_add_name").input("chat")
    at.text_input(key="notify_add_url").input(url)
    at.selectbox(key="notify_add_format").set_value("slack")
    at.button(key="notify_add_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Added chat: slack webhook" in s.value for s in at.success)
    at.button(key="notify_send_now").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(" sent" in s.value for s in at.success), [e.value for e in at.error]
    assert len(hook.requests) == 1
    body = json.loads(hook.requests[0][1])
    assert "&lt;b&gt;Model cards&lt;/b&gt;" in json.dumps(body)
    log = table_with(at, "attempts")
    assert list(log["status"]) == ["sent"] and "corrective_action_overdue:NF1" in log["items"][0]


def test_an_invalid_channel_is_refused_with_its_reasons(notify_db):
    at = signed_in("admin")
    at.text_input(key="notify_add_name").input("mail")
    at.text_input(key="notify_add_host").input("smtp.example.org")
    at.text_input(key="notify_add_sender").input("not an address")
    at.button(key="notify_add_submit").click().run()
    assert len(at.error) == 1 and "sender" in at.error[0].value
    with open_db(notify_db) as con:
        assert con.execute("SELECT count(*) FROM notify_channels").fetchall() == [(0,)]


def test_rule_settings_are_validated_then_saved(notify_db):
    at = signed_in("admin")
    at.text_input(key="notify_set_remind_every_days").input("0")
    at.button(key="notify_settings_submit").click().run()
    assert "remind_every_days: Must be a whole number of days from 1 to 365." in at.error[0].value
    at.text_input(key="notify_set_remind_every_days").input("3")
    at.checkbox(key="notify_set_notify_audit_overdue").uncheck()
    at.button(key="notify_settings_submit").click().run()
    assert any("Rule settings saved." in s.value for s in at.success)
    with open_db(notify_db) as con:
        values = dict(con.execute("SELECT key, value FROM settings").fetchall())
    assert values["remind_every_days"] == "3" and values["notify_audit_overdue"] == "off"


def test_a_test_message_reports_its_failure(notify_db):
    with open_db(notify_db) as con:  # a port nobody listens on
        add_channel(
            con,
            "mail",
            "email",
            {"smtp_host": "127.0.0.1", "smtp_port": 9, "sender": "aims@example.org"},
            "test",
        )
        assert auth.get_user(con, USERS["admin"]) is not None
    at = signed_in("admin")
    at.button(key="notify_channel_test").click().run()
    assert any("Test message failed: SMTP 127.0.0.1:9" in e.value for e in at.error)


def test_overview_and_trends_mark_provisional_figures_in_words(app_db):
    from datetime import datetime

    from tests.conftest import known_quarter

    q = known_quarter()
    with open_db(app_db) as con:  # incidents last imported a week before the quarter ended
        con.execute(
            "UPDATE import_batches SET imported_at = ? WHERE table_name = 'incidents'",
            [datetime.combine(q.end - timedelta(days=7), datetime.min.time())],
        )
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS["executive"]
    at.run()
    assert not at.exception
    marks = [c.value for c in at.caption if "◔ provisional" in c.value]
    assert (
        marks
        and f"incidents imported {(q.end - timedelta(days=7)).isoformat()}, before the quarter end"
        in marks[0]
    )
    at.switch_page("pages/trends.py").run()
    assert not at.exception
    assert any("◔ provisional" in c.value and q.label in c.value for c in at.caption)


def test_review_input_a_shows_how_many_reminders_each_carried_action_got(app_db):
    from aims_metrics.review import actions, models, records
    from tests.conftest import known_quarter

    q = known_quarter()
    earlier = q.previous()
    with open_db(app_db) as con:
        records.save_review(con, models.ReviewRecord(quarter=earlier.label), "seed")
        action = actions.add_action(con, earlier, "Old action", "Ann", q.start, "seed")
        for sequence, rule in (
            (1, "review_action_due_soon"),
            (1, "review_action_overdue"),
            (2, "review_action_overdue"),
            (4, "review_action_overdue"),
        ):
            con.execute(
                "INSERT INTO notify_reminders VALUES (?, ?, 'k', ?, ?, ?, 'run')",
                [
                    rule,
                    action.action_id,
                    sequence,
                    sequence == 4,
                    q.start + timedelta(days=sequence),
                ],
            )
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS["executive"]
    at.run()
    at.switch_page("pages/review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    carried = table_with(at, "reminders sent")
    assert list(carried["reminders sent"]) == [3]  # the escalation is not a reminder
