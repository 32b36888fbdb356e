"""The closed vocabularies of metric and source declarations (enums, once) and the coercion of a
filter value to its column's type. `aims_metrics.metrics.models` declares the models on them."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
PERIOD_START = "$period_start"
PERIOD_END = "$period_end"
PERIOD_VARIABLES = (PERIOD_START, PERIOD_END)


class MetricType(StrEnum):
    SIMPLE = "simple"
    RATIO = "ratio"
    SNAPSHOT = "snapshot"


class Unit(StrEnum):
    COUNT = "count"
    PERCENT = "percent"  # a fraction 0..1
    DAYS = "days"


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class Agg(StrEnum):
    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    SUM = "sum"
    AVERAGE = "average"
    MEDIAN = "median"
    P90 = "p90"
    MIN = "min"
    MAX = "max"


class Op(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IS_NULL = "is_null"
    IS_NOT_NULL = "is_not_null"
    IS_TRUE = "is_true"
    IS_FALSE = "is_false"


LIST_OPS = frozenset({Op.IN, Op.NOT_IN})
NO_VALUE_OPS = frozenset({Op.IS_NULL, Op.IS_NOT_NULL, Op.IS_TRUE, Op.IS_FALSE})
ORDER_OPS = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE})


class ColumnType(StrEnum):
    TEXT = "text"
    DATE = "date"
    NUMBER = "number"
    BOOL = "bool"
    ENUM = "enum"


class Grain(StrEnum):
    QUARTER = "quarter"
    MONTH = "month"
    YEAR = "year"


def coerce_filter_value(column: Any, value: object) -> tuple[object, str | None]:
    """A filter value converted to the column's type, or a problem saying why it cannot be."""
    if isinstance(value, str) and value in PERIOD_VARIABLES:
        if column.type != ColumnType.DATE:
            return None, (
                f"{value} can only be compared with a date column; "
                f"{column.name} is {column.type.value}"
            )
        return value, None
    if isinstance(value, str) and value.startswith("$"):
        return None, f"unknown variable {value}: use $period_start or $period_end"
    if column.type == ColumnType.DATE:
        from aims_metrics.metrics.periods import check_date

        try:
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            return None, f"{value!r} is not a date (YYYY-MM-DD) for {column.name}"
        try:
            return check_date(day, f"the {column.name} date"), None
        except ValueError as error:
            return None, str(error)
    if column.type == ColumnType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, f"{value!r} is not a number for {column.name}"
        return float(value), None
    if column.type == ColumnType.BOOL:
        if not isinstance(value, bool):
            return None, f"{value!r} is not true or false for {column.name}"
        return value, None
    text = value.isoformat() if isinstance(value, date) else str(value)
    if column.type == ColumnType.ENUM and column.values and text not in column.values:
        return None, (
            f"{text!r} is not a valid {column.name}: use one of {', '.join(column.values)}"
        )
    return text, None
