"""CLI: minutes (the quarterly management review minutes PDF)."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from aims_metrics.cli.common import EXIT_INVALID, EXIT_OK, UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    minutes = subparsers.add_parser(
        "minutes",
        help="write the management review minutes PDF of a quarter",
        description="The latest revision's minutes: the archived PDF of a finalised review, "
        "else a draft rendered from the review record and the data (a draft pack with the "
        "assembled inputs when no review record exists yet).",
    )
    minutes.add_argument("--quarter", required=True, help="e.g. 2025Q3")
    minutes.add_argument("--out", type=Path, required=True, help="PDF file to write")
    minutes.add_argument(
        "--revision", type=int, default=None, help="the archived PDF of this finalised revision"
    )
    minutes.set_defaults(handler=run_minutes)


def run_minutes(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.metrics.periods import parse_quarter
    from aims_metrics.review import models, records
    from aims_metrics.review.minutes import render_minutes

    try:
        quarter = parse_quarter(args.quarter)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.out.exists() and args.out.is_dir():
        raise UsageError(f"{args.out} is a directory: give a file name, e.g. minutes.pdf")
    with store.open_db(args.db) as con:
        record = records.get_review(con, quarter)
        archived = None
        if args.revision is not None:
            archived = records.archived_minutes(con, quarter, args.revision)
            if archived is None:
                print(
                    f"error: revision {args.revision} of the review of {quarter} is not finalised",
                    file=sys.stderr,
                )
                return EXIT_INVALID
        elif record is not None and record.is_final:
            archived = records.archived_minutes(con, quarter, record.revision)
        if archived is not None:
            if not archived.intact:
                print(
                    f"error: the archived minutes {archived.document_id} do not match their "
                    "recorded sha256",
                    file=sys.stderr,
                )
                return EXIT_INVALID
            pdf, what = archived.pdf, f"final {archived.document_id} (archived)"
        else:
            pdf = render_minutes(con, quarter)
            what = f"draft {models.document_id(quarter, record.revision if record else None)}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(pdf)
    print(f"wrote {args.out}: {what}, sha256 {hashlib.sha256(pdf).hexdigest()}")
    return EXIT_OK
