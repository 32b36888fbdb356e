"""The Audit programme and Certification readiness pages through AppTest, for every role: the
demo database (a programme with an overdue audit, an SoA with exclusions, attestations, gap
plans) and the hand-made app database (no audits: the empty states)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics import auth
from aims_metrics.audits import readiness
from aims_metrics.auth import Role
from aims_metrics.store import open_db
from tests.conftest import APP_PASSWORD, app_usernames, signed_in_page

USERS = app_usernames()
PROGRAMME, READINESS = "pages/audit_programme.py", "pages/readiness.py"
ROLES = [r.value for r in Role]


@pytest.fixture(scope="module")
def demo_app_template(demo_db_template, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audits-app") / "demo.duckdb"
    shutil.copyfile(demo_db_template, path)
    with open_db(path) as con:
        for role, username in USERS.items():
            auth.add_user(con, username, role, APP_PASSWORD, actor="test")
    return path


@pytest.fixture
def demo_app(demo_app_template, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_app_template, path)
    monkeypatch.setenv("AIMS_DB", str(path))
    monkeypatch.setenv("AIMS_SESSION_KEY", "test-session-key-0123456789")
    return path


def page(role: str, file: str, **state) -> AppTest:
    return signed_in_page(role, file, **state)


def downloads(at: AppTest) -> set[str]:
    return {d.key for d in at.get("download_button")}


@pytest.mark.parametrize("role", ROLES)
def test_programme_page_tells_the_demo_story(demo_app, role):
    at = page(role, PROGRAMME)
    assert at.title[0].value == "Audit programme (9.2.2)"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Overdue"] == "1"
    assert int(metrics["Gaps"]) == 3  # A.9.2–A.9.4: their audit was cancelled
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Overdue") and "IA-SUPPLIERS" in w for w in warnings)
    assert any(w.startswith("Objectivity (9.2.2)") for w in warnings)
    # audits per quarter, coverage heatmap, findings per quarter, audits with most open findings
    assert len(at.get("plotly_chart")) == 4
    assert "programme_plan_csv" in downloads(at)
    assert "programme_plan_pdf" not in downloads(at)  # typeset on demand
    at.button(key="programme_plan_pdf_prepare").click().run()
    assert not at.exception
    assert downloads(at) >= {"programme_plan_pdf", "programme_plan_csv"}
    assert at.selectbox(key="programme_drill").value is not None


def test_programme_drill_down_and_gap_filter(demo_app):
    at = page("executive", PROGRAMME, programme_only_gaps=True)
    first = at.selectbox(key="programme_drill")
    at.selectbox(key="programme_drill").set_value(first.options[0]).run()
    drill = at.dataframe[-1].value
    assert not drill.empty and set(drill["audit_id"]) == {first.options[0]}


def test_programme_type_filter(demo_app):
    at = page("executive", PROGRAMME, programme_type="certification")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Audits in the cycle"] == "1"


@pytest.mark.parametrize("role", ROLES)
def test_readiness_page_for_every_role(demo_app, role):
    at = page(role, READINESS)
    assert at.title[0].value == "Certification readiness"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Readiness score"].endswith("%")
    with open_db(demo_app) as con:
        expected = readiness.readiness(con)
    assert metrics["Blockers"] == str(len(expected.blockers))
    assert metrics["Readiness score"] == f"{expected.score:.0%}"
    assert any("clause requirements are met" in m.value for m in at.markdown)
    assert "gaps_csv" in downloads(at)
    assert "readiness_pdf" not in downloads(at)  # built only when asked for
    buttons = {b.key for b in at.button}
    may_edit = auth.can(role, auth.Action.EDIT_SOA)
    assert ("soa_save" in buttons) is may_edit and ("gaps_save" in buttons) is may_edit
    tables = [tuple(f.value.columns) for f in at.dataframe]
    assert ("clause", "requirement", "status", "judged by", "evidence") in tables
    clauses = next(f.value for f in at.dataframe if "judged by" in f.value.columns)
    assert clauses["status"].tolist() == [
        {"met": "● Met", "partial": "▲ Partial", "gap": "■ Gap"}[r.status]
        for r in expected.requirements
    ]
    read_only_soa = ("control_id", "title", "status", "justification", "owner", "evidence")
    assert (read_only_soa in tables) is (not may_edit)
    at.button(key="readiness_pdf_prepare").click().run()
    assert not at.exception and "readiness_pdf" in downloads(at)


def test_readiness_soa_filter_shows_the_exclusions(demo_app):
    at = page("executive", READINESS, soa_filter_status=["excluded"])
    soa = next(f.value for f in at.dataframe if "justification" in f.value.columns)
    assert sorted(soa["control_id"]) == ["A.10.4", "A.7.3"]
    assert soa["justification"].notna().all()


def test_empty_states_without_audits(app_db):
    at = page("governance_lead", PROGRAMME)
    assert any(i.value.startswith("No audits yet in the cycle") for i in at.info)
    assert not at.metric
    at = page("governance_lead", READINESS)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Controls implemented"] == "0 of 38"


def test_an_admin_sets_the_cycle_start_and_a_bad_date_is_refused(app_db):
    from aims_metrics import store

    at = page("admin", "pages/admin.py")
    at.text_input(key="setting_cycle_start").set_value("2025-13-01")
    at.button(key="settings_submit").click().run()
    assert [e.value for e in at.error] == [
        "The certification cycle start must be a date written YYYY-MM-DD."
    ]
    at.text_input(key="setting_cycle_start").set_value("2025-04-01")
    at.button(key="settings_submit").click().run()
    assert not at.error
    with open_db(app_db) as con:
        assert store.get_setting(con, "audit_cycle_start") == "2025-04-01"
    at = page("executive", PROGRAMME)
    assert "1 April 2025 – 31 March 2028" in " ".join(m.value for m in at.markdown)
