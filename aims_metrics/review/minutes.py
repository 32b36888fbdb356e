"""The quarterly management review minutes as a PDF (ReportLab; design §6, ISO/IEC 42001 9.3).

One section per 9.3.2 input a)–e) and one for the 9.3.3 results, with the KPI table, charts drawn
with reportlab.graphics (no browser needed), aging, objective progress, decisions and actions, an
approval block, "Page X of Y", the document id and a fingerprint of the data used.

Deterministic: the same data and review record give byte-identical files. ReportLab runs in
invariant mode, the PDF dates come from the review record (never "now"), and every input is sorted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import duckdb
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from aims_metrics.metrics.completeness import PROVISIONAL_MARK
from aims_metrics.metrics.formatting import format_change, format_value
from aims_metrics.metrics.periods import Quarter
from aims_metrics.reports.layout import build_pdf
from aims_metrics.reports.style import (
    CONTENT_WIDTH,
    NO_DATA,
    cell,
    day_text,
    fonts,
    heading1,
    heading2,
    key_values,
    long_day_text,
    para,
    paragraph_styles,
    safe,
    status_swatch,
    table,
    watermark,
    when_text,
)
from aims_metrics.review import views
from aims_metrics.review.assembly import FINDING_TYPES, ReviewInputs, assemble_inputs
from aims_metrics.review.fairness_minutes import bias_groups_section
from aims_metrics.review.minutes_charts import kpi_trend_rows, nonconformity_charts
from aims_metrics.review.models import (
    ActionState,
    CarriedAction,
    ReviewRecord,
    document_id,
)
from aims_metrics.review.records import get_review
from aims_metrics.vocabulary.findings import finding_count, finding_look, finding_title
from aims_metrics.vocabulary.status import KPI_STATUSES, status_label
from aims_metrics.vocabulary.wording import count_of, day

# --- vocabulary shown in the minutes ---------------------------------------------------------

TITLE = "Management review minutes"
HEADING_MEETING = "Meeting"
HEADING_ATTENDEES = "Attendees"
HEADING_AGENDA = "Agenda"
HEADING_A = "9.3.2 a) Status of actions from previous management reviews"
HEADING_B = "9.3.2 b) Changes in external and internal issues"
HEADING_C = "9.3.2 c) Changes in needs and expectations of interested parties"
HEADING_D = "9.3.2 d) Information on AIMS performance"
HEADING_D1 = "d) 1. Nonconformities and corrective actions"
HEADING_D2 = "d) 2. Monitoring and measurement results"
HEADING_OBJECTIVES = "Objective progress (6.2)"
HEADING_D3 = "d) 3. Audit results"
HEADING_E = "9.3.2 e) Opportunities for continual improvement"
HEADING_RESULTS = "9.3.3 Results: decisions and actions"
HEADING_APPROVAL = "Approval"

SECTION_HEADINGS: tuple[str, ...] = (
    HEADING_MEETING,
    HEADING_ATTENDEES,
    HEADING_AGENDA,
    HEADING_A,
    HEADING_B,
    HEADING_C,
    HEADING_D,
    HEADING_D1,
    HEADING_D2,
    HEADING_OBJECTIVES,
    HEADING_D3,
    HEADING_E,
    HEADING_RESULTS,
    HEADING_APPROVAL,
)

AGENDA: tuple[str, ...] = (
    "Opening: attendees, scope of the AIMS, approval of the agenda",
    "a) Status of actions from previous management reviews",
    "b) Changes in external and internal issues relevant to the AIMS",
    "c) Changes in needs and expectations of interested parties relevant to the AIMS",
    "d) Information on AIMS performance: nonconformities and corrective actions, monitoring "
    "and measurement results, audit results",
    "e) Opportunities for continual improvement",
    "Results (9.3.3): decisions on improvement, changes to the AIMS and resources; actions",
    "Approval of the minutes",
)


MAX_CLAUSE_ROWS = 15


# --- the document --------------------------------------------------------------------------


def _record_timestamp(record: ReviewRecord | None, quarter: Quarter) -> datetime:
    """The PDF's creation date: when the record was finalised or last saved, else the quarter end."""
    if record is not None:
        stamp = record.finalised_at if record.is_final else (record.updated_at or record.created_at)
        if stamp is not None:
            return stamp
    return datetime(quarter.end.year, quarter.end.month, quarter.end.day)


