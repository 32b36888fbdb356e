"""Attack definitions: whole metric files an analyst (or an attacker with an analyst's account)
could submit. Each is rejected with a message naming its YAML path — by validate_metric_file,
apply_metric_file and the editor's preview — or is contained (runs as data, reads nothing else);
either way no table changes. A runaway metric is stopped by the time limit and reported.

tests/test_metric_sandbox.py holds the condition-level corpus for check_sql_filter; this one
feeds complete files through the library entry points the pages and the CLI use.
"""

from __future__ import annotations

import copy
import functools
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from import_helpers import dump_db
from pydantic import ValidationError

from aims_metrics import auth, store
from aims_metrics.metrics import evaluate
from aims_metrics.metrics.compiler import MetricError
from aims_metrics.metrics.editing import apply_metric_file, validate_metric_file
from aims_metrics.metrics.evaluate import MetricTimeout
from aims_metrics.metrics.models import MetricDefinition
from aims_metrics.metrics.periods import Quarter
from aims_metrics.tables import ingest

REPO = Path(__file__).resolve().parents[1]
QUARTERS = [Quarter(2025, 1), Quarter(2025, 2)]
FILTER = "metrics[0].measure.filters[0].sql"

BASE = {
    "name": "attack",
    "label": "Attack",
    "description": "an attack definition",
    "owner": "mallory",
    "clause": "9.1",
    "type": "simple",
    "unit": "count",
    "direction": "lower_is_better",
    "target": 0,
    "time_dimension": "detected_on",
    "measure": {"source": "incidents", "agg": "count"},
}


def metric(**changes) -> dict:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def sql(condition: str) -> dict:
    return metric(measure={"source": "incidents", "agg": "count", "filters": [{"sql": condition}]})


def document(definition: dict | str) -> str:
    if isinstance(definition, str):
        return definition
    return yaml.safe_dump({"schema_version": 1, "metrics": [definition]}, allow_unicode=True)


@dataclass(frozen=True)
class Attack:
    id: str
    definition: dict | str
    path: str
    message: str


BILLION_LAUGHS = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )
    + "schema_version: 1\nmetrics: *i\n"
)

