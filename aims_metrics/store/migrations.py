"""Schema migrations: frozen DDL, applied in order, and a description of a database's schema.

A migration is data — (version, description, DDL statements) — declared by the module that owns
the tables (MIGRATION in each of MIGRATION_MODULES) as literal SQL. A released migration never
changes; a schema change is a new migration with the next free number. migrate() reads them all
first, so no process can skip a migration because it never imported the module that owns it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import duckdb

from aims_metrics.store.audit import now
from aims_metrics.store.config import CONNECTION_CONFIG
from aims_metrics.store.transactions import transaction

MIGRATION_MODULES = (
    "aims_metrics.store.core_schema",
    "aims_metrics.review.schema",
    "aims_metrics.auth.schema",
    "aims_metrics.auth.password_schema",
    "aims_metrics.performance.fairness_schema",
    "aims_metrics.audits.schema",
    "aims_metrics.notify.schema",
)

SCHEMA_VERSION_SQL = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "description VARCHAR, applied_at TIMESTAMP)"
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]

    def apply(self, con: duckdb.DuckDBPyConnection) -> None:
        """Run this migration's DDL statements in order."""
        for statement in self.statements:
            con.execute(statement)


@cache
def all_migrations() -> tuple[Migration, ...]:
    """Every migration the product declares, in version order (read once per process)."""
    found: dict[int, Migration] = {}
    for module in MIGRATION_MODULES:
        version, description, statements = importlib.import_module(module).MIGRATION
        if version in found:
            raise ValueError(f"migration {version} is declared twice (in {module})")
        found[version] = Migration(version, description, tuple(statements))
    return tuple(found[v] for v in sorted(found))


def latest_schema_version() -> int:
    """The schema version a database has once this program has migrated it."""
    return all_migrations()[-1].version


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    """The migration versions recorded in a database (empty for a new one)."""
    try:
        return {row[0] for row in con.execute("SELECT version FROM schema_version").fetchall()}
    except duckdb.CatalogException:
        return set()


def migrate(con: duckdb.DuckDBPyConnection, upto: int | None = None) -> int:
    """Apply every migration the database lacks (up to `upto`), in order, each in its own
    transaction; returns the schema version. An up-to-date database is only read."""
    wanted = [m for m in all_migrations() if upto is None or m.version <= upto]
    applied = applied_versions(con)
    if applied >= {m.version for m in wanted}:
        return max(applied, default=0)
    con.execute(SCHEMA_VERSION_SQL)
    for migration in wanted:
        if migration.version in applied:
            continue
        with transaction(con):
            migration.apply(con)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                [migration.version, migration.description, now()],
            )
        applied.add(migration.version)
    return max(applied)


# --- what a database's schema is -----------------------------------------------------------------

# Every kind of object a database file can hold, as DuckDB lists it: (kind, query of name and
# definition for the current database). Tables are described column by column (name, type,
# default, nullability) plus their constraints (primary keys, checks). Secrets are not listed:
# DuckDB never stores them in a database file (they live in memory or in
# ~/.duckdb/stored_secrets, which a connection with external access off cannot read).
_OBJECT_QUERIES = {
    "schema": "SELECT schema_name, '' FROM duckdb_schemas() "
    "WHERE database_name = current_database() AND NOT internal",
    "view": "SELECT schema_name || '.' || view_name, sql FROM duckdb_views() "
    "WHERE database_name = current_database() AND NOT internal",
    "macro": "SELECT schema_name || '.' || function_name, coalesce(macro_definition, '') "
    "FROM duckdb_functions() WHERE database_name = current_database() AND NOT internal",
    "sequence": "SELECT schema_name || '.' || sequence_name, '' FROM duckdb_sequences() "
    "WHERE database_name = current_database() AND NOT temporary",
    "index": "SELECT schema_name || '.' || index_name, coalesce(sql, '') FROM duckdb_indexes() "
    "WHERE database_name = current_database()",
    "type": "SELECT schema_name || '.' || type_name, logical_type FROM duckdb_types() "
    "WHERE database_name = current_database() AND NOT internal",
    "attached database": "SELECT database_name, coalesce(path, '') FROM duckdb_databases() "
    "WHERE NOT internal AND database_name <> current_database()",
}

