"""Read CSV and XLSX exports into an all-text Arrow table with spreadsheet row numbers.

Everything arrives as text; typing happens in validation, where each bad cell becomes an error
with its row and column. Row numbers are those a spreadsheet shows: the header is row 1. Every
cell and header is trimmed by the one text rule (inputs/text.py) here, in `text_table`. A
workbook is read from the named sheet or the first visible one, and every message about it
names the sheet as `book.xlsx[Sheet]`. Whatever the file holds, reading it ends in a RawFile or
a FileProblem, never another exception.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from charset_normalizer import from_bytes

from aims_metrics.inputs.files import FileProblem, read_input_file
from aims_metrics.inputs.text import normalise_text, trim_array

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
MAX_COLUMNS = 500
MAX_CELL_CHARS = 100_000
CANDIDATE_DELIMITERS = (",", ";", "\t")
ROW_NUMBER = "_row"


@dataclass
class RawFile:
    """A file read as text: original headers, text columns c0..cN, spreadsheet row numbers."""

    file_name: str
    headers: list[str]
    table: pa.Table  # columns c0..c{n-1} (str) and _row (int64)
    sha256: str
    encoding: str = "utf-8"
    delimiter: str = ","
    malformed_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, message)
    notes: list[str] = field(default_factory=list)  # how it was read (which sheet), for warnings
    sheet: str | None = None  # the workbook sheet read (None for a CSV)

    @property
    def location(self) -> str:
        """Where messages say the file's problems are: the file, or `book.xlsx[Sheet]`."""
        return sheet_location(self.file_name, self.sheet) if self.sheet else self.file_name

    @property
    def row_count(self) -> int:
        return self.table.num_rows


def _load_bytes(source: Path | bytes) -> bytes:
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        data = read_input_file(source, MAX_FILE_BYTES)
    if len(data) > MAX_FILE_BYTES:
        raise FileProblem(f"the file is larger than {MAX_FILE_BYTES / 1e6:.0f} MB")
    return data


UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when it decodes; else cp1252; else the best guess.

    cp1252 comes before guessing because short Western exports are often mis-guessed (as cp775,
    cp1250, …) and Excel writes cp1252 in Western locales. A file that is mostly valid UTF-8 but
    has a few bytes that are not (mixed encodings) is rejected rather than silently garbled.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        bad = error.start
    if b"\x00" in data[:65536]:
        raise FileProblem(
            "the file is not text (it contains binary data): export it as CSV or XLSX"
        )
    if UTF8_MULTIBYTE.search(data):
        line = data.count(b"\n", 0, bad) + 1
        raise FileProblem(
            f"mixed encodings: the file is UTF-8 but line {line} has a byte (0x{data[bad]:02x}) "
            "that is not; save the whole file again as UTF-8"
        )
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[: 1024 * 1024]).best()
    encoding = best.encoding if best is not None else "cp1252"
    if encoding in ("ascii", "utf_8"):
        encoding = "cp1252"
    return encoding


def _text_bytes(data: bytes, encoding: str) -> bytes:
    """The file as UTF-8 bytes without BOM (Arrow reads UTF-8 only)."""
    if encoding == "utf-8":
        return data
    if encoding == "utf-8-sig":
        return data[3:]
    try:
        return data.decode(encoding).encode("utf-8")
    except (UnicodeDecodeError, LookupError) as error:
        raise FileProblem(f"cannot decode the file as {encoding}: {error}") from None


