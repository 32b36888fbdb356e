"""The outbox: every message is written (run, channel, recipient, items) before it is sent, then
marked `sent` or `failed` with the error; failed and unsent messages are retried by the next run.
Each delivery attempt is audit-logged in the same transaction that records its outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from aims_metrics.store import now, record_audit, transaction


@dataclass(frozen=True)
class OutboxMessage:
    message_id: int
    run_id: str
    channel: str
    recipient: str
    items: list[dict]
    status: str  # pending | sent | failed
    error: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None


_COLUMNS = (
    "message_id, run_id, channel, recipient, items, status, error, attempts, created_at, sent_at"
)


def _message(row: tuple) -> OutboxMessage:
    values = list(row)
    values[4] = json.loads(values[4])
    return OutboxMessage(*values)


def write_message(
    con: duckdb.DuckDBPyConnection, run_id: str, channel: str, recipient: str, items: list[dict]
) -> int:
    """Add a pending message (call inside the run's transaction); returns its id."""
    ((message_id,),) = con.execute(
        "INSERT INTO notify_outbox (run_id, channel, recipient, items, status, created_at) "
        "VALUES (?, ?, ?, ?, 'pending', ?) RETURNING message_id",
        [run_id, channel, recipient, json.dumps(items, sort_keys=True), now()],
    ).fetchall()
    return int(message_id)


def unsent_messages(con: duckdb.DuckDBPyConnection) -> list[OutboxMessage]:
    """Messages still to deliver (pending, or failed last time), oldest first."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM notify_outbox WHERE status IN ('pending', 'failed') "
        "ORDER BY message_id"
    ).fetchall()
    return [_message(row) for row in rows]


def record_outcome(
    con: duckdb.DuckDBPyConnection, message: OutboxMessage, error: str | None, username: str
) -> None:
    """Mark a message sent (error None) or failed, and audit-log the attempt."""
    status = "failed" if error else "sent"
    with transaction(con):
        con.execute(
            "UPDATE notify_outbox SET status = ?, error = ?, attempts = attempts + 1, sent_at = ? "
            "WHERE message_id = ?",
            [status, error, None if error else now(), message.message_id],
        )
        record_audit(
            con,
            username,
            f"notify.{status}",
            f"{message.channel}:{message.recipient}",
            {
                "message_id": message.message_id,
                "run_id": message.run_id,
                "error": error,
                "items": [f"{i['rule']}:{i['id']}" for i in message.items],
            },
        )


def outbox_log(con: duckdb.DuckDBPyConnection, limit: int = 100) -> list[OutboxMessage]:
    """The newest messages first: when, to whom, which items, status, error."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM notify_outbox ORDER BY message_id DESC LIMIT ?", [limit]
    ).fetchall()
    return [_message(row) for row in rows]
