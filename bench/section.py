"""One bench section in its own process: `python -m bench.section NAME --db PATH --out FILE`.

Each section first measures the project alone (cold, then warm) and takes the process's peak
memory right after, so the figure is the project's own; only then does it load its baselines and
time project and baseline alternately (the order flips every round), reporting medians. Values the
project and a baseline both compute are cross-checked; a disagreement raises (exit 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bench.common import (
    DATA,
    ROOT,
    ROUNDS,
    Row,
    absolute_row,
    log,
    median,
    peak_mb,
    private_copy,
    ratio_row,
    timed,
)
from bench.fairness import section_fairness


class Mismatch(AssertionError):
    """The project and a baseline disagree on a figure."""


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))


def _quarters(manifest: dict):
    from aims_metrics.metrics.periods import parse_quarter, quarters_ending

    return quarters_ending(parse_quarter(manifest["end_quarter"]), 8)


def _runner(fn: Callable[[], object]) -> Callable[[], float]:
    return lambda: timed(fn)[0]


def alternate(
    runners: dict[str, Callable[[], float]], rounds: int = ROUNDS, warm_up: int = 0
) -> dict[str, list[float]]:
    """Each runner returns the seconds of its timed part (set-up excluded); interleaved, the
    order flipping every round, after `warm_up` untimed rounds of every runner."""
    names = list(runners)
    for _ in range(warm_up):
        for name in names:
            runners[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else list(reversed(names)):
            seconds[name].append(runners[name]())
    return seconds


# --- 1. the KPI catalog ----------------------------------------------------------------------

# A round of the catalog takes ~0.45 s. One engine call takes 28-41 ms from round to round (the
# pandas baseline 320-360 ms), so the median of 9 rounds still moved the ratio 8.5x-11.2x between
# runs of the same code: five times the rounds, after one untimed round of every runner (the
# first pandas run takes ~420 ms, the first engine runs after the frames load ~40 ms).
CATALOG_ROUNDS = 5 * ROUNDS


def check_catalog(results, quarters, every, pandas_values, sql_values) -> int:
    """Engine value and previous_value for every metric and quarter against both baselines."""
    from bench.baselines_pandas import METRICS

    problems, checked = [], 0
    for name in METRICS:
        if name not in results:
            problems.append(f"{name}: not in the engine's catalog")
            continue
        for result, quarter in zip(results[name], quarters, strict=True):
            for engine_value, q in (
                (result.value, quarter),
                (result.previous_value, quarter.previous()),
            ):
                i = every.index(q)
                p, s = pandas_values[name][i], sql_values[name][i]
                checked += 1
                if not (_same(engine_value, p) and _same(engine_value, s)):
                    problems.append(
                        f"{name} {q.label}: engine {engine_value!r}, pandas {p!r}, sql {s!r}"
                    )
    if problems:
        raise Mismatch("catalog values disagree:\n  " + "\n  ".join(problems))
    return checked


def section_catalog(db: Path, manifest: dict) -> list[Row]:
    from aims_metrics.metrics import evaluate
    from aims_metrics.store import open_db
    from bench import baselines_pandas, baselines_sql

    quarters = _quarters(manifest)
    every = sorted(set(quarters) | {q.previous() for q in quarters})
    with open_db(db) as con:
        cold, results = timed(lambda: evaluate.catalog_series(con, quarters))
        alone = [timed(lambda: evaluate.catalog_series(con, quarters))[0] for _ in range(ROUNDS)]
        peak = peak_mb()
        frames = baselines_pandas.load_frames(con)  # outside the timed region
        runs = alternate(
            {
                "engine": _runner(lambda: evaluate.catalog_series(con, quarters)),
                "sql": _runner(lambda: baselines_sql.catalog(con, every)),
                "pandas": _runner(lambda: baselines_pandas.catalog(frames, every)),
            },
            CATALOG_ROUNDS,
            warm_up=1,
        )
        checked = check_catalog(
            results,
            quarters,
            every,
            baselines_pandas.catalog(frames, every),
            baselines_sql.catalog(con, every),
        )
    what = f"KPI catalog, {len(results)} metrics x 8 quarters (+ previous)"
    note = f"cold {cold:.2f} s; {checked} values cross-checked"
    return [
        absolute_row("catalog", what + ", warm", runs["engine"], 1.0, peak, note, alone_runs=alone),
        ratio_row("catalog", what, runs["engine"], "pandas", runs["pandas"], 0.2, peak),
        ratio_row("catalog", what, runs["engine"], "hand SQL", runs["sql"], 2.0, peak),
    ]


# --- 2. import -------------------------------------------------------------------------------


def _export_csvs(db: Path, manifest: dict) -> tuple[Path, Path, int]:
    """bias_tests and systems of the data set as CSV files (plain DuckDB; cached per manifest)."""
    import duckdb

    tag = f"{manifest['scale']}-{manifest['generator']}-{manifest['end_quarter']}"
    bias, systems = DATA / f"bias_tests-{tag}.csv", DATA / f"systems-{tag}.csv"
    con = duckdb.connect(str(db), read_only=True)
    try:
        for path, table, key in (
            (bias, "bias_tests", "test_id"),
            (systems, "systems", "system_id"),
        ):
            if not path.exists():
                tmp = path.with_suffix(".tmp")
                con.execute(f"COPY (SELECT * FROM {table} ORDER BY {key}) TO '{tmp}' (HEADER)")
                tmp.rename(path)
        (rows,) = con.execute("SELECT count(*) FROM bias_tests").fetchall()[0]
    finally:
        con.close()
    return bias, systems, rows


def section_import(db: Path, manifest: dict) -> list[Row]:
    import duckdb

    from aims_metrics.store import open_db
    from aims_metrics.tables.ingest import import_file

    bias_csv, systems_csv, rows = _export_csvs(db, manifest)
    work = DATA / "work"
    work.mkdir(parents=True, exist_ok=True)
    template = work / "import-template.duckdb"
    for suffix in ("", ".wal"):
        Path(f"{template}{suffix}").unlink(missing_ok=True)
    with open_db(template) as con:
        import_file(con, "systems", systems_csv, "bench")
        con.execute("CHECKPOINT")

    def project() -> float:
        target = work / "import-run.duckdb"
        for suffix in ("", ".wal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, target)
        with open_db(target) as con:
            elapsed, (_, result) = timed(lambda: import_file(con, "bias_tests", bias_csv, "bench"))
        if result.counts.inserted != rows:
            raise Mismatch(f"import inserted {result.counts.inserted} rows, expected {rows}")
        return elapsed

    def baseline() -> float:
        target = work / "import-bare.duckdb"
        for suffix in ("", ".wal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        con = duckdb.connect(str(target))
        try:
            elapsed, _ = timed(
                lambda: con.execute(
                    f"CREATE TABLE t AS SELECT * FROM read_csv('{bias_csv}')"
                ).fetchall()
            )
            (count,) = con.execute("SELECT count(*) FROM t").fetchall()[0]
        finally:
            con.close()
        if count != rows:
            raise Mismatch(f"read_csv loaded {count} rows, expected {rows}")
        return elapsed

    cold = project()
    peak = peak_mb()
    runs = alternate({"import": project, "read_csv": baseline})
    rate = rows / median(runs["import"])
    return [
        ratio_row(
            "import",
            f"{rows:,}-row bias_tests CSV, full validation, into a fresh DB",
            runs["import"],
            "bare read_csv",
            runs["read_csv"],
            3.0,
            peak,
            f"cold {cold:.2f} s; {rate:,.0f} rows/s",
            rows_per_s=rate,
        )
    ]


# --- 3. aging and objectives -----------------------------------------------------------------


def section_aging(db: Path, manifest: dict) -> list[Row]:
    from aims_metrics.performance.aging import aging_report
    from aims_metrics.store import open_db
    from bench import baselines_sql

    as_of: date = _quarters(manifest)[-1].end
    with open_db(db) as con:
        cold, report = timed(lambda: aging_report(con, as_of))
        alone = [timed(lambda: aging_report(con, as_of))[0] for _ in range(ROUNDS)]
        peak = peak_mb()
        runs = alternate(
            {
                "aging": _runner(lambda: aging_report(con, as_of)),
                "sql": _runner(lambda: baselines_sql.aging(con, as_of)),
            }
        )
        expected = baselines_sql.aging(con, as_of)
    got = report.model_dump(mode="json")
    got = {k: got[k] for k in ("as_of", "open_total", "overdue", "buckets")}
    if got != expected:
        raise Mismatch(f"aging disagrees:\n  project {got}\n  hand SQL {expected}")
    return [
        ratio_row(
            "aging",
            f"NC aging as of {as_of}",
            runs["aging"],
            "hand SQL",
            runs["sql"],
            1.5,
            peak,
            f"cold {cold:.3f} s; {got['open_total']} open",
            alone_runs=alone,
        )
    ]


def section_objectives(db: Path, manifest: dict) -> list[Row]:
    from aims_metrics.performance.objectives import objective_progress
    from aims_metrics.store import open_db
    from bench import baselines_sql

    quarter = _quarters(manifest)[-1]
    with open_db(db) as con:
        cold, progress = timed(lambda: objective_progress(con, quarter))
        alone = [timed(lambda: objective_progress(con, quarter))[0] for _ in range(ROUNDS)]
        peak = peak_mb()
        runs = alternate(
            {
                "objectives": _runner(lambda: objective_progress(con, quarter)),
                "sql": _runner(lambda: baselines_sql.objective_values(con, quarter)),
            }
        )
        expected = baselines_sql.objective_values(con, quarter)
    got = {p.objective.objective_id: p.value for p in progress}
    if set(got) != set(expected) or not all(_same(got[k], expected[k]) for k in got):
        raise Mismatch(f"objective values disagree: project {got}, hand SQL {expected}")
    statuses = ", ".join(f"{p.objective.objective_id}={p.status.value}" for p in progress)
    return [
        ratio_row(
            "objectives",
            f"{len(progress)} objectives for {quarter.label}",
            runs["objectives"],
            "hand SQL",
            runs["sql"],
            1.5,
            peak,
            f"cold {cold:.3f} s; {statuses}",
            alone_runs=alone,
        )
    ]


# --- 4. minutes ------------------------------------------------------------------------------


def section_minutes(db: Path, manifest: dict) -> list[Row]:
    from aims_metrics.review.minutes import render_minutes
    from aims_metrics.store import open_db

    quarter = _quarters(manifest)[-1]
    with open_db(db) as con:
        cold, pdf = timed(lambda: render_minutes(con, quarter))
        warm = [timed(lambda: render_minutes(con, quarter))[0] for _ in range(ROUNDS)]
        peak = peak_mb()
    if not pdf.startswith(b"%PDF"):
        raise Mismatch("render_minutes did not return a PDF")
    return [
        absolute_row(
            "minutes",
            f"minutes PDF for {quarter.label}",
            warm,
            3.0,
            peak,
            f"cold {cold:.2f} s; {len(pdf) / 1024:.0f} KiB",
            cold_s=cold,
        )
    ]


# --- 5. app pages ----------------------------------------------------------------------------


def section_pages(db: Path, manifest: dict) -> list[Row]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from aims_metrics import auth
    from aims_metrics.auth import Role
    from aims_metrics.store import open_db
    from pages import _ui

    path = private_copy(db, "pages.duckdb")
    username = "bench-admin"
    with open_db(path) as con:
        auth.add_user(con, username, Role.ADMIN, "bench password 123", actor="bench")
    os.environ["AIMS_DB"] = str(path)
    os.environ.setdefault("AIMS_SESSION_KEY", "bench-session-key-0123456789abcdef")
    app = str(ROOT / "app.py")

    def render(page, clear: bool) -> float:
        """A fresh session signed in (on the default page), then the page opened and timed.
        (A new AppTest per render: rerunning one AppTest re-executes the page script directly,
        bypassing app.py's router, so it is not what a browser gets.)"""
        at = AppTest.from_file(app, default_timeout=120)
        at.session_state[_ui.USER_KEY] = username
        if not page.default:
            at.run()
            if at.exception:
                raise Mismatch(f"sign-in raised: {[e.value for e in at.exception][:1]}")
            at.switch_page(page.file)
        if clear:
            st.cache_data.clear()  # cold: no data cached (the connection resource stays)
        elapsed, _ = timed(at.run)
        if at.exception:
            raise Mismatch(f"{page.url_path} raised: {[e.value for e in at.exception][:1]}")
        if not at.title or not at.title[0].value.startswith(page.title.split()[0]):
            raise Mismatch(
                f"{page.url_path}: expected the page titled {page.title!r}, got "
                f"{[t.value for t in at.title]}; errors {[e.value for e in at.error]}"
            )
        return elapsed

    rows, measured = [], []
    for page in _ui.available_pages():
        cold = render(page, clear=True)
        warm = [render(page, clear=False) for _ in range(ROUNDS)]
        measured.append((page, cold, warm))
    peak = peak_mb()
    for page, cold, warm in measured:
        rows.append(
            absolute_row(
                "pages",
                f"page {page.url_path} (AppTest, admin), warm",
                warm,
                2.0,
                peak,
                f"cold {cold:.2f} s",
                cold_s=cold,
            )
        )
    return rows


# --- 7. the kpis CLI as a whole process -----------------------------------------------------


_REPORT_PEAK = (
    "import atexit, runpy, sys\n"
    "from bench.common import peak_mb\n"
    "atexit.register(lambda: sys.stderr.write(f'\\n__peak_mb__ {peak_mb():.1f}\\n'))\n"
    "sys.argv = ['python -m ' + sys.argv[1]] + sys.argv[2:]\n"
    "runpy.run_module(sys.argv[0].split()[-1], run_name='__main__', alter_sys=True)\n"
)


def _cli_env() -> dict[str, str]:
    """The processes' environment: the project on the path and bytecode caching on, so the cold
    run below leaves .pyc files as an installed package has them (PYTHONDONTWRITEBYTECODE in the
    bench's own environment would otherwise make every timed run recompile the project's
    modules, and only the project's: the hand-SQL process is one small module)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _process(argv: list[str]) -> tuple[float, str]:
    """Run a process; its wall seconds and its stdout."""
    env = _cli_env()
    start = time.perf_counter()
    child = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if child.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {child.returncode}: {child.stderr.decode()[-2000:]}"
        )
    return elapsed, child.stdout.decode()


def _process_peak_mb(module_argv: list[str]) -> float:
    """The peak memory of `python -m MODULE ARGS...`, reported by the process itself at exit
    (a separate, untimed run)."""
    env = _cli_env()
    child = subprocess.run(
        [sys.executable, "-c", _REPORT_PEAK, *module_argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    for line in child.stderr.splitlines():
        if line.startswith("__peak_mb__"):
            return float(line.split()[1])
    raise RuntimeError(f"no peak reported (exit {child.returncode}): {child.stderr[-2000:]}")


def section_cli(db: Path, manifest: dict) -> list[Row]:
    quarter = _quarters(manifest)[-1].label
    cli = [
        sys.executable,
        "-m",
        "aims_metrics",
        "--db",
        str(db),
        "kpis",
        "--quarter",
        quarter,
        "--format",
        "json",
    ]
    hand = [sys.executable, "-m", "bench.baselines_sql", str(db), quarter]
    _process(cli)  # cold (page cache, .pyc); not reported
    peak = _process_peak_mb(cli[2:])
    outputs: dict[str, str] = {}

    def runner(name: str, argv: list[str]) -> Callable[[], float]:
        def run() -> float:
            elapsed, text = _process(argv)
            outputs[name] = text
            return elapsed

        return run

    runs = alternate({"cli": runner("cli", cli), "sql": runner("sql", hand)}, ROUNDS + 2)
    project = {m["name"]: m for m in json.loads(outputs["cli"])["metrics"]}
    baseline = {m["name"]: m for m in json.loads(outputs["sql"])["metrics"]}
    problems = [
        f"{name}: cli {project.get(name)}, sql {m}"
        for name, m in baseline.items()
        if name not in project
        or not (
            _same(project[name]["value"], m["value"])
            and _same(project[name]["previous_value"], m["previous_value"])
        )
    ]
    if problems:
        raise Mismatch("kpis CLI disagrees with hand SQL:\n  " + "\n  ".join(problems))
    return [
        ratio_row(
            "cli",
            f"`kpis --quarter {quarter} --format json` as a process",
            runs["cli"],
            "hand-SQL process",
            runs["sql"],
            2.5,
            peak,
            "peak = the CLI process's own (VmHWM at exit)",
        )
    ]


# --- 8. how the catalog's cost grows: demo -> enterprise -> 10x enterprise ----------------------


def section_growth(db: Path, manifest: dict) -> list[Row]:
    """The same catalog call on the demo data, the bench's data set and the 10x enterprise set
    (20,000 systems, 2M incidents, 10M bias tests; generated once into bench/data/, cached).
    Peak memory is read after each, so the 10x row's peak is that of the largest evaluation."""
    from aims_metrics.metrics import evaluate
    from aims_metrics.store import open_db
    from bench.common import dataset

    quarters = _quarters(manifest)
    rows = []
    for scale in ("small", manifest["scale"], "x10"):
        if scale != manifest["scale"]:  # built (once, then cached) in a process of its own, so
            subprocess.run(  # this one's peak memory is the evaluations' alone
                [
                    sys.executable,
                    "-m",
                    "bench.section",
                    "dataset",
                    "--scale",
                    scale,
                    "--db",
                    "-",
                    "--manifest",
                    "-",
                    "--out",
                    os.devnull,
                ],
                check=True,
            )
        path = db if scale == manifest["scale"] else dataset(scale)[0]
        with open_db(path) as con:
            counts = {
                t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("systems", "incidents", "bias_tests")
            }
            cold, _ = timed(lambda: evaluate.catalog_series(con, quarters))
            warm = [timed(lambda: evaluate.catalog_series(con, quarters))[0] for _ in range(ROUNDS)]
        size = (
            f"{counts['systems']:,} systems, {counts['incidents']:,} incidents, "
            f"{counts['bias_tests']:,} bias tests"
        )
        row = absolute_row(
            "growth", f"KPI catalog on {scale}: {size}", warm, 1.0, peak_mb(), f"cold {cold:.2f} s"
        )
        if scale == "x10":  # shows the growth; the 1 s target is for the enterprise set
            row = dataclasses.replace(row, target="(growth, no time target)", met=None)
        rows.append(row)
    return rows


# --- 10. load: a real server, browser sessions, imports and the file lock (issue 22) -----------


def _load_row(what, value, limit, unit, baseline=None, baseline_value=None, note=""):
    met = None if value is None or value != value else value <= limit
    ratio = value / baseline_value if value is not None and baseline_value else None
    return Row(
        "load", what, value, baseline, baseline_value, ratio, f"<= {limit:g} {unit}", met,
        note=note, unit=unit,
    )  # fmt: skip


def section_load(db: Path, manifest: dict) -> list[Row]:
    from bench import load

    # AIMS_BENCH_APP_ROOT serves another checkout's app and CLI with this bench (a "before")
    root = Path(os.environ.get("AIMS_BENCH_APP_ROOT") or load.ROOT).resolve()
    one = load.run(db, 1, app_root=root)
    first = load.summary(one)
    worst_cpu = max((v for v in one.views if v.kind == "warm"), key=lambda v: v.cpu or 0)
    cold_cpu = next(v.cpu for v in one.views if v.kind == "first" and v.page == worst_cpu.page)
    worst_change = max((v for v in one.views if v.kind == "changed"), key=lambda v: v.seconds)
    warm_settle = next(
        v.seconds for v in one.views if v.kind == "warm" and v.page == worst_change.page
    )
    worst_bytes = max(one.views, key=lambda v: v.bytes)
    worst_settle = max((v for v in one.views if v.kind != "changed"), key=lambda v: v.seconds)
    single_p95 = load.percentile([v.seconds for v in one.views if v.kind == "warm"], 0.95)
    readers = load.summary(load.run(db, 10, 120, 10, import_every=10, app_root=root))
    crowd = load.summary(load.run(db, 20, 120, 10, app_root=root))
    pdfs = load.time_pdfs(db, root)
    imports_ok = readers["imports_ok"] == readers["imports_all"] > 0
    pages = DATA / "work" / "load-pages.md"  # the per-page figures of phase 1, for the README
    pages.parent.mkdir(parents=True, exist_ok=True)
    pages.write_text(f"app: {root}\n\n{load.page_table(one)}\n")
    log(f"[bench] load: per-page figures in {pages}")
    return [
        _load_row(
            f"server CPU per warm page view, worst page ({worst_cpu.page})",
            worst_cpu.cpu, 0.3, "s", "its first view", cold_cpu,
            "1 session; every page's figures in the per-page table",
        ),
        _load_row(
            f"first view after a data change, worst page ({worst_change.page})",
            worst_change.seconds, 1.5, "s", "its warm view", warm_settle,
            "a CLI import of one incident, then the page",
        ),
        _load_row(
            f"bytes sent per page view, worst view ({worst_bytes.page}, {worst_bytes.kind})",
            worst_bytes.bytes / 1e6, 1.0, "MB",
        ),
        _load_row(
            f"browser: page settled after navigation, 1 user, worst ({worst_settle.page}, "
            f"{worst_settle.kind})",
            worst_settle.seconds, 4.0, "s", note=f"failed views: {first['failed_views']:.0f}",
        ),
        _load_row(
            "20 signed-in sessions, 10 s think time, one process: p95 page view",
            crowd["p95"], 3.0, "s", "1 session, warm p95", single_p95,
            f"p50 {crowd['p50'] or 0:.2f} s; server CPU per view {crowd['cpu_per_view'] or 0:.2f} s; "
            f"failed views {crowd['failed_views']:.0f}; cores used (of 2): the server "
            f"{crowd['server_cores'] or 0:.2f}, the sessions' Chromium {crowd['browser_cores'] or 0:.2f}",
        ),
        Row(
            "load", "CLI imports (50k rows) every 10 s while 10 sessions browse: slowest",
            readers["import_max"], None, None, None, "all succeed, each <= 30 s",
            imports_ok and (readers["import_max"] or 0) <= 30,
            note=f"{readers['imports_ok']:.0f} of {readers['imports_all']:.0f} succeeded; "
            f"p95 page view {readers['p95'] or 0:.2f} s",
        ),
        _load_row(
            "share of time the app holds the database lock, 10 sessions",
            readers["lock_share"], 10.0, "%", note="probes while no import runs",
        ),
        *(
            _load_row(f"{name}, enterprise, built on request (CLI process)", seconds, 10.0, "s")
            for name, seconds in pdfs.items()
        ),
    ]  # fmt: skip


SECTIONS: dict[str, Callable[[Path, dict], list[Row]]] = {
    "catalog": section_catalog,
    "import": section_import,
    "aging": section_aging,
    "objectives": section_objectives,
    "minutes": section_minutes,
    "pages": section_pages,
    "cli": section_cli,
    "fairness": section_fairness,
    "growth": section_growth,
    "load": section_load,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.section")
    parser.add_argument("name", choices=[*SECTIONS, "dataset"])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--manifest", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--scale", default="enterprise")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    if args.name == "dataset":  # built here so the bench's main process stays small
        from bench.common import dataset

        path, manifest = dataset(args.scale, rebuild=args.rebuild)
        args.out.write_text(json.dumps({"path": str(path), "manifest": manifest}))
        return 0
    manifest = json.loads(args.manifest.read_text())
    log(f"[bench] {args.name} ...")
    rows = SECTIONS[args.name](args.db, manifest)
    args.out.write_text(json.dumps([r.to_json() for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
