"""The demo's AI objectives (6.2), their baselines computed by the metrics engine."""

from __future__ import annotations

from datetime import date

import duckdb

from aims_metrics import store
from aims_metrics.demo.common import QUARTERS
from aims_metrics.demo.vocabulary import DEMO_OBJECTIVES
from aims_metrics.metrics import evaluate
from aims_metrics.metrics.periods import Quarter
from aims_metrics.performance.objectives import Objective

# --- objectives ---------------------------------------------------------------------------------


def demo_objectives(con: duckdb.DuckDBPyConnection, end_quarter: Quarter) -> list[Objective]:
    """DEMO_OBJECTIVES with their deadline (end of the year after `end_quarter`) and their
    baseline: the metric's value in the data's first quarter, computed by the metrics engine."""
    first = end_quarter.shift(-(QUARTERS - 1))
    series = evaluate.catalog_series(con, [first], [spec.metric for spec in DEMO_OBJECTIVES])
    objectives = []
    for spec in DEMO_OBJECTIVES:
        baseline = series[spec.metric][0].value
        objectives.append(
            Objective(
                objective_id=spec.objective_id,
                title=spec.title,
                metric=spec.metric,
                target=spec.target,
                deadline=date(end_quarter.end.year + 1, 12, 31),
                owner=spec.owner,
                baseline=None if baseline is None else float(baseline),
                baseline_on=first.end,
            )
        )
    return objectives


def seed_objectives(
    con: duckdb.DuckDBPyConnection, end_quarter: Quarter, username: str = "demo"
) -> list[Objective]:
    """Insert or update the demo objectives in one transaction, with an audit entry."""
    objectives = demo_objectives(con, end_quarter)  # read-only evaluation, before writing
    with store.transaction(con):
        for o in objectives:
            con.execute(
                "INSERT INTO objectives (objective_id, title, metric, target, deadline, owner, "
                "baseline, baseline_on, updated_by, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (objective_id) DO UPDATE SET title = excluded.title, "
                "metric = excluded.metric, target = excluded.target, "
                "deadline = excluded.deadline, owner = excluded.owner, "
                "baseline = excluded.baseline, baseline_on = excluded.baseline_on, "
                "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                [
                    o.objective_id,
                    o.title,
                    o.metric,
                    o.target,
                    o.deadline,
                    o.owner,
                    o.baseline,
                    o.baseline_on,
                    username,
                    store.now(),
                ],
            )
        store.record_audit(
            con,
            username,
            "objectives.seed",
            ",".join(o.objective_id for o in objectives),
            {o.objective_id: o.model_dump(mode="json") for o in objectives},
        )
    return objectives
