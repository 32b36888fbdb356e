"""The internal audit programme (ISO/IEC 42001 9.2.2) over a three-year certification cycle.

An audit covers a reference when its scope names it or a prefix of it (`9` covers 9.2.1, `A.6`
covers A.6.2.4). As of a date D, an audit is *completed* when its status is completed and its
actual_end is on or before D; a completed audit belongs to the cycle year of its actual_end, any
other audit to the year of its planned_start. Cancelled audits cover nothing and are never overdue.
Every figure is computed from the audit dates, so re-running an old as-of date gives the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from aims_metrics import store
from aims_metrics.metrics.as_of import fiscal_start_month
from aims_metrics.metrics.periods import quarter_of
from aims_metrics.performance.aging import OPEN_AT  # the one rule of "open at D"
from aims_metrics.tables.registry import (
    AuditType,
    clause_refs,
    control_refs,
    ref_covers,
    requirement_refs,
    split_refs,
    table_spec,
)
from aims_metrics.vocabulary.wording import MISSING, count_of, verb_for
from aims_metrics.vocabulary.wording import number as number_text

CYCLE_YEARS = 3
COVERED, PLANNED, GAP = "covered", "planned", "gap"
COVERAGE_STATUSES = (COVERED, PLANNED, GAP)
AUDIT_TYPES: tuple[str, ...] = tuple(t.value for t in AuditType)
MAX_NAMED = 8  # records named in one sentence; the rest counted
COMPLETED, OVERDUE, CANCELLED = "completed", "overdue", "cancelled"
SCHEDULE_STATUSES = (PLANNED, COMPLETED, OVERDUE, CANCELLED)  # Audit.schedule_status


def names_of(ids: list[str]) -> str:
    """Up to MAX_NAMED ids, then how many more: a sentence stays a sentence at any scale."""
    shown = ", ".join(ids[:MAX_NAMED])
    return shown + (
        f" and {number_text(len(ids) - MAX_NAMED)} more" if len(ids) > MAX_NAMED else ""
    )


@dataclass(frozen=True)
class Cycle:
    """A certification cycle: three years from `start`, both ends inclusive."""

    start: date

    def _years_later(self, years: int) -> date:
        try:
            return self.start.replace(year=self.start.year + years)
        except ValueError:  # 29 February
            return self.start.replace(year=self.start.year + years, day=28)

    @property
    def end(self) -> date:
        return self._years_later(CYCLE_YEARS) - timedelta(days=1)

    def years(self) -> list[tuple[int, date, date]]:
        """(number 1–3, first day, last day) of each cycle year."""
        return [
            (n, self._years_later(n - 1), self._years_later(n) - timedelta(days=1))
            for n in range(1, CYCLE_YEARS + 1)
        ]

    def year_of(self, day: date | None) -> int | None:
        """The cycle year (1–3) holding `day`, or None outside the cycle."""
        for number, first, last in self.years():
            if day is not None and first <= day <= last:
                return number
        return None

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def cycle_start_setting(con: duckdb.DuckDBPyConnection, as_of: date) -> date:
    """The `audit_cycle_start` setting, or 1 January of the as-of year when it is not set."""
    text = store.get_setting(con, "audit_cycle_start").strip()
    if not text:
        return date(as_of.year, 1, 1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"the audit_cycle_start setting {text!r} is not a date (YYYY-MM-DD)"
        ) from None


@dataclass(frozen=True)
class Audit:
    """One row of `audits`, with its scope split into references."""

    audit_id: str
    audit_type: str
    title: str
    planned_start: date
    planned_end: date | None
    status: str
    actual_end: date | None
    lead_auditor: str | None
    lead_auditor_unit: str | None
    team: str | None
    auditee_unit: str | None
    scope: tuple[str, ...]
    criteria: str | None
    report_on: date | None

    def completed_by(self, as_of: date) -> bool:
        return (
            self.status == "completed" and self.actual_end is not None and self.actual_end <= as_of
        )

    def reference_day(self, as_of: date) -> date:
        """The day that places the audit in a cycle year: actual_end once completed, else planned_start."""
        return self.actual_end if self.completed_by(as_of) else self.planned_start

    def covers(self, ref: str) -> bool:
        return self.status != "cancelled" and any(ref_covers(s, ref) for s in self.scope)

    def overdue(self, as_of: date) -> bool:
        """Not completed, not cancelled, and its planned end (its start when no end) is before as_of."""
        end = self.planned_end or self.planned_start
        return self.status != "cancelled" and not self.completed_by(as_of) and end < as_of

    def schedule_status(self, as_of: date) -> str:
        """Where the audit stands in the schedule on `as_of`, each audit in exactly one of
        SCHEDULE_STATUSES: cancelled, completed, overdue, else planned (not yet due)."""
        if self.status == "cancelled":
            return CANCELLED
        if self.completed_by(as_of):
            return COMPLETED
        return OVERDUE if self.overdue(as_of) else PLANNED

    @property
    def independence_conflict(self) -> bool:
        """9.2.2 objectivity: the lead auditor's unit audits itself."""
        lead, auditee = (self.lead_auditor_unit or "").strip(), (self.auditee_unit or "").strip()
        return self.status != "cancelled" and bool(lead) and lead.casefold() == auditee.casefold()

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["scope"] = ";".join(self.scope)
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}


