"""The metrics CLI through a real subprocess: kpis, aging, objectives, metrics list|show|validate|apply."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aims_metrics import store
from aims_metrics.performance.objectives import seed_classic_objectives
from tests.test_catalog_known_answers import load_known_answer_data

ROOT = Path(__file__).resolve().parents[1]


def run(db: Path, *args: str, user: str = "tester") -> subprocess.CompletedProcess:
    env = dict(os.environ, AIMS_USER=user)
    return subprocess.run(
        [sys.executable, "-m", "aims_metrics", "--db", str(db), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "t.duckdb"
    with store.open_db(path) as con:
        load_known_answer_data(con)
        seed_classic_objectives(con)
    return path


def test_kpis_json(db):
    result = run(db, "kpis", "--quarter", "2025Q3", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["quarter"] == "2025Q3" and document["as_of"] == "2025-09-30"
    by_name = {m["name"]: m for m in document["metrics"]}
    assert len(by_name) >= 14
    assert by_name["findings_raised"] == {
        "name": "findings_raised",
        "label": "Audit findings raised",
        "value": 4,
        "unit": "count",
        "target": 10,
        "status": "green",
        "version": 1,
        "previous_value": 3,
        "data_through": by_name["findings_raised"]["data_through"],
        "provisional": False,
        "newest_record": by_name["findings_raised"]["newest_record"],
    }
    assert by_name["major_nc_mean_days_to_close"]["value"] == 61.0
    assert by_name["bias_test_pass_rate"]["status"] == "red"
    assert isinstance(by_name["open_incidents"]["value"], int)


def test_kpis_table(db):
    result = run(db, "kpis", "--quarter", "2025Q3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "KPIs for 2025Q3 (as of 2025-09-30)"
    assert any(line.startswith("bias_test_pass_rate@1") and "75.0 %" in line for line in lines)


def test_kpis_bad_quarter_is_a_usage_error(db):
    result = run(db, "kpis", "--quarter", "2025Q9")
    assert result.returncode == 2
    assert "is not a quarter" in result.stderr


def test_aging_json(db):
    result = run(db, "aging", "--as-of", "2025-09-30", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    # open at 2025-09-30: f2 (92 d), f4 (77 d), f5 (0 d), f6 (60 d), f8 (0 d); overdue: f2, f4.
    assert document["open_total"] == 5 and document["overdue"] == 2
    assert document["buckets"][0] == {
        "bucket": "0-30",
        "major_nc": 0,
        "minor_nc": 1,
        "observation": 0,
        "ofi": 1,
        "total": 2,
    }


def test_objectives_json(db):
    result = run(db, "objectives", "--quarter", "2025Q3", "--format", "json")
    assert result.returncode == 0, result.stderr
    statuses = {o["objective_id"]: o["status"] for o in json.loads(result.stdout)["objectives"]}
    assert statuses == {"OBJ-1": "on_track", "OBJ-2": "off_track"}


def test_objectives_table_reads_values_in_their_units(db):
    result = run(db, "objectives", "--quarter", "2025Q3")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[3:]}
    # OBJ-2: high-risk systems bias-tested before deployment, S1 of S1 and S3 = 50 %, target 100 %
    assert "50.0 %" in rows["OBJ-2"] and "100.0 %" in rows["OBJ-2"]
    assert "0.5" not in rows["OBJ-2"].replace("50.0", "")
    assert "Off track" in rows["OBJ-2"]


def test_metrics_list_and_show(db):
    listing = run(db, "metrics", "list")
    assert listing.returncode == 0 and "high_risk_systems_assessed@1" in listing.stdout
    shown = run(db, "metrics", "show", "high_severity_incidents")
    assert shown.returncode == 0
    assert "- field: severity" in shown.stdout and "time_dimension: detected_on" in shown.stdout


BAD_FILE = """schema_version: 1
metrics:
  - name: bad_metric
    label: Bad
    description: has two problems
    owner: me
    clause: "99.9"
    type: simple
    unit: count
    direction: lower_is_better
    target: 0
    time_dimension: detected_on
    measure:
      source: incidents
      filters:
        - {field: severity, op: eq, value: urgent}
"""

GOOD_FILE = (
    BAD_FILE.replace('"99.9"', '"9.1"')
    .replace("urgent", "critical")
    .replace("bad_metric", "critical_incidents")
)


def test_validate_lists_every_problem_and_exits_1(db, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_FILE)
    result = run(db, "metrics", "validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "metrics[0].clause: unknown clause '99.9': use an ISO/IEC 42001 clause or Annex A "
        "control such as 9.1 or A.6.2.4",
        "metrics[0].measure.filters[0].value: 'urgent' is not a valid severity: use one of "
        "critical, high, medium, low",
    ]


def test_apply_records_the_user_and_the_metric_appears_in_kpis(tmp_path):
    db = tmp_path / "a.duckdb"
    with store.open_db(db) as con:
        load_known_answer_data(con)
    path = tmp_path / "good.yaml"
    path.write_text(GOOD_FILE)
    assert run(db, "metrics", "validate", str(path)).returncode == 0
    applied = run(db, "metrics", "apply", str(path), "--reason", "track critical", user="ana")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == "saved critical_incidents@1"
    again = run(db, "metrics", "apply", str(path), user="ana")
    assert "no changes" in again.stdout
    kpis = json.loads(run(db, "kpis", "--quarter", "2025Q3", "--format", "json").stdout)
    entry = {m["name"]: m for m in kpis["metrics"]}["critical_incidents"]
    assert (entry["value"], entry["previous_value"], entry["status"]) == (1, 0, "red")
    with store.open_db(db) as con:
        assert con.execute(
            "SELECT author, reason FROM metric_definitions WHERE name = 'critical_incidents'"
        ).fetchall() == [("ana", "track critical")]


def test_kpis_does_not_import_ui_or_pdf_libraries(db):
    """pydantic is imported: the definitions are the models (issue 16 dropped the mirror)."""
    code = (
        "import sys; from aims_metrics.cli import main; "
        f"main(['--db', {str(db)!r}, 'kpis', '--quarter', '2025Q3', '--format', 'json']); "
        "print([m for m in ('streamlit', 'plotly', 'reportlab', 'sqlglot') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_stored_non_finite_target_prints_as_null_not_nan(tmp_path):
    """A version saved before targets had to be finite still loads, and `kpis --format json` stays
    valid JSON (NaN becomes null); a file with the same target is refused."""
    from aims_metrics.metrics.catalog import current_definitions, save_definition
    from aims_metrics.metrics.models import STORED, MetricDefinition

    path = tmp_path / "legacy.duckdb"
    with store.open_db(path) as con:
        load_known_answer_data(con)
        shipped = next(d for d in current_definitions(con) if d.name == "incidents_total")
        data = shipped.model_dump(mode="json") | {"target": float("nan")}
        save_definition(con, MetricDefinition.model_validate(data, context=STORED), "legacy")
    result = run(path, "kpis", "--quarter", "2025Q3", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "NaN" not in result.stdout
    document = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"invalid JSON {c}"))
    metric = next(m for m in document["metrics"] if m["name"] == "incidents_total")
    assert metric["target"] is None
