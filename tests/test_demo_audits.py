"""The demo audit programme tells a story: findings link to audits, one audit is overdue, one
is led from the unit it audits, exclusions are justified, and the verdict names its blockers."""

from __future__ import annotations

import pandas as pd

from aims_metrics.audits import programme, readiness
from aims_metrics.demo.audits import demo_programme_frames
from aims_metrics.metrics.periods import last_completed_quarter
from aims_metrics.store import open_db


def test_the_demo_programme(demo_db_path):
    with open_db(demo_db_path) as con:
        p = programme.audit_programme(con)
        r = readiness.readiness(con)
    assert p.findings_without_audit == []
    assert p.overdue == ["IA-SUPPLIERS"]
    assert len(p.independence_conflicts) == 1
    statuses = {e.ref: e.status for e in p.coverage}
    assert {statuses[ref] for ref in ("A.9.2", "A.9.3", "A.9.4")} == {
        "gap"
    }  # its audit was cancelled
    assert statuses["7.5.3"] == "planned" and statuses["4.1"] == "covered"
    assert r.verdict == "not_ready"
    assert {b.kind for b in r.blockers} == {"finding", "requirement"}
    assert r.soa["excluded"] == 2
    assert [g.version for g in r.gaps if g.ref == "7.5.3"] == [1]


def test_exclusions_are_justified_and_the_frames_are_deterministic(demo_db_path):
    end = last_completed_quarter()
    with open_db(demo_db_path) as con:
        first = demo_programme_frames(con, end, end.shift(-7))
        again = demo_programme_frames(con, end, end.shift(-7))
    for name, frame in first.items():
        pd.testing.assert_frame_equal(frame, again[name])
    soa = first["soa"]
    assert soa.loc[~soa["applicable"], "justification"].str.len().min() > 20
