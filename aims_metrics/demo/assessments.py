"""AI system impact and risk assessments, some overdue."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aims_metrics.demo.common import (
    NAT,
    Inventory,
    Window,
    between,
    days,
    id_column,
    lookup,
    optional,
    table_frame,
    uniform_int,
)
from aims_metrics.demo.vocabulary import (
    ASSESSMENT_NOTES,
    ASSESSMENT_TYPES,
    ASSESSORS,
    DESIGN,
    DEVELOPMENT,
    RISKS,
    VALIDATION,
)

# --- assessments --------------------------------------------------------------------------------


def generate_assessments(
    rng: np.random.Generator, window: Window, inv: Inventory, total: int | None
) -> pd.DataFrame:
    n, end, first = len(inv.ids), window.end, window.first
    # 1. One initial impact assessment per system.
    ever = ~np.isnat(inv.deployed)
    due = np.full(n, NAT)
    lag = uniform_int(rng, -20, 7, n)
    note = np.zeros(n, dtype=np.int64)
    catch_up = ever & inv.legacy  # the AIMS started after these went live
    due[catch_up] = first + days(uniform_int(rng, 30, 400, int(catch_up.sum())))
    lag[catch_up] = uniform_int(rng, -15, 45, int(catch_up.sum()))
    note[catch_up] = 1
    pre = ever & ~inv.legacy
    due[pre] = inv.deployed[pre] - days(uniform_int(rng, 7, 30, int(pre.sum())))
    building = np.isin(inv.stage, (DEVELOPMENT, VALIDATION))
    due[building] = end - days(uniform_int(rng, 0, 200, int(building.sum())))
    note[building | (inv.stage == DESIGN)] = 7
    design = inv.stage == DESIGN
    due[design] = end  # due at the quarter end: started, not yet overdue
    completed = due + days(lag)
    completed[(completed > end) | design] = NAT
    cancelled = ~np.isnat(inv.retired) & (due > inv.retired)
    stuck = inv.assessment_gap
    due[stuck] = first + days(uniform_int(rng, 90, 300, int(stuck.sum())))
    note[stuck] = 6
    completed[cancelled | stuck] = NAT
    note[cancelled] = 4
    status = np.where(~np.isnat(completed), 2, np.where(design & (rng.random(n) < 0.5), 0, 1))
    status[cancelled] = 3
    base = (np.arange(n), np.zeros(n, dtype=np.int64), status, due, completed, note)

    # 2. Periodic reassessments inside each system's service period (high risk most often).
    rate = np.asarray([0.5, 0.3, 0.15])[inv.risk]
    pair_sys, pair_q = np.nonzero(inv.in_service)
    if total is None:
        per_pair = (rng.random(len(pair_sys)) < rate[pair_sys]).astype(np.int64)
    else:
        w = rate[pair_sys]
        per_pair = rng.multinomial(max(total - n, 0), w / w.sum())
    system = np.repeat(pair_sys, per_pair)
    quarter = np.repeat(pair_q, per_pair)
    m = len(system)
    p_due = between(rng, inv.service_lo[system, quarter], inv.service_hi[system, quarter])
    mean = 12 - 15 * window.progress(p_due)  # later reassessments are finished on time
    p_lag = np.maximum(np.rint(rng.normal(mean, 15)), -40).astype(np.int64)
    p_completed = p_due + days(p_lag)
    p_cancel = rng.random(m) < 0.04
    p_stuck = rng.random(m) < 0.02
    p_completed[(p_completed > end) | p_cancel | p_stuck] = NAT
    p_status = np.where(~np.isnat(p_completed), 2, np.where(rng.random(m) < 0.3, 0, 1))
    p_status[p_cancel] = 3
    p_type = (rng.random(m) < 0.65).astype(np.int64)  # mostly risk reassessments
    p_note = np.where(p_cancel, 5, np.where(p_type == 0, 3, 2))
    periodic = (system, p_type, p_status, p_due, p_completed, p_note)

    system, kind, status, due, completed, note = (
        np.concatenate(pair) for pair in zip(base, periodic, strict=True)
    )
    total_rows = len(system)
    done = status == 2
    shift = np.asarray([[0.25, 0.6, 0.15], [0.05, 0.45, 0.5], [0.0, 0.1, 0.9]])  # by system risk
    u = rng.random(total_rows)
    cumulative = shift.cumsum(axis=1)[inv.risk[system]]
    residual = (u[:, None] > cumulative).sum(axis=1).clip(0, 2)
    order = np.lexsort((completed, due))
    return table_frame(
        "assessments",
        {
            "assessment_id": id_column("ASM-", total_rows),
            "system_id": lookup(inv.ids, system[order]),
            "assessment_type": lookup(ASSESSMENT_TYPES, kind[order]),
            "status": lookup(("planned", "in_progress", "completed", "cancelled"), status[order]),
            "due_on": due[order],
            "completed_on": completed[order],
            "assessor": lookup(ASSESSORS, rng.integers(0, len(ASSESSORS), total_rows))[order],
            "residual_risk": optional(done, lookup(RISKS, residual))[order],
            "notes": lookup(ASSESSMENT_NOTES, note[order]),
        },
    )
