"""The audit plan (the seed's audit plan template): schedule, scope, criteria, team and the
reporting format, as a PDF and as a formula-safe CSV. Deterministic like the minutes."""

from __future__ import annotations

import calendar
import hashlib
from collections import Counter
from datetime import date, datetime

import duckdb
import pandas as pd
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer

from aims_metrics import store
from aims_metrics.audits.programme import (
    CANCELLED,
    COMPLETED,
    OVERDUE,
    PLANNED,
    SCHEDULE_STATUSES,
    Audit,
    Programme,
    audit_programme,
    audits_by_quarter_and_unit,
    programme_summary,
)
from aims_metrics.metrics.as_of import fiscal_start_month
from aims_metrics.reports.charts import bar_chart
from aims_metrics.reports.layout import (
    APPENDIX_MAX_ROWS,
    CONTENT_WIDTH,
    build_pdf,
    para,
    section,
    status_cell,
    table,
)
from aims_metrics.reports.style import status_colour
from aims_metrics.tables.export import safe_csv_bytes
from aims_metrics.vocabulary.labels import column_label
from aims_metrics.vocabulary.status import status_word
from aims_metrics.vocabulary.wording import count_of, number

TITLE = "Audit plan"
REPORTING_FORMAT = (
    "Each audit ends with a closing meeting and a written report to the auditee's management and "
    "the AIMS governance lead within 10 working days. Findings are graded major "
    "nonconformity, minor nonconformity, observation or opportunity for improvement, each against "
    "a clause or Annex A control, with evidence; nonconformities get an owner and a due date "
    "(10.2). Audit results are an input to the next management review (9.3.2 d) 3)."
)
PLAN_COLUMNS = (
    "audit_id",
    "audit_type",
    "title",
    "planned_start",
    "planned_end",
    "status",
    "actual_end",
    "lead_auditor",
    "lead_auditor_unit",
    "team",
    "auditee_unit",
    "scope",
    "criteria",
    "report_on",
    "overdue",
    "independence_conflict",
)


def plan_frame(programme: Programme) -> pd.DataFrame:
    """The schedule as a table, one row per audit of the cycle (for the CSV and the page)."""
    rows = []
    for a in programme.audits:
        row = a.to_json()
        row["overdue"] = a.overdue(programme.as_of)
        row["independence_conflict"] = a.independence_conflict
        rows.append({c: row[c] for c in PLAN_COLUMNS})
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))


def plan_csv(programme: Programme) -> bytes:
    """The schedule plus the reporting format, safe to open in a spreadsheet."""
    frame = plan_frame(programme)
    frame["reporting_format"] = REPORTING_FORMAT
    return safe_csv_bytes(frame)


def common_criteria(programme: Programme) -> str | None:
    """The criteria most audits share (stated once above the schedule), or None."""
    found = Counter(a.criteria for a in programme.audits if a.criteria)
    return found.most_common(1)[0][0] if found else None


COUNTED = "audits"  # planned + completed + overdue: the audits that count (cancelled never do)


def _count_table(frame: pd.DataFrame, key: str) -> list:
    """One row per value of `key` with the audits in each schedule status, then a total row."""
    summed = frame.groupby(key, sort=True)[list(SCHEDULE_STATUSES)].sum()
    summed[COUNTED] = summed[[PLANNED, COMPLETED, OVERDUE]].sum(axis=1)
    columns = [PLANNED, COMPLETED, OVERDUE, COUNTED, CANCELLED]
    rows = [[column_label(key), *[column_label(c) for c in columns]]]
    rows += [[name, *[number(v) for v in values]] for name, values in summed[columns].iterrows()]
    rows.append(["Total", *[number(v) for v in summed[columns].sum()]])
    first = 38 * mm
    widths = [first, *[(CONTENT_WIDTH - first) / len(columns)] * len(columns)]
    return [table(rows, widths, numeric_columns=tuple(range(1, 6)), total_row=True)]


def _by_quarter_chart(frame: pd.DataFrame) -> list:
    summed = frame.groupby("quarter", sort=True)[[COMPLETED, PLANNED, OVERDUE]].sum()
    series = [
        (status_word(s), [int(v) for v in summed[s]], status_colour(s))
        for s in (COMPLETED, PLANNED, OVERDUE)
    ]
    title = "Audits per quarter (actual end once completed, else planned start), by status"
    return [bar_chart(title, list(summed.index), series, CONTENT_WIDTH, 150, stacked=True)]


def _at_a_glance(programme: Programme, start_month: int) -> list:
    """The schedule counted by quarter and by auditee unit: the summary before any list."""
    frame = audits_by_quarter_and_unit(programme, start_month)
    fiscal = "" if start_month == 1 else f" (fiscal years from {calendar.month_name[start_month]})"
    return [
        *section("Schedule at a glance"),
        para(
            f"Audits by quarter{fiscal} (of the actual end once completed, else of the planned "
            f"start: the day that places an audit in the cycle) and by auditee unit, as of "
            f"{programme.as_of}. Planned: not yet due (in progress included); overdue: past its "
            "planned end and not completed; audits: planned, completed and overdue together. "
            "A cancelled audit is listed but never counted."
        ),
        Spacer(1, 4),
        *_by_quarter_chart(frame),
        Spacer(1, 6),
        *_count_table(frame, "quarter"),
        Spacer(1, 8),
        *_count_table(frame, "auditee_unit"),
    ]


def _criteria(programme: Programme) -> list:
    shared = common_criteria(programme)
    if not shared:
        return []
    return [
        *section("Audit criteria"),
        para(f"Audit criteria of every audit unless the schedule names others: {shared}."),
    ]


