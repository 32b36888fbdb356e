"""Which file is the database, and connections to it.

Every connection in the product uses one configuration — external access disabled, configuration
locked — so no SQL run through it can read files, URLs or the environment. Connections are
short-lived: open, work, close, so the app and the CLI can share the file.
"""

from __future__ import annotations

import atexit
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from aims_metrics.store.config import CONNECTION_CONFIG
from aims_metrics.store.migrations import migrate

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_DB_PATH = Path("data") / "aims.duckdb"
# How long a process waits for a file another process holds. Readers hold it only while they
# copy a snapshot (store.snapshot), so a writer waits seconds at most; the bound is for a stuck
# or long import in another process.
BUSY_TIMEOUT_SECONDS = float(os.environ.get("AIMS_DB_BUSY_TIMEOUT", "60"))
WAIT_NOTICE_AFTER_SECONDS = 1.0

# A DuckDB database file: an 8-byte checksum, then this magic (main header, every version).
DUCKDB_MAGIC_OFFSET, DUCKDB_MAGIC = 8, b"DUCK"


class DatabaseBusy(RuntimeError):
    """Another process held the database longer than the busy timeout."""


class DatabasePathProblem(ValueError):
    """The database path names something that is not a DuckDB file nor a place to create one."""


def default_db_path() -> Path:
    """`$AIMS_DB`, else `data/aims.duckdb` (the CLI and the app agree on this)."""
    return Path(os.environ.get("AIMS_DB") or DEFAULT_DB_PATH)


def is_duckdb_file(path: str | Path) -> bool:
    """Whether a regular file starts with DuckDB's header (reads 12 bytes, nothing else)."""
    with open(path, "rb") as handle:
        header = handle.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
    return header[DUCKDB_MAGIC_OFFSET:] == DUCKDB_MAGIC


def _creatable_at(path: Path) -> None:
    """A new database can be made at `path`: the nearest existing folder above is writable."""
    folder = path.parent
    while not folder.exists():
        if folder.is_symlink():
            raise DatabasePathProblem(f"{path}: the folder {folder} is a broken link")
        folder = folder.parent
    if not folder.is_dir():
        raise DatabasePathProblem(f"{path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabasePathProblem(f"{path}: cannot create the database, {folder} is not writable")


def check_database_path(path: str | Path) -> Path:
    """The path, if it names an existing DuckDB file or a place where one can be created.

    Anything else — a directory, a device or pipe, an empty file, a CSV or any file without
    DuckDB's header — raises DatabasePathProblem naming the path and why, so no command
    treats it as a database (DuckDB would open some of them as an empty in-memory database).
    An empty file is refused too: DuckDB cannot open it, and it may be a file the user meant
    for something else.
    """
    path = Path(path)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if path.is_symlink():
            raise DatabasePathProblem(f"{path}: is a broken link") from None
        _creatable_at(path)
        return path
    except OSError as error:
        raise DatabasePathProblem(f"{path}: cannot be read ({error.strerror or error})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DatabasePathProblem(f"{path}: is a directory, not a database file")
    if not stat.S_ISREG(info.st_mode):
        raise DatabasePathProblem(f"{path}: is not a regular file (a device, a pipe or a socket)")
    if info.st_size == 0:
        raise DatabasePathProblem(
            f"{path}: is an empty file, not a DuckDB database (delete it, or name a new path)"
        )
    if not os.access(path, os.R_OK | os.W_OK):
        raise DatabasePathProblem(f"{path}: permission denied (the database must be writable)")
    if not is_duckdb_file(path):
        raise DatabasePathProblem(f"{path}: is not a DuckDB database file")
    return path


def _is_lock_conflict(error: Exception) -> bool:
    """The file is held: by another process (a file lock) or by this one (DuckDB refuses a
    second instance of a file in one process)."""
    text = str(error).lower()
    return ("lock" in text and ("conflicting" in text or "could not set lock" in text)) or (
        "unique file handle conflict" in text
    )


def wait_for_file(path: Path, attempt: Callable[[], T], busy_timeout: float) -> T:
    """`attempt()` (an open or attach of `path`), retried with backoff while the file is held.

    Says once, in the log (the CLI prints it on stderr), that it is waiting and for how long
    when the wait passes WAIT_NOTICE_AFTER_SECONDS;
    raises DatabaseBusy when the file is still held after `busy_timeout` seconds.
    """
    started = time.monotonic()
    deadline = started + busy_timeout
    delay, said = 0.02, False
    while True:
        try:
            return attempt()
        except (duckdb.IOException, duckdb.Error) as error:
            if not _is_lock_conflict(error):
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusy(
                    f"the database is busy: {path} is in use by another process "
                    "(an import or the app); try again in a moment"
                ) from None
            if not said and time.monotonic() - started >= WAIT_NOTICE_AFTER_SECONDS:
                log.warning(
                    "waiting for the database: %s is in use by another process; waiting up to "
                    "%g s (AIMS_DB_BUSY_TIMEOUT)",
                    path,
                    busy_timeout,
                )
                said = True
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.25)


def retry_while_held(path: str | Path, write: Callable[[], T]) -> T:
    """`write()` (one transaction on an open connection), run again while its commit meets a
    lock another process holds on the file or its WAL: such a commit is rolled back whole, so
    running it again is safe. Waits up to BUSY_TIMEOUT_SECONDS, then DatabaseBusy."""
    return wait_for_file(Path(path), write, BUSY_TIMEOUT_SECONDS)


def connect(path: str | Path, busy_timeout: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the database, waiting (with backoff) while another process holds its lock.

    The path is checked first (check_database_path), so nothing but a DuckDB file is opened.
    """
    path = check_database_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return wait_for_file(
        path,
        lambda: duckdb.connect(str(path), config=dict(CONNECTION_CONFIG)),
        BUSY_TIMEOUT_SECONDS if busy_timeout is None else busy_timeout,
    )


@dataclass
class _SharedDatabase:
    root: duckdb.DuckDBPyConnection
    users: int = 0


_shared: dict[str, _SharedDatabase] = {}
_shared_guard = threading.Lock()


@contextmanager
def open_db(path: str | Path, migrate_schema: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated connection (a cursor on the process's one database instance), always closed.

    Threads of one process share a single root connection per file, opened when the first user
    arrives and closed when the last leaves, so a process never holds two DuckDB instances of
    one file and the file is free for other processes whenever this one is idle. The app and
    the CLI both work this way.
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
                    _release(key)


def _release(key: str) -> None:
    shared = _shared.pop(key, None)
    if shared is not None:
        shared.root.close()


@atexit.register
def _release_all() -> None:
    """Close idle instances at exit."""
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


def data_version(path: str | Path) -> tuple[int, ...]:
    """A cheap stamp that changes whenever any process writes the database file (or replaces
    it, as a restore does): the identity, size and modification time of the file and its WAL."""
    stamp: list[int] = []
    for candidate in (Path(path), Path(f"{path}.wal")):
        try:
            st = candidate.stat()
        except FileNotFoundError:
            stamp += [0, 0, 0]
        else:
            stamp += [st.st_ino, st.st_size, st.st_mtime_ns]
    return tuple(stamp)
