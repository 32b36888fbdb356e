"""Bench smoke test (issue 6): at small scale the bench runs, and the metrics engine, the plain
pandas baseline and the hand-written SQL baseline agree on every catalog metric and quarter.

No timing assertions: the bench measures, the tests only check that it works and is right.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aims_metrics.metrics.periods import last_completed_quarter, quarters_ending
from aims_metrics.store import open_db
from bench import baselines_pandas, baselines_sql
from bench.section import check_catalog

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def small_db(demo_db_path: Path) -> Path:
    """The regular demo data set ending in the last completed quarter, with every schema
    migration (review actions included): a copy of the run's shared demo database."""
    return demo_db_path


def test_engine_pandas_and_sql_agree_on_every_metric_and_quarter(small_db: Path):
    from aims_metrics.metrics import evaluate

    quarters = quarters_ending(last_completed_quarter(), 8)
    every = sorted(set(quarters) | {q.previous() for q in quarters})
    with open_db(small_db) as con:
        results = evaluate.catalog_series(con, quarters)
        pandas_values = baselines_pandas.catalog(baselines_pandas.load_frames(con), every)
        sql_values = baselines_sql.catalog(con, every)
    # the baselines cover the whole shipped catalog, and nothing else
    assert set(results) == set(baselines_pandas.METRICS) == set(baselines_sql.METRICS)
    checked = check_catalog(results, quarters, every, pandas_values, sql_values)
    assert checked == len(results) * len(quarters) * 2  # value and previous_value
    # the demo data is not degenerate: most metrics have a value in the last quarter
    assert sum(series[-1].value is not None for series in results.values()) >= len(results) - 2


def test_check_catalog_fails_loudly_on_a_disagreement(small_db: Path):
    from aims_metrics.metrics import evaluate
    from bench.section import Mismatch

    quarters = quarters_ending(last_completed_quarter(), 2)
    every = sorted(set(quarters) | {q.previous() for q in quarters})
    with open_db(small_db) as con:
        results = evaluate.catalog_series(con, quarters)
        sql_values = baselines_sql.catalog(con, every)
    wrong = {name: list(values) for name, values in sql_values.items()}
    wrong["incidents_total"][-1] = (wrong["incidents_total"][-1] or 0) + 1
    with pytest.raises(Mismatch, match="incidents_total"):
        check_catalog(results, quarters, every, sql_values, wrong)


def test_hand_sql_aging_matches_the_product(small_db: Path):
    from aims_metrics.performance.aging import aging_report

    as_of = last_completed_quarter().end
    with open_db(small_db) as con:
        got = aging_report(con, as_of).model_dump(mode="json")
        expected = baselines_sql.aging(con, as_of)
    assert {k: got[k] for k in expected} == expected


@pytest.mark.slow
def test_bench_runs_every_section_at_small_scale(tmp_path: Path):
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AIMS_BENCH_DATA": str(tmp_path / "data"),
        "AIMS_BENCH_ROUNDS": "1",
    }
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "small", "--results", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(out.read_text())
    assert results["errors"] == []
    sections = {row["section"] for row in results["rows"]}
    assert sections == {
        "catalog",
        "import",
        "aging",
        "objectives",
        "minutes",
        "pages",
        "cli",
        "fairness",
    }
    for row in results["rows"]:
        assert row["project_s"] is not None and row["project_s"] > 0, row
        assert row["peak_mb"] and row["peak_mb"] > 0, row
        assert isinstance(row["met"], bool), row
    assert "| section |" in proc.stdout
