"""The finish of the PDFs (issue 24, item 14): read back with pypdf or drawn shapes.

The readiness report's document line never sits alone on a last page, its gap register explains
every column, the minutes' KPI sparklines carry a scale, and the audit plan states the shared
criteria once and closes its body with an approval block."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from reportlab.graphics.shapes import String

from aims_metrics.audits import plan_pdf, report_pdf
from aims_metrics.metrics.status import KpiResult, KpiStatus
from aims_metrics.review.minutes import render_minutes
from aims_metrics.review.minutes_charts import _sparkline_cell
from aims_metrics.store import open_db
from aims_metrics.tables import ingest

AS_OF = date(2026, 6, 30)
CRITERIA = "ISO/IEC 42001:2023 (clauses and controls in scope)"


def pages_of(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture
def demo_con(demo_db_path):
    with open_db(demo_db_path) as con:
        yield con


def test_the_readiness_report_names_itself_on_its_first_page(demo_con):
    """The document id and fingerprint come under the title, so no last page holds only them."""
    pages = pages_of(report_pdf.render_readiness_report(demo_con, AS_OF))
    assert f"Document READINESS-{AS_OF}; data fingerprint sha256" in pages[0]
    assert all("data fingerprint sha256" not in page for page in pages[1:])


def test_the_gap_register_has_no_unexplained_column(demo_con):
    text = " ".join(pages_of(report_pdf.render_readiness_report(demo_con, AS_OF)))
    assert "Target v" not in text and "Target date Version" in text
    assert "Effort (days)" in text
    assert "Version: of the remediation plan" in text
    assert re.search(
        r"\d+ gaps without a remediation plan yet, by priority\. (Critical|High|Medium|Low): ", text
    )


def test_readiness_tables_show_words_not_field_values(demo_con):
    text = " ".join(pages_of(report_pdf.render_readiness_report(demo_con, AS_OF)))
    assert " attestation " not in text and "Attestation" in text
    for raw in ("not_started", "major_nc", "in_progress"):  # a metric's name@version may hold them
        assert not re.search(rf"\b{raw}\b", text), raw


def _kpi(quarter: str, value: float | None) -> KpiResult:
    return KpiResult(
        name="incidents_total",
        label="AI incidents",
        description="",
        owner="",
        clause="9.1",
        unit="count",
        direction="lower_is_better",
        target=10,
        version=1,
        quarter=quarter,
        value=value,
        previous_value=None,
        status=KpiStatus.RED,
    )


def test_a_kpi_sparkline_has_a_scale():
    """Its top and bottom value are written beside the plot (0 and 25 here)."""
    shapes = _sparkline_cell([_kpi("2025Q1", 12), _kpi("2025Q2", 25)], 160, 90)
    texts = {s.text for s in shapes if isinstance(s, String)}
    assert {"0", "25"} <= texts


def test_a_kpi_without_data_says_so_once():
    shapes = _sparkline_cell([_kpi("2025Q1", 3), _kpi("2025Q2", None)], 160, 90)
    texts = [s.text for s in shapes if isinstance(s, String)]
    assert not any("no data" in t.lower() and "·" in t for t in texts), texts


@pytest.fixture
def plan_pages(con) -> list[str]:
    ingest.import_file(
        con,
        "audits",
        (
            "audit_id,audit_type,title,planned_start,status,actual_end,scope,criteria\n"
            f"IA-1,internal,First,2026-02-01,completed,2026-02-03,4;5,{CRITERIA}\n"
            f"IA-2,internal,Second,2026-03-01,planned,,9,{CRITERIA}\n"
            f"IA-3,external,Third,2026-04-01,planned,,10,{CRITERIA}\n"
            "IA-4,internal,Supplier audit,2026-05-01,planned,,A.10,Supplier contract clause 7\n"
        ).encode(),
        "tester",
        file_name="audits.csv",
    )
    return pages_of(plan_pdf.render_plan_pdf(con, AS_OF, date(2026, 1, 1)))


def test_the_plan_states_shared_criteria_once(plan_pages):
    text = " ".join(plan_pages)
    assert text.count(CRITERIA) == 1
    assert "Supplier contract clause 7" in text  # the one audit with other criteria says so


def test_the_plan_body_ends_with_an_approval_block(plan_pages):
    """The approval closes the plan's body, before Appendix A (the schedule): at any size of
    schedule the signers find it within the first pages, whole on one page."""
    text = " ".join(plan_pages)
    approval = text.index("Approval Role Name Date Signature")
    assert text.index("Reporting format") < approval < text.index("Appendix A: schedule")
    page = next(p for p in plan_pages if "Approval" in p)
    assert "Prepared by" in page and "Approved by" in page and "Signature" in page


def test_the_plan_names_no_raw_field(plan_pages):
    text = " ".join(plan_pages)
    assert "(report_on)" not in text and "report_on" not in text


def test_the_minutes_name_audit_types_and_bias_tests_in_words(demo_con):
    text = " ".join(pages_of(render_minutes(demo_con, "2026Q2")))
    assert "computed bias tests of the quarter failed" in text  # the section is there
    assert "equalized_odds_difference" not in text and "demographic_parity" not in text
    assert re.search(r"IA-2026Q2 Internal ", text), "the audit type in words"
    assert "(s)" not in text
