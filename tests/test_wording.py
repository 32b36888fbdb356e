"""Wording (issue 24, item 12): counts agree with their noun, metric descriptions read as words,
numbers are written one way."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics.metrics.catalog import shipped_catalog
from aims_metrics.metrics.formatting import readable_description
from aims_metrics.tables.ingest import ImportCounts
from aims_metrics.vocabulary.wording import day
from pages import _ui
from tests.conftest import app_usernames

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
JARGON = re.compile(r"≤|≥|<|\bE\b|\bS\b|_on\b|major_nc|minor_nc|pre_deployment")


def user_facing_modules() -> list[Path]:
    modules = [*(REPO / "pages").glob("*.py"), *(REPO / "aims_metrics").rglob("*.py")]
    return sorted(modules)


@pytest.mark.parametrize("path", user_facing_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_count_is_written_with_a_bracketed_plural(path: Path):
    """ "14 audit(s)", "nonconformity(ies)", "1 versions": a count agrees with its noun."""
    strings = [
        n.value
        for n in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    assert [s for s in strings if re.search(r"\w\((s|es|ies)\)", s)] == []


@pytest.mark.parametrize("definition", shipped_catalog(), ids=lambda d: d.name)
def test_every_metric_description_reads_as_words(definition):
    words = readable_description(definition.description)
    assert not JARGON.search(words), words


def test_the_trends_page_explains_a_metric_in_words(app_db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = app_usernames()["executive"]
    at.run()
    at.switch_page("pages/trends.py").run()
    assert not at.exception, [e.value for e in at.exception]
    caption = at.caption[0].value
    assert "detected in the quarter" in caption
    assert "≤" not in caption and "detected_on" not in caption


def test_import_counts_are_written_with_thousands_separators():
    assert str(ImportCounts(6675, 8248, 0)) == "6,675 inserted, 8,248 updated, 0 unchanged"


def test_a_day_in_running_text_is_written_one_way():
    assert day(date(2026, 1, 1)) == "1 January 2026"
    assert day(date(2026, 9, 30)) == "30 September 2026"


@pytest.mark.parametrize("path", user_facing_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_formats_a_day_for_reading_its_own_way(path: Path):
    """ "01 Jan 2026" on one line and "2026-01-01" on the next: prose days go through `day`."""
    assert re.findall(r"%-?d %[bB] %Y", path.read_text("utf-8")) == []
