"""The minutes' charts, drawn with reportlab.graphics (no browser needed): nonconformities per
quarter by finding type, and the KPI trends as small multiples."""

from __future__ import annotations

from typing import Any

from reportlab.graphics.shapes import Drawing, Group, Line, PolyLine, Rect, String

from aims_metrics.metrics.formatting import format_value
from aims_metrics.reports.charts import bar_chart, wrap_text
from aims_metrics.reports.style import (
    CONTENT_WIDTH,
    HEADING_INK,
    INK,
    MUTED,
    NO_DATA,
    OKABE_ITO,
    STRIPE_FILL,
    finding_colour,
    fonts,
    safe,
    status_colour,
)
from aims_metrics.review.assembly import FINDING_TYPES, ReviewInputs
from aims_metrics.vocabulary.findings import finding_title
from aims_metrics.vocabulary.status import look, status_word


def nonconformity_charts(inputs: ReviewInputs) -> Drawing:
    """Open nonconformities per quarter end beside the aging buckets stacked by finding type."""
    half = CONTENT_WIDTH / 2 - 6
    height = 150.0
    combined = Drawing(CONTENT_WIDTH, height)
    trend = bar_chart(
        "Open nonconformities at each quarter end",
        [n.quarter for n in inputs.nonconformity_trend],
        [
            (
                "Open nonconformities",
                [n.open_at_end for n in inputs.nonconformity_trend],
                OKABE_ITO["blue"],
            )
        ],
        half,
        height,
        stacked=False,
    )
    buckets = inputs.aging.buckets
    aging = bar_chart(
        f"Open findings by age at {inputs.quarter.end.isoformat()} (days)",
        [b.bucket for b in buckets],
        [
            (finding_title(t), [int(getattr(b, t)) for b in buckets], finding_colour(t))
            for t in FINDING_TYPES
        ],
        half,
        height,
        stacked=True,
    )
    trend_group = trend.asGroup()
    aging_group = aging.asGroup()
    aging_group.translate(half + 12, 0)
    combined.add(trend_group)
    combined.add(aging_group)
    return combined


def _sparkline_header(latest: Any, width: float, height: float) -> tuple[list, float]:
    """Title (up to two lines), latest value with its status, and the target; returns the shapes
    and the baseline of the value line."""
    regular, bold, _ = fonts()
    shapes: list = []
    unit = latest.unit
    for index, line in enumerate(wrap_text(safe(latest.label), bold, 7, width, 2)):
        shapes.append(
            String(
                0, height - 8 - 8.5 * index, line, fontName=bold, fontSize=7, fillColor=HEADING_INK
            )
        )
    line_y = height - 28
    shapes.append(
        String(
            0,
            line_y,
            safe(look(latest.status).symbol),
            fontName=regular,
            fontSize=6.5,
            fillColor=status_colour(latest.status),
        )
    )
    value_text = status_word(latest.status)
    if latest.value is not None:
        value_text = f"{format_value(latest.value, unit, NO_DATA)} · {value_text}"
    value_text = safe(value_text)
    shapes.append(String(8, line_y, value_text, fontName=regular, fontSize=6.5, fillColor=INK))
    if latest.target is not None:
        target_text = safe(f"target {format_value(latest.target, unit, NO_DATA)}")
        shapes.append(
            String(
                width,
                line_y,
                target_text,
                fontName=regular,
                fontSize=6,
                fillColor=MUTED,
                textAnchor="end",
            )
        )
    return shapes, line_y


def _value_range(values: list[Any], target: Any, unit: str) -> tuple[float, float]:
    """The bottom and top of a sparkline's scale: the values and the target, from 0 (0..1 at
    least for percentages)."""
    scale_values = [float(v) for v in values if v is not None]
    scale_values += [float(target)] if target is not None else []
    top = max(scale_values) if scale_values else 1.0
    bottom = min(0.0, *scale_values) if scale_values else 0.0
    if unit == "percent":
        top, bottom = max(top, 1.0), min(bottom, 0.0)
    return bottom, (bottom + 1 if top == bottom else top)


SCALE_GUTTER = 24.0  # left of a sparkline: the top and bottom of its scale


