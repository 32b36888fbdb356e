"""Compile metric definitions to SQL and evaluate them per quarter (design §4).

One query per metric covers every requested quarter (compile_series): a generated periods table
(period, period_start, period_end) is joined to the metric's source, so a quarter's figure is
computed from event dates as of the quarter end. A whole catalog is evaluated by one query per
core (compile_catalog) in which the metrics over one source share one scan: the rows are grouped
by the quarter numbers of the dates the windows read, and those groups are folded into quarters
in Python (aims_metrics.metrics.folding), or joined to the periods in SQL for aggregates that do not fold
exactly. Every value reaches SQL as a bound parameter;
identifiers come only from the source declarations. Evaluation runs in a read-only transaction
with a time limit (a timer interrupts the connection).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import duckdb

from aims_metrics import store
from aims_metrics.metrics.folding import (
    Bound,
    FoldedAgg,
    FoldedMember,
    KeyBound,
    as_quarter_bound,
    fold_members,
    ratio,
)
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.vocabulary import (
    LIST_OPS,
    ORDER_OPS,
    PERIOD_END,
    PERIOD_START,
    Agg,
    Direction,
    Grain,
    MetricType,
    Op,
    Unit,
    coerce_filter_value,
)
from aims_metrics.tables.registry import TABLES

if TYPE_CHECKING:
    # The engine reads definitions by their attributes: the validated models, or their plain
    # mirrors (aims_metrics.metrics.plain_definitions) on the read path that does not import pydantic.
    from aims_metrics.metrics.models import Filter, Measure, MetricDefinition, Snapshot, Source

EVALUATION_TIME_LIMIT_SECONDS = 30.0
_ROW_MARKER = "__row"
_AND_INDENTED = "\n    AND "
_COMMA_NEWLINE = ",\n"


class KpiStatus(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NO_DATA = "no_data"


class MetricTimeout(RuntimeError):
    """A metric evaluation ran longer than its time limit and was interrupted."""


class MetricError(RuntimeError):
    """A metric could not be compiled or evaluated (unknown metric, invalid definition)."""


@dataclass(frozen=True)
class KpiResult:
    """One metric's figure for one quarter, with everything needed to show and judge it."""

    name: str
    label: str
    description: str
    owner: str
    clause: str
    unit: str  # count | percent | days
    direction: str
    target: float | int | None
    version: int
    quarter: str
    value: int | float | None
    previous_value: int | float | None
    status: KpiStatus
    thresholds: dict = field(default_factory=dict)
    problem: str | None = None  # why there is no value when that is an error (e.g. missing table)
    grain: str = Grain.QUARTER.value

    @property
    def window_note(self) -> str:
        """What span of time the figure covers when that is not the quarter itself, else ''."""
        return GRAIN_WINDOW_NOTES[Grain(self.grain)]

    @property
    def ref(self) -> str:
        """`name@version`, printed beside each figure so it can be reproduced."""
        return f"{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        """The design §8 `kpis --format json` entry."""
        return {
            "name": self.name,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "status": self.status.value,
            "version": self.version,
            "previous_value": self.previous_value,
        }


# --- compiling -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledQuery:
    """SQL with named parameters ($p1, $p2, …) and their values."""

    sql: str
    params: dict[str, Any]


class _Binder:
    """Hands out parameter names in order and keeps their values."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.params) + 1}"
        self.params[name] = value
        return f"${name}"


def _ident(name: str) -> str:
    return f'"{name}"'


# The span a figure for quarter Q covers, by the metric's grain: the quarter; its last month; the
# four quarters ending with it (at the fiscal year's last quarter, exactly the fiscal year). Every
# grain is reported as of the quarter end, so quarters stay comparable in the app and the minutes.
GRAIN_WINDOW_NOTES = {
    Grain.QUARTER: "",
    Grain.MONTH: "last month of the quarter",
    Grain.YEAR: "12 months to the quarter end",
}
_WINDOW_START_SQL = {
    Grain.QUARTER: "p.period_start",
    Grain.MONTH: "CAST(p.period_start + INTERVAL 2 MONTH AS DATE)",
    Grain.YEAR: "CAST(p.period_start - INTERVAL 9 MONTH AS DATE)",
}


def window_start(quarter: Quarter, grain: Grain) -> date:
    """The first day of the span a metric of this grain covers for the quarter."""
    grain = Grain(grain)
    if grain is Grain.MONTH:
        return quarter.end.replace(day=1)
    if grain is Grain.YEAR:
        return quarter.shift(-3).start
    return quarter.start


def _period_sql(variable: str, grain: Grain = Grain.QUARTER) -> str:
    return {PERIOD_START: _WINDOW_START_SQL[grain], PERIOD_END: "p.period_end"}[variable]


def _filter_sql(
    flt: Filter, source: Source, bind: _Binder, grain: Grain = Grain.QUARTER
) -> str:
    """One filter as SQL over the source alias `s`; values bound, never inlined; `$period_start`
    is the first day of the span the metric's grain covers."""
    if flt.sql is not None:
        # sqlglot only when a metric uses a free-form filter: it costs ~0.3 s of CLI start-up
        from aims_metrics.metrics.sqlfilter import check_sql_filter, emit_sql_filter

        checked, problems = check_sql_filter(flt.sql, source)
        if checked is None:
            raise MetricError("; ".join(problems))
        return emit_sql_filter(
            checked, lambda c: f"s.{_ident(c)}", bind, lambda v: _period_sql(v, grain)
        )
    column = source.column(flt.field or "")
    if column is None:
        raise MetricError(f"unknown column {flt.field!r} in source {source.name!r}")
    col = f"s.{_ident(column.name)}"

    def value_sql(raw: Any) -> str:
        value, problem = coerce_filter_value(column, raw)
        if problem:
            raise MetricError(problem)
        if isinstance(value, str) and value in (PERIOD_START, PERIOD_END):
            return _period_sql(value, grain)
        return bind(value)

    op = flt.op
    if op in LIST_OPS:
        items = ", ".join(value_sql(v) for v in flt.value)  # type: ignore[union-attr]
        if op is Op.IN:
            return f"{col} IN ({items})"
        return f"({col} IS NULL OR {col} NOT IN ({items}))"
    simple = {
        Op.IS_NULL: f"{col} IS NULL",
        Op.IS_NOT_NULL: f"{col} IS NOT NULL",
        Op.IS_TRUE: f"{col} IS TRUE",
        Op.IS_FALSE: f"{col} IS FALSE",
    }
    if op in simple:
        return simple[op]
    comparison = {
        Op.EQ: "=",
        Op.NEQ: "IS DISTINCT FROM",
        Op.GT: ">",
        Op.GTE: ">=",
        Op.LT: "<",
        Op.LTE: "<=",
    }[op]  # type: ignore[index]
    return f"{col} {comparison} {value_sql(flt.value)}"


def _referenced_columns(definition: MetricDefinition, measure: Measure, source: Source) -> list[str]:
    names = _window_columns(definition, measure)
    if measure.expr:
        names.append(measure.expr)
    for flt in measure.filters:
        if flt.sql is not None:
            from aims_metrics.metrics.sqlfilter import check_sql_filter

            checked, _ = check_sql_filter(flt.sql, source)
            if checked is not None:
                from sqlglot import exp

                names += [c.name for c in checked.tree.find_all(exp.Column)]
        elif flt.field:
            names.append(flt.field)
    declared = set(source.column_names)
    return [n for n in dict.fromkeys(names) if n in declared]


def source_select(source: Source, columns: list[str] | None = None) -> str:
    """SELECT of a source's declared (or the listed) columns; computed ones from their expr."""
    wanted = source.columns if columns is None else [source.column(c) for c in columns]
    items = []
    for column in wanted:
        if column is None:
            continue
        if column.expr:
            items.append(f"({column.expr}) AS {_ident(column.name)}")
        else:
            items.append(f"t.{_ident(column.name)}")
    items.append(f"TRUE AS {_ROW_MARKER}")
    return f"SELECT {', '.join(items)} FROM {_ident(source.table)} t"


