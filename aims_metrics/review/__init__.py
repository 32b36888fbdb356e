"""Management review (ISO/IEC 42001 9.3): review records, actions, input assembly, finalisation.

A review record exists per quarter and revision. The latest revision is the one shown and edited;
a finalised revision is locked, and a change after that is a new draft revision that records who
changed it, when and why. Finalising renders the minutes and archives the PDF with its sha256
(documented information, 7.5).

Actions raised by a review have a life of their own: they are updated between meetings (status,
closing date, note) and listed under input a) of every later review until they are closed.
Inputs a) and d) are assembled from the data; b), c) and e) are texts of the record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aims_metrics import store
from aims_metrics.metrics.periods import Quarter, parse_quarter, quarters_ending
from aims_metrics.review.schema import REVIEW_TABLES_SQL
from aims_metrics.tables.registry import NONCONFORMITY_TYPES, FindingType, clause_refs

TREND_QUARTERS = 6  # quarters shown in the trend tables and charts of input d)


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    FINAL = "final"


class DecisionKind(StrEnum):
    """The 9.3.3 results a decision belongs to."""

    IMPROVEMENT = "improvement"
    CHANGE_TO_AIMS = "change_to_aims"
    RESOURCES = "resources"

    @property
    def title(self) -> str:
        return DECISION_TITLES[self]


DECISION_TITLES = {
    DecisionKind.IMPROVEMENT: "Continual-improvement opportunity",
    DecisionKind.CHANGE_TO_AIMS: "Change to the AIMS",
    DecisionKind.RESOURCES: "Resources",
}


class ActionStatus(StrEnum):
    """Stored status of a review action."""

    OPEN = "open"
    DONE = "done"


class ActionState(StrEnum):
    """Status of an action as reported under input a) on a given date."""

    OPEN = "open"
    DONE = "done"
    OVERDUE = "overdue"


class ReviewError(ValueError):
    """A review operation was refused; the message says why and what to do."""


class ReviewLocked(ReviewError):
    """The review's latest revision is finalised: create a new revision to change it."""


class ReviewIncomplete(ReviewError):
    """The review cannot be finalised yet; `problems` lists every missing item."""

    def __init__(self, quarter: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"the review of {quarter} cannot be finalised: " + "; ".join(problems))


# --- models ------------------------------------------------------------------------------------


