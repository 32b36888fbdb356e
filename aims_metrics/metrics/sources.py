"""The engineer-owned sources shipped as `sources.yaml`, completed from the table registry."""

from __future__ import annotations

from functools import cache
from typing import Any

from aims_metrics.metrics.definition_reader import (
    load_yaml,
    merged_columns,
    registry_column_data,
    shipped_document,
)
from aims_metrics.metrics.models import Source, SourceColumn, SourceFile
from aims_metrics.tables.registry import TABLES


def registry_columns(table: str) -> tuple[SourceColumn, ...]:
    """The declared columns of a registry table as source columns."""
    return tuple(SourceColumn(**data) for data in registry_column_data(table))


def complete_source(source: Source) -> Source:
    """A source over a registry table gets the table's columns ahead of its computed ones."""
    if source.table not in TABLES:
        return source
    columns = merged_columns(registry_columns(source.table), source.columns)
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
