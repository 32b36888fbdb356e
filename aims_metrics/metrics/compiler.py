"""Compile one metric definition to SQL (design §4): its figure for every requested quarter in
one query (compile_series), and the source rows behind one quarter's figure (compile_records).

A generated periods table (period, period_start, period_end, period_index) is joined to the
metric's source, so a quarter's figure is computed from event dates as of the quarter end. Every
value reaches SQL as a bound parameter; identifiers come only from the source declarations. This
per-metric SQL is the reference the shared catalog scan (`metrics.scan`) is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from aims_metrics.metrics.models import (
    LIST_OPS,
    PERIOD_END,
    PERIOD_START,
    Agg,
    Filter,
    Grain,
    Measure,
    MetricDefinition,
    MetricType,
    Op,
    Snapshot,
    Source,
)
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.vocabulary import coerce_filter_value

ROW_MARKER = "__row"
_AND_INDENTED = "\n    AND "
_COMMA_NEWLINE = ",\n"


class MetricError(RuntimeError):
    """A metric could not be compiled or evaluated (unknown metric, invalid definition)."""


@dataclass(frozen=True)
class CompiledQuery:
    """SQL with named parameters ($p1, $p2, …) and their values."""

    sql: str
    params: dict[str, Any]


class Binder:
    """Hands out parameter names in order and keeps their values."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.params) + 1}"
        self.params[name] = value
        return f"${name}"


def ident(name: str) -> str:
    return f'"{name}"'


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


def filter_sql(flt: Filter, source: Source, bind: Binder, grain: Grain = Grain.QUARTER) -> str:
    """One filter as SQL over the source alias `s`; values bound, never inlined; `$period_start`
    is the first day of the span the metric's grain covers."""
    if flt.sql is not None:
        # sqlglot only when a metric uses a free-form filter: it costs ~0.3 s of CLI start-up
        from aims_metrics.metrics.sqlfilter import check_sql_filter, emit_sql_filter

        checked, problems = check_sql_filter(flt.sql, source)
        if checked is None:
            raise MetricError("; ".join(problems))
        return emit_sql_filter(
            checked, lambda c: f"s.{ident(c)}", bind, lambda v: _period_sql(v, grain)
        )
    column = source.column(flt.field or "")
    if column is None:
        raise MetricError(f"unknown column {flt.field!r} in source {source.name!r}")
    col = f"s.{ident(column.name)}"

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


def snapshot_of(definition: MetricDefinition, measure: Measure) -> Snapshot | None:
    """The snapshot a metric part counts over: its own, else its metric's (None: a window)."""
    return definition.snapshot or measure.snapshot


def window_columns(definition: MetricDefinition, measure: Measure) -> list[str]:
    snapshot = snapshot_of(definition, measure)
    if snapshot is not None:
        return [n for n in (snapshot.opened, snapshot.closed) if n]
    return [measure.time_dimension or definition.time_dimension or ""]


def referenced_columns(definition: MetricDefinition, measure: Measure, source: Source) -> list[str]:
    names = window_columns(definition, measure)
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
            items.append(f"({column.expr}) AS {ident(column.name)}")
        else:
            items.append(f"t.{ident(column.name)}")
    items.append(f"TRUE AS {ROW_MARKER}")
    return f"SELECT {', '.join(items)} FROM {ident(source.table)} t"


def _window_conditions(
    definition: MetricDefinition,
    measure: Measure,
    snapshot: Snapshot | None,
    bind: Binder,
    start_month: int | None,
) -> list[str]:
    if snapshot is not None:
        conditions = []
        if snapshot.opened:
            conditions.append(f"s.{ident(snapshot.opened)} <= p.period_end")
        closed = f"s.{ident(snapshot.closed)}"
        conditions.append(f"({closed} IS NULL OR {closed} > p.period_end)")
        return conditions
    time_dimension = measure.time_dimension or definition.time_dimension
    if time_dimension is None:
        raise MetricError(f"{definition.name}: a measure needs a time_dimension or a snapshot")
    column = f"s.{ident(time_dimension)}"
    grain = definition.grain
    if grain is Grain.MONTH:
        # the quarter's last month, as an equality on month numbers (a hash join)
        return [
            f"year({column}) * 12 + month({column}) = year(p.period_end) * 12 + month(p.period_end)"
        ]
    if start_month is None or grain is Grain.YEAR:
        return [f"{column} BETWEEN {_WINDOW_START_SQL[grain]} AND p.period_end"]
    # Same as `column BETWEEN p.period_start AND p.period_end` for quarters, but an equality on
    # the quarter's running number, so DuckDB hash-joins instead of range-joining a million rows.
    return [f"(year({column}) * 12 + month({column}) - {bind(start_month)}) // 3 = p.period_index"]


