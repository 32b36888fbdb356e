"""CLI: notify channel add|list|remove, notify run, notify log (issue 23)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from aims_metrics.cli.common import EXIT_INVALID, EXIT_OK, UsageError, cli_user, text_table
from aims_metrics.vocabulary.wording import count_of

FORMATS = ("table", "json")


def register(subparsers: argparse._SubParsersAction) -> None:
    notify = subparsers.add_parser("notify", help="reminders and escalation: channels, run, log")
    actions = notify.add_subparsers(dest="notify_command", required=True, metavar="ACTION")

    channel = actions.add_parser("channel", help="notification channels: add, list, remove")
    channel_actions = channel.add_subparsers(
        dest="channel_command", required=True, metavar="ACTION"
    )
    add = channel_actions.add_parser("add", help="add an e-mail or webhook channel")
    kinds = add.add_subparsers(dest="kind", required=True, metavar="KIND")
    email = kinds.add_parser("email", help="digests over SMTP")
    email.add_argument("name")
    email.add_argument("--smtp-host", dest="smtp_host", required=True)
    email.add_argument("--smtp-port", dest="smtp_port", type=int, required=True)
    security = email.add_mutually_exclusive_group()
    security.add_argument("--ssl", action="store_const", dest="security", const="ssl")
    security.add_argument("--starttls", action="store_const", dest="security", const="starttls")
    email.add_argument("--username")
    email.add_argument(
        "--password-env",
        dest="password_env",
        metavar="VAR",
        help="environment variable holding the SMTP password (never stored)",
    )
    email.add_argument("--sender", required=True, metavar="ADDR")
    email.set_defaults(handler=run_channel_add, security="none")
    hook = kinds.add_parser("webhook", help="one POST per run: generic JSON, Slack or Teams")
    hook.add_argument("name")
    hook.add_argument("--url", required=True)
    hook.add_argument(
        "--format", dest="hook_format", choices=("json", "slack", "teams"), required=True
    )
    hook.add_argument(
        "--secret-env",
        dest="secret_env",
        metavar="VAR",
        help="environment variable holding the HMAC secret (never stored)",
    )
    hook.set_defaults(handler=run_channel_add)
    channel_actions.add_parser("list", help="the channels").set_defaults(handler=run_channel_list)
    remove = channel_actions.add_parser("remove", help="remove a channel")
    remove.add_argument("name")
    remove.set_defaults(handler=run_channel_remove)

    run = actions.add_parser("run", help="remind, escalate and deliver (schedule it daily)")
    run.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (default: today); replays a day")
    run.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; write nothing"
    )
    run.add_argument("--format", choices=FORMATS, default="table")
    run.set_defaults(handler=run_notify)

    log = actions.add_parser("log", help="the messages sent, newest first")
    log.add_argument("--limit", type=int, default=50)
    log.add_argument("--format", choices=FORMATS, default="table")
    log.set_defaults(handler=run_log)


def run_channel_add(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.notify.channels import ChannelError, add_channel

    if args.kind == "email":
        values = {
            "smtp_host": args.smtp_host,
            "smtp_port": args.smtp_port,
            "security": args.security,
            "username": args.username,
            "password_env": args.password_env,
            "sender": args.sender,
        }
    else:
        values = {"url": args.url, "format": args.hook_format, "secret_env": args.secret_env}
    with store.open_db(args.db) as con:
        try:
            channel = add_channel(con, args.name, args.kind, values, cli_user())
        except ChannelError as error:
            raise UsageError(str(error)) from None
    print(f"added channel {channel.name}: {channel.describe()}")
    return EXIT_OK


def run_channel_list(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.notify.channels import list_channels

    with store.open_db(args.db) as con:
        channels = list_channels(con)
    if not channels:
        print("no channels yet: add one with `notify channel add email|webhook NAME ...`")
        return EXIT_OK
    rows = [[c.name, c.kind, "on" if c.enabled else "off", c.describe()] for c in channels]
    print(text_table(["name", "kind", "state", "delivers to"], rows))
    return EXIT_OK


def run_channel_remove(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.notify.channels import ChannelError, remove_channel

    with store.open_db(args.db) as con:
        try:
            remove_channel(con, args.name, cli_user())
        except ChannelError as error:
            raise UsageError(str(error)) from None
    print(f"removed channel {args.name}")
    return EXIT_OK


def _as_of(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not a date: write YYYY-MM-DD") from None


def run_notify(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.notify.people import describe_unmatched
    from aims_metrics.notify.run import NotifyError, run_notifications

    as_of = _as_of(args.as_of)
    with store.open_db(args.db) as con:
        try:
            result = run_notifications(con, as_of, cli_user(), dry_run=args.dry_run)
        except NotifyError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_INVALID
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        rows = [
            [m.channel, m.to, m.status, str(len(m.items)), m.error or ""] for m in result.messages
        ]
        print(
            f"notify run {result.run_id or '(dry run)'} as of {as_of.isoformat()}: "
            f"{count_of(len(result.messages), 'message')}"
        )
        if rows:
            print(text_table(["channel", "to", "status", "items", "error"], rows, right={3}))
        if result.unmatched_owners:
            print(describe_unmatched(result.unmatched_owners))
    for message in result.messages:
        if message.status == "failed":
            print(f"error: {message.channel} to {message.to}: {message.error}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_INVALID


def run_log(args: argparse.Namespace) -> int:
    from aims_metrics import store
    from aims_metrics.notify.outbox import outbox_log

    if args.limit < 1:
        raise UsageError("--limit must be 1 or more")
    with store.open_db(args.db) as con:
        messages = outbox_log(con, args.limit)
    if args.format == "json":
        document = [
            {
                "message_id": m.message_id,
                "run_id": m.run_id,
                "channel": m.channel,
                "to": m.recipient,
                "status": m.status,
                "error": m.error,
                "attempts": m.attempts,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "items": [f"{i['rule']}:{i['id']}" for i in m.items],
            }
            for m in messages
        ]
        print(json.dumps(document, indent=2))
        return EXIT_OK
    if not messages:
        print("no messages yet: run `notify run`")
        return EXIT_OK
    rows = [
        [str(m.created_at), m.channel, m.recipient, m.status, str(len(m.items)), m.error or ""]
        for m in messages
    ]
    print(text_table(["when", "channel", "to", "status", "items", "error"], rows, right={4}))
    return EXIT_OK
