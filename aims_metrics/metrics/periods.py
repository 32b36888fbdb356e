"""Quarters and fiscal years.

A quarter is labelled `YYYYQn`. With the default fiscal-year start month 1 these are calendar
quarters. With start month m > 1, fiscal year YYYY is the one that *ends* in calendar year YYYY
(FY2026 with m = 4 runs 2025-04-01 … 2026-03-31), so labels stay stable and sortable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

QUARTER_PATTERN = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")

# The dates and quarters the product accepts from people (CLI, pages, metric files): wide enough
# for any real record, narrow enough that a year-long window around them stays a valid date.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
EARLIEST_YEAR, LATEST_YEAR = EARLIEST_DATE.year, LATEST_DATE.year


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@dataclass(frozen=True, order=True)
class Quarter:
    """A fiscal quarter; `start_month` is the first calendar month of the fiscal year."""

    year: int
    number: int
    start_month: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"quarter number must be 1–4, not {self.number}")
        if not 1 <= self.start_month <= 12:
            raise ValueError(f"fiscal-year start month must be 1–12, not {self.start_month}")

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    def __str__(self) -> str:
        return self.label

    @property
    def start(self) -> date:
        first_year = self.year if self.start_month == 1 else self.year - 1
        y, m = _add_months(first_year, self.start_month, 3 * (self.number - 1))
        return date(y, m, 1)

    @property
    def end(self) -> date:
        y, m = _add_months(self.start.year, self.start.month, 3)
        return date(y, m, 1) - timedelta(days=1)

    def shift(self, quarters: int) -> Quarter:
        index = self.year * 4 + (self.number - 1) + quarters
        return Quarter(index // 4, index % 4 + 1, self.start_month)

    def previous(self) -> Quarter:
        return self.shift(-1)

    def next(self) -> Quarter:
        return self.shift(1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_quarter(text: str, start_month: int = 1) -> Quarter:
    """Parse `2025Q3` (also `2025-Q3`, `2025q3`); ValueError with the expected form otherwise."""
    match = QUARTER_PATTERN.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a quarter: write it as YYYYQn, e.g. 2025Q3")
    year = int(match.group(1))
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValueError(
            f"{text!r} is out of range: quarters run from {EARLIEST_YEAR}Q1 to {LATEST_YEAR}Q4"
        )
    return Quarter(year, int(match.group(2)), start_month)


def check_date(day: date, what: str = "date") -> date:
    """`day` if it lies within EARLIEST_DATE..LATEST_DATE; ValueError naming the range otherwise."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"{what} {day.isoformat()} is out of range: dates run from "
            f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}"
        )
    return day


def parse_date(text: str, what: str = "date") -> date:
    """Parse an ISO date `YYYY-MM-DD` within the accepted range; ValueError saying what is wrong."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a date: write YYYY-MM-DD") from None
    return check_date(day, what)


def quarter_of(day: date, start_month: int = 1) -> Quarter:
    """The fiscal quarter containing `day`."""
    months_into_year = (day.month - start_month) % 12
    number = months_into_year // 3 + 1
    fiscal_year = day.year
    if start_month != 1 and day.month >= start_month:
        fiscal_year += 1
    return Quarter(fiscal_year, number, start_month)


def last_completed_quarter(today: date | None = None, start_month: int = 1) -> Quarter:
    """The most recent quarter whose last day is before `today`."""
    today = today or date.today()
    return quarter_of(today, start_month).previous()


def quarters_ending(last: Quarter, count: int) -> list[Quarter]:
    """`count` consecutive quarters, oldest first, ending with `last`."""
    return [last.shift(offset) for offset in range(-(count - 1), 1)]
