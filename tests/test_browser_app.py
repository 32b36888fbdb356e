"""End to end: Debian's Chromium (Playwright) against `streamlit run app.py` on a temporary database.

Screenshots of every page go to tests/artifacts/ (git-ignored). Outside CI the test skips when
Chromium is missing; in CI (CI=true) it never skips.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aims_metrics.store import open_db
from bench.load import SETTLED, reports_finished_run
from pages import _ui
from tests.conftest import APP_PASSWORD, app_usernames, known_quarter

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
USERS = app_usernames()
# Generous: on a loaded machine (load ~10) a rerun over the demo data takes many seconds. Tests
# wait for conditions, never for a fixed time; the timeout only bounds a wait that never ends.
TIMEOUT_MS = 120_000

# The height of the page's content (Streamlit's main container scrolls inside the viewport).
MAIN_HEIGHT = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return Math.max(1000, main ? main.scrollHeight : 0);
}"""
# Every plotly chart has drawn its SVG.
CHARTS_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .every((chart) => chart.querySelector('.main-svg'))"""

if not Path(CHROMIUM).exists() and os.environ.get("CI") != "true":
    pytest.skip(f"{CHROMIUM} is not installed (outside CI)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

expect.set_options(timeout=TIMEOUT_MS)  # every expect waits as long as a loaded machine needs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(base: str, process: subprocess.Popen, log_path: Path) -> None:
    """Poll Streamlit's health endpoint until it answers (or the process ends, or 90 s pass)."""
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the app did not start on {base}: {log_path.read_text()[-2000:]}")
        time.sleep(0.3)  # polling a server that is starting, not synchronising a test


@contextmanager
def app_server(db: Path, log_path: Path, session_key: str | None = None) -> Iterator[str]:
    """`streamlit run app.py` on `db` (localhost, a free port) until the block ends; its URL.
    Without `session_key` the server signs cookies with a key of its own."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "AIMS_SESSION_KEY"}
    env["AIMS_DB"] = str(db)
    if session_key is not None:
        env["AIMS_SESSION_KEY"] = session_key
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "localhost", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://localhost:{port}"
    try:
        wait_for_health(base, process, log_path)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def server(app_db_template: Path, tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("browser") / "aims.duckdb"
    shutil.copyfile(app_db_template, db)
    with app_server(db, tmp_path_factory.mktemp("log") / "streamlit.log") as base:
        yield base, db


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield instance
        instance.close()


def settle(page: Page) -> None:
    """Wait until Streamlit is idle: connected, no script running, no stale element left."""
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)


_RUNS_FINISHED: weakref.WeakKeyDictionary[Page, int] = weakref.WeakKeyDictionary()


def count_runs(page: Page) -> Page:
    """Count the script runs the server reports finished to `page` (a busy browser may render a
    whole run in one frame, so the page's own state cannot be relied on to show it running)."""
    _RUNS_FINISHED[page] = 0

    def count(payload) -> None:
        _RUNS_FINISHED[page] += reports_finished_run(payload)

    page.on("websocket", lambda ws: ws.on("framereceived", count))
    return page


def rerun(page: Page, action) -> None:
    """Do `action` (a click, a key press…) and wait for the script run it starts to finish."""
    before = _RUNS_FINISHED[page]
    action()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while _RUNS_FINISHED[page] <= before:  # frames are counted while Playwright waits
        if time.monotonic() > deadline:
            pytest.fail(f"no script run finished after {getattr(action, '__name__', action)}")
        page.wait_for_timeout(50)
    settle(page)


def choose_quarter(page: Page, label: str) -> None:
    """Pick `label` in the sidebar's Quarter box and wait for the run it starts."""
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has_text="Quarter"
    ).click()
    rerun(page, page.get_by_role("option", name=label, exact=True).click)
    expect(
        page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Quarter")
    ).to_have_value(label)


