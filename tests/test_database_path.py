"""The database path (issue 21, class 1): one check decides what may be opened as the database,
for the CLI (--db, AIMS_DB; see tests/bad_inputs/cases/01_database_path.yaml) and the app."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics import store
from aims_metrics.store import DatabasePathProblem, check_database_path

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_an_existing_database_and_new_paths_are_accepted(db_path, tmp_path):
    assert check_database_path(db_path) == db_path
    assert check_database_path(tmp_path / "new.duckdb") == tmp_path / "new.duckdb"
    assert check_database_path(tmp_path / "a" / "b" / "new.duckdb")  # folders can be created
    assert not (tmp_path / "a").exists(), "checking must not create anything"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda p: p.write_text("incident_id,title\nI1,x\n") and p,
            "is not a DuckDB database file",
        ),
        (lambda p: p.write_bytes(b"") is not None and p, "is an empty file, not a DuckDB database"),
        (lambda p: p.mkdir() or p, "is a directory, not a database file"),
        (lambda p: (os.mkfifo(p), p)[1], "is not a regular file"),
        (lambda p: (p.symlink_to(p.with_name("nowhere")), p)[1], "is a broken link"),
        (
            lambda p: (p.with_name("f").write_text("x"), p.with_name("f") / "db")[1],
            "is a file, not a folder",
        ),
    ],
    ids=["csv", "empty", "directory", "fifo", "broken-link", "under-a-file"],
)
def test_anything_else_is_refused_naming_the_path(tmp_path, make, reason):
    path = make(tmp_path / "candidate")
    with pytest.raises(DatabasePathProblem) as refused:
        check_database_path(path)
    assert str(refused.value).startswith(f"{path}: ") and reason in str(refused.value)


def test_a_folder_that_is_not_writable_is_refused(tmp_path):
    # root may write into any ordinary folder, but not into a process's /proc folder
    locked = Path("/proc/1") if os.geteuid() == 0 else tmp_path / "locked"
    if locked != Path("/proc/1"):
        locked.mkdir(mode=0o500)
    assert not os.access(locked, os.W_OK)
    with pytest.raises(DatabasePathProblem, match="is not writable"):
        check_database_path(locked / "aims.duckdb")


def test_connect_refuses_a_csv_so_no_caller_can_write_into_nothing(tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text("a,b\n1,2\n")
    with pytest.raises(DatabasePathProblem):
        with store.open_db(notes):
            pass
    assert notes.read_text() == "a,b\n1,2\n"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["csv", "directory"])
def test_the_app_shows_an_error_and_stops_for_a_bad_aims_db(tmp_path, monkeypatch, kind):
    target = tmp_path / "notes.csv"
    if kind == "csv":
        target.write_text("note\nkeep me\n")
    else:
        target = tmp_path / "folder"
        target.mkdir()
    before = _digest(target) if target.is_file() else sorted(target.iterdir())
    monkeypatch.setenv("AIMS_DB", str(target))
    monkeypatch.setenv("AIMS_SESSION_KEY", "test-session-key-0123456789")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    assert f"AIMS_DB names: {target}: " in error.value
    assert not at.text_input, "the app went on to the sign-in form"
    assert (_digest(target) if target.is_file() else sorted(target.iterdir())) == before


def test_the_app_creates_a_new_database_where_aims_db_points(tmp_path, monkeypatch):
    path = tmp_path / "fresh" / "aims.duckdb"
    monkeypatch.setenv("AIMS_DB", str(path))
    monkeypatch.setenv("AIMS_SESSION_KEY", "test-session-key-0123456789")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and not at.error
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0] >= 6
    finally:
        con.close()
