"""Metric definitions: catalog, form and YAML editors with live preview, versions, diff, restore."""

from __future__ import annotations

import difflib

import pandas as pd
import plotly.graph_objects as go
import pydantic
import streamlit as st

from aims_metrics.auth import Action
from aims_metrics.metrics import catalog, compiler, definition_files, editing, evaluate, status
from aims_metrics.metrics.models import Grain, MetricDefinition
from aims_metrics.vocabulary.wording import count_of
from pages import _ui

me = _ui.require(Action.EDIT_METRICS)


def show_problems(problems: list, key: str) -> None:
    st.error(f"{count_of(len(problems), 'problem')}: nothing was saved.")
    _ui.show_table(
        pd.DataFrame([{"where": p.path, "problem": p.message} for p in problems]),
        hide_index=True,
        key=key,
    )


def show_preview(candidate: MetricDefinition, key: str, quarters: list) -> None:
    """The unsaved definition evaluated over eight quarters, beside the saved one."""
    try:
        preview = _ui.query(evaluate.preview_definition, candidate, quarters)
    except (compiler.MetricError, evaluate.MetricTimeout) as error:
        st.error(f"The preview cannot be computed: {error}")
        return
    saved = _ui.query(evaluate.catalog_series, quarters).get(candidate.name, [])
    scale = 100.0 if candidate.unit.value == "percent" else 1.0
    figure = go.Figure()
    if saved:
        figure.add_trace(
            go.Scatter(
                x=[r.quarter for r in saved],
                y=[None if r.value is None else r.value * scale for r in saved],
                name=f"saved (v{saved[-1].version})",
                mode="lines+markers",
                line={"dash": "dot"},
            )
        )
    figure.add_trace(
        go.Scatter(
            x=[r.quarter for r in preview],
            y=[None if r.value is None else r.value * scale for r in preview],
            name="this edit",
            mode="lines+markers",
            line={"width": 3},
            marker={"size": 9},
        )
    )
    if candidate.target is not None:
        figure.add_hline(y=candidate.target * scale, line_dash="dash", annotation_text="target")
    figure.update_layout(title="Live preview over eight quarters")
    _ui.chart(figure, key=f"{key}_chart", height=320)
    _ui.show_table(
        pd.DataFrame(
            {
                "quarter": [r.quarter for r in preview],
                "value": [_ui.format_value(r.value, r.unit) for r in preview],
                "status": [_ui.status_word(r.status) for r in preview],
                "saved status": [_ui.status_word(r.status) for r in saved] or None,
            }
        ),
        hide_index=True,
        key=f"{key}_table",
    )


def save(candidate: MetricDefinition, reason: str, current: MetricDefinition) -> None:
    if not reason.strip():
        st.error("Say why you change the metric (the reason is kept with the version).")
        return
    version = _ui.write(
        Action.EDIT_METRICS, catalog.save_definition, candidate, me.username, reason.strip()
    )
    if version == current.version:
        st.info("Nothing changed, so no new version was saved.")
    else:
        _ui.flash(f"Saved {candidate.name}@{version}.", reset="metrics")


