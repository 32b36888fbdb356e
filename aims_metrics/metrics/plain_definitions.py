"""Read-only, pydantic-free mirrors of the metric and source models (GENERATED: do not edit).

Written by `python -m aims_metrics.metrics.plain_codegen` from the pydantic models in
`aims_metrics/definitions/models.py`, which stay the one declaration of every field; a test fails
when this file is stale. `aims_metrics.metrics.definition_reader` builds these from definitions that were
validated when they were saved, so evaluating the catalog (`kpis`) does not import pydantic.
"""

from __future__ import annotations

from aims_metrics.metrics.vocabulary import (
    Agg,
    BoundBehaviour,
    ColumnType,
    Direction,
    Grain,
    MetricBehaviour,
    MetricType,
    Op,
    PlainRecord,
    SourceBehaviour,
    ThresholdsBehaviour,
    Unit,
    tuple_of,
    tuple_of_text,
)


class PlainSourceColumn(PlainRecord):
    """Mirror of models.SourceColumn."""

    __slots__ = (
        "name",
        "type",
        "values",
        "expr",
        "description",
    )
    _defaults = {
        "values": (),
        "expr": None,
        "description": "",
    }
    _convert = {
        "type": ColumnType,
        "values": tuple_of_text,
    }


class PlainSource(SourceBehaviour, PlainRecord):
    """Mirror of models.Source."""

    __slots__ = (
        "name",
        "table",
        "description",
        "key",
        "columns",
    )
    _defaults = {
        "description": "",
        "key": None,
        "columns": (),
    }
    _convert = {
        "columns": tuple_of(PlainSourceColumn),
    }


class PlainFilter(PlainRecord):
    """Mirror of models.Filter."""

    __slots__ = (
        "field",
        "op",
        "value",
        "sql",
    )
    _defaults = {
        "field": None,
        "op": None,
        "value": None,
        "sql": None,
    }
    _convert = {
        "op": Op,
    }


class PlainSnapshot(PlainRecord):
    """Mirror of models.Snapshot."""

    __slots__ = (
        "opened",
        "closed",
    )
    _defaults = {
        "opened": None,
    }
    _convert = {}


class PlainMeasure(PlainRecord):
    """Mirror of models.Measure."""

    __slots__ = (
        "source",
        "agg",
        "expr",
        "filters",
        "snapshot",
        "time_dimension",
    )
    _defaults = {
        "agg": Agg.COUNT,
        "expr": None,
        "filters": (),
        "snapshot": None,
        "time_dimension": None,
    }
    _convert = {
        "agg": Agg,
        "filters": tuple_of(PlainFilter),
        "snapshot": PlainSnapshot.from_data,
    }


class PlainBound(BoundBehaviour, PlainRecord):
    """Mirror of models.Bound."""

    __slots__ = (
        "gte",
        "lte",
    )
    _defaults = {
        "gte": None,
        "lte": None,
    }
    _convert = {}


class PlainThresholds(ThresholdsBehaviour, PlainRecord):
    """Mirror of models.Thresholds."""

    __slots__ = (
        "green",
        "amber",
    )
    _defaults = {
        "amber": None,
    }
    _convert = {
        "green": PlainBound.from_data,
        "amber": PlainBound.from_data,
    }


class PlainMetricDefinition(MetricBehaviour, PlainRecord):
    """Mirror of models.MetricDefinition."""

    __slots__ = (
        "name",
        "label",
        "description",
        "owner",
        "clause",
        "objective",
        "version",
        "type",
        "unit",
        "direction",
        "target",
        "thresholds",
        "grain",
        "time_dimension",
        "measure",
        "numerator",
        "denominator",
        "snapshot",
    )
    _defaults = {
        "objective": None,
        "version": 1,
        "target": None,
        "thresholds": None,
        "grain": Grain.QUARTER,
        "time_dimension": None,
        "measure": None,
        "numerator": None,
        "denominator": None,
        "snapshot": None,
    }
    _convert = {
        "type": MetricType,
        "unit": Unit,
        "direction": Direction,
        "thresholds": PlainThresholds.from_data,
        "grain": Grain,
        "measure": PlainMeasure.from_data,
        "numerator": PlainMeasure.from_data,
        "denominator": PlainMeasure.from_data,
        "snapshot": PlainSnapshot.from_data,
    }
