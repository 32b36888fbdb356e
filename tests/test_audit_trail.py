"""The audit trail: every kind of write records who, when and what; the Admin page and the
`audit-log` CLI read it; nothing in the app can edit it."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics import auth, store
from aims_metrics.metrics import catalog
from aims_metrics.metrics.periods import Quarter
from aims_metrics.performance import objectives
from aims_metrics.review import actions, finalise, models, records
from aims_metrics.store import audit_entries, now, open_db
from aims_metrics.tables import ingest
from pages import _ui
from tests.conftest import app_usernames

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "audit password 1"
Q = Quarter(2025, 2)


def last_entry(con) -> dict:
    (entry,) = audit_entries(con, 1)
    assert now() - timedelta(minutes=1) <= entry["logged_at"] <= now(), entry["logged_at"]
    entry["detail"] = json.loads(entry["detail"])
    return entry


def who_what(entry: dict) -> tuple[str, str, str]:
    return entry["username"], entry["action"], entry["target"]


@pytest.fixture
def people(con):
    auth.add_user(con, "root", "admin", PASSWORD, actor="system")
    return con


def test_import_is_audited(con):
    ingest.import_file(
        con, "systems", b"system_id,name,risk_level\nS1,Scorer,high\nS2,Chat,low\n", "gina",
        file_name="systems.csv",
    )  # fmt: skip
    entry = last_entry(con)
    assert who_what(entry) == ("gina", "data.import", "systems")
    assert entry["detail"]["inserted"] == 2 and entry["detail"]["file"] == "systems.csv"


def test_mapping_preset_is_audited(con):
    ingest.save_mapping_preset(con, "systems", "erp", {"Name": "name"}, "gina")
    assert who_what(last_entry(con)) == ("gina", "mapping_preset.save", "systems/erp")


def test_metric_edit_is_audited(con):
    (current,) = [d for d in catalog.current_definitions(con) if d.name == "incidents_total"]
    version = catalog.save_definition(
        con, current.model_copy(update={"target": 7}), "ana", "tighter target"
    )
    entry = last_entry(con)
    assert who_what(entry) == ("ana", "metric.save", "incidents_total")
    assert entry["detail"]["version"] == version and entry["detail"]["reason"] == "tighter target"
    catalog.restore_version(con, "incidents_total", current.version, "ana", "undo")
    entry = last_entry(con)
    assert who_what(entry) == ("ana", "metric.save", "incidents_total")
    assert entry["detail"]["reason"] == f"restored version {current.version}: undo"


def test_objective_edit_and_delete_are_audited(con):
    objective = objectives.Objective(
        objective_id="OBJ-1", title="Fewer incidents", metric="incidents_total", target=5,
        deadline=date(2026, 12, 31),
    )  # fmt: skip
    objectives.save_objective(con, objective, "gina")
    assert who_what(last_entry(con)) == ("gina", "objective.save", "OBJ-1")
    objectives.save_objective(con, objective.model_copy(update={"target": 4}), "gina")
    assert who_what(last_entry(con)) == ("gina", "objective.save", "OBJ-1")
    objectives.delete_objective(con, "OBJ-1", "gina")
    assert who_what(last_entry(con)) == ("gina", "objective.delete", "OBJ-1")


def test_review_changes_are_audited(con):
    record = records.new_review(con, Q).model_copy(
        update={
            "held_on": date(2025, 7, 10),
            "chair": "Chair",
            "attendees": [models.Attendee(name="A", role="CEO")],
            "decisions": [models.Decision(kind="improvement", text="Keep going")],
        }
    )
    saved = records.save_review(con, record, "gina")
    entry = last_entry(con)
    assert entry["username"] == "gina" and entry["action"].startswith("review.")
    assert entry["target"] == f"review:{Q.label}:r1" and entry["detail"]["decisions"] == 1
    records.save_review(con, saved.model_copy(update={"input_b": "changed"}), "gina")
    assert who_what(last_entry(con)) == ("gina", "review.update", f"review:{Q.label}:r1")

    action = actions.add_action(con, Q, "Train staff", "Owner", date(2025, 12, 31), "gina")
    assert who_what(last_entry(con))[:2] == ("gina", "review_action.add")
    actions.update_action(con, action.action_id, "done", date(2025, 8, 1), "trained", "gina")
    assert who_what(last_entry(con))[:2] == ("gina", "review_action.update")
    extra = actions.add_action(con, Q, "Withdraw me", "Owner", date(2025, 12, 31), "gina")
    actions.remove_action(con, extra.action_id, "gina")
    assert who_what(last_entry(con))[:2] == ("gina", "review_action.remove")

    finalise.finalise_review(con, Q, "lead")
    assert who_what(last_entry(con))[:2] == ("lead", "review.finalise")
    records.revise_review(con, Q, "lead", "auditor asked for a correction")
    entry = last_entry(con)
    assert who_what(entry)[:2] == ("lead", "review.revise")
    assert "auditor asked for a correction" in json.dumps(entry["detail"])


def test_user_changes_are_audited(people):
    con = people
    steps = [
        (lambda: auth.add_user(con, "bob", "executive", PASSWORD, actor="root"), "user.add"),
        (lambda: auth.set_role(con, "bob", "analyst", actor="root"), "user.set_role"),
        (
            lambda: auth.set_password(con, "bob", "new " + PASSWORD, actor="root"),
            "user.set_password",
        ),
        (lambda: auth.disable_user(con, "bob", actor="root"), "user.disable"),
        (lambda: auth.enable_user(con, "bob", actor="root"), "user.enable"),
    ]
    for step, action in steps:
        step()
        assert who_what(last_entry(con)) == ("root", action, "bob")
    for _ in range(auth.MAX_FAILED_ATTEMPTS):
        auth.authenticate(con, "bob", "wrong password!")
    assert who_what(last_entry(con)) == ("bob", "user.locked", "bob")


def test_settings_change_is_audited(con):
    store.set_setting(con, "organisation_name", "Acme", "root")
    entry = last_entry(con)
    assert who_what(entry) == ("root", "setting.update", "organisation_name")
    assert entry["detail"] == {"value": "Acme"}


def test_restore_is_audited(db_path, tmp_path):
    backup = tmp_path / "backup.duckdb"
    store.backup_database(db_path, backup)
    store.restore_database(db_path, backup, "ops")
    with open_db(db_path) as con:
        entry = last_entry(con)
    assert who_what(entry) == ("ops", "database.restore", str(db_path))
    assert entry["detail"]["from"] == "backup.duckdb"


def test_a_failed_write_leaves_no_audit_entry(con):
    """The entry is written in the write's own transaction: no change, no entry (and vice versa)."""
    before = audit_entries(con)
    with pytest.raises(ingest.ImportRejected):
        ingest.import_file(
            con, "systems", b"system_id,name,risk_level\nS1,Scorer,catastrophic\n", "gina",
            file_name="bad.csv",
        )  # fmt: skip
    with pytest.raises(auth.UserError):
        auth.set_role(con, "ghost", "admin", actor="root")
    assert audit_entries(con) == before


