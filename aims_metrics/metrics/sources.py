"""The engineer-owned sources shipped as `sources.yaml`, completed from the table registry."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from aims_metrics.metrics.models import ColumnType, Source, SourceColumn, SourceFile
from aims_metrics.tables.registry import TABLES, ColumnKind

COLUMN_TYPES: dict[ColumnKind, ColumnType] = {
    ColumnKind.TEXT: ColumnType.TEXT,
    ColumnKind.DATE: ColumnType.DATE,
    ColumnKind.ENUM: ColumnType.ENUM,
    ColumnKind.BOOL: ColumnType.BOOL,
    ColumnKind.NUMBER: ColumnType.NUMBER,
    ColumnKind.CLAUSE: ColumnType.TEXT,
}


def load_yaml(text: str) -> Any:
    """A YAML document with the safe loader (libyaml's when available: ~10x faster)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def shipped_document(filename: str) -> Any:
    """A YAML file shipped in aims_metrics/metrics (catalog.yaml, sources.yaml), parsed once per
    process (nothing changes it)."""
    return load_yaml(resources.files("aims_metrics.metrics").joinpath(filename).read_text("utf-8"))


def registry_columns(table: str) -> tuple[SourceColumn, ...]:
    """The declared columns of a registry table as source columns."""
    return tuple(
        SourceColumn(
            name=c.name, type=COLUMN_TYPES[c.kind], values=c.enum, description=c.description
        )
        for c in TABLES[table].columns
    )


def complete_source(source: Source) -> Source:
    """A source over a registry table gets the table's columns ahead of its computed ones."""
    if source.table not in TABLES:
        return source
    registry = registry_columns(source.table)
    names = {c.name for c in registry}
    columns = registry + tuple(c for c in source.columns if c.name not in names)
    return source.model_copy(update={"columns": columns})


def parse_sources(text: str) -> dict[str, Source]:
    """Parse a sources YAML document (engineer-owned; errors raise)."""
    return _validated_sources(load_yaml(text))


def _validated_sources(document: Any) -> dict[str, Source]:
    parsed = SourceFile.model_validate(document)
    return {s.name: complete_source(s) for s in parsed.sources}


@cache
def shipped_sources() -> dict[str, Source]:
    """The sources shipped with the package, by name."""
    return _validated_sources(shipped_document("sources.yaml"))
