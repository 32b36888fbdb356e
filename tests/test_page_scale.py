"""Pages ship what a person looks at (issue 22), through AppTest on a larger-than-demo data set
(tests/scale_data.py): long tables arrive a page at a time with "of N", drill-downs load on
request, charts count instead of drawing one bar per audit, readiness groups its blockers, and
the readiness PDF is typeset only when asked for."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics.audits import programme, readiness
from aims_metrics.metrics import evaluate
from aims_metrics.performance import aging
from aims_metrics.store import open_db
from aims_metrics.vocabulary.status import status_label
from pages import _ui
from tests.conftest import known_quarter, signed_in_page
from tests.scale_data import scaled_enterprise

PAGE = _ui.PAGE_SIZE
MOST_ROWS = 100  # no table of any page sends more rows (the gap register has at most 67)
DASHBOARDS = [p.file for p in _ui.PAGES if p.section == "Dashboards"]


@pytest.fixture(scope="module")
def scaled_template(tmp_path_factory) -> Path:
    return scaled_enterprise(tmp_path_factory)


@pytest.fixture
def scaled_db(scaled_template, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "scaled.duckdb"
    shutil.copyfile(scaled_template, path)
    monkeypatch.setenv("AIMS_DB", str(path))
    monkeypatch.setenv("AIMS_SESSION_KEY", "test-session-key-0123456789")
    return path


@pytest.fixture
def queried(monkeypatch) -> list[str]:
    """The names of the library functions the pages ask `_ui.query` for, in order."""
    names: list[str] = []
    real = _ui.query

    def recording(function, *args, **kwargs):
        names.append(function.__name__)
        return real(function, *args, **kwargs)

    monkeypatch.setattr(_ui, "query", recording)
    return names


def page(file: str, role: str = "admin", **state) -> AppTest:
    return signed_in_page(role, file, timeout=180, **state)


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def says_rows(at: AppTest, total: int) -> bool:
    """A paged table of the page starts "rows 1–50 of N" with N = total."""
    return f"rows 1–{min(PAGE, total):,} of {total:,}" in captions(at)


def chart(at: AppTest, key: str) -> list[dict]:
    """The bar traces of a chart, with x and y as lists (plotly ships arrays base64-encoded)."""
    (found,) = [c for c in at.get("plotly_chart") if key in c.proto.id]
    traces = [t for t in json.loads(found.proto.spec)["data"] if t["type"] == "bar"]
    return [{**t, "x": values(t.get("x")), "y": values(t.get("y"))} for t in traces]


def values(data) -> list:
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data or [])


def bars(traces: list[dict]) -> int:
    """The bars drawn: one per value of each bar trace."""
    return sum(len(t["y"] if t.get("orientation") == "h" else t["x"]) for t in traces)


@pytest.mark.parametrize("file", DASHBOARDS)
def test_no_page_sends_a_long_table(scaled_db, file):
    at = page(file)
    longest = max((len(frame.value) for frame in at.dataframe), default=0)
    assert longest <= MOST_ROWS, f"{file}: a table of {longest} rows"
    assert not at.exception and not at.error


def test_overview_drill_down_loads_on_request_a_page_at_a_time(scaled_db, queried):
    at = page("pages/overview.py")
    assert "metric_records" not in queried  # nothing behind a card is read until asked
    assert not [f for f in at.dataframe if "incident_id" in f.value.columns]
    at.toggle(key="overview_drilldown_show").set_value(True).run()
    at.selectbox(key="overview_drilldown_metric").select("incidents_total").run()
    with open_db(scaled_db) as con:
        records = evaluate.metric_records(con, "incidents_total", known_quarter())
    assert len(records) > 4 * PAGE
    assert says_rows(at, len(records))
    assert f"rows 1–{PAGE} of {len(records):,}" in captions(at)
    shown = next(f.value for f in at.dataframe if "incident_id" in f.value.columns)
    assert list(shown["incident_id"]) == list(records["incident_id"][:PAGE])
    at.number_input(key="overview_drilldown_page").set_value(2).run()
    shown = next(f.value for f in at.dataframe if "incident_id" in f.value.columns)
    assert list(shown["incident_id"]) == list(records["incident_id"][PAGE : 2 * PAGE])
    assert f"rows {PAGE + 1}–{2 * PAGE} of {len(records):,}" in captions(at)
    assert "overview_drilldown_download" in {d.key for d in at.get("download_button")}


def test_nonconformities_lists_open_findings_a_page_at_a_time(scaled_db):
    at = page("pages/nonconformities.py")
    with open_db(scaled_db) as con:
        everything = aging.open_findings(con, known_quarter().end)
    assert len(everything) > PAGE
    assert says_rows(at, len(everything))
    table = next(f.value for f in at.dataframe if "finding_id" in f.value.columns)
    assert len(table) == PAGE


def test_audit_programme_counts_per_quarter_and_pages_through_the_audits(scaled_db):
    at = page("pages/audit_programme.py")
    with open_db(scaled_db) as con:
        result = programme.audit_programme(con, known_quarter().end)
    timeline = chart(at, "programme_timeline")
    assert bars(timeline) <= 60 < len(result.audits)
    per_quarter = sum(sum(t["y"]) for t in timeline)
    assert per_quarter == len(result.audits)  # every audit counted once, cancelled included
    assert says_rows(at, len(result.audits))
    top = chart(at, "programme_top_audits_chart")
    assert len({audit for t in top for audit in t["y"]}) == programme.TOP_AUDITS
    assert max(len(f.value) for f in at.dataframe) <= PAGE

    # a quarter and a unit → their audits
    quarter = at.selectbox(key="programme_quarter").options[1]
    unit = at.selectbox(key="programme_unit").options[1]
    at.selectbox(key="programme_unit").set_value(unit).run()
    at.selectbox(key="programme_quarter").set_value(quarter).run()
    schedule = next(f.value for f in at.dataframe if "planned_start" in f.value.columns)
    assert 0 < len(schedule) <= PAGE
    assert set(schedule["auditee_unit"]) == {unit}


def test_readiness_groups_its_blockers_and_builds_the_pdf_when_asked(scaled_db, queried):
    at = page("pages/readiness.py")
    with open_db(scaled_db) as con:
        expected = readiness.readiness(con, known_quarter().end)
    assert len(expected.blockers) > PAGE
    groups = next(f.value for f in at.dataframe if "blockers" in f.value.columns)
    assert groups["blockers"].sum() == len(expected.blockers)
    assert len(groups) < len(expected.blockers)
    findings = groups[groups["kind"] != "Requirement not met"]
    assert list(findings["oldest"]) == sorted(findings["oldest"])  # oldest first
    assert says_rows(at, len(expected.blockers))  # every blocker, a page at a time
    assert not [m for m in at.markdown if m.value.startswith("- **F-")]  # no list of bullets
    assert "render_readiness_report" not in queried  # no PDF on a plain view
    assert "readiness_pdf" not in {d.key for d in at.get("download_button")}
    at.button(key="readiness_pdf_prepare").click().run()
    assert "render_readiness_report" in queried
    assert "readiness_pdf" in {d.key for d in at.get("download_button")}


# --- the library views behind the pages ------------------------------------------------------


def test_findings_per_quarter_and_top_audits_agree_with_the_records(scaled_template):
    as_of = known_quarter().end
    with open_db(scaled_template) as con:
        result = programme.audit_programme(con, as_of)
        since = result.cycle.start
        per_quarter = programme.findings_by_quarter(con, since, as_of)
        top = programme.top_audits_by_open_findings(con, since, as_of)
        findings = con.execute(
            "SELECT audit_id, closed_on FROM findings WHERE raised_on BETWEEN ? AND ?",
            [since, as_of],
        ).df()
    assert per_quarter["findings"].sum() == len(findings)
    open_ = findings[findings["closed_on"].isna() | (findings["closed_on"] > pd.Timestamp(as_of))]
    most = open_.groupby("audit_id").size().sort_values(ascending=False)
    totals = top.groupby("audit_id", sort=False)["open_findings"].sum()
    assert len(totals) == programme.TOP_AUDITS
    assert list(totals) == sorted(totals, reverse=True)
    assert totals.iloc[0] == most.iloc[0] and totals.iloc[-1] >= most.iloc[programme.TOP_AUDITS]
    counts = programme.audits_by_quarter(
        programme.audit_placement(result), programme.cycle_quarters(result.cycle)
    )
    assert counts.to_numpy().sum() == len(result.audits)
    assert len(counts) in (12, 13)


def test_a_missing_text_reaches_the_browser_as_a_dash():
    """Streamlit draws a null cell as "None" whatever the Styler's na_rep says (seen in Chromium):
    a page of rows carries "—" in its text cells; vocabulary columns still read as words."""
    frame = pd.DataFrame(
        {"owner": ["Ann", None], "status": ["open", None], "none_yet": [None, None]}
    )
    styled = _ui.table_display(frame)
    assert styled.data.to_dict("list") == {
        "owner": ["Ann", "—"],
        "status": ["open", "—"],
        "none_yet": ["—", "—"],
    }
    html = styled.to_html()
    assert status_label("open") in html and "None" not in html
