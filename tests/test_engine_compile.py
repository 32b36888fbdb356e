"""The compiler: snapshot of the SQL of each metric type and a table of filters → SQL + params."""

from __future__ import annotations

from datetime import date

import pytest

from aims_metrics.metrics.catalog import shipped_catalog
from aims_metrics.metrics.compiler import Binder, compile_records, compile_series, filter_sql
from aims_metrics.metrics.models import Filter
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.sources import shipped_sources

CATALOG = {d.name: d for d in shipped_catalog()}
QUARTERS = [Quarter(2025, 2), Quarter(2025, 3)]

SIMPLE_SQL = """WITH periods AS (SELECT * FROM (VALUES ($p1, CAST($p2 AS DATE), CAST($p3 AS DATE), CAST($p4 AS BIGINT)), ($p5, CAST($p6 AS DATE), CAST($p7 AS DATE), CAST($p8 AS BIGINT))) AS v(period, period_start, period_end, period_index)),
measure AS (
  SELECT p.period, count(s.__row) AS value
  FROM periods p
  LEFT JOIN (SELECT t."detected_on", t."severity", TRUE AS __row FROM "incidents" t) s
    ON (year(s."detected_on") * 12 + month(s."detected_on") - $p9) // 3 = p.period_index
    AND s."severity" IN ($p10, $p11)
  GROUP BY p.period
)
SELECT p.period, measure.value AS value
FROM periods p
LEFT JOIN measure USING (period)
ORDER BY p.period_start"""

SNAPSHOT_SQL = """WITH periods AS (SELECT * FROM (VALUES ($p1, CAST($p2 AS DATE), CAST($p3 AS DATE), CAST($p4 AS BIGINT)), ($p5, CAST($p6 AS DATE), CAST($p7 AS DATE), CAST($p8 AS BIGINT))) AS v(period, period_start, period_end, period_index)),
measure AS (
  SELECT p.period, count(s.__row) AS value
  FROM periods p
  LEFT JOIN (SELECT t."raised_on", t."closed_on", t."finding_type", t."due_on", TRUE AS __row FROM "findings" t) s
    ON s."raised_on" <= p.period_end
    AND (s."closed_on" IS NULL OR s."closed_on" > p.period_end)
    AND s."finding_type" IN ($p9, $p10)
    AND s."due_on" < p.period_end
  GROUP BY p.period
)
SELECT p.period, measure.value AS value
FROM periods p
LEFT JOIN measure USING (period)
ORDER BY p.period_start"""

RATIO_SQL = """WITH periods AS (SELECT * FROM (VALUES ($p1, CAST($p2 AS DATE), CAST($p3 AS DATE), CAST($p4 AS BIGINT)), ($p5, CAST($p6 AS DATE), CAST($p7 AS DATE), CAST($p8 AS BIGINT))) AS v(period, period_start, period_end, period_index)),
parts AS (
  SELECT p.period, count(s.__row) FILTER (WHERE s."passed" IS TRUE) AS numerator, count(s.__row) AS denominator
  FROM periods p
  LEFT JOIN (SELECT t."executed_on", t."passed", TRUE AS __row FROM "bias_tests" t) s
    ON (year(s."executed_on") * 12 + month(s."executed_on") - $p9) // 3 = p.period_index
  GROUP BY p.period
)
SELECT p.period, CAST(parts.numerator AS DOUBLE) / NULLIF(parts.denominator, 0) AS value, parts.numerator, parts.denominator
FROM periods p
LEFT JOIN parts USING (period)
ORDER BY p.period_start"""


@pytest.mark.parametrize(
    ("name", "sql", "extra_params"),
    [
        ("high_severity_incidents", SIMPLE_SQL, {"p9": 1, "p10": "high", "p11": "critical"}),
        ("overdue_corrective_actions", SNAPSHOT_SQL, {"p9": "major_nc", "p10": "minor_nc"}),
        ("bias_test_pass_rate", RATIO_SQL, {"p9": 1}),
    ],
)
def test_compiled_sql_snapshot(name, sql, extra_params):
    query = compile_series(CATALOG[name], shipped_sources(), QUARTERS)
    assert query.sql == sql
    assert query.params == {
        "p1": "2025Q2",
        "p2": date(2025, 4, 1),
        "p3": date(2025, 6, 30),
        "p4": 8101,  # (2025·12 + 4 − 1) // 3
        "p5": "2025Q3",
        "p6": date(2025, 7, 1),
        "p7": date(2025, 9, 30),
        "p8": 8102,
        **extra_params,
    }


