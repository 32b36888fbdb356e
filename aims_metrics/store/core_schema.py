"""Migration 1, frozen: the data tables and the core tables as released.

Literal DDL, generated once from the table-spec registry and pasted here, so changing a spec never
changes a released migration. A schema change is a new migration (tests/test_migrations.py fails
when a spec and the latest schema disagree).
"""

from __future__ import annotations

DATA_TABLES_SQL = (
    """CREATE TABLE IF NOT EXISTS systems (
  system_id VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  owner VARCHAR,
  business_unit VARCHAR,
  risk_level VARCHAR NOT NULL,
  lifecycle_stage VARCHAR,
  deployed_on DATE,
  retired_on DATE,
  third_party BOOLEAN
)""",
    """CREATE TABLE IF NOT EXISTS incidents (
  incident_id VARCHAR NOT NULL,
  system_id VARCHAR,
  title VARCHAR NOT NULL,
  severity VARCHAR NOT NULL,
  category VARCHAR,
  occurred_on DATE,
  detected_on DATE NOT NULL,
  resolved_on DATE,
  status VARCHAR,
  root_cause VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS assessments (
  assessment_id VARCHAR NOT NULL,
  system_id VARCHAR NOT NULL,
  assessment_type VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  due_on DATE,
  completed_on DATE,
  assessor VARCHAR,
  residual_risk VARCHAR,
  notes VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS bias_tests (
  test_id VARCHAR NOT NULL,
  system_id VARCHAR NOT NULL,
  model_version VARCHAR,
  executed_on DATE NOT NULL,
  stage VARCHAR NOT NULL,
  protected_attribute VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  value DOUBLE NOT NULL,
  threshold DOUBLE NOT NULL,
  passed BOOLEAN
)""",
    """CREATE TABLE IF NOT EXISTS findings (
  finding_id VARCHAR NOT NULL,
  audit_id VARCHAR NOT NULL,
  audit_type VARCHAR,
  clause_ref VARCHAR NOT NULL,
  finding_type VARCHAR NOT NULL,
  description VARCHAR NOT NULL,
  raised_on DATE NOT NULL,
  due_on DATE,
  closed_on DATE,
  owner VARCHAR,
  status VARCHAR,
  root_cause VARCHAR,
  corrective_action VARCHAR,
  verified_on DATE
)""",
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

CORE_TABLES_SQL = (
    """CREATE SEQUENCE IF NOT EXISTS import_batch_ids START 1""",
    """CREATE TABLE IF NOT EXISTS import_batches (
        batch_id BIGINT PRIMARY KEY DEFAULT nextval('import_batch_ids'),
        table_name VARCHAR NOT NULL, file_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
        row_count BIGINT NOT NULL, inserted BIGINT NOT NULL, updated BIGINT NOT NULL,
        unchanged BIGINT NOT NULL, username VARCHAR NOT NULL, imported_at TIMESTAMP NOT NULL)""",
    """CREATE SEQUENCE IF NOT EXISTS audit_log_ids START 1""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        entry_id BIGINT PRIMARY KEY DEFAULT nextval('audit_log_ids'),
        logged_at TIMESTAMP NOT NULL, username VARCHAR NOT NULL, action VARCHAR NOT NULL,
        target VARCHAR NOT NULL, detail VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS mapping_presets (
        table_name VARCHAR NOT NULL, name VARCHAR NOT NULL, mapping VARCHAR NOT NULL,
        created_by VARCHAR, created_at TIMESTAMP, PRIMARY KEY (table_name, name))""",
    """CREATE TABLE IF NOT EXISTS objectives (
        objective_id VARCHAR PRIMARY KEY, title VARCHAR NOT NULL, metric VARCHAR NOT NULL,
        target DOUBLE NOT NULL, deadline DATE NOT NULL, owner VARCHAR,
        baseline DOUBLE, baseline_on DATE, updated_by VARCHAR, updated_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS metric_definitions (
        name VARCHAR NOT NULL, version INTEGER NOT NULL, definition VARCHAR NOT NULL,
        content_hash VARCHAR NOT NULL, author VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
        reason VARCHAR, PRIMARY KEY (name, version))""",
    """CREATE TABLE IF NOT EXISTS users (
        username VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, password_hash VARCHAR,
        email VARCHAR, display_name VARCHAR, disabled BOOLEAN NOT NULL DEFAULT false,
        failed_attempts INTEGER NOT NULL DEFAULT 0, locked_until TIMESTAMP,
        created_at TIMESTAMP NOT NULL)""",
)

# (version, description, DDL statements), like the migrations the table-owning modules declare
MIGRATION = (1, "data tables from the registry and core tables", DATA_TABLES_SQL + CORE_TABLES_SQL)
