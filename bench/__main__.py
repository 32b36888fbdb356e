"""`python -m bench` (`make bench`): the performance suite of design §9 / issue 6.

Builds (or reuses, when present and current) the data set in bench/data/ with the product's seeded
generator, runs each section in its own process (so its peak memory is its own), prints the table
and writes bench/results.json. Every timing is a median of interleaved runs against a baseline
measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import DATA, MEMORY_LIMIT_MB, ROOT, ROUNDS, log

RESULTS = ROOT / "bench" / "results.json"
SECTIONS = (
    "catalog",
    "import",
    "aging",
    "objectives",
    "minutes",
    "pages",
    "cli",
    "fairness",
    "growth",
    "load",
)
# Sections a small-scale run leaves out unless named with --only (growth builds the 10x set;
# load drives a real server with up to 20 browser sessions for several minutes).
ENTERPRISE_ONLY = ("growth", "load")


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[dict]) -> str:
    """The results as a Markdown table (printed, and pasted into bench/README.md)."""
    lines = [
        "| section | what | project | baseline | baseline value | ratio | target | met | peak MB | note |",
        "|---|---|---:|---|---:|---:|---|---|---:|---|",
    ]
    for r in rows:
        met = {True: "yes", False: "**NO**", None: "-"}[r["met"]]
        unit = r.get("unit", "s")
        project = _fmt(r["project_s"], ".3f" if unit == "s" else ".2f")
        baseline_value = _fmt(r["baseline_s"], ".3f" if unit == "s" else ".2f")
        if r.get("memory_met") is False:
            met += " (memory **NO**)"
        lines.append(
            f"| {r['section']} | {r['what']} | {project} {unit} | {r['baseline'] or '-'} "
            f"| {baseline_value} {unit if r['baseline_s'] is not None else ''} "
            f"| {_fmt(r['ratio'], '.2f')} | {r['target']} | {met} "
            f"| {_fmt(r['peak_mb'], '.0f')} | {r['note']} |"
        )
    return "\n".join(lines)


def run_section(name: str, db: Path, manifest_path: Path) -> tuple[list[dict], str | None]:
    out = DATA / "work" / f"section-{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.section",
            name,
            "--db",
            str(db),
            "--manifest",
            str(manifest_path),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    log(f"[bench] {name}: {time.perf_counter() - start:.1f} s")
    if proc.returncode != 0 or not out.exists():
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return [], f"section {name} failed (exit {proc.returncode}):\n{tail}"
    return json.loads(out.read_text()), None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=("enterprise", "small"), default="enterprise")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        metavar="SECTION",
        help=f"run only these sections ({', '.join(SECTIONS)})",
    )
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data set")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="where to write the results (default bench/results.json)",
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    built = DATA / "work" / "dataset.json"
    built.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.section",
            "dataset",
            "--scale",
            args.scale,
            "--db",
            "-",
            "--manifest",
            "-",
            "--out",
            str(built),
            *(["--rebuild"] if args.rebuild else []),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    info = json.loads(built.read_text())
    db, manifest = Path(info["path"]), info["manifest"]
    log(
        f"[bench] data: {db} ({manifest['generator_name']}, end {manifest['end_quarter']}, "
        f"built in {manifest['build_s']} s)"
    )
    manifest_path = DATA / f"{args.scale}.json"

    sections = args.only or [
        s for s in SECTIONS if args.scale == "enterprise" or s not in ENTERPRISE_ONLY
    ]
    rows: list[dict] = []
    errors: list[str] = []
    for name in sections:
        section_rows, error = run_section(name, db, manifest_path)
        rows.extend(section_rows)
        if error:
            errors.append(error)
            log(error)

    previous = json.loads(args.results.read_text()) if args.results.exists() else {}
    if args.only and previous.get("scale") == args.scale:  # keep the other sections' rows
        kept = [r for r in previous.get("rows", []) if r["section"] not in sections]
        rows = sorted(kept + rows, key=lambda r: SECTIONS.index(r["section"]))
    results = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": args.scale,
        "data": manifest,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "rounds": ROUNDS,
        "memory_limit_mb": MEMORY_LIMIT_MB,
        "rows": rows,
        "errors": errors,
    }
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(table(rows))
    met = sum(1 for r in rows if r["met"] and r.get("memory_met") is not False)
    targets = sum(1 for r in rows if r["met"] is not None)
    print(
        f"\n{met} of {targets} targets met; {len(errors)} section(s) failed; "
        f"{time.perf_counter() - start:.0f} s in all; results in {args.results}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
