"""Roles, permissions, local accounts, sign-in lockout and signed session tokens (design §7).

The permission matrix is data: each Action names the least role that may perform it, and roles
are ordered, each including the one before. The app, the CLI and the library ask `can(role,
action)`; nothing else decides who may do what.

Passwords are stored only as bcrypt hashes and never logged. Five failed sign-ins lock an account
for five minutes. A browser session is a random token kept server-side (only its SHA-256) and
carried in a cookie signed with the deployment's key, so signing out or disabling a user ends it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

import bcrypt
import duckdb

from aims_metrics.store import now, record_audit, transaction
from aims_metrics.tables.text import control_character, email_problem, normalise_text


class Role(StrEnum):
    """Roles in increasing order of power; each includes everything the one before may do."""

    EXECUTIVE = "executive"
    GOVERNANCE_LEAD = "governance_lead"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    @property
    def title(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Action(StrEnum):
    VIEW_DASHBOARDS = "view_dashboards"
    DOWNLOAD_MINUTES = "download_minutes"
    IMPORT_DATA = "import_data"
    EDIT_OBJECTIVES = "edit_objectives"
    EDIT_REVIEWS = "edit_reviews"
    FINALISE_MINUTES = "finalise_minutes"
    EDIT_METRICS = "edit_metrics"
    MANAGE_USERS = "manage_users"
    EDIT_SETTINGS = "edit_settings"
    VIEW_AUDIT_LOG = "view_audit_log"
    EDIT_SOA = "edit_soa"
    EDIT_GAPS = "edit_gaps"
    EVALUATE_FAIRNESS = "evaluate_fairness"
    EDIT_FAIRNESS_POLICY = "edit_fairness_policy"
    VIEW_NOTIFICATIONS = "view_notifications"
    MANAGE_NOTIFICATIONS = "manage_notifications"


# The permission matrix: the least role allowed to perform each action.
MINIMUM_ROLE: dict[Action, Role] = {
    Action.VIEW_DASHBOARDS: Role.EXECUTIVE,
    Action.DOWNLOAD_MINUTES: Role.EXECUTIVE,
    Action.IMPORT_DATA: Role.GOVERNANCE_LEAD,
    Action.EDIT_OBJECTIVES: Role.GOVERNANCE_LEAD,
    Action.EDIT_REVIEWS: Role.GOVERNANCE_LEAD,
    Action.FINALISE_MINUTES: Role.GOVERNANCE_LEAD,
    Action.EDIT_METRICS: Role.ANALYST,
    Action.MANAGE_USERS: Role.ADMIN,
    Action.EDIT_SETTINGS: Role.ADMIN,
    Action.VIEW_AUDIT_LOG: Role.ADMIN,
    Action.EDIT_SOA: Role.GOVERNANCE_LEAD,
    Action.EDIT_GAPS: Role.GOVERNANCE_LEAD,
    Action.EVALUATE_FAIRNESS: Role.GOVERNANCE_LEAD,
    Action.EDIT_FAIRNESS_POLICY: Role.ANALYST,
    Action.VIEW_NOTIFICATIONS: Role.GOVERNANCE_LEAD,
    Action.MANAGE_NOTIFICATIONS: Role.ADMIN,
}


class PermissionDenied(PermissionError):
    """The role may not perform the action."""


def _as_role(role: Role | str | None) -> Role | None:
    try:
        return Role(role) if role is not None else None
    except ValueError:
        return None


def can(role: Role | str | None, action: Action | str) -> bool:
    """True when `role` may perform `action`; unknown roles and actions may do nothing."""
    known_role = _as_role(role)
    try:
        needed = MINIMUM_ROLE[Action(action)]
    except ValueError:
        return False
    return known_role is not None and known_role.rank >= needed.rank


def require(role: Role | str | None, action: Action | str) -> None:
    """Raise PermissionDenied unless `role` may perform `action` (for library write paths)."""
    if not can(role, action):
        raise PermissionDenied(f"the role {role or 'signed out'!s} may not {Action(action).value}")


def allowed_actions(role: Role | str | None) -> list[Action]:
    return [action for action in Action if can(role, action)]


# --- users -------------------------------------------------------------------------------------

MAX_DISPLAY_NAME = 200
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_BYTES = 72  # bcrypt uses at most 72 bytes; longer passwords are refused, not cut
BCRYPT_ROUNDS = 12
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=5)
SESSION_LIFETIME = timedelta(hours=12)


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

    @property
    def label(self) -> str:
        return self.display_name or self.username


_USER_COLUMNS = (
    "username, role, email, display_name, disabled, failed_attempts, locked_until, created_at, "
    "password_hash IS NOT NULL"
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
    naming the problem otherwise (tables.text.email_problem: syntax only, no DNS)."""
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
) -> User:
    """Create an account. Without a password the user can only sign in by single sign-on."""
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
            "failed_attempts, locked_until, created_at) VALUES (?, ?, ?, ?, ?, false, 0, NULL, ?)",
            [name, known_role.value, password_hash, email, display_name, now()],
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


def set_password(con: duckdb.DuckDBPyConnection, username: str, password: str, actor: str) -> User:
    """Replace the password, clear any lockout and end the user's sessions."""
    password_hash = hash_password(password)
    with transaction(con):
        user = _existing_user(con, username)
        con.execute(
            "UPDATE users SET password_hash = ?, failed_attempts = 0, locked_until = NULL "
            "WHERE username = ?",
            [password_hash, user.username],
        )
        _revoke_sessions(con, user.username)
        record_audit(con, actor, "user.set_password", user.username)
    return _existing_user(con, username)


