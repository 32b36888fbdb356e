"""What needs attention in a quarter: red KPIs, overdue major nonconformities, overdue impact
assessments — one list, built here for the Overview (and any report that wants it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from aims_metrics.metrics.evaluate import kpis_for_quarter, metric_records
from aims_metrics.metrics.formatting import format_value
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.status import KpiResult, KpiStatus
from aims_metrics.performance.aging import open_findings
from aims_metrics.tables.registry import FindingType

OVERDUE_ASSESSMENTS_METRIC = "assessments_overdue"


@dataclass(frozen=True)
class AttentionItem:
    """One line of the list: what kind of thing, which one, the detail and days overdue."""

    what: str
    item: str
    detail: str
    days_overdue: int | None = None

    def as_row(self) -> dict[str, object]:
        return {
            "what": self.what,
            "item": self.item,
            "days overdue": self.days_overdue,
            "detail": self.detail,
        }


def red_kpis(kpis: list[KpiResult]) -> list[AttentionItem]:
    """A line per red KPI, with its value and target."""
    return [
        AttentionItem(
            "Red KPI",
            kpi.label,
            f"{format_value(kpi.value, kpi.unit)} (target {format_value(kpi.target, kpi.unit)})",
        )
        for kpi in kpis
        if kpi.status == KpiStatus.RED
    ]


def overdue_major_nonconformities(
    con: duckdb.DuckDBPyConnection, as_of: date
) -> list[AttentionItem]:
    """Major nonconformities open and past their due date at `as_of`, most overdue first."""
    findings = open_findings(con, as_of, finding_types=[FindingType.MAJOR_NC.value])
    if findings.empty:
        return []
    overdue = findings[findings["overdue"]].sort_values("days_overdue", ascending=False)
    return [
        AttentionItem(
            "Overdue major nonconformity",
            f"{row.finding_id} ({row.clause_ref})",
            f"owner {row.owner or 'unassigned'}, due {pd.Timestamp(row.due_on):%Y-%m-%d}",
            int(row.days_overdue),
        )
        for row in overdue.itertuples()
    ]


def overdue_assessments(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, as_of: date, metric_names: set[str]
) -> list[AttentionItem]:
    """The records behind the overdue-assessments KPI, when the catalog has it."""
    if OVERDUE_ASSESSMENTS_METRIC not in metric_names:
        return []
    records = metric_records(con, OVERDUE_ASSESSMENTS_METRIC, quarter)
    return [
        AttentionItem(
            "Overdue assessment",
            f"{row.assessment_id} ({row.assessment_type}, {row.system_id})",
            f"due {pd.Timestamp(row.due_on):%Y-%m-%d}, status {row.status}",
            (pd.Timestamp(as_of) - pd.Timestamp(row.due_on)).days,
        )
        for row in records.itertuples()
    ]


def needs_attention(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, as_of: date
) -> list[AttentionItem]:
    """Red KPIs of `quarter`, then overdue major NCs and overdue assessments at `as_of`."""
    kpis = kpis_for_quarter(con, quarter)
    return [
        *red_kpis(kpis),
        *overdue_major_nonconformities(con, as_of),
        *overdue_assessments(con, quarter, as_of, {kpi.name for kpi in kpis}),
    ]


def needs_attention_frame(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, as_of: date
) -> pd.DataFrame:
    """`needs_attention` as a table (what, item, days overdue, detail: the reader's order)."""
    return pd.DataFrame(
        [item.as_row() for item in needs_attention(con, quarter, as_of)],
        columns=["what", "item", "days overdue", "detail"],
    )
