"""DuckDB store: connect with lock retry, migrate, transactions, audit log, settings.

Every connection in the product uses one configuration — external access disabled, configuration
locked — so no SQL run through it can read files, URLs or the environment. Connections are
short-lived: open, work, close, so the app and the CLI can share the file.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from aims_metrics.tables.registry import TABLES

DEFAULT_DB_PATH = Path("data") / "aims.duckdb"
BUSY_TIMEOUT_SECONDS = float(os.environ.get("AIMS_DB_BUSY_TIMEOUT", "5"))
CONNECTION_CONFIG = {"enable_external_access": False, "lock_configuration": True}


class DatabaseBusy(RuntimeError):
    """Another process held the database longer than the busy timeout."""


def default_db_path() -> Path:
    """`$AIMS_DB`, else `data/aims.duckdb` (the CLI and the app agree on this)."""
    return Path(os.environ.get("AIMS_DB") or DEFAULT_DB_PATH)


def _is_lock_conflict(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text and ("conflicting" in text or "could not set lock" in text)


def connect(path: str | Path, busy_timeout: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the database, retrying with backoff while another process holds its lock."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (BUSY_TIMEOUT_SECONDS if busy_timeout is None else busy_timeout)
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), config=dict(CONNECTION_CONFIG))
        except duckdb.IOException as error:
            if not _is_lock_conflict(error):
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusy(
                    f"the database is busy: {path} is in use by another process "
                    "(an import or the app); try again in a moment"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@dataclass
class _SharedDatabase:
    root: duckdb.DuckDBPyConnection
    users: int = 0
    generation: int = 0


_shared: dict[str, _SharedDatabase] = {}
_shared_guard = threading.Lock()

# How long a multi-threaded process (the app) keeps an idle database open before releasing the
# file to other processes. Closing and reopening DuckDB while other threads come and go can show
# a reader a torn snapshot, so the app keeps the instance across bursts; the CLI (0) does not.
keep_open_seconds: float = 0.0


@contextmanager
def open_db(path: str | Path, migrate_schema: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated connection (a cursor on the process's one database instance), always closed.

    Threads of one process share a single root connection per file, opened when the first user
    arrives and released when the last leaves (after `keep_open_seconds` of idleness), so a
    process never holds two DuckDB instances of one file and the file is free for other
    processes whenever this one is idle.
    """
    key = str(Path(path).resolve())
    with _shared_guard:
        shared = _shared.get(key)
        if shared is None:
            root = connect(path)
            try:
                if migrate_schema:
                    migrate(root)
            except BaseException:
                root.close()
                raise
            shared = _shared[key] = _SharedDatabase(root)
        shared.users += 1
        shared.generation += 1
        cursor = shared.root.cursor()
    try:
        yield cursor
    finally:
        with _shared_guard:
            try:
                cursor.close()
            finally:
                shared.users -= 1
                if shared.users == 0:
                    if keep_open_seconds > 0:
                        timer = threading.Timer(
                            keep_open_seconds, _release_if_idle, (key, shared.generation)
                        )
                        timer.daemon = True
                        timer.start()
                    else:
                        _release(key)


def _release(key: str) -> None:
    shared = _shared.pop(key, None)
    if shared is not None:
        shared.root.close()


def _release_if_idle(key: str, generation: int) -> None:
    with _shared_guard:
        shared = _shared.get(key)
        if shared is not None and shared.users == 0 and shared.generation == generation:
            _release(key)


@atexit.register
def _release_all() -> None:
    """Close idle instances at exit so no timer thread runs DuckDB code during shutdown."""
    with _shared_guard:
        for key in [k for k, shared in _shared.items() if shared.users == 0]:
            _release(key)


def release_database(path: str | Path) -> None:
    """Close this process's idle instance of a database now (before replacing its file)."""
    key = str(Path(path).resolve())
    with _shared_guard:
        shared = _shared.get(key)
        if shared is not None and shared.users == 0:
            _release(key)


