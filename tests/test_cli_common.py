"""The CLI's shared argument types and JSON writer: every number, date, quarter and output path is
checked where it enters, and no JSON output carries NaN or infinity."""

from __future__ import annotations

import argparse
import json
import math
from datetime import date
from pathlib import Path

import pytest

from aims_metrics.cli.common import (
    date_arg,
    finite_float,
    int_in_range,
    json_text,
    output_path,
    quarter_arg,
)
from aims_metrics.metrics.periods import Quarter


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2025Q3", Quarter(2025, 3)), ("1900Q1", Quarter(1900, 1)), ("2199q4", Quarter(2199, 4))],
)
def test_quarters_within_range_are_accepted(text, expected):
    assert quarter_arg(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0001Q1", "'0001Q1' is out of range: quarters run from 1900Q1 to 2199Q4"),
        ("1899Q4", "'1899Q4' is out of range: quarters run from 1900Q1 to 2199Q4"),
        ("2200Q1", "'2200Q1' is out of range: quarters run from 1900Q1 to 2199Q4"),
        ("2025Q5", "'2025Q5' is not a quarter: write it as YYYYQn, e.g. 2025Q3"),
    ],
)
def test_quarters_out_of_range_are_refused(text, message):
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        quarter_arg(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9999-12-31", "9999-12-31 is out of range: dates run from 1900-01-01 to 2199-12-31"),
        ("0001-01-01", "0001-01-01 is out of range: dates run from 1900-01-01 to 2199-12-31"),
        ("2200-01-01", "2200-01-01 is out of range: dates run from 1900-01-01 to 2199-12-31"),
        ("2025-02-30", "'2025-02-30' is not a date: write YYYY-MM-DD"),
        ("31/12/2025", "'31/12/2025' is not a date: write YYYY-MM-DD"),
    ],
)
def test_dates_out_of_range_are_refused(text, message):
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        date_arg(text)
    assert str(refused.value) == message


def test_dates_at_the_bounds_are_accepted():
    assert date_arg("1900-01-01") == date(1900, 1, 1)
    assert date_arg("2199-12-31") == date(2199, 12, 31)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nan", "'nan' is not a finite number"),
        ("-inf", "'-inf' is not a finite number"),
        ("1e999", "'1e999' is not a finite number"),
        ("half", "'half' is not a number"),
        ("2", "2 is out of range: use 0 to 1"),
    ],
)
def test_non_finite_and_out_of_range_numbers_are_refused(text, message):
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        finite_float(0, 1)(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1", "-1 is out of range: use 1 to 1,000"),
        ("0", "0 is out of range: use 1 to 1,000"),
        ("1.5", "'1.5' is not a whole number"),
        ("1e3", "'1e3' is not a whole number"),
    ],
)
def test_whole_numbers_out_of_range_are_refused(text, message):
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        int_in_range(1, 1000)(text)
    assert str(refused.value) == message


def test_json_never_carries_nan_or_infinity():
    document = {
        "value": math.nan,
        "rows": [1.5, math.inf, {"x": -math.inf}],
        "when": date(2025, 1, 1),
    }
    text = json_text(document)
    assert json.loads(text) == {
        "value": None,
        "rows": [1.5, None, {"x": None}],
        "when": "2025-01-01",
    }
    assert "NaN" not in text and "Infinity" not in text


def test_output_path_is_checked_before_any_work(tmp_path: Path):
    assert output_path(str(tmp_path / "x.csv")) == tmp_path / "x.csv"
    with pytest.raises(argparse.ArgumentTypeError, match="does not exist: create it first"):
        output_path(str(tmp_path / "missing" / "x.csv"))
    with pytest.raises(argparse.ArgumentTypeError, match="is a directory: name a file to write"):
        output_path(str(tmp_path))


def test_table_cells_stay_on_one_line():
    from aims_metrics.cli.common import one_line, text_table

    table = text_table(
        ["id", "title"], [["I1", "Model drift\nI2  forged row"], ["I3", "Ünïcode \x1b[2J"]]
    )
    assert table.splitlines() == [
        "ID  Title",
        "--  " + "-" * len("Model drift\\nI2  forged row"),
        "I1  Model drift\\nI2  forged row",
        "I3  Ünïcode \\x1b[2J",
    ]
    assert one_line("a\u2028b\rc") == "a\\u2028b\\rc"
    assert one_line("plain — text") == "plain — text"
