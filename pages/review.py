"""Management review (9.3): assembled inputs a) and d), the review record, actions, minutes.

Everyone who may view dashboards sees the review and downloads the minutes; governance leads (and
the roles above them) edit the record, raise and update actions, finalise and revise. The tables
come from aims_metrics.review.views; this page only lays them out, one function per section.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pydantic
import streamlit as st

from aims_metrics.auth import Action, User
from aims_metrics.metrics import completeness
from aims_metrics.notify import reminders
from aims_metrics.review import actions, assembly, finalise, minutes, models, records, views
from aims_metrics.review.assembly import ReviewInputs
from aims_metrics.vocabulary.wording import count_of, day, verb_for
from pages import _ui

me = _ui.require(Action.VIEW_DASHBOARDS)

TABS = ["Inputs a) and d)", "Meeting and inputs", "Decisions and actions", "Finalise"]
TAB_KEY = "review_tab"  # the open tab is kept across the rerun after a save


def status_banner(label: str, record: models.ReviewRecord | None, can_edit: bool) -> None:
    """Draft, final or not yet recorded, and by whom."""
    if record is None:
        st.info(
            f"No review record for {label} yet. The inputs below are assembled from the data."
            + (" Record the meeting under **Meeting and inputs**." if can_edit else ""),
            icon=":material/info:",
        )
    elif record.is_final:
        st.success(
            f"Final, revision {record.revision}: finalised by {_ui.plain(record.finalised_by)} "
            f"on {record.finalised_at:%Y-%m-%d %H:%M} UTC. Locked: a change needs a new revision.",
            icon=":material/lock:",
        )
    else:
        reason = (
            f". Reason for this revision: {_ui.plain(record.revision_reason)}"
            if record.revision_reason
            else ""
        )
        st.warning(
            f"Draft, revision {record.revision}: last saved by "
            f"{_ui.plain(record.updated_by or record.created_by)}{reason}",
            icon=":material/edit_note:",
        )


def minutes_downloads(label: str, record: models.ReviewRecord | None) -> None:
    """The archived final minutes and the draft pack, side by side under the status line."""
    archived = _ui.query(records.archived_minutes, label) if record is not None else None
    row = st.container(horizontal=True, key="review_downloads")
    if archived is not None:
        row.download_button(
            f"Download final minutes ({archived.document_id})",
            data=archived.pdf,
            file_name=f"{archived.document_id}.pdf",
            mime="application/pdf",
            key="review_download_final",
            icon=":material/download:",
            on_click="ignore",
            type="primary",
        )
    if record is None or not record.is_final:
        draft_id = models.document_id(label, record.revision if record else None)
        _ui.pdf_on_request(
            row,
            key="review_draft_pack",
            scope=label,
            prepare="Prepare draft review pack",
            download=f"Download draft review pack ({draft_id})",
            build=lambda: _ui.query(minutes.render_minutes, label),
            file_name=f"{draft_id}-draft.pdf",
            icon=":material/description:",
        )
    if archived is not None:
        st.caption(f"Final minutes sha256 {archived.sha256}")


def carried_actions(inputs: ReviewInputs, can_edit: bool, me: User) -> None:
    """a) Status of actions from previous management reviews, and their update form."""
    st.subheader("a) Status of actions from previous management reviews")
    st.caption(f"Status as of {day(inputs.as_of)} (the meeting day, else the quarter end).")
    if not inputs.carried:
        _ui.empty_state("No actions from earlier reviews are open or were closed in this quarter.")
    else:
        reminded = _ui.query(reminders.review_action_reminders)  # issue 23: reminders sent
        _ui.show_table(
            _ui.records_frame(views.carried_action_rows(inputs, reminded)),
            hide_index=True,
            key="review_carried",
        )
    open_actions = _ui.query(actions.all_actions, models.ActionStatus.OPEN)
    if can_edit and (open_actions or inputs.carried):
        with st.expander("Update an action (status, closing date, note)"):
            update_action_form(open_actions, inputs, me)


def update_action_form(
    open_actions: list[models.ReviewAction], inputs: ReviewInputs, me: User
) -> None:
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
            "Closing note", value=action.closing_note or "", key=f"review_action_note_{picked}"
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
                _ui.flash(f"{picked} saved as {status}.")


def performance_inputs(inputs: ReviewInputs, label: str) -> None:
    """d) Nonconformities, monitoring and measurement, audit results."""
    st.subheader("d) Information on AIMS performance")
    st.markdown("**1. Nonconformities and corrective actions**")
    _ui.show_table(
        pd.DataFrame(views.nonconformity_trend_rows(inputs)),
        hide_index=True,
        key="review_nc_trend",
        column_config={"mean days to close": st.column_config.NumberColumn(format="%.1f")},
    )
    st.caption(
        f"Aging of open findings at {day(inputs.aging.as_of)}: {inputs.aging.open_total} open, "
        f"{inputs.aging.overdue} overdue."
    )
    _ui.show_table(pd.DataFrame(views.aging_rows(inputs)), hide_index=True, key="review_aging")
    st.markdown("**2. Monitoring and measurement results**")
    _ui.show_table(
        pd.DataFrame(views.kpi_rows(inputs, _ui.status_word)),
        hide_index=True,
        key="review_kpis",
        height=_ui.table_height(len(inputs.kpis)),
    )
    if inputs.objectives:
        _ui.show_table(
            pd.DataFrame(views.objective_rows(inputs)), hide_index=True, key="review_objectives"
        )
    st.markdown("**3. Audit results**")
    if not inputs.audits:
        _ui.empty_state(f"No audit findings were raised in {label}.")
    else:
        _ui.show_table(pd.DataFrame(views.audit_rows(inputs)), hide_index=True, key="review_audits")
        if more := views.more_audits_line(views.ranked_audits(inputs)[1]):
            st.caption(more)
        _ui.show_table(
            pd.DataFrame(views.clause_rows(inputs)), hide_index=True, key="review_clauses"
        )
    for line in inputs.audit_programme:  # the 9.2.2 programme as of the quarter end
        st.markdown(f"- {_ui.plain(line)}")


TEXT_INPUTS = (
    ("scope", "AIMS scope"),
    ("input_b", "b) Changes in external and internal issues relevant to the AIMS"),
    ("input_c", "c) Changes in needs and expectations of interested parties"),
    ("input_e", "e) Opportunities for continual improvement"),
)


def meeting_view(shown: models.ReviewRecord) -> None:
    """The meeting record, read-only."""
    st.markdown(
        f"**Date held:** {shown.held_on or 'not recorded'}  \n"
        f"**Chair:** {_ui.plain(shown.chair) or 'not recorded'}"
    )
    _ui.show_table(
        pd.DataFrame([a.model_dump() for a in shown.attendees], columns=["name", "role"]),
        hide_index=True,
        key="review_attendees_view",
    )
    for field, title in TEXT_INPUTS:
        st.markdown(f"**{title}**")
        st.text(getattr(shown, field) or "Not recorded.")


def meeting_form(shown: models.ReviewRecord, label: str, me: User) -> None:
    """Date, chair, attendees and the inputs b), c), e), saved as the draft."""
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
            placeholder=_ui.MISSING,
            column_config={
                "name": st.column_config.TextColumn("Name", required=True),
                "role": st.column_config.TextColumn("Role"),
            },
            key=f"review_attendees_{form_key}",
        )
        texts = {
            field: st.text_area(
                title, value=getattr(shown, field), key=f"review_{field}_{form_key}"
            )
            for field, title in TEXT_INPUTS
        }
        if st.form_submit_button("Save review", type="primary", key=f"review_save_{form_key}"):
            rows = attendees.fillna("").to_dict("records")
            people = [
                models.Attendee(name=r["name"], role=r["role"])
                for r in rows
                if str(r["name"]).strip()
            ]
            try:
                updated = shown.model_copy(
                    update={"held_on": held_on, "chair": chair, "attendees": people, **texts}
                )
                _ui.write(Action.EDIT_REVIEWS, records.save_review, updated, me.username)
            except (models.ReviewError, pydantic.ValidationError) as error:
                st.error(str(error))
            else:
                _ui.flash(f"Review of {label} saved.")


def decisions(
    shown: models.ReviewRecord, record: models.ReviewRecord | None, editable: bool, me: User
) -> None:
    """9.3.3 decisions: one table and one way to add (and withdraw) a decision."""
    st.subheader("Decisions (9.3.3)")
    rows = views.decision_rows(shown)
    if rows:
        _ui.show_table(pd.DataFrame(rows), hide_index=True, key="review_decisions_view")
    elif not editable or record is not None:
        _ui.empty_state("No decisions recorded yet.")
    if not editable:
        return
    if record is None:
        _ui.empty_state("Save the meeting data first (Meeting and inputs), then record decisions.")
        return
    with st.form("review_add_decision", clear_on_submit=True):
        left, right = st.columns([1, 3])
        kind = left.selectbox(
            "Kind",
            list(views.KIND_TITLES),
            format_func=views.KIND_TITLES.get,
            key=_ui.fresh_key("review_new_decision_kind", "review_decision"),
        )
        text = right.text_input(
            "Decision", key=_ui.fresh_key("review_new_decision_text", "review_decision")
        )
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
                _ui.flash("Decision added.", reset="review_decision")
    if record.decisions:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        numbers = list(range(1, len(record.decisions) + 1))
        withdrawn = left.selectbox(
            "Withdraw a decision",
            numbers,
            format_func=lambda n: f"{n}. {record.decisions[n - 1].text}",
            key="review_remove_decision_pick",
        )
        if right.button("Withdraw decision", key="review_remove_decision"):
            kept = [d for n, d in enumerate(record.decisions, start=1) if n != withdrawn]
            _ui.write(
                Action.EDIT_REVIEWS,
                records.save_review,
                record.model_copy(update={"decisions": kept}),
                me.username,
            )
            _ui.flash(f"Decision {withdrawn} withdrawn.")


def raised_actions(
    label: str, record: models.ReviewRecord | None, editable: bool, me: User
) -> None:
    """The actions this review raises: table, add form, withdraw."""
    st.subheader("Actions raised by this review")
    raised = _ui.query(actions.review_actions, label)
    if raised:
        _ui.show_table(
            _ui.records_frame(views.action_rows(raised)),
            hide_index=True,
            key="review_actions_table",
        )
    else:
        _ui.empty_state("No actions raised yet.")
    if not (editable and record is not None):
        return
    with st.form("review_add_action", clear_on_submit=True):
        description = st.text_input(
            "Action", key=_ui.fresh_key("review_new_action_description", "review_action")
        )
        left, right = st.columns(2)
        owner = left.text_input(
            "Owner", key=_ui.fresh_key("review_new_action_owner", "review_action")
        )
        due_on = right.date_input(
            "Due on", value=None, key=_ui.fresh_key("review_new_action_due", "review_action")
        )
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
                _ui.flash(f"{added.action_id} added.", reset="review_action")
    removable = [a.action_id for a in raised if a.revision == record.revision]
    if removable:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        withdrawn = left.selectbox(
            "Withdraw an action raised in this draft", removable, key="review_remove_pick"
        )
        if right.button("Withdraw", key="review_remove_action"):
            _ui.write(Action.EDIT_REVIEWS, actions.remove_action, withdrawn, me.username)
            _ui.flash(f"{withdrawn} withdrawn.")


def finalise_section(
    label: str, quarter, record: models.ReviewRecord | None, can_finalise: bool, me: User
) -> None:
    """Revision history; finalise a draft, or start a new revision of a final review."""
    history = _ui.query(records.review_revisions, label)
    if history:
        _ui.show_table(
            _ui.records_frame(views.revision_rows(history)), hide_index=True, key="review_history"
        )
    if not can_finalise:
        st.caption("Governance leads finalise and revise the minutes.")
    elif record is None:
        _ui.empty_state("Record the meeting first; then finalise the minutes here.")
    elif not record.is_final:
        finalise_draft(label, quarter, record, me)
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
                    _ui.flash(f"Revision {revised.revision} created as a draft.")


def finalise_draft(label: str, quarter, record: models.ReviewRecord, me: User) -> None:
    problems = finalise.finalise_problems(record)
    if problems:
        st.warning("Before finalising: " + "; ".join(problems) + ".")
    st.caption(
        "Finalising renders the minutes, archives the PDF with its sha256 and locks this revision."
    )
    provisional = _ui.query(completeness.provisional_notes, quarter)
    confirmed = provisional and st.checkbox(
        f"{count_of(len(provisional), 'KPI')} {verb_for(len(provisional), 'is', 'are')} {completeness.PROVISIONAL_MARK} "
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
            digest = _ui.write(
                Action.FINALISE_MINUTES,
                finalise.finalise_review,
                label,
                me.username,
                confirm_provisional=bool(confirmed),
            )
        except models.ReviewError as error:
            st.error(str(error))
        else:
            _ui.flash(f"Minutes of {label} finalised and archived (sha256 {digest}).")


def main(me: User) -> None:
    point = _ui.evaluation_point()
    quarter, label = point.quarter, point.label
    st.title(f"Management review — {label}")
    st.caption(point.describe())
    _ui.show_flash()

    can_edit = _ui.allowed(Action.EDIT_REVIEWS)
    record = _ui.query(records.get_review, label)
    inputs = _ui.query(assembly.assemble_inputs, label)
    editable = can_edit and (record is None or not record.is_final)

    status_banner(label, record, can_edit)
    if _ui.allowed(Action.DOWNLOAD_MINUTES):
        minutes_downloads(label, record)

    inputs_tab, meeting_tab, decisions_tab, finalise_tab = st.tabs(
        TABS, key=TAB_KEY, on_change="rerun"
    )
    with inputs_tab:
        carried_actions(inputs, can_edit, me)
        performance_inputs(inputs, label)
    shown = record or models.ReviewRecord(quarter=label, scope=inputs.default_scope)
    with meeting_tab:
        if editable:
            meeting_form(shown, label, me)
        else:
            meeting_view(shown)
    with decisions_tab:
        decisions(shown, record, editable, me)
        raised_actions(label, record, editable, me)
    with finalise_tab:
        finalise_section(label, quarter, record, _ui.allowed(Action.FINALISE_MINUTES), me)


main(me)
