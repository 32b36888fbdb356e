"""Shared bench plumbing: the data set, timing by alternation, peak memory, result rows."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("AIMS_BENCH_DATA") or ROOT / "bench" / "data")  # git-ignored
MEMORY_LIMIT_MB = 1536.0
ROUNDS = int(os.environ.get("AIMS_BENCH_ROUNDS", "3"))
# The generator's name in the bench (`small`) and in the product (`demo`).
PRODUCT_SCALE = {"enterprise": "enterprise", "small": "demo", "x10": "enterprise"}
# The 10x enterprise data set of the growth section (design §9; not in CI): generate_enterprise's
# scale factor.
SCALE_FACTOR = {"x10": 10.0}


@dataclass
class Row:
    """One line of the results table: the project against a baseline measured next to it."""

    section: str
    what: str
    project_s: float | None
    baseline: str | None = None
    baseline_s: float | None = None
    ratio: float | None = None  # project / baseline
    target: str = ""
    met: bool | None = None
    peak_mb: float | None = None
    memory_met: bool | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)
    unit: str = "s"  # of project and baseline (the load section also reports MB, % and counts)

    def to_json(self) -> dict:
        return asdict(self)


def peak_mb() -> float:
    """This process's peak resident set so far, in MB.

    VmHWM (Linux) is the high-water mark of this process image alone; ru_maxrss is not, since
    Linux carries it across fork and exec (a section would inherit its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio_row(
    section: str,
    what: str,
    project: list[float],
    baseline_name: str,
    baseline: list[float],
    max_ratio: float,
    peak: float | None,
    note: str = "",
    **extra,
) -> Row:
    p, b = median(project), median(baseline)
    ratio = p / b if b else None
    target = (
        f"<= {max_ratio:g}x {baseline_name}"
        if max_ratio >= 1
        else (f">= {1 / max_ratio:g}x faster than {baseline_name}")
    )
    return Row(
        section,
        what,
        p,
        baseline_name,
        b,
        ratio,
        target,
        ratio is not None and ratio <= max_ratio,
        peak,
        None if peak is None else peak <= MEMORY_LIMIT_MB,
        note,
        {"project_runs": project, "baseline_runs": baseline, **extra},
    )


def absolute_row(
    section: str,
    what: str,
    runs: list[float],
    limit_s: float,
    peak: float | None,
    note: str = "",
    **extra,
) -> Row:
    p = median(runs)
    return Row(
        section,
        what,
        p,
        None,
        None,
        None,
        f"<= {limit_s:g} s",
        p <= limit_s,
        peak,
        None if peak is None else peak <= MEMORY_LIMIT_MB,
        note,
        {"runs": runs, **extra},
    )


# --- the data set --------------------------------------------------------------------------


def _generator_fingerprint() -> str:
    """Changes when the product's generator (or the schema) changes, so the data is rebuilt."""
    digest = hashlib.sha256()
    for folder in ("demo", "tables", "store", "auth", "review"):
        for path in sorted((ROOT / "aims_metrics" / folder).glob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def dataset(scale: str, rebuild: bool = False) -> tuple[Path, dict]:
    """The database for a scale in bench/data/, built with the product's seeded generator
    (`aims_metrics.demo.load_demo`) unless a current one is already there. Returns its path and
    manifest (scale, end quarter, generator fingerprint, row counts, build seconds)."""
    from aims_metrics.metrics.periods import last_completed_quarter

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{scale}.duckdb"
    manifest_path = DATA / f"{scale}.json"
    end_quarter = last_completed_quarter()
    wanted = {
        "scale": scale,
        "end_quarter": end_quarter.label,
        "generator": _generator_fingerprint(),
    }
    if not rebuild and path.exists() and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if all(manifest.get(k) == v for k, v in wanted.items()):
            return path, manifest
    for stale in (path, Path(f"{path}.wal"), manifest_path):
        stale.unlink(missing_ok=True)

    from aims_metrics.store import open_db

    start = time.perf_counter()
    try:
        from aims_metrics.demo import load_demo
    except ImportError:  # the product generator is not there yet: the bench's stand-in
        from aims_metrics.metrics.periods import Quarter
        from bench.synth import generate

        generate(
            path,
            Quarter(end_quarter.year, end_quarter.number),
            "enterprise" if scale == "enterprise" else "small",
        )
        counts, generator = {}, "bench.synth (stand-in: aims_metrics.demo missing)"
    else:
        with open_db(path) as con:
            if scale in SCALE_FACTOR:
                counts = _load_scaled(con, end_quarter, SCALE_FACTOR[scale])
                generator = (
                    f"aims_metrics.demo.generate_enterprise(scale_factor={SCALE_FACTOR[scale]})"
                )
            else:
                counts = load_demo(con, end_quarter=end_quarter, scale=PRODUCT_SCALE[scale])
                generator = f"aims_metrics.demo.load_demo(scale={PRODUCT_SCALE[scale]!r})"
            con.execute("CHECKPOINT")
    manifest = {
        **wanted,
        "generator_name": generator,
        "counts": counts,
        "build_s": round(time.perf_counter() - start, 2),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return path, manifest


def _load_scaled(con, end_quarter, factor: float) -> dict[str, int]:
    """The enterprise generator at `factor` times its size, loaded like `init --demo`."""
    from aims_metrics.demo import generate_enterprise, load_dataset, seed_objectives

    counts = load_dataset(con, generate_enterprise(end_quarter, scale_factor=factor), "bench")
    counts["objectives"] = len(seed_objectives(con, end_quarter, "bench"))
    return counts


def private_copy(path: Path, name: str) -> Path:
    """A copy of a database that a section may change (the shared one stays pristine)."""
    target = DATA / "work" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(path, target)
    return target


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
