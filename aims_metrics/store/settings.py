"""Settings: one declaration per setting (key, default, parse and validate, description), used by
Admin → Settings, `python -m aims_metrics settings` and every reader (get_setting, setting_value).

Values are stored as text in the `settings` table; a write is validated here first and
audit-logged in the same transaction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from aims_metrics.inputs.text import control_character, normalise_text
from aims_metrics.store.audit import record_audit
from aims_metrics.store.transactions import transaction

METRIC_TIME_LIMIT_MAX_SECONDS = 3600.0


class InvalidValue(ValueError):
    """Raised by a setting's parser; the message is a whole sentence a person can act on."""


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    default: str
    parse: Callable[[str], Any]  # the stored text -> typed value; InvalidValue if not valid
    description: str

    def canonical(self, text: str) -> str:
        """The text to store for a value typed by a person: trimmed, then validated."""
        cleaned = normalise_text(text) or ""
        self.parse(cleaned)
        return cleaned


@dataclass(frozen=True)
class SettingProblem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class SettingError(ValueError):
    """One or more settings were refused; `problems` names each key and why."""

    def __init__(self, problems: list[SettingProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _no_control_characters(label: str, text: str, allowed: str = "") -> None:
    found = control_character("".join(c for c in text if c not in allowed))
    if found:
        raise InvalidValue(f"The {label} cannot contain control characters ({found}).")


def _organisation_name(text: str) -> str:
    if not text:
        raise InvalidValue("The organisation name cannot be empty.")
    _no_control_characters("organisation name", text)
    return text


def _scope(text: str) -> str:
    _no_control_characters("AIMS scope statement", text, allowed="\n\t")
    return text


def _month(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 12):
        raise InvalidValue("The fiscal year start month must be a whole number from 1 to 12.")
    return int(text)


def _cycle_start(text: str) -> date | None:
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(
            "The certification cycle start must be a date written YYYY-MM-DD."
        ) from None


def _time_limit(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= METRIC_TIME_LIMIT_MAX_SECONDS):
        raise InvalidValue(
            "The metric time limit must be a number of seconds greater than 0 and at most "
            f"{METRIC_TIME_LIMIT_MAX_SECONDS:g}."
        )
    return seconds


def _whole_days(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
            raise InvalidValue(f"Must be a whole number of days from {low} to {high}.")
        return int(text)

    return parse


def _switch(text: str) -> bool:
    if text not in ("on", "off"):
        raise InvalidValue("Must be on or off.")
    return text == "on"


def _base_url(text: str) -> str:
    _no_control_characters("app address", text)
    if text and not text.startswith(("http://", "https://")):
        raise InvalidValue("The app address must start with http:// or https://.")
    return text


# Reminder rules (aims_metrics.notify.rules.RULES; tests/test_notify_rules.py checks they agree):
# each can be switched off, and those that look ahead have their days.
REMINDER_RULES = (
    "corrective_action_overdue",
    "corrective_action_due_soon",
    "review_action_due_soon",
    "review_action_overdue",
    "audit_starting_soon",
    "audit_overdue",
    "kpi_turned_red",
    "data_stale",
)
REMINDER_LOOK_AHEAD_DAYS = {
    "corrective_action_due_soon": "14",
    "review_action_due_soon": "14",
    "audit_starting_soon": "30",
}


def _reminder_settings() -> list[Setting]:
    declared = [
        Setting(
            "remind_every_days",
            "Remind at most every (days)",
            "7",
            _whole_days(1, 365),
            "An item is reminded at most once per this many days, three times, then escalated.",
        ),
        Setting(
            "stale_after_days",
            "Data is stale after (days)",
            "100",
            _whole_days(1, 3650),
            "A data table whose latest import is older than this is stale.",
        ),
        Setting(
            "app_base_url",
            "App address for links",
            "http://localhost:8501",
            _base_url,
            "Reminders link to pages under this address.",
        ),
    ]
    for rule in REMINDER_RULES:
        declared.append(
            Setting(
                f"notify_{rule}",
                f"Rule {rule}",
                "on",
                _switch,
                f"Whether {rule} reminders are sent.",
            )
        )
        if rule in REMINDER_LOOK_AHEAD_DAYS:
            declared.append(
                Setting(
                    f"notify_{rule}_days",
                    f"{rule}: days ahead",
                    REMINDER_LOOK_AHEAD_DAYS[rule],
                    _whole_days(0, 365),
                    f"How many days ahead {rule} looks.",
                )
            )
    return declared


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "organisation_name",
            "Organisation name",
            "Example Organisation",
            _organisation_name,
            "Shown in the sidebar and on every PDF.",
        ),
        Setting(
            "aims_scope",
            "AIMS scope statement",
            "The AI management system covers the design, development, deployment and "
            "monitoring of AI systems across all business units.",
            _scope,
            "The scope of the AI management system (4.3), the default scope of a review.",
        ),
        Setting(
            "fiscal_year_start_month",
            "Fiscal year starts in",
            "1",
            _month,
            "Month (1-12) the fiscal year starts; quarters are counted from it.",
        ),
        Setting(
            "audit_cycle_start",
            "Certification cycle starts on",
            "",
            _cycle_start,
            "First day (YYYY-MM-DD) of the three-year certification cycle the audit programme "
            "covers; empty: 1 January of the year of the as-of date.",
        ),
        Setting(
            "metric_time_limit_seconds",
            "Metric time limit (seconds)",
            "30",
            _time_limit,
            "How long one metric evaluation may run before it is stopped (more than 0, at most "
            "3600).",
        ),
        *_reminder_settings(),
    )
}

