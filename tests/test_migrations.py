"""Migrations are frozen: every released migration is literal DDL that never changes, a database
made by any release migrates to exactly the schema of a new one, and the table specs agree with
the latest schema (a spec change without a new migration fails here)."""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from aims_metrics import store
from aims_metrics.store import migrations
from aims_metrics.tables.registry import BIAS_TEST_GROUPS, TABLES

REPO = Path(__file__).resolve().parents[1]

# The SHA-256 of each released migration's DDL. A released migration never changes: a schema
# change is a new migration (the next free number), with its hash added here when it is released.
RELEASED = {
    1: "b2ac245d9fa039e3cce79ae20dd2544d39d0f5b97b8a88c65348b18e3e88da14",
    3: "728f175313ead1c9530dcacd4d79eea99080e120f3caf6c1e46df9a6d10fb854",
    4: "27a9a992146abca5fc36bd173b0d443d1be9aef17fe4c8310b3e2dc357d6c9d5",
    5: "8634071b365914d7fe57abbf080fa357ac5fd7580f4b22c54993f27684ef86dd",
    6: "c4c4de8387eaa15ff3d5c90fadad6386b7418fad8dedc59b4d85db3173ab1277",
    7: "e0277c39c48c923c56c486e38903bf8d7f82c5f3dc6f24b1151bbbd0321d30e4",
    8: "08fcde53152a6e01a457f7e4bb793cdc0212119f2296188c57b7423399c7a0c5",
}


def _memory() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:", config=dict(store.CONNECTION_CONFIG))


def _fresh_snapshot() -> migrations.Snapshot:
    con = _memory()
    try:
        store.migrate(con)
        return store.schema_snapshot(con)
    finally:
        con.close()


def test_released_migrations_are_unchanged():
    declared = {m.version: m for m in store.all_migrations()}
    for version, digest in RELEASED.items():
        text = "\n;\n".join(declared[version].statements)
        assert hashlib.sha256(text.encode()).hexdigest() == digest, (
            f"migration {version} was edited; a schema change is a new migration"
        )


def test_migration_modules_hold_literal_ddl_and_import_nothing_of_the_product():
    """A migration built from the registry would change whenever a spec does."""
    for module in migrations.MIGRATION_MODULES:
        path = REPO / (module.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text("utf-8"))
        imported = [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module != "__future__"
        ] + [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
        assert imported == [], (module, imported)
        calls = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert calls == [], (module, calls)


@pytest.mark.parametrize("version", sorted(RELEASED))
def test_a_database_of_every_release_migrates_to_the_fresh_schema(tmp_path, version):
    path = tmp_path / f"release-{version}.duckdb"
    con = duckdb.connect(str(path), config=dict(store.CONNECTION_CONFIG))
    try:
        assert store.migrate(con, upto=version) == version
        applied = [
            r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
        ]
        assert applied == [v for v in sorted(RELEASED) if v <= version]
        con.execute(
            "INSERT INTO incidents (incident_id, title, severity, detected_on) "
            "VALUES ('I1', 'kept across upgrades', 'low', DATE '2024-05-06')"
        )
    finally:
        con.close()
    with store.open_db(path) as con:  # what the CLI and the app do with an old database
        assert store.schema_version(con) == store.latest_schema_version()
        differences = store.schema_differences(_fresh_snapshot(), store.schema_snapshot(con))
        assert differences == []
        assert con.execute("SELECT incident_id, title FROM incidents").fetchall() == [
            ("I1", "kept across upgrades")
        ]


def test_the_comparison_sees_a_column_a_type_a_default_and_a_key():
    """The upgrade test above can fail: each kind of difference is reported."""
    fresh = _fresh_snapshot()
    con = _memory()
    try:
        store.migrate(con)
        con.execute("ALTER TABLE incidents ADD COLUMN extra VARCHAR")
        con.execute("ALTER TABLE findings ALTER COLUMN owner TYPE INTEGER")
        con.execute("ALTER TABLE users ALTER COLUMN failed_attempts SET DEFAULT 1")
        con.execute("DROP TABLE mapping_presets")
        con.execute(
            "CREATE TABLE mapping_presets (table_name VARCHAR NOT NULL, name VARCHAR NOT NULL, "
            "mapping VARCHAR NOT NULL, created_by VARCHAR, created_at TIMESTAMP)"
        )
        differences = store.schema_differences(fresh, store.schema_snapshot(con))
    finally:
        con.close()
    assert "table main.incidents has an unexpected column extra" in differences
    assert any(d.startswith("column main.findings.owner is INTEGER") for d in differences)
    assert any(
        d.startswith("column main.users.failed_attempts is INTEGER default 1") for d in differences
    )
    assert "table main.mapping_presets has other constraints than expected" in differences


@pytest.mark.parametrize("spec", [*TABLES.values(), BIAS_TEST_GROUPS], ids=lambda s: s.name)
def test_every_table_spec_agrees_with_the_latest_schema(spec):
    """Change a spec's columns and this fails until a new migration makes the schema agree."""
    con = _memory()
    try:
        con.execute(spec.create_table_sql())
        declared = store.schema_snapshot(con)[("table", f"main.{spec.name}")][0]
    finally:
        con.close()
    migrated = _fresh_snapshot()[("table", f"main.{spec.name}")][0]
    assert [(n, t, null) for n, t, _, null in migrated] == [
        (n, t, null) for n, t, _, null in declared
    ]


def test_every_migration_is_applied_without_importing_the_modules_that_own_the_tables(tmp_path):
    """No import-time registration: a process that imports only the store migrates fully."""
    code = (
        "import sys, duckdb\n"
        "from aims_metrics import store\n"
        "con = duckdb.connect(':memory:', config=dict(store.CONNECTION_CONFIG))\n"
        "store.migrate(con)\n"
        "print(sorted(r[0] for r in con.execute('SELECT version FROM schema_version').fetchall()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sorted(RELEASED))


def test_no_import_time_registration_is_left():
    for path in [
        *(REPO / "aims_metrics").rglob("*.py"),
        REPO / "tests" / "conftest.py",
        *(REPO / "bench").glob("*.py"),
    ]:
        text = path.read_text("utf-8")
        for leftover in ("register_migration", "ensure_review_schema", "load_migrations"):
            assert leftover not in text, f"{path.relative_to(REPO)} still uses {leftover}"
