"""Fairness runs: evaluate a predictions file for a system and record it as bias tests.

One evaluation of one protected attribute has a deterministic id from (system, model version,
stage, date, attribute), so running the same evaluation again replaces its rows instead of adding
new ones: its `bias_tests` rows (one per disparity metric, `passed` from the fairness policy and the
registry's rule) and its `bias_test_groups` rows. Everything is written in one transaction; a run
that fails writes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from aims_metrics import store
from aims_metrics.inputs.text import control_character, normalise_text
from aims_metrics.performance.fairness import (
    DEFAULT_MIN_GROUP_SIZE,
    DEFAULT_N_BOOT,
    RATES,
    Evaluation,
    evaluate,
)
from aims_metrics.performance.fairness_input import (
    PredictionColumns,
    Predictions,
    PredictionsRejected,
    read_predictions,
)
from aims_metrics.performance.fairness_policy import PolicyVersion, current_policy, passes
from aims_metrics.tables.checks import ImportProblem
from aims_metrics.tables.registry import BIAS_TEST_GROUPS, BIAS_TESTS, BiasStage

MAX_IDENTIFIER_LENGTH = 100


@dataclass(frozen=True)
class RunIdentity:
    """What makes two evaluations the same one (together with the attribute)."""

    system_id: str
    model_version: str
    stage: str
    executed_on: date

    def __post_init__(self) -> None:
        if self.stage not in {s.value for s in BiasStage}:
            raise ValueError(f"stage must be pre_deployment or production, not {self.stage!r}")
        for name in ("system_id", "model_version"):  # the one text rule: ends trimmed
            object.__setattr__(self, name, normalise_text(getattr(self, name)) or "")

    def problem(self) -> tuple[str, str] | None:
        """(field, message) when the system or model version cannot name a run: blank, too long,
        or holding a control character (it is shown in tables, minutes and the audit log). The
        date is checked where people give it (the CLI's date type, the page's date picker)."""
        for name in ("system_id", "model_version"):
            value = getattr(self, name)
            if not value:
                return name, f"{name} is required"
            if len(value) > MAX_IDENTIFIER_LENGTH:
                return name, f"{name} must be at most {MAX_IDENTIFIER_LENGTH} characters"
            if found := control_character(value):
                return name, f"{name} {value!r} contains a control character {found}"
        return None

    def evaluation_id(self, attribute: str) -> str:
        key = "\x1f".join(
            [
                self.system_id,
                self.model_version,
                self.stage,
                self.executed_on.isoformat(),
                attribute,
            ]
        )
        return "FE-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass
class FairnessRun:
    identity: RunIdentity
    evaluation: Evaluation
    policy: PolicyVersion

    def test_rows(self) -> list[dict]:
        """The bias_tests rows (registry column order), one per attribute × defined disparity."""
        rows = []
        for d in self.evaluation.disparities:
            if d.value is None:
                continue
            threshold = self.policy.thresholds.threshold(d.metric)
            rows.append(
                {
                    "test_id": f"{self.identity.evaluation_id(d.attribute)}:{d.metric}",
                    "system_id": self.identity.system_id,
                    "model_version": self.identity.model_version,
                    "executed_on": self.identity.executed_on,
                    "stage": self.identity.stage,
                    "protected_attribute": d.attribute,
                    "metric": d.metric,
                    "value": d.value,
                    "threshold": threshold,
                    "passed": passes(d.metric, d.value, threshold),
                }
            )
        return rows

    def group_rows(self) -> list[dict]:
        """The bias_test_groups rows (registry column order)."""
        rows = []
        for g in self.evaluation.groups:
            evaluation_id = self.identity.evaluation_id(g.attribute)
            digest = hashlib.sha256(g.group.encode("utf-8")).hexdigest()[:12]
            row = {
                "group_id": f"{evaluation_id}:{digest}",
                "evaluation_id": evaluation_id,
                "system_id": self.identity.system_id,
                "model_version": self.identity.model_version,
                "executed_on": self.identity.executed_on,
                "stage": self.identity.stage,
                "protected_attribute": g.attribute,
                "group_value": g.group,
                "n": float(g.n),
                "insufficient": g.insufficient,
            }
            for rate in RATES:
                low, high = g.intervals[rate]
                row |= {rate: g.rates[rate], f"{rate}_low": low, f"{rate}_high": high}
            rows.append(row)
        return rows

    def as_json(self) -> dict:
        """The CLI's JSON: groups, tests, warnings."""
        tests = [
            {k: row[k] for k in ("test_id", "protected_attribute", "metric", "value")}
            | {"threshold": row["threshold"], "passed": bool(row["passed"])}
            for row in self.test_rows()
        ]
        return {
            "groups": [g.as_dict() for g in self.evaluation.groups],
            "tests": tests,
            "warnings": list(self.evaluation.warnings),
        }


