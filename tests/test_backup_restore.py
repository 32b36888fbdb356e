"""Backup and restore: a round trip gives identical tables, a backup taken while others read and
import holds a whole state, restore refuses anything that is not an AIMS Review database, and a
restore is audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from import_helpers import dump_db

from aims_metrics import auth, store
from aims_metrics.demo.review import seed_demo_review
from aims_metrics.metrics import catalog
from aims_metrics.tables import ingest

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "backup password 1"


def cli(db: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "AIMS_DB"}
    environment.update({"AIMS_USER": "ops", **env})
    return subprocess.run(
        [sys.executable, "-m", "aims_metrics", "--db", str(db), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
    )


@pytest.fixture
def full_db(demo_db_path: Path) -> Path:
    """The demo data plus every kind of record: a finalised review, users, a metric edit."""
    from aims_metrics.metrics.periods import last_completed_quarter

    with store.open_db(demo_db_path) as con:
        seed_demo_review(con, last_completed_quarter())
        auth.add_user(con, "root", "admin", PASSWORD, actor="system")
        auth.add_user(con, "ana", "analyst", PASSWORD, actor="root")
        (incidents,) = [d for d in catalog.current_definitions(con) if d.name == "incidents_total"]
        catalog.save_definition(
            con, incidents.model_copy(update={"label": "Incidents (edited)"}), "ana", "test"
        )
        store.set_setting(con, "organisation_name", "Backup Test Ltd", "root")
    return demo_db_path


def test_round_trip_through_the_cli_gives_identical_tables(full_db, tmp_path):
    before = dump_db(full_db)
    for table in ("metric_definitions", "reviews", "users", "audit_log", "incidents", "settings"):
        assert before.get(table), f"the fixture should fill {table}"

    backup = tmp_path / "backups" / "aims-backup.duckdb"
    backup.parent.mkdir()
    made = cli(full_db, "backup", "--out", str(backup))
    assert made.returncode == 0, made.stderr
    assert "backed up" in made.stdout
    assert not list(backup.parent.glob("*.partial"))

    restored = tmp_path / "elsewhere" / "restored.duckdb"
    done = cli(restored, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert f"restored {restored} from {backup}" in done.stdout

    after = dump_db(restored)
    assert set(after) == set(before)
    for table in before:
        if table != "audit_log":
            assert after[table] == before[table], table
    # The restored database holds the whole trail, plus the restore itself at the end.
    assert after["audit_log"][:-1] == before["audit_log"]
    assert dump_db(full_db) == before, "taking a backup changed the source database"
    with store.open_db(restored) as con:
        assert auth.authenticate(con, "ana", PASSWORD).ok  # hashes survive the round trip


def test_restore_replaces_a_changed_database_and_is_audited(full_db, tmp_path):
    backup = tmp_path / "b.duckdb"
    assert cli(full_db, "backup", "--out", str(backup)).returncode == 0
    before = dump_db(full_db)
    with store.open_db(full_db) as con:
        con.execute("DELETE FROM incidents")
        auth.add_user(con, "intruder", "admin", PASSWORD, actor="root")
    done = cli(full_db, "restore", str(backup), AIMS_USER="ops-restorer")
    assert done.returncode == 0, done.stderr
    after = dump_db(full_db)
    assert after["incidents"] == before["incidents"]
    assert "intruder" not in {row[0] for row in after["users"]}
    with store.open_db(full_db) as con:
        (last,) = store.audit_entries(con, 1)
    assert (last["username"], last["action"], last["target"]) == (
        "ops-restorer",
        "database.restore",
        str(full_db),
    )
    assert json.loads(last["detail"])["from"] == backup.name


def test_restore_right_after_this_process_used_the_database(full_db, tmp_path):
    """Like the app between two requests: no instance of the file is left open to go stale."""
    backup = tmp_path / "b.duckdb"
    store.backup_database(full_db, backup)
    with store.open_db(full_db) as con:
        con.execute("DELETE FROM findings")
    store.restore_database(full_db, backup, "admin")
    with store.open_db(full_db) as con:
        assert con.execute("SELECT count(*) FROM findings").fetchall()[0][0] > 0


def test_a_backup_holds_writes_still_in_the_write_ahead_log(full_db, tmp_path):
    """While another request of the app holds the database, recent commits may live only in the
    .wal file; a backup taken meanwhile must hold them."""
    with store.open_db(full_db) as con:
        con.execute("CHECKPOINT")
        con.execute("DELETE FROM findings WHERE status = 'open'")
        store.record_audit(con, "tester", "test.write", "findings")
        expected = con.execute("SELECT count(*) FROM findings").fetchall()
        assert Path(f"{full_db}.wal").exists() and Path(f"{full_db}.wal").stat().st_size > 0
        backup = tmp_path / "b.duckdb"
        store.backup_database(full_db, backup)
    con = duckdb.connect(str(backup), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM findings").fetchall() == expected
        assert con.execute(
            "SELECT action FROM audit_log ORDER BY entry_id DESC LIMIT 1"
        ).fetchall() == [("test.write",)]
    finally:
        con.close()


def _not_duckdb(path: Path) -> Path:
    path.write_bytes(b"incident_id,title\nI1,not a database\n" * 100)
    return path


def _plain_duckdb(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE incidents AS SELECT 1 AS incident_id").fetchall()
    con.close()
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_not_duckdb, "is not an AIMS Review database (not a DuckDB file)"),
        (_plain_duckdb, "is a DuckDB file but not an AIMS Review database"),
        (lambda p: p.with_name("missing.duckdb"), "no such file"),
        (lambda p: (p.write_bytes(b""), p)[1], "not a DuckDB file"),
    ],
    ids=["csv", "duckdb-without-schema-version", "missing", "empty"],
)
def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(full_db, tmp_path, make, message):
    candidate = make(tmp_path / "candidate.duckdb")
    before = dump_db(full_db)
    done = cli(full_db, "restore", str(candidate))
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert dump_db(full_db) == before
    assert not list(tmp_path.glob("*.restoring"))


def test_restore_refuses_a_backup_from_a_newer_program(full_db, tmp_path):
    newer = tmp_path / "newer.duckdb"
    store.backup_database(full_db, newer)
    con = duckdb.connect(str(newer))
    con.execute("INSERT INTO schema_version VALUES (9999, 'from the future', now())")
    con.close()
    before = dump_db(full_db)
    done = cli(full_db, "restore", str(newer))
    assert done.returncode == 1 and "newer than this program" in done.stderr
    assert dump_db(full_db) == before


# --- restore verifies the whole candidate on a copy ---------------------------------------------


def _claims_version_6_without_tables(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, "
        "applied_at TIMESTAMP)"
    )
    con.execute(
        "INSERT INTO schema_version SELECT v, 'claimed', now() FROM (VALUES (1), (3), (4), (5), (6)) t(v)"
    )
    con.close()
    return path


def _backup_then(full_db: Path, path: Path, *statements: str) -> Path:
    """A real backup of the full database, then changed with plain DuckDB (external access on)."""
    store.backup_database(full_db, path)
    con = duckdb.connect(str(path))
    for statement in statements:
        con.execute(statement)
    con.close()
    return path


HOSTILE_BACKUPS = {
    "view-over-a-file": (
        ("CREATE VIEW leak AS SELECT * FROM read_text('/etc/hostname')",),
        "unexpected view main.leak",
    ),
    "macro": (
        ("CREATE MACRO peek(p) AS TABLE SELECT * FROM read_text(p)",),
        "unexpected macro main.peek",
    ),
    "missing-table": (("DROP TABLE review_actions",), "table main.review_actions is missing"),
    "missing-column": (
        ("ALTER TABLE incidents DROP COLUMN root_cause",),
        "table main.incidents lacks column root_cause (VARCHAR)",
    ),
    "wrong-type": (
        ("ALTER TABLE bias_tests ALTER COLUMN value TYPE VARCHAR",),
        "column main.bias_tests.value is VARCHAR",
    ),
    "default-that-reads-the-environment": (
        ("ALTER TABLE incidents ALTER COLUMN title SET DEFAULT current_setting('home_directory')",),
        "column main.incidents.title is VARCHAR default",
    ),
    "extra-table": (("CREATE TABLE stash AS SELECT 1 AS x",), "unexpected table main.stash"),
    "unknown-version": (
        ("INSERT INTO schema_version VALUES (2, 'never released', now())",),
        "records schema version 2 this program never made",
    ),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_BACKUPS))
def test_restore_refuses_an_incomplete_or_hostile_backup_naming_the_users_file(
    full_db, tmp_path, kind
):
    statements, reason = HOSTILE_BACKUPS[kind]
    candidate = _backup_then(full_db, tmp_path / "users-backup.duckdb", *statements)
    before = dump_db(full_db)
    with pytest.raises(store.RestoreRefused) as refused:
        store.restore_database(full_db, candidate, "ops")
    message = str(refused.value)
    assert message.startswith(str(candidate)), message
    assert reason in message, message
    assert ".restoring" not in message
    assert dump_db(full_db) == before
    assert not list(full_db.parent.glob("*.restoring"))


def test_a_backup_claiming_version_6_without_its_tables_is_refused_and_the_db_kept(
    full_db, tmp_path
):
    candidate = _claims_version_6_without_tables(tmp_path / "claims-6.duckdb")
    before = dump_db(full_db)
    done = cli(full_db, "restore", str(candidate))
    assert done.returncode == 1
    assert f"error: {candidate} does not hold the complete schema of version 6: " in done.stderr
    assert "table main.assessments is missing" in done.stderr and " more\n" in done.stderr
    assert "restoring" not in done.stderr.replace("nothing restored", "")
    assert "Traceback" not in done.stderr
    assert dump_db(full_db) == before


def test_restoring_dev_zero_is_refused_quickly(full_db, tmp_path):
    before = dump_db(full_db)
    started = time.monotonic()
    with pytest.raises(store.RestoreRefused, match="^/dev/zero: this is not a regular file"):
        store.restore_database(full_db, Path("/dev/zero"), "ops")
    assert time.monotonic() - started < 10  # generous: it must not copy at all
    assert dump_db(full_db) == before
    assert not list(full_db.parent.glob("*.restoring"))


def test_a_backup_over_the_size_bound_is_refused_before_copying(full_db, tmp_path, monkeypatch):
    from aims_metrics.store import backup as backup_module

    candidate = tmp_path / "big.duckdb"
    store.backup_database(full_db, candidate)
    monkeypatch.setattr(backup_module, "RESTORE_MAX_BYTES", candidate.stat().st_size - 1)
    before = dump_db(full_db)
    with pytest.raises(store.RestoreRefused, match=f"^{candidate}: the file is .* the limit is"):
        store.restore_database(full_db, candidate, "ops")
    assert dump_db(full_db) == before


def test_a_backup_that_grows_while_copied_is_cut_off(tmp_path):
    from aims_metrics.store import backup as backup_module

    source, target = tmp_path / "growing", tmp_path / "copy"
    source.write_bytes(bytes(3 * 1024 * 1024))
    with pytest.raises(store.RestoreRefused, match="grew past the restore limit"):
        backup_module._copy_bounded(source, target, 2 * 1024 * 1024)
    assert target.stat().st_size <= 2 * 1024 * 1024


def test_a_backup_from_an_older_release_restores_and_is_migrated(full_db, tmp_path):
    old = tmp_path / "old-release.duckdb"
    con = duckdb.connect(str(old), config=dict(store.CONNECTION_CONFIG))
    store.migrate(con, upto=4)  # a database as release 4 made it
    con.execute(
        "INSERT INTO incidents (incident_id, title, severity, detected_on) "
        "VALUES ('OLD-1', 'from release 4', 'low', DATE '2024-01-02')"
    )
    con.close()
    assert store.restore_database(full_db, old, "ops") == 4
    with store.open_db(full_db) as con:
        assert store.schema_version(con) == store.latest_schema_version()
        assert con.execute("SELECT incident_id FROM incidents").fetchall() == [("OLD-1",)]


# --- consistency while others read and import --------------------------------------------------

BATCH_ROWS = 150_000


def _bias_csv(path: Path, rows: int) -> None:
    lines = ["test_id,system_id,executed_on,stage,protected_attribute,metric,value,threshold"]
    lines += [
        f"T{i:07d},SYS-1,2025-03-01,production,age,demographic_parity_difference,0.05,0.1"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")


def _state(path: Path) -> tuple[int, int, int]:
    """(bias test rows, import batches of bias_tests, audit entries for them) in a database file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        ((rows,),) = con.execute("SELECT count(*) FROM bias_tests").fetchall()
        ((batches,),) = con.execute(
            "SELECT count(*) FROM import_batches WHERE table_name = 'bias_tests'"
        ).fetchall()
        ((audited,),) = con.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'data.import' AND target = 'bias_tests'"
        ).fetchall()
        return rows, batches, audited
    finally:
        con.close()


