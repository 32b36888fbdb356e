"""`python -m bench.load`: signed-in sessions on one real `streamlit run` server (issue 22).

Serves `app.py` (of this checkout, or of `--app-root`, to measure an older version with the same
bench) on a private copy of a database (the enterprise data set), on 127.0.0.1 only, and drives
it with Debian's Chromium through Playwright: one browser, one context per session, as people
clicking the sidebar's links. Bounded in sessions (30) and time (30 minutes per run).

1. One session, every page in turn (the baseline of the runs below, measured in the same run):
   a first and a warm view of each page, then, per page, a CLI import of one incident (a data
   change) followed by that page's view. Per view: the server's CPU seconds (utime + stime of
   its process, from /proc), the websocket bytes it sent (frames the page received), and the
   time from the click to a settled page (the server has reported a script run finished and
   the page shows it: no script running, nothing stale, no skeleton).
2. N sessions, signed in first, then browsing with a think time between views (their first
   views spread over one think time, each pause 0.5-1.5 think times: people do not click in
   step), optionally with a CLI import of 50,000 incidents every few seconds and a probe of the
   file lock every 0.1 s (a read-write open attempt from this process): latency percentiles,
   server CPU per view, import outcomes, the share of probes that found the database held.
3. The audit plan and the readiness report PDFs built by the CLI, timed as processes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "bench password 1"
SIDEBAR_LINKS = '[data-testid="stSidebarNav"] a'
MAX_SESSIONS = 30
MAX_SECONDS = 1800
IMPORT_ROWS = 50_000

# Settled: connected, no script running, nothing stale, no status widget or skeleton.
SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && !document.querySelector('[data-stale="true"], [data-testid="stStatusWidget"], '
                               + '[data-testid="stSkeleton"]');
}"""


STATE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const busy = [...document.querySelectorAll('[data-stale="true"], [data-testid="stStatusWidget"], '
                                             + '[data-testid="stSkeleton"]')];
  return `script ${app && app.getAttribute('data-test-script-state')}, connection `
    + `${app && app.getAttribute('data-test-connection-state')}, `
    + `busy ${busy.map(e => e.getAttribute('data-testid') || 'stale').join(',') || 'none'}, `
    + `at ${location.pathname}`;
}"""


_RUN_DONE = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}


def reports_finished_run(payload: str | bytes) -> bool:
    """Whether a websocket frame from the server says a script run has finished (not one cut
    short by a rerun)."""
    if not isinstance(payload, bytes | bytearray):
        return False
    message = ForwardMsg.FromString(bytes(payload))
    return message.WhichOneof("type") == "script_finished" and message.script_finished in _RUN_DONE


@dataclass
class View:
    session: int
    page: str
    seconds: float
    bytes: int
    kind: str  # first, warm, changed (first view after a data change), load (phase 2)
    cpu: float | None = None  # server CPU seconds of this view (phase 1 only: nothing else runs)
    failed: str = ""


@dataclass
class Outcome:
    views: list[View] = field(default_factory=list)
    imports: list[tuple[bool, float, str]] = field(default_factory=list)  # ok, seconds, message
    probes: list[bool] = field(default_factory=list)  # True: the database was held
    cpu_seconds: float | None = None  # phase 2: server CPU from the first view to the last
    browser_cpu_seconds: float | None = None  # phase 2: Chromium's CPU over the same time
    wall_seconds: float | None = None  # phase 2: from the first view to the last
    pages: list[str] = field(default_factory=list)  # the sidebar's url paths ('' = the first page)
    pdfs: dict[str, float] = field(default_factory=dict)  # phase 3: seconds per PDF command
    importing: threading.Event = field(default_factory=threading.Event)  # a CLI import runs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stat_cpu(stat: str) -> float:
    """utime + stime, in seconds, from the text of /proc/PID/stat."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its threads, in seconds."""
    return _stat_cpu(Path(f"/proc/{pid}/stat").read_text())


def browser_cpu_seconds() -> float:
    """CPU seconds used so far by the running Chromium processes (the bench's browser, which
    shares the machine's cores with the server it measures)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended
            continue
        if text[text.index("(") + 1 : text.rindex(")")].startswith("chrom"):
            total += _stat_cpu(text)
    return total


def start_server(app_root: Path, db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "AIMS_DB": str(db)}
    env.pop("AIMS_SESSION_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--server.fileWatcherType", "none"],
        cwd=app_root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")


def add_users(db: Path, count: int) -> list[str]:
    from aims_metrics import auth
    from aims_metrics.store import open_db

    names = [f"bench-{n:02d}" for n in range(count)]
    with open_db(db) as con:
        existing = {r[0] for r in con.execute("SELECT username FROM users").fetchall()}
        for name in names:
            if name not in existing:
                auth.add_user(con, name, auth.Role.ADMIN, PASSWORD, actor="bench")
    return names


def cli(app_root: Path, db: Path, *args: str) -> tuple[bool, float, str]:
    """The product's CLI as a process: (succeeded, seconds, its last line)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "aims_metrics", "--db", str(db), *args],
        cwd=app_root, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    last = (done.stdout.strip() or done.stderr.strip()).splitlines()[-1:] or [""]
    return done.returncode == 0, time.monotonic() - started, last[0]


