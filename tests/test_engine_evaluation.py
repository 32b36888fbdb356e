"""Evaluation: drill-down rows, previews, new sources whose table is missing, applied metrics."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from aims_metrics import store
from aims_metrics.metrics.catalog import shipped_catalog
from aims_metrics.metrics.compiler import MetricError
from aims_metrics.metrics.editing import apply_metric_file
from aims_metrics.metrics.evaluate import (
    catalog_series,
    evaluate_series,
    kpis_for_quarter,
    metric_records,
    preview_definition,
)
from aims_metrics.metrics.models import MetricDefinition, Source, SourceColumn
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.sources import shipped_sources
from aims_metrics.metrics.status import KpiStatus
from tests.test_catalog_known_answers import load_known_answer_data

Q2, Q3 = Quarter(2025, 2), Quarter(2025, 3)


@pytest.fixture
def con(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as connection:
        load_known_answer_data(connection)
        yield connection


def test_drill_down_lists_the_rows_behind_a_count(con):
    rows = metric_records(con, "open_nonconformities", Q3)
    assert sorted(rows["finding_id"]) == ["f2", "f6", "f8"]
    assert "days_to_close" in rows.columns


def test_drill_down_of_a_ratio_marks_numerator_rows(con):
    rows = metric_records(con, "high_risk_bias_tested_before_deployment", Q3)
    assert dict(zip(rows["system_id"], rows["in_numerator"], strict=True)) == {
        "S1": True,
        "S3": False,
    }


def test_unknown_metric_is_a_clear_error(con):
    with pytest.raises(MetricError, match="unknown metric"):
        metric_records(con, "nope", Q3)


def test_preview_evaluates_an_unsaved_definition(con):
    base = {d.name: d for d in shipped_catalog()}["incidents_total"]
    data = base.model_dump()
    data["name"] = "low_incidents"
    data["measure"]["filters"] = [{"field": "severity", "op": "eq", "value": "low"}]
    edited = MetricDefinition.model_validate(data)
    results = preview_definition(con, edited, [Q2, Q3])
    assert [r.value for r in results] == [2, 0]  # i2, i6 in Q2; none in Q3


def test_preview_refuses_an_invalid_definition(con):
    base = {d.name: d for d in shipped_catalog()}["incidents_total"]
    bad = MetricDefinition.model_validate(base.model_dump() | {"time_dimension": "severity"})
    with pytest.raises(MetricError, match="time_dimension must be a date column"):
        preview_definition(con, bad, [Q3])


def test_a_source_whose_table_does_not_exist_yet_gives_no_data(con):
    sources = dict(shipped_sources())
    sources["future_actions"] = Source(
        name="future_actions",
        table="future_actions",
        columns=(
            SourceColumn(name="due_on", type="date"),
            SourceColumn(name="closed_on", type="date"),
        ),
    )
    definition = MetricDefinition.model_validate(
        {
            "name": "future_actions_due",
            "label": "Future actions due",
            "description": "d",
            "owner": "o",
            "clause": "9.3.3",
            "type": "simple",
            "unit": "count",
            "direction": "higher_is_better",
            "target": 1,
            "time_dimension": "due_on",
            "measure": {"source": "future_actions"},
        }
    )
    catalog = [*shipped_catalog()[:1], definition]
    results = evaluate_series(con, catalog, [Q3], sources)
    (missing,) = results["future_actions_due"]
    assert missing.status is KpiStatus.NO_DATA
    assert "table future_actions, which does not exist" in missing.problem
    assert results["incidents_total"][0].value == 2  # the rest of the catalog is unaffected
    con.execute("CREATE TABLE future_actions (due_on DATE, closed_on DATE)")
    con.execute("INSERT INTO future_actions VALUES ('2025-08-01', NULL)")
    (found,) = evaluate_series(con, [definition], [Q3], sources)["future_actions_due"]
    assert found.value == 1 and found.problem is None


def test_an_applied_metric_appears_in_kpis(con):
    text = yaml.safe_dump(
        {
            "schema_version": 1,
            "metrics": [
                {
                    "name": "production_bias_failures",
                    "label": "Production bias-test failures",
                    "description": "Failed production bias tests executed in the quarter.",
                    "owner": "Responsible AI Lead",
                    "clause": "A.6.2.6",
                    "type": "simple",
                    "unit": "count",
                    "direction": "lower_is_better",
                    "target": 0,
                    "thresholds": {"green": {"lte": 0}, "amber": {"lte": 1}},
                    "time_dimension": "executed_on",
                    "measure": {
                        "source": "bias_tests",
                        "filters": [
                            {"field": "stage", "op": "eq", "value": "production"},
                            {"field": "passed", "op": "is_false"},
                        ],
                    },
                }
            ],
        }
    )
    assert apply_metric_file(con, text, "ana", "new") == [("production_bias_failures", 1)]
    by_name = {r.name: r for r in kpis_for_quarter(con, Q3)}
    assert by_name["production_bias_failures"].value == 0
    assert by_name["production_bias_failures"].previous_value == 1  # b5 on 2025-06-30
    assert by_name["production_bias_failures"].status is KpiStatus.GREEN


def test_catalog_series_for_named_metrics_only(con):
    series = catalog_series(con, [Q2, Q3], ["findings_raised", "open_incidents"])
    assert list(series) == ["findings_raised", "open_incidents"]
    assert [r.quarter for r in series["findings_raised"]] == ["2025Q2", "2025Q3"]


def test_results_serialise_as_design_section_8(con):
    (result,) = catalog_series(con, [Q3], ["bias_test_pass_rate"])["bias_test_pass_rate"]
    assert result.to_json() == {
        "name": "bias_test_pass_rate",
        "label": "Bias test pass rate",
        "value": pytest.approx(0.75),
        "unit": "percent",
        "target": 0.95,
        "status": "red",
        "version": 1,
        "previous_value": pytest.approx(2 / 3),
    }


# --- the fused catalog query gives exactly the per-metric queries' values ---------------------


def _extra_definitions() -> list[MetricDefinition]:
    """Shapes the shipped catalog lacks: min/max/sum/median/distinct over windows and snapshots,
    filters on $period_start, a free-form SQL filter, a ratio over two sources."""
    common = {
        "label": "x",
        "description": "d",
        "owner": "o",
        "clause": "9.1",
        "direction": "lower_is_better",
    }
    specs = [
        {
            "name": "x_min_days",
            "type": "simple",
            "unit": "days",
            "time_dimension": "resolved_on",
            "measure": {"source": "incidents", "agg": "min", "expr": "days_to_resolve"},
        },
        {
            "name": "x_max_days_open",
            "type": "snapshot",
            "unit": "days",
            "snapshot": {"opened": "raised_on", "closed": "closed_on"},
            "measure": {"source": "findings", "agg": "max", "expr": "days_to_close"},
        },
        {
            "name": "x_sum_days",
            "type": "simple",
            "unit": "days",
            "time_dimension": "closed_on",
            "measure": {"source": "findings", "agg": "sum", "expr": "days_to_close"},
        },
        {
            "name": "x_median_value",
            "type": "simple",
            "unit": "days",
            "time_dimension": "executed_on",
            "measure": {"source": "bias_tests", "agg": "median", "expr": "value"},
        },
        {
            "name": "x_distinct_systems",
            "type": "simple",
            "unit": "count",
            "time_dimension": "detected_on",
            "measure": {"source": "incidents", "agg": "count_distinct", "expr": "system_id"},
        },
        {
            "name": "x_raised_after_start",
            "type": "snapshot",
            "unit": "count",
            "snapshot": {"opened": "raised_on", "closed": "closed_on"},
            "measure": {
                "source": "findings",
                "filters": [{"field": "raised_on", "op": "gte", "value": "$period_start"}],
            },
        },
        {
            "name": "x_sql_filter",
            "type": "simple",
            "unit": "count",
            "time_dimension": "detected_on",
            "measure": {"source": "incidents", "filters": [{"sql": "severity <> 'low'"}]},
        },
        {
            "name": "x_two_sources",
            "type": "ratio",
            "unit": "percent",
            "time_dimension": "detected_on",
            "numerator": {"source": "incidents"},
            "denominator": {"source": "findings", "time_dimension": "raised_on"},
        },
        # a mean of a DOUBLE column: per-group sums could round differently, so it reads the rows
        {
            "name": "x_mean_value",
            "type": "simple",
            "unit": "days",
            "time_dimension": "executed_on",
            "measure": {"source": "bias_tests", "agg": "average", "expr": "value"},
        },
        # month and year grains in the shared scan: event windows and $period_start
        {
            "name": "x_month_high",
            "type": "simple",
            "unit": "count",
            "time_dimension": "detected_on",
            "grain": "month",
            "measure": {
                "source": "incidents",
                "filters": [{"field": "severity", "op": "in", "value": ["high", "critical"]}],
            },
        },
        {
            "name": "x_month_sum_days",
            "type": "simple",
            "unit": "days",
            "time_dimension": "resolved_on",
            "grain": "month",
            "measure": {"source": "incidents", "agg": "sum", "expr": "days_to_resolve"},
        },
        {
            "name": "x_year_raised",
            "type": "simple",
            "unit": "count",
            "time_dimension": "raised_on",
            "grain": "year",
            "measure": {"source": "findings"},
        },
        {
            "name": "x_year_mean_days",
            "type": "simple",
            "unit": "days",
            "time_dimension": "closed_on",
            "grain": "year",
            "measure": {"source": "findings", "agg": "average", "expr": "days_to_close"},
        },
        {
            "name": "x_month_raised_after_start",
            "type": "snapshot",
            "unit": "count",
            "grain": "month",
            "snapshot": {"opened": "raised_on", "closed": "closed_on"},
            "measure": {
                "source": "findings",
                "filters": [{"field": "raised_on", "op": "gte", "value": "$period_start"}],
            },
        },
    ]
    return [MetricDefinition.model_validate(common | spec) for spec in specs]


def _per_metric(con, definitions, quarters):
    from aims_metrics.metrics.compiler import compile_series

    sources = shipped_sources()
    out = {}
    for definition in definitions:
        query = compile_series(definition, sources, quarters)
        out[definition.name] = con.execute(query.sql, query.params).fetchall()
    return out


def _period_filter_definitions() -> list[MetricDefinition]:
    """Every order comparison of a date with $period_start and $period_end, in every grain: the
    catalog scan compares each on quarter or month numbers of the groups, so each must
    count exactly the rows SQL's comparison keeps."""
    common = {
        "label": "x",
        "description": "d",
        "owner": "o",
        "clause": "9.1",
        "direction": "lower_is_better",
        "unit": "count",
    }
    specs = []
    for grain in ("quarter", "month", "year"):
        for op in ("lt", "lte", "gt", "gte"):
            for variable in ("$period_start", "$period_end"):
                specs.append(
                    {
                        "name": f"x_{grain}_due_{op}_{variable[8:]}",
                        "type": "snapshot",
                        "grain": grain,
                        "snapshot": {"opened": "raised_on", "closed": "closed_on"},
                        "measure": {
                            "source": "findings",
                            "filters": [{"field": "due_on", "op": op, "value": variable}],
                        },
                    }
                )
                specs.append(
                    {
                        "name": f"x_{grain}_closed_{op}_{variable[8:]}",
                        "type": "simple",
                        "grain": grain,
                        "time_dimension": "raised_on",
                        "measure": {
                            "source": "findings",
                            "filters": [{"field": "closed_on", "op": op, "value": variable}],
                        },
                    }
                )
    return [MetricDefinition.model_validate(common | spec) for spec in specs]


