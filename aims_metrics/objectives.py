"""AI objectives (Clause 6.2): a metric, a target and a deadline, with progress per quarter."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from aims_metrics.periods import Quarter


class ObjectiveStatus(StrEnum):
    ACHIEVED = "achieved"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    MISSED = "missed"
    NO_DATA = "no_data"


class Objective(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objective_id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    metric: str
    target: float
    deadline: date
    owner: str | None = None
    baseline: float | None = None
    baseline_on: date | None = None


class ObjectiveProgress(BaseModel):
    objective: Objective
    quarter: str
    value: float | int | None
    status: ObjectiveStatus
    progress: float | None  # share of the way from baseline to target, 0..1
    expected: float | None  # share of the time from baseline_on to deadline elapsed, 0..1


def list_objectives(con: duckdb.DuckDBPyConnection) -> list[Objective]:
    """Every objective, by id."""
    raise NotImplementedError


def save_objective(con: duckdb.DuckDBPyConnection, objective: Objective, username: str) -> None:
    """Insert or update an objective (its metric must exist), with an audit entry."""
    raise NotImplementedError


def delete_objective(con: duckdb.DuckDBPyConnection, objective_id: str, username: str) -> None:
    """Delete an objective, with an audit entry."""
    raise NotImplementedError


def objective_progress(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> list[ObjectiveProgress]:
    """Status of every objective at the end of a quarter."""
    raise NotImplementedError


def objective_trajectory(
    con: duckdb.DuckDBPyConnection, objective_id: str, quarters: list[Quarter]
) -> list[ObjectiveProgress]:
    """One objective's status at the end of each quarter."""
    raise NotImplementedError
