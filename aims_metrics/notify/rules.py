"""The reminder rules (issue 23) as data, and the items each one finds as of a day.

Each rule names the items it watches, who is told, whether it repeats while the condition holds
(`repeats`) or fires once per state, the setting that switches it and the setting holding its
look-ahead days. `due_items` evaluates every switched-on rule as of a day from event dates, so a
run can be replayed for any day (`notify run --as-of`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import duckdb

from aims_metrics.metrics.completeness import is_stale, latest_imports, stale_after_days
from aims_metrics.store import setting_value
from aims_metrics.tables.registry import NONCONFORMITY_TYPES, TABLES


class Rule(StrEnum):
    CORRECTIVE_ACTION_OVERDUE = "corrective_action_overdue"
    CORRECTIVE_ACTION_DUE_SOON = "corrective_action_due_soon"
    REVIEW_ACTION_DUE_SOON = "review_action_due_soon"
    REVIEW_ACTION_OVERDUE = "review_action_overdue"
    AUDIT_STARTING_SOON = "audit_starting_soon"
    AUDIT_OVERDUE = "audit_overdue"
    KPI_TURNED_RED = "kpi_turned_red"
    DATA_STALE = "data_stale"


@dataclass(frozen=True)
class DueItem:
    """One item a rule finds as of a day. `owner` None: the governance leads are told.
    `state_key` changes when the item's state does (a new due date, a new quarter), which
    starts its reminders afresh."""

    rule: Rule
    kind: str
    item_id: str
    title: str
    due_on: date | None
    days_overdue: int
    owner: str | None
    state_key: str


@dataclass(frozen=True)
class RuleSpec:
    rule: Rule
    kind: str
    to: str  # who is told, in words (the page and the README)
    when: str
    repeats: bool  # reminded every `remind_every_days` up to 3 times, then escalated
    page: str  # the app page (url path) an item links to
    find: Callable[[duckdb.DuckDBPyConnection, date, int], list[DueItem]]
    days_default: int | None = None  # look-ahead days (setting notify_<rule>_days)

    @property
    def switch_setting(self) -> str:
        return f"notify_{self.rule.value}"

    @property
    def days_setting(self) -> str | None:
        return f"notify_{self.rule.value}_days" if self.days_default is not None else None


def _overdue_days(due_on: date | None, as_of: date) -> int:
    return max(0, (as_of - due_on).days) if due_on else 0


_OPEN_NC = (
    "finding_type IN (SELECT unnest(?::VARCHAR[])) AND raised_on <= ? "
    "AND (closed_on > ? OR (closed_on IS NULL AND coalesce(status, 'open') NOT IN "
    "('closed', 'verified')))"
)


def _findings(con, as_of: date, days: int, rule: Rule, window: str) -> list[DueItem]:
    rows = con.execute(
        f"SELECT finding_id, description, due_on, owner FROM findings WHERE {_OPEN_NC} "
        f"AND due_on IS NOT NULL AND {window} ORDER BY due_on, finding_id",
        [list(NONCONFORMITY_TYPES), as_of, as_of, *_window_params(as_of, days, window)],
    ).fetchall()
    return [
        DueItem(rule, "finding", fid, text, due, _overdue_days(due, as_of), owner, str(due))
        for fid, text, due, owner in rows
    ]


OVERDUE = "due_on < ?"
DUE_SOON = "due_on BETWEEN ? AND ?"


def _window_params(as_of: date, days: int, window: str) -> list:
    return [as_of] if window == OVERDUE else [as_of, as_of + timedelta(days=days)]


def corrective_actions_overdue(con, as_of: date, days: int) -> list[DueItem]:
    """Open major and minor nonconformities whose corrective action is past its due date."""
    return _findings(con, as_of, days, Rule.CORRECTIVE_ACTION_OVERDUE, OVERDUE)


def corrective_actions_due_soon(con, as_of: date, days: int) -> list[DueItem]:
    """Open major and minor nonconformities due within `days` days (today included)."""
    return _findings(con, as_of, days, Rule.CORRECTIVE_ACTION_DUE_SOON, DUE_SOON)


def _review_actions(con, as_of: date, days: int, rule: Rule, window: str) -> list[DueItem]:
    rows = con.execute(
        "SELECT action_id, description, due_on, owner FROM review_actions "
        f"WHERE NOT (status = 'done' AND closed_on <= ?) AND {window} ORDER BY due_on, action_id",
        [as_of, *_window_params(as_of, days, window)],
    ).fetchall()
    return [
        DueItem(rule, "review_action", aid, text, due, _overdue_days(due, as_of), owner, str(due))
        for aid, text, due, owner in rows
    ]


def review_actions_overdue(con, as_of: date, days: int) -> list[DueItem]:
    """Open management-review actions past their due date."""
    return _review_actions(con, as_of, days, Rule.REVIEW_ACTION_OVERDUE, OVERDUE)


def review_actions_due_soon(con, as_of: date, days: int) -> list[DueItem]:
    """Open management-review actions due within `days` days."""
    return _review_actions(con, as_of, days, Rule.REVIEW_ACTION_DUE_SOON, DUE_SOON)


def audits_starting_soon(con, as_of: date, days: int) -> list[DueItem]:
    """Planned audits (not started) whose planned start is within `days` days."""
    rows = con.execute(
        "SELECT audit_id, title, planned_start, lead_auditor FROM audits WHERE status = 'planned' "
        "AND planned_start BETWEEN ? AND ? ORDER BY planned_start, audit_id",
        [as_of, as_of + timedelta(days=days)],
    ).fetchall()
    return [
        DueItem(Rule.AUDIT_STARTING_SOON, "audit", aid, title, start, 0, lead, str(start))
        for aid, title, start, lead in rows
    ]


def audits_overdue(con, as_of: date, days: int) -> list[DueItem]:
    """Audits neither completed nor cancelled whose planned end has passed."""
    rows = con.execute(
        "SELECT audit_id, title, planned_end, lead_auditor FROM audits "
        "WHERE status NOT IN ('completed', 'cancelled') AND planned_end < ? "
        "ORDER BY planned_end, audit_id",
        [as_of],
    ).fetchall()
    return [
        DueItem(
            Rule.AUDIT_OVERDUE, "audit", aid, title, end, _overdue_days(end, as_of), lead, str(end)
        )
        for aid, title, end, lead in rows
    ]


def kpis_turned_red(con, as_of: date, days: int) -> list[DueItem]:
    """Catalog metrics red in the latest complete quarter and not red in the quarter before."""
    from aims_metrics.metrics.as_of import fiscal_start_month
    from aims_metrics.metrics.evaluate import catalog_series
    from aims_metrics.metrics.periods import last_completed_quarter
    from aims_metrics.metrics.status import KpiStatus

    start_month = fiscal_start_month(con)
    quarter = last_completed_quarter(as_of, start_month)
    series = catalog_series(con, [quarter.previous(), quarter])
    items = []
    for name, (before, latest) in sorted(series.items()):
        if latest.status is KpiStatus.RED and before.status is not KpiStatus.RED:
            title = f"{latest.label} is red in {quarter.label}"
            items.append(
                DueItem(
                    Rule.KPI_TURNED_RED,
                    "metric",
                    name,
                    title,
                    quarter.end,
                    0,
                    latest.owner or None,
                    quarter.label,
                )
            )
    return items


def data_stale(con, as_of: date, days: int) -> list[DueItem]:
    """Data tables whose latest import is older than `stale_after_days` (people excluded)."""
    limit = stale_after_days(con)
    items = []
    for table, imported in sorted(latest_imports(con, as_of).items()):
        if table not in TABLES or table == "people" or not is_stale(imported, as_of, limit):
            continue
        stale_from = imported + timedelta(days=limit)
        title = f"{table} last imported {imported.isoformat()}"
        items.append(
            DueItem(
                Rule.DATA_STALE,
                "table",
                table,
                title,
                stale_from,
                _overdue_days(stale_from, as_of),
                None,
                str(imported),
            )
        )
    return items


RULES: dict[Rule, RuleSpec] = {
    spec.rule: spec
    for spec in (
        RuleSpec(
            Rule.CORRECTIVE_ACTION_OVERDUE,
            "finding",
            "owner",
            "every run while overdue",
            True,
            "nonconformity-aging",
            corrective_actions_overdue,
        ),
        RuleSpec(
            Rule.CORRECTIVE_ACTION_DUE_SOON,
            "finding",
            "owner",
            "once",
            False,
            "nonconformity-aging",
            corrective_actions_due_soon,
            days_default=14,
        ),
        RuleSpec(
            Rule.REVIEW_ACTION_DUE_SOON,
            "review_action",
            "owner",
            "once",
            False,
            "management-review",
            review_actions_due_soon,
            days_default=14,
        ),
        RuleSpec(
            Rule.REVIEW_ACTION_OVERDUE,
            "review_action",
            "owner",
            "every run while overdue",
            True,
            "management-review",
            review_actions_overdue,
        ),
        RuleSpec(
            Rule.AUDIT_STARTING_SOON,
            "audit",
            "lead auditor",
            "once",
            False,
            "audit-programme",
            audits_starting_soon,
            days_default=30,
        ),
        RuleSpec(
            Rule.AUDIT_OVERDUE,
            "audit",
            "lead auditor",
            "every run while overdue",
            True,
            "audit-programme",
            audits_overdue,
        ),
        RuleSpec(
            Rule.KPI_TURNED_RED,
            "metric",
            "metric owner",
            "once per quarter",
            False,
            "kpi-trends",
            kpis_turned_red,
        ),
        RuleSpec(
            Rule.DATA_STALE,
            "table",
            "governance leads",
            "every run while stale",
            True,
            "data-import",
            data_stale,
        ),
    )
}


def rule_enabled(con: duckdb.DuckDBPyConnection, rule: Rule) -> bool:
    return setting_value(con, RULES[rule].switch_setting)


def rule_days(con: duckdb.DuckDBPyConnection, rule: Rule) -> int:
    setting = RULES[rule].days_setting
    return setting_value(con, setting) if setting else 0


def due_items(con: duckdb.DuckDBPyConnection, as_of: date) -> list[DueItem]:
    """Every item of every switched-on rule as of `as_of`, in rule order."""
    items: list[DueItem] = []
    for rule, spec in RULES.items():
        if rule_enabled(con, rule):
            items += spec.find(con, as_of, rule_days(con, rule))
    return items


# Settings the Notifications page edits besides the switches (declared in store.settings).
DAY_SETTINGS = ("remind_every_days", "stale_after_days") + tuple(
    spec.days_setting for spec in RULES.values() if spec.days_setting
)
