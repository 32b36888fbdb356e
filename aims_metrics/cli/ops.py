"""CLI: backup, restore, audit-log."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aims_metrics.cli.common import EXIT_INVALID, EXIT_OK, UsageError, cli_user, int_in_range


def register(subparsers: argparse._SubParsersAction) -> None:
    backup = subparsers.add_parser("backup", help="write a consistent copy of the database")
    backup.add_argument("--out", type=Path, required=True)
    backup.set_defaults(handler=run_backup)

    restore = subparsers.add_parser("restore", help="replace the database with a backup")
    restore.add_argument("file", type=Path)
    restore.set_defaults(handler=run_restore)

    audit = subparsers.add_parser("audit-log", help="print the audit trail, newest first")
    audit.add_argument("--limit", type=int_in_range(1, 1_000_000), default=100)
    audit.add_argument("--format", choices=("table", "json"), default="table")
    audit.set_defaults(handler=run_audit_log)


def run_backup(args: argparse.Namespace) -> int:
    from aims_metrics.inputs.files import FileProblem, check_output_path
    from aims_metrics.store import backup_database

    try:  # before any work: a bad --out is a usage error and nothing is written
        check_output_path(args.out)
    except FileProblem as error:
        raise UsageError(f"backup --out: {error}") from None
    if args.out.resolve() == args.db.resolve():
        raise UsageError(f"backup --out: {args.out} is the database itself; name another file")
    version = backup_database(args.db, args.out)
    print(f"backed up {args.db} (schema version {version}) to {args.out}")
    return EXIT_OK


def run_restore(args: argparse.Namespace) -> int:
    import sys

    from aims_metrics.store import RestoreRefused, restore_database

    try:
        version = restore_database(args.db, args.file, cli_user())
    except RestoreRefused as error:
        print(f"error: {error}", file=sys.stderr)
        print("nothing restored: the database is unchanged", file=sys.stderr)
        return EXIT_INVALID
    print(f"restored {args.db} from {args.file} (schema version {version})")
    return EXIT_OK


def run_audit_log(args: argparse.Namespace) -> int:
    from aims_metrics import store

    with store.open_db(args.db) as con:
        entries = store.audit_entries(con, args.limit)
    if args.format == "json":
        print(json.dumps(entries, default=str, indent=2))
        return EXIT_OK
    for entry in entries:
        print(
            f"{entry['entry_id']:>6}  {entry['logged_at']}  {entry['username']:<20} "
            f"{entry['action']:<22} {entry['target']}  {entry['detail']}"
        )
    if not entries:
        print("the audit log is empty")
    return EXIT_OK
