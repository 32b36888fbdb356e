"""Seeded demo and enterprise-scale data sets (issue 2 item 7, design §9).

One vectorised generator builds a believable organisation at any size: an AI system inventory and
eight quarters of incidents, impact and risk assessments, bias tests and audit findings, with the
patterns a management review should see — improvement over time, one quarter with a cluster of
high-severity incidents, overdue major nonconformities, an external audit with findings, and
high-risk systems deployed without a passed pre-deployment bias test. Same seed and end quarter →
identical frames. Every row satisfies the rules of design §2 and no date lies after the end quarter.
"""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from aims_metrics import store
from aims_metrics.demo.assessments import generate_assessments
from aims_metrics.demo.audits import load_demo_programme
from aims_metrics.demo.bias_tests import generate_bias_tests
from aims_metrics.demo.common import Window
from aims_metrics.demo.findings import generate_findings
from aims_metrics.demo.incidents import generate_incidents
from aims_metrics.demo.objectives import seed_objectives
from aims_metrics.demo.systems import generate_systems
from aims_metrics.demo.vocabulary import SYSTEM_TEMPLATES
from aims_metrics.metrics.periods import Quarter, last_completed_quarter
from aims_metrics.tables.registry import TABLES

SCALES = ("demo", "enterprise")
DEMO_SEED = 42
ENTERPRISE_SEED = 7
ENTERPRISE_SIZE = {
    "systems": 2_000,
    "incidents": 200_000,
    "bias_tests": 1_000_000,
    "assessments": 50_000,
    "findings": 100_000,
}


# --- public generators --------------------------------------------------------------------------


def _generate(
    end_quarter: Quarter, seed: int, sizes: dict[str, int | None]
) -> dict[str, pd.DataFrame]:
    rng = np.random.Generator(np.random.PCG64(seed))
    window = Window.ending(end_quarter)
    inv = generate_systems(rng, int(sizes["systems"] or 40), window)
    return {
        "systems": inv.frame,
        "incidents": generate_incidents(rng, window, inv, sizes.get("incidents")),
        "assessments": generate_assessments(rng, window, inv, sizes.get("assessments")),
        "bias_tests": generate_bias_tests(rng, window, inv, sizes.get("bias_tests")),
        "findings": generate_findings(rng, window, sizes.get("findings")),
    }


def generate_demo(end_quarter: Quarter, seed: int = DEMO_SEED) -> dict[str, pd.DataFrame]:
    """The demo organisation: 40 AI systems and eight quarters of records ending at `end_quarter`."""
    return _generate(end_quarter, seed, {"systems": len(SYSTEM_TEMPLATES)})


def generate_enterprise(
    end_quarter: Quarter, seed: int = ENTERPRISE_SEED, scale_factor: float = 1.0
) -> dict[str, pd.DataFrame]:
    """The enterprise data set of design §9 (2,000 systems … 1,000,000 bias tests), or a fraction
    of it (`scale_factor`) for quick tests."""
    if not 0 < scale_factor <= 10:
        raise ValueError(f"scale_factor must be in (0, 10], not {scale_factor}")
    sizes = {name: max(1, round(count * scale_factor)) for name, count in ENTERPRISE_SIZE.items()}
    sizes["systems"] = max(sizes["systems"], len(SYSTEM_TEMPLATES) + 1)
    return _generate(end_quarter, seed, sizes)


# --- loading ------------------------------------------------------------------------------------


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A stable sha256 of a table's rows (order-independent; far cheaper than hashing a CSV
    rendering of a million rows)."""
    columns = ", ".join(TABLES[table].column_names)
    count, total = con.execute(
        f"SELECT count(*), coalesce(sum(hash({columns})::HUGEINT), 0) FROM {table}"
    ).fetchall()[0]
    return hashlib.sha256(f"{table}|{columns}|{count}|{total}".encode()).hexdigest()


def _insert_frames(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], username: str
) -> dict[str, int]:
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown tables {unknown}: use {', '.join(TABLES)}")
    counts: dict[str, int] = {}
    for name, spec in TABLES.items():  # identifiers come from the registry only
        if name not in frames:
            continue
        frame = frames[name]
        if list(frame.columns) != spec.column_names:
            raise ValueError(f"{name}: columns must be {spec.column_names}")
        view = f"demo_frame_{name}"
        columns = ", ".join(spec.column_names)
        select = ", ".join(f"CAST({c.name} AS {c.sql_type})" for c in spec.columns)
        con.register(view, pa.Table.from_pandas(frame, preserve_index=False))
        try:
            con.execute(f"DELETE FROM {name}")
            con.execute(f"INSERT INTO {name} ({columns}) SELECT {select} FROM {view}")
        finally:
            con.unregister(view)
        counts[name] = len(frame)
        con.execute(
            "INSERT INTO import_batches (table_name, file_name, sha256, row_count, inserted, "
            "updated, unchanged, username, imported_at) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?)",
            [
                name,
                f"demo:{name}",
                _fingerprint(con, name),
                len(frame),
                len(frame),
                username,
                store.now(),
            ],
        )
    store.record_audit(con, username, "data.load_dataset", ",".join(counts), counts)
    return counts


def load_dataset(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], username: str = "demo"
) -> dict[str, int]:
    """Replace the rows of each given table with its frame, in one transaction, recording one
    import batch per table and an audit entry; returns the row counts."""
    with store.transaction(con):
        return _insert_frames(con, frames, username)


def load_demo(
    con: duckdb.DuckDBPyConnection,
    end_quarter: Quarter | None = None,
    seed: int | None = None,
    scale: str = "demo",
    username: str = "demo",
) -> dict[str, int]:
    """`init --demo [--scale enterprise]`: generate, load, then seed the objectives.

    `end_quarter` defaults to the last completed quarter; `seed` to the generator's own default.
    The data load is one transaction; the objectives (an idempotent upsert whose baselines the
    engine computes from the loaded data) a second. Returns the row count of each table,
    objectives included.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: use {' or '.join(SCALES)}")
    end_quarter = end_quarter or last_completed_quarter()
    if scale == "demo":
        frames = generate_demo(end_quarter, DEMO_SEED if seed is None else seed)
    else:
        frames = generate_enterprise(end_quarter, ENTERPRISE_SEED if seed is None else seed)
    store.migrate(con)
    counts = load_dataset(con, frames, username)
    if scale == "demo":  # per-group fairness results for a few systems (aims_metrics.demo.fairness)
        from aims_metrics.demo.fairness import seed_fairness_demo

        for table, added in seed_fairness_demo(con, username).items():
            counts[table] = counts.get(table, 0) + added
    counts["objectives"] = len(seed_objectives(con, end_quarter, username))
    counts.update(load_demo_programme(con, end_quarter, load_dataset, username))
    if (
        scale == "demo"
    ):  # the people directory and a switched-off channel (aims_metrics.demo.people)
        from aims_metrics.demo.people import demo_people, seed_demo_channel

        counts.update(load_dataset(con, {"people": demo_people()}, username))
        seed_demo_channel(con, username)
    return counts
