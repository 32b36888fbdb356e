"""Audit findings: internal audits every quarter, a certification and a surveillance audit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aims_metrics.demo.common import (
    DAY,
    NAT,
    Window,
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
    AUDIT_TYPES,
    CORRECTIVE_ACTIONS,
    FINDING_CLAUSES,
    FINDING_ROOT_CAUSES,
    OWNERS,
)
from aims_metrics.vocabulary.findings import FINDING_TYPES

# --- findings -----------------------------------------------------------------------------------


def _audit_events(
    rng: np.random.Generator, window: Window, total: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The audits held: per event (an internal audit each quarter, a certification audit in year
    one and a surveillance audit in year two) its quarter, type (0 internal, 1 certification,
    2 surveillance) and number of audits, and the number of findings of each audit."""
    nq = len(window.quarters)
    q = np.arange(nq)
    fewer = 10 - 4 * q / max(nq - 1, 1)  # internal audits find less as the AIMS matures
    external = [(2, 1), (6, 2)]  # certification audit in year one, surveillance in year two
    if total is None:
        per_internal = np.clip(np.rint(rng.normal(fewer, 1.5)), 4, 12).astype(np.int64)
        event_q = np.concatenate([q, [e[0] for e in external]])
        event_type = np.concatenate([np.zeros(nq, dtype=np.int64), [e[1] for e in external]])
        audits_per_event = np.ones(len(event_q), dtype=np.int64)
        per_audit = np.concatenate([per_internal, rng.integers(6, 9, 1), rng.integers(4, 7, 1)])
    else:
        n_ext = round(0.05 * total)
        n_int = total - n_ext
        a_int = max(1, round(n_int / nq / 15))
        a_ext = max(1, round(n_ext / len(external) / 15))
        event_q = np.concatenate([q, [e[0] for e in external]])
        event_type = np.concatenate([np.zeros(nq, dtype=np.int64), [e[1] for e in external]])
        audits_per_event = np.concatenate([np.full(nq, a_int), np.full(len(external), a_ext)])
        w_int = np.repeat(fewer / fewer.sum() / a_int, a_int)
        per_audit = np.concatenate(
            [
                rng.multinomial(n_int, w_int),
                rng.multinomial(n_ext, np.full(a_ext * len(external), 1 / (a_ext * len(external)))),
            ]
        )
    keep = event_q < nq
    event_q, event_type, audits_per_event = event_q[keep], event_type[keep], audits_per_event[keep]
    per_audit = per_audit[: int(audits_per_event.sum())]
    return event_q, event_type, audits_per_event, per_audit


def generate_findings(rng: np.random.Generator, window: Window, total: int | None) -> pd.DataFrame:
    """Audit findings of every audit held, with due, closing and verification dates."""
    end = window.end
    event_q, event_type, audits_per_event, per_audit = _audit_events(rng, window, total)
    audit_q = np.repeat(event_q, audits_per_event)
    audit_type = np.repeat(event_type, audits_per_event)
    number = np.arange(len(audit_q)) - np.repeat(
        np.cumsum(audits_per_event) - audits_per_event, audits_per_event
    )
    offset = np.where(
        audit_type == 0,
        uniform_int(rng, 40, 80, len(audit_q)),
        uniform_int(rng, 20, 60, len(audit_q)),
    )
    audit_date = window.starts[audit_q] + days(offset)
    labels = np.asarray([qq.label for qq in window.quarters])[audit_q]
    prefix = np.asarray(["IA-", "CB-CERT-", "CB-SURV-"])[audit_type]
    audit_id = np.strings.add(prefix, labels)
    multi = np.repeat(audits_per_event, audits_per_event) > 1
    suffix = np.strings.add("-", np.strings.zfill((number + 1).astype("U4"), 3))
    audit_id = np.where(multi, np.strings.add(audit_id, suffix), audit_id)

    audit = np.repeat(np.arange(len(audit_q)), per_audit)
    n = len(audit)
    is_external = audit_type[audit] > 0
    ftype = np.where(
        is_external,
        pick(rng, n, (0.15, 0.45, 0.25, 0.15)),
        pick(rng, n, (0.09, 0.34, 0.32, 0.25)),
    )
    first_cert = np.flatnonzero(audit_type == 1)
    if len(first_cert):  # the certification audit raised two major nonconformities
        ftype[np.flatnonzero(audit == first_cert[0])[:2]] = 0
    clause = pick(rng, n, tuple(c[1] for c in FINDING_CLAUSES))
    description = texts_by_group(rng, clause, [c[2] for c in FINDING_CLAUSES])
    raised = audit_date[audit] + days(uniform_int(rng, 0, 2, n))
    raised = np.minimum(raised, window.ends[audit_q[audit]])

    due = np.minimum(raised + days(np.asarray([60, 90, 120, 180])[ftype]), end)
    due[(ftype == 3) & (rng.random(n) < 0.6)] = NAT
    mean = np.asarray([45.0, 55.0, 70.0, 100.0])[ftype] * (1.3 - 0.6 * window.progress(raised))
    closed = raised + days(np.ceil(rng.gamma(3.0, mean / 3.0)))
    closed[closed > end] = NAT
    # A few major nonconformities stay open long past their due date.
    eligible = np.flatnonzero((ftype == 0) & (raised <= end - 120 * DAY))
    k = min(len(eligible), max(2, round(0.15 * len(eligible))))
    closed[rng.choice(eligible, size=k, replace=False)] = NAT

    is_closed = ~np.isnat(closed)
    verified = closed + days(uniform_int(rng, 7, 40, n))
    verified[~is_closed | (verified > end) | (rng.random(n) < 0.4)] = NAT
    status_code = np.where(
        is_closed,
        np.where(np.isnat(verified), 0, 1),
        np.where(rng.random(n) < 0.6, 2, 3),
    )
    status = lookup(("closed", "verified", "in_progress", "open"), status_code)
    nc = ftype <= 1
    root_cause = optional(nc, lookup(FINDING_ROOT_CAUSES, rng.integers(0, 6, n)))
    action = optional(nc & (status_code != 3), lookup(CORRECTIVE_ACTIONS, rng.integers(0, 6, n)))

    order = np.argsort(raised, kind="stable")
    return table_frame(
        "findings",
        {
            "finding_id": id_column("F-", n),
            "audit_id": lookup(audit_id, audit[order]),
            "audit_type": lookup(AUDIT_TYPES, audit_type[audit][order]),
            "clause_ref": lookup(tuple(c[0] for c in FINDING_CLAUSES), clause[order]),
            "finding_type": lookup(FINDING_TYPES, ftype[order]),
            "description": description[order],
            "raised_on": raised[order],
            "due_on": due[order],
            "closed_on": closed[order],
            "owner": lookup(OWNERS, rng.integers(0, len(OWNERS), n))[order],
            "status": status[order],
            "root_cause": root_cause[order],
            "corrective_action": action[order],
            "verified_on": verified[order],
        },
    )
