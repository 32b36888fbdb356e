"""Delivery against real local servers (issue 23): an SMTP server (aiosmtpd) and an HTTP server on
127.0.0.1, started by the tests and stopped after each. Digests per recipient, same-day reruns
send nothing, D, D+7, D+14, D+21 give reminders 1-3 and the escalation, SMTP down fails and the
next run sends, HMAC signatures verify, hostile titles are escaped."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from import_helpers import run_main
from notify_helpers import AS_OF, known_db

from aims_metrics.store import open_db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for recipient in envelope.rcpt_tos:
            del message["X-Envelope-To"]
            message["X-Envelope-To"] = recipient
            self.messages.append(message)
        return "250 OK"

    def by_recipient(self) -> dict[str, list[email.message.EmailMessage]]:
        out: dict[str, list] = {}
        for m in self.messages:
            out.setdefault(m["To"], []).append(m)
        return out


def start_smtp(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    controller, inbox = start_smtp(free_port())
    yield controller.port, inbox
    controller.stop()


class Hook:
    """Requests the HTTP server received; `status` is what it answers."""

    def __init__(self) -> None:
        self.requests: list[tuple] = []
        self.status = 200


@pytest.fixture
def webhook() -> Iterator[tuple[str, Hook]]:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.requests.append((self.headers, body))  # case-insensitive lookup
            self.send_response(hook.status)
            if 300 <= hook.status < 400:
                self.send_header("Location", self.path + "/moved")
            self.end_headers()

        def do_GET(self):  # noqa: N802
            hook.requests.append((self.headers, b"GET"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", hook
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return known_db(tmp_path)


def add_email(db: Path, port: int) -> None:
    code, _, err = run_main(
        db,
        "notify",
        "channel",
        "add",
        "email",
        "mail",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--sender",
        "aims@example.org",
    )
    assert code == 0, err


def notify(db: Path, day) -> tuple[int, dict]:
    code, out, err = run_main(db, "notify", "run", "--as-of", day.isoformat(), "--format", "json")
    return code, json.loads(out)


def ids(message) -> list[str]:
    return [f"{i['rule']}:{i['id']}" for i in message["items"]]


def test_one_digest_per_recipient_with_their_items(db: Path, smtp) -> None:
    port, inbox = smtp
    add_email(db, port)
    code, result = notify(db, AS_OF)
    assert code == 0
    got = {m["to"]: sorted(ids(m)) for m in result["messages"]}
    assert got == {
        "lee@example.org": [
            "corrective_action_due_soon:F2",
            "corrective_action_overdue:F1",
            "review_action_overdue:R1",
        ],
        "dana@example.org": ["review_action_due_soon:R2"],
        "kim@example.org": ["audit_overdue:A3", "audit_overdue:A5", "audit_starting_soon:A1"],
        "audit-lead@example.org": ["kpi_turned_red:open_major_nonconformities"],
        "gina@example.org": ["data_stale:systems"],
    }
    assert {m["status"] for m in result["messages"]} == {"sent"}
    assert "Zoe Unknown" in result["unmatched_owners"]  # F7's owner: nobody to e-mail
    received = inbox.by_recipient()
    assert sorted(received) == sorted(got)
    assert all(len(v) == 1 for v in received.values())  # one digest each
    lee = received["lee@example.org"][0]
    plain = lee.get_body(("plain",)).get_content()
    assert "Corrective action overdue (1)" in plain and "F1: Model cards missing" in plain
    assert "due 2026-03-01, 9 days overdue, reminder 1" in plain
    assert "http://localhost:8501/nonconformity-aging" in plain
    assert lee.get_body(("html",)) is not None


def test_rerunning_the_same_day_sends_nothing(db: Path, smtp) -> None:
    port, inbox = smtp
    add_email(db, port)
    assert notify(db, AS_OF)[0] == 0
    sent = len(inbox.messages)
    code, again = notify(db, AS_OF)
    assert (code, again["messages"], len(inbox.messages)) == (0, [], sent)


def test_weekly_runs_give_three_reminders_then_one_escalation(db: Path, smtp) -> None:
    port, inbox = smtp
    add_email(db, port)
    seen = []
    for week in range(6):
        day = AS_OF + timedelta(days=7 * week)
        code, result = notify(db, day)
        assert code == 0
        for message in result["messages"]:
            for item in message["items"]:
                if (item["rule"], item["id"]) == ("corrective_action_overdue", "F1"):
                    seen.append((week, message["to"], item["reminder"], item["escalation"]))
    assert seen == [
        (0, "lee@example.org", 1, False),
        (1, "lee@example.org", 2, False),
        (2, "lee@example.org", 3, False),
        (3, "dana@example.org", None, True),  # Lee Chen's manager
    ]
    # Kim Park has no manager: her overdue audit escalates to the governance lead
    escalated = [m for m in inbox.messages if "escalated" in m["Subject"]]
    assert "gina@example.org" in {m["To"] for m in escalated}


def test_smtp_down_fails_and_the_next_run_sends(db: Path) -> None:
    port = free_port()  # nothing listens here yet
    add_email(db, port)
    code, result = notify(db, AS_OF)
    assert code == 1
    assert {m["status"] for m in result["messages"]} == {"failed"}
    assert all(
        "Connection refused" in m["error"] or "refused" in m["error"].lower()
        for m in result["messages"]
    )
    with open_db(db) as con:
        assert con.execute("SELECT DISTINCT status FROM notify_outbox").fetchall() == [("failed",)]
    controller, inbox = start_smtp(port)
    try:
        code, retry = notify(db, AS_OF)
    finally:
        controller.stop()
    assert code == 0
    assert len(retry["messages"]) == len(result["messages"])
    assert {m["status"] for m in retry["messages"]} == {"sent"}
    assert len(inbox.messages) == len(result["messages"])
    with open_db(db) as con:
        assert con.execute("SELECT DISTINCT status, attempts FROM notify_outbox").fetchall() == [
            ("sent", 2)
        ]
        actions = {a for (a,) in con.execute("SELECT action FROM audit_log").fetchall()}
    assert {"notify.failed", "notify.sent"} <= actions


def test_webhook_posts_once_with_a_verifiable_signature(db: Path, webhook, monkeypatch) -> None:
    url, hook = webhook
    monkeypatch.setenv("AIMS_HOOK_SECRET", "s3cret-key")
    code, _, err = run_main(
        db,
        "notify",
        "channel",
        "add",
        "webhook",
        "hook",
        "--url",
        url,
        "--format",
        "json",
        "--secret-env",
        "AIMS_HOOK_SECRET",
    )
    assert code == 0, err
    code, result = notify(db, AS_OF)
    assert code == 0, result
    assert len(hook.requests) == 1
    headers, body = hook.requests[0]
    expected = "sha256=" + hmac.new(b"s3cret-key", body, hashlib.sha256).hexdigest()
    assert headers["X-AIMS-Signature"] == expected
    document = json.loads(body)
    assert sorted(i["id"] for i in document["items"]) == [  # F7 (owner without e-mail) too
        "A1",
        "A3",
        "A5",
        "F1",
        "F2",
        "F7",
        "R1",
        "R2",
        "open_major_nonconformities",
        "systems",
    ]
    with open_db(db) as con:
        stored = con.execute("SELECT config FROM notify_channels").fetchall()[0][0]
    assert "s3cret-key" not in stored


def test_a_missing_secret_or_an_http_error_fails_and_is_retried(
    db: Path, webhook, monkeypatch
) -> None:
    url, hook = webhook
    monkeypatch.delenv("AIMS_HOOK_SECRET", raising=False)
    run_main(
        db,
        "notify",
        "channel",
        "add",
        "webhook",
        "hook",
        "--url",
        url,
        "--format",
        "slack",
        "--secret-env",
        "AIMS_HOOK_SECRET",
    )
    code, result = notify(db, AS_OF)
    assert code == 1 and "AIMS_HOOK_SECRET" in result["messages"][0]["error"]
    assert hook.requests == []
    monkeypatch.setenv("AIMS_HOOK_SECRET", "k")
    hook.status = 500
    code, result = notify(db, AS_OF)
    assert code == 1 and "HTTP 500" in result["messages"][0]["error"]
    hook.status = 200
    code, result = notify(db, AS_OF)
    assert code == 0 and result["messages"][0]["status"] == "sent"


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_is_a_failed_delivery_not_followed(db: Path, webhook, status: int) -> None:
    url, hook = webhook
    run_main(db, "notify", "channel", "add", "webhook", "hook", "--url", url, "--format", "json")
    hook.status = status
    code, result = notify(db, AS_OF)
    assert code == 1 and f"HTTP {status}" in result["messages"][0]["error"]
    assert [body for _headers, body in hook.requests if body == b"GET"] == []
    assert len(hook.requests) == 1


HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


def test_hostile_titles_are_escaped_in_html_mail_slack_and_teams(
    db: Path, smtp, webhook, monkeypatch
):
    port, inbox = smtp
    url, hook = webhook
    with open_db(db) as con:
        con.execute("UPDATE findings SET description = ? WHERE finding_id = 'F1'", [HOSTILE])
    add_email(db, port)
    for fmt in ("slack", "teams"):
        run_main(db, "notify", "channel", "add", "webhook", fmt, "--url", url, "--format", fmt)
    assert notify(db, AS_OF)[0] == 0
    html_part = inbox.by_recipient()["lee@example.org"][0].get_body(("html",)).get_content()
    assert "<script>" not in html_part and "<b>bold" not in html_part
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
        in html_part
    )
    bodies = [json.loads(body) for _, body in hook.requests]
    assert len(bodies) == 2
    for document in bodies:
        text = json.dumps(document, ensure_ascii=False)
        assert "<script>" not in text and "<b>bold" not in text
        assert "&lt;script&gt;" in text


def test_a_run_racing_another_records_and_sends_nothing(db: Path, monkeypatch) -> None:
    from aims_metrics.notify import run as notify_run

    add_email(db, free_port())
    real_compose = notify_run.compose

    def compose_then_lose_the_race(con, planned, channels):
        composed = real_compose(con, planned, channels)
        first = planned[0]
        con.execute(
            "INSERT INTO notify_reminders VALUES (?, ?, ?, ?, ?, ?, 'other-run')",
            [
                first.item.rule.value,
                first.item.item_id,
                first.item.state_key,
                first.sequence,
                first.escalation,
                AS_OF,
            ],
        )
        return composed

    monkeypatch.setattr(notify_run, "compose", compose_then_lose_the_race)
    code, out, err = run_main(db, "notify", "run", "--as-of", AS_OF.isoformat())
    assert code == 1 and "another run recorded these reminders meanwhile" in err
    assert "Traceback" not in err
    with open_db(db) as con:
        assert con.execute("SELECT count(*) FROM notify_outbox").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM notify_runs").fetchall() == [(0,)]
