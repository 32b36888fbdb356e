"""What every command module shares: exit codes, the usage error and who runs the CLI."""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
from datetime import date
from pathlib import Path

from aims_metrics.inputs.text import control_character
from aims_metrics.vocabulary.labels import column_label

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Wrong arguments: reported on stderr with exit code 2."""


def cli_user() -> str:
    """Who runs the CLI, for import batches and the audit log."""
    return os.environ.get("AIMS_USER") or f"cli:{getpass.getuser()}"


def one_line(text: str) -> str:
    """A value printed in a table row: each control character (a line break, an escape sequence)
    written as its Python escape, so no stored value can start a forged row on the terminal."""
    if control_character(text) is None:
        return text
    return "".join(repr(c)[1:-1] if control_character(c) else c for c in text)


def text_table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """Rows as aligned text columns under a header and a rule (`right`: right-aligned columns);
    every cell on one line (one_line); headers are column labels (vocabulary.labels), as the app
    heads the same columns."""
    headers = [column_label(h) for h in headers]
    rows = [[one_line(str(cell)) for cell in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


# --- argument types: every number, date, quarter and output path is checked where it enters ----


def quarter_arg(text: str):
    """argparse type: a quarter `YYYYQn` within the accepted years (fiscal start month applied by
    the command, which knows the setting)."""
    from aims_metrics.metrics.periods import parse_quarter

    try:
        return parse_quarter(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def date_arg(text: str) -> date:
    """argparse type: an ISO date `YYYY-MM-DD` within the accepted range."""
    from aims_metrics.metrics.periods import parse_date

    try:
        return parse_date(text, "")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).strip()) from None


def int_in_range(low: int, high: int):
    """argparse type factory: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: use {low} to {high:,}")
        return value

    parse.__name__ = "whole number"
    return parse


def finite_float(low: float = -math.inf, high: float = math.inf):
    """argparse type factory: a finite number from `low` to `high` (NaN and ±inf refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value:g} is out of range: use {low:g} to {high:g}")
        return value

    parse.__name__ = "number"
    return parse


def output_path(text: str) -> Path:
    """argparse type: a file path a command may write to (checked before any work: the folder
    exists, the path is not a directory); the write itself goes through write_output_file."""
    from aims_metrics.inputs.files import FileProblem, check_output_path

    try:
        return check_output_path(text)
    except FileProblem as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def print_json(document: object) -> None:
    """Print a JSON document; NaN and ±inf become null (no value), never invalid JSON."""
    print(json_text(document))


def json_text(document: object) -> str:
    """A JSON document with non-finite numbers written as null; refuses anything else non-JSON."""
    return json.dumps(_finite(document), indent=2, allow_nan=False, default=str)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
