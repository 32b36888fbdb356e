"""Local accounts: names, e-mail, display names, password policy and hashing, roles, enabling and
disabling, and the one-time admin password that must be changed at first sign-in.

Passwords are stored only as bcrypt hashes and never logged."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import bcrypt
import duckdb

from aims_metrics.auth.permissions import Role, _as_role
from aims_metrics.inputs.text import control_character, email_problem, normalise_text
from aims_metrics.store import now, record_audit, transaction

MAX_DISPLAY_NAME = 200
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_BYTES = 72  # bcrypt uses at most 72 bytes; longer passwords are refused, not cut
BCRYPT_ROUNDS = 12
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=5)


class UserError(ValueError):
    """A user operation was refused (unknown user, bad name, weak password, last admin …)."""


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    email: str | None
    display_name: str | None
    disabled: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    has_password: bool
    must_change_password: bool = False

    @property
    def label(self) -> str:
        return self.display_name or self.username


_USER_COLUMNS = (
    "username, role, email, display_name, disabled, failed_attempts, locked_until, created_at, "
    "password_hash IS NOT NULL, coalesce(must_change_password, false)"
)


def _user_from_row(row: tuple) -> User:
    return User(
        username=row[0],
        role=Role(row[1]),
        email=row[2],
        display_name=row[3],
        disabled=bool(row[4]),
        failed_attempts=int(row[5]),
        locked_until=row[6],
        created_at=row[7],
        has_password=bool(row[8]),
        must_change_password=bool(row[9]),
    )


def normalise_username(username: str) -> str:
    """The stored form of a user name (trimmed, lower case); UserError if it is not valid."""
    name = (normalise_text(username) or "").lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise UserError(
            f"{username!r} is not a valid user name: use 2–64 lower-case letters, digits, "
            "'.', '_', '-' or '@', starting with a letter or digit"
        )
    return name


def normalise_email(email: str | None) -> str | None:
    """A validated e-mail address (trimmed, domain in lower case), None if blank; UserError
    naming the problem otherwise (inputs.text.email_problem: syntax only, no DNS)."""
    from email_validator import validate_email

    text = normalise_text(email)
    if text is None:
        return None
    if found := control_character(text):
        raise UserError(f"the e-mail address {text!r} contains a control character {found}")
    if problem := email_problem(text):
        raise UserError(f"{text!r} is not a valid e-mail address: {problem}")
    return validate_email(text, check_deliverability=False).normalized


def normalise_display_name(display_name: str | None) -> str | None:
    """A display name on one line of at most MAX_DISPLAY_NAME characters, None if blank."""
    text = normalise_text(display_name)
    if text is None:
        return None
    if found := control_character(text):
        raise UserError(f"the display name {text!r} contains a control character {found}")
    if len(text) > MAX_DISPLAY_NAME:
        raise UserError(f"the display name must be at most {MAX_DISPLAY_NAME} characters")
    return text


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise UserError(f"the password must be at most {MAX_PASSWORD_BYTES} bytes long")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


@cache
def _dummy_hash() -> bytes:
    # Checked against for unknown users so their sign-in takes as long as a real one.
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(BCRYPT_ROUNDS))


def _password_matches(password: str, password_hash: str | None) -> bool:
    candidate = password.encode("utf-8")
    if password_hash is None or len(candidate) > MAX_PASSWORD_BYTES:
        bcrypt.checkpw(b"x", _dummy_hash())
        return False
    return bcrypt.checkpw(candidate, password_hash.encode("ascii"))


def get_user(con: duckdb.DuckDBPyConnection, username: str) -> User | None:
    rows = con.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", [(username or "").strip().lower()]
    ).fetchall()
    return _user_from_row(rows[0]) if rows else None


def _existing_user(con: duckdb.DuckDBPyConnection, username: str) -> User:
    user = get_user(con, username)
    if user is None:
        raise UserError(f"no user named {username!r}")
    return user


def list_users(con: duckdb.DuckDBPyConnection) -> list[User]:
    rows = con.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username").fetchall()
    return [_user_from_row(row) for row in rows]


def user_by_email(con: duckdb.DuckDBPyConnection, email: str | None) -> User | None:
    """The enabled user with this e-mail (case-insensitive), for single sign-on; else None."""
    if not email:
        return None
    rows = con.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE lower(email) = ? AND NOT disabled",
        [email.strip().lower()],
    ).fetchall()
    return _user_from_row(rows[0]) if len(rows) == 1 else None


def add_user(
    con: duckdb.DuckDBPyConnection,
    username: str,
    role: Role | str,
    password: str | None,
    actor: str,
    email: str | None = None,
    display_name: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Create an account. Without a password the user can only sign in by single sign-on; with
    `must_change_password` the password is one-time (replaced at the first sign-in)."""
    name = normalise_username(username)
    known_role = _as_role(role)
    if known_role is None:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(Role)}")
    email = normalise_email(email)
    display_name = normalise_display_name(display_name)
    if password is None and email is None:
        raise UserError("give a password, or an e-mail address for single sign-on")
    password_hash = hash_password(password) if password is not None else None
    with transaction(con):
        if get_user(con, name) is not None:
            raise UserError(f"a user named {name!r} already exists")
        con.execute(
            "INSERT INTO users (username, role, password_hash, email, display_name, disabled, "
            "failed_attempts, locked_until, created_at, must_change_password) "
            "VALUES (?, ?, ?, ?, ?, false, 0, NULL, ?, ?)",
            [name, known_role.value, password_hash, email, display_name, now()]
            + [must_change_password and password_hash is not None],
        )
        record_audit(con, actor, "user.add", name, {"role": known_role.value, "email": email})
    return _existing_user(con, name)