def _scale_labels(bottom: float, top: float, unit: str, plot_y: float, plot_h: float) -> list:
    """The sparkline's scale: its top and bottom values in the gutter left of the plot, with a
    tick at each, so a reader can tell a flat line at 0.97 from one at 97."""
    regular = fonts()[0]
    shapes: list = []
    for value, y in ((top, plot_y + plot_h), (bottom, plot_y)):
        text = safe(format_value(value, unit, NO_DATA))
        shapes.append(
            String(
                SCALE_GUTTER - 3,
                y - 1.8,
                text,
                fontName=regular,
                fontSize=5,
                fillColor=MUTED,
                textAnchor="end",
            )
        )
        shapes.append(
            Line(SCALE_GUTTER - 2, y, SCALE_GUTTER, y, strokeColor=MUTED, strokeWidth=0.5)
        )
    return shapes


def _sparkline_cell(kpi_results: list[Any], width: float, height: float) -> list:
    """Shapes of one small-multiple KPI trend: the header, the value line, the dashed target line,
    and the first and last quarter."""
    regular = fonts()[0]
    latest = kpi_results[-1]
    shapes, line_y = _sparkline_header(latest, width, height)
    values = [k.value for k in kpi_results]
    target = latest.target
    bottom, top = _value_range(values, target, latest.unit)
    plot_y, plot_w = 12.0, width
    plot_h = line_y - 6 - plot_y

    def y_of(value: float) -> float:
        return plot_y + (value - bottom) / (top - bottom) * plot_h

    def x_of(index: int) -> float:
        return SCALE_GUTTER + 4 + (index / max(len(values) - 1, 1)) * (plot_w - SCALE_GUTTER - 8)

    shapes.append(
        Rect(
            SCALE_GUTTER,
            plot_y,
            plot_w - SCALE_GUTTER,
            plot_h,
            fillColor=STRIPE_FILL,
            strokeColor=None,
        )
    )
    shapes += _scale_labels(bottom, top, latest.unit, plot_y, plot_h)
    if target is not None:
        target_y = y_of(float(target))
        shapes.append(
            Line(
                SCALE_GUTTER,
                target_y,
                plot_w,
                target_y,
                strokeColor=OKABE_ITO["orange"],
                strokeWidth=0.8,
                strokeDashArray=[2, 1.5],
            )
        )
    segments: list[list[float]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            segments.append([])
        else:
            segments[-1] += [x_of(index), y_of(float(value))]
    for points in segments:
        if len(points) >= 4:
            shapes.append(PolyLine(points, strokeColor=OKABE_ITO["blue"], strokeWidth=1.1))
    for index, value in enumerate(values):
        if value is not None:
            x, y = x_of(index), y_of(float(value))
            shapes.append(
                Rect(x - 1.3, y - 1.3, 2.6, 2.6, fillColor=OKABE_ITO["blue"], strokeColor=None)
            )
    shapes.append(
        String(
            SCALE_GUTTER, 4, kpi_results[0].quarter, fontName=regular, fontSize=5.5, fillColor=MUTED
        )
    )
    shapes.append(
        String(
            plot_w,
            4,
            latest.quarter,
            fontName=regular,
            fontSize=5.5,
            fillColor=MUTED,
            textAnchor="end",
        )
    )
    return shapes


def kpi_trend_rows(inputs: ReviewInputs, per_row: int = 3) -> list[Drawing]:
    """KPI trends as small multiples, one Drawing per row so the grid can break across pages."""
    names = [k.name for k in inputs.kpis if inputs.kpi_series.get(k.name)]
    gap = 10.0
    cell_w = (CONTENT_WIDTH - gap * (per_row - 1)) / per_row
    cell_h = 84.0
    rows = []
    for start in range(0, len(names), per_row):
        drawing = Drawing(CONTENT_WIDTH, cell_h + 6)
        for offset, name in enumerate(names[start : start + per_row]):
            group = Group(*_sparkline_cell(inputs.kpi_series[name], cell_w, cell_h))
            group.translate(offset * (cell_w + gap), 3)
            drawing.add(group)
        rows.append(drawing)
    return rows
