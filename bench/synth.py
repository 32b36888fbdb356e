"""Fallback data generator, used ONLY while `aims_metrics.demo` has no enterprise generator.

The bench prefers the product's own seeded generator (`aims_metrics.demo`). So that the bench can
run before that module exists, this writes data of the same shape and volume straight into a
migrated database with set-based SQL (deterministic: every random draw is a hash of the row number
and a salt). The results file records which generator built the data.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from aims_metrics.metrics.periods import Quarter
from aims_metrics.store import open_db

SIZES = {
    "enterprise": {
        "systems": 2_000,
        "incidents": 200_000,
        "bias_tests": 1_000_000,
        "assessments": 50_000,
        "findings": 100_000,
    },
    "small": {
        "systems": 60,
        "incidents": 600,
        "bias_tests": 3_000,
        "assessments": 200,
        "findings": 400,
    },
}


def _u(salt: str, seed: int) -> str:
    """A uniform draw in [0, 1) from the row number i."""
    return f"((hash(i, '{salt}', {seed}) % 1000003) / 1000003.0)"


def generate(path: Path, end_quarter: Quarter, scale: str = "enterprise", seed: int = 42) -> None:
    """Create a migrated database at `path` filled with synthetic data ending at `end_quarter`."""
    n = SIZES[scale]
    start = end_quarter.shift(-7).start
    end = end_quarter.end
    span = (end - start).days + 1
    with open_db(path):
        pass
    con = duckdb.connect(str(path))
    try:

        def d(salt: str, lo: str, days: int) -> str:
            return f"(DATE '{lo}' + CAST(floor({_u(salt, seed)} * {days}) AS INTEGER))"

        con.execute("BEGIN")
        con.execute(f"""
            INSERT INTO systems
            SELECT 'SYS-' || lpad(CAST(i AS VARCHAR), 5, '0'), 'System ' || i,
                   'owner' || (i % 40), 'BU' || (i % 9),
                   CASE WHEN {_u("risk", seed)} < 0.25 THEN 'high'
                        WHEN {_u("risk", seed)} < 0.65 THEN 'medium' ELSE 'low' END,
                   CASE WHEN dep IS NULL THEN 'development'
                        WHEN ret IS NOT NULL THEN 'retired' ELSE 'deployed' END,
                   dep, ret, i % 5 = 0
            FROM (SELECT i,
                    CASE WHEN {_u("dep?", seed)} < 0.85 THEN
                         {d("dep", str(start.replace(year=start.year - 1)), span + 365)} END AS dep,
                    CASE WHEN {_u("ret?", seed)} < 0.1 THEN
                         {d("ret", str(end), 1)} - CAST(floor({_u("retd", seed)} * 300) AS INTEGER) END
                         AS ret0
                  FROM range(1, {n["systems"] + 1}) t(i))
            , LATERAL (SELECT CASE WHEN dep IS NOT NULL AND ret0 > dep THEN ret0 END AS ret)
        """)
        ns = n["systems"]
        sys_id = f"'SYS-' || lpad(CAST(1 + hash(i, 'sys', {seed}) % {ns} AS VARCHAR), 5, '0')"
        con.execute(f"""
            INSERT INTO incidents
            SELECT 'INC-' || i, {sys_id}, 'Incident ' || i,
                   CASE WHEN u < 0.03 THEN 'critical' WHEN u < 0.12 THEN 'high'
                        WHEN u < 0.5 THEN 'medium' ELSE 'low' END,
                   'fairness', det - 1, det, res,
                   CASE WHEN res IS NULL THEN 'open' ELSE 'resolved' END, NULL
            FROM (SELECT *, CASE WHEN {_u("res?", seed)} < 0.93 THEN
                      det + CAST(floor(pow({_u("resd", seed)}, 2) * 90) AS INTEGER) END AS res
                  FROM (SELECT i, {_u("sev", seed)} AS u, {d("det", str(start), span)} AS det
                  FROM range(1, {n["incidents"] + 1}) t(i)))
        """)
        con.execute(f"""
            INSERT INTO bias_tests
            SELECT 'BT-' || i, {sys_id}, 'v' || (i % 7), {d("exe", str(start), span)},
                   CASE WHEN {_u("stage", seed)} < 0.3 THEN 'pre_deployment' ELSE 'production' END,
                   CASE i % 3 WHEN 0 THEN 'sex' WHEN 1 THEN 'age' ELSE 'ethnicity' END,
                   m, v, th,
                   CASE WHEN m LIKE '%_ratio' THEN v >= th ELSE abs(v) <= th END
            FROM (SELECT i,
                    CASE WHEN i % 2 = 0 THEN 'disparate_impact_ratio'
                         ELSE 'demographic_parity_difference' END AS m,
                    CASE WHEN i % 2 = 0 THEN round(0.7 + {_u("val", seed)} * 0.35, 4)
                         ELSE round({_u("val", seed)} * 0.12 - 0.01, 4) END AS v,
                    CASE WHEN i % 2 = 0 THEN 0.8 ELSE 0.1 END AS th
                  FROM range(1, {n["bias_tests"] + 1}) t(i))
        """)
        con.execute(f"""
            INSERT INTO assessments
            SELECT 'AS-' || i, {sys_id}, CASE WHEN i % 2 = 0 THEN 'impact' ELSE 'risk' END, st,
                   due, CASE WHEN st = 'completed' THEN due - 20
                        + CAST(floor({_u("cmp", seed)} * 40) AS INTEGER) END,
                   'assessor' || (i % 12), 'medium', NULL
            FROM (SELECT i, {d("due", str(start), span)} AS due,
                    CASE WHEN {_u("st", seed)} < 0.7 THEN 'completed'
                         WHEN {_u("st", seed)} < 0.8 THEN 'cancelled'
                         WHEN {_u("st", seed)} < 0.9 THEN 'in_progress' ELSE 'planned' END AS st
                  FROM range(1, {n["assessments"] + 1}) t(i))
        """)
        con.execute(f"""
            INSERT INTO findings
            SELECT 'F-' || i, 'AUD-' || (i % 300), 'internal', '9.2',
                   CASE WHEN u < 0.1 THEN 'major_nc' WHEN u < 0.5 THEN 'minor_nc'
                        WHEN u < 0.8 THEN 'observation' ELSE 'ofi' END,
                   'Finding ' || i, r, r + 30 + CAST(floor({_u("due", seed)} * 60) AS INTEGER),
                   CASE WHEN {_u("cl?", seed)} < 0.8 THEN
                        r + CAST(floor({_u("cl", seed)} * 150) AS INTEGER) END,
                   'owner' || (i % 25), NULL, NULL, NULL, NULL
            FROM (SELECT i, {_u("type", seed)} AS u, {d("raised", str(start), span)} AS r
                  FROM range(1, {n["findings"] + 1}) t(i))
        """)
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()
