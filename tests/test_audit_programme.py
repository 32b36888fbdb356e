"""The 9.2.2 audit programme: coverage with ref prefixes, cycle boundaries, cancelled audits,
overdue audits, independence conflicts and findings naming no audit — computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from aims_metrics import store
from aims_metrics.audits import programme as prog
from aims_metrics.tables import ingest
from aims_metrics.tables.registry import control_refs, requirement_refs

HEADER = (
    "audit_id,audit_type,title,planned_start,planned_end,status,actual_end,lead_auditor_unit,"
    "auditee_unit,scope"
)
START = date(2025, 1, 1)
AS_OF = date(2026, 6, 30)


def load(con, table: str, text: str):
    plan, _ = ingest.import_file(con, table, text.encode(), "tester", file_name=f"{table}.csv")
    return plan


def audits(con, *rows: str) -> None:
    load(con, "audits", "\n".join([HEADER, *rows]) + "\n")


def statuses(p: prog.Programme) -> dict[str, str]:
    return {e.ref: e.status for e in p.coverage}


NINE = ["9.1", "9.2.1", "9.2.2", "9.3.1", "9.3.2", "9.3.3"]
A6 = ["A.6.1.2", "A.6.1.3", *[f"A.6.2.{n}" for n in range(2, 9)]]


def test_there_are_29_requirements_and_38_controls():
    assert len(requirement_refs()) == 29
    assert requirement_refs()[0] == "4.1" and requirement_refs()[-1] == "10.2"
    assert len(control_refs()) == 38


def test_cycle_is_three_years_with_inclusive_ends():
    cycle = prog.Cycle(START)
    assert cycle.end == date(2027, 12, 31)
    assert cycle.years() == [
        (1, date(2025, 1, 1), date(2025, 12, 31)),
        (2, date(2026, 1, 1), date(2026, 12, 31)),
        (3, date(2027, 1, 1), date(2027, 12, 31)),
    ]
    assert cycle.year_of(date(2024, 12, 31)) is None and cycle.year_of(date(2028, 1, 1)) is None
    assert prog.Cycle(date(2024, 2, 29)).end == date(2027, 2, 27)


def test_prefixes_9_and_a6_cover_every_child(con):
    audits(
        con,
        "A1,internal,Perf and life cycle,2025-03-01,2025-03-05,completed,2025-03-06,IA,Ops,9;A.6",
    )
    p = prog.audit_programme(con, AS_OF, START)
    covered = [ref for ref, s in statuses(p).items() if s == "covered"]
    assert covered == NINE + A6
    assert p.counts == {"covered": 15, "planned": 0, "gap": 29 + 38 - 15}
    entry = next(e for e in p.coverage if e.ref == "9.2.1")
    assert entry.to_json() == {"ref": "9.2.1", "status": "covered", "audits": ["A1"]}


def test_a_prefix_does_not_cover_a_sibling_or_a_longer_number(con):
    audits(con, "A1,internal,Audit,2025-03-01,,completed,2025-03-02,IA,Ops,9.2;A.2")
    s = statuses(prog.audit_programme(con, AS_OF, START))
    assert [ref for ref, v in s.items() if v == "covered"] == [
        "9.2.1",
        "9.2.2",
        "A.2.2",
        "A.2.3",
        "A.2.4",
    ]
    assert s["9.3.1"] == "gap" and s["A.10.2"] == "gap"


@pytest.mark.parametrize(
    ("planned_start", "actual_end", "as_of", "status"),
    [
        ("2024-12-20", "2024-12-31", AS_OF, "gap"),  # the day before the cycle
        ("2024-12-20", "2025-01-01", AS_OF, "covered"),  # the cycle's first day
        ("2027-12-20", "2027-12-31", date(2027, 12, 31), "covered"),  # its last day
        ("2027-12-20", "2028-01-01", date(2028, 1, 5), "gap"),  # after the cycle
        # completed after the as-of date: not completed at as-of, placed by its planned start
        ("2026-06-20", "2026-07-01", AS_OF, "planned"),
        ("2024-12-20", "2026-07-01", AS_OF, "gap"),  # … which is before the cycle
    ],
)
def test_cycle_boundaries(con, planned_start, actual_end, as_of, status):
    audits(con, f"A1,internal,Audit,{planned_start},,completed,{actual_end},IA,Ops,4.1")
    assert statuses(prog.audit_programme(con, as_of, START))["4.1"] == status


def test_cancelled_audits_cover_nothing_and_are_never_overdue(con):
    audits(
        con,
        "A1,internal,Cancelled,2025-03-01,2025-03-05,cancelled,,Ops,Ops,4",
        "A2,internal,Planned,2026-09-01,2026-09-05,planned,,IA,Ops,5.1",
    )
    p = prog.audit_programme(con, AS_OF, START)
    s = statuses(p)
    assert s["4.1"] == "gap" and s["5.1"] == "planned" and s["5.2"] == "gap"
    assert p.overdue == [] and p.independence_conflicts == []
    assert next(e for e in p.coverage if e.ref == "5.1").audits == ("A2",)


def test_overdue_independence_and_type_filter(con):
    audits(
        con,
        "A1,internal,Late,2026-05-01,2026-06-29,in_progress,,IA,Ops,4",  # ends before as-of: overdue
        "A2,internal,Ends today,2026-06-01,2026-06-30,planned,,IA,Ops,5",  # ends on as-of: not yet
        "A3,internal,One day,2026-06-10,,planned,,IA,Ops,6",  # no end: its start counts
        "A4,external,Self-audit,2025-04-01,2025-04-02,completed,2025-04-02,Data Science, data science ,7",
        "A5,internal,Done late,2025-02-01,2025-02-02,completed,2025-03-01,IA,Ops,8",
    )
    p = prog.audit_programme(con, AS_OF, START)
    assert p.overdue == ["A1", "A3"]
    assert p.independence_conflicts == ["A4"]
    assert statuses(p)["7.1"] == "covered" and statuses(p)["4.1"] == "planned"
    internal = prog.audit_programme(con, AS_OF, START, "internal")
    assert [a.audit_id for a in internal.audits] == ["A5", "A1", "A2", "A3"]
    assert statuses(internal)["7.1"] == "gap" and statuses(internal)["8.4"] == "covered"
    assert internal.independence_conflicts == []
    with pytest.raises(ValueError, match="unknown audit type 'annual'"):
        prog.audit_programme(con, AS_OF, START, "annual")


def test_excluded_controls_leave_the_coverage_and_missing_ones_stay(con):
    load(
        con, "soa", "control_id,applicable,justification\nA.10.4,false,No customers\nA.2.2,true,\n"
    )
    refs = [e.ref for e in prog.audit_programme(con, AS_OF, START).coverage]
    assert len(refs) == 29 + 37 and "A.10.4" not in refs and "A.2.2" in refs and "A.9.4" in refs


def test_findings_naming_no_audit_are_listed(con):
    audits(con, "A1,internal,Audit,2025-03-01,,completed,2025-03-02,IA,Ops,4")
    load(
        con,
        "findings",
        "finding_id,audit_id,clause_ref,finding_type,description,raised_on\n"
        "F1,A1,4.1,minor_nc,x,2025-03-02\nF2,OLD-7,4.2,ofi,y,2025-03-02\nF0,OLD-7,4.3,ofi,z,2025-03-02\n",
    )
    assert prog.audit_programme(con, AS_OF, START).findings_without_audit == ["F0", "F2"]


def test_cycle_start_comes_from_the_setting_else_january_first(con):
    assert prog.audit_programme(con, AS_OF).cycle.start == date(2026, 1, 1)
    store.set_setting(con, "audit_cycle_start", "2024-07-01", "tester")
    p = prog.audit_programme(con, AS_OF)
    assert (p.cycle.start, p.cycle.end) == (date(2024, 7, 1), date(2027, 6, 30))
    # set_setting refuses it now; a database written before settings were validated may hold it
    con.execute("UPDATE settings SET value = 'July' WHERE key = 'audit_cycle_start'")
    with pytest.raises(ValueError, match="audit_cycle_start setting 'July' is not a date"):
        prog.audit_programme(con, AS_OF)


def test_coverage_by_year_places_audits_in_their_cycle_year(con):
    audits(
        con,
        "A1,internal,Year 1,2025-03-01,,completed,2025-03-02,IA,Ops,4.1",
        "A2,internal,Year 3,2027-03-01,,planned,,IA,Ops,4.1",
    )
    grid = prog.coverage_by_year(prog.audit_programme(con, AS_OF, START))
    row = grid[grid["ref"] == "4.1"].set_index("year")["status"].to_dict()
    assert row == {1: "covered", 2: "gap", 3: "planned"}
    assert len(grid) == 3 * (29 + 38)


def test_programme_json_and_summary(con):
    audits(
        con,
        "A1,internal,Audit,2025-03-01,,completed,2025-03-02,IA,Ops,4",
        "A2,internal,Late,2026-01-01,2026-01-05,planned,,Ops,Ops,5",
    )
    p = prog.audit_programme(con, AS_OF, START)
    doc = p.to_json()
    assert list(doc) == [
        "cycle_start",
        "cycle_end",
        "as_of",
        "type",
        "audits",
        "coverage",
        "overdue",
        "independence_conflicts",
        "findings_without_audit",
    ]
    assert (doc["overdue"], doc["independence_conflicts"]) == (["A2"], ["A2"])
    assert doc["audits"][0]["scope"] == "4" and doc["audits"][0]["actual_end"] == "2025-03-02"
    assert prog.programme_summary(p) == [
        "Audit programme 2025-01-01 – 2027-12-31: 2 audits in the cycle, 1 completed by 2026-06-30.",
        "Coverage of the 67 clause requirements and applicable Annex A controls: 4 covered, "
        "3 planned only, 60 not in any audit.",
        "Overdue audits: A2.",
        "Audits led from the audited unit (9.2.2 objectivity): A2.",
    ]


# --- summaries for the pages and the PDFs at scale ----------------------------------------------

SUMMARY_AUDITS = (
    "A1,internal,Done,2025-02-01,2025-02-03,completed,2025-02-04,IA,Ops,4",  # 2025Q1 Ops
    "A2,internal,Done too,2025-03-30,2025-04-02,completed,2025-04-02,IA,Ops,5",  # 2025Q2 Ops (ended)
    "A3,internal,Cancelled,2025-03-10,,cancelled,,IA,Risk,6",  # 2025Q1 Risk
    "A4,internal,Late,2026-05-01,2026-06-29,in_progress,,IA,Risk,7",  # 2026Q2 Risk, overdue
    "A5,internal,Ends today,2026-06-01,2026-06-30,planned,,IA,Risk,8",  # 2026Q2 Risk, not yet due
    "A6,internal,Next year,2027-01-15,,planned,,IA,,9",  # 2027Q1, no unit
    # completed after as-of: not completed yet, and overdue since its end is before as-of
    "A7,internal,Finished late,2026-04-01,2026-04-05,completed,2026-07-10,IA,Ops,10",
)


def test_audits_by_quarter_and_unit_count_each_audit_once(con):
    audits(con, *SUMMARY_AUDITS)
    p = prog.audit_programme(con, AS_OF, START)
    frame = prog.audits_by_quarter_and_unit(p, 1)
    assert list(frame.columns) == [
        "quarter",
        "auditee_unit",
        "planned",
        "completed",
        "overdue",
        "cancelled",
    ]
    assert [tuple(r) for r in frame.itertuples(index=False)] == [
        ("2025Q1", "Ops", 0, 1, 0, 0),
        ("2025Q1", "Risk", 0, 0, 0, 1),
        ("2025Q2", "Ops", 0, 1, 0, 0),  # A2 placed by its actual end (2 April)
        ("2026Q2", "Ops", 0, 0, 1, 0),
        ("2026Q2", "Risk", 1, 0, 1, 0),
        ("2027Q1", "—", 1, 0, 0, 0),
    ]
    counted = frame[["planned", "completed", "overdue"]].to_numpy().sum()
    assert counted == len(p.counted_audits) and frame["cancelled"].sum() == len(p.cancelled_audits)
    assert frame["overdue"].sum() == len(p.overdue)
    assert frame["completed"].sum() == len(p.completed_audits)


def test_audits_by_quarter_follow_the_fiscal_year(con):
    audits(con, *SUMMARY_AUDITS)
    p = prog.audit_programme(con, AS_OF, START)
    quarters = prog.audits_by_quarter_and_unit(p, 4)["quarter"].unique().tolist()
    # fiscal years start in April: February 2025 is 2025Q4, A2's actual end (2 April 2025)
    # 2026Q1, May 2026 2027Q1, January 2027 2027Q4
    assert quarters == ["2025Q4", "2026Q1", "2027Q1", "2027Q4"]


def test_audits_by_quarter_of_an_empty_programme(con):
    frame = prog.audits_by_quarter_and_unit(prog.audit_programme(con, AS_OF, START), 1)
    assert frame.empty and list(frame.columns)[2:] == list(prog.SCHEDULE_STATUSES)


SUMMARY_FINDINGS = (
    "finding_id,audit_id,clause_ref,finding_type,description,raised_on,closed_on\n"
    "F1,A1,4.1,minor_nc,x,2025-02-04,2025-03-01\n"  # 2025Q1, closed
    "F2,A1,4.2,minor_nc,x,2025-03-31,\n"  # 2025Q1, open
    "F3,A1,4.3,major_nc,x,2025-04-01,\n"  # 2025Q2, open
    "F4,A2,5.1,ofi,x,2025-04-02,2026-07-01\n"  # 2025Q2, closed after as-of: open at as-of
    "F5,A2,5.2,observation,x,2026-06-30,\n"  # 2026Q2, open (raised on as-of)
    "F6,OLD,5.3,major_nc,x,2026-07-01,\n"  # after as-of: not yet raised
)


EVER = date(1900, 1, 1)  # a window start before any finding


def test_findings_by_quarter_count_per_fiscal_quarter_and_type(con):
    load(con, "findings", SUMMARY_FINDINGS)
    frame = prog.findings_by_quarter(con, EVER, AS_OF)
    assert list(frame.columns) == ["quarter", "finding_type", "findings"]
    assert [tuple(r) for r in frame.itertuples(index=False)] == [
        ("2025Q1", "minor_nc", 2),
        ("2025Q2", "major_nc", 1),
        ("2025Q2", "ofi", 1),
        ("2026Q2", "observation", 1),
    ]
    store.set_setting(con, "fiscal_year_start_month", "4", "test")  # fiscal years from April
    everything = prog.findings_by_quarter(con, EVER, date(2100, 1, 1))
    assert [tuple(r) for r in everything.itertuples(index=False)] == [
        ("2025Q4", "minor_nc", 2),
        ("2026Q1", "major_nc", 1),
        ("2026Q1", "ofi", 1),
        ("2027Q1", "observation", 1),  # 30 June 2026: the last day of fiscal 2027Q1
        ("2027Q2", "major_nc", 1),
    ]


def test_top_audits_by_open_findings(con):
    audits(con, *SUMMARY_AUDITS)
    load(con, "findings", SUMMARY_FINDINGS)
    top = prog.top_audits_by_open_findings(con, EVER, AS_OF)
    assert list(top.columns) == ["audit_id", "finding_type", "open_findings", "findings"]
    assert [tuple(r) for r in top.itertuples(index=False)] == [
        ("A1", "major_nc", 1, 1),
        ("A1", "minor_nc", 1, 2),  # F1 closed before as-of: raised, not open
        ("A2", "observation", 1, 1),
        ("A2", "ofi", 1, 1),  # F4 closed after as-of: open on it
    ]
    assert set(prog.top_audits_by_open_findings(con, EVER, AS_OF, limit=1)["audit_id"]) == {"A1"}
    later = prog.top_audits_by_open_findings(con, EVER, date(2026, 7, 2))  # F4 closed; F6 raised
    totals = later.groupby("audit_id", sort=False)["open_findings"].sum()
    # a finding naming no audit of the programme still counts
    assert list(totals.items()) == [("A1", 2), ("A2", 1), ("OLD", 1)]


@pytest.fixture
def demo_con(demo_db_path):
    with store.open_db(demo_db_path) as connection:
        yield connection


def test_the_demo_summaries_match_a_hand_count(demo_con):
    """The demo programme: 15 audits, one cancelled (IA-USE) and one overdue (IA-SUPPLIERS):
    the 14 counted audits the page, the review and the plan report."""
    from aims_metrics.metrics.periods import last_completed_quarter, quarter_of

    as_of = last_completed_quarter().end
    p = prog.audit_programme(demo_con, as_of)
    frame = prog.audits_by_quarter_and_unit(p, 1)
    totals = frame[list(prog.SCHEDULE_STATUSES)].sum().to_dict()
    assert totals == {"planned": 3, "completed": 10, "overdue": 1, "cancelled": 1}
    assert sum(totals.values()) - totals["cancelled"] == len(p.counted_audits) == 14
    suppliers = next(a for a in p.audits if a.audit_id == "IA-SUPPLIERS")
    row = frame[
        (frame["quarter"] == quarter_of(suppliers.planned_start).label)
        & (frame["auditee_unit"] == suppliers.auditee_unit)
    ]
    assert row["overdue"].tolist() == [1]

    rows = demo_con.execute("SELECT raised_on, finding_type FROM findings").fetchall()
    by_hand: dict[tuple[str, str], int] = {}
    for raised_on, finding_type in rows:
        key = (quarter_of(raised_on).label, finding_type)
        by_hand[key] = by_hand.get(key, 0) + 1
    found = prog.findings_by_quarter(demo_con, EVER, date(2100, 1, 1))
    assert {(q, t): n for q, t, n in found.itertuples(index=False)} == by_hand

    top = prog.top_audits_by_open_findings(demo_con, EVER, as_of, limit=3)
    open_rows = demo_con.execute(
        "SELECT audit_id, count(*) FROM findings WHERE raised_on <= ? AND "
        "(closed_on IS NULL OR closed_on > ?) GROUP BY ALL",
        [as_of, as_of],
    ).fetchall()
    totals = top.groupby("audit_id", sort=False)["open_findings"].sum()
    assert sorted(totals.values, reverse=True)[0] == max(n for _, n in open_rows)
    assert all(totals[a] == n for a, n in open_rows if a in totals.index)


def test_a_summary_sentence_names_eight_audits_and_counts_the_rest(con):
    late = [
        f"L{n:02},internal,Late {n},2026-01-{n:02},2026-01-{n:02},planned,,IA,Ops,4"
        for n in range(1, 13)
    ]
    audits(con, *late)
    lines = prog.programme_summary(prog.audit_programme(con, AS_OF, START))
    assert "Overdue audits: L01, L02, L03, L04, L05, L06, L07, L08 and 4 more." in lines
    assert prog.names_of([f"F{n}" for n in range(1_010)]).endswith("F7 and 1,002 more")
