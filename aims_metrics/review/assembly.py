"""Input 9.3.2 d) assembled from the data: nonconformity trends, monitoring and measurement
results (the KPI catalog), objective progress and audit results."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import duckdb

from aims_metrics import store
from aims_metrics.audits.programme import programme_summary_as_of
from aims_metrics.metrics.completeness import provisional_notes
from aims_metrics.metrics.evaluate import catalog_series
from aims_metrics.metrics.periods import Quarter, quarters_ending
from aims_metrics.performance.aging import aging_report, open_nonconformity_trend
from aims_metrics.performance.objectives import objective_progress
from aims_metrics.review.actions import carried_actions, review_actions, status_date
from aims_metrics.review.fairness_minutes import failed_test_groups
from aims_metrics.review.models import TREND_QUARTERS, CarriedAction, ReviewAction, ReviewRecord
from aims_metrics.review.records import fiscal_quarter
from aims_metrics.tables.registry import NONCONFORMITY_TYPES, FindingType, clause_refs

# --- input d): performance information ---------------------------------------------------------


@dataclass(frozen=True)
class NonconformityQuarter:
    """Nonconformities (major and minor) and their corrective actions in one quarter."""

    quarter: str
    raised: int
    closed: int
    open_at_end: int
    overdue_at_end: int
    mean_days_to_close: float | None


@dataclass(frozen=True)
class AuditHeld:
    """An audit that raised findings in the quarter (findings carry the audit id and type)."""

    audit_id: str
    audit_type: str
    first_raised_on: date
    last_raised_on: date
    findings: int
    by_type: dict[str, int]


@dataclass(frozen=True)
class ClauseFindings:
    clause_ref: str
    title: str
    by_type: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_type.values())


@dataclass
class ReviewInputs:
    """Everything the minutes show that comes from the data rather than the record."""

    quarter: Quarter
    organisation: str
    default_scope: str
    as_of: date  # the date input a) reports action status on
    carried: list[CarriedAction]
    new_actions: list[ReviewAction]  # raised by this quarter's review (9.3.3)
    nonconformity_trend: list[NonconformityQuarter]
    aging: Any  # aims_metrics.performance.aging.AgingReport at the quarter end
    kpis: list[Any]  # aims_metrics.metrics.status.KpiResult, catalog order
    kpi_series: dict[str, list[Any]]  # name → KpiResult per trend quarter, oldest first
    objectives: list[Any]  # aims_metrics.performance.objectives.ObjectiveProgress
    audits: list[AuditHeld]
    findings_by_type: dict[str, int]
    findings_by_clause: list[ClauseFindings]
    trend_quarters: list[str] = field(default_factory=list)
    # 9.2.2 audit programme as of the quarter end, in sentences (aims_metrics.audits.programme)
    audit_programme: list[str] = field(default_factory=list)
    bias_groups: list[dict] = field(default_factory=list)  # review.fairness_minutes rows
    # metric name → why its figure is provisional (aims_metrics.metrics.completeness)
    provisional: dict[str, list[str]] = field(default_factory=dict)

    def fingerprint_data(self) -> dict[str, Any]:
        """The data behind the minutes as plain JSON-able values (for the fingerprint)."""
        return {
            "quarter": self.quarter.label,
            "organisation": self.organisation,
            "as_of": self.as_of,
            "carried": [c.model_dump(mode="json") for c in self.carried],
            "new_actions": [a.model_dump(mode="json") for a in self.new_actions],
            "nonconformity_trend": [asdict(n) for n in self.nonconformity_trend],
            "aging": self.aging.model_dump(mode="json"),
            "kpis": [_kpi_json(k) for k in self.kpis],
            "kpi_series": {
                name: [_kpi_json(k) for k in series]
                for name, series in sorted(self.kpi_series.items())
            },
            "objectives": [o.model_dump(mode="json") for o in self.objectives],
            "audits": [_audit_json(a) for a in self.audits],
            "findings_by_type": self.findings_by_type,
            "findings_by_clause": [asdict(c) for c in self.findings_by_clause],
            **({"audit_programme": self.audit_programme} if self.audit_programme else {}),
            **({"bias_groups": self.bias_groups} if self.bias_groups else {}),
            **({"provisional": self.provisional} if self.provisional else {}),
        }

    def fingerprint(self, record: ReviewRecord | None = None) -> str:
        """sha256 over the data used and the review record (without its bookkeeping times)."""
        payload: dict[str, Any] = {"data": self.fingerprint_data()}
        if record is not None:
            payload["record"] = record.model_dump(
                mode="json", exclude={"created_at", "updated_at", "updated_by"}
            )
        text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _audit_json(audit: AuditHeld) -> dict[str, Any]:
    """dataclasses.asdict(audit), built directly: asdict deep-copies field by field, which took
    ~0.2 s for the hundreds of audits of an enterprise quarter."""
    return {
        "audit_id": audit.audit_id,
        "audit_type": audit.audit_type,
        "first_raised_on": audit.first_raised_on,
        "last_raised_on": audit.last_raised_on,
        "findings": audit.findings,
        "by_type": dict(audit.by_type),
    }


def _kpi_json(kpi: Any) -> dict[str, Any]:
    data = asdict(kpi)
    data["status"] = str(kpi.status.value if hasattr(kpi.status, "value") else kpi.status)
    return data


def nonconformity_trend(
    con: duckdb.DuckDBPyConnection, quarters: list[Quarter]
) -> list[NonconformityQuarter]:
    """Per quarter: nonconformities raised, closed, open and overdue at the end, mean days to close."""

    labels = [q.label for q in quarters]
    types = list(NONCONFORMITY_TYPES)
    rows = con.execute(
        """
        WITH p AS (
            SELECT unnest(?::VARCHAR[]) AS label, unnest(?::DATE[]) AS s, unnest(?::DATE[]) AS e
        ), nc AS (
            SELECT raised_on, closed_on, due_on FROM findings WHERE finding_type IN (SELECT unnest(?::VARCHAR[]))
        )
        SELECT p.label,
            count(nc.raised_on) FILTER (WHERE nc.raised_on BETWEEN p.s AND p.e),
            count(nc.raised_on) FILTER (WHERE nc.closed_on BETWEEN p.s AND p.e),
            count(nc.raised_on) FILTER (WHERE nc.raised_on <= p.e
                AND (nc.closed_on IS NULL OR nc.closed_on > p.e) AND nc.due_on < p.e),
            avg(date_diff('day', nc.raised_on, nc.closed_on))
                FILTER (WHERE nc.closed_on BETWEEN p.s AND p.e)
        FROM p LEFT JOIN nc ON nc.raised_on <= p.e
        GROUP BY p.label ORDER BY p.label
        """,
        [labels, [q.start for q in quarters], [q.end for q in quarters], types],
    ).fetchall()
    open_counts = {q.label: count for q, count in open_nonconformity_trend(con, quarters)}
    return [
        NonconformityQuarter(
            quarter=label,
            raised=int(raised),
            closed=int(closed),
            open_at_end=int(open_counts.get(label, 0)),
            overdue_at_end=int(overdue),
            mean_days_to_close=None if mean is None else round(float(mean), 1),
        )
        for label, raised, closed, overdue, mean in rows
    ]


FINDING_TYPES: tuple[str, ...] = tuple(t.value for t in FindingType)


def audit_results(
    con: duckdb.DuckDBPyConnection, quarter: Quarter
) -> tuple[list[AuditHeld], dict[str, int], list[ClauseFindings]]:
    """Audits that raised findings in the quarter, and the quarter's findings by type and clause."""
    rows = con.execute(
        """
        SELECT audit_id, coalesce(audit_type, 'unspecified'), clause_ref, finding_type,
               min(raised_on), max(raised_on), count(*)
        FROM findings WHERE raised_on BETWEEN ? AND ?
        GROUP BY ALL
        """,
        [quarter.start, quarter.end],
    ).fetchall()
    empty = dict.fromkeys(FINDING_TYPES, 0)
    audits: dict[str, dict[str, Any]] = {}
    clauses: dict[str, dict[str, int]] = {}
    for audit_id, audit_type, clause_ref, finding_type, first, last, count in rows:
        audit = audits.setdefault(
            audit_id,
            {"types": set(), "first": first, "last": last, "by_type": dict(empty)},
        )
        audit["types"].add(audit_type)
        audit["first"], audit["last"] = min(audit["first"], first), max(audit["last"], last)
        audit["by_type"][finding_type] = audit["by_type"].get(finding_type, 0) + int(count)
        clause = clauses.setdefault(clause_ref, dict(empty))
        clause[finding_type] = clause.get(finding_type, 0) + int(count)
    held = sorted(
        (
            AuditHeld(
                audit_id=str(audit_id),
                audit_type=", ".join(sorted(a["types"])),
                first_raised_on=a["first"],
                last_raised_on=a["last"],
                findings=sum(a["by_type"].values()),
                by_type=a["by_type"],
            )
            for audit_id, a in audits.items()
        ),
        key=lambda a: (a.first_raised_on, a.audit_id),
    )
    by_type = {t: sum(a.by_type.get(t, 0) for a in held) for t in FINDING_TYPES}
    refs = clause_refs()
    by_clause = sorted(
        (
            ClauseFindings(
                clause_ref=str(ref), title=refs[ref].title if ref in refs else "", by_type=counts
            )
            for ref, counts in clauses.items()
        ),
        key=lambda c: (-c.total, c.clause_ref),
    )
    return held, by_type, by_clause


