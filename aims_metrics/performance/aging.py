"""Nonconformity aging as of a date (design §5, Clause 10.2).

Open as of D: raised_on ≤ D and (closed_on is null or closed_on > D). Age = D − raised_on in days.
Overdue: open at D with due_on < D, any finding type.
"""

from __future__ import annotations

from datetime import date

import duckdb
from pydantic import BaseModel

from aims_metrics import store
from aims_metrics.metrics.periods import Quarter
from aims_metrics.tables.registry import NONCONFORMITY_TYPES, TABLES, FindingType

# (label, lowest age in days, highest age in days or None)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    (">180", 181, None),
)
FINDING_TYPES: tuple[str, ...] = tuple(t.value for t in FindingType)


class AgingBucket(BaseModel):
    bucket: str
    major_nc: int = 0
    minor_nc: int = 0
    observation: int = 0
    ofi: int = 0
    total: int = 0


class AgingReport(BaseModel):
    as_of: date
    open_total: int  # findings of every type (nonconformities, observations, OFIs)
    overdue: int
    buckets: list[AgingBucket]
    overdue_nonconformities: int = 0

    @property
    def open_nonconformities(self) -> int:
        """Open major and minor nonconformities: the figure the Overview's KPI shows."""
        return sum(getattr(b, str(t)) for b in self.buckets for t in NONCONFORMITY_TYPES)

    def to_json(self) -> dict:
        """Design §8 `aging --format json`."""
        return {
            "as_of": self.as_of.isoformat(),
            "open_total": self.open_total,
            "overdue": self.overdue,
            "buckets": [b.model_dump() for b in self.buckets],
        }


def bucket_of(age_days: int) -> str:
    """The aging bucket label of an age in days (0 or more)."""
    if age_days < 0:
        raise ValueError(f"an age cannot be negative ({age_days} days)")
    for label, low, high in BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return label
    raise AssertionError("the buckets cover every age")  # pragma: no cover


def _bucket_case(age: str) -> str:
    branches = " ".join(
        f"WHEN {age} <= {high} THEN '{label}'" for label, _, high in BUCKETS if high is not None
    )
    return f"CASE {branches} ELSE '{BUCKETS[-1][0]}' END"


_AGE = "date_diff('day', raised_on, $as_of)"
# A finding open on $as_of: the one rule (the aging report, the audit programme's top audits).
OPEN_AT = "raised_on <= $as_of AND (closed_on IS NULL OR closed_on > $as_of)"


def aging_report(con: duckdb.DuckDBPyConnection, as_of: date) -> AgingReport:
    """Open findings as of a date by age bucket and finding type, with the overdue count."""
    sql = (
        f"SELECT {_bucket_case(_AGE)} "
        "AS bucket, finding_type, count(*) AS n, count(*) FILTER (WHERE due_on < $as_of) AS overdue "
        f"FROM findings WHERE {OPEN_AT} GROUP BY ALL"
    )
    with store.transaction(con, read_only=True):
        rows = con.execute(sql, {"as_of": as_of}).fetchall()
    buckets = {label: AgingBucket(bucket=label) for label, _, _ in BUCKETS}
    overdue = overdue_nonconformities = 0
    nonconformities = {str(t) for t in NONCONFORMITY_TYPES}
    for bucket, finding_type, count, late in rows:
        entry = buckets[bucket]
        if finding_type in FINDING_TYPES:
            setattr(entry, finding_type, getattr(entry, finding_type) + int(count))
        entry.total += int(count)
        overdue += int(late)
        if finding_type in nonconformities:
            overdue_nonconformities += int(late)
    ordered = list(buckets.values())
    return AgingReport(
        as_of=as_of,
        open_total=sum(b.total for b in ordered),
        overdue=overdue,
        buckets=ordered,
        overdue_nonconformities=overdue_nonconformities,
    )


def open_findings(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    finding_types: list[str] | None = None,
    owner: str | None = None,
    clause_ref: str | None = None,
    audit_id: str | None = None,
):
    """Findings open at `as_of` with age_days, bucket, days_overdue and overdue (DataFrame),
    oldest first (auditors expect the oldest nonconformities fixed first)."""
    params: dict[str, object] = {"as_of": as_of}
    conditions = [OPEN_AT]
    if finding_types:
        names = []
        for index, value in enumerate(finding_types):
            params[f"t{index}"] = value
            names.append(f"$t{index}")
        conditions.append(f"finding_type IN ({', '.join(names)})")
    for column, value in (("owner", owner), ("clause_ref", clause_ref), ("audit_id", audit_id)):
        if value is not None:
            params[column] = value
            conditions.append(f"{column} = ${column}")
    columns = ", ".join(TABLES["findings"].column_names)
    age = _AGE
    sql = (
        f"SELECT {columns}, {age} AS age_days, {_bucket_case(age)} AS bucket, "
        "CASE WHEN due_on < $as_of THEN date_diff('day', due_on, $as_of) ELSE 0 END AS days_overdue, "
        "coalesce(due_on < $as_of, false) AS overdue "
        f"FROM findings WHERE {' AND '.join(conditions)} ORDER BY raised_on, finding_id"
    )
    with store.transaction(con, read_only=True):
        return con.execute(sql, params).df()


def open_nonconformity_trend(
    con: duckdb.DuckDBPyConnection, quarters: list[Quarter]
) -> list[tuple[Quarter, int]]:
    """Open nonconformities (major and minor) at each quarter end."""
    if not quarters:
        return []
    params: dict[str, object] = {}
    rows = []
    for index, quarter in enumerate(quarters):
        params[f"q{index}"] = quarter.label
        params[f"e{index}"] = quarter.end
        rows.append(f"($q{index}, CAST($e{index} AS DATE))")
    types = []
    for index, value in enumerate(NONCONFORMITY_TYPES):
        params[f"t{index}"] = str(value)
        types.append(f"$t{index}")
    sql = (
        f"WITH periods AS (SELECT * FROM (VALUES {', '.join(rows)}) AS v(period, period_end)) "
        "SELECT p.period, count(f.finding_id) FROM periods p LEFT JOIN findings f "
        "ON f.raised_on <= p.period_end AND (f.closed_on IS NULL OR f.closed_on > p.period_end) "
        f"AND f.finding_type IN ({', '.join(types)}) GROUP BY p.period"
    )
    with store.transaction(con, read_only=True):
        counts = dict(con.execute(sql, params).fetchall())
    return [(q, int(counts.get(q.label, 0))) for q in quarters]
