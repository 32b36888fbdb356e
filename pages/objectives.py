"""Objectives (Clause 6.2): progress toward each target, trajectory; governance leads edit."""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pydantic
import streamlit as st

from aims_metrics.auth import Action
from aims_metrics.metrics import compiler
from aims_metrics.metrics.catalog import current_definitions
from aims_metrics.performance import objectives
from aims_metrics.vocabulary.wording import day
from pages import _ui

me = _ui.require(Action.VIEW_DASHBOARDS)

quarter = _ui.selected_quarter()
st.title(f"Objectives — {quarter.label}")
_ui.show_flash()

progress = _ui.query(objectives.objective_progress, quarter)
definitions = {d.name: d for d in _ui.query(current_definitions)}

if not progress:
    message = "No objectives yet."
    if _ui.allowed(Action.EDIT_OBJECTIVES):
        message += " Add the first one with the form below."
    else:
        message += " A governance lead can add them here."
    _ui.empty_state(message)
else:
    for item in progress:
        objective = item.objective
        unit = definitions[objective.metric].unit.value if objective.metric in definitions else ""
        with st.container(border=True, key=f"objective_{objective.objective_id}"):
            title, status = st.columns([4, 1])
            title.markdown(f"**{_ui.plain(objective.title)}**")
            status.markdown(_ui.status_badge(item.status), unsafe_allow_html=True)
            st.caption(
                f"{_ui.plain(objective.metric)}: now {_ui.format_value(item.value, unit)}, target "
                f"{_ui.format_value(objective.target, unit)} by {day(objective.deadline)}"
                + (
                    f", baseline {_ui.format_value(objective.baseline, unit)}"
                    if objective.baseline is not None
                    else ""
                )
                + (f" · owner {_ui.plain(objective.owner)}" if objective.owner else "")
            )
            if item.progress is not None:
                share = min(max(item.progress, 0.0), 1.0)
                expected = (
                    f" (expected by now: {item.expected:.0%})" if item.expected is not None else ""
                )
                st.progress(share, text=f"{item.progress:.0%} of the way to target{expected}")

    st.subheader("Trajectory")
    titles = {p.objective.objective_id: p.objective.title for p in progress}
    chosen = st.selectbox(
        "Objective", list(titles), format_func=lambda i: titles[i], key="objective_trajectory"
    )
    quarters = _ui.trend_quarters(8)
    path = _ui.query(objectives.objective_trajectory, chosen, quarters)
    objective = next(p.objective for p in progress if p.objective.objective_id == chosen)
    unit = definitions[objective.metric].unit.value if objective.metric in definitions else ""
    scale = 100.0 if unit == "percent" else 1.0
    frame = pd.DataFrame(
        {
            "quarter": [p.quarter for p in path],
            "value": [None if p.value is None else p.value * scale for p in path],
            "status": [p.status.value.replace("_", " ") for p in path],
        }
    )
    figure = go.Figure(
        go.Scatter(
            x=frame["quarter"],
            y=frame["value"],
            mode="lines+markers",
            name="value",
            customdata=frame["status"],
            hovertemplate="%{y:,.2f} (%{customdata})<extra></extra>",
            line={"width": 3},
            marker={"size": 9},
        )
    )
    figure.add_hline(
        y=objective.target * scale,
        line_dash="dash",
        annotation_text=f"target {_ui.format_value(objective.target, unit)} "
        f"by {objective.deadline:%b %Y}",
    )
    figure.update_layout(title=objective.title, yaxis_title=unit)
    _ui.chart(figure, key="objective_trajectory_chart")

if not _ui.allowed(Action.EDIT_OBJECTIVES):
    st.stop()

st.divider()
st.subheader("Add or edit an objective")
existing = {o.objective_id: o for o in _ui.query(objectives.list_objectives)}
NEW = "(new objective)"
picked = st.selectbox("Objective", [NEW, *existing], key="objective_edit_pick")
current = existing.get(picked)
slot = _ui.fresh_key(str(picked), "objectives")  # fresh fields after each save
metric_names = sorted(definitions)
if not metric_names:
    _ui.empty_state("Objectives track a metric; an analyst must define metrics first.")
    st.stop()

with st.form(f"objective_form_{slot}"):
    objective_id = st.text_input(
        "Id",
        value=current.objective_id if current else "",
        disabled=current is not None,
        key=f"objective_id_{slot}",
    )
    title = st.text_input(
        "Title", value=current.title if current else "", key=f"objective_title_{slot}"
    )
    metric = st.selectbox(
        "Metric",
        metric_names,
        index=metric_names.index(current.metric)
        if current and current.metric in metric_names
        else 0,
        format_func=lambda n: f"{definitions[n].label} ({n})",
        key=f"objective_metric_{slot}",
    )
    columns = st.columns(3)
    target = columns[0].number_input(
        "Target (percent as 0–1)",
        value=float(current.target) if current else 0.0,
        format="%.4g",
        key=f"objective_target_{slot}",
    )
    baseline = columns[1].number_input(
        "Baseline (optional)",
        value=float(current.baseline) if current and current.baseline is not None else None,
        format="%.4g",
        key=f"objective_baseline_{slot}",
    )
    owner = columns[2].text_input(
        "Owner", value=(current.owner or "") if current else "", key=f"objective_owner_{slot}"
    )
    dates = st.columns(2)
    deadline = dates[0].date_input(
        "Deadline",
        value=current.deadline if current else date(quarter.end.year + 1, 12, 31),
        key=f"objective_deadline_{slot}",
    )
    baseline_on = dates[1].date_input(
        "Baseline date (optional)",
        value=current.baseline_on if current else None,
        key=f"objective_baseline_on_{slot}",
    )
    saved = st.form_submit_button("Save objective", type="primary", key=f"objective_save_{slot}")
if saved:
    try:
        objective = objectives.Objective(
            objective_id=(objective_id or "").strip(),
            title=(title or "").strip(),
            metric=metric,
            target=target,
            deadline=deadline,
            owner=(owner or "").strip() or None,
            baseline=baseline,
            baseline_on=baseline_on,
        )
        _ui.write(Action.EDIT_OBJECTIVES, objectives.save_objective, objective, me.username)
    except pydantic.ValidationError as error:
        for problem in error.errors():
            st.error(f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}")
    except (ValueError, compiler.MetricError) as error:
        st.error(str(error))
    else:
        _ui.flash(f"Saved objective {objective.objective_id}.", reset="objectives")
if current is not None and st.button(
    f"Delete {current.objective_id}", key="objective_delete", icon=":material/delete:"
):
    _ui.write(
        Action.EDIT_OBJECTIVES, objectives.delete_objective, current.objective_id, me.username
    )
    _ui.flash(f"Deleted objective {current.objective_id}.", reset="objectives")
