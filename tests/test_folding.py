"""The folded catalog's arithmetic on quarter and month numbers keeps exactly the rows the date
comparisons it replaces keep, checked day by day over several years, for every grain, every order
comparison with $period_start and $period_end, and fiscal years starting in any month."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aims_metrics.metrics.engine import (
    _period_filter_key,
    _window_bounds,
    period_index,
    window_start,
)
from aims_metrics.metrics.folding import (
    Bound,
    FoldedAgg,
    FoldedMember,
    KeyBound,
    as_quarter_bound,
    fold_members,
    ratio,
)
from aims_metrics.metrics.models import MetricDefinition
from aims_metrics.metrics.periods import quarter_of, quarters_ending
from aims_metrics.metrics.vocabulary import PERIOD_END, PERIOD_START, Op

START_MONTHS = (1, 4, 11)
GRAINS = ("quarter", "month", "year")


def _quarters(start_month: int):
    return quarters_ending(quarter_of(date(2025, 8, 15), start_month), 6)


def _days(quarters) -> list[date]:
    first = quarters[0].start - timedelta(days=400)
    return [first + timedelta(days=i) for i in range((quarters[-1].end - first).days + 400)]


def _month_number(day: date) -> int:
    return day.year * 12 + day.month


def _folded(bounds, keys: list[tuple], quarters) -> list[int]:
    """Per quarter: the sum of 1 << i over the rows i the bounds admit (so a set, exactly)."""
    rows = [(*key, 1 << i) for i, key in enumerate(keys)]
    member = FoldedMember(tuple(bounds), FoldedAgg.COUNT, value=len(keys[0]))
    (figures,) = fold_members([member], rows, [period_index(q) for q in quarters])
    return figures


def _kept(days_kept) -> int:
    return sum(1 << i for i, kept in enumerate(days_kept) if kept)


_COMPARE = {
    Op.LT: lambda a, b: a < b,
    Op.LTE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GTE: lambda a, b: a >= b,
}


def _definition(grain: str, **spec) -> MetricDefinition:
    common = {"name": "x", "label": "x", "description": "d", "owner": "o", "clause": "9.1",
              "direction": "lower_is_better", "unit": "count", "grain": grain}
    return MetricDefinition.model_validate(common | spec)


@pytest.mark.parametrize("start_month", START_MONTHS)
@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("variable", [PERIOD_START, PERIOD_END])
@pytest.mark.parametrize("op", [Op.LT, Op.LTE, Op.GT, Op.GTE])
def test_a_date_compared_with_a_period_variable_keeps_the_same_days(start_month, grain, variable, op):
    definition = _definition(grain, type="simple", time_dimension="raised_on", measure={
        "source": "findings", "filters": [{"field": "due_on", "op": op.value, "value": variable}]})
    (flt,) = definition.measure.filters
    shift, bound, offset = _period_filter_key(flt, definition.grain, start_month)
    quarters, days = _quarters(start_month), _days(_quarters(start_month))
    month_keys = [(_month_number(d + timedelta(days=shift)),) for d in days]
    by_month = _folded([KeyBound(0, bound, offset)], month_keys, quarters)
    for quarter, got in zip(quarters, by_month, strict=True):
        limit = quarter.end if variable == PERIOD_END else window_start(quarter, definition.grain)
        assert got == _kept(_COMPARE[op](d, limit) for d in days), (quarter, op, variable)
    as_quarters = as_quarter_bound(bound, offset, start_month)
    if as_quarters is not None:  # every comparison but $period_start in the month grain
        quarter_keys = [((m - start_month) // 3,) for (m,) in month_keys]
        assert _folded([KeyBound(0, *as_quarters)], quarter_keys, quarters) == by_month
    else:
        assert grain == "month" and variable == PERIOD_START


@pytest.mark.parametrize("start_month", START_MONTHS)
@pytest.mark.parametrize("grain, keyed_by_month", [  # a month-grain window reads month numbers
    ("quarter", False), ("quarter", True), ("month", True), ("year", False), ("year", True)])
def test_an_event_window_keeps_the_days_from_the_window_start_to_the_quarter_end(
    start_month, grain, keyed_by_month
):
    definition = _definition(grain, type="simple", time_dimension="raised_on",
                             measure={"source": "findings"})
    bounds = _window_bounds(definition, definition.measure, {"raised_on": (0, keyed_by_month)},
                            start_month)
    quarters, days = _quarters(start_month), _days(_quarters(start_month))
    keys = [
        (_month_number(d) if keyed_by_month else (_month_number(d) - start_month) // 3,)
        for d in days
    ] + [(None,)]  # a missing date is in no window
    got = _folded(bounds, keys, quarters)
    for quarter, figure in zip(quarters, got, strict=True):
        start = window_start(quarter, definition.grain)
        assert figure == _kept(start <= d <= quarter.end for d in days), quarter


@pytest.mark.parametrize("start_month", START_MONTHS)
@pytest.mark.parametrize("keyed_by_month", [False, True])
def test_a_snapshot_keeps_what_was_opened_by_the_quarter_end_and_not_closed_by_it(
    start_month, keyed_by_month
):
    definition = _definition("quarter", type="snapshot",
                             snapshot={"opened": "raised_on", "closed": "closed_on"},
                             measure={"source": "findings"})
    bounds = _window_bounds(definition, definition.measure,
                            {"raised_on": (0, keyed_by_month), "closed_on": (1, keyed_by_month)},
                            start_month)

    def key(day):
        if day is None:
            return None
        return _month_number(day) if keyed_by_month else (_month_number(day) - start_month) // 3

    quarters, days = _quarters(start_month), _days(_quarters(start_month))
    long_ago = days[0] - timedelta(days=3000)
    cases = [(d, None) for d in days] + [(long_ago, d) for d in days] + [(None, None)]
    got = _folded(bounds, [(key(o), key(c)) for o, c in cases], quarters)
    for quarter, figure in zip(quarters, got, strict=True):
        end = quarter.end
        expected = _kept(o is not None and o <= end and (c is None or c > end) for o, c in cases)
        assert figure == expected, quarter


def test_folded_aggregates_match_sql_on_a_hand_made_example():
    """Rows (quarter key, part, count): three quarters 10, 11, 12; a sum skips a NULL part, a
    mean is the sum of sums over the sum of counts, a minimum and a maximum per quarter."""
    rows = [(10, 5, 2), (11, None, 0), (11, 7, 1), (12, 1, 1), (12, 4, 3)]
    event = (KeyBound(0, Bound.QUARTER_AT_LEAST, 0), KeyBound(0, Bound.QUARTER_AT_MOST, 0))
    members = [
        FoldedMember(event, FoldedAgg.SUM, 1),
        FoldedMember(event, FoldedAgg.AVERAGE, 1, count=2),
        FoldedMember(event, FoldedAgg.MIN, 1),
        FoldedMember(event, FoldedAgg.MAX, 1),
        FoldedMember(event, FoldedAgg.COUNT, 2),
    ]
    sums, means, minima, maxima, counts = fold_members(members, rows, [9, 10, 11, 12])
    assert sums == [0, 5, 7, 5]
    assert means == [None, 2.5, 7.0, 1.25]
    assert minima == [None, 5, 7, 1]
    assert maxima == [None, 5, 7, 4]
    assert counts == [0, 2, 1, 4]
    # SQL's CAST(n AS DOUBLE) / NULLIF(d, 0)
    assert [ratio(1, 4), ratio(None, 4), ratio(1, 0), ratio(1, None)] == [0.25, None, None, None]

