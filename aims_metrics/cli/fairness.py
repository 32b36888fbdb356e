"""CLI: fairness evaluate (predictions → bias tests), fairness policy show | set."""

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
    finite_float,
    int_in_range,
    one_line,
    print_json,
)
from aims_metrics.performance.fairness_policy import rule_symbol
from aims_metrics.vocabulary.wording import count_of

STAGES = ("pre_deployment", "production")


def register(subparsers: argparse._SubParsersAction) -> None:
    fairness = subparsers.add_parser("fairness", help="evaluate a model's predictions for bias")
    commands = fairness.add_subparsers(dest="fairness_command", required=True, metavar="COMMAND")

    ev = commands.add_parser(
        "evaluate", help="per-group rates and disparities; saved as bias tests"
    )
    ev.add_argument("file", type=Path, help="predictions CSV or XLSX")
    ev.add_argument("--system", required=True, help="system_id of the AI system")
    ev.add_argument("--model-version", required=True)
    ev.add_argument("--stage", required=True, choices=STAGES)
    ev.add_argument("--y-true", required=True, metavar="COL", help="column of true labels")
    ev.add_argument("--y-pred", metavar="COL", help="column of predicted labels")
    ev.add_argument("--score", metavar="COL", help="column of scores (with --cutoff)")
    ev.add_argument(
        "--cutoff", type=finite_float(), metavar="X", help="predicted positive when score ≥ X"
    )
    ev.add_argument(
        "--sensitive",
        action="append",
        required=True,
        metavar="COL",
        help="sensitive attribute; repeat for more; COL1*COL2 for an intersection",
    )
    ev.add_argument("--positive-label", metavar="L", help="the positive class when not 0/1")
    ev.add_argument(
        "--min-group-size",
        type=int_in_range(1, 1_000_000_000),
        default=None,
        metavar="N",
        help="groups with fewer rows are left out of the disparities (default 30)",
    )
    ev.add_argument(
        "--executed-on", metavar="DATE", type=date_arg, help="date of the test (default today)"
    )
    ev.add_argument(
        "--sheet", default=None, help="XLSX sheet name (default: the first visible sheet)"
    )
    ev.add_argument("--dry-run", action="store_true", help="evaluate and print; write nothing")
    ev.add_argument("--format", choices=("table", "json"), default="table")
    ev.set_defaults(handler=run_evaluate)

    policy = commands.add_parser("policy", help="the thresholds bias tests are held to")
    actions = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="the current policy and its history")
    show.add_argument("--format", choices=("table", "json"), default="table")
    show.set_defaults(handler=run_policy_show)
    edit = actions.add_parser("set", help="save a new policy version")
    edit.add_argument("assignments", nargs="+", metavar="METRIC=THRESHOLD")
    edit.add_argument("--reason", required=True, help="why the policy changes (kept with it)")
    edit.set_defaults(handler=run_policy_set)


