"""The engineer-owned sources shipped as `sources.yaml`, completed from the table registry."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from aims_metrics.definitions.models import ColumnType, Source, SourceColumn, SourceFile
from aims_metrics.records import TABLES, ColumnKind

COLUMN_TYPES: dict[ColumnKind, ColumnType] = {
    ColumnKind.TEXT: ColumnType.TEXT,
    ColumnKind.DATE: ColumnType.DATE,
    ColumnKind.ENUM: ColumnType.ENUM,
    ColumnKind.BOOL: ColumnType.BOOL,
    ColumnKind.NUMBER: ColumnType.NUMBER,
    ColumnKind.CLAUSE: ColumnType.TEXT,
}


def registry_columns(table: str) -> tuple[SourceColumn, ...]:
    """The declared columns of a registry table as source columns."""
    spec = TABLES[table]
    return tuple(
        SourceColumn(name=c.name, type=COLUMN_TYPES[c.kind], values=c.enum, description=c.description)
        for c in spec.columns
    )


def complete_source(source: Source) -> Source:
    """A source over a registry table gets the table's columns ahead of its computed ones."""
    if source.table not in TABLES:
        return source
    base = registry_columns(source.table)
    base_names = {c.name for c in base}
    extra = tuple(c for c in source.columns if c.name not in base_names)
    return source.model_copy(update={"columns": base + extra})


def parse_sources(text: str) -> dict[str, Source]:
    """Parse a sources YAML document (engineer-owned; errors raise)."""
    # libyaml's safe loader when available: the same document as yaml.safe_load, ~10x faster
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    parsed = SourceFile.model_validate(yaml.load(text, Loader=loader))
    return {s.name: complete_source(s) for s in parsed.sources}


@cache
def shipped_sources() -> dict[str, Source]:
    """The sources shipped with the package, by name."""
    text = resources.files("aims_metrics.definitions").joinpath("sources.yaml").read_text("utf-8")
    return parse_sources(text)
