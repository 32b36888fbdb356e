"""A new organisation's first visit: every page on an empty database says what to do next.

Fresh database (migrated, the shipped catalog, no data, no objectives, no reviews) and one user per
role. No page may raise or show an error; each shows its empty state, the pages a role may use
are listed and work, and the minutes can still be drafted.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics import auth
from aims_metrics.auth import Role
from aims_metrics.store import open_db
from pages import _ui
from tests.conftest import APP_PASSWORD, app_usernames
from tests.test_app_smoke import APP

USERS = {Role(role): name for role, name in app_usernames().items()}
PAGES = {page.file: page for page in _ui.available_pages()}
EMPTY_STATES = {  # page file → words its empty state must say
    "pages/overview.py": "No data for",
    "pages/trends.py": "No values for",
    "pages/nonconformities.py": "",
    "pages/objectives.py": "",
    "pages/review.py": "",
    "pages/fairness.py": "No computed evaluations yet",
    "pages/data_import.py": "Nothing imported yet",
    "pages/metrics.py": "no saved versions yet",
    "pages/audit_programme.py": "No audits yet",
    "pages/readiness.py": "No attestations yet",
    "pages/notifications.py": "No channels yet",
    "pages/admin.py": None,  # never empty: the users exist and their creation is audited
}


@pytest.fixture
def empty_db(tmp_path, monkeypatch):
    path = tmp_path / "empty.duckdb"
    with open_db(path) as con:
        for role, username in USERS.items():
            auth.add_user(con, username, role, APP_PASSWORD, actor="test")
    monkeypatch.setenv("AIMS_DB", str(path))
    monkeypatch.setenv("AIMS_SESSION_KEY", "test-session-key-0123456789")
    return path


def test_the_empty_state_table_covers_every_page():
    assert set(EMPTY_STATES) == set(PAGES)


@pytest.mark.parametrize("file", list(EMPTY_STATES))
def test_every_page_on_an_empty_database_says_what_to_do(empty_db, file):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS[Role.ADMIN]
    at.run()
    at.switch_page(file).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title and at.title[0].value.startswith(PAGES[file].title.split()[0])
    infos = [i.value for i in at.info]
    if EMPTY_STATES[file] is None:
        assert at.dataframe and not infos
        return
    assert infos, f"{file} shows no empty state"
    assert any(EMPTY_STATES[file] in text for text in infos), infos


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_each_role_lands_on_a_working_first_page(empty_db, role):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS[role]
    at.run()
    assert not at.exception and not at.error
    assert any(i.value.startswith("No data for") for i in at.info)  # not a wall of green zeros
    assert not [m for m in at.metric if m.value not in ("—", "")]
    assert any("no AI incidents yet" in c.value for c in at.caption)


def test_draft_minutes_render_without_any_data(empty_db):
    import io

    from pypdf import PdfReader

    from aims_metrics.metrics.periods import Quarter
    from aims_metrics.review.minutes import render_minutes

    with open_db(empty_db) as con:
        pdf = render_minutes(con, Quarter(2026, 3))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "DRAFT" in text and "2026Q3" in text
