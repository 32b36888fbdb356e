"""Certification readiness as the page reads it: the checklist and its blockers as tables,
computed once per data version and as-of date. At enterprise scale 1,600 open major
nonconformities block certification: the page leads with them grouped by clause and kind, with
counts, oldest first (readiness.blocker_groups, as the report PDF does), and pages through the
full list (readiness.blockers_frame, as the CSV has it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from aims_metrics.audits import readiness


@dataclass
class ReadinessView:
    result: readiness.Readiness
    blockers: pd.DataFrame  # readiness.blockers_frame: one row per blocker, in readiness order
    blocker_groups: pd.DataFrame  # readiness.blocker_groups: per clause and kind, oldest first


def readiness_view(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> ReadinessView:
    """The readiness checklist with its blockers as a list and grouped, in one call."""
    result = readiness.readiness(con, as_of)
    return ReadinessView(
        result=result,
        blockers=readiness.blockers_frame(result),
        blocker_groups=readiness.blocker_groups(result),
    )
