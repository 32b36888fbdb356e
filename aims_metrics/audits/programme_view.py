"""The audit programme as the page reads it: computed once per data version and arguments, so a
page view only draws (the programme, its schedule table, where each audit sits by quarter and unit,
and the coverage by cycle year)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from aims_metrics.audits import plan_pdf, programme
from aims_metrics.metrics.as_of import fiscal_start_month
from aims_metrics.metrics.periods import quarter_of


@dataclass
class ProgrammeView:
    programme: programme.Programme
    quarters: list[str]  # the cycle's fiscal quarters, oldest first
    as_of_quarter: str  # the fiscal quarter holding the as-of day
    # one row per audit of the programme, in its order (row n of both is the same audit)
    schedule: pd.DataFrame  # plan_pdf.plan_frame: the plan's columns
    placement: pd.DataFrame  # programme.audit_placement: audit_id, auditee_unit, status, quarter
    coverage_by_year: pd.DataFrame  # programme.coverage_by_year: ref, title, year, status


def programme_view(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    cycle_start: date | None = None,
    audit_type: str | None = None,
) -> ProgrammeView:
    """Everything the Audit programme page shows about the audits of the cycle, in one call."""
    result = programme.audit_programme(con, as_of, cycle_start, audit_type)
    start_month = fiscal_start_month(con)
    return ProgrammeView(
        programme=result,
        quarters=programme.cycle_quarters(result.cycle, start_month),
        as_of_quarter=quarter_of(result.as_of, start_month).label,
        schedule=plan_pdf.plan_frame(result),
        placement=programme.audit_placement(result, start_month),
        coverage_by_year=programme.coverage_by_year(result),
    )