def assemble_inputs(con: duckdb.DuckDBPyConnection, quarter: Quarter | str) -> ReviewInputs:
    """Inputs a) and d) of 9.3.2 for a quarter, assembled from the data."""

    q = fiscal_quarter(con, quarter)
    trend = quarters_ending(q, TREND_QUARTERS)
    # One catalog evaluation: the quarter's KPIs (with the previous quarter's values) are the
    # last element of each trend series.
    series = catalog_series(con, trend)
    kpis = [results[-1] for results in series.values()]
    audits, by_type, by_clause = audit_results(con, q)
    return ReviewInputs(
        quarter=q,
        organisation=store.get_setting(con, "organisation_name"),
        default_scope=store.get_setting(con, "aims_scope"),
        as_of=status_date(con, q),
        carried=carried_actions(con, q),
        new_actions=review_actions(con, q),
        nonconformity_trend=nonconformity_trend(con, trend),
        aging=aging_report(con, q.end),
        kpis=kpis,
        kpi_series={name: list(results) for name, results in series.items()},
        objectives=list(objective_progress(con, q)),
        audits=audits,
        findings_by_type=by_type,
        findings_by_clause=by_clause,
        trend_quarters=[t.label for t in trend],
        audit_programme=programme_summary_as_of(con, q.end),
        bias_groups=failed_test_groups(con, q),
        provisional=provisional_notes(con, q),
    )
