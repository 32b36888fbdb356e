"""Coverage by cycle year (issue 22): the one-pass coverage equals the original per-reference,
per-year loop over every audit, on the demo programme and on random programmes (property test)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aims_metrics.audits import programme as prog
from aims_metrics.tables.registry import control_refs, requirement_refs

REFS = requirement_refs() + control_refs()
SCOPE_ENTRIES = sorted({*REFS, *(r.rsplit(".", 1)[0] for r in REFS if "." in r), "9", "A.6", "10"})
STATUSES = ["planned", "in_progress", "completed", "cancelled"]


def loop_coverage_by_year(programme: prog.Programme) -> pd.DataFrame:
    """The original implementation: references × years × audits, each tested in Python."""
    rows = []
    for entry in programme.coverage:
        for number, first, last in programme.cycle.years():
            scoping = [
                a
                for a in programme.audits
                if a.covers(entry.ref) and first <= a.reference_day(programme.as_of) <= last
            ]
            if any(a.completed_by(programme.as_of) for a in scoping):
                status = prog.COVERED
            elif scoping:
                status = prog.PLANNED
            else:
                status = prog.GAP
            rows.append({"ref": entry.ref, "title": entry.title, "year": number, "status": status})
    return pd.DataFrame(rows, columns=["ref", "title", "year", "status"])


def loop_coverage(audits, refs, cycle, as_of) -> list[tuple[str, str, tuple[str, ...]]]:
    """The original per-reference coverage loop."""
    in_cycle = [
        a for a in audits if a.status != "cancelled" and cycle.contains(a.reference_day(as_of))
    ]
    result = []
    for ref in refs:
        scoping = [a for a in in_cycle if a.covers(ref)]
        done = tuple(a.audit_id for a in scoping if a.completed_by(as_of))
        planned = tuple(a.audit_id for a in scoping if not a.completed_by(as_of))
        status, ids = (
            (prog.COVERED, done) if done else (prog.PLANNED, planned) if planned else (prog.GAP, ())
        )
        result.append((ref, status, ids))
    return result


def assert_same_as_loops(programme: prog.Programme) -> None:
    refs = [e.ref for e in programme.coverage]
    fresh = prog.coverage(programme.audits, refs, programme.cycle, programme.as_of)
    assert [(e.ref, e.status, e.audits) for e in fresh] == loop_coverage(
        programme.audits, refs, programme.cycle, programme.as_of
    )
    pd.testing.assert_frame_equal(
        prog.coverage_by_year(programme).reset_index(drop=True),
        loop_coverage_by_year(programme),
        check_dtype=False,
    )


def test_demo_programme_coverage_by_year_equals_the_loop(demo_db_path):
    from aims_metrics.store import open_db

    with open_db(demo_db_path) as con:
        programme = prog.audit_programme(con, date(2026, 6, 30))
    assert programme.audits, "the demo has an audit programme"
    grid = prog.coverage_by_year(programme)
    assert set(grid["status"]) >= {prog.COVERED, prog.GAP}
    assert_same_as_loops(programme)


START = date(2025, 1, 1)


@st.composite
def audits_strategy(draw):
    count = draw(st.integers(0, 25))
    audits = []
    for n in range(count):
        status = draw(st.sampled_from(STATUSES))
        planned_start = START + timedelta(days=draw(st.integers(-200, 1300)))
        actual_end = planned_start + timedelta(days=draw(st.integers(0, 60)))
        audits.append(
            prog.Audit(
                audit_id=f"A{n:02d}",
                audit_type="internal",
                title="t",
                planned_start=planned_start,
                planned_end=planned_start + timedelta(days=5),
                status=status,
                actual_end=actual_end if status == "completed" else None,
                lead_auditor=None,
                lead_auditor_unit=None,
                team=None,
                auditee_unit=None,
                scope=tuple(draw(st.lists(st.sampled_from(SCOPE_ENTRIES), min_size=1, max_size=4))),
                criteria=None,
                report_on=None,
            )
        )
    return audits


@pytest.mark.slow  # property-based or bootstrap: the edit loop (make test-fast) skips it
@settings(max_examples=60, deadline=None)
@given(audits=audits_strategy(), as_of_days=st.integers(0, 1200))
def test_random_programme_coverage_equals_the_loop(audits, as_of_days):
    cycle = prog.Cycle(START)
    as_of = START + timedelta(days=as_of_days)
    in_cycle = [a for a in audits if cycle.contains(a.reference_day(as_of))]
    entries = prog.coverage(in_cycle, REFS, cycle, as_of)
    programme = prog.Programme(cycle, as_of, None, in_cycle, entries, [], [], [])
    assert_same_as_loops(programme)
