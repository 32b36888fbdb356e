"""The Management review page through the router (AppTest), per role.

Executives see the assembled inputs and download the minutes; governance leads record the
meeting, decisions and actions, and finalise; a finalised review is locked for everyone.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from aims_metrics import auth
from aims_metrics.auth import Action, Role
from aims_metrics.review import actions, finalise, models, records
from aims_metrics.store import open_db
from pages import _ui
from tests.conftest import app_usernames, known_quarter

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
PAGE = "pages/review.py"
USERS = app_usernames()


def on_review_page(role: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[_ui.USER_KEY] = USERS[role]
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def keys(at: AppTest, kind: str) -> set[str]:
    return {w.key for w in getattr(at, kind) if w.key}


def button_keys(at: AppTest) -> set[str]:
    return keys(at, "button") | {b.key for b in at.get("form_submit_button") if b.key}


# Identifying columns of the page's tables (st.dataframe keys reach AppTest only for selectable frames).
FRAMES = {
    "review_kpis": "name@version",
    "review_aging": "bucket",
    "review_audits": "audit",
    "review_carried": "note",
    "review_actions_table": "closed on",
}


def frame(at: AppTest, key: str):
    """The page's table named by its key, found by its identifying column."""
    column = FRAMES[key]
    matches = [d.value for d in at.dataframe if column in d.value.columns]
    if key == "review_actions_table":
        matches = [m for m in matches if "note" not in m.columns]
    assert len(matches) == 1, (key, [list(d.value.columns) for d in at.dataframe])
    return matches[0]


def seed_review(app_db, final: bool) -> None:
    q = known_quarter()
    with open_db(app_db) as con:
        records.save_review(
            con,
            models.ReviewRecord(
                quarter=q.label,
                held_on=q.end,
                chair="Dana",
                attendees=[models.Attendee(name="Dana", role="CEO")],
                decisions=[models.Decision(kind="improvement", text="Automate bias gates")],
            ),
            "seed",
        )
        actions.add_action(con, q, "Publish model cards", "Priya", q.end, "seed")
        if final:
            finalise.finalise_review(con, q, "seed")


def test_executive_reads_the_inputs_and_cannot_edit(app_db):
    at = on_review_page("executive")
    assert at.title[0].value == f"Management review — {known_quarter().label}"
    kpis = frame(at, "review_kpis")
    assert "open_nonconformities@1" in set(kpis["name@version"])
    assert "review_actions_closed_on_time@1" in set(kpis["name@version"])
    aging = frame(at, "review_aging")
    assert list(aging["bucket"]) == ["0-30", "31-60", "61-90", "91-180", ">180"]
    assert int(aging["total"].sum()) == 2  # F1 and F2 of the known data set
    audits = frame(at, "review_audits")
    assert list(audits["audit"]) == ["A1"]
    # read-only: no form, no finalise; the draft pack can be prepared and downloaded
    assert not [k for k in button_keys(at) if k.startswith(("review_save", "review_finalise"))]
    assert not at.get("text_area")
    at.button(key="review_draft_pack_prepare").click().run()
    assert_clean(at)
    (download,) = [d for d in at.get("download_button") if d.key != "review_audits_download"]
    assert "draft review pack" in download.proto.label


def test_executive_downloads_the_final_minutes(app_db):
    seed_review(app_db, final=True)
    at = on_review_page("executive")
    labels = [d.proto.label for d in at.get("download_button") if d.key != "review_audits_download"]
    doc_id = models.document_id(known_quarter(), 1)
    assert labels == [f"Download final minutes ({doc_id})"]
    carried_or_own = frame(at, "review_actions_table")
    assert list(carried_or_own["action"]) == [f"MR-{known_quarter().label}-01"]


def test_empty_cells_show_empty_not_none(app_db):
    """An open action has no closing date and no note: its cells are blank (issue 16 item 5)."""
    seed_review(app_db, final=True)
    at = on_review_page("executive")
    actions_table = frame(at, "review_actions_table")
    assert list(actions_table["closed on"]) == [""]
    assert list(actions_table["due"]) == [known_quarter().end.isoformat()]
    for table in (d.value for d in at.dataframe):
        assert not table.isin(["None", "NaT", "nan"]).any().any(), list(table.columns)


