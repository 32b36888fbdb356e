"""The audit plan and the readiness report at scale (issue 22): on a fraction of the enterprise
data set (hundreds of audits and blockers, more than the reports list) both stay a few pages,
open with their summary tables, and send the reader to the CSV for the whole list. Read back with
pypdf; no wall-clock assert (the machine is shared), the page count is the bound that matters."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from conftest import shared_database
from pypdf import PdfReader

from aims_metrics.audits import plan_pdf, programme, readiness, report_pdf
from aims_metrics.metrics.periods import last_completed_quarter
from aims_metrics.reports.layout import APPENDIX_MAX_ROWS
from aims_metrics.store import open_db

SCALE = 0.15  # ~1,000 audits and ~250 blockers: both lists longer than APPENDIX_MAX_ROWS
MAX_PAGES = 16  # a few pages of summary and sections, then an appendix of APPENDIX_MAX_ROWS rows


@pytest.fixture(scope="session")
def scaled_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fraction of the enterprise data set with its audit programme, built once per run."""

    def build(path: Path) -> None:
        from aims_metrics.demo import generate_enterprise, load_dataset
        from aims_metrics.demo.audits import load_demo_programme

        quarter = last_completed_quarter()
        with open_db(path) as con:
            load_dataset(con, generate_enterprise(quarter, scale_factor=SCALE))
            load_demo_programme(con, quarter, load_dataset)

    return shared_database(tmp_path_factory, f"enterprise-{SCALE}", build)


@pytest.fixture(scope="module")
def scaled(scaled_db: Path):
    """(programme, readiness, plan pages, report pages) as of the last completed quarter."""
    as_of = last_completed_quarter().end
    with open_db(scaled_db) as con:  # read only: the data set is shared
        result = (
            programme.audit_programme(con, as_of),
            readiness.readiness(con, as_of),
            pages_of(plan_pdf.render_plan_pdf(con, as_of)),
            pages_of(report_pdf.render_readiness_report(con, as_of)),
        )
    return result


def pages_of(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_data_set_is_longer_than_the_reports_list(scaled):
    prog, result, _, _ = scaled
    assert len(prog.audits) > APPENDIX_MAX_ROWS
    assert len(result.blockers) > APPENDIX_MAX_ROWS


def test_the_plan_stays_a_few_pages_and_opens_with_its_summary(scaled):
    prog, _, pages, _ = scaled
    assert len(pages) <= MAX_PAGES
    first = pages[0]
    assert "Schedule at a glance" in first and "Quarter Planned Completed Overdue Audits" in first
    total = re.search(r"Total (\d+) ([\d,]+) (\d+) ([\d,]+) (\d+)", " ".join(pages))
    assert total is not None
    assert total.group(4) == f"{len(prog.counted_audits):,}"  # the summary sentence's figure
    assert f"{len(prog.counted_audits):,} audits in the cycle" in first


def test_the_plan_sends_the_reader_to_the_csv_for_the_whole_schedule(scaled):
    prog, _, pages, _ = scaled
    text = " ".join(pages)
    assert f"The schedule holds {len(prog.audits):,} audits, more than this report prints" in text
    assert "audits plan --out FILE.csv" in text
    listed = plan_pdf.needs_attention(prog)
    assert listed and all(a.audit_id in text for a in listed)
    completed = [a for a in prog.audits if a not in listed]
    assert not any(f"{a.audit_id}:" in text for a in completed[:50])  # not printed one by one
    approval, appendix = text.index("Approval"), text.index("Appendix A: schedule")
    assert approval < appendix


def test_the_readiness_report_groups_its_blockers_first(scaled):
    _, result, _, pages = scaled
    assert len(pages) <= MAX_PAGES
    groups = readiness.blocker_groups(result)
    first = pages[0]
    assert "Clause Title Kind Blockers Oldest open since" in first
    assert f"{len(result.blockers):,} blockers:" in first
    oldest = groups.iloc[0]
    assert f"{oldest.clause} " in first and str(oldest.oldest) in first
    text = " ".join(pages)
    assert text.index("Blockers") < text.index("Clause requirements 4.1–10.2")
    assert text.index("Gap register") < text.index("Appendix A: blockers")


def test_the_readiness_report_lists_the_oldest_blockers_within_the_bound(scaled):
    _, result, _, pages = scaled
    text = " ".join(pages)
    appendix = text[text.index("Appendix A: blockers") :]
    assert f"listed here are the first {APPENDIX_MAX_ROWS:,}" in appendix
    assert "readiness --blockers-csv FILE" in appendix
    shown, hidden = result.blockers[:APPENDIX_MAX_ROWS], result.blockers[APPENDIX_MAX_ROWS:]
    assert all(f" {b.id} " in appendix for b in shown[:: max(1, len(shown) // 20)])
    assert not any(f" {b.id} " in appendix for b in hidden if b.kind == "finding")
