"""Fairness evaluation, known answers: per-group rates and disparities computed by hand, small
groups flagged and left out, intersections, properties (rates in [0, 1], row order irrelevant),
the bootstrap against fairlearn's own, saving as bias tests (idempotent, all or nothing) and the
versioned policy."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_helpers import dump_db, new_db

from aims_metrics import store
from aims_metrics.performance.fairness import RATES, EvaluationRejected, evaluate
from aims_metrics.performance.fairness_input import PredictionColumns, predictions_from_frame
from aims_metrics.performance.fairness_policy import (
    PolicyError,
    current_policy,
    policy_history,
    save_policy,
)
from aims_metrics.performance.fairness_results import (
    evaluation_history,
    group_results,
    groups_behind_tests,
)
from aims_metrics.performance.fairness_store import RunIdentity, prepare_run, save_run
from aims_metrics.tables import ingest
from aims_metrics.tables.export import table_frame

# Group A: y 1 1 0 0, p 1 0 1 0 → every rate 0.5. Group B: y 1 1 1 0, p 1 1 1 0 → selection
# 0.75, TPR 1, FNR 0, FPR 0, accuracy 1. Group C (2 rows, below a minimum of 3): y 1 0, p 0 0.
KNOWN = pd.DataFrame(
    {
        "label": [1, 1, 0, 0, 1, 1, 1, 0, 1, 0],
        "prediction": [1, 0, 1, 0, 1, 1, 1, 0, 0, 0],
        "group": ["A"] * 4 + ["B"] * 4 + ["C"] * 2,
    }
)
KNOWN_RATES = {
    "A": {r: 0.5 for r in RATES},
    "B": {
        "selection_rate": 0.75,
        "false_positive_rate": 0.0,
        "false_negative_rate": 0.0,
        "true_positive_rate": 1.0,
        "accuracy": 1.0,
    },
    "C": {
        "selection_rate": 0.0,
        "false_positive_rate": 0.0,
        "false_negative_rate": 1.0,
        "true_positive_rate": 0.0,
        "accuracy": 0.5,
    },
}
KNOWN_DISPARITIES = {  # over A and B only: C is insufficient
    "demographic_parity_difference": 0.25,
    "demographic_parity_ratio": 0.5 / 0.75,
    "equalized_odds_difference": 0.5,
    "false_positive_rate_difference": 0.5,
    "false_negative_rate_difference": 0.5,
}
COLUMNS = PredictionColumns(y_true="label", y_pred="prediction", sensitive=("group",))
DAY = date(2025, 6, 30)


def known_evaluation(min_group_size: int = 3, frame: pd.DataFrame = KNOWN, **kw):
    return evaluate(predictions_from_frame(frame, COLUMNS), min_group_size=min_group_size, **kw)


def test_known_rates_per_group():
    result = known_evaluation()
    by_group = {g.group: g for g in result.groups}
    assert {g: by_group[g].n for g in by_group} == {"A": 4, "B": 4, "C": 2}
    for group, rates in KNOWN_RATES.items():
        assert by_group[group].rates == pytest.approx(rates), group


def test_known_disparities_leave_the_small_group_out_with_a_warning():
    result = known_evaluation()
    assert {g.group: g.insufficient for g in result.groups} == {"A": False, "B": False, "C": True}
    values = {d.metric: d.value for d in result.disparities}
    assert values == pytest.approx(KNOWN_DISPARITIES)
    assert result.warnings == [
        "group: group 'C' has 2 rows (fewer than 3); its rates are shown but left out of the "
        "disparities"
    ]


def test_with_the_small_group_counted_the_disparities_change():
    values = {d.metric: d.value for d in known_evaluation(min_group_size=1).disparities}
    assert values["demographic_parity_difference"] == pytest.approx(0.75)  # B 0.75 − C 0
    assert values["demographic_parity_ratio"] == pytest.approx(0.0)
    assert values["false_negative_rate_difference"] == pytest.approx(1.0)  # C 1 − B 0


def test_an_intersection_evaluates_the_combined_groups():
    frame = pd.DataFrame(
        {
            "label": [1, 0, 1, 0, 1, 0, 1, 0],
            "prediction": [1, 0, 1, 1, 0, 0, 1, 1],
            "sex": ["F", "F", "F", "F", "M", "M", "M", "M"],
            "band": ["x", "x", "y", "y", "x", "x", "y", "y"],
        }
    )
    columns = PredictionColumns(y_true="label", y_pred="prediction", sensitive=("sex*band",))
    result = evaluate(predictions_from_frame(frame, columns), min_group_size=1, n_boot=20)
    rates = {g.group: g.rates for g in result.groups}
    assert list(rates) == ["F*x", "F*y", "M*x", "M*y"]
    assert [rates[g]["selection_rate"] for g in rates] == [0.5, 1.0, 0.0, 1.0]
    assert [rates[g]["accuracy"] for g in rates] == [1.0, 0.5, 0.5, 0.5]
    assert {g.attribute for g in result.groups} == {"sex*band"}
    values = {d.metric: d.value for d in result.disparities}
    assert values["demographic_parity_difference"] == 1.0
    assert values["false_positive_rate_difference"] == 1.0  # F*x 0, F*y 1


def test_scores_and_a_cutoff_give_the_predictions():
    frame = KNOWN.assign(score=np.where(KNOWN["prediction"] == 1, 0.7, 0.69))
    columns = PredictionColumns(y_true="label", score="score", cutoff=0.7, sensitive=("group",))
    by_score = evaluate(predictions_from_frame(frame, columns), min_group_size=3)
    assert [g.as_dict() for g in by_score.groups] == [
        g.as_dict() for g in known_evaluation().groups
    ]


def test_a_positive_label_names_the_positive_class():
    frame = KNOWN.assign(
        label=KNOWN["label"].map({1: ">50K", 0: "<=50K"}),
        prediction=KNOWN["prediction"].map({1: ">50K", 0: "<=50K"}),
    )
    columns = PredictionColumns(
        y_true="label", y_pred="prediction", sensitive=("group",), positive_label=">50K"
    )
    named = evaluate(predictions_from_frame(frame, columns), min_group_size=3)
    assert [g.rates for g in named.groups] == [g.rates for g in known_evaluation().groups]


def test_an_undefined_rate_is_none_not_zero():
    frame = pd.DataFrame({"label": [1, 1, 0, 1], "prediction": [1, 0, 0, 1], "group": list("AABB")})
    result = evaluate(predictions_from_frame(frame, COLUMNS), min_group_size=1, n_boot=20)
    a = next(g for g in result.groups if g.group == "A")
    assert a.rates["false_positive_rate"] is None  # A has no negatives
    assert a.intervals["false_positive_rate"] == (None, None)
    values = {d.metric: d.value for d in result.disparities}
    assert values["false_positive_rate_difference"] == 0.0  # only B defines it
    assert values["equalized_odds_difference"] == 0.5


def test_every_group_insufficient_is_an_error_that_says_so():
    with pytest.raises(EvaluationRejected, match="group: every group but at most one is insuff"):
        known_evaluation(min_group_size=5)


def test_intervals_hold_the_point_and_are_reproducible():
    frame = pd.concat([KNOWN] * 20, ignore_index=True)
    first, again = known_evaluation(frame=frame), known_evaluation(frame=frame)
    assert [g.as_dict() for g in first.groups] == [g.as_dict() for g in again.groups]
    for g in first.groups:
        for rate in RATES:
            low, high = g.intervals[rate]
            assert low <= g.rates[rate] <= high


@pytest.mark.slow  # property-based or bootstrap: the edit loop (make test-fast) skips it
def test_the_bootstrap_agrees_with_fairlearns_own_n_boot():
    """Our multinomial resampling of the cells has the distribution of fairlearn's row resampling."""
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "label": rng.integers(0, 2, n),
            "prediction": rng.integers(0, 2, n),
            "group": rng.choice(["A", "B"], n, p=[0.7, 0.3]),
        }
    )
    ours = known_evaluation(frame=frame, n_boot=2000)
    theirs = MetricFrame(
        metrics={"selection_rate": selection_rate, "false_positive_rate": false_positive_rate},
        y_true=frame["label"],
        y_pred=frame["prediction"],
        sensitive_features=frame["group"],
        n_boot=300,
        ci_quantiles=[0.025, 0.975],
        random_state=1,
    )
    low, high = theirs.by_group_ci
    for g in ours.groups:
        for rate in ("selection_rate", "false_positive_rate"):
            assert g.rates[rate] == pytest.approx(theirs.by_group.loc[g.group, rate])
            assert g.intervals[rate][0] == pytest.approx(low.loc[g.group, rate], abs=0.03)
            assert g.intervals[rate][1] == pytest.approx(high.loc[g.group, rate], abs=0.03)


