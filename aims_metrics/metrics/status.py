"""Judge a metric's figure (design §4): status against thresholds (or the target alone), whether a
target is met, and the result record the CLI, the pages and the minutes show."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aims_metrics.metrics.models import Direction, Grain, MetricDefinition, Unit
from aims_metrics.metrics.periods import Quarter

# The span a figure for quarter Q covers, by the metric's grain: the quarter; its last month; the
# four quarters ending with it (at the fiscal year's last quarter, exactly the fiscal year). Every
# grain is reported as of the quarter end, so quarters stay comparable in the app and the minutes.
GRAIN_WINDOW_NOTES = {
    Grain.QUARTER: "",
    Grain.MONTH: "last month of the quarter",
    Grain.YEAR: "12 months to the quarter end",
}


class KpiStatus(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NO_DATA = "no_data"


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
    problem: str | None = None  # why there is no value when that is an error (e.g. missing table)
    grain: str = Grain.QUARTER.value

    @property
    def window_note(self) -> str:
        """What span of time the figure covers when that is not the quarter itself, else ''."""
        return GRAIN_WINDOW_NOTES[Grain(self.grain)]

    @property
    def ref(self) -> str:
        """`name@version`, printed beside each figure so it can be reproduced."""
        return f"{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        """The design §8 `kpis --format json` entry."""
        return {
            "name": self.name,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "status": self.status.value,
            "version": self.version,
            "previous_value": self.previous_value,
        }


def status_of(definition: MetricDefinition, value: float | None) -> KpiStatus:
    """green / amber / red from the thresholds (or the target alone); no value is no_data."""
    if value is None:
        return KpiStatus.NO_DATA
    value = round(float(value), 9)
    thresholds = definition.thresholds
    if thresholds is None:
        if definition.target is None:
            return KpiStatus.NO_DATA
        met = (
            value >= definition.target
            if definition.direction is Direction.HIGHER_IS_BETTER
            else value <= definition.target
        )
        return KpiStatus.GREEN if met else KpiStatus.RED
    if thresholds.green.holds(value):
        return KpiStatus.GREEN
    if thresholds.amber is not None and thresholds.amber.holds(value):
        return KpiStatus.AMBER
    return KpiStatus.RED


def target_met(definition: MetricDefinition, value: float | None, target: float) -> bool:
    """Whether a value meets a target in the metric's direction."""
    if value is None:
        return False
    value = round(float(value), 9)
    if definition.direction is Direction.HIGHER_IS_BETTER:
        return value >= target
    return value <= target


def _typed_value(definition: MetricDefinition, value: Any) -> int | float | None:
    if value is None:
        return None
    if definition.unit is Unit.COUNT:
        return int(round(float(value)))
    return float(value)


def _typed_target(definition: MetricDefinition) -> int | float | None:
    target = definition.target
    if target is not None and definition.unit is Unit.COUNT and float(target).is_integer():
        return int(target)
    return target


def kpi_result(
    definition: MetricDefinition,
    quarter: Quarter,
    value: Any,
    previous: Any,
    problem: str | None = None,
) -> KpiResult:
    typed = _typed_value(definition, value)
    return KpiResult(
        name=definition.name,
        label=definition.label,
        description=definition.description,
        owner=definition.owner,
        clause=definition.clause,
        unit=definition.unit.value,
        direction=definition.direction.value,
        target=_typed_target(definition),
        version=definition.version,
        quarter=quarter.label,
        value=typed,
        previous_value=_typed_value(definition, previous),
        status=status_of(definition, typed),
        thresholds=definition.thresholds.as_data() if definition.thresholds else {},
        problem=problem,
        grain=definition.grain.value,
    )


# --- evaluating ------------------------------------------------------------------------------
