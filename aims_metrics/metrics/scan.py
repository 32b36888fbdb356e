"""Compile a whole catalog into one query that reads each source table once (design §4, §9).

The rows of a source are grouped once by the quarter numbers of the DATE columns its metrics'
windows read (month numbers where a month-grain window needs them) and by the columns filters
compare with `$period_start`/`$period_end`; each metric part's figure for a period then sums (or
takes the minimum or maximum of) the groups inside its window. That needs aggregates rebuilt from
per-group parts: counts, sums, means (sum / count), minima and maxima, with structured filters.
Parts of other shapes (median, p90, distinct counts, free-form SQL filters) are not `scannable`;
the evaluator runs those metrics with their own query (`metrics.compiler.compile_series`), which is
also the reference every scanned figure is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aims_metrics.metrics.compiler import (
    Binder,
    MetricError,
    filter_sql,
    ident,
    periods_cte,
    referenced_columns,
    snapshot_of,
    source_of,
    source_select,
    window_columns,
)
from aims_metrics.metrics.models import (
    PERIOD_END,
    PERIOD_START,
    Agg,
    ColumnType,
    Filter,
    Grain,
    Measure,
    MetricDefinition,
    MetricType,
    Source,
)
from aims_metrics.metrics.periods import Quarter

SCANNABLE_AGGREGATES = frozenset({Agg.COUNT, Agg.SUM, Agg.AVERAGE, Agg.MIN, Agg.MAX})
_MONTH_NUMBER = "(year({0}) * 12 + month({0}))"

Member = tuple[str, MetricDefinition, Measure]  # (part, its metric, its measure)


@dataclass(frozen=True)
class CatalogQuery:
    """One query for several metrics: (period, one value column per metric, in `names` order)."""

    sql: str
    params: dict[str, Any]
    names: tuple[str, ...]

    def values(self, rows: list[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
        """metric -> period label -> value, from the query's rows."""
        return {
            name: {row[0]: row[index] for row in rows}
            for index, name in enumerate(self.names, start=1)
        }


@dataclass
class _SourceScan:
    """The metric parts that read one source: one CTE, one scan."""

    source: Source
    members: list[Member] = field(default_factory=list)


def _period_dependent(flt: Filter) -> bool:
    values = flt.value if isinstance(flt.value, list | tuple) else [flt.value]
    return any(isinstance(v, str) and v in (PERIOD_START, PERIOD_END) for v in values)


def scannable(definition: MetricDefinition, sources: dict[str, Source]) -> bool:
    """Whether every part of the metric can join its source's shared scan: an aggregate rebuilt
    from per-group parts, structured filters only, and a window over declared DATE columns."""
    for _, measure in definition.parts():
        source = sources.get(measure.source)
        if source is None or measure.agg not in SCANNABLE_AGGREGATES:
            return False
        if any(f.sql is not None for f in measure.filters):
            return False
        for name in window_columns(definition, measure):
            column = source.column(name)
            if column is None or column.type is not ColumnType.DATE:
                return False
    return True


def _split_filters(
    measure: Measure, source: Source, bind: Binder, grain: Grain
) -> tuple[list[str], list[str]]:
    """A measure's filters as SQL: those on a row alone, then those comparing it with
    $period_start or $period_end (evaluated per period)."""
    row = [filter_sql(f, source, bind, grain) for f in measure.filters if not _period_dependent(f)]
    period = [filter_sql(f, source, bind, grain) for f in measure.filters if _period_dependent(f)]
    return row, period


def _window(
    definition: MetricDefinition,
    measure: Measure,
    position: dict[str, tuple[str, str | None]],
    start_month: str,
) -> list[str]:
    """A member's window over the scan's groups, as conditions on quarter (or month) numbers."""
    snapshot = snapshot_of(definition, measure)
    if snapshot is not None:
        conditions = []
        if snapshot.opened:
            conditions.append(f"{position[snapshot.opened][0]} <= p.period_index")
        closed = position[snapshot.closed][0]
        conditions.append(f"({closed} IS NULL OR {closed} > p.period_index)")
        return conditions
    quarter, month = position[measure.time_dimension or definition.time_dimension or ""]
    if definition.grain is Grain.MONTH:
        return [f"{month} = p.period_index * 3 + {start_month} + 2"]
    if definition.grain is Grain.YEAR:
        return [f"{quarter} BETWEEN p.period_index - 3 AND p.period_index"]
    return [f"{quarter} = p.period_index"]


def _months_needed(scan: _SourceScan) -> dict[str, bool]:
    """Window column -> whether a member needs its month number (a month-grain event window);
    the others need only the quarter number."""
    needs_months: dict[str, bool] = {}
    for _, definition, measure in scan.members:
        month_grain = definition.grain is Grain.MONTH and snapshot_of(definition, measure) is None
        for name in window_columns(definition, measure):
            needs_months[name] = needs_months.get(name, False) or month_grain
    return needs_months


def _per_group_parts(measure: Measure, row_filters: list[str]) -> dict[str, str]:
    """A member's parts computed per group: "a" (its count, sum, minimum or maximum) and, for a
    mean, "n" (the count of values)."""
    if measure.agg is Agg.COUNT:
        return {"a": f"count_if({' AND '.join(row_filters)})" if row_filters else "count(*)"}
    restrict = f" FILTER (WHERE {' AND '.join(row_filters)})" if row_filters else ""
    expr = f"s.{ident(measure.expr or '')}"
    if measure.agg is Agg.AVERAGE:  # as compile_series: sum / count
        return {"a": f"sum({expr}){restrict}", "n": f"count({expr}){restrict}"}
    return {"a": f"{measure.agg.value}({expr}){restrict}"}


