"""The demo's people directory and switched-off channel (issue 23): the preview tells a story."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from aims_metrics.demo.people import DEMO_CHANNEL, WITHOUT_EMAIL, demo_people
from aims_metrics.notify.channels import list_channels
from aims_metrics.notify.run import preview_notifications
from aims_metrics.store import open_db
from aims_metrics.tables import ingest
from aims_metrics.tables.export import safe_csv_bytes


def test_the_demo_directory_passes_the_importers_rules(db_path: Path) -> None:
    with open_db(db_path) as con:
        plan, result = ingest.import_file(
            con,
            "people",
            safe_csv_bytes(demo_people()),
            "test",
            file_name="people.csv",
            dry_run=True,
        )
    assert plan.problems == [] and result.counts.inserted == len(demo_people())


def test_the_demo_preview_reaches_people_and_names_three_without_e_mail(demo_db_path: Path) -> None:
    with open_db(demo_db_path) as con:
        channels = list_channels(con)
        preview = preview_notifications(con, date.today())
    assert [(c.name, c.enabled) for c in channels] == [(DEMO_CHANNEL, False)]
    assert preview.unmatched_owners == sorted(WITHOUT_EMAIL)
    assert preview.messages and all(m.channel == DEMO_CHANNEL for m in preview.messages)
    assert all(m.to.endswith("@example.com") for m in preview.messages)
