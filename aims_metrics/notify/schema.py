"""The reminder tables (migration 7), declared as literal SQL apart from the notify modules so
store.migrate() reads them without importing those, and without this module importing the store.

`people` is also a registry table (aims_metrics.tables.registry.PEOPLE); this migration is what
creates it, and tests/test_people.py and tests/test_migrations.py check that the two declarations
agree. Channel configurations name the environment variables
that hold SMTP passwords and webhook secrets; the secrets themselves are never stored.
"""

from __future__ import annotations

NOTIFY_TABLES_SQL = (
    """CREATE TABLE IF NOT EXISTS people (
  person VARCHAR NOT NULL,
  email VARCHAR NOT NULL,
  unit VARCHAR,
  manager VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS notify_channels (
        name VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL CHECK (kind IN ('email', 'webhook')),
        config VARCHAR NOT NULL, enabled BOOLEAN NOT NULL DEFAULT true,
        created_by VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS notify_runs (
        run_id VARCHAR PRIMARY KEY, as_of DATE NOT NULL, started_at TIMESTAMP NOT NULL,
        username VARCHAR NOT NULL)""",
    """CREATE SEQUENCE IF NOT EXISTS notify_message_ids START 1""",
    """CREATE TABLE IF NOT EXISTS notify_outbox (
        message_id BIGINT PRIMARY KEY DEFAULT nextval('notify_message_ids'),
        run_id VARCHAR NOT NULL, channel VARCHAR NOT NULL, recipient VARCHAR NOT NULL,
        items VARCHAR NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        error VARCHAR, attempts INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMP NOT NULL, sent_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS notify_reminders (
        rule VARCHAR NOT NULL, item_id VARCHAR NOT NULL, state_key VARCHAR NOT NULL,
        sequence INTEGER NOT NULL CHECK (sequence BETWEEN 1 AND 4),
        escalation BOOLEAN NOT NULL, as_of DATE NOT NULL, run_id VARCHAR NOT NULL,
        PRIMARY KEY (rule, item_id, state_key, sequence))""",
)

# (version, description, DDL statements): read by store.migrations.all_migrations
MIGRATION = (
    7,
    "reminders: people, notification channels, runs, outbox, reminder log",
    NOTIFY_TABLES_SQL,
)
