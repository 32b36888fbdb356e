"""How figures read, the same in the app, the CLI and the minutes."""

from __future__ import annotations

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
