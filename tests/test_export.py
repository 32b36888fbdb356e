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
    source = write(tmp_path / "f.csv",
                   'incident_id,title,severity,detected_on,root_cause\n'
                   'X1,"=HYPERLINK(""http://e.invalid"",""click"")",low,2025-01-01,+cmd\n'
                   'X2,-2+3,low,2025-01-02,@SUM(A1:A9)\n')
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
        assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in record.values())


@pytest.mark.parametrize(
    ("table", "content"),
    [
        ("systems", None),  # the seeded systems
        ("bias_tests",
         "test_id,system_id,model_version,executed_on,stage,protected_attribute,metric,value,threshold,passed\n"
         "B1,S1,v1,2025-01-05,production,sex,disparate_impact_ratio,0.85,0.8,\n"
         "B2,S2,,2025-01-06,pre_deployment,age,demographic_parity_difference,-0.15,0.1,no\n"),
        ("findings",
         "finding_id,audit_id,clause_ref,finding_type,description,raised_on,due_on,closed_on,status\n"
         "F1,AUD,9.2,major_nc,\"quoted, with comma\",2025-01-10,2025-03-10,,open\n"),
    ],
)
def test_export_then_reimport_changes_nothing(tmp_path: Path, table: str, content: str | None) -> None:
    db = new_db(tmp_path)
    if content is not None:
        code, _, err = run_main(db, "import", table, str(write(tmp_path / "in.csv", content)))
        assert code == 0, err
    out = tmp_path / "out.csv"
    assert run_main(db, "export", table, "--out", str(out))[0] == 0
    code, stdout, err = run_main(db, "import", table, str(out))
    assert code == 0, err
    assert stdout.strip().startswith("0 inserted, 0 updated, ") and stdout.strip().endswith(" unchanged")
    assert stdout.strip() != "0 inserted, 0 updated, 0 unchanged"
