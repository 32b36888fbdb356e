"""Declarations of sources and metrics (pydantic, no I/O).

Sources are engineer-owned (`sources.yaml`): a table plus declared and computed columns.
Metrics are analyst-owned (`catalog.yaml` and edits saved in `metric_definitions`): what is
measured over which source, how it is aggregated per period, and how it is judged.
Field names are the contract of issue 3 and design §4.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from aims_metrics.inputs.text import control_character, normalise_text
from aims_metrics.metrics.vocabulary import (  # noqa: F401  (re-exported: the models' vocabulary)
    LIST_OPS,
    NAME_PATTERN,
    NO_VALUE_OPS,
    ORDER_OPS,
    PERIOD_END,
    PERIOD_START,
    PERIOD_VARIABLES,
    Agg,
    ColumnType,
    Direction,
    Grain,
    MetricType,
    Op,
    Unit,
)

MAX_VERSION = 1_000_000
# Bounds on the work one metric can ask for, checked with the shape (before any compiling or dry
# run): the shipped catalog uses at most 3 filters, 4 list values and 80 characters of SQL.
MAX_FILTERS = 50
MAX_LIST_VALUES = 1_000
MAX_SQL_CHARACTERS = 2_000
# The largest magnitude a number in a metric file may have: far beyond any KPI, well inside
# DuckDB's BIGINT and exact in a double.
LARGEST_NUMBER = 10**15


# Definitions read back from the database are validated with this context: the rules below for
# what may *enter* (finite numbers, version range, one-line identifiers) do not lock out versions
# saved before the rules existed; their non-finite numbers are printed as null.
STORED = {"stored": True}


def _stored(info: ValidationInfo | None) -> bool:
    return bool(info is not None and info.context and info.context.get("stored"))


def finite_number(value: int | float, info: ValidationInfo) -> int | float:
    """A target, threshold or filter number: finite and within ±LARGEST_NUMBER."""
    if _stored(info):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number, not {value}")
    if not isinstance(value, bool) and abs(value) > LARGEST_NUMBER:
        raise ValueError(
            f"is out of range: a number lies between -{LARGEST_NUMBER:,} and {LARGEST_NUMBER:,}"
        )
    return value


Number = Annotated[int | float, AfterValidator(finite_number)]


def version_in_range(value: int, info: ValidationInfo) -> int:
    """A version a file may give: 1..MAX_VERSION."""
    if value > MAX_VERSION and not _stored(info):
        raise ValueError(f"must be at most {MAX_VERSION:,}")
    return value


def one_line(value: str | None, info: ValidationInfo) -> str | None:
    """An identifier people see in tables and logs: refused if it holds a control character."""
    if value is not None and not _stored(info) and (found := control_character(value)):
        raise ValueError(f"contains a control character {found}: write it on one line")
    return value


def _normalised(value: Any, blank: Any) -> Any:
    """The text rule of inputs/text.py applied to a string or the strings of a list: ends trimmed
    of whitespace; a blank string becomes `blank` (the field's default, or "" where a value is
    required, so the field says it is missing)."""
    if isinstance(value, str):
        text = normalise_text(value)
        return blank if text is None else text
    if isinstance(value, list):
        return [normalise_text(v) if isinstance(v, str) else v for v in value]
    return value


class Strict(BaseModel):
    """Base of the declarations: unknown fields refused, frozen, every string normalised."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _normalise_text(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields

        def blank(key: str) -> Any:
            if key not in fields or fields[key].is_required():
                return ""
            return fields[key].get_default(call_default_factory=True)

        return {key: _normalised(value, blank(key)) for key, value in data.items()}


# --- sources (engineer-owned) -------------------------------------------------------------------


class SourceColumn(Strict):
    """A declared column of a source; `expr` (engineer-written SQL) makes it a computed column."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    type: ColumnType
    values: tuple[str, ...] = ()  # the closed vocabulary of an enum column
    expr: str | None = None
    description: str = ""


class Source(Strict):
    """A table (or a table plus computed columns) that metrics may read."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    table: Annotated[str, Field(pattern=NAME_PATTERN)]
    description: str = ""
    key: str | None = None  # primary key, for count_distinct defaults and drill-down order
    columns: tuple[SourceColumn, ...] = ()

    def column(self, name: str) -> SourceColumn | None:
        """The declared column of that name, or None."""
        return next((c for c in self.columns if c.name == name), None)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


class SourceFile(Strict):
    schema_version: Literal[1] = 1
    sources: tuple[Source, ...]


# --- metrics (analyst-owned) -------------------------------------------------------------------

FilterValue = str | int | float | bool | date | None