SETTING_DEFAULTS = {key: s.default for key, s in SETTINGS.items()}


def setting(key: str) -> Setting:
    """The declaration of a setting; SettingError for an unknown key."""
    try:
        return SETTINGS[key]
    except KeyError:
        raise SettingError(
            [SettingProblem(key, f"unknown setting; use one of {', '.join(SETTINGS)}")]
        ) from None


def parse_settings(values: Mapping[str, str]) -> dict[str, str]:
    """The text to store for each key, validated; SettingError naming every bad key at once."""
    cleaned: dict[str, str] = {}
    problems: list[SettingProblem] = []
    for key, text in values.items():
        try:
            cleaned[key] = setting(key).canonical(text)
        except SettingError as error:
            problems += error.problems
        except InvalidValue as error:
            problems.append(SettingProblem(key, str(error)))
    if problems:
        raise SettingError(problems)
    return cleaned


def get_setting(con: duckdb.DuckDBPyConnection, key: str) -> str:
    """The stored text of a setting, or its default."""
    declared = setting(key)
    rows = con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else declared.default


def setting_value(con: duckdb.DuckDBPyConnection, key: str) -> Any:
    """A setting parsed to its type (int, float, date …); SettingError if the stored text is not
    valid (a database written before the setting was validated)."""
    text = get_setting(con, key)
    try:
        return setting(key).parse(text)
    except InvalidValue as error:
        raise SettingError([SettingProblem(key, f"{error} (stored: {text!r})")]) from None


def all_settings(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every declared setting with its stored text (or default), in declaration order."""
    stored = dict(con.execute("SELECT key, value FROM settings").fetchall())
    return {key: stored.get(key, s.default) for key, s in SETTINGS.items()}


def set_setting(con: duckdb.DuckDBPyConnection, key: str, value: str, username: str) -> None:
    """Validate and store one setting, audit-logged; SettingError names the key if refused."""
    cleaned = parse_settings({key: value})[key]
    with transaction(con):
        con.execute(
            "INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, cleaned],
        )
        record_audit(con, username, "setting.update", key, {"value": cleaned})


def save_settings(
    con: duckdb.DuckDBPyConnection, values: Mapping[str, str], username: str
) -> list[str]:
    """Validate every value first (SettingError naming each bad key, nothing stored), then store
    the ones that differ from what is stored; the keys changed, in the order given."""
    cleaned = parse_settings(values)
    stored = all_settings(con)
    changed = [key for key, value in cleaned.items() if value != stored.get(key)]
    for key in changed:
        set_setting(con, key, cleaned[key], username)
    return changed
