"""Certification readiness: each data-judged requirement, attestations, score, verdict, blockers,
the SoA summary and the gap register — small hand-made data sets, answers computed by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from aims_metrics import auth
from aims_metrics.audits import gaps, readiness, soa
from aims_metrics.audits.programme import Cycle
from aims_metrics.audits.readiness import GAP, MET, PARTIAL, Requirement
from aims_metrics.tables import ingest
from aims_metrics.tables.registry import requirement_refs

AS_OF = date(2026, 6, 30)
START = date(2025, 1, 1)


def load(con, table: str, text: str) -> None:
    ingest.import_file(con, table, text.encode(), "tester", file_name=f"{table}.csv")


def judge(con, ref: str, as_of: date = AS_OF) -> tuple[str, str]:
    ctx = readiness.Context(con, as_of, Cycle(START))
    return readiness.JUDGES[ref](ctx)


def by_ref(result) -> dict[str, Requirement]:
    return {r.ref: r for r in result.requirements}


# --- 6.2 objectives ------------------------------------------------------------------------------


def add_objective(con, objective_id: str, owner: str | None) -> None:
    con.execute(
        "INSERT INTO objectives (objective_id, title, metric, target, deadline, owner) "
        "VALUES (?, 'T', 'high_severity_incidents', 0, DATE '2026-12-31', ?)",
        [objective_id, owner],
    )


def test_6_2_objectives(con):
    assert judge(con, "6.2")[0] == GAP
    add_objective(con, "OBJ-1", "Ana")
    assert judge(con, "6.2") == (MET, "1 objective with targets, due dates and owners: OBJ-1.")
    add_objective(con, "OBJ-2", None)
    assert judge(con, "6.2") == (
        PARTIAL,
        "2 objectives; without a target, due date or owner: OBJ-2.",
    )


# --- 8.4 impact assessments ----------------------------------------------------------------------

SYSTEMS = (
    "system_id,name,risk_level,lifecycle_stage,deployed_on,retired_on\n"
    "S1,Credit,high,deployed,2025-01-10,\n"
    "S2,Hiring,high,deployed,2025-02-10,\n"
    "S3,Old,high,retired,2024-01-01,2025-12-31\n"  # retired before as-of: not in service
    "S4,Chat,low,deployed,2025-01-01,\n"  # not high-risk
    "S5,Future,high,development,2026-09-01,\n"  # deployed after as-of
)


def test_8_4_impact_assessments(con):
    assert judge(con, "8.4")[0] == MET  # no high-risk system at all
    load(con, "systems", SYSTEMS)
    assert judge(con, "8.4") == (
        GAP,
        "2 of 2 high-risk systems in service lack a completed impact assessment: S1, S2.",
    )
    load(
        con,
        "assessments",
        "assessment_id,system_id,assessment_type,status,completed_on\n"
        "X1,S1,impact,completed,2025-01-05\n"
        "X2,S2,risk,completed,2025-01-05\n"  # a risk assessment does not count
        "X3,S2,impact,completed,2026-07-15\n"  # completed after as-of
        "X4,S3,impact,planned,\n",
    )
    assert judge(con, "8.4") == (
        PARTIAL,
        "1 of 2 high-risk systems in service lack a completed impact assessment: S2.",
    )
    assert judge(con, "8.4", date(2026, 7, 31)) == (
        MET,
        "All 2 high-risk systems in service have a completed impact assessment: S1, S2.",
    )


# --- 9.1 monitoring ------------------------------------------------------------------------------


def test_9_1_monitoring_without_data_is_a_gap(con):
    status, evidence = judge(con, "9.1")
    assert status == GAP
    assert evidence.startswith("15 of 15 catalog metrics have no data for 2026Q2: ")


def test_9_1_monitoring_names_the_metrics_without_data(demo_db_path):
    from aims_metrics.metrics.evaluate import kpis_for_quarter
    from aims_metrics.metrics.periods import last_completed_quarter
    from aims_metrics.store import open_db

    quarter = last_completed_quarter()
    with open_db(demo_db_path) as con:
        missing = [
            f"{r.label} ({r.ref})" for r in kpis_for_quarter(con, quarter) if r.status == "no_data"
        ]
        status, evidence = judge(con, "9.1", quarter.end)
    assert 0 < len(missing) < 15  # the demo leaves one metric without data
    assert status == PARTIAL
    assert evidence == (
        f"{len(missing)} of 15 catalog metrics {'has' if len(missing) == 1 else 'have'} no data "
        f"for {quarter.label}: {', '.join(missing)}."
    )


# --- 9.2.1 / 9.2.2 internal audits ---------------------------------------------------------------

AUDITS = "audit_id,audit_type,title,planned_start,status,actual_end,scope\n"


@pytest.mark.parametrize("ref", ["9.2.1", "9.2.2"])
def test_9_2_internal_audits(con, ref):
    assert judge(con, ref)[0] == GAP
    load(
        con,
        "audits",
        AUDITS + "E1,certification,Stage 2,2025-05-01,completed,2025-05-03,4;5;6;7;8;9;10\n",
    )
    assert judge(con, ref) == (
        GAP,
        "No completed internal audit in the cycle 2025-01-01 – 2027-12-31 covers a clause requirement.",
    )
    load(con, "audits", AUDITS + "I1,internal,Context,2025-03-01,completed,2025-03-02,4\n")
    status, evidence = judge(con, ref)
    assert status == PARTIAL
    assert evidence.startswith(
        "Completed internal audits (I1) cover 4 of 29 clause requirements; not yet: 5.1, "
    )
    load(con, "audits", AUDITS + "I2,internal,Rest,2026-03-01,completed,2026-03-09,5;6;7;8;9;10\n")
    assert judge(con, ref) == (
        MET,
        "Completed internal audits in the cycle 2025-01-01 – 2027-12-31 cover all 29 clause "
        "requirements (I1, I2).",
    )


# --- 9.3.x management review ----------------------------------------------------------------------


def add_review(con, quarter: str, status: str, held_on: date) -> None:
    con.execute(
        "INSERT INTO reviews (quarter, revision, status, held_on, created_by, created_at) "
        "VALUES (?, 1, ?, ?, 'tester', ?)",
        [quarter, status, held_on, datetime(2020, 1, 1)],
    )


@pytest.mark.parametrize("ref", ["9.3.1", "9.3.2", "9.3.3"])
def test_9_3_management_review(con, ref):
    add_review(con, "2025Q2", "final", date(2025, 6, 30))  # exactly 12 months before: too old
    assert judge(con, ref) == (GAP, "No management review was held in the 12 months to 2026-06-30.")
    add_review(con, "2026Q1", "draft", date(2026, 4, 20))
    assert judge(con, ref) == (
        PARTIAL,
        "The management review of 2026Q1 is still a draft: finalise its minutes.",
    )
    add_review(con, "2025Q3", "final", date(2025, 7, 1))  # 12 months minus a day: recent enough
    assert judge(con, ref) == (
        MET,
        "The management review of 2025Q3 (revision 1), held on 2025-07-01, is finalised.",
    )


# --- 10.2 nonconformities -------------------------------------------------------------------------

FINDINGS = "finding_id,audit_id,clause_ref,finding_type,description,raised_on,due_on,closed_on\n"


def test_10_2_nonconformities(con):
    assert judge(con, "10.2") == (MET, "No nonconformity is open on 2026-06-30.")
    load(
        con,
        "findings",
        FINDINGS + "F1,A,9.2,minor_nc,x,2026-05-01,2026-07-31,\n"
        "F9,A,9.2,observation,obs,2026-01-01,2026-02-01,\n",
    )  # observations never count
    assert judge(con, "10.2") == (
        MET,
        "No major nonconformity open; 1 minor one open, none overdue.",
    )
    load(con, "findings", FINDINGS + "F2,A,8.4,minor_nc,y,2026-04-01,2026-06-29,\n")
    assert judge(con, "10.2") == (PARTIAL, "1 minor nonconformity past its due date: F2.")
    load(
        con, "findings", FINDINGS + "F3,A,4.1,major_nc,z,2026-01-01,,2026-06-30\n"
    )  # closed on as-of
    assert judge(con, "10.2")[0] == PARTIAL
    load(
        con, "findings", FINDINGS + "F4,A,4.1,major_nc,z,2026-01-01,,2026-07-01\n"
    )  # open at as-of
    assert judge(con, "10.2") == (GAP, "1 major nonconformity open on 2026-06-30: F4.")


# --- attestations, score, verdict, blockers --------------------------------------------------------


def test_other_requirements_come_from_attestations(con):
    load(
        con,
        "attestations",
        "ref,status,evidence,owner,reviewed_on\n"
        "5.2,met,AI policy POL-1 approved.,Ana,2026-01-10\n7.2,partial,,,\n",
    )
    reqs = by_ref(readiness.readiness(con, AS_OF, START))
    assert reqs["5.2"] == Requirement(
        "5.2",
        "AI policy",
        MET,
        "AI policy POL-1 approved; owner Ana; reviewed 2026-01-10.",
        "attestation",
    )
    assert (reqs["7.2"].status, reqs["7.2"].evidence) == (PARTIAL, "no evidence named.")
    assert reqs["4.1"].status == GAP and reqs["4.1"].source == "attestation"
    assert (
        reqs["4.1"].evidence
        == "No attestation is recorded: import attestations.csv with the evidence for 4.1."
    )
    assert [r.source for r in reqs.values()].count("data") == 9
    assert list(reqs) == requirement_refs()


def reqs_with(met: int, partial: int, gap: int) -> list[Requirement]:
    statuses = [MET] * met + [PARTIAL] * partial + [GAP] * gap
    return [Requirement(str(n), "", s, "", "data") for n, s in enumerate(statuses)]


@pytest.mark.parametrize(
    ("met", "partial", "gap", "score"),
    [(29, 0, 0, 1.0), (0, 0, 29, 0.0), (20, 6, 3, 0.7931), (28, 1, 0, 0.9828), (0, 29, 0, 0.5)],
)
def test_score_is_met_plus_half_partial_over_29(met, partial, gap, score):
    assert readiness.score(reqs_with(met, partial, gap)) == score


@pytest.mark.parametrize(
    ("counts", "majors", "minors", "verdict"),
    [
        ((29, 0, 0), 0, 0, "ready"),
        ((28, 1, 0), 0, 0, "ready_with_corrections"),
        ((29, 0, 0), 0, 2, "ready_with_corrections"),  # open minor NCs only
        ((28, 0, 1), 0, 0, "not_ready"),
        ((29, 0, 0), 1, 0, "not_ready"),  # an open major NC
        ((27, 1, 1), 0, 3, "not_ready"),
    ],
)
def test_verdict_rules(counts, majors, minors, verdict):
    assert readiness.verdict(reqs_with(*counts), majors, minors) == verdict


def test_blockers_list_open_major_ncs_then_gap_requirements(con):
    load(
        con,
        "findings",
        FINDINGS + "F7,A,8.4,major_nc,z,2026-02-01,,\nF6,A,9.2.2,major_nc,z,2026-01-05,,\n",
    )
    result = readiness.readiness(con, AS_OF, START)
    assert [(b.kind, b.id) for b in result.blockers[:3]] == [
        ("finding", "F6"),
        ("finding", "F7"),
        ("requirement", "4.1"),
    ]
    assert result.blockers[0].text == "Major nonconformity against 9.2.2 open since 2026-01-05."
    gap_refs = [r.ref for r in result.requirements if r.status == GAP]
    assert "10.2" in gap_refs  # a gap because of F6 and F7, which are named once, as findings
    assert [b.id for b in result.blockers if b.kind == "requirement"] == [
        ref for ref in gap_refs if ref != "10.2"
    ]
    assert result.verdict == "not_ready"


def test_each_blocker_is_named_once(con):
    """10.2 is a gap exactly because major NCs are open: the findings are the blockers."""
    load(con, "findings", FINDINGS + "F7,A,8.4,major_nc,z,2026-02-01,,\n")
    ids = [b.id for b in readiness.readiness(con, AS_OF, START).blockers]
    assert len(ids) == len(set(ids))
    assert "F7" in ids and "10.2" not in ids


def test_without_open_majors_a_gap_in_10_2_would_still_block(con):
    """The rule drops 10.2 only while major findings stand for it (never a silent gap)."""
    reqs = [readiness.Requirement("10.2", "Nonconformity", GAP, "x", "data")]
    ctx = readiness.Context(con, AS_OF, readiness.Cycle(START))
    assert [b.id for b in readiness.blockers(ctx, reqs)] == ["10.2"]


def test_blockers_carry_their_clause_and_the_day_they_opened(con):
    load(con, "findings", FINDINGS + "F6,A,9.2.2,major_nc,z,2026-01-05,,\n")
    found = {b.id: b for b in readiness.readiness(con, AS_OF, START).blockers}
    assert (found["F6"].clause, found["F6"].open_since) == ("9.2.2", date(2026, 1, 5))
    assert (found["4.1"].clause, found["4.1"].open_since) == ("4.1", None)
    assert found["F6"].to_json()["open_since"] == "2026-01-05"
    assert found["4.1"].to_json()["open_since"] is None


GROUPED_FINDINGS = FINDINGS + (
    "F6,A,9.2.2,major_nc,z,2026-01-05,,\n"
    "F7,A,8.4,major_nc,z,2025-11-01,,\n"
    "F8,A,9.2.2,major_nc,z,2025-12-01,,\n"
    "F9,A,9.2.2,major_nc,z,2026-03-01,,\n"
    "F10,A,A.6.2.4,major_nc,z,2025-11-01,,\n"
    "F11,A,4.1,major_nc,z,2026-02-01,,\n"
    "F12,A,4.1,minor_nc,z,2025-01-01,,\n"  # a minor NC blocks nothing
)


def test_blocker_groups_count_by_clause_and_kind_oldest_first(con):
    """Counted by hand: 9.2.2 holds F6, F8, F9 (oldest 2025-12-01); 8.4 and A.6.2.4 one each
    from 2025-11-01 (clause order breaks the tie); 4.1 is an open major NC and a requirement
    not met (no date: after every finding, in clause order)."""
    load(con, "findings", GROUPED_FINDINGS)
    result = readiness.readiness(con, AS_OF, START)
    groups = readiness.blocker_groups(result)
    assert list(groups.columns) == ["clause", "kind", "blockers", "oldest"]
    rows = list(groups.itertuples(index=False, name=None))
    assert rows[:5] == [
        ("8.4", "Major NC", 1, date(2025, 11, 1)),
        ("A.6.2.4", "Major NC", 1, date(2025, 11, 1)),
        ("9.2.2", "Major NC", 3, date(2025, 12, 1)),
        ("4.1", "Major NC", 1, date(2026, 2, 1)),
        ("4.1", "Requirement not met", 1, None),
    ]
    requirement_rows = rows[4:]
    gap_refs = [b.id for b in result.blockers if b.kind == "requirement"]
    assert [r[0] for r in requirement_rows] == gap_refs  # clause order, one each
    assert {r[1:] for r in requirement_rows} == {("Requirement not met", 1, None)}
    assert groups["blockers"].sum() == len(result.blockers)


def test_the_blockers_frame_lists_every_blocker_once(con):
    load(con, "findings", GROUPED_FINDINGS)
    result = readiness.readiness(con, AS_OF, START)
    frame = readiness.blockers_frame(result)
    assert list(frame.columns) == ["kind", "id", "clause", "open_since", "description"]
    assert list(frame["id"]) == [b.id for b in result.blockers]
    assert list(frame["id"][:6]) == ["F10", "F7", "F8", "F6", "F11", "F9"]  # raised on, then id
    assert frame.iloc[0].to_dict() == {
        "kind": "Major NC",
        "id": "F10",
        "clause": "A.6.2.4",
        "open_since": date(2025, 11, 1),
        "description": "Major nonconformity against A.6.2.4 open since 2025-11-01.",
    }


def test_no_blockers_give_empty_frames_with_their_columns(con):
    result = readiness.readiness(con, AS_OF, START)
    result.blockers = []
    assert list(readiness.blocker_groups(result).columns) == [
        "clause",
        "kind",
        "blockers",
        "oldest",
    ]
    assert readiness.blockers_frame(result).empty


def test_readiness_json_shape(con):
    doc = readiness.readiness(con, AS_OF, START).to_json()
    assert {"verdict", "score", "requirements", "soa", "blockers", "gaps"} <= set(doc)
    assert set(doc["requirements"][0]) == {"ref", "title", "status", "evidence", "source"}
    assert doc["soa"] == {
        "applicable": 38,
        "excluded": 0,
        "implemented": 0,
        "partial": 0,
        "not_started": 38,
    }
    assert set(doc["blockers"][0]) == {"kind", "id", "text", "clause", "open_since"}


# --- SoA and the gap register ----------------------------------------------------------------------


def test_soa_summary_counts_missing_controls_as_applicable_and_not_started(con):
    load(
        con,
        "soa",
        "control_id,applicable,justification,implementation_status\n"
        "A.10.4,no,No customers,\nA.2.2,yes,,implemented\nA.2.3,true,,partial\nA.7.3,false,In-house data,\n",
    )
    table = soa.soa_table(con)
    assert len(table) == 38 and table["in_soa"].sum() == 4
    assert soa.soa_summary(table) == {
        "applicable": 36,
        "excluded": 2,
        "implemented": 1,
        "partial": 1,
        "not_started": 34,
    }


def test_save_soa_validates_like_an_import_and_needs_a_governance_lead(con):
    frame = soa.soa_table(con).head(2).assign(applicable=[False, True])
    with pytest.raises(auth.PermissionDenied):
        soa.save_soa(con, frame, "exec", "executive")
    with pytest.raises(ingest.ImportRejected) as rejected:
        soa.save_soa(con, frame, "lead", "governance_lead")
    assert [str(p) for p in rejected.value.plan.problems] == [
        "SoA editor:2: justification: justification is required when applicable is false "
        "(6.1.3 asks why each excluded control does not apply)"
    ]
    assert con.execute("SELECT count(*) FROM soa").fetchall()[0][0] == 0
    frame.loc[frame.index[0], "justification"] = "Not used"
    result = soa.save_soa(con, frame, "lead", "governance_lead")
    assert result.counts.inserted == 2
    assert soa.soa_summary(soa.soa_table(con))["excluded"] == 1
    actions = con.execute(
        "SELECT username, action, target FROM audit_log WHERE action = 'data.import'"
    ).fetchall()
    assert actions == [("lead", "data.import", "soa")]


def test_gaps_default_priorities_and_versioned_plans(con):
    result = readiness.readiness(con, AS_OF, START)
    items = {g.ref: g for g in result.gaps}
    assert len(items) == 29 - 2 + 38  # all but 8.4 and 10.2 (nothing to judge: met); every control
    assert (items["4.1"].kind, items["4.1"].status, items["4.1"].priority) == (
        "requirement",
        "gap",
        "critical",
    )
    assert (items["A.2.2"].status, items["A.2.2"].priority, items["A.2.2"].version) == (
        "not_started",
        "medium",
        0,
    )
    plan = {
        "ref": "4.1",
        "priority": "high",
        "owner": "Ana",
        "remediation": "Write it",
        "effort_days": 3,
        "target_date": "2026-09-30",
    }
    with pytest.raises(auth.PermissionDenied):
        gaps.save_gap_plans(con, [plan], "exec", "executive")
    assert gaps.save_gap_plans(con, [plan], "lead", "governance_lead", "first plan") == ["4.1"]
    assert (
        gaps.save_gap_plans(con, [plan], "lead", "governance_lead") == []
    )  # unchanged: no version
    assert gaps.save_gap_plans(con, [{**plan, "effort_days": 5}], "lead", "governance_lead") == [
        "4.1"
    ]
    item = {g.ref: g for g in readiness.readiness(con, AS_OF, START).gaps}["4.1"]
    assert (item.priority, item.owner, item.effort_days, item.target_date, item.version) == (
        "high",
        "Ana",
        5.0,
        date(2026, 9, 30),
        2,
    )
    history = gaps.gap_history(con)
    assert sorted(
        zip(history["version"], history["effort_days"], history["reason"].fillna(""), strict=True)
    ) == [(1, 3.0, "first plan"), (2, 5.0, "")]
    assert (
        con.execute("SELECT count(*) FROM audit_log WHERE action = 'gaps.save'").fetchall()[0][0]
        == 2
    )


def test_gap_plans_are_validated_with_every_problem_at_once(con):
    bad = [
        {"ref": "4.1", "priority": "urgent", "effort_days": -2, "target_date": "soon"},
        {"ref": "A.99", "priority": "low"},
    ]
    with pytest.raises(gaps.GapRegisterRejected) as rejected:
        gaps.save_gap_plans(con, bad, "lead", "governance_lead")
    assert [str(p) for p in rejected.value.problems] == [
        "gap register:2: effort_days: effort_days -2 is negative",
        "gap register:2: priority: 'urgent' is not one of: critical, high, medium, low",
        "gap register:2: target_date: 'soon' is not a valid date (expected YYYY-MM-DD)",
        "gap register:3: ref: unknown clause_ref 'A.99': use an ISO/IEC 42001 clause or Annex A "
        "control such as 9.2 or A.6.2.4",
    ]
    assert con.execute("SELECT count(*) FROM gap_register").fetchall()[0][0] == 0