def _window_conditions(
    definition: MetricDefinition,
    measure: Measure,
    snapshot: Snapshot | None,
    bind: _Binder,
    start_month: int | None,
) -> list[str]:
    if snapshot is not None:
        conditions = []
        if snapshot.opened:
            conditions.append(f"s.{_ident(snapshot.opened)} <= p.period_end")
        closed = f"s.{_ident(snapshot.closed)}"
        conditions.append(f"({closed} IS NULL OR {closed} > p.period_end)")
        return conditions
    time_dimension = measure.time_dimension or definition.time_dimension
    if time_dimension is None:
        raise MetricError(f"{definition.name}: a measure needs a time_dimension or a snapshot")
    column = f"s.{_ident(time_dimension)}"
    grain = definition.grain
    if grain is Grain.MONTH:
        # the quarter's last month, as an equality on month numbers (a hash join)
        return [f"year({column}) * 12 + month({column}) = year(p.period_end) * 12 + month(p.period_end)"]
    if start_month is None or grain is Grain.YEAR:
        return [f"{column} BETWEEN {_WINDOW_START_SQL[grain]} AND p.period_end"]
    # Same as `column BETWEEN p.period_start AND p.period_end` for quarters, but an equality on
    # the quarter's running number, so DuckDB hash-joins instead of range-joining a million rows.
    return [f"(year({column}) * 12 + month({column}) - {bind(start_month)}) // 3 = p.period_index"]


def _measure_conditions(
    definition: MetricDefinition,
    measure: Measure,
    source: Source,
    bind: _Binder,
    start_month: int | None = None,
) -> list[str]:
    snapshot = _snapshot_of(definition, measure)
    conditions = _window_conditions(definition, measure, snapshot, bind, start_month)
    conditions += [_filter_sql(flt, source, bind, definition.grain) for flt in measure.filters]
    return conditions


def _aggregate_sql(measure: Measure, only_where: list[str] | None = None) -> str:
    """The measure's aggregate; `only_where` restricts it to rows meeting those conditions."""
    restrict = f" FILTER (WHERE {' AND '.join(only_where)})" if only_where else ""
    if measure.agg is Agg.COUNT:
        return f"count(s.{_ROW_MARKER}){restrict}"
    expr = f"s.{_ident(measure.expr or '')}"
    if measure.agg is Agg.SUM:
        return f"coalesce(sum({expr}){restrict}, 0)"
    if measure.agg is Agg.AVERAGE:
        # sum / count rather than avg(): DuckDB's avg divides in long double, and a fused scan
        # (compile_catalog) combines per-group sums and counts, which must give the same value
        return f"CAST(sum({expr}){restrict} AS DOUBLE) / count({expr}){restrict}"
    return {
        Agg.COUNT_DISTINCT: f"count(DISTINCT {expr})",
        Agg.MEDIAN: f"median({expr})",
        Agg.P90: f"quantile_cont({expr}, 0.9)",
        Agg.MIN: f"min({expr})",
        Agg.MAX: f"max({expr})",
    }[measure.agg] + restrict


def _shares_one_scan(definition: MetricDefinition) -> bool:
    """A ratio whose parts read the same source over the same window is computed in one scan."""
    num, den = definition.numerator, definition.denominator
    if definition.type is not MetricType.RATIO or num is None or den is None:
        return False
    return (
        num.source == den.source
        and num.snapshot == den.snapshot
        and (num.time_dimension or definition.time_dimension)
        == (den.time_dimension or definition.time_dimension)
    )


def _source_of(measure: Measure, sources: dict[str, Source]) -> Source:
    try:
        return sources[measure.source]
    except KeyError:
        raise MetricError(f"unknown source {measure.source!r}") from None


def period_index(quarter: Quarter) -> int:
    """A quarter's running number: (year·12 + month − fiscal start month) // 3 of any day in it."""
    return (quarter.start.year * 12 + quarter.start.month - quarter.start_month) // 3


def _periods_cte(quarters: list[Quarter], bind: _Binder) -> str:
    rows = ", ".join(
        f"({bind(q.label)}, CAST({bind(q.start)} AS DATE), CAST({bind(q.end)} AS DATE), "
        f"CAST({bind(period_index(q))} AS BIGINT))"
        for q in quarters
    )
    return (
        f"periods AS (SELECT * FROM (VALUES {rows}) "
        "AS v(period, period_start, period_end, period_index))"
    )


def compile_series(
    definition: MetricDefinition, sources: dict[str, Source], quarters: list[Quarter]
) -> CompiledQuery:
    """One query giving (period, value[, numerator, denominator]) for every quarter, in order."""
    if not quarters:
        raise MetricError("no quarters to evaluate")
    bind = _Binder()
    ctes = [_periods_cte(quarters, bind)]
    start_months = {q.start_month for q in quarters}
    start_month = start_months.pop() if len(start_months) == 1 else None
    if _shares_one_scan(definition):
        num, den = definition.numerator, definition.denominator
        assert num is not None and den is not None
        source = _source_of(num, sources)
        columns = list(
            dict.fromkeys(
                _referenced_columns(definition, num, source)
                + _referenced_columns(definition, den, source)
            )
        )
        window = _window_conditions(definition, num, num.snapshot, bind, start_month)
        num_only = [_filter_sql(flt, source, bind, definition.grain) for flt in num.filters]
        den_only = [_filter_sql(flt, source, bind, definition.grain) for flt in den.filters]
        ctes.append(
            f"parts AS (\n  SELECT p.period, {_aggregate_sql(num, num_only)} AS numerator, "
            f"{_aggregate_sql(den, den_only)} AS denominator\n"
            f"  FROM periods p\n  LEFT JOIN ({source_select(source, columns)}) s\n"
            f"    ON {_AND_INDENTED.join(window)}\n  GROUP BY p.period\n)"
        )
        select = (
            "SELECT p.period, CAST(parts.numerator AS DOUBLE) / NULLIF(parts.denominator, 0) "
            "AS value, parts.numerator, parts.denominator\n"
            "FROM periods p\nLEFT JOIN parts USING (period)"
        )
        sql = f"WITH {_COMMA_NEWLINE.join(ctes)}\n{select}\nORDER BY p.period_start"
        return CompiledQuery(sql, bind.params)
    for part, measure in definition.parts():
        source = _source_of(measure, sources)
        columns = _referenced_columns(definition, measure, source)
        conditions = _measure_conditions(definition, measure, source, bind, start_month)
        ctes.append(
            f"{part} AS (\n  SELECT p.period, {_aggregate_sql(measure)} AS value\n"
            f"  FROM periods p\n  LEFT JOIN ({source_select(source, columns)}) s\n"
            f"    ON {_AND_INDENTED.join(conditions)}\n  GROUP BY p.period\n)"
        )
    if definition.type is MetricType.RATIO:
        select = (
            "SELECT p.period, CAST(numerator.value AS DOUBLE) / NULLIF(denominator.value, 0) "
            "AS value, numerator.value AS numerator, denominator.value AS denominator\n"
            "FROM periods p\nLEFT JOIN numerator USING (period)\nLEFT JOIN denominator USING (period)"
        )
    else:
        select = "SELECT p.period, measure.value AS value\nFROM periods p\nLEFT JOIN measure USING (period)"
    sql = f"WITH {_COMMA_NEWLINE.join(ctes)}\n{select}\nORDER BY p.period_start"
    return CompiledQuery(sql, bind.params)


def compile_records(
    definition: MetricDefinition, sources: dict[str, Source], quarter: Quarter
) -> CompiledQuery:
    """The source rows behind one quarter's value. For a ratio over one source: the denominator's
    rows with `in_numerator`; over two sources: the numerator's rows."""
    bind = _Binder()
    periods = _periods_cte([quarter], bind)
    if definition.type is MetricType.RATIO:
        num, den = definition.numerator, definition.denominator
        assert num is not None and den is not None
        same_source = num.source == den.source
        main = den if same_source else num
    else:
        main, same_source = definition.measure, False
        assert main is not None
    source = _source_of(main, sources)
    conditions = _measure_conditions(definition, main, source, bind)
    columns = ", ".join(f"s.{_ident(c)}" for c in source.column_names)
    if definition.type is MetricType.RATIO and same_source:
        num_conditions = _measure_conditions(definition, num, source, bind)  # type: ignore[arg-type]
        columns += f", coalesce({' AND '.join(num_conditions)}, false) AS in_numerator"
    order = f" ORDER BY s.{_ident(source.key)}" if source.key else ""
    sql = (
        f"WITH {periods}\nSELECT {columns}\nFROM periods p\nJOIN ({source_select(source)}) s\n"
        f"  ON {' AND '.join(conditions)}{order}"
    )
    return CompiledQuery(sql, bind.params)


# --- compiling a whole catalog into one query --------------------------------------------------