def test_backups_during_reads_and_an_import_each_hold_a_whole_state(tmp_path):
    """Reader threads and backups in this process (like the app) while another process imports:
    every backup opens and holds either the state before the import or the state after it."""
    db = tmp_path / "aims.duckdb"
    systems = tmp_path / "systems.csv"
    systems.write_text("system_id,name,risk_level\nSYS-1,Scorer,high\n")
    batch = tmp_path / "batch.csv"
    _bias_csv(batch, BATCH_ROWS)
    with store.open_db(db) as con:
        ingest.import_file(con, "systems", systems, "test")

    stop = threading.Event()
    errors: list[BaseException] = []
    seen: set[int] = set()

    def reader() -> None:
        try:
            while not stop.is_set():
                with store.open_db(db) as con, store.transaction(con, read_only=True):
                    seen.add(con.execute("SELECT count(*) FROM bias_tests").fetchall()[0][0])
                time.sleep(0.01)  # let the file go now and then, as an idle app does
        except BaseException as error:
            errors.append(error)

    backups: list[Path] = []

    def backer() -> None:
        try:
            while not stop.is_set():
                out = tmp_path / f"backup-{len(backups)}.duckdb"
                store.backup_database(db, out)
                backups.append(out)
                time.sleep(0.05)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(3)] + [
        threading.Thread(target=backer)
    ]
    for thread in threads:
        thread.start()
    importer = subprocess.Popen(
        [sys.executable, "-m", "aims_metrics", "--db", str(db), "import", "bias_tests", str(batch)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AIMS_USER": "importer", "AIMS_DB_BUSY_TIMEOUT": "60"},
    )
    out, err = importer.communicate(timeout=120)
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert importer.returncode == 0, err
    assert out.strip() == f"{BATCH_ROWS:,} inserted, 0 updated, 0 unchanged"
    assert len(backups) >= 2
    states = {_state(path) for path in backups}
    assert states <= {(0, 0, 0), (BATCH_ROWS, 1, 1)}, states
    assert (BATCH_ROWS, 1, 1) in states, "no backup was taken after the import"
    assert seen <= {0, BATCH_ROWS}