def _status_line(record: ReviewRecord | None) -> str:
    if record is None:
        return (
            "DRAFT review pack: no review record exists yet. Inputs a) and d) are assembled from "
            "the data; the meeting, inputs b), c), e) and the results are to be completed."
        )
    if record.is_final:
        return (
            f"FINAL, revision {record.revision}: finalised by {record.finalised_by} on "
            f"{when_text(record.finalised_at)}. This revision is locked; any change makes a new revision."
        )
    return (
        f"DRAFT, revision {record.revision}: not finalised; last saved by "
        f"{record.updated_by or record.created_by} on {when_text(record.updated_at or record.created_at)}."
    )


def _text_section(heading: str, text: str, record: ReviewRecord | None) -> list:
    if text.strip():
        body: Flowable = cell(text)
    elif record is None or not record.is_final:
        body = cell("Not recorded yet: to be completed at the meeting.", "empty")
    else:
        body = cell("Nothing to report for this quarter.", "empty")
    return [heading1(heading), body]


def _carried_section(inputs: ReviewInputs) -> list:
    flow: list = [heading1(HEADING_A)]
    carried = inputs.carried
    if not carried:
        flow.append(
            cell(
                "No actions from earlier management reviews were open at the start of the quarter "
                "or closed during it.",
                "empty",
            )
        )
        return flow
    counts = {state: sum(1 for c in carried if c.state is state) for state in ActionState}
    flow.append(
        cell(
            f"{count_of(len(carried), 'action')} from earlier reviews, status as of "
            f"{inputs.as_of.isoformat()}: {counts[ActionState.DONE]} done, "
            f"{counts[ActionState.OPEN]} open, {counts[ActionState.OVERDUE]} overdue. Actions stay "
            "listed here until they are closed."
        )
    )
    flow.append(Spacer(1, 3))
    rows: list[list[Any]] = [["Action", "Description", "Owner", "Due", "Status", "Closed"]]
    for item in carried:
        rows.append(_carried_row(item))
    widths = [27 * mm, 54 * mm, 25 * mm, 20 * mm, 28 * mm, 20 * mm]
    flow.append(table(rows, widths))
    return flow


def _carried_row(item: CarriedAction) -> list[Any]:
    action = item.action
    suffix = ""
    if item.state is ActionState.DONE and item.on_time is False:
        suffix = " (late)"
    elif item.state is ActionState.OVERDUE:
        suffix = f" ({item.days_overdue} d)"
    description = escape(safe(action.description))
    if action.closing_note:
        description += (
            f'<br/><font color="#5A5A5A">Note: {escape(safe(action.closing_note))}</font>'
        )
    return [
        cell(action.action_id, "cell"),
        para(description, "cell"),
        cell(action.owner, "cell"),
        day_text(action.due_on),
        status_swatch(item.state, suffix),
        day_text(action.closed_on if item.state is ActionState.DONE else None),
    ]


