"""Charts for the PDFs, drawn with reportlab.graphics (no browser needed): a (stacked) bar chart
with integer ticks, a title and a legend, and word wrapping for chart labels."""

from __future__ import annotations

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics

from aims_metrics.reports.style import HEADING_INK, INK, RULE, fonts, safe


def nice_step(maximum: float) -> float:
    """A round step that divides 0..maximum into about four intervals (a whole number)."""
    if maximum <= 0:
        return 1
    raw = maximum / 4
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if step >= raw:
            return step
    return raw


def bar_chart(
    title: str,
    categories: list[str],
    series: list[tuple[str, list[int], colors.Color]],
    width: float,
    height: float,
    stacked: bool,
) -> Drawing:
    """A (stacked) vertical bar chart with a title and a legend below it."""
    regular, bold, _ = fonts()
    drawing = Drawing(width, height)
    drawing.add(
        String(0, height - 10, safe(title), fontName=bold, fontSize=8, fillColor=HEADING_INK)
    )
    chart = VerticalBarChart()
    chart.x, chart.y = 26, 34
    chart.width, chart.height = width - 34, height - 54
    chart.data = [values for _, values, _ in series]
    totals = (
        [sum(column) for column in zip(*chart.data, strict=True)]
        if stacked
        else [max(column) for column in zip(*chart.data, strict=True)]
    )
    top = max(totals) if totals else 0
    step = nice_step(top)
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(step, step * -(-top // step))
    chart.valueAxis.valueStep = step
    chart.valueAxis.labelTextFormat = "%d"
    chart.valueAxis.labels.fontName = regular
    chart.valueAxis.labels.fontSize = 6.5
    chart.valueAxis.strokeColor = RULE
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#E3E7EB")
    chart.valueAxis.gridStrokeWidth = 0.4
    chart.categoryAxis.categoryNames = categories
    chart.categoryAxis.labels.fontName = regular
    chart.categoryAxis.labels.fontSize = 6.5
    chart.categoryAxis.strokeColor = RULE
    if stacked:
        chart.categoryAxis.style = "stacked"
    chart.barSpacing = 0
    chart.groupSpacing = 6
    chart.strokeColor = None
    for index, (_, _, colour) in enumerate(series):
        chart.bars[index].fillColor = colour
        chart.bars[index].strokeColor = colors.white
        chart.bars[index].strokeWidth = 0.3
    drawing.add(chart)
    if len(series) > 1:
        x = 26.0
        for name, _, colour in series:
            drawing.add(Rect(x, 6, 7, 7, fillColor=colour, strokeColor=None))
            drawing.add(
                String(x + 10, 7, safe(name), fontName=regular, fontSize=6.5, fillColor=INK)
            )
            x += 14 + pdfmetrics.stringWidth(safe(name), regular, 6.5) + 8
    return drawing


def wrap_text(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap; the last allowed line is shortened with an ellipsis if needed."""
    ellipsis = safe("…")
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and pdfmetrics.stringWidth(f"{line} {words[0]}", font, size) <= width:
            line += f" {words.pop(0)}"
        lines.append(line)
    if words:
        last = f"{lines[-1]} {' '.join(words)}"
        while pdfmetrics.stringWidth(last + ellipsis, font, size) > width and len(last) > 1:
            last = last[:-1]
        lines[-1] = last.rstrip() + ellipsis
    return lines
