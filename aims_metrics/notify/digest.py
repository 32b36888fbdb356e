"""What a message says: the e-mail digest (plain text and HTML) and the webhook payloads.

Every value that comes from the data (titles, ids, owner names) is escaped for the medium: HTML
escaping in the e-mail's HTML part and in Teams cards, Slack's `&`, `<`, `>` escaping in Slack
text, JSON encoding everywhere. Items are the outbox's JSON dicts (see run.item_json).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from email.message import EmailMessage

from aims_metrics.notify.rules import Rule


def rule_title(rule: str) -> str:
    """ "corrective_action_overdue" → "Corrective action overdue"."""
    return rule.replace("_", " ").capitalize()


def _grouped(items: list[dict]) -> list[tuple[str, list[dict]]]:
    order = {rule.value: i for i, rule in enumerate(Rule)}
    rules = sorted({item["rule"] for item in items}, key=lambda r: order.get(r, len(order)))
    return [(rule, [i for i in items if i["rule"] == rule]) for rule in rules]


def item_status(item: dict) -> str:
    """ "due 2026-03-01, 12 days overdue, reminder 2 of 3" or "… escalated"."""
    parts = []
    if item.get("due_on"):
        parts.append(f"due {item['due_on']}")
    if item.get("days_overdue"):
        parts.append(f"{item['days_overdue']} days overdue")
    if item.get("escalation"):
        parts.append("escalated: no response after 3 reminders")
    elif item.get("reminder"):
        parts.append(f"reminder {item['reminder']}")
    return ", ".join(parts)


def subject(items: list[dict], as_of: str) -> str:
    escalations = sum(1 for i in items if i.get("escalation"))
    text = (
        f"AIMS Review: {len(items)} item{'s' if len(items) != 1 else ''} need attention ({as_of})"
    )
    return text + (f", {escalations} escalated" if escalations else "")


def plain_text(items: list[dict], as_of: str) -> str:
    lines = [f"AIMS Review reminders as of {as_of}", ""]
    for rule, group in _grouped(items):
        lines.append(f"{rule_title(rule)} ({len(group)})")
        for item in group:
            lines.append(f"  - {item['id']}: {item['title']} ({item_status(item)})")
            if item.get("link"):
                lines.append(f"    {item['link']}")
        lines.append("")
    return "\n".join(lines)


def html_text(items: list[dict], as_of: str) -> str:
    e = html.escape
    parts = [f"<html><body><h2>AIMS Review reminders as of {e(as_of)}</h2>"]
    for rule, group in _grouped(items):
        parts.append(f"<h3>{e(rule_title(rule))} ({len(group)})</h3><ul>")
        for item in group:
            title = e(str(item["title"]))
            if item.get("link"):
                title = f'<a href="{e(item["link"], quote=True)}">{title}</a>'
            parts.append(f"<li><b>{e(str(item['id']))}</b>: {title} ({e(item_status(item))})</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def email_message(sender: str, recipient: str, items: list[dict], as_of: str) -> EmailMessage:
    """One digest for one recipient: plain text and HTML alternatives."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject(items, as_of)
    message.set_content(plain_text(items, as_of))
    message.add_alternative(html_text(items, as_of), subtype="html")
    return message


def slack_escape(text: str) -> str:
    """Slack's required escaping of message text (&, <, >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _lines(items: Iterable[dict], escape, link) -> list[str]:
    return [
        f"• {escape(str(i['id']))}: {link(i)} ({escape(item_status(i))}) → {escape(str(i.get('to') or ''))}"
        for i in items
    ]


def webhook_body(fmt: str, items: list[dict], as_of: str, run_id: str) -> bytes:
    """The POST body of a webhook in its format (json, slack, teams), as UTF-8 JSON bytes."""
    headline = subject(items, as_of)
    if fmt == "slack":
        link = lambda i: (  # noqa: E731
            f"<{i['link']}|{slack_escape(str(i['title']))}>"
            if i.get("link")
            else slack_escape(str(i["title"]))
        )
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": headline[:150]}}]
        for rule, group in _grouped(items):
            text = f"*{rule_title(rule)}*\n" + "\n".join(_lines(group, slack_escape, link))
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        document: dict = {"text": headline, "blocks": blocks}
    elif fmt == "teams":
        e = html.escape
        link = lambda i: (  # noqa: E731
            f'<a href="{e(i["link"], quote=True)}">{e(str(i["title"]))}</a>'
            if i.get("link")
            else e(str(i["title"]))
        )
        sections = [
            {"activityTitle": e(rule_title(rule)), "text": "<br>".join(_lines(group, e, link))}
            for rule, group in _grouped(items)
        ]
        document = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": headline,
            "title": e(headline),
            "sections": sections,
        }
    else:
        document = {"as_of": as_of, "run_id": run_id, "items": items}
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
