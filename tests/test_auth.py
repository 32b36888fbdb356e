"""Roles and permissions, local accounts, sign-in lockout, sessions and the `users` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from aims_metrics import auth
from aims_metrics.auth import Action, Role, SignInFailure
from aims_metrics.store import audit_entries, now, open_db

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse 1"
KEY = b"k" * 32

# Who may do what (design §7): each role includes the one before.
EXPECTED = {
    Action.VIEW_DASHBOARDS: {"executive", "governance_lead", "analyst", "admin"},
    Action.DOWNLOAD_MINUTES: {"executive", "governance_lead", "analyst", "admin"},
    Action.IMPORT_DATA: {"governance_lead", "analyst", "admin"},
    Action.EDIT_OBJECTIVES: {"governance_lead", "analyst", "admin"},
    Action.EDIT_REVIEWS: {"governance_lead", "analyst", "admin"},
    Action.FINALISE_MINUTES: {"governance_lead", "analyst", "admin"},
    Action.EDIT_METRICS: {"analyst", "admin"},
    Action.MANAGE_USERS: {"admin"},
    Action.EDIT_SETTINGS: {"admin"},
    Action.VIEW_AUDIT_LOG: {"admin"},
    Action.EDIT_SOA: {"governance_lead", "analyst", "admin"},
    Action.EDIT_GAPS: {"governance_lead", "analyst", "admin"},
    Action.EVALUATE_FAIRNESS: {"governance_lead", "analyst", "admin"},
    Action.EDIT_FAIRNESS_POLICY: {"analyst", "admin"},
    Action.VIEW_NOTIFICATIONS: {"governance_lead", "analyst", "admin"},
    Action.MANAGE_NOTIFICATIONS: {"admin"},
}


@pytest.mark.parametrize("role", [*Role, "auditor", "", None])
@pytest.mark.parametrize("action", list(Action))
def test_permission_matrix(role, action):
    assert auth.can(role, action) == (role in EXPECTED[action])


def test_every_action_is_in_the_matrix():
    assert set(EXPECTED) == set(Action) == set(auth.MINIMUM_ROLE)


def test_require_raises_for_a_forbidden_action():
    auth.require(Role.ANALYST, Action.EDIT_METRICS)
    with pytest.raises(auth.PermissionDenied):
        auth.require(Role.GOVERNANCE_LEAD, Action.EDIT_METRICS)
    with pytest.raises(auth.PermissionDenied):
        auth.require(None, Action.VIEW_DASHBOARDS)


def test_add_user_stores_only_a_bcrypt_hash_and_audits(con):
    user = auth.add_user(con, "Alice", "analyst", PASSWORD, actor="root", email="a@example.org")
    assert (user.username, user.role, user.has_password) == ("alice", Role.ANALYST, True)
    ((stored,),) = con.execute("SELECT password_hash FROM users").fetchall()
    assert stored.startswith("$2b$") and PASSWORD not in stored
    entries = audit_entries(con)
    assert [(e["username"], e["action"], e["target"]) for e in entries] == [
        ("root", "user.add", "alice")
    ]
    assert PASSWORD not in json.dumps(entries, default=str)


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("bob", "wizard", PASSWORD, "unknown role"),
        ("x", "analyst", PASSWORD, "not a valid user name"),
        ("bob smith", "analyst", PASSWORD, "not a valid user name"),
        ("bob", "analyst", "short", "at least 10 characters"),
        ("bob", "analyst", "é" * 40, "at most 72 bytes"),
        ("bob", "analyst", None, "give a password"),
    ],
)
def test_add_user_refuses_bad_input(con, name, role, password, message):
    with pytest.raises(auth.UserError, match=message):
        auth.add_user(con, name, role, password, actor="root")
    assert auth.list_users(con) == []


def test_add_user_refuses_a_duplicate(con):
    auth.add_user(con, "bob", "analyst", PASSWORD, actor="root")
    with pytest.raises(auth.UserError, match="already exists"):
        auth.add_user(con, "BOB", "admin", PASSWORD, actor="root")
    assert [u.role for u in auth.list_users(con)] == [Role.ANALYST]


def test_set_role_disable_enable_are_audited(con):
    auth.add_user(con, "root", "admin", PASSWORD, actor="system")
    auth.add_user(con, "bob", "executive", PASSWORD, actor="root")
    assert auth.set_role(con, "bob", "governance_lead", actor="root").role is Role.GOVERNANCE_LEAD
    assert auth.disable_user(con, "bob", actor="root").disabled
    assert not auth.enable_user(con, "bob", actor="root").disabled
    actions = [e["action"] for e in reversed(audit_entries(con))]
    assert actions == ["user.add", "user.add", "user.set_role", "user.disable", "user.enable"]


def test_the_last_admin_cannot_be_demoted_or_disabled(con):
    auth.add_user(con, "root", "admin", PASSWORD, actor="system")
    with pytest.raises(auth.UserError, match="last admin"):
        auth.set_role(con, "root", "analyst", actor="root")
    with pytest.raises(auth.UserError, match="last admin"):
        auth.disable_user(con, "root", actor="root")
    auth.add_user(con, "second", "admin", PASSWORD, actor="root")
    assert auth.set_role(con, "root", "analyst", actor="second").role is Role.ANALYST


def test_unknown_user_operations_are_refused(con):
    for operation in (
        lambda: auth.set_role(con, "ghost", "admin", actor="root"),
        lambda: auth.disable_user(con, "ghost", actor="root"),
        lambda: auth.set_password(con, "ghost", PASSWORD, actor="root"),
    ):
        with pytest.raises(auth.UserError, match="no user named 'ghost'"):
            operation()


def test_authenticate_accepts_the_right_password_only(con):
    auth.add_user(con, "bob", "analyst", PASSWORD, actor="root")
    good = auth.authenticate(con, " Bob ", PASSWORD)
    assert good.ok and good.user.username == "bob" and good.user.role is Role.ANALYST
    bad = auth.authenticate(con, "bob", PASSWORD + "x")
    assert not bad.ok and bad.failure is SignInFailure.BAD_CREDENTIALS
    unknown = auth.authenticate(con, "nobody", PASSWORD)
    assert unknown.failure is SignInFailure.BAD_CREDENTIALS
    assert bad.message == unknown.message  # no hint whether the account exists


def test_five_failures_lock_the_account_for_five_minutes(con):
    auth.add_user(con, "bob", "analyst", PASSWORD, actor="root")
    start = now()
    for attempt in range(4):
        outcome = auth.authenticate(con, "bob", "wrong password", at=start)
        assert outcome.failure is SignInFailure.BAD_CREDENTIALS, attempt
    fifth = auth.authenticate(con, "bob", "wrong password", at=start)
    assert fifth.failure is SignInFailure.LOCKED
    assert fifth.locked_until == start + timedelta(minutes=5)
    # Even the right password is refused while locked.
    locked = auth.authenticate(con, "bob", PASSWORD, at=start + timedelta(minutes=4, seconds=59))
    assert locked.failure is SignInFailure.LOCKED
    after = auth.authenticate(con, "bob", PASSWORD, at=start + timedelta(minutes=5, seconds=1))
    assert after.ok
    assert "user.locked" in [e["action"] for e in audit_entries(con)]


def test_a_success_resets_the_failure_count(con):
    auth.add_user(con, "bob", "analyst", PASSWORD, actor="root")
    for _ in range(4):
        auth.authenticate(con, "bob", "wrong password")
    assert auth.authenticate(con, "bob", PASSWORD).ok
    for _ in range(4):
        assert auth.authenticate(con, "bob", "wrong password").failure is not SignInFailure.LOCKED


def test_a_disabled_user_cannot_sign_in(con):
    auth.add_user(con, "root", "admin", PASSWORD, actor="system")
    auth.add_user(con, "bob", "analyst", PASSWORD, actor="root")
    auth.disable_user(con, "bob", actor="root")
    assert auth.authenticate(con, "bob", PASSWORD).failure is SignInFailure.DISABLED


def test_set_password_replaces_the_old_one_and_clears_a_lockout(con):
    auth.add_user(con, "bob", "analyst", PASSWORD, actor="root")
    for _ in range(5):
        auth.authenticate(con, "bob", "wrong password")
    auth.set_password(con, "bob", "a new password!", actor="root")
    assert auth.authenticate(con, "bob", "a new password!").ok
    assert not auth.authenticate(con, "bob", PASSWORD).ok


def test_sso_only_user_cannot_use_a_password(con):
    auth.add_user(con, "carol", "executive", None, actor="root", email="Carol@Example.org")
    assert auth.authenticate(con, "carol", "").failure is SignInFailure.BAD_CREDENTIALS
    assert auth.user_by_email(con, "carol@example.org").username == "carol"
    assert auth.user_by_email(con, "mallory@example.org") is None
    assert auth.user_by_email(con, None) is None


def test_initial_admin_is_created_once_with_a_random_password(con):
    password = auth.ensure_initial_admin(con)
    assert password and len(password) >= 12
    assert auth.authenticate(con, "admin", password).user.role is Role.ADMIN
    assert auth.ensure_initial_admin(con) is None
    assert [u.username for u in auth.list_users(con)] == ["admin"]


def test_the_one_time_admin_password_must_be_changed_at_first_sign_in(con):
    password = auth.ensure_initial_admin(con)
    outcome = auth.authenticate(con, "admin", password)
    assert outcome.ok and outcome.user.must_change_password
    with pytest.raises(auth.UserError, match="other than the one-time password"):
        auth.replace_one_time_password(con, "admin", password)
    changed = auth.replace_one_time_password(con, "admin", "a new password 1")
    assert not changed.must_change_password
    assert not auth.authenticate(con, "admin", "a new password 1").user.must_change_password


def test_only_a_one_time_password_demands_a_change(con):
    assert not auth.add_user(con, "bob", Role.ANALYST, PASSWORD, actor="t").must_change_password
    reset = auth.set_password(con, "bob", "temporary pass 1", actor="t", must_change=True)
    assert reset.must_change_password
    assert auth.get_user(con, "bob").must_change_password


def test_initial_admin_passwords_differ(tmp_path):
    passwords = set()
    for index in range(2):
        with open_db(tmp_path / f"{index}.duckdb") as connection:
            passwords.add(auth.ensure_initial_admin(connection))
    assert len(passwords) == 2


def _with_character_changed(text: str, position: int) -> str:
    """The text with one character replaced by a different URL-safe base64 character."""
    replacement = "B" if text[position] == "A" else "A"
    return text[:position] + replacement + text[position + 1 :]


def test_session_cookie_round_trip_and_tampering(con):
    auth.add_user(con, "bob", "analyst", PASSWORD, actor="root")
    cookie = auth.start_session(con, "bob", KEY)
    assert auth.session_user(con, cookie, KEY).username == "bob"
    token, signature = cookie.split(".")
    assert auth.session_user(con, cookie, b"another key of 32 bytes........") is None
    assert auth.session_user(con, f"{token}x.{signature}", KEY) is None
    for position in (0, len(signature) // 2, len(signature) - 1):
        tampered = _with_character_changed(signature, position)
        assert tampered != signature
        assert auth.session_user(con, f"{token}.{tampered}", KEY) is None
    assert auth.session_user(con, "", KEY) is None
    assert auth.session_user(con, "garbage", KEY) is None
    assert auth.session_user(con, "ü.ü", KEY) is None


def test_sessions_expire_and_end_on_sign_out_disable_and_password_change(con):
    auth.add_user(con, "root", "admin", PASSWORD, actor="system")
    auth.add_user(con, "bob", "analyst", PASSWORD, actor="root")
    start = now()
    cookie = auth.start_session(con, "bob", KEY, at=start)
    assert auth.session_user(con, cookie, KEY, at=start + timedelta(hours=11)) is not None
    assert auth.session_user(con, cookie, KEY, at=start + timedelta(hours=12, seconds=1)) is None

    cookie = auth.start_session(con, "bob", KEY)
    auth.end_session(con, cookie)
    assert auth.session_user(con, cookie, KEY) is None

    cookie = auth.start_session(con, "bob", KEY)
    auth.set_password(con, "bob", "another password", actor="root")
    assert auth.session_user(con, cookie, KEY) is None

    cookie = auth.start_session(con, "bob", KEY)
    auth.disable_user(con, "bob", actor="root")
    assert auth.session_user(con, cookie, KEY) is None


def test_a_short_signing_key_is_refused(con):
    auth.add_user(con, "bob", "analyst", PASSWORD, actor="root")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        auth.start_session(con, "bob", b"short")


# --- the CLI -----------------------------------------------------------------------------------


def run_cli(db_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AIMS_DB"}
    env["AIMS_USER"] = "ops"
    return subprocess.run(
        [sys.executable, "-m", "aims_metrics", "--db", str(db_path), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )


def test_cli_users_round_trip(db_path):
    added = run_cli(db_path, "users", "add", "dana", "--role", "analyst", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added dana (analyst)"
    assert PASSWORD not in added.stdout + added.stderr

    changed = run_cli(db_path, "users", "set-role", "dana", "governance_lead")
    assert (changed.returncode, changed.stdout.strip()) == (0, "dana is now governance_lead")

    listed = run_cli(db_path, "users", "list", "--format", "json")
    assert listed.returncode == 0
    (row,) = json.loads(listed.stdout)["users"]
    assert (row["username"], row["role"], row["state"]) == ("dana", "governance_lead", "active")

    disabled = run_cli(db_path, "users", "disable", "dana")
    assert disabled.returncode == 0
    table = run_cli(db_path, "users", "list").stdout
    assert "dana" in table and "disabled" in table

    with open_db(db_path) as connection:
        assert auth.authenticate(connection, "dana", PASSWORD).failure is SignInFailure.DISABLED
        actions = [(e["username"], e["action"]) for e in reversed(audit_entries(connection))]
    assert actions[:3] == [("ops", "user.add"), ("ops", "user.set_role"), ("ops", "user.disable")]


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (("users", "add", "erin", "--role", "analyst"), "", 2, "no password given"),
        (("users", "add", "erin", "--role", "analyst"), "short\n", 2, "at least 10"),
        (("users", "add", "erin", "--role", "wizard"), PASSWORD, 2, "invalid choice"),
        (("users", "add", "erin", "--role", "analyst", "--no-password"), "", 2, "needs --email"),
        (("users", "set-role", "ghost", "admin"), "", 1, "no user named 'ghost'"),
        (("users", "disable", "ghost"), "", 1, "no user named 'ghost'"),
    ],
)
def test_cli_users_errors(db_path, args, stdin, code, message):
    result = run_cli(db_path, *args, stdin=stdin)
    assert result.returncode == code
    assert message in result.stderr
    with open_db(db_path) as connection:
        assert auth.list_users(connection) == []


@pytest.mark.parametrize(
    ("email", "message"),
    [
        (
            "x@y.com\nmallory  admin",
            "the e-mail address 'x@y.com\\nmallory  admin' contains a control character U+000A",
        ),
        (
            "eve@example.com\x00",
            "the e-mail address 'eve@example.com\\x00' contains a control character U+0000",
        ),
        (
            "eve.example.com",
            "'eve.example.com' is not a valid e-mail address: An email address must have an @-sign.",
        ),
        ("eve@localhost", "'eve@localhost' is not a valid e-mail address"),
        ("eve admin@example.com", "'eve admin@example.com' is not a valid e-mail address"),
    ],
)
def test_invalid_email_addresses_are_refused_and_nothing_is_stored(con, email, message):
    with pytest.raises(auth.UserError) as refused:
        auth.add_user(con, "eve", "analyst", None, actor="root", email=email)
    assert str(refused.value).startswith(message)
    assert auth.list_users(con) == []


def test_email_and_display_name_follow_the_text_rule(con):
    user = auth.add_user(
        con,
        "eve",
        "analyst",
        None,
        actor="root",
        email="\u00a0Eve@Example.COM\t",
        display_name="\tEve Adams\u200b",
    )
    assert (user.email, user.display_name) == ("Eve@example.com", "Eve Adams")
    assert auth.user_by_email(con, "eve@example.com").username == "eve"


@pytest.mark.parametrize("display_name", ["Eve\nadmin", "Eve\x1b[2J", "Eve\u2028admin", "Eve\rX"])
def test_display_names_with_control_characters_are_refused(con, display_name):
    with pytest.raises(auth.UserError, match="contains a control character"):
        auth.add_user(con, "eve", "analyst", PASSWORD, actor="root", display_name=display_name)
    assert auth.list_users(con) == []


def test_cli_refuses_a_forged_email_before_reading_the_password(db_path):
    result = run_cli(
        db_path,
        "users",
        "add",
        "eve",
        "--role",
        "analyst",
        "--email",
        "x@y.com\nmallory  admin",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "python -m aims_metrics: error: the e-mail address 'x@y.com\\nmallory  admin' contains a "
        "control character U+000A (control character)"
    ]
    listing = run_cli(db_path, "users", "list")
    assert "mallory" not in listing.stdout


def test_users_list_shows_a_legacy_control_character_as_an_escape(db_path):
    with open_db(db_path) as connection:
        auth.add_user(connection, "eve", "analyst", PASSWORD, actor="root", email="eve@example.com")
        connection.execute(
            "UPDATE users SET email = ? WHERE username = 'eve'",
            ["eve@example.com\nmallory  admin  active"],
        )
    listing = run_cli(db_path, "users", "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert len(lines) == 2 and "eve@example.com\\nmallory" in lines[1]