# Extras whose aggregates the catalog scan rebuilds from per-group parts; the others (a median, a
# distinct count, a free-form SQL filter) are evaluated by their own query.
_SCANNED_EXTRAS = {
    "x_min_days",
    "x_max_days_open",
    "x_sum_days",
    "x_raised_after_start",
    "x_two_sources",
    "x_month_high",
    "x_month_sum_days",
    "x_year_raised",
    "x_year_mean_days",
    "x_month_raised_after_start",
    "x_mean_value",
}
# Means of a DOUBLE column: the scan adds per-group sums, so the last bit may differ.
_FLOAT_SUMS = {"x_mean_value"}


@pytest.mark.parametrize(
    "catalog, start_month",
    [
        ("shipped", 1),
        ("shipped+scanned extras", 1),
        ("shipped+period filters", 1),
        ("shipped+period filters", 4),  # fiscal years from April
    ],
)
def test_the_catalog_scan_equals_the_per_metric_queries(demo_db_path, catalog, start_month):
    from aims_metrics.metrics.periods import last_completed_quarter, quarters_ending
    from aims_metrics.metrics.scan import compile_catalog

    quarters = quarters_ending(last_completed_quarter(start_month=start_month), 9)
    definitions = (
        shipped_catalog()
        + {
            "shipped": [],
            "shipped+scanned extras": [
                d for d in _extra_definitions() if d.name in _SCANNED_EXTRAS
            ],
            "shipped+period filters": _period_filter_definitions(),
        }[catalog]
    )
    with store.open_db(demo_db_path) as con:
        query = compile_catalog(definitions, shipped_sources(), quarters)
        values = query.values(con.execute(query.sql, query.params).fetchall())
        expected = _per_metric(con, definitions, quarters)
    assert list(query.names) == [d.name for d in definitions]
    for definition in definitions:
        got = [(q.label, values[definition.name][q.label]) for q in quarters]
        want = [(row[0], row[1]) for row in expected[definition.name]]
        if definition.name in _FLOAT_SUMS:  # floating-point addition in another order
            assert [label for label, _ in got] == [label for label, _ in want], definition.name
            assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-12)
        else:
            assert got == want, definition.name  # exact: same values, no rounding differences
        assert [type(v) for _, v in got] == [type(v) for _, v in want], definition.name


