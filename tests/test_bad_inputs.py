"""The bad-input corpus: one failure mode per file, the exact messages, and an untouched database.

Small files live in tests/bad_inputs/; large or hostile ones (wide, huge cells, zip bombs, files
over the size limit) are generated in tmp_path. Every rejected file is imported for real (not a
dry run) and the whole database — data tables, import_batches, audit_log — must be unchanged.
"""

from __future__ import annotations

import io
import random
import struct
import time
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from import_helpers import BAD_INPUTS, dump_db, new_db, rows, run_main, write

from aims_metrics.tables import readers
from aims_metrics.vocabulary.wording import count_of

INCIDENTS_HEADER = "incident_id,title,severity,detected_on"
TITLE_ROW_HINT = "(row 1 looks like a title row, not a header: remove the rows above the header)"
SINGLE_COLUMN_HINT = (
    "(the file has a single column: is it delimited by something other than , ; or tab?)"
)


@dataclass(frozen=True)
class Rejected:
    file: str
    table: str
    errors: list[str]  # "ROW: COLUMN: message", printed after "FILE:"
    warnings: list[str] = field(default_factory=list)


REJECTED = [
    Rejected(
        "missing_required_column.csv", "incidents", ["1: severity: required column is missing"]
    ),
    Rejected(
        "unknown_enum.csv",
        "incidents",
        ["3: severity: 'urgent' is not one of: critical, high, medium, low"],
    ),
    Rejected(
        "impossible_date.csv",
        "incidents",
        ["2: detected_on: '2025-02-30' is not a valid date (expected YYYY-MM-DD)"],
    ),
    Rejected(
        "non_iso_date.csv",
        "incidents",
        ["2: detected_on: '30/01/2025' is not a valid date (expected YYYY-MM-DD)"],
    ),
    Rejected(
        "resolved_before_detected.csv",
        "incidents",
        ["2: resolved_on: resolved_on 2025-03-09 is before detected_on 2025-03-10"],
    ),
    Rejected(
        "closed_before_raised.csv",
        "findings",
        ["2: closed_on: closed_on 2025-04-30 is before raised_on 2025-05-01"],
    ),
    Rejected(
        "due_before_raised.csv",
        "findings",
        ["2: due_on: due_on 2025-04-01 is before raised_on 2025-05-01"],
    ),
    Rejected(
        "completed_without_date.csv",
        "assessments",
        ["2: completed_on: completed_on is required when status is completed"],
    ),
    Rejected(
        "planned_with_completed_on.csv",
        "assessments",
        ["2: completed_on: completed_on must be empty unless status is completed (it is planned)"],
    ),
    Rejected(
        "duplicate_id.csv", "systems", ["4: system_id: duplicate system_id 'S7' (first on row 2)"]
    ),
    Rejected(
        "unknown_system_id.csv",
        "assessments",
        ["3: system_id: unknown system_id 'S99': import systems first"],
    ),
    Rejected(
        "unknown_clause_ref.csv",
        "findings",
        [
            "3: clause_ref: unknown clause_ref 'A.99.1': use an ISO/IEC 42001 clause or Annex A "
            "control such as 9.2 or A.6.2.4"
        ],
    ),
    Rejected(
        "bias_passed_contradicts_ratio.csv",
        "bias_tests",
        [
            "2: passed: passed is 'yes' but value 0.7 with threshold 0.8 fails the rule value ≥ threshold"
        ],
    ),
    Rejected(
        "bias_passed_contradicts_difference.csv",
        "bias_tests",
        [
            "2: passed: passed is 'false' but value -0.05 with threshold 0.1 passes the rule "
            "abs(value) ≤ threshold"
        ],
    ),
    Rejected("non_numeric_value.csv", "bias_tests", ["2: value: 'n/a' is not a number"]),
    Rejected("infinite_threshold.csv", "bias_tests", ["2: threshold: 'inf' is not a number"]),
    Rejected("bad_bool.csv", "systems", ["2: third_party: 'maybe' is not true or false"]),
    Rejected("required_value_empty.csv", "incidents", ["2: title: required value is missing"]),
    Rejected(
        "many_errors_in_one_row.csv",
        "incidents",
        [
            "2: system_id: unknown system_id 'S42': import systems first",
            "2: title: required value is missing",
            "2: severity: 'severe' is not one of: critical, high, medium, low",
            "2: detected_on: 'yesterday' is not a valid date (expected YYYY-MM-DD)",
        ],
    ),
    Rejected(
        "pipe_delimited.csv",
        "incidents",
        [
            f"1: {c}: required column is missing {SINGLE_COLUMN_HINT}"
            for c in ("detected_on", "incident_id", "severity", "title")
        ],
        ["ignored columns not in incidents: incident_id|title|severity|detected_on"],
    ),
    Rejected(
        "empty.csv",
        "incidents",
        ["1: (file): the file is empty: it needs a header row and at least one data row"],
    ),
    Rejected(
        "whitespace_only.csv",
        "incidents",
        ["1: (file): the file is empty: it needs a header row and at least one data row"],
    ),
    Rejected("header_only.csv", "incidents", ["1: (file): the file has a header but no data rows"]),
    Rejected("too_many_fields.csv", "incidents", ["2: (row): the row has 7 fields, expected 6"]),
    Rejected("too_few_fields.csv", "incidents", ["3: (row): the row has 3 fields, expected 6"]),
    Rejected(
        "unterminated_quote.csv",
        "incidents",
        [
            "3: (row): the row has 3 fields, expected 6 (a quoted cell is never closed: "
            'check the " characters)'
        ],
    ),
    # Only the bad row is reported, and nothing of the eleven good rows is written.
    Rejected(
        "bad_row_among_good.csv",
        "incidents",
        ["8: severity: 'lowish' is not one of: critical, high, medium, low"],
    ),
    # Two blank lines and a row of empty cells: row numbers still count them, as a spreadsheet does.
    Rejected(
        "blank_lines_in_middle.csv",
        "incidents",
        ["6: detected_on: '2025-13-01' is not a valid date (expected YYYY-MM-DD)"],
    ),
    # A cell spanning three lines is one spreadsheet row: the next record is row 3, not row 5.
    Rejected(
        "quoted_newline_then_bad_row.csv",
        "incidents",
        ["3: resolved_on: resolved_on 2024-12-31 is before detected_on 2025-01-01"],
    ),
    Rejected(
        "two_columns_same_target.csv",
        "incidents",
        ["1: incident_id: columns 'incident_id' and 'Incident ID' both map to incident_id"],
    ),
    Rejected(
        "title_row_above_header.csv",
        "incidents",
        [
            f"1: {c}: required column is missing {TITLE_ROW_HINT}"
            for c in ("detected_on", "incident_id", "severity", "title")
        ],
        [
            "ignored columns not in incidents: Incident register export [ Q1 ], "
            "(blank header in column 2), (blank header in column 3), (blank header in column 4)"
        ],
    ),
    Rejected(
        "nul_bytes.csv",
        "incidents",
        ["1: (file): the file contains NUL bytes: it is not a plain-text CSV export"],
    ),
    Rejected(
        "binary_garbage.bin",
        "incidents",
        ["1: (file): the file is not text (it contains binary data): export it as CSV or XLSX"],
    ),
    # Decision: a file that is UTF-8 except for a stray cp1252 byte is rejected, not guessed at,
    # because decoding it either way would silently garble the other part.
    Rejected(
        "mixed_encoding.csv",
        "incidents",
        [
            "1: (file): mixed encodings: the file is UTF-8 but line 3 has a byte (0xe9) that is not; "
            "save the whole file again as UTF-8"
        ],
    ),
    Rejected(
        "zip_not_workbook.xlsx",
        "incidents",
        ["1: (file): the file is a ZIP archive but not an XLSX workbook"],
    ),
    Rejected(
        "xlsx_named_but_csv.xlsx", "incidents", ["1: (file): the file is not a valid XLSX workbook"]
    ),
    # The audit programme, the SoA and the attestations (issue 18).
    Rejected(
        "unknown_scope_ref.csv",
        "audits",
        [
            "3: scope: unknown clause ref 'A.99' in scope: use an ISO/IEC 42001 clause or Annex A "
            "control such as 9.2 or A.6.2.4; separate several with ;"
        ],
    ),
    Rejected(
        "empty_scope_list.csv",
        "audits",
        [
            "2: scope: scope names no clause or control: use an ISO/IEC 42001 clause or Annex A "
            "control such as 9.2 or A.6.2.4"
        ],
    ),
    Rejected(
        "completed_audit_without_actual_end.csv",
        "audits",
        ["2: actual_end: actual_end is required when status is completed"],
    ),
    Rejected(
        "excluded_control_without_justification.csv",
        "soa",
        [
            "3: justification: justification is required when applicable is false (6.1.3 asks why "
            "each excluded control does not apply)"
        ],
    ),
    Rejected(
        "soa_heading_not_a_control.csv",
        "soa",
        [
            "2: control_id: unknown control_id 'A.6': use an Annex A control such as A.6.2.4 "
            "(a heading such as A.6 is not a control)"
        ],
    ),
    Rejected(
        "attestation_heading_not_a_requirement.csv",
        "attestations",
        [
            "2: ref: unknown ref '9.2': use a clause requirement 4.1–10.2 such as 9.2.1 (a heading "
            "such as 9.2 is not a requirement)"
        ],
    ),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return new_db(tmp_path)


def assert_rejected(
    db: Path, path: Path, table: str, errors: list[str], warnings=(), *extra: str, where: str = ""
) -> None:
    """Import for real; exit 1 with exactly these lines on stderr; the database is unchanged.

    `where` follows the path in each location (a workbook's sheet: `[Sheet]`)."""
    before = dump_db(db)
    code, out, err = run_main(db, "import", table, str(path), *extra)
    expected = [f"warning: {w}" for w in warnings]
    expected += [f"{path}{where}:{line}" for line in errors]
    expected.append(f"{count_of(len(errors), 'error')}: nothing imported")
    assert (code, out) == (1, "")
    assert err.splitlines() == expected
    assert dump_db(db) == before


@pytest.mark.parametrize("case", REJECTED, ids=[c.file for c in REJECTED])
def test_rejected_file(db: Path, case: Rejected) -> None:
    assert_rejected(db, BAD_INPUTS / case.file, case.table, case.errors, case.warnings)


def test_every_corpus_file_is_in_a_table() -> None:
    listed = {c.file for c in REJECTED} | {c[0] for c in ACCEPTED}
    # files only: tests/bad_inputs/fairness/ holds the fairness CLI corpus
    assert sorted(p.name for p in BAD_INPUTS.iterdir() if p.is_file()) == sorted(listed)
    assert len(listed) >= 30


# --- odd but valid files: they import, and keep their text --------------------------------------

ACCEPTED = [
    (
        "cp1252_accents.csv",
        "incidents",
        "SELECT title, root_cause FROM incidents",
        [("Café crème – 5€ fee", "naïve “quotes”")],
    ),
    (
        "utf8_bom.csv",
        "incidents",
        "SELECT incident_id, title, severity FROM incidents",
        [("B1", "Déjà vu – ok", "high")],
    ),
    (
        "utf16_with_bom.csv",
        "incidents",
        "SELECT incident_id, title FROM incidents",
        [("U1", "Zürich")],
    ),
    (
        "semicolon_delimited.csv",
        "incidents",
        "SELECT incident_id, title, root_cause FROM incidents",
        [("S1", "a, with comma", "x")],
    ),
    (
        "tab_delimited.csv",
        "incidents",
        "SELECT incident_id, title, severity FROM incidents",
        [("T1", "comma, inside", "medium")],
    ),
    (
        "quoted_newlines.csv",
        "incidents",
        "SELECT incident_id, title, root_cause FROM incidents ORDER BY 1",
        [("Q1", "first\nsecond", 'a "quoted" word'), ("Q2", "plain", None)],
    ),
    (
        "crlf_line_endings.csv",
        "incidents",
        "SELECT incident_id, title, detected_on FROM incidents",
        [("C1", "t", date(2025, 1, 1))],
    ),
    (
        "mixed_case_enums.csv",
        "assessments",
        "SELECT assessment_type, status FROM assessments",
        [("risk", "in_progress")],
    ),
    (
        "deeply_nested_quotes.csv",
        "incidents",
        "SELECT incident_id, title FROM incidents ORDER BY 1",
        [("N1", '"' * 2000), ("N2", 'a "b ""c"" d" e')],
    ),
    # Formula-looking text is data: stored as written, neutralised only on export (test_export.py).
    (
        "formula_cells.csv",
        "incidents",
        "SELECT incident_id, title, root_cause FROM incidents ORDER BY 1",
        [
            ("X1", '=HYPERLINK("http://example.invalid","click")', "+cmd|' /C calc'!A0"),
            ("X2", "-2+3", "@SUM(A1:A9)"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("file", "table", "sql", "expected"), ACCEPTED, ids=[c[0] for c in ACCEPTED]
)
def test_odd_but_valid_file_imports(
    db: Path, file: str, table: str, sql: str, expected: list
) -> None:
    code, out, err = run_main(db, "import", table, str(BAD_INPUTS / file))
    assert code == 0, err
    assert out.strip() == f"{len(expected):,} inserted, 0 updated, 0 unchanged"
    assert rows(db, sql) == expected


# --- hostile files generated here (too big to commit) --------------------------------------------


def _timed_rejection(
    db: Path, path: Path, table: str, errors: list[str], limit_s: float = 10, where: str = ""
) -> None:
    started = time.monotonic()
    assert_rejected(db, path, table, errors, where=where)
    assert time.monotonic() - started < limit_s


@pytest.mark.parametrize("width", [600, 10_000])
def test_very_wide_csv(db: Path, tmp_path: Path, width: int) -> None:
    header = INCIDENTS_HEADER + "," + ",".join(f"extra{i}" for i in range(width - 4))
    path = write(
        tmp_path / "wide.csv", header + "\n" + ",".join("x" * 1 for _ in range(width)) + "\n"
    )
    _timed_rejection(
        db,
        path,
        "incidents",
        [f"1: (file): the file has {width} columns; at most {readers.MAX_COLUMNS} are accepted"],
    )


def test_very_wide_xlsx(db: Path, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("wide")
    sheet.append([f"c{i}" for i in range(600)])
    sheet.append(["x"] * 600)
    book.save(tmp_path / "wide.xlsx")
    _timed_rejection(
        db,
        tmp_path / "wide.xlsx",
        "incidents",
        [f"1: (file): the sheet has 600 columns; at most {readers.MAX_COLUMNS}"],
        where="[wide]",
    )  # every message about a workbook names its sheet


@pytest.mark.parametrize("length", [readers.MAX_CELL_CHARS + 1, 1_000_000])
def test_cell_over_the_size_limit(db: Path, tmp_path: Path, length: int) -> None:
    path = write(
        tmp_path / "big_cell.csv",
        f"{INCIDENTS_HEADER}\nI1,t,high,2025-01-01\nI2,{'x' * length},high,2025-01-01\n",
    )
    _timed_rejection(
        db,
        path,
        "incidents",
        [
            f"1: (file): column 'title' has a cell of {length:,} bytes; at most "
            f"{readers.MAX_CELL_CHARS:,} are accepted"
        ],
    )


def test_cell_at_the_size_limit_imports(db: Path, tmp_path: Path) -> None:
    path = write(
        tmp_path / "cell.csv",
        f"{INCIDENTS_HEADER}\nI1,{'x' * readers.MAX_CELL_CHARS},high,2025-01-01\n",
    )
    code, _, err = run_main(db, "import", "incidents", str(path))
    assert code == 0, err


def test_large_binary_garbage(db: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "noise.csv", random.Random(7).randbytes(2_000_000))
    _timed_rejection(
        db,
        path,
        "incidents",
        ["1: (file): the file is not text (it contains binary data): export it as CSV or XLSX"],
    )


def test_file_over_the_size_limit_is_refused_before_reading(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # sparse: claims the size without using the disk
        handle.write(f"{INCIDENTS_HEADER}\n".encode())
        handle.truncate(readers.MAX_FILE_BYTES + 1)
    # one byte over: whole megabytes would read the same on both sides, so bytes are given
    _timed_rejection(
        db,
        path,
        "incidents",
        [
            f"1: (file): the file is {readers.MAX_FILE_BYTES + 1:,} bytes; the limit is "
            f"{readers.MAX_FILE_BYTES:,} bytes — split it into smaller files"
        ],
        limit_s=5,
    )


def test_file_well_over_the_size_limit_is_described_in_megabytes(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(readers.MAX_FILE_BYTES + 50_000_000)
    size, limit = (readers.MAX_FILE_BYTES + 50_000_000) / 1e6, readers.MAX_FILE_BYTES / 1e6
    _timed_rejection(
        db,
        path,
        "incidents",
        [
            f"1: (file): the file is {size:.0f} MB; the limit is {limit:.0f} MB — split "
            "it into smaller files"
        ],
        limit_s=5,
    )


def _deflate_repeated(chunk: bytes, times: int) -> tuple[bytes, int, int]:
    """Raw deflate of `chunk` repeated `times` times, with its CRC-32 and size, built cheaply."""
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    once = block.compress(chunk) + block.flush(
        zlib.Z_FULL_FLUSH
    )  # full flush: blocks repeat exactly
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    return once * times + tail, crc, len(chunk) * times


def _zip(members: dict[str, tuple[bytes, int, int, int]]) -> bytes:
    """A ZIP archive from already-compressed members: name → (data, crc, size, method)."""
    out, central = io.BytesIO(), []
    for name, (data, crc, size, method) in members.items():
        offset, encoded = out.tell(), name.encode()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                method,
                0,
                0,
                crc,
                len(data),
                size,
                len(encoded),
                0,
            )
            + encoded
            + data
        )
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start, directory = out.tell(), b"".join(central)
    out.write(directory)
    out.write(
        struct.pack(
            "<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), start, 0
        )
    )
    return out.getvalue()


def test_xlsx_zip_bomb(db: Path, tmp_path: Path) -> None:
    """Half a megabyte that really inflates to 300 MiB: refused from the declared sizes, quickly."""
    types = b'<?xml version="1.0"?><Types/>'
    sheet = _deflate_repeated(b"<c><v>0</v></c>" * 65536, 320)
    data = _zip(
        {
            "[Content_Types].xml": (types, zlib.crc32(types), len(types), 0),
            "xl/worksheets/sheet1.xml": (*sheet, 8),
        }
    )
    assert len(data) < 1_000_000
    expands = (len(types) + sheet[2]) / 1e6
    assert expands * 1e6 > readers.MAX_XLSX_UNCOMPRESSED_BYTES
    path = write(tmp_path / "bomb.xlsx", data)
    _timed_rejection(
        db,
        path,
        "incidents",
        [
            f"1: (file): the workbook expands to {expands:.0f} MB; the limit is "
            f"{readers.MAX_XLSX_UNCOMPRESSED_BYTES / 1e6:.0f} MB"
        ],
        limit_s=5,
    )
