"""Audit programme (9.2.2): the schedule over the three-year cycle, coverage of every clause
requirement and applicable Annex A control by cycle year, overdue audits, independence
conflicts, findings per audit with drill-down, and the audit plan as PDF and CSV."""

from __future__ import annotations

import html
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from aims_metrics.audits import plan_pdf, programme
from aims_metrics.auth import Action
from aims_metrics.vocabulary.findings import FINDING_TYPES
from aims_metrics.vocabulary.wording import count_of, verb_for
from pages import _ui

_ui.require(Action.VIEW_DASHBOARDS)

st.title("Audit programme (9.2.2)")

point = _ui.evaluation_point()  # the sidebar's quarter: its end, or today while it runs
as_of = point.as_of
st.caption(point.describe())
middle, right = st.columns([1, 2])
type_choice = middle.selectbox(
    "Audit types",
    ["all", *programme.AUDIT_TYPES],
    format_func=lambda t: "every type" if t == "all" else f"{t} audits only",
    key="programme_type",
)
audit_type = None if type_choice == "all" else type_choice
try:
    result = _ui.query(programme.audit_programme, as_of, None, audit_type)
except ValueError as problem:  # a malformed audit_cycle_start setting
    st.error(f"{problem}. An administrator can correct it on Admin.")
    st.stop()
cycle = result.cycle
right.markdown(f"**Certification cycle**  \n{cycle.start:%d %b %Y} – {cycle.end:%d %b %Y}")

if not result.audits:
    _ui.empty_state(
        f"No audits yet in the cycle {cycle.start} – {cycle.end} — import audits.csv on Data "
        "import (template: `python -m aims_metrics template audits`)."
    )
    st.stop()

counts = result.counts
total = sum(counts.values())
cancelled = len(result.cancelled_audits)
cells = st.columns(5)
cells[0].metric(
    "Audits in the cycle",
    len(result.counted_audits),
    border=True,
    help="Cancelled audits are listed in the schedule but not counted"
    + (f" ({cancelled} cancelled)." if cancelled else "."),
)
cells[1].metric(f"Completed by {as_of:%d %b %Y}", len(result.completed_audits), border=True)
cells[2].metric("Covered", f"{counts['covered']} of {total}", border=True)
cells[3].metric("Gaps", counts["gap"], border=True)
cells[4].metric("Overdue", len(result.overdue), border=True)

by_id = {a.audit_id: a for a in result.audits}
if result.overdue:
    st.warning(
        "Overdue (not completed, planned end passed): "
        + "; ".join(
            f"{_ui.plain(i)} ({_ui.plain(by_id[i].title)}, planned end "
            f"{by_id[i].planned_end or by_id[i].planned_start})"
            for i in result.overdue
        ),
        icon=":material/schedule:",
    )
if result.independence_conflicts:
    st.warning(
        "Objectivity (9.2.2): the lead auditor's unit is the audited unit in "
        + "; ".join(
            f"{_ui.plain(i)} ({_ui.plain(by_id[i].auditee_unit)})"
            for i in result.independence_conflicts
        ),
        icon=":material/balance:",
    )
if result.findings_without_audit:
    shown = ", ".join(_ui.plain(f) for f in result.findings_without_audit[:10])
    st.info(
        f"{count_of(len(result.findings_without_audit), 'finding')} "
        f"{verb_for(len(result.findings_without_audit), 'names', 'name')} an audit that is not in the "
        f"programme: {shown}{' …' if len(result.findings_without_audit) > 10 else ''}",
        icon=":material/link_off:",
    )

# --- schedule -------------------------------------------------------------------------------------

st.subheader("Schedule")
timeline = go.Figure()
bars: dict[str, dict[str, list]] = {}  # one trace per status: thousands of audits stay fast
for audit in reversed(result.audits):
    status = "overdue" if audit.audit_id in result.overdue else audit.status
    start = audit.planned_start
    end = audit.actual_end if audit.completed_by(as_of) else (audit.planned_end or start)
    end = max(end, start + timedelta(days=9)) + timedelta(days=1)  # at least 10 days: visible
    bar = bars.setdefault(status, {"x": [], "base": [], "y": [], "text": []})
    bar["x"].append((end - start).days * 86_400_000)
    bar["base"].append(start.isoformat())
    bar["y"].append(audit.audit_id)
    bar["text"].append(f"{html.escape(audit.title)} — {_ui.status_word(status)} — from {start}")
for status, bar in bars.items():
    timeline.add_trace(
        go.Bar(
            x=bar["x"],
            base=bar["base"],
            y=bar["y"],
            orientation="h",
            marker_color=_ui.status_colour(status),
            name=_ui.status_word(status),
            legendgroup=status,
            showlegend=False,
            hovertext=bar["text"],
            hoverinfo="text",
        )
    )
for status in ("completed", "in_progress", "planned", "overdue", "cancelled"):
    timeline.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=_ui.status_word(status),
            marker={"color": _ui.status_colour(status), "size": 12, "symbol": "square"},
        )
    )
for day, label in ((as_of, "as of"), *((first, f"year {n}") for n, first, _ in cycle.years())):
    timeline.add_shape(
        type="line",
        x0=day.isoformat(),
        x1=day.isoformat(),
        y0=0,
        y1=1,
        yref="paper",
        line={"dash": "dot" if label != "as of" else "solid", "width": 1.5, "color": "#444"},
    )
    timeline.add_annotation(
        x=day.isoformat(),
        y=1.0,
        yref="paper",
        text=label,
        showarrow=False,
        yanchor="bottom",
        font={"size": 12},
    )
