"""The audit programme and readiness tables (migration 6), declared as data apart from the audits
modules so that store.migrate() reads them without importing those, and without this module
importing the store.

Frozen literal DDL (a released migration never changes; a schema change is a new migration).
`audits`, `soa` and `attestations` are also created by migration 1 in databases made after they
joined the registry; CREATE ... IF NOT EXISTS makes both paths meet. `gap_register` is
append-only: each save of a gap's remediation plan is a new version (aims_metrics.audits.gaps).
"""

from __future__ import annotations

AUDIT_TABLES_SQL = (
    """CREATE TABLE IF NOT EXISTS audits (
  audit_id VARCHAR NOT NULL,
  audit_type VARCHAR NOT NULL,
  title VARCHAR NOT NULL,
  planned_start DATE NOT NULL,
  planned_end DATE,
  status VARCHAR NOT NULL,
  actual_end DATE,
  lead_auditor VARCHAR,
  lead_auditor_unit VARCHAR,
  team VARCHAR,
  auditee_unit VARCHAR,
  scope VARCHAR NOT NULL,
  criteria VARCHAR,
  report_on DATE
)""",
    """CREATE TABLE IF NOT EXISTS soa (
  control_id VARCHAR NOT NULL,
  applicable BOOLEAN NOT NULL,
  justification VARCHAR,
  implementation_status VARCHAR,
  owner VARCHAR,
  evidence VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS attestations (
  ref VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  evidence VARCHAR,
  owner VARCHAR,
  reviewed_on DATE
)""",
)

GAP_REGISTER_SQL = """CREATE TABLE IF NOT EXISTS gap_register (
    ref VARCHAR NOT NULL, version INTEGER NOT NULL,
    priority VARCHAR NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    owner VARCHAR, remediation VARCHAR, effort_days DOUBLE CHECK (effort_days >= 0),
    target_date DATE, saved_by VARCHAR NOT NULL, saved_at TIMESTAMP NOT NULL, reason VARCHAR,
    PRIMARY KEY (ref, version))"""

# (version, description, DDL statements): read by store.migrations
MIGRATION = (
    6,
    "audit programme, Statement of Applicability, attestations, gap register",
    (*AUDIT_TABLES_SQL, GAP_REGISTER_SQL),
)
