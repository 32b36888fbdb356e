"""Single sign-on (design §7): OIDC through st.login when `[auth]` is configured in secrets.

The identity provider's claims arrive as st.user (AppTest.user here); the AIMS user, and with it
the role, is the enabled account whose e-mail matches. Claims never grant a role.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics import auth
from aims_metrics.store import open_db
from tests.test_app_smoke import open_url

APP = str(Path(__file__).resolve().parents[1] / "app.py")
AUTH_SECRETS = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "sso-test-cookie-secret-0123456789",
    "client_id": "aims-review",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
}
SIGN_IN_FIELDS = ["User name", "Password"]


def app(user: dict | None = None, sso: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if sso:
        at.secrets["auth"] = AUTH_SECRETS
    at.user = user if user is not None else {"is_logged_in": False}
    return at.run()


@pytest.fixture
def sso_users(app_db):
    with open_db(app_db) as con:
        auth.add_user(con, "dana", "executive", None, actor="admin", email="Dana@Example.com")
        auth.add_user(con, "remy", "analyst", None, actor="admin", email="remy@example.com")
        auth.disable_user(con, "remy", actor="admin")
    return app_db


def test_without_auth_secrets_there_is_no_single_sign_on_button(app_db):
    at = app(sso=False)
    assert [t.label for t in at.text_input] == SIGN_IN_FIELDS
    assert not [b for b in at.button if b.key == "sso_login"]


def test_with_auth_secrets_the_sign_in_page_offers_single_sign_on(app_db):
    at = app()
    assert not at.exception
    assert [t.label for t in at.text_input] == SIGN_IN_FIELDS  # local accounts still work
    assert [b.label for b in at.button if b.key == "sso_login"] == ["Sign in with single sign-on"]


def test_a_known_email_signs_in_with_the_role_from_the_users_table(sso_users):
    at = app(
        {"is_logged_in": True, "email": "dana@example.com", "role": "admin", "groups": ["admin"]}
    )
    assert not at.exception and not at.error
    assert at.title[0].value.startswith("Overview")
    assert any("dana" in m.value and "executive" in m.value.lower() for m in at.sidebar.markdown)
    open_url(at, "administration")
    assert [e.value for e in at.error if "not permitted" in e.value]  # the claim grants nothing


def test_an_unknown_email_is_refused_with_what_to_do(sso_users):
    at = app({"is_logged_in": True, "email": "stranger@example.com"})
    assert any("has no AIMS Review user" in e.value for e in at.error)
    assert [b.key for b in at.button if b.key == "sso_logout"] == ["sso_logout"]
    assert not at.metric and not at.dataframe


def test_a_disabled_account_cannot_sign_in_by_single_sign_on(sso_users):
    at = app({"is_logged_in": True, "email": "remy@example.com"})
    assert any("has no AIMS Review user" in e.value for e in at.error)
    assert not at.metric and not at.dataframe
