"""The audit programme and readiness tables (migration 6), declared as data apart from the audits
modules so that store.migrate() reads them without importing those, and without this module
importing the store.

`audits`, `soa` and `attestations` come from the table-spec registry (a new database gets them in
migration 1 too; CREATE ... IF NOT EXISTS makes both paths meet). `gap_register` is append-only:
each save of a gap's remediation plan is a new version (aims_metrics.audits.gaps).
"""

from __future__ import annotations

from aims_metrics.tables.registry import table_spec

AUDIT_TABLES = ("audits", "soa", "attestations")

GAP_REGISTER_SQL = """CREATE TABLE IF NOT EXISTS gap_register (
    ref VARCHAR NOT NULL, version INTEGER NOT NULL,
    priority VARCHAR NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    owner VARCHAR, remediation VARCHAR, effort_days DOUBLE CHECK (effort_days >= 0),
    target_date DATE, saved_by VARCHAR NOT NULL, saved_at TIMESTAMP NOT NULL, reason VARCHAR,
    PRIMARY KEY (ref, version))"""

# (version, description, DDL statements): read by store.load_migrations
MIGRATION = (
    6,
    "audit programme, Statement of Applicability, attestations, gap register",
    (*(table_spec(name).create_table_sql() for name in AUDIT_TABLES), GAP_REGISTER_SQL),
)
