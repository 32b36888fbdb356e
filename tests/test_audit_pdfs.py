"""The readiness report and the audit plan: read back with pypdf, rendered with pdftoppm,
byte-deterministic, and the plan CSV safe against formula injection; the minutes carry the
audit programme (input 9.3.2 d) 3)."""

from __future__ import annotations

import csv as csv_module
import io
import os
import shutil
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader

from aims_metrics.audits import plan_pdf, programme, readiness, report_pdf
from aims_metrics.metrics.periods import last_completed_quarter
from aims_metrics.review.assembly import assemble_inputs
from aims_metrics.review.minutes import render_minutes
from aims_metrics.store import open_db
from aims_metrics.tables import ingest

AS_OF = date(2026, 6, 30)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def demo_con(demo_db_path):
    with open_db(demo_db_path) as con:
        yield con


def test_the_readiness_report_reads_back(demo_con):
    as_of = last_completed_quarter().end
    pdf = report_pdf.render_readiness_report(demo_con, as_of)
    reader = PdfReader(io.BytesIO(pdf))
    text = text_of(pdf)
    for expected in (
        "Certification readiness report",
        "Not ready for certification",
        "Blockers",
        "Clause requirements 4.1–10.2",
        "Statement of Applicability (Annex A)",
        "Gap register",
        f"READINESS-{as_of}",
        "A.10.4",
        "Excluded",
    ):
        assert expected in text, expected
    assert f"Page 1 of {len(reader.pages)}" in text
    assert "nan" not in text.split()
    assert reader.metadata["/Keywords"].startswith(f"READINESS-{as_of} data-sha256:")


def test_the_audit_plan_reads_back_and_its_csv_is_formula_safe(con):
    ingest.import_file(
        con,
        "audits",
        b"audit_id,audit_type,title,planned_start,status,actual_end,scope,criteria\n"
        b'IA-1,internal,=HYPERLINK("http://x"),2026-02-01,completed,2026-02-03,4;5,ISO/IEC 42001\n'
        b"IA-2,internal,Late one,2026-03-01,planned,,9,ISO/IEC 42001\n",
        "tester",
        file_name="audits.csv",
    )
    pdf = plan_pdf.render_plan_pdf(con, AS_OF, date(2026, 1, 1))
    csv = plan_pdf.render_plan_csv(con, AS_OF, date(2026, 1, 1))
    text = text_of(pdf)
    for expected in (
        "Audit plan",
        "Schedule",
        "IA-1",
        "IA-2",
        "Overdue",
        "Reporting format",
        "AUDIT-PLAN-2026-01-01-2026-06-30",
    ):
        assert expected in text, expected
    lines = csv.decode("utf-8").splitlines()
    assert lines[0].split(",")[:3] == ["audit_id", "audit_type", "title"]
    assert lines[1].startswith('IA-1,internal,"\'=HYPERLINK(""http://x"")"')
    rows = list(csv_module.DictReader(io.StringIO(csv.decode("utf-8"))))
    assert [(r["audit_id"], r["overdue"], r["independence_conflict"]) for r in rows] == [
        ("IA-1", "False", "False"),
        ("IA-2", "True", "False"),
    ]
    assert rows[0]["reporting_format"] == plan_pdf.REPORTING_FORMAT