# Aggregates whose per-group partial results combine exactly (whatever the column type):
# count = sum of counts, min = min of mins, max = max of maxes. The others (sums and averages, whose
# floating-point result could move in the last bit; medians; distinct counts) read the rows.
_PARTIAL = {Agg.COUNT: "sum", Agg.MIN: "min", Agg.MAX: "max"}


@dataclass(frozen=True)
class FusedQuery:
    """One query for several metrics: (period, one value column per metric, in `names` order)."""

    sql: str
    params: dict[str, Any]
    names: tuple[str, ...]
    fold: FoldPlan | None = None  # rows to fold in Python (fused_values), not one per period


def _period_dependent(flt: Filter) -> bool:
    values = flt.value if isinstance(flt.value, (list, tuple)) else [flt.value]
    return any(isinstance(v, str) and v in (PERIOD_START, PERIOD_END) for v in values)


def _split_filters(
    measure: Measure, source: Source, bind: _Binder, grain: Grain
) -> tuple[list[str], list[str]]:
    """A measure's filters as SQL: those on a row alone, then those comparing it with
    $period_start or $period_end (evaluated per period)."""
    row = [_filter_sql(f, source, bind, grain) for f in measure.filters if not _period_dependent(f)]
    period = [_filter_sql(f, source, bind, grain) for f in measure.filters if _period_dependent(f)]
    return row, period


@dataclass
class _Group:
    """Parts of metrics that read one source (over one window, unless `scan`): one CTE, one scan."""

    source: Source
    definition: MetricDefinition  # the first member (window conditions are the same for all)
    measure: Measure
    snapshot: Snapshot | None
    partial: bool  # pre-aggregated by the window's columns (see _PARTIAL) or rows joined
    members: list[tuple[str, MetricDefinition, Measure]] = field(default_factory=list)
    scan: bool = False  # every window over the source at once (see _scan_sql)


# Column types whose sums are exact, so sums of per-group sums equal the sum over the rows.
_EXACT_SUM_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
     "UBIGINT", "UHUGEINT", "DECIMAL"}
)


def _column_type(
    source: Source, name: str | None, types: dict[str, str], computed: dict[str, str]
) -> str | None:
    column = source.column(name) if name else None
    if column is None:
        return None
    return computed.get(column.name) if column.expr else types.get(column.name)


def _snapshot_of(definition: MetricDefinition, measure: Measure) -> Snapshot | None:
    """The snapshot a metric part counts over: its own, else its metric's (None: a window)."""
    return definition.snapshot or measure.snapshot


def _window_columns(definition: MetricDefinition, measure: Measure) -> list[str]:
    snapshot = _snapshot_of(definition, measure)
    if snapshot is not None:
        return [n for n in (snapshot.opened, snapshot.closed) if n]
    return [measure.time_dimension or definition.time_dimension or ""]


def _scannable(
    definition: MetricDefinition,
    measure: Measure,
    source: Source,
    types: dict[str, str],
    computed: dict[str, str],
) -> bool:
    """Whether a metric part can join its source's shared scan (_scan_sql): its window reads plain
    DATE columns, its filters name fields (no free-form SQL), and its aggregate is rebuilt exactly
    from per-group parts (counts, minima, maxima; sums and means of integers or decimals)."""
    if any(f.sql is not None for f in measure.filters):
        return False
    if measure.agg in (Agg.SUM, Agg.AVERAGE):
        type_name = _column_type(source, measure.expr, types, computed) or ""
        if type_name.split("(")[0] not in _EXACT_SUM_TYPES:
            return False
    elif measure.agg not in _PARTIAL:
        return False
    return all(_is_plain_date(source, n, types) for n in _window_columns(definition, measure))


def _window_key(definition: MetricDefinition, measure: Measure) -> tuple:
    snapshot = _snapshot_of(definition, measure)
    if snapshot is not None:
        return ("snapshot", snapshot.opened, snapshot.closed, definition.grain)
    return ("window", measure.time_dimension or definition.time_dimension, definition.grain)


def _is_plain_date(source: Source, name: str | None, types: dict[str, str]) -> bool:
    column = source.column(name) if name else None
    return column is not None and not column.expr and types.get(column.name) == "DATE"


def _row_bounds(
    group: _Group, types: dict[str, str], bind: _Binder, quarters: list[Quarter]
) -> list[str]:
    """Conditions every row that can fall in one of the quarters meets (over the table alias
    `t`, plain DATE columns only), so the scan skips the others before grouping: an event date
    within first start..last end; a snapshot opened by the last end and not closed by the first
    end."""
    first_start = min(window_start(q, group.definition.grain) for q in quarters)
    first_end, last_end = min(q.end for q in quarters), max(q.end for q in quarters)
    snapshot = group.snapshot
    bounds = []
    if snapshot is None:
        name = group.measure.time_dimension or group.definition.time_dimension
        if _is_plain_date(group.source, name, types):
            column = f"t.{_ident(name or '')}"
            bounds.append(f"{column} BETWEEN {bind(first_start)} AND {bind(last_end)}")
        return bounds
    if _is_plain_date(group.source, snapshot.opened, types):
        bounds.append(f"t.{_ident(snapshot.opened or '')} <= {bind(last_end)}")
    if _is_plain_date(group.source, snapshot.closed, types):
        closed = f"t.{_ident(snapshot.closed)}"
        bounds.append(f"({closed} IS NULL OR {closed} > {bind(first_end)})")
    return bounds


def _group_sql(
    group: _Group,
    bind: _Binder,
    start_month: int | None,
    types: dict[str, str],
    column_of: dict[int, str],
    quarters: list[Quarter],
) -> str:
    """The group's CTE: (period, one column per member). Fills column_of[id(member)]."""
    source, definition, snapshot = group.source, group.definition, group.snapshot
    columns = _group_columns(group)
    bounds = _row_bounds(group, types, bind, quarters)
    where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
    rows = f"({source_select(source, columns)}{where}) s"
    if not group.partial:
        window = _window_conditions(definition, group.measure, snapshot, bind, start_month)
        items = []
        for index, (_, _, measure) in enumerate(group.members):
            only = [_filter_sql(flt, source, bind, definition.grain) for flt in measure.filters]
            items.append(f"{_aggregate_sql(measure, only)} AS c{index}")
            column_of[id(group.members[index])] = f"c{index}"
        return (
            f"SELECT p.period, {', '.join(items)}\n  FROM periods p\n  LEFT JOIN {rows}\n"
            f"    ON {_AND_INDENTED.join(window)}\n  GROUP BY p.period"
        )
    # Pre-aggregate the rows by the columns the window (and any filter on $period_start or
    # $period_end) reads, then join those few groups to the periods.
    dims: dict[str, str] = {}  # output column -> expression over the source rows
    outer_window: list[str]
    if snapshot is not None and start_month is not None and all(
        _is_plain_date(source, name, types) for name in (snapshot.opened, snapshot.closed) if name
    ):
        # A date is on or before the quarter's last day exactly when its quarter number is at
        # most the quarter's: compare quarter numbers, computed once per row.
        outer_window = []
        sm = bind(start_month)
        for role, name in (("opened", snapshot.opened), ("closed", snapshot.closed)):
            if name:
                col = f"s.{_ident(name)}"
                dims[f"__{role}"] = f"(year({col}) * 12 + month({col}) - {sm}) // 3"
        if snapshot.opened:
            outer_window.append("s.__opened <= p.period_index")
        outer_window.append("(s.__closed IS NULL OR s.__closed > p.period_index)")
    else:
        names = (
            [n for n in (snapshot.opened, snapshot.closed) if n]
            if snapshot is not None
            else [group.measure.time_dimension or definition.time_dimension or ""]
        )
        for name in names:
            dims[name] = f"s.{_ident(name)}"
        outer_window = _window_conditions(definition, group.measure, snapshot, bind, start_month)
    for _, _, measure in group.members:
        for flt in measure.filters:
            if _period_dependent(flt):
                dims.setdefault(flt.field or "", f"s.{_ident(flt.field or '')}")
    inner, outer = [f"{expr} AS {_ident(name)}" for name, expr in dims.items()], []
    for index, member in enumerate(group.members):
        _, _, measure = member
        grain = definition.grain
        row_filters, period_filters = _split_filters(measure, source, bind, grain)
        restrict = f" FILTER (WHERE {' AND '.join(row_filters)})" if row_filters else ""
        value = "*" if measure.agg is Agg.COUNT else f"s.{_ident(measure.expr or '')}"
        inner.append(f"{measure.agg.value}({value}){restrict} AS __a{index}")
        combine = f"{_PARTIAL[measure.agg]}(s.__a{index})"
        if period_filters:
            combine += f" FILTER (WHERE {' AND '.join(period_filters)})"
        if measure.agg is Agg.COUNT:
            combine = f"CAST(coalesce({combine}, 0) AS BIGINT)"
        outer.append(f"{combine} AS c{index}")
        column_of[id(member)] = f"c{index}"
    positions = ", ".join(str(i + 1) for i in range(len(dims)))
    return (
        f"SELECT p.period, {', '.join(outer)}\n  FROM periods p\n"
        f"  LEFT JOIN (SELECT {', '.join(inner)} FROM {rows} GROUP BY {positions}) s\n"
        f"    ON {_AND_INDENTED.join(outer_window)}\n  GROUP BY p.period"
    )