rows_strategy = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 1), st.sampled_from(["a", "b", "c"])),
    min_size=4,
    max_size=60,
)


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["label", "prediction", "group"])


@pytest.mark.slow  # property-based or bootstrap: the edit loop (make test-fast) skips it
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy, seed=st.integers(0, 2**16))
def test_properties_rates_in_unit_interval_and_row_order_irrelevant(rows, seed):
    frame = _frame(rows)
    if frame["group"].nunique() < 2 or frame["label"].nunique() < 2:
        with pytest.raises((EvaluationRejected, ValueError)):
            evaluate(predictions_from_frame(frame, COLUMNS), min_group_size=1, n_boot=10)
        return
    result = evaluate(predictions_from_frame(frame, COLUMNS), min_group_size=1, n_boot=10)
    for g in result.groups:
        for rate in RATES:
            low, high = g.intervals[rate]
            values = [v for v in (g.rates[rate], low, high) if v is not None]
            assert all(0.0 <= v <= 1.0 for v in values)
    for d in result.disparities:
        assert d.value is None or 0.0 <= d.value <= 1.0
    shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    again = evaluate(predictions_from_frame(shuffled, COLUMNS), min_group_size=1, n_boot=10)
    assert [g.as_dict() for g in again.groups] == [g.as_dict() for g in result.groups]
    assert again.disparities == result.disparities


