"""Actions raised by a review (9.3.3): updated between meetings (status, closing date, note) and
carried forward under input a) of every later review until they are closed."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from aims_metrics import store
from aims_metrics.metrics.periods import Quarter
from aims_metrics.review.models import (
    ActionState,
    ActionStatus,
    CarriedAction,
    ReviewAction,
    ReviewError,
    ReviewLocked,
    ReviewStatus,
    quarter_label,
)
from aims_metrics.review.records import (
    fiscal_quarter,
    get_review,
    latest_state,
    locked_message,
)

# --- actions -----------------------------------------------------------------------------------

_ACTION_COLUMNS = (
    "action_id, quarter, revision, description, owner, due_on, status, closed_on, closing_note, "
    "created_by, created_at, updated_by, updated_at"
)


def _action_from_row(row: tuple) -> ReviewAction:
    keys = [k.strip() for k in _ACTION_COLUMNS.split(",")]
    return ReviewAction(**dict(zip(keys, row, strict=True)))


def get_action(con: duckdb.DuckDBPyConnection, action_id: str) -> ReviewAction | None:
    row = store.fetch_one(
        con, f"SELECT {_ACTION_COLUMNS} FROM review_actions WHERE action_id = ?", [action_id]
    )
    return _action_from_row(row) if row else None


def review_actions(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> list[ReviewAction]:
    """The actions raised by a quarter's review (its 9.3.3 action items), by id."""
    rows = con.execute(
        f"SELECT {_ACTION_COLUMNS} FROM review_actions WHERE quarter = ? ORDER BY action_id",
        [quarter_label(quarter)],
    ).fetchall()
    return [_action_from_row(row) for row in rows]


def all_actions(
    con: duckdb.DuckDBPyConnection, status: ActionStatus | None = None
) -> list[ReviewAction]:
    """Every review action (optionally only open or done ones), oldest review first."""
    sql = f"SELECT {_ACTION_COLUMNS} FROM review_actions"
    params: list[Any] = []
    if status is not None:
        sql += " WHERE status = ?"
        params.append(ActionStatus(status).value)
    rows = con.execute(sql + " ORDER BY quarter, action_id", params).fetchall()
    return [_action_from_row(row) for row in rows]


def _require_draft(con: duckdb.DuckDBPyConnection, label: str) -> int:
    latest = latest_state(con, label)
    if latest is None:
        raise ReviewError(f"there is no review of {label} yet: save the review first")
    revision, status, _ = latest
    if status == ReviewStatus.FINAL:
        raise ReviewLocked(locked_message(label, revision))
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
    label = quarter_label(quarter)
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
        raised_in = fiscal_quarter(con, action.quarter)
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
    return fiscal_quarter(con, quarter).end


def carried_actions(
    con: duckdb.DuckDBPyConnection, quarter: Quarter | str, as_of: date | None = None
) -> list[CarriedAction]:
    """Input a): every action from earlier reviews not closed before this quarter started.

    Status is reported as of `as_of` (default: the day the review was held, else quarter end).
    """
    q = fiscal_quarter(con, quarter)
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
