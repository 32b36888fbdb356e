"""Audit programme (9.2.2): the audits of the three-year cycle per quarter and unit with the way
down to each audit, coverage of every clause requirement and applicable Annex A control by cycle
year, overdue audits, independence conflicts, findings per quarter and the audits with the most
open findings, and the audit plan as PDF and CSV.

The charts count (a quarter, a status, a type): they read the same with 15 audits or 6,675, and
the tables page through the audits behind them."""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from aims_metrics.audits import plan_pdf, programme
from aims_metrics.audits.programme_view import ProgrammeView, programme_view
from aims_metrics.auth import Action
from aims_metrics.vocabulary.findings import FINDING_TYPES
from aims_metrics.vocabulary.wording import count_of, day, verb_for
from pages import _ui

_ui.require(Action.VIEW_DASHBOARDS)

MAX_NAMED = 10  # audits or findings named in a call-out; the rest are counted
EVERY = "every"  # the unit and quarter choices that do not filter


def named(ids: list[str], describe=_ui.plain) -> str:
    """The first MAX_NAMED of `ids` described, and how many more."""
    shown = "; ".join(describe(i) for i in ids[:MAX_NAMED])
    more = len(ids) - MAX_NAMED
    return shown + (f"; and {more:,} more" if more > 0 else "")


def choose_type(where: DeltaGenerator) -> str | None:
    """The audit type filter (None: every type)."""
    choice = where.selectbox(
        "Audit types",
        ["all", *programme.AUDIT_TYPES],
        format_func=lambda t: "every type" if t == "all" else f"{t} audits only",
        key="programme_type",
    )
    return None if choice == "all" else choice


def headline(result: programme.Programme) -> None:
    counts = result.counts
    total = sum(counts.values())
    cancelled = len(result.cancelled_audits)
    cells = st.columns(5)
    cells[0].metric(
        "Audits in the cycle",
        f"{len(result.counted_audits):,}",
        border=True,
        help="Cancelled audits are listed in the schedule but not counted"
        + (f" ({cancelled} cancelled)." if cancelled else "."),
    )
    cells[1].metric(
        f"Completed by {day(result.as_of)}", f"{len(result.completed_audits):,}", border=True
    )
    cells[2].metric("Covered", f"{counts['covered']} of {total}", border=True)
    cells[3].metric("Gaps", counts["gap"], border=True)
    cells[4].metric("Overdue", f"{len(result.overdue):,}", border=True)


def call_outs(result: programme.Programme) -> None:
    """Overdue audits, independence conflicts and findings naming no audit, each named (up to
    MAX_NAMED) and counted."""
    by_id = {a.audit_id: a for a in result.audits}
    if result.overdue:
        st.warning(
            "Overdue (not completed, planned end passed): "
            + named(
                result.overdue,
                lambda i: (
                    f"{_ui.plain(i)} ({_ui.plain(by_id[i].title)}, planned end "
                    f"{day(by_id[i].planned_end or by_id[i].planned_start)})"
                ),
            ),
            icon=":material/schedule:",
        )
    if result.independence_conflicts:
        st.warning(
            "Objectivity (9.2.2): the lead auditor's unit is the audited unit in "
            + named(
                result.independence_conflicts,
                lambda i: f"{_ui.plain(i)} ({_ui.plain(by_id[i].auditee_unit)})",
            ),
            icon=":material/balance:",
        )
    orphans = result.findings_without_audit
    if orphans:
        st.info(
            f"{count_of(len(orphans), 'finding')} {verb_for(len(orphans), 'names', 'name')} an "
            f"audit that is not in the programme: {named(orphans)}",
            icon=":material/link_off:",
        )


def quarter_chart(counts: pd.DataFrame, unit: str, as_of_quarter: str) -> None:
    """Audits per quarter of the cycle, stacked by status (at most quarters × statuses bars),
    with the quarter of the as-of day marked."""
    figure = go.Figure(
        [
            go.Bar(
                x=list(counts.index),
                y=counts[status],
                name=_ui.status_word(status),
                marker_color=_ui.status_colour(status),
            )
            for status in counts.columns
        ]
    )
    where = "" if unit == EVERY else f" — {unit}"
    figure.update_layout(
        title=f"Audits per quarter of the cycle{where}",
        barmode="stack",
        xaxis_title="quarter (completed audits by their end, others by their planned start)",
        xaxis={"type": "category"},
    )
    if as_of_quarter in counts.index:
        figure.add_shape(
            type="line",
            x0=as_of_quarter,
            x1=as_of_quarter,
            y0=0,
            y1=1,
            yref="paper",
            line={"dash": "dot", "width": 1.5, "color": "#444"},
        )
        quarters = list(counts.index)
        figure.update_xaxes(
            tickvals=quarters,
            ticktext=[f"{q}<br>(as of)" if q == as_of_quarter else q for q in quarters],
        )
    _ui.count_axis(figure, "audits (count)", counts.sum(axis=1).max() if len(counts) else 0)
    _ui.chart(figure, key="programme_timeline")


