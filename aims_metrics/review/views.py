"""The management review's tables, built once from the assembled inputs and the record: rows of
plain values with reader-facing column names, for the page (and for the minutes and the CLI).

No formatting beyond what the reader must see the same everywhere (values with their units, the
change against the previous quarter, status words); each renderer draws the rows its own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aims_metrics.metrics.formatting import format_change, format_value
from aims_metrics.review.assembly import ReviewInputs
from aims_metrics.review.models import DecisionKind, ReviewAction, ReviewRecord
from aims_metrics.vocabulary.wording import count_of

Row = dict[str, Any]

KIND_TITLES: dict[str, str] = {kind.value: kind.title for kind in DecisionKind}


def carried_action_rows(inputs: ReviewInputs, reminders_sent: Mapping[str, int]) -> list[Row]:
    """a) Actions from earlier reviews: open ones, and those closed in the quarter."""
    return [
        {
            "action": c.action.action_id,
            "description": c.action.description,
            "owner": c.action.owner,
            "due": c.action.due_on,
            "status": c.state.value,
            "reminders sent": reminders_sent.get(c.action.action_id, 0),
            "closed on": c.action.closed_on if c.state.value == "done" else None,
            "note": c.action.closing_note or "",
        }
        for c in inputs.carried
    ]


def nonconformity_trend_rows(inputs: ReviewInputs) -> list[Row]:
    """d) 1. Nonconformities raised, closed, open and overdue per quarter."""
    return [
        {
            "quarter": n.quarter,
            "raised": n.raised,
            "closed": n.closed,
            "open at end": n.open_at_end,
            "overdue at end": n.overdue_at_end,
            "mean days to close": n.mean_days_to_close,
        }
        for n in inputs.nonconformity_trend
    ]


def aging_rows(inputs: ReviewInputs) -> list[Row]:
    """d) 1. Open findings by age bucket and type at the as-of day."""
    return [bucket.model_dump() for bucket in inputs.aging.buckets]


def kpi_rows(inputs: ReviewInputs, status_word: Any = None) -> list[Row]:
    """d) 2. Every KPI of the quarter with target, status and change vs the previous quarter.
    `status_word(status)` renders the status (default: its value)."""
    word = status_word or (lambda status: status)
    return [
        {
            "metric": k.label,
            "name@version": k.ref,
            "value": format_value(k.value, k.unit),
            "target": format_value(k.target, k.unit) if k.target is not None else "",
            "status": word(k.status.value),
            "change vs previous quarter": format_change(
                k.value, k.previous_value, k.unit, k.direction
            ),
        }
        for k in inputs.kpis
    ]


def objective_rows(inputs: ReviewInputs) -> list[Row]:
    """d) 2. Objectives (6.2) with progress (percent) and deadline."""
    return [
        {
            "objective": p.objective.title,
            "metric": p.objective.metric,
            "status": p.status.value.replace("_", " "),
            "progress": None if p.progress is None else round(p.progress * 100),
            "deadline": p.objective.deadline,
        }
        for p in inputs.objectives
    ]


MAX_AUDIT_ROWS = 20  # the audits with the most findings; the rest in one line


def ranked_audits(inputs: ReviewInputs) -> tuple[list, list]:
    """d) 3. The audits that raised findings in the quarter, most findings first: the first
    MAX_AUDIT_ROWS to list, and the rest to sum in one line (a large organisation holds hundreds
    of audits a quarter)."""
    ranked = sorted(inputs.audits, key=lambda a: (-a.findings, a.first_raised_on, a.audit_id))
    return ranked[:MAX_AUDIT_ROWS], ranked[MAX_AUDIT_ROWS:]


def more_audits_line(rest: list) -> str | None:
    """The one line that sums the audits not listed."""
    if not rest:
        return None
    findings = sum(a.findings for a in rest)
    return f"… and {count_of(len(rest), 'more audit')} with {count_of(findings, 'finding')}."


def audit_rows(inputs: ReviewInputs) -> list[Row]:
    """d) 3. Findings raised in the quarter per audit, by type (the listed audits)."""
    return [
        {"audit": a.audit_id, "type": a.audit_type, "findings": a.findings, **a.by_type}
        for a in ranked_audits(inputs)[0]
    ]


def clause_rows(inputs: ReviewInputs) -> list[Row]:
    """d) 3. Findings raised in the quarter per clause, by type."""
    return [
        {"clause": c.clause_ref, "title": c.title, **c.by_type, "total": c.total}
        for c in inputs.findings_by_clause
    ]


def decision_rows(record: ReviewRecord | None) -> list[Row]:
    """9.3.3 decisions, numbered, with the one wording of their kind."""
    if record is None:
        return []
    return [
        {"no.": number, "kind": KIND_TITLES[d.kind.value], "decision": d.text}
        for number, d in enumerate(record.decisions, start=1)
    ]


def action_rows(raised: list[ReviewAction]) -> list[Row]:
    """The actions a review raised."""
    return [
        {
            "action": a.action_id,
            "description": a.description,
            "owner": a.owner,
            "due": a.due_on,
            "status": a.status.value,
            "closed on": a.closed_on,
        }
        for a in raised
    ]


def revision_rows(history: list[ReviewRecord]) -> list[Row]:
    """The revisions of a quarter's review, oldest first."""
    return [
        {
            "revision": r.revision,
            "status": r.status.value,
            "created by": r.created_by,
            "created at": r.created_at,
            "reason": r.revision_reason or "",
            "finalised by": r.finalised_by or "",
            "finalised at": r.finalised_at,
        }
        for r in history
    ]