def _combined(measure: Measure, index: int, within: str) -> str:
    """A member's figure for a period from the parts of the groups inside its window."""
    part = f"s.__a{index}"
    if measure.agg is Agg.COUNT:
        return f"CAST(coalesce(sum({part}){within}, 0) AS BIGINT)"
    if measure.agg is Agg.SUM:
        return f"coalesce(sum({part}){within}, 0)"
    if measure.agg is Agg.AVERAGE:
        return f"CAST(sum({part}){within} AS DOUBLE) / sum(s.__n{index}){within}"
    return f"{measure.agg.value}({part}){within}"


def _group_keys(
    scan: _SourceScan, start_month: str
) -> tuple[dict[str, str], dict[str, tuple[str, str | None]]]:
    """The scan's grouping columns (output name -> expression over the rows) and, per window
    column, the SQL of its (quarter number, month number) over the groups."""
    needs_months = _months_needed(scan)
    period_fields = list(
        dict.fromkeys(
            f.field or "" for _, _, m in scan.members for f in m.filters if _period_dependent(f)
        )
    )
    keys: dict[str, str] = {}
    position: dict[str, tuple[str, str | None]] = {}
    for name, months in needs_months.items():
        col = f"s.{ident(name)}"
        month_number = _MONTH_NUMBER.format(col)
        if len(needs_months) == 1 and not period_fields:
            keys[name] = col  # grouped by the date itself: number the few groups, not every row
            position[name] = (f"({month_number} - {start_month}) // 3", month_number)
        elif months:
            keys[f"__m_{name}"] = month_number
            ref = f"s.{ident(f'__m_{name}')}"
            position[name] = (f"({ref} - {start_month}) // 3", ref)
        else:
            keys[f"__q_{name}"] = f"({month_number} - {start_month}) // 3"
            position[name] = (f"s.{ident(f'__q_{name}')}", None)
    for name in period_fields:
        keys.setdefault(name, f"s.{ident(name)}")
    return keys, position


def _scan_sql(scan: _SourceScan, bind: Binder, start_month: int, column_of: dict[int, str]) -> str:
    """The CTE of every part over one source: (period, one column per member). Fills
    column_of[id(member)] with the member's column."""
    source = scan.source
    sm = bind(start_month)
    keys, position = _group_keys(scan, sm)
    inner = [f"{expr} AS {ident(name)}" for name, expr in keys.items()]
    outer = []
    for index, member in enumerate(scan.members):
        _, definition, measure = member
        row_filters, period_filters = _split_filters(measure, source, bind, definition.grain)
        conditions = _window(definition, measure, position, sm) + period_filters
        within = f" FILTER (WHERE {' AND '.join(conditions)})"
        inner += [
            f"{sql} AS __{kind}{index}"
            for kind, sql in _per_group_parts(measure, row_filters).items()
        ]
        outer.append(f"{_combined(measure, index, within)} AS c{index}")
        column_of[id(member)] = f"c{index}"
    columns = list(
        dict.fromkeys(c for _, d, m in scan.members for c in referenced_columns(d, m, source))
    )
    positions = ", ".join(str(i + 1) for i in range(len(keys)))
    return (
        f"SELECT p.period, {', '.join(outer)}\n  FROM periods p\n"
        f"  LEFT JOIN (SELECT {', '.join(inner)} FROM ({source_select(source, columns)}) s "
        f"GROUP BY {positions}) s ON TRUE\n  GROUP BY p.period"
    )


def compile_catalog(
    definitions: list[MetricDefinition], sources: dict[str, Source], quarters: list[Quarter]
) -> CatalogQuery:
    """One query for many `scannable` metrics, one scan per source, giving for each metric the
    values compile_series gives (sums and means of non-integer columns up to float rounding)."""
    if not quarters:
        raise MetricError("no quarters to evaluate")
    start_months = {q.start_month for q in quarters}
    if len(start_months) != 1:
        raise MetricError("the quarters of one evaluation share one fiscal-year start")
    (start_month,) = start_months
    unscannable = [d.name for d in definitions if not scannable(d, sources)]
    if unscannable:
        raise MetricError(f"not evaluable in the catalog scan: {', '.join(unscannable)}")
    bind = Binder()
    periods = periods_cte(quarters, bind)
    scans: dict[str, _SourceScan] = {}
    parts: dict[str, dict[str, tuple[str, Member]]] = {}
    for definition in definitions:
        parts[definition.name] = {}
        for part, measure in definition.parts():
            source = source_of(measure, sources)
            member = (part, definition, measure)
            scans.setdefault(source.name, _SourceScan(source)).members.append(member)
            parts[definition.name][part] = (source.name, member)
    ctes, column_of, cte_of = [periods], {}, {}
    for index, (name, scan) in enumerate(scans.items()):
        cte_of[name] = f"g{index}"
        ctes.append(f"g{index} AS (\n  {_scan_sql(scan, bind, start_month, column_of)}\n)")
    values = []
    for position, definition in enumerate(definitions):
        refs = {
            part: f"{cte_of[name]}.{column_of[id(member)]}"
            for part, (name, member) in parts[definition.name].items()
        }
        if definition.type is MetricType.RATIO:
            value = f"CAST({refs['numerator']} AS DOUBLE) / NULLIF({refs['denominator']}, 0)"
        else:
            value = refs["measure"]
        values.append(f"{value} AS m{position}")
    joins = "".join(f"\nLEFT JOIN {cte} USING (period)" for cte in cte_of.values())
    sql = (
        "WITH " + ",\n".join(ctes) + f"\nSELECT p.period, {', '.join(values)}\n"
        f"FROM periods p{joins}\nORDER BY p.period_start"
    )
    return CatalogQuery(sql, bind.params, tuple(d.name for d in definitions))
