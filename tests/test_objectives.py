"""Objectives (6.2): storage, audit, and status per quarter computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from aims_metrics import store
from aims_metrics.metrics.periods import Quarter
from aims_metrics.performance.objectives import (
    CLASSIC_OBJECTIVES,
    Objective,
    ObjectiveStatus,
    delete_objective,
    judge,
    list_objectives,
    objective_progress,
    objective_trajectory,
    save_objective,
    seed_classic_objectives,
)
from tests.test_catalog_known_answers import load_known_answer_data

Q2, Q3, Q4 = Quarter(2025, 2), Quarter(2025, 3), Quarter(2025, 4)


@pytest.fixture
def con(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as connection:
        load_known_answer_data(connection)
        yield connection


def objective(**changes) -> Objective:
    base = dict(
        objective_id="O1",
        title="Zero high-severity incidents",
        metric="high_severity_incidents",
        target=0,
        deadline=date(2025, 12, 31),
        baseline=4,
        baseline_on=date(2024, 12, 31),
    )
    return Objective(**(base | changes))


@pytest.mark.parametrize(
    ("value", "quarter", "status", "progress", "expected"),
    [
        (0, Q2, ObjectiveStatus.ACHIEVED, 1.0, 181 / 365),
        (2, Q2, ObjectiveStatus.ON_TRACK, 0.5, 181 / 365),  # 0.5 ≥ 0.496
        (3, Q2, ObjectiveStatus.AT_RISK, 0.25, 181 / 365),  # within 25 points
        (4, Q3, ObjectiveStatus.OFF_TRACK, 0.0, 273 / 365),
        (1, Q4, ObjectiveStatus.MISSED, 0.75, 1.0),  # the deadline is reached unmet
        (None, Q3, ObjectiveStatus.NO_DATA, None, 273 / 365),
    ],
)
def test_judge_lower_is_better(value, quarter, status, progress, expected):
    result = judge(objective(), quarter, value, higher_is_better=False)
    assert result.status is status
    assert result.progress == (None if progress is None else pytest.approx(progress))
    assert result.expected == pytest.approx(expected)


def test_judge_higher_is_better():
    goal = objective(
        metric="high_risk_bias_tested_before_deployment",
        target=1.0,
        baseline=0.5,
        deadline=date(2026, 12, 31),
    )
    result = judge(goal, Q2, 0.75, higher_is_better=True)
    assert result.progress == pytest.approx(0.5)
    assert result.expected == pytest.approx(181 / 730)
    assert result.status is ObjectiveStatus.ON_TRACK
    assert judge(goal, Q2, 1.0, higher_is_better=True).status is ObjectiveStatus.ACHIEVED


def test_save_list_update_delete_with_audit(con):
    save_objective(con, objective(), "gov")
    save_objective(con, objective(title="Zero serious incidents"), "gov")
    assert [o.title for o in list_objectives(con)] == ["Zero serious incidents"]
    delete_objective(con, "O1", "gov")
    assert list_objectives(con) == []
    actions = [
        r[0] for r in con.execute("SELECT action FROM audit_log ORDER BY entry_id").fetchall()
    ]
    assert actions == ["objective.save", "objective.save", "objective.delete"]


def test_objective_metric_must_exist(con):
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        save_objective(con, objective(metric="nope"), "gov")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target": float("nan")}, "the target must be a finite number, not nan"),
        ({"baseline": float("-inf")}, "the baseline must be a finite number, not -inf"),
        (
            {"deadline": date(9999, 12, 31)},
            "the deadline 9999-12-31 is out of range: dates run from 1900-01-01 to 2199-12-31",
        ),
        ({"baseline_on": date(1, 1, 1)}, "the baseline on 0001-01-01 is out of range"),
    ],
)
def test_non_finite_numbers_and_far_dates_are_not_saved(con, changes, message):
    with pytest.raises(ValueError, match=message):
        save_objective(con, objective(**changes), "gov")
    assert list_objectives(con) == []


def test_progress_from_the_catalog(con):
    seed_classic_objectives(con)
    by_id = {p.objective.objective_id: p for p in objective_progress(con, Q3)}
    assert set(by_id) == {o.objective_id for o in CLASSIC_OBJECTIVES}
    # high_severity_incidents in 2025Q3 = 1 (baseline 4, target 0): progress 0.75, expected 273/365.
    assert by_id["OBJ-1"].value == 1
    assert by_id["OBJ-1"].progress == pytest.approx(0.75)
    assert by_id["OBJ-1"].status is ObjectiveStatus.ON_TRACK
    # bias-tested share in 2025Q3 = 0.5 = the baseline: no progress while 273/546 = 0.5 of the
    # time passed, more than 25 points behind.
    assert by_id["OBJ-2"].value == pytest.approx(0.5)
    assert by_id["OBJ-2"].expected == pytest.approx(0.5)
    assert by_id["OBJ-2"].status is ObjectiveStatus.OFF_TRACK


def test_trajectory(con):
    save_objective(con, objective(), "gov")
    statuses = [p.status for p in objective_trajectory(con, "O1", [Q2, Q3, Q4])]
    # values 1, 1, 0 (see test_catalog_known_answers)
    assert statuses == [
        ObjectiveStatus.ON_TRACK,
        ObjectiveStatus.ON_TRACK,
        ObjectiveStatus.ACHIEVED,
    ]