def form_editor(current: MetricDefinition, slot: str, quarters: list) -> None:
    """The form: label, owner, description, clause, grain, target and thresholds."""
    st.caption(
        f"`{current.ref}` · {current.type.value} · {current.unit.value} · "
        f"{current.direction.value.replace('_', ' ')}"
    )
    for part, measure in current.parts():
        sentences = [definition_files.describe_filter(f) for f in measure.filters]
        st.caption(
            f"{part}: {measure.agg.value} of {measure.source}"
            + (f" where {'; '.join(sentences)}" if sentences else "")
        )
    left, right = st.columns(2)
    label = left.text_input("Label", value=current.label, key=f"metric_label_{slot}")
    owner = right.text_input("Owner", value=current.owner, key=f"metric_owner_{slot}")
    description = st.text_area(
        "Description", value=current.description, key=f"metric_description_{slot}", height=80
    )
    clause_column, grain_column, target_column = st.columns(3)
    clause = clause_column.text_input("Clause", value=current.clause, key=f"metric_clause_{slot}")
    GRAINS = [g.value for g in Grain]
    grain = grain_column.selectbox(
        "Grain (span of each quarter's figure)",
        GRAINS,
        index=GRAINS.index(current.grain.value),
        format_func=lambda g: status.GRAIN_WINDOW_NOTES[Grain(g)] or "the quarter",
        key=f"metric_grain_{slot}",
    )
    target = target_column.number_input(
        "Target" + (" (percent as 0–1)" if current.unit.value == "percent" else ""),
        value=None if current.target is None else float(current.target),
        format="%.4g",
        key=f"metric_target_{slot}",
    )
    thresholds = current.thresholds
    default_op = "gte" if current.direction.value == "higher_is_better" else "lte"
    OPS = ["gte", "lte"]
    OP_WORDS = {"gte": "at least (≥)", "lte": "at most (≤)"}
    bounds = {}
    for level in ("green", "amber"):
        bound = getattr(thresholds, level) if thresholds else None
        op_column, value_column = st.columns([1, 2])
        op = op_column.selectbox(
            f"{level.capitalize()} when value is",
            OPS,
            index=OPS.index(("gte" if bound.gte is not None else "lte") if bound else default_op),
            format_func=OP_WORDS.get,
            key=f"metric_{level}_op_{slot}",
        )
        limit = value_column.number_input(
            f"{level.capitalize()} limit" + (" (empty: no amber band)" if level == "amber" else ""),
            value=None if bound is None else float(bound.limit),
            format="%.4g",
            key=f"metric_{level}_limit_{slot}",
        )
        if limit is not None:
            bounds[level] = {op: limit}

    data = current.model_dump(mode="json", exclude_none=True)
    data.update(label=label, owner=owner, description=description, clause=clause)
    data["target"] = target
    data["grain"] = grain
    data.pop("thresholds", None)
    if "green" in bounds:
        data["thresholds"] = bounds
    elif "amber" in bounds:
        data["thresholds"] = {"amber": bounds["amber"]}  # invalid on purpose: reported below
    candidate = None
    try:
        candidate = MetricDefinition.model_validate(data)
    except pydantic.ValidationError as error:
        st.error("This definition is not valid; nothing was saved.")
        for problem in error.errors():
            where = ".".join(str(p) for p in problem["loc"]) or "metric"
            st.markdown(f"- **{_ui.plain(where)}**: {_ui.plain(problem['msg'])}")
    if candidate is not None:
        problems = _ui.read(
            editing.validate_metric_file, definition_files.definition_to_yaml(candidate)
        )
        if problems:
            show_problems(problems, key="metric_form_problems")
        else:
            show_preview(candidate, key="metric_form_preview", quarters=quarters)
            reason = st.text_input("Reason for the change", key=f"metric_reason_{slot}")
            if st.button("Save as a new version", type="primary", key="metric_form_save"):
                save(candidate, reason, current)


def yaml_editor(current: MetricDefinition, slot: str, quarters: list) -> None:
    """The metric file of the picked metric, validated with YAML paths before a save."""
    st.caption(
        "For power users: the metric file format (one or more metrics). Every problem is listed "
        "with its YAML path before anything is saved."
    )
    text = st.text_area(
        "Metric file",
        value=definition_files.definition_to_yaml(current),
        height=420,
        key=f"metric_yaml_{slot}",
    )
    problems = _ui.read(editing.validate_metric_file, text)
    if problems:
        show_problems(problems, key="metric_yaml_problems")
    else:
        parsed, _ = definition_files.parse_metric_file(text)
        if parsed is not None and len(parsed.metrics) == 1:
            show_preview(parsed.metrics[0], key="metric_yaml_preview", quarters=quarters)
        yaml_reason = st.text_input("Reason for the change", key=f"metric_yaml_reason_{slot}")
        if st.button("Validate and save", type="primary", key="metric_yaml_save"):
            if not yaml_reason.strip():
                st.error("Say why you change the metric (the reason is kept with the version).")
            else:
                saved = _ui.write(
                    Action.EDIT_METRICS,
                    editing.apply_metric_file,
                    text,
                    me.username,
                    yaml_reason.strip(),
                )
                if saved:
                    _ui.flash(
                        "Saved " + ", ".join(f"{n}@{v}" for n, v in saved) + ".", reset="metrics"
                    )
                else:
                    st.info("Nothing changed, so no new version was saved.")


