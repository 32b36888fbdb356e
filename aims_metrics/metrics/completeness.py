"""Data completeness (issue 23): how far each KPI's source data reaches.

A figure's sources are the imported data tables its definition reads. `data_through` is the
earliest of their latest imports (`import_batches`): the day up to which every source is known;
`newest_record` the earliest of their newest record dates (each table's `record_date` column).
A quarter's figure is *provisional* when a source was last imported on or before the quarter's
last day (the export could not hold the whole quarter); a source is *stale* when its latest import
is older than the `stale_after_days` setting. Tables never imported (loaded otherwise, e.g. demo
data) do not count: with none imported, `data_through` is unknown (None) and nothing is marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from aims_metrics.metrics.models import MetricDefinition
from aims_metrics.metrics.periods import Quarter
from aims_metrics.store import get_setting
from aims_metrics.tables.registry import TABLES

PROVISIONAL_MARK = "◔ provisional"  # word and symbol: never colour alone
STALE_MARK = "⌛ stale"


@dataclass(frozen=True)
class Completeness:
    data_through: date | None
    provisional: bool
    stale: bool
    notes: tuple[str, ...] = field(
        default=()
    )  # "incidents imported 2026-08-15, before the quarter end"
    newest_record: date | None = None  # the earliest of the sources' newest record dates

    @property
    def mark(self) -> str:
        """The words and symbols a card, a chart or the minutes print beside the figure ('' when
        the figure is complete and fresh)."""
        return " ".join(
            m for m, on in ((PROVISIONAL_MARK, self.provisional), (STALE_MARK, self.stale)) if on
        )


def latest_imports(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> dict[str, date]:
    """Each table's latest import day (on or before `as_of` when given); never-imported tables
    are absent."""
    rows = con.execute(
        "SELECT table_name, max(CAST(imported_at AS DATE)) FROM import_batches "
        "WHERE ?::DATE IS NULL OR CAST(imported_at AS DATE) <= ? GROUP BY table_name",
        [as_of, as_of],
    ).fetchall()
    return {table: day for table, day in rows}


def newest_records(con: duckdb.DuckDBPyConnection) -> dict[str, date]:
    """Each data table's newest record date (its `record_date` column); empty tables absent."""
    dated = [spec for spec in TABLES.values() if spec.record_date]
    # identifiers come from the registry, never from input
    sql = " UNION ALL ".join(
        f"SELECT '{spec.name}' AS table_name, max({spec.record_date}) AS newest FROM {spec.name}"
        for spec in dated
    )
    return {table: day for table, day in con.execute(sql).fetchall() if day is not None}


def stale_after_days(con: duckdb.DuckDBPyConnection) -> int:
    return int(get_setting(con, "stale_after_days"))


def is_stale(imported: date, today: date, limit_days: int) -> bool:
    """The one staleness rule: the latest import is more than `limit_days` days old."""
    return (today - imported).days > limit_days


def source_tables(definition: MetricDefinition, sources: dict) -> list[str]:
    """The imported data tables a definition reads."""
    tables = {sources[m.source].table for _, m in definition.parts() if m.source in sources}
    return sorted(t for t in tables if t in TABLES)


def figure_completeness(
    tables: list[str],
    imports: dict[str, date],
    quarter: Quarter,
    today: date,
    limit_days: int,
    newest: dict[str, date] | None = None,
) -> Completeness:
    """Completeness of one figure of `quarter` read from `tables` (known-answer tested)."""
    known = {t: imports[t] for t in tables if t in imports}
    records = [newest[t] for t in tables if newest and t in newest]
    newest_record = min(records) if records else None
    if not known:
        return Completeness(None, False, False, newest_record=newest_record)
    through = min(known.values())
    notes = tuple(
        f"{t} imported {day.isoformat()}, before the quarter end"
        for t, day in sorted(known.items())
        if day <= quarter.end
    )
    stale = any(is_stale(day, today, limit_days) for day in known.values())
    return Completeness(through, bool(notes), stale, notes, newest_record)


def catalog_completeness(
    con: duckdb.DuckDBPyConnection,
    definitions: list[MetricDefinition],
    quarter: Quarter,
    today: date | None = None,
) -> dict[str, Completeness]:
    """Completeness of each definition's figure for `quarter`, by metric name."""
    return _completeness_by_quarter(con, definitions, [quarter], today)[quarter.label]


def _completeness_by_quarter(
    con: duckdb.DuckDBPyConnection,
    definitions: list[MetricDefinition],
    quarters: list[Quarter],
    today: date | None,
) -> dict[str, dict[str, Completeness]]:
    """quarter label → metric name → completeness; the database's facts are read once."""
    from aims_metrics.metrics.sources import shipped_sources

    sources, imports, newest = shipped_sources(), latest_imports(con), newest_records(con)
    limit, today = stale_after_days(con), today or date.today()
    tables = {d.name: source_tables(d, sources) for d in definitions}
    return {
        q.label: {
            name: figure_completeness(read, imports, q, today, limit, newest)
            for name, read in tables.items()
        }
        for q in quarters
    }


def metric_completeness(
    con: duckdb.DuckDBPyConnection,
    quarters: list[Quarter],
    names: list[str] | None = None,
    today: date | None = None,
) -> dict[str, dict[str, Completeness]]:
    """name → quarter label → completeness, for the current catalog (or the named metrics)."""
    from aims_metrics.metrics.evaluate import current

    definitions = current(con, names)
    by_quarter = _completeness_by_quarter(con, definitions, quarters, today)
    return {
        d.name: {label: found[d.name] for label, found in by_quarter.items()} for d in definitions
    }


def provisional_notes(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> dict[str, list[str]]:
    """Metric name → why its figure for `quarter` is provisional, for the metrics that are (the
    minutes and finalising a review use this; staleness depends on today, so it is left out)."""
    from aims_metrics.metrics.evaluate import current

    found = catalog_completeness(con, current(con), quarter)
    return {name: list(c.notes) for name, c in found.items() if c.provisional}
