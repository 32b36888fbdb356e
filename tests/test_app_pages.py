"""Pages against a hand-made database (tests/conftest.py known_data_csv), through AppTest.

Known answers for the default quarter Q: 11 low incidents + 1 high incident detected in Q, 3 in
the quarter before; finding F1 (major NC) open and overdue since before Q, F2 (minor NC) open.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics import auth
from aims_metrics.metrics import catalog
from aims_metrics.store import open_db
from pages import _ui
from tests.conftest import app_usernames, known_quarter

APP = str(Path(__file__).resolve().parents[1] / "app.py")
USERS = app_usernames()


def signed_in(role: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS[role]
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest, column: str):
    """The first dataframe on the page that has `column` (AppTest finds dataframes by position)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")


def cards(at: AppTest) -> dict[str, tuple[str, str | None, str]]:
    """label → (value, delta, status word) for each KPI card, in page order."""
    badges = [m.value for m in at.markdown if "aims-status" in m.value]
    words = [re.search(r"[●▲■○] ([A-Za-z ]+)</span>", b).group(1) for b in badges]
    return {m.label: (m.value, m.delta, word) for m, word in zip(at.metric, words, strict=True)}


def test_overview_shows_known_values_and_statuses(app_db):
    at = signed_in("executive")
    assert at.title[0].value == f"Overview — {known_quarter().label}"
    shown = cards(at)
    assert shown["AI incidents"] == ("12", "+9 vs previous quarter", "Amber")
    assert shown["High-severity AI incidents"][0::2] == ("1", "Amber")
    assert shown["Open major nonconformities"][0::2] == ("1", "Amber")  # green ≤ 0, amber ≤ 1
    assert shown["Open nonconformities"][0] == "2"
    attention = table(at, "What")
    assert "Overdue major nonconformity" in set(attention["What"])
    assert any(item.startswith("F1 ") for item in attention["Item"])


def test_overview_drill_down_lists_the_records(app_db):
    at = signed_in("executive")
    at.toggle(key="overview_drilldown_show").set_value(True).run()
    at.selectbox(key="overview_drilldown_metric").select("high_severity_incidents").run()
    records = table(at, "incident_id")
    assert list(records["incident_id"]) == ["I11"]


def test_nonconformities_page_known_answer(app_db):
    at = signed_in("executive", "pages/nonconformities.py")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Open nonconformities"] == "2" and shown["Overdue nonconformities"] == "1"
    assert shown["Open findings of all types"] == "2"
    findings = table(at, "finding_id")
    assert list(findings["finding_id"]) == ["F1", "F2"]  # overdue first
    assert bool(findings.iloc[0]["overdue"]) is True


GOOD_SYSTEMS = "system_id,name,risk_level\nS9,Fraud model,high\n"
BAD_INCIDENTS = (
    "incident_id,system_id,title,severity,detected_on\n"
    "X1,S404,Unknown system,high,2025-01-05\n"
    "X2,S1,Bad severity,catastrophic,2025-01-06\n"
)


