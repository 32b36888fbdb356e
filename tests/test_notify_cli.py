"""The notify commands' contract (issue 23): channel add|list|remove, run, log; usage errors exit
2 with one line naming what is wrong and change nothing; a dry run writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from import_helpers import dump_db, run_cli, run_main
from notify_helpers import AS_OF, known_db


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return known_db(tmp_path)


EMAIL = [
    "notify",
    "channel",
    "add",
    "email",
    "mail",
    "--smtp-host",
    "smtp.example.org",
    "--smtp-port",
    "587",
]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            [*EMAIL, "--sender", "not an address"],
            "sender: Value error, 'not an address' is not an e-mail address",
        ),
        (
            [
                "notify",
                "channel",
                "add",
                "email",
                "m",
                "--smtp-host",
                "h",
                "--smtp-port",
                "0",
                "--sender",
                "a@b.org",
            ],
            "smtp_port: Input should be greater than or equal to 1",
        ),
        (
            [*EMAIL, "--sender", "a@b.org", "--username", "u"],
            "username and password_env go together",
        ),
        (
            [*EMAIL, "--sender", "a@b.org", "--username", "u", "--password-env", "MY-PASS"],
            "password_env: String should match pattern",
        ),
        (
            [
                "notify",
                "channel",
                "add",
                "webhook",
                "w",
                "--url",
                "file:///etc/passwd",
                "--format",
                "json",
            ],
            "url: Value error, must be an http:// or https:// URL with a host",
        ),
        (
            [
                "notify",
                "channel",
                "add",
                "webhook",
                "bad name",
                "--url",
                "https://x.org",
                "--format",
                "json",
            ],
            "channel name 'bad name'",
        ),
        (["notify", "channel", "remove", "nope"], "no channel named 'nope'"),
        (["notify", "run", "--as-of", "2026-13-01"], "--as-of '2026-13-01' is not a date"),
        (["notify", "log", "--limit", "0"], "--limit must be 1 or more"),
    ],
)
def test_usage_errors_exit_2_with_one_line_and_change_nothing(db, args, fragment) -> None:
    before = dump_db(db)
    code, out, err = run_main(db, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and fragment in err, err
    assert dump_db(db) == before


def test_a_channel_name_is_taken_once(db: Path) -> None:
    assert run_main(db, *EMAIL, "--sender", "a@b.org")[0] == 0
    code, _, err = run_main(db, *EMAIL, "--sender", "a@b.org")
    assert code == 2 and "a channel named 'mail' exists already" in err


def test_channels_are_listed_without_secrets_and_removed(db: Path) -> None:
    assert (
        run_main(
            db,
            *EMAIL,
            "--starttls",
            "--username",
            "u",
            "--password-env",
            "SMTP_PASS",
            "--sender",
            "aims@example.org",
        )[0]
        == 0
    )
    assert (
        run_main(
            db,
            "notify",
            "channel",
            "add",
            "webhook",
            "chat",
            "--url",
            "https://hooks.example.org/T/B/XYZ",
            "--format",
            "slack",
        )[0]
        == 0
    )
    code, out, _ = run_main(db, "notify", "channel", "list")
    assert code == 0
    assert "smtp smtp.example.org:587 (starttls) from aims@example.org" in out
    assert "slack webhook https://hooks.example.org" in out and "XYZ" not in out
    assert run_main(db, "notify", "channel", "remove", "chat")[0] == 0
    assert "chat" not in run_main(db, "notify", "channel", "list")[1]


def test_a_dry_run_shows_the_messages_and_writes_nothing(db: Path) -> None:
    run_main(db, *EMAIL, "--sender", "aims@example.org")
    before = dump_db(db)
    code, out, err = run_main(
        db, "notify", "run", "--as-of", AS_OF.isoformat(), "--dry-run", "--format", "json"
    )
    assert code == 0, err
    document = json.loads(out)
    assert set(document) == {"as_of", "run_id", "messages", "unmatched_owners"}
    assert document["as_of"] == "2026-03-10" and document["run_id"] is None
    assert {m["status"] for m in document["messages"]} == {"dry_run"}
    assert set(document["messages"][0]) == {"channel", "to", "status", "error", "items"}
    assert set(document["messages"][0]["items"][0]) == {
        "rule",
        "kind",
        "id",
        "title",
        "due_on",
        "days_overdue",
        "reminder",
        "escalation",
    }
    assert dump_db(db) == before


def test_a_dry_run_without_channels_previews_the_e_mail_digests(db: Path) -> None:
    code, out, _ = run_main(
        db, "notify", "run", "--as-of", AS_OF.isoformat(), "--dry-run", "--format", "json"
    )
    assert code == 0
    assert "lee@example.org" in {m["to"] for m in json.loads(out)["messages"]}


def test_a_run_with_items_and_no_channel_exits_1_and_records_nothing(db: Path) -> None:
    before = dump_db(db)
    code, _, err = run_main(db, "notify", "run", "--as-of", AS_OF.isoformat())
    assert code == 1 and "no notification channel is switched on" in err
    assert dump_db(db) == before


def test_the_log_is_empty_then_lists_messages(db: Path) -> None:
    code, out, _ = run_main(db, "notify", "log")
    assert (code, out.strip()) == (0, "no messages yet: run `notify run`")
    code, out, _ = run_main(db, "notify", "log", "--format", "json")
    assert json.loads(out) == []


def test_the_real_cli_prints_the_table_and_the_unmatched_owners(db: Path) -> None:
    result = run_cli(db, "notify", "run", "--as-of", AS_OF.isoformat(), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "notify run (dry run) as of 2026-03-10" in result.stdout
    assert "Zoe Unknown" in result.stdout and "owners have no e-mail" in result.stdout
    assert "Traceback" not in result.stderr
