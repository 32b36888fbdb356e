"""Evaluate metric definitions per quarter against the database (design §4).

The current catalog is evaluated by one query that reads each source table once
(`metrics.scan`); a metric of a shape the scan cannot rebuild gets its own query
(`metrics.compiler.compile_series`). Every query runs in a read-only transaction, on a connection
with external access disabled, under a time limit (the `metric_time_limit_seconds` setting, held
however many statements run; see time_limit). A metric whose source cannot be read yet, or whose
source tables are all still empty, is `no_data` with the reason in `problem`; the rest of the
catalog is unaffected.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import duckdb

from aims_metrics import store
from aims_metrics.metrics.catalog import current_definitions
from aims_metrics.metrics.compiler import (
    CompiledQuery,
    MetricError,
    compile_records,
    compile_series,
    ident,
)
from aims_metrics.metrics.models import MetricDefinition, Source
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.scan import compile_catalog, scannable
from aims_metrics.metrics.sources import shipped_sources
from aims_metrics.metrics.status import KpiResult, kpi_result
from aims_metrics.metrics.validation import definition_problems
from aims_metrics.tables.registry import TABLES
from aims_metrics.vocabulary.wording import noun_for

if TYPE_CHECKING:
    import pandas as pd

# How often the time limit interrupts the connection once its deadline has passed: a statement
# that starts after the deadline is stopped within this interval.
INTERRUPT_INTERVAL_SECONDS = 0.01


class MetricTimeout(RuntimeError):
    """A metric evaluation ran longer than its time limit and was interrupted."""


def evaluation_time_limit(con: duckdb.DuckDBPyConnection) -> float:
    """The `metric_time_limit_seconds` setting: how long one evaluation may run."""
    return float(store.setting_value(con, "metric_time_limit_seconds"))


@contextmanager
def time_limit(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[None]:
    """Stop every statement run on the connection inside the block once `seconds` have passed;
    raise MetricTimeout.

    DuckDB has no statement timeout and forgets an interrupt that arrives between statements, so
    after the deadline a watcher keeps interrupting until the block exits: however many
    statements the block runs, none runs unbounded.
    """
    finished = threading.Event()

    def watch() -> None:
        if finished.wait(seconds):
            return
        while not finished.is_set():
            con.interrupt()
            finished.wait(INTERRUPT_INTERVAL_SECONDS)

    watcher = threading.Thread(target=watch, name="metric-time-limit", daemon=True)
    watcher.start()
    try:
        yield
    except duckdb.InterruptException:
        raise MetricTimeout(
            f"metric evaluation took longer than {seconds:g} s and was stopped; "
            "narrow the filters or ask an engineer to index the source"
        ) from None
    finally:
        finished.set()
        watcher.join()  # no interrupt may reach a statement run after the block


# --- what the database holds ------------------------------------------------------------------


def bound_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """A table's {column: DuckDB type}, as DESCRIBE names them, from binding the table (no query
    runs). Raises duckdb.CatalogException for a missing table."""
    relation = con.table(table)
    return dict(zip(relation.columns, map(str, relation.types), strict=True))


def existing_tables(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, dict[str, str]]:
    """table -> {column: type} for those of the tables that exist. Bound one by one outside any
    transaction (a missing table raises, which would abort a transaction)."""
    found: dict[str, dict[str, str]] = {}
    for table in sorted(tables):
        try:
            found[table] = bound_columns(con, table)
        except duckdb.CatalogException:
            continue
    return found


def row_counts(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, int]:
    """table -> number of rows, for existing tables, in one read-only query."""
    if not tables:
        return {}
    ordered = sorted(tables)
    counts = " UNION ALL ".join(
        f"SELECT {index}, count(*) FROM {ident(table)}" for index, table in enumerate(ordered)
    )
    with store.transaction(con, read_only=True):
        return {ordered[index]: count for index, count in con.execute(counts).fetchall()}


def source_availability_problem(source: Source, existing: dict[str, Any]) -> str | None:
    """Why a source cannot be read in this database (missing table or column), or None."""
    if source.table not in existing:
        return (
            f"source {source.name!r} reads table {source.table}, which does not exist in this "
            "database yet"
        )
    missing = [
        c.name for c in source.columns if not c.expr and c.name not in existing[source.table]
    ]
    if missing:
        return f"table {source.table} lacks {noun_for(len(missing), 'column')} {', '.join(missing)} declared by source {source.name!r}"
    return None


def tables_read(definitions: list[MetricDefinition], sources: dict[str, Source]) -> set[str]:
    """The tables the definitions' parts read (parts over an unknown source left out)."""
    return {
        sources[m.source].table for d in definitions for _, m in d.parts() if m.source in sources
    }


def _definition_problem(
    definition: MetricDefinition,
    sources: dict[str, Source],
    existing: dict[str, Any],
    empty: frozenset[str] = frozenset(),
) -> str | None:
    for _, measure in definition.parts():
        source = sources.get(measure.source)
        if source is None:
            return f"unknown source {measure.source!r}"
        problem = source_availability_problem(source, existing)
        if problem:
            return problem
    tables = tables_read([definition], sources)
    if tables <= empty:  # a count of 0 would claim a register that was never loaded is clean
        return f"no {' or '.join(sorted(_readable_table(t) for t in tables))} yet"
    return None


