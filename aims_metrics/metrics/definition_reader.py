"""The read path of metric definitions: the current versions as plain, read-only records.

Definitions are validated (pydantic, `aims_metrics.metrics.catalog`) when they are written: saved from
the app or the CLI, or shipped and checked by the test suite. Evaluating the catalog only reads
them, so this module builds the generated mirrors of `aims_metrics.metrics.plain_definitions` from the
stored JSON and the shipped YAML without importing pydantic (~0.1 s of every `kpis` run).
Anything unexpected in the stored data raises ValueError or TypeError; the engine then reads the
definitions through the validating path, which reports the problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import duckdb

from aims_metrics.metrics.plain_definitions import (
    PlainMetricDefinition,
    PlainSource,
    PlainSourceColumn,
)
from aims_metrics.metrics.vocabulary import ColumnType
from aims_metrics.tables.registry import TABLES, ColumnKind

# The latest stored version of every metric, by name.
LATEST_VERSIONS_SQL = (
    "SELECT name, definition FROM metric_definitions "
    "QUALIFY row_number() OVER (PARTITION BY name ORDER BY version DESC) = 1 ORDER BY name"
)

COLUMN_TYPES: dict[ColumnKind, ColumnType] = {
    ColumnKind.TEXT: ColumnType.TEXT,
    ColumnKind.DATE: ColumnType.DATE,
    ColumnKind.ENUM: ColumnType.ENUM,
    ColumnKind.BOOL: ColumnType.BOOL,
    ColumnKind.NUMBER: ColumnType.NUMBER,
    ColumnKind.CLAUSE: ColumnType.TEXT,
}

Definition = TypeVar("Definition")
Column = TypeVar("Column")


def load_yaml(text: str) -> Any:
    """A YAML document with the safe loader (libyaml's when available: ~10x faster)."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def shipped_document(filename: str) -> Any:
    """A YAML file shipped in aims_metrics/definitions (catalog.yaml, sources.yaml), parsed once
    per process for both read paths (neither changes it)."""
    path = resources.files("aims_metrics.metrics").joinpath(filename)
    return load_yaml(path.read_text("utf-8"))


def registry_column_data(table: str) -> list[dict[str, Any]]:
    """The declared columns of a registry table, as source-column data."""
    return [
        {
            "name": c.name,
            "type": COLUMN_TYPES[c.kind],
            "values": c.enum,
            "description": c.description,
        }
        for c in TABLES[table].columns
    ]


def merged_columns(registry: tuple[Column, ...], declared: Iterable[Column]) -> tuple[Column, ...]:
    """A source's columns: the registry table's first, then the declared ones it does not have."""
    names = {c.name for c in registry}  # type: ignore[attr-defined]
    return registry + tuple(c for c in declared if c.name not in names)  # type: ignore[attr-defined]


def in_catalog_order(
    stored: dict[str, Definition], shipped: Iterable[tuple[str, Definition]]
) -> list[Definition]:
    """Shipped metrics in catalog order (the stored version when there is one), then the other
    stored metrics by name. `shipped` pairs each shipped metric's name with its definition."""
    remaining = dict(stored)
    ordered = [remaining.pop(name, definition) for name, definition in shipped]
    return ordered + [remaining[name] for name in sorted(remaining)]


def _plain_source(data: Any) -> PlainSource:
    source = PlainSource.from_data(data)
    if source.table not in TABLES:
        return source
    registry = tuple(PlainSourceColumn.from_data(c) for c in registry_column_data(source.table))
    return source.replace(columns=merged_columns(registry, source.columns))


@cache
def plain_shipped_sources() -> dict[str, PlainSource]:
    """The sources shipped with the package (sources.yaml), completed from the table registry."""
    document = shipped_document("sources.yaml")
    if document.get("schema_version", 1) != 1:
        raise ValueError("sources.yaml: unknown schema_version")
    sources = [_plain_source(item) for item in document["sources"]]
    return {s.name: s for s in sources}


@cache
def plain_shipped_catalog() -> tuple[PlainMetricDefinition, ...]:
    """The metrics shipped with the package (catalog.yaml), in catalog order."""
    document = shipped_document("catalog.yaml")
    if document.get("schema_version") != 1:
        raise ValueError("catalog.yaml: unknown schema_version")
    return tuple(PlainMetricDefinition.from_data(item) for item in document["metrics"])


def plain_current_definitions(con: duckdb.DuckDBPyConnection) -> list[PlainMetricDefinition]:
    """The latest version of every metric (as `definitions.current_definitions`), unvalidated."""
    stored = {
        name: PlainMetricDefinition.from_data(json.loads(text))
        for name, text in con.execute(LATEST_VERSIONS_SQL).fetchall()
    }
    return in_catalog_order(stored, ((d.name, d) for d in plain_shipped_catalog()))
