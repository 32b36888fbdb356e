"""Migration 8: a flag on each user that a password set for them (the one-time admin password)
must be replaced at the next sign-in. Declared as data, like aims_metrics.auth.schema."""

from __future__ import annotations

MUST_CHANGE_PASSWORD_SQL = (
    "ALTER TABLE users ADD COLUMN must_change_password BOOLEAN DEFAULT false",
)

# (version, description, DDL statements): read by store.migrations
MIGRATION = (
    8,
    "users: must change the one-time password at first sign-in",
    MUST_CHANGE_PASSWORD_SQL,
)