timeline.update_layout(
    title="Audits over the cycle",
    barmode="overlay",
    hovermode="closest",
    yaxis={
        "categoryorder": "array",
        "categoryarray": [a.audit_id for a in reversed(result.audits)],
    },
    xaxis={
        "type": "date",
        "range": [cycle.start.isoformat(), (cycle.end + timedelta(days=1)).isoformat()],
    },
)
_ui.chart(
    timeline, key="programme_timeline", height=min(1600, max(320, 28 * len(result.audits) + 140))
)

plan = plan_pdf.plan_frame(result)
_ui.show_table(_ui.with_dates(plan), hide_index=True, key="programme_schedule")
downloads = st.columns(4)
downloads[1].download_button(
    "Audit plan (CSV)",
    data=_ui.query(plan_pdf.render_plan_csv, as_of, None, audit_type),
    file_name=f"audit-plan-{cycle.start}.csv",
    mime="text/csv",
    key="programme_plan_csv",
    icon=":material/download:",
    on_click="ignore",
)
plan_key = f"programme_plan_ready_{as_of}_{audit_type}"
if not st.session_state.get(plan_key):  # a large programme takes seconds to typeset: on demand
    if downloads[0].button(
        "Prepare audit plan (PDF)", key="programme_plan_prepare", icon=":material/picture_as_pdf:"
    ):
        st.session_state[plan_key] = True
        st.rerun()
else:
    downloads[0].download_button(
        "Audit plan (PDF)",
        data=_ui.query(plan_pdf.render_plan_pdf, as_of, None, audit_type),
        file_name=f"audit-plan-{cycle.start}.pdf",
        mime="application/pdf",
        key="programme_plan_pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
    )

# --- coverage heatmap ------------------------------------------------------------------------------

st.subheader("Coverage by cycle year")
st.caption(
    "Each clause requirement (4.1–10.2) and applicable Annex A control: "
    f"{_ui.status_word('covered')} by a completed audit, {_ui.status_word('planned')} only, "
    f"{_ui.status_word('gap')} (no audit). A scope of 9 covers every 9.x; cancelled audits "
    "cover nothing."
)
only_gaps = st.toggle("Only references with a gap in the cycle", key="programme_only_gaps")
grid = programme.coverage_by_year(result)
overall = pd.DataFrame(
    [{"ref": e.ref, "title": e.title, "year": "cycle", "status": e.status} for e in result.coverage]
)
years = {n: f"Year {n}<br>{first:%b %Y}" for n, first, _ in cycle.years()}
grid["column"] = grid["year"].map(years)
overall["column"] = "Whole cycle"
cells_frame = pd.concat([grid, overall], ignore_index=True)
refs = [e.ref for e in result.coverage if not only_gaps or e.status == "gap"]
if not refs:
    _ui.empty_state("No gaps: every reference is covered or planned in this cycle.")
else:
    cells_frame = cells_frame[cells_frame["ref"].isin(refs)]
    table = cells_frame.pivot(index="ref", columns="column", values="status").reindex(refs)
    columns = [*years.values(), "Whole cycle"]
    table = table[columns]
    score = {"gap": 0, "planned": 1, "covered": 2}
    z = table.map(score.get).to_numpy()
    text = table.map(_ui.status_word).to_numpy()
    colours = [_ui.status_colour(s) for s in ("gap", "planned", "covered")]
    heatmap = go.Figure(
        go.Heatmap(
            z=z,
            x=columns,
            y=refs,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=2,
            colorscale=[
                [0, colours[0]],
                [0.333, colours[0]],
                [0.334, colours[1]],
                [0.666, colours[1]],
                [0.667, colours[2]],
                [1, colours[2]],
            ],
            showscale=False,
            xgap=2,
            ygap=2,
            hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
        )
    )
    heatmap.update_layout(
        title="Where the programme leaves gaps",
        yaxis={"autorange": "reversed"},
        hovermode="closest",
    )
    _ui.chart(heatmap, key="programme_heatmap", height=max(300, 22 * len(refs) + 120))

# --- findings per audit -----------------------------------------------------------------------------

st.subheader("Findings per audit")
findings = _ui.query(programme.findings_per_audit)
if findings.empty:
    _ui.empty_state("No findings yet — import findings.csv on Data import.")
else:
    types = list(FINDING_TYPES)
    pivot = findings.pivot_table(
        index="audit_id", columns="finding_type", values="findings", aggfunc="sum", fill_value=0
    ).reindex(columns=types, fill_value=0)
    bars = go.Figure(
        [
            go.Bar(
                x=pivot.index,
                y=pivot[t],
                name=_ui.finding_type_title(t),
                marker_color=_ui.finding_type_colour(t),
            )
            for t in types
        ]
    )
    bars.update_layout(
        title="Findings raised by each audit, by type", barmode="stack", yaxis_title="findings"
    )
    _ui.chart(bars, key="programme_findings_chart")
    picked = st.selectbox("Show the findings of audit", list(pivot.index), key="programme_drill")
    _ui.show_table(
        _ui.with_dates(_ui.query(programme.audit_findings, picked)),
        hide_index=True,
        key="programme_drill_table",
    )
