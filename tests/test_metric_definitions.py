"""Metric definitions: shape, reference rules (one test per rule with its message), dry run,
versioned storage, the shipped catalog and its lock."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml

import aims_metrics.review  # noqa: F401  (its migration creates review_actions, a shipped source)
from aims_metrics import store
from aims_metrics.metrics.catalog import (
    content_hash,
    current_definitions,
    definition_history,
    install_shipped_catalog,
    restore_version,
    save_definition,
    shipped_catalog,
)
from aims_metrics.metrics.compiler import compile_series
from aims_metrics.metrics.definition_files import (
    definition_to_yaml,
    describe_filter,
    parse_metric_file,
)
from aims_metrics.metrics.editing import apply_metric_file, validate_metric_file
from aims_metrics.metrics.models import Filter, MetricDefinition
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.sources import shipped_sources
from aims_metrics.tables.registry import clause_refs

BASE = {
    "name": "high_severity_incidents_x",
    "label": "High-severity AI incidents",
    "description": "Incidents of severity high or critical.",
    "owner": "Head of AI Risk",
    "clause": "9.1",
    "version": 1,
    "type": "simple",
    "unit": "count",
    "direction": "lower_is_better",
    "target": 0,
    "thresholds": {"green": {"lte": 0}, "amber": {"lte": 2}},
    "time_dimension": "detected_on",
    "measure": {
        "source": "incidents",
        "agg": "count",
        "filters": [{"field": "severity", "op": "in", "value": ["high", "critical"]}],
    },
}


def metric_file(*metrics: dict) -> str:
    return yaml.safe_dump({"schema_version": 1, "metrics": list(metrics)}, sort_keys=False)


def with_changes(**changes) -> dict:
    data = json.loads(json.dumps(BASE))
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


DELETE = object()


@pytest.fixture
def con(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as connection:
        yield connection


def test_a_valid_file_has_no_problems(con):
    assert validate_metric_file(con, metric_file(BASE)) == []


# One case per rule: (changes to BASE, expected "path: message").
RULES = [
    (
        {"colour": "red"},
        "metrics[0].colour: unknown field 'colour' (not part of the metric format)",
    ),
    ({"label": DELETE}, "metrics[0].label: label is required"),
    ({"name": "High Severity"}, "metrics[0].name: String should match pattern '^[a-z][a-z0-9_]*$'"),
    ({"unit": "hours"}, "metrics[0].unit: Input should be 'count', 'percent' or 'days'"),
    (
        {"measure__agg": "mode"},
        "metrics[0].measure.agg: Input should be 'count', 'count_distinct', 'sum', 'average', 'median', 'p90', 'min' or 'max'",
    ),
    (
        {"measure__filters": [{"field": "severity", "op": "like", "value": "h"}]},
        "metrics[0].measure.filters[0].op: Input should be 'eq', 'neq', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'is_null', 'is_not_null', 'is_true' or 'is_false'",
    ),
    (
        {"measure__filters": [{"field": "severity", "op": "in", "value": "high"}]},
        "metrics[0].measure.filters[0]: op in needs a list value, e.g. [a, b]",
    ),
    (
        {"measure__filters": [{"field": "resolved_on", "op": "is_null", "value": "x"}]},
        "metrics[0].measure.filters[0]: op is_null takes no value",
    ),
    (
        {"measure__filters": [{"field": "severity", "op": "eq", "value": ["high"]}]},
        "metrics[0].measure.filters[0]: op eq takes one value, not a list (use in)",
    ),
    ({"type": "ratio"}, "metrics[0]: type ratio needs numerator and denominator"),
    (
        {"type": "snapshot"},
        "metrics[0]: type snapshot needs snapshot: {opened: FIELD, closed: FIELD}",
    ),
    (
        {"thresholds": {"green": {"lte": 0, "gte": 1}}},
        "metrics[0].thresholds.green: a threshold is exactly one of {gte: X} or {lte: X}",
    ),
    (
        {"clause": "9.9"},
        "metrics[0].clause: unknown clause '9.9': use an ISO/IEC 42001 clause or Annex A control such as 9.1 or A.6.2.4",
    ),
    ({"grain": "week"}, "metrics[0].grain: Input should be 'quarter', 'month' or 'year'"),
    (
        {"measure__source": "tickets"},
        "metrics[0].measure.source: unknown source 'tickets': use one of assessments, bias_tests, findings, incidents, review_actions, systems",
    ),
    (
        {"measure__filters": [{"field": "sev", "op": "eq", "value": "high"}]},
        "metrics[0].measure.filters[0].field: unknown column 'sev' in source 'incidents'",
    ),
    (
        {"measure__filters": [{"field": "severity", "op": "in", "value": ["high", "urgent"]}]},
        "metrics[0].measure.filters[0].value[1]: 'urgent' is not a valid severity: use one of critical, high, medium, low",
    ),
    (
        {"measure__filters": [{"field": "resolved_on", "op": "lt", "value": "soon"}]},
        "metrics[0].measure.filters[0].value: 'soon' is not a date (YYYY-MM-DD) for resolved_on",
    ),
    (
        {"measure__filters": [{"field": "days_to_resolve", "op": "gt", "value": "ten"}]},
        "metrics[0].measure.filters[0].value: 'ten' is not a number for days_to_resolve",
    ),
    (
        {"measure__filters": [{"field": "severity", "op": "is_true"}]},
        "metrics[0].measure.filters[0].op: op is_true needs a true/false column; severity is enum",
    ),
    (
        {"measure__filters": [{"field": "severity", "op": "lt", "value": "$period_end"}]},
        "metrics[0].measure.filters[0].value: $period_end can only be compared with a date column; severity is enum",
    ),
    (
        {"measure__filters": [{"field": "resolved_on", "op": "lt", "value": "$today"}]},
        "metrics[0].measure.filters[0].value: unknown variable $today: use $period_start or $period_end",
    ),
    (
        {"time_dimension": DELETE},
        "metrics[0].time_dimension: measure needs a time_dimension (a date column of incidents) or a snapshot block",
    ),
    (
        {"time_dimension": "severity"},
        "metrics[0].time_dimension: time_dimension must be a date column; severity in incidents is enum",
    ),
    (
        {"measure__agg": "average"},
        "metrics[0].measure.expr: agg average needs expr: a declared column of incidents",
    ),
    (
        {"measure__agg": "sum", "measure__expr": "severity"},
        "metrics[0].measure.expr: agg sum needs a numeric column; severity is enum",
    ),
    (
        {"measure__expr": "severity"},
        "metrics[0].measure.expr: agg count counts rows and takes no expr (use count_distinct)",
    ),
    (
        {"measure__snapshot": {"opened": "detected_on", "closed": "resolved_on"}},
        "metrics[0].measure.snapshot: a snapshot block here is only allowed in a ratio's numerator or denominator (for a snapshot metric put it at the metric level with type: snapshot)",
    ),
    (
        {"type": "snapshot", "snapshot": {"opened": "severity", "closed": "resolved_on"}},
        "metrics[0].snapshot.opened: snapshot opened must be a date column; severity in incidents is enum",
    ),
    (
        {"thresholds": {"green": {"gte": 0}}},
        "metrics[0].thresholds.green: a lower_is_better metric uses lte thresholds",
    ),
    (
        {"thresholds": {"green": {"lte": 2}, "amber": {"lte": 1}}},
        "metrics[0].thresholds.amber: amber (1) must be looser than green (2) for a lower_is_better metric",
    ),
    (
        {"thresholds": DELETE, "target": DELETE},
        "metrics[0]: give thresholds or a target so that a value can be judged",
    ),
    (
        {"measure__filters": [{"sql": "getenv('HOME') = 'x'"}]},
        "metrics[0].measure.filters[0].sql: function getenv() is not allowed in a condition",
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"), RULES, ids=[r[1].split(":")[0] + "|" + r[1][-30:] for r in RULES]
)
def test_each_rule_reports_its_message_at_its_path(con, changes, expected):
    problems = [str(p) for p in validate_metric_file(con, metric_file(with_changes(**changes)))]
    assert expected in problems


def test_duplicate_names_are_reported(con):
    problems = [str(p) for p in validate_metric_file(con, metric_file(BASE, BASE))]
    assert problems == [
        "metrics[1].name: metric 'high_severity_incidents_x' appears more than once (also metrics[0])"
    ]


def test_every_problem_is_reported_at_once(con):
    bad = with_changes(
        clause="99", unit="hours", measure__filters=[{"field": "x", "op": "eq", "value": 1}]
    )
    bad2 = with_changes(name="other_metric", measure__source="nowhere")
    problems = [str(p) for p in validate_metric_file(con, metric_file(bad, bad2))]
    assert "metrics[0].unit: Input should be 'count', 'percent' or 'days'" in problems
    # metric 0's shape is invalid, so its references wait; metric 1's are checked in the same pass
    assert (
        "metrics[1].measure.source: unknown source 'nowhere': use one of assessments, bias_tests, findings, incidents, review_actions, systems"
        in problems
    )
    assert not any(p.startswith("metrics[0].clause:") for p in problems)
    bad["unit"] = "count"
    problems = [str(p) for p in validate_metric_file(con, metric_file(bad, bad2))]
    assert any(p.startswith("metrics[0].clause:") for p in problems)
    assert any(p.startswith("metrics[0].measure.filters[0].field:") for p in problems)
    assert any(p.startswith("metrics[1].measure.source:") for p in problems)


def test_yaml_syntax_error_names_the_line(con):
    problems = [
        str(p) for p in validate_metric_file(con, "schema_version: 1\nmetrics: [\n  - a: b\n")
    ]
    assert len(problems) == 1 and problems[0].startswith("<file>: not valid YAML: line")


def test_missing_table_is_a_validation_problem_not_a_crash(con):
    con.execute("DROP TABLE findings")
    data = with_changes(measure__source="findings", time_dimension="raised_on", measure__filters=[])
    problems = [str(p) for p in validate_metric_file(con, metric_file(data))]
    assert problems == [
        "metrics[0].measure.source: source 'findings' reads table findings, which does not exist "
        "in this database yet"
    ]


def test_a_column_missing_from_the_table_is_a_problem(con):
    con.execute("ALTER TABLE incidents DROP COLUMN severity")
    problems = [str(p) for p in validate_metric_file(con, metric_file(BASE))]
    assert problems == [
        "metrics[0].measure.source: table incidents lacks column severity declared by source 'incidents'"
    ]


# --- the shipped catalog -------------------------------------------------------------------


def test_shipped_catalog_starts_with_the_fourteen_metrics_of_issue_3():
    assert [d.name for d in shipped_catalog()][:14] == [
        "incidents_total",
        "high_severity_incidents",
        "incident_mean_days_to_resolve",
        "open_incidents",
        "bias_test_pass_rate",
        "high_risk_bias_tested_before_deployment",
        "assessments_completed",
        "assessments_overdue",
        "high_risk_systems_assessed",
        "open_nonconformities",
        "open_major_nonconformities",
        "overdue_corrective_actions",
        "major_nc_mean_days_to_close",
        "findings_raised",
    ]


@pytest.mark.parametrize("definition", shipped_catalog(), ids=lambda d: d.name)
def test_every_shipped_metric_is_documented_and_compiles(con, definition):
    assert definition.description.strip()
    assert definition.owner.strip()
    assert definition.clause in clause_refs()
    assert definition.thresholds is not None and definition.target is not None
    compile_series(definition, shipped_sources(), [Quarter(2025, 3)])
    text = metric_file(definition.model_dump(mode="json", exclude_none=True))
    assert validate_metric_file(con, text) == []


def test_shipped_definitions_do_not_change_without_a_version_bump():
    lock_text = resources.files("aims_metrics.metrics").joinpath("catalog.lock.json").read_text()
    lock = json.loads(lock_text)
    current = {
        d.name: {"version": d.version, "content_hash": content_hash(d)} for d in shipped_catalog()
    }
    for name, entry in current.items():
        if name in lock and lock[name]["version"] == entry["version"]:
            assert lock[name]["content_hash"] == entry["content_hash"], (
                f"{name} changed without a version bump: bump its version in catalog.yaml and "
                "update catalog.lock.json"
            )
    assert current == lock, (
        f"update catalog.lock.json to {json.dumps(current, indent=2, sort_keys=True)}"
    )


def test_shipped_sources_declare_the_computed_columns():
    sources = shipped_sources()
    assert sources["incidents"].column("days_to_resolve").expr
    assert sources["findings"].column("days_to_close").expr
    assert sources["systems"].column("bias_tested_before_deployment").type == "bool"


# --- versioned storage ---------------------------------------------------------------------


def test_install_is_idempotent(con):
    shipped = len(shipped_catalog())
    assert install_shipped_catalog(con) == shipped >= 14
    assert install_shipped_catalog(con) == 0
    assert con.execute("SELECT count(*) FROM metric_definitions").fetchone() == (shipped,)


def test_apply_saves_changed_content_only_and_audits(con):
    install_shipped_catalog(con)
    assert apply_metric_file(con, metric_file(BASE), "ana", "new metric") == [
        ("high_severity_incidents_x", 1)
    ]
    assert apply_metric_file(con, metric_file(BASE), "ana", "again") == []
    changed = with_changes(target=1, thresholds={"green": {"lte": 1}, "amber": {"lte": 3}})
    assert apply_metric_file(con, metric_file(changed), "bob", "looser") == [
        ("high_severity_incidents_x", 2)
    ]
    history = definition_history(con, "high_severity_incidents_x")
    assert [(v.version, v.author, v.reason) for v in history] == [
        (1, "ana", "new metric"),
        (2, "bob", "looser"),
    ]
    assert history[1].definition.target == 1
    audits = con.execute(
        "SELECT username, action, target FROM audit_log WHERE target = 'high_severity_incidents_x' "
        "ORDER BY entry_id"
    ).fetchall()
    assert audits == [
        ("ana", "metric.save", "high_severity_incidents_x"),
        ("bob", "metric.save", "high_severity_incidents_x"),
    ]
    assert current_definitions(con)[-1].version == 2


def test_invalid_apply_changes_nothing(con):
    bad = with_changes(clause="99")
    with pytest.raises(ValueError, match="unknown clause"):
        apply_metric_file(con, metric_file(BASE, bad | {"name": "second"}), "ana")
    assert con.execute("SELECT count(*) FROM metric_definitions").fetchone() == (0,)


def test_editing_a_shipped_metric_keeps_the_shipped_version_in_history(con):
    shipped = {d.name: d for d in shipped_catalog()}["incidents_total"]
    edited = shipped.model_copy(update={"target": 12})
    assert save_definition(con, edited, "ana", "more incidents expected") == 2
    history = definition_history(con, "incidents_total")
    assert [(v.version, v.definition.target) for v in history] == [(1, 10), (2, 12)]


def test_restore_makes_a_new_version_with_old_content(con):
    install_shipped_catalog(con)
    shipped = {d.name: d for d in shipped_catalog()}["incidents_total"]
    save_definition(con, shipped.model_copy(update={"target": 12}), "ana", "try")
    assert restore_version(con, "incidents_total", 1, "bob", "back") == 3
    history = definition_history(con, "incidents_total")
    assert history[-1].definition.target == 10
    assert history[-1].reason == "restored version 1: back"
    assert history[-1].content_hash == history[0].content_hash


def test_yaml_round_trip(con):
    definition = MetricDefinition.model_validate(BASE)
    metric_file_back, problems = parse_metric_file(definition_to_yaml(definition))
    assert problems == []
    assert metric_file_back.metrics[0] == definition


@pytest.mark.parametrize(
    ("flt", "sentence"),
    [
        (
            {"field": "severity", "op": "in", "value": ["high", "critical"]},
            "severity is one of high, critical",
        ),
        ({"field": "severity", "op": "not_in", "value": ["low"]}, "severity is none of low"),
        ({"field": "status", "op": "neq", "value": "cancelled"}, "status is not cancelled"),
        (
            {"field": "due_on", "op": "lt", "value": "$period_end"},
            "due_on is before the period end",
        ),
        (
            {"field": "raised_on", "op": "gte", "value": "2025-01-01"},
            "raised_on is on or after 2025-01-01",
        ),
        ({"field": "days_to_close", "op": "gt", "value": 30}, "days_to_close is greater than 30"),
        ({"field": "resolved_on", "op": "is_null"}, "resolved_on is empty"),
        ({"field": "passed", "op": "is_true"}, "passed is true"),
        ({"sql": "severity = 'high'"}, "condition: severity = 'high'"),
    ],
)
def test_describe_filter(flt, sentence):
    assert describe_filter(Filter.model_validate(flt)) == sentence


def test_the_editor_text_is_bounded_like_a_file(con):
    """The app's editor validates text, not a file: the same size and count bounds apply, before
    any per-metric work."""
    import time

    many = metric_file(*(with_changes(name=f"m_{i}") for i in range(201)))
    started = time.monotonic()
    assert [str(p) for p in validate_metric_file(con, many)] == [
        "metrics: 201 metrics; a file holds at most 200 — split it into smaller files"
    ]
    huge = "schema_version: 1\nmetrics: []\n" + "# x\n" * 300_000
    assert [str(p) for p in validate_metric_file(con, huge)] == [
        "<file>: the file is 1.2 MB; the limit is 1 MB — split it into smaller files"
    ]
    assert time.monotonic() - started < 30  # generous: refused before any per-metric work


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"label": " \t"}, "metrics[0].label: label is required (it is blank)"),
        ({"target": float("nan")}, "metrics[0].target: must be a finite number, not nan"),
        (
            {"thresholds__green__gte": float("inf")},
            "metrics[0].thresholds.green.gte: must be a finite number, not inf",
        ),
        ({"version": 10**10}, "metrics[0].version: must be at most 1,000,000"),
        (
            {"owner": "Ana\nBen"},
            "metrics[0].owner: contains a control character U+000A (control character): write it on one line",
        ),
    ],
)
def test_text_numbers_and_versions_are_checked_where_they_enter(con, changes, expected):
    assert expected in [
        str(p) for p in validate_metric_file(con, metric_file(with_changes(**changes)))
    ]


def test_whitespace_around_names_and_values_is_not_part_of_them():
    parsed, problems = parse_metric_file(
        metric_file(
            with_changes(name="high_severity_incidents_x\t", owner="\u00a0Head of AI Risk ")
        )
    )
    assert problems == []
    assert (parsed.metrics[0].name, parsed.metrics[0].owner) == (
        "high_severity_incidents_x",
        "Head of AI Risk",
    )