# --- saving as bias tests --------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return new_db(tmp_path)  # systems S1 and S2


def known_run(con, version: str = "1.0", frame: pd.DataFrame = KNOWN, day: date = DAY):
    predictions = predictions_from_frame(frame, COLUMNS)
    identity = RunIdentity("S1", version, "pre_deployment", day)
    return prepare_run(con, predictions, identity, min_group_size=3, n_boot=50)


def test_a_run_is_saved_as_bias_tests_and_group_rows(db):
    with store.open_db(db) as con:
        counts = save_run(con, known_run(con), "alice")
        tests = table_frame(con, "bias_tests")
        groups = group_results(con, "S1")
        audit = store.audit_entries(con)[0]
    assert (counts.inserted, counts.updated) == (5, 0)
    assert sorted(tests["metric"]) == sorted(KNOWN_DISPARITIES)
    assert tests["passed"].tolist() == [False] * 5  # every known disparity fails the defaults
    assert set(tests["threshold"]) == {0.1, 0.8}
    assert (tests["system_id"].unique().tolist(), tests["stage"].unique().tolist()) == (
        ["S1"],
        ["pre_deployment"],
    )
    assert sorted(groups["group_value"]) == ["A", "B", "C"]
    assert groups.set_index("group_value").loc["C", "insufficient"]
    assert groups.set_index("group_value").loc["B", "selection_rate"] == 0.75
    assert (audit["action"], audit["username"], audit["target"]) == ("fairness.save", "alice", "S1")


