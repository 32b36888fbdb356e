"""CLI: init, import, template, export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aims_metrics.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    cli_user,
    output_path,
    quarter_arg,
)
from aims_metrics.tables.registry import EXPORT_TABLE_NAMES, TABLE_NAMES
from aims_metrics.vocabulary.wording import count_of


def register(subparsers: argparse._SubParsersAction) -> None:
    init = subparsers.add_parser(
        "init", help="create or migrate the schema; optionally load demo data"
    )
    init.add_argument("--demo", action="store_true", help="load the deterministic demo data set")
    init.add_argument(
        "--scale",
        choices=("demo", "enterprise"),
        default=None,
        help="loads the demo data (implies --demo): 'enterprise' is the large "
        "benchmark data set (default: demo)",
    )
    init.add_argument(
        "--end-quarter",
        default=None,
        type=quarter_arg,
        help="last quarter of the demo data (implies --demo; default: last completed quarter)",
    )
    init.set_defaults(handler=run_init)

    imp = subparsers.add_parser("import", help="validate and upsert a CSV or XLSX export")
    imp.add_argument("table", choices=TABLE_NAMES)
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate and count; write nothing")
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SRC=DST",
        help="rename a file column to a table column",
    )
    imp.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="fill a column the file lacks with one value",
    )
    imp.add_argument(
        "--sheet", default=None, help="XLSX sheet name (default: the first visible sheet)"
    )
    imp.set_defaults(handler=run_import)

    template = subparsers.add_parser("template", help="print the CSV header of a table")
    template.add_argument("table", choices=EXPORT_TABLE_NAMES)
    template.set_defaults(handler=run_template)

    export = subparsers.add_parser("export", help="export a table as formula-safe CSV")
    export.add_argument("table", choices=EXPORT_TABLE_NAMES)
    export.add_argument("--out", type=output_path, required=True, help="CSV file to write")
    export.set_defaults(handler=run_export)


def run_init(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.metrics.catalog import install_shipped_catalog
    from aims_metrics.metrics.periods import EARLIEST_YEAR

    end = args.end_quarter
    # a demo option names demo data: never a silently empty database
    demo = args.demo or args.scale is not None or end is not None
    scale = args.scale or "demo"
    if demo and end is not None and end.previous().year < EARLIEST_YEAR:
        # the demo seeds a finalised review of the quarter before the end quarter
        raise UsageError(
            f"--end-quarter {end}: the demo needs the quarter before it; use "
            f"{EARLIEST_YEAR}Q2 or later"
        )
    with store.open_db(args.db) as con:
        version = store.schema_version(con)
        install_shipped_catalog(con)
        print(f"database {args.db} at schema version {version}")
        if demo:
            from aims_metrics.demo import load_demo
            from aims_metrics.demo.review import seed_demo_review
            from aims_metrics.metrics.periods import last_completed_quarter

            end = end or last_completed_quarter()
            counts = load_demo(con, end_quarter=end, scale=scale)
            seed_demo_review(con, end)
            summary = ", ".join(f"{n:,} {table}" for table, n in counts.items())
            print(f"loaded {scale} data ending {end}: {summary}")
            print(f"seeded a finalised management review for {end.previous()}")
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.tables import ingest

    try:
        mapping = ingest.parse_assignments(args.map, "--map")
        constants = ingest.parse_assignments(args.set, "--set")
    except ingest.ImportUsageError as error:
        raise UsageError(str(error)) from None
    if not args.file.exists():
        raise UsageError(f"{args.file}: no such file")
    with store.open_db(args.db) as con:
        try:
            # a commit that meets another process's lock is rolled back whole: try it again
            plan, result = store.retry_while_held(
                args.db,
                lambda: ingest.import_file(
                    con,
                    args.table,
                    args.file,
                    cli_user(),
                    file_name=str(args.file),
                    mapping=mapping,
                    constants=constants,
                    sheet=args.sheet,
                    dry_run=args.dry_run,
                ),
            )
        except ingest.ImportUsageError as error:
            raise UsageError(str(error)) from None
        except ingest.ImportRejected as rejected:
            _print_warnings(rejected.plan.warnings)
            for problem in rejected.plan.problems:
                print(problem, file=sys.stderr)
            print(
                f"{count_of(len(rejected.plan.problems), 'error')}: nothing imported",
                file=sys.stderr,
            )
            return EXIT_INVALID
    _print_warnings(plan.warnings)
    prefix = "dry run: would be " if result.dry_run else ""
    print(f"{prefix}{result.counts}")
    if not result.dry_run and result.counts.inserted == result.counts.updated == 0:
        print("nothing changed: every row is already in the database", file=sys.stderr)
    return EXIT_OK


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def run_template(args: argparse.Namespace) -> int:
    from aims_metrics.tables.registry import table_spec

    print(table_spec(args.table).template_header())
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.inputs.files import FileProblem
    from aims_metrics.tables.export import export_table

    with store.open_db(args.db) as con:
        try:
            count = export_table(con, args.table, args.out)
        except FileProblem as error:  # the disk is full, the folder went away…: nothing written
            print(f"error: {error}", file=sys.stderr)
            return EXIT_INVALID
    print(f"exported {count} rows to {args.out}")
    return EXIT_OK
