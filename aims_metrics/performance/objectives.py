"""AI objectives (Clause 6.2): a metric, a target and a deadline, with progress per quarter.

Status at a quarter end: achieved (target met); missed (the deadline is reached, unmet);
on_track (progress from baseline toward target at least the elapsed share of the time from
baseline_on to the deadline); at_risk (within 25 points of it); off_track (further behind).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from aims_metrics import store
from aims_metrics.metrics.periods import Quarter

AT_RISK_MARGIN = 0.25


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

    def to_json(self) -> dict:
        """One entry of `objectives --format json`."""
        return {
            "objective_id": self.objective.objective_id,
            "title": self.objective.title,
            "metric": self.objective.metric,
            "target": self.objective.target,
            "deadline": self.objective.deadline.isoformat(),
            "owner": self.objective.owner,
            "quarter": self.quarter,
            "value": self.value,
            "status": self.status.value,
            "progress": self.progress,
            "expected": self.expected,
        }


# The two classic objectives of ISO/IEC 42001 practice, for the demo data set.
CLASSIC_OBJECTIVES: tuple[Objective, ...] = (
    Objective(
        objective_id="OBJ-1",
        title="Zero high-severity AI incidents",
        metric="high_severity_incidents",
        target=0,
        deadline=date(2025, 12, 31),
        owner="Head of AI Risk",
        baseline=4,
        baseline_on=date(2024, 12, 31),
    ),
    Objective(
        objective_id="OBJ-2",
        title="All high-risk AI systems bias-tested before deployment",
        metric="high_risk_bias_tested_before_deployment",
        target=1.0,
        deadline=date(2026, 6, 30),
        owner="Responsible AI Lead",
        baseline=0.5,
        baseline_on=date(2024, 12, 31),
    ),
)

_COLUMNS = (
    "objective_id",
    "title",
    "metric",
    "target",
    "deadline",
    "owner",
    "baseline",
    "baseline_on",
)


def list_objectives(con: duckdb.DuckDBPyConnection) -> list[Objective]:
    """Every objective, by id."""
    rows = con.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM objectives ORDER BY objective_id"
    ).fetchall()
    return [Objective(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]


def objective_problem(objective: Objective) -> None:
    """ValueError when a number is not finite or a date is out of the accepted range (checked on
    saving, so rows stored earlier still load)."""
    import math

    from aims_metrics.metrics.periods import check_date

    for name in ("target", "baseline"):
        value = getattr(objective, name)
        if value is not None and not math.isfinite(value):
            raise ValueError(f"the {name} must be a finite number, not {value}")
    for name in ("deadline", "baseline_on"):
        if (day := getattr(objective, name)) is not None:
            check_date(day, f"the {name.replace('_', ' ')}")


def save_objective(con: duckdb.DuckDBPyConnection, objective: Objective, username: str) -> None:
    """Insert or update an objective (its metric must exist), with an audit entry."""
    from aims_metrics.metrics.catalog import current_definitions

    objective_problem(objective)
    names = [d.name for d in current_definitions(con)]
    if objective.metric not in names:
        raise ValueError(f"unknown metric {objective.metric!r}: use one of {', '.join(names)}")
    values = [getattr(objective, c) for c in _COLUMNS]
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
    with store.transaction(con):
        con.execute(
            f"INSERT INTO objectives ({', '.join(_COLUMNS)}, updated_by, updated_at) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)}, ?, ?) "
            f"ON CONFLICT (objective_id) DO UPDATE SET {updates}, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            [*values, username, store.now()],
        )
        store.record_audit(
            con,
            username,
            "objective.save",
            objective.objective_id,
            objective.model_dump(mode="json"),
        )


def seed_classic_objectives(con: duckdb.DuckDBPyConnection, username: str = "system") -> None:
    """Save the two classic objectives (for the demo data set)."""
    for objective in CLASSIC_OBJECTIVES:
        save_objective(con, objective, username)


def delete_objective(con: duckdb.DuckDBPyConnection, objective_id: str, username: str) -> None:
    """Delete an objective, with an audit entry; KeyError if it does not exist."""
    with store.transaction(con):
        row = con.execute(
            "SELECT 1 FROM objectives WHERE objective_id = ?", [objective_id]
        ).fetchone()
        if row is None:
            raise KeyError(f"no objective {objective_id!r}")
        con.execute("DELETE FROM objectives WHERE objective_id = ?", [objective_id])
        store.record_audit(con, username, "objective.delete", objective_id)


def _share(numerator: float, denominator: float) -> float:
    return min(1.0, max(0.0, numerator / denominator))


def judge(
    objective: Objective, quarter: Quarter, value: float | None, higher_is_better: bool
) -> ObjectiveProgress:
    """An objective's status at a quarter end given the metric's value for that quarter."""
    expected = None
    if objective.baseline_on is not None and objective.deadline > objective.baseline_on:
        elapsed = (quarter.end - objective.baseline_on).days
        expected = _share(elapsed, (objective.deadline - objective.baseline_on).days)
    if value is None:
        return ObjectiveProgress(
            objective=objective,
            quarter=quarter.label,
            value=None,
            status=ObjectiveStatus.NO_DATA,
            progress=None,
            expected=expected,
        )
    rounded = round(float(value), 9)
    met = rounded >= objective.target if higher_is_better else rounded <= objective.target
    progress = None
    if objective.baseline is not None:
        gap = objective.target - objective.baseline
        progress = 1.0 if met else (0.0 if gap == 0 else _share(rounded - objective.baseline, gap))
    elif met:
        progress = 1.0
    if met:
        status = ObjectiveStatus.ACHIEVED
    elif quarter.end >= objective.deadline:
        status = ObjectiveStatus.MISSED
    elif progress is None or expected is None:
        status = ObjectiveStatus.AT_RISK  # no baseline to measure progress against
    elif progress >= expected - 1e-9:
        status = ObjectiveStatus.ON_TRACK
    elif progress >= expected - AT_RISK_MARGIN - 1e-9:
        status = ObjectiveStatus.AT_RISK
    else:
        status = ObjectiveStatus.OFF_TRACK
    return ObjectiveProgress(
        objective=objective,
        quarter=quarter.label,
        value=value,
        status=status,
        progress=progress,
        expected=expected,
    )


def _evaluate(
    con: duckdb.DuckDBPyConnection, objectives: list[Objective], quarters: list[Quarter]
) -> list[list[ObjectiveProgress]]:
    from aims_metrics.metrics.catalog import current_definitions
    from aims_metrics.metrics.evaluate import evaluate_series
    from aims_metrics.metrics.models import Direction

    definitions = {d.name: d for d in current_definitions(con)}
    wanted = [
        definitions[name]
        for name in dict.fromkeys(o.metric for o in objectives)
        if name in definitions
    ]
    series = evaluate_series(con, wanted, quarters) if wanted else {}
    out = []
    for objective in objectives:
        definition = definitions.get(objective.metric)
        results = series.get(objective.metric)
        higher = definition is not None and definition.direction is Direction.HIGHER_IS_BETTER
        out.append(
            [
                judge(objective, q, results[i].value if results else None, higher)
                for i, q in enumerate(quarters)
            ]
        )
    return out


def objective_progress(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> list[ObjectiveProgress]:
    """Status of every objective at the end of a quarter."""
    objectives = list_objectives(con)
    return [series[0] for series in _evaluate(con, objectives, [quarter])]


def objective_trajectory(
    con: duckdb.DuckDBPyConnection, objective_id: str, quarters: list[Quarter]
) -> list[ObjectiveProgress]:
    """One objective's status at the end of each quarter."""
    matching = [o for o in list_objectives(con) if o.objective_id == objective_id]
    if not matching:
        raise KeyError(f"no objective {objective_id!r}")
    return _evaluate(con, matching, list(quarters))[0]