def test_running_the_same_evaluation_again_updates_instead_of_adding(db):
    with store.open_db(db) as con:
        save_run(con, known_run(con), "alice")
        first = table_frame(con, "bias_tests")
        changed = KNOWN.assign(prediction=KNOWN["label"])  # a perfect model this time
        counts = save_run(con, known_run(con, frame=changed), "alice")
        second = table_frame(con, "bias_tests")
        groups = group_results(con, "S1")
        save_run(con, known_run(con, version="1.1"), "alice")
        third = table_frame(con, "bias_tests")
    assert (counts.inserted, counts.updated) == (0, 5)
    assert second["test_id"].tolist() == first["test_id"].tolist()
    assert not first["passed"].any()
    assert second.set_index("metric")["passed"].to_dict() == {  # base rates differ: DP still fails
        "demographic_parity_difference": False,
        "demographic_parity_ratio": False,
        "equalized_odds_difference": True,
        "false_positive_rate_difference": True,
        "false_negative_rate_difference": True,
    }
    assert len(groups) == 3 and groups["accuracy"].tolist() == [1.0, 1.0, 1.0]
    assert len(third) == 10  # another model version is another evaluation


def test_saved_tests_pass_the_importers_rule_check(db, tmp_path):
    """`passed` from the policy agrees with the registry's rule: re-importing the rows is clean."""
    with store.open_db(db) as con:
        save_run(con, known_run(con), "alice")
        csv = table_frame(con, "bias_tests").to_csv(index=False).encode()
        plan = ingest.prepare_import(con, "bias_tests", csv, "bias_tests.csv")
    assert plan.problems == []


def test_an_unknown_system_writes_nothing(db):
    before = dump_db(db)
    with store.open_db(db) as con:
        run = known_run(con)
        run.identity = RunIdentity("NOPE", "1.0", "production", DAY)
        with pytest.raises(ValueError, match="unknown system_id 'NOPE'"):
            save_run(con, run, "alice")
    assert dump_db(db) == before


def test_history_and_drilldown_read_the_saved_runs(db):
    with store.open_db(db) as con:
        save_run(con, known_run(con, "1.0", day=date(2025, 3, 1)), "alice")
        save_run(con, known_run(con, "1.1", frame=KNOWN.assign(prediction=KNOWN["label"])), "a")
        history = evaluation_history(con, "S1")
        failing = history[~history["passed"]]["test_id"].tolist()
        behind = groups_behind_tests(con, failing)
    dpd = history[history["metric"] == "demographic_parity_difference"]
    assert dpd["model_version"].tolist() == ["1.0", "1.1"]
    assert dpd["value"].tolist() == pytest.approx([0.25, 0.25])
    eod = history[history["metric"] == "equalized_odds_difference"]
    assert eod["value"].tolist() == pytest.approx([0.5, 0.0])  # the gap closed in 1.1
    assert set(behind["model_version"]) == {"1.0", "1.1"}
    assert len(behind) == 6


# --- the policy --------------------------------------------------------------------------------


def test_the_policy_defaults_and_versions(db):
    with store.open_db(db) as con:
        assert current_policy(con).version == 0
        assert current_policy(con).thresholds.demographic_parity_ratio == 0.8
        first = save_policy(
            con, {"demographic_parity_difference": 0.3}, "ana", "regulator allows 0.3"
        )
        same = save_policy(con, first.thresholds, "ben", "no change")
        history = policy_history(con)
        audit = store.audit_entries(con)
    assert (first.version, same.version) == (1, 1)
    assert [(v.version, v.author) for v in history] == [(0, "shipped default"), (1, "ana")]
    assert history[1].reason == "regulator allows 0.3"
    assert history[1].thresholds.demographic_parity_difference == 0.3
    assert history[1].thresholds.equalized_odds_difference == 0.1
    assert [e["action"] for e in audit].count("fairness_policy.save") == 1
    assert (audit[0]["action"], audit[0]["target"]) == ("fairness_policy.save", "fairness_policy@1")