def test_which_shapes_the_catalog_scan_takes():
    from aims_metrics.metrics.scan import scannable

    sources = shipped_sources()
    assert all(scannable(d, sources) for d in shipped_catalog())
    taken = {d.name for d in _extra_definitions() if scannable(d, sources)}
    assert taken == _SCANNED_EXTRAS


def test_the_catalog_scan_refuses_a_shape_it_cannot_rebuild():
    from aims_metrics.metrics.scan import compile_catalog

    median = next(d for d in _extra_definitions() if d.measure and d.measure.agg == "median")
    with pytest.raises(MetricError, match=f"not evaluable in the catalog scan: {median.name}"):
        compile_catalog([median], shipped_sources(), [Q3])


def test_a_catalog_with_every_shape_gives_the_per_metric_figures(demo_db_path):
    """evaluate_series scans what it can and runs the rest on their own: same figures."""
    from aims_metrics.metrics.periods import last_completed_quarter, quarters_ending

    quarters = quarters_ending(last_completed_quarter(), 4)
    definitions = shipped_catalog() + _extra_definitions()
    with store.open_db(demo_db_path) as con:
        series = evaluate_series(con, definitions, quarters)
        expected = _per_metric(con, definitions, sorted(set(quarters) | {quarters[0].previous()}))
    for definition in definitions:
        want = {row[0]: row[1] for row in expected[definition.name]}
        typed = int if definition.unit == "count" else float
        got = [r.value for r in series[definition.name]]
        expected_values = [
            None if want[q.label] is None else typed(want[q.label]) for q in quarters
        ]
        assert [v is None for v in got] == [v is None for v in expected_values], definition.name
        assert [v for v in got if v is not None] == pytest.approx(
            [v for v in expected_values if v is not None], rel=1e-12
        ), definition.name


