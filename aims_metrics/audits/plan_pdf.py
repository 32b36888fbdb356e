"""The audit plan (the seed's audit plan template): schedule, scope, criteria, team and the
reporting format, as a PDF and as a formula-safe CSV. Deterministic like the minutes."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, datetime

import duckdb
import pandas as pd
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer

from aims_metrics import store
from aims_metrics.audits.programme import Programme, audit_programme, programme_summary
from aims_metrics.reports.layout import CONTENT_WIDTH, build_pdf, para, status_cell, table
from aims_metrics.tables.export import safe_csv_bytes

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
        row["overdue"] = a.audit_id in programme.overdue
        row["independence_conflict"] = a.audit_id in programme.independence_conflicts
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


def _schedule(programme: Programme) -> list:
    shared = common_criteria(programme)
    flow = [para("Schedule", "h1")]
    if shared:
        flow.append(para(f"Audit criteria of every audit unless its row names others: {shared}."))
    rows = [["Audit", "Type", "When", "Status", "Auditors and auditee", "Scope"]]
    for a in programme.audits:
        when = f"{a.planned_start} – {a.planned_end or a.planned_start}"
        if a.actual_end:
            when += f"; ended {a.actual_end}"
        status = "overdue" if a.audit_id in programme.overdue else a.status
        lead = f"Lead: {a.lead_auditor or '—'} ({a.lead_auditor_unit or 'unit not set'})"
        if a.audit_id in programme.independence_conflicts:
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
    widths = [47 * mm, 21 * mm, 24 * mm, 20 * mm, 40 * mm, CONTENT_WIDTH - 152 * mm]
    return [*flow, table(rows, widths)]


APPROVERS = (
    "Prepared by (audit programme manager)",
    "Approved by (top management or the AIMS governance lead)",
)


def _approval() -> list:
    """Who prepared and who approved the plan (9.2.2: the programme is established and kept)."""
    rows = [["Role", "Name", "Date", "Signature"], *[[role, "", "", ""] for role in APPROVERS]]
    widths = [62 * mm, 45 * mm, 25 * mm, CONTENT_WIDTH - 132 * mm]
    return [KeepTogether([para("Approval", "h1"), table(rows, widths, min_row_height=9 * mm)])]


def build_plan_pdf(programme: Programme, organisation: str) -> bytes:
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
            flow += _schedule(programme)
        flow += [para("Reporting format", "h1"), para(REPORTING_FORMAT)]
        return flow + _approval()

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
    return build_plan_pdf(programme, store.get_setting(con, "organisation_name"))


def render_plan_csv(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    cycle_start: date | None = None,
    audit_type: str | None = None,
) -> bytes:
    """The audit plan of the cycle as of a date, as formula-safe CSV."""
    return plan_csv(audit_programme(con, as_of, cycle_start, audit_type))
