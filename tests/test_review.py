"""Management review (9.3): records, lock and revisions, actions and their carry-forward (input a),
the assembled performance inputs (input d) and the KPI review_actions_closed_on_time."""

from __future__ import annotations

import json
from datetime import date

import pytest

from aims_metrics.demo.review import seed_demo_review
from aims_metrics.metrics.evaluate import catalog_series
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.status import KpiStatus
from aims_metrics.review import actions, assembly, finalise, models, records
from aims_metrics.review.models import (
    ActionState,
    Attendee,
    Decision,
    DecisionKind,
    ReviewError,
    ReviewIncomplete,
    ReviewLocked,
    ReviewRecord,
)

Q1, Q2, Q3, Q4 = (Quarter(2025, n) for n in (1, 2, 3, 4))
LEAD = "gl"


def complete_record(quarter: Quarter, **changes) -> ReviewRecord:
    data = {
        "quarter": quarter.label,
        "held_on": quarter.end,
        "chair": "Dana Whitfield",
        "attendees": [Attendee(name="Dana Whitfield", role="CEO"), Attendee(name="Sam", role="GL")],
        "scope": "All AI systems",
        "input_b": "EU AI Act applies",
        "input_c": "Customers want model cards",
        "input_e": "Automate bias gates",
        "decisions": [Decision(kind=DecisionKind.IMPROVEMENT, text="Gate releases on bias tests")],
    }
    data.update(changes)
    return ReviewRecord(**data)


def audit_actions(con) -> list[tuple[str, str, str]]:
    return con.execute(
        "SELECT username, action, target FROM audit_log ORDER BY entry_id"
    ).fetchall()


# --- records ---------------------------------------------------------------------------------


def test_no_review_yet(con):
    assert records.get_review(con, Q3) is None
    assert records.new_review(con, "2025q3").scope.startswith("The AI management system")


def test_save_creates_then_updates_the_draft_and_audits(con):
    saved = records.save_review(con, complete_record(Q3), LEAD)
    assert (saved.quarter, saved.revision, saved.status) == ("2025Q3", 1, "draft")
    assert saved.attendees[0] == Attendee(name="Dana Whitfield", role="CEO")
    assert saved.decisions == [Decision(kind="improvement", text="Gate releases on bias tests")]
    changed = saved.model_copy(
        update={
            "input_b": "changed",
            "decisions": [*saved.decisions, Decision(kind="resources", text="Hire an auditor")],
        }
    )
    again = records.save_review(con, changed, "other")
    assert again.input_b == "changed"
    assert [d.kind for d in again.decisions] == ["improvement", "resources"]
    assert (again.created_by, again.updated_by) == (LEAD, "other")
    assert audit_actions(con) == [
        (LEAD, "review.create", "review:2025Q3:r1"),
        ("other", "review.update", "review:2025Q3:r1"),
    ]


def test_a_failed_save_changes_nothing(con):
    records.save_review(con, complete_record(Q3), LEAD)
    before = con.execute("SELECT * FROM review_decisions").fetchall()
    stale = complete_record(Q3, revision=2, decisions=[])
    with pytest.raises(ReviewError, match="not the latest"):
        records.save_review(con, stale, LEAD)
    assert con.execute("SELECT * FROM review_decisions").fetchall() == before
    assert len(audit_actions(con)) == 1


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"held_on": None}, "the date the review was held is missing"),
        ({"chair": " "}, "the chair is missing"),
        ({"attendees": []}, "no attendees are recorded"),
        ({"decisions": []}, "no decision is recorded"),
    ],
)
def test_finalise_lists_what_is_missing(con, changes, problem):
    records.save_review(con, complete_record(Q3, **changes), LEAD)
    with pytest.raises(ReviewIncomplete) as error:
        finalise.finalise_review(con, Q3, LEAD)
    assert len(error.value.problems) == 1 and error.value.problems[0].startswith(problem)
    assert records.get_review(con, Q3).status == "draft"
    assert records.archived_minutes(con, Q3) is None