ATTACKS = [
    # several statements, subqueries
    Attack(
        "two-statements",
        sql("severity = 'high'; DROP TABLE users"),
        FILTER,
        "a condition is a single expression, not 2 statements",
    ),
    Attack(
        "in-subquery-users",
        sql("severity IN (SELECT role FROM users)"),
        FILTER,
        "subqueries are not allowed in a condition",
    ),
    Attack(
        "scalar-subquery-audit",
        sql("(SELECT count(*) FROM audit_log) > 0"),
        FILTER,
        "select is not allowed in a condition",
    ),
    Attack(
        "subquery-in-list",
        sql("severity IN ('high', (SELECT 'x'))"),
        FILTER,
        "subquery is not allowed in a condition",
    ),
    Attack(
        "cross-join",
        sql("severity IN (SELECT a.severity FROM incidents a, incidents b)"),
        FILTER,
        "join is not allowed in a condition",
    ),
    # table functions: files, the catalog, settings
    Attack(
        "read_csv",
        sql("read_csv('/etc/passwd') IS NOT NULL"),
        FILTER,
        "function read_csv is not allowed in a condition",
    ),
    Attack(
        "read_parquet",
        sql("read_parquet('/tmp/x.parquet') IS NOT NULL"),
        FILTER,
        "function read_parquet is not allowed in a condition",
    ),
    Attack(
        "read_text",
        sql("title = (SELECT content FROM read_text('/etc/passwd'))"),
        FILTER,
        "select is not allowed in a condition",
    ),
    Attack(
        "glob",
        sql("title IN (SELECT file FROM glob('/*'))"),
        FILTER,
        "function glob() is not allowed in a condition",
    ),
    Attack(
        "duckdb_settings",
        sql("title IN (SELECT value FROM duckdb_settings())"),
        FILTER,
        "function duckdb_settings() is not allowed in a condition",
    ),
    Attack(
        "duckdb_tables",
        sql("EXISTS (SELECT 1 FROM duckdb_tables())"),
        FILTER,
        "function duckdb_tables() is not allowed in a condition",
    ),
    # URLs and the environment
    Attack(
        "url",
        sql("read_csv('http://evil.example/x.csv') IS NOT NULL"),
        FILTER,
        "function read_csv is not allowed in a condition",
    ),
    Attack(
        "getenv",
        sql("getenv('HOME') = title"),
        FILTER,
        "function getenv() is not allowed in a condition",
    ),
    Attack(
        "current_setting",
        sql("current_setting('home_directory') = title"),
        FILTER,
        "function current_setting() is not allowed in a condition",
    ),
    # statements that are not conditions
    Attack("pragma", sql("PRAGMA database_list"), FILTER, "pragma is not a condition"),
    Attack("set", sql("SET enable_external_access = true"), FILTER, "set is not a condition"),
    Attack(
        "attach", sql("ATTACH '/tmp/other.duckdb' AS other"), FILTER, "attach is not a condition"
    ),
    Attack("copy", sql("COPY users TO '/tmp/users.csv'"), FILTER, "copy is not a condition"),
    Attack("install", sql("INSTALL httpfs"), FILTER, "install is not a condition"),
    Attack("load", sql("LOAD httpfs"), FILTER, "is not a condition"),
    # comments
    Attack(
        "line-comment",
        sql("severity = 'high' -- OR true"),
        FILTER,
        "comments are not allowed in a condition",
    ),
    Attack(
        "block-comment",
        sql("/* hidden */ severity = 'high'"),
        FILTER,
        "comments are not allowed in a condition",
    ),
    # unicode tricks
    Attack(
        "fullwidth-select",
        sql("severity IN (ＳＥＬＥＣＴ role FROM users)"),
        FILTER,
        "cannot parse the condition",
    ),
    Attack("fullwidth-equals", sql("severity ＝ 'high'"), FILTER, "cannot parse the condition"),
    Attack(
        "homoglyph-column",
        sql("ѕeverity = 'high'"),
        FILTER,  # Cyrillic ѕ
        "unknown column 'ѕeverity' in source 'incidents'",
    ),
    Attack(
        "zero-width-space",
        sql("sever\u200bity = 'high'"),
        FILTER,
        "unknown column 'sever\\u200bity' in source 'incidents'",
    ),
    Attack(
        "rtl-override", sql("severity = 'high' \u202e OR 1=1"), FILTER, "cannot parse the condition"
    ),
    # outside the declared sources and columns
    Attack(
        "column-password_hash",
        sql("password_hash = 'x'"),
        FILTER,
        "unknown column 'password_hash' in source 'incidents'",
    ),
    Attack(
        "qualified-users-column",
        sql('"users"."password_hash" = \'x\''),
        FILTER,
        'write columns without a table name: "users"."password_hash"',
    ),
    Attack(
        "source-users",
        metric(measure={"source": "users", "agg": "count"}),
        "metrics[0].measure.source",
        "unknown source 'users'",
    ),
    Attack(
        "source-audit_log",
        metric(measure={"source": "audit_log", "agg": "count"}),
        "metrics[0].measure.source",
        "unknown source 'audit_log'",
    ),
    Attack(
        "ratio-denominator-users",
        metric(
            type="ratio",
            unit="percent",
            measure=None,
            numerator={"source": "incidents"},
            denominator={"source": "user_sessions"},
        ),
        "metrics[0].denominator.source",
        "unknown source 'user_sessions'",
    ),
    Attack(
        "expr-subquery",
        metric(
            measure={
                "source": "incidents",
                "agg": "max",
                "expr": "(SELECT max(password_hash) FROM users)",
            }
        ),
        "metrics[0].measure.expr",
        "unknown column '(SELECT max(password_hash) FROM users)'",
    ),
    Attack(
        "time-dimension-injection",
        metric(time_dimension="detected_on); DROP TABLE users; --"),
        "metrics[0].time_dimension",
        "unknown column 'detected_on); DROP TABLE users; --'",
    ),
    Attack(
        "field-password_hash",
        metric(
            measure={
                "source": "incidents",
                "agg": "count",
                "filters": [{"field": "password_hash", "op": "eq", "value": "x"}],
            }
        ),
        "metrics[0].measure.filters[0].field",
        "unknown column 'password_hash'",
    ),
    Attack(
        "snapshot-injection",
        metric(
            type="snapshot", snapshot={"opened": "detected_on", "closed": "resolved_on OR true"}
        ),
        "metrics[0].snapshot.closed",
        "unknown column 'resolved_on OR true'",
    ),
    Attack(
        "name-injection",
        metric(name="x; DROP TABLE users"),
        "metrics[0].name",
        "String should match pattern",
    ),
    # expensive functions, casts, nesting
    Attack(
        "catastrophic-regex",
        sql("regexp_matches(title, '(a+)+$')"),
        FILTER,
        "is not allowed in a condition",
    ),
    Attack(
        "repeat",
        sql("length(repeat(title, 100000000)) > 0"),
        FILTER,
        "function repeat is not allowed in a condition",
    ),
    Attack("cast-blob", sql("CAST(title AS BLOB) = 'x'"), FILTER, "cast to BLOB is not allowed"),
    Attack(
        "lambda",
        sql("list_filter([1], x -> x > 0) IS NOT NULL"),
        FILTER,
        "lambda is not allowed in a condition",
    ),
    Attack(
        "deep-brackets",
        sql("(" * 480 + "severity = 'high'" + ")" * 480),
        FILTER,
        "the condition nests brackets more than 20 deep",
    ),
    Attack(
        "deep-not",
        sql("NOT " * 240 + "severity = 'high'"),
        FILTER,
        "the condition nests too deeply",
    ),
    Attack(
        "deep-negation",
        sql("days_to_resolve = " + "- " * 480 + "1"),
        FILTER,
        "the condition nests too deeply",
    ),
    Attack("dollar-string", sql("title = $$x$$"), FILTER, "rawstring is not allowed"),
    Attack("unknown-variable", sql("severity = $secret"), FILTER, "unknown variable $secret"),
    # the YAML itself
    Attack(
        "python-tag",
        "schema_version: 1\nmetrics: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
        "<file>",
        "could not determine a constructor",
    ),
    Attack("billion-laughs", BILLION_LAUGHS, "metrics[0]", "valid dictionary"),
]


