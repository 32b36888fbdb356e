"""Workbooks built at test time for the hostile-case manifests (06, 07) and the reader tests.

A manifest names one in a file's `python:` expression, e.g.
`__import__('workbook_builders').truncated_sheet()`. Each returns the bytes of an .xlsx file:
a real workbook written by openpyxl, then with a part replaced, cut short or removed.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

from openpyxl import Workbook

SHEET1 = "xl/worksheets/sheet1.xml"
INCIDENTS = [
    ["incident_id", "title", "severity", "detected_on"],
    ["I1", "Drift", "high", "2025-01-05"],
    ["I2", "Outage", "low", "2025-01-06"],
]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def book(*sheets: tuple[str, list[list]], states: dict[str, str] | None = None) -> bytes:
    """A workbook of (title, rows) sheets; `states` hides some ('hidden' or 'veryHidden')."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
        sheet.sheet_state = (states or {}).get(title, "visible")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def incidents_book(rows: list[list] | None = None) -> bytes:
    """One visible sheet 'Incidents' holding incident rows (a header and two records by default)."""
    return book(("Incidents", rows or INCIDENTS))


def tampered(data: bytes, parts: dict[str, bytes | None]) -> bytes:
    """The workbook with parts replaced (bytes) or removed (None), everything else as it was."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in parts:
                if parts[info.filename] is not None:
                    target.writestr(info.filename, parts[info.filename])
            else:
                target.writestr(info, source.read(info))
    return out.getvalue()


def _cell(ref: str, value: str, kind: str = "inlineStr") -> str:
    if kind == "inlineStr":
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    return f'<c r="{ref}" t="{kind}"><v>{escape(value)}</v></c>'


def sheet_xml(
    rows: dict[int, list[tuple[str, str]]], dimension: str = "", prolog: str = ""
) -> bytes:
    """Sheet XML written by hand: row number → [(value, cell type)], columns A, B, C, …"""
    body = "".join(
        f'<row r="{number}">'
        + "".join(
            _cell(f"{chr(65 + i)}{number}", value, kind) for i, (value, kind) in enumerate(cells)
        )
        + "</row>"
        for number, cells in rows.items()
    )
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}">{dim}'
        f"<sheetData>{body}</sheetData></worksheet>"
    ).encode()


def _text_rows(rows: list[list[str]], first: int = 1) -> dict[int, list[tuple[str, str]]]:
    return {first + i: [(v, "inlineStr") for v in row] for i, row in enumerate(rows)}


def with_sheet(xml: bytes) -> bytes:
    """The incidents workbook with its sheet's XML replaced."""
    return tampered(incidents_book(), {SHEET1: xml})


def truncated_sheet() -> bytes:
    """The sheet's XML cut off in the middle of a row (a download that stopped)."""
    xml = sheet_xml(_text_rows(INCIDENTS))
    return with_sheet(xml[: len(xml) - 60])


def number_cell_holding_text() -> bytes:
    """A cell typed as a number (t="n") whose value is text."""
    rows = _text_rows(INCIDENTS[:2])
    rows[3] = [
        ("I3", "inlineStr"),
        ("Typo", "inlineStr"),
        ("twelve", "n"),
        ("2025-01-07", "inlineStr"),
    ]
    return with_sheet(sheet_xml(rows))


def shared_string_out_of_range() -> bytes:
    """A cell pointing at shared string 999 of a workbook that has a handful."""
    rows = _text_rows(INCIDENTS)
    rows[3] = [("I3", "inlineStr"), ("999", "s")]
    return with_sheet(sheet_xml(rows))


def date_cell_not_a_date() -> bytes:
    """A cell typed as an ISO date (t="d") holding a word."""
    rows = _text_rows(INCIDENTS[:1])
    rows[2] = [("I1", "inlineStr"), ("t", "inlineStr"), ("high", "inlineStr"), ("yesterday", "d")]
    return with_sheet(sheet_xml(rows))


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)


