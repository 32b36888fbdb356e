"""Evaluation: drill-down rows, previews, new sources whose table is missing, applied metrics."""

from __future__ import annotations

import pytest
import yaml

from aims_metrics import store
from aims_metrics.definitions import apply_metric_file, shipped_catalog
from aims_metrics.definitions.models import MetricDefinition, Source, SourceColumn
from aims_metrics.definitions.sources import shipped_sources
from aims_metrics.engine import (
    KpiStatus,
    MetricError,
    catalog_series,
    evaluate_series,
    kpis_for_quarter,
    metric_records,
    preview_definition,
)
from aims_metrics.periods import Quarter
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
    assert dict(zip(rows["system_id"], rows["in_numerator"], strict=True)) == {"S1": True, "S3": False}


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
        columns=(SourceColumn(name="due_on", type="date"), SourceColumn(name="closed_on", type="date")),
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