def sniff_delimiter(header_line: str) -> str:
    """The candidate delimiter occurring most often in the header line, outside quoted fields.

    As in `_record_pattern`, a quote opens a quoted field only at the start of a field (`"a""b"`
    stays one field; the quote in `5" screen` is a character)."""
    counts = dict.fromkeys(CANDIDATE_DELIMITERS, 0)
    quoted = closed = False
    field_start = True
    for char in header_line:
        if char == '"' and (quoted or field_start or closed):
            quoted = not quoted
            closed = not quoted  # a quote right after the closing one is an escaped quote
        else:
            closed = False
            if not quoted and char in counts:
                counts[char] += 1
        field_start = not quoted and char in counts
    best = max(CANDIDATE_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _row_numbers(row_count: int, skipped: list[int]) -> np.ndarray:
    rows = np.arange(2, 2 + row_count + len(skipped), dtype=np.int64)
    if skipped:
        rows = rows[~np.isin(rows, np.asarray(skipped, dtype=np.int64))]
    return rows


def text_table(columns: list[pa.Array | pa.ChunkedArray], rows: np.ndarray | pa.Array) -> pa.Table:
    """The all-text table every reader returns: columns c0..cN and _row.

    This is where the text rule (inputs/text.py) meets every cell of every file, once: each cell
    is trimmed of Unicode whitespace and zero-width characters at both ends (a missing cell is
    ""), and rows left with nothing in any cell are blank spreadsheet lines, not records.
    """
    names = [f"c{i}" for i in range(len(columns))]
    trimmed = [trim_array(pc.fill_null(column, "")) for column in columns]
    table = pa.table(trimmed + [pa.array(rows, pa.int64())], names=names + [ROW_NUMBER])
    if table.num_rows and names:
        total = None
        for name in names:
            length = pc.binary_length(table[name])
            total = length if total is None else pc.add(total, length)
        blank = pc.equal(total, 0)
        if pc.any(blank).as_py():
            table = table.filter(pc.invert(blank))
    return table


def _headers(cells: list[object]) -> list[str]:
    """Header cells by the text rule (a blank header is "")."""
    return [normalise_text(_cell_text(cell)) or "" for cell in cells]


EMPTY_FILE = "the file is empty: it needs a header row and at least one data row"
HEADER_SCAN_BYTES = 1 << 20  # the header record must end within the first megabyte
BLOCK_SIZE = 16 << 20  # Arrow reads in blocks; a record longer than a block is read in one


@functools.cache
def _record_pattern(delimiters: bytes) -> re.Pattern[bytes]:
    """A CSV record as Arrow and Excel read it: a quote opens a quoted field only at the start of
    a field (then line breaks and "" are inside it); elsewhere it is a literal character."""
    after = re.escape(delimiters)
    return re.compile(
        rb"(?:(?<![^" + after + rb'])"(?:[^"]|"")*"|[^"\r\n]|(?<=[^' + after + rb'])")*'
    )


# Excel's first line `sep=;` names the delimiter; Excel does not show it as a row.
_SEPARATOR_LINE = re.compile(rb"sep=([^\"\r\n])")


def _first_record(text: bytes, start: int, delimiters: bytes) -> tuple[bytes, int]:
    """The CSV record starting at `start` (quoted line breaks included), and where the next begins.

    CR, LF and CRLF all end a record, as in Arrow's parser, so the header is cut where the data
    begins whatever the file's line endings.
    """
    window = text[start : start + HEADER_SCAN_BYTES]
    end = _record_pattern(delimiters).match(window).end()
    following = window[end : end + 2]
    if following.startswith(b'"'):
        raise FileProblem(
            'cannot read the header row: a quoted header cell is never closed (check the " characters)'
        )
    if not following and start + end < len(text):
        raise FileProblem(
            f"cannot read the header row: it does not end within the first "
            f"{HEADER_SCAN_BYTES // (1 << 20)} MB"
        )
    step = 2 if following == b"\r\n" else 1 if following else 0
    return window[:end], start + end + step


def _header_record(text: bytes) -> tuple[list[str], str, int]:
    """(header cells as written, delimiter, offset of the first data record)."""
    candidates = "".join(CANDIDATE_DELIMITERS).encode()
    record, body = _first_record(text, 0, candidates)
    declared = _SEPARATOR_LINE.fullmatch(record)
    if declared:
        delimiter = declared.group(1).decode("ascii", errors="replace")
        record, body = _first_record(text, body, declared.group(1))
    line = record.decode("utf-8", errors="replace")
    if not declared:
        delimiter = sniff_delimiter(line)
    try:
        header = next(csv.reader(io.StringIO(line, newline=""), delimiter=delimiter), [])
    except csv.Error as error:
        if "field limit" in str(error):  # the csv module's bound on one cell
            error = f"a header cell is longer than {csv.field_size_limit():,} characters"
        raise FileProblem(f"cannot read the header row: {error}") from None
    return header, delimiter, body


def _parse_body(body: pa.Buffer, names: list[str], delimiter: str):
    """The data records as text columns, and the malformed ones as (spreadsheet row, message)."""

    def parse(use_threads: bool, block_size: int):
        malformed: list[tuple[int, str]] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            message = f"the row has {row.actual_columns} fields, expected {row.expected_columns}"
            if (row.text or "").count('"') % 2:
                message += ' (a quoted cell is never closed: check the " characters)'
            malformed.append((row.number + 1 if row.number else 0, message))  # header = row 1
            return "skip"

        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(
                use_threads=use_threads, column_names=names, block_size=block_size
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        return table, malformed

    block_size = BLOCK_SIZE
    try:
        try:
            table, malformed = parse(True, block_size)
        except pa.ArrowInvalid as error:
            if "straddl" not in str(error):
                raise
            # A record longer than a block (a huge cell): read the file as one block, so the
            # cell-size check can say which column holds it.
            block_size = max(BLOCK_SIZE, min(body.size + 1, 2**31 - 1))
            table, malformed = parse(False, block_size)
        if malformed:
            table, malformed = parse(False, block_size)  # row numbers are known only serially
    except pa.ArrowException as error:
        raise FileProblem(f"cannot parse the file as CSV: {error}") from None
    return table, malformed


def read_csv_bytes(data: bytes, file_name: str, sha256: str) -> RawFile:
    """Parse CSV bytes in any common encoding with `,` `;` or tab delimiters (or Excel's `sep=`)."""
    if not data or data.isspace():  # = not data.strip(), without copying the file
        raise FileProblem(EMPTY_FILE)
    encoding = detect_encoding(data)
    text = _text_bytes(data, encoding)
    if b"\x00" in text:
        raise FileProblem("the file contains NUL bytes: it is not a plain-text CSV export")
    header, delimiter, body_start = _header_record(text)
    if len(header) > MAX_COLUMNS:
        raise FileProblem(f"the file has {len(header)} columns; at most {MAX_COLUMNS} are accepted")
    names = [f"c{i}" for i in range(max(len(header), 1))]
    if body_start < len(text):
        table, malformed = _parse_body(pa.py_buffer(text)[body_start:], names, delimiter)
    else:  # the header is all there is (Arrow calls that an empty CSV file)
        table, malformed = pa.table({n: pa.array([], pa.string()) for n in names}), []
    skipped = sorted(n for n, _ in malformed if n)
    rows = _row_numbers(table.num_rows, skipped)
    raw = RawFile(
        file_name=file_name,
        headers=_headers(header) or [""],
        table=text_table([table[n] for n in names], rows),
        sha256=sha256,
        encoding=encoding,
        delimiter=delimiter,
        malformed_rows=malformed,
    )
    if not any(raw.headers) and raw.row_count == 0 and not malformed:
        raise FileProblem(EMPTY_FILE)  # only whitespace, a BOM or blank lines
    _check_cell_sizes(raw)
    return raw


def _check_cell_sizes(raw: RawFile) -> None:
    for i, header in enumerate(raw.headers):
        longest = pc.max(pc.binary_length(raw.table[f"c{i}"])).as_py() or 0
        if longest > MAX_CELL_CHARS:
            raise FileProblem(
                f"column {header!r} has a cell of {longest:,} bytes; "
                f"at most {MAX_CELL_CHARS:,} are accepted"
            )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- XLSX workbooks ----------------------------------------------------------------------------

MAX_XLSX_ROWS = 1_048_576  # Excel's own limit: a sheet claiming more rows is damaged
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (97-2003) and password-protected books
_DOCTYPE = re.compile(
    b"|".join(
        re.escape("<!DOCTYPE".encode(codec)) for codec in ("utf-8", "utf-16-le", "utf-16-be")
    ),
    re.IGNORECASE,
)
_ROOT = re.compile(rb"<[A-Za-z_:]|<\x00[A-Za-z_:]\x00|\x00<\x00[A-Za-z_:]")


def _refuse_document_types(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook whose XML declares a document type, before any XML parser sees it.

    Only a DTD can define entities (the "billion laughs" expansion) or point at external files
    and URLs; Excel, LibreOffice and openpyxl never write one. Each part is read only up to its
    root element. (openpyxl also parses through defusedxml, which forbids them: a second guard.)
    """
    for info in archive.infolist():
        if info.is_dir():
            continue
        prolog = b""
        with archive.open(info) as member:
            while chunk := member.read(64 * 1024):
                prolog = prolog[-32:] + chunk  # keep a tail: a declaration split across chunks
                doctype, root = _DOCTYPE.search(prolog), _ROOT.search(prolog)
                if doctype and (root is None or doctype.start() < root.start()):
                    raise FileProblem(
                        f"the workbook part {info.filename} declares an XML document type "
                        "(entities or external references), which is refused: save the workbook "
                        "again from the spreadsheet program"
                    )
                if root:
                    break


def _workbook_damage(error: BaseException, row: int | None = None) -> str:
    """One line saying what a reading error means for the person who exported the workbook."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException

    while isinstance(error, ValueError) and isinstance(error.__cause__, Exception):
        error = error.__cause__  # openpyxl wraps the parser's error in a long ValueError
    detail = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, DefusedXmlException):
        return (
            "the workbook declares XML entities or external references, which are refused: "
            "save the workbook again from the spreadsheet program"
        )
    if isinstance(error, ParseError):
        return f"the workbook is damaged: its XML is cut short or not well-formed ({detail})"
    if isinstance(error, KeyError):
        return f"the workbook is damaged: a part it lists is missing ({detail})"
    if isinstance(error, zipfile.BadZipFile | zlib.error | EOFError | NotImplementedError):
        return f"the workbook is damaged: its ZIP archive cannot be unpacked ({detail})"
    if row is not None:
        return f"the workbook is damaged: row {row} cannot be read ({detail})"
    return f"the workbook cannot be read ({detail})"


def _open_workbook(data: bytes):
    """An openpyxl workbook (read-only), after the checks a ZIP bomb, a DTD or a non-workbook fails."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        total = sum(info.file_size for info in archive.infolist())
    except Exception:  # BadZipFile, and the struct/value errors of a mangled directory
        raise FileProblem("the file is not a valid XLSX workbook") from None
    if "[Content_Types].xml" not in archive.namelist():
        raise FileProblem("the file is a ZIP archive but not an XLSX workbook")
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise FileProblem(
            f"the workbook expands to {total / 1e6:.0f} MB; the limit is "
            f"{MAX_XLSX_UNCOMPRESSED_BYTES / 1e6:.0f} MB"
        )
    try:
        _refuse_document_types(archive)
    except FileProblem:
        raise
    except Exception as error:  # a member that cannot be unpacked
        raise FileProblem(_workbook_damage(error)) from None
    from openpyxl.reader.excel import ExcelReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions
            reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
            reader.read()  # = openpyxl.load_workbook, keeping the list of declared sheets
    except Exception as error:  # openpyxl raises many types for damaged files
        raise FileProblem(_workbook_damage(error)) from None
    book = reader.wb
    # openpyxl silently drops a sheet whose part is missing; reading the next one instead would
    # be a silent guess.
    lost = [sheet.name for sheet in reader.parser.sheets if sheet.name not in book.sheetnames]
    if lost:
        book.close()
        raise FileProblem(f"the workbook is damaged: the part holding sheet {lost[0]!r} is missing")
    return book


def looks_like_xlsx(data: bytes, file_name: str) -> bool:
    """Whether a file is read as an XLSX workbook (ZIP signature or .xlsx/.xlsm name)."""
    return data[:4] == b"PK\x03\x04" or file_name.lower().endswith((".xlsx", ".xlsm"))


def _visible(book) -> list[str]:
    """The sheets a person sees that hold rows (chart sheets hold none), in workbook order."""
    return [ws.title for ws in book.worksheets if ws.sheet_state == "visible"]


def _described(book, title: str) -> str:
    sheet = book[title]
    if sheet not in book.worksheets:
        return f"{title} (a chart)"
    return title if sheet.sheet_state == "visible" else f"{title} ({sheet.sheet_state})"


def xlsx_sheet_names(data: bytes) -> list[str]:
    """The visible sheet names of an XLSX workbook, in workbook order (FileProblem if not one)."""
    book = _open_workbook(data)
    try:
        return _visible(book)
    finally:
        book.close()


def sheet_location(file_name: str, sheet: str) -> str:
    """How every message names a workbook's sheet: `book.xlsx[Sheet name]`."""
    return f"{file_name}[{sheet}]"


def _choose_sheet(book, file_name: str, sheet: str | None):
    """The named sheet (hidden or not), or else the first visible one; and a note saying which."""
    listed = ", ".join(_described(book, title) for title in book.sheetnames)
    if sheet is not None:
        if sheet not in book.sheetnames:
            raise FileProblem(f"the workbook has no sheet {sheet!r}; its sheets are {listed}")
        if book[sheet] not in book.worksheets:
            raise FileProblem(f"sheet {sheet!r} is a chart: it holds no rows to read")
        return book[sheet], []
    visible = _visible(book)
    if not visible:
        raise FileProblem(
            f"the workbook has no visible sheet (its sheets: {listed}): unhide the one to read"
        )
    notes = []
    if len(book.sheetnames) > 1:
        skipped = book.sheetnames[: book.sheetnames.index(visible[0])]
        also = f" (skipped: {', '.join(_described(book, t) for t in skipped)})" if skipped else ""
        notes.append(
            f"{file_name}: read sheet {visible[0]!r}, the first visible of "
            f"{len(book.sheetnames)} sheets{also}"
        )
    return book[visible[0]], notes


def _sheet_columns(worksheet) -> tuple[list[str], list[list[str]], list[int]]:
    """(header cells, text columns, spreadsheet row of each record) of a read-only worksheet.

    The sheet's declared dimension is ignored (a wrong one would cut rows off or pad each row to
    16,384 columns); rows with no value are skipped here, so a jump to row 1,000,000 costs nothing.
    """
    worksheet.reset_dimensions()
    rows = worksheet.iter_rows(values_only=True)
    read = 0
    try:
        first = next(rows, None)
        if first is None:
            raise FileProblem("the sheet is empty: it needs a header row")
        read = 1
        header = [_cell_text(v) for v in first]
        while header and not normalise_text(header[-1]):
            header.pop()
        if len(header) > MAX_COLUMNS:
            raise FileProblem(f"the sheet has {len(header)} columns; at most {MAX_COLUMNS}")
        columns: list[list[str]] = [[] for _ in header]
        numbers: list[int] = []
        for values in rows:
            read += 1
            if read > MAX_XLSX_ROWS:
                raise FileProblem(
                    f"the sheet has more than {MAX_XLSX_ROWS:,} rows (Excel's limit): it is damaged"
                )
            if not any(v is not None and v != "" for v in values[: len(header)]):
                continue
            numbers.append(read)
            for i, column in enumerate(columns):
                column.append(_cell_text(values[i]) if i < len(values) else "")
    except FileProblem:
        raise
    except Exception as error:  # openpyxl parses the sheet lazily, while we iterate
        raise FileProblem(_workbook_damage(error, row=read + 1)) from None
    return header, columns, numbers


def read_xlsx_bytes(data: bytes, file_name: str, sha256: str, sheet: str | None = None) -> RawFile:
    """Read the named sheet, or the first visible one, of an XLSX workbook as text.

    Every problem found once the sheet is chosen is located at `book.xlsx[Sheet]`.
    """
    book = _open_workbook(data)
    where = None  # the file, until a sheet is chosen
    try:
        worksheet, notes = _choose_sheet(book, file_name, sheet)
        where = sheet_location(file_name, worksheet.title)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header, columns, numbers = _sheet_columns(worksheet)
    except FileProblem as problem:
        raise FileProblem(str(problem), where) from None
    except Exception as error:  # whatever else openpyxl raises about this workbook
        raise FileProblem(_workbook_damage(error), where) from None
    finally:
        book.close()
    raw = RawFile(
        file_name=file_name,
        headers=_headers(header),
        table=text_table(
            [pa.array(c, pa.string()) for c in columns], np.asarray(numbers, np.int64)
        ),
        sha256=sha256,
        encoding="xlsx",
        delimiter="",
        notes=notes,
        sheet=worksheet.title,
    )
    try:
        _check_cell_sizes(raw)
    except FileProblem as problem:
        raise FileProblem(str(problem), where) from None
    return raw


def read_source(
    source: Path | bytes, file_name: str | None = None, sheet: str | None = None
) -> RawFile:
    """Read a CSV or XLSX export (by content, not only by name) into a RawFile.

    A FileProblem always says `where` (the file as named, or `book.xlsx[Sheet]`).
    """
    import hashlib

    name = file_name or (
        Path(source).name if not isinstance(source, bytes | bytearray) else "upload"
    )
    try:
        data = _load_bytes(source)
        digest = hashlib.sha256(data).hexdigest()
        if data.startswith(OLE2_SIGNATURE):
            raise FileProblem(
                "the file is an Excel 97-2003 (.xls) or password-protected workbook: "
                "save it as XLSX (without a password) or CSV"
            )
        if looks_like_xlsx(data, name):
            return read_xlsx_bytes(data, name, digest, sheet)
        if sheet is not None:
            raise FileProblem("--sheet applies only to XLSX workbooks")
        return read_csv_bytes(data, name, digest)
    except FileProblem as problem:
        problem.where = problem.where or name
        raise
