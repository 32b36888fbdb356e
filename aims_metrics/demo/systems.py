"""The AI system inventory: risk levels, lifecycle stages, deployment and retirement dates."""

from __future__ import annotations

import numpy as np

from aims_metrics.demo.common import (
    DAY,
    FAILED,
    LATE,
    NAT,
    TESTED,
    UNTESTED,
    Inventory,
    Window,
    between,
    days,
    exact_assign,
    id_column,
    lookup,
    table_frame,
    uniform_int,
)
from aims_metrics.demo.vocabulary import (
    DEPLOYED,
    MARKETS,
    OWNERS,
    PROTECTED_ATTRIBUTES,
    RETIRED,
    RISKS,
    STAGE_SHARES,
    STAGES,
    SYSTEM_TEMPLATES,
)

# --- systems ------------------------------------------------------------------------------------


def generate_systems(rng: np.random.Generator, n: int, window: Window) -> Inventory:
    templates = len(SYSTEM_TEMPLATES)
    tpl = np.arange(n) if n <= templates else rng.integers(0, templates, n)
    names = np.asarray([t[0] for t in SYSTEM_TEMPLATES])[tpl]
    if n > templates:
        market = np.asarray(MARKETS)[rng.integers(0, len(MARKETS), n)]
        number = rng.integers(1, 100, n).astype("U2")
        names = np.strings.add(names, np.strings.add(" (", market))
        names = np.strings.add(np.strings.add(names, " "), np.strings.add(number, ")"))
    risk = np.asarray([RISKS.index(t[2]) for t in SYSTEM_TEMPLATES])[tpl]
    third_party = np.asarray([t[3] for t in SYSTEM_TEMPLATES])[tpl]
    if n > templates:
        third_party = third_party | (rng.random(n) < 0.08)

    stage = np.empty(n, dtype=np.int64)
    for level in range(len(RISKS)):  # each risk level gets every lifecycle stage in proportion
        members = np.flatnonzero(risk == level)
        stage[members] = exact_assign(rng, len(members), STAGE_SHARES)

    end, first = window.end, window.first
    ever = np.isin(stage, (DEPLOYED, RETIRED))
    legacy = stage == RETIRED
    deployed_now = np.flatnonzero(stage == DEPLOYED)
    legacy[deployed_now] = exact_assign(rng, len(deployed_now), (0.45, 0.55)) == 0
    deployed = np.full(n, NAT)
    deployed[ever & legacy] = first - days(uniform_int(rng, 1, 3 * 365, int((ever & legacy).sum())))
    fresh = ever & ~legacy
    deployed[fresh] = between(
        rng, np.full(fresh.sum(), first), np.full(fresh.sum(), end - 21 * DAY)
    )
    retired = np.full(n, NAT)
    gone = stage == RETIRED
    retired[gone] = between(
        rng,
        np.maximum(first + 14 * DAY, deployed[gone] + 180 * DAY),
        np.full(gone.sum(), end - 7 * DAY),
    )

    # Which deployed systems lack a passed pre-deployment bias test: a couple of high-risk ones
    # still in service (preferably legacy systems that predate the policy), most retired high-risk
    # ones, and a few others.
    plan = np.full(n, TESTED)
    high_live = np.flatnonzero((risk == 0) & (stage == DEPLOYED))
    k = min(len(high_live), max(2, round(0.12 * len(high_live))))
    order = np.lexsort((rng.random(len(high_live)), ~legacy[high_live]))
    untested = np.zeros(n, dtype=bool)
    untested[high_live[order[:k]]] = True
    untested |= (risk == 0) & gone & (rng.random(n) < 0.7)
    untested |= (risk > 0) & ever & (rng.random(n) < np.where(legacy, 0.2, 0.05))
    variant = np.where(legacy, rng.choice((UNTESTED, LATE), n), rng.choice((FAILED, LATE), n))
    plan[untested] = variant[untested]

    # One high-risk system in service whose impact assessment is stuck in progress.
    gap = np.zeros(n, dtype=bool)
    k_gap = min(len(high_live), max(1, round(0.08 * len(high_live))))
    gap_order = np.lexsort((rng.random(len(high_live)), ~legacy[high_live]))
    gap[high_live[gap_order[-k_gap:]]] = True  # prefer systems deployed during the window

    attributes = np.argsort(rng.random((n, len(PROTECTED_ATTRIBUTES))), axis=1)[:, :3]
    service_end = np.where(np.isnat(retired), end, retired)
    service_lo = np.maximum(window.starts[None, :], deployed[:, None])
    service_hi = np.minimum(window.ends[None, :], service_end[:, None])

    ids = np.asarray(id_column("AIS-", n).to_pylist(), dtype=object)  # a vocabulary for system_id
    frame = table_frame(
        "systems",
        {
            "system_id": lookup(ids, np.arange(n)),
            "name": names,
            "owner": lookup(OWNERS, rng.integers(0, len(OWNERS), n)),
            "business_unit": lookup(tuple(t[1] for t in SYSTEM_TEMPLATES), tpl),
            "risk_level": lookup(RISKS, risk),
            "lifecycle_stage": lookup(STAGES, stage),
            "deployed_on": deployed,
            "retired_on": retired,
            "third_party": third_party.astype(bool),
        },
    )
    return Inventory(
        frame,
        ids,
        risk,
        stage,
        deployed,
        retired,
        legacy,
        plan,
        gap,
        attributes,
        service_lo,
        service_hi,
    )
