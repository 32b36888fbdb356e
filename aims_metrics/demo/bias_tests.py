"""Bias tests: pre-deployment runs per release candidate and periodic production runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aims_metrics.demo.common import (
    DAY,
    FAILED,
    LATE,
    TESTED,
    Inventory,
    Window,
    between,
    days,
    id_column,
    lookup,
    table_frame,
    uniform_int,
)
from aims_metrics.demo.vocabulary import (
    ATTRIBUTES_BY_RISK,
    BIAS_METRICS,
    BIAS_THRESHOLDS,
    DEVELOPMENT,
    MODEL_VERSIONS,
    PROTECTED_ATTRIBUTES,
    RC_VERSIONS,
    RELEASE_VERSIONS,
    VALIDATION,
)
from aims_metrics.tables.registry import bias_test_passes, is_ratio_metric

# --- bias tests ---------------------------------------------------------------------------------

PASS_RANDOM, PASS_FORCED, FAIL_FORCED = range(3)


def _pre_deployment_runs(rng: np.random.Generator, window: Window, inv: Inventory):
    """(system, executed_on, outcome, version) of each pre-deployment test run."""
    n = len(inv.ids)
    planned = ~np.isnat(inv.deployed) & np.isin(inv.bias_plan, (TESTED, FAILED))
    building = np.isin(inv.stage, (DEVELOPMENT, VALIDATION))
    runs = np.where(planned, 1 + (rng.random(n) < 0.5) + (rng.random(n) < 0.2), 0)
    runs = np.where(building, 1 + (rng.random(n) < 0.5), runs)
    late = ~np.isnat(inv.deployed) & (inv.bias_plan == LATE)
    runs[late] = 1
    system = np.repeat(np.arange(n), runs)
    j = np.arange(len(system)) - np.repeat(np.cumsum(runs) - runs, runs)
    back = runs[system] - 1 - j  # 0 for the run just before go-live
    m = len(system)
    gap = days(back * uniform_int(rng, 20, 40, m))
    anchor = np.where(
        building[system],
        window.end - days(uniform_int(rng, 0, 150, m)),
        inv.deployed[system] - days(uniform_int(rng, 1, 14, m)),
    )
    executed = anchor - gap
    is_late = late[system]
    executed[is_late] = np.minimum(
        inv.deployed[system][is_late] + days(uniform_int(rng, 10, 90, int(is_late.sum()))),
        window.end,
    )
    outcome = np.full(m, PASS_RANDOM)
    outcome[(inv.bias_plan[system] == TESTED) & planned[system] & (back == 0)] = PASS_FORCED
    outcome[(inv.bias_plan[system] == FAILED) & planned[system]] = FAIL_FORCED
    return system, executed, outcome, np.minimum(j, len(RC_VERSIONS) - 1)


def _production_runs(
    rng: np.random.Generator, window: Window, inv: Inventory, rows_needed: int | None
):
    """Production test runs inside each system's service period: one per quarter for the demo,
    Poisson-many to reach `rows_needed` rows at scale."""
    lo = np.maximum(inv.service_lo, (inv.deployed + DAY)[:, None])
    hi = inv.service_hi
    pair_sys, pair_q = np.nonzero(lo <= hi)
    rows_per_run = 3 * np.asarray(ATTRIBUTES_BY_RISK)[inv.risk[pair_sys]]
    if rows_needed is None:
        per_pair = np.ones(len(pair_sys), dtype=np.int64)
    else:
        per_pair = np.zeros(len(pair_sys), dtype=np.int64)
        while int((per_pair * rows_per_run).sum()) < rows_needed:  # rarely more than once
            missing = rows_needed - int((per_pair * rows_per_run).sum())
            lam = 1.1 * missing / (len(pair_sys) * rows_per_run.mean())
            per_pair += rng.poisson(lam, len(pair_sys))
    system = np.repeat(pair_sys, per_pair)
    quarter = np.repeat(pair_q, per_pair)
    executed = between(rng, lo[system, quarter], hi[system, quarter])
    months = ((executed - inv.deployed[system]).astype(np.int64) // 91).clip(
        0, len(RELEASE_VERSIONS) - 1
    )
    return system, executed, len(RC_VERSIONS) + months


def generate_bias_tests(
    rng: np.random.Generator, window: Window, inv: Inventory, total: int | None
) -> pd.DataFrame:
    pre_sys, pre_date, pre_outcome, pre_version = _pre_deployment_runs(rng, window, inv)
    per_run = 3 * np.asarray(ATTRIBUTES_BY_RISK)[inv.risk]
    pre_rows = int(per_run[pre_sys].sum())
    if total is not None and total < pre_rows:
        raise ValueError(f"{total} bias tests cannot hold the {pre_rows} pre-deployment ones")
    prod_sys, prod_date, prod_version = _production_runs(
        rng, window, inv, None if total is None else total - pre_rows
    )
    run_sys = np.concatenate([pre_sys, prod_sys])
    run_date = np.concatenate([pre_date, prod_date])
    run_stage = np.repeat([0, 1], [len(pre_sys), len(prod_sys)])
    run_outcome = np.concatenate([pre_outcome, np.full(len(prod_sys), PASS_RANDOM)])
    run_version = np.concatenate([pre_version, prod_version])

    sizes = per_run[run_sys]
    run = np.repeat(np.arange(len(run_sys)), sizes)
    k = np.arange(len(run)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    if total is not None:  # trim production rows at random to the exact size
        prod_rows = np.flatnonzero(run_stage[run] == 1)
        keep = rng.choice(len(prod_rows), size=total - pre_rows, replace=False)
        chosen = np.sort(np.concatenate([np.flatnonzero(run_stage[run] == 0), prod_rows[keep]]))
        run, k = run[chosen], k[chosen]
    n = len(run)
    system = run_sys[run]
    executed = run_date[run]
    metric = k % 3
    attribute = inv.attributes[system, k // 3]

    chance = np.where(executed < window.first, 0.78, 0.80 + 0.15 * window.progress(executed))
    good = rng.random(n) < chance
    outcome = run_outcome[run]
    good[outcome == PASS_FORCED] = True
    good[outcome == FAIL_FORCED] = False
    # Values keep a clear margin from the threshold, so `passed` follows the rule exactly.
    sign = np.where(rng.random(n) < 0.8, 1.0, -1.0)
    difference = sign * np.where(good, rng.uniform(0.005, 0.095, n), rng.uniform(0.105, 0.28, n))
    ratio = np.where(good, rng.uniform(0.81, 1.05, n), rng.uniform(0.55, 0.79, n))
    is_ratio = np.array([is_ratio_metric(m) for m in BIAS_METRICS])[metric]
    value = np.round(np.where(is_ratio, ratio, difference), 3)
    threshold = np.asarray(BIAS_THRESHOLDS)[metric]
    passed = np.array(
        [
            bias_test_passes(BIAS_METRICS[m], v, t)
            for m, v, t in zip(metric, value, threshold, strict=True)
        ],
        dtype=bool,
    )

    order = np.argsort(executed, kind="stable")
    return table_frame(
        "bias_tests",
        {
            "test_id": id_column("BT-", n),
            "system_id": lookup(inv.ids, system[order]),
            "model_version": lookup(MODEL_VERSIONS, run_version[run][order]),
            "executed_on": executed[order],
            "stage": lookup(("pre_deployment", "production"), run_stage[run][order]),
            "protected_attribute": lookup(PROTECTED_ATTRIBUTES, attribute[order]),
            "metric": lookup(BIAS_METRICS, metric[order]),
            "value": value[order],
            "threshold": threshold[order],
            "passed": passed[order],
        },
    )
