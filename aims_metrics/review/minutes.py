"""The quarterly management review minutes as a PDF (ReportLab; design §6, ISO/IEC 42001 9.3).

One section per 9.3.2 input a)–e) and one for the 9.3.3 results, with the KPI table, charts drawn
with reportlab.graphics (no browser needed), aging, objective progress, decisions and actions, an
approval block, "Page X of Y", the document id and a fingerprint of the data used.

Deterministic: the same data and review record give byte-identical files. ReportLab runs in
invariant mode, the PDF dates come from the review record (never "now"), and every input is sorted.
"""

from __future__ import annotations

import calendar
import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import duckdb
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Group, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from aims_metrics.metrics.formatting import format_change, format_value
from aims_metrics.metrics.periods import Quarter
from aims_metrics.review import (
    FINDING_TYPES,
    ActionState,
    CarriedAction,
    DecisionKind,
    ReviewInputs,
    ReviewRecord,
    assemble_inputs,
    document_id,
    get_review,
)
from aims_metrics.review.fairness_minutes import bias_groups_section

# --- vocabulary shown in the minutes ---------------------------------------------------------

TITLE = "Management review minutes"
HEADING_MEETING = "Meeting"
HEADING_ATTENDEES = "Attendees"
HEADING_AGENDA = "Agenda"
HEADING_A = "9.3.2 a) Status of actions from previous management reviews"
HEADING_B = "9.3.2 b) Changes in external and internal issues"
HEADING_C = "9.3.2 c) Changes in needs and expectations of interested parties"
HEADING_D = "9.3.2 d) Information on AIMS performance"
HEADING_D1 = "d) 1. Nonconformities and corrective actions"
HEADING_D2 = "d) 2. Monitoring and measurement results"
HEADING_OBJECTIVES = "Objective progress (6.2)"
HEADING_D3 = "d) 3. Audit results"
HEADING_E = "9.3.2 e) Opportunities for continual improvement"
HEADING_RESULTS = "9.3.3 Results: decisions and actions"
HEADING_APPROVAL = "Approval"

SECTION_HEADINGS: tuple[str, ...] = (
    HEADING_MEETING,
    HEADING_ATTENDEES,
    HEADING_AGENDA,
    HEADING_A,
    HEADING_B,
    HEADING_C,
    HEADING_D,
    HEADING_D1,
    HEADING_D2,
    HEADING_OBJECTIVES,
    HEADING_D3,
    HEADING_E,
    HEADING_RESULTS,
    HEADING_APPROVAL,
)

AGENDA: tuple[str, ...] = (
    "Opening: attendees, scope of the AIMS, approval of the agenda",
    "a) Status of actions from previous management reviews",
    "b) Changes in external and internal issues relevant to the AIMS",
    "c) Changes in needs and expectations of interested parties relevant to the AIMS",
    "d) Information on AIMS performance: nonconformities and corrective actions, monitoring "
    "and measurement results, audit results",
    "e) Opportunities for continual improvement",
    "Results (9.3.3): decisions on improvement, changes to the AIMS and resources; actions",
    "Approval of the minutes",
)

FINDING_TYPE_TITLES = {
    "major_nc": "Major NC",
    "minor_nc": "Minor NC",
    "observation": "Observation",
    "ofi": "OFI",
}

FINDING_TYPE_SHORT = {
    "major_nc": "Major NC",
    "minor_nc": "Minor NC",
    "observation": "Obs.",
    "ofi": "OFI",
}

FINDING_TYPE_PHRASES = {
    "major_nc": "major NC",
    "minor_nc": "minor NC",
    "observation": "observation(s)",
    "ofi": "OFI(s)",
}

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies. Every colour is
# shown beside a word, never alone.
OKABE_ITO = {
    "bluish_green": colors.HexColor("#009E73"),
    "orange": colors.HexColor("#E69F00"),
    "vermillion": colors.HexColor("#D55E00"),
    "sky_blue": colors.HexColor("#56B4E9"),
    "blue": colors.HexColor("#0072B2"),
    "yellow": colors.HexColor("#F0E442"),
    "reddish_purple": colors.HexColor("#CC79A7"),
    "grey": colors.HexColor("#8C8C8C"),
}
STATUS_STYLE: dict[str, tuple[str, colors.Color]] = {
    "green": ("Green", OKABE_ITO["bluish_green"]),
    "amber": ("Amber", OKABE_ITO["orange"]),
    "red": ("Red", OKABE_ITO["vermillion"]),
    "no_data": ("No data", OKABE_ITO["grey"]),
}
OBJECTIVE_STYLE: dict[str, tuple[str, colors.Color]] = {
    "achieved": ("Achieved", OKABE_ITO["bluish_green"]),
    "on_track": ("On track", OKABE_ITO["bluish_green"]),
    "at_risk": ("At risk", OKABE_ITO["orange"]),
    "off_track": ("Off track", OKABE_ITO["vermillion"]),
    "missed": ("Missed", OKABE_ITO["vermillion"]),
    "no_data": ("No data", OKABE_ITO["grey"]),
}
ACTION_STYLE: dict[ActionState, tuple[str, colors.Color]] = {
    ActionState.DONE: ("Done", OKABE_ITO["bluish_green"]),
    ActionState.OPEN: ("Open", OKABE_ITO["blue"]),
    ActionState.OVERDUE: ("Overdue", OKABE_ITO["vermillion"]),
}
FINDING_TYPE_COLOURS = {
    "major_nc": OKABE_ITO["vermillion"],
    "minor_nc": OKABE_ITO["orange"],
    "observation": OKABE_ITO["sky_blue"],
    "ofi": OKABE_ITO["bluish_green"],
}
DECISION_KIND_TITLES = {
    DecisionKind.IMPROVEMENT: "Improvement",
    DecisionKind.CHANGE_TO_AIMS: "Change to the AIMS",
    DecisionKind.RESOURCES: "Resources",
}