def test_finalise_archives_the_pdf_with_its_sha256_and_locks(con):
    records.save_review(con, complete_record(Q3), LEAD)
    digest = finalise.finalise_review(con, Q3, "chief")
    final = records.get_review(con, Q3)
    assert (final.status, final.finalised_by) == ("final", "chief")
    archived = records.archived_minutes(con, Q3)
    assert archived.sha256 == digest and archived.intact and archived.pdf.startswith(b"%PDF")
    assert (archived.revision, archived.created_by, archived.document_id) == (
        1,
        "chief",
        "AIMS-MR-2025Q3-r1",
    )
    (entry,) = [e for e in audit_actions(con) if e[1] == "review.finalise"]
    assert entry == ("chief", "review.finalise", "review:2025Q3:r1")
    detail = json.loads(
        con.execute("SELECT detail FROM audit_log WHERE action = 'review.finalise'").fetchall()[0][
            0
        ]
    )
    assert detail["sha256"] == digest


def test_a_finalised_review_is_locked(con):
    records.save_review(con, complete_record(Q3), LEAD)
    finalise.finalise_review(con, Q3, LEAD)
    final = records.get_review(con, Q3)
    with pytest.raises(ReviewLocked, match="finalised"):
        records.save_review(con, final.model_copy(update={"input_b": "sneaky"}), LEAD)
    with pytest.raises(ReviewLocked):
        finalise.finalise_review(con, Q3, LEAD)
    with pytest.raises(ReviewLocked):
        actions.add_action(con, Q3, "late action", "Sam", date(2025, 12, 1), LEAD)
    assert records.get_review(con, Q3).input_b == "EU AI Act applies"


def test_revision_copies_the_final_one_and_records_who_when_why(con):
    records.save_review(con, complete_record(Q3), LEAD)
    first_digest = finalise.finalise_review(con, Q3, LEAD)
    with pytest.raises(ReviewError, match="needs a reason"):
        records.revise_review(con, Q3, "auditor", "  ")
    revised = records.revise_review(con, Q3, "auditor", "attendee list incomplete")
    assert (revised.revision, revised.status, revised.revision_reason) == (
        2,
        "draft",
        "attendee list incomplete",
    )
    assert revised.created_by == "auditor" and revised.created_at is not None
    assert revised.decisions == records.get_review(con, Q3, revision=1).decisions
    assert revised.document_id == "AIMS-MR-2025Q3-r2"
    with pytest.raises(ReviewError, match="still a draft"):
        records.revise_review(con, Q3, "auditor", "again")
    edited = revised.model_copy(
        update={"attendees": [*revised.attendees, Attendee(name="Lena", role="Audit")]}
    )
    records.save_review(con, edited, "auditor")
    second_digest = finalise.finalise_review(con, Q3, "auditor")
    assert second_digest != first_digest
    assert [r.revision for r in records.review_revisions(con, Q3)] == [1, 2]
    assert records.archived_minutes(con, Q3, 1).sha256 == first_digest
    assert records.archived_minutes(con, Q3).revision == 2
    assert records.get_review(con, Q3, revision=1).attendees == complete_record(Q3).attendees
    assert ("auditor", "review.revise", "review:2025Q3:r2") in audit_actions(con)


# --- actions and input a) ----------------------------------------------------------------------


def test_actions_need_a_saved_draft_and_their_fields(con):
    with pytest.raises(ReviewError, match="save the review first"):
        actions.add_action(con, Q1, "x", "Sam", date(2025, 5, 1), LEAD)
    records.save_review(con, complete_record(Q1), LEAD)
    with pytest.raises(ReviewError, match="needs a description; an action needs an owner"):
        actions.add_action(con, Q1, " ", "", date(2025, 5, 1), LEAD)
    first = actions.add_action(con, Q1, "Publish model cards", "Priya", date(2025, 5, 1), LEAD)
    second = actions.add_action(con, Q1, "Hire auditor", "Sam", date(2025, 6, 1), LEAD)
    assert [first.action_id, second.action_id] == ["MR-2025Q1-01", "MR-2025Q1-02"]
    assert first.status == "open" and first.closed_on is None
    assert [a.action_id for a in actions.review_actions(con, Q1)] == [
        "MR-2025Q1-01",
        "MR-2025Q1-02",
    ]