def incidents_csv(path: Path, rows: int, prefix: str) -> Path:
    with path.open("w") as handle:
        handle.write("incident_id,title,severity,detected_on\n")
        for n in range(rows):
            handle.write(f"{prefix}-{n},load test incident {n},low,2026-0{1 + n % 6}-1{n % 9}\n")
    return path


class Session:
    """One signed-in browser context and the websocket bytes it has received."""

    def __init__(self, page, base: str, timeout_ms: int) -> None:
        self.page, self.base, self.timeout_ms = page, base, timeout_ms
        self.received = 0
        self.runs_finished = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._count))

    def _count(self, payload) -> None:
        """Count the bytes and the script runs the server reports finished (its own message: a
        busy browser may render a whole run in one frame, so the page's state never says
        'running')."""
        self.received += len(payload)
        self.runs_finished += reports_finished_run(payload)

    async def settle(self, runs_before: int) -> None:
        """Wait until a script run has finished since `runs_before` and the page shows it."""
        deadline = time.monotonic() + self.timeout_ms / 1000
        while self.runs_finished <= runs_before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no script run finished within {self.timeout_ms / 1000:.0f} s")
            await asyncio.sleep(0.05)
        remaining_ms = max(1000.0, (deadline - time.monotonic()) * 1000)
        await self.page.wait_for_function(SETTLED, timeout=remaining_ms)

    @classmethod
    async def open(cls, browser, base: str, user: str, timeout_ms: int) -> Session:
        context = await browser.new_context(viewport={"width": 1440, "height": 1000})
        page = await context.new_page()
        page.set_default_timeout(timeout_ms)
        session = cls(page, base, timeout_ms)
        await page.goto(base)
        await page.get_by_role("textbox", name="User name").fill(user)
        await page.get_by_role("textbox", name="Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_text(f"Signed in as {user}").wait_for()
        await page.wait_for_function(SETTLED, timeout=timeout_ms)
        return session

    async def links(self) -> list[str]:
        hrefs = await self.page.eval_on_selector_all(
            SIDEBAR_LINKS, "links => links.map(a => a.getAttribute('href'))"
        )
        return [href.removeprefix(self.base + "/") for href in hrefs]

    async def _state(self, runs_before: int) -> str:
        """What kept a view from settling: the app's state, runs finished since the click, the URL."""
        try:
            state = await self.page.evaluate(STATE)
        except Exception as error:
            state = f"state unavailable: {error}".splitlines()[0]
        return f"{state}, runs finished since the click {self.runs_finished - runs_before}"

    async def view(self, path: str, index: int, kind: str, pid: int | None = None) -> View:
        """Click the sidebar link to `path` and wait until the page has settled."""
        page, runs = self.page, self.runs_finished
        before, cpu_before, started = self.received, pid and cpu_seconds(pid), time.monotonic()
        failed = ""
        try:
            await page.locator(f'{SIDEBAR_LINKS}[href="{self.base}/{path}"]').click()
            await self.settle(runs)
        except Exception as error:  # a timed-out view counts, with its time and the page state
            failed = str(error).splitlines()[0] + f" [{await self._state(runs)}]"
        seconds = time.monotonic() - started
        cpu = cpu_seconds(pid) - cpu_before if pid else None
        return View(index, path or "overview", seconds, self.received - before, kind, cpu, failed)


async def one_session(browser, base, user, app_root, db, pid, timeout_ms, out: Outcome) -> None:
    """Phase 1: every page cold and warm, then every page's first view after a data change."""
    session = await Session.open(browser, base, user, timeout_ms)
    out.pages = await session.links()
    order = out.pages[1:] + out.pages[:1]  # never a click on the page already shown
    for kind in ("first", "warm"):
        for path in order:
            out.views.append(await session.view(path, 0, kind, pid))
    for number, path in enumerate(order):
        csv = incidents_csv(db.parent / "change.csv", 1, f"CHANGE-{number}")
        await asyncio.to_thread(cli, app_root, db, "import", "incidents", str(csv))
        out.views.append(await session.view(path, 0, "changed", pid))


async def many_sessions(
    browser, base, users, server_pid: int, begin, think: float, timeout_ms, out: Outcome
) -> None:
    """Phase 2: every session visits the pages in turn, starting on different pages. People do
    not click in step: the sessions' first views are spread over one think time, and each pause
    is drawn between half and one and a half think times (seeded per session, so runs repeat)."""
    sessions = [await Session.open(browser, base, user, timeout_ms) for user in users]
    paths = out.pages or await sessions[0].links()
    started, until = time.monotonic(), begin()  # the clock starts once everyone is signed in
    server_before, browser_before = cpu_seconds(server_pid), browser_cpu_seconds()

    async def browse(index: int) -> None:
        session, pauses = sessions[index], random.Random(index)
        await asyncio.sleep(max(0.0, started + think * index / len(users) - time.monotonic()))
        step = index + 1  # sessions start on different pages, never the one already shown
        while time.monotonic() < until:
            out.views.append(await session.view(paths[step % len(paths)], index, "load"))
            step += 1
            await asyncio.sleep(think * pauses.uniform(0.5, 1.5))

    await asyncio.gather(*(browse(n) for n in range(len(users))))
    out.cpu_seconds = cpu_seconds(server_pid) - server_before
    out.browser_cpu_seconds = browser_cpu_seconds() - browser_before
    out.wall_seconds = time.monotonic() - started


def repeat_imports(app_root, db, csv, every, until, out: Outcome) -> None:
    while time.monotonic() < until:
        out.importing.set()
        try:
            outcome = cli(app_root, db, "import", "incidents", str(csv))
        finally:
            out.importing.clear()
        out.imports.append(outcome)
        time.sleep(max(0.0, every - outcome[1]))


def probe_lock(db: Path, until: float, out: Outcome) -> None:
    """Is the file held by the app? One read-write open attempt every 0.1 s, while no import
    runs (an import holds the file too, and is not the app)."""
    import duckdb

    while time.monotonic() < until:
        time.sleep(0.1)
        if out.importing.is_set():
            continue
        try:
            duckdb.connect(str(db), config={"enable_external_access": False}).close()
            out.probes.append(False)
        except duckdb.IOException:
            out.probes.append(True)


async def _drive(coroutine_factory) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            await coroutine_factory(browser)
        finally:
            await browser.close()


def run(
    db: Path,
    sessions: int,
    seconds: float = 120,
    think: float = 10,
    import_every: float | None = None,
    timeout_ms: int = 120_000,
    app_root: Path = ROOT,
) -> Outcome:
    """One run on a private copy of `db`: phase 1 when `sessions` is 1, else phase 2."""
    sessions, seconds = max(1, min(sessions, MAX_SESSIONS)), min(seconds, MAX_SECONDS)
    work = Path(tempfile.mkdtemp(prefix="aims-load-"))
    copy = work / "aims.duckdb"
    shutil.copyfile(db, copy)
    users = add_users(copy, sessions)
    process, base = start_server(app_root, copy, work / "streamlit.log")
    out = Outcome()
    try:
        if sessions == 1:
            asyncio.run(
                _drive(
                    lambda browser: one_session(
                        browser, base, users[0], app_root, copy, process.pid, timeout_ms, out
                    )
                )
            )
            return out
        helpers = []
        csv = incidents_csv(work / "incidents.csv", IMPORT_ROWS, "LOAD") if import_every else None

        def begin() -> float:
            """Start the clock, the lock probe and the imports; the end time."""
            until = time.monotonic() + seconds
            helpers.append(threading.Thread(target=probe_lock, args=(copy, until, out)))
            if csv:
                imports = (app_root, copy, csv, import_every, until, out)
                helpers.append(threading.Thread(target=repeat_imports, args=imports))
            for helper in helpers:
                helper.daemon = True
                helper.start()
            return until

        asyncio.run(
            _drive(
                lambda browser: many_sessions(
                    browser, base, users, process.pid, begin, think, timeout_ms, out
                )
            )
        )
        for helper in helpers:
            helper.join(timeout=900)
        return out
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(work, ignore_errors=True)


def time_pdfs(db: Path, app_root: Path = ROOT) -> dict[str, float]:
    """Phase 3: the audit plan and the readiness report built by the CLI (seconds each)."""
    work = Path(tempfile.mkdtemp(prefix="aims-pdfs-"))
    try:
        copy = work / "aims.duckdb"
        shutil.copyfile(db, copy)
        timed = {}
        for name, args in (
            ("audit plan PDF", ("audits", "plan", "--out", str(work / "plan.pdf"))),
            ("readiness report PDF", ("readiness", "--pdf", str(work / "readiness.pdf"))),
        ):
            ok, seconds, last = cli(app_root, copy, *args)
            timed[name] = seconds if ok else float("nan")
            if not ok:
                print(f"{name}: {last}", file=sys.stderr)
        return timed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def page_table(out: Outcome) -> str:
    """Phase 1 per page: seconds to settle, server CPU and megabytes, first / warm / changed."""
    lines = [
        "| page | settle s (first / warm / after a change) | server CPU s (first / warm / after "
        "a change) | MB sent (first / warm / after a change) |",
        "|---|---:|---:|---:|",
    ]
    for page in [p or "overview" for p in out.pages]:
        by_kind = {v.kind: v for v in out.views if v.page == page}
        cells = [
            " / ".join(
                _f(getattr(by_kind[k], attr) / scale if k in by_kind else None, digits)
                for k in ("first", "warm", "changed")
            )
            for attr, scale, digits in (("seconds", 1, 1), ("cpu", 1, 2), ("bytes", 1e6, 2))
        ]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(out: Outcome) -> dict[str, float | None]:
    """The figures of the targets table, from one run's outcome."""
    views = out.views

    def worst(kind: str, attr: str) -> float | None:
        values = [
            getattr(v, attr) for v in views if v.kind == kind and getattr(v, attr) is not None
        ]
        return max(values) if values else None

    load = [v.seconds for v in views if v.kind == "load"]
    ok = [s for good, s, _ in out.imports if good]
    return {
        "cpu_warm_max": worst("warm", "cpu"),
        "changed_settle_max": worst("changed", "seconds"),
        "bytes_max_mb": max((v.bytes for v in views), default=0) / 1e6 if views else None,
        "settle_warm_max": worst("warm", "seconds"),
        "settle_first_max": worst("first", "seconds"),
        "p50": percentile(load, 0.5),
        "p95": percentile(load, 0.95),
        "cpu_per_view": out.cpu_seconds / len(load) if load and out.cpu_seconds else None,
        "server_cores": out.cpu_seconds / out.wall_seconds if out.wall_seconds else None,
        "browser_cores": (out.browser_cpu_seconds / out.wall_seconds if out.wall_seconds else None),
        "imports_ok": float(len(ok)),
        "imports_all": float(len(out.imports)),
        "import_max": max((s for _, s, _ in out.imports), default=None),
        "lock_share": 100 * sum(out.probes) / len(out.probes) if out.probes else None,
        "failed_views": float(sum(1 for v in views if v.failed)),
    }


def report(out: Outcome, sessions: int) -> str:
    failed = [f"- failed: {v.page} ({v.kind}): {v.failed}" for v in out.views if v.failed][:10]
    if sessions == 1:
        return "\n".join(["## 1 session, every page", "", page_table(out), "", *failed])
    s = summary(out)
    lines = [
        f"## {sessions} sessions",
        "",
        f"- views: {len([v for v in out.views if v.kind == 'load'])}, p50 {_f(s['p50'])} s, "
        f"p95 {_f(s['p95'])} s, failed {s['failed_views']:.0f}",
        f"- server CPU per view: {_f(s['cpu_per_view'])} s",
        f"- cores used: the server {_f(s['server_cores'])}, the browser {_f(s['browser_cores'])}",
    ]
    if out.imports:
        lines.append(
            f"- imports of {IMPORT_ROWS:,} rows: {s['imports_ok']:.0f} of {s['imports_all']:.0f} "
            f"succeeded; slowest {_f(s['import_max'], 1)} s"
        )
        lines += [f"  - failed: {m}" for good, _, m in out.imports if not good][:5]
    if out.probes:
        lines.append(
            f"- database held by the app: {_f(s['lock_share'], 1)} % of {len(out.probes)} probes"
        )
    return "\n".join(lines + failed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--db", type=Path, required=True, help="the database to copy and serve")
    parser.add_argument(
        "--sessions",
        type=int,
        nargs="+",
        default=[1, 10],
        help=f"session counts to run one after the other (1 = phase 1; at most {MAX_SESSIONS})",
    )
    parser.add_argument("--seconds", type=float, default=120, help="duration of each run")
    parser.add_argument("--think", type=float, default=10, help="think time between views")
    parser.add_argument(
        "--import-every",
        type=float,
        default=0,
        help=f"seconds between CLI imports of {IMPORT_ROWS:,} incidents (0: none)",
    )
    parser.add_argument("--timeout", type=float, default=120, help="per-view timeout, seconds")
    parser.add_argument("--pdfs", action="store_true", help="also time the two PDF commands")
    parser.add_argument(
        "--app-root", type=Path, default=ROOT, help="the checkout whose app.py is served"
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} is missing: apt-get install chromium")
    for count in args.sessions:
        out = run(
            args.db,
            count,
            args.seconds,
            args.think,
            args.import_every or None,
            int(args.timeout * 1000),
            args.app_root.resolve(),
        )
        print(report(out, count), flush=True)
        print(flush=True)
    if args.pdfs:
        for name, seconds in time_pdfs(args.db, args.app_root.resolve()).items():
            print(f"- {name}: {_f(seconds, 1)} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
