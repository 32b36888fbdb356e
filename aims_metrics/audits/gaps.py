"""The gap register (the seed's gap assessment template): each shortfall of the readiness
checklist with its remediation plan: priority, owner, remediation, effort in days, target date.

The shortfalls come from the data (requirements judged gap or partial, applicable Annex A controls
not yet implemented); the plans are edited by governance leads. Every save of a changed plan is a
new version of that gap (append-only `gap_register`), so the history of a plan is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import duckdb
import pandas as pd

from aims_metrics import auth, store
from aims_metrics.tables.checks import ImportProblem
from aims_metrics.tables.ingest import validate_records
from aims_metrics.tables.registry import Column, ColumnKind, TableSpec, clause_refs

GapPriority = StrEnum("GapPriority", {v.upper(): v for v in ("critical", "high", "medium", "low")})

# What an editor may write into a plan: validated by the import's rules (tables.ingest).
GAP_PLAN = TableSpec(
    name="gap_register",
    title="Gap register: remediation plans",
    primary_key="ref",
    columns=(
        Column(name="ref", kind=ColumnKind.CLAUSE, required=True),
        Column(
            name="priority",
            kind=ColumnKind.ENUM,
            required=True,
            enum=tuple(p.value for p in GapPriority),
        ),
        Column(name="owner", kind=ColumnKind.TEXT),
        Column(name="remediation", kind=ColumnKind.TEXT),
        Column(name="effort_days", kind=ColumnKind.NUMBER),
        Column(name="target_date", kind=ColumnKind.DATE),
    ),
)
PLAN_FIELDS = ("priority", "owner", "remediation", "effort_days", "target_date")

# The priority a gap starts with until a governance lead sets one.
DEFAULT_PRIORITY = {
    ("requirement", "gap"): "critical",
    ("requirement", "partial"): "high",
    ("control", "not_started"): "medium",
    ("control", "partial"): "low",
}


class GapRegisterRejected(ValueError):
    """The edited plans break a rule; `problems` lists every one. Nothing was saved."""

    def __init__(self, problems: list[ImportProblem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class GapItem:
    ref: str
    title: str
    kind: str  # requirement or control
    status: str  # gap / partial (requirement), not_started / partial (control)
    priority: str
    owner: str | None = None
    remediation: str | None = None
    effort_days: float | None = None
    target_date: date | None = None
    version: int = 0  # 0: no plan saved yet

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["target_date"] = self.target_date.isoformat() if self.target_date else None
        return data


def current_plans(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """The latest version of each saved plan, by ref."""
    rows = con.execute(
        "SELECT ref, version, priority, owner, remediation, effort_days, target_date FROM "
        "gap_register QUALIFY row_number() OVER (PARTITION BY ref ORDER BY version DESC) = 1"
    ).fetchall()
    keys = ("ref", "version", *PLAN_FIELDS)
    return {r[0]: dict(zip(keys, r, strict=True)) for r in rows}


def gap_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every saved version of every plan, newest first."""
    return con.execute(
        "SELECT ref, version, priority, owner, remediation, effort_days, target_date, saved_by, "
        "saved_at, reason FROM gap_register ORDER BY saved_at DESC, ref, version DESC"
    ).df()


def gap_items(
    shortfalls: list[tuple[str, str, str]], plans: dict[str, dict[str, Any]]
) -> list[GapItem]:
    """(ref, kind, status) shortfalls joined with their saved plans, in the order given."""
    titles = clause_refs()
    items = []
    for ref, kind, status in shortfalls:
        plan = plans.get(ref)
        extra = {f: plan[f] for f in PLAN_FIELDS} if plan else {}
        extra.setdefault("priority", DEFAULT_PRIORITY[(kind, status)])
        items.append(
            GapItem(
                ref=ref,
                title=titles[ref].title,
                kind=kind,
                status=status,
                version=plan["version"] if plan else 0,
                **extra,
            )
        )
    return items


def _clean(value: Any) -> Any:
    """An editor cell as a plain value: None for empty, NaN and NaT; dates as dates."""
    try:
        if value is None or bool(pd.isna(value)):
            return None
    except (TypeError, ValueError):  # a list-like cell
        pass
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def save_gap_plans(
    con: duckdb.DuckDBPyConnection,
    records: list[dict[str, Any]],
    username: str,
    role: str,
    reason: str | None = None,
) -> list[str]:
    """Save edited plans (ref + PLAN_FIELDS each) as new versions of the changed ones, in one
    transaction with an audit entry; returns the refs saved. Governance leads and up only."""
    auth.require(role, auth.Action.EDIT_GAPS)
    rows = [{k: _clean(r.get(k)) for k in ("ref", *PLAN_FIELDS)} for r in records]
    problems = validate_records(con, GAP_PLAN, rows, "gap register")
    problems += [
        ImportProblem(
            n, "effort_days", f"effort_days {r['effort_days']} is negative", "gap register"
        )
        for n, r in enumerate(rows, start=2)
        if r["effort_days"] is not None and float(r["effort_days"]) < 0
    ]
    if problems:
        raise GapRegisterRejected(sorted(problems))
    for r in rows:
        r["priority"] = str(r["priority"]).lower()
        r["effort_days"] = None if r["effort_days"] is None else float(r["effort_days"])
        if isinstance(r["target_date"], str):
            r["target_date"] = date.fromisoformat(r["target_date"])
    saved = []
    with store.transaction(con):
        plans = current_plans(con)
        for r in rows:
            old = plans.get(r["ref"])
            if old and all(old[f] == r[f] for f in PLAN_FIELDS):
                continue
            con.execute(
                "INSERT INTO gap_register VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    r["ref"],
                    (old["version"] if old else 0) + 1,
                    *(r[f] for f in PLAN_FIELDS),
                    username,
                    store.now(),
                    reason,
                ],
            )
            saved.append(r["ref"])
        if saved:
            store.record_audit(con, username, "gaps.save", ",".join(saved), {"reason": reason})
    return saved


def gaps_frame(items: list[GapItem]) -> pd.DataFrame:
    """The register as a table (for the page, the CSV export and the report)."""
    columns = list(GapItem.__dataclass_fields__)
    frame = pd.DataFrame([{c: getattr(i, c) for c in columns} for i in items], columns=columns)
    # Typed columns even when every cell is empty, so an editor offers text, numbers and dates.
    frame["target_date"] = pd.to_datetime(frame["target_date"])
    texts = ["ref", "title", "kind", "status", "priority", "owner", "remediation"]
    return frame.astype(
        {**{c: "string" for c in texts}, "effort_days": "float64", "version": "int64"}
    )
