"""Demo audit programme, Statement of Applicability, attestations and gap plans (seeded).

Built on the loaded findings: every audit id the findings name becomes a completed audit (so the
findings link to the programme), internal audits rotate through the clauses and Annex A so that a
few requirements are still uncovered two years in, the rest of the three-year cycle is planned,
one audit is overdue, one is led from the unit it audits, and one was cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from aims_metrics import store
from aims_metrics.audits.gaps import save_gap_plans
from aims_metrics.audits.programme import Cycle
from aims_metrics.audits.readiness import DATA_JUDGED
from aims_metrics.demo.common import QUARTERS
from aims_metrics.metrics.periods import Quarter
from aims_metrics.tables.registry import control_refs, requirement_refs

AUDITS_SEED = 4201
INTERNAL_SCOPES = (
    ("4;5", "AI Governance Office"),
    ("6;A.2;A.3", "AI Governance Office"),
    ("8;A.5", "Risk Management"),
    ("9;10", "AI Governance Office"),
    ("7.1;7.2;7.3;A.4", "People & Platforms"),
    ("A.6;A.7", "Data Science"),
    ("8.1;8.2;8.3;A.8", "Engineering"),
    ("9.1;9.2;A.10", "Procurement"),
)
EXTERNAL_SCOPES = {
    "certification": "4;5;6;8;9;10",
    "surveillance": "9;10;A.6",
    "external": "A.10;8.1",
}
AUDITORS = ("Amira Novak", "Ravi Singh", "Lena Fischer", "Tomás Ortega")
CRITERIA = (
    "ISO/IEC 42001:2023 (clauses and controls in scope); AI policy POL-AI-01; AIMS procedures"
)
EXCLUDED = {
    "A.10.4": "No AI products or services are provided to customers: every AI system is for "
    "internal use.",
    "A.7.3": "No data is acquired from third parties: all training data is generated in-house.",
}
NOT_IN_SOA = ("A.6.2.8", "A.9.4")  # not yet assessed: counted as applicable and not started
CONTROL_OWNERS = ("Head of AI Governance", "Chief Data Officer", "ML Platform Lead", "CISO")
PARTIAL_ATTESTATIONS = {
    "7.2": "Competence records complete for 9 of 12 data scientists (training plan TP-2025).",
    "6.3": "Change procedure PR-CHG-02 approved; not yet applied to model retraining.",
}
GAP_ATTESTATIONS = {
    "7.5.3": "Document control procedure PR-DOC-01 is still a draft.",
}


def _audit_rows(findings: list[tuple], cycle_start: date, end: date) -> list[dict]:
    """One completed audit per audit id the findings name (internal ones rotate the scopes)."""
    rows, internal = [], 0
    for audit_id, audit_type, first, last in findings:
        if audit_type == "internal":
            scope, auditee = INTERNAL_SCOPES[internal % len(INTERNAL_SCOPES)]
            lead_unit = "Internal Audit" if internal != 5 else "Data Science"  # one conflict
            title = f"Internal audit {internal + 1}: {scope.replace(';', ', ')}"
            internal += 1
        else:
            scope, auditee, lead_unit = (
                EXTERNAL_SCOPES[audit_type],
                "AI Governance Office",
                "Certification body",
            )
            title = f"{audit_type.capitalize()} audit by the certification body"
        start = first - timedelta(days=3)
        actual_end = min(last + timedelta(days=1), end)
        rows.append(
            {
                "audit_id": audit_id,
                "audit_type": audit_type,
                "title": title,
                "planned_start": start,
                "planned_end": start + timedelta(days=4),
                "status": "completed",
                "actual_end": actual_end,
                "lead_auditor": AUDITORS[len(rows) % len(AUDITORS)],
                "lead_auditor_unit": lead_unit,
                "team": "; ".join(AUDITORS[(len(rows) + 1) % 4 :][:2]),
                "auditee_unit": auditee,
                "scope": scope,
                "criteria": CRITERIA,
                "report_on": min(actual_end + timedelta(days=7), end),
            }
        )
    return rows


def _planned_rows(end_quarter: Quarter, cycle_end: date) -> list[dict]:
    """The rest of the cycle: planned audits, one overdue, one cancelled."""
    q1 = end_quarter.shift(2)  # after the quarter in progress
    plan = [
        (
            "IA-SUPPLIERS",
            "internal",
            "Supplier and third-party controls",
            end_quarter.start + timedelta(days=20),
            "in_progress",
            "A.10;8.1",
            "Procurement",
        ),
        (
            "IA-USE",
            "internal",
            "Responsible use of AI systems (cancelled: auditor unavailable)",
            end_quarter.start + timedelta(days=40),
            "cancelled",
            "A.9",
            "Engineering",
        ),
        (
            "IA-DOCS",
            "internal",
            "Communication and documented information",
            q1.start + timedelta(days=30),
            "planned",
            "7.4;7.5",
            "AI Governance Office",
        ),
        (
            "IA-LEADERSHIP",
            "internal",
            "Context, leadership and planning",
            q1.next().start + timedelta(days=30),
            "planned",
            "4;5;6",
            "AI Governance Office",
        ),
        (
            "IA-LIFECYCLE",
            "internal",
            "AI system life cycle and data",
            q1.shift(2).start + timedelta(days=30),
            "planned",
            "A.6;A.7;8.4",
            "Data Science",
        ),
        (
            "CB-SURV-Y3",
            "surveillance",
            "Surveillance audit 2 by the certification body",
            q1.shift(3).start + timedelta(days=20),
            "planned",
            "9;10;A.5",
            "AI Governance Office",
        ),
    ]
    rows = []
    for n, (audit_id, kind, title, start, status, scope, auditee) in enumerate(plan):
        if start > cycle_end:
            continue
        rows.append(
            {
                "audit_id": audit_id,
                "audit_type": kind,
                "title": title,
                "planned_start": start,
                "planned_end": start + timedelta(days=5),
                "status": status,
                "actual_end": None,
                "lead_auditor": AUDITORS[n % 4],
                "lead_auditor_unit": "Internal Audit"
                if kind == "internal"
                else "Certification body",
                "team": AUDITORS[(n + 2) % 4],
                "auditee_unit": auditee,
                "scope": scope,
                "criteria": CRITERIA,
                "report_on": None,
            }
        )
    return rows


def _soa_rows(rng: np.random.Generator) -> list[dict]:
    rows = []
    for n, ref in enumerate(r for r in control_refs() if r not in NOT_IN_SOA):
        if ref in EXCLUDED:
            rows.append(
                {
                    "control_id": ref,
                    "applicable": False,
                    "justification": EXCLUDED[ref],
                    "implementation_status": None,
                    "owner": "Head of AI Governance",
                    "evidence": None,
                }
            )
            continue
        status = rng.choice(["implemented", "partial", "not_started"], p=[0.7, 0.22, 0.08])
        rows.append(
            {
                "control_id": ref,
                "applicable": True,
                "justification": None,
                "implementation_status": str(status),
                "owner": CONTROL_OWNERS[n % 4],
                "evidence": f"AIMS-{ref.replace('.', '')}-EV" if status != "not_started" else None,
            }
        )
    return rows


def _attestation_rows(reviewed_on: date) -> list[dict]:
    rows = []
    for ref in requirement_refs():
        if ref in DATA_JUDGED:
            continue
        status, evidence = "met", f"Documented in the AIMS manual, section {ref}; approved."
        if ref in PARTIAL_ATTESTATIONS:
            status, evidence = "partial", PARTIAL_ATTESTATIONS[ref]
        elif ref in GAP_ATTESTATIONS:
            status, evidence = "gap", GAP_ATTESTATIONS[ref]
        rows.append(
            {
                "ref": ref,
                "status": status,
                "evidence": evidence,
                "owner": "Head of AI Governance",
                "reviewed_on": reviewed_on,
            }
        )
    return rows


def demo_programme_frames(
    con: duckdb.DuckDBPyConnection, end_quarter: Quarter, first: Quarter
) -> dict[str, pd.DataFrame]:
    """audits, soa and attestations frames for the loaded demo findings (deterministic)."""
    cycle = Cycle(first.start)
    findings = con.execute(
        "SELECT audit_id, min(coalesce(audit_type, 'internal')), min(raised_on), max(raised_on) "
        "FROM findings GROUP BY audit_id ORDER BY min(raised_on), audit_id"
    ).fetchall()
    rng = np.random.default_rng(AUDITS_SEED)
    audits = _audit_rows(findings, cycle.start, end_quarter.end) + _planned_rows(
        end_quarter, cycle.end
    )
    frames = {
        "audits": pd.DataFrame(audits),
        "soa": pd.DataFrame(_soa_rows(rng)),
        "attestations": pd.DataFrame(_attestation_rows(end_quarter.end - timedelta(days=20))),
    }
    for frame in frames.values():
        for column in frame.columns:
            if column.endswith(("_start", "_end", "_on")):
                frame[column] = pd.to_datetime(frame[column])
    return frames


def seed_gap_plans(con: duckdb.DuckDBPyConnection, end_quarter: Quarter, username: str) -> None:
    """Remediation plans for the demo's main gaps (version 1 of each)."""
    due = end_quarter.next().end
    plans = [
        {
            "ref": "7.5.3",
            "priority": "critical",
            "owner": "Head of AI Governance",
            "remediation": "Approve PR-DOC-01 and move AIMS documents to the controlled register.",
            "effort_days": 8,
            "target_date": due,
        },
        {
            "ref": "10.2",
            "priority": "critical",
            "owner": "Quality Manager",
            "remediation": "Close the open major nonconformities; verify the corrective actions.",
            "effort_days": 15,
            "target_date": due,
        },
        {
            "ref": "9.2.1",
            "priority": "high",
            "owner": "Internal Audit Lead",
            "remediation": "Run audit IA-DOCS (7.4, 7.5) as planned to complete clause coverage.",
            "effort_days": 5,
            "target_date": due,
        },
    ]
    save_gap_plans(con, plans, username, "admin", reason="demo gap assessment")


Loader = Callable[[duckdb.DuckDBPyConnection, dict[str, pd.DataFrame], str], dict[str, int]]


def load_demo_programme(
    con: duckdb.DuckDBPyConnection,
    end_quarter: Quarter,
    load_dataset: Loader,
    username: str = "demo",
) -> dict[str, int]:
    """Load the programme tables with `load_dataset` (aims_metrics.demo's, passed in so this
    module does not import its parent), set the cycle start to the data's first day and seed
    the gap plans. Returns the row count of each table loaded."""
    first = end_quarter.shift(-(QUARTERS - 1))
    frames = demo_programme_frames(con, end_quarter, first)
    counts = load_dataset(con, frames, username)
    store.set_setting(con, "audit_cycle_start", first.start.isoformat(), username)
    seed_gap_plans(con, end_quarter, username)
    return counts
