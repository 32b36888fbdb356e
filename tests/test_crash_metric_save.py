"""A kill -9 during a metric save leaves every metric at the old or the new version, never a mix."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aims_metrics import store
from aims_metrics.metrics.catalog import install_shipped_catalog

REPO = Path(__file__).resolve().parents[1]

# The child applies the whole catalog again and again, each time with every target changed,
# so each apply writes one new version of every metric in one transaction.
CHILD = """
import sys, yaml
from aims_metrics import store
from aims_metrics.metrics.editing import apply_metric_file
from aims_metrics.metrics.definition_files import definition_to_yaml
from aims_metrics.metrics.catalog import shipped_catalog
db = sys.argv[1]
catalog = shipped_catalog()
round_ = 0
while True:
    round_ += 1
    metrics = []
    for definition in catalog:
        data = yaml.safe_load(definition_to_yaml(definition))
        data = data["metrics"][0] if "metrics" in data else data
        data["description"] = data["description"].rstrip(".") + f" (round {round_})."
        metrics.append(data)
    text = yaml.safe_dump({"schema_version": 1, "metrics": metrics}, sort_keys=False)
    with store.open_db(db) as con:
        apply_metric_file(con, text, "crash-test", f"round {round_}")
    if round_ == 1:
        print("ready", flush=True)  # saves are now under way
"""


def _versions_per_metric(db: Path) -> dict[str, int]:
    with store.open_db(db) as con:
        rows = con.execute(
            "SELECT name, count(*), max(version) FROM metric_definitions GROUP BY name"
        ).fetchall()
        saves = con.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'metric.save'"
        ).fetchall()
    counts = {name: count for name, count, _ in rows}
    assert all(count == top for _, count, top in rows), "version numbers have gaps"
    assert saves[0][0] == sum(counts.values()), "audit entries and versions disagree"
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.15, 0.3, 0.5, 0.8, 1.2])
def test_kill_during_metric_saves_keeps_whole_applies(tmp_path, delay):
    db = tmp_path / "aims.duckdb"
    with store.open_db(db) as con:
        install_shipped_catalog(con)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "ready"
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    counts = _versions_per_metric(db)
    assert len(set(counts.values())) == 1, f"a save was half-applied: {counts}"
    assert next(iter(counts.values())) >= 2  # at least the first apply landed whole
