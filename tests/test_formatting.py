"""Figures read the same in the app, the CLI and the minutes (aims_metrics.metrics.formatting)."""

from __future__ import annotations

import pytest

from aims_metrics.metrics.formatting import format_change, format_value


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (12, "count", "12"),
        (12345, "count", "12,345"),
        (0.875, "percent", "87.5 %"),
        (14.25, "days", "14.2 d"),
        (None, "count", "—"),
        (float("nan"), "days", "—"),
        (2.5, "count", "2.50"),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def test_the_minutes_say_no_data_where_the_app_shows_a_dash():
    assert format_value(None, "percent", "no data") == "no data"


@pytest.mark.parametrize(
    ("value", "previous", "unit", "direction", "text"),
    [
        (5, 3, "count", "lower_is_better", "+2 (worse)"),
        (0.9, 0.85, "percent", "higher_is_better", "+5.0 pp (better)"),
        (10.0, 12.5, "days", "lower_is_better", "-2.5 d (better)"),
        (4, 4, "count", "lower_is_better", "no change"),
        (None, 4, "count", "lower_is_better", "—"),
        (4, None, "count", "lower_is_better", "—"),
    ],
)
def test_format_change(value, previous, unit, direction, text):
    assert format_change(value, previous, unit, direction) == text
