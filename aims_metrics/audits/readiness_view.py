"""Certification readiness as the page reads it: the checklist and its blockers as tables,
computed once per data version and as-of date. At enterprise scale 1,600 open major
nonconformities block certification: the page leads with them grouped by clause and kind, with
counts, oldest first, and pages through the full list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from aims_metrics.audits import readiness
from aims_metrics.vocabulary.findings import finding_title

BLOCKER_KINDS = {  # kind → how a reader names it, in the order the groups are shown
    "finding": f"{finding_title('major_nc')} open",
    "requirement": "Requirement not met",
}
BLOCKER_COLUMNS = ["kind", "clause", "id", "since", "text"]
GROUP_COLUMNS = ["kind", "clause", "blockers", "oldest", "first"]
NAMED_IN_GROUP = 3  # ids named in a group's row; the full list has them all


@dataclass
class ReadinessView:
    result: readiness.Readiness
    blockers: pd.DataFrame  # one row per blocker, as `readiness.blockers` orders them
    blocker_groups: pd.DataFrame  # per kind and clause: count, oldest, the first ids


def blocker_frame(blockers: list[readiness.Blocker]) -> pd.DataFrame:
    """The blockers as a table (kind in words, clause, id, open since, text), in their order."""
    frame = pd.DataFrame(
        [(b.kind, b.clause, b.id, b.since, b.text) for b in blockers], columns=BLOCKER_COLUMNS
    )
    frame["since"] = pd.to_datetime(frame["since"])
    frame["kind"] = frame["kind"].map(BLOCKER_KINDS)
    return frame


def blocker_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """Blockers per kind and clause: how many, the oldest one's date and the first ids, the
    groups of each kind (in BLOCKER_KINDS order) oldest first, then by clause."""
    if frame.empty:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    groups = (
        frame.groupby(["kind", "clause"], sort=False)
        .agg(
            blockers=("id", "size"),
            oldest=("since", "min"),
            first=("id", lambda ids: ", ".join(ids.iloc[:NAMED_IN_GROUP])),
        )
        .reset_index()
    )
    groups["order"] = groups["kind"].map({k: n for n, k in enumerate(BLOCKER_KINDS.values())})
    groups = groups.sort_values(["order", "oldest", "clause"], na_position="last", kind="stable")
    return groups[GROUP_COLUMNS].reset_index(drop=True)


def readiness_view(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> ReadinessView:
    """The readiness checklist with its blockers as a list and grouped, in one call."""
    result = readiness.readiness(con, as_of)
    frame = blocker_frame(result.blockers)
    return ReadinessView(result=result, blockers=frame, blocker_groups=blocker_groups(frame))
