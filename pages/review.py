"""Management review (9.3): assembled inputs a) and d), the review record, actions, minutes.

Everyone who may view dashboards sees the review and downloads the minutes; governance leads (and
the roles above them) edit the record, raise and update actions, finalise and revise.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pydantic
import streamlit as st

from aims_metrics.auth import Action
from aims_metrics.metrics import completeness
from aims_metrics.metrics.formatting import format_change
from aims_metrics.notify import reminders
from aims_metrics.review import actions, assembly, finalise, minutes, models, records
from pages import _ui

me = _ui.require(Action.VIEW_DASHBOARDS)
quarter = _ui.selected_quarter()
label = quarter.label
st.title(f"Management review — {label}")

can_edit = _ui.allowed(Action.EDIT_REVIEWS)
can_finalise = _ui.allowed(Action.FINALISE_MINUTES)
can_download = _ui.allowed(Action.DOWNLOAD_MINUTES)

record = _ui.query(records.get_review, label)
inputs = _ui.query(assembly.assemble_inputs, label)
editable = can_edit and (record is None or not record.is_final)

CHANGED_KEY = "review_flash"
flash = st.session_state.pop(CHANGED_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")


def done(message: str) -> None:
    st.session_state[CHANGED_KEY] = message
    st.rerun()


# --- status and minutes ----------------------------------------------------------------------

if record is None:
    st.info(
        f"No review record for {label} yet. The inputs below are assembled from the data."
        + (" Record the meeting under **Meeting and inputs**." if can_edit else ""),
        icon=":material/info:",
    )
elif record.is_final:
    st.success(
        f"Final, revision {record.revision}: finalised by {_ui.plain(record.finalised_by)} on "
        f"{record.finalised_at:%Y-%m-%d %H:%M} UTC. Locked: a change needs a new revision.",
        icon=":material/lock:",
    )
else:
    st.warning(
        f"Draft, revision {record.revision}: last saved by "
        f"{_ui.plain(record.updated_by or record.created_by)}"
        + (
            f". Reason for this revision: {_ui.plain(record.revision_reason)}"
            if record.revision_reason
            else ""
        ),
        icon=":material/edit_note:",
    )

if can_download:
    archived = _ui.query(records.archived_minutes, label) if record is not None else None
    columns = st.columns(2)
    if archived is not None:
        columns[0].download_button(
            f"Download final minutes ({archived.document_id})",
            data=archived.pdf,
            file_name=f"{archived.document_id}.pdf",
            mime="application/pdf",
            key="review_download_final",
            icon=":material/download:",
            on_click="ignore",
            type="primary",
        )
        columns[0].caption(f"sha256 {archived.sha256}")
    if record is None or not record.is_final:
        pack_key = f"review_pack_ready_{label}"
        if not st.session_state.get(pack_key):
            if columns[1].button(
                "Prepare draft review pack",
                key="review_prepare_draft",
                icon=":material/description:",
            ):
                st.session_state[pack_key] = True
                st.rerun()
        else:
            pdf = _ui.query(minutes.render_minutes, label)
            draft_id = models.document_id(label, record.revision if record else None)
            columns[1].download_button(
                f"Download draft review pack ({draft_id})",
                data=pdf,
                file_name=f"{draft_id}-draft.pdf",
                mime="application/pdf",
                key="review_download_draft",
                icon=":material/download:",
                on_click="ignore",
            )

tabs = st.tabs(["Inputs a) and d)", "Meeting and inputs", "Decisions and actions", "Finalise"])

# --- inputs a) and d) ------------------------------------------------------------------------

with tabs[0]:
    st.subheader("a) Status of actions from previous management reviews")
    st.caption(f"Status as of {inputs.as_of:%Y-%m-%d} (the meeting day, else the quarter end).")
    if not inputs.carried:
        _ui.empty_state("No actions from earlier reviews are open or were closed in this quarter.")
    else:
        reminded = _ui.query(reminders.review_action_reminders)  # issue 23: reminders sent
        st.dataframe(
            _ui.records_frame(
                [
                    {
                        "action": c.action.action_id,
                        "description": c.action.description,
                        "owner": c.action.owner,
                        "due": c.action.due_on,
                        "status": c.state.value,
                        "reminders sent": reminded.get(c.action.action_id, 0),
                        "closed on": c.action.closed_on if c.state.value == "done" else None,
                        "note": c.action.closing_note or "",
                    }
                    for c in inputs.carried
                ]
            ),
            hide_index=True,
            key="review_carried",
        )
    open_actions = _ui.query(actions.all_actions, models.ActionStatus.OPEN)
    if can_edit and (open_actions or inputs.carried):
        with st.expander("Update an action (status, closing date, note)"):
            choices = {a.action_id: a for a in open_actions}
            choices.update({c.action.action_id: c.action for c in inputs.carried})
            picked = st.selectbox(
                "Action",
                sorted(choices),
                format_func=lambda i: f"{i}: {choices[i].description}",
                key="review_action_pick",
            )
            action = choices[picked]
            with st.form(f"review_action_form_{picked}"):
                status = st.radio(
                    "Status",
                    ["open", "done"],
                    index=1 if action.status == "done" else 0,
                    horizontal=True,
                    key=f"review_action_status_{picked}",
                )
                closed_on = st.date_input(
                    "Closed on",
                    value=action.closed_on or date.today(),
                    key=f"review_action_closed_{picked}",
                )
                note = st.text_area(
                    "Closing note",
                    value=action.closing_note or "",
                    key=f"review_action_note_{picked}",
                )
                if st.form_submit_button("Save action", key=f"review_action_save_{picked}"):
                    try:
                        _ui.write(
                            Action.EDIT_REVIEWS,
                            actions.update_action,
                            picked,
                            status,
                            closed_on if status == "done" else None,
                            note,
                            me.username,
                        )
                    except models.ReviewError as error:
                        st.error(str(error))
                    else:
                        done(f"{picked} saved as {status}.")

    st.subheader("d) Information on AIMS performance")
    st.markdown("**1. Nonconformities and corrective actions**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "quarter": n.quarter,
                    "raised": n.raised,
                    "closed": n.closed,
                    "open at end": n.open_at_end,
                    "overdue at end": n.overdue_at_end,
                    "mean days to close": n.mean_days_to_close,
                }
                for n in inputs.nonconformity_trend
            ]
        ),
        hide_index=True,
        key="review_nc_trend",
        column_config={"mean days to close": st.column_config.NumberColumn(format="%.1f")},
    )
    st.caption(
        f"Aging of open findings at {inputs.aging.as_of:%Y-%m-%d}: {inputs.aging.open_total} open, "
        f"{inputs.aging.overdue} overdue."
    )
    st.dataframe(
        pd.DataFrame([b.model_dump() for b in inputs.aging.buckets]),
        hide_index=True,
        key="review_aging",
    )
    st.markdown("**2. Monitoring and measurement results**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "metric": k.label,
                    "name@version": k.ref,
                    "value": _ui.format_value(k.value, k.unit),
                    "target": _ui.format_value(k.target, k.unit)
                    if k.target is not None
                    else "",
                    "status": _ui.status_word(k.status.value),
                    "change vs previous quarter": format_change(
                        k.value, k.previous_value, k.unit, k.direction
                    ),
                }
                for k in inputs.kpis
            ]
        ),
        hide_index=True,
        key="review_kpis",
        height=_ui.table_height(len(inputs.kpis)),
    )
    if inputs.objectives:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "objective": p.objective.title,
                        "metric": p.objective.metric,
                        "status": p.status.value.replace("_", " "),
                        "progress": None if p.progress is None else round(p.progress * 100),
                        "deadline": p.objective.deadline,
                    }
                    for p in inputs.objectives
                ]
            ),
            hide_index=True,
            key="review_objectives",
        )
    st.markdown("**3. Audit results**")
    if not inputs.audits:
        _ui.empty_state(f"No audit findings were raised in {label}.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {"audit": a.audit_id, "type": a.audit_type, "findings": a.findings, **a.by_type}
                    for a in inputs.audits
                ]
            ),
            hide_index=True,
            key="review_audits",
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {"clause": c.clause_ref, "title": c.title, **c.by_type, "total": c.total}
                    for c in inputs.findings_by_clause
                ]
            ),
            hide_index=True,
            key="review_clauses",
        )
    for line in inputs.audit_programme:  # the 9.2.2 programme as of the quarter end
        st.markdown(f"- {_ui.plain(line)}")

# --- meeting and inputs b), c), e) -------------------------------------------------------------

shown = record or models.ReviewRecord(quarter=label, scope=inputs.default_scope)

with tabs[1]:
    if not editable:
        st.markdown(
            f"**Date held:** {shown.held_on or 'not recorded'}  \n**Chair:** {_ui.plain(shown.chair) or 'not recorded'}"
        )
        st.dataframe(
            pd.DataFrame([a.model_dump() for a in shown.attendees], columns=["name", "role"]),
            hide_index=True,
            key="review_attendees_view",
        )
        for title, text in (
            ("AIMS scope", shown.scope),
            ("b) Changes in external and internal issues", shown.input_b),
            ("c) Changes in needs and expectations of interested parties", shown.input_c),
            ("e) Opportunities for continual improvement", shown.input_e),
        ):
            st.markdown(f"**{title}**")
            st.text(text or "Not recorded.")
    else:
        form_key = f"{label}_r{shown.revision}"
        with st.form(f"review_form_{form_key}"):
            left, right = st.columns(2)
            held_on = left.date_input(
                "Date held", value=shown.held_on, key=f"review_held_on_{form_key}"
            )
            chair = right.text_input("Chair", value=shown.chair, key=f"review_chair_{form_key}")
            attendees = st.data_editor(
                pd.DataFrame([a.model_dump() for a in shown.attendees], columns=["name", "role"]),
                num_rows="dynamic",
                hide_index=True,
                column_config={
                    "name": st.column_config.TextColumn("Name", required=True),
                    "role": st.column_config.TextColumn("Role"),
                },
                key=f"review_attendees_{form_key}",
            )
            scope = st.text_area("AIMS scope", value=shown.scope, key=f"review_scope_{form_key}")
            input_b = st.text_area(
                "b) Changes in external and internal issues relevant to the AIMS",
                value=shown.input_b,
                key=f"review_input_b_{form_key}",
            )
            input_c = st.text_area(
                "c) Changes in needs and expectations of interested parties",
                value=shown.input_c,
                key=f"review_input_c_{form_key}",
            )
            input_e = st.text_area(
                "e) Opportunities for continual improvement",
                value=shown.input_e,
                key=f"review_input_e_{form_key}",
            )
            if st.form_submit_button("Save review", type="primary", key=f"review_save_{form_key}"):
                rows = attendees.fillna("").to_dict("records")
                try:
                    updated = shown.model_copy(
                        update={
                            "held_on": held_on,
                            "chair": chair,
                            "attendees": [
                                models.Attendee(name=r["name"], role=r["role"])
                                for r in rows
                                if str(r["name"]).strip()
                            ],
                            "scope": scope,
                            "input_b": input_b,
                            "input_c": input_c,
                            "input_e": input_e,
                        }
                    )
                    _ui.write(Action.EDIT_REVIEWS, records.save_review, updated, me.username)
                except (models.ReviewError, pydantic.ValidationError) as error:
                    st.error(str(error))
                else:
                    done(f"Review of {label} saved.")

# --- decisions and actions -------------------------------------------------------------------

KIND_TITLES = {kind.value: kind.title for kind in models.DecisionKind}

with tabs[2]:
    st.subheader("Decisions (9.3.3)")
    decisions_frame = pd.DataFrame(
        [{"kind": d.kind.value, "decision": d.text} for d in shown.decisions],
        columns=["kind", "decision"],
    )
    if not editable:
        if decisions_frame.empty:
            _ui.empty_state("No decisions recorded yet.")
        else:
            st.dataframe(decisions_frame, hide_index=True, key="review_decisions_view")
    elif record is None:
        _ui.empty_state("Save the meeting data first (Meeting and inputs), then record decisions.")
    else:
        form_key = f"{label}_r{record.revision}"
        with st.form(f"review_decisions_form_{form_key}"):
            edited = st.data_editor(
                decisions_frame,
                num_rows="dynamic",
                hide_index=True,
                column_config={
                    "kind": st.column_config.SelectboxColumn(
                        "Kind", options=list(KIND_TITLES), required=True
                    ),
                    "decision": st.column_config.TextColumn("Decision", required=True),
                },
                key=f"review_decisions_{form_key}",
            )
            if st.form_submit_button("Save decisions", key=f"review_decisions_save_{form_key}"):
                rows = edited.fillna("").to_dict("records")
                try:
                    decisions = [
                        models.Decision(kind=r["kind"], text=r["decision"])
                        for r in rows
                        if str(r["decision"]).strip()
                    ]
                    _ui.write(
                        Action.EDIT_REVIEWS,
                        records.save_review,
                        record.model_copy(update={"decisions": decisions}),
                        me.username,
                    )
                except (models.ReviewError, pydantic.ValidationError) as error:
                    st.error(str(error))
                else:
                    done(f"{len(decisions)} decision(s) saved.")
        with st.form("review_add_decision", clear_on_submit=True):
            left, right = st.columns([1, 3])
            kind = left.selectbox(
                "Kind",
                list(KIND_TITLES),
                format_func=KIND_TITLES.get,
                key="review_new_decision_kind",
            )
            text = right.text_input("Decision", key="review_new_decision_text")
            if st.form_submit_button("Add decision", key="review_new_decision_add"):
                try:
                    decision = models.Decision(kind=kind, text=text)
                    _ui.write(
                        Action.EDIT_REVIEWS,
                        records.save_review,
                        record.model_copy(update={"decisions": [*record.decisions, decision]}),
                        me.username,
                    )
                except (models.ReviewError, pydantic.ValidationError):
                    st.error("A decision needs a text.")
                else:
                    done("Decision added.")

    st.subheader("Actions raised by this review")
    raised = _ui.query(actions.review_actions, label)
    if raised:
        st.dataframe(
            _ui.records_frame(
                [
                    {
                        "action": a.action_id,
                        "description": a.description,
                        "owner": a.owner,
                        "due": a.due_on,
                        "status": a.status.value,
                        "closed on": a.closed_on,
                    }
                    for a in raised
                ]
            ),
            hide_index=True,
            key="review_actions_table",
        )
    else:
        _ui.empty_state("No actions raised yet.")
    if editable and record is not None:
        with st.form("review_add_action", clear_on_submit=True):
            description = st.text_input("Action", key="review_new_action_description")
            left, right = st.columns(2)
            owner = left.text_input("Owner", key="review_new_action_owner")
            due_on = right.date_input("Due on", value=None, key="review_new_action_due")
            if st.form_submit_button("Add action", key="review_new_action_add"):
                try:
                    added = _ui.write(
                        Action.EDIT_REVIEWS,
                        actions.add_action,
                        label,
                        description,
                        owner,
                        due_on,
                        me.username,
                    )
                except models.ReviewError as error:
                    st.error(str(error))
                else:
                    done(f"{added.action_id} added.")
        removable = [a.action_id for a in raised if a.revision == record.revision]
        if removable:
            left, right = st.columns([3, 1])
            withdrawn = left.selectbox(
                "Withdraw an action raised in this draft", removable, key="review_remove_pick"
            )
            if right.button("Withdraw", key="review_remove_action"):
                _ui.write(Action.EDIT_REVIEWS, actions.remove_action, withdrawn, me.username)
                done(f"{withdrawn} withdrawn.")

# --- finalise and revise -------------------------------------------------------------------------

with tabs[3]:
    history = _ui.query(records.review_revisions, label)
    if history:
        st.dataframe(
            _ui.records_frame(
                [
                    {
                        "revision": r.revision,
                        "status": r.status.value,
                        "created by": r.created_by,
                        "created at": r.created_at,
                        "reason": r.revision_reason or "",
                        "finalised by": r.finalised_by or "",
                        "finalised at": r.finalised_at,
                    }
                    for r in history
                ]
            ),
            hide_index=True,
            key="review_history",
        )
    if not can_finalise:
        st.caption("Governance leads finalise and revise the minutes.")
    elif record is None:
        _ui.empty_state("Record the meeting first; then finalise the minutes here.")
    elif not record.is_final:
        problems = finalise.finalise_problems(record)
        if problems:
            st.warning("Before finalising: " + "; ".join(problems) + ".")
        st.caption(
            "Finalising renders the minutes, archives the PDF with its sha256 and locks this "
            "revision."
        )
        provisional = _ui.query(completeness.provisional_notes, quarter)
        confirmed = provisional and st.checkbox(
            f"{len(provisional)} KPI(s) are {completeness.PROVISIONAL_MARK} "
            f"({_ui.plain(', '.join(sorted(provisional)))}): finalise with provisional figures",
            key="review_finalise_provisional",
        )
        if st.button(
            "Finalise minutes",
            type="primary",
            key="review_finalise",
            disabled=bool(problems) or bool(provisional and not confirmed),
            icon=":material/lock:",
        ):
            try:
                digest = _ui.write(Action.FINALISE_MINUTES, finalise.finalise_review, label,
                                   me.username, confirm_provisional=bool(confirmed))
            except models.ReviewError as error:
                st.error(str(error))
            else:
                done(f"Minutes of {label} finalised and archived (sha256 {digest}).")
    else:
        with st.form("review_revise"):
            reason = st.text_input(
                "Reason for a new revision (who asked for which change, and why)",
                key="review_revise_reason",
            )
            if st.form_submit_button("Create new revision", key="review_revise_submit"):
                try:
                    revised = _ui.write(
                        Action.EDIT_REVIEWS, records.revise_review, label, me.username, reason
                    )
                except models.ReviewError as error:
                    st.error(str(error))
                else:
                    done(f"Revision {revised.revision} created as a draft.")
