"""Read CSV and XLSX exports into an all-text Arrow table with spreadsheet row numbers.

Everything arrives as text; typing happens in validation, where each bad cell becomes an error
with its row and column. Row numbers are those a spreadsheet shows: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from charset_normalizer import from_bytes

from aims_metrics.tables.files import FileProblem, read_input_file

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


UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


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
        raise FileProblem("the file is not text (it contains binary data): export it as CSV or XLSX")
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
    """The candidate delimiter occurring most often in the header line, outside quotes."""
    counts = dict.fromkeys(CANDIDATE_DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(CANDIDATE_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _row_numbers(row_count: int, skipped: list[int]) -> np.ndarray:
    rows = np.arange(2, 2 + row_count + len(skipped), dtype=np.int64)
    if skipped:
        rows = rows[~np.isin(rows, np.asarray(skipped, dtype=np.int64))]
    return rows


def _finish(columns: list[pa.Array], rows: np.ndarray) -> pa.Table:
    names = [f"c{i}" for i in range(len(columns))]
    table = pa.table(columns + [pa.array(rows, pa.int64())], names=names + [ROW_NUMBER])
    if table.num_rows and names:
        # Rows with nothing in any cell are blank spreadsheet lines, not records.
        total = None
        for name in names:
            length = pc.binary_length(table[name])
            total = length if total is None else pc.add(total, length)
        blank = pc.equal(total, 0)
        if pc.any(blank).as_py():
            table = table.filter(pc.invert(blank))
    return table


def read_csv_bytes(data: bytes, file_name: str, sha256: str) -> RawFile:
    """Parse CSV bytes in any common encoding with `,` `;` or tab delimiters."""
    if not data or data.isspace():  # = not data.strip(), without copying the file
        raise FileProblem("the file is empty: it needs a header row and at least one data row")
    encoding = detect_encoding(data)
    text = _text_bytes(data, encoding)
    if b"\x00" in text:
        raise FileProblem("the file contains NUL bytes: it is not a plain-text CSV export")
    head = text[: 256 * 1024].decode("utf-8", errors="replace")
    first_line = head.splitlines()[0] if head.splitlines() else ""
    delimiter = sniff_delimiter(first_line)
    try:
        header = next(csv.reader(io.StringIO(head), delimiter=delimiter))
    except (StopIteration, csv.Error) as error:
        raise FileProblem(f"cannot read the header row: {error}") from None
    if len(header) > MAX_COLUMNS:
        raise FileProblem(f"the file has {len(header)} columns; at most {MAX_COLUMNS} are accepted")
    names = [f"c{i}" for i in range(len(header))]

    def parse(use_threads: bool) -> tuple[pa.Table, list[tuple[int | None, str]]]:
        malformed: list[tuple[int | None, str]] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            message = f"the row has {row.actual_columns} fields, expected {row.expected_columns}"
            if (row.text or "").count('"') % 2:
                message += ' (a quoted cell is never closed: check the " characters)'
            malformed.append((row.number, message))
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(text),
            read_options=pacsv.ReadOptions(
                use_threads=use_threads, skip_rows=1, column_names=names, block_size=16 << 20
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

    try:
        table, malformed = parse(use_threads=True)
        if malformed:
            table, malformed = parse(use_threads=False)  # row numbers are known only serially
    except pa.ArrowInvalid as error:
        raise FileProblem(f"cannot parse the file as CSV: {error}") from None
    skipped = sorted(n for n, _ in malformed if n is not None)
    rows = _row_numbers(table.num_rows, skipped)
    raw = RawFile(
        file_name=file_name,
        headers=[h.strip() for h in header],
        table=_finish([table[n] for n in names], rows),
        sha256=sha256,
        encoding=encoding,
        delimiter=delimiter,
        malformed_rows=[(n or 0, message) for n, message in malformed],
    )
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


def _open_workbook(data: bytes):
    """An openpyxl workbook (read-only), after the checks a ZIP bomb or a non-workbook fails."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise FileProblem("the file is not a valid XLSX workbook") from None
    if "[Content_Types].xml" not in archive.namelist():
        raise FileProblem("the file is a ZIP archive but not an XLSX workbook")
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise FileProblem(
            f"the workbook expands to {total / 1e6:.0f} MB; the limit is "
            f"{MAX_XLSX_UNCOMPRESSED_BYTES / 1e6:.0f} MB"
        )
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for damaged files
        raise FileProblem(f"cannot open the workbook: {error}") from None


def looks_like_xlsx(data: bytes, file_name: str) -> bool:
    """Whether a file is read as an XLSX workbook (ZIP signature or .xlsx/.xlsm name)."""
    return data[:4] == b"PK\x03\x04" or file_name.lower().endswith((".xlsx", ".xlsm"))


def xlsx_sheet_names(data: bytes) -> list[str]:
    """The sheet names of an XLSX workbook, in workbook order (FileProblem if it is not one)."""
    book = _open_workbook(data)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def read_xlsx_bytes(data: bytes, file_name: str, sha256: str, sheet: str | None = None) -> RawFile:
    """Read the first (or the named) sheet of an XLSX workbook as text."""
    book = _open_workbook(data)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise FileProblem(
                f"the workbook has no sheet {sheet!r}; its sheets are {', '.join(book.sheetnames)}"
            )
        worksheet = book[sheet] if sheet else book.worksheets[0]
        rows = worksheet.iter_rows(values_only=True)
        try:
            header = [_cell_text(v).strip() for v in next(rows)]
        except StopIteration:
            raise FileProblem("the sheet is empty: it needs a header row") from None
        while header and header[-1] == "":
            header.pop()
        if len(header) > MAX_COLUMNS:
            raise FileProblem(f"the sheet has {len(header)} columns; at most {MAX_COLUMNS}")
        columns: list[list[str]] = [[] for _ in header]
        for values in rows:
            for i in range(len(header)):
                columns[i].append(_cell_text(values[i]) if i < len(values) else "")
    finally:
        book.close()
    row_count = len(columns[0]) if columns else 0
    raw = RawFile(
        file_name=file_name,
        headers=header,
        table=_finish([pa.array(c, pa.string()) for c in columns], _row_numbers(row_count, [])),
        sha256=sha256,
        encoding="xlsx",
        delimiter="",
    )
    _check_cell_sizes(raw)
    return raw


def read_source(source: Path | bytes, file_name: str | None = None, sheet: str | None = None) -> RawFile:
    """Read a CSV or XLSX export (by content, not only by name) into a RawFile."""
    import hashlib

    data = _load_bytes(source)
    name = file_name or (Path(source).name if not isinstance(source, bytes | bytearray) else "upload")
    digest = hashlib.sha256(data).hexdigest()
    if looks_like_xlsx(data, name):
        return read_xlsx_bytes(data, name, digest, sheet)
    if sheet is not None:
        raise FileProblem("--sheet applies only to XLSX workbooks")
    return read_csv_bytes(data, name, digest)