def _nonconformity_section(inputs: ReviewInputs) -> list:
    flow: list = [heading2(HEADING_D1)]
    current = inputs.nonconformity_trend[-1] if inputs.nonconformity_trend else None
    aging = inputs.aging
    if current is not None:
        flow.append(
            cell(
                f"At {inputs.quarter.end.isoformat()}, {current.open_at_end} nonconformities "
                f"(major and minor) were open, {current.overdue_at_end} of them past their due "
                f"date; {current.raised} were raised and {current.closed} closed in the quarter. "
                f"Open findings of any type: {aging.open_total}, overdue: {aging.overdue}."
            )
        )
    flow.append(Spacer(1, 3))
    rows: list[list[Any]] = [
        ["Quarter", "Raised", "Closed", "Open at end", "Overdue at end", "Mean days to close"]
    ]
    for n in inputs.nonconformity_trend:
        rows.append(
            [
                n.quarter,
                str(n.raised),
                str(n.closed),
                str(n.open_at_end),
                str(n.overdue_at_end),
                "—" if n.mean_days_to_close is None else f"{n.mean_days_to_close:.1f}",
            ]
        )
    flow.append(table(rows, [30 * mm] + [(CONTENT_WIDTH - 30 * mm) / 5] * 5, (1, 2, 3, 4, 5)))
    flow.append(Spacer(1, 6))
    flow.append(nonconformity_charts(inputs))
    flow.append(Spacer(1, 6))
    aging_rows: list[list[Any]] = [
        ["Age (days)", *[finding_title(t) for t in FINDING_TYPES], "Total"]
    ]
    for bucket in aging.buckets:
        aging_rows.append(
            [bucket.bucket, *[str(getattr(bucket, t)) for t in FINDING_TYPES], str(bucket.total)]
        )
    aging_rows.append(
        [
            cell("All open", "cell_bold"),
            *[str(sum(getattr(b, t) for b in aging.buckets)) for t in FINDING_TYPES],
            cell(str(aging.open_total), "cell_bold"),
        ]
    )
    flow.append(
        KeepTogether(
            [
                cell(
                    f"Aging of open findings at {day(aging.as_of)} (all finding types; "
                    f"overdue: {aging.overdue})",
                    "cell_bold",
                ),
                Spacer(1, 2),
                table(
                    aging_rows,
                    [30 * mm] + [(CONTENT_WIDTH - 30 * mm) / 5] * 5,
                    (1, 2, 3, 4, 5),
                    total_row=True,
                ),
            ]
        )
    )
    return flow


def _kpi_section(inputs: ReviewInputs) -> list:
    flow: list = [heading2(HEADING_D2)]
    if not inputs.kpis:
        flow.append(cell("No metric definitions are installed: run init.", "empty"))
        return flow
    counts = {s: sum(1 for k in inputs.kpis if k.status.value == s) for s in KPI_STATUSES}
    flow.append(
        cell(
            f"{len(inputs.kpis)} KPIs of the metric catalog for {inputs.quarter.label}: "
            f"{counts['green']} green, {counts['amber']} amber, {counts['red']} red, "
            f"{counts['no_data']} without data. Each figure carries name@version so it can be "
            "reproduced from the same definition."
        )
    )
    flow.append(Spacer(1, 3))
    rows: list[list[Any]] = [
        ["Metric (name@version)", "Value", "Target", "Status", "Change vs previous quarter"]
    ]
    notes, provisional = [], []
    for kpi in inputs.kpis:
        metric = (
            f"{escape(safe(kpi.label))}<br/>"
            f'<font size="6.5" color="#5A5A5A">{escape(kpi.ref)} · clause {escape(kpi.clause)}'
            + (f" · {escape(kpi.window_note)}" if kpi.window_note else "")
            + (f" · <b>{safe(PROVISIONAL_MARK)}</b>" if kpi.name in inputs.provisional else "")
            + "</font>"
        )
        if kpi.problem:
            notes.append(f"{kpi.ref}: {kpi.problem}")
        if kpi.name in inputs.provisional:
            provisional.append(f"{kpi.ref}: {'; '.join(inputs.provisional[kpi.name])}")
        rows.append(
            [
                para(metric, "cell"),
                format_value(kpi.value, kpi.unit, NO_DATA),
                format_value(kpi.target, kpi.unit, NO_DATA) if kpi.target is not None else "—",
                status_swatch(kpi.status),
                format_change(kpi.value, kpi.previous_value, kpi.unit, kpi.direction),
            ]
        )
    widths = [74 * mm, 20 * mm, 20 * mm, 22 * mm, CONTENT_WIDTH - 136 * mm]
    flow.append(table(rows, widths, (1, 2)))
    legend = " ".join(escape(status_label(s)) for s in KPI_STATUSES)
    flow.append(
        para(
            f"Status against the metric's thresholds: {legend}. Change compares with "
            f"{inputs.quarter.previous().label} computed with the same definition version.",
            "muted",
        )
    )
    for note in notes:
        flow.append(cell(f"No value — {note}", "muted"))
    for note in provisional:
        flow.append(cell(f"{safe(PROVISIONAL_MARK)} — {note}", "muted"))
    flow.append(Spacer(1, 6))
    flow.append(CondPageBreak(60 * mm))
    flow.append(
        cell(
            f"KPI trends over {inputs.trend_quarters[0]}–{inputs.trend_quarters[-1]} "
            "(line: value; dashed: target)",
            "cell_bold",
        )
    )
    flow.append(Spacer(1, 2))
    flow.extend(kpi_trend_rows(inputs))
    return flow


