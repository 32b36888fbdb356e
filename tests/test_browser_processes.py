"""Several app processes on one database (issue 22, "more than one core"): two `streamlit run`
servers on the same file, as behind a sticky proxy, each with its own snapshot and caches. A write
by the CLI, or through either server, shows on both at their next view."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import known_quarter
from tests.import_helpers import run_cli
from tests.test_browser_app import (  # noqa: F401
    app_server,
    browser,
    card_value,
    rerun,
    settle,
    sign_in,
    upload_incidents,
    visit,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import expect  # noqa: E402


def incidents(path: Path, *ids: str) -> Path:
    q = known_quarter()
    rows = "".join(f"{i},S1,Drift {i},low,{q.start.isoformat()}\n" for i in ids)
    path.write_text("incident_id,system_id,title,severity,detected_on\n" + rows)
    return path


def import_on_the_page(page, base: str, csv: Path) -> None:
    upload_incidents(page, base, csv)
    page.get_by_role("button", name=re.compile(r"Import \d+ rows? into incidents")).click()
    expect(
        page.get_by_test_id("stAlertContentSuccess").get_by_text(f"Imported {csv.name}")
    ).to_be_visible()
    settle(page)


def overview_incidents(page, base: str) -> str:
    visit(page, base, "")
    return card_value(page, "AI incidents")


def test_two_app_processes_on_one_database_follow_every_write(
    app_db_template,
    browser,  # noqa: F811
    tmp_path,
):
    db = tmp_path / "aims.duckdb"
    shutil.copyfile(app_db_template, db)
    with (
        app_server(db, tmp_path / "a.log") as first,
        app_server(db, tmp_path / "b.log") as second,
    ):
        lead = sign_in(browser, first, "governance_lead")
        executive = sign_in(browser, second, "executive")
        assert overview_incidents(lead, first) == overview_incidents(executive, second) == "12"

        # the CLI writes while both servers have read the file: it gets the file and succeeds
        result = run_cli(
            db, "import", "incidents", str(incidents(tmp_path / "cli.csv", "C1", "C2"))
        )
        assert result.returncode == 0, result.stderr
        assert overview_incidents(lead, first) == overview_incidents(executive, second) == "14"

        # a write through the first server shows on the second at its next view
        import_on_the_page(lead, first, incidents(tmp_path / "page.csv", "P1"))
        assert overview_incidents(executive, second) == "15"
        assert overview_incidents(lead, first) == "15"
