"""The browser-session table (migration 4), declared apart from aims_metrics.auth so that
store.migrate() can register it without importing the auth module (bcrypt and friends, every CLI
start-up). aims_metrics.auth imports this module: one source of truth."""

from __future__ import annotations

from aims_metrics.store import Migration, register_migration, sql_migration

register_migration(
    Migration(
        4,
        "browser sessions for signed-in users",
        sql_migration(
            """CREATE TABLE IF NOT EXISTS user_sessions (
                token_sha256 VARCHAR PRIMARY KEY, username VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL,
                revoked_at TIMESTAMP)""",
        ),
    )
)
