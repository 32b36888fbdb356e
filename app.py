"""AIMS Review: the Streamlit router.

Sets the page config, signs the user in, builds `st.navigation` from the pages the user's role
allows, draws the shared sidebar and runs the page. The database path comes from $AIMS_DB
(default data/aims.duckdb), as for the CLI; the file is opened per operation and never held open.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import streamlit as st

from aims_metrics import auth, store
from aims_metrics.metrics.evaluate import MetricTimeout
from pages import _ui

log = logging.getLogger("aims_review")
# shipped with the app: an emoji or a :material/…: icon makes the browser fetch it from the internet
PAGE_ICON = Path(__file__).resolve().parent / "assets" / "icon.png"

st.set_page_config(
    page_title="AIMS Review",
    page_icon=str(PAGE_ICON),
    layout="wide",
    initial_sidebar_state="expanded",
)


@st.cache_resource(show_spinner=False)
def prepare_database(path: str) -> bool:
    """Once per server process: migrate, and on a database without users create `admin`.

    The one-time password goes to this terminal only; it is never logged or stored in clear.
    """
    with store.open_db(path) as con:
        password = auth.ensure_initial_admin(con)
    if password:
        sys.stderr.write(
            "\n  AIMS Review: no users existed, so an administrator was created.\n"
            f"  user name: admin\n  one-time password: {password}\n"
            "  Sign in and add users on the Admin page (or: python -m aims_metrics users add).\n\n"
        )
        sys.stderr.flush()
    return True


def set_cookie_script(value: str | None) -> str:
    """JavaScript that stores (or, with None, removes) the signed session cookie."""
    secure = "; secure" if (st.context.url or "").startswith("https:") else ""
    if value is None:
        cookie = f"{_ui.COOKIE_NAME}=; path=/; max-age=0; samesite=strict{secure}"
    else:
        lifetime = int(auth.SESSION_LIFETIME.total_seconds())
        cookie = f"{_ui.COOKIE_NAME}={value}; path=/; max-age={lifetime}; samesite=strict{secure}"
    return f"<script>document.cookie = {json.dumps(cookie)};</script>"


def resolve_user(key: bytes) -> auth.User | None:
    """The signed-in user, re-read on every run (role changes apply at once: a change is a write,
    and a write is a new snapshot)."""
    username = st.session_state.get(_ui.USER_KEY)
    with store.read_db(_ui.db_path()) as con:
        if username:
            user = auth.get_user(con, username)
            return user if user is not None and not user.disabled else None
        if st.session_state.get("signed_out"):
            return None
        user = auth.session_user(con, st.context.cookies.get(_ui.COOKIE_NAME), key)
        if user is None and _ui.sso_configured() and st.user.is_logged_in:
            user = auth.user_by_email(con, st.user.get("email"))
            if user is None:
                st.session_state["sso_refused"] = True
    if user is not None:
        st.session_state[_ui.USER_KEY] = user.username
    return user


def sign_in_page() -> None:
    """Local accounts always; single sign-on when `[auth]` is configured in secrets."""
    st.title("AIMS Review")
    st.caption("ISO/IEC 42001 performance evaluation and management review")
    left, _ = st.columns([2, 3])
    with left:
        if st.session_state.pop("sso_refused", False):
            st.error(
                "Your single sign-on account has no AIMS Review user. "
                "Ask an administrator to add your e-mail address."
            )
            st.button("Sign out of single sign-on", key="sso_logout", on_click=st.logout)
        with st.form("sign_in", border=True):
            st.subheader("Sign in")
            username = st.text_input("User name", key="sign_in_username")
            password = st.text_input("Password", type="password", key="sign_in_password")
            submitted = st.form_submit_button("Sign in", type="primary", key="sign_in_submit")
        if submitted:
            with store.open_db(_ui.db_path()) as con:
                outcome = auth.authenticate(con, username, password)
                if outcome.ok:
                    key = _ui.session_key()
                    st.session_state["pending_cookie"] = auth.start_session(
                        con, outcome.user.username, key
                    )
            if outcome.ok:
                st.session_state[_ui.USER_KEY] = outcome.user.username
                st.session_state.pop("signed_out", None)
                st.rerun()
            st.error(outcome.message)
        if _ui.sso_configured():
            st.divider()
            st.button(
                "Sign in with single sign-on",
                key="sso_login",
                on_click=st.login,
                icon=":material/login:",
            )


def change_password_page(user: auth.User) -> None:
    """The first thing a user with a one-time password sees: nothing else until it is replaced."""

    def change_password() -> None:
        st.title("Choose a new password")
        st.info(
            "You signed in with a one-time password. Choose your own password before you "
            f"continue (at least {auth.MIN_PASSWORD_LENGTH} characters)."
        )
        left, _ = st.columns([2, 3])
        with left, st.form("change_password", border=True):
            new = st.text_input("New password", type="password", key="new_password")
            again = st.text_input("New password again", type="password", key="new_password_again")
            submitted = st.form_submit_button(
                "Save password and continue", type="primary", key="change_password_submit"
            )
        if not submitted:
            return
        if new != again:
            st.error("The two passwords differ: type the same new password twice.")
            return
        try:
            with store.open_db(_ui.db_path()) as con:
                auth.replace_one_time_password(con, user.username, new)
                # set_password ends every session of the user: start this browser's again
                st.session_state["pending_cookie"] = auth.start_session(
                    con, user.username, _ui.session_key()
                )
        except auth.UserError as problem:
            st.error(f"{str(problem).capitalize()}.")
            return
        st.rerun()

    st.navigation(
        [st.Page(change_password, title="Choose a new password", url_path="change-password")],
        position="hidden",
    ).run()
    with st.sidebar:
        st.button("Sign out", key="sign_out", on_click=sign_out, icon=":material/logout:")


def sign_out() -> None:
    cookie = st.session_state.pop("session_cookie", None) or st.context.cookies.get(_ui.COOKIE_NAME)
    with store.open_db(_ui.db_path()) as con:
        auth.end_session(con, cookie)
    for name in (_ui.USER_KEY, "pending_cookie"):
        st.session_state.pop(name, None)
    st.session_state["signed_out"] = True
    st.session_state["clear_cookie"] = True
    if _ui.sso_configured() and st.user.is_logged_in:
        st.logout()


def refusal_page(page: _ui.PageSpec):
    """What a URL to a page the role may not use shows instead of the page."""

    def refused() -> None:
        _ui.not_permitted(page.title)

    refused.__name__ = f"refused_{page.url_path.replace('-', '_')}"
    return st.Page(refused, title=page.title, url_path=page.url_path, visibility="hidden")


def sidebar(user: auth.User) -> None:
    with st.sidebar:
        st.markdown(f"**{_ui.plain(_ui.setting('organisation_name'))}**")
        options = _ui.quarter_options()
        default = _ui.selected_quarter().label
        if st.session_state.get(_ui.QUARTER_KEY) not in options:
            st.session_state[_ui.QUARTER_KEY] = default if default in options else options[1]
        st.selectbox(
            "Quarter",
            options,
            key=_ui.QUARTER_KEY,
            help="Figures are computed as of the quarter end. The newest entry is in progress.",
        )
        snapshot = store.read_snapshot(_ui.db_path())
        if snapshot.behind:
            st.caption(
                f"Data is being written (an import may be running): figures are as of "
                f"{snapshot.taken_at.astimezone():%H:%M:%S} and update when it ends."
            )
        st.divider()
        st.markdown(f"Signed in as **{_ui.plain(user.label)}**  \n{_ui.role_title(user.role)}")
        st.button("Sign out", key="sign_out", on_click=sign_out, icon=":material/logout:")


def main() -> None:
    _ui.apply_look()
    path = _ui.db_path()
    key = _ui.session_key()
    if key is None:
        st.error(
            "AIMS Review is not bound to localhost, so it needs a session signing key: set "
            "`session_key` (at least 16 characters) in .streamlit/secrets.toml or AIMS_SESSION_KEY."
        )
        st.stop()
    try:
        store.check_database_path(path)
    except store.DatabasePathProblem as problem:
        st.error(
            f"AIMS Review cannot use the database that AIMS_DB names: {problem}. Set AIMS_DB to "
            "an AIMS Review database file, or to a new path in a writable folder."
        )
        st.stop()
    try:
        prepare_database(path)
        user = resolve_user(key)
    except store.DatabaseBusy:
        st.warning("The database is busy (an import may be running). Reload in a moment.")
        st.stop()

    if st.session_state.pop("clear_cookie", False):
        st.html(set_cookie_script(None), unsafe_allow_javascript=True)

    if user is None:
        st.session_state.pop(_ui.USER_KEY, None)
        st.navigation(
            [st.Page(sign_in_page, title="Sign in", url_path="sign-in")], position="hidden"
        ).run()
        return

    pending = st.session_state.pop("pending_cookie", None)
    if pending:
        st.session_state["session_cookie"] = pending
        st.html(set_cookie_script(pending), unsafe_allow_javascript=True)

    if user.must_change_password:
        change_password_page(user)
        return

    sections: dict[str, list] = {}
    for page in _ui.available_pages():
        if auth.can(user.role, page.action):
            entry = st.Page(
                page.path,
                title=page.title,
                icon=page.icon,
                url_path=page.url_path,
                default=page.default,
            )
            sections.setdefault(page.section, []).append(entry)
        else:
            sections.setdefault(page.section, []).append(refusal_page(page))
    navigation = st.navigation(sections)
    try:
        with _ui.signed_in_as(user):
            sidebar(user)
            navigation.run()
    except store.DatabaseBusy:
        st.warning("The database is busy (an import may be running). Try again in a moment.")
    except MetricTimeout as timeout:
        log.warning("page %s: %s", navigation.url_path, timeout)
        st.error(
            f"A metric took too long to compute and was stopped: {timeout}. An analyst can "
            "simplify its definition on Metric definitions."
        )
    except Exception:
        log.exception("page %s failed", navigation.url_path)
        st.error(
            "Something went wrong while drawing this page. The details are in the server log; "
            "try again, or tell your administrator."
        )


main()