INK = colors.HexColor("#1A1A1A")
HEADING_INK = colors.HexColor("#1F3A5F")
MUTED = colors.HexColor("#5A5A5A")
RULE = colors.HexColor("#B8C2CC")
HEADER_FILL = colors.HexColor("#E8EDF2")
STRIPE_FILL = colors.HexColor("#F6F8FA")

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
MAX_CLAUSE_ROWS = 15
MAX_AUDIT_ROWS = 20  # the audits with the most findings; the rest in one line

# --- fonts -------------------------------------------------------------------------------------

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")


@cache
def fonts() -> tuple[str, str, bool]:
    """(regular, bold, unicode): DejaVu Sans embedded when installed, else Helvetica."""
    regular, bold = DEJAVU_DIR / "DejaVuSans.ttf", DEJAVU_DIR / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        pdfmetrics.registerFont(TTFont("AimsSans", str(regular)))
        pdfmetrics.registerFont(TTFont("AimsSans-Bold", str(bold)))
        pdfmetrics.registerFontFamily("AimsSans", normal="AimsSans", bold="AimsSans-Bold")
        return "AimsSans", "AimsSans-Bold", True
    return "Helvetica", "Helvetica-Bold", False


_LATIN1_FALLBACKS = {
    "■": "#",
    "—": "-",
    "–": "-",
    "…": "...",
    "≤": "<=",
    "≥": ">=",
    "−": "-",
    "▲": "+",
    "▼": "-",
    "→": "->",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
}


def _safe(text: str) -> str:
    """Text the chosen font can draw: unchanged with DejaVu; latin-1 with Helvetica."""
    if fonts()[2]:
        return text
    for char, replacement in _LATIN1_FALLBACKS.items():
        text = text.replace(char, replacement)
    return text.encode("latin-1", "replace").decode("latin-1")


def _markup(text: str) -> str:
    """User text as Paragraph markup: escaped, line breaks kept."""
    return "<br/>".join(escape(_safe(line)) for line in text.strip().splitlines())


# --- styles ------------------------------------------------------------------------------------


@cache
def _styles() -> dict[str, ParagraphStyle]:
    regular, bold, _ = fonts()
    base = ParagraphStyle(
        "body", fontName=regular, fontSize=9, leading=12, textColor=INK, alignment=TA_LEFT
    )
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "muted": ParagraphStyle("muted", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "cell_bold": ParagraphStyle(
            "cell_bold", parent=base, fontName=bold, fontSize=8, leading=10
        ),
        "head": ParagraphStyle("head", parent=base, fontName=bold, fontSize=7.5, leading=9.5),
        "title": ParagraphStyle(
            "title", parent=base, fontName=bold, fontSize=20, leading=24, textColor=HEADING_INK
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=12, leading=16, textColor=HEADING_INK
        ),
        "h1": ParagraphStyle(
            "h1",
            parent=base,
            fontName=bold,
            fontSize=12.5,
            leading=16,
            textColor=HEADING_INK,
            spaceBefore=10,
            spaceAfter=5,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=bold,
            fontSize=10,
            leading=13,
            textColor=HEADING_INK,
            spaceBefore=7,
            spaceAfter=3,
        ),
        "empty": ParagraphStyle("empty", parent=base, textColor=MUTED),
    }


def _p(text: str, style: str = "body") -> Paragraph:
    """A paragraph of already-escaped markup."""
    return Paragraph(text, _styles()[style])


