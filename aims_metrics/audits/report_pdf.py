"""The certification readiness report (PDF): verdict and score, blockers, the 29 clause
requirements, the Statement of Applicability and the gap register.

Byte-deterministic like the minutes: the same data and as-of date give identical bytes (the PDF
date is the as-of date, the document id and the fingerprint are derived from the data).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import duckdb
import pandas as pd
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from aims_metrics import store
from aims_metrics.audits import soa as soa_module
from aims_metrics.audits.gaps import GapPriority
from aims_metrics.audits.readiness import BLOCKER_KINDS, Readiness, blocker_groups, readiness
from aims_metrics.reports.layout import (
    APPENDIX_MAX_ROWS,
    CONTENT_WIDTH,
    build_pdf,
    para,
    section,
    status_cell,
    table,
)
from aims_metrics.tables.registry import clause_refs
from aims_metrics.vocabulary.findings import finding_count
from aims_metrics.vocabulary.status import status_word
from aims_metrics.vocabulary.wording import count_of, day, number

TITLE = "Certification readiness report"


def document_id(result: Readiness) -> str:
    return f"READINESS-{result.as_of.isoformat()}"


def fingerprint(result: Readiness, soa: pd.DataFrame) -> str:
    """sha256 over everything the report shows."""
    payload = {
        "readiness": result.to_json(),
        "soa": soa.astype(object).where(soa.notna(), None).to_dict("records"),
    }
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _summary(result: Readiness) -> list:
    counts = result.counts()
    return [
        para(result.verdict_words, "verdict"),
        para(
            f"Readiness score {result.score:.0%}: {counts['met']} of {len(result.requirements)} "
            f"clause requirements met, {counts['partial']} partly met, {counts['gap']} not met "
            "(score = met + ½ partial, over 29)."
        ),
        para(
            f"Statement of Applicability: {result.soa['applicable']} controls applicable, "
            f"{result.soa['excluded']} excluded with a justification; {result.soa['implemented']} "
            f"implemented, {result.soa['partial']} partly, {result.soa['not_started']} not started."
        ),
        para(
            f"Certification cycle from {day(result.cycle.start)} to {day(result.cycle.end)}; as of {day(result.as_of)}.",
            "muted",
        ),
    ]


def _blocker_sentence(result: Readiness, groups: pd.DataFrame) -> str:
    findings = [b for b in result.blockers if b.kind == "finding"]
    requirements = len(result.blockers) - len(findings)
    parts = []
    if findings:
        clauses = groups.loc[groups["kind"] == BLOCKER_KINDS["finding"], "clause"].nunique()
        oldest = min(b.open_since for b in findings if b.open_since)
        parts.append(
            f"{finding_count(len(findings), 'major_nc')} open against "
            f"{count_of(clauses, 'clause or control', 'clauses or controls')}, the oldest since "
            f"{oldest}"
        )
    if requirements:
        parts.append(count_of(requirements, "requirement") + " not met")
    return f"{count_of(len(result.blockers), 'blocker')}: {' and '.join(parts)}."


def _blockers(result: Readiness) -> list:
    """Blockers counted by clause and kind (oldest first); every blocker is in Appendix A."""
    flow = section("Blockers")
    if not result.blockers:
        return [*flow, para("Nothing blocks certification.")]
    groups = blocker_groups(result)
    titles = clause_refs()
    rows = [["Clause", "Title", "Kind", "Blockers", "Oldest open since"]]
    rows += [
        [
            g.clause,
            titles[g.clause].title if g.clause in titles else "—",
            g.kind,
            number(g.blockers),
            g.oldest,
        ]
        for g in groups.itertuples()
    ]
    widths = [16 * mm, CONTENT_WIDTH - 112 * mm, 36 * mm, 22 * mm, 38 * mm]
    return [
        *flow,
        para(
            f"{_blocker_sentence(result, groups)} By clause, oldest first; {_where_listed(result)}"
        ),
        Spacer(1, 4),
        table(rows, widths, numeric_columns=(3,)),
    ]


def _where_listed(result: Readiness) -> str:
    total = len(result.blockers)
    if total <= APPENDIX_MAX_ROWS:
        return "each one is listed in Appendix A."
    return (
        f"Appendix A lists the first {APPENDIX_MAX_ROWS:,} and the readiness page's blockers CSV "
        "(or readiness --blockers-csv FILE) all of them."
    )


def _blocker_list(result: Readiness) -> list:
    """Appendix A: every blocker, or the oldest within the report's bound and the way to the rest
    (the readiness page's blockers CSV, or readiness --blockers-csv FILE)."""
    if not result.blockers:
        return []
    flow = section("Appendix A: blockers")
    shown = result.blockers[:APPENDIX_MAX_ROWS]
    if len(shown) < len(result.blockers):
        flow.append(
            para(
                f"{count_of(len(result.blockers), 'blocker')}, more than this report prints "
                f"({APPENDIX_MAX_ROWS:,} rows): listed here are the first {len(shown):,} (open "
                "major nonconformities oldest first, then requirements not met). The whole list "
                "is the readiness page's blockers CSV, or readiness --blockers-csv FILE."
            )
        )
    rows = [["Kind", "ID", "Clause", "Open since", "What blocks certification"]]
    rows += [[BLOCKER_KINDS[b.kind], b.id, b.clause, b.open_since, b.text] for b in shown]
    widths = [34 * mm, 20 * mm, 16 * mm, 20 * mm, CONTENT_WIDTH - 90 * mm]
    return [*flow, table(rows, widths)]


def _requirements(result: Readiness) -> list:
    rows = [["Clause", "Requirement", "Status", "Source", "Evidence"]]
    rows += [
        [r.ref, r.title, status_cell(r.status), r.source.capitalize(), r.evidence]
        for r in result.requirements
    ]
    widths = [13 * mm, 42 * mm, 20 * mm, 18 * mm, CONTENT_WIDTH - 93 * mm]
    return [*section("Clause requirements 4.1–10.2"), table(rows, widths)]


def _soa(soa: pd.DataFrame) -> list:
    rows = [["Control", "Title", "Status", "Owner", "Justification or evidence"]]
    for r in soa.itertuples():
        status = r.implementation_status if r.applicable else "excluded"
        note = r.justification if not r.applicable else r.evidence
        rows.append([r.control_id, r.title, status_cell(status), r.owner, note])
    widths = [15 * mm, 55 * mm, 24 * mm, 30 * mm, CONTENT_WIDTH - 124 * mm]
    return [*section("Statement of Applicability (Annex A)"), table(rows, widths)]


def _gaps(result: Readiness) -> list:
    """The plans in a table; the gaps without a plan yet in one sentence by priority (a row of
    dashes each told the reader nothing and pushed the report onto another page)."""
    flow = section("Gap register")
    if not result.gaps:
        return [*flow, para("No gaps.")]
    planned = [g for g in result.gaps if g.version]
    if planned:
        rows = [
            [
                "Ref",
                "Status",
                "Priority",
                "Owner",
                "Remediation",
                "Effort (days)",
                "Target date",
                "Version",
            ]
        ]
        for g in planned:
            days = "—" if g.effort_days is None else f"{g.effort_days:g}"
            rows.append(
                [
                    g.ref,
                    status_cell(g.status),
                    g.priority.capitalize(),
                    g.owner,
                    g.remediation,
                    days,
                    g.target_date.isoformat() if g.target_date else "—",
                    str(g.version),
                ]
            )
        widths = [
            14 * mm,
            22 * mm,
            15 * mm,
            24 * mm,
            CONTENT_WIDTH - 136 * mm,
            14 * mm,
            18 * mm,
            15 * mm,
        ]
        flow.append(table(rows, widths))
        flow.append(
            para(
                "Version: of the remediation plan; every saved change is kept as a new version.",
                "muted",
            )
        )
    unplanned = [g for g in result.gaps if not g.version]
    if unplanned:
        groups = [
            f"{priority.value.capitalize()}: "
            + ", ".join(
                f"{g.ref} ({status_word(g.status).lower()})"
                for g in unplanned
                if g.priority == priority.value
            )
            for priority in GapPriority
            if any(g.priority == priority.value for g in unplanned)
        ]
        flow.append(Spacer(1, 4))
        flow.append(
            para(
                f"{count_of(len(unplanned), 'gap')} without a remediation plan yet, by "
                f"priority. {'; '.join(groups)}."
            )
        )
    return flow


def build_readiness_pdf(result: Readiness, soa: pd.DataFrame, organisation: str) -> bytes:
    """Render a readiness check to PDF bytes."""
    digest = fingerprint(result, soa)
    doc_id = document_id(result)

    def story() -> list:
        # The document line sits under the title (never alone on a last page).
        flow = [
            para(TITLE, "title"),
            para(organisation),
            para(f"Document {doc_id}; data fingerprint sha256 {digest}.", "muted"),
            Spacer(1, 6),
            *_summary(result),
        ]
        flow += _blockers(result) + _requirements(result) + _soa(soa) + _gaps(result)
        return flow + _blocker_list(result)

    return build_pdf(
        story,
        title=f"{TITLE} {result.as_of} — {organisation}",
        subject="ISO/IEC 42001 certification readiness",
        author=organisation,
        header=f"{organisation} · {TITLE} · as of {result.as_of}",
        footer=f"{doc_id} · data fingerprint {digest[:12]}",
        keywords=f"{doc_id} data-sha256:{digest}",
        moment=datetime(result.as_of.year, result.as_of.month, result.as_of.day),
    )


def render_readiness_report(con: duckdb.DuckDBPyConnection, as_of=None) -> bytes:
    """The readiness report as of a date (default today)."""
    result = readiness(con, as_of)
    soa = soa_module.soa_table(con)
    return build_readiness_pdf(result, soa, store.get_setting(con, "organisation_name"))