def history(current: MetricDefinition, slot: str) -> None:
    """Saved versions, a diff between two of them, and restore."""
    name = current.name
    history = _ui.query(catalog.definition_history, name)
    if not history:
        _ui.empty_state("This metric has no saved versions yet (it is the shipped definition).")
    else:
        _ui.show_table(
            pd.DataFrame(
                [
                    {
                        "version": v.version,
                        "author": v.author,
                        "saved": v.created_at,
                        "reason": v.reason,
                        "content hash": v.content_hash[:12],
                    }
                    for v in reversed(history)
                ]
            ),
            hide_index=True,
            key="metric_history",
        )
        versions = [v.version for v in history]
        by_version = {v.version: v for v in history}
        old_column, new_column = st.columns(2)
        old = old_column.selectbox(
            "Compare version",
            versions,
            index=max(len(versions) - 2, 0),
            key=_ui.fresh_key("metric_diff_old", "metrics"),
        )
        new = new_column.selectbox(
            "with version",
            versions,
            index=len(versions) - 1,
            key=_ui.fresh_key("metric_diff_new", "metrics"),
        )
        diff = difflib.unified_diff(
            definition_files.definition_to_yaml(by_version[old].definition).splitlines(),
            definition_files.definition_to_yaml(by_version[new].definition).splitlines(),
            fromfile=f"{name}@{old}",
            tofile=f"{name}@{new}",
            lineterm="",
        )
        text = "\n".join(diff)
        st.code(text or "(no difference)", language="diff")
        restore_reason = st.text_input(
            "Reason for restoring", key=_ui.fresh_key("metric_restore_reason", "metrics")
        )
        if st.button(f"Restore version {old} as a new version", key="metric_restore"):
            if not restore_reason.strip():
                st.error("Say why you restore this version.")
            else:
                version = _ui.write(
                    Action.EDIT_METRICS,
                    catalog.restore_version,
                    name,
                    old,
                    me.username,
                    restore_reason.strip(),
                )
                _ui.flash(f"Restored version {old} as {name}@{version}.", reset="metrics")


def catalog_table(definitions: list[MetricDefinition]) -> None:
    """Every current metric with owner, clause and version."""
    rows = [
        {
            "metric": d.name,
            "label": d.label,
            "owner": d.owner,
            "clause": d.clause,
            "version": d.version,
            "type": d.type.value,
            "unit": d.unit.value,
            "grain": d.grain.value,
            "target": d.target,
        }
        for d in definitions
    ]
    _ui.show_table(pd.DataFrame(rows), hide_index=True, key="metrics_catalog")


def main() -> None:
    st.title("Metric definitions")
    _ui.show_flash()
    quarters = _ui.trend_quarters(8)
    definitions = _ui.query(catalog.current_definitions)
    if not definitions:
        _ui.empty_state("No metrics yet. Paste a metric file in the YAML editor to add one.")
    by_name = {d.name: d for d in definitions}
    catalog_table(definitions)
    if "metrics_pick" in st.session_state:  # re-sent: the label names the version a save changes
        st.session_state["metrics_pick"] = st.session_state["metrics_pick"]
    name = st.selectbox(
        "Metric to edit",
        list(by_name),
        format_func=lambda n: f"{by_name[n].label} ({n}@{by_name[n].version})",
        key="metrics_pick",
    )
    if name is None:
        st.stop()
    current = by_name[name]
    # After each save the editors get fresh keys, so every tab starts again from the saved version.
    slot = _ui.fresh_key(name, "metrics")
    form_tab, yaml_tab, history_tab = st.tabs(
        ["Edit", "YAML", "History"], key="metrics_tab", on_change="rerun"
    )
    with form_tab:
        form_editor(current, slot, quarters)
    with yaml_tab:
        yaml_editor(current, slot, quarters)
    with history_tab:
        history(current, slot)


main()