def _enabled_admins(con: duckdb.DuckDBPyConnection) -> int:
    ((count,),) = con.execute(
        "SELECT count(*) FROM users WHERE role = ? AND NOT disabled", [Role.ADMIN.value]
    ).fetchall()
    return int(count)


def set_role(con: duckdb.DuckDBPyConnection, username: str, role: Role | str, actor: str) -> User:
    known_role = _as_role(role)
    if known_role is None:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(Role)}")
    with transaction(con):
        user = _existing_user(con, username)
        if (
            user.role is Role.ADMIN
            and known_role is not Role.ADMIN
            and not user.disabled
            and _enabled_admins(con) <= 1
        ):
            raise UserError(f"{user.username} is the last admin: make another admin first")
        con.execute("UPDATE users SET role = ? WHERE username = ?", [known_role, user.username])
        record_audit(
            con, actor, "user.set_role", user.username, {"from": user.role, "to": known_role}
        )
    return _existing_user(con, username)


def disable_user(con: duckdb.DuckDBPyConnection, username: str, actor: str) -> User:
    """Disable an account and end its sessions; the last enabled admin cannot be disabled."""
    with transaction(con):
        user = _existing_user(con, username)
        if user.role is Role.ADMIN and not user.disabled and _enabled_admins(con) <= 1:
            raise UserError(f"{user.username} is the last admin: make another admin first")
        con.execute("UPDATE users SET disabled = true WHERE username = ?", [user.username])
        _revoke_sessions(con, user.username)
        record_audit(con, actor, "user.disable", user.username)
    return _existing_user(con, username)


def enable_user(con: duckdb.DuckDBPyConnection, username: str, actor: str) -> User:
    with transaction(con):
        user = _existing_user(con, username)
        con.execute(
            "UPDATE users SET disabled = false, failed_attempts = 0, locked_until = NULL "
            "WHERE username = ?",
            [user.username],
        )
        record_audit(con, actor, "user.enable", user.username)
    return _existing_user(con, username)


def set_password(
    con: duckdb.DuckDBPyConnection,
    username: str,
    password: str,
    actor: str,
    must_change: bool = False,
) -> User:
    """Replace the password, clear any lockout and end the user's sessions.

    With `must_change` the password is one-time: the user must replace it at the next sign-in
    before doing anything else (the app asks first); any other password clears that demand.
    """
    password_hash = hash_password(password)
    with transaction(con):
        user = _existing_user(con, username)
        con.execute(
            "UPDATE users SET password_hash = ?, failed_attempts = 0, locked_until = NULL, "
            "must_change_password = ? WHERE username = ?",
            [password_hash, must_change, user.username],
        )
        _revoke_sessions(con, user.username)
        record_audit(con, actor, "user.set_password", user.username)
    return _existing_user(con, username)


def replace_one_time_password(con: duckdb.DuckDBPyConnection, username: str, password: str) -> User:
    """The user's own new password in place of a one-time one; UserError if it is the same."""
    rows = con.execute(
        "SELECT password_hash FROM users WHERE username = ?",
        [_existing_user(con, username).username],
    ).fetchall()
    if _password_matches(password, rows[0][0]):
        raise UserError("choose a password other than the one-time password")
    return set_password(con, username, password, actor=username)


def ensure_initial_admin(con: duckdb.DuckDBPyConnection) -> str | None:
    """On a database without users, create `admin` with a random one-time password; return it.

    The caller shows the password once (the app prints it on its terminal); it is stored only as
    a hash, and flagged so that the first sign-in must replace it. Returns None when any user
    exists.
    """
    ((count,),) = con.execute("SELECT count(*) FROM users").fetchall()
    if count:
        return None
    password = secrets.token_urlsafe(12)
    try:
        add_user(
            con,
            "admin",
            Role.ADMIN,
            password,
            actor="system",
            display_name="Administrator",
            must_change_password=True,
        )
    except UserError:
        return None  # another process created it first
    return password


def _revoke_sessions(con: duckdb.DuckDBPyConnection, username: str) -> None:
    con.execute(
        "UPDATE user_sessions SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
        [now(), username],
    )