def schedule_section(view: ProgrammeView) -> None:
    """The audits per quarter and unit, then the audits of a chosen quarter and unit, a page at
    a time, and the audit plan."""
    st.subheader("Schedule")
    placement = view.placement  # row for row the schedule's audits
    units = sorted(u for u in placement["auditee_unit"].unique() if u)
    left, right = st.columns(2)
    unit = left.selectbox(
        "Audited unit",
        [EVERY, *units],
        format_func=lambda u: "every unit" if u == EVERY else u,
        key="programme_unit",
    )
    chosen = pd.Series(True, index=placement.index)
    if unit != EVERY:
        chosen &= placement["auditee_unit"] == unit
    counts = programme.audits_by_quarter(placement[chosen], view.quarters)
    quarter_chart(counts, unit, view.as_of_quarter)
    quarters = [EVERY, *(q for q in view.quarters if counts.loc[q].sum())]
    if st.session_state.get("programme_quarter") not in quarters:  # none for this unit
        st.session_state["programme_quarter"] = EVERY
    quarter = right.selectbox(
        "Quarter",
        quarters,
        format_func=lambda q: "every quarter" if q == EVERY else q,
        key="programme_quarter",
    )
    if quarter != EVERY:
        chosen &= placement["quarter"] == quarter
    audits = view.schedule[chosen.to_numpy()]
    st.caption(
        f"{count_of(len(audits), 'audit')} of the cycle"
        + ("" if unit == EVERY else f" audited in {_ui.plain(unit)}")
        + ("" if quarter == EVERY else f" in {quarter}")
        + ", by planned start"
    )
    _ui.paged_table(
        audits,
        key="programme_schedule",
        file_name=f"audits-{view.programme.cycle.start}.csv",
        download_label="These audits (CSV)",
    )
    plan_downloads(view.programme)


def plan_downloads(result: programme.Programme) -> None:
    """The audit plan: the CSV built when clicked, the PDF typeset only when asked for (a large
    programme takes seconds) and then cached by data version."""
    as_of, audit_type, start = result.as_of, result.audit_type, result.cycle.start
    downloads = st.columns(4)
    downloads[1].download_button(
        "Audit plan (CSV)",
        data=lambda: plan_pdf.plan_csv(result),
        file_name=f"audit-plan-{start}.csv",
        mime="text/csv",
        key="programme_plan_csv",
        icon=":material/download:",
        on_click="ignore",
    )
    _ui.pdf_on_request(
        downloads[0],
        key="programme_plan_pdf",
        scope=f"{as_of}_{audit_type}",
        prepare="Prepare audit plan (PDF)",
        download="Audit plan (PDF)",
        build=lambda: _ui.query(plan_pdf.render_plan_pdf, as_of, None, audit_type),
        file_name=f"audit-plan-{start}.pdf",
    )


