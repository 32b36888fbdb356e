"""CLI: audits programme (9.2.2 coverage over the certification cycle) and readiness."""

from __future__ import annotations

import argparse
import hashlib
import sys
from datetime import date
from pathlib import Path

from aims_metrics.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    date_arg,
    one_line,
    output_path,
    print_json,
    text_table,
)
from aims_metrics.tables.registry import AuditType
from aims_metrics.vocabulary.status import status_word

AS_OF_HELP = "YYYY-MM-DD (default: the end of the latest complete quarter, as on the app's pages)"

FORMATS = ("table", "json")
PLAN_SUFFIXES = (".pdf", ".csv")


def plan_path(text: str) -> Path:
    """argparse type: a writable .pdf or .csv path (the suffix chooses the format)."""
    if Path(text).suffix.lower() not in PLAN_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"{text!r} must end in .pdf or .csv (the suffix chooses the plan's format)"
        )
    return output_path(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    audits = subparsers.add_parser("audits", help="the internal audit programme (9.2)")
    actions = audits.add_subparsers(dest="audits_command", required=True, metavar="ACTION")
    programme = actions.add_parser(
        "programme",
        help="coverage of the clauses and controls over the cycle, overdue audits, conflicts",
        description="Every audit type counts unless --type narrows it. The cycle is three years "
        "from --cycle-start (default: the audit_cycle_start setting, else 1 January of the "
        "as-of year).",
    )
    programme.add_argument("--cycle-start", dest="cycle_start", type=date_arg, help="YYYY-MM-DD")
    programme.add_argument("--as-of", dest="as_of", type=date_arg, help=AS_OF_HELP)
    programme.add_argument("--type", dest="audit_type", choices=[t.value for t in AuditType])
    programme.add_argument("--format", choices=FORMATS, default="table")
    programme.set_defaults(handler=run_programme)

    plan = actions.add_parser(
        "plan",
        help="write the audit plan of the cycle as a PDF or a CSV file",
        description="The audit plan the Audit programme page downloads: the suffix of --out "
        "chooses PDF or CSV.",
    )
    plan.add_argument("--out", type=plan_path, required=True, help="FILE.pdf or FILE.csv")
    plan.add_argument("--cycle-start", dest="cycle_start", type=date_arg, help="YYYY-MM-DD")
    plan.add_argument("--as-of", dest="as_of", type=date_arg, help=AS_OF_HELP)
    plan.add_argument("--type", dest="audit_type", choices=[t.value for t in AuditType])
    plan.set_defaults(handler=run_plan)

    readiness = subparsers.add_parser(
        "readiness", help="certification readiness: verdict, score, requirements, SoA, gaps"
    )
    readiness.add_argument("--as-of", dest="as_of", type=date_arg, help=AS_OF_HELP)
    readiness.add_argument("--format", choices=FORMATS, default="table")
    readiness.add_argument(
        "--pdf", type=output_path, metavar="FILE", help="write the readiness report PDF instead"
    )
    readiness.add_argument(
        "--blockers-csv",
        dest="blockers_csv",
        type=output_path,
        metavar="FILE",
        help="write every blocker (kind, id, clause, open since, description) as CSV instead",
    )
    readiness.set_defaults(handler=run_readiness)


def _write(path: Path, data: bytes, what: str) -> int:
    from aims_metrics.inputs.files import FileProblem, write_output_file

    try:
        write_output_file(path, data)
    except FileProblem as error:  # the disk is full, the folder went away…: nothing written
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    print(f"wrote {path}: {what}, sha256 {hashlib.sha256(data).hexdigest()}")
    return EXIT_OK


def _as_of(con, args: argparse.Namespace) -> date:
    """`--as-of`, else the end of the latest complete quarter: the day the app's pages use."""
    from aims_metrics.metrics.as_of import resolve_quarter

    return args.as_of or resolve_quarter(con, None).as_of


def run_plan(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.audits.plan_pdf import render_plan_csv, render_plan_pdf

    render = render_plan_pdf if args.out.suffix.lower() == ".pdf" else render_plan_csv
    with store.open_db(args.db) as con:
        try:
            data = render(con, _as_of(con, args), args.cycle_start, args.audit_type)
        except ValueError as error:
            raise UsageError(str(error)) from None
    return _write(args.out, data, "audit plan")


def run_programme(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.audits.programme import audit_programme

    with store.open_db(args.db) as con:
        try:
            programme = audit_programme(con, _as_of(con, args), args.cycle_start, args.audit_type)
        except ValueError as error:
            raise UsageError(str(error)) from None
    if args.format == "json":
        print_json(programme.to_json())
        return EXIT_OK
    cycle = programme.cycle
    kind = f" ({programme.audit_type} audits)" if programme.audit_type else ""
    print(f"Audit programme {cycle.start} – {cycle.end}{kind}, as of {programme.as_of}")
    rows = [
        [e.ref, e.title[:48], status_word(e.status), ", ".join(e.audits)]
        for e in programme.coverage
    ]
    print(text_table(["ref", "title", "status", "audits"], rows))
    counts = programme.counts
    print(f"\n{counts['covered']} covered, {counts['planned']} planned, {counts['gap']} gap")
    print(f"overdue: {', '.join(programme.overdue) or 'none'}")
    print(f"independence conflicts: {', '.join(programme.independence_conflicts) or 'none'}")
    orphans = programme.findings_without_audit
    print(
        f"findings without audit: {len(orphans)}{': ' + ', '.join(orphans[:10]) if orphans else ''}"
    )
    return EXIT_OK


def run_readiness(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.audits.readiness import blockers_csv, readiness
    from aims_metrics.audits.report_pdf import render_readiness_report

    if args.pdf is not None and args.blockers_csv is not None:
        raise UsageError("write the report (--pdf) or the blockers (--blockers-csv), not both")
    with store.open_db(args.db) as con:
        as_of = _as_of(con, args)
        try:
            if args.pdf is not None:
                pdf = render_readiness_report(con, as_of)
            else:
                result = readiness(con, as_of)
        except ValueError as error:
            raise UsageError(str(error)) from None
    if args.pdf is not None:
        return _write(args.pdf, pdf, "readiness report")
    if args.blockers_csv is not None:
        return _write(args.blockers_csv, blockers_csv(result), "readiness blockers")
    if args.format == "json":
        print_json(result.to_json())
        return EXIT_OK
    print(f"{result.verdict_words} (score {result.score:.0%}) as of {result.as_of}")
    rows = [[r.ref, r.title[:48], status_word(r.status), r.source] for r in result.requirements]
    print(text_table(["ref", "title", "status", "source"], rows))
    soa = result.soa
    print(
        f"\nSoA: {soa['applicable']} applicable, {soa['excluded']} excluded; {soa['implemented']} "
        f"implemented, {soa['partial']} partial, {soa['not_started']} not started"
    )
    for blocker in result.blockers:
        print(f"blocker: {blocker.kind} {one_line(blocker.id)}: {one_line(blocker.text)}")
    print(f"gaps in the register: {len(result.gaps)}")
    return EXIT_OK
