"""Set-up traps (issue 24, item 13) seen in the app: the one-time admin password must be replaced
before anything else is shown."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from aims_metrics import auth
from aims_metrics.store import open_db
from pages import _ui

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _one_time_admin(app_db: Path) -> str:
    with open_db(app_db) as con:
        con.execute("DELETE FROM users")
        return auth.ensure_initial_admin(con)


def _signed_in_as_admin() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = "admin"
    return at.run()


def test_a_one_time_password_is_replaced_before_anything_else(app_db):
    one_time = _one_time_admin(app_db)
    at = _signed_in_as_admin()
    assert not at.exception
    assert [t.value for t in at.title] == ["Choose a new password"]
    assert not at.dataframe and not at.metric
    assert [t.label for t in at.text_input] == ["New password", "New password again"]

    at.text_input(key="new_password").input(one_time)
    at.text_input(key="new_password_again").input(one_time)
    at.button(key="change_password_submit").click().run()
    assert "other than the one-time password" in at.error[0].value
    with open_db(app_db) as con:
        assert auth.get_user(con, "admin").must_change_password

    at.text_input(key="new_password").input("my own password 1")
    at.text_input(key="new_password_again").input("my own password 1")
    at.button(key="change_password_submit").click().run()
    assert not at.exception and not at.error
    assert "Choose a new password" not in [t.value for t in at.title]
    with open_db(app_db) as con:
        assert not auth.get_user(con, "admin").must_change_password
        assert auth.authenticate(con, "admin", "my own password 1").ok


def test_two_different_new_passwords_are_refused(app_db):
    _one_time_admin(app_db)
    at = _signed_in_as_admin()
    at.text_input(key="new_password").input("my own password 1")
    at.text_input(key="new_password_again").input("my own password 2")
    at.button(key="change_password_submit").click().run()
    assert "differ" in at.error[0].value
    with open_db(app_db) as con:
        assert auth.get_user(con, "admin").must_change_password
