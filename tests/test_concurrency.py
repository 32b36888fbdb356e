"""Readers never see half an import; the CLI waits for a busy database and then reports clearly."""

import subprocess
import sys
import threading
import time
from pathlib import Path

from aims_metrics import store
from aims_metrics.tables import ingest

REPO = Path(__file__).resolve().parents[1]
READERS = 8
BATCH_ROWS = 200_000


def _bias_csv(path: Path, rows: int) -> None:
    lines = ["test_id,system_id,executed_on,stage,protected_attribute,metric,value,threshold"]
    lines += [
        f"T{i:07d},SYS-1,2025-03-01,production,age,demographic_parity_difference,0.05,0.1"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_eight_readers_see_all_of_an_import_or_none(tmp_path):
    """As the app runs: threads of one process, each request opening the database through
    store.open_db and closing it after (the process's one instance is shared while any thread
    uses it and closed when the last leaves), reading in read-only transactions."""
    db = tmp_path / "aims.duckdb"
    (tmp_path / "systems.csv").write_text("system_id,name,risk_level\nSYS-1,Scorer,high\n")
    _bias_csv(tmp_path / "batch.csv", BATCH_ROWS)
    with store.open_db(db) as con:
        ingest.import_file(con, "systems", tmp_path / "systems.csv", "test")
    writer_done = threading.Event()
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not writer_done.is_set():
                with store.open_db(db) as con, store.transaction(con, read_only=True):
                    rows = con.execute("SELECT count(*) FROM bias_tests").fetchall()[0][0]
                    passed = con.execute(
                        "SELECT count(*) FILTER (WHERE passed) FROM bias_tests"
                    ).fetchall()[0][0]
                seen.append((rows, passed))
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    with store.open_db(db) as con:
        _, result = ingest.import_file(con, "bias_tests", tmp_path / "batch.csv", "writer")
    time.sleep(0.2)
    writer_done.set()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert result.counts.inserted == BATCH_ROWS
    assert len(seen) >= READERS
    before, after = (0, 0), (BATCH_ROWS, BATCH_ROWS)
    assert set(seen) <= {before, after}, set(seen) - {before, after}
    assert before in seen and after in seen, "the readers did not overlap the import"


def _hold_database(db: Path, seconds: float) -> subprocess.Popen:
    code = (
        "import sys, time, duckdb\n"
        f"con = duckdb.connect({str(db)!r})\n"
        "print('holding', flush=True)\n"
        f"time.sleep({seconds})\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def _cli(db: Path, *args: str, timeout_env: str | None = None) -> subprocess.CompletedProcess:
    env = None
    if timeout_env is not None:
        import os

        env = {**os.environ, "AIMS_DB_BUSY_TIMEOUT": timeout_env}
    return subprocess.run(
        [sys.executable, "-m", "aims_metrics", "--db", str(db), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_cli_import_waits_for_a_busy_database_then_succeeds(tmp_path):
    db = tmp_path / "aims.duckdb"
    assert _cli(db, "init").returncode == 0
    systems = tmp_path / "systems.csv"
    systems.write_text("system_id,name,risk_level\nSYS-1,Scorer,high\n")
    holder = _hold_database(db, 1.5)
    result = _cli(db, "import", "systems", str(systems))
    holder.wait()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 inserted, 0 updated, 0 unchanged"


def test_cli_reports_a_busy_database_clearly_after_the_timeout(tmp_path):
    db = tmp_path / "aims.duckdb"
    assert _cli(db, "init").returncode == 0
    systems = tmp_path / "systems.csv"
    systems.write_text("system_id,name,risk_level\nSYS-1,Scorer,high\n")
    holder = _hold_database(db, 4)
    result = _cli(db, "import", "systems", str(systems), timeout_env="0.5")
    holder.kill()
    assert result.returncode == 1
    assert "the database is busy" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_app_frees_the_file_for_other_processes_as_soon_as_it_is_idle(tmp_path):
    """The app opens the database per request through store.open_db (no instance kept open after
    the last request ends), so the CLI can use the file between requests without waiting."""
    db = tmp_path / "aims.duckdb"
    with store.open_db(db) as con:
        con.execute("SELECT 1").fetchall()
        busy = _cli(db, "audit-log", timeout_env="0")
    idle = _cli(db, "audit-log", timeout_env="0")
    assert busy.returncode == 1 and "the database is busy" in busy.stderr
    assert idle.returncode == 0, idle.stderr
