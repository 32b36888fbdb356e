"""Fold a source's grouped rows into per-quarter figures, in Python (no SQL, no I/O).

The fused catalog query (engine.compile_catalog) groups each source's rows once by the quarter or
month numbers of the dates its metrics' windows read. What a group adds to which quarter is then a
question about a few hundred small integers: every window condition (an event in the quarter, a
snapshot open at its end, a date compared with `$period_start` or `$period_end`) bounds the
quarter's running number `pi` (engine.period_index) from below or above. So each group row adds to
one run of consecutive quarters, and a member's figures for every quarter come from one pass over
the rows with a difference array, instead of a join of the rows to the quarters in SQL, which
DuckDB must parse, plan and run on every call.

Only aggregates whose result does not depend on the order of addition are folded here (counts,
sums and means of integers, minima and maxima); engine decides which groups qualify.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Bound(StrEnum):
    """How a grouped row's key (a quarter or month number) bounds the quarter number `pi`."""

    QUARTER_AT_LEAST = "quarter_at_least"  # pi >= key + offset
    QUARTER_AT_MOST = "quarter_at_most"  # pi <= key + offset
    MONTH_AT_LEAST = "month_at_least"  # 3*pi + offset >= key
    MONTH_AT_MOST = "month_at_most"  # 3*pi + offset <= key
    MONTH_EQUALS = "month_equals"  # 3*pi + offset == key


@dataclass(frozen=True)
class KeyBound:
    """One window condition over the key at `position` of a grouped row. A NULL key meets the
    condition for every quarter when `null_unbounded` (a snapshot not closed), else for none
    (SQL: a comparison with NULL is not true)."""

    position: int
    bound: Bound
    offset: int
    null_unbounded: bool = False


def as_quarter_bound(bound: Bound, offset: int, start_month: int) -> tuple[Bound, int] | None:
    """The same bound on the key's quarter number (month number - start month) // 3, when the
    month bound falls on a quarter's edge, else None: 3·pi + start_month + 2 + 3j >= m is
    pi >= q - j; 3·pi + start_month + 3j <= m is pi <= q - j."""
    if bound is Bound.MONTH_AT_LEAST and (offset - start_month) % 3 == 2:
        return Bound.QUARTER_AT_LEAST, -((offset - start_month - 2) // 3)
    if bound is Bound.MONTH_AT_MOST and (offset - start_month) % 3 == 0:
        return Bound.QUARTER_AT_MOST, -((offset - start_month) // 3)
    return None


class FoldedAgg(StrEnum):
    COUNT = "count"  # sum of per-group counts, 0 when none
    SUM = "sum"  # sum of per-group integer sums, 0 when none
    AVERAGE = "average"  # sum of sums / sum of counts, None when no value
    MIN = "min"
    MAX = "max"


@dataclass(frozen=True)
class FoldedMember:
    """One metric part over a group: which rows' parts it adds for a quarter, and how."""

    bounds: tuple[KeyBound, ...]
    agg: FoldedAgg
    value: int  # position of the per-group part (count, sum, min or max)
    count: int | None = None  # AVERAGE: position of the per-group count of values


_CODES = {
    Bound.QUARTER_AT_LEAST: 0,
    Bound.QUARTER_AT_MOST: 1,
    Bound.MONTH_AT_LEAST: 2,
    Bound.MONTH_AT_MOST: 3,
    Bound.MONTH_EQUALS: 4,
}


def _runs(
    rows: list[tuple[Any, ...]], bounds: tuple[KeyBound, ...], first: int, last: int
) -> list[tuple[tuple[Any, ...], int, int]]:
    """(row, lo, hi) for each row whose keys admit the quarters lo..hi within first..last."""
    # plain ints and locals: this loop is the fold's cost (enum attribute lookups doubled it)
    checks = [(kb.position, _CODES[kb.bound], kb.offset, kb.null_unbounded) for kb in bounds]
    runs = []
    for row in rows:
        lo, hi = first, last
        for position, code, offset, null_unbounded in checks:
            key = row[position]
            if key is None:
                if null_unbounded:
                    continue
                break
            if code == 0:  # QUARTER_AT_LEAST
                if key + offset > lo:
                    lo = key + offset
            elif code == 1:  # QUARTER_AT_MOST
                if key + offset < hi:
                    hi = key + offset
            elif code == 2:  # MONTH_AT_LEAST: pi >= ceil((key - offset) / 3)
                lo = max(lo, -((offset - key) // 3))
            elif code == 3:  # MONTH_AT_MOST: pi <= floor((key - offset) / 3)
                hi = min(hi, (key - offset) // 3)
            elif (key - offset) % 3:  # MONTH_EQUALS, never a quarter's chosen month
                break
            else:
                lo, hi = max(lo, (key - offset) // 3), min(hi, (key - offset) // 3)
            if lo > hi:
                break
        else:
            runs.append((row, lo, hi))
    return runs


def fold_members(
    members: list[FoldedMember], rows: list[tuple[Any, ...]], quarters: list[int]
) -> list[list[Any]]:
    """Each member's figure for each quarter number in `quarters` (any order, repeats allowed),
    equal to SQL's aggregate over the rows whose keys meet every bound of the member for that
    quarter. Members with the same bounds share one pass over the rows."""
    first, last = min(quarters), max(quarters)
    runs_of: dict[tuple[KeyBound, ...], list] = {}
    figures = []
    for member in members:
        runs = runs_of.get(member.bounds)
        if runs is None:
            runs = runs_of[member.bounds] = _runs(rows, member.bounds, first, last)
        by_offset = _fold(member, runs, first, last - first + 1)
        figures.append([by_offset[q - first] for q in quarters])
    return figures


def _fold(member: FoldedMember, runs: list, first: int, span: int) -> list[Any]:
    at = member.value
    if member.agg in (FoldedAgg.MIN, FoldedAgg.MAX):
        best: list[Any] = [None] * span
        smaller = member.agg is FoldedAgg.MIN
        for row, lo, hi in runs:
            value = row[at]
            if value is None:
                continue
            for i in range(lo - first, hi - first + 1):
                held = best[i]
                if held is None or (value < held if smaller else value > held):
                    best[i] = value
        return best
    totals = [0] * (span + 1)  # difference arrays
    for row, lo, hi in runs:
        value = row[at]
        if value is not None:  # None: a sum over no values (its count is 0 too)
            totals[lo - first] += value
            totals[hi - first + 1] -= value
    sums = _running(totals, span)
    if member.agg is not FoldedAgg.AVERAGE:
        return sums
    counts = [0] * (span + 1)
    for row, lo, hi in runs:
        counted = row[member.count]  # type: ignore[index]
        counts[lo - first] += counted
        counts[hi - first + 1] -= counted
    return [
        float(total) / count if count else None
        for total, count in zip(sums, _running(counts, span), strict=True)
    ]


def _running(differences: list[int], span: int) -> list[int]:
    running, out = 0, []
    for i in range(span):
        running += differences[i]
        out.append(running)
    return out


def ratio(numerator: Any, denominator: Any) -> float | None:
    """SQL's CAST(numerator AS DOUBLE) / NULLIF(denominator, 0)."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return float(numerator) / denominator
