"""Backup and restore of the database file.

A backup is a consistent copy, verified before it is renamed into place. A restore copies the
user's file (a regular file under RESTORE_MAX_BYTES, checked before and while copying), verifies
the copy completely — DuckDB's header, a schema version this program knows, every table and column
that version implies with its type, default and constraints, and nothing else (no views, macros,
indexes or other objects that could read files) — and only then swaps it in. Messages name the
user's file, never the temporary copy.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from aims_metrics.inputs.files import FileProblem, check_input_file
from aims_metrics.store.audit import record_audit
from aims_metrics.store.config import CONNECTION_CONFIG
from aims_metrics.store.connection import (
    DatabaseBusy,
    connect,
    is_duckdb_file,
    open_db,
    release_database,
)
from aims_metrics.store.migrations import (
    all_migrations,
    latest_schema_version,
    reference_snapshot,
    schema_differences,
    schema_snapshot,
)
from aims_metrics.store.transactions import transaction
from aims_metrics.vocabulary.wording import noun_for

# The largest backup a restore accepts: far above any AIMS Review database (the enterprise bench
# data set is a few hundred MB), far below a disk filled by copying /dev/zero.
RESTORE_MAX_BYTES = 16 * 1024**3
_COPY_CHUNK = 1024 * 1024


class RestoreRefused(ValueError):
    """The backup is not one this program can restore; nothing was changed."""


def backup_database(path: str | Path, out: str | Path, attempts: int = 5) -> int:
    """Copy a consistent snapshot: hold the lock, checkpoint the WAL, copy, verify the copy.

    Other threads of this process may keep reading (and committing to the WAL) meanwhile; if a
    checkpoint rewrote the file during the copy, the copy is taken again.
    """
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
        version = verified_schema_version(temporary, shown_as=out)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    return version


def _copy_bounded(source: Path, target: Path, limit: int) -> None:
    """Copy at most `limit` bytes; RestoreRefused if the source holds more (it grew, or it is a
    file whose size stat() does not tell)."""
    copied = 0
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(_COPY_CHUNK):
            copied += len(chunk)
            if copied > limit:
                raise RestoreRefused(
                    f"{source}: the file grew past the restore limit of {limit // 1024**3} GiB "
                    "while it was copied"
                )
            writer.write(chunk)


def _schema_problems(con: duckdb.DuckDBPyConnection, name: str) -> tuple[int, list[str]]:
    """(schema version, problems) of an open candidate database."""
    has_versions = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not has_versions:
        raise RestoreRefused(f"{name} is a DuckDB file but not an AIMS Review database")
    versions = {int(v) for (v,) in con.execute("SELECT version FROM schema_version").fetchall()}
    if not versions:
        raise RestoreRefused(f"{name} is a DuckDB file but not an AIMS Review database")
    version, latest = max(versions), latest_schema_version()
    if version > latest:
        raise RestoreRefused(
            f"{name} has schema version {version}, newer than this program ({latest})"
        )
    unknown = versions - {m.version for m in all_migrations()}
    if unknown:
        listed = ", ".join(map(str, sorted(unknown)))
        raise RestoreRefused(
            f"{name} records schema {noun_for(len(unknown), 'version')} {listed} this program never made"
        )
    return version, schema_differences(reference_snapshot(versions), schema_snapshot(con))


def verified_schema_version(candidate: Path, shown_as: str | Path | None = None) -> int:
    """The schema version of a complete AIMS Review database file; RestoreRefused otherwise.

    Opened read-only with external access off, so checking a file never changes it or reads
    anything else. `shown_as` is the name messages use (the user's file, not a copy).
    """
    name = str(shown_as or candidate)
    if not is_duckdb_file(candidate):
        raise RestoreRefused(f"{name} is not an AIMS Review database (not a DuckDB file)")
    try:
        con = duckdb.connect(str(candidate), read_only=True, config=dict(CONNECTION_CONFIG))
    except duckdb.Error as error:
        message = str(error).replace(str(candidate), name).splitlines()[0]
        raise RestoreRefused(f"{name} is not an AIMS Review database: {message}") from None
    try:
        version, problems = _schema_problems(con, name)
    except duckdb.Error as error:
        message = str(error).replace(str(candidate), name).splitlines()[0]
        raise RestoreRefused(f"{name} is not an AIMS Review database: {message}") from None
    finally:
        con.close()
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise RestoreRefused(
            f"{name} does not hold the complete schema of version {version}: {shown}"
        )
    return version


def restore_database(path: str | Path, backup: str | Path, username: str) -> int:
    """Replace the database with a verified backup, atomically; the restore is audited.

    The backup is copied next to the database first and the copy is what gets verified and
    installed, so the file checked is the file used. Nothing changes when the check fails
    (RestoreRefused, naming the backup file).
    """
    path, backup = Path(path), Path(backup)
    try:
        check_input_file(backup, RESTORE_MAX_BYTES)
    except FileProblem as error:
        raise RestoreRefused(f"{backup}: {error}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".restoring")
    try:
        try:
            _copy_bounded(backup, staged, RESTORE_MAX_BYTES)
        except OSError as error:
            raise RestoreRefused(f"{backup}: cannot copy it ({error.strerror or error})") from None
        version = verified_schema_version(staged, shown_as=backup)
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
