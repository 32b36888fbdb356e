"""Metric grain (design §4: quarter by default; month, year).

A figure for quarter Q is computed as of Q's last day over the span the grain names: the quarter,
its last month, or the four quarters ending with it. The known-answer data of
test_catalog_known_answers (incidents on 2025-03-31, 04-01, 05-15, 06-30, 07-01, 09-30) gives
every expected value by hand; the catalog scan and the per-metric query must agree.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aims_metrics import store
from aims_metrics.metrics.catalog import shipped_catalog
from aims_metrics.metrics.compiler import compile_series, window_start
from aims_metrics.metrics.editing import apply_metric_file
from aims_metrics.metrics.evaluate import evaluate_series, kpis_for_quarter, metric_records
from aims_metrics.metrics.models import Grain, MetricDefinition
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.sources import shipped_sources
from tests.test_catalog_known_answers import load_known_answer_data

Q1, Q2, Q3, Q4 = (Quarter(2025, n) for n in (1, 2, 3, 4))
NEXT_Q1 = Quarter(2026, 1)
QUARTERS = [Q1, Q2, Q3, Q4, NEXT_Q1]
SHIPPED = {d.name: d for d in shipped_catalog()}


def _variant(base: str, name: str, grain: str, **changes) -> MetricDefinition:
    data = SHIPPED[base].model_dump() | {"name": name, "grain": grain} | changes
    return MetricDefinition.model_validate(data)


# The findings open at the quarter end (f2, f4, f5, f6, f8 at 2025-09-30) raised since the start
# of the grain's span: a `$period_start` filter follows the grain.
def _open_findings_raised_in_span(name: str, grain: str) -> MetricDefinition:
    return MetricDefinition.model_validate(
        {
            "name": name,
            "label": "Open findings raised in the span",
            "description": "Findings open at the period end and raised since its start.",
            "owner": "Internal audit",
            "clause": "10.2",
            "version": 1,
            "type": "snapshot",
            "unit": "count",
            "direction": "lower_is_better",
            "target": 0,
            "grain": grain,
            "snapshot": {"opened": "raised_on", "closed": "closed_on"},
            "measure": {
                "source": "findings",
                "agg": "count",
                "filters": [{"field": "raised_on", "op": "gte", "value": "$period_start"}],
            },
        }
    )


DEFINITIONS = [
    _variant("incidents_total", "incidents_quarter", "quarter"),
    _variant("incidents_total", "incidents_month", "month"),
    _variant("incidents_total", "incidents_year", "year"),
    _variant("bias_test_pass_rate", "pass_rate_month", "month"),
    _variant("bias_test_pass_rate", "pass_rate_year", "year"),
    _variant("incident_mean_days_to_resolve", "resolve_days_year", "year"),
    _open_findings_raised_in_span("open_raised_quarter", "quarter"),
    _open_findings_raised_in_span("open_raised_month", "month"),
    _open_findings_raised_in_span("open_raised_year", "year"),
]

EXPECTED = {  # values for 2025Q1, Q2, Q3, Q4, 2026Q1
    "incidents_quarter": [1, 3, 2, 0, 0],
    "incidents_month": [1, 1, 1, 0, 0],  # March: i5; June: i2; September: i4
    "incidents_year": [1, 4, 6, 6, 5],  # 2026Q1 = Apr 2025 … Mar 2026: all but i5
    "pass_rate_month": [None, 0.0, 1.0, None, None],  # June: b5 failed; September: b7 passed
    "pass_rate_year": [None, 2 / 3, 5 / 7, 5 / 7, 5 / 7],
    # resolved within the 12 months: i1 10 d, i5 91 d (both by Q2), then i2 1 d, i4 0 d
    "resolve_days_year": [None, 50.5, 25.5, 25.5, 25.5],
    # open at each end and raised since the span's start (f7 closed on 2025-03-31)
    "open_raised_quarter": [0, 2, 4, 0, 0],  # Q2: f2, f3; Q3: f4, f5, f6, f8
    "open_raised_month": [0, 1, 2, 0, 0],  # June: f2; September: f5, f8
    "open_raised_year": [0, 2, 5, 5, 5],  # from Q3 on: f2, f4, f5, f6, f8 (none closed yet)
}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    with store.open_db(tmp_path_factory.mktemp("grain") / "t.duckdb") as connection:
        load_known_answer_data(connection)
        yield connection


def _per_metric_values(con, name: str) -> list:
    definition = next(d for d in DEFINITIONS if d.name == name)
    query = compile_series(definition, shipped_sources(), QUARTERS)
    return [row[1] for row in con.execute(query.sql, query.params).fetchall()]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_figure_covers_the_span_its_grain_names(con, name):
    series = evaluate_series(con, DEFINITIONS, QUARTERS)[name]
    assert [r.value for r in series] == pytest.approx(EXPECTED[name])
    assert _per_metric_values(con, name) == pytest.approx(EXPECTED[name])


def test_previous_value_is_the_same_span_one_quarter_earlier(con):
    series = evaluate_series(con, DEFINITIONS, [Q3])
    assert series["incidents_month"][0].previous_value == 1  # June
    assert series["incidents_year"][0].previous_value == 4  # Jul 2024 … Jun 2025


def test_a_result_says_what_span_it_covers(con):
    series = evaluate_series(con, DEFINITIONS, [Q3])
    assert series["incidents_quarter"][0].window_note == ""
    assert series["incidents_month"][0].window_note == "last month of the quarter"
    assert series["incidents_year"][0].window_note == "12 months to the quarter end"


def test_window_start_by_grain():
    assert window_start(Q3, Grain.QUARTER) == Q3.start
    assert str(window_start(Q3, Grain.MONTH)) == "2025-09-01"
    assert str(window_start(Q1, Grain.YEAR)) == "2024-04-01"
    fiscal = Quarter(2026, 1, start_month=4)  # 2025-04-01 … 2025-06-30
    assert str(window_start(fiscal, Grain.MONTH)) == "2025-06-01"
    assert str(window_start(fiscal, Grain.YEAR)) == "2024-07-01"


def test_month_grain_follows_the_fiscal_quarter(con):
    fiscal_q1 = Quarter(2026, 1, start_month=4)  # calendar Q2: its last month is June
    (result,) = evaluate_series(con, DEFINITIONS, [fiscal_q1])["incidents_month"]
    assert result.value == 1


def test_an_applied_month_metric_reports_and_drills_down_to_its_month(tmp_path):
    document = {
        "schema_version": 1,
        "metrics": [
            _variant("incidents_total", "incidents_last_month", "month").model_dump(
                mode="json", exclude_none=True
            )
        ],
    }
    with store.open_db(tmp_path / "t.duckdb") as connection:
        load_known_answer_data(connection)
        assert apply_metric_file(connection, yaml.safe_dump(document), "analyst") == [
            ("incidents_last_month", 1)
        ]
        by_name = {k.name: k for k in kpis_for_quarter(connection, Q2)}
        rows = metric_records(connection, "incidents_last_month", Q2)
    assert by_name["incidents_last_month"].value == 1
    assert by_name["incidents_total"].value == 3
    assert list(rows["incident_id"]) == ["i2"]


quarters = st.builds(
    Quarter,
    st.integers(min_value=1990, max_value=2100),
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=1, max_value=12),
)


@given(quarters)
def test_every_grain_ends_on_the_quarter_end_and_spans_what_it_says(quarter):
    month, year = window_start(quarter, Grain.MONTH), window_start(quarter, Grain.YEAR)
    assert window_start(quarter, Grain.QUARTER) == quarter.start
    assert quarter.start <= month <= quarter.end and month.day == 1
    assert month.month == quarter.end.month  # the quarter's last month
    assert year == quarter.shift(-3).start and year.day == 1
    assert (quarter.end - year).days in range(364, 366)  # twelve months ending on the quarter end