@pytest.mark.parametrize(
    ("values", "reason", "message"),
    [
        ({"demographic_parity_difference": 1.5}, "r", "less than or equal to 1"),
        ({"demographic_parity_ratio": "high"}, "r", "valid number"),
        ({"accuracy_gap": 0.1}, "r", "accuracy_gap: unknown disparity metric"),
        ({"demographic_parity_difference": 0.2}, "  ", "reason: say why"),
    ],
)
def test_a_bad_policy_edit_is_refused_and_writes_nothing(db, values, reason, message):
    before = dump_db(db)
    with store.open_db(db) as con, pytest.raises(PolicyError, match=message):
        save_policy(con, values, "ana", reason)
    assert dump_db(db) == before


def test_a_policy_change_decides_the_next_runs_passed(db):
    with store.open_db(db) as con:
        save_policy(
            con,
            {"demographic_parity_difference": 0.3, "demographic_parity_ratio": 0.6},
            "ana",
            "looser for the pilot",
        )
        run = known_run(con)
        save_run(con, run, "alice")
        tests = table_frame(con, "bias_tests").set_index("metric")
    assert run.policy.version == 1
    assert tests.loc["demographic_parity_difference", "passed"]
    assert tests.loc["demographic_parity_ratio", "passed"]  # 0.667 ≥ 0.6
    assert not tests.loc["equalized_odds_difference", "passed"]


