"""CLI: minutes (the quarterly management review minutes PDF)."""

from __future__ import annotations

import argparse
import hashlib
import sys

from aims_metrics.cli.common import EXIT_INVALID, EXIT_OK, int_in_range, output_path, quarter_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    minutes = subparsers.add_parser(
        "minutes",
        help="write the management review minutes PDF of a quarter",
        description="The latest revision's minutes: the archived PDF of a finalised review, "
        "else a draft rendered from the review record and the data (a draft pack with the "
        "assembled inputs when no review record exists yet).",
    )
    minutes.add_argument("--quarter", type=quarter_arg, required=True, help="e.g. 2025Q3")
    minutes.add_argument("--out", type=output_path, required=True, help="PDF file to write")
    minutes.add_argument(
        "--revision",
        type=int_in_range(1, 1_000_000),
        default=None,
        help="the archived PDF of this finalised revision",
    )
    minutes.set_defaults(handler=run_minutes)


def run_minutes(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.inputs.files import FileProblem, write_output_file
    from aims_metrics.review import models, records
    from aims_metrics.review.minutes import render_minutes

    quarter = args.quarter
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
    try:
        write_output_file(args.out, pdf)
    except FileProblem as error:  # the disk is full, the folder went away…: nothing written
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    print(f"wrote {args.out}: {what}, sha256 {hashlib.sha256(pdf).hexdigest()}")
    return EXIT_OK