def _t(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped here)."""
    return Paragraph(_markup(text) if text else "", _styles()[style])


def _h1(text: str) -> Paragraph:
    return _t(text, "h1")


def _h2(text: str) -> Paragraph:
    return _t(text, "h2")


def _swatch(word: str, colour: colors.Color, style: str = "cell") -> Paragraph:
    return _p(
        f'<font color="{colour.hexval().replace("0x", "#")}">{_safe("■")}</font> {word}', style
    )


def _table(
    rows: list[list[Any]],
    widths: list[float],
    numeric_columns: tuple[int, ...] = (),
    total_row: bool = False,
) -> Table:
    """A striped table with a header row; rows are Paragraphs or plain strings."""
    styles = _styles()
    header = [
        c if isinstance(c, Flowable) else Paragraph(escape(_safe(c)), styles["head"])
        for c in rows[0]
    ]
    body = [
        [
            c if isinstance(c, Flowable) else Paragraph(escape(_safe(str(c))), styles["cell"])
            for c in row
        ]
        for row in rows[1:]
    ]
    table = Table([header, *body], colWidths=widths, repeatRows=1, hAlign="LEFT")
    commands: list[tuple] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
        ("LINEBELOW", (0, -1), (-1, -1), 0.6, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    for index in range(2, len(rows), 2):
        commands.append(("BACKGROUND", (0, index), (-1, index), STRIPE_FILL))
    if total_row:
        commands.append(("LINEABOVE", (0, -1), (-1, -1), 0.6, RULE))
    table.setStyle(TableStyle(commands))
    for column in numeric_columns:
        for row_cells in body:
            cell = row_cells[column]
            if isinstance(cell, Paragraph):
                cell.style = ParagraphStyle(f"{cell.style.name}_r", parent=cell.style, alignment=2)
        head = header[column]
        if isinstance(head, Paragraph):
            head.style = ParagraphStyle("head_r", parent=head.style, alignment=2)
    return table


def _key_values(pairs: list[tuple[str, Any]]) -> Table:
    styles = _styles()
    rows = [
        [
            Paragraph(escape(label), styles["head"]),
            value if isinstance(value, Flowable) else _t(str(value), "cell"),
        ]
        for label, value in pairs
    ]
    table = Table(rows, colWidths=[36 * mm, CONTENT_WIDTH - 36 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


# --- formatting ---------------------------------------------------------------------------------


NO_DATA = "no data"  # a KPI without a value in the minutes


def _day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def _long_day(value: date) -> str:
    return f"{value.day} {calendar.month_name[value.month]} {value.year}"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


# --- charts ------------------------------------------------------------------------------------


def _nice_step(maximum: float) -> float:
    if maximum <= 0:
        return 1
    raw = maximum / 4
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if step >= raw:
            return step
    return raw


def _bar_chart(
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
        String(0, height - 10, _safe(title), fontName=bold, fontSize=8, fillColor=HEADING_INK)
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
    step = _nice_step(top)
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
                String(x + 10, 7, _safe(name), fontName=regular, fontSize=6.5, fillColor=INK)
            )
            x += 14 + pdfmetrics.stringWidth(_safe(name), regular, 6.5) + 8
    return drawing


def nonconformity_charts(inputs: ReviewInputs) -> Drawing:
    """Open nonconformities per quarter end beside the aging buckets stacked by finding type."""
    half = CONTENT_WIDTH / 2 - 6
    height = 150.0
    combined = Drawing(CONTENT_WIDTH, height)
    trend = _bar_chart(
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
    aging = _bar_chart(
        f"Open findings by age at {inputs.quarter.end.isoformat()} (days)",
        [b.bucket for b in buckets],
        [
            (FINDING_TYPE_TITLES[t], [int(getattr(b, t)) for b in buckets], FINDING_TYPE_COLOURS[t])
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


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap; the last allowed line is shortened with an ellipsis if needed."""
    ellipsis = _safe("…")
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