def billion_laughs(part: str = SHEET1) -> bytes:
    """An entity that expands to a billion 'lol's (3 GB), used in a cell, or declared in `part`."""
    if part == SHEET1:
        rows = _text_rows([INCIDENTS[0], ["I1", "PLACEHOLDER", "high", "2025-01-01"]])
        return with_sheet(sheet_xml(rows, prolog=LAUGHS).replace(b"PLACEHOLDER", b"&lol9;"))
    data = incidents_book()
    original = zipfile.ZipFile(io.BytesIO(data)).read(part)
    declaration, mark, rest = original.partition(b"?>")
    changed = declaration + mark + LAUGHS.encode() + rest if mark else LAUGHS.encode() + original
    return tampered(data, {part: changed})


def external_entity(target: str = "file:///etc/passwd") -> bytes:
    """A cell whose text is an external entity: the contents of a local file or a URL."""
    rows = _text_rows(INCIDENTS[:1])
    rows[2] = [("I1", "inlineStr"), ("PLACEHOLDER", "inlineStr")]
    xml = sheet_xml(rows, prolog=f'<!DOCTYPE x [<!ENTITY leak SYSTEM "{target}">]>')
    return with_sheet(xml.replace(b"PLACEHOLDER", b"&leak;"))


def utf16_doctype() -> bytes:
    """The external entity again, in a sheet part encoded as UTF-16 (a byte search for ASCII misses it)."""
    rows = _text_rows(INCIDENTS[:1])
    text = sheet_xml(
        rows, prolog='<!DOCTYPE x [<!ENTITY leak SYSTEM "file:///etc/passwd">]>'
    ).decode()
    text = text.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    return with_sheet(text.encode("utf-16"))


def missing_sheet_part() -> bytes:
    """The workbook lists a sheet whose XML is not in the archive."""
    return tampered(incidents_book(), {SHEET1: None})


def workbook_xml_not_xml() -> bytes:
    """The workbook part itself is not XML."""
    return tampered(incidents_book(), {"xl/workbook.xml": b"this is not xml at all"})


def row_beyond_excel_limit() -> bytes:
    """A second row numbered 5,000,000 (Excel stops at 1,048,576): a reader filling the gap hangs."""
    rows = _text_rows(INCIDENTS[:2])
    rows[5_000_000] = [
        ("I9", "inlineStr"),
        ("t", "inlineStr"),
        ("low", "inlineStr"),
        ("2025-01-01", "inlineStr"),
    ]
    return with_sheet(sheet_xml(rows))


def wrong_dimension() -> bytes:
    """A dimension claiming one cell (A1) over a sheet of three rows: every row is still read."""
    return with_sheet(sheet_xml(_text_rows(INCIDENTS), dimension="A1"))


def huge_dimension() -> bytes:
    """A dimension claiming the whole grid (A1:XFD1048576) over a sheet of three rows."""
    return with_sheet(sheet_xml(_text_rows(INCIDENTS), dimension="A1:XFD1048576"))


def bad_crc() -> bytes:
    """The sheet part's bytes changed after its checksum was written (stored, not deflated)."""
    xml = sheet_xml(_text_rows(INCIDENTS))
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(incidents_book())) as source,
        zipfile.ZipFile(out, "w") as target,
    ):
        for item in source.infolist():
            target.writestr(item.filename, xml if item.filename == SHEET1 else source.read(item))
    raw = bytearray(out.getvalue())
    raw[raw.index(xml) + xml.index(b"Drift")] ^= 0x01  # 'D' becomes 'E'; the CRC still says 'D'
    return bytes(raw)


def old_excel_format() -> bytes:
    """The signature of an Excel 97-2003 (or password-protected) compound file, named .xlsx."""
    return bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)


def every_sheet_hidden() -> bytes:
    """Sheets A and B, both hidden (openpyxl and Excel refuse to write this; a script can)."""
    data = book(("A", [["x"]]), ("B", [["y"]]))
    workbook = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml")
    return tampered(
        data, {"xl/workbook.xml": workbook.replace(b'state="visible"', b'state="hidden"')}
    )


def chart_first() -> bytes:
    """A chart sheet 'Chart' before the sheet of rows 'Data' (a chart sheet has no cells)."""
    from openpyxl.chart import BarChart, Reference

    workbook = Workbook()
    data = workbook.active
    data.title = "Data"
    for row in INCIDENTS:
        data.append(row)
    chart = BarChart()
    chart.add_data(Reference(data, min_col=1, min_row=1, max_row=3))
    workbook.create_chartsheet("Chart", 0).add_chart(chart)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