def _request(args: argparse.Namespace):
    from aims_metrics.performance.fairness import DEFAULT_MIN_GROUP_SIZE
    from aims_metrics.performance.fairness_input import PredictionColumns
    from aims_metrics.performance.fairness_store import RunIdentity

    try:
        columns = PredictionColumns(
            y_true=args.y_true,
            sensitive=tuple(args.sensitive),
            y_pred=args.y_pred,
            score=args.score,
            cutoff=args.cutoff,
            positive_label=args.positive_label,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    executed_on = args.executed_on or date.today()
    min_size = DEFAULT_MIN_GROUP_SIZE if args.min_group_size is None else args.min_group_size
    if not args.file.exists():
        raise UsageError(f"{args.file}: no such file")
    identity = RunIdentity(args.system, args.model_version, args.stage, executed_on)
    if (problem := identity.problem()) is not None:
        flag = {"system_id": "--system"}.get(problem[0], "--" + problem[0].replace("_", "-"))
        raise UsageError(f"{flag}: {problem[1]}")
    return columns, identity, min_size


def run_evaluate(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.performance.fairness import EvaluationRejected
    from aims_metrics.performance.fairness_input import PredictionsRejected
    from aims_metrics.performance.fairness_store import evaluate_file

    columns, identity, min_size = _request(args)
    with store.open_db(args.db) as con:
        try:
            run, counts = evaluate_file(
                con,
                args.file,
                columns,
                identity,
                cli_user(),
                file_name=str(args.file),
                sheet=args.sheet,
                min_group_size=min_size,
                dry_run=args.dry_run,
            )
        except PredictionsRejected as rejected:
            for problem in rejected.problems:
                print(problem, file=sys.stderr)
            print(
                f"{count_of(len(rejected.problems), 'error')}: nothing evaluated", file=sys.stderr
            )
            return EXIT_INVALID
        except EvaluationRejected as error:
            print(f"{args.file}:1: {error}", file=sys.stderr)
            print("nothing evaluated", file=sys.stderr)
            return EXIT_INVALID
    for warning in run.evaluation.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    result = run.as_json()
    if args.format == "json":
        print_json(result)
    else:
        _print_tables(result)
    prefix = "dry run: nothing saved" if counts is None else f"bias tests saved: {counts}"
    print(f"{prefix} ({run.policy.ref})", file=sys.stderr)
    return EXIT_OK


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _print_tables(result: dict) -> None:
    print(
        f"{'attribute':<18} {'group':<24} {'n':>8}  {'sel':>6} {'fpr':>6} {'fnr':>6} "
        f"{'tpr':>6} {'acc':>6}"
    )
    for g in result["groups"]:
        flag = "  (insufficient)" if g["insufficient"] else ""
        rates = " ".join(
            f"{_number(g[r]):>6}"
            for r in (
                "selection_rate",
                "false_positive_rate",
                "false_negative_rate",
                "true_positive_rate",
                "accuracy",
            )
        )
        print(
            f"{one_line(g['attribute']):<18} {one_line(g['group']):<24} {g['n']:>8}  {rates}{flag}"
        )
    print()
    print(f"{'attribute':<18} {'metric':<32} {'value':>7} {'threshold':>9}  result")
    for t in result["tests"]:
        word = "✓ pass" if t["passed"] else "✗ FAIL"
        print(
            f"{one_line(t['protected_attribute']):<18} {t['metric']:<32} {_number(t['value']):>7} "
            f"{t['threshold']:>9.3f}  {word}"
        )


def run_policy_show(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.performance.fairness_policy import policy_history

    with store.open_db(args.db) as con:
        history = policy_history(con)
    current = history[-1]
    if args.format == "json":
        print_json(
            {
                "version": current.version,
                "thresholds": current.thresholds.model_dump(),
                "history": [
                    {
                        "version": v.version,
                        "author": v.author,
                        "reason": v.reason,
                        "created_at": v.created_at.isoformat() if v.created_at else None,
                        "thresholds": v.thresholds.model_dump(),
                    }
                    for v in history
                ],
            }
        )
        return EXIT_OK
    print(f"{current.ref} ({one_line(current.author)}: {one_line(current.reason or '')})")
    for metric, threshold in current.thresholds.model_dump().items():
        rule = rule_symbol(metric)
        print(f"  {metric:<32} {rule} {threshold}")
    return EXIT_OK


def run_policy_set(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.performance.fairness_policy import PolicyError, current_policy, save_policy

    changes: dict[str, object] = {}
    for item in args.assignments:
        metric, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"expected METRIC=THRESHOLD, got {item!r}")
        changes[metric.strip()] = value.strip()
    with store.open_db(args.db) as con:
        thresholds = current_policy(con).thresholds.model_dump() | changes
        try:
            saved = save_policy(con, thresholds, cli_user(), args.reason)
        except PolicyError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_INVALID
    print(f"{saved.ref} is current")
    return EXIT_OK
