"""Reading computed fairness results back: per-group rates, each system's evaluations across
model versions, and the groups behind given bias tests (the KPI and minutes drill-down).

Kept apart from the evaluation so that pages and the minutes read results without importing
fairlearn."""

from __future__ import annotations

import duckdb
import pandas as pd

from aims_metrics.tables.registry import BIAS_TEST_GROUPS


def group_results(
    con: duckdb.DuckDBPyConnection,
    system_id: str | None = None,
    evaluation_ids: list[str] | None = None,
) -> pd.DataFrame:
    """bias_test_groups rows, newest evaluation first; optionally one system or some evaluations."""
    sql = f"SELECT {', '.join(BIAS_TEST_GROUPS.column_names)} FROM bias_test_groups WHERE true"
    params: list = []
    if system_id is not None:
        sql += " AND system_id = ?"
        params.append(system_id)
    if evaluation_ids is not None:
        sql += " AND list_contains(?::VARCHAR[], evaluation_id)"
        params.append(list(evaluation_ids))
    sql += " ORDER BY executed_on DESC, protected_attribute, group_value"
    return con.execute(sql, params).df()


def evaluation_history(con: duckdb.DuckDBPyConnection, system_id: str) -> pd.DataFrame:
    """The computed bias tests of a system (those with per-group rates), oldest first: one row
    per run × attribute × metric, to see whether a gap closes across model versions."""
    return con.execute(
        "SELECT t.test_id, t.model_version, t.executed_on, t.stage, t.protected_attribute, "
        "t.metric, t.value, t.threshold, t.passed, split_part(t.test_id, ':', 1) AS evaluation_id "
        "FROM bias_tests t WHERE t.system_id = ? AND split_part(t.test_id, ':', 1) IN "
        "(SELECT evaluation_id FROM bias_test_groups WHERE system_id = ?) "
        "ORDER BY t.executed_on, t.model_version, t.protected_attribute, t.metric",
        [system_id, system_id],
    ).df()


def evaluated_systems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Systems with at least one computed evaluation, in id order."""
    rows = con.execute(
        "SELECT DISTINCT system_id FROM bias_test_groups ORDER BY system_id"
    ).fetchall()
    return [row[0] for row in rows]


def groups_behind_tests(con: duckdb.DuckDBPyConnection, test_ids: list[str]) -> pd.DataFrame:
    """Per-group rates behind some bias tests (the KPI and minutes drill-down)."""
    evaluation_ids = sorted({str(t).split(":", 1)[0] for t in test_ids if ":" in str(t)})
    return group_results(con, evaluation_ids=evaluation_ids)


def system_choices(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """system_id → name of every system, for pickers."""
    rows = con.execute("SELECT system_id, name FROM systems ORDER BY system_id").fetchall()
    return dict(rows)
