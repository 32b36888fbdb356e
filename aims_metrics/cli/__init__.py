"""The command-line shell: parse arguments, call the library, print. Nothing else.

Each module in COMMAND_MODULES adds its subcommands with `register(subparsers)` and sets
`handler=` on each subparser; a handler takes the parsed arguments and returns an exit code.
Modules import heavy dependencies inside their handlers so `kpis` starts fast.
Exit codes: 0 success, 1 invalid data or a failed operation, 2 usage error.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import os
import sys
from pathlib import Path

from aims_metrics.store import DatabaseBusy, default_db_path

COMMAND_MODULES = (
    "aims_metrics.cli.data",
    "aims_metrics.cli.metrics",
    "aims_metrics.cli.review",
    "aims_metrics.cli.users",
    "aims_metrics.cli.ops",
)

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Wrong arguments: reported on stderr with exit code 2."""


def cli_user() -> str:
    """Who runs the CLI, for import batches and the audit log."""
    return os.environ.get("AIMS_USER") or f"cli:{getpass.getuser()}"


def build_parser() -> argparse.ArgumentParser:
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
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue  # that command group is not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.db is None:
        args.db = default_db_path()
    try:
        return int(args.handler(args) or 0)
    except UsageError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseBusy as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