@pytest.mark.parametrize("role", ["governance_lead", "analyst", "admin"])
def test_roles_that_may_edit_reviews_see_the_editor(app_db, role):
    # The permission matrix (auth.can) is the one authority: each role includes the one before.
    assert auth.can(role, Action.EDIT_REVIEWS)
    at = on_review_page(role)
    assert f"review_save_{known_quarter().label}_r1" in button_keys(at)


def test_governance_lead_records_the_meeting_decisions_actions_and_finalises(app_db):
    q = known_quarter()
    at = on_review_page("governance_lead")
    form = f"{q.label}_r1"
    at.date_input(key=f"review_held_on_{form}").set_value(q.end)
    at.text_input(key=f"review_chair_{form}").input("Dana Whitfield")
    at.text_area(key=f"review_input_b_{form}").input("New regulation")
    at.button(key=f"review_save_{form}").click().run()
    assert_clean(at)
    assert "saved" in at.success[0].value
    with open_db(app_db) as con:
        saved = records.get_review(con, q)
    assert (saved.chair, saved.input_b, saved.held_on, saved.created_by) == (
        "Dana Whitfield",
        "New regulation",
        q.end,
        USERS["governance_lead"],
    )
    # attendees and decisions through the library (data_editor is not scriptable in AppTest)
    with open_db(app_db) as con:
        records.save_review(
            con,
            saved.model_copy(
                update={
                    "attendees": [models.Attendee(name="Dana Whitfield", role="CEO")],
                    "decisions": [models.Decision(kind="resources", text="Hire an auditor")],
                }
            ),
            USERS["governance_lead"],
        )
    at.run()
    at.text_input(key="review_new_action_description").input("Hire an AI auditor")
    at.text_input(key="review_new_action_owner").input("Sam")
    at.date_input(key="review_new_action_due").set_value(date(q.end.year + 1, 1, 31))
    at.button(key="review_new_action_add").click().run()
    assert_clean(at)
    assert list(frame(at, "review_actions_table")["description"]) == ["Hire an AI auditor"]
    at.button(key="review_finalise").click().run()
    assert_clean(at)
    assert "finalised and archived" in at.success[0].value
    with open_db(app_db) as con:
        archived = records.archived_minutes(con, q)
        assert archived.intact and records.get_review(con, q).is_final
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(archived.pdf)).pages)
    assert "Hire an AI auditor" in text and "Hire an auditor" in text
    # locked now: no editor, a revision form instead
    assert f"review_save_{q.label}_r1" not in button_keys(at)
    assert "review_revise_submit" in button_keys(at)
    at.text_input(key="review_revise_reason").input("chair asked to add a decision")
    at.button(key="review_revise_submit").click().run()
    assert_clean(at)
    assert f"review_save_{q.label}_r2" in button_keys(at)


def test_governance_lead_updates_a_carried_action(app_db):
    q = known_quarter()
    earlier = q.previous()
    with open_db(app_db) as con:
        records.save_review(con, models.ReviewRecord(quarter=earlier.label), "seed")
        action = actions.add_action(con, earlier, "Old action", "Ann", q.start, "seed")
    at = on_review_page("governance_lead")
    carried = frame(at, "review_carried")
    assert list(carried["action"]) == [action.action_id]
    at.selectbox(key="review_action_pick").select(action.action_id).run()
    at.radio(key=f"review_action_status_{action.action_id}").set_value("done")
    at.date_input(key=f"review_action_closed_{action.action_id}").set_value(q.start)
    at.text_area(key=f"review_action_note_{action.action_id}").input("done")
    at.button(key=f"review_action_save_{action.action_id}").click().run()
    assert_clean(at)
    with open_db(app_db) as con:
        updated = actions.get_action(con, action.action_id)
    assert (updated.status, updated.closed_on, updated.updated_by) == (
        "done",
        q.start,
        USERS["governance_lead"],
    )


def test_a_finalised_review_is_read_only_for_the_governance_lead_too(app_db):
    seed_review(app_db, final=True)
    at = on_review_page("governance_lead")
    assert not [k for k in button_keys(at) if k.startswith(("review_save", "review_finalise"))]
    assert "review_new_action_add" not in button_keys(at)
    assert "review_revise_submit" in button_keys(at)


def test_executive_role_cannot_edit_per_the_matrix():
    assert not auth.can(Role.EXECUTIVE, Action.EDIT_REVIEWS)
    assert auth.can(Role.EXECUTIVE, Action.DOWNLOAD_MINUTES)
