"""Shared layout of the audit PDFs (the audit plan and the readiness report): styles, striped
tables, status swatches and a canvas that writes "Page X of Y", a header and a footer.

Deterministic like the minutes: ReportLab's invariant mode, the PDF date fixed by the caller
(the as-of date, never "now"); the fonts, palette, margins and fixed timestamp are the minutes'
(reports.style), and so is the canvas, without the DRAFT/FINAL mark: these are working papers.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

from aims_metrics.reports.style import (
    CONTENT_WIDTH,
    HEADER_FILL,
    MARGIN,
    RULE,
    STRIPE_FILL,
    canvas_class,
    fonts,
    paragraph_styles,
    safe,
)
from aims_metrics.vocabulary.status import look

PAGE_WIDTH, PAGE_HEIGHT = A4

# The longest list a report prints as a table (about a dozen pages of compact rows); a longer one
# is counted and grouped in the report and given whole in its CSV. Rendering time grows with the
# rows printed, so this bound also keeps every report fast at any data size.
APPENDIX_MAX_ROWS = 200
# A section heading starts a new page when less than this is left below it (never an orphan).
HEADING_ROOM = 35 * mm


@cache
def styles() -> dict[str, ParagraphStyle]:
    """The compact styles of the audit plan and readiness report: the shared paragraph styles
    with smaller table cells and a verdict line."""
    shared = paragraph_styles()
    _regular, bold, _ = fonts()
    base = shared["body"]
    return {
        **{name: shared[name] for name in ("body", "muted", "head", "title", "h1")},
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "cell_r": ParagraphStyle("cell_r", parent=base, fontSize=7.5, leading=9.5, alignment=2),
        "head_r": ParagraphStyle("head_r", parent=shared["head"], alignment=2),
        "verdict": ParagraphStyle("verdict", parent=base, fontName=bold, fontSize=15, leading=19),
    }


def _shown(value: Any) -> str:
    """A cell's text: "—" for None, NaN and pandas' NA."""
    try:
        missing = value is None or bool(value != value)
    except TypeError:  # pandas.NA refuses bool()
        missing = True
    return "—" if missing else str(value)


def para(text: Any, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped here: user text never becomes markup)."""
    return Paragraph(escape(safe(_shown(text))), styles()[style])


def section(title: str) -> list[Flowable]:
    """A section heading that never ends a page: it moves to the next page with its first lines."""
    return [CondPageBreak(HEADING_ROOM), para(title, "h1")]


def status_cell(status: str | None) -> Paragraph:
    """A status as the vocabulary shows it: symbol in its colour, then the word."""
    item = look(status)
    return Paragraph(
        f'<font color="{item.colour}">{safe(item.symbol)}</font> {escape(safe(item.word))}',
        styles()["cell"],
    )


def table(
    rows: list[list[Any]],
    widths: list[float],
    min_row_height: float | None = None,
    numeric_columns: tuple[int, ...] = (),
    total_row: bool = False,
) -> Table:
    """A striped table with a repeated header row; cells are text or flowables. An empty string
    is an empty cell (a form to fill in); None and NaN read "—". Numeric columns are right-aligned;
    a total row is ruled off above."""

    def cell(value: Any, index: int, style: str) -> Any:
        if isinstance(value, Flowable) or (isinstance(value, str) and not value):
            return value
        return para(value, f"{style}_r" if index in numeric_columns else style)

    header = [cell(c, i, "head") for i, c in enumerate(rows[0])]
    body = [[cell(c, i, "cell") for i, c in enumerate(row)] for row in rows[1:]]
    heights = None if min_row_height is None else [None] + [min_row_height] * len(body)
    result = Table(
        [header, *body], colWidths=widths, repeatRows=1, hAlign="LEFT", rowHeights=heights
    )
    commands: list[tuple] = [
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
        ("LINEBELOW", (0, -1), (-1, -1), 0.6, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    commands += [("BACKGROUND", (0, i), (-1, i), STRIPE_FILL) for i in range(2, len(rows), 2)]
    if total_row:
        commands.append(("LINEABOVE", (0, -1), (-1, -1), 0.6, RULE))
    result.setStyle(TableStyle(commands))
    return result


def build_pdf(
    story: Callable[[], list],
    *,
    title: str,
    subject: str,
    author: str,
    header: str,
    footer: str,
    keywords: str,
    moment: datetime,
    mark: str = "",
    on_page: Callable | None = None,
) -> bytes:
    """Render `story()` on A4 with the shared header (and its right-hand `mark`, such as DRAFT),
    footer and fixed creation date; `on_page` draws on every page (a watermark)."""
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=author,
        subject=subject,
        creator="AIMS Review",
        producer="AIMS Review (ReportLab)",
        keywords=keywords,
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
    page = PageTemplate(id="page", frames=[frame], **({"onPage": on_page} if on_page else {}))
    doc.addPageTemplates([page])
    doc.build(story(), canvasmaker=canvas_class(header, footer, moment, mark))
    return buffer.getvalue()