def _schedule_rows(programme: Programme, audits: list[Audit]) -> list:
    shared = common_criteria(programme)
    rows = [["Audit", "Type", "When", "Status", "Auditors and auditee", "Scope"]]
    for a in audits:
        when = f"{a.planned_start} – {a.planned_end or a.planned_start}"
        if a.actual_end:
            when += f"; ended {a.actual_end}"
        status = OVERDUE if a.overdue(programme.as_of) else a.status
        lead = f"Lead: {a.lead_auditor or '—'} ({a.lead_auditor_unit or 'unit not set'})"
        if a.independence_conflict:
            lead += ", the audited unit itself (9.2.2 objectivity)"
        rows.append(
            [
                f"{a.audit_id}: {a.title}"
                + (f". Criteria: {a.criteria}" if a.criteria != shared else ""),
                a.audit_type.capitalize(),
                when,
                status_cell(status),
                f"{lead}. Team: {a.team or '—'}. Auditee: {a.auditee_unit or '—'}",
                "; ".join(a.scope),
            ]
        )
    widths = [42 * mm, 21 * mm, 27 * mm, 20 * mm, 44 * mm, CONTENT_WIDTH - 154 * mm]
    return [table(rows, widths)]


def needs_attention(programme: Programme) -> list[Audit]:
    """The audits a reader of a long schedule must still see: not completed (planned, in
    progress, overdue or cancelled) or led from the audited unit."""
    return [
        a
        for a in programme.audits
        if a.schedule_status(programme.as_of) != COMPLETED or a.independence_conflict
    ]


def _schedule(programme: Programme) -> list:
    """Appendix A: the whole schedule when it fits the report's bound, else the audits that need
    attention (within the bound) and the way to the whole schedule: its CSV."""
    flow = section("Appendix A: schedule")
    audits = programme.audits
    if len(audits) <= APPENDIX_MAX_ROWS:
        return [*flow, *_schedule_rows(programme, audits)]
    attention = needs_attention(programme)
    shown = attention[:APPENDIX_MAX_ROWS]
    flow.append(
        para(
            f"The schedule holds {count_of(len(audits), 'audit')}, more than this report prints "
            f"({APPENDIX_MAX_ROWS:,} rows): the whole schedule is the plan's CSV (the Audit "
            "programme page's download, or audits plan --out FILE.csv), whose sha256 is this "
            "document's data fingerprint. Listed here: the "
            + count_of(len(attention), "audit")
            + " not completed or led from the audited unit"
            + (
                f", the first {len(shown):,} by planned start."
                if len(shown) < len(attention)
                else "."
            )
        )
    )
    if shown:
        flow += _schedule_rows(programme, shown)
    return flow


APPROVERS = (
    "Prepared by (audit programme manager)",
    "Approved by (top management or the AIMS governance lead)",
)


def _approval() -> list:
    """Who prepared and who approved the plan (9.2.2: the programme is established and kept)."""
    rows = [["Role", "Name", "Date", "Signature"], *[[role, "", "", ""] for role in APPROVERS]]
    widths = [62 * mm, 45 * mm, 25 * mm, CONTENT_WIDTH - 132 * mm]
    return [KeepTogether([para("Approval", "h1"), table(rows, widths, min_row_height=9 * mm)])]


def build_plan_pdf(programme: Programme, organisation: str, start_month: int = 1) -> bytes:
    """The audit plan: the programme in sentences, the schedule counted by quarter and unit,
    criteria, reporting format and approval, then the schedule itself as Appendix A. The fiscal
    year of the quarters starts in `start_month`."""
    csv_digest = hashlib.sha256(plan_csv(programme)).hexdigest()
    doc_id = f"AUDIT-PLAN-{programme.cycle.start}-{programme.as_of}"

    def story() -> list:
        flow = [
            para(TITLE, "title"),
            para(organisation),
            para(f"Document {doc_id}; data fingerprint sha256 {csv_digest}.", "muted"),
            Spacer(1, 6),
        ]
        flow += [para(line) for line in programme_summary(programme)]
        if not programme.audits:
            flow.append(para("No audits in this cycle yet — import audits.csv.", "muted"))
        else:
            flow += _at_a_glance(programme, start_month) + _criteria(programme)
        flow += [*section("Reporting format"), para(REPORTING_FORMAT)]
        flow += _approval()
        return flow + (_schedule(programme) if programme.audits else [])

    return build_pdf(
        story,
        title=f"{TITLE} {programme.cycle.start} – {programme.cycle.end} — {organisation}",
        subject="ISO/IEC 42001 9.2.2 internal audit programme",
        author=organisation,
        header=f"{organisation} · {TITLE} · cycle {programme.cycle.start} – {programme.cycle.end}",
        footer=f"{doc_id} · data fingerprint {csv_digest[:12]}",
        keywords=f"{doc_id} data-sha256:{csv_digest}",
        moment=datetime(programme.as_of.year, programme.as_of.month, programme.as_of.day),
    )


def render_plan_pdf(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    cycle_start: date | None = None,
    audit_type: str | None = None,
) -> bytes:
    """The audit plan of the cycle as of a date, as a PDF."""
    programme = audit_programme(con, as_of, cycle_start, audit_type)
    organisation = store.get_setting(con, "organisation_name")
    return build_plan_pdf(programme, organisation, fiscal_start_month(con))


def render_plan_csv(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    cycle_start: date | None = None,
    audit_type: str | None = None,
) -> bytes:
    """The audit plan of the cycle as of a date, as formula-safe CSV."""
    return plan_csv(audit_programme(con, as_of, cycle_start, audit_type))
