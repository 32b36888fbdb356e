"""The look of the PDFs (the minutes; other reports can share it): the Okabe-Ito palette with
a word beside every colour, fonts (DejaVu when installed), paragraph and table styles, dates, and
a deterministic canvas: fixed timestamps, "Page X of Y", header and footer, a draft watermark."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

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
    Flowable,
    Paragraph,
    Table,
    TableStyle,
)

from aims_metrics.vocabulary.findings import finding_look
from aims_metrics.vocabulary.palette import OKABE_ITO as PALETTE
from aims_metrics.vocabulary.status import look

# The palette, statuses and finding types come from the vocabulary (one look in the app and the
# PDFs); these are the ReportLab colours of it.
OKABE_ITO = {name: colors.HexColor(value) for name, value in PALETTE.items()}


def status_colour(status: object) -> colors.Color:
    """The ReportLab colour of a status (any of the vocabulary's status values)."""
    return colors.HexColor(look(status).colour)


def finding_colour(finding_type: object) -> colors.Color:
    """The ReportLab colour of a finding type, the same as the app's."""
    return colors.HexColor(finding_look(finding_type).colour)


INK = colors.HexColor("#1A1A1A")
HEADING_INK = colors.HexColor("#1F3A5F")
MUTED = colors.HexColor("#5A5A5A")
RULE = colors.HexColor("#B8C2CC")
HEADER_FILL = colors.HexColor("#E8EDF2")
STRIPE_FILL = colors.HexColor("#F6F8FA")

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN

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
    "●": "*",
    "○": "o",
    "◆": "*",
    "½": "1/2",
}


def safe(text: str) -> str:
    """Text the chosen font can draw: unchanged with DejaVu; latin-1 with Helvetica."""
    if fonts()[2]:
        return text
    for char, replacement in _LATIN1_FALLBACKS.items():
        text = text.replace(char, replacement)
    return text.encode("latin-1", "replace").decode("latin-1")


def markup(text: str) -> str:
    """User text as Paragraph markup: escaped, line breaks kept."""
    return "<br/>".join(escape(safe(line)) for line in text.strip().splitlines())


# --- styles ------------------------------------------------------------------------------------


@cache
def paragraph_styles() -> dict[str, ParagraphStyle]:
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


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of already-escaped markup."""
    return Paragraph(text, paragraph_styles()[style])


def cell(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped here)."""
    return Paragraph(markup(text) if text else "", paragraph_styles()[style])


def heading1(text: str) -> Paragraph:
    return cell(text, "h1")


def heading2(text: str) -> Paragraph:
    return cell(text, "h2")


def swatch(word: str, colour: colors.Color, style: str = "cell", symbol: str = "■") -> Paragraph:
    """A coloured symbol beside a word (`word` is markup: escape user text first)."""
    return para(
        f'<font color="{colour.hexval().replace("0x", "#")}">{safe(symbol)}</font> {word}', style
    )


def status_swatch(status: object, suffix: str = "", style: str = "cell") -> Paragraph:
    """A status as the vocabulary shows it: its symbol in its colour, then its word."""
    item = look(status)
    return swatch(escape(item.word + suffix), colors.HexColor(item.colour), style, item.symbol)


def table(
    rows: list[list[Any]],
    widths: list[float],
    numeric_columns: tuple[int, ...] = (),
    total_row: bool = False,
) -> Table:
    """A striped table with a header row; rows are Paragraphs or plain strings."""
    styles = paragraph_styles()
    header = [
        c if isinstance(c, Flowable) else Paragraph(escape(safe(c)), styles["head"])
        for c in rows[0]
    ]
    body = [
        [
            c if isinstance(c, Flowable) else Paragraph(escape(safe(str(c))), styles["cell"])
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


def key_values(pairs: list[tuple[str, Any]]) -> Table:
    styles = paragraph_styles()
    rows = [
        [
            Paragraph(escape(label), styles["head"]),
            value if isinstance(value, Flowable) else cell(str(value), "cell"),
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


def day_text(value: date | None) -> str:
    return value.isoformat() if value else "—"


def long_day_text(value: date) -> str:
    return f"{value.day} {calendar.month_name[value.month]} {value.year}"


def when_text(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


# --- deterministic pages ---------------------------------------------------------------------


def fixed_timestamp(moment: datetime) -> TimeStamp:
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


def canvas_class(
    header_left: str, footer_left: str, moment: datetime, header_right: str = ""
) -> type[Canvas]:
    """A canvas class for every report: invariant, dated `moment`, each page with a header
    (left text, optional right mark such as DRAFT/FINAL), a footer and "Page X of Y"."""
    regular = fonts()[0]

    class NumberedCanvas(Canvas):
        """Defers each page so the footer can say "Page X of Y"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["invariant"] = 1
            super().__init__(*args, **kwargs)
            self._doc._timeStamp = fixed_timestamp(moment)
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
            self.drawString(MARGIN, PAGE_HEIGHT - MARGIN + 12, safe(header_left))
            if header_right:
                self.drawRightString(PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN + 12, header_right)
            self.drawString(MARGIN, MARGIN - 18, safe(footer_left))
            self.drawRightString(PAGE_WIDTH - MARGIN, MARGIN - 18, f"Page {number} of {total}")
            self.restoreState()

    return NumberedCanvas


def watermark(draft: bool):
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
