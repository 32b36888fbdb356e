"""How figures read, the same in the app, the CLI and the minutes."""

from __future__ import annotations

import re

from aims_metrics.vocabulary.findings import FINDING_TYPES, finding_title

NO_VALUE = "—"


def format_value(value: float | int | None, unit: str, empty: str = NO_VALUE) -> str:
    """A figure by its unit: count 1,234; percent (a fraction) 87.5 %; days 14.2 d; `empty` when
    there is no value."""
    if value is None or (isinstance(value, float) and value != value):
        return empty
    if unit == "percent":
        return f"{value * 100:.1f} %"
    if unit == "days":
        return f"{value:,.1f} d"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def format_change(
    value: float | int | None, previous: float | int | None, unit: str, direction: str
) -> str:
    """Change against the previous quarter with the unit and whether it is better or worse."""
    if value is None or previous is None:
        return NO_VALUE
    delta = value - previous
    if abs(delta) < 1e-9:
        return "no change"
    if unit == "percent":
        text = f"{delta * 100:+.1f} pp"
    elif unit == "days":
        text = f"{delta:+.1f} d"
    elif float(delta).is_integer():
        text = f"{int(delta):+,d}"
    else:
        text = f"{delta:+.1f}"
    better = (delta > 0) == (direction == "higher_is_better")
    return f"{text} ({'better' if better else 'worse'})"


_QUARTER_WORDS = (  # the catalog's shorthand for the quarter S..E, as a reader says it
    (re.compile(r"S ≤ (\w+?)_on ≤ E"), ""),  # "… detected in the quarter" says it already
    (re.compile(r"(\w+?)_on − (\w+?)_on in days"), r"days from \2 to \1"),
    (re.compile(r"with (\w+?)_on ≤ E"), r"\1 by the quarter end"),
    (re.compile(r"(\w+?)_on ≤ E"), r"\1 by the quarter end"),
    (re.compile(r"(\w+?)_on < E"), r"\1 before the quarter end"),
    (re.compile(r"(\w+?)_on empty or after E"), r"not \1 by then"),
    (re.compile(r"\bby E\b"), "by the quarter end"),
    (re.compile(r"\b(\w+?)_on\b"), r"the \1 date"),
)


def readable_description(text: str) -> str:
    """A metric's description in words: the catalog's shorthand for the quarter ("S ≤ detected_on
    ≤ E", "closed_on empty or after E") and raw values (major_nc) become what a reader says."""
    for pattern, words in _QUARTER_WORDS:
        text = pattern.sub(words, text)
    for finding_type in FINDING_TYPES:
        text = re.sub(rf"\b{finding_type}\b", finding_title(finding_type), text)
    text = re.sub(r"(?<=[a-z])_(?=[a-z])", "-", text)
    for messy, clean in ((" ()", ""), ("(, ", "("), (", )", ")"), ("()", ""), ("  ", " ")):
        text = text.replace(messy, clean)
    return text.strip()
