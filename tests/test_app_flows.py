"""What users saw (issue 24), through the router with AppTest, against the hand-made database of
tests/conftest.py: after a save every view shows the saved state with a confirmation that
survives the rerun; the pages evaluate the sidebar's quarter and say which; one figure, one number.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from aims_metrics import auth
from aims_metrics.audits import programme
from aims_metrics.metrics import as_of, periods
from aims_metrics.review import models, records
from aims_metrics.store import open_db
from aims_metrics.tables import ingest
from pages import _ui
from tests.conftest import app_usernames, known_quarter

APP = str(Path(__file__).resolve().parents[1] / "app.py")
USERS = app_usernames()


def signed_in(role: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[_ui.USER_KEY] = USERS[role]
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def successes(at: AppTest) -> list[str]:
    return [s.value for s in at.success]


def metric(at: AppTest, label: str) -> str:
    (value,) = [m.value for m in at.metric if m.label == label]
    return value


# --- item 1: the metric editor shows the saved version everywhere -----------------------------


def test_after_a_save_every_tab_of_the_metric_editor_shows_the_saved_version(app_db):
    at = signed_in("analyst", "pages/metrics.py")
    at.selectbox(key="metrics_pick").select("incidents_total").run()
    before = at.selectbox(key="metrics_pick")
    old_version = int(before.format_func("incidents_total").rsplit("@", 1)[1].rstrip(")"))
    at.number_input(key="metric_green_limit_incidents_total").set_value(12).run()
    at.text_input(key="metric_reason_incidents_total").input("tolerate 12 a quarter").run()
    at.button(key="metric_form_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    saved = old_version + 1

    assert f"Saved incidents_total@{saved}." in successes(at)  # kept across the rerun
    picker = at.selectbox(key="metrics_pick")
    assert picker.format_func("incidents_total").endswith(f"@{saved})")
    (yaml_text,) = [t.value for t in at.text_area if t.label == "Metric file"]
    assert f"version: {saved}" in yaml_text and "lte: 12" in yaml_text
    green = [n for n in at.number_input if n.label == "Green limit"]
    assert [n.value for n in green] == [12.0]
    compared = {
        s.label: s.value for s in at.selectbox if s.label in ("Compare version", "with version")
    }
    assert compared == {"Compare version": old_version, "with version": saved}
    reasons = [t.value for t in at.text_input if t.label == "Reason for the change"]
    assert reasons and all(value == "" for value in reasons)  # fresh fields for the next change


def test_saving_the_unchanged_yaml_after_a_form_save_keeps_the_change(app_db):
    """The YAML tab no longer holds version 1: 'Validate and save' cannot revert silently."""
    at = signed_in("analyst", "pages/metrics.py")
    at.selectbox(key="metrics_pick").select("incidents_total").run()
    at.number_input(key="metric_green_limit_incidents_total").set_value(12).run()
    at.text_input(key="metric_reason_incidents_total").input("tolerate 12").run()
    at.button(key="metric_form_save").click().run()
    (reason,) = [t for t in at.text_input if t.label == "Reason for the change" and "yaml" in t.key]
    reason.input("no change meant").run()
    at.button(key="metric_yaml_save").click().run()
    assert not at.exception
    with open_db(app_db) as con:
        definition = {d.name: d for d in _current(con)}["incidents_total"]
    assert definition.thresholds.green.limit == 12


def _current(con):
    from aims_metrics.metrics import catalog

    return catalog.current_definitions(con)


# --- item 2: one quarter for every page, and the page says which -------------------------------


def test_the_quarter_is_resolved_in_one_place():
    today = date(2026, 12, 7)
    latest = as_of.evaluation_point(None, 1, today)
    assert (latest.label, latest.as_of, latest.chosen) == ("2026Q3", date(2026, 9, 30), False)
    assert "the latest complete quarter" in latest.describe()
    chosen = as_of.evaluation_point("2025Q2", 1, today)
    assert (chosen.as_of, chosen.chosen) == (date(2025, 6, 30), True)
    running = as_of.evaluation_point("2026Q4", 1, today)
    assert running.in_progress and running.as_of == today  # never a day in the future
    fiscal = as_of.evaluation_point(None, 4, today)  # fiscal year from April
    assert fiscal.as_of == periods.last_completed_quarter(today, 4).end
    assert as_of.evaluation_point("not a quarter", 1, today) == latest
    assert as_of.evaluation_point("2026Q3", 1, today) == latest  # the default, picked or not


def test_a_stored_fiscal_month_that_is_not_valid_falls_back_to_the_default(con):
    con.execute(
        "INSERT OR REPLACE INTO settings (key, value) VALUES ('fiscal_year_start_month', '13')"
    )
    assert as_of.fiscal_start_month(con) == 1


def _chosen_quarter(at: AppTest, label: str, page: str) -> AppTest:
    at.session_state[_ui.QUARTER_KEY] = label
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_audit_programme_and_readiness_follow_the_sidebar_quarter(app_db):
    earlier = known_quarter().previous().previous()
    for page in ("pages/audit_programme.py", "pages/readiness.py"):
        at = _chosen_quarter(signed_in("executive"), earlier.label, page)
        said = " ".join(c.value for c in at.caption)
        assert f"As of {earlier.end:%d %B %Y}, the end of {earlier.label}" in said, page


def test_readiness_judges_monitoring_for_the_chosen_quarter_not_today(app_db):
    at = _chosen_quarter(signed_in("executive"), known_quarter().label, "pages/readiness.py")
    clauses = next(d.value for d in at.dataframe if "judged by" in d.value.columns)
    evidence = clauses.set_index("clause").loc["9.1", "evidence"]
    assert known_quarter().label in evidence


# --- item 3: one definition, one number ----------------------------------------------------------

AUDITS = (
    "audit_id,audit_type,title,planned_start,planned_end,status,actual_end,scope\n"
    "A1,internal,Done,{a},{b},completed,{b},9\n"
    "A2,internal,Called off,{a},{b},cancelled,,4\n"
)


def test_audits_in_the_cycle_is_one_number_on_the_page_and_in_the_review(app_db):
    q = known_quarter()
    with open_db(app_db) as con:
        text = AUDITS.format(a=q.start + timedelta(days=3), b=q.start + timedelta(days=10))
        ingest.import_file(con, "audits", text.encode(), "test", file_name="audits.csv")
        summary = programme.programme_summary_as_of(con, q.end)
    at = _chosen_quarter(signed_in("executive"), q.label, "pages/audit_programme.py")
    shown = metric(at, "Audits in the cycle")
    assert shown == "1"  # the cancelled A2 is listed, not counted
    assert (
        f": {shown} audit in the cycle" in summary[0] and "1 cancelled, not counted" in summary[0]
    )


# --- item 7: the management review keeps the user where they were --------------------------------


def _seed_review(app_db) -> None:
    q = known_quarter()
    with open_db(app_db) as con:
        records.save_review(
            con, models.ReviewRecord(quarter=q.label, held_on=q.end, chair="Dana"), "seed"
        )


def test_review_tabs_keep_the_open_tab_and_decisions_have_one_way_in(app_db):
    _seed_review(app_db)
    at = signed_in("governance_lead")
    at.session_state["review_tab"] = "Decisions and actions"
    at.switch_page("pages/review.py").run()
    at.text_input(key="review_new_decision_text").input("Fund an AI auditor")
    at.button(key="review_new_decision_add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Decision added." in successes(at)
    assert at.session_state["review_tab"] == "Decisions and actions"  # the tab is keyed
    decision_inputs = [t for t in at.text_input if t.label == "Decision"]
    assert len(decision_inputs) == 1 and decision_inputs[0].value == ""  # a fresh form
    submits = {b.key for b in at.get("form_submit_button") if b.key}
    assert not [k for k in submits if k.startswith("review_decisions_save")]  # one way in
    kinds = next(d.value for d in at.dataframe if "decision" in d.value.columns)
    assert list(kinds["kind"]) == [models.DecisionKind.IMPROVEMENT.title]


# --- item 8: every write ends with a visible confirmation and a fresh form ------------------------


def test_an_import_ends_with_a_confirmation_and_a_fresh_uploader(app_db):
    at = signed_in("governance_lead", "pages/data_import.py")
    at.selectbox(key="import_table").select("systems").run()
    csv = b"system_id,name,risk_level\nS9,Fraud model,high\n"
    at.file_uploader(key="import_upload").upload("s.csv", csv, "text/csv").run()
    at.button(key="import_commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.startswith("Imported s.csv") for s in successes(at)), successes(at)
    assert not any("Importing would insert" in s for s in successes(at))
    assert not [b for b in at.button if b.key == "import_commit"]


def test_the_soa_save_note_survives_the_rerun(app_db):
    at = signed_in("governance_lead", "pages/readiness.py")
    edit = {"edited_rows": {0: {"justification": "Needed for our AI systems"}},
            "added_rows": [], "deleted_rows": []}  # fmt: skip
    at.session_state["soa_editor"] = edit  # what the data editor sends for one edited cell
    at.button(key="soa_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.startswith("Saved the SoA: 1 inserted") for s in successes(at)), successes(at)
    with open_db(app_db) as con:
        assert con.execute(
            "SELECT count(*) FROM soa WHERE justification IS NOT NULL"
        ).fetchone() == (1,)


def test_saving_an_unchanged_soa_says_so_after_the_rerun(app_db):
    at = signed_in("governance_lead", "pages/readiness.py")
    at.button(key="soa_save").click().run()
    assert "Nothing changed in the SoA." in [i.value for i in at.info]


def test_adding_a_user_confirms_after_the_rerun(app_db):
    at = signed_in("admin", "pages/admin.py")
    at.text_input(key="add_user_name").input("newcomer")
    at.text_input(key="add_user_password").input("a-long-enough-password-1")
    at.button(key="add_user_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.startswith("Added newcomer") for s in successes(at)), successes(at)


# --- item 10: the Nonconformities headline says which count it is --------------------------------


def test_nonconformities_headline_matches_the_overview_and_names_all_findings_apart(app_db):
    with open_db(app_db) as con:
        q = known_quarter()
        text = (
            "finding_id,audit_id,audit_type,clause_ref,finding_type,description,raised_on,due_on,owner,status\n"
            f"F3,A1,internal,7.5,observation,Note,{q.start},,Eve,open\n"
            f"F4,A1,internal,8.1,ofi,Idea,{q.start},,Eve,open\n"
        )
        ingest.import_file(con, "findings", text.encode(), "test", file_name="more.csv")
    page = signed_in("executive", "pages/nonconformities.py")
    overview = signed_in("executive")
    assert metric(page, "Open nonconformities") == metric(overview, "Open nonconformities") == "2"
    assert metric(page, "Open findings of all types") == "4"


# --- item 11: Admin → change a user starts at the user's current role ----------------------------


def test_changing_a_user_defaults_to_their_current_role(app_db):
    at = signed_in("admin", "pages/admin.py")
    at.selectbox(key="change_user_name").select(USERS["admin"]).run()
    (role,) = [s for s in at.selectbox if s.label == "New role"]
    assert role.value == auth.Role.ADMIN.value
    at.button(key="change_user_set_role").click().run()  # one click does not demote
    with open_db(app_db) as con:
        assert auth.get_user(con, USERS["admin"]).role == auth.Role.ADMIN
    at.selectbox(key="change_user_name").select(USERS["analyst"]).run()
    (role,) = [s for s in at.selectbox if s.label == "New role"]
    assert role.value == auth.Role.ANALYST.value


def test_saving_a_new_objective_confirms_and_clears_the_new_objective_form(app_db):
    at = signed_in("governance_lead", "pages/objectives.py")
    new = "(new objective)"
    at.text_input(key=f"objective_id_{new}").input("OBJ-9")
    at.text_input(key=f"objective_title_{new}").input("Fewer incidents")
    at.number_input(key=f"objective_target_{new}").set_value(5)
    at.button(key=f"objective_save_{new}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Saved objective OBJ-9." in successes(at)
    (fresh,) = [t for t in at.text_input if t.label == "Id"]
    assert fresh.value == ""  # the next new objective starts from an empty form