def _scan_window(
    definition: MetricDefinition,
    measure: Measure,
    position: dict[str, tuple[str, str | None]],
    start_month: str,
) -> list[str]:
    """A member's window over the scan's groups, as conditions on quarter (or month) numbers."""
    snapshot = _snapshot_of(definition, measure)
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


def _group_columns(group: _Group) -> list[str]:
    """The source columns the group's members read, in first-use order."""
    return list(
        dict.fromkeys(
            c for _, d, m in group.members for c in _referenced_columns(d, m, group.source)
        )
    )


def _months_needed(group: _Group) -> dict[str, bool]:
    """Window column -> whether a member needs its month number (a month-grain event window);
    the others need only the quarter number."""
    needs_months: dict[str, bool] = {}
    for _, definition, measure in group.members:
        month_grain = definition.grain is Grain.MONTH and _snapshot_of(definition, measure) is None
        for name in _window_columns(definition, measure):
            needs_months[name] = needs_months.get(name, False) or month_grain
    return needs_months


def _per_group_parts(measure: Measure, row_filters: list[str]) -> dict[str, str]:
    """A member's parts computed per group of a shared scan: "a" (its count, sum, minimum or
    maximum) and, for a mean, "n" (the count of values)."""
    if measure.agg is Agg.COUNT:
        # count_if(c) counts the rows where c is true, as count(*) FILTER (WHERE c), and costs
        # DuckDB a third less on a million rows
        return {"a": f"count_if({' AND '.join(row_filters)})" if row_filters else "count(*)"}
    restrict = f" FILTER (WHERE {' AND '.join(row_filters)})" if row_filters else ""
    expr = f"s.{_ident(measure.expr or '')}"
    if measure.agg is Agg.AVERAGE:  # as _aggregate_sql: sum / count
        return {"a": f"sum({expr}){restrict}", "n": f"count({expr}){restrict}"}
    return {"a": f"{measure.agg.value}({expr}){restrict}"}


_MONTH_NUMBER = "(year({0}) * 12 + month({0}))"


def _scan_sql(
    group: _Group, bind: _Binder, start_month: int, column_of: dict[int, str]
) -> str:
    """The CTE of every scannable part over one source (see _scannable), whatever its window: the
    rows are grouped once by the quarter numbers of the DATE columns the windows read (month
    numbers where a month-grain window needs them; the date itself when it is the only one) and
    by the columns filters compare with $period_start/$period_end; each part's figure for a
    period sums (or takes the min or max of) the groups inside its window."""
    source = group.source
    columns = _group_columns(group)
    needs_months = _months_needed(group)
    period_fields = list(
        dict.fromkeys(
            f.field or "" for _, _, m in group.members for f in m.filters if _period_dependent(f)
        )
    )
    sm = bind(start_month)
    dims: dict[str, str] = {}  # output column -> expression over the rows
    position: dict[str, tuple[str, str | None]] = {}  # window column -> (quarter, month) numbers
    for name, months in needs_months.items():
        col = f"s.{_ident(name)}"
        month_number = _MONTH_NUMBER.format(col)
        if len(needs_months) == 1 and not period_fields:
            dims[name] = col  # grouped by the date: number the few groups, not every row
            position[name] = (f"({month_number} - {sm}) // 3", month_number)
        elif months:
            dims[f"__m_{name}"] = month_number
            ref = f"s.{_ident(f'__m_{name}')}"
            position[name] = (f"({ref} - {sm}) // 3", ref)
        else:
            dims[f"__q_{name}"] = f"({month_number} - {sm}) // 3"
            position[name] = (f"s.{_ident(f'__q_{name}')}", None)
    for name in period_fields:
        dims.setdefault(name, f"s.{_ident(name)}")
    inner = [f"{expr} AS {_ident(name)}" for name, expr in dims.items()]
    outer = []
    for index, member in enumerate(group.members):
        _, definition, measure = member
        grain = definition.grain
        row_filters, period_filters = _split_filters(measure, source, bind, grain)
        within = " FILTER (WHERE {})".format(
            " AND ".join(_scan_window(definition, measure, position, sm) + period_filters)
        )
        inner += [
            f"{sql} AS __{kind}{index}"
            for kind, sql in _per_group_parts(measure, row_filters).items()
        ]
        part = f"s.__a{index}"
        if measure.agg is Agg.COUNT:
            value = f"CAST(coalesce(sum({part}){within}, 0) AS BIGINT)"
        elif measure.agg is Agg.SUM:
            value = f"coalesce(sum({part}){within}, 0)"
        elif measure.agg is Agg.AVERAGE:
            value = f"CAST(sum({part}){within} AS DOUBLE) / sum(s.__n{index}){within}"
        else:
            value = f"{measure.agg.value}({part}){within}"
        outer.append(f"{value} AS c{index}")
        column_of[id(member)] = f"c{index}"
    positions = ", ".join(str(i + 1) for i in range(len(dims)))
    rows = f"({source_select(source, columns)}) s"
    return (
        f"SELECT p.period, {', '.join(outer)}\n  FROM periods p\n"
        f"  LEFT JOIN (SELECT {', '.join(inner)} FROM {rows} GROUP BY {positions}) s ON TRUE\n"
        "  GROUP BY p.period"
    )


# --- a catalog folded in Python (see aims_metrics.metrics.folding) ----------------------------------

_INTEGER_TYPES = _EXACT_SUM_TYPES - {"DECIMAL"}
# $period_start is the first day of this month of the quarter (0 = its first) for each grain
_START_MONTH_OFFSET = {Grain.QUARTER: 0, Grain.MONTH: 2, Grain.YEAR: -9}


def _period_filter_key(
    flt: Filter, grain: Grain, start_month: int
) -> tuple[int, Bound, int] | None:
    """A filter `date op $period_start|$period_end` as a bound on the month number of the date
    shifted by -1, 0 or +1 days: (shift, bound, offset), or None when it is not such a filter.
    The quarter `pi` ends on the last day of month 3·pi + start_month + 2 and `$period_start` is
    the first day of month 3·pi + start_month + grain offset, so `d < end` is m(d + 1) <= that
    month, `d > start` is m(d - 1) >= the start month, and so on."""
    if flt.op not in ORDER_OPS or flt.value not in (PERIOD_START, PERIOD_END):
        return None
    if flt.value == PERIOD_END:
        last = start_month + 2
        return {
            Op.LTE: (0, Bound.MONTH_AT_LEAST, last),
            Op.LT: (1, Bound.MONTH_AT_LEAST, last),
            Op.GT: (0, Bound.MONTH_AT_MOST, last + 1),
            Op.GTE: (1, Bound.MONTH_AT_MOST, last + 1),
        }[flt.op]
    first = start_month + _START_MONTH_OFFSET[grain]
    return {
        Op.GTE: (0, Bound.MONTH_AT_MOST, first),
        Op.LT: (0, Bound.MONTH_AT_LEAST, first - 1),
        Op.GT: (-1, Bound.MONTH_AT_MOST, first),
        Op.LTE: (-1, Bound.MONTH_AT_LEAST, first - 1),
    }[flt.op]


