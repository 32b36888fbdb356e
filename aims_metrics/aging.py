"""Nonconformity aging as of a date (design §5, Clause 10.2)."""

from __future__ import annotations

from datetime import date

import duckdb
from pydantic import BaseModel

from aims_metrics.periods import Quarter

# (label, lowest age in days, highest age in days or None)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    (">180", 181, None),
)


class AgingBucket(BaseModel):
    bucket: str
    major_nc: int = 0
    minor_nc: int = 0
    observation: int = 0
    ofi: int = 0
    total: int = 0


class AgingReport(BaseModel):
    as_of: date
    open_total: int
    overdue: int
    buckets: list[AgingBucket]

    def to_json(self) -> dict:
        """Design §8 `aging --format json`."""
        raise NotImplementedError


def bucket_of(age_days: int) -> str:
    """The aging bucket label of an age in days (0 or more)."""
    raise NotImplementedError


def aging_report(con: duckdb.DuckDBPyConnection, as_of: date) -> AgingReport:
    """Open findings as of a date by age bucket and finding type, with the overdue count."""
    raise NotImplementedError


def open_findings(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    finding_types: list[str] | None = None,
    owner: str | None = None,
    clause_ref: str | None = None,
    audit_id: str | None = None,
):
    """Findings open at `as_of` with age_days, bucket, days_overdue and overdue (DataFrame)."""
    raise NotImplementedError


def open_nonconformity_trend(
    con: duckdb.DuckDBPyConnection, quarters: list[Quarter]
) -> list[tuple[Quarter, int]]:
    """Open nonconformities (major and minor) at each quarter end."""
    raise NotImplementedError