# --- reading the trail -------------------------------------------------------------------------


def test_admin_page_shows_the_trail_read_only(app_db):
    with open_db(app_db) as con:
        store.set_setting(con, "organisation_name", "Audited Ltd", "someone")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[_ui.USER_KEY] = app_usernames()["admin"]
    at.run()
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    (table,) = [f.value for f in at.dataframe if "action" in f.value.columns]
    assert {"logged_at", "username", "action", "target", "detail"} <= set(table.columns)
    assert ("someone", "setting.update") in set(
        zip(table["username"], table["action"], strict=True)
    )
    assert not at.get("data_editor") and not at.get("arrow_data_frame_editor")
    assert not [b for b in at.button if "audit" in (b.key or "")]
    captions = " ".join(c.value for c in at.caption)
    assert "the log cannot be edited here" in captions


def test_cli_audit_log_prints_the_trail(db_path):
    with open_db(db_path) as con:
        store.set_setting(con, "organisation_name", "Audited Ltd", "someone")
        auth.add_user(con, "bob", "analyst", PASSWORD, actor="someone")
    env = {k: v for k, v in os.environ.items() if k != "AIMS_DB"}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "aims_metrics", "--db", str(db_path), "audit-log", *args],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    table = run()
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert re.search(r"someone\s+user\.add\s+bob", lines[0])  # newest first
    assert re.search(r"someone\s+setting\.update\s+organisation_name", lines[1])
    assert PASSWORD not in table.stdout
    as_json = run("--format", "json", "--limit", "1")
    (entry,) = json.loads(as_json.stdout)
    assert (entry["username"], entry["action"], entry["target"]) == ("someone", "user.add", "bob")
    datetime.fromisoformat(entry["logged_at"])


# --- nobody edits the trail -------------------------------------------------------------------

AUDIT_WRITE = re.compile(
    r"\b(UPDATE|DELETE\s+FROM|TRUNCATE|DROP\s+TABLE|ALTER\s+TABLE|INSERT\s+(OR\s+\w+\s+)?INTO)"
    r"\s+(main\.)?\"?audit_log\b",
    re.I,
)


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_page_writes_to_the_audit_log():
    files = sorted((REPO / "pages").glob("*.py")) + [REPO / "app.py"]
    for path in files:
        source = path.read_text("utf-8")
        assert not AUDIT_WRITE.search(source), path.name
        assert "record_audit" not in source, f"{path.name}: pages write through the library"
        for lineno, text in _string_constants(path):
            assert not AUDIT_WRITE.search(text), f"{path.name}:{lineno}"


def test_only_record_audit_and_the_schema_touch_the_audit_log_in_the_library():
    """The library appends (record_audit) and creates the table; nothing updates or deletes."""
    for path in sorted((REPO / "aims_metrics").rglob("*.py")):
        for lineno, text in _string_constants(path):
            match = AUDIT_WRITE.search(text)
            if match:
                assert match.group(1).upper().startswith("INSERT"), f"{path.name}:{lineno}: {text}"
                assert path.parent.name == "store", (
                    f"{path.name}:{lineno} writes audit_log directly"
                )


def test_the_pattern_catches_edits():
    for sql in (
        "UPDATE audit_log SET username = 'x'",
        "delete from audit_log where 1=1",
        'DELETE FROM "audit_log"',
        "DROP TABLE audit_log",
        "TRUNCATE audit_log",
    ):
        assert AUDIT_WRITE.search(sql), sql
