"""Roles, permissions, local accounts, sign-in lockout and signed session tokens (design §7).

One module per job: `permissions` (the matrix: who may do what), `users` (accounts and
passwords), `signin` (password check and lockout) and `sessions` (signed browser sessions).
Everything is re-exported here, so `from aims_metrics.auth import X` is the public way in.
"""

from __future__ import annotations

from aims_metrics.auth.permissions import (
    MINIMUM_ROLE,
    Action,
    PermissionDenied,
    Role,
    allowed_actions,
    can,
    require,
)
from aims_metrics.auth.sessions import SESSION_LIFETIME, end_session, session_user, start_session
from aims_metrics.auth.signin import SIGN_IN_MESSAGES, AuthOutcome, SignInFailure, authenticate
from aims_metrics.auth.users import (
    BCRYPT_ROUNDS,
    LOCKOUT,
    MAX_DISPLAY_NAME,
    MAX_FAILED_ATTEMPTS,
    MAX_PASSWORD_BYTES,
    MIN_PASSWORD_LENGTH,
    USERNAME_PATTERN,
    User,
    UserError,
    add_user,
    check_password_policy,
    disable_user,
    enable_user,
    ensure_initial_admin,
    get_user,
    hash_password,
    list_users,
    normalise_display_name,
    normalise_email,
    normalise_username,
    replace_one_time_password,
    set_password,
    set_role,
    user_by_email,
)

__all__ = [
    "BCRYPT_ROUNDS",
    "LOCKOUT",
    "MAX_DISPLAY_NAME",
    "MAX_FAILED_ATTEMPTS",
    "MAX_PASSWORD_BYTES",
    "MINIMUM_ROLE",
    "MIN_PASSWORD_LENGTH",
    "SESSION_LIFETIME",
    "SIGN_IN_MESSAGES",
    "USERNAME_PATTERN",
    "Action",
    "AuthOutcome",
    "PermissionDenied",
    "Role",
    "SignInFailure",
    "User",
    "UserError",
    "add_user",
    "allowed_actions",
    "authenticate",
    "can",
    "check_password_policy",
    "disable_user",
    "enable_user",
    "end_session",
    "ensure_initial_admin",
    "get_user",
    "hash_password",
    "list_users",
    "normalise_display_name",
    "normalise_email",
    "normalise_username",
    "replace_one_time_password",
    "require",
    "session_user",
    "set_password",
    "set_role",
    "start_session",
    "user_by_email",
]