Column = tuple[str, str, str | None, bool]  # name, type, default, nullable
Snapshot = dict[tuple[str, str], tuple]


def schema_snapshot(con: duckdb.DuckDBPyConnection) -> Snapshot:
    """Every object of the connection's database: (kind, name) -> its definition.

    A table maps to (columns in order, sorted constraints); other kinds to their SQL text.
    Two databases with equal snapshots have the same schema.
    """
    snapshot: Snapshot = {}
    columns = con.execute(
        "SELECT schema_name || '.' || table_name, column_name, data_type, column_default, "
        "is_nullable FROM duckdb_columns() WHERE database_name = current_database() "
        "ORDER BY schema_name, table_name, column_index"
    ).fetchall()
    by_table: dict[str, list[Column]] = {}
    for table, name, data_type, default, nullable in columns:
        by_table.setdefault(table, []).append((name, data_type, default, bool(nullable)))
    constraints = con.execute(
        "SELECT schema_name || '.' || table_name, constraint_type, constraint_text "
        "FROM duckdb_constraints() WHERE database_name = current_database() "
        "ORDER BY ALL"
    ).fetchall()
    by_table_constraints: dict[str, list[tuple[str, str]]] = {}
    for table, kind, text in constraints:
        by_table_constraints.setdefault(table, []).append((kind, text))
    tables = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = current_database()"
    ).fetchall()
    for (table,) in tables:
        snapshot[("table", table)] = (
            tuple(by_table.get(table, [])),
            tuple(by_table_constraints.get(table, [])),
        )
    for kind, sql in _OBJECT_QUERIES.items():
        for name, definition in con.execute(sql).fetchall():
            snapshot[(kind, name)] = (definition,)
    return snapshot


def reference_snapshot(versions: Iterable[int]) -> Snapshot:
    """The schema a database has after exactly the given migrations (built fresh in memory)."""
    by_version = {m.version: m for m in all_migrations()}
    con = duckdb.connect(":memory:", config=dict(CONNECTION_CONFIG))
    try:
        con.execute(SCHEMA_VERSION_SQL)
        for version in sorted(versions):
            by_version[version].apply(con)
        return schema_snapshot(con)
    finally:
        con.close()


def _table_differences(table: str, expected: tuple, actual: tuple) -> list[str]:
    wanted = {c[0]: c for c in expected[0]}
    found = {c[0]: c for c in actual[0]}
    problems = [
        f"table {table} lacks column {n} ({c[1]})" for n, c in wanted.items() if n not in found
    ]
    problems += [f"table {table} has an unexpected column {n}" for n in found if n not in wanted]
    for name in wanted.keys() & found.keys():
        if wanted[name] != found[name]:
            _, w_type, w_default, w_null = wanted[name]
            _, f_type, f_default, f_null = found[name]
            problems.append(
                f"column {table}.{name} is {f_type} default {f_default} "
                f"{'NULL' if f_null else 'NOT NULL'}, expected {w_type} default {w_default} "
                f"{'NULL' if w_null else 'NOT NULL'}"
            )
    if not problems and [c[0] for c in expected[0]] != [c[0] for c in actual[0]]:
        problems.append(f"table {table} has its columns in another order")
    if expected[1] != actual[1]:
        problems.append(f"table {table} has other constraints than expected")
    return problems


def schema_differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    """How `actual` differs from `expected`, one sentence per difference (empty: the same)."""
    problems = []
    for kind, name in sorted(expected.keys() - actual.keys()):
        problems.append(f"{kind} {name} is missing")
    for key in sorted(expected.keys() & actual.keys()):
        if key[0] == "table":
            problems += _table_differences(key[1], expected[key], actual[key])
        elif expected[key] != actual[key]:
            problems.append(f"{key[0]} {key[1]} differs")
    for kind, name in sorted(actual.keys() - expected.keys()):
        problems.append(f"unexpected {kind} {name}")
    return problems


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to a database (0 for a new one); reads only."""
    return max(applied_versions(con), default=0)