def test_a_failing_catalog_query_says_so_for_each_metric_it_covers(con, monkeypatch):
    """No silent fallback: a broken scan shows as a problem on every metric it covers (and no
    per-metric query is run instead)."""
    from aims_metrics.metrics import evaluate, scan

    scanned: list[str] = []

    def broken(definitions, sources, quarters):
        scanned.extend(d.name for d in definitions)
        return scan.CatalogQuery("SELECT * FROM no_such_table", {}, tuple(scanned))

    def refuse(*args, **kwargs):
        raise AssertionError("a scanned metric was evaluated on its own")

    monkeypatch.setattr(evaluate, "compile_catalog", broken)
    monkeypatch.setattr(evaluate, "compile_series", refuse)
    results = catalog_series(con, [Q3])
    assert len(scanned) > 10
    for name in scanned:
        assert results[name][0].problem.startswith("evaluation failed: Catalog Error"), name
        assert results[name][0].status is KpiStatus.NO_DATA


def test_catalog_series_runs_the_scan_not_one_query_per_metric(demo_db_path, monkeypatch):
    from aims_metrics.metrics import evaluate
    from aims_metrics.metrics.periods import last_completed_quarter, quarters_ending

    def refuse(*args, **kwargs):
        raise AssertionError("catalog_series ran one query per metric")

    monkeypatch.setattr(evaluate, "compile_series", refuse)
    with store.open_db(demo_db_path) as con:
        for count in (1, 2, 8):
            series = catalog_series(con, quarters_ending(last_completed_quarter(), count))
            # the demo data as loaded has every register; no review has raised actions yet
            assert {r.name for results in series.values() for r in results if r.problem} == {
                "review_actions_closed_on_time"
            }


