"""Metric and source definitions: models, the shipped catalog, validation and versioned storage.

Analysts own metrics (YAML, versioned in `metric_definitions`); engineers own sources
(`sources.yaml`, shipped with the package).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from aims_metrics.definitions.models import Filter, MetricDefinition, MetricFile


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


def parse_metric_file(text: str) -> tuple[MetricFile | None, list[DefinitionProblem]]:
    """Parse YAML and validate its shape with pydantic; every problem at once."""
    raise NotImplementedError


def validate_metric_file(con: duckdb.DuckDBPyConnection, text: str) -> list[DefinitionProblem]:
    """Shape, reference rules (sources, columns, types) and a DuckDB dry run; all problems."""
    raise NotImplementedError


def apply_metric_file(
    con: duckdb.DuckDBPyConnection, text: str, username: str, reason: str | None = None
) -> list[tuple[str, int]]:
    """Save every changed metric of a valid file as a new version; returns (name, version) saved."""
    raise NotImplementedError


def save_definition(
    con: duckdb.DuckDBPyConnection, definition: MetricDefinition, username: str, reason: str | None = None
) -> int:
    """Save a definition as a new version unless its content is unchanged; returns the version."""
    raise NotImplementedError


def current_definitions(con: duckdb.DuckDBPyConnection) -> list[MetricDefinition]:
    """The latest version of every metric (shipped metrics not yet installed included)."""
    raise NotImplementedError


def definition_history(con: duckdb.DuckDBPyConnection, name: str) -> list[DefinitionVersion]:
    """Every saved version of a metric, oldest first."""
    raise NotImplementedError


def restore_version(
    con: duckdb.DuckDBPyConnection, name: str, version: int, username: str, reason: str | None = None
) -> int:
    """Save an old version's content as a new version; returns the new version number."""
    raise NotImplementedError


def install_shipped_catalog(con: duckdb.DuckDBPyConnection, username: str = "system") -> int:
    """Store every shipped metric the database lacks (idempotent); returns how many were added."""
    raise NotImplementedError


def describe_filter(filter: Filter) -> str:
    """A filter as a human sentence, e.g. "severity is one of high, critical"."""
    raise NotImplementedError


def definition_to_yaml(definition: MetricDefinition) -> str:
    """A definition as a metric-file YAML document (for the editor and `metrics show`)."""
    raise NotImplementedError