def _readable_table(name: str) -> str:
    """How a reader names a table: its registry title ("bias and fairness test results"), else
    its name in words ("review actions")."""
    spec = TABLES.get(name)
    if spec is None:
        return name.replace("_", " ")
    title = spec.title  # lower-cased as a sentence word, unless it starts with an acronym
    return title if title[:2].isupper() else title[:1].lower() + title[1:]


# --- evaluating -------------------------------------------------------------------------------


def _run(con: duckdb.DuckDBPyConnection, query: CompiledQuery) -> dict[str, Any]:
    with store.transaction(con, read_only=True):
        return {row[0]: row[1] for row in con.execute(query.sql, query.params).fetchall()}


def _values(
    con: duckdb.DuckDBPyConnection,
    readable: list[MetricDefinition],
    sources: dict[str, Source],
    every: list[Quarter],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """period -> value per metric, and the problem of each metric whose query failed."""
    values: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    scanned = [d for d in readable if scannable(d, sources)]
    names_scanned = {d.name for d in scanned}
    if scanned:
        query = compile_catalog(scanned, sources, every)
        try:
            with store.transaction(con, read_only=True):
                values = query.values(con.execute(query.sql, query.params).fetchall())
        except duckdb.InterruptException:
            raise
        except duckdb.Error as error:
            failed |= dict.fromkeys(query.names, f"evaluation failed: {str(error).splitlines()[0]}")
    for definition in readable:
        if definition.name in names_scanned:
            continue
        try:
            values[definition.name] = _run(con, compile_series(definition, sources, every))
        except duckdb.InterruptException:
            raise
        except duckdb.Error as error:
            failed[definition.name] = f"evaluation failed: {str(error).splitlines()[0]}"
    return values, failed


def evaluate_series(
    con: duckdb.DuckDBPyConnection,
    definitions: list[MetricDefinition],
    quarters: list[Quarter],
    sources: dict[str, Source] | None = None,
    seconds: float | None = None,
) -> dict[str, list[KpiResult]]:
    """Evaluate definitions for the quarters (each with previous_value), read-only, time-limited
    (`seconds`, default the `metric_time_limit_seconds` setting). The lists follow `quarters`'
    order."""
    sources = shipped_sources() if sources is None else sources
    seconds = evaluation_time_limit(con) if seconds is None else seconds
    wanted = sorted(set(quarters))
    every = sorted(set(wanted) | {q.previous() for q in wanted})
    with time_limit(con, seconds):
        existing = existing_tables(con, tables_read(definitions, sources))
        counts = row_counts(con, set(existing))
        empty = frozenset(table for table, count in counts.items() if count == 0)
        problems = {d.name: _definition_problem(d, sources, existing, empty) for d in definitions}
        readable = [d for d in definitions if problems[d.name] is None]
        values, failed = _values(con, readable, sources, every) if readable else ({}, {})
    problems |= failed
    return {
        d.name: [
            kpi_result(
                d,
                q,
                values.get(d.name, {}).get(q.label),
                values.get(d.name, {}).get(q.previous().label),
                problems[d.name],
            )
            for q in quarters
        ]
        for d in definitions
    }


def current(
    con: duckdb.DuckDBPyConnection, names: list[str] | None = None
) -> list[MetricDefinition]:
    """The current definitions (all, or the named ones in that order)."""
    definitions = current_definitions(con)
    if names is None:
        return definitions
    by_name = {d.name: d for d in definitions}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise MetricError(
            f"unknown {noun_for(len(unknown), 'metric')} {', '.join(unknown)}: use one of {', '.join(by_name)}"
        )
    return [by_name[n] for n in names]


def catalog_series(
    con: duckdb.DuckDBPyConnection, quarters: list[Quarter], names: list[str] | None = None
) -> dict[str, list[KpiResult]]:
    """Every (or the named) current metric for every quarter; each result carries the previous
    quarter's value computed with the same (current) definition version."""
    return evaluate_series(con, current(con, names), list(quarters))


def kpis_for_quarter(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> list[KpiResult]:
    """The whole current catalog for one quarter, with the previous quarter's value."""
    return [series[0] for series in catalog_series(con, [quarter]).values()]


def metric_records(con: duckdb.DuckDBPyConnection, name: str, quarter: Quarter) -> pd.DataFrame:
    """The source rows behind a metric's value for the quarter (drill-down)."""
    (definition,) = current(con, [name])
    sources = shipped_sources()
    problem = _definition_problem(
        definition, sources, existing_tables(con, tables_read([definition], sources))
    )
    if problem:
        raise MetricError(problem)
    query = compile_records(definition, sources, quarter)
    with time_limit(con, evaluation_time_limit(con)):
        with store.transaction(con, read_only=True):
            return con.execute(query.sql, query.params).df()


def preview_definition(
    con: duckdb.DuckDBPyConnection, definition: MetricDefinition, quarters: list[Quarter]
) -> list[KpiResult]:
    """Evaluate an unsaved definition for the given quarters (the editor's live preview).

    Raises MetricError listing the reference-rule problems of an invalid definition.
    """
    sources = shipped_sources()
    problems = definition_problems(definition, sources, "metric")
    if problems:
        raise MetricError("; ".join(str(p) for p in problems))
    return evaluate_series(con, [definition], list(quarters), sources)[definition.name]
