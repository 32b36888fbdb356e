"""Tables as people read them (issue 24, item 4): every column of every table on every page has a
human label, missing values read "—", numbers and dates are written one way."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics.auth import Role
from aims_metrics.vocabulary.labels import column_label
from pages import _ui
from tests.conftest import app_usernames

APP = str(Path(__file__).resolve().parents[1] / "app.py")
USERS = {Role(role): name for role, name in app_usernames().items()}


def headings(at: AppTest) -> list[str]:
    """The heading a reader sees over each column of each table on the page."""
    shown = []
    for frame in [*at.dataframe, *at.get("arrow_data_frame")]:
        config = json.loads(frame.proto.columns or "{}")
        for column in frame.value.columns:
            entry = config.get(str(column)) or config.get(f"col:{column}") or {}
            shown.append(entry.get("label") or str(column))
    return shown


def is_raw(heading: str) -> bool:
    return "_" in heading or heading[:1].islower()


@pytest.mark.parametrize("page", _ui.available_pages(), ids=lambda p: p.url_path)
def test_every_column_of_every_table_has_a_human_label(app_db, page):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS[Role.ADMIN]
    at.run()
    at.switch_page(page.file).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [h for h in headings(at) if is_raw(h)] == []
    # the grid draws empty cells itself (not through the Styler): they read "—", not a grey None
    assert [f.proto.placeholder for f in at.dataframe] == [_ui.MISSING] * len(at.dataframe)


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("finding_id", "Finding ID"),
        ("major_nc", "Major NC"),
        ("not_started", "Not started"),
        ("effort_days", "Effort (days)"),
        ("actual_end", "Actual end"),
        ("report_on", "Report due"),
        ("judged by", "Judged by"),
    ],
)
def test_raw_field_names_become_words(name, label):
    assert column_label(name) == label


def test_missing_values_dates_and_numbers_are_shown_one_way():
    frame = pd.DataFrame(
        {
            "owner": ["Ann", None],
            "raised_on": pd.to_datetime([datetime(2026, 3, 1), None]),
            "records": [6675, 8248],
            "rate": [0.973, float("nan")],
        }
    )
    html = _ui.table_display(frame).to_html()
    assert "None" not in html and "nan" not in html.lower().replace("nan-", "")
    assert html.count("—") == 3  # the missing owner, date and rate
    assert "6,675" in html and "8,248" in html and "0.973" in html
    assert str(date(2026, 3, 1)) in html and "00:00:00" not in html


def test_closed_vocabulary_values_read_as_words():
    """A column of finding types or statuses shows their titles and words, not raw values."""
    frame = pd.DataFrame(
        {
            "finding_type": ["major_nc", "ofi"],
            "status": ["not_started", None],
            "audit_status": ["in_progress", "completed"],
            "owner": ["gap", "someone"],  # free text that happens to hold a status word: left alone
        }
    )
    html = _ui.table_display(frame).to_html()
    for raw in ("major_nc", "not_started", "in_progress"):
        assert raw not in html
    for word in ("Major NC", "OFI", "■ Not started", "▲ In progress", "● Completed"):
        assert word in html
    assert ">gap<" in html