@pytest.mark.parametrize(
    ("status", "closed_on", "message"),
    [
        ("done", None, "needs its closing date"),
        ("done", date(2024, 12, 31), "before the review quarter that raised it"),
        ("closed", date(2025, 5, 1), "unknown action status"),
    ],
)
def test_update_action_refuses_bad_input(con, status, closed_on, message):
    records.save_review(con, complete_record(Q1), LEAD)
    action = actions.add_action(con, Q1, "x", "Sam", date(2025, 5, 1), LEAD)
    with pytest.raises(ReviewError, match=message):
        actions.update_action(con, action.action_id, status, closed_on, None, LEAD)
    assert actions.get_action(con, action.action_id).status == "open"


def test_update_action_between_meetings_is_audited_and_reopening_clears_the_date(con):
    records.save_review(con, complete_record(Q1), LEAD)
    finalise.finalise_review(con, Q1, LEAD)
    records.revise_review(con, Q1, LEAD, "add the action we forgot")
    action = actions.add_action(con, Q1, "x", "Sam", date(2025, 5, 1), LEAD)
    done = actions.update_action(con, action.action_id, "done", date(2025, 4, 20), " done ", "sam")
    assert (done.status, done.closed_on, done.closing_note, done.updated_by) == (
        "done",
        date(2025, 4, 20),
        "done",
        "sam",
    )
    reopened = actions.update_action(con, action.action_id, "open", date(2025, 4, 20), None, "sam")
    assert (reopened.status, reopened.closed_on) == ("open", None)
    assert [e for e in audit_actions(con) if e[1] == "review_action.update"] == [
        ("sam", "review_action.update", "MR-2025Q1-01"),
        ("sam", "review_action.update", "MR-2025Q1-01"),
    ]


def test_only_actions_of_the_current_draft_can_be_removed(con):
    records.save_review(con, complete_record(Q1), LEAD)
    kept = actions.add_action(con, Q1, "kept", "Sam", date(2025, 5, 1), LEAD)
    finalise.finalise_review(con, Q1, LEAD)
    records.revise_review(con, Q1, LEAD, "typo")
    with pytest.raises(ReviewError, match="part of finalised minutes"):
        actions.remove_action(con, kept.action_id, LEAD)
    extra = actions.add_action(con, Q1, "extra", "Sam", date(2025, 5, 1), LEAD)
    actions.remove_action(con, extra.action_id, LEAD)
    assert [a.action_id for a in actions.review_actions(con, Q1)] == [kept.action_id]


def carried(con, quarter, as_of=None) -> dict[str, tuple[ActionState, date | None]]:
    return {
        c.action.action_id: (c.state, c.action.closed_on if c.state is ActionState.DONE else None)
        for c in actions.carried_actions(con, quarter, as_of)
    }


def test_actions_carry_forward_until_closed_across_three_quarters(con):
    records.save_review(con, complete_record(Q1), LEAD)
    closed_in_q2 = actions.add_action(con, Q1, "closed in Q2", "Ann", date(2025, 5, 15), LEAD)
    still_open = actions.add_action(con, Q1, "still open", "Bob", date(2025, 8, 15), LEAD)
    assert carried(con, Q1) == {}  # a review never carries its own actions
    finalise.finalise_review(con, Q1, LEAD)

    assert carried(con, Q2) == {
        closed_in_q2.action_id: (ActionState.OVERDUE, None),  # due 05-15, open at 06-30
        still_open.action_id: (ActionState.OPEN, None),
    }
    actions.update_action(con, closed_in_q2.action_id, "done", date(2025, 5, 10), "ok", LEAD)
    assert carried(con, Q2) == {
        closed_in_q2.action_id: (ActionState.DONE, date(2025, 5, 10)),
        still_open.action_id: (ActionState.OPEN, None),
    }
    done = actions.carried_actions(con, Q2)[0]
    assert done.on_time is True

    # Q3: the action closed in Q2 is no longer listed; the open one is, now overdue.
    assert carried(con, Q3) == {still_open.action_id: (ActionState.OVERDUE, None)}
    assert (
        actions.carried_actions(con, Q3)[0].days_overdue
        == (date(2025, 9, 30) - date(2025, 8, 15)).days
    )


