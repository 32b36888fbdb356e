"""The closed vocabularies and behaviour of metric and source declarations, without pydantic.

`definitions.models` declares the validated (pydantic) models on top of these; the read path that
evaluates stored, already validated definitions (`definition_reader`, generated
`plain_definitions`) uses them alone, so `kpis` starts without importing pydantic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar, Self

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


# --- behaviour shared by the validated models and their plain mirrors ----------------------------


# The mixins declare no fields (pydantic would collect annotations); the classes using them do.


class SourceBehaviour:
    """Column lookup of a source (`columns` is a sequence of columns with a `name`)."""

    __slots__ = ()

    def column(self, name: str) -> Any | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


class BoundBehaviour:
    """A threshold bound: exactly one of `gte` and `lte` is set."""

    __slots__ = ()

    def holds(self, value: float) -> bool:
        if self.gte is not None:
            return value >= self.gte
        return value <= self.lte  # type: ignore[operator]

    @property
    def limit(self) -> float:
        return self.gte if self.gte is not None else self.lte  # type: ignore[return-value]


class ThresholdsBehaviour:
    """Green and (optional) amber bounds."""

    __slots__ = ()

    def as_data(self) -> dict[str, dict[str, int | float]]:
        """The bounds as plain data, unset parts left out: {"green": {"gte": 0.9}, ...}."""
        return {
            level: {
                key: value
                for key, value in (("gte", bound.gte), ("lte", bound.lte))
                if value is not None
            }
            for level, bound in (("green", self.green), ("amber", self.amber))
            if bound is not None
        }


class MetricBehaviour:
    """Naming and parts of a metric definition."""

    __slots__ = ()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def parts(self) -> list[tuple[str, Any]]:
        """The measures with their YAML path fragment (measure, or numerator and denominator)."""
        if self.type is MetricType.RATIO:
            return [("numerator", self.numerator), ("denominator", self.denominator)]
        return [("measure", self.measure)]

    def sources(self) -> list[str]:
        return sorted({m.source for _, m in self.parts()})


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
        if isinstance(value, date):
            return value, None
        try:
            return date.fromisoformat(str(value)), None
        except ValueError:
            return None, f"{value!r} is not a date (YYYY-MM-DD) for {column.name}"
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


# --- plain records: the read path's pydantic-free mirrors ----------------------------------------


class PlainRecord:
    """A read-only record built from data that was validated when it was saved.

    Subclasses (generated in `aims_metrics.metrics.plain_definitions` from the pydantic models) declare
    their fields as `__slots__`, their defaults and how nested values are converted. `from_data`
    refuses unknown and missing fields, and enum values outside the vocabulary, by raising
    ValueError; it does not re-check the models' constraints (the caller falls back to the
    validating path when anything is off).
    """

    __slots__ = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _convert: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        """The record for `data` (a mapping as stored: JSON or YAML types)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{cls.__name__} needs a mapping, not {type(data).__name__}")
        unknown = set(data) - set(cls.__slots__)
        if unknown:
            raise ValueError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
        record = object.__new__(cls)
        for name in cls.__slots__:
            if name in data:
                value = data[name]
                convert = cls._convert.get(name)
                if convert is not None and value is not None:
                    value = convert(value)
            elif name in cls._defaults:
                value = cls._defaults[name]
            else:
                raise ValueError(f"{cls.__name__} needs {name}")
            object.__setattr__(record, name, value)
        return record

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (values as the record holds them, not converted)."""
        record = object.__new__(type(self))
        for name in self.__slots__:
            object.__setattr__(record, name, changes.pop(name, getattr(self, name)))
        if changes:
            raise ValueError(f"{type(self).__name__} has no field {', '.join(sorted(changes))}")
        return record

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


def _items(items: Any, what: str) -> Any:
    if isinstance(items, str | bytes | Mapping):
        raise ValueError(f"a list of {what} was expected")
    return items


def tuple_of(record: type[PlainRecord]) -> Callable[[Any], tuple[PlainRecord, ...]]:
    """Converter of a list of mappings into a tuple of records."""

    def convert(items: Any) -> tuple[PlainRecord, ...]:
        return tuple(record.from_data(item) for item in _items(items, record.__name__))

    return convert


def tuple_of_text(items: Any) -> tuple[str, ...]:
    """Converter of a list of strings into a tuple."""
    return tuple(_items(items, "strings"))
