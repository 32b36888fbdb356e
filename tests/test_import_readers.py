"""The readers' rules (issue 21): one text rule for every cell, one header rule, the first visible
sheet, workbooks read without expanding or fetching anything, and inputs that are not files.

The whole-command cases live in tests/bad_inputs/cases/ (04, 06, 07, 08, 12); this file holds
what a manifest cannot express: FIFOs and symlinks made at test time, the second XML guard,
and the rules themselves checked character by character.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest
import workbook_builders
from import_helpers import dump_db, new_db, run_cli, run_main

from aims_metrics.inputs.files import FileProblem
from aims_metrics.inputs.text import TRIMMED_CHARACTERS, normalise_text, trim_array, trim_list_items
from aims_metrics.performance.fairness_input import PredictionColumns, predictions_from_frame
from aims_metrics.tables import readers
from aims_metrics.tables.headers import match_headers, normalise_header

FAIRNESS = ("--system", "S1", "--model-version", "1", "--stage", "production",
            "--y-true", "label", "--y-pred", "prediction", "--sensitive", "group")  # fmt: skip


# --- one text rule --------------------------------------------------------------------------------


@pytest.mark.parametrize("char", list(TRIMMED_CHARACTERS), ids=lambda c: f"U+{ord(c):04X}")
def test_arrow_and_python_trim_the_same_characters(char: str) -> None:
    values = pa.array([f"{char}I1{char}{char}", f"a{char}b", char * 3])
    assert trim_array(values).to_pylist() == ["I1", f"a{char}b", ""]
    assert [normalise_text(v) for v in values.to_pylist()] == ["I1", f"a{char}b", None]


def test_printable_characters_are_not_trimmed() -> None:
    values = pa.array(["-x-", "'x'", '"x"', "_x_", ".x."])
    assert trim_array(values).to_pylist() == values.to_pylist()


def test_list_items_are_trimmed_by_the_same_rule() -> None:
    values = pa.array(["9.2 ;\tA.6.2.4\u00a0;\u200b10", "4", None, " ; "])
    assert trim_list_items(values).to_pylist() == ["9.2;A.6.2.4;10", "4", None, ";"]


def test_every_cell_and_header_of_a_csv_is_trimmed_once_by_the_reader() -> None:
    raw = readers.read_source(b"\xc2\xa0id\t,Title\xe2\x80\x8b\n I1\t,\xe2\x80\x83x y\r\n", "x.csv")
    assert raw.headers == ["id", "Title"]
    assert raw.table.to_pylist() == [{"c0": "I1", "c1": "x y", "_row": 2}]


def test_a_frame_is_trimmed_like_a_file() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "label": ["1\t", "0", "1", "0"],
            "prediction": ["1", "0\u00a0", "0", "1"],
            "group": ["A", "A\u200b", "\tB", "B"],
        }
    )
    columns = PredictionColumns(y_true="label", y_pred="prediction", sensitive=("group",))
    predictions = predictions_from_frame(frame, columns)
    assert predictions.attributes[0].labels == ("A", "B")


# --- one header rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Incident ID", "incident_id"),
        ("\u00a0incident-id\t", "incident_id"),
        ("\u200bINCIDENT__ID\ufeff", "incident_id"),
        ("Incident\nID", "incident_id"),
        ("  ", ""),
        ("a - b", "a_b"),
    ],
)
def test_normalise_header(header: str, expected: str) -> None:
    assert normalise_header(header) == expected


def test_two_headers_for_one_column_are_an_ambiguity_not_a_choice() -> None:
    headers = ["sex", "Sex", "race", "SEX "]
    match = match_headers(headers, ["sex", "race"])
    assert match.chosen == {"sex": 0, "race": 2}
    assert match.ambiguities(headers) == [
        ("sex", "columns 'sex' and 'Sex' both map to sex"),
        ("sex", "columns 'sex' and 'SEX ' both map to sex"),
    ]


def test_a_rename_can_make_an_ambiguity() -> None:
    headers = ["date", "detected_on"]
    match = match_headers(headers, ["detected_on"], {"Date": "detected_on"})
    assert match.ambiguities(headers) == [
        ("detected_on", "columns 'date' and 'detected_on' both map to detected_on")
    ]


# --- CSV dialects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [
        ('"a""b,c";d;e', ";"),
        ('x"",y', ","),
        ('5" wide;b;c,d', ";"),
        ('"a,b","c,d";e;f', ";"),
        ("a\tb\tc", "\t"),
        ('"a;b;c",d', ","),
        ("single", ","),
    ],
)
def test_the_delimiter_is_sniffed_outside_quoted_fields(line: str, delimiter: str) -> None:
    assert readers.sniff_delimiter(line) == delimiter


@pytest.mark.parametrize(
    ("text", "header", "first_row"),
    [
        (b"a,b\rI1,x\r", ["a", "b"], "I1"),
        (b'"a\r\nb",c\nI1,x\n', ["a\r\nb", "c"], "I1"),
        (b'a 5" wide,b\nI1,x\n', ['a 5" wide', "b"], "I1"),
        (b"sep=|\r\na|b\r\nI1|x\r\n", ["a", "b"], "I1"),
    ],
)
def test_the_header_ends_where_a_csv_reader_ends_it(
    text: bytes, header: list[str], first_row: str
) -> None:
    raw = readers.read_source(text, "x.csv")
    assert raw.headers == header
    assert raw.table["c0"][0].as_py() == first_row and raw.table[readers.ROW_NUMBER][0].as_py() == 2


# --- workbooks ------------------------------------------------------------------------------------


def test_openpyxl_parses_through_defusedxml() -> None:
    import openpyxl

    assert openpyxl.DEFUSEDXML is True  # pinned in requirements.txt: without it, this is False


def test_defusedxml_refuses_entities_even_past_the_doctype_check(monkeypatch) -> None:
    """The second guard: with the DTD check switched off, openpyxl's parser still expands nothing."""
    monkeypatch.setattr(readers, "_refuse_document_types", lambda archive: None)
    for data in (
        workbook_builders.billion_laughs("xl/workbook.xml"),
        workbook_builders.external_entity(),
    ):
        with pytest.raises(FileProblem) as caught:
            readers.read_source(data, "x.xlsx")
        assert str(caught.value) == (
            "the workbook declares XML entities or external references, which are refused: "
            "save the workbook again from the spreadsheet program"
        )


