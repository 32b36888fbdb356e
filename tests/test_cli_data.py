"""The data commands through a real subprocess: exit codes 0/1/2, stdout and stderr, lock conflicts."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from import_helpers import SYSTEMS_CSV, dump_db, new_db, rows, run_cli, write

from aims_metrics.tables.registry import TABLES


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return new_db(tmp_path)


def test_init_creates_a_migrated_database(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "new.duckdb"
    result = run_cli(db, "init")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"database {db} at schema version ")
    version = int(result.stdout.split("schema version ")[1].split()[0])
    assert rows(db, "SELECT max(version) FROM schema_version") == [(version,)]
    tables = {t for (t,) in rows(db, "SELECT table_name FROM duckdb_tables()")}
    assert set(TABLES) | {"import_batches", "audit_log", "schema_version"} <= tables
    again = run_cli(db, "init")
    assert (again.returncode, again.stdout) == (0, result.stdout)


@pytest.mark.parametrize("table", list(TABLES))
def test_template_prints_the_registry_header(tmp_path: Path, table: str) -> None:
    result = run_cli(tmp_path / "t.duckdb", "template", table)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        ",".join(c.name for c in TABLES[table].columns) + "\n",
        "",
    )


def test_import_success_prints_counts(db: Path, tmp_path: Path) -> None:
    path = write(
        tmp_path / "i.csv", "incident_id,title,severity,detected_on,notes\nI1,t,low,2025-01-01,x\n"
    )
    result = run_cli(db, "import", "incidents", str(path))
    assert (result.returncode, result.stdout) == (0, "1 inserted, 0 updated, 0 unchanged\n")
    assert result.stderr == "warning: ignored columns not in incidents: notes\n"


def test_import_invalid_data_exits_1_with_error_lines(db: Path, tmp_path: Path) -> None:
    path = write(
        tmp_path / "i.csv",
        "incident_id,system_id,title,severity,detected_on\nI1,S1,t,low,2025-01-01\n"
        "I2,S404,t,low,2025-01-01\nI3,S1,t,meh,2025-01-01\n",
    )
    before = dump_db(db)
    result = run_cli(db, "import", "incidents", str(path))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"{path}:3: system_id: unknown system_id 'S404': import systems first",
        f"{path}:4: severity: 'meh' is not one of: critical, high, medium, low",
        "2 errors: nothing imported",
    ]
    assert dump_db(db) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["import", "incidents", "missing.csv"], "missing.csv: no such file"),
        (["import", "gadgets", "x.csv"], "invalid choice: 'gadgets'"),
        (["import", "systems", "{seed}", "--map", "name"], "--map expects NAME=VALUE"),
        (
            ["import", "systems", "{seed}", "--set", "name=x"],
            "--set name=…: the file already has column 'name'",
        ),
        (["import", "systems", "{seed}", "--map", "name=colour"], "systems has no column 'colour'"),
        (["template", "gadgets"], "invalid choice: 'gadgets'"),
        (["export", "systems"], "the following arguments are required: --out"),
    ],
)
def test_usage_errors_exit_2(db: Path, tmp_path: Path, args: list[str], fragment: str) -> None:
    seed = str(tmp_path / "seed.csv")
    result = run_cli(db, *[a.replace("{seed}", seed) for a in args])
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_dry_run_through_the_cli(db: Path, tmp_path: Path) -> None:
    before = dump_db(db)
    path = write(tmp_path / "s.csv", SYSTEMS_CSV + "S3,New,,,low,,,,\n")
    result = run_cli(db, "import", "systems", str(path), "--dry-run")
    assert (result.returncode, result.stdout) == (
        0,
        "dry run: would be 1 inserted, 0 updated, 2 unchanged\n",
    )
    assert dump_db(db) == before


def test_db_defaults_to_aims_db_env(db: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "system_id,name,risk_level\nS5,Five,low\n")
    result = subprocess.run(
        [sys.executable, "-m", "aims_metrics", "import", "systems", str(path)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "AIMS_DB": str(db)},
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (0, "1 inserted, 0 updated, 0 unchanged\n"), (
        result.stderr
    )
    assert rows(db, "SELECT name FROM systems WHERE system_id = 'S5'") == [("Five",)]


def test_export_writes_formula_safe_csv(db: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "system_id,name,owner,risk_level\nS6,=1+2,@evil,low\n")
    assert run_cli(db, "import", "systems", str(path)).returncode == 0
    out = tmp_path / "systems.csv"
    result = run_cli(db, "export", "systems", "--out", str(out))
    assert (result.returncode, result.stdout) == (0, f"exported 3 rows to {out}\n")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(c.name for c in TABLES["systems"].columns)
    assert "S6,'=1+2,'@evil,,low,,,," in lines


# --- lock conflicts ------------------------------------------------------------------------------

HOLDER = (
    "import duckdb, sys, time\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('holding', flush=True)\n"
    "sys.stdin.read() if sys.argv[2] == 'until-released' else time.sleep(float(sys.argv[2]))\n"
    "con.close()\n"
)


def _hold(db: Path, how_long: str) -> subprocess.Popen:
    """Another process holding the database open (locked): for a number of seconds, or until
    `until-released` and its stdin is closed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), how_long],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_import_waits_for_a_short_lock_then_succeeds(db: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "system_id,name,risk_level\nS7,Seven,low\n")
    # How long this machine takes to start the CLI and import: the holder outlasts that by 2 s,
    # so the import surely meets the lock, however loaded the machine is.
    started = time.monotonic()
    assert run_cli(db, "import", "systems", str(path), "--dry-run").returncode == 0
    startup = time.monotonic() - started
    holder = _hold(db, str(startup + 2))
    try:
        started = time.monotonic()
        result = run_cli(
            db, "import", "systems", str(path), env={"AIMS_DB_BUSY_TIMEOUT": str(startup + 30)}
        )
        took = time.monotonic() - started
    finally:
        holder.wait(timeout=60)
    assert (result.returncode, result.stdout) == (0, "1 inserted, 0 updated, 0 unchanged\n"), (
        result.stderr
    )
    assert took > startup + 1  # it waited for the holder rather than failing or skipping the lock


def test_import_reports_a_busy_database_clearly(db: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "system_id,name,risk_level\nS8,Eight,low\n")
    before = dump_db(db)
    holder = _hold(db, "until-released")  # holds the lock until the import has given up
    try:
        started = time.monotonic()
        result = run_cli(db, "import", "systems", str(path), env={"AIMS_DB_BUSY_TIMEOUT": "0.5"})
        took = time.monotonic() - started
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert "the database is busy" in result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert took < 30
    assert dump_db(db) == before
