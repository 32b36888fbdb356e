"""Certification readiness: the verdict and score at the top, what blocks certification (grouped by
kind and clause, the full list a page at a time), the 29 clause requirements, the Statement of
Applicability (filter; governance leads edit), the gap register (governance leads edit; versioned;
CSV) and the readiness report PDF (built when asked for)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from aims_metrics.audits import gaps, readiness, report_pdf, soa
from aims_metrics.audits.edits import changed_rows
from aims_metrics.audits.readiness_view import ReadinessView, readiness_view
from aims_metrics.auth import Action, User
from aims_metrics.tables.ingest import ImportRejected
from aims_metrics.vocabulary.findings import finding_count
from aims_metrics.vocabulary.status import IMPLEMENTATION_STATUSES, REQUIREMENT_STATUSES
from aims_metrics.vocabulary.wording import count_of
from pages import _ui

me = _ui.require(Action.VIEW_DASHBOARDS)

# The statuses this page shows; their words, symbols and colours are the vocabulary's.
SHOWN_STATUSES = [*REQUIREMENT_STATUSES, *IMPLEMENTATION_STATUSES]
IMPLEMENTATION = ["not_started", "partial", "implemented"]
# Fixed pixel widths keep the SoA editor's columns where a keyboard or a pointer expects them.
SOA_COLUMNS = {
    "control_id": st.column_config.TextColumn("Control", width=80),
    "title": st.column_config.TextColumn(width=230),
    "applicable": st.column_config.CheckboxColumn(width=90),
    "justification": st.column_config.TextColumn(width=230),
    "implementation_status": st.column_config.SelectboxColumn(
        "Status", options=IMPLEMENTATION, width=120
    ),
    "owner": st.column_config.TextColumn(width=140),
    "evidence": st.column_config.TextColumn(width=140),
}


def word(status: str) -> str:
    return _ui.status_word(status)


def colour_cells(value: str) -> str:
    return _ui.status_cell_style(value, SHOWN_STATUSES)


def prepared_pdf(as_of: date) -> None:
    """The readiness report PDF, built only when asked for (then cached by data version)."""
    _ui.pdf_on_request(
        st,
        key="readiness_pdf",
        scope=str(as_of),
        prepare="Prepare readiness report (PDF)",
        download="Readiness report (PDF)",
        build=lambda: _ui.query(report_pdf.render_readiness_report, as_of),
        file_name=f"readiness-{as_of}.pdf",
    )


def verdict_section(result: readiness.Readiness) -> None:
    """The ten-second answer: verdict, why, score and the counts."""
    counts = result.counts()
    majors = [b for b in result.blockers if b.kind == "finding"]
    st.html(_ui.status_badge(result.verdict, font_size="1.5rem"))
    reasons = []
    if majors:
        reasons.append(f"{finding_count(len(majors), 'major_nc')} open")
    if counts["gap"]:
        reasons.append(f"{count_of(counts['gap'], 'requirement')} not met")
    if counts["partial"]:
        reasons.append(f"{counts['partial']} only partly met")
    if result.open_minor and not majors:
        reasons.append(f"{finding_count(len(result.open_minor), 'minor_nc')} open")
    st.markdown(
        f"**{counts['met']} of {len(result.requirements)}** clause requirements are met"
        + (f"; {', '.join(reasons)}." if reasons else " and nothing blocks certification.")
    )
    cells = st.columns(4)
    cells[0].metric(
        "Readiness score", f"{result.score:.0%}", help="(met + ½ partial) / 29", border=True
    )
    cells[1].metric(
        "Requirements met", f"{counts['met']} of {len(result.requirements)}", border=True
    )
    cells[2].metric("Blockers", f"{len(result.blockers):,}", border=True)
    cells[3].metric(
        "Controls implemented",
        f"{result.soa['implemented']} of {result.soa['applicable']}",
        help="Applicable Annex A controls of the SoA",
        border=True,
    )


def blockers_section(view: ReadinessView, as_of: date) -> None:
    """What blocks certification, grouped by clause and kind with counts (oldest first), then
    every blocker a page at a time with a CSV of them all."""
    total = len(view.blockers)
    if not total:
        return
    st.subheader(f"What blocks certification ({total:,})")
    groups = view.blocker_groups
    st.caption(
        f"{count_of(total, 'blocker')} in {count_of(len(groups), 'group')} by clause and kind, "
        "the oldest first; each cause once (an open major nonconformity is named as itself, not "
        "again as the 10.2 gap it causes)."
    )
    _ui.show_table(
        groups,
        key="readiness_blocker_groups",
        height=_ui.table_height(len(groups), max_rows=12),
        column_config={"oldest": st.column_config.DateColumn("Oldest open since")},
    )
    with st.expander(f"Every blocker ({total:,})"):
        _ui.paged_table(
            view.blockers,
            key="readiness_blockers",
            file_name=f"readiness-blockers-{as_of}.csv",
            column_config={
                "open_since": st.column_config.DateColumn("Open since"),
                "description": st.column_config.TextColumn("Blocker", width="large"),
            },
        )


def clauses_section(result: readiness.Readiness) -> None:
    """The 29 clause requirements with their status, how each is judged and the evidence."""
    st.subheader("Clause requirements 4.1–10.2")
    clauses = pd.DataFrame(
        [
            {
                "clause": r.ref,
                "requirement": r.title,
                "status": word(r.status),
                "judged by": r.source,
                "evidence": r.evidence,
            }
            for r in result.requirements
        ]
    )
    _ui.show_table(
        clauses.style.map(colour_cells, subset=["status"]),
        hide_index=True,
        key="readiness_clauses",
        width="stretch",
        column_config={
            "clause": st.column_config.TextColumn(width=60),
            "status": st.column_config.TextColumn(width=95),
        },
    )
    st.caption(
        "Judged by data: 6.2, 8.4, 9.1, 9.2.x, 9.3.x, 10.2. The others come from "
        "attestations.csv (a gap until one is recorded)."
    )
    unattested = [
        r.ref
        for r in result.requirements
        if r.source == "attestation" and r.evidence.startswith("No attestation")
    ]
    if len(unattested) == sum(1 for r in result.requirements if r.source == "attestation"):
        _ui.empty_state(
            "No attestations yet — import attestations.csv (ref, status, evidence, owner, "
            f"reviewed_on) on Data import for the {len(unattested)} requirements the data cannot judge."
        )


def soa_section(result: readiness.Readiness, me: User) -> None:
    """The Statement of Applicability: filters; governance leads edit it, the others read it."""
    st.subheader("Statement of Applicability (Annex A)")
    s = result.soa
    st.markdown(
        f"{s['applicable']} applicable, {s['excluded']} excluded; of the applicable: "
        f"{s['implemented']} implemented, {s['partial']} partial, {s['not_started']} not started."
    )
    table = _ui.query(soa.soa_table)
    if not table["in_soa"].any():
        _ui.empty_state(
            "No Statement of Applicability yet — import soa.csv on Data import"
            + (" or edit it below" if _ui.allowed(Action.EDIT_SOA) else "")
            + "; until then every Annex A control counts as applicable and not started."
        )
    f1, f2 = st.columns([2, 3])
    shown_status = f1.multiselect(
        "Status",
        ["implemented", "partial", "not_started", "excluded"],
        format_func=word,
        key="soa_filter_status",
    )
    search = f2.text_input("Control or title contains", key="soa_filter_text")
    view = table.copy()
    view["status"] = view["implementation_status"].where(view["applicable"], "excluded")
    if shown_status:
        view = view[view["status"].isin(shown_status)]
    if search:
        needle = search.strip().lower()
        view = view[
            view["control_id"].str.lower().str.contains(needle, regex=False)
            | view["title"].str.lower().str.contains(needle, regex=False)
        ]
    editable = ["applicable", "justification", "implementation_status", "owner", "evidence"]
    if _ui.allowed(Action.EDIT_SOA):
        signature = (tuple(shown_status), search)
        if st.session_state.get("soa_editor_filter") != signature:  # other rows: drop stale edits
            st.session_state.pop("soa_editor", None)
            st.session_state["soa_editor_filter"] = signature
        edited = st.data_editor(
            view[["control_id", "title", *editable]],
            hide_index=True,
            num_rows="fixed",
            placeholder=_ui.MISSING,
            key="soa_editor",
            disabled=["control_id", "title"],
            width="stretch",
            column_config=_ui.table_columns(view.columns, SOA_COLUMNS),
        )
        if st.button("Save SoA changes", type="primary", key="soa_save"):
            changed = changed_rows(view, edited, ["control_id", *editable])
            if changed.empty:
                st.info("Nothing changed in the SoA.")  # nothing written: no rerun needed
            else:
                try:
                    saved = _ui.write(Action.EDIT_SOA, soa.save_soa, changed, me.username, me.role)
                except ImportRejected as rejected:
                    ids = changed["control_id"].tolist()
                    st.error(
                        "Not saved — "
                        + "; ".join(
                            f"{_ui.plain(ids[p.row - 2])}: {_ui.plain(p.column)}: {_ui.plain(p.message)}"
                            for p in rejected.plan.problems
                        )
                    )
                else:
                    st.session_state.pop("soa_editor", None)
                    _ui.flash(f"Saved the SoA: {saved.counts}.")
    else:
        shown = view[["control_id", "title", "status", "justification", "owner", "evidence"]].copy()
        shown["status"] = shown["status"].map(word)
        _ui.show_table(
            shown.style.map(colour_cells, subset=["status"]),
            hide_index=True,
            key="soa_table",
            width="stretch",
        )


def gaps_section(result: readiness.Readiness, me: User, as_of: date) -> None:
    """The gap register with its remediation plans (governance leads edit; each save a version)."""
    st.subheader("Gap register")
    register = gaps.gaps_frame(result.gaps)
    if register.empty:
        _ui.empty_state(
            "No gaps: every requirement is met and every applicable control implemented."
        )
    else:
        st.caption(
            "Requirements not met and applicable controls not implemented, with their "
            "remediation plans. Each saved change is a new version of the plan."
        )
        plan_columns = ["priority", "owner", "remediation", "effort_days", "target_date"]
        shown = register[["ref", "title", "kind", "status", *plan_columns, "version"]]
        if _ui.allowed(Action.EDIT_GAPS):
            edited_gaps = st.data_editor(
                shown,
                hide_index=True,
                num_rows="fixed",
                placeholder=_ui.MISSING,
                key="gaps_editor",
                width="stretch",
                disabled=["ref", "title", "kind", "status", "version"],
                column_config=_ui.table_columns(
                    shown.columns,
                    {
                        "priority": st.column_config.SelectboxColumn(
                            options=[p.value for p in gaps.GapPriority]
                        ),
                        "effort_days": st.column_config.NumberColumn(min_value=0),
                        "target_date": st.column_config.DateColumn(),
                    },
                ),
            )
            reason = st.text_input("Reason for the change (kept in the history)", key="gaps_reason")
            if st.button("Save gap plans", type="primary", key="gaps_save"):
                changed = changed_rows(shown, edited_gaps, ["ref", *plan_columns])
                try:
                    saved = _ui.write(
                        Action.EDIT_GAPS,
                        gaps.save_gap_plans,
                        changed.to_dict("records"),
                        me.username,
                        me.role,
                        reason or None,
                    )
                except gaps.GapRegisterRejected as rejected:
                    refs = changed["ref"].tolist()
                    st.error(
                        "Not saved — "
                        + "; ".join(
                            f"{_ui.plain(refs[p.row - 2])}: {_ui.plain(p.column)}: {_ui.plain(p.message)}"
                            for p in rejected.problems
                        )
                    )
                else:
                    if not saved:
                        st.info("Nothing changed in the plans.")  # nothing written: no rerun needed
                    else:
                        st.session_state.pop("gaps_editor", None)
                        st.session_state.pop("gaps_reason", None)
                        _ui.flash(f"Saved {count_of(len(saved), 'plan')}.")
        else:
            _ui.show_table(shown, hide_index=True, key="gaps_table", width="stretch")
        _ui.download_csv(
            register, f"gap-register-{as_of}.csv", key="gaps_csv", label="Gap register (CSV)"
        )
        with st.expander("History of the plans"):
            history = _ui.query(gaps.gap_history)
            if history.empty:
                st.caption("No plan saved yet.")
            else:
                _ui.show_table(_ui.with_dates(history), hide_index=True, key="gaps_history")


def page(me: User) -> None:
    st.title("Certification readiness")
    _ui.show_flash()
    point = _ui.evaluation_point()  # the sidebar's quarter: its end, or today while it runs
    as_of = point.as_of
    st.caption(point.describe())
    try:
        view = _ui.query(readiness_view, as_of)
    except ValueError as problem:  # a malformed audit_cycle_start setting
        st.error(f"{problem}. An administrator can correct it on Admin.")
        return
    verdict_section(view.result)
    prepared_pdf(as_of)
    blockers_section(view, as_of)
    clauses_section(view.result)
    soa_section(view.result, me)
    gaps_section(view.result, me, as_of)


page(me)