def test_sheet_names_offered_are_the_visible_ones() -> None:
    data = workbook_builders.book(
        ("Old", [["a"]]), ("Data", [["b"]]), ("Notes", [["c"]]), states={"Old": "hidden"}
    )
    assert readers.xlsx_sheet_names(data) == ["Data", "Notes"]


def test_every_problem_after_the_sheet_is_chosen_names_it() -> None:
    data = workbook_builders.book(
        ("Hidden", [["a"]]), ("Data", []), states={"Hidden": "veryHidden"}
    )
    with pytest.raises(FileProblem) as caught:
        readers.read_source(data, "book.xlsx")
    assert (caught.value.where, str(caught.value)) == (
        "book.xlsx[Data]",
        "the sheet is empty: it needs a header row",
    )


def test_a_row_a_million_rows_down_costs_nothing(tmp_path: Path) -> None:
    rows = {
        1: [(v, "inlineStr") for v in workbook_builders.INCIDENTS[0]],
        2: [(v, "inlineStr") for v in workbook_builders.INCIDENTS[1]],
        1_048_576: [(v, "inlineStr") for v in ["I9", "t", "low", "2025-01-01"]],
    }
    raw = readers.read_source(
        workbook_builders.with_sheet(workbook_builders.sheet_xml(rows)), "x.xlsx"
    )
    assert raw.table[readers.ROW_NUMBER].to_pylist() == [2, 1_048_576]


# --- inputs that are not files ----------------------------------------------------------------------


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """Opening a FIFO blocks until someone writes: the check must not open it (a subprocess, so a
    regression fails on the timeout instead of hanging the suite)."""
    db = new_db(tmp_path)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    before = dump_db(db)
    for command in (
        ["import", "incidents", str(fifo)],
        ["fairness", "evaluate", str(fifo), *FAIRNESS],
    ):
        result = run_cli(db, *command, timeout=60)
        assert result.returncode == 1, result.stderr
        assert result.stderr.splitlines()[0] == (
            f"{fifo}:1: (file): this is not a regular file (a device, a pipe or a socket)"
        )
        assert "Traceback" not in result.stderr
    assert dump_db(db) == before


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    link = tmp_path / "link.csv"
    link.symlink_to("/dev/zero")
    before = dump_db(db)
    code, out, err = run_main(db, "import", "incidents", str(link))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{link}:1: (file): this is not a regular file (a device, a pipe or a socket)",
        "1 error: nothing imported",
    ]
    assert dump_db(db) == before


def test_a_dangling_symlink_is_a_missing_file(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    link = tmp_path / "gone.csv"
    link.symlink_to(tmp_path / "nowhere.csv")
    code, _, err = run_main(db, "import", "incidents", str(link))
    assert code == 2 and f"{link}: no such file" in err