def _objective_section(inputs: ReviewInputs) -> list:
    flow: list = [heading2(HEADING_OBJECTIVES)]
    if not inputs.objectives:
        flow.append(
            cell("No AI objectives are recorded: add them on the Objectives page.", "empty")
        )
        return flow
    units = {k.name: k.unit for k in inputs.kpis}
    rows: list[list[Any]] = [["Objective", "Target", "Deadline", "Value", "Progress", "Status"]]
    for progress in inputs.objectives:
        objective = progress.objective
        unit = units.get(objective.metric, "count")
        title = (
            f'{escape(safe(objective.title))}<br/><font size="6.5" color="#5A5A5A">'
            f"{escape(objective.objective_id)} · metric {escape(objective.metric)}"
            f"{' · owner ' + escape(safe(objective.owner)) if objective.owner else ''}</font>"
        )
        if progress.progress is None:
            done = "—"
        else:
            done = f"{progress.progress * 100:.0f} %"
            if progress.expected is not None:
                done += f" (time {progress.expected * 100:.0f} %)"
        rows.append(
            [
                para(title, "cell"),
                format_value(objective.target, unit, NO_DATA),
                day_text(objective.deadline),
                format_value(progress.value, unit, NO_DATA),
                done,
                status_swatch(progress.status),
            ]
        )
    widths = [70 * mm, 18 * mm, 20 * mm, 18 * mm, 25 * mm, CONTENT_WIDTH - 151 * mm]
    flow.append(table(rows, widths, (1, 3)))
    flow.append(
        cell(
            "Progress: share of the way from the baseline to the target; time: share of the time "
            "from the baseline date to the deadline already elapsed.",
            "muted",
        )
    )
    return flow


def _audit_section(inputs: ReviewInputs) -> list:
    flow: list = [heading2(HEADING_D3)]
    if not inputs.audits:
        flow.append(cell(f"No audit findings were raised in {inputs.quarter.label}.", "empty"))
        return flow + _programme_lines(inputs)
    total = sum(inputs.findings_by_type.values())
    parts = ", ".join(finding_count(inputs.findings_by_type[t], t) for t in FINDING_TYPES)
    flow.append(
        cell(
            f"{count_of(len(inputs.audits), 'audit')} raised {count_of(total, 'finding')} in {inputs.quarter.label}: "
            f"{parts}."
        )
    )
    flow.append(Spacer(1, 3))
    short = [finding_look(t).short for t in FINDING_TYPES]
    rows: list[list[Any]] = [["Audit", "Type", "Findings raised", *short, "Total"]]
    shown_audits, more_audits = views.ranked_audits(inputs)  # the rest summed below the table
    for audit in shown_audits:
        dates = audit.first_raised_on.isoformat()
        if audit.last_raised_on != audit.first_raised_on:
            dates += f" – {audit.last_raised_on.isoformat()}"
        rows.append(
            [
                audit.audit_id,
                audit.audit_type.capitalize(),
                dates,
                *[str(audit.by_type.get(t, 0)) for t in FINDING_TYPES],
                str(audit.findings),
            ]
        )
    num_w = 16 * mm
    flow.append(
        table(
            rows,
            [30 * mm, 24 * mm, CONTENT_WIDTH - 54 * mm - 5 * num_w, *[num_w] * 5],
            (3, 4, 5, 6, 7),
        )
    )
    if more := views.more_audits_line(more_audits):
        flow.append(cell(more, "muted"))
    flow.append(Spacer(1, 6))
    clause_rows: list[list[Any]] = [["Clause", "Title", *short, "Total"]]
    shown = inputs.findings_by_clause[:MAX_CLAUSE_ROWS]
    for clause in shown:
        clause_rows.append(
            [
                clause.clause_ref,
                clause.title,
                *[str(clause.by_type.get(t, 0)) for t in FINDING_TYPES],
                str(clause.total),
            ]
        )
    flow.append(cell("Findings of the quarter by clause or control", "cell_bold"))
    flow.append(Spacer(1, 2))
    flow.append(
        table(
            clause_rows,
            [18 * mm, CONTENT_WIDTH - 18 * mm - 5 * num_w, *[num_w] * 5],
            (2, 3, 4, 5, 6),
        )
    )
    rest = inputs.findings_by_clause[MAX_CLAUSE_ROWS:]
    if rest:
        flow.append(
            cell(
                f"… and {count_of(len(rest), 'more clause')} with "
                f"{count_of(sum(c.total for c in rest), 'finding')}.",
                "muted",
            )
        )
    flow.append(
        cell(
            "Audits are identified by the audit id of the findings raised in the quarter.", "muted"
        )
    )
    return flow + _programme_lines(inputs)


