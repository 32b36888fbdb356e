"""Property tests for quarter arithmetic (aims_metrics/periods.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aims_metrics.metrics.compiler import period_index
from aims_metrics.metrics.periods import Quarter, parse_quarter, quarter_of, quarters_ending

start_months = st.integers(min_value=1, max_value=12)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
quarters = st.builds(Quarter, st.integers(1990, 2100), st.integers(1, 4), start_months)


@given(days, start_months)
def test_a_day_lies_in_its_quarter(day, start_month):
    assert quarter_of(day, start_month).contains(day)


@given(quarters)
def test_quarters_tile_time_without_gaps(quarter):
    assert quarter.next().start == quarter.end + timedelta(days=1)
    assert quarter.previous().end == quarter.start - timedelta(days=1)


@given(quarters)
def test_start_and_end_map_back_to_the_quarter(quarter):
    assert quarter_of(quarter.start, quarter.start_month) == quarter
    assert quarter_of(quarter.end, quarter.start_month) == quarter


@given(quarters)
def test_a_quarter_spans_three_months(quarter):
    assert 89 <= (quarter.end - quarter.start).days + 1 <= 92
    assert quarter.start.day == 1


@given(quarters, st.integers(-200, 200))
def test_shift_is_invertible(quarter, n):
    assert quarter.shift(n).shift(-n) == quarter
    assert quarter.shift(n) > quarter if n > 0 else quarter.shift(n) <= quarter


@given(quarters)
def test_label_round_trips(quarter):
    assert parse_quarter(quarter.label, quarter.start_month) == quarter


@given(quarters, st.integers(1, 12))
def test_quarters_ending_are_consecutive(last, count):
    series = quarters_ending(last, count)
    assert len(series) == count and series[-1] == last
    assert all(b == a.next() for a, b in zip(series, series[1:], strict=False))


@given(days)
def test_calendar_quarters_are_the_default(day):
    quarter = quarter_of(day)
    assert quarter.year == day.year
    assert quarter.number == (day.month - 1) // 3 + 1


def test_fiscal_year_named_by_the_year_it_ends():
    quarter = quarter_of(date(2025, 4, 1), start_month=4)
    assert (quarter.label, quarter.start, quarter.end) == (
        "2026Q1",
        date(2025, 4, 1),
        date(2025, 6, 30),
    )


@pytest.mark.parametrize("text", ["2025", "Q3", "2025Q5", "", "2025-07-01"])
def test_bad_quarter_labels(text):
    with pytest.raises(ValueError, match="is not a quarter"):
        parse_quarter(text)


@given(days, start_months)
def test_the_engines_quarter_number_matches_quarter_membership(day, start_month):
    # compiler.compile_series joins on this number instead of BETWEEN period_start AND period_end.
    quarter = quarter_of(day, start_month)
    assert (day.year * 12 + day.month - start_month) // 3 == period_index(quarter)
    assert period_index(quarter.next()) == period_index(quarter) + 1
