"""Trends: any metric over eight or more quarters, with target line, threshold bands, breakdowns."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from aims_metrics.auth import Action
from aims_metrics.metrics import breakdown, compiler, completeness, evaluate, status
from aims_metrics.metrics.formatting import readable_description
from pages import _ui

_ui.require(Action.VIEW_DASHBOARDS)

st.title("Trends")
quarter = _ui.selected_quarter()

left, right = st.columns([3, 1])
count = right.slider("Quarters", 8, 16, 8, key="trends_quarters")
quarters = _ui.trend_quarters(count)
series: dict[str, list[status.KpiResult]] = _ui.query(evaluate.catalog_series, quarters)
if not series:
    _ui.empty_state("No metrics are defined yet. An analyst can add them on Metric definitions.")
    st.stop()
labels = {name: results[-1].label for name, results in series.items()}
name = left.selectbox("Metric", list(labels), format_func=lambda n: labels[n], key="trends_metric")
results = series[name]
latest = results[-1]
scale = 100.0 if latest.unit == "percent" else 1.0
axis_title = {"percent": "percent", "days": "days", "count": "count"}.get(latest.unit, "")

st.caption(
    f"{_ui.plain(readable_description(latest.description))}  \n`{latest.ref}` · clause {_ui.plain(latest.clause)} · "
    f"owner {_ui.plain(latest.owner)} · {latest.direction.replace('_', ' ')}"
    + (f" · each figure: {latest.window_note}" if latest.window_note else "")
)

complete = _ui.query(completeness.metric_completeness, quarters, [name])[name]
frame = pd.DataFrame(
    {
        "quarter": [r.quarter for r in results],
        "value": [None if r.value is None else r.value * scale for r in results],
        "status": [_ui.status_word(r.status) for r in results],
        "data": [complete[r.quarter].mark for r in results],  # ◔ provisional, ⌛ stale
    }
)
provisional = [f"{q} ({'; '.join(c.notes)})" for q, c in complete.items() if c.provisional]
if provisional:
    st.caption(f"**{completeness.PROVISIONAL_MARK}** figures: {_ui.plain(', '.join(provisional))}")
if frame["value"].isna().all():
    _ui.empty_state(
        f"No values for {latest.label} in these quarters. Import the data it is computed from "
        "on Data import, or choose another quarter in the sidebar."
    )
else:
    figure = go.Figure()
    values = frame["value"].dropna()
    thresholds = latest.thresholds or {}
    limits = [
        bound.get("gte", bound.get("lte")) * scale
        for bound in (thresholds.get("green"), thresholds.get("amber"))
        if bound
    ]
    top = max([*values, *limits, (latest.target or 0) * scale]) * 1.15 or 1.0
    bottom = min([0.0, *values])
    green, amber = thresholds.get("green"), thresholds.get("amber")
    if green:
        higher = "gte" in green
        green_limit = green.get("gte", green.get("lte")) * scale
        amber_limit = amber.get("gte", amber.get("lte")) * scale if amber else green_limit
        bands = (
            [
                (green_limit, top, "green"),
                (amber_limit, green_limit, "amber"),
                (bottom, amber_limit, "red"),
            ]
            if higher
            else [
                (bottom, green_limit, "green"),
                (green_limit, amber_limit, "amber"),
                (amber_limit, top, "red"),
            ]
        )
        for low, high, status in bands:
            if high > low:
                figure.add_hrect(
                    y0=low,
                    y1=high,
                    fillcolor=_ui.status_colour(status),
                    opacity=0.12,
                    line_width=0,
                    annotation_text=_ui.status_word(status),
                    annotation_position="top left",
                )
    figure.add_trace(
        go.Scatter(
            x=frame["quarter"],
            y=frame["value"],
            mode="lines+markers",
            name=latest.label,
            customdata=(frame["status"] + " " + frame["data"]).str.strip(),
            hovertemplate="%{y:,.2f} (%{customdata})<extra></extra>",
            line={"width": 3},
            marker={"size": 9},
        )
    )
    if latest.target is not None:
        figure.add_hline(
            y=latest.target * scale,
            line_dash="dash",
            line_width=2,
            annotation_text=f"target {_ui.format_value(latest.target, latest.unit)}",
            annotation_position="top right",
        )
    if latest.unit == "count":
        _ui.count_axis(figure, f"{latest.label} (count)", top)
    figure.update_layout(
        title=f"{latest.label} by quarter",
        xaxis_title="quarter",
        yaxis_title=f"{latest.label} ({axis_title})" if axis_title else latest.label,
        yaxis_range=[bottom, top],
    )
    _ui.chart(figure, key="trends_chart")
    with st.expander("Values"):
        _ui.show_table(frame, hide_index=True, key="trends_values")

st.subheader(f"Breakdown in {quarter.label}")
try:
    records = _ui.query(breakdown.breakdown_records, name, quarter)
except compiler.MetricError as error:
    st.warning(f"No breakdown for this metric: {error}")
    st.stop()
if records.empty:
    _ui.empty_state(f"No records behind {latest.label} in {quarter.label}.")
    st.stop()

BREAKDOWNS = breakdown.BREAKDOWNS
available = breakdown.breakdown_columns(records)
if not available:
    st.caption("This metric's records have no columns to break down by.")
    st.stop()
by = st.segmented_control(
    "Break down by",
    available,
    default=available[0],
    format_func=lambda c: BREAKDOWNS[c],
    key="trends_breakdown",
)
by = by or available[0]
table = breakdown.breakdown(records, by)
measure = "in numerator" in table.columns
categories = table[by].astype(str).tolist()
bar = go.Figure(go.Bar(x=categories, y=table["records"], name="records"))
if measure:
    bar.add_trace(go.Bar(x=categories, y=table["in numerator"], name="in numerator"))
bar.update_layout(
    title=f"{latest.label}: records by {BREAKDOWNS[by]} in {quarter.label}",
    barmode="group",
    xaxis_title=BREAKDOWNS[by],
    xaxis={"categoryorder": "array", "categoryarray": categories},
)
_ui.count_axis(bar, "records (count)", table["records"].max())
_ui.chart(bar, key="trends_breakdown_chart", height=340)
_ui.download_csv(records, f"{name}-{quarter.label}.csv", key="trends_download")