def _programme_lines(inputs: ReviewInputs) -> list:
    """The 9.2.2 audit programme as of the quarter end (aims_metrics.audits.programme)."""
    if not inputs.audit_programme:
        return []
    return [Spacer(1, 4), cell("Audit programme (9.2.2)", "cell_bold")] + [
        cell(line) for line in inputs.audit_programme
    ]


def _results_section(inputs: ReviewInputs, record: ReviewRecord | None) -> list:
    flow: list = [heading1(HEADING_RESULTS)]
    decisions = record.decisions if record else []
    if decisions:
        rows: list[list[Any]] = [["No.", "Kind", "Decision"]]
        for number, decision in enumerate(decisions, start=1):
            rows.append([str(number), decision.kind.title, cell(decision.text, "cell")])
        flow.append(table(rows, [12 * mm, 34 * mm, CONTENT_WIDTH - 46 * mm]))
    else:
        flow.append(cell("No decisions recorded yet.", "empty"))
    flow.append(Spacer(1, 6))
    flow.append(
        cell("Actions raised by this review (each with an owner and a due date)", "cell_bold")
    )
    flow.append(Spacer(1, 2))
    if inputs.new_actions:
        rows = [["Action", "Description", "Owner", "Due", "Status"]]
        for action in inputs.new_actions:
            status = (
                "Done " + day_text(action.closed_on) if action.status.value == "done" else "Open"
            )
            rows.append(
                [
                    action.action_id,
                    cell(action.description, "cell"),
                    cell(action.owner, "cell"),
                    day_text(action.due_on),
                    status,
                ]
            )
        flow.append(table(rows, [27 * mm, 75 * mm, 32 * mm, 20 * mm, CONTENT_WIDTH - 154 * mm]))
        flow.append(
            cell(
                "The next management review reports the status of these actions under input a).",
                "muted",
            )
        )
    else:
        flow.append(cell("No actions raised.", "empty"))
    flow.append(Spacer(1, 4))
    flow.append(
        cell(
            "These minutes are the documented information kept as evidence of the results of the "
            "management review (ISO/IEC 42001 9.3.3, 7.5).",
            "muted",
        )
    )
    return flow


def _approval_block(record: ReviewRecord | None) -> Flowable:
    regular, bold, _ = fonts()
    chair = record.chair if record and record.chair else ""
    styles = paragraph_styles()
    line = "_" * 38
    rows = [
        [Paragraph("Chair", styles["head"]), cell(chair or "—", "cell")],
        [Paragraph("Signature", styles["head"]), cell(line, "cell")],
        [Paragraph("Date", styles["head"]), cell(line, "cell")],
    ]
    table = Table(rows, colWidths=[36 * mm, 90 * mm], rowHeights=[16, 26, 26], hAlign="LEFT")
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (-1, -1), 4)])
    )
    if record is not None and record.is_final:
        note = (
            f"Finalised in AIMS Review by {record.finalised_by} on {when_text(record.finalised_at)} "
            f"and archived as {record.document_id} with its sha256."
        )
    else:
        note = (
            "Draft: the minutes are approved when the review is finalised and signed by the chair."
        )
    return KeepTogether([heading1(HEADING_APPROVAL), cell(note, "muted"), Spacer(1, 4), table])