def _foldable(group: _Group, types: dict[str, str], computed: dict[str, str], start_month: int) -> bool:
    """Whether folding.fold_members gives the group's figures exactly: a shared scan (_scannable)
    whose sums and means are of integers, minima and maxima of integers or dates, and filters
    on $period_start/$period_end order comparisons of a DATE column."""
    if not group.scan:
        return False
    for _, definition, measure in group.members:
        type_name = (_column_type(group.source, measure.expr, types, computed) or "").split("(")[0]
        if measure.agg in (Agg.SUM, Agg.AVERAGE) and type_name not in _INTEGER_TYPES:
            return False
        if measure.agg in (Agg.MIN, Agg.MAX) and type_name not in _INTEGER_TYPES | {"DATE"}:
            return False
        for flt in measure.filters:
            if not _period_dependent(flt):
                continue
            field_type = _column_type(group.source, flt.field, types, computed)
            if field_type != "DATE" or _period_filter_key(flt, definition.grain, start_month) is None:
                return False
    return True


def _window_bounds(
    definition: MetricDefinition,
    measure: Measure,
    key_of: dict[str, tuple[int, bool]],
    start_month: int,
) -> list[KeyBound]:
    """A member's window as bounds on the quarter number, from its window columns' keys
    (position, is a month number): as _scan_window, written as inequalities on pi."""
    sm = start_month

    def at_least(name: str) -> KeyBound:  # pi >= the key's quarter
        position, month = key_of[name]
        if month:
            return KeyBound(position, Bound.MONTH_AT_LEAST, sm + 2)
        return KeyBound(position, Bound.QUARTER_AT_LEAST, 0)

    def at_most(name: str, quarters: int, null_unbounded: bool = False) -> KeyBound:
        # pi <= the key's quarter + quarters
        position, month = key_of[name]
        if month:
            return KeyBound(position, Bound.MONTH_AT_MOST, sm - 3 * quarters, null_unbounded)
        return KeyBound(position, Bound.QUARTER_AT_MOST, quarters, null_unbounded)

    snapshot = _snapshot_of(definition, measure)
    if snapshot is not None:
        bounds = [at_least(snapshot.opened)] if snapshot.opened else []
        return bounds + [at_most(snapshot.closed, -1, null_unbounded=True)]
    name = measure.time_dimension or definition.time_dimension or ""
    if definition.grain is Grain.MONTH:
        return [KeyBound(key_of[name][0], Bound.MONTH_EQUALS, sm + 2)]
    return [at_least(name), at_most(name, 3 if definition.grain is Grain.YEAR else 0)]


def _fold_group_sql(
    group: _Group,
    tag: int,
    bind: _Binder,
    start_month: int,
    columns_out: list[str],
    members_out: dict[int, FoldedMember],
) -> str:
    """The group's rows grouped by the keys its members' windows need (quarter or month numbers;
    for a date compared with $period_start/$period_end, the month number of the date shifted by
    a day as _period_filter_key says), one per-group part per member. Output columns are named
    g<tag>_…, appended to columns_out; members_out gets each member's FoldedMember by id."""
    source, bound_start_month = group.source, []

    def sm() -> str:  # the start month's parameter, bound once when first used
        if not bound_start_month:
            bound_start_month.append(bind(start_month))
        return bound_start_month[0]

    needs_months = _months_needed(group)
    # per member: its $period_start/$period_end filters as (field, shift, bound, offset)
    period_filters: list[list[tuple[str, int, Bound, int]]] = []
    # (field, shift) -> whether its quarter number serves every bound on it (else its month)
    filter_keys: dict[tuple[str, int], bool] = {}
    for _, definition, measure in group.members:
        keyed = []
        for flt in measure.filters:
            if _period_dependent(flt):
                shift, bound, offset = _period_filter_key(flt, definition.grain, start_month)  # type: ignore[misc]
                keyed.append((flt.field or "", shift, bound, offset))
                by_quarter = as_quarter_bound(bound, offset, start_month) is not None
                key = (flt.field or "", shift)
                filter_keys[key] = filter_keys.get(key, True) and by_quarter
        period_filters.append(keyed)
    # One date alone: group the rows by the date, then number those few groups (second level).
    by_date = len(needs_months) == 1 and not filter_keys
    prefix = f"g{tag}_"
    keys: list[tuple[str, str]] = []  # (output name, expression over the rows or the dates)
    key_of: dict[str, tuple[int, bool]] = {}
    first = len(columns_out) + 1  # after __g
    for name, months in needs_months.items():
        col = f"s.{_ident(name)}"
        number = _MONTH_NUMBER.format(col)
        key_of[name] = (first + len(keys), months)
        keys.append((f"{prefix}k{len(keys)}", number if months else f"({number} - {sm()}) // 3"))
    filter_key_of: dict[tuple[str, int], int] = {}
    for (field_name, shift), by_quarter in filter_keys.items():
        col = f"s.{_ident(field_name)}"
        number = _MONTH_NUMBER.format(col if shift == 0 else f"({col} {'+' if shift > 0 else '-'} 1)")
        filter_key_of[(field_name, shift)] = first + len(keys)
        keys.append((f"{prefix}k{len(keys)}", f"({number} - {sm()}) // 3" if by_quarter else number))
    parts: list[tuple[str, str, str]] = []  # (output name, expression, recombining function)
    for index, member in enumerate(group.members):
        _, definition, measure = member
        row_filters, _ = _split_filters(measure, source, bind, definition.grain)
        value_at = first + len(keys) + len(parts)
        count_at = value_at + 1 if measure.agg is Agg.AVERAGE else None
        # the second level combines counts and sums by summing, minima and maxima by themselves
        combine = measure.agg.value if measure.agg in (Agg.MIN, Agg.MAX) else "sum"
        parts += [
            (f"{prefix}{kind}{index}", sql, combine)
            for kind, sql in _per_group_parts(measure, row_filters).items()
        ]
        bounds = _window_bounds(definition, measure, key_of, start_month)
        for field_name, shift, bound, offset in period_filters[index]:
            if filter_keys[(field_name, shift)]:
                bound, offset = as_quarter_bound(bound, offset, start_month)  # type: ignore[misc]
            bounds.append(KeyBound(filter_key_of[(field_name, shift)], bound, offset))
        members_out[id(member)] = FoldedMember(
            tuple(bounds), FoldedAgg(measure.agg.value), value_at, count_at
        )
    columns_out.extend([name for name, _ in keys] + [name for name, _, _ in parts])
    rows = f"({source_select(source, _group_columns(group))}) s"
    if by_date:
        ((key_name, number),) = keys
        (name,) = needs_months
        inner = ", ".join([f"s.{_ident(name)} AS {key_name}"] + [f"{e} AS {n}" for n, e, _ in parts])
        outer = ", ".join(
            [f"{number.replace(f's.{_ident(name)}', key_name)} AS {key_name}"]
            + [f"{function}({n}) AS {n}" for n, _, function in parts]
        )
        return f"SELECT {tag} AS __g, {outer} FROM (SELECT {inner} FROM {rows} GROUP BY 1) GROUP BY 2"
    items = ", ".join([f"{e} AS {n}" for n, e in keys] + [f"{e} AS {n}" for n, e, _ in parts])
    positions = ", ".join(str(i + 2) for i in range(len(keys)))
    group_by = f" GROUP BY {positions}" if keys else ""
    return f"SELECT {tag} AS __g, {items} FROM {rows}{group_by}"


@dataclass(frozen=True)
class FoldPlan:
    """How fused_values turns a folded catalog query's rows into figures."""

    periods: tuple[tuple[str, int], ...]  # (label, quarter number) in the requested order
    members: tuple[tuple[int, FoldedMember], ...]  # (group tag, member)
    metrics: tuple[tuple[int, ...], ...]  # per metric: member indexes (measure) or (num, den)


def _compile_folded(
    groups: list[_Group],
    definitions: list[MetricDefinition],
    parts: dict[str, dict[str, tuple[int, tuple]]],
    quarters: list[Quarter],
    start_month: int,
) -> FusedQuery:
    bind = _Binder()
    columns: list[str] = []
    folded: dict[int, FoldedMember] = {}
    selects = [
        _fold_group_sql(group, tag, bind, start_month, columns, folded)
        for tag, group in enumerate(groups)
    ]
    union = " UNION ALL BY NAME ".join(f"({select})" for select in selects)
    sql = f"SELECT __g, {', '.join(columns)} FROM ({union})" if len(selects) > 1 else selects[0]
    members: list[tuple[int, FoldedMember]] = []
    metrics: list[tuple[int, ...]] = []
    for definition in definitions:
        names = ("numerator", "denominator") if definition.type is MetricType.RATIO else ("measure",)
        indexes = []
        for part in names:
            tag, member = parts[definition.name][part]
            indexes.append(len(members))
            members.append((tag, folded[id(member)]))
        metrics.append(tuple(indexes))
    plan = FoldPlan(
        tuple((q.label, period_index(q)) for q in quarters), tuple(members), tuple(metrics)
    )
    return FusedQuery(sql, bind.params, tuple(d.name for d in definitions), plan)