class Filter(Strict):
    """`{field, op, value}` from the closed operator list, or a free-form `{sql: ...}` condition
    (parsed, checked against an allow-list and re-emitted, never pasted)."""

    field: str | None = None
    op: Op | None = None
    value: (
        FilterValue | Annotated[list[str | int | float | date], Field(max_length=MAX_LIST_VALUES)]
    ) = None
    sql: Annotated[str | None, Field(max_length=MAX_SQL_CHARACTERS)] = None

    @field_validator("value")
    @classmethod
    def _finite_values(cls, value: Any, info: ValidationInfo) -> Any:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int | float):
                finite_number(item, info)
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Filter:
        if self.sql is not None:
            if self.field is not None or self.op is not None or self.value is not None:
                raise ValueError("a filter is either {sql: ...} or {field, op, value}, not both")
            return self
        if self.field is None or self.op is None:
            raise ValueError("a filter needs field and op (or sql)")
        if self.op in NO_VALUE_OPS and self.value is not None:
            raise ValueError(f"op {self.op.value} takes no value")
        if self.op in LIST_OPS and not isinstance(self.value, list):
            raise ValueError(f"op {self.op.value} needs a list value, e.g. [a, b]")
        if self.op in LIST_OPS and not self.value:
            raise ValueError(f"op {self.op.value} needs at least one value")
        if self.op not in NO_VALUE_OPS | LIST_OPS:
            if self.value is None:
                raise ValueError(f"op {self.op.value} needs a value")
            if isinstance(self.value, list):
                raise ValueError(f"op {self.op.value} takes one value, not a list (use in)")
        return self


class Snapshot(Strict):
    """Rows open at each period end: opened ≤ end and (closed is null or closed > end).
    Without `opened`, only the closed condition applies (e.g. systems not retired by the end)."""

    opened: str | None = None
    closed: str


class Measure(Strict):
    source: str
    agg: Agg = Agg.COUNT
    expr: str | None = None  # a declared column (required for every agg but count)
    filters: Annotated[tuple[Filter, ...], Field(max_length=MAX_FILTERS)] = ()
    snapshot: Snapshot | None = None  # only in a ratio's numerator or denominator
    time_dimension: str | None = None  # overrides the metric's time_dimension for this part


class Bound(Strict):
    """A threshold bound: exactly one of `gte` and `lte`."""

    gte: Number | None = None
    lte: Number | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Bound:
        if (self.gte is None) == (self.lte is None):
            raise ValueError("a threshold is exactly one of {gte: X} or {lte: X}")
        return self

    def holds(self, value: float) -> bool:
        return value >= self.gte if self.gte is not None else value <= self.lte

    @property
    def limit(self) -> float:
        return self.gte if self.gte is not None else self.lte


class Thresholds(Strict):
    green: Bound
    amber: Bound | None = None

    def as_data(self) -> dict[str, dict[str, int | float]]:
        """The bounds as plain data, unset parts left out: {"green": {"gte": 0.9}, ...}."""
        return {
            level: bound.model_dump(exclude_none=True)
            for level, bound in (("green", self.green), ("amber", self.amber))
            if bound is not None
        }


class MetricDefinition(Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(one_line)]
    description: Annotated[str, Field(min_length=1)]
    owner: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(one_line)]
    clause: Annotated[str, AfterValidator(one_line)]
    objective: Annotated[str | None, AfterValidator(one_line)] = None
    version: Annotated[int, Field(ge=1), AfterValidator(version_in_range)] = 1
    type: MetricType
    unit: Unit
    direction: Direction
    target: Number | None = None
    thresholds: Thresholds | None = None
    grain: Grain = Grain.QUARTER
    time_dimension: str | None = None
    measure: Measure | None = None
    numerator: Measure | None = None
    denominator: Measure | None = None
    snapshot: Snapshot | None = None

    @model_validator(mode="after")
    def _shape_of_type(self) -> MetricDefinition:
        if self.type is MetricType.RATIO:
            if self.numerator is None or self.denominator is None:
                raise ValueError("type ratio needs numerator and denominator")
            if self.measure is not None:
                raise ValueError("type ratio takes numerator and denominator, not measure")
        else:
            if self.measure is None:
                raise ValueError(f"type {self.type.value} needs measure")
            if self.numerator is not None or self.denominator is not None:
                raise ValueError(f"type {self.type.value} takes measure, not numerator/denominator")
        if self.type is MetricType.SNAPSHOT and self.snapshot is None:
            raise ValueError("type snapshot needs snapshot: {opened: FIELD, closed: FIELD}")
        if self.type is not MetricType.SNAPSHOT and self.snapshot is not None:
            raise ValueError("snapshot at the metric level is only for type snapshot")
        return self

    @property
    def ref(self) -> str:
        """`name@version`, printed beside each figure so it can be reproduced."""
        return f"{self.name}@{self.version}"

    def parts(self) -> list[tuple[str, Measure]]:
        """The measures with their YAML path fragment (measure, or numerator and denominator)."""
        if self.type is MetricType.RATIO:
            return [("numerator", self.numerator), ("denominator", self.denominator)]
        return [("measure", self.measure)]

    def sources(self) -> list[str]:
        return sorted({m.source for _, m in self.parts()})


class MetricFile(Strict):
    schema_version: Literal[1]
    metrics: tuple[MetricDefinition, ...]


def canonical_content(definition: MetricDefinition) -> dict[str, Any]:
    """The definition as plain data without its version: what the content hash covers."""
    data = definition.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data.pop("version", None)
    data["name"] = definition.name
    data["type"] = definition.type.value
    return data


def yaml_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's location tuple as a YAML path: ('metrics', 0, 'measure') → metrics[0].measure."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            text += f".{part}" if text else str(part)
    return text or "<file>"


@dataclass(frozen=True)
class DefinitionProblem:
    """One problem in a metric file, located by its YAML path (e.g. metrics[0].measure.filters[0])."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class DefinitionVersion:
    """One saved version of a metric definition."""

    name: str
    version: int
    author: str
    created_at: datetime
    reason: str | None
    content_hash: str
    definition: MetricDefinition
