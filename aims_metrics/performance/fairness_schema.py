"""The fairness tables (migration 5), declared as data apart from the evaluation so that
store.migrate() reads them without importing fairlearn, and without this module importing the
store: `bias_test_groups` (frozen from the table-spec registry as released) and the append-only
`fairness_policy` versions. Literal DDL: a released migration never changes."""

from __future__ import annotations

FAIRNESS_TABLES_SQL = (
    """CREATE TABLE IF NOT EXISTS bias_test_groups (
  group_id VARCHAR NOT NULL,
  evaluation_id VARCHAR NOT NULL,
  system_id VARCHAR NOT NULL,
  model_version VARCHAR,
  executed_on DATE NOT NULL,
  stage VARCHAR NOT NULL,
  protected_attribute VARCHAR NOT NULL,
  group_value VARCHAR NOT NULL,
  n DOUBLE NOT NULL,
  insufficient BOOLEAN NOT NULL,
  selection_rate DOUBLE,
  selection_rate_low DOUBLE,
  selection_rate_high DOUBLE,
  false_positive_rate DOUBLE,
  false_positive_rate_low DOUBLE,
  false_positive_rate_high DOUBLE,
  false_negative_rate DOUBLE,
  false_negative_rate_low DOUBLE,
  false_negative_rate_high DOUBLE,
  true_positive_rate DOUBLE,
  true_positive_rate_low DOUBLE,
  true_positive_rate_high DOUBLE,
  accuracy DOUBLE,
  accuracy_low DOUBLE,
  accuracy_high DOUBLE
)""",
    """CREATE TABLE IF NOT EXISTS fairness_policy (
        version INTEGER PRIMARY KEY, thresholds VARCHAR NOT NULL, content_hash VARCHAR NOT NULL,
        author VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, reason VARCHAR NOT NULL)""",
)

# (version, description, DDL statements): read by store.migrations
MIGRATION = (
    5,
    "fairness: per-group rates behind bias tests, versioned fairness policy",
    FAIRNESS_TABLES_SQL,
)