def fused_values(query: FusedQuery, rows: list[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
    """metric -> period label -> value, from the rows of a fused catalog query."""
    if query.fold is None:
        return {
            name: {row[0]: row[index] for row in rows}
            for index, name in enumerate(query.names, start=1)
        }
    plan = query.fold
    by_group: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_group.setdefault(row[0], []).append(row)
    numbers = [number for _, number in plan.periods]
    figures: list[list[Any]] = [[] for _ in plan.members]
    for tag in {tag for tag, _ in plan.members}:
        indexes = [i for i, (t, _) in enumerate(plan.members) if t == tag]
        folded = fold_members([plan.members[i][1] for i in indexes], by_group.get(tag, []), numbers)
        for i, series in zip(indexes, folded, strict=True):
            figures[i] = series
    values: dict[str, dict[str, Any]] = {}
    for name, indexes in zip(query.names, plan.metrics, strict=True):
        if len(indexes) == 1:
            series = figures[indexes[0]]
        else:
            numerator, denominator = (figures[i] for i in indexes)
            series = [ratio(n, d) for n, d in zip(numerator, denominator, strict=True)]
        values[name] = {label: value for (label, _), value in zip(plan.periods, series, strict=True)}
    return values


def compile_catalog(
    definitions: list[MetricDefinition],
    sources: dict[str, Source],
    quarters: list[Quarter],
    types: dict[str, dict[str, str]] | None = None,
    computed_types: dict[str, dict[str, str]] | None = None,
) -> FusedQuery:
    """One query for many metrics, giving the same values as compile_series for each.

    With `types` (table -> column -> DuckDB type) and quarters of one fiscal year start, the parts
    over one source that _scannable admits share one scan whatever their windows (_scan_sql);
    `computed_types` (source -> computed column -> type, see computed_column_types) admits sums
    and means of computed integer columns. Other parts that read the same source over the same
    window share one scan: counts, minima and maxima are pre-aggregated by the window's columns
    and the groups joined to the periods; other aggregates join the rows.
    """
    if not quarters:
        raise MetricError("no quarters to evaluate")
    types = types or {}
    computed_types = computed_types or {}
    bind = _Binder()
    periods = _periods_cte(quarters, bind)
    start_months = {q.start_month for q in quarters}
    start_month = start_months.pop() if len(start_months) == 1 else None
    index_of: dict[tuple, int] = {}
    groups: list[_Group] = []
    parts: dict[str, dict[str, tuple[int, tuple]]] = {}
    for definition in definitions:
        parts[definition.name] = {}
        for part, measure in definition.parts():
            source = _source_of(measure, sources)
            scan = start_month is not None and _scannable(
                definition,
                measure,
                source,
                types.get(source.table, {}),
                computed_types.get(source.name, {}),
            )
            partial = measure.agg in _PARTIAL and all(f.sql is None for f in measure.filters)
            key = (source.name, "scan") if scan else (source.name, partial, *_window_key(definition, measure))
            if key not in index_of:
                index_of[key] = len(groups)
                snapshot = _snapshot_of(definition, measure)
                groups.append(_Group(source, definition, measure, snapshot, partial, scan=scan))
            member = (part, definition, measure)
            groups[index_of[key]].members.append(member)
            parts[definition.name][part] = (index_of[key], member)
    if start_month is not None and all(
        _foldable(
            group,
            types.get(group.source.table, {}),
            computed_types.get(group.source.name, {}),
            start_month,
        )
        for group in groups
    ):
        return _compile_folded(groups, definitions, parts, quarters, start_month)
    ctes, column_of = [periods], {}
    for index, group in enumerate(groups):
        if group.scan:
            body = _scan_sql(group, bind, start_month or 1, column_of)
        else:
            table_types = types.get(group.source.table, {})
            body = _group_sql(group, bind, start_month, table_types, column_of, quarters)
        ctes.append(f"g{index} AS (\n  {body}\n)")
    values, names = [], []
    for definition in definitions:
        refs = {
            part: f"g{index}.{column_of[id(member)]}"
            for part, (index, member) in parts[definition.name].items()
        }
        if definition.type is MetricType.RATIO:
            value = f"CAST({refs['numerator']} AS DOUBLE) / NULLIF({refs['denominator']}, 0)"
        else:
            value = refs["measure"]
        values.append(f"{value} AS m{len(names)}")
        names.append(definition.name)
    joins = "".join(f"\nLEFT JOIN g{i} USING (period)" for i in range(len(groups)))
    sql = (
        f"WITH {_COMMA_NEWLINE.join(ctes)}\nSELECT p.period, {', '.join(values)}\n"
        f"FROM periods p{joins}\nORDER BY p.period_start"
    )
    return FusedQuery(sql, bind.params, tuple(names))


# --- judging ---------------------------------------------------------------------------------


def status_of(definition: MetricDefinition, value: float | None) -> KpiStatus:
    """green / amber / red from the thresholds (or the target alone); no value is no_data."""
    if value is None:
        return KpiStatus.NO_DATA
    value = round(float(value), 9)
    thresholds = definition.thresholds
    if thresholds is None:
        if definition.target is None:
            return KpiStatus.NO_DATA
        met = (
            value >= definition.target
            if definition.direction is Direction.HIGHER_IS_BETTER
            else value <= definition.target
        )
        return KpiStatus.GREEN if met else KpiStatus.RED
    if thresholds.green.holds(value):
        return KpiStatus.GREEN
    if thresholds.amber is not None and thresholds.amber.holds(value):
        return KpiStatus.AMBER
    return KpiStatus.RED


def target_met(definition: MetricDefinition, value: float | None, target: float) -> bool:
    """Whether a value meets a target in the metric's direction."""
    if value is None:
        return False
    value = round(float(value), 9)
    if definition.direction is Direction.HIGHER_IS_BETTER:
        return value >= target
    return value <= target


def _typed_value(definition: MetricDefinition, value: Any) -> int | float | None:
    if value is None:
        return None
    if definition.unit is Unit.COUNT:
        return int(round(float(value)))
    return float(value)


def _typed_target(definition: MetricDefinition) -> int | float | None:
    target = definition.target
    if target is not None and definition.unit is Unit.COUNT and float(target).is_integer():
        return int(target)
    return target


def _result(
    definition: MetricDefinition,
    quarter: Quarter,
    value: Any,
    previous: Any,
    problem: str | None = None,
) -> KpiResult:
    typed = _typed_value(definition, value)
    return KpiResult(
        name=definition.name,
        label=definition.label,
        description=definition.description,
        owner=definition.owner,
        clause=definition.clause,
        unit=definition.unit.value,
        direction=definition.direction.value,
        target=_typed_target(definition),
        version=definition.version,
        quarter=quarter.label,
        value=typed,
        previous_value=_typed_value(definition, previous),
        status=status_of(definition, typed),
        thresholds=definition.thresholds.as_data() if definition.thresholds else {},
        problem=problem,
        grain=definition.grain.value,
    )


# --- evaluating ------------------------------------------------------------------------------


@contextmanager
def time_limit(
    con: duckdb.DuckDBPyConnection, seconds: float
) -> Iterator[list[duckdb.DuckDBPyConnection]]:
    """Interrupt the connection's running query after `seconds`; raise MetricTimeout. Yields the
    list of connections to interrupt: add the cursors that run parts of the work."""
    watched = [con]

    def interrupt() -> None:
        for connection in list(watched):
            connection.interrupt()

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield watched
    except duckdb.InterruptException:
        raise MetricTimeout(
            f"metric evaluation took longer than {seconds:g} s and was stopped; "
            "narrow the filters or ask an engineer to index the source"
        ) from None
    finally:
        timer.cancel()


def _existing_columns(
    con: duckdb.DuckDBPyConnection, tables: set[str] | None = None
) -> dict[str, dict[str, str]]:
    """table -> {column: DuckDB type} of the main schema (what information_schema.columns lists),
    or of just the named tables that exist. The named tables are bound one by one
    (_bound_columns; outside a transaction, as a missing table raises): the catalog functions
    cost ~25 ms on a fresh connection, a tenth of a `kpis` run."""
    if tables is not None:
        found: dict[str, dict[str, str]] = {}
        for table in sorted(tables):
            try:
                found[table] = _bound_columns(con, table)
            except duckdb.CatalogException:
                continue
        return found
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND NOT internal"
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, {})[column] = data_type
    return tables


def source_availability_problem(source: Source, existing: dict[str, Any]) -> str | None:
    """Why a source cannot be read in this database (missing table or column), or None."""
    if source.table not in existing:
        return (
            f"source {source.name!r} reads table {source.table}, which does not exist in this "
            "database yet"
        )
    missing = [c.name for c in source.columns if not c.expr and c.name not in existing[source.table]]
    if missing:
        return f"table {source.table} lacks column(s) {', '.join(missing)} declared by source {source.name!r}"
    return None


def _tables_read(definitions: list[MetricDefinition], sources: dict[str, Source]) -> set[str]:
    """The tables the definitions' parts read (parts over an unknown source left out)."""
    return {
        sources[m.source].table for d in definitions for _, m in d.parts() if m.source in sources
    }


def _definition_problem(
    definition: MetricDefinition,
    sources: dict[str, Source],
    existing: dict[str, Any],
    empty: frozenset[str] = frozenset(),
) -> str | None:
    for _, measure in definition.parts():
        source = sources.get(measure.source)
        if source is None:
            return f"unknown source {measure.source!r}"
        problem = source_availability_problem(source, existing)
        if problem:
            return problem
    tables = _tables_read([definition], sources)
    if tables <= empty:  # a count of 0 would claim a register that was never loaded is clean
        return f"no rows in {' or '.join(sorted(tables))} yet"
    return None


def _computed_expressions(
    definitions: list[MetricDefinition], sources: dict[str, Source]
) -> dict[str, dict[str, str]]:
    """source -> {computed column: its expression} for the computed columns whose type decides
    how a fused scan may evaluate the definitions: those summed, averaged, or taken the minimum
    or maximum of (rebuilt from per-group parts?), and those compared with $period_start or
    $period_end (a date folded by month numbers?)."""
    wanted: dict[str, dict[str, str]] = {}
    for definition in definitions:
        for _, measure in definition.parts():
            source = sources.get(measure.source)
            if source is None:
                continue
            names = [f.field for f in measure.filters if f.field and _period_dependent(f)]
            if measure.agg in (Agg.SUM, Agg.AVERAGE, Agg.MIN, Agg.MAX) and measure.expr:
                names.append(measure.expr)
            for name in names:
                column = source.column(name)
                if column is not None and column.expr:
                    wanted.setdefault(source.name, {})[column.name] = column.expr
    return wanted


def _describe_computed_sql(source: Source, expressions: dict[str, str]) -> str:
    items = ", ".join(f"({expr}) AS {_ident(column)}" for column, expr in expressions.items())
    return f"DESCRIBE SELECT {items} FROM {_ident(source.table)} t"


def computed_column_types(
    con: duckdb.DuckDBPyConnection, definitions: list[MetricDefinition], sources: dict[str, Source]
) -> dict[str, dict[str, str]]:
    """source -> {computed column: DuckDB type} for the computed columns _computed_expressions
    names (one DESCRIBE per source), so compile_catalog knows which sums are exact. A source
    whose expressions do not bind is left out (its parts then take the row-by-row path)."""
    found: dict[str, dict[str, str]] = {}
    for name, expressions in _computed_expressions(definitions, sources).items():
        try:
            rows = con.execute(_describe_computed_sql(sources[name], expressions)).fetchall()
        except duckdb.Error:
            continue
        found[name] = {row[0]: row[1] for row in rows}
    return found


# (source table, its computed expressions, the schemas of the tables they read) -> column types.
# DuckDB infers an expression's type from the schemas it reads alone, so one DESCRIBE serves
# every later evaluation whose schemas are the same (~1 ms of each catalog call).
_computed_types_seen: dict[tuple, dict[str, str]] = {}


def _tables_named(expressions: Iterable[str], sources: dict[str, Source]) -> set[str]:
    """The known tables (the registry's and the sources') the SQL expressions name."""
    known = set(TABLES) | {source.table for source in sources.values()}
    return {
        table for table in known for expr in expressions
        if re.search(rf"\b{re.escape(table)}\b", expr)
    }


def _database_facts(
    con: duckdb.DuckDBPyConnection,
    tables: set[str],
    definitions: list[MetricDefinition],
    sources: dict[str, Source],
) -> tuple[dict[str, dict[str, str]], dict[str, int], dict[str, dict[str, str]]] | None:
    """What _existing_columns, _row_counts and computed_column_types tell, in one read-only
    transaction: the tables bound (_bound_columns), their rows counted in one query, and the
    computed columns' types DESCRIBEd once per schema (see _computed_types_seen); None when a
    table is missing or an expression does not bind (the caller then asks them one by one,
    which tells which)."""
    expressions = _computed_expressions(definitions, sources)
    searched = {
        name: {sources[name].table} | _tables_named(exprs.values(), sources)
        for name, exprs in expressions.items()
    }
    ordered = sorted(tables.union(*searched.values()))
    if not ordered:
        return {}, {}, {}
    try:
        with store.transaction(con, read_only=True):
            described = {table: _bound_columns(con, table) for table in ordered}
            counts = _row_counts_in_transaction(con, tables)
            key_of = {
                name: (
                    sources[name].table,
                    tuple(sorted(exprs.items())),
                    tuple((t, tuple(sorted(described[t].items()))) for t in sorted(searched[name])),
                )
                for name, exprs in expressions.items()
            }
            unseen = [name for name in expressions if key_of[name] not in _computed_types_seen]
            if unseen:
                describe = " UNION ALL ".join(
                    f"SELECT {index}, column_name, column_type FROM "
                    f"({_describe_computed_sql(sources[name], expressions[name])})"
                    for index, name in enumerate(unseen)
                )
                found: dict[str, dict[str, str]] = {name: {} for name in unseen}
                for index, column, type_name in con.execute(describe).fetchall():
                    found[unseen[index]][column] = type_name
                for name in unseen:
                    _computed_types_seen[key_of[name]] = found[name]
    except duckdb.InterruptException:
        raise
    except duckdb.Error:
        return None
    existing = {table: described[table] for table in ordered if table in tables}
    computed = {name: dict(_computed_types_seen[key_of[name]]) for name in expressions}
    return existing, counts, computed


def _bound_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """A table's {column: DuckDB type}, as DESCRIBE names them, from binding the table: no query
    runs (~0.1 ms a table, against ~0.3 ms for a DESCRIBE). Raises duckdb.CatalogException for
    a missing table."""
    relation = con.table(table)
    return dict(zip(relation.columns, map(str, relation.types), strict=True))


def _row_counts_in_transaction(
    con: duckdb.DuckDBPyConnection, tables: set[str]
) -> dict[str, int]:
    if not tables:
        return {}
    ordered = sorted(tables)
    counts = " UNION ALL ".join(
        f"SELECT {index}, count(*) FROM {_ident(table)}" for index, table in enumerate(ordered)
    )
    return {ordered[index]: count for index, count in con.execute(counts).fetchall()}


def _row_counts(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, int]:
    """table -> number of rows, for tables that exist, in one read-only query."""
    with store.transaction(con, read_only=True):
        return _row_counts_in_transaction(con, tables)


def _run(
    con: duckdb.DuckDBPyConnection, query: CompiledQuery
) -> list[tuple[Any, ...]]:
    return con.execute(query.sql, query.params).fetchall()


# Below this many rows in the tables read, one fused query beats splitting it across cores.
PARALLEL_MIN_ROWS = 250_000


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def split_catalog(
    definitions: list[MetricDefinition], sources: dict[str, Source], parts: int
) -> list[list[MetricDefinition]]:
    """The definitions in at most `parts` groups that read disjoint sources (every metric over a
    source goes with it), each in catalog order, balanced by the work each source brings: one
    scan to plan and run, plus one aggregate per metric part (heaviest first onto the lightest
    group). Row counts predict the work poorly: a million rows grouped by date cost less than a
    few thousand systems whose computed columns search other tables."""
    owner: dict[str, str] = {}  # source -> representative of its group (union-find)

    def root(name: str) -> str:
        while owner.setdefault(name, name) != name:
            name = owner[name]
        return name

    for definition in definitions:
        first, *others = [measure.source for _, measure in definition.parts()]
        for other in others:
            owner[root(other)] = root(first)
    weight: dict[str, int] = {}
    for definition in definitions:
        for _, measure in definition.parts():
            key = root(measure.source)
            weight[key] = weight.get(key, 0) + 1
    for name in {measure.source for d in definitions for _, measure in d.parts()}:
        weight[root(name)] += 1
    loads = [0] * max(1, parts)
    bin_of: dict[str, int] = {}
    for key in sorted(weight, key=lambda k: -weight[k]):
        lightest = loads.index(min(loads))
        loads[lightest] += weight[key]
        bin_of[key] = lightest
    groups = [
        [d for d in definitions if bin_of[root(d.parts()[0][1].source)] == index]
        for index in range(len(loads))
    ]
    return [group for group in groups if group]


def _side_by_side(
    cursors: list[duckdb.DuckDBPyConnection], queries: list[FusedQuery]
) -> list[list[tuple[Any, ...]]]:
    """Each query's rows, the queries run at once, one thread and cursor each (plain threads:
    concurrent.futures would add ~20 ms of imports to every `kpis` process). An interruption is
    raised before any other error, so a time limit reads as one."""
    results: list[list[tuple[Any, ...]]] = [[] for _ in queries]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            query = queries[index]
            results[index] = cursors[index].execute(query.sql, query.params).fetchall()
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(queries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise next((e for e in errors if isinstance(e, duckdb.InterruptException)), errors[0])
    return results


def _fused_values(
    con: duckdb.DuckDBPyConnection,
    definitions: list[MetricDefinition],
    sources: dict[str, Source],
    every: list[Quarter],
    existing: dict[str, dict[str, str]],
    rows: dict[str, int],
    computed: dict[str, dict[str, str]] | None,
    watched: list[duckdb.DuckDBPyConnection],
) -> dict[str, dict[str, Any]] | None:
    """period -> value per metric from fused queries, or None when one cannot be compiled or
    fails (the caller then evaluates metric by metric, which attributes the problem).

    On a large database the catalog is split (split_catalog) into one fused query per core, run
    at once on cursors whose read-only transactions begin together (store.read_transactions):
    DuckDB plans a query on one thread and runs small pipelines on few, so queries side by side
    use the cores better than one. `computed` is computed_column_types' answer (None: ask it
    here); `watched` gets the cursors, for the time limit."""
    read = _tables_read(definitions, sources)
    parts = _workers() if sum(rows.get(t, 0) for t in read) >= PARALLEL_MIN_ROWS else 1
    try:
        if computed is None:
            computed = computed_column_types(con, definitions, sources)
        queries = [
            compile_catalog(group, sources, every, existing, computed)
            for group in split_catalog(definitions, sources, parts)
        ]
        if len(queries) == 1:
            with store.transaction(con, read_only=True):
                results = [con.execute(queries[0].sql, queries[0].params).fetchall()]
        else:
            cursors = [con.cursor() for _ in queries]
            watched.extend(cursors)
            try:
                with store.read_transactions(cursors):
                    results = _side_by_side(cursors, queries)
            finally:
                for cursor in cursors:
                    watched.remove(cursor)
                    cursor.close()
    except duckdb.InterruptException:
        raise
    except (duckdb.Error, MetricError):
        return None
    values: dict[str, dict[str, Any]] = {}
    for query, result in zip(queries, results, strict=True):
        values.update(fused_values(query, result))
    return values


def evaluate_series(
    con: duckdb.DuckDBPyConnection,
    definitions: list[MetricDefinition],
    quarters: list[Quarter],
    sources: dict[str, Source] | None = None,
    seconds: float = EVALUATION_TIME_LIMIT_SECONDS,
    fuse: bool = True,
) -> dict[str, list[KpiResult]]:
    """Evaluate definitions for the quarters (each with previous_value), read-only, time-limited.

    With `fuse`, every readable metric is computed by one query (compile_catalog); if that query
    cannot run, and without `fuse`, one query per metric (compile_series). A metric whose source
    cannot be read (e.g. a table not created yet), or whose every source table is still empty
    (nothing imported), gets no_data with the reason in `problem`; the rest of the catalog is
    unaffected.
    """
    from aims_metrics.metrics.definition_reader import plain_shipped_sources

    sources = plain_shipped_sources() if sources is None else sources
    wanted = sorted(set(quarters))
    every = sorted(set(wanted) | {q.previous() for q in wanted})
    results: dict[str, list[KpiResult]] = {}
    tables = _tables_read(definitions, sources)
    with time_limit(con, seconds) as watched:
        facts = _database_facts(con, tables, definitions, sources)
        if facts is None:  # a table is missing or an expression does not bind: ask one by one
            existing, computed = _existing_columns(con, tables), None
            rows = _row_counts(con, set(existing))
        else:
            existing, rows, computed = facts
        empty = frozenset(table for table, count in rows.items() if count == 0)
        problems = {d.name: _definition_problem(d, sources, existing, empty) for d in definitions}
        readable = [d for d in definitions if problems[d.name] is None]
        fused = None
        if fuse and readable:
            fused = _fused_values(
                con, readable, sources, every, existing, rows, computed, watched
            )
        for definition in definitions:
            problem = problems[definition.name]
            values: dict[str, Any] = {}
            if problem is None and fused is not None:
                values = fused[definition.name]
            elif problem is None:
                query = compile_series(definition, sources, every)
                try:
                    with store.transaction(con, read_only=True):
                        values = {row[0]: row[1] for row in _run(con, query)}
                except duckdb.InterruptException:
                    raise
                except duckdb.Error as error:
                    problem = f"evaluation failed: {str(error).splitlines()[0]}"
            results[definition.name] = [
                _result(definition, q, values.get(q.label), values.get(q.previous().label), problem)
                for q in quarters
            ]
    return results


def _current(con: duckdb.DuckDBPyConnection, names: list[str] | None) -> list[MetricDefinition]:
    """The current definitions to evaluate: plain records, or the validated models when the stored
    data is not as the validating path wrote it (which then reports the problem)."""
    from aims_metrics.metrics.definition_reader import plain_current_definitions

    try:
        definitions = plain_current_definitions(con)
    except (ValueError, TypeError):
        from aims_metrics.metrics.catalog import current_definitions

        definitions = current_definitions(con)
    if names is None:
        return definitions
    by_name = {d.name: d for d in definitions}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise MetricError(
            f"unknown metric(s) {', '.join(unknown)}: use one of {', '.join(by_name)}"
        )
    return [by_name[n] for n in names]


def catalog_series(
    con: duckdb.DuckDBPyConnection, quarters: list[Quarter], names: list[str] | None = None
) -> dict[str, list[KpiResult]]:
    """Every (or the named) current metric for every quarter, in one query (compile_catalog).

    The lists follow `quarters`' order; each result carries the previous quarter's value computed
    with the same (current) definition version.
    """
    return evaluate_series(con, _current(con, names), list(quarters))


def kpis_for_quarter(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> list[KpiResult]:
    """The whole current catalog for one quarter, with the previous quarter's value."""
    return [series[0] for series in catalog_series(con, [quarter]).values()]


def metric_records(con: duckdb.DuckDBPyConnection, name: str, quarter: Quarter):
    """The source rows behind a metric's value for the quarter (drill-down), as a DataFrame."""
    from aims_metrics.metrics.sources import shipped_sources

    (definition,) = _current(con, [name])
    sources = shipped_sources()
    with store.transaction(con, read_only=True):
        problem = _definition_problem(definition, sources, _existing_columns(con))
    if problem:
        raise MetricError(problem)
    query = compile_records(definition, sources, quarter)
    with time_limit(con, EVALUATION_TIME_LIMIT_SECONDS):
        with store.transaction(con, read_only=True):
            return con.execute(query.sql, query.params).df()


def preview_definition(
    con: duckdb.DuckDBPyConnection, definition: MetricDefinition, quarters: list[Quarter]
) -> list[KpiResult]:
    """Evaluate an unsaved definition for the given quarters (the editor's live preview).

    Raises MetricError listing the reference-rule problems of an invalid definition.
    """
    from aims_metrics.metrics.sources import shipped_sources
    from aims_metrics.metrics.validation import definition_problems

    sources = shipped_sources()
    problems = definition_problems(definition, sources, "metric")
    if problems:
        raise MetricError("; ".join(str(p) for p in problems))
    return evaluate_series(con, [definition], list(quarters), sources, fuse=False)[definition.name]