def _sparkline_cell(kpi_results: list[Any], width: float, height: float) -> list:
    """Shapes of one small-multiple KPI trend: title, latest value and status, value line,
    dashed target line, first and last quarter."""
    regular, bold, _ = fonts()
    shapes: list = []
    latest = kpi_results[-1]
    unit = latest.unit
    for index, line in enumerate(_wrap(_safe(latest.label), bold, 7, width, 2)):
        shapes.append(
            String(
                0, height - 8 - 8.5 * index, line, fontName=bold, fontSize=7, fillColor=HEADING_INK
            )
        )
    status_word, status_colour = STATUS_STYLE.get(latest.status.value, STATUS_STYLE["no_data"])
    line_y = height - 28
    shapes.append(Rect(0, line_y - 0.5, 5, 5, fillColor=status_colour, strokeColor=None))
    shapes.append(
        String(
            8,
            line_y,
            _safe(f"{format_value(latest.value, unit, NO_DATA)} · {status_word}"),
            fontName=regular,
            fontSize=6.5,
            fillColor=INK,
        )
    )
    if latest.target is not None:
        shapes.append(
            String(
                width,
                line_y,
                _safe(f"target {format_value(latest.target, unit, NO_DATA)}"),
                fontName=regular,
                fontSize=6,
                fillColor=MUTED,
                textAnchor="end",
            )
        )
    values = [k.value for k in kpi_results]
    known = [float(v) for v in values if v is not None]
    target = latest.target
    scale_values = known + ([float(target)] if target is not None else [])
    top = max(scale_values) if scale_values else 1.0
    bottom = min(0.0, *scale_values) if scale_values else 0.0
    if unit == "percent":
        top, bottom = max(top, 1.0), min(bottom, 0.0)
    if top == bottom:
        top = bottom + 1
    plot_x, plot_y = 0.0, 12.0
    plot_w, plot_h = width, line_y - 6 - plot_y

    def y_of(value: float) -> float:
        return plot_y + 2 + (value - bottom) / (top - bottom) * (plot_h - 4)

    def x_of(index: int) -> float:
        return plot_x + 4 + (index / max(len(values) - 1, 1)) * (plot_w - 8)

    shapes.append(Rect(plot_x, plot_y, plot_w, plot_h, fillColor=STRIPE_FILL, strokeColor=None))
    if target is not None:
        target_y = y_of(float(target))
        shapes.append(
            Line(
                plot_x,
                target_y,
                plot_x + plot_w,
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
        String(plot_x, 4, kpi_results[0].quarter, fontName=regular, fontSize=5.5, fillColor=MUTED)
    )
    shapes.append(
        String(
            plot_x + plot_w,
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


# --- the document --------------------------------------------------------------------------


def _record_timestamp(record: ReviewRecord | None, quarter: Quarter) -> datetime:
    """The PDF's creation date: when the record was finalised or last saved, else the quarter end."""
    if record is not None:
        stamp = record.finalised_at if record.is_final else (record.updated_at or record.created_at)
        if stamp is not None:
            return stamp
    return datetime(quarter.end.year, quarter.end.month, quarter.end.day)


def _fixed_timestamp(moment: datetime) -> TimeStamp:
    stamp = TimeStamp(invariant=True)
    stamp.t = calendar.timegm(moment.timetuple())
    stamp.YMDhms = (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )
    stamp.dhh = stamp.dmm = 0
    stamp.tzname = "UTC"
    return stamp


def _canvas_class(
    header_left: str, footer_left: str, draft: bool, moment: datetime
) -> type[Canvas]:
    regular, bold, _ = fonts()

    class MinutesCanvas(Canvas):
        """Defers each page so the footer can say "Page X of Y"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["invariant"] = 1
            super().__init__(*args, **kwargs)
            self._doc._timeStamp = _fixed_timestamp(moment)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 (ReportLab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(
                MARGIN, PAGE_HEIGHT - MARGIN + 8, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN + 8
            )
            self.line(MARGIN, MARGIN - 8, PAGE_WIDTH - MARGIN, MARGIN - 8)
            self.setFillColor(MUTED)
            self.setFont(regular, 7.5)
            self.drawString(MARGIN, PAGE_HEIGHT - MARGIN + 12, _safe(header_left))
            self.drawRightString(
                PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN + 12, "DRAFT" if draft else "FINAL"
            )
            self.drawString(MARGIN, MARGIN - 18, _safe(footer_left))
            self.drawRightString(PAGE_WIDTH - MARGIN, MARGIN - 18, f"Page {number} of {total}")
            self.restoreState()

    return MinutesCanvas


def _watermark(draft: bool):
    """A page callback drawing "DRAFT" across the page beneath the content of a draft."""
    bold = fonts()[1]

    def draw(canvas: Canvas, doc: BaseDocTemplate) -> None:
        if not draft:
            return
        canvas.saveState()
        canvas.setFillColor(colors.HexColor("#F1F1F1"))
        canvas.setFont(bold, 110)
        canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
        canvas.rotate(50)
        canvas.drawCentredString(0, -38, "DRAFT")
        canvas.restoreState()

    return draw


def _status_line(record: ReviewRecord | None) -> str:
    if record is None:
        return (
            "DRAFT review pack: no review record exists yet. Inputs a) and d) are assembled from "
            "the data; the meeting, inputs b), c), e) and the results are to be completed."
        )
    if record.is_final:
        return (
            f"FINAL, revision {record.revision}: finalised by {record.finalised_by} on "
            f"{_when(record.finalised_at)}. This revision is locked; any change makes a new revision."
        )
    return (
        f"DRAFT, revision {record.revision}: not finalised; last saved by "
        f"{record.updated_by or record.created_by} on {_when(record.updated_at or record.created_at)}."
    )


def _text_section(heading: str, text: str, record: ReviewRecord | None) -> list:
    if text.strip():
        body: Flowable = _t(text)
    elif record is None or not record.is_final:
        body = _t("Not recorded yet: to be completed at the meeting.", "empty")
    else:
        body = _t("Nothing to report for this quarter.", "empty")
    return [_h1(heading), body]


def _carried_section(inputs: ReviewInputs) -> list:
    flow: list = [_h1(HEADING_A)]
    carried = inputs.carried
    if not carried:
        flow.append(
            _t(
                "No actions from earlier management reviews were open at the start of the quarter "
                "or closed during it.",
                "empty",
            )
        )
        return flow
    counts = {state: sum(1 for c in carried if c.state is state) for state in ActionState}
    flow.append(
        _t(
            f"{len(carried)} action(s) from earlier reviews, status as of "
            f"{inputs.as_of.isoformat()}: {counts[ActionState.DONE]} done, "
            f"{counts[ActionState.OPEN]} open, {counts[ActionState.OVERDUE]} overdue. Actions stay "
            "listed here until they are closed."
        )
    )
    flow.append(Spacer(1, 3))
    rows: list[list[Any]] = [["Action", "Description", "Owner", "Due", "Status", "Closed"]]
    for item in carried:
        rows.append(_carried_row(item))
    widths = [27 * mm, 54 * mm, 25 * mm, 20 * mm, 28 * mm, 20 * mm]
    flow.append(_table(rows, widths))
    return flow


def _carried_row(item: CarriedAction) -> list[Any]:
    action = item.action
    word, colour = ACTION_STYLE[item.state]
    if item.state is ActionState.DONE and item.on_time is False:
        word += " (late)"
    elif item.state is ActionState.OVERDUE:
        word += f" ({item.days_overdue} d)"
    description = escape(_safe(action.description))
    if action.closing_note:
        description += (
            f'<br/><font color="#5A5A5A">Note: {escape(_safe(action.closing_note))}</font>'
        )
    return [
        _t(action.action_id, "cell"),
        _p(description, "cell"),
        _t(action.owner, "cell"),
        _day(action.due_on),
        _swatch(escape(word), colour),
        _day(action.closed_on if item.state is ActionState.DONE else None),
    ]


def _nonconformity_section(inputs: ReviewInputs) -> list:
    flow: list = [_h2(HEADING_D1)]
    current = inputs.nonconformity_trend[-1] if inputs.nonconformity_trend else None
    aging = inputs.aging
    if current is not None:
        flow.append(
            _t(
                f"At {inputs.quarter.end.isoformat()}, {current.open_at_end} nonconformities "
                f"(major and minor) were open, {current.overdue_at_end} of them past their due "
                f"date; {current.raised} were raised and {current.closed} closed in the quarter. "
                f"Open findings of any type: {aging.open_total}, overdue: {aging.overdue}."
            )
        )
    flow.append(Spacer(1, 3))
    rows: list[list[Any]] = [
        ["Quarter", "Raised", "Closed", "Open at end", "Overdue at end", "Mean days to close"]
    ]
    for n in inputs.nonconformity_trend:
        rows.append(
            [
                n.quarter,
                str(n.raised),
                str(n.closed),
                str(n.open_at_end),
                str(n.overdue_at_end),
                "—" if n.mean_days_to_close is None else f"{n.mean_days_to_close:.1f}",
            ]
        )
    flow.append(_table(rows, [30 * mm] + [(CONTENT_WIDTH - 30 * mm) / 5] * 5, (1, 2, 3, 4, 5)))
    flow.append(Spacer(1, 6))
    flow.append(nonconformity_charts(inputs))
    flow.append(Spacer(1, 6))
    aging_rows: list[list[Any]] = [
        ["Age (days)", *[FINDING_TYPE_TITLES[t] for t in FINDING_TYPES], "Total"]
    ]
    for bucket in aging.buckets:
        aging_rows.append(
            [bucket.bucket, *[str(getattr(bucket, t)) for t in FINDING_TYPES], str(bucket.total)]
        )
    aging_rows.append(
        [
            _t("All open", "cell_bold"),
            *[str(sum(getattr(b, t) for b in aging.buckets)) for t in FINDING_TYPES],
            _t(str(aging.open_total), "cell_bold"),
        ]
    )
    flow.append(
        KeepTogether(
            [
                _t(
                    f"Aging of open findings at {aging.as_of.isoformat()} (all finding types; "
                    f"overdue: {aging.overdue})",
                    "cell_bold",
                ),
                Spacer(1, 2),
                _table(
                    aging_rows,
                    [30 * mm] + [(CONTENT_WIDTH - 30 * mm) / 5] * 5,
                    (1, 2, 3, 4, 5),
                    total_row=True,
                ),
            ]
        )
    )
    return flow


def _kpi_section(inputs: ReviewInputs) -> list:
    flow: list = [_h2(HEADING_D2)]
    if not inputs.kpis:
        flow.append(_t("No metric definitions are installed: run init.", "empty"))
        return flow
    counts = {s: sum(1 for k in inputs.kpis if k.status.value == s) for s in STATUS_STYLE}
    flow.append(
        _t(
            f"{len(inputs.kpis)} KPIs of the metric catalog for {inputs.quarter.label}: "
            f"{counts['green']} green, {counts['amber']} amber, {counts['red']} red, "
            f"{counts['no_data']} without data. Each figure carries name@version so it can be "
            "reproduced from the same definition."
        )
    )
    flow.append(Spacer(1, 3))
    rows: list[list[Any]] = [
        ["Metric (name@version)", "Value", "Target", "Status", "Change vs previous quarter"]
    ]
    notes = []
    for kpi in inputs.kpis:
        word, colour = STATUS_STYLE.get(kpi.status.value, STATUS_STYLE["no_data"])
        metric = (
            f"{escape(_safe(kpi.label))}<br/>"
            f'<font size="6.5" color="#5A5A5A">{escape(kpi.ref)} · clause {escape(kpi.clause)}'
            + (f" · {escape(kpi.window_note)}" if kpi.window_note else "")
            + "</font>"
        )
        if kpi.problem:
            notes.append(f"{kpi.ref}: {kpi.problem}")
        rows.append(
            [
                _p(metric, "cell"),
                format_value(kpi.value, kpi.unit, NO_DATA),
                format_value(kpi.target, kpi.unit, NO_DATA) if kpi.target is not None else "—",
                _swatch(word, colour),
                format_change(kpi.value, kpi.previous_value, kpi.unit, kpi.direction),
            ]
        )
    widths = [74 * mm, 20 * mm, 20 * mm, 22 * mm, CONTENT_WIDTH - 136 * mm]
    flow.append(_table(rows, widths, (1, 2)))
    legend = " ".join(
        f'<font color="{c.hexval().replace("0x", "#")}">{_safe("■")}</font> {w}'
        for w, c in STATUS_STYLE.values()
    )
    flow.append(
        _p(
            f"Status against the metric's thresholds: {legend}. Change compares with "
            f"{inputs.quarter.previous().label} computed with the same definition version.",
            "muted",
        )
    )
    for note in notes:
        flow.append(_t(f"No value — {note}", "muted"))
    flow.append(Spacer(1, 6))
    flow.append(CondPageBreak(60 * mm))
    flow.append(
        _t(
            f"KPI trends over {inputs.trend_quarters[0]}–{inputs.trend_quarters[-1]} "
            "(line: value; dashed: target)",
            "cell_bold",
        )
    )
    flow.append(Spacer(1, 2))
    flow.extend(kpi_trend_rows(inputs))
    return flow


def _objective_section(inputs: ReviewInputs) -> list:
    flow: list = [_h2(HEADING_OBJECTIVES)]
    if not inputs.objectives:
        flow.append(_t("No AI objectives are recorded: add them on the Objectives page.", "empty"))
        return flow
    units = {k.name: k.unit for k in inputs.kpis}
    rows: list[list[Any]] = [["Objective", "Target", "Deadline", "Value", "Progress", "Status"]]
    for progress in inputs.objectives:
        objective = progress.objective
        unit = units.get(objective.metric, "count")
        word, colour = OBJECTIVE_STYLE.get(progress.status.value, OBJECTIVE_STYLE["no_data"])
        title = (
            f'{escape(_safe(objective.title))}<br/><font size="6.5" color="#5A5A5A">'
            f"{escape(objective.objective_id)} · metric {escape(objective.metric)}"
            f"{' · owner ' + escape(_safe(objective.owner)) if objective.owner else ''}</font>"
        )
        if progress.progress is None:
            done = "—"
        else:
            done = f"{progress.progress * 100:.0f} %"
            if progress.expected is not None:
                done += f" (time {progress.expected * 100:.0f} %)"
        rows.append(
            [
                _p(title, "cell"),
                format_value(objective.target, unit, NO_DATA),
                _day(objective.deadline),
                format_value(progress.value, unit, NO_DATA),
                done,
                _swatch(word, colour),
            ]
        )
    widths = [70 * mm, 18 * mm, 20 * mm, 18 * mm, 25 * mm, CONTENT_WIDTH - 151 * mm]
    flow.append(_table(rows, widths, (1, 3)))
    flow.append(
        _t(
            "Progress: share of the way from the baseline to the target; time: share of the time "
            "from the baseline date to the deadline already elapsed.",
            "muted",
        )
    )
    return flow


def _audit_section(inputs: ReviewInputs) -> list:
    flow: list = [_h2(HEADING_D3)]
    if not inputs.audits:
        flow.append(_t(f"No audit findings were raised in {inputs.quarter.label}.", "empty"))
        return flow
    total = sum(inputs.findings_by_type.values())
    parts = ", ".join(
        f"{inputs.findings_by_type[t]} {FINDING_TYPE_PHRASES[t]}" for t in FINDING_TYPES
    )
    flow.append(
        _t(
            f"{len(inputs.audits)} audit(s) raised {total} finding(s) in {inputs.quarter.label}: "
            f"{parts}."
        )
    )
    flow.append(Spacer(1, 3))
    short = [FINDING_TYPE_SHORT[t] for t in FINDING_TYPES]
    rows: list[list[Any]] = [["Audit", "Type", "Findings raised", *short, "Total"]]
    # The audits with the most findings (a large organisation holds hundreds a quarter; a row for
    # each made the PDF long and slow), the rest summed below the table.
    ranked = sorted(inputs.audits, key=lambda a: (-a.findings, a.first_raised_on, a.audit_id))
    shown_audits, more_audits = ranked[:MAX_AUDIT_ROWS], ranked[MAX_AUDIT_ROWS:]
    for audit in shown_audits:
        dates = audit.first_raised_on.isoformat()
        if audit.last_raised_on != audit.first_raised_on:
            dates += f" – {audit.last_raised_on.isoformat()}"
        rows.append(
            [
                audit.audit_id,
                audit.audit_type,
                dates,
                *[str(audit.by_type.get(t, 0)) for t in FINDING_TYPES],
                str(audit.findings),
            ]
        )
    num_w = 16 * mm
    flow.append(
        _table(
            rows,
            [30 * mm, 24 * mm, CONTENT_WIDTH - 54 * mm - 5 * num_w, *[num_w] * 5],
            (3, 4, 5, 6, 7),
        )
    )
    if more_audits:
        flow.append(
            _t(
                f"… and {len(more_audits)} more audit(s) with "
                f"{sum(a.findings for a in more_audits)} finding(s).",
                "muted",
            )
        )
    flow.append(Spacer(1, 6))
    clause_rows: list[list[Any]] = [["Clause", "Title", *short, "Total"]]
    shown = inputs.findings_by_clause[:MAX_CLAUSE_ROWS]
    for clause in shown:
        clause_rows.append(
            [
                clause.clause_ref,
                clause.title,
                *[str(clause.by_type.get(t, 0)) for t in FINDING_TYPES],
                str(clause.total),
            ]
        )
    flow.append(_t("Findings of the quarter by clause or control", "cell_bold"))
    flow.append(Spacer(1, 2))
    flow.append(
        _table(
            clause_rows,
            [18 * mm, CONTENT_WIDTH - 18 * mm - 5 * num_w, *[num_w] * 5],
            (2, 3, 4, 5, 6),
        )
    )
    rest = inputs.findings_by_clause[MAX_CLAUSE_ROWS:]
    if rest:
        flow.append(
            _t(
                f"… and {len(rest)} more clause(s) with {sum(c.total for c in rest)} finding(s).",
                "muted",
            )
        )
    flow.append(
        _t("Audits are identified by the audit id of the findings raised in the quarter.", "muted")
    )
    return flow


def _results_section(inputs: ReviewInputs, record: ReviewRecord | None) -> list:
    flow: list = [_h1(HEADING_RESULTS)]
    decisions = record.decisions if record else []
    if decisions:
        rows: list[list[Any]] = [["No.", "Kind", "Decision"]]
        for number, decision in enumerate(decisions, start=1):
            rows.append(
                [str(number), DECISION_KIND_TITLES[decision.kind], _t(decision.text, "cell")]
            )
        flow.append(_table(rows, [12 * mm, 34 * mm, CONTENT_WIDTH - 46 * mm]))
    else:
        flow.append(_t("No decisions recorded yet.", "empty"))
    flow.append(Spacer(1, 6))
    flow.append(
        _t("Actions raised by this review (each with an owner and a due date)", "cell_bold")
    )
    flow.append(Spacer(1, 2))
    if inputs.new_actions:
        rows = [["Action", "Description", "Owner", "Due", "Status"]]
        for action in inputs.new_actions:
            status = "Done " + _day(action.closed_on) if action.status.value == "done" else "Open"
            rows.append(
                [
                    action.action_id,
                    _t(action.description, "cell"),
                    _t(action.owner, "cell"),
                    _day(action.due_on),
                    status,
                ]
            )
        flow.append(_table(rows, [27 * mm, 75 * mm, 32 * mm, 20 * mm, CONTENT_WIDTH - 154 * mm]))
        flow.append(
            _t(
                "The next management review reports the status of these actions under input a).",
                "muted",
            )
        )
    else:
        flow.append(_t("No actions raised.", "empty"))
    flow.append(Spacer(1, 4))
    flow.append(
        _t(
            "These minutes are the documented information kept as evidence of the results of the "
            "management review (ISO/IEC 42001 9.3.3, 7.5).",
            "muted",
        )
    )
    return flow


def _approval_block(record: ReviewRecord | None) -> Flowable:
    regular, bold, _ = fonts()
    chair = record.chair if record and record.chair else ""
    styles = _styles()
    line = "_" * 38
    rows = [
        [Paragraph("Chair", styles["head"]), _t(chair or "—", "cell")],
        [Paragraph("Signature", styles["head"]), _t(line, "cell")],
        [Paragraph("Date", styles["head"]), _t(line, "cell")],
    ]
    table = Table(rows, colWidths=[36 * mm, 90 * mm], rowHeights=[16, 26, 26], hAlign="LEFT")
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (-1, -1), 4)])
    )
    if record is not None and record.is_final:
        note = (
            f"Finalised in AIMS Review by {record.finalised_by} on {_when(record.finalised_at)} "
            f"and archived as {record.document_id} with its sha256."
        )
    else:
        note = (
            "Draft: the minutes are approved when the review is finalised and signed by the chair."
        )
    return KeepTogether([_h1(HEADING_APPROVAL), _t(note, "muted"), Spacer(1, 4), table])


def minutes_story(inputs: ReviewInputs, record: ReviewRecord | None, fingerprint: str) -> list:
    """The flowables of the minutes, in order."""
    quarter = inputs.quarter
    doc_id = record.document_id if record else document_id(quarter, None)
    flow: list = [
        _t(inputs.organisation, "title"),
        _t(f"{TITLE} — {quarter.label}", "subtitle"),
        _t(
            f"Quarter {quarter.label}: {_long_day(quarter.start)} – {_long_day(quarter.end)}",
            "muted",
        ),
        Spacer(1, 4),
        _t(_status_line(record), "small"),
        _h1(HEADING_MEETING),
    ]
    meeting: list[tuple[str, Any]] = [
        ("Document id", doc_id),
        ("Date held", _day(record.held_on) if record and record.held_on else "not recorded yet"),
        ("Chair", record.chair if record and record.chair else "not recorded yet"),
        ("AIMS scope", (record.scope if record and record.scope else inputs.default_scope)),
        (
            "Data",
            f"Figures as of the quarter end {quarter.end.isoformat()}; action status as of "
            f"{inputs.as_of.isoformat()}.",
        ),
        (
            "Data fingerprint",
            f"sha256 {fingerprint[:16]}…" if fonts()[2] else f"sha256 {fingerprint[:16]}...",
        ),
    ]
    if record is not None and record.revision > 1:
        meeting.append(
            (
                "Revision",
                f"Revision {record.revision} of the minutes, created by {record.created_by} on "
                f"{_when(record.created_at)}. Reason: {record.revision_reason or '—'}",
            )
        )
    flow.append(_key_values(meeting))
    flow.append(_h1(HEADING_ATTENDEES))
    attendees = record.attendees if record else []
    if attendees:
        rows: list[list[Any]] = [["Name", "Role"]]
        rows += [[_t(a.name, "cell"), _t(a.role or "—", "cell")] for a in attendees]
        flow.append(_table(rows, [60 * mm, CONTENT_WIDTH - 60 * mm]))
    else:
        flow.append(_t("Not recorded yet.", "empty"))
    flow.append(_h1(HEADING_AGENDA))
    flow.append(
        _p(
            "<br/>".join(f"{n}. {escape(_safe(item))}" for n, item in enumerate(AGENDA, start=1)),
            "body",
        )
    )
    flow += _carried_section(inputs)
    flow += _text_section(HEADING_B, record.input_b if record else "", record)
    flow += _text_section(HEADING_C, record.input_c if record else "", record)
    flow.append(CondPageBreak(80 * mm))
    flow.append(_h1(HEADING_D))
    flow += _nonconformity_section(inputs)
    flow.append(CondPageBreak(60 * mm))
    flow += _kpi_section(inputs)
    flow += bias_groups_section(inputs.bias_groups, _h2, _t, _table, CONTENT_WIDTH)
    flow.append(CondPageBreak(40 * mm))
    flow += _objective_section(inputs)
    flow.append(CondPageBreak(50 * mm))
    flow += _audit_section(inputs)
    flow += _text_section(HEADING_E, record.input_e if record else "", record)
    flow.append(CondPageBreak(60 * mm))
    flow += _results_section(inputs, record)
    flow.append(_approval_block(record))
    return flow


def build_minutes_pdf(inputs: ReviewInputs, record: ReviewRecord | None) -> bytes:
    """Render assembled inputs and a review record (None: a draft pack) to PDF bytes."""
    quarter = inputs.quarter
    fingerprint = inputs.fingerprint(record)
    doc_id = record.document_id if record else document_id(quarter, None)
    draft = record is None or not record.is_final
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{TITLE} {quarter.label} — {inputs.organisation}",
        author=inputs.organisation,
        subject="ISO/IEC 42001 9.3 management review",
        creator="AIMS Review",
        producer="AIMS Review (ReportLab)",
        keywords=f"{doc_id} data-sha256:{fingerprint}",
        invariant=1,
    )
    frame = Frame(
        MARGIN,
        MARGIN,
        CONTENT_WIDTH,
        PAGE_HEIGHT - 2 * MARGIN,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate(id="minutes", frames=[frame], onPage=_watermark(draft))])
    header = f"{inputs.organisation} · {TITLE} {quarter.label}"
    footer = f"{doc_id} · data fingerprint {fingerprint[:12]}"
    doc.build(
        minutes_story(inputs, record, fingerprint),
        canvasmaker=_canvas_class(header, footer, draft, _record_timestamp(record, quarter)),
    )
    return buffer.getvalue()


def render_minutes(
    con: duckdb.DuckDBPyConnection, quarter: Quarter | str, record: ReviewRecord | None = None
) -> bytes:
    """The minutes of a quarter's latest review revision (a draft pack when none exists yet)."""
    inputs = assemble_inputs(con, quarter)
    if record is None:
        record = get_review(con, inputs.quarter)
    return build_minutes_pdf(inputs, record)
