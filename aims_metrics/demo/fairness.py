"""Demo fairness evaluations: seeded synthetic predictions for a few high-risk demo systems,
evaluated and saved like any upload, so the Fairness page, the bias KPIs' drill-down and the
minutes show per-group results on `make run`.

Each chosen system gets its last three production test runs (model version and date taken from
its demo bias tests) evaluated by gender and age band; the gap between groups narrows from one
model version to the next, and a small non-binary group is always flagged as insufficient.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from aims_metrics import store
from aims_metrics.performance.fairness import evaluate
from aims_metrics.performance.fairness_input import PredictionColumns, predictions_from_frame
from aims_metrics.performance.fairness_policy import current_policy
from aims_metrics.performance.fairness_store import FairnessRun, RunIdentity, save_run

FAIRNESS_SEED = 4217
SYSTEMS_EVALUATED = 3
RUNS_PER_SYSTEM = 3
ROWS_PER_RUN = 6000
GENDERS, GENDER_SHARES = ("female", "male", "non-binary"), (0.498, 0.5, 0.002)
AGE_BANDS, AGE_SHARES = ("18-29", "30-49", "50+"), (0.3, 0.45, 0.25)
GAPS = (0.17, 0.09, 0.035)  # the true-positive gap against women, per successive model version
COLUMNS = PredictionColumns(
    y_true="approved", y_pred="predicted", sensitive=("gender", "age_band", "gender*age_band")
)


def demo_predictions(rng: np.random.Generator, gap: float, n: int = ROWS_PER_RUN) -> pd.DataFrame:
    """Synthetic predictions of a credit-style model whose errors favour men by about `gap`."""
    gender = rng.choice(len(GENDERS), n, p=GENDER_SHARES)
    age = rng.choice(len(AGE_BANDS), n, p=AGE_SHARES)
    truth = rng.random(n) < 0.35
    female, older = gender == 0, age == 2
    tpr = 0.86 - gap * female - 0.3 * gap * older
    fpr = 0.12 - 0.4 * gap * female
    predicted = np.where(truth, rng.random(n) < tpr, rng.random(n) < fpr)
    return pd.DataFrame(
        {
            "approved": truth.astype(int),
            "predicted": predicted.astype(int),
            "gender": np.asarray(GENDERS)[gender],
            "age_band": np.asarray(AGE_BANDS)[age],
        }
    )


def _runs_to_evaluate(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, object]]:
    """(system, model version, date): the last production run of each of the last model
    versions of the first high-risk deployed systems."""
    return con.execute(
        """
        WITH chosen AS (
            SELECT system_id FROM systems
            WHERE risk_level = 'high' AND lifecycle_stage = 'deployed'
            ORDER BY system_id LIMIT ?),
        runs AS (  -- the latest production run of each model version
            SELECT b.system_id, b.model_version, max(b.executed_on) AS executed_on
            FROM bias_tests b JOIN chosen USING (system_id) WHERE b.stage = 'production'
            GROUP BY b.system_id, b.model_version),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY system_id ORDER BY executed_on DESC) AS k
            FROM runs)
        SELECT system_id, model_version, executed_on FROM ranked WHERE k <= ?
        ORDER BY system_id, executed_on
        """,
        [SYSTEMS_EVALUATED, RUNS_PER_SYSTEM],
    ).fetchall()


def seed_fairness_demo(con: duckdb.DuckDBPyConnection, username: str = "demo") -> dict[str, int]:
    """Evaluate and save the demo runs; returns the bias tests and group rows added."""
    runs = _runs_to_evaluate(con)
    policy = current_policy(con)
    added = {"bias_tests": 0, "bias_test_groups": 0}
    position: dict[str, int] = {}
    for index, (system_id, version, executed_on) in enumerate(runs):
        step = position[system_id] = position.get(system_id, -1) + 1
        rng = np.random.default_rng(FAIRNESS_SEED + index)
        frame = demo_predictions(rng, GAPS[min(step, len(GAPS) - 1)])
        evaluation = evaluate(predictions_from_frame(frame, COLUMNS, "demo-predictions.csv"))
        identity = RunIdentity(system_id, version, "production", executed_on)
        run = FairnessRun(identity, evaluation, policy)
        counts = save_run(con, run, username)
        added["bias_tests"] += counts.inserted
        added["bias_test_groups"] += len(run.group_rows())
    store.record_audit(con, username, "demo.fairness", "bias_test_groups", added)
    return added
