"""Real exports published by others (../shared/external-data/): imported with a mapping, or rejected
with clear row-level errors and an unchanged database. Expected answers are computed here
independently with the csv module."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from import_helpers import dump_db, new_db, require_external_data, rows, run_cli, run_main

from aims_metrics.vocabulary.wording import count_of

KEV_MAPPING = [
    "--map",
    "cveID=finding_id",
    "--map",
    "dateAdded=raised_on",
    "--map",
    "dueDate=due_on",
    "--map",
    "shortDescription=description",
    "--set",
    "audit_id=CISA-KEV",
    "--set",
    "clause_ref=A.6.2.6",
    "--set",
    "finding_type=minor_nc",
]


@pytest.fixture
def data() -> Path:
    return require_external_data()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return new_db(tmp_path)


def _records(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (spreadsheet row, record) pairs; a record's row counts records, not lines."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        records = [
            (row_number, dict(zip(header, values, strict=False)))
            for row_number, values in enumerate(reader, start=2)
        ]
    return header, records


def test_aiid_incidents_import_and_reimport(data: Path, db: Path) -> None:
    path = data / "aiid" / "incidents.csv"
    _, records = _records(path)
    assert len(records) == 1367
    args = (
        "import",
        "incidents",
        str(path),
        "--map",
        "date=detected_on",
        "--set",
        "severity=medium",
    )
    code, out, err = run_main(db, *args)
    assert (code, out.strip()) == (0, "1,367 inserted, 0 updated, 0 unchanged"), err
    assert err.splitlines()[0] == (
        "warning: ignored columns not in incidents: _id, reports, Alleged deployer of AI system, "
        "Alleged developer of AI system, Alleged harmed or nearly harmed parties, description"
    )
    assert rows(
        db,
        "SELECT count(*), min(detected_on), max(detected_on), count(DISTINCT severity) "
        "FROM incidents",
    ) == [(1367, date(1983, 9, 26), date(2026, 2, 17), 1)]
    first = records[0][1]
    assert rows(
        db,
        "SELECT title, detected_on::VARCHAR FROM incidents WHERE incident_id = ?",
        [first["incident_id"]],
    ) == [(first["title"].strip(), first["date"])]
    code, out, err = run_main(db, *args)
    assert (code, out.strip()) == (0, "0 inserted, 0 updated, 1,367 unchanged"), err


def test_aiaaic_export_is_rejected_on_row_1(data: Path, db: Path) -> None:
    path = data / "aiaaic" / "aiaaic-incidents.csv"
    before = dump_db(db)
    result = run_cli(db, "import", "incidents", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    hint = "(row 1 looks like a title row, not a header: remove the rows above the header)"
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert errors == [
        f"{path}:1: {column}: required column is missing {hint}"
        for column in ("detected_on", "incident_id", "severity", "title")
    ] + ["4 errors: nothing imported"]
    assert dump_db(db) == before


def test_kev_catalog_flags_exactly_due_before_added(data: Path, db: Path, tmp_path: Path) -> None:
    path = data / "kev" / "known_exploited_vulnerabilities.csv"
    header, records = _records(path)
    late = [(row, r) for row, r in records if r["dueDate"] < r["dateAdded"]]
    assert len(late) == 15
    mapped = {"cveID", "dateAdded", "dueDate", "shortDescription"}
    before = dump_db(db)
    code, out, err = run_main(db, "import", "findings", str(path), *KEV_MAPPING)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "warning: ignored columns not in findings: "
        + ", ".join(h for h in header if h not in mapped),
        *(
            f"{path}:{row}: due_on: due_on {r['dueDate']} is before raised_on {r['dateAdded']}"
            for row, r in late
        ),
        "15 errors: nothing imported",
    ]
    assert dump_db(db) == before

    # Nothing else is wrong: without those 15 rows the catalog imports whole.
    late_rows = {row for row, _ in late}
    kept = tmp_path / "kev_without_late_rows.csv"
    with (
        path.open(encoding="utf-8", newline="") as source,
        kept.open("w", encoding="utf-8", newline="") as sink,
    ):
        writer = csv.writer(sink)
        for row_number, values in enumerate(csv.reader(source), start=1):
            if row_number not in late_rows:
                writer.writerow(values)
    code, out, err = run_main(db, "import", "findings", str(kept), *KEV_MAPPING)
    assert (code, out.strip()) == (0, f"{len(records) - 15:,} inserted, 0 updated, 0 unchanged"), (
        err
    )


def test_cset_repeated_headers_cannot_be_mapped(data: Path, db: Path) -> None:
    """Decision: mapping a header that occurs twice (exactly, or differing only by case) is ambiguous,
    so it is a row-1 error naming both columns — never a silent pick of one of them."""
    path = data / "aiid" / "classifications_CSETv1.csv"
    before = dump_db(db)
    code, out, err = run_main(
        db,
        "import",
        "incidents",
        str(path),
        "--map",
        "Incident ID=incident_id",
        "--map",
        "AI System=title",
        "--map",
        "clear link to technology=root_cause",
        "--set",
        "severity=medium",
        "--set",
        "detected_on=2020-01-01",
    )
    assert (code, out) == (1, "")
    assert [line for line in err.splitlines() if not line.startswith("warning: ")] == [
        f"{path}:1: root_cause: columns 'Clear link to technology' and 'Clear link to Technology' "
        "both map to root_cause",
        f"{path}:1: title: columns 'AI System' and 'AI System' both map to title",
        "2 errors: nothing imported",
    ]
    assert dump_db(db) == before


def test_cset_harm_levels_are_not_severities(data: Path, db: Path) -> None:
    """Mapped naively, "AI Harm Level" fails the severity vocabulary on every row that has one and
    is missing where blank; each row is reported with its spreadsheet row number."""
    path = data / "aiid" / "classifications_CSETv1.csv"
    _, records = _records(path)  # dict(zip) keeps the later of two same-named columns; unused here
    expected = []
    for row, record in records:
        title, harm = record["AI System Description"].strip(), record["AI Harm Level"].strip()
        if not title:
            expected.append(f"{path}:{row}: title: required value is missing")
        if not harm:
            expected.append(f"{path}:{row}: severity: required value is missing")
        else:
            expected.append(
                f"{path}:{row}: severity: '{harm[:60]}' is not one of: critical, high, medium, low"
            )
    before = dump_db(db)
    code, out, err = run_main(
        db,
        "import",
        "incidents",
        str(path),
        "--map",
        "Incident ID=incident_id",
        "--map",
        "AI Harm Level=severity",
        "--map",
        "AI System Description=title",
        "--set",
        "detected_on=2020-01-01",
    )
    assert (code, out) == (1, "")
    errors = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert errors == expected + [f"{count_of(len(expected), 'error')}: nothing imported"]
    assert len(expected) >= 214
    assert dump_db(db) == before
