"""The browser-session table (migration 4), declared as data apart from aims_metrics.auth so that
store.migrate() reads it without importing the auth module (bcrypt and friends, every CLI
start-up), and without this module importing the store. One source of truth."""

from __future__ import annotations

USER_SESSIONS_SQL = (
    """CREATE TABLE IF NOT EXISTS user_sessions (
        token_sha256 VARCHAR PRIMARY KEY, username VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL,
        revoked_at TIMESTAMP)""",
)

# (version, description, DDL statements): read by store.migrations
MIGRATION = (4, "browser sessions for signed-in users", USER_SESSIONS_SQL)
