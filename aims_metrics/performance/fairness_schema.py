"""The fairness tables (migration 5), declared apart from the evaluation so that store.migrate()
can register them without importing fairlearn: `bias_test_groups` (its DDL from the table-spec
registry) and the append-only `fairness_policy` versions."""

from __future__ import annotations

from aims_metrics import store
from aims_metrics.tables.registry import BIAS_TEST_GROUPS

FAIRNESS_TABLES_SQL = (
    BIAS_TEST_GROUPS.create_table_sql(),
    """CREATE TABLE IF NOT EXISTS fairness_policy (
        version INTEGER PRIMARY KEY, thresholds VARCHAR NOT NULL, content_hash VARCHAR NOT NULL,
        author VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, reason VARCHAR NOT NULL)""",
)

store.register_migration(
    store.Migration(
        5,
        "fairness: per-group rates behind bias tests, versioned fairness policy",
        store.sql_migration(*FAIRNESS_TABLES_SQL),
    )
)
