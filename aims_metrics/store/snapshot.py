"""Reads from an in-memory copy of the database, taken once per data version (issue 22).

A DuckDB file admits one process that writes or several that read, never both at once. If the
app read the file directly, every page view would hold it while its SQL ran and, worse, while
Python post-processed the result, and a governance lead's import would wait behind the readers.
So readers take a snapshot instead: the file is attached read-only just long enough to copy it
into memory (a quarter of a second at enterprise scale), and every read of that data version runs
on the copy. A write by any process — the app, another app process, the CLI — changes the file's
version stamp (`data_version`), and the next read takes a new copy.

While a writer holds the file, readers keep the copy they have (flagged `behind`), so a page never
waits for an import; only a process's very first read waits for the file, as a write does.
The copy is locked down like every connection: no SQL run on it can read files or the network.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from aims_metrics.store.config import CONNECTION_CONFIG
from aims_metrics.store.connection import (
    BUSY_TIMEOUT_SECONDS,
    DatabaseBusy,
    check_database_path,
    data_version,
    wait_for_file,
)


@dataclass(frozen=True)
class Snapshot:
    """One in-memory copy of the database file at one data version."""

    path: str
    version: tuple[int, ...]
    taken_at: datetime
    root: duckdb.DuckDBPyConnection
    behind: bool = False  # the file has newer writes than this copy (a writer holds it)

    @property
    def key(self) -> tuple:
        """What a cache of results read from this copy is keyed by."""
        return (self.path, self.version)

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one thread's reads, always closed."""
        cursor = self.root.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


_snapshots: dict[str, Snapshot] = {}
_copying: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _copy(path: Path, busy_timeout: float) -> duckdb.DuckDBPyConnection:
    """The whole database, copied into a new in-memory database, then locked down."""
    memory = duckdb.connect(":memory:")
    try:
        wait_for_file(
            path,
            lambda: memory.execute("ATTACH ? AS source (READ_ONLY)", [str(path)]),
            busy_timeout,
        )
        try:
            memory.execute("COPY FROM DATABASE source TO memory")
        finally:
            memory.execute("DETACH source")
        for name, value in CONNECTION_CONFIG.items():
            memory.execute(f"SET {name} = {'true' if value else 'false'}")
    except BaseException:
        memory.close()
        raise
    return memory


def read_snapshot(path: str | Path) -> Snapshot:
    """This process's copy of the database at its current version, taking one if it changed.

    Threads share one copy per file; one of them copies while the others wait for it. When the
    file is held by a writer and a copy already exists, the existing copy is returned at once,
    marked `behind`.
    """
    path = check_database_path(path)
    key = str(path.resolve())
    with _guard:
        copying = _copying.setdefault(key, threading.Lock())
    with copying:
        version = data_version(path)
        current = _snapshots.get(key)
        if current is not None and current.version == version:
            return current
        try:
            root = _copy(path, 0 if current is not None else BUSY_TIMEOUT_SECONDS)
        except DatabaseBusy:
            if current is None:
                raise
            current = _snapshots[key] = Snapshot(
                current.path, current.version, current.taken_at, current.root, behind=True
            )
            return current
        taken = Snapshot(str(path), version, datetime.now(UTC), root)
        _snapshots[key] = taken  # the previous copy lives on while a cursor still reads it
        return taken


@contextmanager
def read_db(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on this process's current snapshot of the database (reads only)."""
    with read_snapshot(path).cursor() as cursor:
        yield cursor