def ensure_initial_admin(con: duckdb.DuckDBPyConnection) -> str | None:
    """On a database without users, create `admin` with a random one-time password; return it.

    The caller shows the password once (the app prints it on its terminal); it is stored only as
    a hash. Returns None when any user exists.
    """
    ((count,),) = con.execute("SELECT count(*) FROM users").fetchall()
    if count:
        return None
    password = secrets.token_urlsafe(12)
    try:
        add_user(con, "admin", Role.ADMIN, password, actor="system", display_name="Administrator")
    except UserError:
        return None  # another process created it first
    return password


# --- sign-in -----------------------------------------------------------------------------------


class SignInFailure(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    DISABLED = "disabled"


SIGN_IN_MESSAGES = {
    SignInFailure.BAD_CREDENTIALS: "Unknown user name or wrong password.",
    SignInFailure.LOCKED: "This account is locked after too many failed sign-ins. "
    "Try again in a few minutes or ask an administrator.",
    SignInFailure.DISABLED: "This account is disabled. Ask an administrator.",
}


@dataclass(frozen=True)
class AuthOutcome:
    user: User | None
    failure: SignInFailure | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None and self.failure is None

    @property
    def message(self) -> str:
        return "Signed in." if self.failure is None else SIGN_IN_MESSAGES[self.failure]


def authenticate(
    con: duckdb.DuckDBPyConnection, username: str, password: str, at: datetime | None = None
) -> AuthOutcome:
    """Check a local password. Five failures in a row lock the account for five minutes."""
    at = at or now()
    try:
        name = normalise_username(username)
    except UserError:
        _password_matches(password, None)
        return AuthOutcome(None, SignInFailure.BAD_CREDENTIALS)
    with transaction(con):
        rows = con.execute(
            "SELECT password_hash, disabled, failed_attempts, locked_until FROM users "
            "WHERE username = ?",
            [name],
        ).fetchall()
        if not rows:
            _password_matches(password, None)
            return AuthOutcome(None, SignInFailure.BAD_CREDENTIALS)
        password_hash, disabled, failed_attempts, locked_until = rows[0]
        if locked_until is not None and locked_until > at:
            return AuthOutcome(None, SignInFailure.LOCKED, locked_until)
        if not _password_matches(password, password_hash):
            failed_attempts = int(failed_attempts) + 1
            if failed_attempts >= MAX_FAILED_ATTEMPTS:
                locked_until = at + LOCKOUT
                con.execute(
                    "UPDATE users SET failed_attempts = 0, locked_until = ? WHERE username = ?",
                    [locked_until, name],
                )
                record_audit(con, name, "user.locked", name, {"until": locked_until.isoformat()})
                return AuthOutcome(None, SignInFailure.LOCKED, locked_until)
            con.execute(
                "UPDATE users SET failed_attempts = ? WHERE username = ?", [failed_attempts, name]
            )
            return AuthOutcome(None, SignInFailure.BAD_CREDENTIALS)
        if disabled:
            return AuthOutcome(None, SignInFailure.DISABLED)
        con.execute(
            "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE username = ?", [name]
        )
    return AuthOutcome(_existing_user(con, name))


# --- browser sessions ------------------------------------------------------------------------

# user_sessions: declared (migration 4) in aims_metrics.auth.schema


def _sign(token: str, key: bytes) -> str:
    digest = hmac.new(key, token.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def start_session(
    con: duckdb.DuckDBPyConnection,
    username: str,
    key: bytes,
    at: datetime | None = None,
    lifetime: timedelta = SESSION_LIFETIME,
) -> str:
    """A new session for `username`: returns the signed cookie value `token.signature`."""
    if len(key) < 16:
        raise ValueError("the session signing key must have at least 16 bytes")
    at = at or now()
    user = _existing_user(con, username)
    token = secrets.token_urlsafe(32)
    con.execute(
        "INSERT INTO user_sessions VALUES (?, ?, ?, ?, NULL)",
        [_token_sha256(token), user.username, at, at + lifetime],
    )
    return f"{token}.{_sign(token, key)}"


def session_user(
    con: duckdb.DuckDBPyConnection, cookie_value: str | None, key: bytes, at: datetime | None = None
) -> User | None:
    """The enabled user of a valid, unexpired, unrevoked signed session cookie; else None."""
    if not cookie_value or cookie_value.count(".") != 1:
        return None
    token, signature = cookie_value.split(".")
    try:
        expected = _sign(token, key)
    except UnicodeEncodeError:
        return None
    if not hmac.compare_digest(expected, signature):
        return None
    rows = con.execute(
        "SELECT username FROM user_sessions WHERE token_sha256 = ? AND revoked_at IS NULL "
        "AND expires_at > ?",
        [_token_sha256(token), at or now()],
    ).fetchall()
    if not rows:
        return None
    user = get_user(con, rows[0][0])
    return user if user is not None and not user.disabled else None


def end_session(con: duckdb.DuckDBPyConnection, cookie_value: str | None) -> None:
    """Revoke the session behind a cookie (sign-out)."""
    if cookie_value and "." in cookie_value:
        token = cookie_value.split(".", 1)[0]
        try:
            con.execute(
                "UPDATE user_sessions SET revoked_at = ? WHERE token_sha256 = ?",
                [now(), _token_sha256(token)],
            )
        except UnicodeEncodeError:
            return


def _revoke_sessions(con: duckdb.DuckDBPyConnection, username: str) -> None:
    con.execute(
        "UPDATE user_sessions SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
        [now(), username],
    )