def test_average_and_computed_column():
    query = compile_series(CATALOG["incident_mean_days_to_resolve"], shipped_sources(), QUARTERS)
    # a mean is sum / count, as the fused catalog rebuilds it from per-group sums and counts
    assert 'CAST(sum(s."days_to_resolve") AS DOUBLE) / count(s."days_to_resolve")' in query.sql
    assert "(date_diff('day', t.detected_on, t.resolved_on)) AS \"days_to_resolve\"" in query.sql
    assert (
        '(year(s."resolved_on") * 12 + month(s."resolved_on") - $p9) // 3 = p.period_index'
        in query.sql
    )


FILTERS = [
    ({"field": "severity", "op": "eq", "value": "high"}, 's."severity" = $p1', {"p1": "high"}),
    (
        {"field": "status", "op": "neq", "value": "closed"},
        's."status" IS DISTINCT FROM $p1',
        {"p1": "closed"},
    ),
    (
        {"field": "severity", "op": "in", "value": ["high", "critical"]},
        's."severity" IN ($p1, $p2)',
        {"p1": "high", "p2": "critical"},
    ),
    (
        {"field": "severity", "op": "not_in", "value": ["low"]},
        '(s."severity" IS NULL OR s."severity" NOT IN ($p1))',
        {"p1": "low"},
    ),
    (
        {"field": "days_to_resolve", "op": "gt", "value": 30},
        's."days_to_resolve" > $p1',
        {"p1": 30.0},
    ),
    (
        {"field": "days_to_resolve", "op": "gte", "value": 1.5},
        's."days_to_resolve" >= $p1',
        {"p1": 1.5},
    ),
    (
        {"field": "detected_on", "op": "lt", "value": "2025-01-01"},
        's."detected_on" < $p1',
        {"p1": date(2025, 1, 1)},
    ),
    (
        {"field": "detected_on", "op": "lte", "value": "$period_end"},
        's."detected_on" <= p.period_end',
        {},
    ),
    (
        {"field": "detected_on", "op": "gte", "value": "$period_start"},
        's."detected_on" >= p.period_start',
        {},
    ),
    ({"field": "resolved_on", "op": "is_null"}, 's."resolved_on" IS NULL', {}),
    ({"field": "resolved_on", "op": "is_not_null"}, 's."resolved_on" IS NOT NULL', {}),
    (
        {"sql": "severity = 'high' OR days_to_resolve > 3"},
        '(s."severity" = $p1 OR s."days_to_resolve" > $p2)',
        {"p1": "high", "p2": 3},
    ),
    ({"sql": "detected_on < $period_end"}, '(s."detected_on" < p.period_end)', {}),
]


@pytest.mark.parametrize(("flt", "sql", "params"), FILTERS)
def test_filter_compiles_to_sql_with_bound_params(flt, sql, params):
    bind = Binder()
    assert filter_sql(Filter.model_validate(flt), shipped_sources()["incidents"], bind) == sql
    assert bind.params == params


@pytest.mark.parametrize(
    ("op", "sql"), [("is_true", 's."passed" IS TRUE'), ("is_false", 's."passed" IS FALSE')]
)
def test_boolean_filters(op, sql):
    bind = Binder()
    flt = Filter(field="passed", op=op)
    assert filter_sql(flt, shipped_sources()["bias_tests"], bind) == sql


def test_records_query_of_a_ratio_marks_the_numerator_rows():
    query = compile_records(CATALOG["bias_test_pass_rate"], shipped_sources(), Quarter(2025, 3))
    assert (
        'coalesce(s."executed_on" BETWEEN p.period_start AND p.period_end AND s."passed" IS TRUE, false) AS in_numerator'
        in query.sql
    )
    assert query.sql.endswith('ORDER BY s."test_id"')
