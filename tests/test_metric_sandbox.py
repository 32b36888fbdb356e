"""A definition can never change or read anything beyond its declared sources.

Attack corpus for the free-form `{sql: ...}` filter: each is rejected with a clear message, by
the validator and by the compiler. Evaluation is read-only, without external access, and time-limited.
"""

from __future__ import annotations

import time

import duckdb
import pytest

from aims_metrics import store
from aims_metrics.metrics.compiler import MetricError, compile_series
from aims_metrics.metrics.editing import validate_metric_file
from aims_metrics.metrics.evaluate import MetricTimeout, time_limit
from aims_metrics.metrics.models import Filter, MetricDefinition
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.sources import shipped_sources
from aims_metrics.metrics.sqlfilter import check_sql_filter

ATTACKS = [
    (
        "severity = 'high'; DROP TABLE incidents",
        "a condition is a single expression, not 2 statements",
    ),
    ("DROP TABLE incidents", "drop is not a condition"),
    ("DELETE FROM incidents", "delete is not a condition"),
    ("severity IN (SELECT severity FROM incidents)", "subqueries are not allowed in a condition"),
    ("EXISTS (SELECT 1 FROM users)", "select is not allowed in a condition"),
    ("(SELECT count(*) FROM users) > 0", "select is not allowed in a condition"),
    ("read_csv('/etc/passwd') IS NOT NULL", "is not allowed in a condition"),
    ("title = (SELECT * FROM read_text('/etc/passwd'))", "select is not allowed in a condition"),
    ("getenv('HOME') = 'x'", "function getenv() is not allowed in a condition"),
    (
        "current_setting('home_directory') = 'x'",
        "function current_setting() is not allowed in a condition",
    ),
    ("severity = 'high' -- and more", "comments are not allowed in a condition"),
    ("/* hidden */ severity = 'high'", "comments are not allowed in a condition"),
    ("password_hash = 'x'", "unknown column 'password_hash' in source 'incidents'"),
    ("users.username = 'x'", "write columns without a table name: users.username"),
    ("PRAGMA database_list", "pragma is not a condition"),
    ("SET enable_external_access = true", "set is not a condition"),
    ("ATTACH 'other.duckdb' AS other", "attach is not a condition"),
    ("COPY incidents TO 'out.csv'", "copy is not a condition"),
    ("INSTALL httpfs", "install is not a condition"),
    ("LOAD httpfs", "is not a condition"),
    ("severity = $secret", "unknown variable $secret: use $period_start or $period_end"),
    ("CAST(severity AS BLOB) = 'x'", "cast to BLOB is not allowed"),
    ("severity", "column is not a condition"),
]


@pytest.mark.parametrize(("sql", "message"), ATTACKS, ids=[a[0][:40] for a in ATTACKS])
def test_attack_is_rejected_with_a_clear_message(sql, message):
    checked, problems = check_sql_filter(sql, shipped_sources()["incidents"])
    assert checked is None
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize(("sql", "message"), ATTACKS[:6], ids=[a[0][:40] for a in ATTACKS[:6]])
def test_attack_never_compiles(sql, message):
    definition = MetricDefinition.model_validate(
        {
            "name": "attack",
            "label": "a",
            "description": "a",
            "owner": "o",
            "clause": "9.1",
            "type": "simple",
            "unit": "count",
            "direction": "lower_is_better",
            "target": 0,
            "time_dimension": "detected_on",
            "measure": {"source": "incidents", "filters": [Filter(sql=sql).model_dump()]},
        }
    )
    with pytest.raises(MetricError):
        compile_series(definition, shipped_sources(), [Quarter(2025, 3)])


def test_attack_in_a_file_is_reported_at_its_path(tmp_path):
    text = """
schema_version: 1
metrics:
  - name: sneaky
    label: Sneaky
    description: tries to read users
    owner: nobody
    clause: "9.1"
    type: simple
    unit: count
    direction: lower_is_better
    target: 0
    time_dimension: detected_on
    measure:
      source: incidents
      filters:
        - {sql: "severity IN (SELECT password_hash FROM users)"}
"""
    with store.open_db(tmp_path / "t.duckdb") as con:
        problems = [str(p) for p in validate_metric_file(con, text)]
    assert (
        "metrics[0].measure.filters[0].sql: subqueries are not allowed in a condition" in problems
    )


