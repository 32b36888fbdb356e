"""The fairness tables (migration 5), declared as data apart from the evaluation so that
store.migrate() reads them without importing fairlearn, and without this module importing the
store: `bias_test_groups` (its DDL from the table-spec registry) and the append-only
`fairness_policy` versions."""

from __future__ import annotations

from aims_metrics.tables.registry import BIAS_TEST_GROUPS

FAIRNESS_TABLES_SQL = (
    BIAS_TEST_GROUPS.create_table_sql(),
    """CREATE TABLE IF NOT EXISTS fairness_policy (
        version INTEGER PRIMARY KEY, thresholds VARCHAR NOT NULL, content_hash VARCHAR NOT NULL,
        author VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, reason VARCHAR NOT NULL)""",
)

# (version, description, DDL statements): read by store.load_migrations
MIGRATION = (
    5,
    "fairness: per-group rates behind bias tests, versioned fairness policy",
    FAIRNESS_TABLES_SQL,
)