class _ReadWriteLock:
    """Many readers or one writer, per process; re-entrant for the thread that holds it.

    DuckDB 2.0 can show a read transaction on one cursor rows committed by another cursor of the
    same instance after that transaction began (seen under load with large inserts), so within a
    process a commit never overlaps a read transaction. Across processes DuckDB's file lock
    already serialises them.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writer: int | None = None
        self._waiting_writers = 0
        self._held = threading.local()

    def _depths(self) -> tuple[int, int]:
        return getattr(self._held, "reads", 0), getattr(self._held, "writes", 0)

    @contextmanager
    def reading(self) -> Iterator[None]:
        reads, writes = self._depths()
        if reads or writes:  # already inside this thread's read or write section
            self._held.reads = reads + 1
            try:
                yield
            finally:
                self._held.reads -= 1
            return
        with self._condition:
            while self._writer is not None or self._waiting_writers:
                self._condition.wait()
            self._readers += 1
        self._held.reads = 1
        try:
            yield
        finally:
            self._held.reads = 0
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        reads, writes = self._depths()
        if writes:
            self._held.writes = writes + 1
            try:
                yield
            finally:
                self._held.writes -= 1
            return
        if reads:
            raise RuntimeError("a write cannot start inside a read-only evaluation")
        with self._condition:
            self._waiting_writers += 1
            while self._writer is not None or self._readers:
                self._condition.wait()
            self._waiting_writers -= 1
            self._writer = threading.get_ident()
        self._held.writes = 1
        try:
            yield
        finally:
            self._held.writes = 0
            with self._condition:
                self._writer = None
                self._condition.notify_all()


_transactions = _ReadWriteLock()


@contextmanager
def _all_or_nothing(connections: Sequence[duckdb.DuckDBPyConnection], begin: str) -> Iterator[None]:
    """A transaction on each connection: all committed on success, all rolled back on any
    exception."""
    begun: list[duckdb.DuckDBPyConnection] = []
    try:
        for con in connections:
            con.execute(begin)
            begun.append(con)
        yield
    except BaseException:
        for con in begun:
            con.execute("ROLLBACK")
        raise
    for con in begun:
        con.execute("COMMIT")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, read_only: bool = False) -> Iterator[None]:
    """All or nothing: commit on success, roll back on any exception.

    Read-only transactions see one consistent state: no write of this process commits while one
    is open (see _ReadWriteLock).
    """
    section = _transactions.reading() if read_only else _transactions.writing()
    begin = "BEGIN TRANSACTION READ ONLY" if read_only else "BEGIN TRANSACTION"
    with section, _all_or_nothing([con], begin):
        yield


@contextmanager
def read_transactions(connections: Sequence[duckdb.DuckDBPyConnection]) -> Iterator[None]:
    """A read-only transaction on each of several cursors of one database, all begun inside one
    read section, so together they see one state (no write of this process commits meanwhile)."""
    with _transactions.reading(), _all_or_nothing(connections, "BEGIN TRANSACTION READ ONLY"):
        yield


# --- migrations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def sql_migration(*statements: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """A migration step that runs the given DDL statements in order."""

    def run(con: duckdb.DuckDBPyConnection) -> None:
        for statement in statements:
            con.execute(statement)

    return run


def _create_core_tables(con: duckdb.DuckDBPyConnection) -> None:
    for spec in TABLES.values():
        con.execute(spec.create_table_sql())
    for statement in CORE_TABLES_SQL:
        con.execute(statement)


CORE_TABLES_SQL = (
    """CREATE SEQUENCE IF NOT EXISTS import_batch_ids START 1""",
    """CREATE TABLE IF NOT EXISTS import_batches (
        batch_id BIGINT PRIMARY KEY DEFAULT nextval('import_batch_ids'),
        table_name VARCHAR NOT NULL, file_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
        row_count BIGINT NOT NULL, inserted BIGINT NOT NULL, updated BIGINT NOT NULL,
        unchanged BIGINT NOT NULL, username VARCHAR NOT NULL, imported_at TIMESTAMP NOT NULL)""",
    """CREATE SEQUENCE IF NOT EXISTS audit_log_ids START 1""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        entry_id BIGINT PRIMARY KEY DEFAULT nextval('audit_log_ids'),
        logged_at TIMESTAMP NOT NULL, username VARCHAR NOT NULL, action VARCHAR NOT NULL,
        target VARCHAR NOT NULL, detail VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS mapping_presets (
        table_name VARCHAR NOT NULL, name VARCHAR NOT NULL, mapping VARCHAR NOT NULL,
        created_by VARCHAR, created_at TIMESTAMP, PRIMARY KEY (table_name, name))""",
    """CREATE TABLE IF NOT EXISTS objectives (
        objective_id VARCHAR PRIMARY KEY, title VARCHAR NOT NULL, metric VARCHAR NOT NULL,
        target DOUBLE NOT NULL, deadline DATE NOT NULL, owner VARCHAR,
        baseline DOUBLE, baseline_on DATE, updated_by VARCHAR, updated_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS metric_definitions (
        name VARCHAR NOT NULL, version INTEGER NOT NULL, definition VARCHAR NOT NULL,
        content_hash VARCHAR NOT NULL, author VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
        reason VARCHAR, PRIMARY KEY (name, version))""",
    """CREATE TABLE IF NOT EXISTS users (
        username VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, password_hash VARCHAR,
        email VARCHAR, display_name VARCHAR, disabled BOOLEAN NOT NULL DEFAULT false,
        failed_attempts INTEGER NOT NULL DEFAULT 0, locked_until TIMESTAMP,
        created_at TIMESTAMP NOT NULL)""",
)

# Append only. Each later issue takes the next version number; never edit a released migration.
MIGRATIONS: list[Migration] = [
    Migration(1, "data tables from the registry and core tables", _create_core_tables),
]


def register_migration(migration: Migration) -> None:
    """Modules that own tables (review, auth, …) register their migrations at import time."""
    if any(m.version == migration.version for m in MIGRATIONS):
        raise ValueError(f"migration {migration.version} is registered twice")
    MIGRATIONS.append(migration)
    MIGRATIONS.sort(key=lambda m: m.version)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
        "description VARCHAR, applied_at TIMESTAMP)"
    )
    (version,) = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0]
    return int(version)


# Modules that own tables declare their migration as data, MIGRATION = (version, description, DDL
# statements), and import nothing of the store; migrate() reads them all first, so no process can
# skip a migration just because it never imported the module that owns the tables.
MIGRATION_MODULES = (
    "aims_metrics.auth.schema",
    "aims_metrics.review.schema",
    "aims_metrics.audits.schema",
    "aims_metrics.performance.fairness_schema",
    "aims_metrics.notify.schema",
)


def load_migrations() -> list[Migration]:
    """Every migration: the store's own and those the MIGRATION_MODULES declare."""
    import importlib

    known = {m.version for m in MIGRATIONS}
    for module in MIGRATION_MODULES:
        version, description, statements = importlib.import_module(module).MIGRATION
        if version not in known:
            register_migration(Migration(version, description, sql_migration(*statements)))
            known.add(version)
    return MIGRATIONS


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every registered migration the database lacks, in order, each in its own transaction."""
    load_migrations()
    try:  # an up-to-date database is only read: no DDL, no write transaction
        applied = {row[0] for row in con.execute("SELECT version FROM schema_version").fetchall()}
    except duckdb.CatalogException:
        applied = set()
    if applied >= {m.version for m in MIGRATIONS}:
        return max(applied)
    current = schema_version(con)  # creates schema_version in a new database
    for migration in MIGRATIONS:
        if migration.version in applied:
            continue
        with transaction(con):
            migration.apply(con)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                [migration.version, migration.description, now()],
            )
        current = max(current, migration.version)
    return current


# --- audit log and settings -------------------------------------------------------------------


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, or None; always consumes the whole result (DuckDB 2.x)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def now() -> datetime:
    """Current UTC time without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def record_audit(
    con: duckdb.DuckDBPyConnection,
    username: str,
    action: str,
    target: str,
    detail: dict | None = None,
) -> None:
    """Append one entry to the audit trail (call inside the write's own transaction)."""
    con.execute(
        "INSERT INTO audit_log (logged_at, username, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        [now(), username, action, target, json.dumps(detail or {}, sort_keys=True, default=str)],
    )


def audit_entries(con: duckdb.DuckDBPyConnection, limit: int = 1000) -> list[dict]:
    rows = con.execute(
        "SELECT entry_id, logged_at, username, action, target, detail FROM audit_log "
        "ORDER BY entry_id DESC LIMIT ?",
        [limit],
    ).fetchall()
    keys = ("entry_id", "logged_at", "username", "action", "target", "detail")
    return [dict(zip(keys, row, strict=True)) for row in rows]


SETTING_DEFAULTS = {
    "organisation_name": "Example Organisation",
    "aims_scope": "The AI management system covers the design, development, deployment and "
    "monitoring of AI systems across all business units.",
    "fiscal_year_start_month": "1",
    # First day (YYYY-MM-DD) of the three-year certification cycle the audit programme covers;
    # empty: 1 January of the year of the as-of date.
    "audit_cycle_start": "",
    # Reminders (aims_metrics.notify): repetition, staleness, links, and per rule a switch
    # ("on"/"off") and, where the rule looks ahead, its days.
    "remind_every_days": "7",
    "stale_after_days": "100",
    "app_base_url": "http://localhost:8501",
    **{f"notify_{rule}": "on" for rule in (
        "corrective_action_overdue", "corrective_action_due_soon", "review_action_due_soon",
        "review_action_overdue", "audit_starting_soon", "audit_overdue", "kpi_turned_red",
        "data_stale")},
    "notify_corrective_action_due_soon_days": "14",
    "notify_review_action_due_soon_days": "14",
    "notify_audit_starting_soon_days": "30",
}


def get_setting(con: duckdb.DuckDBPyConnection, key: str) -> str:
    rows = con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
    if rows:
        return rows[0][0]
    return SETTING_DEFAULTS[key]


def set_setting(con: duckdb.DuckDBPyConnection, key: str, value: str, username: str) -> None:
    if key not in SETTING_DEFAULTS:
        raise KeyError(f"unknown setting {key!r}")
    with transaction(con):
        con.execute(
            "INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )
        record_audit(con, username, "setting.update", key, {"value": value})


def data_version(path: str | Path) -> tuple[int, int]:
    """A cheap cache key that changes whenever the database file is written."""
    stamp = (0, 0)
    for candidate in (Path(path), Path(f"{path}.wal")):
        if candidate.exists():
            st = candidate.stat()
            stamp = (stamp[0] + st.st_mtime_ns, stamp[1] + st.st_size)
    return stamp


# --- backup and restore -------------------------------------------------------------------------


def backup_database(path: str | Path, out: str | Path, attempts: int = 5) -> int:
    """Copy a consistent snapshot: hold the lock, checkpoint the WAL, copy, verify the copy.

    Other threads of this process may keep reading (and committing to the WAL) meanwhile; if a
    checkpoint rewrote the file during the copy, the copy is taken again.
    """
    import shutil

    out = Path(out)
    temporary = out.with_name(out.name + ".partial")
    try:
        with open_db(path) as con:
            for _ in range(attempts):
                con.execute("CHECKPOINT")
                before = Path(path).stat()
                shutil.copyfile(path, temporary)
                after = Path(path).stat()
                if (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size):
                    break
            else:
                raise DatabaseBusy(
                    f"the database {path} kept changing while it was copied; try again in a moment"
                )
        version = _verified_schema_version(temporary)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    return version


def _verified_schema_version(candidate: Path) -> int:
    """The schema version of an AIMS Review database file; ValueError for anything else.

    Opened read-only, so checking a file never changes it.
    """
    with open(candidate, "rb") as handle:
        if handle.read(12)[8:12] != b"DUCK":
            raise ValueError(f"{candidate.name} is not an AIMS Review database (not a DuckDB file)")
    try:
        con = duckdb.connect(str(candidate), read_only=True, config=dict(CONNECTION_CONFIG))
    except duckdb.Error as error:
        raise ValueError(f"{candidate.name} is not an AIMS Review database: {error}") from None
    try:
        rows = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchall()
        if rows[0][0] == 0:
            raise ValueError(f"{candidate.name} is a DuckDB file but not an AIMS Review database")
        ((version,),) = con.execute(
            "SELECT coalesce(max(version), 0) FROM schema_version"
        ).fetchall()
        if not version:
            raise ValueError(f"{candidate.name} is a DuckDB file but not an AIMS Review database")
        return int(version)
    except duckdb.Error as error:
        raise ValueError(f"{candidate.name} is not an AIMS Review database: {error}") from None
    finally:
        con.close()


def restore_database(path: str | Path, backup: str | Path, username: str) -> int:
    """Replace the database with a verified backup, atomically; the restore is audited.

    The backup is copied next to the database first and the copy is what gets verified and
    installed, so the file checked is the file used. Nothing changes when the check fails.
    """
    import shutil

    path, backup = Path(path), Path(backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".restoring")
    try:
        shutil.copyfile(backup, staged)
        version = _verified_schema_version(staged)
        latest = max(m.version for m in load_migrations())
        if version > latest:
            raise ValueError(
                f"{backup.name} has schema version {version}, newer than this program ({latest})"
            )
        release_database(path)
        con = connect(path)  # waits until nobody else uses the database, then releases it at once
        con.close()
        wal = Path(f"{path}.wal")
        if wal.exists():
            wal.unlink()
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    with open_db(path) as con, transaction(con):
        record_audit(
            con, username, "database.restore", str(path), {"from": backup.name, "schema": version}
        )
    return version
