"""Compile metric definitions to SQL and evaluate them per quarter (design §4).

One query per metric covers every requested quarter: a generated periods table is joined to the
metric's source. Evaluation runs in a read-only transaction with a time limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import duckdb

from aims_metrics.periods import Quarter


class KpiStatus(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NO_DATA = "no_data"


class MetricTimeout(RuntimeError):
    """A metric evaluation ran longer than its time limit and was interrupted."""


class MetricError(RuntimeError):
    """A metric could not be compiled or evaluated (e.g. unknown metric name)."""


@dataclass(frozen=True)
class KpiResult:
    """One metric's figure for one quarter, with everything needed to show and judge it."""

    name: str
    label: str
    description: str
    owner: str
    clause: str
    unit: str  # count | percent | days
    direction: str
    target: float | int | None
    version: int
    quarter: str
    value: int | float | None
    previous_value: int | float | None
    status: KpiStatus
    thresholds: dict = field(default_factory=dict)
    problem: str | None = None  # why there is no value, when it is an error (e.g. missing table)

    @property
    def ref(self) -> str:
        """`name@version`, printed beside each figure so it can be reproduced."""
        return f"{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        """The design §8 `kpis --format json` entry."""
        raise NotImplementedError


def kpis_for_quarter(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> list[KpiResult]:
    """The whole current catalog for one quarter, with the previous quarter's value."""
    raise NotImplementedError


def catalog_series(
    con: duckdb.DuckDBPyConnection, quarters: list[Quarter], names: list[str] | None = None
) -> dict[str, list[KpiResult]]:
    """Every (or the named) current metric for every quarter: one query per metric."""
    raise NotImplementedError


def metric_records(con: duckdb.DuckDBPyConnection, name: str, quarter: Quarter):
    """The source rows behind a metric's value for the quarter (drill-down), as a DataFrame."""
    raise NotImplementedError


def preview_definition(con: duckdb.DuckDBPyConnection, definition, quarters: list[Quarter]) -> list[KpiResult]:
    """Evaluate an unsaved definition for the given quarters (the editor's live preview)."""
    raise NotImplementedError
