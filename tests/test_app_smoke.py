"""Every page for every role (AppTest): allowed pages render, forbidden ones are refused.

The app is signed in the way the router does it after a password check: the user name in session
state. The router re-reads the user and role from the database on every run, so a test (like an
attacker) cannot grant itself a role by writing session state.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from aims_metrics import auth
from aims_metrics.auth import Role
from aims_metrics.store import open_db
from pages import _ui
from tests.conftest import APP_PASSWORD, app_usernames

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
PASSWORD = APP_PASSWORD
USERS = {Role(role): name for role, name in app_usernames().items()}
PAGES = _ui.available_pages()
NOT_PERMITTED = "ou are not permitted"


def signed_in(role: Role | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if role is not None:
        at.session_state[_ui.USER_KEY] = USERS[role]
    return at.run()


def open_url(at: AppTest, url_path: str) -> AppTest:
    """What a browser does for /url_path: request the page whose hash is that of its URL path."""
    at._page_hash = calc_hash(url_path)
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.url_path)
def test_every_page_for_every_role(app_db, role, page):
    at = signed_in(role)
    assert_clean(at)
    if auth.can(role, page.action):
        at.switch_page(page.file).run()
        assert_clean(at)
        assert at.title and at.title[0].value.startswith(page.title.split()[0])
    else:
        open_url(at, page.url_path)
        assert not at.exception
        # The router's refusal stub (in a browser) or, where AppTest's legacy pages/ lookup runs
        # the file directly, the page's own guard: either way only the refusal is drawn.
        assert len(at.error) == 1 and NOT_PERMITTED in at.error[0].value
        assert not at.title and not at.dataframe and not at.metric and not at.text_input


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.url_path)
def test_signed_out_every_url_shows_the_sign_in_form(app_db, page):
    at = open_url(signed_in(None), page.url_path)
    assert not at.exception
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.dataframe and not at.metric


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.url_path)
@pytest.mark.parametrize("role", [None, *Role], ids=str)
def test_each_page_guards_itself_without_the_router(app_db, page, role):
    """Defence in depth: a page file run without the router refuses, whoever the session names."""
    at = AppTest.from_file(str(page.path), default_timeout=60)
    if role is not None:
        at.session_state[_ui.USER_KEY] = USERS[role]
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and NOT_PERMITTED in at.error[0].value
    assert not at.title and not at.dataframe and not at.metric


def test_a_role_written_into_session_state_is_not_trusted(app_db):
    """Only the user name is kept in the session; the role always comes from the database."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS[Role.EXECUTIVE]
    at.session_state["role"] = "admin"
    at.session_state["auth_context"] = auth.User(
        "x", Role.ADMIN, None, None, False, 0, None, None, True
    )
    at.run()
    open_url(at, "admin")
    assert [e.value for e in at.error if NOT_PERMITTED in e.value]


def test_unknown_or_disabled_user_in_session_is_signed_out(app_db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = "nobody"
    at.run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]

    at = signed_in(Role.ANALYST)
    with open_db(app_db) as con:
        auth.disable_user(con, USERS[Role.ANALYST], actor="test")
    at.run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]


def test_password_sign_in_and_sign_out(app_db):
    at = signed_in(None)
    at.text_input(key="sign_in_username").input(USERS[Role.GOVERNANCE_LEAD])
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button(key="sign_in_submit").click().run()
    assert_clean(at)
    assert at.session_state[_ui.USER_KEY] == USERS[Role.GOVERNANCE_LEAD]
    assert "Governance lead" in " ".join(m.value for m in at.sidebar.markdown)
    at.sidebar.button(key="sign_out").click().run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]


def test_wrong_password_is_refused_and_five_lock_the_account(app_db):
    at = signed_in(None)
    for _ in range(5):
        at.text_input(key="sign_in_username").input(USERS[Role.ADMIN])
        at.text_input(key="sign_in_password").input("wrong password")
        at.button(key="sign_in_submit").click().run()
    assert "locked" in at.error[0].value
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button(key="sign_in_submit").click().run()
    assert "locked" in at.error[0].value
    assert _ui.USER_KEY not in at.session_state


def test_admin_adds_a_user_and_changes_a_setting(app_db):
    at = signed_in(Role.ADMIN)
    at.switch_page("pages/admin.py").run()
    at.text_input(key="add_user_name").input("newbie")
    at.selectbox(key="add_user_role").select("analyst")
    at.text_input(key="add_user_password").input("a long enough password")
    at.button(key="add_user_submit").click().run()
    assert_clean(at)
    at.text_input(key="setting_org").input("Acme Robotics")
    at.button(key="settings_submit").click().run()
    assert_clean(at)
    with open_db(app_db) as con:
        assert auth.get_user(con, "newbie").role is Role.ANALYST
        from aims_metrics.store import audit_entries, get_setting

        assert get_setting(con, "organisation_name") == "Acme Robotics"
        actions = {(e["username"], e["action"]) for e in audit_entries(con)}
    assert (USERS[Role.ADMIN], "user.add") in actions
    assert (USERS[Role.ADMIN], "setting.update") in actions
