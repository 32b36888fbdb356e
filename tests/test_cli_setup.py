"""Set-up traps on the command line (issue 24, item 13): `init --scale` loads the demo data
instead of silently creating an empty database; the readiness report and the audit plan have CLI
commands that write the files the pages download."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from import_helpers import new_db, rows, run_main, write

AUDITS_CSV = (
    "audit_id,audit_type,title,planned_start,planned_end,status,actual_end,lead_auditor_unit,"
    "auditee_unit,scope\n"
    "IA-1,internal,Context,2025-03-01,2025-03-05,completed,2025-03-06,Internal Audit,Ops,4;5\n"
    "IA-2,internal,Late,2026-01-10,2026-01-12,planned,,Ops,Ops,9\n"
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = new_db(tmp_path)
    code, _, err = run_main(
        path, "import", "audits", str(write(tmp_path / "audits.csv", AUDITS_CSV))
    )
    assert code == 0, err
    return path


def test_init_with_a_scale_loads_the_demo_data(tmp_path: Path):
    db = tmp_path / "scaled.duckdb"
    code, out, err = run_main(db, "init", "--scale", "demo", "--end-quarter", "2025Q4")
    assert (code, err) == (0, "")
    assert "loaded demo data ending 2025Q4" in out
    assert rows(db, "SELECT count(*) > 0 FROM findings") == [(True,)]


def test_readiness_writes_the_report_pdf(db, tmp_path: Path):
    out_file = tmp_path / "readiness.pdf"
    code, out, err = run_main(db, "readiness", "--as-of", "2026-03-31", "--pdf", str(out_file))
    assert (code, err) == (0, "")
    assert out.startswith(f"wrote {out_file}: readiness report, sha256 ")
    assert out_file.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("suffix", [".pdf", ".PDF", ".csv"])
def test_audits_plan_writes_pdf_or_csv_by_suffix(db, tmp_path: Path, suffix: str):
    out_file = tmp_path / f"plan{suffix}"
    code, out, err = run_main(
        db,
        "audits",
        "plan",
        "--cycle-start",
        "2025-01-01",
        "--as-of",
        "2026-03-31",
        "--out",
        str(out_file),
    )
    assert (code, err) == (0, "")
    assert out.startswith(f"wrote {out_file}: audit plan, sha256 ")
    data = out_file.read_bytes()
    if suffix.lower() == ".pdf":
        assert data.startswith(b"%PDF")
    else:
        ids = [row[0] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))][1:]
        assert sorted(ids) == ["IA-1", "IA-2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("audits", "plan", "--out", "plan.txt"), "must end in .pdf or .csv"),
        (("audits", "plan"), "--out"),
        (("readiness", "--pdf", "."), "is a directory"),
        (("readiness", "--pdf", "no/such/folder/r.pdf"), "no/such/folder"),
    ],
)
def test_bad_output_paths_are_usage_errors_and_write_nothing(
    db, tmp_path, monkeypatch, args, message
):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run_main(db, *args)
    assert (code, out) == (2, "")
    assert message in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