def _measure_conditions(
    definition: MetricDefinition,
    measure: Measure,
    source: Source,
    bind: Binder,
    start_month: int | None = None,
) -> list[str]:
    snapshot = snapshot_of(definition, measure)
    conditions = _window_conditions(definition, measure, snapshot, bind, start_month)
    conditions += [filter_sql(flt, source, bind, definition.grain) for flt in measure.filters]
    return conditions


def _aggregate_sql(measure: Measure, only_where: list[str] | None = None) -> str:
    """The measure's aggregate; `only_where` restricts it to rows meeting those conditions."""
    restrict = f" FILTER (WHERE {' AND '.join(only_where)})" if only_where else ""
    if measure.agg is Agg.COUNT:
        return f"count(s.{ROW_MARKER}){restrict}"
    expr = f"s.{ident(measure.expr or '')}"
    if measure.agg is Agg.SUM:
        return f"coalesce(sum({expr}){restrict}, 0)"
    if measure.agg is Agg.AVERAGE:
        # sum / count rather than avg(): DuckDB's avg divides in long double, and the catalog scan
        # (metrics.scan) combines per-group sums and counts, which must give the same value
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


def source_of(measure: Measure, sources: dict[str, Source]) -> Source:
    try:
        return sources[measure.source]
    except KeyError:
        raise MetricError(f"unknown source {measure.source!r}") from None


def period_index(quarter: Quarter) -> int:
    """A quarter's running number: (year·12 + month − fiscal start month) // 3 of any day in it."""
    return (quarter.start.year * 12 + quarter.start.month - quarter.start_month) // 3


def periods_cte(quarters: list[Quarter], bind: Binder) -> str:
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
    bind = Binder()
    ctes = [periods_cte(quarters, bind)]
    start_months = {q.start_month for q in quarters}
    start_month = start_months.pop() if len(start_months) == 1 else None
    if _shares_one_scan(definition):
        num, den = definition.numerator, definition.denominator
        assert num is not None and den is not None
        source = source_of(num, sources)
        columns = list(
            dict.fromkeys(
                referenced_columns(definition, num, source)
                + referenced_columns(definition, den, source)
            )
        )
        window = _window_conditions(definition, num, num.snapshot, bind, start_month)
        num_only = [filter_sql(flt, source, bind, definition.grain) for flt in num.filters]
        den_only = [filter_sql(flt, source, bind, definition.grain) for flt in den.filters]
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
        source = source_of(measure, sources)
        columns = referenced_columns(definition, measure, source)
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
    bind = Binder()
    periods = periods_cte([quarter], bind)
    if definition.type is MetricType.RATIO:
        num, den = definition.numerator, definition.denominator
        assert num is not None and den is not None
        same_source = num.source == den.source
        main = den if same_source else num
    else:
        main, same_source = definition.measure, False
        assert main is not None
    source = source_of(main, sources)
    conditions = _measure_conditions(definition, main, source, bind)
    columns = ", ".join(f"s.{ident(c)}" for c in source.column_names)
    if definition.type is MetricType.RATIO and same_source:
        num_conditions = _measure_conditions(definition, num, source, bind)  # type: ignore[arg-type]
        columns += f", coalesce({' AND '.join(num_conditions)}, false) AS in_numerator"
    order = f" ORDER BY s.{ident(source.key)}" if source.key else ""
    sql = (
        f"WITH {periods}\nSELECT {columns}\nFROM periods p\nJOIN ({source_select(source)}) s\n"
        f"  ON {' AND '.join(conditions)}{order}"
    )
    return CompiledQuery(sql, bind.params)
