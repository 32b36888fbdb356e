"""`audits programme` and `readiness` on the command line, the new tables through import /
template / export, the findings-without-audit warning, and migration 6 on an older database."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from import_helpers import new_db, rows, run_main, write

from aims_metrics import store

AUDITS_CSV = (
    "audit_id,audit_type,title,planned_start,planned_end,status,actual_end,lead_auditor_unit,"
    "auditee_unit,scope\n"
    "IA-1,internal,Context,2025-03-01,2025-03-05,completed,2025-03-06,Internal Audit,Ops, 4 ; 5 \n"
    "IA-2,internal,Late,2026-01-10,2026-01-12,planned,,Ops,Ops,9\n"
    "CB-1,certification,Stage 2,2025-06-01,2025-06-03,completed,2025-06-03,CB,Ops,A.6\n"
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = new_db(tmp_path)
    code, _, err = run_main(
        path, "import", "audits", str(write(tmp_path / "audits.csv", AUDITS_CSV))
    )
    assert code == 0, err
    return path


def test_the_scope_is_stored_trimmed(db):
    assert rows(db, "SELECT scope FROM audits WHERE audit_id = 'IA-1'") == [("4;5",)]


def test_programme_json(db):
    code, out, err = run_main(
        db,
        "audits",
        "programme",
        "--cycle-start",
        "2025-01-01",
        "--as-of",
        "2026-03-31",
        "--format",
        "json",
    )
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert (doc["cycle_start"], doc["cycle_end"], doc["type"]) == ("2025-01-01", "2027-12-31", None)
    coverage = {c["ref"]: c for c in doc["coverage"]}
    assert coverage["4.1"] == {"ref": "4.1", "status": "covered", "audits": ["IA-1"]}
    assert coverage["9.2.2"] == {"ref": "9.2.2", "status": "planned", "audits": ["IA-2"]}
    assert coverage["A.6.2.4"]["status"] == "covered" and coverage["6.1"]["status"] == "gap"
    assert (doc["overdue"], doc["independence_conflicts"], doc["findings_without_audit"]) == (
        ["IA-2"],
        ["IA-2"],
        [],
    )


def test_programme_type_filter_and_table(db):
    code, out, _ = run_main(
        db,
        "audits",
        "programme",
        "--cycle-start",
        "2025-01-01",
        "--as-of",
        "2026-03-31",
        "--type",
        "certification",
    )
    assert code == 0
    assert "Audit programme 2025-01-01 – 2027-12-31 (certification audits), as of 2026-03-31" in out
    assert "9 covered, 0 planned, 58 gap" in out
    assert "overdue: none" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["audits", "programme", "--as-of", "31/03/2026"],
            "argument --as-of: '31/03/2026' is not a date",
        ),
        (
            ["audits", "programme", "--cycle-start", "soon"],
            "argument --cycle-start: 'soon' is not a date",
        ),
        (["readiness", "--as-of", "2026-02-30"], "argument --as-of: '2026-02-30' is not a date"),
    ],
)
def test_usage_errors(db, args, message):
    code, out, err = run_main(db, *args)
    assert code == 2 and out == "" and message in err


def test_readiness_json(db):
    code, out, err = run_main(db, "readiness", "--as-of", "2026-03-31", "--format", "json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["verdict"] == "not_ready"
    assert len(doc["requirements"]) == 29
    assert doc["soa"]["applicable"] == 38
    assert all(set(b) == {"kind", "id", "text", "clause", "open_since"} for b in doc["blockers"])
    assert isinstance(doc["score"], float) and isinstance(doc["gaps"], list)


def test_readiness_table(db):
    code, out, _ = run_main(db, "readiness", "--as-of", "2026-03-31")
    assert code == 0
    assert out.splitlines()[0].startswith("Not ready for certification (score ")
    assert "SoA: 38 applicable, 0 excluded; 0 implemented, 0 partial, 38 not started" in out


def test_findings_naming_no_audit_are_imported_with_a_warning(db, tmp_path):
    findings = write(
        tmp_path / "findings.csv",
        "finding_id,audit_id,clause_ref,finding_type,description,raised_on\n"
        "F1,IA-1,4.1,minor_nc,x,2025-03-05\nF2,OLD-1,4.2,ofi,y,2025-03-05\nF3,OLD-2,4.2,ofi,y,2025-03-05\n",
    )
    code, out, err = run_main(db, "import", "findings", str(findings))
    assert (code, out) == (0, "3 inserted, 0 updated, 0 unchanged\n")
    assert err == (
        "warning: audit_id: 2 rows name no audit_id of audits (first: 'OLD-1' on row 3); "
        "they are imported anyway: import audits to link them\n"
    )


@pytest.mark.parametrize("table", ["audits", "soa", "attestations"])
def test_template_and_export(db, tmp_path, table):
    code, out, _ = run_main(db, "template", table)
    assert code == 0
    header = out.strip()
    out_file = tmp_path / f"{table}.csv"
    code, _, _ = run_main(db, "export", table, "--out", str(out_file))
    assert code == 0
    assert out_file.read_text("utf-8").splitlines()[0] == header


def test_migration_6_adds_the_tables_to_an_older_database(tmp_path):
    path = tmp_path / "old.duckdb"
    with store.open_db(path):
        pass
    con = duckdb.connect(str(path))
    for table in ("audits", "soa", "attestations", "gap_register"):
        con.execute(f"DROP TABLE {table}")
    con.execute("DELETE FROM schema_version WHERE version = 6")
    con.close()
    with store.open_db(path) as con:
        assert store.schema_version(con) == store.latest_schema_version()
        assert 6 in {r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()}
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"audits", "soa", "attestations", "gap_register"} <= names


def test_readiness_blockers_csv_lists_every_blocker(db, tmp_path):
    findings = write(
        tmp_path / "findings.csv",
        "finding_id,audit_id,clause_ref,finding_type,description,raised_on\n"
        "F1,IA-1,8.4,major_nc,x,2026-01-05\nF2,IA-1,4.2,minor_nc,y,2026-01-05\n",
    )
    assert run_main(db, "import", "findings", str(findings))[0] == 0
    out_file = tmp_path / "blockers.csv"
    code, out, err = run_main(
        db, "readiness", "--as-of", "2026-03-31", "--blockers-csv", str(out_file)
    )
    assert (code, err) == (0, "") and out.startswith(f"wrote {out_file}: readiness blockers")
    lines = out_file.read_text("utf-8").splitlines()
    assert lines[0] == "kind,id,clause,open_since,description"
    assert (
        lines[1]
        == "Major NC,F1,8.4,2026-01-05,Major nonconformity against 8.4 open since 2026-01-05."
    )
    _, json_out, _ = run_main(db, "readiness", "--as-of", "2026-03-31", "--format", "json")
    assert len(lines) - 1 == len(json.loads(json_out)["blockers"])


def test_readiness_writes_the_report_or_the_blockers_not_both(db, tmp_path):
    code, out, err = run_main(
        db, "readiness", "--pdf", str(tmp_path / "r.pdf"), "--blockers-csv", str(tmp_path / "b.csv")
    )
    assert code == 2 and out == "" and "not both" in err
    assert not (tmp_path / "r.pdf").exists() and not (tmp_path / "b.csv").exists()


def test_without_as_of_the_cli_evaluates_at_the_latest_complete_quarter_end_as_the_pages_do(db):
    from aims_metrics.metrics.as_of import resolve_quarter

    with store.open_db(db) as con:
        day = resolve_quarter(con, None).as_of
    for args in (["readiness"], ["audits", "programme"]):
        code, out, err = run_main(db, *args, "--format", "json")
        assert code == 0, err
        assert json.loads(out)["as_of"] == day.isoformat()