def upload(at: AppTest, table: str, name: str, text: str) -> AppTest:
    at.selectbox(key="import_table").select(table).run()
    at.file_uploader(key="import_upload").upload(name, text.encode(), "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def commit_the_new_system(at: AppTest, app_db) -> None:
    """The preview promises one insert of GOOD_SYSTEMS' S9; the commit writes exactly that."""
    assert "Importing would insert 1, update 0 and leave 0 unchanged" in at.success[0].value
    at.button(key="import_commit").click().run()
    assert not at.exception and not at.error
    with open_db(app_db) as con:
        assert con.execute("SELECT name FROM systems WHERE system_id = 'S9'").fetchall() == [
            ("Fraud model",)
        ]


def test_import_page_accepts_a_good_file(app_db):
    at = upload(
        signed_in("governance_lead", "pages/data_import.py"), "systems", "s.csv", GOOD_SYSTEMS
    )
    commit_the_new_system(at, app_db)
    history = table(at, "who")
    assert history.iloc[0]["file"] == "s.csv" and history.iloc[0]["who"] == USERS["governance_lead"]


def test_import_page_rejects_a_bad_file_with_the_error_table(app_db):
    at = upload(
        signed_in("governance_lead", "pages/data_import.py"), "incidents", "bad.csv", BAD_INCIDENTS
    )
    assert "2 problems in bad.csv: nothing was imported" in at.error[0].value
    problems = table(at, "message")
    assert list(zip(problems["row"], problems["column"], strict=True)) == [
        (2, "system_id"),
        (3, "severity"),
    ]
    assert not [b for b in at.button if b.key == "import_commit"]
    with open_db(app_db) as con:
        assert con.execute(
            "SELECT count(*) FROM incidents WHERE incident_id LIKE 'X%'"
        ).fetchall() == [(0,)]


def workbook(sheets: dict[str, str]) -> bytes:
    """An XLSX workbook with one sheet per CSV text."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, text in sheets.items():
        sheet = book.create_sheet(name)
        for line in text.strip().splitlines():
            sheet.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_import_page_lets_the_user_pick_the_sheet_of_a_workbook(app_db):
    data = workbook({"Notes": "remark\nexported by hand", "Systems": GOOD_SYSTEMS})
    at = signed_in("governance_lead", "pages/data_import.py")
    at.selectbox(key="import_table").select("systems").run()
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    at.file_uploader(key="import_upload").upload("register.xlsx", data, xlsx).run()
    assert at.selectbox(key="import_sheet").options == ["Notes", "Systems"]
    assert at.selectbox(key="import_sheet").value == "Notes"  # the first sheet by default
    assert "nothing was imported" in at.error[0].value  # the notes sheet is not a register
    assert (table(at, "message")["column"] == "system_id").any()
    at.selectbox(key="import_sheet").select("Systems").run()
    commit_the_new_system(at, app_db)
    assert table(at, "who").iloc[0]["file"] == "register.xlsx"


def current_version(app_db, name: str) -> int:
    with open_db(app_db) as con:
        return {d.name: d.version for d in catalog.current_definitions(con)}[name]


def test_metric_editor_refuses_an_invalid_definition(app_db):
    before = current_version(app_db, "incidents_total")
    at = signed_in("analyst", "pages/metrics.py")
    at.selectbox(key="metrics_pick").select("incidents_total").run()
    text = at.text_area(key="metric_yaml_incidents_total").value
    broken = text.replace("source: incidents", "source: no_such_source")
    at.text_area(key="metric_yaml_incidents_total").input(broken).run()
    assert any(": nothing was saved" in e.value for e in at.error)
    problems = table(at, "problem")
    assert any("no_such_source" in message for message in problems["problem"])
    assert not [b for b in at.button if b.key == "metric_yaml_save"]
    assert current_version(app_db, "incidents_total") == before


def test_metric_editor_saves_a_threshold_change_as_a_new_version(app_db):
    before = current_version(app_db, "incidents_total")
    at = signed_in("analyst", "pages/metrics.py")
    at.selectbox(key="metrics_pick").select("incidents_total").run()
    at.number_input(key="metric_green_limit_incidents_total").set_value(12).run()
    preview = table(at, "saved status")
    assert preview.iloc[-1]["status"] == _ui.status_word("green")
    assert preview.iloc[-1]["saved status"] == _ui.status_word("amber")
    at.text_input(key="metric_reason_incidents_total").input("tolerate 12 a quarter").run()
    at.button(key="metric_form_save").click().run()
    assert not at.exception
    assert current_version(app_db, "incidents_total") == before + 1
    overview = signed_in("executive")
    assert cards(overview)["AI incidents"][2] == "Green"


def test_metric_editor_changes_the_grain_and_the_overview_says_what_span_it_shows(app_db):
    at = signed_in("analyst", "pages/metrics.py")
    at.selectbox(key="metrics_pick").select("incidents_total").run()
    at.selectbox(key="metric_grain_incidents_total").select("month").run()
    at.text_input(key="metric_reason_incidents_total").input("monthly view").run()
    at.button(key="metric_form_save").click().run()
    assert not at.exception
    with open_db(app_db) as con:
        saved = {d.name: d for d in catalog.current_definitions(con)}["incidents_total"]
        last_month = known_quarter().end.replace(day=1)
        (in_last_month,) = con.execute(
            "SELECT count(*) FROM incidents WHERE detected_on BETWEEN ? AND ?",
            [last_month, known_quarter().end],
        ).fetchone()
    assert saved.grain.value == "month"
    overview = signed_in("executive")
    assert cards(overview)["AI incidents"][0] == str(in_last_month)
    assert any(
        "incidents_total@" in c.value and "last month of the quarter" in c.value
        for c in overview.caption
    )
    trends = signed_in("executive", "pages/trends.py")
    trends.selectbox(key="trends_metric").select("incidents_total").run()
    assert any("each figure: last month of the quarter" in c.value for c in trends.caption)


@pytest.mark.parametrize("role", ["executive", "governance_lead"])
def test_roles_without_edit_metrics_cannot_save_metrics(app_db, role):
    """The save path itself re-checks the role (a forged rerun cannot reach it)."""
    at = signed_in(role)
    assert not [b for b in at.button if b.key in ("metric_form_save", "metric_yaml_save")]
    with open_db(app_db) as con:
        assert not auth.can(auth.get_user(con, USERS[role]).role, auth.Action.EDIT_METRICS)