def test_status_is_reported_as_of_the_meeting_day(con):
    records.save_review(con, complete_record(Q1), LEAD)
    action = actions.add_action(con, Q1, "x", "Ann", date(2025, 7, 10), LEAD)
    actions.update_action(con, action.action_id, "done", date(2025, 7, 5), None, LEAD)
    # Q2's review held on 2025-07-08, after the quarter: done by then.
    records.save_review(con, complete_record(Q2, held_on=date(2025, 7, 8)), LEAD)
    assert carried(con, Q2) == {action.action_id: (ActionState.DONE, date(2025, 7, 5))}
    # without a meeting date the quarter end is used: the closure had not happened yet.
    assert carried(con, Q2, as_of=Q2.end) == {action.action_id: (ActionState.OPEN, None)}
    # closed during Q3: still listed in Q3 (closed during it), gone from Q4.
    assert action.action_id in carried(con, Q3)
    assert carried(con, Q4) == {}


def test_done_late_is_not_on_time(con):
    records.save_review(con, complete_record(Q1), LEAD)
    action = actions.add_action(con, Q1, "x", "Ann", date(2025, 5, 1), LEAD)
    actions.update_action(con, action.action_id, "done", date(2025, 5, 2), None, LEAD)
    (item,) = actions.carried_actions(con, Q2)
    assert (item.state, item.on_time) == (ActionState.DONE, False)


# --- the KPI review_actions_closed_on_time -------------------------------------------------------


def test_review_actions_closed_on_time_known_answer(con):
    records.save_review(con, complete_record(Q1), LEAD)
    due = {
        "a": date(2025, 5, 10),  # Q2, closed on the due date: on time
        "b": date(2025, 6, 10),  # Q2, closed a day late
        "c": date(2025, 6, 30),  # Q2, still open
        "d": date(2025, 8, 1),  # Q3, closed early
    }
    ids = {k: actions.add_action(con, Q1, k, "Ann", d, LEAD).action_id for k, d in due.items()}
    actions.update_action(con, ids["a"], "done", date(2025, 5, 10), None, LEAD)
    actions.update_action(con, ids["b"], "done", date(2025, 6, 11), None, LEAD)
    actions.update_action(con, ids["d"], "done", date(2025, 4, 1), None, LEAD)
    (series,) = catalog_series(con, [Q1, Q2, Q3, Q4], ["review_actions_closed_on_time"]).values()
    assert [r.value for r in series] == [None, pytest.approx(1 / 3), 1.0, None]
    assert [r.status for r in series] == [
        KpiStatus.NO_DATA,
        KpiStatus.RED,
        KpiStatus.GREEN,
        KpiStatus.NO_DATA,
    ]
    assert series[1].ref == "review_actions_closed_on_time@1" and series[1].problem is None
    assert series[2].previous_value == pytest.approx(1 / 3)


# --- input d) ----------------------------------------------------------------------------------


def add_finding(
    con, finding_id, audit_id, kind, clause, raised, due=None, closed=None, audit_type="internal"
):
    con.execute(
        "INSERT INTO findings (finding_id, audit_id, audit_type, clause_ref, finding_type, "
        "description, raised_on, due_on, closed_on) VALUES (?, ?, ?, ?, ?, 'f', ?, ?, ?)",
        [finding_id, audit_id, audit_type, clause, kind, raised, due, closed],
    )


