"""Data completeness (issue 23): known answers for data_through, provisional and stale, and the
`kpis --format json` fields."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from import_helpers import new_db, run_main, write

from aims_metrics.metrics.completeness import PROVISIONAL_MARK, Completeness, figure_completeness
from aims_metrics.metrics.periods import Quarter
from aims_metrics.store import open_db

Q3 = Quarter(2026, 3)  # 2026-07-01 .. 2026-09-30
TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("tables", "imports", "expected"),
    [
        (["incidents"], {}, Completeness(None, False, False)),  # never imported: unknown
        (
            ["incidents"],
            {"incidents": date(2026, 10, 2)},
            Completeness(date(2026, 10, 2), False, False),
        ),
        (
            ["incidents"],
            {"incidents": date(2026, 8, 15)},
            Completeness(  # 114 days old: stale too
                date(2026, 8, 15),
                True,
                True,
                ("incidents imported 2026-08-15, before the quarter end",),
            ),
        ),
        (
            ["incidents"],
            {"incidents": date(2026, 9, 30)},
            Completeness(  # the last day is not after it
                date(2026, 9, 30),
                True,
                False,
                ("incidents imported 2026-09-30, before the quarter end",),
            ),
        ),
        # the earliest latest-import of the sources; only the late source makes it provisional
        (
            ["incidents", "systems"],
            {"incidents": date(2026, 11, 1), "systems": date(2026, 9, 1)},
            Completeness(
                date(2026, 9, 1),
                True,
                False,
                ("systems imported 2026-09-01, before the quarter end",),
            ),
        ),
        # stale: more than 100 days before today (2026-12-07 - 100 days = 2026-08-29)
        (
            ["incidents"],
            {"incidents": date(2026, 8, 28)},
            Completeness(
                date(2026, 8, 28),
                True,
                True,
                ("incidents imported 2026-08-28, before the quarter end",),
            ),
        ),
        (
            ["incidents"],
            {"incidents": date(2026, 8, 29)},
            Completeness(
                date(2026, 8, 29),
                True,
                False,
                ("incidents imported 2026-08-29, before the quarter end",),
            ),
        ),
        (["incidents"], {"systems": date(2026, 1, 1)}, Completeness(None, False, False)),
    ],
)
def test_known_answers(tables, imports, expected) -> None:
    assert figure_completeness(tables, imports, Q3, TODAY, 100) == expected


def test_the_mark_is_a_word_and_a_symbol() -> None:
    assert Completeness(date(2026, 1, 1), True, True).mark == f"{PROVISIONAL_MARK} ⌛ stale"
    assert Completeness(date(2026, 1, 1), False, False).mark == ""


def test_kpis_json_carries_data_through_and_provisional(tmp_path: Path) -> None:
    db = new_db(tmp_path)  # systems imported today (after 2026Q3): complete
    with open_db(db) as con:
        con.execute(
            "INSERT INTO import_batches (table_name, file_name, sha256, row_count, inserted, updated, "
            "unchanged, username, imported_at) VALUES ('incidents', 'i.csv', 'x', 0, 0, 0, 0, 't', ?)",
            [datetime(2026, 8, 15, 10)],
        )
    code, out, err = run_main(db, "kpis", "--quarter", "2026Q3", "--format", "json")
    assert code == 0, err
    metrics = {m["name"]: m for m in json.loads(out)["metrics"]}
    assert (
        metrics["incidents_total"]["data_through"],
        metrics["incidents_total"]["provisional"],
    ) == ("2026-08-15", True)
    systems_only = metrics["high_risk_systems_assessed"]  # reads systems and assessments
    assert systems_only["provisional"] is False and systems_only["data_through"] is not None
    assert metrics["assessments_completed"]["data_through"] is None  # assessments never imported
    code, out, _ = run_main(db, "kpis", "--quarter", "2025Q3", "--format", "json")
    assert json.loads(out)["metrics"][0]["provisional"] is False  # imported after that quarter


def test_each_kpi_knows_its_sources_newest_record_date(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    csv = write(
        tmp_path / "i.csv",
        "incident_id,title,severity,detected_on\nI1,a,low,2026-07-02\nI2,b,low,2026-08-20\n",
    )
    assert run_main(db, "import", "incidents", str(csv))[0] == 0
    code, out, err = run_main(db, "kpis", "--quarter", "2026Q3", "--format", "json")
    assert code == 0, err
    metrics = {m["name"]: m for m in json.loads(out)["metrics"]}
    assert metrics["incidents_total"]["newest_record"] == "2026-08-20"  # the newest detected_on
    assert metrics["assessments_completed"]["newest_record"] is None  # no assessments at all


def test_a_figures_newest_record_is_the_earliest_of_its_sources() -> None:
    found = figure_completeness(
        ["findings", "incidents"],
        {},
        Q3,
        TODAY,
        100,
        {"incidents": date(2026, 9, 1), "findings": date(2026, 6, 3)},
    )
    assert found.newest_record == date(2026, 6, 3)


# --- where provisional figures show: the minutes, finalising, the Overview ---------------------

Q3_2025 = Quarter(2025, 3)


def import_incidents_on(con, day: datetime) -> None:
    con.execute(
        "INSERT INTO import_batches (table_name, file_name, sha256, row_count, inserted, updated, "
        "unchanged, username, imported_at) VALUES ('incidents', 'i.csv', 'x', 0, 0, 0, 0, 't', ?)",
        [day],
    )


def test_finalising_with_provisional_kpis_needs_and_records_confirmation(con) -> None:
    import io

    import pypdf

    from aims_metrics.review import finalise, records
    from tests.test_review import complete_record

    import_incidents_on(con, datetime(2025, 9, 15, 8))
    records.save_review(con, complete_record(Q3_2025), "gl")
    with pytest.raises(finalise.ProvisionalFigures, match=r"4 KPIs of 2025Q3 are provisional"):
        finalise.finalise_review(con, Q3_2025, "gl")
    assert records.get_review(con, Q3_2025).status == "draft"
    finalise.finalise_review(con, Q3_2025, "gl", confirm_provisional=True)
    (detail,) = con.execute(
        "SELECT detail FROM audit_log WHERE action = 'review.finalise'"
    ).fetchall()[0]
    assert "incidents_total" in json.loads(detail)["provisional_confirmed"]
    pdf = records.archived_minutes(con, Q3_2025).pdf
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert (
        "provisional — incidents_total@1: incidents imported 2025-09-15, before the quarter end"
        in text
    )


def test_a_complete_quarter_finalises_without_confirmation(con) -> None:
    from aims_metrics.review import finalise, records
    from tests.test_review import complete_record

    import_incidents_on(con, datetime(2025, 10, 2, 8))
    records.save_review(con, complete_record(Q3_2025), "gl")
    assert finalise.finalise_review(con, Q3_2025, "gl")
