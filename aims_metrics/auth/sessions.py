"""Browser sessions: a random token kept server-side (only its SHA-256) and carried in a cookie
signed with the deployment's key, so signing out or disabling a user ends it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import duckdb

from aims_metrics.auth.users import User, _existing_user, get_user
from aims_metrics.store import now

SESSION_LIFETIME = timedelta(hours=12)

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
