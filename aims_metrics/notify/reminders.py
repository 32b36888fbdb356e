"""Repetition and escalation, decided from the reminder log (issue 23).

A repeating rule reminds an item at most once per `remind_every_days` and at most 3 times; the next
time it is due after the third reminder it is escalated once (to the owner's manager, else to every
governance lead), then left quiet until its state changes. A one-off rule reminds once per state.
Counting reads the as-of dates of earlier runs, so runs replayed on D, D+7, D+14, D+21 give
reminders 1, 2, 3 and the escalation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from aims_metrics.notify.rules import RULES, DueItem

MAX_REMINDERS = 3
ESCALATION_SEQUENCE = MAX_REMINDERS + 1


@dataclass(frozen=True)
class PlannedItem:
    """An item and which reminder it gets now: `sequence` 1–3 reminders, 4 the escalation."""

    item: DueItem
    sequence: int

    @property
    def escalation(self) -> bool:
        return self.sequence == ESCALATION_SEQUENCE

    @property
    def reminder(self) -> int | None:
        return None if self.escalation else self.sequence


def next_sequence(
    repeats: bool, earlier: list[tuple[int, date]], as_of: date, every_days: int
) -> int | None:
    """The reminder an item is due now given its earlier (sequence, as-of day) entries, or None.

    The one place the repetition rule is written; known-answer tests in tests/test_notify_rules.py.
    """
    if not earlier:
        return 1
    if not repeats:
        return None
    last_sequence = max(sequence for sequence, _ in earlier)
    last_day = max(day for _, day in earlier)
    if last_sequence >= ESCALATION_SEQUENCE or (as_of - last_day).days < every_days:
        return None
    return last_sequence + 1


def reminder_log(
    con: duckdb.DuckDBPyConnection,
) -> dict[tuple[str, str, str], list[tuple[int, date]]]:
    """Every logged reminder as (rule, item id, state key) → [(sequence, as-of day)]."""
    log: dict[tuple[str, str, str], list[tuple[int, date]]] = {}
    for rule, item_id, state, sequence, day in con.execute(
        "SELECT rule, item_id, state_key, sequence, as_of FROM notify_reminders"
    ).fetchall():
        log.setdefault((rule, item_id, state), []).append((sequence, day))
    return log


def plan_reminders(
    con: duckdb.DuckDBPyConnection, items: list[DueItem], as_of: date, every_days: int
) -> list[PlannedItem]:
    """The items due a reminder or an escalation now. Entries of runs dated after `as_of` (a
    replay of an earlier day) do not count, but a sequence number is never used twice."""
    log = reminder_log(con)
    planned = []
    for item in items:
        entries = log.get((item.rule.value, item.item_id, item.state_key), [])
        earlier = [(sequence, day) for sequence, day in entries if day <= as_of]
        sequence = next_sequence(RULES[item.rule].repeats, earlier, as_of, every_days)
        if sequence is not None and sequence not in {s for s, _ in entries}:
            planned.append(PlannedItem(item, sequence))
    return planned


REVIEW_ACTION_RULES = ("review_action_due_soon", "review_action_overdue")


def review_action_reminders(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Action id → reminders sent for management-review actions (escalations not counted), for
    input a) of the next review."""
    rows = con.execute(
        "SELECT item_id, count(*) FROM notify_reminders WHERE NOT escalation "
        "AND rule IN (SELECT unnest(?::VARCHAR[])) GROUP BY item_id",
        [list(REVIEW_ACTION_RULES)],
    ).fetchall()
    return {item_id: int(count) for item_id, count in rows}
