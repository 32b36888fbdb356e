"""Review records (9.3): one per quarter and revision, read and saved; a finalised revision is
locked and a change makes a new draft revision that records who changed it, when and why."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from aims_metrics import store
from aims_metrics.metrics.as_of import fiscal_start_month
from aims_metrics.metrics.periods import Quarter, parse_quarter
from aims_metrics.review.models import (
    ArchivedMinutes,
    Decision,
    ReviewError,
    ReviewLocked,
    ReviewRecord,
    ReviewStatus,
    quarter_label,
)


def fiscal_quarter(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> Quarter:
    """The quarter with the organisation's fiscal-year start month (dates depend on it)."""
    start_month = fiscal_start_month(con)
    label = quarter_label(quarter)
    return parse_quarter(label, start_month)


# --- reading records ---------------------------------------------------------------------------

_REVIEW_COLUMNS = (
    "quarter, revision, status, held_on, chair, attendees, scope, input_b, input_c, input_e, "
    "created_by, created_at, updated_by, updated_at, finalised_by, finalised_at, revision_reason"
)


def _record_from_row(con: duckdb.DuckDBPyConnection, row: tuple) -> ReviewRecord:
    keys = [k.strip() for k in _REVIEW_COLUMNS.split(",")]
    data = dict(zip(keys, row, strict=True))
    data["attendees"] = json.loads(data["attendees"] or "[]")
    decisions = con.execute(
        "SELECT kind, text FROM review_decisions WHERE quarter = ? AND revision = ? "
        "ORDER BY position",
        [data["quarter"], data["revision"]],
    ).fetchall()
    data["decisions"] = [{"kind": kind, "text": text} for kind, text in decisions]
    return ReviewRecord.model_validate(data, context={"stored": True})


def get_review(
    con: duckdb.DuckDBPyConnection, quarter: Quarter | str, revision: int | None = None
) -> ReviewRecord | None:
    """The latest revision of a quarter's review (or the given revision), or None."""
    label = quarter_label(quarter)
    if revision is None:
        row = store.fetch_one(
            con,
            f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE quarter = ? ORDER BY revision DESC LIMIT 1",
            [label],
        )
    else:
        row = store.fetch_one(
            con,
            f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE quarter = ? AND revision = ?",
            [label, revision],
        )
    return _record_from_row(con, row) if row else None


