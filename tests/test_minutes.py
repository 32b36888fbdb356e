"""The minutes PDF read back with pypdf and rendered with pdftoppm; determinism; the CLI."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from aims_metrics.demo.review import seed_demo_review
from aims_metrics.metrics import catalog
from aims_metrics.metrics.models import MetricDefinition
from aims_metrics.metrics.periods import Quarter
from aims_metrics.review import actions, assembly, finalise, minutes, records
from aims_metrics.review.minutes import SECTION_HEADINGS, render_minutes
from aims_metrics.review.models import Attendee, Decision, ReviewRecord
from aims_metrics.store import open_db
from aims_metrics.vocabulary.wording import day

REPO = Path(__file__).resolve().parents[1]
Q2, Q3, Q4 = Quarter(2025, 2), Quarter(2025, 3), Quarter(2025, 4)
LEAD = "gl"


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def q3_record() -> ReviewRecord:
    return ReviewRecord(
        quarter="2025Q3",
        held_on=date(2025, 10, 14),
        chair="Dana Whitfield",
        attendees=[
            Attendee(name="Dana Whitfield", role="Chief Executive Officer (chair)"),
            Attendee(name="Zoë Ångström", role="AI Governance Lead"),
        ],
        scope="All AI systems of the group",
        input_b="New supervisory guidance on generative AI (≥ 2 regulators).",
        input_c="Works council asks to be consulted <before> HR models go live & more.",
        input_e="Automate evidence collection for bias tests.",
        decisions=[
            Decision(kind="improvement", text="Roll out automated bias gates to all teams."),
            Decision(kind="change_to_aims", text="Add generative AI to the AIMS scope."),
            Decision(kind="resources", text="Budget for one more internal auditor."),
        ],
    )


@pytest.fixture(scope="module")
def reviewed_db(tmp_path_factory) -> Path:
    """Demo data to 2025Q3, the seeded finalised 2025Q2 review, a finalised 2025Q3 review."""
    from aims_metrics.demo import load_demo

    path = tmp_path_factory.mktemp("minutes") / "demo.duckdb"
    with open_db(path) as con:
        load_demo(con, end_quarter=Q3)
        seed_demo_review(con, Q3)
        records.save_review(con, q3_record(), LEAD)
        actions.add_action(
            con,
            Q3,
            "Extend the AIMS scope document to generative AI",
            "Sam Okafor",
            date(2025, 12, 15),
            LEAD,
        )
        finalise.finalise_review(con, Q3, "chief")
    return path


@pytest.fixture
def db(reviewed_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(reviewed_db, path)
    return path


@pytest.fixture(scope="module")
def final_pdf(reviewed_db: Path) -> bytes:
    with open_db(reviewed_db) as con:
        return records.archived_minutes(con, Q3).pdf


def test_every_section_heading_is_in_the_minutes(final_pdf):
    text = pdf_text(final_pdf)
    for heading in SECTION_HEADINGS:
        assert heading in text, heading
    assert minutes.TITLE in text


def test_kpi_table_has_every_label_and_name_at_version(reviewed_db, final_pdf):
    text = pdf_text(final_pdf)
    with open_db(reviewed_db) as con:
        inputs = assembly.assemble_inputs(con, Q3)
    assert len(inputs.kpis) >= 15
    for kpi in inputs.kpis:
        assert kpi.label in text, kpi.label
        assert kpi.ref in text, kpi.ref
    assert "review_actions_closed_on_time@1" in text
    assert "Change vs previous" in text and "KPI trends over 2024Q2–2025Q3" in text


def test_aging_table_rows_are_in_the_minutes(reviewed_db, final_pdf):
    text = pdf_text(final_pdf)
    with open_db(reviewed_db) as con:
        aging = assembly.assemble_inputs(con, Q3).aging
    assert f"Aging of open findings at {day(Q3.end)}" in text
    lines = [" ".join(line.split()) for line in text.splitlines()]
    joined = " ".join(lines)
    for bucket in aging.buckets:
        counts = " ".join(str(getattr(bucket, t)) for t in assembly.FINDING_TYPES)
        assert f"{bucket.bucket} {counts} {bucket.total}" in joined, bucket
    assert "All open" in joined and str(aging.open_total) in joined


def test_actions_from_the_previous_review_and_new_actions_are_listed(final_pdf):
    text = " ".join(pdf_text(final_pdf).split())
    # input a): the seeded 2025Q2 review's actions, status as of the meeting day 2025-10-14
    assert (
        "3 actions from earlier reviews, status as of 2025-10-14: 1 done, 1 open, 1 overdue" in text
    )
    for action_id in ("MR-2025Q2-01", "MR-2025Q2-02", "MR-2025Q2-03"):
        assert action_id in text
    assert "Publish model cards for all high-risk AI systems" in text
    assert "Note: Model cards published on the intranet" in text
    # 9.3.3: decisions and the new action with owner and due date
    assert (
        "MR-2025Q3-01 Extend the AIMS scope document to generative AI Sam Okafor 2025-12-15" in text
    )
    assert "Add generative AI to the AIMS scope." in text
    assert "Change to the AIMS" in text


def test_meeting_data_identity_and_page_numbers(reviewed_db, final_pdf):
    text = pdf_text(final_pdf)
    pages = page_count(final_pdf)
    assert pages >= 4
    for number in range(1, pages + 1):
        assert f"Page {number} of {pages}" in text
    assert "AIMS-MR-2025Q3-r1" in text and "FINAL" in text and "DRAFT" not in text
    assert "Zoë Ångström" in text and "Dana Whitfield" in text
    assert "(≥ 2 regulators)" in text  # Unicode survives
    assert "<before> HR models go live & more." in text  # markup is escaped, not interpreted
    assert "Date held\n2025-10-14" in text
    with open_db(reviewed_db) as con:
        fingerprint = assembly.assemble_inputs(con, Q3).fingerprint(records.get_review(con, Q3))
    assert f"data fingerprint {fingerprint[:12]}" in text
    info = PdfReader(io.BytesIO(final_pdf)).metadata
    assert fingerprint in info["/Keywords"]
    assert info["/CreationDate"].startswith("D:" + date.today().strftime("%Y"))  # finalised now
    assert "Signature" in text and "Finalised in AIMS Review by chief" in text


def test_same_data_and_record_give_identical_bytes(db):
    with open_db(db) as con:
        archived = records.archived_minutes(con, Q3).pdf
        assert render_minutes(con, Q3) == archived  # re-rendering the final revision
        draft = render_minutes(con, Q4)
        assert render_minutes(con, Q4) == draft


def test_changed_data_changes_the_fingerprint(db):
    with open_db(db) as con:
        before = render_minutes(con, Q4)
        con.execute(
            "INSERT INTO findings (finding_id, audit_id, clause_ref, finding_type, description, "
            "raised_on) VALUES ('NEW', 'IA-X', '8.3', 'major_nc', 'new', '2025-11-01')"
        )
        after = render_minutes(con, Q4)
    assert before != after
    assert (
        pdf_text(before).split("data fingerprint ")[1][:12]
        != pdf_text(after).split("data fingerprint ")[1][:12]
    )


def test_draft_pack_without_a_record_shows_assembled_inputs(db):
    with open_db(db) as con:
        pdf = render_minutes(con, Q4)
    text = pdf_text(pdf)
    for heading in SECTION_HEADINGS:
        assert heading in text, heading
    assert "AIMS-MR-2025Q4-draft" in text and "no review record exists yet" in text
    assert "Not recorded yet: to be completed at the meeting." in text
    # the 2025Q3 review's action and the still-open 2025Q2 actions are carried into 2025Q4
    for action_id in ("MR-2025Q3-01", "MR-2025Q2-02", "MR-2025Q2-03"):
        assert action_id in text
    assert "MR-2025Q2-01" not in text  # closed in 2025Q3, before 2025Q4 started


def test_a_revision_shows_who_when_why(db):
    with open_db(db) as con:
        records.revise_review(con, Q3, "auditor", "chair's title was wrong")
        text = " ".join(pdf_text(render_minutes(con, Q3)).split())
    assert "AIMS-MR-2025Q3-r2" in text and "DRAFT" in text
    assert "Revision 2 of the minutes, created by auditor" in text
    assert "Reason: chair's title was wrong" in text


def test_pages_render_to_non_blank_png(final_pdf, tmp_path):
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    source = tmp_path / "minutes.pdf"
    source.write_bytes(final_pdf)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(source), str(tmp_path / "page")], check=True
    )
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == page_count(final_pdf)
    for image_path in images:
        with Image.open(image_path) as image:
            grey = image.convert("L")
            dark = sum(1 for value in grey.getdata() if value < 200)
            assert dark / (grey.width * grey.height) > 0.01, image_path.name


# --- CLI -----------------------------------------------------------------------------------------


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "aims_metrics", "--db", str(db), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
    )


def test_cli_writes_a_draft_pack_identical_to_the_library(db, tmp_path):
    out = tmp_path / "out" / "q4.pdf"
    out.parent.mkdir()
    result = run_cli(db, "minutes", "--quarter", "2025Q4", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with open_db(db) as con:
        expected = render_minutes(con, Q4)
    assert out.read_bytes() == expected
    assert (
        f"draft AIMS-MR-2025Q4-draft, sha256 {hashlib.sha256(expected).hexdigest()}"
        in result.stdout
    )


def test_cli_writes_the_archived_final_minutes(db, tmp_path):
    out = tmp_path / "q3.pdf"
    result = run_cli(db, "minutes", "--quarter", "2025q3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with open_db(db) as con:
        archived = records.archived_minutes(con, Q3)
    assert out.read_bytes() == archived.pdf
    assert "final AIMS-MR-2025Q3-r1 (archived)" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--quarter", "2025X", "--out", "x.pdf"), 2, "is not a quarter"),
        (
            ("--quarter", "2025Q3", "--out", "x.pdf", "--revision", "7"),
            1,
            "revision 7 of the review of 2025Q3 is not finalised",
        ),
    ],
)
def test_cli_errors(db, tmp_path, args, code, message):
    result = run_cli(db, "minutes", *[a if a != "x.pdf" else str(tmp_path / a) for a in args])
    assert result.returncode == code
    assert message in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_a_kpi_of_another_grain_says_what_span_its_figure_covers(db):
    with open_db(db) as con:
        current = {d.name: d for d in catalog.current_definitions(con)}["incidents_total"]
        monthly = current.model_dump(mode="json", exclude_none=True) | {"grain": "month"}
        catalog.save_definition(
            con, MetricDefinition.model_validate(monthly), "analyst", "monthly view"
        )
        text = pdf_text(render_minutes(con, Q4))
    line = next(line for line in text.splitlines() if "incidents_total@2" in line)
    assert "last month of the quarter" in line
    assert "high_severity_incidents@1 · clause 6.2 ·" not in text  # quarter grain: no note