def test_same_data_same_bytes_and_changed_data_changes_them(demo_con):
    as_of = last_completed_quarter().end
    first = report_pdf.render_readiness_report(demo_con, as_of)
    assert report_pdf.render_readiness_report(demo_con, as_of) == first
    plan = plan_pdf.render_plan_pdf(demo_con, as_of)
    assert plan_pdf.render_plan_pdf(demo_con, as_of) == plan
    demo_con.execute("UPDATE soa SET owner = 'Someone else' WHERE control_id = 'A.2.2'")
    assert report_pdf.render_readiness_report(demo_con, as_of) != first
    demo_con.execute("UPDATE audits SET title = 'Renamed' WHERE audit_id = 'IA-SUPPLIERS'")
    assert plan_pdf.render_plan_pdf(demo_con, as_of) != plan


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None and os.environ.get("CI") != "true",
    reason="pdftoppm is not installed (outside CI; .ci/run installs poppler-utils)",
)
def test_both_pdfs_render_to_png(demo_con, tmp_path):
    as_of = last_completed_quarter().end
    for name, pdf in (
        ("readiness", report_pdf.render_readiness_report(demo_con, as_of)),
        ("plan", plan_pdf.render_plan_pdf(demo_con, as_of)),
    ):
        source = tmp_path / f"{name}.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "40", "-png", str(source), str(tmp_path / name)], check=True
        )
        pages = sorted(tmp_path.glob(f"{name}-*.png"))
        assert len(pages) == len(PdfReader(io.BytesIO(pdf)).pages)
        assert all(p.stat().st_size > 5_000 for p in pages)


def test_the_minutes_report_the_audit_programme(demo_con):
    quarter = last_completed_quarter()
    inputs = assemble_inputs(demo_con, quarter)
    expected = programme.programme_summary(programme.audit_programme(demo_con, quarter.end))
    assert inputs.audit_programme == expected
    assert inputs.fingerprint_data()["audit_programme"] == expected
    text = text_of(render_minutes(demo_con, quarter))
    assert "Audit programme (9.2.2)" in text
    assert "Overdue audits: IA-SUPPLIERS." in " ".join(text.split())


def test_the_demo_plan_counts_first_and_lists_every_audit_in_its_appendix(demo_con):
    """Within the report's bound the schedule is complete: every audit in Appendix A, after the
    counts by quarter and unit whose totals are the summary's 14 counted audits."""
    as_of = last_completed_quarter().end
    p = programme.audit_programme(demo_con, as_of)
    text = " ".join(text_of(plan_pdf.render_plan_pdf(demo_con, as_of)).split())
    glance, appendix = text.index("Schedule at a glance"), text.index("Appendix A: schedule")
    assert glance < text.index("Reporting format") < appendix
    assert "14 audits in the cycle" in text
    assert text.count("Total 3 10 1 14 1") == 2  # by quarter and by auditee unit
    assert all(f"{a.audit_id}:" in text[appendix:] for a in p.audits)
    assert "more than this report prints" not in text


def test_the_demo_readiness_report_groups_and_lists_every_blocker(demo_con):
    as_of = last_completed_quarter().end
    result = readiness.readiness(demo_con, as_of)
    text = " ".join(text_of(report_pdf.render_readiness_report(demo_con, as_of)).split())
    blockers, appendix = text.index("Blockers"), text.index("Appendix A: blockers")
    assert blockers < text.index("Clause requirements 4.1–10.2") < appendix
    needed = [b for b in result.blockers if b.kind == "requirement"]
    oldest = min(b.open_since for b in result.blockers if b.kind == "finding")
    assert (
        f"{len(result.blockers)} blockers: 2 major nonconformities open against 2 clauses or "
        f"controls, the oldest since {oldest} and {len(needed)} requirements not met." in text
    )
    assert "each one is listed in Appendix A" in text
    assert all(f" {b.id} " in text[appendix:] for b in result.blockers)


def test_both_pdfs_render_an_empty_database(con):
    """Nothing imported yet: the plan says what to do next, the readiness report has only
    requirement blockers (no finding, so no oldest date) and lists them all."""
    plan = " ".join(text_of(plan_pdf.render_plan_pdf(con, AS_OF)).split())
    assert "No audits in this cycle yet — import audits.csv." in plan
    assert "Schedule at a glance" not in plan and "Appendix A" not in plan
    assert "Approval" in plan
    report = " ".join(text_of(report_pdf.render_readiness_report(con, AS_OF)).split())
    result = readiness.readiness(con, AS_OF)
    assert (
        f"{len(result.blockers)} blockers: {len(result.blockers)} requirements not met." in report
    )
    assert "Appendix A: blockers" in report