def _problems(con, text: str) -> list[str]:
    started = time.monotonic()
    problems = [str(p) for p in validate_metric_file(con, text)]
    assert time.monotonic() - started < 5, "validation must stay fast"
    return problems


@pytest.fixture(scope="module")
def victim_template(tmp_path_factory) -> Path:
    """A database with data in the sources and in the tables an attacker would want."""
    path = tmp_path_factory.mktemp("sandbox") / "victim.duckdb"
    with store.open_db(path) as con:
        ingest.import_file(
            con,
            "systems",
            b"system_id,name,risk_level\nS1,Scorer,high\n",
            "test",
            file_name="systems.csv",
        )
        ingest.import_file(
            con,
            "incidents",
            b"incident_id,system_id,title,severity,detected_on\n"
            b"I1,S1,Drift,high,2025-01-10\nI2,S1,Leak,low,2025-02-10\nI3,S1,x' OR '1'='1,low,2025-04-10\n",
            "test",
            file_name="incidents.csv",
        )
        auth.add_user(con, "root", "admin", "sandbox password 1", actor="system")
    return path


@pytest.fixture
def victim(victim_template, tmp_path) -> Path:
    import shutil

    path = tmp_path / "victim.duckdb"
    shutil.copyfile(victim_template, path)
    return path


