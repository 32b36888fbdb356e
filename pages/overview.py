"""Overview: the state of the AI management system for the chosen quarter, at a glance."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aims_metrics.auth import Action
from aims_metrics.metrics import compiler, completeness, evaluate, status
from aims_metrics.metrics.formatting import readable_description
from aims_metrics.performance import attention, objectives
from pages import _ui

_ui.require(Action.VIEW_DASHBOARDS)

point = _ui.evaluation_point()
quarter = point.quarter
quarters = _ui.trend_quarters(8)
st.title(f"Overview — {quarter.label}")
st.caption(
    f"{_ui.plain(_ui.setting('organisation_name'))} · {point.describe()} · "
    f"status: {_ui.status_word('green')} on target, {_ui.status_word('amber')} watch, "
    f"{_ui.status_word('red')} act now, {_ui.status_word('no_data')}"
)

series: dict[str, list[status.KpiResult]] = _ui.query(evaluate.catalog_series, quarters)
current = [results[-1] for results in series.values()]
complete = _ui.query(completeness.metric_completeness, [quarter])  # provisional or stale figures

if not current:
    _ui.empty_state("No metrics are defined yet. An analyst can add them on Metric definitions.")
    st.stop()
if all(kpi.value is None for kpi in current):
    _ui.empty_state(
        f"No data for {quarter.label} yet. A governance lead can load CSV or XLSX exports on "
        "Data import (start with systems, then incidents, assessments, bias tests and findings)."
    )


def delta_text(kpi: status.KpiResult) -> str | None:
    if kpi.value is None or kpi.previous_value is None:
        return None
    change = kpi.value - kpi.previous_value
    if abs(change) < 1e-9:
        return "no change vs previous quarter"
    if kpi.unit == "percent":
        return f"{change * 100:+.1f} pts vs previous quarter"
    if kpi.unit == "days":
        return f"{change:+.1f} d vs previous quarter"
    return f"{change:+,.0f} vs previous quarter"


COLUMNS = 4
for start in range(0, len(current), COLUMNS):
    columns = st.columns(COLUMNS)
    for column, kpi in zip(columns, current[start : start + COLUMNS], strict=False):
        history = [r.value for r in series[kpi.name] if r.value is not None]
        with column, st.container(border=True, key=f"kpi_card_{kpi.name}"):
            st.metric(
                _ui.plain(kpi.label),
                _ui.format_value(kpi.value, kpi.unit),
                delta=delta_text(kpi),
                delta_color=(
                    "off"
                    if kpi.previous_value == kpi.value
                    else "normal"
                    if kpi.direction == "higher_is_better"
                    else "inverse"
                ),
                delta_arrow="off" if kpi.previous_value == kpi.value else "auto",
                chart_data=history if len(history) > 1 else None,
                help=_ui.plain(readable_description(kpi.description)),
            )
            target = _ui.format_value(kpi.target, kpi.unit) if kpi.target is not None else "none"
            st.markdown(
                f"{_ui.status_badge(kpi.status)} &nbsp; target {target}",
                unsafe_allow_html=True,
            )
            span = f" · {kpi.window_note}" if kpi.window_note else ""
            st.caption(
                f"`{kpi.ref}` · clause {_ui.plain(kpi.clause)} · {_ui.plain(kpi.owner)}{span}"
            )
            if kpi.problem:
                st.caption(f"Not computed: {_ui.plain(kpi.problem)}")
            found = complete.get(kpi.name, {}).get(quarter.label)
            if found and found.mark:
                newest = f"; newest record {found.newest_record}" if found.newest_record else ""
                reason = "; ".join(found.notes) or "source data is old"
                st.caption(f"**{found.mark}**: {_ui.plain(reason + newest)}")


def objectives_table(progress: list[objectives.ObjectiveProgress]) -> pd.DataFrame:
    """What a reader needs first: status, the objective, progress and value against target."""
    units = {kpi.name: kpi.unit for kpi in current}
    labels = {kpi.name: kpi.label for kpi in current}
    return pd.DataFrame(
        [
            {
                "Status": _ui.status_word(p.status.value),
                "Objective": p.objective.title,
                "Progress": p.progress,
                "Value": _ui.format_value(p.value, units.get(p.objective.metric, "")),
                "Target": _ui.format_value(p.objective.target, units.get(p.objective.metric, "")),
                "Deadline": p.objective.deadline,
                "Metric": labels.get(p.objective.metric, p.objective.metric),
            }
            for p in progress
        ]
    )


st.divider()
st.subheader("Objectives")
progress = _ui.query(objectives.objective_progress, quarter)
if not progress:
    _ui.empty_state("No objectives yet. A governance lead can add them on Objectives.")
else:
    table = objectives_table(progress)
    _ui.show_table(
        table,
        hide_index=True,
        key="overview_objectives",
        height=_ui.table_height(len(table)),
        column_config={
            "Objective": st.column_config.TextColumn(width="large"),
            "Progress": st.column_config.ProgressColumn(
                "Progress", min_value=0.0, max_value=1.0, format="percent"
            ),
        },
    )

st.subheader("Needs attention")
items = _ui.query(attention.needs_attention_frame, quarter, point.as_of)
if items.empty:
    st.success("Nothing needs attention: no red KPIs and nothing overdue.")
else:
    shown = items.rename(columns=lambda c: c.capitalize())
    shown["Days overdue"] = shown["Days overdue"].map(lambda d: "" if pd.isna(d) else f"{int(d):,}")
    _ui.paged_table(  # every overdue nonconformity: thousands at enterprise scale
        shown,
        key="overview_attention",
        file_name=f"needs-attention-{quarter.label}.csv",
        column_config={"Detail": st.column_config.TextColumn(width="large")},
    )


def records_behind_a_kpi() -> None:
    """The records behind one KPI, loaded on request and a page at a time (27,000 incidents
    behind one card at enterprise scale stay on the server; the CSV holds them all)."""
    st.subheader("Records behind a KPI")
    if not st.toggle("Show the records behind a KPI", key="overview_drilldown_show"):
        st.caption("Choose a KPI to list the records its figure counts, with a CSV download.")
        return
    labels = {kpi.name: kpi.label for kpi in current}
    chosen = st.selectbox(
        "KPI", list(labels), format_func=lambda name: labels[name], key="overview_drilldown_metric"
    )
    if not chosen:
        return
    try:
        records = _ui.query(evaluate.metric_records, chosen, quarter)
    except compiler.MetricError as error:
        st.warning(f"These records cannot be listed: {error}")
        return
    if records.empty:
        _ui.empty_state(f"No records behind {labels[chosen]} in {quarter.label}.")
        return
    st.caption(f"{len(records):,} records behind {labels[chosen]} in {quarter.label}")
    shown = _ui.paged_table(
        records, key="overview_drilldown", file_name=f"{chosen}-{quarter.label}.csv"
    )
    if "test_id" in records.columns:  # bias KPIs: the per-group rates behind the tests shown
        _ui.fairness_drilldown(shown["test_id"].tolist(), "overview_drilldown")


st.divider()
records_behind_a_kpi()