@pytest.mark.parametrize(
    "sql",
    [
        "severity = 'high' AND (days_to_resolve > 3 OR resolved_on IS NULL)",
        "lower(title) LIKE '%bias%'",
        "detected_on BETWEEN $period_start AND $period_end",
        "coalesce(days_to_resolve, 0) < 30",
        "NOT (severity IN ('low', 'medium'))",
    ],
)
def test_ordinary_conditions_are_allowed(sql):
    checked, problems = check_sql_filter(sql, shipped_sources()["incidents"])
    assert problems == [] and checked is not None


def test_connections_cannot_read_files(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as con:
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()


def test_time_limit_interrupts_a_long_query(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as con:
        with pytest.raises(MetricTimeout, match="took longer than 0.2 s"):
            with time_limit(con, 0.2):
                con.execute("SELECT count(*) FROM range(100000000000) a").fetchall()
        assert con.execute("SELECT 1").fetchone() == (1,)  # the connection is still usable


LONG_QUERY = "SELECT sum(a.range * b.range) FROM range(30000) a CROSS JOIN range(30000) b"


def _spin_past(deadline: float) -> None:
    """Python work (no statement running) until the deadline has passed; not a sleep."""
    while time.monotonic() < deadline:
        pass


def test_a_deadline_that_passes_between_statements_still_stops_the_next_one(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as con:
        started = time.monotonic()
        with pytest.raises(MetricTimeout, match="took longer than 0.05 s"):
            with time_limit(con, 0.05):
                assert con.execute("SELECT 1").fetchall() == [(1,)]
                _spin_past(started + 0.5)  # the deadline passes while no statement runs
                con.execute(LONG_QUERY).fetchall()  # takes seconds unless interrupted
        assert con.execute("SELECT 2").fetchall() == [(2,)]  # nothing interrupts after the block


def test_the_time_limit_holds_after_many_short_statements(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as con:
        started = time.monotonic()
        with pytest.raises(MetricTimeout):
            with time_limit(con, 0.05):
                while time.monotonic() < started + 0.5:  # short statements past the deadline
                    con.execute("SELECT count(*) FROM range(1000)").fetchall()
                con.execute(LONG_QUERY).fetchall()


def test_a_block_that_ends_in_time_is_not_interrupted_later(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as con:
        with time_limit(con, 30):
            assert con.execute("SELECT 1").fetchall() == [(1,)]
        # a query after the block runs to its end, whatever the limit was
        assert con.execute("SELECT count(*) FROM range(1000000)").fetchall() == [(1000000,)]


def test_evaluations_use_the_metric_time_limit_setting(con, monkeypatch):
    from aims_metrics.metrics import evaluate
    from aims_metrics.metrics.periods import last_completed_quarter

    used: list[float] = []
    real = evaluate.time_limit

    def recording(connection, seconds):
        used.append(seconds)
        return real(connection, seconds)

    monkeypatch.setattr(evaluate, "time_limit", recording)
    assert evaluate.evaluation_time_limit(con) == 30.0  # the default
    store.set_setting(con, "metric_time_limit_seconds", "2.5", "tester")
    evaluate.kpis_for_quarter(con, last_completed_quarter())
    assert used == [2.5]


def test_a_stopped_evaluation_leaves_no_transaction_open(tmp_path):
    """The limit keeps interrupting until the block exits, so it may hit the ROLLBACK too; the
    rollback is retried and the connection takes the next transaction."""
    with store.open_db(tmp_path / "t.duckdb") as con:
        for _ in range(5):
            started = time.monotonic()
            with pytest.raises(MetricTimeout):
                with time_limit(con, 0.02), store.transaction(con, read_only=True):
                    _spin_past(started + 0.1)
                    con.execute(LONG_QUERY).fetchall()
            with store.transaction(con, read_only=True):
                assert con.execute("SELECT 3").fetchall() == [(3,)]