def minutes_story(inputs: ReviewInputs, record: ReviewRecord | None, fingerprint: str) -> list:
    """The flowables of the minutes, in order."""
    quarter = inputs.quarter
    doc_id = record.document_id if record else document_id(quarter, None)
    flow: list = [
        cell(inputs.organisation, "title"),
        cell(f"{TITLE} — {quarter.label}", "subtitle"),
        cell(
            f"Quarter {quarter.label}: {long_day_text(quarter.start)} – {long_day_text(quarter.end)}",
            "muted",
        ),
        Spacer(1, 4),
        cell(_status_line(record), "small"),
        heading1(HEADING_MEETING),
    ]
    meeting: list[tuple[str, Any]] = [
        ("Document id", doc_id),
        (
            "Date held",
            day_text(record.held_on) if record and record.held_on else "not recorded yet",
        ),
        ("Chair", record.chair if record and record.chair else "not recorded yet"),
        ("AIMS scope", (record.scope if record and record.scope else inputs.default_scope)),
        (
            "Data",
            f"Figures as of the quarter end {quarter.end.isoformat()}; action status as of "
            f"{inputs.as_of.isoformat()}.",
        ),
        (
            "Data fingerprint",
            f"sha256 {fingerprint[:16]}…" if fonts()[2] else f"sha256 {fingerprint[:16]}...",
        ),
    ]
    if record is not None and record.revision > 1:
        meeting.append(
            (
                "Revision",
                f"Revision {record.revision} of the minutes, created by {record.created_by} on "
                f"{when_text(record.created_at)}. Reason: {record.revision_reason or '—'}",
            )
        )
    flow.append(key_values(meeting))
    flow.append(heading1(HEADING_ATTENDEES))
    attendees = record.attendees if record else []
    if attendees:
        rows: list[list[Any]] = [["Name", "Role"]]
        rows += [[cell(a.name, "cell"), cell(a.role or "—", "cell")] for a in attendees]
        flow.append(table(rows, [60 * mm, CONTENT_WIDTH - 60 * mm]))
    else:
        flow.append(cell("Not recorded yet.", "empty"))
    flow.append(heading1(HEADING_AGENDA))
    flow.append(
        para(
            "<br/>".join(f"{n}. {escape(safe(item))}" for n, item in enumerate(AGENDA, start=1)),
            "body",
        )
    )
    flow += _carried_section(inputs)
    flow += _text_section(HEADING_B, record.input_b if record else "", record)
    flow += _text_section(HEADING_C, record.input_c if record else "", record)
    flow.append(CondPageBreak(80 * mm))
    flow.append(heading1(HEADING_D))
    flow += _nonconformity_section(inputs)
    flow.append(CondPageBreak(60 * mm))
    flow += _kpi_section(inputs)
    flow += bias_groups_section(inputs.bias_groups)
    flow.append(CondPageBreak(40 * mm))
    flow += _objective_section(inputs)
    flow.append(CondPageBreak(50 * mm))
    flow += _audit_section(inputs)
    flow += _text_section(HEADING_E, record.input_e if record else "", record)
    flow.append(CondPageBreak(60 * mm))
    flow += _results_section(inputs, record)
    flow.append(_approval_block(record))
    return flow


def build_minutes_pdf(inputs: ReviewInputs, record: ReviewRecord | None) -> bytes:
    """Render assembled inputs and a review record (None: a draft pack) to PDF bytes."""
    quarter = inputs.quarter
    fingerprint = inputs.fingerprint(record)
    doc_id = record.document_id if record else document_id(quarter, None)
    draft = record is None or not record.is_final
    return build_pdf(
        lambda: minutes_story(inputs, record, fingerprint),
        title=f"{TITLE} {quarter.label} — {inputs.organisation}",
        subject="ISO/IEC 42001 9.3 management review",
        author=inputs.organisation,
        header=f"{inputs.organisation} · {TITLE} {quarter.label}",
        footer=f"{doc_id} · data fingerprint {fingerprint[:12]}",
        keywords=f"{doc_id} data-sha256:{fingerprint}",
        moment=_record_timestamp(record, quarter),
        mark="DRAFT" if draft else "FINAL",
        on_page=watermark(draft),
    )


def render_minutes(
    con: duckdb.DuckDBPyConnection, quarter: Quarter | str, record: ReviewRecord | None = None
) -> bytes:
    """The minutes of a quarter's latest review revision (a draft pack when none exists yet)."""
    inputs = assemble_inputs(con, quarter)
    if record is None:
        record = get_review(con, inputs.quarter)
    return build_minutes_pdf(inputs, record)
