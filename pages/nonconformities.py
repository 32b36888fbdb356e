"""Nonconformities: aging buckets by finding type, overdue list, open-count trend, filters."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from aims_metrics.auth import Action
from aims_metrics.performance import aging
from aims_metrics.vocabulary.findings import FINDING_TYPES
from aims_metrics.vocabulary.wording import count_of, day
from pages import _ui

_ui.require(Action.VIEW_DASHBOARDS)

point = _ui.evaluation_point()
as_of = point.as_of
st.title(f"Nonconformities — open at {day(as_of)}")
st.caption(point.describe())

report = _ui.query(aging.aging_report, as_of)
everything = _ui.query(aging.open_findings, as_of)
if report.open_total == 0 and everything.empty:
    _ui.empty_state(
        f"No findings open at {day(as_of)}. A governance lead can import findings.csv on "
        "Data import, or choose another quarter in the sidebar."
    )

# Say which count: nonconformities (as the Overview's KPI) first, then every open finding.
ncs, overdue_ncs, total, overdue = st.columns(4)
ncs.metric(
    "Open nonconformities",
    f"{report.open_nonconformities:,}",
    help="Major and minor nonconformities open at the date (as on the Overview).",
    border=True,
)
overdue_ncs.metric("Overdue nonconformities", f"{report.overdue_nonconformities:,}", border=True)
total.metric(
    "Open findings of all types",
    f"{report.open_total:,}",
    help="Nonconformities, observations and opportunities for improvement.",
    border=True,
)
overdue.metric("Overdue findings of all types", f"{report.overdue:,}", border=True)

TYPES = list(FINDING_TYPES)
buckets = pd.DataFrame([b.model_dump() for b in report.buckets])
chart_column, trend_column = st.columns(2)
with chart_column:
    figure = go.Figure(
        [
            go.Bar(
                x=buckets["bucket"],
                y=buckets[kind],
                name=_ui.finding_type_title(kind),
                marker_color=_ui.finding_type_colour(kind),
            )
            for kind in TYPES
            if kind in buckets
        ]
    )
    figure.update_layout(
        title=f"Open findings by age and type at {day(as_of)}",
        barmode="stack",
        xaxis_title="age (days since raised)",
        xaxis={"categoryorder": "array", "categoryarray": list(buckets["bucket"])},
    )
    stacked = buckets[[kind for kind in TYPES if kind in buckets]].sum(axis=1)
    _ui.count_axis(figure, "open findings (count)", stacked.max() if len(stacked) else 0)
    _ui.chart(figure, key="nc_aging_chart")
with trend_column:
    trend = _ui.query(aging.open_nonconformity_trend, _ui.trend_quarters(8))
    trend_frame = pd.DataFrame(
        {"quarter end": [q.label for q, _ in trend], "open nonconformities": [n for _, n in trend]}
    )
    line = go.Figure(
        go.Scatter(
            x=trend_frame["quarter end"],
            y=trend_frame["open nonconformities"],
            mode="lines+markers",
            line={"width": 3},
            marker={"size": 9},
        )
    )
    line.update_layout(
        title="Open nonconformities (major and minor) at each quarter end", xaxis_title="quarter"
    )
    _ui.count_axis(
        line, "open nonconformities (count)", trend_frame["open nonconformities"].max() or 0
    )
    _ui.chart(line, key="nc_trend_chart")

st.subheader("Open findings")
filters = st.columns(4)
types = filters[0].multiselect(
    "Finding type", TYPES, format_func=_ui.finding_type_title, key="nc_filter_type"
)


def options(column: str) -> list[str]:
    if everything.empty or column not in everything:
        return []
    return sorted(str(v) for v in everything[column].dropna().unique())


owner = filters[1].selectbox(
    "Owner", options("owner"), index=None, placeholder="any", key="nc_filter_owner"
)
clause = filters[2].selectbox(
    "Clause", options("clause_ref"), index=None, placeholder="any", key="nc_filter_clause"
)
audit = filters[3].selectbox(
    "Audit", options("audit_id"), index=None, placeholder="any", key="nc_filter_audit"
)
findings = _ui.query(
    aging.open_findings,
    as_of,
    finding_types=types or None,
    owner=owner,
    clause_ref=clause,
    audit_id=audit,
)
overdue_only = st.toggle("Overdue only", key="nc_filter_overdue")
if overdue_only and not findings.empty:
    findings = findings[findings["overdue"]]
if findings.empty:
    _ui.empty_state("No open findings match these filters.")
else:
    findings = findings.sort_values(
        ["overdue", "days_overdue", "age_days"], ascending=[False, False, False]
    )
    shown = [
        c
        for c in (
            "finding_id",
            "finding_type",
            "clause_ref",
            "audit_id",
            "owner",
            "raised_on",
            "due_on",
            "age_days",
            "bucket",
            "days_overdue",
            "overdue",
            "status",
            "description",
        )
        if c in findings.columns
    ]
    st.caption(f"{count_of(len(findings), 'open finding')}, overdue first and oldest first")
    _ui.paged_table(findings[shown], key="nc", file_name=f"open-findings-{as_of:%Y-%m-%d}.csv")
