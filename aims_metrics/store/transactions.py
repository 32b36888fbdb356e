"""Transactions: all or nothing, and read-only ones that see one consistent state."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb


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


def _roll_back(connections: Sequence[duckdb.DuckDBPyConnection]) -> None:
    """ROLLBACK each connection. A metric time limit keeps interrupting its connection until the
    block exits, and may interrupt the ROLLBACK itself: that one is run again."""
    for con in connections:
        for attempt in range(100):
            try:
                con.execute("ROLLBACK")
                break
            except duckdb.TransactionException:
                break  # already ended (a COMMIT that failed rolls back by itself)
            except duckdb.InterruptException:
                if attempt == 99:
                    raise


@contextmanager
def _all_or_nothing(connections: Sequence[duckdb.DuckDBPyConnection], begin: str) -> Iterator[None]:
    """A transaction on each connection: all committed on success, all rolled back on any
    exception (a COMMIT that fails rolls back the connections not yet committed)."""
    begun: list[duckdb.DuckDBPyConnection] = []
    try:
        for con in connections:
            con.execute(begin)
            begun.append(con)
        yield
    except BaseException:
        _roll_back(begun)
        raise
    while begun:
        try:
            begun[0].execute("COMMIT")
        except BaseException:
            _roll_back(begun)
            raise
        begun.pop(0)


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