def test_the_shipped_catalog_reads_each_table_once_whatever_the_windows(demo_db_path):
    """Metrics over one source share one scan: event windows on different dates, snapshots,
    filters against the period end, and a mean of computed whole days."""
    from aims_metrics.metrics.periods import last_completed_quarter, quarters_ending
    from aims_metrics.metrics.scan import compile_catalog

    definitions, sources = shipped_catalog(), shipped_sources()
    query = compile_catalog(definitions, sources, quarters_ending(last_completed_quarter(), 9))
    tables = {sources[m.source].table for d in definitions for _, m in d.parts()}
    assert {table: query.sql.count(f'FROM "{table}" t') for table in tables} == dict.fromkeys(
        tables, 1
    )


def test_the_database_facts_name_existing_tables_and_count_their_rows(demo_db_path):
    from aims_metrics.metrics.evaluate import existing_tables, row_counts, tables_read

    definitions, sources = shipped_catalog(), shipped_sources()
    tables = tables_read(definitions, sources)
    with store.open_db(demo_db_path) as con:
        existing = existing_tables(con, tables | {"no_such_table"})
        assert set(existing) == tables
        counts = row_counts(con, set(existing))
        assert counts["incidents"] == con.execute("SELECT count(*) FROM incidents").fetchall()[0][0]
        assert set(counts) == tables


def test_binding_a_table_names_its_column_types_as_describe_does(con):
    """bound_columns (binding, no query) and DESCRIBE agree on every registry table and on types
    the registry does not use yet (parametrised, nested, time zone)."""
    from aims_metrics.metrics.evaluate import bound_columns

    con.execute(
        "CREATE TABLE many_types (a DECIMAL(18,3), b TIMESTAMPTZ, c ENUM('x', 'y'), d INTEGER[], "
        "e STRUCT(a INTEGER, b VARCHAR), f UUID, g INTERVAL, h HUGEINT, i TIME, j MAP(VARCHAR, "
        'DOUBLE), "odd name" VARCHAR)'
    )
    names = [row[0] for row in con.execute("SHOW TABLES").fetchall()]
    assert "many_types" in names and "incidents" in names
    for table in names:
        described = {row[0]: row[1] for row in con.execute(f'DESCRIBE "{table}"').fetchall()}
        assert bound_columns(con, table) == described, table
    with pytest.raises(duckdb.CatalogException):
        bound_columns(con, "no_such_table")
