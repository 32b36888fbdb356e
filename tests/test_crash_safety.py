"""Nothing half-written: a kill -9 at any moment of a 1M-row import leaves the old or the new state."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from aims_metrics import store
from aims_metrics.tables import ingest

REPO = Path(__file__).resolve().parents[1]
BIG_ROWS = 1_000_000
OLD_ROWS = 1_000


def _write_bias_csv(path: Path, rows: int, offset: int = 0) -> None:
    """A valid bias_tests CSV written by plain DuckDB (fast, outside the product)."""
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT 'BT' || lpad((i + {offset})::VARCHAR, 8, '0') AS test_id,
                  'SYS-' || lpad((i % 200)::VARCHAR, 4, '0') AS system_id, 'v1' AS model_version,
                  DATE '2025-01-01' + (i % 180)::INTEGER AS executed_on, 'production' AS stage,
                  'gender' AS protected_attribute, 'demographic_parity_difference' AS metric,
                  round((i % 17) / 100.0, 3) AS value, 0.1 AS threshold, '' AS passed
                FROM range({rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')"""
    )
    con.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash")
    systems = folder / "systems.csv"
    systems.write_text(
        "system_id,name,risk_level\n" + "".join(f"SYS-{i:04d},System {i},low\n" for i in range(200))
    )
    old, big = folder / "old.csv", folder / "big.csv"
    _write_bias_csv(old, OLD_ROWS)
    _write_bias_csv(big, BIG_ROWS, offset=OLD_ROWS)
    return {"systems": systems, "old": old, "big": big}


def _database_with_old_state(path: Path, files: dict) -> None:
    with store.open_db(path) as con:
        ingest.import_file(con, "systems", files["systems"], "test")
        ingest.import_file(con, "bias_tests", files["old"], "test")


def _state(path: Path) -> tuple[int, int]:
    with store.open_db(path) as con:
        tests = con.execute("SELECT count(*) FROM bias_tests").fetchall()[0][0]
        batches = con.execute(
            "SELECT count(*) FROM import_batches WHERE table_name = 'bias_tests'"
        ).fetchall()[0][0]
    return tests, batches


def _start_import(db: Path, csv_file: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aims_metrics",
            "--db",
            str(db),
            "import",
            "bias_tests",
            str(csv_file),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def full_import_seconds(tmp_path_factory, files):
    """How long an unkilled import takes here, so kill points are fractions of it."""
    db = tmp_path_factory.mktemp("calibrate") / "aims.duckdb"
    _database_with_old_state(db, files)
    started = time.monotonic()
    process = _start_import(db, files["big"])
    assert process.wait(timeout=120) == 0, process.stderr.read().decode()
    assert _state(db) == (OLD_ROWS + BIG_ROWS, 2)
    return time.monotonic() - started


# Kill points spread over start-up, reading, validating, writing and committing a 1M-row file.
KILL_AT_FRACTIONS = [0.15, 0.4, 0.6, 0.75, 0.85, 0.92, 0.97, 1.02]


@pytest.mark.slow
@pytest.mark.parametrize("fraction", KILL_AT_FRACTIONS)
def test_kill_during_import_leaves_old_or_new_state(tmp_path, files, full_import_seconds, fraction):
    db = tmp_path / "aims.duckdb"
    _database_with_old_state(db, files)
    delay = fraction * full_import_seconds
    process = _start_import(db, files["big"])
    time.sleep(delay)
    finished_before_kill = process.poll() is not None
    if not finished_before_kill:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    tests, batches = _state(db)
    old_state, new_state = (OLD_ROWS, 1), (OLD_ROWS + BIG_ROWS, 2)
    assert (tests, batches) in (old_state, new_state), (tests, batches)
    if finished_before_kill:
        assert (tests, batches) == new_state


def test_completed_import_is_durable_after_kill(tmp_path, files):
    """The new state survives a kill -9 right after the commit returned."""
    db = tmp_path / "aims.duckdb"
    _database_with_old_state(db, files)
    code = (
        "import os, signal, sys\n"
        "from aims_metrics import store\n"
        "from aims_metrics.tables import ingest\n"
        f"con = store.connect({str(db)!r})\n"
        f"ingest.import_file(con, 'bias_tests', {str(files['old'])!r}.replace('old', 'old'), 'x')\n"
        "ingest.import_file(con, 'systems', "
        f"{str(files['systems'])!r}, 'x')\n"
        "con.execute(\"UPDATE systems SET owner = 'after-commit' WHERE system_id = 'SYS-0001'\")\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False)
    with store.open_db(db) as con:
        owner = con.execute("SELECT owner FROM systems WHERE system_id = 'SYS-0001'").fetchall()[0][
            0
        ]
    assert owner == "after-commit"
