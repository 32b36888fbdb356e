"""Hand-written DuckDB SQL for the bench's figures: the second baseline and cross-check.

What an engineer would write by hand against the product schema without the metrics engine: one
query per table covering every quarter, with a literal periods table, a join on the one date bound
every metric of that table shares, and one FILTER aggregate per metric. Semantics as in issue 3
(see baselines_pandas.py for the table).

This module imports only duckdb and the standard library, so `python -m bench.baselines_sql kpis`
is a fair stand-in for "a process that runs hand-written SQL for the same figures" (bench section
`cli`).
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta

METRICS = (
    "incidents_total",
    "high_severity_incidents",
    "incident_mean_days_to_resolve",
    "open_incidents",
    "bias_test_pass_rate",
    "high_risk_bias_tested_before_deployment",
    "assessments_completed",
    "assessments_overdue",
    "high_risk_systems_assessed",
    "open_nonconformities",
    "open_major_nonconformities",
    "overdue_corrective_actions",
    "major_nc_mean_days_to_close",
    "findings_raised",
    "review_actions_closed_on_time",
)
COUNTS = {
    "incidents_total",
    "high_severity_incidents",
    "open_incidents",
    "assessments_completed",
    "assessments_overdue",
    "open_nonconformities",
    "open_major_nonconformities",
    "overdue_corrective_actions",
    "findings_raised",
}


def _periods(quarters) -> str:
    rows = ", ".join(
        f"('{q.label}', DATE '{q.start}', DATE '{q.end}', {q.year * 4 + q.number})"
        for q in quarters
    )
    return f"periods(period, s, e, k) AS (VALUES {rows})"


# Calendar quarters (the default setting): an event date's quarter is the key
# year * 4 + quarter, so "S <= date <= E" metrics group by that key (one scan, a hash join to the
# periods), and "open at E" snapshots join the periods on the one date bound they share.
_KEY = "(year({d}) * 4 + quarter({d}))"
_RANGE = "{d} BETWEEN (SELECT min(s) FROM periods) AND (SELECT max(e) FROM periods)"


def _by_quarter(table: str, date_column: str, aggregates: str, where: str = "TRUE") -> str:
    key = _KEY.format(d=date_column)
    return (
        f"(SELECT {key} AS k, {aggregates} FROM {table} "
        f"WHERE {_RANGE.format(d=date_column)} AND {where} GROUP BY k)"
    )


INCIDENTS = f"""
WITH {{periods}},
detected AS {
    _by_quarter(
        "incidents",
        "detected_on",
        "count(*) AS total, count(*) FILTER (WHERE severity IN ('high', 'critical')) AS severe",
    )
},
resolved AS {_by_quarter("incidents", "resolved_on", "avg(resolved_on - detected_on) AS days")},
still_open AS (
  SELECT p.k, count(*) AS n FROM periods p JOIN incidents i ON i.detected_on <= p.e
  WHERE i.resolved_on IS NULL OR i.resolved_on > p.e GROUP BY p.k)
SELECT p.period, detected.total, detected.severe, resolved.days, still_open.n
FROM periods p LEFT JOIN detected USING (k) LEFT JOIN resolved USING (k) LEFT JOIN still_open USING (k)
"""

BIAS_TESTS = f"""
WITH {{periods}},
executed AS {
    _by_quarter(
        "bias_tests", "executed_on", "count(*) FILTER (WHERE passed) AS passed, count(*) AS total"
    )
}
SELECT p.period, executed.passed / NULLIF(executed.total, 0)
FROM periods p LEFT JOIN executed USING (k)
"""

SYSTEMS = """
WITH {periods},
tested AS (
  SELECT DISTINCT b.system_id FROM bias_tests b JOIN systems s USING (system_id)
  WHERE b.stage = 'pre_deployment' AND b.passed AND b.executed_on <= s.deployed_on),
impact AS (
  SELECT system_id, min(completed_on) AS completed_on FROM assessments
  WHERE assessment_type = 'impact' AND status = 'completed' GROUP BY system_id),
