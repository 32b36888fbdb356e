"""CSV export that is safe to open in a spreadsheet (no formula injection)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pandas as pd

from aims_metrics.tables.registry import table_spec

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A DataFrame as UTF-8 CSV with every text cell neutralised against formula injection."""
    cleaned = frame.copy()
    for column in cleaned.columns:
        if cleaned[column].dtype == object or pd.api.types.is_string_dtype(cleaned[column]):
            cleaned[column] = cleaned[column].map(neutralise_cell)
    cleaned.columns = [str(neutralise_cell(str(c))) for c in cleaned.columns]
    buffer = io.StringIO()
    cleaned.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def table_frame(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """All rows of a data table in registry column order, sorted by primary key."""
    spec = table_spec(table)
    columns = ", ".join(spec.column_names)
    return con.execute(f"SELECT {columns} FROM {spec.name} ORDER BY {spec.primary_key}").df()


def export_table(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> int:
    """Write a data table to a formula-safe CSV file; returns the row count."""
    frame = table_frame(con, table)
    out.write_bytes(safe_csv_bytes(frame))
    return len(frame)
