"""Settings are declared once in the library (key, default, validation, description) and the
same rules hold in Admin → Settings, `python -m aims_metrics settings` and get_setting."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date
from pathlib import Path

import pytest
from import_helpers import dump_db
from streamlit.testing.v1 import AppTest

from aims_metrics import cli, store
from aims_metrics.store import SettingError, parse_settings
from pages import _ui
from tests.conftest import app_usernames

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIME_LIMIT_MESSAGE = (
    "The metric time limit must be a number of seconds greater than 0 and at most 3600."
)


@pytest.mark.parametrize(
    ("key", "text", "stored"),
    [
        ("organisation_name", "  Acme\u00a0Robotics\t", "Acme\u00a0Robotics"),
        ("aims_scope", "Line one\nline two", "Line one\nline two"),
        ("fiscal_year_start_month", "4", "4"),
        ("fiscal_year_start_month", " 12 ", "12"),
        ("audit_cycle_start", "2025-04-01", "2025-04-01"),
        ("audit_cycle_start", "\t", ""),
        ("metric_time_limit_seconds", "0.5", "0.5"),
        ("metric_time_limit_seconds", "3600", "3600"),
    ],
)
def test_valid_values_are_stored_trimmed(key, text, stored):
    assert parse_settings({key: text}) == {key: stored}


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("organisation_name", "\t \u200b", "The organisation name cannot be empty."),
        ("organisation_name", "Acme\nadmin", "The organisation name cannot contain control"),
        ("aims_scope", "scope\x1b[31m", "The AIMS scope statement cannot contain control"),
        ("fiscal_year_start_month", "0", "a whole number from 1 to 12"),
        ("fiscal_year_start_month", "13", "a whole number from 1 to 12"),
        ("fiscal_year_start_month", "4.0", "a whole number from 1 to 12"),
        ("fiscal_year_start_month", "\u0664", "a whole number from 1 to 12"),  # Arabic-Indic 4
        ("audit_cycle_start", "2025-13-01", "must be a date written YYYY-MM-DD"),
        ("audit_cycle_start", "20250401", "must be a date written YYYY-MM-DD"),
        ("audit_cycle_start", "July", "must be a date written YYYY-MM-DD"),
        ("metric_time_limit_seconds", "0", TIME_LIMIT_MESSAGE),
        ("metric_time_limit_seconds", "-1", TIME_LIMIT_MESSAGE),
        ("metric_time_limit_seconds", "nan", TIME_LIMIT_MESSAGE),
        ("metric_time_limit_seconds", "inf", TIME_LIMIT_MESSAGE),
        ("metric_time_limit_seconds", "3600.5", TIME_LIMIT_MESSAGE),
        ("metric_time_limit_seconds", "thirty", TIME_LIMIT_MESSAGE),
        ("metric_time_limit_seconds", "", TIME_LIMIT_MESSAGE),
    ],
)
def test_invalid_values_are_refused_naming_the_key(key, text, message):
    with pytest.raises(SettingError) as refused:
        parse_settings({key: text})
    (problem,) = refused.value.problems
    assert problem.key == key and message in problem.message
    assert str(refused.value).startswith(f"{key}: ")


def test_every_problem_is_reported_at_once_and_unknown_keys_are_named():
    with pytest.raises(SettingError) as refused:
        parse_settings({"fiscal_year_start_month": "0", "colour": "red", "organisation_name": ""})
    assert [p.key for p in refused.value.problems] == [
        "fiscal_year_start_month",
        "colour",
        "organisation_name",
    ]
    assert "unknown setting" in refused.value.problems[1].message


def test_every_setting_has_a_valid_default_and_a_description():
    for key, declared in store.SETTINGS.items():
        assert declared.description and declared.label, key
        assert parse_settings({key: declared.default}) == {key: declared.default}


def test_set_setting_validates_and_writes_nothing_when_refused(con):
    before = dump_db_of(con)
    with pytest.raises(SettingError, match="metric_time_limit_seconds"):
        store.set_setting(con, "metric_time_limit_seconds", "nan", "tester")
    assert dump_db_of(con) == before


def test_typed_values_and_defaults(con):
    assert store.setting_value(con, "metric_time_limit_seconds") == 30.0
    assert store.setting_value(con, "audit_cycle_start") is None
    store.set_setting(con, "metric_time_limit_seconds", " 2.5 ", "tester")
    store.set_setting(con, "audit_cycle_start", "2025-04-01", "tester")
    store.set_setting(con, "fiscal_year_start_month", "7", "tester")
    assert store.setting_value(con, "metric_time_limit_seconds") == 2.5
    assert store.setting_value(con, "audit_cycle_start") == date(2025, 4, 1)
    assert store.setting_value(con, "fiscal_year_start_month") == 7
    assert store.get_setting(con, "metric_time_limit_seconds") == "2.5"
    actions = [(e["action"], e["target"]) for e in store.audit_entries(con, 3)]
    assert actions == [
        ("setting.update", "fiscal_year_start_month"),
        ("setting.update", "audit_cycle_start"),
        ("setting.update", "metric_time_limit_seconds"),
    ]


def test_a_stored_value_written_before_validation_is_reported_not_used(con):
    con.execute("INSERT INTO settings VALUES ('metric_time_limit_seconds', 'inf')")
    with pytest.raises(SettingError, match=r"metric_time_limit_seconds: .* \(stored: 'inf'\)"):
        store.setting_value(con, "metric_time_limit_seconds")


def dump_db_of(con) -> dict:
    return {
        "settings": con.execute("SELECT * FROM settings ORDER BY key").fetchall(),
        "audit_log": con.execute("SELECT * FROM audit_log ORDER BY entry_id").fetchall(),
    }


# --- the CLI -------------------------------------------------------------------------------------


def run(db: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(["--db", str(db), *argv])
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def test_settings_show_json_prints_every_setting(db_path):
    code, out, _ = run(db_path, "settings", "show", "--format", "json")
    assert code == 0
    shown = json.loads(out)
    assert shown == {key: s.default for key, s in store.SETTINGS.items()}
    assert shown["metric_time_limit_seconds"] == "30"


def test_settings_set_changes_values_and_is_audited(db_path, monkeypatch):
    monkeypatch.setenv("AIMS_USER", "ops")
    code, out, err = run(
        db_path, "settings", "set", "metric_time_limit_seconds=5", "organisation_name=Acme Ltd"
    )
    assert (code, err) == (0, "")
    assert out.splitlines() == ["metric_time_limit_seconds = 5", "organisation_name = Acme Ltd"]
    code, out, _ = run(db_path, "settings", "show", "--format", "json")
    assert json.loads(out)["metric_time_limit_seconds"] == "5"
    assert run(db_path, "settings", "set", "metric_time_limit_seconds=5")[1] == "nothing changed\n"
    with store.open_db(db_path) as con:
        entries = store.audit_entries(con, 10)
    assert [(e["username"], e["action"], e["target"]) for e in entries] == [
        ("ops", "setting.update", "organisation_name"),
        ("ops", "setting.update", "metric_time_limit_seconds"),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["metric_time_limit_seconds=nan"], f"metric_time_limit_seconds: {TIME_LIMIT_MESSAGE}"),
        (["metric_time_limit_seconds=0"], f"metric_time_limit_seconds: {TIME_LIMIT_MESSAGE}"),
        (["colour=red"], "colour: unknown setting; use one of organisation_name"),
        (["organisation_name"], "expected KEY=VALUE, got 'organisation_name'"),
        (["=5"], "expected KEY=VALUE, got '=5'"),
        (
            ["fiscal_year_start_month=4", "fiscal_year_start_month=5"],
            "fiscal_year_start_month is given twice",
        ),
        # all or nothing: the good value is not written either
        (["organisation_name=Acme", "fiscal_year_start_month=13"], "fiscal_year_start_month: "),
    ],
)
def test_settings_set_refuses_bad_input_as_a_usage_error(db_path, argv, message):
    before = dump_db(db_path)
    code, out, err = run(db_path, "settings", "set", *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""
    assert dump_db(db_path) == before


# --- Admin → Settings --------------------------------------------------------------------------


def admin_settings(app_db) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state[_ui.USER_KEY] = app_usernames()["admin"]
    at.run()
    at.switch_page("pages/admin.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def test_admin_page_refuses_a_bad_time_limit_with_the_library_message(app_db):
    at = admin_settings(app_db)
    before = dump_db(app_db)
    at.text_input(key="setting_metric_time_limit").set_value("nan")
    at.button(key="settings_submit").click().run()
    assert [e.value for e in at.error] == [TIME_LIMIT_MESSAGE]
    assert dump_db(app_db) == before


def test_admin_page_saves_the_time_limit(app_db):
    at = admin_settings(app_db)
    at.text_input(key="setting_metric_time_limit").set_value("12.5")
    at.button(key="settings_submit").click().run()
    assert not at.error and [s.value for s in at.success] == ["Settings saved."]
    with store.open_db(app_db) as con:
        assert store.setting_value(con, "metric_time_limit_seconds") == 12.5
        (last,) = store.audit_entries(con, 1)
    assert (last["action"], last["target"]) == ("setting.update", "metric_time_limit_seconds")


def test_save_settings_validates_all_then_stores_only_the_changes(con):
    from aims_metrics.store.settings import save_settings

    with pytest.raises(store.SettingError) as refused:
        save_settings(con, {"organisation_name": "Acme", "fiscal_year_start_month": "13"}, "t")
    assert [p.key for p in refused.value.problems] == ["fiscal_year_start_month"]
    assert store.get_setting(con, "organisation_name") != "Acme"  # nothing stored
    assert save_settings(
        con, {"organisation_name": "Acme", "fiscal_year_start_month": "1"}, "t"
    ) == ["organisation_name"]
    assert save_settings(con, {"organisation_name": "Acme"}, "t") == []
