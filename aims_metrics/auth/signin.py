"""Sign-in with a local password: five failures in a row lock the account for five minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import duckdb

from aims_metrics.auth.users import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    User,
    UserError,
    _existing_user,
    _password_matches,
    normalise_username,
)
from aims_metrics.store import now, record_audit, transaction


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
