"""The one scheduler run: find due items, decide reminders and escalations, write the outbox,
send, record (issue 23). `notify run` (cron or a systemd timer) and the page's "send now" and
preview call `run_notifications`.

One e-mail digest per recipient per run and e-mail channel; one POST per webhook channel per run
with every item. The messages and the reminder log are written in one transaction before anything
is sent, so a crash between writing and sending leaves `pending` messages that the next run sends,
and no item is ever reminded twice under the same reminder number.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from aims_metrics.notify.channels import Channel, EmailConfig, WebhookConfig, list_channels
from aims_metrics.notify.delivery import DeliveryError, post_webhook, send_email
from aims_metrics.notify.outbox import OutboxMessage, record_outcome, unsent_messages, write_message
from aims_metrics.notify.people import (
    directory,
    find_person,
    governance_lead_emails,
    manager_of,
    unmatched_owners,
)
from aims_metrics.notify.reminders import PlannedItem, plan_reminders
from aims_metrics.notify.rules import RULES, due_items
from aims_metrics.store import fetch_one, get_setting, now, transaction

PREVIEW_CHANNEL = Channel(
    "(e-mail preview)",
    "email",
    EmailConfig.model_construct(smtp_host="", smtp_port=25, sender="preview@localhost"),
    False,
)


class NotifyError(RuntimeError):
    """The run cannot start (e.g. no enabled channel while items are due)."""


@dataclass(frozen=True)
class MessageResult:
    channel: str
    to: str
    status: str  # sent | failed | dry_run
    error: str | None
    items: list[dict]

    def to_json(self) -> dict[str, Any]:
        keys = ("rule", "kind", "id", "title", "due_on", "days_overdue", "reminder", "escalation")
        return {
            "channel": self.channel,
            "to": self.to,
            "status": self.status,
            "error": self.error,
            "items": [{k: item.get(k) for k in keys} for item in self.items],
        }


@dataclass
class RunResult:
    as_of: date
    run_id: str | None
    messages: list[MessageResult] = field(default_factory=list)
    unmatched_owners: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(m.status in ("sent", "dry_run") for m in self.messages)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "run_id": self.run_id,
            "messages": [m.to_json() for m in self.messages],
            "unmatched_owners": self.unmatched_owners,
        }


def _recipients(planned: PlannedItem, people, leads: list[str]) -> list[tuple[str, str]]:
    """(e-mail, name) the item goes to: the owner, or for an escalation the owner's manager; the
    governance leads when the rule has no owner or the owner has no manager."""
    item = planned.item
    if item.owner is None:
        return [(email, "governance lead") for email in leads]
    if planned.escalation:
        manager = manager_of(people, item.owner)
        if manager:
            return [(manager.email, manager.person)]
        return [(email, "governance lead") for email in leads]
    person = find_person(people, item.owner)
    return [(person.email, person.person)] if person else []


def item_json(planned: PlannedItem, base_url: str, to: str) -> dict[str, Any]:
    """An item as the outbox, the digest and `notify run --format json` carry it."""
    item = planned.item
    return {
        "rule": item.rule.value,
        "kind": item.kind,
        "id": item.item_id,
        "title": item.title,
        "due_on": item.due_on.isoformat() if item.due_on else None,
        "days_overdue": item.days_overdue,
        "reminder": planned.reminder,
        "escalation": planned.escalation,
        "state_key": item.state_key,
        "link": f"{base_url.rstrip('/')}/{RULES[item.rule].page}" if base_url else None,
        "to": to,
    }


def compose(
    con: duckdb.DuckDBPyConnection, planned: list[PlannedItem], channels: list[Channel]
) -> tuple[list[tuple[str, str, list[dict]]], set[int]]:
    """(channel, recipient, items) for each message, and which planned items (by index) are in
    at least one message."""
    people, leads = directory(con), governance_lead_emails(con)
    base_url = get_setting(con, "app_base_url").strip()
    by_recipient: dict[str, list[tuple[int, dict]]] = {}
    every: list[tuple[int, dict]] = []
    for index, entry in enumerate(planned):
        recipients = _recipients(entry, people, leads)
        for email, name in recipients:
            by_recipient.setdefault(email, []).append((index, item_json(entry, base_url, name)))
        to = ", ".join(name for _, name in recipients) or (entry.item.owner or "governance leads")
        every.append((index, item_json(entry, base_url, to)))
    messages, covered = [], set()
    for channel in channels:
        if channel.kind == "email":
            for email in sorted(by_recipient):
                messages.append((channel.name, email, [item for _, item in by_recipient[email]]))
                covered |= {index for index, _ in by_recipient[email]}
        elif every:
            messages.append((channel.name, channel.name, [item for _, item in every]))
            covered |= {index for index, _ in every}
    return messages, covered


def deliver(channel: Channel | None, message: OutboxMessage, as_of: str) -> str | None:
    """Send one outbox message; the error text, or None when it was delivered."""
    if channel is None:
        return f"the channel {message.channel!r} no longer exists"
    if not channel.enabled:
        return f"the channel {message.channel!r} is switched off"
    try:
        if isinstance(channel.config, WebhookConfig):
            post_webhook(channel.config, message.items, as_of, message.run_id)
        else:
            send_email(channel.config, message.recipient, message.items, as_of)
    except DeliveryError as error:
        return str(error)
    return None


def _planned(con: duckdb.DuckDBPyConnection, as_of: date) -> list[PlannedItem]:
    every_days = int(get_setting(con, "remind_every_days"))
    return plan_reminders(con, due_items(con, as_of), as_of, every_days)


def preview_notifications(con: duckdb.DuckDBPyConnection, as_of: date) -> RunResult:
    """What a run as of `as_of` would send, per channel and recipient; writes nothing. Switched-off
    channels are shown too, and without an e-mail channel the digests are previewed per
    recipient all the same."""
    result = RunResult(as_of, None, unmatched_owners=unmatched_owners(con))
    channels = list_channels(con)
    if not any(c.kind == "email" for c in channels):
        channels = [PREVIEW_CHANNEL, *channels]
    messages, _ = compose(con, _planned(con, as_of), channels)
    result.messages = [MessageResult(c, to, "dry_run", None, items) for c, to, items in messages]
    return result


def send_test_message(
    con: duckdb.DuckDBPyConnection, name: str, username: str, recipient: str | None = None
) -> str | None:
    """Send one test item through a channel now (e-mail: to `recipient`, else the sender); the
    error text, or None when it was delivered. Audit-logged; the outbox is not involved."""
    from aims_metrics.notify.channels import get_channel
    from aims_metrics.notify.outbox import OutboxMessage
    from aims_metrics.store import record_audit

    channel = get_channel(con, name)
    if channel is None:
        return f"no channel named {name!r}"
    to = recipient or (channel.config.sender if isinstance(channel.config, EmailConfig) else name)
    item = {
        "rule": "test",
        "kind": "test",
        "id": "TEST",
        "title": "AIMS Review test message",
        "due_on": None,
        "days_overdue": 0,
        "reminder": None,
        "escalation": False,
        "link": get_setting(con, "app_base_url").strip() or None,
        "to": to,
    }
    message = OutboxMessage(0, "test", name, to, [item], "pending", None, 0, now(), None)
    error = deliver(
        channel if channel.enabled else Channel(name, channel.kind, channel.config, True),
        message,
        date.today().isoformat(),
    )
    with transaction(con):
        record_audit(con, username, "notify.test", f"{name}:{to}", {"error": error})
    return error


def _record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    as_of: date,
    username: str,
    messages: list[tuple[str, str, list[dict]]],
    planned: list[PlannedItem],
) -> None:
    """The run, its outbox messages and the reminder log, in one transaction."""
    with transaction(con):
        con.execute("INSERT INTO notify_runs VALUES (?, ?, ?, ?)", [run_id, as_of, now(), username])
        for channel, recipient, items in messages:
            write_message(con, run_id, channel, recipient, items)
        for entry in planned:
            con.execute(
                "INSERT INTO notify_reminders VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    entry.item.rule.value,
                    entry.item.item_id,
                    entry.item.state_key,
                    entry.sequence,
                    entry.escalation,
                    as_of,
                    run_id,
                ],
            )


def run_notifications(
    con: duckdb.DuckDBPyConnection, as_of: date, username: str, dry_run: bool = False
) -> RunResult:
    """Remind, escalate and deliver as of `as_of`; with `dry_run` only say what would be sent."""
    if dry_run:
        return preview_notifications(con, as_of)
    planned = _planned(con, as_of)
    result = RunResult(as_of, None, unmatched_owners=unmatched_owners(con))
    channels = [c for c in list_channels(con) if c.enabled]
    if planned and not channels:
        raise NotifyError(
            "no notification channel is switched on: add one with "
            "`notify channel add` (nothing was sent or recorded)"
        )
    result.run_id = f"{as_of.isoformat()}-{secrets.token_hex(4)}"
    messages, covered = compose(con, planned, channels)
    try:
        _record_run(
            con, result.run_id, as_of, username, messages, [planned[i] for i in sorted(covered)]
        )
    except duckdb.ConstraintException:  # another run (e.g. a second "send now") got there first
        raise NotifyError(
            "another run recorded these reminders meanwhile; this run sent nothing (see the log)"
        ) from None
    by_name = {c.name: c for c in list_channels(con)}
    for message in unsent_messages(con):
        run_day = fetch_one(con, "SELECT as_of FROM notify_runs WHERE run_id = ?", [message.run_id])
        error = deliver(
            by_name.get(message.channel), message, (run_day[0] if run_day else as_of).isoformat()
        )
        record_outcome(con, message, error, username)
        result.messages.append(
            MessageResult(
                message.channel,
                message.recipient,
                "failed" if error else "sent",
                error,
                message.items,
            )
        )
    return result
