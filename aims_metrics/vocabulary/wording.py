"""How numbers, counts and days are written everywhere: "6,675", "1 audit", "14 audits",
"30 September 2026". One helper each, so a page, the CLI and a PDF never disagree."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

MISSING = "—"
_IRREGULAR = {
    "nonconformity": "nonconformities",
    "opportunity": "opportunities",
    "KPI": "KPIs",
    "version": "versions",
    "criterion": "criteria",
}


def plural(singular: str) -> str:
    """The plural of a noun the product counts ("audit" → "audits", "nonconformity" →
    "nonconformities"); the last word of a phrase is the one that changes."""
    head, _, last = singular.rpartition(" ")
    if last in _IRREGULAR:
        word = _IRREGULAR[last]
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        word = last[:-1] + "ies"
    elif last.endswith(("s", "x", "ch", "sh")):
        word = last + "es"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def count_of(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 audit", "0 audits", "6,675 findings": a count with its noun agreeing."""
    noun = singular if count == 1 else (plural_form or plural(singular))
    return f"{number(count)} {noun}"


def noun_for(count: int, singular: str) -> str:
    """The noun alone, agreeing with `count`: "column" for 1, "columns" otherwise."""
    return singular if count == 1 else plural(singular)


def verb_for(count: int, singular: str, plural_form: str) -> str:
    """The verb agreeing with `count`: verb_for(1, "is", "are") → "is"."""
    return singular if count == 1 else plural_form


def number(value: Any, decimals: int | None = None) -> str:
    """A number with thousands separators ("6,675", "0.973": at most three decimals); missing
    values as "—"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if decimals is not None:
        return f"{value:,.{decimals}f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


def day(value: date) -> str:
    """A day in running text: "1 January 2026" (tables and files keep ISO dates)."""
    return f"{value.day} {value:%B %Y}"
