"""Known answers for each reminder rule, and for repetition and escalation (issue 23).

The data set and its hand-worked answers are in tests/notify_helpers.py."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from notify_helpers import AS_OF, known_db

from aims_metrics import store
from aims_metrics.notify.reminders import next_sequence
from aims_metrics.notify.rules import RULES, Rule, due_items
from aims_metrics.store import open_db, set_setting


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return known_db(tmp_path_factory.mktemp("notify-rules"))


EXPECTED = {
    Rule.CORRECTIVE_ACTION_OVERDUE: [("F1", "2026-03-01", 9, "lee chen")],
    Rule.CORRECTIVE_ACTION_DUE_SOON: [
        ("F7", "2026-03-10", 0, "Zoe Unknown"),
        ("F2", "2026-03-20", 0, "Lee Chen"),
    ],
    Rule.REVIEW_ACTION_DUE_SOON: [("R2", "2026-03-15", 0, "Dana Ruiz")],
    Rule.REVIEW_ACTION_OVERDUE: [("R1", "2026-03-01", 9, "Lee Chen")],
    Rule.AUDIT_STARTING_SOON: [("A1", "2026-04-01", 0, "Kim Park")],
    Rule.AUDIT_OVERDUE: [("A5", "2026-02-10", 28, "Kim Park"), ("A3", "2026-03-01", 9, "Kim Park")],
    Rule.KPI_TURNED_RED: [("open_major_nonconformities", "2025-12-31", 0, "Internal Audit Lead")],
    Rule.DATA_STALE: [("systems", "2026-02-09", 29, None)],
}


@pytest.mark.parametrize("rule", list(Rule), ids=str)
def test_each_rule_finds_exactly_its_items(known: Path, rule: Rule) -> None:
    with open_db(known) as con:
        items = [i for i in due_items(con, AS_OF) if i.rule is rule]
    found = [(i.item_id, str(i.due_on), i.days_overdue, i.owner) for i in items]
    assert found == EXPECTED[rule]
    assert all(i.kind == RULES[rule].kind for i in items)


def test_a_rule_switched_off_finds_nothing(known: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(known.read_bytes())
    with open_db(copy) as con:
        set_setting(con, "notify_audit_overdue", "off", "test")
        set_setting(con, "notify_audit_starting_soon_days", "60", "test")
        rules = {(i.rule, i.item_id) for i in due_items(con, AS_OF)}
    assert not any(rule is Rule.AUDIT_OVERDUE for rule, _ in rules)
    assert (Rule.AUDIT_STARTING_SOON, "A2") in rules  # 52 days ahead: inside 60


def test_replaying_an_earlier_day_sees_that_day(known: Path) -> None:
    with open_db(known) as con:
        items = {(i.rule, i.item_id) for i in due_items(con, date(2026, 2, 1))}
    assert (Rule.CORRECTIVE_ACTION_OVERDUE, "F1") not in items  # due 03-01: not yet
    assert (Rule.DATA_STALE, "systems") not in items  # 92 days after its import: not yet stale
    assert (Rule.CORRECTIVE_ACTION_OVERDUE, "F6") not in items  # closed (status, no date)


def test_the_settings_name_every_rule() -> None:
    for spec in RULES.values():
        assert spec.switch_setting in store.SETTING_DEFAULTS
        assert (spec.days_setting is None) or (
            int(store.SETTING_DEFAULTS[spec.days_setting]) == spec.days_default
        )
    assert {
        k for k in store.SETTING_DEFAULTS if k.startswith("notify_") and not k.endswith("_days")
    } == {spec.switch_setting for spec in RULES.values()}


D = date(2026, 3, 10)


def days(*offsets: int) -> list[tuple[int, date]]:
    return [(n + 1, D + timedelta(days=o)) for n, o in enumerate(offsets)]


@pytest.mark.parametrize(
    ("repeats", "earlier", "as_of", "expected"),
    [
        (True, [], D, 1),
        (True, days(0), D, None),  # same day again: nothing
        (True, days(0), D + timedelta(6), None),  # within remind_every_days
        (True, days(0), D + timedelta(7), 2),
        (True, days(0, 7), D + timedelta(14), 3),
        (True, days(0, 7, 14), D + timedelta(20), None),
        (True, days(0, 7, 14), D + timedelta(21), 4),  # the escalation
        (True, days(0, 7, 14, 21), D + timedelta(60), None),  # then quiet
        (False, [], D, 1),
        (False, days(0), D + timedelta(30), None),  # a one-off rule fires once
    ],
)
def test_repetition_and_escalation(repeats, earlier, as_of, expected) -> None:
    assert next_sequence(repeats, earlier, as_of, 7) == expected


def test_every_rule_has_its_declared_settings():
    from aims_metrics.notify.rules import RULES
    from aims_metrics.store.settings import REMINDER_LOOK_AHEAD_DAYS, REMINDER_RULES, SETTINGS

    assert set(REMINDER_RULES) == {rule.value for rule in RULES}
    for spec in RULES.values():
        assert SETTINGS[spec.switch_setting].default == "on"
        if spec.days_setting:
            assert SETTINGS[spec.days_setting].default == str(spec.days_default)
    assert set(REMINDER_LOOK_AHEAD_DAYS) == {r.value for r, s in RULES.items() if s.days_setting}
