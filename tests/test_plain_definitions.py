"""The read path without pydantic: plain mirrors of the models read the same definitions and give
the same figures; the generated mirrors stay in step with the models; odd stored data falls back
to the validating path; `kpis` does not import pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from aims_metrics import store
from aims_metrics.metrics.catalog import current_definitions, save_definition, shipped_catalog
from aims_metrics.metrics.definition_reader import (
    plain_current_definitions,
    plain_shipped_catalog,
    plain_shipped_sources,
)
from aims_metrics.metrics.engine import catalog_series, evaluate_series
from aims_metrics.metrics.models import MetricDefinition
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.plain_codegen import MIRRORED, TARGET, generate
from aims_metrics.metrics.plain_definitions import PlainBound, PlainFilter, PlainMetricDefinition
from aims_metrics.metrics.sources import shipped_sources
from aims_metrics.metrics.vocabulary import Agg, Grain, Op
from tests.test_catalog_known_answers import load_known_answer_data
from tests.test_engine_evaluation import _extra_definitions

ROOT = Path(__file__).resolve().parents[1]
Q2, Q3 = Quarter(2025, 2), Quarter(2025, 3)


def assert_same(validated: object, plain: object, where: str = "") -> None:
    """`plain` holds exactly what the validated model holds: same fields, values and types."""
    if isinstance(validated, BaseModel):
        assert type(plain).__name__ == f"Plain{type(validated).__name__}", where
        assert plain.__slots__ == tuple(type(validated).model_fields), where
        for name in type(validated).model_fields:
            assert_same(getattr(validated, name), getattr(plain, name), f"{where}.{name}")
    elif isinstance(validated, tuple | list):
        assert type(plain) is type(validated), where
        assert len(plain) == len(validated), where
        for index, (a, b) in enumerate(zip(validated, plain, strict=True)):
            assert_same(a, b, f"{where}[{index}]")
    else:
        assert type(plain) is type(validated), f"{where}: {plain!r} vs {validated!r}"
        assert plain == validated, where


def _changed_versions() -> list[MetricDefinition]:
    """Shipped metrics changed the ways an analyst would: thresholds, grain, typed filter values."""
    by_name = {d.name: d for d in shipped_catalog()}
    pass_rate = by_name["bias_test_pass_rate"]
    incidents = by_name["incidents_total"]
    return [
        pass_rate.model_copy(update={"grain": Grain.MONTH, "target": 0.9}),
        MetricDefinition.model_validate(
            incidents.model_dump()
            | {
                "thresholds": {"green": {"lte": 5}, "amber": {"lte": 12.5}},
                "measure": incidents.measure.model_dump()
                | {
                    "filters": [
                        {"field": "severity", "op": "in", "value": ["high", "critical"]},
                        {"field": "detected_on", "op": "gte", "value": "2024-01-01"},
                    ]
                },
            }
        ),
    ]


@pytest.fixture
def edited_db(tmp_path) -> Path:
    """Known-answer data plus saved definitions of every shape (new metrics and new versions)."""
    path = tmp_path / "edited.duckdb"
    with store.open_db(path) as con:
        load_known_answer_data(con)
        new_metrics = [d.model_copy(update={"target": 10}) for d in _extra_definitions()]
        for definition in new_metrics + _changed_versions():
            save_definition(con, definition, "ana", "test")
    return path


def test_the_generated_mirrors_are_current():
    assert TARGET.read_text("utf-8") == generate(), (
        "run python -m aims_metrics.metrics.plain_codegen"
    )


def test_every_mirror_has_the_models_fields_in_order():
    import aims_metrics.metrics.plain_definitions as plain

    for model in MIRRORED:
        mirror = getattr(plain, f"Plain{model.__name__}")
        assert mirror.__slots__ == tuple(model.model_fields)


def test_the_shipped_catalog_reads_the_same_without_pydantic():
    validated, plain = shipped_catalog(), plain_shipped_catalog()
    assert [d.name for d in plain] == [d.name for d in validated]
    for a, b in zip(validated, plain, strict=True):
        assert_same(a, b, a.name)


def test_the_shipped_sources_read_the_same_without_pydantic():
    validated, plain = shipped_sources(), plain_shipped_sources()
    assert list(plain) == list(validated)
    for name in validated:
        assert_same(validated[name], plain[name], name)


def test_stored_definitions_read_the_same_without_pydantic(edited_db):
    with store.open_db(edited_db) as con:
        validated, plain = current_definitions(con), plain_current_definitions(con)
    assert [d.ref for d in plain] == [d.ref for d in validated]
    assert {"bias_test_pass_rate@2", "incidents_total@2", "x_two_sources@1"} <= {d.ref for d in plain}
    for a, b in zip(validated, plain, strict=True):
        assert_same(a, b, a.name)


def test_the_catalog_gives_the_same_figures_from_either_read_path(edited_db):
    with store.open_db(edited_db) as con:
        from_plain = catalog_series(con, [Q2, Q3])
        from_models = evaluate_series(con, current_definitions(con), [Q2, Q3], shipped_sources())
    assert from_plain == from_models
    (changed,) = [r for r in from_plain["incidents_total"] if r.quarter == Q3.label]
    assert changed.version == 2
    assert changed.thresholds == {"green": {"lte": 5}, "amber": {"lte": 12.5}}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d | {"bogus": 1},  # a field the model does not have
        lambda d: d | {"unit": "furlongs"},  # outside the vocabulary
        lambda d: {k: v for k, v in d.items() if k != "label"},  # a required field missing
        lambda d: d | {"measure": d["measure"] | {"filters": 7}},  # not a list
    ],
    ids=["unknown-field", "unknown-unit", "missing-label", "filters-not-a-list"],
)
def test_stored_data_the_plain_reader_does_not_expect_goes_through_validation(edited_db, tamper):
    with store.open_db(edited_db) as con:
        (text,) = con.execute(
            "SELECT definition FROM metric_definitions WHERE name = 'x_sum_days'"
        ).fetchone()
        con.execute(
            "UPDATE metric_definitions SET definition = ? WHERE name = 'x_sum_days'",
            [json.dumps(tamper(json.loads(text)))],
        )
        with pytest.raises((ValueError, TypeError)):
            plain_current_definitions(con)
        # the engine then reads through the models, whose error names the problem
        with pytest.raises(ValidationError):
            catalog_series(con, [Q3])


def test_plain_records_are_read_only_and_strict():
    bound = PlainBound.from_data({"gte": 0.9})
    assert (bound.gte, bound.lte, bound.limit, bound.holds(0.95), bound.holds(0.5)) == (
        0.9, None, 0.9, True, False
    )
    with pytest.raises(AttributeError, match="read-only"):
        bound.gte = 0.1
    assert bound == PlainBound.from_data({"gte": 0.9, "lte": None})
    assert hash(bound) == hash(PlainBound.from_data({"gte": 0.9}))
    assert bound.replace(gte=0.8) == PlainBound.from_data({"gte": 0.8})
    with pytest.raises(ValueError, match="no field bogus"):
        PlainFilter.from_data({"field": "x", "op": "eq", "value": 1, "bogus": 2})
    with pytest.raises(ValueError):
        PlainFilter.from_data({"field": "x", "op": "like", "value": 1})
    with pytest.raises(ValueError, match="needs measure|needs label"):
        PlainMetricDefinition.from_data({"name": "m"})
    flt = PlainFilter.from_data({"field": "x", "op": "in", "value": ["a", "b"]})
    assert flt.op is Op.IN and flt.value == ["a", "b"]


def test_a_ratio_read_plain_lists_its_parts():
    (ratio,) = [d for d in plain_shipped_catalog() if d.name == "bias_test_pass_rate"]
    assert [name for name, _ in ratio.parts()] == ["numerator", "denominator"]
    assert ratio.ref == "bias_test_pass_rate@1"
    assert ratio.numerator.agg is Agg.COUNT
    assert ratio.sources() == ["bias_tests"]


def test_kpis_reads_saved_definitions_without_importing_pydantic(edited_db):
    # (a free-form SQL filter loads the allow-list parser, sqlglot, from the validating package)
    with store.open_db(edited_db) as con:
        con.execute("DELETE FROM metric_definitions WHERE name = 'x_sql_filter'")
    code = (
        "import json, sys, io, contextlib; from aims_metrics.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    main(['--db', {str(edited_db)!r}, 'kpis', '--quarter', '2025Q3', '--format', 'json'])\n"
        "refs = [f\"{m['name']}@{m['version']}\" for m in json.loads(out.getvalue())['metrics']]\n"
        "print(json.dumps({'refs': refs, 'loaded': [m for m in ('pydantic', 'sqlglot') if m in sys.modules]}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "incidents_total@2" in report["refs"] and "x_median_value@1" in report["refs"]
    assert report["loaded"] == []