def review_revisions(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> list[ReviewRecord]:
    """Every revision of a quarter's review, oldest first (the revision history)."""
    rows = con.execute(
        f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE quarter = ? ORDER BY revision",
        [quarter_label(quarter)],
    ).fetchall()
    return [_record_from_row(con, row) for row in rows]


def list_reviews(con: duckdb.DuckDBPyConnection) -> list[ReviewRecord]:
    """The latest revision of every quarter's review, newest quarter first."""
    rows = con.execute(
        f"SELECT {_REVIEW_COLUMNS} FROM reviews r WHERE revision = "
        "(SELECT max(revision) FROM reviews x WHERE x.quarter = r.quarter) ORDER BY quarter DESC"
    ).fetchall()
    return [_record_from_row(con, row) for row in rows]


def new_review(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> ReviewRecord:
    """An unsaved first draft for a quarter, with the AIMS scope from the settings."""
    return ReviewRecord(quarter=quarter_label(quarter), scope=store.get_setting(con, "aims_scope"))


# --- writing records ---------------------------------------------------------------------------


def latest_state(con: duckdb.DuckDBPyConnection, label: str) -> tuple[int, str, Any] | None:
    return store.fetch_one(
        con,
        "SELECT revision, status, updated_at FROM reviews WHERE quarter = ? "
        "ORDER BY revision DESC LIMIT 1",
        [label],
    )


def locked_message(label: str, revision: int) -> str:
    return (
        f"the review of {label} is finalised (revision {revision}): "
        "create a new revision, with a reason, to change it"
    )


def _write_decisions(
    con: duckdb.DuckDBPyConnection, label: str, revision: int, decisions: list[Decision]
) -> None:
    con.execute(
        "DELETE FROM review_decisions WHERE quarter = ? AND revision = ?", [label, revision]
    )
    for position, decision in enumerate(decisions, start=1):
        con.execute(
            "INSERT INTO review_decisions VALUES (?, ?, ?, ?, ?)",
            [label, revision, position, decision.kind.value, decision.text],
        )


def _attendees_json(record: ReviewRecord) -> str:
    return json.dumps([a.model_dump() for a in record.attendees], ensure_ascii=False)


def save_review(
    con: duckdb.DuckDBPyConnection, record: ReviewRecord, username: str
) -> ReviewRecord:
    """Create or update the quarter's draft review; refuses a finalised one (ReviewLocked).

    The record's revision must be the latest one (an edit of a stale copy is refused).
    """
    label = record.quarter
    at = store.now()
    with store.transaction(con):
        latest = latest_state(con, label)
        values = [
            record.held_on,
            record.chair.strip(),
            _attendees_json(record),
            record.scope.strip(),
            record.input_b.strip(),
            record.input_c.strip(),
            record.input_e.strip(),
        ]
        if latest is None:
            if record.revision != 1:
                raise ReviewError(f"there is no review of {label} to revise yet")
            revision = 1
            con.execute(
                f"INSERT INTO reviews ({_REVIEW_COLUMNS}) VALUES "
                "(?, 1, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                [label, *values, username, at, username, at],
            )
            action = "review.create"
        else:
            revision, status, _ = latest
            if status == ReviewStatus.FINAL:
                raise ReviewLocked(locked_message(label, revision))
            if record.revision != revision:
                raise ReviewError(
                    f"revision {record.revision} of the review of {label} is not the latest "
                    f"(revision {revision}); reload the review and edit again"
                )
            con.execute(
                "UPDATE reviews SET held_on = ?, chair = ?, attendees = ?, scope = ?, input_b = ?, "
                "input_c = ?, input_e = ?, updated_by = ?, updated_at = ? "
                "WHERE quarter = ? AND revision = ?",
                [*values, username, at, label, revision],
            )
            action = "review.update"
        _write_decisions(con, label, revision, record.decisions)
        store.record_audit(
            con,
            username,
            action,
            f"review:{label}:r{revision}",
            {
                "held_on": record.held_on,
                "chair": record.chair,
                "attendees": len(record.attendees),
                "decisions": len(record.decisions),
            },
        )
    saved = get_review(con, label)
    assert saved is not None
    return saved


def revise_review(
    con: duckdb.DuckDBPyConnection, quarter: Quarter | str, username: str, reason: str
) -> ReviewRecord:
    """A new draft revision copied from the finalised one, recording who, when and why."""
    label = quarter_label(quarter)
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("a new revision needs a reason (who asked for which change, and why)")
    at = store.now()
    with store.transaction(con):
        latest = latest_state(con, label)
        if latest is None:
            raise ReviewError(f"there is no review of {label} to revise")
        revision, status, _ = latest
        if status != ReviewStatus.FINAL:
            raise ReviewError(
                f"revision {revision} of the review of {label} is still a draft: edit it directly"
            )
        new_revision = revision + 1
        con.execute(
            f"INSERT INTO reviews ({_REVIEW_COLUMNS}) "
            "SELECT quarter, ?, 'draft', held_on, chair, attendees, scope, input_b, input_c, "
            "input_e, ?, ?, ?, ?, NULL, NULL, ? FROM reviews WHERE quarter = ? AND revision = ?",
            [new_revision, username, at, username, at, reason, label, revision],
        )
        con.execute(
            "INSERT INTO review_decisions SELECT quarter, ?, position, kind, text "
            "FROM review_decisions WHERE quarter = ? AND revision = ?",
            [new_revision, label, revision],
        )
        store.record_audit(
            con,
            username,
            "review.revise",
            f"review:{label}:r{new_revision}",
            {"supersedes": revision, "reason": reason},
        )
    revised = get_review(con, label)
    assert revised is not None
    return revised


# --- minutes archive ---------------------------------------------------------------------------


def archived_minutes(
    con: duckdb.DuckDBPyConnection, quarter: Quarter | str, revision: int | None = None
) -> ArchivedMinutes | None:
    """The archived PDF of a finalised revision (the latest one by default), or None."""
    label = quarter_label(quarter)
    sql = (
        "SELECT quarter, revision, sha256, pdf, created_by, created_at FROM minutes_archive "
        "WHERE quarter = ?"
    )
    params: list[Any] = [label]
    if revision is not None:
        sql += " AND revision = ?"
        params.append(revision)
    row = store.fetch_one(con, sql + " ORDER BY revision DESC LIMIT 1", params)
    if row is None:
        return None
    keys = ("quarter", "revision", "sha256", "pdf", "created_by", "created_at")
    return ArchivedMinutes(**dict(zip(keys, row, strict=True)))
