"""Known-answer imports of each data table through the CLI, with a real DuckDB file per test."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from import_helpers import SYSTEMS_CSV, dump_db, new_db, rows, run_main, write

from aims_metrics.cli.common import cli_user


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return new_db(tmp_path)


def test_systems_typed_values(db: Path) -> None:
    assert rows(db, "SELECT * FROM systems ORDER BY system_id") == [
        (
            "S1",
            "Credit scoring",
            "Ana",
            "Retail",
            "high",
            "deployed",
            date(2024, 1, 15),
            None,
            False,
        ),
        ("S2", "Chat assistant", "Ben", "Support", "low", "development", None, None, True),
    ]
    types = dict(
        rows(db, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'systems'")
    )
    assert types["deployed_on"] == "DATE" and types["third_party"] == "BOOLEAN"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("yes", True),
        ("YES", True),
        ("true", True),
        ("1", True),
        ("no", False),
        ("False", False),
        ("0", False),
    ],
)
def test_bool_words(tmp_path: Path, word: str, expected: bool) -> None:
    db = new_db(tmp_path, with_systems=False)
    code, _, err = run_main(
        db,
        "import",
        "systems",
        str(
            write(
                tmp_path / "s.csv", f"system_id,name,risk_level,third_party\nS9,x,medium,{word}\n"
            )
        ),
    )
    assert code == 0, err
    assert rows(db, "SELECT third_party FROM systems") == [(expected,)]


def test_incidents_known_answer(db: Path, tmp_path: Path) -> None:
    csv = (
        "incident_id,system_id,title,severity,category,occurred_on,detected_on,resolved_on,status,root_cause\n"
        "INC-1,S1,Biased denials,CRITICAL,Fairness,2025-01-02,2025-01-03,2025-01-10,Resolved,skewed data\n"
        "INC-2,,Prompt leak,medium,privacy,,2025-02-01,,open,\n"
    )
    code, out, err = run_main(db, "import", "incidents", str(write(tmp_path / "i.csv", csv)))
    assert (code, out.strip()) == (0, "2 inserted, 0 updated, 0 unchanged"), err
    assert rows(db, "SELECT * FROM incidents ORDER BY incident_id") == [
        (
            "INC-1",
            "S1",
            "Biased denials",
            "critical",
            "fairness",
            date(2025, 1, 2),
            date(2025, 1, 3),
            date(2025, 1, 10),
            "resolved",
            "skewed data",
        ),
        (
            "INC-2",
            None,
            "Prompt leak",
            "medium",
            "privacy",
            None,
            date(2025, 2, 1),
            None,
            "open",
            None,
        ),
    ]


def test_assessments_known_answer(db: Path, tmp_path: Path) -> None:
    csv = (
        "assessment_id,system_id,assessment_type,status,due_on,completed_on,assessor,residual_risk,notes\n"
        "A-1,S1,Impact,COMPLETED,2025-03-31,2025-03-20,Cara,Medium,ok\n"
        "A-2,S2,risk,in_progress,2025-06-30,,Dan,,\n"
    )
    code, out, err = run_main(db, "import", "assessments", str(write(tmp_path / "a.csv", csv)))
    assert (code, out.strip()) == (0, "2 inserted, 0 updated, 0 unchanged"), err
    assert rows(db, "SELECT * FROM assessments ORDER BY assessment_id") == [
        (
            "A-1",
            "S1",
            "impact",
            "completed",
            date(2025, 3, 31),
            date(2025, 3, 20),
            "Cara",
            "medium",
            "ok",
        ),
        ("A-2", "S2", "risk", "in_progress", date(2025, 6, 30), None, "Dan", None, None),
    ]


def test_bias_tests_passed_derived_for_ratio_and_difference(db: Path, tmp_path: Path) -> None:
    csv = (
        "test_id,system_id,model_version,executed_on,stage,protected_attribute,metric,value,threshold,passed\n"
        "B1,S1,v1,2025-01-05,Pre_Deployment,sex,disparate_impact_ratio,0.85,0.8,\n"  # ratio ≥ → pass
        "B2,S1,v1,2025-01-05,production,sex,disparate_impact_ratio,0.75,0.8,\n"  # ratio < → fail
        "B3,S1,v1,2025-01-05,production,age,demographic_parity_difference,-0.05,0.1,\n"  # |v| ≤ → pass
        "B4,S1,v1,2025-01-05,production,age,equalized_odds_difference,-0.15,0.1,\n"  # |v| > → fail
        "B5,S1,v1,2025-01-05,production,age,disparate_impact_ratio,0.8,0.8,\n"  # boundary pass
        "B6,S2,v2,2025-01-06,production,age,equalized_odds_difference,0.1,0.1,Yes\n"  # boundary, given
    )
    code, out, err = run_main(db, "import", "bias_tests", str(write(tmp_path / "b.csv", csv)))
    assert (code, out.strip()) == (0, "6 inserted, 0 updated, 0 unchanged"), err
    assert rows(
        db, "SELECT test_id, stage, value, threshold, passed FROM bias_tests ORDER BY test_id"
    ) == [
        ("B1", "pre_deployment", 0.85, 0.8, True),
        ("B2", "production", 0.75, 0.8, False),
        ("B3", "production", -0.05, 0.1, True),
        ("B4", "production", -0.15, 0.1, False),
        ("B5", "production", 0.8, 0.8, True),
        ("B6", "production", 0.1, 0.1, True),
    ]


def test_findings_known_answer(db: Path, tmp_path: Path) -> None:
    csv = (
        "finding_id,audit_id,audit_type,clause_ref,finding_type,description,raised_on,due_on,closed_on,"
        "owner,status,root_cause,corrective_action,verified_on\n"
        "F-1,AUD-1,External,9.2,MAJOR_NC,No audit programme,2025-01-10,2025-03-10,2025-03-01,Eve,"
        "Closed,none,wrote one,2025-03-05\n"
        "F-2,AUD-1,internal,A.6.2.6,ofi,Monitoring,2025-01-10,,,,open,,,\n"
    )
    code, out, err = run_main(db, "import", "findings", str(write(tmp_path / "f.csv", csv)))
    assert (code, out.strip()) == (0, "2 inserted, 0 updated, 0 unchanged"), err
    assert rows(db, "SELECT * FROM findings ORDER BY finding_id") == [
        (
            "F-1",
            "AUD-1",
            "external",
            "9.2",
            "major_nc",
            "No audit programme",
            date(2025, 1, 10),
            date(2025, 3, 10),
            date(2025, 3, 1),
            "Eve",
            "closed",
            "none",
            "wrote one",
            date(2025, 3, 5),
        ),
        (
            "F-2",
            "AUD-1",
            "internal",
            "A.6.2.6",
            "ofi",
            "Monitoring",
            date(2025, 1, 10),
            None,
            None,
            None,
            "open",
            None,
            None,
            None,
        ),
    ]


def test_reimport_is_idempotent_and_recorded(db: Path, tmp_path: Path) -> None:
    seed = tmp_path / "seed.csv"
    code, out, err = run_main(db, "import", "systems", str(seed))
    assert (code, out.strip()) == (0, "0 inserted, 0 updated, 2 unchanged"), err
    assert "nothing changed" in err
    batches = rows(
        db,
        "SELECT table_name, file_name, row_count, inserted, updated, unchanged, sha256, "
        "username FROM import_batches ORDER BY batch_id",
    )
    digest = hashlib.sha256(SYSTEMS_CSV.encode()).hexdigest()
    user = cli_user()
    assert [b[:1] + b[2:] for b in batches] == [
        ("systems", 2, 2, 0, 0, digest, user),  # the seed import that built the fixture
        ("systems", 2, 0, 0, 2, digest, user),
    ]
    assert batches[1][1] == str(seed)
    audit = rows(
        db,
        "SELECT action, target, detail FROM audit_log WHERE action = 'data.import' ORDER BY entry_id",
    )
    assert [(a, t) for a, t, _ in audit] == [("data.import", "systems")] * 2
    assert json.loads(audit[1][2])["unchanged"] == 2


def test_upsert_of_a_changed_row(db: Path, tmp_path: Path) -> None:
    changed = SYSTEMS_CSV.replace(
        "S2,Chat assistant,Ben,Support,low", "S2,Chat assistant,Ben,Support,medium"
    )
    changed += "S3,New one,,,low,,,,\n"
    code, out, err = run_main(db, "import", "systems", str(write(tmp_path / "c.csv", changed)))
    assert (code, out.strip()) == (0, "1 inserted, 1 updated, 1 unchanged"), err
    assert rows(db, "SELECT system_id, risk_level FROM systems ORDER BY 1") == [
        ("S1", "high"),
        ("S2", "medium"),
        ("S3", "low"),
    ]


def test_dry_run_writes_nothing(db: Path, tmp_path: Path) -> None:
    before = dump_db(db)
    changed = SYSTEMS_CSV.replace("low", "medium") + "S3,New,,,low,,,,\n"
    code, out, err = run_main(
        db, "import", "systems", str(write(tmp_path / "c.csv", changed)), "--dry-run"
    )
    assert (code, out.strip()) == (0, "dry run: would be 1 inserted, 1 updated, 1 unchanged"), err
    assert dump_db(db) == before


def test_header_normalisation(db: Path, tmp_path: Path) -> None:
    csv = " Incident-ID ,TITLE,Severity , Detected On\nI-1,t,High,2025-01-01\n"
    code, out, err = run_main(db, "import", "incidents", str(write(tmp_path / "h.csv", csv)))
    assert (code, out.strip(), err) == (0, "1 inserted, 0 updated, 0 unchanged", "")
    assert rows(db, "SELECT incident_id, severity, detected_on FROM incidents") == [
        ("I-1", "high", date(2025, 1, 1))
    ]


def test_unknown_columns_are_ignored_with_a_warning(db: Path, tmp_path: Path) -> None:
    csv = "incident_id,title,severity,detected_on,Reporter,Extra Notes\nI-1,t,low,2025-01-01,me,x\n"
    code, out, err = run_main(db, "import", "incidents", str(write(tmp_path / "w.csv", csv)))
    assert code == 0
    assert err.splitlines() == ["warning: ignored columns not in incidents: Reporter, Extra Notes"]


def test_map_and_set(db: Path, tmp_path: Path) -> None:
    csv = "ID,Headline,Date\nX-1,Leak,2025-04-01\nX-2,Drift,2025-04-02\n"
    path = write(tmp_path / "m.csv", csv)
    code, out, err = run_main(
        db,
        "import",
        "incidents",
        str(path),
        "--map",
        "id=incident_id",
        "--map",
        "HEADLINE=title",
        "--map",
        "date=Detected On",
        "--set",
        "severity=High",
        "--set",
        "system_id=S2",
    )
    assert (code, out.strip(), err) == (0, "2 inserted, 0 updated, 0 unchanged", "")
    assert rows(
        db, "SELECT incident_id, system_id, title, severity, detected_on FROM incidents ORDER BY 1"
    ) == [
        ("X-1", "S2", "Leak", "high", date(2025, 4, 1)),
        ("X-2", "S2", "Drift", "high", date(2025, 4, 2)),
    ]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["--map", "id=incident_id", "--set", "title=x", "--set", "severity=low"],
            "--set title=…: the file already has column 'title'",
        ),
        (
            ["--map", "id=incident_id", "--set", "Date=2025-01-01", "--set", "severity=low"],
            "has no column 'date'",
        ),
        (["--map", "id=nowhere"], "--map id=nowhere: incidents has no column 'nowhere'"),
        (["--map", "missing=incident_id"], "--map missing=…: the file has no column 'missing'"),
        (["--map", "id"], "--map expects NAME=VALUE, got 'id'"),
        (
            ["--map", "id=incident_id", "--set", "severity"],
            "--set expects NAME=VALUE, got 'severity'",
        ),
        (["--map", "id=incident_id", "--set", "=low"], "--set expects NAME=VALUE, got '=low'"),
    ],
)
def test_map_and_set_usage_errors_exit_2(
    db: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    path = write(tmp_path / "u.csv", "id,title,date\nX-1,t,2025-01-01\n")
    before = dump_db(db)
    code, out, err = run_main(db, "import", "incidents", str(path), *args)
    assert code == 2
    assert out == ""
    assert fragment in err and err.startswith("python -m aims_metrics: error: ")
    assert dump_db(db) == before


def test_unknown_table_is_a_usage_error(db: Path, tmp_path: Path) -> None:
    code, _, err = run_main(db, "import", "widgets", str(write(tmp_path / "x.csv", "a\n1\n")))
    assert code == 2 and "invalid choice: 'widgets'" in err


def _xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = "Systems"
    first.append(["System ID", "Name", "Risk Level", "Deployed On", "Third Party"])
    first.append(["X1", "Excel one", "HIGH", date(2024, 3, 1), True])
    first.append([1001, "Numeric id", "low", date(2024, 3, 2), "no"])
    second = book.create_sheet("Incidents")
    second.append(["incident_id", "system_id", "title", "severity", "detected_on", "resolved_on"])
    second.append(["XI-1", "X1", "From a sheet", "Low", date(2025, 5, 1), date(2025, 5, 3)])
    for _ in range(3):
        second.append([])  # blank spreadsheet rows: not records, row numbers keep counting
    second.append(["XI-2", "X1", "Bad one", "Low", date(2025, 5, 1), date(2025, 4, 3)])
    book.save(path)
    return path


def test_xlsx_first_sheet_and_named_sheet(tmp_path: Path) -> None:
    db = new_db(tmp_path, with_systems=False)
    book = _xlsx(tmp_path / "book.xlsx")
    code, out, err = run_main(db, "import", "systems", str(book))
    assert (code, out.strip()) == (0, "2 inserted, 0 updated, 0 unchanged")
    assert err.splitlines() == [  # which sheet was read is said, not left to guess
        f"warning: {book}: read sheet 'Systems', the first visible of 2 sheets"
    ]
    assert rows(
        db, "SELECT system_id, risk_level, deployed_on, third_party FROM systems ORDER BY 1"
    ) == [("1001", "low", date(2024, 3, 2), False), ("X1", "high", date(2024, 3, 1), True)]
    code, out, err = run_main(db, "import", "incidents", str(book), "--sheet", "Incidents")
    assert code == 1
    assert err.splitlines() == [
        f"{book}[Incidents]:6: resolved_on: resolved_on 2025-04-03 is before detected_on 2025-05-01",
        "1 error: nothing imported",
    ]


def test_xlsx_unknown_sheet_names_the_sheets(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    book = _xlsx(tmp_path / "book.xlsx")
    code, _, err = run_main(db, "import", "systems", str(book), "--sheet", "Nope")
    assert code == 1
    assert (
        f"{book}:1: (file): the workbook has no sheet 'Nope'; its sheets are Systems, Incidents"
        in err
    )


def test_commit_reports_its_stages_in_order_and_ends_committed(db: Path) -> None:
    from aims_metrics import store
    from aims_metrics.tables import ingest

    changed = SYSTEMS_CSV.replace(
        "S2,Chat assistant,Ben,Support,low", "S2,Chat assistant,Ben,Support,medium"
    )
    steps: list[tuple[float, str]] = []
    with store.open_db(db) as con:
        plan = ingest.prepare_import(con, "systems", changed.encode(), "s.csv")
        result = ingest.commit_import(
            con, plan, "lead", progress=lambda done, step: steps.append((done, step))
        )
    shares = [done for done, _ in steps]
    assert shares == sorted(shares) and shares[0] > 0 and shares[-1] == 1.0
    assert [step.split()[0] for _, step in steps] == [
        "Parsing",
        "Checking",
        "Comparing",
        "Writing",
        "Committing",
        "Committed",
    ]
    assert steps[3][1] == "Writing in one transaction: 0 inserted, 1 updated, 1 unchanged"
    assert steps[-1][1] == f"Committed as import batch {result.batch_id}"


def test_a_rejected_commit_never_reports_committed(db: Path) -> None:
    from aims_metrics import store
    from aims_metrics.tables import ingest

    steps: list[str] = []
    with store.open_db(db) as con:
        plan = ingest.prepare_import(
            con,
            "incidents",
            b"incident_id,system_id,title,severity,detected_on\nI1,S1,Drift,high,2025-01-05\n",
            "i.csv",
        )
        con.execute(
            "DELETE FROM systems WHERE system_id = 'S1'"
        )  # the data changed after the preview
        with pytest.raises(ingest.ImportRejected):
            ingest.commit_import(con, plan, "lead", progress=lambda done, step: steps.append(step))
        assert con.execute("SELECT count(*) FROM incidents").fetchall() == [(0,)]
    assert steps and not any(step.startswith("Commit") for step in steps)