def test_the_corpus_is_large_enough():
    assert len(ATTACKS) >= 25
    assert len({a.id for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_definition_is_rejected_at_its_path_and_changes_nothing(victim, attack):
    text = document(attack.definition)
    before = dump_db(victim)
    with store.open_db(victim) as con:
        problems = _problems(con, text)
        assert any(p.startswith(f"{attack.path}: ") and attack.message in p for p in problems), (
            problems
        )
        with pytest.raises(ValueError) as refused:
            apply_metric_file(con, text, "mallory", "attack")
        assert attack.path in str(refused.value)
        # The editor's live preview refuses the same definition (when it has the metric shape).
        if isinstance(attack.definition, dict):
            try:
                definition = MetricDefinition.model_validate(attack.definition)
            except ValidationError:
                definition = None
            if definition is not None:
                with pytest.raises(MetricError):
                    evaluate.preview_definition(con, definition, QUARTERS)
    assert dump_db(victim) == before
    assert not Path("/tmp/pwned").exists()


CONTAINED = [
    # (id, definition, expected count in 2025Q1): literals are bound parameters, never SQL.
    (
        "quote-injection-value",
        metric(
            measure={
                "source": "incidents",
                "agg": "count",
                "filters": [{"field": "title", "op": "eq", "value": "x' OR '1'='1"}],
            }
        ),
        0,
    ),
    ("quote-injection-in-condition", sql("title = 'x'' OR ''1''=''1'"), 0),
    ("semicolon-in-a-string", sql("title = 'a'';DROP TABLE users;--'"), 0),
    (
        "url-as-a-value",
        metric(
            measure={
                "source": "incidents",
                "agg": "count",
                "filters": [{"field": "title", "op": "eq", "value": "http://evil.example/x"}],
            }
        ),
        0,
    ),
    ("rtl-override-in-a-literal", sql("severity = 'hi\u202egh'"), 0),
    ("like-backtracking", sql("title LIKE '%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b'"), 0),
    (
        "html-and-sql-in-text-fields",
        metric(
            label="<script>alert(1)</script>",
            description="'); DROP TABLE users; --",
            owner="<img src=x onerror=alert(1)>",
        ),
        2,
    ),
]


@pytest.mark.parametrize(
    ("definition", "expected"), [c[1:] for c in CONTAINED], ids=[c[0] for c in CONTAINED]
)
def test_contained_definition_reads_only_its_source_and_changes_only_the_catalog(
    victim, definition, expected
):
    text = document(definition)
    before = dump_db(victim)
    with store.open_db(victim) as con:
        assert _problems(con, text) == []
        preview = evaluate.preview_definition(
            con, MetricDefinition.model_validate(definition), QUARTERS
        )
        assert preview[0].problem is None
        assert preview[0].value == expected
        assert apply_metric_file(con, text, "mallory", "contained") == [("attack", 1)]
    after = dump_db(victim)
    changed = {table for table in before if before[table] != after[table]}
    assert changed == {"metric_definitions", "audit_log"}


def test_an_attack_file_through_the_cli_names_the_path_and_exits_1(victim, tmp_path):
    attack_file = tmp_path / "attack.yaml"
    attack_file.write_text(document(sql("severity IN (SELECT password_hash FROM users)")))
    before = dump_db(victim)
    for action in ("validate", "apply"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "aims_metrics",
                "--db",
                str(victim),
                "metrics",
                action,
                str(attack_file),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, result
        assert (
            f"{FILTER}: subqueries are not allowed in a condition" in result.stdout + result.stderr
        )
        assert "Traceback" not in result.stderr
    assert dump_db(victim) == before


# --- a runaway metric ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_db(tmp_path_factory) -> Path:
    """300,000 long-titled incidents: an allowed but slow condition takes seconds here."""
    path = tmp_path_factory.mktemp("runaway") / "big.duckdb"
    with store.open_db(path) as con:
        con.execute(
            "INSERT INTO systems (system_id, name, risk_level) VALUES ('S1', 'Scorer', 'high')"
        )
        con.execute(
            "INSERT INTO incidents (incident_id, system_id, title, severity, detected_on) "
            "SELECT 'I' || i, 'S1', repeat('a', 300) || i, 'low', DATE '2025-01-01' + (i % 90)::INT "
            "FROM range(300000) t(i)"
        )
    return path


def _case_changes(depth: int) -> list[str]:
    """title under every distinct chain of lower()/upper() calls (no common subexpressions)."""
    chains = ["title"]
    for _ in range(depth):
        chains = [f"{f}({c})" for c in chains for f in ("lower", "upper")]
    return chains


# Allowed, but every row's 300-character title goes through 16 distinct case-change chains:
# seconds of work on big_db, far beyond the limits below.
RUNAWAY = sql(" OR ".join(f"{chain} LIKE '%b%'" for chain in _case_changes(4)))


def test_a_runaway_preview_is_interrupted_reported_and_the_connection_stays_usable(
    big_db, monkeypatch
):
    limit = 0.3
    monkeypatch.setattr(
        evaluate, "evaluate_series", functools.partial(evaluate.evaluate_series, seconds=limit)
    )
    definition = MetricDefinition.model_validate(RUNAWAY)
    with store.open_db(big_db) as con:
        entries = len(store.audit_entries(con))
        assert _problems(con, document(RUNAWAY)) == []  # the file itself is allowed
        started = time.monotonic()
        with pytest.raises(MetricTimeout, match=f"took longer than {limit:g} s and was stopped"):
            evaluate.preview_definition(con, definition, QUARTERS)
        assert time.monotonic() - started < 5
        # Not left inside a transaction or interrupted: the next query works.
        assert con.execute("SELECT count(*) FROM systems").fetchall() == [(1,)]
        store.record_audit(con, "tester", "test.after_timeout", "x")
        assert len(store.audit_entries(con)) == entries + 1
        assert con.execute("SELECT count(*) FROM incidents").fetchall() == [(300_000,)]


def test_a_runaway_catalog_metric_is_reported_by_the_kpis_cli(big_db, tmp_path):
    """A saved runaway metric: `kpis` stops it at the time limit and says so (no traceback)."""
    import shutil

    db = tmp_path / "big.duckdb"
    shutil.copyfile(big_db, db)
    with store.open_db(db) as con:
        apply_metric_file(con, document(RUNAWAY), "mallory", "runaway")
    code = (
        "import functools, sys\n"
        "from aims_metrics.metrics import evaluate\n"
        "evaluate.evaluate_series = functools.partial(evaluate.evaluate_series, seconds=1.0)\n"
        "from aims_metrics.cli import main\n"
        f"sys.exit(main(['--db', {str(db)!r}, 'kpis', '--quarter', '2025Q1']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result
    assert "took longer than 1 s and was stopped" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_runaway_metric_in_a_large_catalog_is_stopped(big_db, tmp_path):
    """The time limit interrupts the catalog query, whose transaction ends: the connection goes
    on working."""
    import shutil

    db = tmp_path / "big.duckdb"
    shutil.copyfile(big_db, db)
    with store.open_db(db) as con:
        apply_metric_file(con, document(RUNAWAY), "mallory", "runaway")
        definitions = evaluate.current(con, None)
        started = time.monotonic()
        with pytest.raises(MetricTimeout, match="took longer than 0.5 s and was stopped"):
            evaluate.evaluate_series(con, definitions, QUARTERS, seconds=0.5)
        assert time.monotonic() - started < 5
        store.record_audit(con, "tester", "test.after_timeout", "x")
        assert con.execute("SELECT count(*) FROM incidents").fetchall() == [(300_000,)]


def test_the_metric_editor_reports_a_runaway_preview(app_db, monkeypatch):
    """The page says the preview was stopped; it does not fall over into a generic error."""
    from streamlit.testing.v1 import AppTest

    from pages import _ui
    from tests.conftest import app_usernames

    def runaway(*args, **kwargs):
        raise MetricTimeout("metric evaluation took longer than 30 s and was stopped")

    monkeypatch.setattr(evaluate, "preview_definition", runaway)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[_ui.USER_KEY] = app_usernames()["analyst"]
    at.run()
    at.switch_page("pages/metrics.py").run()
    at.selectbox(key="metrics_pick").select("incidents_total").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(
        e.startswith("The preview cannot be computed: metric evaluation took longer")
        for e in errors
    ), errors
    assert not any("Something went wrong" in e for e in errors), errors
