"""The point in time every view is evaluated at: the chosen quarter, or the latest complete one.

One place decides it, for every page and report: the fiscal year start month is read (and parsed)
here, a quarter label is resolved here, and the sentence that tells the reader which quarter a
figure belongs to is written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from aims_metrics.metrics import periods
from aims_metrics.store import settings as store_settings
from aims_metrics.vocabulary.wording import day

FISCAL_START = "fiscal_year_start_month"


def fiscal_start_month(con: duckdb.DuckDBPyConnection) -> int:
    """The first month (1-12) of the fiscal year; the declared default when the stored text is
    not valid (a database written before settings were validated)."""
    try:
        return int(store_settings.setting_value(con, FISCAL_START))
    except store_settings.SettingError:
        return int(store_settings.SETTING_DEFAULTS[FISCAL_START])


@dataclass(frozen=True)
class EvaluationPoint:
    """The quarter a view shows and the day it is evaluated at."""

    quarter: periods.Quarter
    as_of: date
    chosen: bool  # the reader chose another quarter than the latest complete one
    in_progress: bool  # the quarter has not ended yet: evaluated as of today

    @property
    def label(self) -> str:
        return self.quarter.label

    def describe(self) -> str:
        """Which quarter and day the figures are for, in a sentence for the page or the report."""
        how = "chosen in the sidebar" if self.chosen else "the latest complete quarter"
        if self.in_progress:
            return f"As of today, {day(self.as_of)}: {self.label} is in progress ({how})."
        return f"As of {day(self.as_of)}, the end of {self.label} ({how})."


def evaluation_point(
    label: str | None, start_month: int, today: date | None = None
) -> EvaluationPoint:
    """Resolve a quarter label (e.g. `2026Q3`, or None / not a quarter: the latest complete
    quarter) to the quarter and the day to evaluate at: its end, or today while it runs."""
    today = today or date.today()
    chosen = None
    if label:
        try:
            chosen = periods.parse_quarter(label, start_month)
        except ValueError:
            chosen = None
    latest = periods.last_completed_quarter(today, start_month=start_month)
    quarter = chosen or latest
    return EvaluationPoint(
        quarter=quarter,
        as_of=min(quarter.end, today),
        chosen=quarter != latest,
        in_progress=quarter.end >= today,
    )


def resolve_quarter(
    con: duckdb.DuckDBPyConnection, label: str | None, today: date | None = None
) -> EvaluationPoint:
    """`evaluation_point` with the fiscal year of the database's settings."""
    return evaluation_point(label, fiscal_start_month(con), today)