high AS (
  SELECT s.system_id, s.deployed_on, s.retired_on, t.system_id IS NOT NULL AS tested,
         im.completed_on AS impact_on
  FROM systems s LEFT JOIN tested t USING (system_id) LEFT JOIN impact im USING (system_id)
  WHERE s.risk_level = 'high')
SELECT p.period,
  count(*) FILTER (WHERE h.deployed_on <= p.e AND h.tested)
    / NULLIF(count(*) FILTER (WHERE h.deployed_on <= p.e), 0),
  count(*) FILTER (WHERE h.impact_on <= p.e) / NULLIF(count(*), 0)
FROM periods p JOIN high h ON h.retired_on IS NULL OR h.retired_on > p.e
GROUP BY p.period
"""

ASSESSMENTS = f"""
WITH {{periods}},
completed AS {_by_quarter("assessments", "completed_on", "count(*) AS n", "status = 'completed'")},
overdue AS (
  SELECT p.k, count(*) AS n FROM periods p JOIN assessments a ON a.due_on < p.e
  WHERE a.status IS DISTINCT FROM 'cancelled' AND (a.completed_on IS NULL OR a.completed_on > p.e)
  GROUP BY p.k)
SELECT p.period, completed.n, overdue.n
FROM periods p LEFT JOIN completed USING (k) LEFT JOIN overdue USING (k)
"""

FINDINGS = f"""
WITH {{periods}},
still_open AS (
  SELECT p.k,
    count(*) FILTER (WHERE f.finding_type IN ('major_nc', 'minor_nc')) AS nc,
    count(*) FILTER (WHERE f.finding_type = 'major_nc') AS major,
    count(*) FILTER (WHERE f.finding_type IN ('major_nc', 'minor_nc') AND f.due_on < p.e) AS late
  FROM periods p JOIN findings f ON f.raised_on <= p.e
  WHERE f.closed_on IS NULL OR f.closed_on > p.e GROUP BY p.k),
closed AS {
    _by_quarter(
        "findings", "closed_on", "avg(closed_on - raised_on) AS days", "finding_type = 'major_nc'"
    )
},
raised AS {_by_quarter("findings", "raised_on", "count(*) AS n")}
SELECT p.period, still_open.nc, still_open.major, still_open.late, closed.days, raised.n
FROM periods p LEFT JOIN still_open USING (k) LEFT JOIN closed USING (k) LEFT JOIN raised USING (k)
"""

REVIEW_ACTIONS = f"""
WITH {{periods}},
due AS {
    _by_quarter(
        "review_actions",
        "due_on",
        "count(*) FILTER (WHERE status = 'done' AND closed_on <= due_on) AS on_time, "
        "count(*) AS total",
    )
}
SELECT p.period, due.on_time / NULLIF(due.total, 0)
FROM periods p LEFT JOIN due USING (k)
"""

_QUERIES = (
    (
        INCIDENTS,
        (
            "incidents_total",
            "high_severity_incidents",
            "incident_mean_days_to_resolve",
            "open_incidents",
        ),
    ),
    (BIAS_TESTS, ("bias_test_pass_rate",)),
    (SYSTEMS, ("high_risk_bias_tested_before_deployment", "high_risk_systems_assessed")),
    (ASSESSMENTS, ("assessments_completed", "assessments_overdue")),
    (
        FINDINGS,
        (
            "open_nonconformities",
            "open_major_nonconformities",
            "overdue_corrective_actions",
            "major_nc_mean_days_to_close",
            "findings_raised",
        ),
    ),
    (REVIEW_ACTIONS, ("review_actions_closed_on_time",)),
)


def catalog(con, quarters, only=None) -> dict[str, list]:
    """Every catalog metric (or those in `only`, running only the queries that compute them) for
    every quarter, values in `quarters`' order; quarters need .label, .start, .end, .year and
    .number (calendar quarters)."""
    periods = _periods(quarters)
    by_period: dict[str, dict[str, object]] = {q.label: {} for q in quarters}
    for sql, names in _QUERIES:
        if only is not None and not set(names) & set(only):
            continue
        for row in con.execute(sql.format(periods=periods)).fetchall():
            by_period[row[0]].update(zip(names, row[1:], strict=True))
    out: dict[str, list] = {}
    for name in METRICS:
        if only is not None and name not in only:
            continue
        values = []
        for q in quarters:
            value = by_period[q.label].get(name)
            if value is None and name in COUNTS:
                value = 0  # a quarter with no joined rows
            values.append(
                None if value is None else (int(value) if name in COUNTS else float(value))
            )
        out[name] = values
    return out


# --- aging (design §5) ----------------------------------------------------------------------

AGING = """
SELECT CASE WHEN age <= 30 THEN '0-30' WHEN age <= 60 THEN '31-60' WHEN age <= 90 THEN '61-90'
            WHEN age <= 180 THEN '91-180' ELSE '>180' END AS bucket,
       count(*) FILTER (WHERE finding_type = 'major_nc'),
       count(*) FILTER (WHERE finding_type = 'minor_nc'),
       count(*) FILTER (WHERE finding_type = 'observation'),
       count(*) FILTER (WHERE finding_type = 'ofi'),
       count(*),
       count(*) FILTER (WHERE due_on < $d)
