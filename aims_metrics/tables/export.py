"""CSV that is safe to open in a spreadsheet: the one writer of every CSV the product produces.

Table exports, the audit plan, the gap register, drill-down and review downloads, fairness results
and the import error table all come through `safe_csv_bytes`, so two rules hold everywhere:

- every cell that holds a CR, an LF, the delimiter or a quote is quoted (rows end in CRLF, and
  Python's csv writer quotes any cell holding a character of the row terminator, so a lone CR
  cannot start a new row in a reader), and
- text that a spreadsheet would run as a formula is neutralised with a leading apostrophe, at the
  start of the cell and at every line start inside it (after each CR or LF).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import pandas as pd

from aims_metrics.inputs.files import write_output_file
from aims_metrics.tables.registry import table_spec

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DELIMITER = ","
ROW_TERMINATOR = "\r\n"

# A line start inside a cell (after CR or LF) followed by a formula character.
_FORMULA_AFTER_LINE_BREAK = re.compile(r"(?<=[\r\n])(?=[=+\-@\t\r])")


def neutralise_cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula, at its start or after any line break
    inside it, prefixed there with an apostrophe; other values unchanged."""
    if not isinstance(value, str):
        return value
    value = _FORMULA_AFTER_LINE_BREAK.sub("'", value)
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A DataFrame as UTF-8 CSV: every text cell and header neutralised, every cell holding a
    line break, the delimiter or a quote quoted, rows ending in CRLF."""
    cleaned = frame.copy()
    for column in cleaned.columns:
        values = cleaned[column]
        if not (
            pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)
        ):  # text in any dtype: object, string, category
            cleaned[column] = values.astype(object).map(neutralise_cell)
    cleaned.columns = [str(neutralise_cell(str(c))) for c in cleaned.columns]
    buffer = io.StringIO()
    cleaned.to_csv(
        buffer, index=False, sep=DELIMITER, quoting=csv.QUOTE_MINIMAL, lineterminator=ROW_TERMINATOR
    )
    return buffer.getvalue().encode("utf-8")


def table_frame(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """All rows of a data table in registry column order, sorted by primary key."""
    spec = table_spec(table)
    columns = ", ".join(spec.column_names)
    return con.execute(f"SELECT {columns} FROM {spec.name} ORDER BY {spec.primary_key}").df()


def export_table(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> int:
    """Write a data table to a formula-safe CSV file, all or nothing; returns the row count."""
    frame = table_frame(con, table)
    write_output_file(out, safe_csv_bytes(frame))
    return len(frame)
