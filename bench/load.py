"""`python -m bench.load`: many signed-in sessions on one real `streamlit run` server (issue 22).

Starts the app on a copy of a database (the enterprise data set by default), signs N Chromium
sessions in (Debian's chromium driven by Playwright; loopback only) and lets each visit the pages
in turn with a think time, for a bounded duration, while a CLI import of a 50k-row file runs every
`--import-every` seconds. Prints, per page and overall:

- server CPU per view: the server process's CPU seconds (utime + stime from /proc) over the views
  completed meanwhile (warm: after every session has seen every page once);
- bytes per view: websocket bytes the server sent for a view (frames received by the page);
- latency: navigation to settled (no running script, no skeleton), p50 and p95;
- imports: how many succeeded, and how long each took;
- lock share: the share of probes (a read-write open of the file from this process, every
  0.1 s) that found the database held.

Bounded in count and time; local addresses only. The numbers are measurements of this machine at
this moment: the README of bench/ quotes them with their baseline (the same run's single session).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class View:
    session: int
    page: str
    seconds: float
    bytes: int
    warm: bool


@dataclass
class Outcome:
    views: list[View] = field(default_factory=list)
    imports: list[tuple[bool, float, str]] = field(default_factory=list)  # ok, seconds, message
    probes: list[bool] = field(default_factory=list)  # True: the database was held
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # phase → server CPU seconds
    measured_views: int = 0  # views completed while the warm CPU was measured
    pages: list[str] = field(default_factory=list)  # the sidebar's url paths ('' = the first page)
    lock = threading.Lock()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_server(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "AIMS_DB": str(db)}
    env.pop("AIMS_SESSION_KEY", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.3)
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")


def _add_users(db: Path, count: int) -> list[str]:
    from aims_metrics import auth
    from aims_metrics.store import open_db

    names = [f"bench-{n:02d}" for n in range(count)]
    with open_db(db) as con:
        existing = {r[0] for r in con.execute("SELECT username FROM users").fetchall()}
        for name in names:
            if name not in existing:
                auth.add_user(con, name, auth.Role.EXECUTIVE, PASSWORD, actor="bench")
    return names


def _settle(page, timeout_ms: int) -> None:
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
        "!document.querySelector('[data-testid=\"stSkeleton\"]') && "
        "document.querySelector('[data-testid=\"stMain\"]') !== null",
        timeout=timeout_ms,
    )


def _session(
    index: int, user: str, base: str, until: float, think: float, out: Outcome, timeout_ms: int
) -> None:
    from playwright.sync_api import sync_playwright

    received = [0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        page.set_default_timeout(timeout_ms)
        page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload))
            ),
        )
        page.goto(base)
        page.get_by_role("textbox", name="User name").fill(user)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text(f"Signed in as {user}").wait_for()
        _settle(page, timeout_ms)
        pages = page.eval_on_selector_all(
            SIDEBAR_LINKS, "links => links.map(a => a.getAttribute('href'))"
        )
        with out.lock:
            out.pages = out.pages or [href.removeprefix(base + "/") for href in pages]
        seen: set[str] = set()
        step = index  # sessions start on different pages
        while time.monotonic() < until:
            href = pages[step % len(pages)]
            path = href.removeprefix(base + "/")
            step += 1
            before, started = received[0], time.monotonic()
            try:  # as a person does: a link of the sidebar, in the same session
                page.locator(f'{SIDEBAR_LINKS}[href="{href}"]').click()
                page.wait_for_url(href)
                page.wait_for_timeout(200)  # the rerun starts after navigation
                _settle(page, timeout_ms)
            except Exception as error:  # a timed-out view counts, with its time
                print(
                    f"session {index}: {path or 'overview'}: {error}".splitlines()[0],
                    file=sys.stderr,
                )
            view = View(
                index,
                path or "overview",
                time.monotonic() - started,
                received[0] - before,
                path in seen,
            )
            seen.add(path)
            with out.lock:
                out.views.append(view)
            time.sleep(think)
        browser.close()


def _imports(db: Path, csv: Path, every: float, until: float, out: Outcome) -> None:
    while time.monotonic() < until:
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "aims_metrics",
                "--db",
                str(db),
                "import",
                "incidents",
                str(csv),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        seconds = time.monotonic() - started
        message = (done.stdout or done.stderr).strip().splitlines()[-1:] or [""]
        with out.lock:
            out.imports.append((done.returncode == 0, seconds, message[0]))
        time.sleep(max(0.0, every - seconds))


def _probe(db: Path, until: float, out: Outcome) -> None:
    """Is the file held by another process? One read-write open attempt every 0.1 s."""
    import duckdb

    while time.monotonic() < until:
        try:
            duckdb.connect(str(db), config={"enable_external_access": False}).close()
            held = False
        except duckdb.IOException:
            held = True
        with out.lock:
            out.probes.append(held)
        time.sleep(0.1)


def _incidents_csv(path: Path, rows: int) -> Path:
    with path.open("w") as handle:
        handle.write("incident_id,title,severity,detected_on\n")
        for n in range(rows):
            handle.write(f"LOAD-{n},load test incident {n},low,2026-0{1 + n % 6}-1{n % 9}\n")
    return path


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(out: Outcome, sessions: int) -> str:
    lines = [
        f"## {sessions} session(s)",
        "",
        "| page | views | warm p50 s | warm p95 s | bytes/view (first) | bytes/view (warm) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for page in [p or "overview" for p in out.pages]:
        views = [v for v in out.views if v.page == page]
        warm = [v for v in views if v.warm]
        first = [v.bytes for v in views if not v.warm]
        lines.append(
            f"| {page} | {len(views)} | {_f(percentile([v.seconds for v in warm], 0.5))} "
            f"| {_f(percentile([v.seconds for v in warm], 0.95))} "
            f"| {_f(statistics.mean(first) / 1e6 if first else None, 2)} MB "
            f"| {_f(statistics.mean([v.bytes for v in warm]) / 1e6 if warm else None, 2)} MB |"
        )
    warm = [v for v in out.views if v.warm]
    cpu, measured = out.cpu_seconds.get("warm"), out.measured_views
    lines += [
        "",
        f"- views: {len(out.views)} ({len(warm)} warm); p95 of every warm view: "
        f"{_f(percentile([v.seconds for v in warm], 0.95))} s",
        f"- server CPU per view after warm-up: {_f(cpu / measured if cpu and measured else None)} s "
        f"({measured} views)",
    ]
    if out.imports:
        ok = [s for good, s, _ in out.imports if good]
        lines.append(
            f"- imports: {len(ok)} of {len(out.imports)} succeeded; slowest "
            f"{_f(max(s for _, s, _ in out.imports))} s"
        )
        lines += [f"  - failed: {m}" for good, _, m in out.imports if not good][:5]
    if out.probes:
        lines.append(
            f"- database held by the app: {100 * sum(out.probes) / len(out.probes):.0f} % "
            f"of {len(out.probes)} probes"
        )
    return "\n".join(lines)


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def run(
    db: Path,
    sessions: int,
    seconds: float,
    think: float,
    import_every: float | None,
    timeout_ms: int,
) -> Outcome:
    """One load run on a private copy of `db`; the outcome of every view, import and probe."""
    sessions, seconds = min(sessions, MAX_SESSIONS), min(seconds, MAX_SECONDS)
    work = Path(tempfile.mkdtemp(prefix="aims-load-"))
    copy = work / "aims.duckdb"
    shutil.copyfile(db, copy)
    users = _add_users(copy, sessions)
    process, base = _start_server(copy, work / "streamlit.log")
    out = Outcome()
    try:
        until = time.monotonic() + seconds
        threads = [
            threading.Thread(
                target=_session,
                args=(n, users[n], base, until, think, out, timeout_ms),
                daemon=True,
            )
            for n in range(sessions)
        ]
        for thread in threads:
            thread.start()
        # warm once every session has seen each page once (about len(PAGES) views each)
        while time.monotonic() < until and (
            not out.pages or len(out.views) < sessions * len(out.pages)
        ):
            time.sleep(0.5)
        cpu_start, start = _cpu_seconds(process.pid), len(out.views)
        helpers = [threading.Thread(target=_probe, args=(copy, until, out), daemon=True)]
        if import_every:
            csv = _incidents_csv(work / "incidents.csv", 50_000)
            helpers.append(
                threading.Thread(
                    target=_imports, args=(copy, csv, import_every, until, out), daemon=True
                )
            )
        for helper in helpers:
            helper.start()
        for thread in threads + helpers:
            thread.join(timeout=max(1.0, until - time.monotonic()) + timeout_ms / 1000 + 60)
        out.cpu_seconds["warm"] = _cpu_seconds(process.pid) - cpu_start
        out.measured_views = len(out.views) - start
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(work, ignore_errors=True)
    return out


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
        help=f"session counts to run one after the other (at most {MAX_SESSIONS})",
    )
    parser.add_argument("--seconds", type=float, default=120, help="duration of each run")
    parser.add_argument("--think", type=float, default=10, help="think time between views")
    parser.add_argument(
        "--import-every",
        type=float,
        default=10,
        help="seconds between CLI imports of 50k incidents (0: none)",
    )
    parser.add_argument("--timeout", type=float, default=120, help="per-view timeout, seconds")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} is missing: apt-get install chromium")
    for count in args.sessions:
        out = run(
            args.db,
            count,
            args.seconds,
            args.think,
            args.import_every if count > 1 else None,
            int(args.timeout * 1000),
        )
        print(report(out, count), flush=True)
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
