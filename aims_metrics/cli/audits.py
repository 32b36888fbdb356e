"""CLI: audits programme (9.2.2 coverage over the certification cycle) and readiness."""

from __future__ import annotations

import argparse

from aims_metrics.cli.common import (
    EXIT_OK,
    UsageError,
    date_arg,
    one_line,
    print_json,
    text_table,
)
from aims_metrics.tables.registry import AuditType
from aims_metrics.vocabulary.status import status_word

FORMATS = ("table", "json")


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
    programme.add_argument("--as-of", dest="as_of", type=date_arg, help="YYYY-MM-DD (default: today)")
    programme.add_argument("--type", dest="audit_type", choices=[t.value for t in AuditType])
    programme.add_argument("--format", choices=FORMATS, default="table")
    programme.set_defaults(handler=run_programme)

    readiness = subparsers.add_parser(
        "readiness", help="certification readiness: verdict, score, requirements, SoA, gaps"
    )
    readiness.add_argument("--as-of", dest="as_of", type=date_arg, help="YYYY-MM-DD (default: today)")
    readiness.add_argument("--format", choices=FORMATS, default="table")
    readiness.set_defaults(handler=run_readiness)


def run_programme(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.audits.programme import audit_programme

    as_of, start = args.as_of, args.cycle_start
    with store.open_db(args.db) as con:
        try:
            programme = audit_programme(con, as_of, start, args.audit_type)
        except ValueError as error:
            raise UsageError(str(error)) from None
    if args.format == "json":
        print_json(programme.to_json())
        return EXIT_OK
    cycle = programme.cycle
    kind = f" ({programme.audit_type} audits)" if programme.audit_type else ""
    print(f"Audit programme {cycle.start} – {cycle.end}{kind}, as of {programme.as_of}")
    rows = [[e.ref, e.title[:48], status_word(e.status), ", ".join(e.audits)] for e in programme.coverage]
    print(text_table(["ref", "title", "status", "audits"], rows))
    counts = programme.counts
    print(f"\n{counts['covered']} covered, {counts['planned']} planned, {counts['gap']} gap")
    print(f"overdue: {', '.join(programme.overdue) or 'none'}")
    print(f"independence conflicts: {', '.join(programme.independence_conflicts) or 'none'}")
    orphans = programme.findings_without_audit
    print(f"findings without audit: {len(orphans)}{': ' + ', '.join(orphans[:10]) if orphans else ''}")
    return EXIT_OK


def run_readiness(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.audits.readiness import readiness

    as_of = args.as_of
    with store.open_db(args.db) as con:
        try:
            result = readiness(con, as_of)
        except ValueError as error:
            raise UsageError(str(error)) from None
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
