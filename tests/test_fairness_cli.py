"""`python -m aims_metrics fairness …`: exit codes, JSON shape, the bad-input corpus
(tests/bad_inputs/fairness/, one file per failure mode: the message and an unchanged database),
re-runs, the policy commands, and a real model: logistic regression on UCI Adult."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from import_helpers import BAD_INPUTS, dump_db, new_db, rows, run_cli, run_main

from aims_metrics.vocabulary.wording import count_of

CORPUS = BAD_INPUTS / "fairness"
CLEAN = CORPUS / "clean.csv"
BASE = ("--system", "S1", "--model-version", "2.0", "--stage", "pre_deployment",
        "--executed-on", "2025-06-30")  # fmt: skip
LABELS = ("--y-true", "label", "--y-pred", "prediction")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return new_db(tmp_path)  # systems S1 and S2


def evaluate(db: Path, path: Path, *args: str) -> tuple[int, str, str]:
    return run_main(db, "fairness", "evaluate", str(path), *args)


def test_evaluate_prints_the_json_of_the_issue_and_saves_bias_tests(db):
    code, out, err = evaluate(db, CLEAN, *BASE, *LABELS, "--sensitive", "group", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert list(result) == ["groups", "tests", "warnings"]
    group = result["groups"][0]
    assert list(group)[:4] == ["attribute", "group", "n", "insufficient"]
    assert {"selection_rate", "false_positive_rate", "false_negative_rate", "true_positive_rate",
            "accuracy", "selection_rate_low", "accuracy_high"} <= set(group)  # fmt: skip
    assert [(g["group"], g["n"]) for g in result["groups"]] == [("A", 40), ("B", 40)]
    test = result["tests"][0]
    assert list(test) == [
        "test_id",
        "protected_attribute",
        "metric",
        "value",
        "threshold",
        "passed",
    ]
    assert len(result["tests"]) == 5 and all(t["passed"] for t in result["tests"])
    assert "bias tests saved: 5 inserted, 0 updated (fairness_policy@0)" in err
    assert rows(db, "SELECT count(*) FROM bias_tests WHERE system_id = 'S1'") == [(5,)]
    assert rows(db, "SELECT count(*) FROM bias_test_groups") == [(2,)]


def test_a_rerun_updates_and_a_dry_run_writes_nothing(db):
    args = (*BASE, *LABELS, "--sensitive", "group")
    assert evaluate(db, CLEAN, *args)[0] == 0
    before = dump_db(db)
    code, out, err = evaluate(db, CLEAN, *args, "--dry-run")
    assert code == 0 and "dry run: nothing saved" in err and "demographic_parity_ratio" in out
    assert dump_db(db) == before
    code, _out, err = evaluate(db, CLEAN, *args)
    assert code == 0 and "0 inserted, 5 updated" in err
    assert rows(db, "SELECT count(*) FROM bias_tests") == [(5,)]
    assert rows(db, "SELECT count(*) FROM bias_test_groups") == [(2,)]


def test_a_small_group_is_a_warning_not_an_error(db, tmp_path):
    frame = pd.read_csv(CLEAN)
    small = pd.DataFrame({"label": [1, 0], "prediction": [1, 1], "group": ["C", "C"],
                          "score": [0.9, 0.9]})  # fmt: skip
    path = tmp_path / "with_small.csv"
    pd.concat([frame, small]).to_csv(path, index=False)
    code, out, err = evaluate(db, path, *BASE, *LABELS, "--sensitive", "group", "--format", "json")
    assert code == 0, err
    assert "warning: group: group 'C' has 2 rows (fewer than 30)" in err
    assert [g["insufficient"] for g in json.loads(out)["groups"]] == [False, False, True]


# one file per failure mode: (file, extra arguments, the exact error lines)
BAD = [
    ("sensitive_column_missing.csv", ("--sensitive", "group", "--sensitive", "age"),
     ["{f}:1: age: no such column (the file has: label, prediction, gender, score)",
      "{f}:1: group: no such column (the file has: label, prediction, gender, score)"]),
    ("label_not_a_class.csv", ("--sensitive", "group"),
     ["{f}:3: label: '2' is not a class: the label must be 0 or 1 (or name the positive class "
      "with --positive-label)"]),
    ("prediction_not_a_class.csv", ("--sensitive", "group"),
     ["{f}:4: prediction: 'yes' is not a class: the prediction must be 0 or 1 (or name the "
      "positive class with --positive-label)"]),
    ("third_class_with_positive_label.csv",
     ("--sensitive", "group", "--positive-label", "yes", "--score", "score", "--cutoff", "0.5"),
     ["{f}:6: label: 'maybe' is not one of the two classes ('yes', 'no')"]),
    ("empty_sensitive_value.csv", ("--sensitive", "group"),
     ["{f}:5: group: empty value: every row needs a group",
      "{f}:10: group: empty value: every row needs a group"]),
    ("score_not_a_number.csv", ("--sensitive", "group", "--score", "score", "--cutoff", "0.5"),
     ["{f}:3: score: 'high' is not a number", "{f}:7: score: empty score"]),
    ("one_class_only.csv", ("--sensitive", "group"),
     ["{f}:1: label: every label is '1': the file needs both classes"]),
    ("clean.csv", ("--sensitive", "group", "--system", "NOPE"),
     ["{f}:1: system_id: unknown system_id 'NOPE': import systems first"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "extra", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_reported_by_row_and_column_and_writes_nothing(db, name, extra, expected):
    path = CORPUS / name
    labels = LABELS if "--score" not in extra else ("--y-true", "label")
    before = dump_db(db)
    code, out, err = evaluate(db, path, *BASE, *labels, *extra)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert lines[:-1] == [line.format(f=path) for line in expected]
    assert lines[-1] == f"{count_of(len(expected), 'error')}: nothing evaluated"
    assert out == ""
    assert dump_db(db) == before


def test_every_group_insufficient_says_so_and_writes_nothing(db):
    path = CORPUS / "every_group_insufficient.csv"
    before = dump_db(db)
    code, _out, err = evaluate(db, path, *BASE, *LABELS, "--sensitive", "group")
    assert code == 1
    assert err.splitlines()[0] == (
        f"{path}:1: group: every group but at most one is insufficient (no group has 30 rows or "
        "more); a disparity needs two groups — add data or lower --min-group-size"
    )
    assert dump_db(db) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--score", "score", "--cutoff", "0.5"), "give either --y-pred COL or --score COL"),
        (("--executed-on", "30/06/2025"), "argument --executed-on: '30/06/2025' is not a date"),
        (
            ("--min-group-size", "0"),
            "argument --min-group-size: 0 is out of range: use 1 to 1,000,000,000",
        ),
    ],
)
def test_usage_errors_exit_2(db, extra, message):
    before = dump_db(db)
    code, _out, err = evaluate(db, CLEAN, *BASE, *LABELS, "--sensitive", "group", *extra)
    assert code == 2 and message in err
    assert dump_db(db) == before


def test_the_policy_commands_show_and_set_a_version(db):
    code, out, _ = run_main(db, "fairness", "policy", "show")
    assert code == 0 and out.startswith("fairness_policy@0 (shipped default")
    code, out, err = run_main(db, "fairness", "policy", "set", "demographic_parity_ratio=0.9",
                              "--reason", "stricter for lending")  # fmt: skip
    assert (code, out) == (0, "fairness_policy@1 is current\n"), err
    code, out, _ = run_main(db, "fairness", "policy", "show", "--format", "json")
    shown = json.loads(out)
    assert shown["version"] == 1 and shown["thresholds"]["demographic_parity_ratio"] == 0.9
    assert shown["history"][1]["reason"] == "stricter for lending"
    before = dump_db(db)
    code, _, err = run_main(db, "fairness", "policy", "set", "demographic_parity_ratio=2",
                            "--reason", "typo")  # fmt: skip
    assert code == 1 and "less than or equal to 1" in err
    assert dump_db(db) == before


def test_export_and_template_know_bias_test_groups(db, tmp_path):
    assert evaluate(db, CLEAN, *BASE, *LABELS, "--sensitive", "group")[0] == 0
    out = tmp_path / "groups.csv"
    code, printed, _ = run_main(db, "export", "bias_test_groups", "--out", str(out))
    assert (code, printed) == (0, f"exported 2 rows to {out}\n")
    exported = pd.read_csv(out)
    assert exported["group_value"].tolist() == sorted(exported["group_value"].tolist())
    code, header, _ = run_main(db, "template", "bias_test_groups")
    assert header.strip().split(",") == list(exported.columns)


# --- a real model on real data ----------------------------------------------------------------

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week",
    "native_country", "income",
]  # fmt: skip
FEATURES = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def _adult(path: Path, skip: int) -> pd.DataFrame:
    frame = pd.read_csv(path, names=ADULT_COLUMNS, skiprows=skip, skipinitialspace=True)
    frame["income"] = frame["income"].str.rstrip(".")
    return frame.dropna(subset=["income"])


@pytest.mark.slow
def test_logistic_regression_on_adult_by_sex_and_race(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    adult = BAD_INPUTS.parents[2] / "shared" / "external-data" / "adult"
    if not adult.is_dir():
        pytest.skip(f"the shared external data folder {adult} is absent")
    train, test = _adult(adult / "adult.data", 0), _adult(adult / "adult.test", 1)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train[FEATURES], train["income"] == ">50K")
    test = test.assign(score=model.predict_proba(test[FEATURES])[:, 1].round(6))
    path = tmp_path / "adult_predictions.csv"
    test[["income", "score", "sex", "race"]].to_csv(path, index=False)

    db = new_db(tmp_path)
    result = run_cli(db, "fairness", "evaluate", str(path), "--system", "S1", "--model-version",
                     "lr-1", "--stage", "pre_deployment", "--y-true", "income", "--positive-label",
                     ">50K", "--score", "score", "--cutoff", "0.5", "--sensitive", "sex",
                     "--sensitive", "race", "--format", "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    groups = pd.DataFrame(json.loads(result.stdout)["groups"]).set_index(["attribute", "group"])

    y, p = test["income"] == ">50K", test["score"] >= 0.5
    for attribute in ("sex", "race"):
        plain = pd.DataFrame({"y": y, "p": p, "g": test[attribute]}).groupby("g").apply(
            lambda d: pd.Series({
                "n": len(d),
                "selection_rate": d["p"].mean(),
                "false_positive_rate": (d["p"] & ~d["y"]).sum() / (~d["y"]).sum(),
                "false_negative_rate": (~d["p"] & d["y"]).sum() / d["y"].sum(),
                "true_positive_rate": (d["p"] & d["y"]).sum() / d["y"].sum(),
                "accuracy": (d["p"] == d["y"]).mean(),
            })
        )  # fmt: skip
        ours = groups.loc[attribute].loc[plain.index, plain.columns]
        np.testing.assert_allclose(ours.to_numpy(float), plain.to_numpy(float), rtol=1e-12)
    assert groups.loc[("sex", "Female"), "n"] + groups.loc[("sex", "Male"), "n"] == len(test)
    assert not groups.loc["sex"]["insufficient"].any()
    assert groups.loc[("race", "Other"), "n"] >= 30
    tests = json.loads(result.stdout)["tests"]
    sex_dp = next(t for t in tests if t["protected_attribute"] == "sex"
                  and t["metric"] == "demographic_parity_difference")  # fmt: skip
    by_sex = p.groupby(test["sex"]).mean()
    assert sex_dp["value"] == pytest.approx(by_sex["Male"] - by_sex["Female"], rel=1e-12)
    assert sex_dp["passed"] is (sex_dp["value"] <= 0.1)


def test_an_xlsx_workbook_is_read_like_a_csv_with_spreadsheet_rows(db, tmp_path):
    frame = pd.read_csv(CLEAN)
    frame.loc[4, "group"] = None  # spreadsheet row 6
    path = tmp_path / "predictions.xlsx"
    frame.to_excel(path, index=False, sheet_name="scores")
    code, _out, err = evaluate(db, path, *BASE, *LABELS, "--sensitive", "group")
    assert code == 1
    assert err.splitlines()[0] == f"{path}[scores]:6: group: empty value: every row needs a group"
    frame.loc[4, "group"] = "A"
    frame.to_excel(path, index=False, sheet_name="scores")
    code, out, err = evaluate(db, path, *BASE, *LABELS, "--sensitive", "group", "--format", "json")
    assert code == 0, err
    assert [g["n"] for g in json.loads(out)["groups"]] == [40, 40]
