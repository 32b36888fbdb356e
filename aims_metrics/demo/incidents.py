"""AI incidents over the quarters, with one cluster of high-severity incidents."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aims_metrics.demo.common import (
    DAY,
    NAT,
    Inventory,
    Window,
    between,
    days,
    id_column,
    lookup,
    optional,
    pick,
    table_frame,
    texts_by_group,
    uniform_int,
)
from aims_metrics.demo.vocabulary import (
    CATEGORIES,
    CATEGORY_SHARES,
    INCIDENT_ROOT_CAUSES,
    INCIDENT_TITLES,
    SEVERITIES,
)

# --- incidents ----------------------------------------------------------------------------------


def generate_incidents(
    rng: np.random.Generator, window: Window, inv: Inventory, total: int | None
) -> pd.DataFrame:
    nq = len(window.quarters)
    q = np.arange(nq)
    trend = 16 + 0.5 * q  # better detection brings slightly more reports over time
    if total is None:
        counts = np.clip(np.rint(rng.normal(trend, 3)), 10, 30).astype(np.int64)
    else:
        counts = rng.multinomial(total, trend / trend.sum())
    share = 0.12 - 0.08 * q / max(nq - 1, 1)  # the high-severity share falls over time …
    high = np.minimum(counts, np.maximum(1, np.rint(share * counts))).astype(np.int64)
    spike = int(rng.integers(2, nq - 2))  # … except in one quarter with a cluster
    cluster = min(int(counts[spike]), max(4, round(0.25 * counts[spike])))
    high[spike] = min(high[spike], counts[spike] - cluster)

    n = int(counts.sum())
    row_q = np.repeat(q, counts)
    within = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    in_cluster = (row_q == spike) & (within >= high[spike]) & (within < high[spike] + cluster)
    base_high = within < high[row_q]

    severity = np.where(rng.random(n) < 0.55, 3, 2)  # low, medium
    severity[base_high] = np.where(rng.random(int(base_high.sum())) < 0.15, 0, 1)
    cluster_rank = within - high[spike]
    severity[in_cluster] = np.where(cluster_rank[in_cluster] < -(-cluster // 3), 0, 1)
    category = pick(rng, n, CATEGORY_SHARES)

    weights = np.asarray([2.0, 1.5, 1.0])[inv.risk]
    system = np.empty(n, dtype=np.int64)
    for qi in range(nq):  # one draw per quarter, not per row
        rows = np.flatnonzero((row_q == qi) & ~in_cluster)
        candidates = np.flatnonzero(inv.in_service[:, qi])
        w = weights[candidates]
        system[rows] = rng.choice(candidates, size=len(rows), p=w / w.sum())
    # The cluster: a few high-risk systems in service all quarter, within three weeks.
    s_start, s_end = window.starts[spike], window.ends[spike]
    steady = np.flatnonzero((inv.risk == 0) & (inv.deployed <= s_start) & ~(inv.retired <= s_end))
    if len(steady) == 0:
        steady = np.flatnonzero(inv.in_service[:, spike])
    members = rng.choice(steady, size=min(len(steady), max(2, len(steady) // 25)), replace=False)
    rows = np.flatnonzero(in_cluster)
    system[rows] = rng.choice(members, size=len(rows))
    detected = between(rng, inv.service_lo[system, row_q], inv.service_hi[system, row_q])
    first_day = between(rng, [s_start], [s_end - 20 * DAY])[0]
    detected[rows] = first_day + days(uniform_int(rng, 0, 20, len(rows)))
    category[rows] = CATEGORIES.index(rng.choice(("security", "fairness", "privacy")))

    occurred = np.maximum(detected - days(rng.geometric(0.3, n) - 1), inv.deployed[system])
    occurred[rng.random(n) < 0.1] = NAT
    mean_lag = np.asarray([30.0, 20.0, 12.0, 6.0])[severity] * (
        1.3 - 0.6 * window.progress(detected)
    )
    resolved = detected + days(np.ceil(rng.gamma(2.0, mean_lag / 2.0)))
    stuck = (detected >= window.starts[-2]) & (rng.random(n) < 0.04)
    resolved[(resolved > window.end) | stuck] = NAT
    done = ~np.isnat(resolved)
    status = lookup(
        ("closed", "resolved", "investigating", "open"),
        np.where(done, np.where(rng.random(n) < 0.75, 0, 1), np.where(rng.random(n) < 0.6, 2, 3)),
    )
    root_cause = optional(done, lookup(INCIDENT_ROOT_CAUSES, rng.integers(0, 10, n)))
    title = texts_by_group(rng, category, [INCIDENT_TITLES[c] for c in CATEGORIES])

    order = np.argsort(detected, kind="stable")
    return table_frame(
        "incidents",
        {
            "incident_id": id_column("INC-", n),
            "system_id": lookup(inv.ids, system[order]),
            "title": title[order],
            "severity": lookup(SEVERITIES, severity[order]),
            "category": lookup(CATEGORIES, category[order]),
            "occurred_on": occurred[order],
            "detected_on": detected[order],
            "resolved_on": resolved[order],
            "status": status[order],
            "root_cause": root_cause[order],
        },
    )
