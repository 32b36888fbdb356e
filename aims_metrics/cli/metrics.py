"""CLI commands over the metrics engine: kpis, aging, objectives, metrics list|show|validate|apply."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from aims_metrics.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    cli_user,
    date_arg,
    one_line,
    print_json,
    quarter_arg,
    text_table,
)
from aims_metrics.inputs.text import normalise_text
from aims_metrics.metrics.formatting import format_value
from aims_metrics.vocabulary.status import status_word

FORMATS = ("table", "json")


def register(subparsers: argparse._SubParsersAction) -> None:
    kpis = subparsers.add_parser("kpis", help="the KPI catalog for one quarter")
    kpis.add_argument(
        "--quarter", type=quarter_arg, help="e.g. 2025Q3 (default: the last completed quarter)"
    )
    kpis.add_argument("--format", choices=FORMATS, default="table")
    kpis.set_defaults(handler=run_kpis)

    aging = subparsers.add_parser("aging", help="open findings by age as of a date")
    aging.add_argument("--as-of", dest="as_of", type=date_arg, help="YYYY-MM-DD (default: today)")
    aging.add_argument("--format", choices=FORMATS, default="table")
    aging.set_defaults(handler=run_aging)

    objectives = subparsers.add_parser("objectives", help="AI objectives' status for a quarter")
    objectives.add_argument(
        "--quarter", type=quarter_arg, help="e.g. 2025Q3 (default: the last completed quarter)"
    )
    objectives.add_argument("--format", choices=FORMATS, default="table")
    objectives.set_defaults(handler=run_objectives)

    metrics = subparsers.add_parser(
        "metrics", help="metric definitions: list, show, validate, apply"
    )
    actions = metrics.add_subparsers(dest="metrics_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="current metric definitions").set_defaults(handler=run_list)
    show = actions.add_parser("show", help="a metric's current definition (YAML) and history")
    show.add_argument("name")
    show.set_defaults(handler=run_show)
    validate = actions.add_parser("validate", help="check a metric file; list every problem")
    validate.add_argument("file", type=Path)
    validate.set_defaults(handler=run_validate)
    apply = actions.add_parser("apply", help="save the changed metrics of a file as new versions")
    apply.add_argument("file", type=Path)
    apply.add_argument("--reason", help="why the definitions change (kept in the history)")
    apply.set_defaults(handler=run_apply)


def _quarter(con, given):
    """The quarter asked for (parsed by quarter_arg) in the fiscal year of the settings."""
    from aims_metrics.metrics.as_of import fiscal_start_month
    from aims_metrics.metrics.periods import Quarter, last_completed_quarter

    start_month = fiscal_start_month(con)
    if given is None:
        return last_completed_quarter(start_month=start_month)
    return Quarter(given.year, given.number, start_month)


def run_kpis(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.metrics.evaluate import MetricTimeout, kpis_for_quarter

    with store.open_db(args.db) as con:
        quarter = _quarter(con, args.quarter)
        try:
            results = kpis_for_quarter(con, quarter)
        except MetricTimeout as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_INVALID
        complete = _completeness(con, results, quarter)
    if args.format == "json":
        document = {
            "quarter": quarter.label,
            "as_of": quarter.end.isoformat(),
            "metrics": [r.to_json() | complete[r.name] for r in results],
        }
        print_json(document)
        return EXIT_OK
    rows = [
        [
            r.ref,
            r.label,
            format_value(r.value, r.unit),
            format_value(r.target, r.unit),
            status_word(r.status),
            format_value(r.previous_value, r.unit),
        ]
        for r in results
    ]
    print(f"KPIs for {quarter.label} (as of {quarter.end.isoformat()})")
    print(text_table(["metric", "label", "value", "target", "status", "previous"], rows, {2, 3, 5}))
    for r in results:
        if r.problem:
            print(f"note: {r.name}: {r.problem}", file=sys.stderr)
    return EXIT_OK


def _completeness(con, results, quarter) -> dict[str, dict]:
    """Per metric `data_through`, `provisional` and `newest_record` (issue 23) for the JSON."""
    from aims_metrics.metrics.completeness import catalog_completeness
    from aims_metrics.metrics.evaluate import current

    found = catalog_completeness(con, current(con, [r.name for r in results]), quarter)
    return {
        name: {
            "data_through": c.data_through.isoformat() if c.data_through else None,
            "provisional": c.provisional,
            "newest_record": c.newest_record.isoformat() if c.newest_record else None,
        }
        for name, c in found.items()
    }


def run_aging(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.performance.aging import aging_report

    as_of = args.as_of or date.today()
    with store.open_db(args.db) as con:
        report = aging_report(con, as_of)
    if args.format == "json":
        print_json(report.to_json())
        return EXIT_OK
    from aims_metrics.vocabulary.findings import FINDING_TYPES, finding_title
    from aims_metrics.vocabulary.wording import number

    kinds = [*FINDING_TYPES, "total"]
    rows = [[b.bucket, *(number(getattr(b, k)) for k in kinds)] for b in report.buckets]
    print(
        f"Open findings as of {as_of.isoformat()}: {number(report.open_total)} open, "
        f"{number(report.overdue)} overdue"
    )
    headers = ["Age (days)", *(finding_title(k) for k in FINDING_TYPES), "Total"]
    print(text_table(headers, rows, {1, 2, 3, 4, 5}))
    return EXIT_OK


def run_objectives(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.metrics.catalog import current_definitions
    from aims_metrics.performance.objectives import objective_progress

    with store.open_db(args.db) as con:
        quarter = _quarter(con, args.quarter)
        progress = objective_progress(con, quarter)
        units = {d.name: d.unit.value for d in current_definitions(con)}
    if args.format == "json":
        print_json({"quarter": quarter.label, "objectives": [p.to_json() for p in progress]})
        return EXIT_OK
    if not progress:
        print("No objectives yet — add them on the Objectives page.")
        return EXIT_OK
    rows = [
        [
            p.objective.objective_id,
            p.objective.title,
            p.objective.metric,
            format_value(p.value, units.get(p.objective.metric, "")),
            format_value(p.objective.target, units.get(p.objective.metric, "")),
            p.objective.deadline.isoformat(),
            status_word(p.status),
        ]
        for p in progress
    ]
    print(f"Objectives at the end of {quarter.label}")
    print(
        text_table(["id", "title", "metric", "value", "target", "deadline", "status"], rows, {3, 4})
    )
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.metrics.catalog import current_definitions

    with store.open_db(args.db) as con:
        definitions = current_definitions(con)
    rows = [[d.ref, d.type.value, d.unit.value, d.clause, d.owner, d.label] for d in definitions]
    print(text_table(["metric", "type", "unit", "clause", "owner", "label"], rows))
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.metrics.catalog import current_definitions, definition_history
    from aims_metrics.metrics.definition_files import definition_to_yaml

    name = normalise_text(args.name) or ""
    with store.open_db(args.db) as con:
        by_name = {d.name: d for d in current_definitions(con)}
        if name not in by_name:
            raise UsageError(f"unknown metric {args.name!r}: use one of {', '.join(by_name)}")
        history = definition_history(con, name)
    print(definition_to_yaml(by_name[name]), end="")
    if history:
        print("# history:")
        for v in history:
            line = f"#   v{v.version} {v.created_at:%Y-%m-%d %H:%M} {v.author}: {v.reason or ''}"
            print(one_line(line.rstrip()))
    return EXIT_OK


def _read(path: Path) -> str | None:
    """The metric file's text; None after printing why it cannot be read (a usage error when
    there is no such file)."""
    from aims_metrics.metrics.definition_files import read_metric_file

    if not path.exists() and not path.is_symlink():
        raise UsageError(f"{path}: no such file")
    text, problems = read_metric_file(path)
    for problem in problems:
        print(f"{path}: {problem.message}")
    return text


def run_validate(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.metrics.editing import validate_metric_file

    text = _read(args.file)
    if text is None:
        return EXIT_INVALID
    with store.open_db(args.db) as con:
        problems = validate_metric_file(con, text)
    for problem in problems:
        print(problem)
    if problems:
        return EXIT_INVALID
    print(f"{args.file}: valid")
    return EXIT_OK


def run_apply(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.metrics.editing import apply_metric_file, validate_metric_file

    text = _read(args.file)
    if text is None:
        return EXIT_INVALID
    with store.open_db(args.db) as con:
        problems = validate_metric_file(con, text)
        if problems:
            for problem in problems:
                print(problem)
            return EXIT_INVALID
        saved = apply_metric_file(con, text, cli_user(), args.reason)
    if not saved:
        print("no changes: every metric matches its current version")
    for name, version in saved:
        print(f"saved {name}@{version}")
    return EXIT_OK
