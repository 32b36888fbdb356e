"""The records behind a metric in a quarter, broken down by a category column (severity, system,
business unit, …): what the Trends page charts under "Breakdown", computed here once."""

from __future__ import annotations

import duckdb
import pandas as pd

from aims_metrics.metrics.evaluate import metric_records
from aims_metrics.metrics.periods import Quarter
from aims_metrics.tables.export import table_frame

# Column → the reader's word for it, in the order the choices are offered.
BREAKDOWNS: dict[str, str] = {
    "severity": "severity",
    "category": "category",
    "system_id": "system",
    "business_unit": "business unit",
    "risk_level": "risk level",
    "finding_type": "finding type",
    "assessment_type": "assessment type",
    "protected_attribute": "protected attribute",
    "stage": "stage",
}
NUMERATOR = "in_numerator"
NONE = "(none)"


def breakdown_records(con: duckdb.DuckDBPyConnection, name: str, quarter: Quarter) -> pd.DataFrame:
    """The records behind metric `name` in `quarter`, with the system's business unit when the
    records name a system (MetricError when the metric cannot list its records)."""
    records = metric_records(con, name, quarter)
    if "system_id" in records.columns and "business_unit" not in records.columns:
        systems = table_frame(con, "systems")[["system_id", "business_unit"]]
        records = records.merge(systems, on="system_id", how="left")
    return records


def breakdown_columns(records: pd.DataFrame) -> list[str]:
    """The columns the records can be broken down by, in BREAKDOWNS order."""
    return [column for column in BREAKDOWNS if column in records.columns]


def breakdown(records: pd.DataFrame, by: str) -> pd.DataFrame:
    """Records per value of `by` (a missing value counts as "(none)"), and for ratio metrics how
    many are in the numerator; most records first, ties by name."""
    grouped = records.assign(**{by: records[by].fillna(NONE)}).groupby(by, as_index=False)
    table = grouped.size().rename(columns={"size": "records"})
    if NUMERATOR in records.columns:
        table["in numerator"] = grouped[NUMERATOR].sum()[NUMERATOR].astype(int).values
    return table.sort_values(["records", by], ascending=[False, True]).reset_index(drop=True)