def test_assembled_inputs_for_audits_and_nonconformities(con):
    add_finding(con, "F1", "IA-1", "major_nc", "8.3", date(2025, 2, 1), date(2025, 3, 1))
    add_finding(
        con, "F2", "IA-1", "minor_nc", "8.3", date(2025, 2, 1), date(2025, 9, 1), date(2025, 8, 1)
    )
    add_finding(con, "F3", "IA-2", "minor_nc", "A.5.2", date(2025, 8, 5), date(2025, 9, 1))
    add_finding(con, "F4", "IA-2", "observation", "6.2", date(2025, 8, 6))
    add_finding(con, "F5", "EX-1", "ofi", "8.3", date(2025, 9, 9), audit_type="surveillance")
    inputs = assembly.assemble_inputs(con, Q3)
    assert [(a.audit_id, a.audit_type, a.findings) for a in inputs.audits] == [
        ("IA-2", "internal", 2),
        ("EX-1", "surveillance", 1),
    ]
    assert inputs.audits[0].first_raised_on == date(2025, 8, 5)
    assert inputs.findings_by_type == {"major_nc": 0, "minor_nc": 1, "observation": 1, "ofi": 1}
    assert [(c.clause_ref, c.total) for c in inputs.findings_by_clause] == [
        ("6.2", 1),
        ("8.3", 1),
        ("A.5.2", 1),
    ]
    assert inputs.findings_by_clause[0].title == "AI objectives and planning to achieve them"
    trend = {n.quarter: n for n in inputs.nonconformity_trend}
    assert len(trend) == models.TREND_QUARTERS and list(trend)[-1] == "2025Q3"
    # Q1: F1 and F2 raised; both open at the end, F1 overdue.
    assert (
        trend["2025Q1"].raised,
        trend["2025Q1"].open_at_end,
        trend["2025Q1"].overdue_at_end,
    ) == (2, 2, 1)
    # Q3: F3 raised, F2 closed after 181 days; F1 and F3 open at the end, both overdue.
    q3 = trend["2025Q3"]
    assert (q3.raised, q3.closed, q3.open_at_end, q3.overdue_at_end) == (1, 1, 2, 2)
    assert q3.mean_days_to_close == (date(2025, 8, 1) - date(2025, 2, 1)).days
    assert inputs.aging.open_total == 4 and inputs.aging.as_of == Q3.end
    assert {k.name for k in inputs.kpis} >= {
        "open_nonconformities",
        "review_actions_closed_on_time",
    }
    assert all(len(s) == models.TREND_QUARTERS for s in inputs.kpi_series.values())


def test_fingerprint_follows_the_data(con):
    first = assembly.assemble_inputs(con, Q3).fingerprint()
    assert assembly.assemble_inputs(con, Q3).fingerprint() == first
    add_finding(con, "F1", "IA-1", "major_nc", "8.3", date(2025, 8, 1))
    assert assembly.assemble_inputs(con, Q3).fingerprint() != first


# --- demo ----------------------------------------------------------------------------------------


def test_demo_seed_gives_the_next_review_done_overdue_and_open_actions(tmp_path):
    from aims_metrics.demo import load_demo
    from aims_metrics.store import open_db

    with open_db(tmp_path / "demo.duckdb") as con:
        load_demo(con, end_quarter=Q3)
        seeded = seed_demo_review(con, Q3)
        assert (seeded.quarter, seeded.status) == ("2025Q2", "final")
        assert records.archived_minutes(con, Q2).intact
        states = [c.state for c in actions.carried_actions(con, Q3)]
        assert states == [ActionState.DONE, ActionState.OVERDUE, ActionState.OPEN]
        assert seed_demo_review(con, Q3) == seeded  # idempotent
        (kpi,) = catalog_series(con, [Q3], ["review_actions_closed_on_time"]).values()
        assert kpi[0].value == pytest.approx(0.5)  # two due in Q3: one on time, one overdue


def test_audit_fingerprint_entry_equals_dataclasses_asdict():
    from dataclasses import asdict, fields
    from datetime import date

    from aims_metrics.review.assembly import AuditHeld, _audit_json

    audit = AuditHeld(
        "A-1", "internal", date(2025, 7, 1), date(2025, 7, 3), 3, {"major_nc": 1, "ofi": 2}
    )
    assert _audit_json(audit) == asdict(audit)
    assert list(_audit_json(audit)) == [f.name for f in fields(AuditHeld)]


def test_the_review_lists_the_twenty_audits_with_most_findings_and_sums_the_rest():
    from types import SimpleNamespace

    from aims_metrics.review import views

    audits = [
        SimpleNamespace(
            audit_id=f"IA-{n:03d}", audit_type="internal", findings=n % 7 + 1,
            first_raised_on=date(2026, 7, 1), by_type={"minor_nc": n % 7 + 1},
        )
        for n in range(45)
    ]  # fmt: skip
    inputs = SimpleNamespace(audits=audits)
    rows = views.audit_rows(inputs)
    listed, rest = views.ranked_audits(inputs)
    assert len(rows) == len(listed) == views.MAX_AUDIT_ROWS
    assert [r["findings"] for r in rows] == sorted((r["findings"] for r in rows), reverse=True)
    assert min(r["findings"] for r in rows) >= max(a.findings for a in rest)
    hidden = sum(a.findings for a in rest)
    assert views.more_audits_line(rest) == f"… and 25 more audits with {hidden} findings."
    assert views.more_audits_line([]) is None
