"""Certification readiness: the 29 clause requirements 4.1–10.2, the Statement of Applicability,
blockers and gaps, as a Stage 1 auditor would ask about them.

Where the data can judge a requirement it does (source `data`, evidence naming the records);
the others come from `attestations` (a gap when none is recorded). score = (met + ½ partial) / 29.
Verdict: `not_ready` if any requirement is a gap or a major NC is open; `ready_with_corrections`
if only partials or open minor NCs remain; else `ready`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from aims_metrics.audits import gaps as gap_register
from aims_metrics.audits import soa
from aims_metrics.audits.programme import COVERED, Cycle, audit_programme, cycle_start_setting
from aims_metrics.metrics.as_of import fiscal_start_month
from aims_metrics.metrics.evaluate import kpis_for_quarter
from aims_metrics.metrics.periods import quarter_of
from aims_metrics.tables.registry import (
    NONCONFORMITY_TYPES,
    clause_refs,
    requirement_refs,
)
from aims_metrics.vocabulary.findings import finding_count
from aims_metrics.vocabulary.status import status_word
from aims_metrics.vocabulary.wording import count_of, verb_for

MET, PARTIAL, GAP = "met", "partial", "gap"
READY, READY_WITH_CORRECTIONS, NOT_READY = "ready", "ready_with_corrections", "not_ready"
MAX_NAMED = 8  # records named in one evidence sentence; the rest counted


def _names(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_NAMED])
    return shown + (f" and {len(ids) - MAX_NAMED} more" if len(ids) > MAX_NAMED else "")


@dataclass(frozen=True)
class Requirement:
    ref: str
    title: str
    status: str  # met, partial, gap
    evidence: str
    source: str  # data or attestation

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Blocker:
    kind: str  # finding or requirement
    id: str
    text: str
    clause: str = ""  # the clause or control it is against (a requirement: its own ref)
    since: date | None = None  # a finding: raised on

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "text": self.text}


@dataclass
class Context:
    """What the data-judged rules read, computed once per readiness check."""

    con: duckdb.DuckDBPyConnection
    as_of: date
    cycle: Cycle
    cache: dict[str, Any] = field(default_factory=dict)

    def open_nonconformities(self) -> list[tuple[str, str, date | None, str, date]]:
        """(finding_id, finding_type, due_on, clause_ref, raised_on) open at as_of, oldest first."""
        if "open_nc" not in self.cache:
            self.cache["open_nc"] = self.con.execute(
                "SELECT finding_id, finding_type, due_on, clause_ref, raised_on FROM findings "
                "WHERE finding_type IN (SELECT unnest(?::VARCHAR[])) AND raised_on <= ? AND "
                "(closed_on IS NULL OR closed_on > ?) ORDER BY raised_on, finding_id",
                [list(NONCONFORMITY_TYPES), self.as_of, self.as_of],
            ).fetchall()
        return self.cache["open_nc"]


Judgement = tuple[str, str]  # (status, evidence)


def judge_objectives(ctx: Context) -> Judgement:
    """6.2: AI objectives set with targets and due dates (and an owner: who is responsible)."""
    rows = ctx.con.execute(
        "SELECT objective_id, target IS NOT NULL AND deadline IS NOT NULL, nullif(trim(owner), '') "
        "IS NOT NULL FROM objectives ORDER BY objective_id"
    ).fetchall()
    if not rows:
        return GAP, "No AI objectives are recorded: set objectives with a target and a due date."
    incomplete = [r[0] for r in rows if not (r[1] and r[2])]
    ids = [r[0] for r in rows]
    if incomplete:
        return (
            PARTIAL,
            f"{count_of(len(rows), 'objective')}; without a target, due date or owner: {_names(incomplete)}.",
        )
    return (
        MET,
        f"{count_of(len(rows), 'objective')} with targets, due dates and owners: {_names(ids)}.",
    )


def judge_impact_assessments(ctx: Context) -> Judgement:
    """8.4: every high-risk system in service at as_of has a completed impact assessment."""
    rows = ctx.con.execute(
        "SELECT s.system_id, EXISTS (SELECT 1 FROM assessments a WHERE a.system_id = s.system_id "
        "AND a.assessment_type = 'impact' AND a.status = 'completed' AND a.completed_on <= $d) "
        "FROM systems s WHERE s.risk_level = 'high' AND (s.deployed_on <= $d OR (s.deployed_on "
        "IS NULL AND s.lifecycle_stage = 'deployed')) AND (s.retired_on IS NULL OR s.retired_on > $d) "
        "ORDER BY s.system_id",
        {"d": ctx.as_of},
    ).fetchall()
    if not rows:
        return (
            MET,
            f"No high-risk AI system is in service on {ctx.as_of}: none needs an impact assessment.",
        )
    missing = [r[0] for r in rows if not r[1]]
    if not missing:
        return (
            MET,
            f"All {len(rows)} high-risk systems in service have a completed impact assessment: {_names([r[0] for r in rows])}.",
        )
    status = GAP if len(missing) == len(rows) else PARTIAL
    return (
        status,
        f"{len(missing)} of {len(rows)} high-risk systems in service lack a completed impact assessment: {_names(missing)}.",
    )


def judge_monitoring(ctx: Context) -> Judgement:
    """9.1: every catalog metric has a value (not no data) for the as-of quarter."""
    start_month = fiscal_start_month(ctx.con)
    quarter = quarter_of(ctx.as_of, start_month)
    results = kpis_for_quarter(ctx.con, quarter)
    if not results:
        return GAP, "The metric catalog is empty: nothing is monitored or measured."
    missing = [f"{r.label} ({r.ref})" for r in results if r.status == "no_data"]
    if not missing:
        return MET, f"All {len(results)} catalog metrics have a value for {quarter.label}."
    status = GAP if len(missing) == len(results) else PARTIAL
    return status, (
        f"{len(missing)} of {count_of(len(results), 'catalog metric')} "
        f"{verb_for(len(missing), 'has', 'have')} no data for {quarter.label}: "
        f"{_names(missing)}."
    )


def judge_internal_audits(ctx: Context) -> Judgement:
    """9.2.1 / 9.2.2: completed internal audits in the cycle cover all 29 clause requirements."""
    if "internal" not in ctx.cache:
        ctx.cache["internal"] = audit_programme(ctx.con, ctx.as_of, ctx.cycle.start, "internal")
    programme = ctx.cache["internal"]
    entries = [e for e in programme.coverage if e.kind == "clause"]
    covered = [e for e in entries if e.status == COVERED]
    audits = sorted({a for e in covered for a in e.audits})
    span = f"{ctx.cycle.start} – {ctx.cycle.end}"
    if len(covered) == len(entries):
        return (
            MET,
            f"Completed internal audits in the cycle {span} cover all {len(entries)} clause requirements ({_names(audits)}).",
        )
    if not covered:
        return GAP, f"No completed internal audit in the cycle {span} covers a clause requirement."
    not_yet = [e.ref for e in entries if e.status != COVERED]
    return (
        PARTIAL,
        f"Completed internal audits ({_names(audits)}) cover {len(covered)} of {len(entries)} clause requirements; not yet: {_names(not_yet)}.",
    )


def judge_management_review(ctx: Context) -> Judgement:
    """9.3.x: a finalised management review held in the 12 months up to as_of."""
    year_before = (
        ctx.as_of.replace(year=ctx.as_of.year - 1, day=min(ctx.as_of.day, 28))
        if (ctx.as_of.month == 2 and ctx.as_of.day == 29)
        else ctx.as_of.replace(year=ctx.as_of.year - 1)
    )
    rows = ctx.con.execute(
        "SELECT quarter, revision, status, coalesce(held_on, CAST(finalised_at AS DATE)) AS held "
        "FROM reviews WHERE coalesce(held_on, CAST(finalised_at AS DATE), CAST(created_at AS DATE)) "
        "> ? AND coalesce(held_on, CAST(finalised_at AS DATE), CAST(created_at AS DATE)) <= ? "
        "ORDER BY status = 'final' DESC, held DESC NULLS LAST, quarter DESC, revision DESC",
        [year_before, ctx.as_of],
    ).fetchall()
    final = [r for r in rows if r[2] == "final"]
    if final:
        quarter, revision, _, held = final[0]
        return (
            MET,
            f"The management review of {quarter} (revision {revision}), held on {held}, is finalised.",
        )
    if rows:
        return (
            PARTIAL,
            f"The management review of {rows[0][0]} is still a draft: finalise its minutes.",
        )
    return GAP, f"No management review was held in the 12 months to {ctx.as_of}."


def judge_nonconformities(ctx: Context) -> Judgement:
    """10.2: gap while a major NC is open, partial while minor NCs are overdue, else met."""
    open_nc = ctx.open_nonconformities()
    majors = [r[0] for r in open_nc if r[1] == "major_nc"]
    if majors:
        return (
            GAP,
            f"{finding_count(len(majors), 'major_nc')} open on {ctx.as_of}: {_names(majors)}.",
        )
    overdue = [
        r[0] for r in open_nc if r[1] == "minor_nc" and r[2] is not None and r[2] < ctx.as_of
    ]
    if overdue:
        return (
            PARTIAL,
            f"{finding_count(len(overdue), 'minor_nc')} past {verb_for(len(overdue), 'its', 'their')} due date: {_names(overdue)}.",
        )
    if open_nc:
        return (
            MET,
            f"No major nonconformity open; {count_of(len(open_nc), 'minor one')} open, none overdue.",
        )
    return MET, f"No nonconformity is open on {ctx.as_of}."


JUDGES: dict[str, Callable[[Context], Judgement]] = {
    "6.2": judge_objectives,
    "8.4": judge_impact_assessments,
    "9.1": judge_monitoring,
    "9.2.1": judge_internal_audits,
    "9.2.2": judge_internal_audits,
    "9.3.1": judge_management_review,
    "9.3.2": judge_management_review,
    "9.3.3": judge_management_review,
    "10.2": judge_nonconformities,
}
DATA_JUDGED: tuple[str, ...] = tuple(JUDGES)


def _attested(row: tuple | None, ref: str) -> Judgement:
    if row is None:
        return (
            GAP,
            f"No attestation is recorded: import attestations.csv with the evidence for {ref}.",
        )
    status, evidence, owner, reviewed_on = row
    parts = [(evidence or "no evidence named").rstrip(". ")]
    if owner:
        parts.append(f"owner {owner}")
    if reviewed_on:
        parts.append(f"reviewed {reviewed_on}")
    return status, "; ".join(parts) + "."


def requirements(ctx: Context) -> list[Requirement]:
    """The 29 requirements in clause order: data-judged where the data can, else attested."""
    titles = clause_refs()
    attestations = {
        r[0]: r[1:]
        for r in ctx.con.execute(
            "SELECT ref, status, evidence, owner, reviewed_on FROM attestations"
        ).fetchall()
    }
    result = []
    for ref in requirement_refs():
        if ref in JUDGES:
            (status, evidence), source = JUDGES[ref](ctx), "data"
        else:
            (status, evidence), source = _attested(attestations.get(ref), ref), "attestation"
        result.append(Requirement(ref, titles[ref].title, status, evidence, source))
    return result


@dataclass
class Readiness:
    """The readiness checklist as of a date."""

    as_of: date
    cycle: Cycle
    verdict: str
    score: float
    requirements: list[Requirement]
    soa: dict[str, int]
    blockers: list[Blocker]
    gaps: list[gap_register.GapItem]
    open_minor: list[str]

    @property
    def verdict_words(self) -> str:
        return status_word(self.verdict)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.requirements if r.status == s) for s in (MET, PARTIAL, GAP)}

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "cycle_start": self.cycle.start.isoformat(),
            "verdict": self.verdict,
            "score": self.score,
            "requirements": [r.to_json() for r in self.requirements],
            "soa": self.soa,
            "blockers": [b.to_json() for b in self.blockers],
            "gaps": [g.to_json() for g in self.gaps],
        }


def score(reqs: list[Requirement]) -> float:
    """(met + ½ partial) / number of requirements, rounded to 4 places."""
    met = sum(1 for r in reqs if r.status == MET)
    partial = sum(1 for r in reqs if r.status == PARTIAL)
    return round((met + 0.5 * partial) / len(reqs), 4) if reqs else 0.0


def verdict(reqs: list[Requirement], open_major: int, open_minor: int) -> str:
    statuses = {r.status for r in reqs}
    if GAP in statuses or open_major:
        return NOT_READY
    if PARTIAL in statuses or open_minor:
        return READY_WITH_CORRECTIONS
    return READY


# Requirements whose gap is exactly the open major nonconformities (judge_nonconformities): those
# findings are the blockers, each named once, not a second time as the requirement they fail.
GAP_MEANS_OPEN_MAJORS = frozenset(
    ref for ref, judge in JUDGES.items() if judge is judge_nonconformities
)


def blockers(ctx: Context, reqs: list[Requirement]) -> list[Blocker]:
    """Open major NCs (oldest first), then the other requirements judged a gap (clause order):
    each cause once."""
    found = [
        Blocker(
            "finding",
            fid,
            f"Major nonconformity against {clause} open since {raised}.",
            clause,
            raised,
        )
        for fid, ftype, _, clause, raised in ctx.open_nonconformities()
        if ftype == "major_nc"
    ]
    found += [
        Blocker("requirement", r.ref, f"{r.ref} {r.title}: {r.evidence}", r.ref)
        for r in reqs
        if r.status == GAP and not (found and r.ref in GAP_MEANS_OPEN_MAJORS)
    ]
    return found


def readiness(
    con: duckdb.DuckDBPyConnection, as_of: date | None = None, cycle_start: date | None = None
) -> Readiness:
    """Certification readiness as of a date (default today) for the cycle holding it."""
    as_of = as_of or date.today()
    ctx = Context(con, as_of, Cycle(cycle_start or cycle_start_setting(con, as_of)))
    reqs = requirements(ctx)
    table = soa.soa_table(con)
    open_nc = ctx.open_nonconformities()
    majors = sum(1 for r in open_nc if r[1] == "major_nc")
    minors = [r[0] for r in open_nc if r[1] == "minor_nc"]
    shortfalls = [(r.ref, "requirement", r.status) for r in reqs if r.status != MET]
    shortfalls += [
        (row.control_id, "control", row.implementation_status)
        for row in table.itertuples()
        if row.applicable and row.implementation_status in ("not_started", "partial")
    ]
    return Readiness(
        as_of=as_of,
        cycle=ctx.cycle,
        verdict=verdict(reqs, majors, len(minors)),
        score=score(reqs),
        requirements=reqs,
        soa=soa.soa_summary(table),
        blockers=blockers(ctx, reqs),
        gaps=gap_register.gap_items(shortfalls, gap_register.current_plans(con)),
        open_minor=minors,
    )