def load_audits(con: duckdb.DuckDBPyConnection) -> list[Audit]:
    """Every audit of the programme, by planned start then id."""
    spec = table_spec("audits")
    rows = con.execute(
        f"SELECT {', '.join(spec.column_names)} FROM audits ORDER BY planned_start, audit_id"
    ).fetchall()
    audits = []
    for row in rows:
        values = dict(zip(spec.column_names, row, strict=True))
        values["scope"] = tuple(split_refs(values["scope"]))
        audits.append(Audit(**values))
    return audits


def applicable_controls(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Annex A controls the SoA does not exclude (a control missing from the SoA is applicable)."""
    excluded = {
        r[0] for r in con.execute("SELECT control_id FROM soa WHERE NOT applicable").fetchall()
    }
    return [ref for ref in control_refs() if ref not in excluded]


@dataclass(frozen=True)
class CoverageEntry:
    ref: str
    title: str
    kind: str  # clause or control
    status: str  # covered, planned, gap
    audits: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "status": self.status, "audits": list(self.audits)}


COVERAGE_CELL_COLUMNS = ["ref", "year", "audit_id", "completed"]


def coverage_cells(audits: list[Audit], refs: list[str], cycle: Cycle, as_of: date) -> pd.DataFrame:
    """One row per reference an audit of the cycle covers: ref, cycle year, audit id, completed.

    The one pass behind every coverage figure: each scope entry is expanded to the references it
    covers once (a few dozen distinct entries), so the cost grows with the audits, not with
    references × years × audits. Rows keep the audits' order.
    """
    expanded: dict[str, list[str]] = {}
    rows = []
    for audit in audits:
        if audit.status == "cancelled":
            continue
        year = cycle.year_of(audit.reference_day(as_of))
        if year is None:
            continue
        covered: dict[str, None] = {}
        for entry in audit.scope:
            if entry not in expanded:
                expanded[entry] = [ref for ref in refs if ref_covers(entry, ref)]
            covered.update(dict.fromkeys(expanded[entry]))
        completed = audit.completed_by(as_of)
        rows.extend((ref, year, audit.audit_id, completed) for ref in covered)
    return pd.DataFrame(rows, columns=COVERAGE_CELL_COLUMNS)


def _status_by(cells: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per key: the coverage status and the audits behind it (completed ones when covered)."""
    grouped = cells.groupby(keys + ["completed"], sort=False)["audit_id"].agg(tuple).unstack()
    done = grouped.get(True, pd.Series(index=grouped.index, dtype=object))
    planned = grouped.get(False, pd.Series(index=grouped.index, dtype=object))
    status = pd.Series(GAP, index=grouped.index)
    status[planned.notna()] = PLANNED
    status[done.notna()] = COVERED
    audits = done.where(done.notna(), planned)
    return pd.DataFrame({"status": status, "audits": audits})


def coverage(
    audits: list[Audit], refs: list[str], cycle: Cycle, as_of: date
) -> list[CoverageEntry]:
    """Per reference: covered by a completed audit in the cycle, only planned, or a gap.

    The audits listed are those behind the status: the completed ones when covered, the planned
    (not yet completed, overdue included) ones when planned."""
    known = clause_refs()
    by_ref = _status_by(coverage_cells(audits, refs, cycle, as_of), ["ref"])
    entries = []
    for ref in refs:
        status, ids = (
            (by_ref.at[ref, "status"], by_ref.at[ref, "audits"])
            if ref in by_ref.index
            else (GAP, ())
        )
        entries.append(CoverageEntry(ref, known[ref].title, known[ref].kind, status, tuple(ids)))
    return entries


@dataclass
class Programme:
    """The audit programme of one cycle as of a date (optionally one audit type only)."""

    cycle: Cycle
    as_of: date
    audit_type: str | None
    audits: list[Audit]  # the cycle's audits (cancelled included), by planned start
    coverage: list[CoverageEntry]
    overdue: list[str]
    independence_conflicts: list[str]
    findings_without_audit: list[str]
    counts: dict[str, int] = field(default_factory=dict)  # coverage status → references

    @property
    def counted_audits(self) -> list[Audit]:
        """The audits of the cycle that count: a cancelled audit is listed but never counted
        (the one definition behind "audits in the cycle" on the page, the review and the plan)."""
        return [a for a in self.audits if a.status != "cancelled"]

    @property
    def cancelled_audits(self) -> list[Audit]:
        return [a for a in self.audits if a.status == "cancelled"]

    @property
    def completed_audits(self) -> list[Audit]:
        """Counted audits completed by the as-of day."""
        return [a for a in self.counted_audits if a.completed_by(self.as_of)]

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle_start": self.cycle.start.isoformat(),
            "cycle_end": self.cycle.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "type": self.audit_type,
            "audits": [a.to_json() for a in self.audits],
            "coverage": [c.to_json() for c in self.coverage],
            "overdue": self.overdue,
            "independence_conflicts": self.independence_conflicts,
            "findings_without_audit": self.findings_without_audit,
        }


