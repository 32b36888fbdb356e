"""Reference rules for metric definitions: sources, columns, types, values, thresholds.

Pure functions over the declarations (no database); the DuckDB dry run lives in
`aims_metrics.metrics.catalog.validate_metric_file`. Every rule returns problems, never raises.
"""

from __future__ import annotations

from aims_metrics.metrics.models import (
    LIST_OPS,
    NO_VALUE_OPS,
    PERIOD_VARIABLES,
    Agg,
    ColumnType,
    DefinitionProblem,
    Direction,
    Filter,
    MetricDefinition,
    MetricType,
    Op,
    Source,
)
from aims_metrics.metrics.vocabulary import coerce_filter_value
from aims_metrics.tables.registry import clause_refs

NUMERIC_AGGS = frozenset({Agg.SUM, Agg.AVERAGE, Agg.MEDIAN, Agg.P90, Agg.MIN, Agg.MAX})


def filter_problems(flt: Filter, source: Source, path: str) -> list[DefinitionProblem]:
    """Problems of one filter over `source`."""
    if flt.sql is not None:
        from aims_metrics.metrics.sqlfilter import check_sql_filter  # sqlglot: only when used

        _, messages = check_sql_filter(flt.sql, source)
        return [DefinitionProblem(f"{path}.sql", m) for m in messages]
    column = source.column(flt.field or "")
    if column is None:
        return [
            DefinitionProblem(
                f"{path}.field", f"unknown column {flt.field!r} in source {source.name!r}"
            )
        ]
    problems: list[DefinitionProblem] = []
    if flt.op in (Op.IS_TRUE, Op.IS_FALSE) and column.type != ColumnType.BOOL:
        problems.append(
            DefinitionProblem(
                f"{path}.op",
                f"op {flt.op.value} needs a true/false column; {column.name} is {column.type.value}",
            )
        )
    if flt.op in NO_VALUE_OPS:
        return problems
    values = flt.value if flt.op in LIST_OPS else [flt.value]
    for index, value in enumerate(values):  # type: ignore[arg-type]
        if flt.op in LIST_OPS and isinstance(value, str) and value in PERIOD_VARIABLES:
            message = f"{value} cannot be used in a list; use lt/lte/gt/gte"
        else:
            _, message = coerce_filter_value(column, value)
        if message:
            where = f"{path}.value[{index}]" if flt.op in LIST_OPS else f"{path}.value"
            problems.append(DefinitionProblem(where, message))
    return problems


def _date_column(source: Source, name: str | None, path: str, role: str) -> list[DefinitionProblem]:
    column = source.column(name or "")
    if column is None:
        return [DefinitionProblem(path, f"unknown column {name!r} in source {source.name!r}")]
    if column.type != ColumnType.DATE:
        return [
            DefinitionProblem(
                path,
                f"{role} must be a date column; {name} in {source.name} is {column.type.value}",
            )
        ]
    return []


def definition_problems(
    definition: MetricDefinition, sources: dict[str, Source], prefix: str
) -> list[DefinitionProblem]:
    """Every reference-rule problem of one metric; paths start with `prefix` (e.g. metrics[0])."""
    problems: list[DefinitionProblem] = []
    if definition.clause not in clause_refs():
        problems.append(
            DefinitionProblem(
                f"{prefix}.clause",
                f"unknown clause {definition.clause!r}: use an ISO/IEC 42001 clause or Annex A "
                "control such as 9.1 or A.6.2.4",
            )
        )
    problems += _threshold_problems(definition, prefix)
    for part, measure in definition.parts():
        path = f"{prefix}.{part}"
        source = sources.get(measure.source)
        if source is None:
            problems.append(
                DefinitionProblem(
                    f"{path}.source",
                    f"unknown source {measure.source!r}: use one of {', '.join(sorted(sources))}",
                )
            )
            continue
        if measure.snapshot is not None and definition.type is not MetricType.RATIO:
            problems.append(
                DefinitionProblem(
                    f"{path}.snapshot",
                    "a snapshot block here is only allowed in a ratio's numerator or denominator "
                    "(for a snapshot metric put it at the metric level with type: snapshot)",
                )
            )
        snapshot = definition.snapshot or measure.snapshot
        if snapshot is not None:
            snap_path = f"{prefix}.snapshot" if definition.snapshot else f"{path}.snapshot"
            if snapshot.opened is not None:
                problems += _date_column(
                    source, snapshot.opened, f"{snap_path}.opened", "snapshot opened"
                )
            problems += _date_column(
                source, snapshot.closed, f"{snap_path}.closed", "snapshot closed"
            )
        else:
            time_dimension = measure.time_dimension or definition.time_dimension
            td_path = (
                f"{path}.time_dimension" if measure.time_dimension else f"{prefix}.time_dimension"
            )
            if time_dimension is None:
                problems.append(
                    DefinitionProblem(
                        td_path,
                        f"{part} needs a time_dimension (a date column of {source.name}) "
                        "or a snapshot block",
                    )
                )
            else:
                problems += _date_column(source, time_dimension, td_path, "time_dimension")
        if measure.agg is not Agg.COUNT:
            if measure.expr is None:
                problems.append(
                    DefinitionProblem(
                        f"{path}.expr",
                        f"agg {measure.agg.value} needs expr: a declared column of {source.name}",
                    )
                )
            else:
                column = source.column(measure.expr)
                if column is None:
                    problems.append(
                        DefinitionProblem(
                            f"{path}.expr",
                            f"unknown column {measure.expr!r} in source {source.name!r}",
                        )
                    )
                elif measure.agg in NUMERIC_AGGS and column.type != ColumnType.NUMBER:
                    problems.append(
                        DefinitionProblem(
                            f"{path}.expr",
                            f"agg {measure.agg.value} needs a numeric column; "
                            f"{column.name} is {column.type.value}",
                        )
                    )
        elif measure.expr is not None:
            problems.append(
                DefinitionProblem(
                    f"{path}.expr", "agg count counts rows and takes no expr (use count_distinct)"
                )
            )
        for index, flt in enumerate(measure.filters):
            problems += filter_problems(flt, source, f"{path}.filters[{index}]")
    return problems


def _threshold_problems(definition: MetricDefinition, prefix: str) -> list[DefinitionProblem]:
    thresholds = definition.thresholds
    if thresholds is None:
        if definition.target is None:
            return [
                DefinitionProblem(
                    prefix, "give thresholds or a target so that a value can be judged"
                )
            ]
        return []
    higher = definition.direction is Direction.HIGHER_IS_BETTER
    wanted = "gte" if higher else "lte"
    problems = []
    for band_name in ("green", "amber"):
        band = getattr(thresholds, band_name)
        if band is None:
            continue
        if (band.gte is not None) != higher:
            problems.append(
                DefinitionProblem(
                    f"{prefix}.thresholds.{band_name}",
                    f"a {definition.direction.value} metric uses {wanted} thresholds",
                )
            )
    if not problems and thresholds.amber is not None:
        green, amber = thresholds.green.limit, thresholds.amber.limit
        if (higher and amber > green) or (not higher and amber < green):
            problems.append(
                DefinitionProblem(
                    f"{prefix}.thresholds.amber",
                    f"amber ({amber:g}) must be looser than green ({green:g}) for a "
                    f"{definition.direction.value} metric",
                )
            )
    return problems
