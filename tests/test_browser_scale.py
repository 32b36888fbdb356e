"""Every page in Chromium on a larger-than-demo data set (tests/scale_data.py) as an admin: each
settles without an error and sends at most 250 kB over the websocket per view (issue 22: 1 MB at
enterprise scale).
Screenshots go to tests/artifacts/scale-*.png, and the bytes and seconds of each view to
tests/artifacts/scale-views.json (seconds are recorded, not asserted: the machine may be loaded).

The server and browser follow tests/test_browser_app.py (its helpers are imported): outside CI
the test skips only when Chromium is missing."""

from __future__ import annotations

import csv
import json
import re
import shutil
import time

import pytest

from aims_metrics import auth
from pages import _ui
from tests.scale_data import scaled_enterprise
from tests.test_browser_app import (  # noqa: F401  (browser is a fixture)
    ARTIFACTS,
    TIMEOUT_MS,
    app_server,
    browser,
    settle,
    shoot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Websocket bytes the server may send for one page view. The target is 1 MB at enterprise scale;
# what a page ships no longer grows with the data (tables page, charts count), so on this
# twentieth of it a quarter of that is ample, and the pages before issue 22 fail (the Overview
# sent 0.64 MB here, 6.5 MB at enterprise scale; now 0.06 MB at either).
MOST_BYTES = 250_000
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@pytest.fixture(scope="module")
def scaled_server(tmp_path_factory: pytest.TempPathFactory):
    """`streamlit run app.py` on a copy of the scaled enterprise database (localhost)."""
    db = tmp_path_factory.mktemp("browser-scale") / "aims.duckdb"
    shutil.copyfile(scaled_enterprise(tmp_path_factory), db)
    with app_server(db, tmp_path_factory.mktemp("log") / "streamlit.log") as base:
        yield base


def test_every_page_settles_and_sends_what_a_person_looks_at(scaled_server, browser):  # noqa: F811
    page = sign_in(browser, scaled_server, "admin")
    page.set_viewport_size({"width": 1440, "height": 3600})  # the page scrolls inside: show it
    received = {"bytes": 0}

    def count(payload: str | bytes) -> None:
        received["bytes"] += len(payload.encode() if isinstance(payload, str) else payload)

    page.on("websocket", lambda ws: ws.on("framereceived", count))
    views = {}
    for spec in _ui.available_pages():
        assert auth.can("admin", spec.action)
        received["bytes"] = 0
        started = time.monotonic()
        page.goto(f"{scaled_server}/{'' if spec.default else spec.url_path}")
        settle(page)
        seconds = time.monotonic() - started
        shoot(page, f"scale-{spec.url_path}")
        views[spec.url_path] = {"bytes": received["bytes"], "seconds": round(seconds, 2)}
        assert page.locator(ERRORS).count() == 0, (
            spec.title,
            page.locator(ERRORS).all_inner_texts(),
        )
        assert page.locator("h1").first.inner_text(timeout=TIMEOUT_MS)
    (ARTIFACTS / "scale-views.json").write_text(json.dumps(views, indent=2) + "\n")
    heavy = {path: view["bytes"] for path, view in views.items() if view["bytes"] > MOST_BYTES}
    assert not heavy, heavy
    assert all(view["bytes"] > 0 for view in views.values()), views  # the counter counts
    page.context.close()


def test_a_paged_table_downloads_every_row(scaled_server, browser, tmp_path):  # noqa: F811
    """The CSV under a paged table is built when clicked and holds every row, not the page."""
    page = sign_in(browser, scaled_server, "executive")
    page.goto(f"{scaled_server}/nonconformity-aging")
    settle(page)
    caption = page.get_by_text(re.compile(r"^rows 1–50 of [\d,]+$"))
    total = int(caption.inner_text().rsplit(" ", 1)[1].replace(",", ""))
    assert total > 50
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    target = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(target)
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert target.name.startswith("open-findings-") and len(rows) == total + 1  # header + rows
    page.context.close()
