"""The command-line shell: parse arguments, call the library, print. Nothing else.

Each module in COMMAND_MODULES adds its subcommands with `register(subparsers)` and sets
`handler=` on each subparser; a handler takes the parsed arguments and returns an exit code.
Modules import heavy dependencies inside their handlers so `kpis` starts fast.
Exit codes: 0 success, 1 invalid data or a failed operation, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from aims_metrics.cli.common import EXIT_INVALID, EXIT_USAGE, UsageError
from aims_metrics.store import (
    DatabaseBusy,
    DatabasePathProblem,
    check_database_path,
    default_db_path,
)

COMMAND_MODULES = (
    "aims_metrics.cli.data",
    "aims_metrics.cli.metrics",
    "aims_metrics.cli.review",
    "aims_metrics.cli.users",
    "aims_metrics.cli.ops",
    "aims_metrics.cli.settings",
    "aims_metrics.cli.audits",
    "aims_metrics.cli.fairness",
    "aims_metrics.cli.notify",
)
# Which module registers each top-level command, so a run imports only the module it needs
# (start-up time of `kpis` matters to scripts); tests/test_docs.py keeps this table honest.
COMMAND_OWNERS = {
    "init": "aims_metrics.cli.data",
    "import": "aims_metrics.cli.data",
    "template": "aims_metrics.cli.data",
    "export": "aims_metrics.cli.data",
    "kpis": "aims_metrics.cli.metrics",
    "aging": "aims_metrics.cli.metrics",
    "objectives": "aims_metrics.cli.metrics",
    "metrics": "aims_metrics.cli.metrics",
    "minutes": "aims_metrics.cli.review",
    "users": "aims_metrics.cli.users",
    "backup": "aims_metrics.cli.ops",
    "restore": "aims_metrics.cli.ops",
    "audit-log": "aims_metrics.cli.ops",
    "settings": "aims_metrics.cli.settings",
    "audits": "aims_metrics.cli.audits",
    "readiness": "aims_metrics.cli.audits",
    "fairness": "aims_metrics.cli.fairness",
    "notify": "aims_metrics.cli.notify",
}


def _requested_command(argv: list[str]) -> str | None:
    """The first word that names a command (after --db PATH), or None."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aims_metrics",
        description="AIMS Review: ISO/IEC 42001 Clause 9 metrics, imports and management review.",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="DuckDB file (default: $AIMS_DB, else data/aims.duckdb)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = _requested_command(argv) if argv is not None else None
    modules = [COMMAND_OWNERS[command]] if command in COMMAND_OWNERS else COMMAND_MODULES
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue  # that command group is not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.db is None:
        args.db = default_db_path()
    try:
        check_database_path(args.db)  # before anything: never treat a CSV or a folder as the db
        return int(args.handler(args) or 0)
    except (UsageError, DatabasePathProblem) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseBusy as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