FROM (SELECT finding_type, due_on, $d - raised_on AS age FROM findings
      WHERE raised_on <= $d AND (closed_on IS NULL OR closed_on > $d))
GROUP BY bucket
"""
BUCKETS = ("0-30", "31-60", "61-90", "91-180", ">180")


def aging(con, as_of: date) -> dict:
    """Design §8 `aging --format json` figures by hand-written SQL."""
    rows = {r[0]: r[1:] for r in con.execute(AGING, {"d": as_of}).fetchall()}
    buckets, total, overdue = [], 0, 0
    for name in BUCKETS:
        major, minor, obs, ofi, count, late = rows.get(name, (0,) * 6)
        buckets.append(
            {
                "bucket": name,
                "major_nc": major,
                "minor_nc": minor,
                "observation": obs,
                "ofi": ofi,
                "total": count,
            }
        )
        total += count
        overdue += late
    return {"as_of": as_of.isoformat(), "open_total": total, "overdue": overdue, "buckets": buckets}


# --- objectives (Clause 6.2) -----------------------------------------------------------------

OBJECTIVES = """
SELECT objective_id, metric, target, deadline, baseline, baseline_on FROM objectives
ORDER BY objective_id
"""


def objective_values(con, quarter) -> dict[str, object]:
    """objective_id -> the value of its metric for the quarter (catalog metrics only), by
    hand-written SQL; the inputs of every objective status."""
    objectives = con.execute(OBJECTIVES).fetchall()
    values = catalog(con, [quarter], only={row[1] for row in objectives})
    return {row[0]: values[row[1]][0] if row[1] in values else None for row in objectives}


# --- the `kpis` CLI stand-in -----------------------------------------------------------------


class _Q:
    def __init__(self, year: int, number: int) -> None:
        self.year, self.number = year, number
        self.label = f"{year}Q{number}"
        self.start = date(year, 3 * number - 2, 1)
        nxt = date(year + (number == 4), 1 if number == 4 else 3 * number + 1, 1)
        self.end = nxt - timedelta(days=1)

    def previous(self) -> _Q:
        return _Q(self.year - (self.number == 1), 4 if self.number == 1 else self.number - 1)


def main(argv: list[str]) -> int:
    """`python -m bench.baselines_sql DB QUARTER`: the quarter's figures and the previous
    quarter's as JSON, by hand-written SQL (a read-only connection, as the CLI opens)."""
    import duckdb

    db, label = argv
    quarter = _Q(int(label[:4]), int(label[-1]))
    previous = quarter.previous()
    con = duckdb.connect(db, read_only=True)
    try:
        values = catalog(con, [previous, quarter])
    finally:
        con.close()
    print(
        json.dumps(
            {
                "quarter": quarter.label,
                "as_of": quarter.end.isoformat(),
                "metrics": [
                    {"name": n, "value": v[1], "previous_value": v[0]} for n, v in values.items()
                ],
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