class Attendee(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    role: str = ""

    @field_validator("name", "role")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class Decision(BaseModel):
    """A 9.3.3 result: a decision on an improvement, a change to the AIMS or resources."""

    model_config = ConfigDict(extra="forbid")

    kind: DecisionKind
    text: str = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a decision needs a text")
        return value.strip()


def _quarter_label(value: Quarter | str) -> str:
    return value.label if isinstance(value, Quarter) else parse_quarter(str(value)).label


class ReviewRecord(BaseModel):
    """One revision of a quarter's management review: meeting data, texts b, c, e, decisions."""

    model_config = ConfigDict(extra="forbid")

    quarter: str
    revision: int = 1
    status: ReviewStatus = ReviewStatus.DRAFT
    held_on: date | None = None
    chair: str = ""
    attendees: list[Attendee] = Field(default_factory=list)
    scope: str = ""
    input_b: str = ""  # changes in external and internal issues
    input_c: str = ""  # changes in needs and expectations of interested parties
    input_e: str = ""  # opportunities for continual improvement
    decisions: list[Decision] = Field(default_factory=list)
    created_by: str | None = None
    created_at: datetime | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    finalised_by: str | None = None
    finalised_at: datetime | None = None
    revision_reason: str | None = None

    @field_validator("quarter", mode="before")
    @classmethod
    def _normalise_quarter(cls, value: Any) -> str:
        return _quarter_label(value)

    @property
    def is_final(self) -> bool:
        return self.status is ReviewStatus.FINAL

    @property
    def document_id(self) -> str:
        """The minutes' document id, e.g. AIMS-MR-2025Q3-r1."""
        return document_id(self.quarter, self.revision)


def document_id(quarter: Quarter | str, revision: int | None) -> str:
    label = _quarter_label(quarter)
    return f"AIMS-MR-{label}-r{revision}" if revision else f"AIMS-MR-{label}-draft"


class ReviewAction(BaseModel):
    """An action raised by a review (9.3.3): owner and due date, tracked until closed."""

    action_id: str
    quarter: str  # the review that raised it
    revision: int  # the revision in which it was raised
    description: str
    owner: str
    due_on: date
    status: ActionStatus = ActionStatus.OPEN
    closed_on: date | None = None
    closing_note: str | None = None
    created_by: str
    created_at: datetime
    updated_by: str | None = None
    updated_at: datetime | None = None


class CarriedAction(BaseModel):
    """An action from an earlier review as reported under input a) on `as_of`."""

    action: ReviewAction
    as_of: date
    state: ActionState
    on_time: bool | None  # done: closed by its due date; otherwise None

    @property
    def days_overdue(self) -> int:
        if self.state is not ActionState.OVERDUE:
            return 0
        return (self.as_of - self.action.due_on).days


class ArchivedMinutes(BaseModel):
    quarter: str
    revision: int
    sha256: str
    pdf: bytes
    created_by: str
    created_at: datetime

    @property
    def document_id(self) -> str:
        return document_id(self.quarter, self.revision)

    @property
    def intact(self) -> bool:
        """The stored bytes still match the sha256 recorded when they were archived."""
        return hashlib.sha256(self.pdf).hexdigest() == self.sha256


# --- schema ------------------------------------------------------------------------------------

# REVIEW_TABLES_SQL: declared (and registered as migration 3) in aims_metrics.review.schema


def ensure_review_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the review tables if a database was migrated before this module was imported.

    Migrations are registered at import time, so a database migrated past version 3 by a process
    that never imported this module would otherwise lack them. The DDL is idempotent.
    """
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
        "('reviews', 'review_decisions', 'review_actions', 'minutes_archive') "
        "AND table_schema = current_schema()"
    ).fetchall()
    if rows[0][0] == len(REVIEW_TABLES_SQL):
        return
    with store.transaction(con):
        for statement in REVIEW_TABLES_SQL:
            con.execute(statement)


def _fiscal_quarter(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> Quarter:
    """The quarter with the organisation's fiscal-year start month (dates depend on it)."""
    start_month = int(store.get_setting(con, "fiscal_year_start_month"))
    label = _quarter_label(quarter)
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
    return ReviewRecord.model_validate(data)


def get_review(
    con: duckdb.DuckDBPyConnection, quarter: Quarter | str, revision: int | None = None
) -> ReviewRecord | None:
    """The latest revision of a quarter's review (or the given revision), or None."""
    ensure_review_schema(con)
    label = _quarter_label(quarter)
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
    ensure_review_schema(con)
    rows = con.execute(
        f"SELECT {_REVIEW_COLUMNS} FROM reviews WHERE quarter = ? ORDER BY revision",
        [_quarter_label(quarter)],
    ).fetchall()
    return [_record_from_row(con, row) for row in rows]


def list_reviews(con: duckdb.DuckDBPyConnection) -> list[ReviewRecord]:
    """The latest revision of every quarter's review, newest quarter first."""
    ensure_review_schema(con)
    rows = con.execute(
        f"SELECT {_REVIEW_COLUMNS} FROM reviews r WHERE revision = "
        "(SELECT max(revision) FROM reviews x WHERE x.quarter = r.quarter) ORDER BY quarter DESC"
    ).fetchall()
    return [_record_from_row(con, row) for row in rows]


def new_review(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> ReviewRecord:
    """An unsaved first draft for a quarter, with the AIMS scope from the settings."""
    return ReviewRecord(quarter=_quarter_label(quarter), scope=store.get_setting(con, "aims_scope"))


# --- writing records ---------------------------------------------------------------------------


def _latest_state(con: duckdb.DuckDBPyConnection, label: str) -> tuple[int, str, Any] | None:
    return store.fetch_one(
        con,
        "SELECT revision, status, updated_at FROM reviews WHERE quarter = ? "
        "ORDER BY revision DESC LIMIT 1",
        [label],
    )


def _locked_message(label: str, revision: int) -> str:
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
    ensure_review_schema(con)
    label = record.quarter
    at = store.now()
    with store.transaction(con):
        latest = _latest_state(con, label)
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
                raise ReviewLocked(_locked_message(label, revision))
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


def finalise_review(con: duckdb.DuckDBPyConnection, quarter: Quarter | str, username: str) -> str:
    """Render the minutes of the latest draft, archive the PDF and lock the revision.

    Returns the sha256 of the archived PDF.
    """
    from aims_metrics.review.minutes import render_minutes

    label = _quarter_label(quarter)
    record = get_review(con, label)
    if record is None:
        raise ReviewError(f"there is no review of {label} to finalise: save the review first")
    if record.is_final:
        raise ReviewLocked(_locked_message(label, record.revision))
    problems = finalise_problems(record)
    if problems:
        raise ReviewIncomplete(label, problems)
    at = store.now()
    final = record.model_copy(
        update={"status": ReviewStatus.FINAL, "finalised_by": username, "finalised_at": at}
    )
    pdf = render_minutes(con, label, record=final)
    digest = hashlib.sha256(pdf).hexdigest()
    with store.transaction(con):
        latest = _latest_state(con, label)
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
            {"sha256": digest, "document_id": record.document_id, "bytes": len(pdf)},
        )
    return digest


def revise_review(
    con: duckdb.DuckDBPyConnection, quarter: Quarter | str, username: str, reason: str
) -> ReviewRecord:
    """A new draft revision copied from the finalised one, recording who, when and why."""
    ensure_review_schema(con)
    label = _quarter_label(quarter)
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("a new revision needs a reason (who asked for which change, and why)")
    at = store.now()
    with store.transaction(con):
        latest = _latest_state(con, label)
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
    ensure_review_schema(con)
    label = _quarter_label(quarter)
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


# --- actions -----------------------------------------------------------------------------------

_ACTION_COLUMNS = (
    "action_id, quarter, revision, description, owner, due_on, status, closed_on, closing_note, "
    "created_by, created_at, updated_by, updated_at"
)


def _action_from_row(row: tuple) -> ReviewAction:
    keys = [k.strip() for k in _ACTION_COLUMNS.split(",")]
    return ReviewAction(**dict(zip(keys, row, strict=True)))


def get_action(con: duckdb.DuckDBPyConnection, action_id: str) -> ReviewAction | None:
    ensure_review_schema(con)
    row = store.fetch_one(
        con, f"SELECT {_ACTION_COLUMNS} FROM review_actions WHERE action_id = ?", [action_id]
    )
    return _action_from_row(row) if row else None


def review_actions(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> list[ReviewAction]:
    """The actions raised by a quarter's review (its 9.3.3 action items), by id."""
    ensure_review_schema(con)
    rows = con.execute(
        f"SELECT {_ACTION_COLUMNS} FROM review_actions WHERE quarter = ? ORDER BY action_id",
        [_quarter_label(quarter)],
    ).fetchall()
    return [_action_from_row(row) for row in rows]


def all_actions(
    con: duckdb.DuckDBPyConnection, status: ActionStatus | None = None
) -> list[ReviewAction]:
    """Every review action (optionally only open or done ones), oldest review first."""
    ensure_review_schema(con)
    sql = f"SELECT {_ACTION_COLUMNS} FROM review_actions"
    params: list[Any] = []
    if status is not None:
        sql += " WHERE status = ?"
        params.append(ActionStatus(status).value)
    rows = con.execute(sql + " ORDER BY quarter, action_id", params).fetchall()
    return [_action_from_row(row) for row in rows]


def _require_draft(con: duckdb.DuckDBPyConnection, label: str) -> int:
    latest = _latest_state(con, label)
    if latest is None:
        raise ReviewError(f"there is no review of {label} yet: save the review first")
    revision, status, _ = latest
    if status == ReviewStatus.FINAL:
        raise ReviewLocked(_locked_message(label, revision))
    return revision


def add_action(
    con: duckdb.DuckDBPyConnection,
    quarter: Quarter | str,
    description: str,
    owner: str,
    due_on: date,
    username: str,
) -> ReviewAction:
    """Raise an action in the quarter's draft review; ids are MR-<quarter>-<nn>."""
    ensure_review_schema(con)
    label = _quarter_label(quarter)
    problems = []
    if not (description or "").strip():
        problems.append("an action needs a description")
    if not (owner or "").strip():
        problems.append("an action needs an owner")
    if due_on is None:
        problems.append("an action needs a due date")
    if problems:
        raise ReviewError("; ".join(problems))
    at = store.now()
    with store.transaction(con):
        revision = _require_draft(con, label)
        prefix = f"MR-{label}-"
        (count,) = store.fetch_one(
            con,
            "SELECT coalesce(max(CAST(substr(action_id, ?) AS INTEGER)), 0) FROM review_actions "
            "WHERE quarter = ? AND starts_with(action_id, ?)",
            [len(prefix) + 1, label, prefix],
        )
        action_id = f"{prefix}{count + 1:02d}"
        con.execute(
            f"INSERT INTO review_actions ({_ACTION_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, 'open', NULL, NULL, ?, ?, ?, ?)",
            [
                action_id,
                label,
                revision,
                description.strip(),
                owner.strip(),
                due_on,
                username,
                at,
                username,
                at,
            ],
        )
        store.record_audit(
            con,
            username,
            "review_action.add",
            action_id,
            {"description": description.strip(), "owner": owner.strip(), "due_on": due_on},
        )
    action = get_action(con, action_id)
    assert action is not None
    return action


def remove_action(con: duckdb.DuckDBPyConnection, action_id: str, username: str) -> None:
    """Withdraw an action raised in the current draft revision (never one already in minutes)."""
    action = get_action(con, action_id)
    if action is None:
        raise ReviewError(f"unknown action {action_id!r}")
    with store.transaction(con):
        revision = _require_draft(con, action.quarter)
        if action.revision != revision:
            raise ReviewError(
                f"{action_id} is part of finalised minutes and cannot be removed: "
                "close it with a note instead"
            )
        con.execute("DELETE FROM review_actions WHERE action_id = ?", [action_id])
        store.record_audit(
            con, username, "review_action.remove", action_id, {"description": action.description}
        )


def update_action(
    con: duckdb.DuckDBPyConnection,
    action_id: str,
    status: ActionStatus | str,
    closed_on: date | None,
    closing_note: str | None,
    username: str,
) -> ReviewAction:
    """Record progress on an action between meetings: done with a closing date, or (re)open."""
    ensure_review_schema(con)
    try:
        status = ActionStatus(status)
    except ValueError:
        raise ReviewError(f"unknown action status {status!r}: use open or done") from None
    action = get_action(con, action_id)
    if action is None:
        raise ReviewError(f"unknown action {action_id!r}")
    if status is ActionStatus.DONE:
        if closed_on is None:
            raise ReviewError(f"{action_id}: a done action needs its closing date")
        raised_in = _fiscal_quarter(con, action.quarter)
        if closed_on < raised_in.start:
            raise ReviewError(
                f"{action_id}: closing date {closed_on} is before the review quarter that "
                f"raised it ({raised_in.label} starts {raised_in.start})"
            )
    else:
        closed_on = None
    note = (closing_note or "").strip() or None
    at = store.now()
    with store.transaction(con):
        con.execute(
            "UPDATE review_actions SET status = ?, closed_on = ?, closing_note = ?, "
            "updated_by = ?, updated_at = ? WHERE action_id = ?",
            [status.value, closed_on, note, username, at, action_id],
        )
        store.record_audit(
            con,
            username,
            "review_action.update",
            action_id,
            {"status": status.value, "closed_on": closed_on, "closing_note": note},
        )
    updated = get_action(con, action_id)
    assert updated is not None
    return updated


def action_state(action: ReviewAction, as_of: date) -> ActionState:
    """done when closed on or before `as_of`; overdue when still open after its due date."""
    if action.status is ActionStatus.DONE and action.closed_on and action.closed_on <= as_of:
        return ActionState.DONE
    if action.due_on < as_of:
        return ActionState.OVERDUE
    return ActionState.OPEN


def status_date(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> date:
    """The date input a) reports on: the day the review was held, else the quarter end."""
    record = get_review(con, quarter)
    if record is not None and record.held_on is not None:
        return record.held_on
    return _fiscal_quarter(con, quarter).end


def carried_actions(
    con: duckdb.DuckDBPyConnection, quarter: Quarter | str, as_of: date | None = None
) -> list[CarriedAction]:
    """Input a): every action from earlier reviews not closed before this quarter started.

    Status is reported as of `as_of` (default: the day the review was held, else quarter end).
    """
    ensure_review_schema(con)
    q = _fiscal_quarter(con, quarter)
    as_of = as_of or status_date(con, q)
    rows = con.execute(
        f"SELECT {_ACTION_COLUMNS} FROM review_actions WHERE quarter < ? "
        "AND NOT (status = 'done' AND closed_on < ?) ORDER BY quarter, action_id",
        [q.label, q.start],
    ).fetchall()
    carried = []
    for row in rows:
        action = _action_from_row(row)
        state = action_state(action, as_of)
        on_time = None
        if state is ActionState.DONE and action.closed_on is not None:
            on_time = action.closed_on <= action.due_on
        carried.append(CarriedAction(action=action, as_of=as_of, state=state, on_time=on_time))
    return carried


# --- input d): performance information ---------------------------------------------------------


@dataclass(frozen=True)
class NonconformityQuarter:
    """Nonconformities (major and minor) and their corrective actions in one quarter."""

    quarter: str
    raised: int
    closed: int
    open_at_end: int
    overdue_at_end: int
    mean_days_to_close: float | None


@dataclass(frozen=True)
class AuditHeld:
    """An audit that raised findings in the quarter (findings carry the audit id and type)."""

    audit_id: str
    audit_type: str
    first_raised_on: date
    last_raised_on: date
    findings: int
    by_type: dict[str, int]


@dataclass(frozen=True)
class ClauseFindings:
    clause_ref: str
    title: str
    by_type: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_type.values())


@dataclass
class ReviewInputs:
    """Everything the minutes show that comes from the data rather than the record."""

    quarter: Quarter
    organisation: str
    default_scope: str
    as_of: date  # the date input a) reports action status on
    carried: list[CarriedAction]
    new_actions: list[ReviewAction]  # raised by this quarter's review (9.3.3)
    nonconformity_trend: list[NonconformityQuarter]
    aging: Any  # aims_metrics.performance.aging.AgingReport at the quarter end
    kpis: list[Any]  # aims_metrics.metrics.engine.KpiResult, catalog order
    kpi_series: dict[str, list[Any]]  # name → KpiResult per trend quarter, oldest first
    objectives: list[Any]  # aims_metrics.performance.objectives.ObjectiveProgress
    audits: list[AuditHeld]
    findings_by_type: dict[str, int]
    findings_by_clause: list[ClauseFindings]
    trend_quarters: list[str] = field(default_factory=list)
    bias_groups: list[dict] = field(default_factory=list)  # review.fairness_minutes rows

    def fingerprint_data(self) -> dict[str, Any]:
        """The data behind the minutes as plain JSON-able values (for the fingerprint)."""
        return {
            "quarter": self.quarter.label,
            "organisation": self.organisation,
            "as_of": self.as_of,
            "carried": [c.model_dump(mode="json") for c in self.carried],
            "new_actions": [a.model_dump(mode="json") for a in self.new_actions],
            "nonconformity_trend": [asdict(n) for n in self.nonconformity_trend],
            "aging": self.aging.model_dump(mode="json"),
            "kpis": [_kpi_json(k) for k in self.kpis],
            "kpi_series": {
                name: [_kpi_json(k) for k in series]
                for name, series in sorted(self.kpi_series.items())
            },
            "objectives": [o.model_dump(mode="json") for o in self.objectives],
            "audits": [_audit_json(a) for a in self.audits],
            "findings_by_type": self.findings_by_type,
            "findings_by_clause": [asdict(c) for c in self.findings_by_clause],
            **({"bias_groups": self.bias_groups} if self.bias_groups else {}),
        }

    def fingerprint(self, record: ReviewRecord | None = None) -> str:
        """sha256 over the data used and the review record (without its bookkeeping times)."""
        payload: dict[str, Any] = {"data": self.fingerprint_data()}
        if record is not None:
            payload["record"] = record.model_dump(
                mode="json", exclude={"created_at", "updated_at", "updated_by"}
            )
        text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _audit_json(audit: AuditHeld) -> dict[str, Any]:
    """dataclasses.asdict(audit), built directly: asdict deep-copies field by field, which took
    ~0.2 s for the hundreds of audits of an enterprise quarter."""
    return {
        "audit_id": audit.audit_id,
        "audit_type": audit.audit_type,
        "first_raised_on": audit.first_raised_on,
        "last_raised_on": audit.last_raised_on,
        "findings": audit.findings,
        "by_type": dict(audit.by_type),
    }


def _kpi_json(kpi: Any) -> dict[str, Any]:
    data = asdict(kpi)
    data["status"] = str(kpi.status.value if hasattr(kpi.status, "value") else kpi.status)
    return data


def nonconformity_trend(
    con: duckdb.DuckDBPyConnection, quarters: list[Quarter]
) -> list[NonconformityQuarter]:
    """Per quarter: nonconformities raised, closed, open and overdue at the end, mean days to close."""
    from aims_metrics.performance.aging import open_nonconformity_trend

    labels = [q.label for q in quarters]
    types = list(NONCONFORMITY_TYPES)
    rows = con.execute(
        """
        WITH p AS (
            SELECT unnest(?::VARCHAR[]) AS label, unnest(?::DATE[]) AS s, unnest(?::DATE[]) AS e
        ), nc AS (
            SELECT raised_on, closed_on, due_on FROM findings WHERE finding_type IN (SELECT unnest(?::VARCHAR[]))
        )
        SELECT p.label,
            count(nc.raised_on) FILTER (WHERE nc.raised_on BETWEEN p.s AND p.e),
            count(nc.raised_on) FILTER (WHERE nc.closed_on BETWEEN p.s AND p.e),
            count(nc.raised_on) FILTER (WHERE nc.raised_on <= p.e
                AND (nc.closed_on IS NULL OR nc.closed_on > p.e) AND nc.due_on < p.e),
            avg(date_diff('day', nc.raised_on, nc.closed_on))
                FILTER (WHERE nc.closed_on BETWEEN p.s AND p.e)
        FROM p LEFT JOIN nc ON nc.raised_on <= p.e
        GROUP BY p.label ORDER BY p.label
        """,
        [labels, [q.start for q in quarters], [q.end for q in quarters], types],
    ).fetchall()
    open_counts = {q.label: count for q, count in open_nonconformity_trend(con, quarters)}
    return [
        NonconformityQuarter(
            quarter=label,
            raised=int(raised),
            closed=int(closed),
            open_at_end=int(open_counts.get(label, 0)),
            overdue_at_end=int(overdue),
            mean_days_to_close=None if mean is None else round(float(mean), 1),
        )
        for label, raised, closed, overdue, mean in rows
    ]


FINDING_TYPES: tuple[str, ...] = tuple(t.value for t in FindingType)


def audit_results(
    con: duckdb.DuckDBPyConnection, quarter: Quarter
) -> tuple[list[AuditHeld], dict[str, int], list[ClauseFindings]]:
    """Audits that raised findings in the quarter, and the quarter's findings by type and clause."""
    rows = con.execute(
        """
        SELECT audit_id, coalesce(audit_type, 'unspecified'), clause_ref, finding_type,
               min(raised_on), max(raised_on), count(*)
        FROM findings WHERE raised_on BETWEEN ? AND ?
        GROUP BY ALL
        """,
        [quarter.start, quarter.end],
    ).fetchall()
    empty = dict.fromkeys(FINDING_TYPES, 0)
    audits: dict[str, dict[str, Any]] = {}
    clauses: dict[str, dict[str, int]] = {}
    for audit_id, audit_type, clause_ref, finding_type, first, last, count in rows:
        audit = audits.setdefault(
            audit_id,
            {"types": set(), "first": first, "last": last, "by_type": dict(empty)},
        )
        audit["types"].add(audit_type)
        audit["first"], audit["last"] = min(audit["first"], first), max(audit["last"], last)
        audit["by_type"][finding_type] = audit["by_type"].get(finding_type, 0) + int(count)
        clause = clauses.setdefault(clause_ref, dict(empty))
        clause[finding_type] = clause.get(finding_type, 0) + int(count)
    held = sorted(
        (
            AuditHeld(
                audit_id=str(audit_id),
                audit_type=", ".join(sorted(a["types"])),
                first_raised_on=a["first"],
                last_raised_on=a["last"],
                findings=sum(a["by_type"].values()),
                by_type=a["by_type"],
            )
            for audit_id, a in audits.items()
        ),
        key=lambda a: (a.first_raised_on, a.audit_id),
    )
    by_type = {t: sum(a.by_type.get(t, 0) for a in held) for t in FINDING_TYPES}
    refs = clause_refs()
    by_clause = sorted(
        (
            ClauseFindings(
                clause_ref=str(ref), title=refs[ref].title if ref in refs else "", by_type=counts
            )
            for ref, counts in clauses.items()
        ),
        key=lambda c: (-c.total, c.clause_ref),
    )
    return held, by_type, by_clause


def assemble_inputs(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> ReviewInputs:
    """Inputs a) and d) of 9.3.2 for a quarter, assembled from the data."""
    from aims_metrics.metrics.engine import catalog_series
    from aims_metrics.performance.aging import aging_report
    from aims_metrics.performance.objectives import objective_progress
    from aims_metrics.review.fairness_minutes import failed_test_groups

    ensure_review_schema(con)
    q = _fiscal_quarter(con, quarter)
    trend = quarters_ending(q, TREND_QUARTERS)
    # One catalog evaluation: the quarter's KPIs (with the previous quarter's values) are the
    # last element of each trend series.
    series = catalog_series(con, trend)
    kpis = [results[-1] for results in series.values()]
    audits, by_type, by_clause = audit_results(con, q)
    return ReviewInputs(
        quarter=q,
        organisation=store.get_setting(con, "organisation_name"),
        default_scope=store.get_setting(con, "aims_scope"),
        as_of=status_date(con, q),
        carried=carried_actions(con, q),
        new_actions=review_actions(con, q),
        nonconformity_trend=nonconformity_trend(con, trend),
        aging=aging_report(con, q.end),
        kpis=kpis,
        kpi_series={name: list(results) for name, results in series.items()},
        objectives=list(objective_progress(con, q)),
        audits=audits,
        findings_by_type=by_type,
        findings_by_clause=by_clause,
        trend_quarters=[t.label for t in trend],
        bias_groups=failed_test_groups(con, q),
    )


# --- demo ----------------------------------------------------------------------------------------


def seed_demo_review(
    con: duckdb.DuckDBPyConnection, last_quarter: Quarter | str, username: str = "demo"
) -> ReviewRecord:
    """A finalised review of the quarter before `last_quarter` with three actions.

    One action is done on time, one is overdue and one is still open when the last quarter's
    review is held, so that review shows all three states under input a). Idempotent: does
    nothing when the earlier quarter already has a review.
    """
    last = _fiscal_quarter(con, last_quarter)
    earlier = last.previous()
    existing = get_review(con, earlier)
    if existing is not None:
        return existing
    record = ReviewRecord(
        quarter=earlier.label,
        held_on=earlier.end - timedelta(days=10),
        chair="Dana Whitfield",
        attendees=[
            Attendee(name="Dana Whitfield", role="Chief Executive Officer (chair)"),
            Attendee(name="Sam Okafor", role="AI Governance Lead"),
            Attendee(name="Priya Raman", role="Head of AI Risk"),
            Attendee(name="Lena Vogel", role="Internal Audit Lead"),
        ],
        scope=store.get_setting(con, "aims_scope"),
        input_b="EU AI Act obligations for high-risk systems come into force; two vendor models "
        "moved to new major versions.",
        input_c="Customers ask for a model card with every high-risk release; the works council "
        "asks to be consulted before new HR screening models go live.",
        input_e="Automate the pre-deployment bias test gate in the release pipeline.",
        decisions=[
            Decision(
                kind=DecisionKind.IMPROVEMENT,
                text="Gate every high-risk release on a passed pre-deployment bias test.",
            ),
            Decision(
                kind=DecisionKind.CHANGE_TO_AIMS,
                text="Add the works council to the register of interested parties.",
            ),
            Decision(
                kind=DecisionKind.RESOURCES,
                text="Fund one additional internal auditor for AI systems.",
            ),
        ],
    )
    save_review(con, record, username)
    on_time = add_action(
        con,
        earlier,
        "Publish model cards for all high-risk AI systems",
        "Priya Raman",
        last.start + timedelta(days=14),
        username,
    )
    add_action(
        con,
        earlier,
        "Close the overdue major nonconformities of the internal audit",
        "Lena Vogel",
        last.start + timedelta(days=30),
        username,
    )
    add_action(
        con,
        earlier,
        "Recruit an internal auditor for AI systems",
        "Sam Okafor",
        last.end + timedelta(days=45),
        username,
    )
    finalise_review(con, earlier, username)
    update_action(
        con,
        on_time.action_id,
        ActionStatus.DONE,
        last.start + timedelta(days=9),
        "Model cards published on the intranet and linked from the system inventory.",
        username,
    )
    final = get_review(con, earlier)
    assert final is not None
    return final
