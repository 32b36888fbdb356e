"""The people directory: owner names matched to people, case and surrounding whitespace ignored.

Owner fields hold names as people type them ("Dana Ruiz", " dana ruiz"); one rule, `match_key`,
decides when two names are the same person, for reminders, escalation to managers and the list of
owners nobody can be reminded at.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from aims_metrics.inputs.text import normalise_text

# Owner fields of the data (table, column), besides metric owners (catalog) and gap owners (the
# latest version of each gap in the append-only gap register).
OWNER_FIELDS: tuple[tuple[str, str], ...] = (
    ("findings", "owner"),
    ("review_actions", "owner"),
    ("audits", "lead_auditor"),
    ("systems", "owner"),
    ("soa", "owner"),
)


@dataclass(frozen=True)
class Person:
    person: str
    email: str
    unit: str | None
    manager: str | None


def match_key(name: str | None) -> str | None:
    """The form under which a name matches a person: trimmed, case-folded; None when blank."""
    text = normalise_text(name)
    return text.casefold() if text else None


def directory(con: duckdb.DuckDBPyConnection) -> dict[str, Person]:
    """Every person by match key (the first in name order wins when two differ only by case)."""
    rows = con.execute("SELECT person, email, unit, manager FROM people ORDER BY person").fetchall()
    people: dict[str, Person] = {}
    for row in rows:
        people.setdefault(match_key(row[0]) or "", Person(*row))
    return people


def find_person(people: dict[str, Person], name: str | None) -> Person | None:
    """The person an owner field names, or None."""
    key = match_key(name)
    return people.get(key) if key else None


def manager_of(people: dict[str, Person], name: str | None) -> Person | None:
    """The manager of the person an owner field names, when both are in the directory."""
    person = find_person(people, name)
    return find_person(people, person.manager) if person and person.manager else None


def owner_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every distinct owner name in the owner fields, metric owners and gap owners."""
    from aims_metrics.metrics.catalog import current_definitions

    names: set[str] = set()
    for table, column in OWNER_FIELDS:
        names |= {
            row[0]
            for row in con.execute(
                f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"
            ).fetchall()
        }
    names |= {
        row[0]
        for row in con.execute(
            "SELECT DISTINCT owner FROM gap_register g WHERE owner IS NOT NULL AND version = "
            "(SELECT max(version) FROM gap_register h WHERE h.ref = g.ref)"
        ).fetchall()
    }
    names |= {d.owner for d in current_definitions(con) if d.owner}
    return sorted(n for n in names if match_key(n))


def unmatched_owners(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Owner names that match no person (nobody can be reminded at them), one per match key."""
    people = directory(con)
    seen: dict[str, str] = {}
    for name in owner_names(con):
        key = match_key(name)
        if key not in people:
            seen.setdefault(key, normalise_text(name))
    return sorted(seen.values(), key=str.casefold)


def describe_unmatched(owners: list[str]) -> str:
    """The sentence the CLI and the page show: "3 owners have no e-mail: A, B, C"."""
    if not owners:
        return "every owner has an e-mail address"
    noun = "owner has" if len(owners) == 1 else "owners have"
    return f"{len(owners)} {noun} no e-mail: {', '.join(owners)}"


def governance_lead_emails(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The e-mail addresses of the active governance leads (they hear of stale data and
    escalations of owners without a manager)."""
    rows = con.execute(
        "SELECT DISTINCT email FROM users WHERE role = 'governance_lead' AND NOT disabled "
        "AND email IS NOT NULL AND trim(email) <> '' ORDER BY email"
    ).fetchall()
    return [row[0] for row in rows]
