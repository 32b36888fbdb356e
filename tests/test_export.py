"""Export: CSV that a spreadsheet opens without running formulas, and that imports back unchanged."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from import_helpers import new_db, run_main, write

from aims_metrics.tables.export import neutralise_cell, safe_csv_bytes


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tindented", "'\tindented"),
        ("\rreturn", "'\rreturn"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("", ""),
        (None, None),
        (-0.5, -0.5),  # a number is not a formula
    ],
)
def test_neutralise_cell(cell: object, expected: object) -> None:
    assert neutralise_cell(cell) == expected


def test_safe_csv_bytes_neutralises_every_text_cell() -> None:
    frame = pd.DataFrame({"a": ["=1+1", "ok"], "b": ["x", "@y"], "n": [-1.5, 2.0]})
    parsed = list(csv.reader(io.StringIO(safe_csv_bytes(frame).decode("utf-8"))))
    assert parsed == [["a", "b", "n"], ["'=1+1", "x", "-1.5"], ["ok", "'@y", "2.0"]]


def test_export_neutralises_imported_formula_cells(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    source = write(
        tmp_path / "f.csv",
        "incident_id,title,severity,detected_on,root_cause\n"
        'X1,"=HYPERLINK(""http://e.invalid"",""click"")",low,2025-01-01,+cmd\n'
        "X2,-2+3,low,2025-01-02,@SUM(A1:A9)\n",
    )
    assert run_main(db, "import", "incidents", str(source))[0] == 0
    out = tmp_path / "incidents.csv"
    code, stdout, err = run_main(db, "export", "incidents", "--out", str(out))
    assert (code, stdout.strip()) == (0, f"exported 2 rows to {out}"), err
    with out.open(encoding="utf-8", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [(r["incident_id"], r["title"], r["root_cause"]) for r in exported] == [
        ("X1", '\'=HYPERLINK("http://e.invalid","click")', "'+cmd"),
        ("X2", "'-2+3", "'@SUM(A1:A9)"),
    ]
    for record in exported:
        assert not any(
            value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in record.values()
        )


@pytest.mark.parametrize(
    ("table", "content"),
    [
        ("systems", None),  # the seeded systems
        (
            "bias_tests",
            "test_id,system_id,model_version,executed_on,stage,protected_attribute,metric,value,threshold,passed\n"
            "B1,S1,v1,2025-01-05,production,sex,disparate_impact_ratio,0.85,0.8,\n"
            "B2,S2,,2025-01-06,pre_deployment,age,demographic_parity_difference,-0.15,0.1,no\n",
        ),
        (
            "findings",
            "finding_id,audit_id,clause_ref,finding_type,description,raised_on,due_on,closed_on,status\n"
            'F1,AUD,9.2,major_nc,"quoted, with comma",2025-01-10,2025-03-10,,open\n',
        ),
    ],
)
def test_export_then_reimport_changes_nothing(
    tmp_path: Path, table: str, content: str | None
) -> None:
    db = new_db(tmp_path)
    if content is not None:
        code, _, err = run_main(db, "import", table, str(write(tmp_path / "in.csv", content)))
        assert code == 0, err
    out = tmp_path / "out.csv"
    assert run_main(db, "export", table, "--out", str(out))[0] == 0
    code, stdout, err = run_main(db, "import", table, str(out))
    assert code == 0, err
    assert stdout.strip().startswith("0 inserted, 0 updated, ") and stdout.strip().endswith(
        " unchanged"
    )
    assert stdout.strip() != "0 inserted, 0 updated, 0 unchanged"


HOSTILE_CELLS = [
    "Model drift\r=cmd|' /C calc'!A0",
    "first line\n+SUM(A1)",
    "windows\r\n@IMPORT",
    "two returns\r\r-1",
    "tab line\n\tx",
    'comma, "quote" and\rreturn',
    "\n=at the start",
]


def _no_formula_starts(cell: str) -> bool:
    """No cell start and no line start inside the cell begins a formula."""
    lines = [cell, *(part for part in cell.replace("\r\n", "\n").replace("\r", "\n").split("\n"))]
    return not any(line.startswith(("=", "+", "-", "@", "\t")) for line in lines)


def test_line_breaks_inside_cells_neither_split_rows_nor_start_formulas() -> None:
    frame = pd.DataFrame(
        {"id": [f"R{i}" for i in range(len(HOSTILE_CELLS))], "title": HOSTILE_CELLS}
    )
    data = safe_csv_bytes(frame)

    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(rows) == 1 + len(HOSTILE_CELLS)
    assert [r[0] for r in rows[1:]] == list(frame["id"])
    assert all(len(r) == 2 for r in rows)
    read_back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert len(read_back) == len(HOSTILE_CELLS)
    assert list(read_back["title"]) == [r[1] for r in rows[1:]]
    for cell in [c for r in rows for c in r]:
        assert _no_formula_starts(cell), repr(cell)
    # the text is kept: only apostrophes are added
    assert [r[1].replace("'", "") for r in rows[1:]] == [c.replace("'", "") for c in HOSTILE_CELLS]


def test_export_quotes_a_lone_carriage_return(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    source = write(
        tmp_path / "f.csv",
        "incident_id,title,severity,detected_on\n"
        "X1,\"Model drift\r=cmd|' /C calc'!A0\",low,2025-01-01\n",
    )
    assert run_main(db, "import", "incidents", str(source))[0] == 0
    out = tmp_path / "incidents.csv"
    assert run_main(db, "export", "incidents", "--out", str(out))[0] == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["incident_id"], r["title"]) for r in rows] == [
        ("X1", "Model drift\r'=cmd|' /C calc'!A0")
    ]
    assert len(pd.read_csv(out, dtype=str)) == 1


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("missing/dir/x.csv", "the folder {tmp}/missing/dir does not exist: create it first"),
        (".", "{tmp} is a directory: name a file to write"),
    ],
)
def test_export_out_is_checked_before_any_work(tmp_path: Path, out: str, message: str) -> None:
    db = new_db(tmp_path)
    target = str(tmp_path / out) if out != "." else str(tmp_path)
    code, stdout, err = run_main(db, "export", "incidents", "--out", target)
    assert code == 2 and stdout == ""
    assert err.splitlines()[-1].endswith(f"argument --out: {message.format(tmp=tmp_path)}")
    assert "Traceback" not in err


def test_every_csv_the_product_writes_goes_through_the_one_writer() -> None:
    """No module but tables/export.py writes CSV itself (to_csv, csv.writer, DictWriter), so the
    quoting and neutralising rules hold for every download and export. audits/soa.py turns the
    SoA editor's rows into CSV for the importer to read, never for a person: it is the exception."""
    import re

    root = Path(__file__).resolve().parents[1]
    allowed = {"aims_metrics/tables/export.py", "aims_metrics/audits/soa.py"}
    pattern = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(")
    writers = sorted(
        str(path.relative_to(root))
        for folder in ("aims_metrics", "pages")
        for path in (root / folder).rglob("*.py")
        if pattern.search(path.read_text("utf-8"))
    )
    assert [w for w in writers if w not in allowed] == []
    assert "aims_metrics/tables/export.py" in writers


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch
) -> None:
    """The export goes to a temporary file beside the target and is renamed: a write that fails
    (here: the disk fills up at the rename) keeps the previous export whole, exits 1, no traceback."""
    import errno
    import os

    db = new_db(tmp_path)
    out = write(tmp_path / "systems.csv", "the previous export\n")

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    code, stdout, err = run_main(db, "export", "systems", "--out", str(out))
    assert (code, stdout) == (1, "")
    assert err.splitlines() == [f"error: cannot write {out}: No space left on device"]
    assert out.read_text() == "the previous export\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_text_in_every_dtype_is_neutralised() -> None:
    """Categorical and string[pyarrow] columns hold text too (a drill-down or a grouped table)."""
    frame = pd.DataFrame(
        {
            "category": pd.Categorical(["=1+1", "ok\n@x"]),
            "arrow": pd.array(["+cmd", None], dtype="string[pyarrow]"),
            "number": [-1, 2],
            "when": pd.to_datetime(["2025-01-01", "2025-02-01"]),
        }
    )
    rows = list(csv.reader(io.StringIO(safe_csv_bytes(frame).decode("utf-8"), newline="")))
    assert rows == [
        ["category", "arrow", "number", "when"],
        ["'=1+1", "'+cmd", "-1", "2025-01-01"],
        ["ok\n'@x", "", "2", "2025-02-01"],
    ]
