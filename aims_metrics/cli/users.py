"""`users add | list | set-role | disable | enable | set-password`: local accounts and roles.

Passwords are read from standard input (one line), never from the command line, so they do not
end up in shell history or process listings.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from aims_metrics import auth
from aims_metrics.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    UsageError,
    cli_user,
    one_line,
    print_json,
)
from aims_metrics.store import now, open_db

ROLE_CHOICES = [role.value for role in auth.Role]


def register(subparsers: argparse._SubParsersAction) -> None:
    users = subparsers.add_parser("users", help="manage sign-in accounts and roles")
    sub = users.add_subparsers(dest="users_command", required=True, metavar="USERS_COMMAND")

    add = sub.add_parser("add", help="add a user; the password is read from stdin")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLE_CHOICES)
    add.add_argument("--email", help="e-mail address used for single sign-on")
    add.add_argument("--display-name")
    add.add_argument(
        "--no-password",
        action="store_true",
        help="single sign-on only (requires --email); no password is read",
    )
    add.set_defaults(handler=add_command)

    listing = sub.add_parser("list", help="list users with role and state")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(handler=list_command)

    set_role = sub.add_parser("set-role", help="change a user's role")
    set_role.add_argument("name")
    set_role.add_argument("role", choices=ROLE_CHOICES)
    set_role.set_defaults(handler=set_role_command)

    disable = sub.add_parser("disable", help="disable a user and end their sessions")
    disable.add_argument("name")
    disable.set_defaults(handler=disable_command)

    enable = sub.add_parser("enable", help="enable a disabled user and clear a lockout")
    enable.add_argument("name")
    enable.set_defaults(handler=enable_command)

    password = sub.add_parser("set-password", help="set a new password, read from stdin")
    password.add_argument("name")
    password.set_defaults(handler=set_password_command)


def read_password() -> str:
    """One line from stdin; asked for twice without echo when stdin is a terminal."""
    if sys.stdin is None:
        raise UsageError("no password given: pipe it on standard input")
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise UsageError("the two passwords differ")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UsageError("no password given: pipe it on standard input")
    return line


def _run(args: argparse.Namespace, operation, describe) -> int:
    """Run a user operation on a short-lived connection; refused operations exit 1."""
    try:
        with open_db(args.db) as con:
            user = operation(con)
    except auth.UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    print(describe(user))
    return EXIT_OK


def add_command(args: argparse.Namespace) -> int:
    if args.no_password and not args.email:
        raise UsageError("--no-password needs --email for single sign-on")
    try:
        auth.normalise_username(args.name)
        auth.normalise_email(args.email)
        auth.normalise_display_name(args.display_name)
        password = None if args.no_password else read_password()
        if password is not None:
            auth.check_password_policy(password)
    except auth.UserError as error:
        raise UsageError(str(error)) from None
    return _run(
        args,
        lambda con: auth.add_user(
            con,
            args.name,
            args.role,
            password,
            actor=cli_user(),
            email=args.email,
            display_name=args.display_name,
        ),
        lambda user: f"added {user.username} ({user.role})",
    )


def _state(user: auth.User) -> str:
    if user.disabled:
        return "disabled"
    if user.locked_until is not None and user.locked_until > now():
        return f"locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
    return "active"


def list_command(args: argparse.Namespace) -> int:
    with open_db(args.db) as con:
        users = auth.list_users(con)
    if args.format == "json":
        rows = [
            {
                "username": u.username,
                "role": u.role.value,
                "email": u.email,
                "display_name": u.display_name,
                "state": _state(u),
                "created_at": u.created_at.isoformat(),
            }
            for u in users
        ]
        print_json({"users": rows})
        return EXIT_OK
    if not users:
        print("no users yet: add one with `users add NAME --role admin`")
        return EXIT_OK
    header = ("username", "role", "email", "state")
    rows = [(u.username, u.role.value, one_line(u.email or ""), _state(u)) for u in users]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    return EXIT_OK


def set_role_command(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda con: auth.set_role(con, args.name, args.role, actor=cli_user()),
        lambda user: f"{user.username} is now {user.role}",
    )


def disable_command(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda con: auth.disable_user(con, args.name, actor=cli_user()),
        lambda user: f"disabled {user.username}",
    )


def enable_command(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda con: auth.enable_user(con, args.name, actor=cli_user()),
        lambda user: f"enabled {user.username}",
    )


def set_password_command(args: argparse.Namespace) -> int:
    password = read_password()
    try:
        auth.check_password_policy(password)
    except auth.UserError as error:
        raise UsageError(str(error)) from None
    return _run(
        args,
        lambda con: auth.set_password(con, args.name, password, actor=cli_user()),
        lambda user: f"new password set for {user.username}",
    )
