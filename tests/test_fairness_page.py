"""The Fairness page through AppTest, for every role: upload → pick → evaluate → save; the
bias KPI counts the saved tests; bad files show their problems and write nothing; executives
read only; the policy is edited by analysts with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aims_metrics.auth import Role
from aims_metrics.store import open_db
from pages import _ui
from tests.conftest import app_usernames, known_quarter
from tests.import_helpers import dump_db

APP = str(Path(__file__).resolve().parents[1] / "app.py")
USERS = app_usernames()
PAGE = "pages/fairness.py"


def predictions_csv(gap_rows: int = 0) -> str:
    """40 women and 40 men; the model approves `gap_rows` more men than women."""
    lines = ["approved,prediction,sex"]
    for sex in ("Female", "Male"):
        for i in range(40):
            label = i % 2
            predicted = label if sex == "Female" or i >= gap_rows else 1
            lines.append(f"{label},{predicted},{sex}")
    return "\n".join(lines) + "\n"


def signed_in(role: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS[role]
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, text: str, name: str = "predictions.csv") -> AppTest:
    at.file_uploader(key="fairness_upload").upload(name, text.encode(), "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def evaluate(at: AppTest, version: str = "3.1") -> AppTest:
    at.text_input(key="fairness_model_version").input(version)
    at.date_input(key="fairness_executed_on").set_value(known_quarter().end).run()
    at.button(key="fairness_evaluate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("role", ["executive", "governance_lead", "analyst", "admin"])
def test_the_page_for_every_role(app_db, role):
    at = signed_in(role)
    assert at.title[0].value == "Fairness"
    assert not at.error
    keys = {w.key for w in at.button} | {w.key for w in at.get("file_uploader")}
    may_evaluate = role != "executive"
    assert ("fairness_upload" in keys) is may_evaluate
    assert ("fairness_policy_save" in {b.key for b in at.get("form_submit_button")}) is (
        role in ("analyst", "admin")
    )
    texts = " ".join(i.value for i in at.info)
    assert "No computed evaluations yet" in texts  # the empty state says what to do
    assert any("fairness_policy@0" in c.value for c in at.caption)


def test_upload_guesses_columns_evaluates_and_saves_as_bias_tests(app_db):
    at = upload(signed_in("governance_lead"), predictions_csv(gap_rows=12))
    assert at.selectbox(key="fairness_y_true").value == "approved"
    assert at.selectbox(key="fairness_y_pred").value == "prediction"
    assert at.multiselect(key="fairness_sensitive").value == ["sex"]
    assert at.dataframe[0].value.shape == (10, 3)  # the preview
    at = evaluate(at)
    assert not at.error, [e.value for e in at.error]
    disparities = next(d.value for d in at.dataframe if "rule" in d.value.columns)
    assert disparities.set_index("metric").loc["Demographic parity difference", "result"] == (
        "■ Fail"
    )  # men approved 0.65, women 0.5
    assert "4 of 5 disparities fail" in " ".join(m.value for m in at.markdown)
    before = dump_db(app_db)
    assert before["bias_tests"] == []
    at.button(key="fairness_save").click().run()
    assert not at.exception and not at.error
    assert "Saved as bias tests: 5 inserted, 0 updated" in at.success[0].value
    # a fresh form: the saved result and its Save button are gone, the upload is cleared
    assert not [b for b in at.button if b.key == "fairness_save"]
    assert not at.get("file_uploader")[0].value
    with open_db(app_db) as con:
        tests = con.execute("SELECT metric, passed FROM bias_tests ORDER BY metric").fetchall()
        groups = con.execute("SELECT group_value, n FROM bias_test_groups ORDER BY 1").fetchall()
    assert len(tests) == 5 and groups == [("Female", 40.0), ("Male", 40.0)]
    # the history section now lists the system, and the bias KPI counts the tests
    at.run()
    assert at.selectbox(key="fairness_history_system").value == "S1"
    at.switch_page("pages/overview.py").run()
    card = next(m for m in at.metric if m.label == "Bias test pass rate")
    assert card.value == "20.0 %"  # 1 of 5 passed (false_positive_rate_difference)
    at.toggle(key="overview_drilldown_show").set_value(True).run()
    at.selectbox(key="overview_drilldown_metric").select("bias_test_pass_rate").run()
    behind = next(d.value for d in at.dataframe if "group_value" in d.value.columns)
    assert behind[["group_value", "n", "selection_rate"]].values.tolist() == [
        ["Female", 40, 0.5],
        ["Male", 40, 0.65],
    ]  # the drill-down from the bias KPI reaches the per-group rates


def test_a_bad_file_shows_every_problem_and_writes_nothing(app_db):
    text = predictions_csv().replace("1,1,Male", "1,maybe,Male", 1).replace("0,0,Female", "0,0,", 1)
    at = upload(signed_in("analyst"), text)
    before = dump_db(app_db)
    at = evaluate(at)
    assert "in the file: nothing was evaluated" in at.error[0].value
    problems = next(d.value for d in at.dataframe if "message" in d.value.columns)
    assert problems.to_dict("records") == [
        {"row": 2, "column": "sex", "message": "empty value: every row needs a group"},
        {"row": 43, "column": "prediction",
         "message": "'maybe' is not a class: the prediction must be 0 or 1 (or name the positive "
                    "class with --positive-label)"},
    ]  # fmt: skip
    assert dump_db(app_db) == before


def test_every_group_too_small_is_refused_on_the_page(app_db):
    at = upload(signed_in("governance_lead"), predictions_csv())
    at.number_input(key="fairness_min_group_size").set_value(41).run()
    at = evaluate(at)
    assert "every group but at most one is insufficient" in at.error[0].value
    assert not [b for b in at.button if b.key == "fairness_save"]


def test_analysts_edit_the_policy_with_a_reason(app_db):
    at = signed_in("analyst")
    at.number_input(key="fairness_policy_demographic_parity_ratio").set_value(0.9)
    at.text_input(key="fairness_policy_reason").input("stricter for credit")
    next(b for b in at.get("form_submit_button") if b.key == "fairness_policy_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "fairness_policy@1 is current" in at.success[0].value
    # the page shows the saved policy at once, and the form its values with an empty reason
    assert any("fairness_policy@1" in c.value for c in at.caption)
    assert at.text_input(key="fairness_policy_reason").value == ""
    assert at.number_input(key="fairness_policy_demographic_parity_ratio").value == 0.9
    with open_db(app_db) as con:
        from aims_metrics.performance.fairness_policy import current_policy

        policy = current_policy(con)
    assert (policy.version, policy.author, policy.reason) == (
        1,
        USERS[Role.ANALYST.value],
        "stricter for credit",
    )
    assert policy.thresholds.demographic_parity_ratio == 0.9


def test_a_policy_without_reason_is_refused(app_db):
    at = signed_in("admin")
    at.number_input(key="fairness_policy_demographic_parity_ratio").set_value(0.9)
    before = dump_db(app_db)
    next(b for b in at.get("form_submit_button") if b.key == "fairness_policy_save").click().run()
    assert "reason: say why" in at.error[0].value
    assert dump_db(app_db) == before


def test_demo_history_shows_the_gap_closing(demo_db_path, monkeypatch):
    monkeypatch.setenv("AIMS_DB", str(demo_db_path))
    monkeypatch.setenv("AIMS_SESSION_KEY", "test-session-key-0123456789")
    with open_db(demo_db_path) as con:
        from aims_metrics import auth

        auth.add_user(con, "exec", "executive", "known password 1", actor="test")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = "exec"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.selectbox(key="fairness_history_attribute").select("gender").run()
    sentence = " ".join(i.value for i in at.info).replace("\\", "")  # markdown-escaped
    assert "Demographic parity difference for gender" in sentence and "closing" in sentence
    groups = next(d.value for d in at.dataframe if "insufficient" in d.value.columns)
    assert groups.set_index("group").loc["non-binary", "insufficient"]


def test_text_from_the_file_is_shown_inert(app_db):
    hostile = "[click](http://evil.example)"
    text = predictions_csv() + f"1,1,{hostile}\n"
    at = evaluate(upload(signed_in("governance_lead"), text))
    assert not at.exception and not at.error, [e.value for e in at.error]
    warning = at.warning[0].value
    assert "\\[click\\](http://evil.example)" in warning  # brackets escaped: no link is drawn
    assert hostile not in warning
