"""The audit trail (who changed what, when) and small helpers every store module shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, or None; always consumes the whole result (DuckDB 2.x)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def now() -> datetime:
    """Current UTC time without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def record_audit(
    con: duckdb.DuckDBPyConnection,
    username: str,
    action: str,
    target: str,
    detail: dict | None = None,
) -> None:
    """Append one entry to the audit trail (call inside the write's own transaction)."""
    con.execute(
        "INSERT INTO audit_log (logged_at, username, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        [now(), username, action, target, json.dumps(detail or {}, sort_keys=True, default=str)],
    )


def audit_entries(con: duckdb.DuckDBPyConnection, limit: int = 1000) -> list[dict]:
    rows = con.execute(
        "SELECT entry_id, logged_at, username, action, target, detail FROM audit_log "
        "ORDER BY entry_id DESC LIMIT ?",
        [limit],
    ).fetchall()
    keys = ("entry_id", "logged_at", "username", "action", "target", "detail")
    return [dict(zip(keys, row, strict=True)) for row in rows]