@dataclass(frozen=True)
class SaveCounts:
    inserted: int
    updated: int

    def __str__(self) -> str:
        return f"{self.inserted} inserted, {self.updated} updated"


def system_problem(con: duckdb.DuckDBPyConnection, system_id: str, file_name: str):
    """An ImportProblem when `system_id` is not in the inventory, else None."""
    row = store.fetch_one(con, "SELECT 1 FROM systems WHERE system_id = ?", [system_id])
    if row is not None:
        return None
    return ImportProblem(
        1, "system_id", f"unknown system_id {system_id!r}: import systems first", file_name
    )


def identity_problem(identity: RunIdentity, file_name: str) -> None:
    """Raise PredictionsRejected when the run's identity cannot be stored (RunIdentity.problem)."""
    found = identity.problem()
    if found is not None:
        raise PredictionsRejected([ImportProblem(1, found[0], found[1], file_name)])


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], rows: list[dict]):
    if not rows:
        return
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
        [[row[c] for c in columns] for row in rows],
    )


def save_run(con: duckdb.DuckDBPyConnection, run: FairnessRun, username: str) -> SaveCounts:
    """Write the run's bias tests and group rates in one transaction, replacing an earlier run of
    the same evaluation; audit-logged. Raises PredictionsRejected for an unknown system."""
    identity_problem(run.identity, "")
    tests, groups = run.test_rows(), run.group_rows()
    evaluation_ids = sorted({row["evaluation_id"] for row in groups})
    with store.transaction(con):
        problem = system_problem(con, run.identity.system_id, "")
        if problem is not None:
            raise PredictionsRejected([problem])
        test_ids = [row["test_id"] for row in tests]
        (existing,) = con.execute(
            "SELECT count(*) FROM bias_tests WHERE list_contains(?::VARCHAR[], test_id)",
            [test_ids],
        ).fetchall()[0]
        con.execute(
            "DELETE FROM bias_tests WHERE list_contains(?::VARCHAR[], split_part(test_id, ':', 1))",
            [evaluation_ids],
        )
        con.execute(
            "DELETE FROM bias_test_groups WHERE list_contains(?::VARCHAR[], evaluation_id)",
            [evaluation_ids],
        )
        _insert(con, BIAS_TESTS.name, BIAS_TESTS.column_names, tests)
        _insert(con, BIAS_TEST_GROUPS.name, BIAS_TEST_GROUPS.column_names, groups)
        counts = SaveCounts(inserted=len(tests) - existing, updated=existing)
        store.record_audit(
            con,
            username,
            "fairness.save",
            run.identity.system_id,
            {
                "model_version": run.identity.model_version,
                "stage": run.identity.stage,
                "executed_on": run.identity.executed_on.isoformat(),
                "evaluations": evaluation_ids,
                "policy": run.policy.ref,
                "tests": len(tests),
                "groups": len(groups),
            },
        )
    return counts


def prepare_run(
    con: duckdb.DuckDBPyConnection,
    predictions: Predictions,
    identity: RunIdentity,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    n_boot: int = DEFAULT_N_BOOT,
) -> FairnessRun:
    """Evaluate validated predictions under the current policy (reads only)."""
    identity_problem(identity, predictions.file_name)
    problem = system_problem(con, identity.system_id, predictions.file_name)
    if problem is not None:
        raise PredictionsRejected([problem])
    evaluation = evaluate(predictions, min_group_size=min_group_size, n_boot=n_boot)
    return FairnessRun(identity, evaluation, current_policy(con))


def evaluate_file(
    con: duckdb.DuckDBPyConnection,
    source: Path | bytes,
    columns: PredictionColumns,
    identity: RunIdentity,
    username: str,
    *,
    file_name: str | None = None,
    sheet: str | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    dry_run: bool = False,
) -> tuple[FairnessRun, SaveCounts | None]:
    """Read, validate, evaluate and (unless dry_run) save; raises PredictionsRejected or
    EvaluationRejected with nothing written."""
    name = file_name or (str(source) if isinstance(source, Path) else "upload")
    identity_problem(identity, name)
    problem = system_problem(con, identity.system_id, name)
    try:
        predictions = read_predictions(source, columns, name, sheet)
    except PredictionsRejected as rejected:
        raise PredictionsRejected(rejected.problems + ([problem] if problem else [])) from None
    run = prepare_run(con, predictions, identity, min_group_size)
    return run, None if dry_run else save_run(con, run, username)