def coverage_section(view: ProgrammeView) -> None:
    """References × cycle years (a few dozen × 4): small at any scale."""
    result = view.programme
    st.subheader("Coverage by cycle year")
    st.caption(
        "Each clause requirement (4.1–10.2) and applicable Annex A control: "
        f"{_ui.status_word('covered')} by a completed audit, {_ui.status_word('planned')} only, "
        f"{_ui.status_word('gap')} (no audit). A scope of 9 covers every 9.x; cancelled audits "
        "cover nothing."
    )
    only_gaps = st.toggle("Only references with a gap in the cycle", key="programme_only_gaps")
    refs = [e.ref for e in result.coverage if not only_gaps or e.status == "gap"]
    if not refs:
        _ui.empty_state("No gaps: every reference is covered or planned in this cycle.")
        return
    years = {n: f"Year {n}<br>{first:%b %Y}" for n, first, _ in result.cycle.years()}
    grid = view.coverage_by_year.assign(column=lambda f: f["year"].map(years))
    overall = pd.DataFrame(
        [{"ref": e.ref, "status": e.status, "column": "Whole cycle"} for e in result.coverage]
    )
    cells = pd.concat([grid[["ref", "status", "column"]], overall], ignore_index=True)
    columns = [*years.values(), "Whole cycle"]
    table = cells[cells["ref"].isin(refs)].pivot(index="ref", columns="column", values="status")
    table = table.reindex(index=refs, columns=columns)
    score = {"gap": 0, "planned": 1, "covered": 2}
    colours = [_ui.status_colour(s) for s in ("gap", "planned", "covered")]
    heatmap = go.Figure(
        go.Heatmap(
            z=table.map(score.get).to_numpy(),
            x=columns,
            y=refs,
            text=table.map(_ui.status_word).to_numpy(),
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


def typed_bars(frame: pd.DataFrame, along: str, value: str, horizontal: bool = False) -> go.Figure:
    """Bars of `value` along `along` (in the frame's order), one stacked trace per finding type
    in the vocabulary's titles and colours."""
    pivot = frame.pivot_table(
        index=along, columns="finding_type", values=value, aggfunc="sum", fill_value=0, sort=False
    ).reindex(columns=list(FINDING_TYPES), fill_value=0)
    places = list(pivot.index)
    return go.Figure(
        [
            go.Bar(
                x=pivot[t] if horizontal else places,
                y=places if horizontal else pivot[t],
                orientation="h" if horizontal else "v",
                name=_ui.finding_type_title(t),
                marker_color=_ui.finding_type_colour(t),
            )
            for t in FINDING_TYPES
        ]
    )


def findings_section(view: ProgrammeView) -> None:
    """Findings raised per quarter by type, the audits with the most open findings, and the
    findings of a chosen audit a page at a time."""
    result = view.programme
    cycle, as_of = result.cycle, result.as_of
    until = min(as_of, cycle.end)
    st.subheader("Findings")
    per_quarter = _ui.query(programme.findings_by_quarter, cycle.start, until, result.audit_type)
    if per_quarter.empty:
        _ui.empty_state("No findings in the cycle yet — import findings.csv on Data import.")
        return
    shown_quarters = [q for q in view.quarters if q in set(per_quarter["quarter"])]
    per_quarter = per_quarter.set_index("quarter").loc[shown_quarters].reset_index()
    bars = typed_bars(per_quarter, "quarter", "findings")
    bars.update_layout(
        title="Findings raised per quarter, by type", barmode="stack", xaxis={"type": "category"}
    )
    totals = per_quarter.groupby("quarter")["findings"].sum()
    _ui.count_axis(bars, "findings (count)", totals.max())
    _ui.chart(bars, key="programme_findings_chart")

    top = _ui.query(programme.top_audits_by_open_findings, cycle.start, until, result.audit_type)
    order = list(dict.fromkeys(top["audit_id"]))
    worst = typed_bars(top, "audit_id", "open_findings", horizontal=True)
    worst.update_layout(
        title=f"The {len(order)} audits with the most findings open on {day(as_of)}",
        barmode="stack",
        yaxis={"categoryorder": "array", "categoryarray": order[::-1], "type": "category"},
        hovermode="closest",
    )
    most = top.groupby("audit_id")["open_findings"].sum().max() if len(top) else 0
    _ui.count_axis(worst, "open findings (count)", most, axis="x")
    _ui.chart(worst, key="programme_top_audits_chart", height=max(320, 26 * len(order) + 140))

    if st.session_state.get("programme_drill") not in order:  # another type or quarter
        st.session_state.pop("programme_drill", None)
    picked = st.selectbox("Show the findings of audit", order, key="programme_drill")
    if picked:
        _ui.paged_table(
            _ui.query(programme.audit_findings, picked),
            key="programme_drill_findings",
            file_name=f"findings-{picked}.csv",
        )


def page() -> None:
    st.title("Audit programme (9.2.2)")
    point = _ui.evaluation_point()  # the sidebar's quarter: its end, or today while it runs
    as_of: date = point.as_of
    st.caption(point.describe())
    middle, right = st.columns([1, 2])
    audit_type = choose_type(middle)
    try:
        view = _ui.query(programme_view, as_of, None, audit_type)
    except ValueError as problem:  # a malformed audit_cycle_start setting
        st.error(f"{problem}. An administrator can correct it on Admin.")
        return
    cycle = view.programme.cycle
    right.markdown(f"**Certification cycle**  \n{day(cycle.start)} – {day(cycle.end)}")
    if not view.programme.audits:
        _ui.empty_state(
            f"No audits yet in the cycle {day(cycle.start)} – {day(cycle.end)} — import audits.csv on Data "
            "import (template: `python -m aims_metrics template audits`)."
        )
        return
    headline(view.programme)
    call_outs(view.programme)
    schedule_section(view)
    coverage_section(view)
    findings_section(view)


page()