def findings_without_audit(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Finding ids whose audit_id names no audit of the programme."""
    rows = con.execute(
        "SELECT finding_id FROM findings f WHERE NOT EXISTS "
        "(SELECT 1 FROM audits a WHERE a.audit_id = f.audit_id) ORDER BY finding_id"
    ).fetchall()
    return [r[0] for r in rows]


def audit_programme(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    cycle_start: date | None = None,
    audit_type: str | None = None,
) -> Programme:
    """The programme as of a date: coverage of the 29 clause requirements and the applicable
    Annex A controls, overdue audits, independence conflicts, findings naming no audit."""
    as_of = as_of or date.today()
    if audit_type is not None and audit_type not in AUDIT_TYPES:
        raise ValueError(f"unknown audit type {audit_type!r}: use one of {', '.join(AUDIT_TYPES)}")
    with store.transaction(con, read_only=True):
        cycle = Cycle(cycle_start or cycle_start_setting(con, as_of))
        audits = [
            a
            for a in load_audits(con)
            if (audit_type is None or a.audit_type == audit_type)
            and cycle.contains(a.reference_day(as_of))
        ]
        refs = requirement_refs() + applicable_controls(con)
        orphans = findings_without_audit(con)
    entries = coverage(audits, refs, cycle, as_of)
    counts = {s: sum(1 for e in entries if e.status == s) for s in COVERAGE_STATUSES}
    return Programme(
        cycle=cycle,
        as_of=as_of,
        audit_type=audit_type,
        audits=audits,
        coverage=entries,
        overdue=[a.audit_id for a in audits if a.overdue(as_of)],
        independence_conflicts=[a.audit_id for a in audits if a.independence_conflict],
        findings_without_audit=orphans,
        counts=counts,
    )


def coverage_by_year(programme: Programme) -> pd.DataFrame:
    """ref × cycle year → covered / planned / gap, for the heatmap (one row per ref and year)."""
    refs = [entry.ref for entry in programme.coverage]
    cells = coverage_cells(programme.audits, refs, programme.cycle, programme.as_of)
    by_ref_year = _status_by(cells, ["ref", "year"])["status"]
    years = [number for number, _first, _last in programme.cycle.years()]
    grid = pd.MultiIndex.from_product([refs, years], names=["ref", "year"])
    frame = by_ref_year.reindex(grid, fill_value=GAP).rename("status").reset_index()
    titles = {entry.ref: entry.title for entry in programme.coverage}
    frame.insert(1, "title", frame["ref"].map(titles))
    return frame[["ref", "title", "year", "status"]]


# --- the programme at a glance: by quarter, not by audit --------------------------------------------

TOP_AUDITS = 20  # audits named in "most open findings"; the others are reached through the tables
SHOWN_STATUSES = (COMPLETED, PLANNED, OVERDUE, CANCELLED)  # Audit.schedule_status, as shown


def cycle_quarters(cycle: Cycle, start_month: int = 1) -> list[str]:
    """The labels of the fiscal quarters the cycle touches, oldest first (12 or 13)."""
    quarter, last = quarter_of(cycle.start, start_month), quarter_of(cycle.end, start_month)
    labels = [quarter.label]
    while quarter != last:
        quarter = quarter.next()
        labels.append(quarter.label)
    return labels


def _quarter_labels(days: pd.Series, start_month: int) -> pd.Series:
    """Each day's fiscal quarter label, computed once per distinct day."""
    labels = {day: quarter_of(day, start_month).label for day in days.dropna().unique()}
    return days.map(labels)


PLACEMENT_COLUMNS = ["audit_id", "auditee_unit", "status", "quarter"]


def audit_placement(programme: Programme, start_month: int = 1) -> pd.DataFrame:
    """Where each audit of the cycle sits, the one placement the page and the plan count by: its
    auditee unit ("—" when not set), its schedule status on the programme's day
    (Audit.schedule_status) and the fiscal quarter of the day that places it in a cycle year (its
    actual end once completed, else its planned start)."""
    as_of = programme.as_of
    frame = pd.DataFrame(
        [
            (
                a.audit_id,
                (a.auditee_unit or "").strip() or MISSING,
                a.schedule_status(as_of),
                a.reference_day(as_of),
            )
            for a in programme.audits
        ],
        columns=["audit_id", "auditee_unit", "status", "day"],
    )
    frame["quarter"] = _quarter_labels(frame["day"], start_month)
    return frame[PLACEMENT_COLUMNS]


def audits_by_quarter(placement: pd.DataFrame, quarters: list[str]) -> pd.DataFrame:
    """Audits per quarter (rows, every quarter of the cycle) and status (columns, in the order
    shown; a status no audit has is left out)."""
    counts = placement.groupby(["quarter", "status"]).size().unstack(fill_value=0)
    statuses = [s for s in SHOWN_STATUSES if s in counts.columns]
    return counts.reindex(index=quarters, columns=statuses, fill_value=0)


def _findings_in(since: date, until: date, audit_type: str | None) -> tuple[str, dict]:
    """The WHERE clause (and its bound parameters) of the findings raised in a window."""
    where = "raised_on BETWEEN $since AND $until"
    params: dict[str, Any] = {"since": since, "until": until}
    if audit_type is not None:
        where += " AND audit_type = $type"
        params["type"] = audit_type
    return where, params


def findings_by_quarter(
    con: duckdb.DuckDBPyConnection, since: date, until: date, audit_type: str | None = None
) -> pd.DataFrame:
    """Findings raised from `since` to `until` counted per fiscal quarter and finding type
    (quarter, finding_type, findings); of one audit type when given."""
    where, params = _findings_in(since, until, audit_type)
    per_day = con.execute(
        f"SELECT raised_on, finding_type, count(*) AS findings FROM findings WHERE {where} "
        "GROUP BY ALL",
        params,
    ).df()
    if per_day.empty:
        return pd.DataFrame(columns=["quarter", "finding_type", "findings"])
    per_day["quarter"] = _quarter_labels(per_day["raised_on"].dt.date, fiscal_start_month(con))
    return per_day.groupby(["quarter", "finding_type"], as_index=False)["findings"].sum()


def top_audits_by_open_findings(
    con: duckdb.DuckDBPyConnection,
    since: date,
    until: date,
    audit_type: str | None = None,
    limit: int = TOP_AUDITS,
) -> pd.DataFrame:
    """The `limit` audits with the most findings open at `until` (raised from `since`), then the
    most findings, then by id: one row per audit and finding type (audit_id, finding_type,
    open_findings, findings), the audits in that order."""
    where, params = _findings_in(since, until, audit_type)
    return con.execute(
        f"WITH per AS (SELECT audit_id, finding_type, count(*) FILTER (WHERE {OPEN_AT}) "
        f"AS open_findings, count(*) AS findings FROM findings WHERE {where} GROUP BY ALL), "
        "top AS (SELECT audit_id, sum(open_findings) AS open_total, sum(findings) AS total "
        "FROM per GROUP BY audit_id ORDER BY open_total DESC, total DESC, audit_id LIMIT $limit) "
        "SELECT per.audit_id, per.finding_type, per.open_findings, per.findings FROM per "
        "JOIN top USING (audit_id) "
        "ORDER BY top.open_total DESC, top.total DESC, per.audit_id, per.finding_type",
        params | {"limit": limit, "as_of": until},
    ).df()


def findings_per_audit(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Findings counted per audit id and finding type (audits without findings absent)."""
    return con.execute(
        "SELECT audit_id, finding_type, count(*) AS findings FROM findings "
        "GROUP BY ALL ORDER BY audit_id, finding_type"
    ).df()


def audit_findings(con: duckdb.DuckDBPyConnection, audit_id: str) -> pd.DataFrame:
    """The findings raised by one audit (drill-down), oldest first."""
    columns = ", ".join(table_spec("findings").column_names)
    return con.execute(
        f"SELECT {columns} FROM findings WHERE audit_id = ? ORDER BY raised_on, finding_id",
        [audit_id],
    ).df()


AUDIT_SUMMARY_COLUMNS = ["quarter", "auditee_unit", *SCHEDULE_STATUSES]


def audits_by_quarter_and_unit(programme: Programme, start_month: int) -> pd.DataFrame:
    """The placement (audit_placement) counted by quarter and auditee unit: quarter,
    auditee_unit, then planned, completed, overdue, cancelled (planned + completed + overdue are
    the counted audits). One row per quarter and unit with audits, by quarter then unit."""
    placement = audit_placement(programme, start_month)
    if placement.empty:
        return pd.DataFrame(columns=AUDIT_SUMMARY_COLUMNS).astype(
            dict.fromkeys(SCHEDULE_STATUSES, "int64")
        )
    counts = (
        placement.groupby(["quarter", "auditee_unit", "status"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(SCHEDULE_STATUSES), fill_value=0)
        .astype("int64")
    )
    counts.columns.name = None
    return counts.reset_index()[AUDIT_SUMMARY_COLUMNS]


def programme_summary(programme: Programme) -> list[str]:
    """Plain sentences on the programme for management review input 9.3.2 d) 3 and the minutes."""
    cycle, as_of = programme.cycle, programme.as_of
    audits, done = programme.counted_audits, programme.completed_audits
    cancelled = programme.cancelled_audits
    counts = programme.counts
    total = sum(counts.values())
    lines = [
        f"Audit programme {cycle.start.isoformat()} – {cycle.end.isoformat()}: "
        f"{count_of(len(audits), 'audit')} in the cycle, {len(done):,} completed by {as_of.isoformat()}"
        + (f" ({len(cancelled):,} cancelled, not counted)." if cancelled else "."),
        f"Coverage of the {total} clause requirements and applicable Annex A controls: "
        f"{counts.get(COVERED, 0)} covered, {counts.get(PLANNED, 0)} planned only, "
        f"{counts.get(GAP, 0)} not in any audit.",
    ]
    if programme.overdue:
        lines.append(f"Overdue audits: {names_of(programme.overdue)}.")
    if programme.independence_conflicts:
        lines.append(
            "Audits led from the audited unit (9.2.2 objectivity): "
            f"{names_of(programme.independence_conflicts)}."
        )
    if programme.findings_without_audit:
        lines.append(
            f"{count_of(len(programme.findings_without_audit), 'finding')} "
            f"{verb_for(len(programme.findings_without_audit), 'names', 'name')} an audit that is not in "
            "the programme."
        )
    return lines


def programme_summary_as_of(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    """`programme_summary` for the cycle holding `as_of` (empty when there are no audits)."""
    programme = audit_programme(con, as_of)
    if not programme.audits:
        return []
    return programme_summary(programme)
