"""Notification channels: e-mail over SMTP and webhooks (generic JSON, Slack, Microsoft Teams).

A channel's configuration is stored as JSON; SMTP passwords and webhook secrets are not: the
configuration names the environment variable that holds them (`password_env`, `secret_env`), read
at send time. Every problem with a configuration is reported at once, by field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aims_metrics.inputs.text import control_character, email_problem
from aims_metrics.store import fetch_one, now, record_audit, transaction

CHANNEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
ChannelKind = Literal["email", "webhook"]


class ChannelError(ValueError):
    """A channel configuration or operation was refused; the message names what is wrong."""


class EmailConfig(BaseModel):
    """SMTP delivery: `security` none, ssl (SMTPS) or starttls."""

    model_config = ConfigDict(extra="forbid")
    smtp_host: Annotated[
        str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.:\[\]_-]+$")
    ]
    smtp_port: Annotated[int, Field(ge=1, le=65535)]
    security: Literal["none", "ssl", "starttls"] = "none"
    username: str | None = None
    password_env: Annotated[str, Field(pattern=ENV_NAME)] | None = None
    sender: Annotated[str, Field(max_length=254)]
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("sender")
    @classmethod
    def _an_email_address(cls, value: str) -> str:
        if problem := email_problem(value):
            raise ValueError(f"{value!r} is not an e-mail address: {problem}")
        return value

    @field_validator("username")
    @classmethod
    def _no_control(cls, value: str | None) -> str | None:
        if value is not None and control_character(value):
            raise ValueError(f"contains {control_character(value)}")
        return value


class WebhookConfig(BaseModel):
    """A webhook: one POST per run; `secret_env` names the variable holding the HMAC key."""

    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    format: Literal["json", "slack", "teams"] = "json"
    secret_env: Annotated[str, Field(pattern=ENV_NAME)] | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or control_character(value):
            raise ValueError("must be an http:// or https:// URL with a host")
        return value


CONFIG_MODELS: dict[str, type[BaseModel]] = {"email": EmailConfig, "webhook": WebhookConfig}


@dataclass(frozen=True)
class Channel:
    name: str
    kind: ChannelKind
    config: EmailConfig | WebhookConfig
    enabled: bool

    def describe(self) -> str:
        """One line for lists: where the channel delivers (no secrets)."""
        if isinstance(self.config, EmailConfig):
            c = self.config
            return f"smtp {c.smtp_host}:{c.smtp_port} ({c.security}) from {c.sender}"
        parts = urlsplit(self.config.url)
        signed = ", signed" if self.config.secret_env else ""
        return f"{self.config.format} webhook {parts.scheme}://{parts.hostname}{signed}"


def parse_config(kind: str, values: dict) -> EmailConfig | WebhookConfig:
    """A validated configuration, or ChannelError listing every problem (`field: message`)."""
    if kind not in CONFIG_MODELS:
        raise ChannelError(f"unknown channel kind {kind!r}: use email or webhook")
    try:
        config = CONFIG_MODELS[kind].model_validate(values)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or kind}: {e['msg']}" for e in error.errors()
        ]
        raise ChannelError("; ".join(problems)) from None
    if isinstance(config, EmailConfig) and bool(config.username) != bool(config.password_env):
        raise ChannelError("username and password_env go together: give both or neither")
    return config


def check_name(name: str) -> str:
    if not CHANNEL_NAME.fullmatch(name or ""):
        raise ChannelError(
            f"channel name {name!r}: use 1–64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return name


def add_channel(
    con: duckdb.DuckDBPyConnection,
    name: str,
    kind: str,
    values: dict,
    username: str,
    enabled: bool = True,
) -> Channel:
    """Store a new channel (audit-logged); ChannelError when the name is taken or the
    configuration is invalid."""
    check_name(name)
    config = parse_config(kind, values)
    with transaction(con):
        if fetch_one(con, "SELECT 1 FROM notify_channels WHERE name = ?", [name]):
            raise ChannelError(f"a channel named {name!r} exists already: remove it first")
        con.execute(
            "INSERT INTO notify_channels VALUES (?, ?, ?, ?, ?, ?)",
            [name, kind, config.model_dump_json(), enabled, username, now()],
        )
        record_audit(con, username, "notify.channel.add", name, {"kind": kind, "enabled": enabled})
    return Channel(name, kind, config, enabled)  # type: ignore[arg-type]


def remove_channel(con: duckdb.DuckDBPyConnection, name: str, username: str) -> None:
    with transaction(con):
        if not fetch_one(con, "SELECT 1 FROM notify_channels WHERE name = ?", [name]):
            raise ChannelError(f"no channel named {name!r}")
        con.execute("DELETE FROM notify_channels WHERE name = ?", [name])
        record_audit(con, username, "notify.channel.remove", name)


def set_channel_enabled(
    con: duckdb.DuckDBPyConnection, name: str, enabled: bool, username: str
) -> None:
    with transaction(con):
        if not fetch_one(con, "SELECT 1 FROM notify_channels WHERE name = ?", [name]):
            raise ChannelError(f"no channel named {name!r}")
        con.execute("UPDATE notify_channels SET enabled = ? WHERE name = ?", [enabled, name])
        record_audit(con, username, "notify.channel.enable", name, {"enabled": enabled})


def list_channels(con: duckdb.DuckDBPyConnection) -> list[Channel]:
    """Every channel, by name."""
    rows = con.execute(
        "SELECT name, kind, config, enabled FROM notify_channels ORDER BY name"
    ).fetchall()
    return [
        Channel(name, kind, CONFIG_MODELS[kind].model_validate(json.loads(config)), enabled)
        for name, kind, config, enabled in rows
    ]


def get_channel(con: duckdb.DuckDBPyConnection, name: str) -> Channel | None:
    return next((c for c in list_channels(con) if c.name == name), None)
