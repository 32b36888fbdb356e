"""The table-spec registry drives DDL and templates; clause references ship with the package."""

import csv
from pathlib import Path

import pytest

from aims_metrics import store
from aims_metrics.tables.registry import TABLES, clause_refs, table_spec

SHARED_REFS = Path(__file__).resolve().parents[2] / "shared" / "domain" / "iso42001-refs.csv"

DESIGN_COLUMNS = {
    "systems": "system_id* name* owner business_unit risk_level* lifecycle_stage deployed_on retired_on third_party",
    "incidents": "incident_id* system_id title* severity* category occurred_on detected_on* resolved_on status root_cause",
    "assessments": "assessment_id* system_id* assessment_type* status* due_on completed_on assessor residual_risk notes",
    "bias_tests": "test_id* system_id* model_version executed_on* stage* protected_attribute* metric* value* threshold* passed",
    "findings": "finding_id* audit_id* audit_type clause_ref* finding_type* description* raised_on* due_on closed_on owner status root_cause corrective_action verified_on",
}


@pytest.mark.parametrize("table", sorted(DESIGN_COLUMNS))
def test_registry_has_exactly_the_design_columns(table):
    spec = table_spec(table)
    written = " ".join(c.name + ("*" if c.required else "") for c in spec.columns)
    assert written == DESIGN_COLUMNS[table]


@pytest.mark.parametrize("table", sorted(DESIGN_COLUMNS))
def test_ddl_creates_the_registry_columns_in_order(tmp_path, table):
    with store.open_db(tmp_path / "t.duckdb") as con:
        columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    assert columns == TABLES[table].column_names


def test_template_is_the_registry_header():
    assert table_spec("findings").template_header().split(",") == TABLES["findings"].column_names


def test_unknown_table_names_the_valid_ones():
    with pytest.raises(KeyError, match="systems, incidents, assessments, bias_tests, findings"):
        table_spec("nope")


def test_shipped_clause_refs_match_the_shared_list():
    if not SHARED_REFS.exists():
        pytest.skip("../shared/domain is not beside this checkout")
    with SHARED_REFS.open(encoding="utf-8") as handle:
        expected = {row["ref"]: row["title"] for row in csv.DictReader(handle)}
    assert {ref: c.title for ref, c in clause_refs().items()} == expected
    assert "A.6.2.4" in clause_refs() and "9.2" in clause_refs()


def test_migrations_are_recorded_once(tmp_path):
    path = tmp_path / "t.duckdb"
    with store.open_db(path) as con:
        first = store.schema_version(con)
    with store.open_db(path) as con:
        assert store.schema_version(con) == first
        versions = [r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()]
    assert versions == sorted(set(versions))