def test_the_minutes_show_the_groups_behind_a_failed_computed_test(db):
    from io import BytesIO

    from pypdf import PdfReader

    from aims_metrics.metrics.periods import parse_quarter
    from aims_metrics.review.minutes import render_minutes

    with store.open_db(db) as con:
        save_run(con, known_run(con), "alice")  # executed 2025-06-30: every disparity fails
        pdf = render_minutes(con, parse_quarter("2025Q2"))
        clean = render_minutes(con, parse_quarter("2025Q3"))
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    text = " ".join(text.split())
    assert "Failed bias tests: the groups behind them" in text
    assert "5 computed bias tests of the quarter failed" in text
    assert "A: 0.500 (n=4)" in text and "B: 0.750 (n=4)" in text  # selection rates, C left out
    assert "C: 0.000" not in text
    other = " ".join(page.extract_text() for page in PdfReader(BytesIO(clean)).pages)
    assert "Failed bias tests" not in other


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_rates_and_disparities_agree_with_fairlearns_metricframe(seed: int):
    """The array computation over all groups gives MetricFrame's by_group, difference and ratio
    (between_groups). Where a group leaves a rate undefined (no positives or no negatives) the
    rate is None, not MetricFrame's 0, and that group is left out of the rate's disparity (see
    the next test); here only the per-group rates see such groups."""
    from fairlearn.metrics import false_negative_rate, true_positive_rate
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(seed)
    n = 3000
    group = rng.choice([f"g{i}" for i in range(40)], n)
    label = rng.integers(0, 2, n)
    label[group == "g0"] = 1  # no negatives: FPR undefined
    label[group == "g1"] = 0  # no positives: TPR, FNR undefined
    prediction = (rng.random(n) < 0.2 + 0.5 * label).astype(int)
    frame = pd.DataFrame({"label": label, "prediction": prediction, "group": group})
    ours = known_evaluation(min_group_size=1, frame=frame, n_boot=10)
    functions = {
        "selection_rate": selection_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "true_positive_rate": true_positive_rate,
        "accuracy": accuracy_score,
    }
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MetricFrame(
            metrics=functions,
            y_true=frame["label"],
            y_pred=frame["prediction"],
            sensitive_features=frame["group"],
        )
    for g in ours.groups:
        for rate in RATES:
            expected = theirs.by_group.loc[g.group, rate]
            if g.rates[rate] is None:
                assert g.group in ("g0", "g1") and rate in (
                    "false_positive_rate",
                    "true_positive_rate",
                    "false_negative_rate",
                )
            else:
                assert g.rates[rate] == pytest.approx(expected)
    defined = frame[~frame["group"].isin(["g0", "g1"])]
    ours = known_evaluation(min_group_size=1, frame=defined, n_boot=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MetricFrame(
            metrics=functions,
            y_true=defined["label"],
            y_pred=defined["prediction"],
            sensitive_features=defined["group"],
        )
        difference = theirs.difference(method="between_groups")
        ratio = theirs.ratio(method="between_groups")
    values = {d.metric: d.value for d in ours.disparities}
    assert values["demographic_parity_difference"] == pytest.approx(difference["selection_rate"])
    assert values["demographic_parity_ratio"] == pytest.approx(ratio["selection_rate"])
    assert values["false_positive_rate_difference"] == pytest.approx(
        difference["false_positive_rate"]
    )
    assert values["false_negative_rate_difference"] == pytest.approx(
        difference["false_negative_rate"]
    )
    assert values["equalized_odds_difference"] == pytest.approx(
        max(difference["true_positive_rate"], difference["false_positive_rate"])
    )


@pytest.mark.slow  # property-based or bootstrap: the edit loop (make test-fast) skips it
def test_three_thousand_groups_are_evaluated_in_seconds():
    """Work grows with the cells, not per group: 3,000 groups with 200 bootstrap rounds."""
    import time

    rng = np.random.default_rng(9)
    n = 3000 * 40
    frame = pd.DataFrame(
        {
            "label": rng.integers(0, 2, n),
            "prediction": rng.integers(0, 2, n),
            "group": [f"g{i}" for i in rng.integers(0, 3000, n)],
        }
    )
    predictions = predictions_from_frame(frame, COLUMNS)
    started = time.monotonic()
    result = evaluate(predictions, min_group_size=30, n_boot=200)
    assert len(result.groups) == 3000
    assert time.monotonic() - started < 30  # generous on a loaded machine; about 1 s unloaded


def test_a_group_without_negatives_is_left_out_of_the_false_positive_rate_difference():
    """A: FPR 0.5; B: FPR 0.25; C has no negatives, so no FPR (None), not 0 — the difference
    is 0.25 over A and B, where counting C as 0 would give 0.5."""
    frame = pd.DataFrame(
        {
            "label": [0, 0, 1, 1] + [0, 0, 0, 0, 1, 1] + [1, 1, 1, 1],
            "prediction": [1, 0, 1, 0] + [1, 0, 0, 0, 1, 1] + [1, 1, 0, 0],
            "group": ["A"] * 4 + ["B"] * 6 + ["C"] * 4,
        }
    )
    result = known_evaluation(min_group_size=1, frame=frame, n_boot=10)
    by_group = {g.group: g.rates["false_positive_rate"] for g in result.groups}
    assert by_group == {"A": 0.5, "B": 0.25, "C": None}
    values = {d.metric: d.value for d in result.disparities}
    assert values["false_positive_rate_difference"] == pytest.approx(0.25)


def test_column_quantiles_equal_numpys_nanquantile_to_the_bit():
    import warnings

    from aims_metrics.performance.fairness import nanquantile_columns

    rng = np.random.default_rng(11)
    values = rng.random((200, 300))
    values[rng.random(values.shape) < 0.2] = np.nan
    values[:, 0] = np.nan  # no defined value: no interval
    values[1:, 1] = np.nan  # one defined value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanquantile(values, (0.025, 0.975), axis=0)
    assert np.array_equal(nanquantile_columns(values, (0.025, 0.975)), expected, equal_nan=True)


def test_more_groups_than_the_limit_are_refused_before_any_work():
    from aims_metrics.performance.fairness import MAX_GROUPS

    n = MAX_GROUPS + 1
    frame = pd.DataFrame(
        {
            "label": [i % 2 for i in range(n)],
            "prediction": [1] * n,
            "group": [f"id{i}" for i in range(n)],
        }
    )
    with pytest.raises(EvaluationRejected) as refused:
        evaluate(predictions_from_frame(frame, COLUMNS))
    assert str(refused.value) == (
        "group: 10,001 groups; at most 10,000 can be evaluated — is group an identifier rather "
        "than a sensitive attribute?"
    )