def upload_incidents(page: Page, base: str, csv: Path) -> None:
    """On Data import, choose the incidents table and upload `csv` (its preview follows)."""
    visit(page, base, "data-import")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Table").click()
    rerun(page, page.get_by_role("option", name="AI incidents (incidents)").click)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile("Browse files|Upload")).click()
    rerun(page, lambda: chooser.value.set_files(str(csv)))


def new_page(browser, **options) -> Page:
    """A page in a new browser context that counts Streamlit's script runs."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return count_runs(context.new_page())


def sign_in(browser, base: str, role: str) -> Page:
    page = new_page(browser)
    page.goto(base)
    page.get_by_role("textbox", name="User name").fill(USERS[role])
    page.get_by_role("textbox", name="Password").fill(APP_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {USERS[role]}")).to_be_visible()
    settle(page)
    return page


def visit(page: Page, base: str, url_path: str) -> None:
    page.goto(f"{base}/{url_path}")
    settle(page)


def shoot(page: Page, name: str) -> None:
    settle(page)
    page.wait_for_function(CHARTS_DRAWN, timeout=TIMEOUT_MS)
    page.evaluate("document.fonts.ready.then(() => true)")
    # Streamlit scrolls inside its main container, so a full-page shot of a 1,000 px viewport
    # stops at the fold: grow the viewport to the content's height for the shot (bounded).
    viewport = page.viewport_size
    content = page.evaluate(MAIN_HEIGHT)
    page.set_viewport_size({"width": viewport["width"], "height": min(12_000, content + 80)})
    settle(page)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(viewport)


def card_value(page: Page, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has_text=re.compile(f"^{label}"))
    return card.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


def card_status(page: Page, name: str) -> str:
    return page.locator(f".st-key-kpi_card_{name} .aims-status").inner_text().strip()


@pytest.mark.parametrize("role", list(USERS))
def test_each_role_sees_its_pages_and_only_those(server, browser, role):
    base, _ = server
    page = sign_in(browser, base, role)
    from aims_metrics import auth

    nav = page.locator('[data-testid="stSidebarNav"]')
    for spec in _ui.available_pages():
        allowed = auth.can(role, spec.action)
        link = nav.get_by_role("link", name=spec.title, exact=True)
        expect(link).to_have_count(1 if allowed else 0)
        if allowed:  # as people do, by the sidebar link; a forbidden page only by its URL
            rerun(page, link.click)
        else:
            visit(page, base, spec.url_path)
        expect(page.get_by_text("Page not found")).to_have_count(0)
        if allowed:
            expect(page.locator("h1").first).to_contain_text(spec.title.split()[0])
            expect(page.get_by_text("not permitted")).to_have_count(0)
        else:
            expect(page.get_by_text(f"{spec.title}: you are not permitted")).to_be_visible()
            expect(page.locator("h1")).to_have_count(0)
        shoot(page, f"{role}-{spec.url_path}")
    page.context.close()


def test_kpi_card_titles_are_shown_whole(server, browser):
    """Long KPI titles wrap instead of being cut mid-word ("Mean days to resolve a…")."""
    base, _ = server
    page = sign_in(browser, base, "executive")
    labels = page.locator('[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"]')
    expect(labels.first).to_be_visible()
    assert labels.count() >= 10
    for index in range(labels.count()):
        label = labels.nth(index)
        cut = label.evaluate(
            "e => [e, ...e.querySelectorAll('*')].some(n => n.scrollWidth > n.clientWidth + 1"
            " || getComputedStyle(n).textOverflow === 'ellipsis')"
        )
        assert not cut, label.inner_text()
    expect(page.get_by_text("Mean days to resolve an incident", exact=True)).to_be_visible()
    page.context.close()


def test_executive_cannot_reach_the_import_page_by_url(server, browser):
    base, _ = server
    page = sign_in(browser, base, "executive")
    visit(page, base, "data-import")
    expect(page.get_by_text("Data import: you are not permitted")).to_be_visible()
    expect(page.locator('[data-testid="stFileUploader"]')).to_have_count(0)
    shoot(page, "executive-data-import-refused")
    page.context.close()


def test_governance_lead_uploads_a_csv_and_the_overview_changes(server, browser, tmp_path):
    base, db = server
    q = known_quarter()
    page = sign_in(browser, base, "governance_lead")
    before = card_value(page, "AI incidents")
    csv = tmp_path / "more-incidents.csv"
    csv.write_text(
        "incident_id,system_id,title,severity,detected_on\n"
        f"N1,S1,New drift,low,{q.start.isoformat()}\n"
        f"N2,S2,New leak,medium,{q.end.isoformat()}\n"
    )
    upload_incidents(page, base, csv)
    expect(page.get_by_text("Importing would insert 2, update 0")).to_be_visible()
    shoot(page, "governance_lead-import-preview")
    page.get_by_role("button", name="Import 2 rows into incidents").click()
    expect(
        page.get_by_test_id("stAlertContentSuccess").get_by_text(
            "Imported more-incidents.csv: 2 inserted"
        )
    ).to_be_visible()
    settle(page)
    shoot(page, "governance_lead-import-done")
    visit(page, base, "")
    after = card_value(page, "AI incidents")
    assert (before, after) == ("12", "14")
    page.context.close()


def test_analyst_changes_a_threshold_and_the_status_changes(server, browser):
    base, _ = server
    page = sign_in(browser, base, "analyst")
    status_before = card_status(page, "high_severity_incidents")
    visit(page, base, "metric-definitions")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Metric to edit").click()
    rerun(page, page.get_by_role("option", name=re.compile(r"^High-severity AI incidents")).click)
    limit = page.get_by_role("spinbutton", name="Green limit")
    limit.fill("1")
    rerun(page, lambda: limit.press("Enter"))
    reason = page.get_by_role("textbox", name="Reason for the change")
    reason.fill("one high incident is tolerable")
    rerun(page, lambda: reason.press("Enter"))
    shoot(page, "analyst-metric-edit")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_text(re.compile(r"Saved high_severity_incidents@\d+"))).to_be_visible()
    visit(page, base, "")
    assert (status_before, card_status(page, "high_severity_incidents")) == ("▲ Amber", "● Green")
    shoot(page, "analyst-overview-after-edit")
    page.context.close()


def test_signing_out_ends_the_session_cookie(server, browser):
    base, db = server
    page = sign_in(browser, base, "admin")
    page.wait_for_function(f"document.cookie.includes('{_ui.COOKIE_NAME}=')")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == _ui.COOKIE_NAME)
    token_sha256 = hashlib.sha256(cookie.split(".")[0].encode("ascii")).hexdigest()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("textbox", name="User name")).to_be_visible()
    page.wait_for_function(f"!document.cookie.includes('{_ui.COOKIE_NAME}=')")
    assert _ui.COOKIE_NAME not in {c["name"] for c in page.context.cookies()}
    page.goto(base)  # a new session: nobody is signed in
    expect(page.get_by_role("textbox", name="User name")).to_be_visible()
    with open_db(db) as con:
        revoked = con.execute(
            "SELECT revoked_at IS NOT NULL FROM user_sessions WHERE token_sha256 = ?",
            [token_sha256],
        ).fetchall()
    assert revoked == [(True,)]
    page.context.close()


def test_nothing_is_fetched_from_the_internet(server, browser):
    """Offline use (issue 24, item 13): the page icon and everything else come from the app."""
    from urllib.parse import urlparse

    base, _ = server
    outside: list[str] = []
    page = new_page(browser)
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if urlparse(request.url).scheme in ("http", "https", "ws", "wss")
            and urlparse(request.url).hostname not in ("localhost", "127.0.0.1")
            else None
        ),
    )
    page.goto(base)
    settle(page)
    page.get_by_role("textbox", name="User name").fill(USERS["executive"])
    page.get_by_role("textbox", name="Password").fill(APP_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {USERS['executive']}")).to_be_visible()
    settle(page)
    icon = page.locator('link[rel="icon"], link[rel="shortcut icon"]').first
    assert urlparse(icon.get_attribute("href") or base).hostname in (None, "localhost")
    assert outside == []
    page.context.close()
