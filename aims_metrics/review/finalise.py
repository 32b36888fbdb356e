"""Finalising a review: render the minutes of the latest draft, archive the PDF with its sha256
(documented information, 7.5) and lock the revision."""

from __future__ import annotations

import hashlib

import duckdb

from aims_metrics import store
from aims_metrics.metrics.periods import Quarter
from aims_metrics.review.minutes import render_minutes
from aims_metrics.review.models import (
    ReviewError,
    ReviewIncomplete,
    ReviewLocked,
    ReviewRecord,
    ReviewStatus,
    quarter_label,
)
from aims_metrics.review.records import get_review, latest_state, locked_message
from aims_metrics.vocabulary.wording import count_of, verb_for


def finalise_problems(record: ReviewRecord) -> list[str]:
    """What a review still lacks before it can be finalised (all at once)."""
    problems = []
    if record.held_on is None:
        problems.append("the date the review was held is missing")
    if not record.chair.strip():
        problems.append("the chair is missing")
    if not record.attendees:
        problems.append("no attendees are recorded")
    if not record.decisions:
        problems.append(
            "no decision is recorded (9.3.3 needs at least one, e.g. 'no change to the AIMS needed')"
        )
    return problems


class ProvisionalFigures(ReviewError):
    """KPIs of the quarter are provisional (issue 23): finalising needs explicit confirmation."""

    def __init__(self, quarter: str, notes: dict[str, list[str]]) -> None:
        self.notes = notes
        super().__init__(
            f"{count_of(len(notes), 'KPI')} of {quarter} {verb_for(len(notes), 'is', 'are')} provisional ({', '.join(sorted(notes))}): "
            "confirm that the minutes may be finalised with provisional figures"
        )


def finalise_review(
    con: duckdb.DuckDBPyConnection,
    quarter: Quarter | str,
    username: str,
    confirm_provisional: bool = False,
) -> str:
    """Render the minutes of the latest draft, archive the PDF and lock the revision. While KPIs
    are provisional it needs `confirm_provisional`, which the audit log records.

    Returns the sha256 of the archived PDF.
    """
    from aims_metrics.metrics.completeness import provisional_notes
    from aims_metrics.review.records import fiscal_quarter

    label = quarter_label(quarter)
    record = get_review(con, label)
    if record is None:
        raise ReviewError(f"there is no review of {label} to finalise: save the review first")
    if record.is_final:
        raise ReviewLocked(locked_message(label, record.revision))
    problems = finalise_problems(record)
    if problems:
        raise ReviewIncomplete(label, problems)
    provisional = provisional_notes(con, fiscal_quarter(con, label))
    if provisional and not confirm_provisional:
        raise ProvisionalFigures(label, provisional)
    at = store.now()
    final = record.model_copy(
        update={"status": ReviewStatus.FINAL, "finalised_by": username, "finalised_at": at}
    )
    pdf = render_minutes(con, label, record=final)
    digest = hashlib.sha256(pdf).hexdigest()
    with store.transaction(con):
        latest = latest_state(con, label)
        if latest is None or (latest[0], latest[1], latest[2]) != (
            record.revision,
            ReviewStatus.DRAFT.value,
            record.updated_at,
        ):
            raise ReviewError(
                f"the review of {label} changed while it was being finalised; try again"
            )
        con.execute(
            "UPDATE reviews SET status = 'final', finalised_by = ?, finalised_at = ? "
            "WHERE quarter = ? AND revision = ?",
            [username, at, label, record.revision],
        )
        con.execute(
            "INSERT INTO minutes_archive VALUES (?, ?, ?, ?, ?, ?)",
            [label, record.revision, digest, pdf, username, at],
        )
        store.record_audit(
            con,
            username,
            "review.finalise",
            f"review:{label}:r{record.revision}",
            {
                "sha256": digest,
                "document_id": record.document_id,
                "bytes": len(pdf),
                **({"provisional_confirmed": sorted(provisional)} if provisional else {}),
            },
        )
    return digest
