"""Editing the catalog from a metric file: every problem at once (shape, reference rules, a DuckDB
dry run against this database), then all-or-nothing saving of the changed metrics."""

from __future__ import annotations

import duckdb

from aims_metrics import store
from aims_metrics.metrics.catalog import save_in_transaction
from aims_metrics.metrics.compiler import MetricError, compile_series
from aims_metrics.metrics.definition_files import (
    load_document,
    metrics_valid_alone,
    parse_metric_file,
    reference_problems_of,
    validate_document,
)
from aims_metrics.metrics.evaluate import (
    MetricTimeout,
    evaluation_time_limit,
    existing_tables,
    source_availability_problem,
    time_limit,
)
from aims_metrics.metrics.models import DefinitionProblem, MetricDefinition
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.sources import shipped_sources


def dry_run_problems(
    con: duckdb.DuckDBPyConnection, definition: MetricDefinition, prefix: str
) -> list[DefinitionProblem]:
    """Compile and plan the metric's query against this database (read-only, no rows read)."""
    sources = shipped_sources()
    with store.transaction(con, read_only=True):
        existing = existing_tables(con, {s.table for s in sources.values()})
    problems = []
    for part, measure in definition.parts():
        problem = source_availability_problem(sources[measure.source], existing)
        if problem:
            problems.append(DefinitionProblem(f"{prefix}.{part}.source", problem))
    if problems:
        return problems
    try:
        query = compile_series(definition, sources, [Quarter(2000, 1)])
        with time_limit(con, evaluation_time_limit(con)):
            with store.transaction(con, read_only=True):
                con.execute(f"EXPLAIN {query.sql}", query.params).fetchall()
    except MetricError as error:
        return [DefinitionProblem(prefix, f"cannot compile: {error}")]
    except MetricTimeout as error:
        return [DefinitionProblem(prefix, f"DuckDB dry run stopped: {error}")]
    except duckdb.Error as error:
        return [DefinitionProblem(prefix, f"DuckDB dry run failed: {str(error).splitlines()[0]}")]
    return []


def validate_metric_file(con: duckdb.DuckDBPyConnection, text: str) -> list[DefinitionProblem]:
    """Shape, reference rules (sources, columns, types) and a DuckDB dry run; all problems."""
    data, problems = load_document(text)
    if data is None:
        return problems
    metric_file, problems = validate_document(data)
    if metric_file is not None:
        indexed = list(enumerate(metric_file.metrics))
    else:  # shape problems: still check every metric whose own shape is valid
        indexed = metrics_valid_alone(data)
    problems = problems + reference_problems_of(indexed)
    failing = {p.path.split(".")[0] for p in problems}
    for index, definition in indexed:
        prefix = f"metrics[{index}]"
        if prefix not in failing:
            problems += dry_run_problems(con, definition, prefix)
    return problems


def apply_metric_file(
    con: duckdb.DuckDBPyConnection, text: str, username: str, reason: str | None = None
) -> list[tuple[str, int]]:
    """Save every changed metric of a valid file as a new version, all or nothing.

    Returns (name, version) for each metric saved; unchanged metrics are not bumped.
    Raises ValueError listing every problem when the file is invalid.
    """
    problems = validate_metric_file(con, text)
    if problems:
        raise ValueError("\n".join(str(p) for p in problems))
    metric_file, _ = parse_metric_file(text)
    assert metric_file is not None
    saved = []
    with store.transaction(con):
        for definition in metric_file.metrics:
            version, changed = save_in_transaction(con, definition, username, reason)
            if changed:
                saved.append((definition.name, version))
    return saved
