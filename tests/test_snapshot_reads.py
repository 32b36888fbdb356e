"""Readers never block the writer (issue 22): pages read an in-memory snapshot of the file, taken
once per data version, so an import from the CLI or another app process gets the file whenever it
asks, and every process sees a write by any other at its next read."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest

from aims_metrics import store
from aims_metrics.store import snapshot as snapshot_module
from tests.import_helpers import new_db, run_cli, write

INCIDENT_HEADER = "incident_id,system_id,detected_on,severity,status,title\n"


def incidents_csv(path: Path, first: int, count: int) -> Path:
    lines = [
        f"INC-{n:06d},S1,2026-05-0{1 + n % 9},low,open,Drift {n}\n"
        for n in range(first, first + count)
    ]
    return write(path, INCIDENT_HEADER + "".join(lines))


def incident_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM incidents").fetchall()[0][0]


def hold_for_writing(db: Path) -> subprocess.Popen:
    """Another process holding the file open read-write until its stdin closes."""
    code = (
        "import sys, duckdb\n"
        f"con = duckdb.connect({str(db)!r})\n"
        "print('holding', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_the_cli_writes_at_once_while_a_reader_is_in_the_middle_of_its_work(tmp_path):
    db = new_db(tmp_path)
    with store.read_db(db) as con:
        assert incident_count(con) == 0
        # the reader is still "working" (cursor open, Python post-processing) — no wait allowed
        result = run_cli(
            db,
            "import",
            "incidents",
            str(incidents_csv(tmp_path / "i.csv", 1, 3)),
            env={"AIMS_DB_BUSY_TIMEOUT": "0"},
        )
        assert result.returncode == 0, result.stderr
        assert incident_count(con) == 0  # a snapshot: what it read stays consistent
    with store.read_db(db) as con:
        assert incident_count(con) == 3  # the next read sees the other process's write


def test_a_write_by_another_process_is_a_new_version_for_every_reader(tmp_path):
    db = new_db(tmp_path)
    before = store.read_snapshot(db)
    assert store.read_snapshot(db) is before  # nothing written: the same copy, no file access
    result = run_cli(db, "import", "incidents", str(incidents_csv(tmp_path / "i.csv", 1, 2)))
    assert result.returncode == 0, result.stderr
    after = store.read_snapshot(db)
    assert after.version != before.version and after.key != before.key
    with after.cursor() as con:
        assert incident_count(con) == 2


def test_while_a_writer_holds_the_file_readers_keep_their_copy_and_say_it_is_behind(tmp_path):
    db = new_db(tmp_path)
    first = store.read_snapshot(db)
    holder = hold_for_writing(db)
    try:
        db.touch()  # the file changed since the copy, and the writer still holds it
        held = store.read_snapshot(db)
        assert held.behind and held.version == first.version
        with held.cursor() as con:
            assert incident_count(con) == 0
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    fresh = store.read_snapshot(db)
    assert not fresh.behind


def test_a_first_read_of_a_held_file_waits_and_then_says_the_database_is_busy(
    tmp_path, monkeypatch
):
    db = new_db(tmp_path)
    monkeypatch.setattr(snapshot_module, "BUSY_TIMEOUT_SECONDS", 0.3)
    holder = hold_for_writing(db)
    try:
        with pytest.raises(store.DatabaseBusy, match="the database is busy"):
            store.read_snapshot(db)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_the_copy_is_locked_down_like_every_connection(tmp_path):
    db = new_db(tmp_path)
    secret = write(tmp_path / "secret.csv", "a\n1\n")
    with store.read_db(db) as con:
        for sql in (
            f"SELECT * FROM read_csv('{secret}')",
            f"ATTACH '{db}' AS again",
            "SET enable_external_access = true",
        ):
            with pytest.raises(duckdb.Error):
                con.execute(sql)


def test_an_import_waits_for_a_held_file_says_so_and_succeeds_when_it_is_released(tmp_path):
    db = new_db(tmp_path)
    holder = hold_for_writing(db)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aims_metrics",
            "--db",
            str(db),
            "import",
            "incidents",
            str(incidents_csv(tmp_path / "i.csv", 1, 2)),
        ],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    waiting = process.stderr.readline()  # printed before the import gets the file
    holder.stdin.close()
    holder.wait(timeout=30)
    out, err = process.communicate(timeout=120)
    assert "waiting for the database" in waiting and str(db) in waiting
    assert process.returncode == 0, err
    assert out.strip() == "2 inserted, 0 updated, 0 unchanged"


def test_imports_succeed_while_sessions_read_through_the_apps_query(tmp_path, monkeypatch):
    """The app's own read path (pages/_ui.query: snapshot + cache by data version) in four
    threads, as four sessions clicking without pause, while the CLI imports four times."""
    from aims_metrics.performance import aging
    from pages import _ui

    db = new_db(tmp_path)
    monkeypatch.setenv("AIMS_DB", str(db))
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def count(con: duckdb.DuckDBPyConnection) -> int:
        aging.aging_report(con, date(2026, 6, 30))  # a page's real work
        return incident_count(con)

    def session() -> None:
        try:
            while not stop.is_set():
                seen.append(_ui.query(count))
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    sessions = [threading.Thread(target=session) for _ in range(4)]
    for thread in sessions:
        thread.start()
    results = [
        run_cli(db, "import", "incidents", str(incidents_csv(tmp_path / f"{n}.csv", n * 100, 100)))
        for n in range(1, 5)
    ]
    final = _ui.query(count)
    stop.set()
    for thread in sessions:
        thread.join(timeout=60)

    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    assert all("waiting for the database" not in r.stderr for r in results)
    assert not errors, errors
    assert final == 400
    assert set(seen) <= {0, 100, 200, 300, 400} and 0 in seen


def test_a_write_whose_commit_meets_another_process_lock_runs_again(tmp_path):
    """DuckDB rolls a commit back whole when the file's WAL is locked by another process (seen
    once in 12 imports under load): the write is run again until it commits."""
    db = new_db(tmp_path)
    attempts = []

    def write():
        attempts.append(1)
        if len(attempts) < 3:
            raise duckdb.TransactionException(
                f'TransactionContext Error: Failed to commit: Could not set lock on file "{db}.wal": '
                "Conflicting lock is held in python (PID 1)"
            )
        return "committed"

    assert store.retry_while_held(db, write) == "committed"
    assert len(attempts) == 3

    def broken():
        raise duckdb.ConstraintException("Duplicate key")  # not a lock: raised at once

    with pytest.raises(duckdb.ConstraintException):
        store.retry_while_held(db, broken)
