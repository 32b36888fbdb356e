"""Fairness: evaluate a model's predictions per group, save them as bias tests, follow the
disparities across model versions, and keep the fairness policy (A.6.2.4, 9.1)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from aims_metrics.auth import Action
from aims_metrics.metrics import periods
from aims_metrics.performance import fairness_policy, fairness_results, fairness_store
from aims_metrics.performance.fairness import DEFAULT_MIN_GROUP_SIZE, EvaluationRejected
from aims_metrics.performance.fairness_input import (
    INTERSECTION,
    PredictionColumns,
    PredictionsRejected,
    guess_columns,
    predictions_from_raw,
)
from aims_metrics.performance.fairness_policy import DISPARITY_METRICS
from aims_metrics.tables.readers import FileProblem, read_source
from aims_metrics.vocabulary.wording import count_of
from pages import _fairness_charts as charts
from pages import _ui

me = _ui.require(Action.VIEW_DASHBOARDS)

MAX_UPLOAD_MB = 50
RUN_KEY = "fairness_run"  # the evaluated, not yet saved run of this session

st.title("Fairness")
_ui.show_flash()
st.caption(
    "Per-group rates of a model's predictions and the disparities between groups, recorded as "
    "bias tests (Annex A.6.2.4 before deployment, A.6.2.6 in production). Groups with too few "
    "rows are shown but never decide a result."
)
policy = _ui.query(fairness_policy.current_policy)
systems = _ui.query(fairness_results.system_choices)


def show_problems(problems: list) -> None:
    frame = pd.DataFrame(
        [{"row": p.row, "column": p.column, "message": p.message} for p in problems]
    )
    st.error(f"{count_of(len(frame), 'problem')} in the file: nothing was evaluated.")
    _ui.show_table(frame, hide_index=True, key="fairness_problems")


def draw_run(run: fairness_store.FairnessRun, key: str) -> None:
    """Per-group chart and the disparity table of one evaluation."""
    groups = pd.DataFrame(run.group_rows())
    tests = pd.DataFrame(run.test_rows())
    for warning in run.evaluation.warnings:
        st.warning(_ui.plain(warning), icon=":material/warning:")
    draw_groups(groups, tests, key)


def draw_groups(
    groups: pd.DataFrame, tests: pd.DataFrame, key: str, attribute: str | None = None
) -> None:
    left, right = st.columns(2)
    if attribute is None:
        attributes = list(dict.fromkeys(groups["protected_attribute"]))
        attribute = left.selectbox("Attribute", attributes, key=f"{key}_attribute")
    rate = right.selectbox(
        "Rate",
        list(charts.RATE_LABELS),
        format_func=charts.RATE_LABELS.get,
        key=f"{key}_rate",
    )
    metric = charts.RATE_POLICY.get(rate)
    threshold = policy.thresholds.threshold(metric) if metric else None
    shown = groups[groups["protected_attribute"] == attribute].rename(
        columns={"group_value": "group"}
    )
    _ui.chart(charts.group_chart(shown, rate, threshold), key=f"{key}_chart")
    if not tests.empty:
        _ui.show_table(
            charts.disparity_table(tests[tests["protected_attribute"] == attribute]),
            hide_index=True,
            key=f"{key}_disparities",
        )
    columns = ["group", "n", "insufficient", *charts.RATE_LABELS]
    _ui.show_table(shown[columns].round(3), hide_index=True, key=f"{key}_groups")


def pick(label: str, options: list[str], guesses: list[str], key: str) -> str | None:
    index = options.index(guesses[0]) if guesses and guesses[0] in options else None
    return st.selectbox(label, options, index=index, key=key, placeholder="choose a column")


def uploaded_predictions():
    """The uploaded file read once per upload (every widget change reruns the page), shown as a
    preview; None (with a message) when there is none or it cannot be read."""
    upload = st.file_uploader(
        "Predictions (CSV or XLSX): one row per case with the true label, the prediction or "
        "score, and the sensitive attributes",
        type=["csv", "xlsx", "txt", "tsv"],
        key="fairness_upload",
    )
    if upload is None:
        _ui.empty_state("Upload a predictions file to evaluate it.")
        return None
    if upload.size > MAX_UPLOAD_MB * 2**20:
        st.error(
            f"{_ui.plain(upload.name)} is over {MAX_UPLOAD_MB} MB: use the CLI (fairness evaluate)."
        )
        return None
    kept = st.session_state.get("fairness_file")
    if kept is None or kept[0] != upload.file_id:
        try:
            kept = (upload.file_id, read_source(upload.getvalue(), upload.name))
        except FileProblem as problem:
            st.error(f"{_ui.plain(upload.name)} cannot be read: {_ui.plain(problem)}")
            return None
        st.session_state["fairness_file"] = kept
    raw = kept[1]
    preview = raw.table.slice(0, 10).to_pandas().drop(columns="_row").set_axis(raw.headers, axis=1)
    st.caption(f"{_ui.plain(upload.name)}: {raw.row_count:,} rows; the first 10")
    _ui.show_table(preview, hide_index=True, key="fairness_preview")
    return raw


def run_identity() -> fairness_store.RunIdentity | None:
    one, two, three, four = st.columns(4)
    system = one.selectbox(
        "System", list(systems), format_func=lambda s: f"{s} — {systems[s]}", key="fairness_system"
    )
    version = two.text_input("Model version", key="fairness_model_version").strip()
    stage = three.selectbox("Stage", ["pre_deployment", "production"], key="fairness_stage")
    executed = four.date_input(
        "Executed on",
        value=default_executed_on(),
        key="fairness_executed_on",
        help="The bias KPIs count a result in the quarter of this date.",
    )
    counted_in = periods.quarter_of(executed, _ui.fiscal_start_month()).label
    st.caption(
        f"Saved results count in the bias KPIs of **{counted_in}** (from the executed-on date)."
    )
    return fairness_store.RunIdentity(system, version, stage, executed) if version else None


def default_executed_on() -> date:
    """The selected quarter's end, or today while that quarter is still in progress."""
    return min(_ui.selected_quarter().end, date.today())


def column_choice(headers: list[str]) -> tuple[PredictionColumns | None, int]:
    """The column pickers, pre-filled with guesses from the headers; (None, …) until complete."""
    guesses = guess_columns(headers)
    one, two, three = st.columns(3)
    with one:
        y_true = pick("True label column", headers, guesses["y_true"], "fairness_y_true")
        positive = st.text_input(
            "Positive label (when not 0/1)", key="fairness_positive_label",
            help="The class that counts as a positive outcome, e.g. >50K or approved.",
        )  # fmt: skip
    with two:
        mode = st.radio(
            "Prediction", ["label", "score"], horizontal=True, key="fairness_mode",
            index=0 if guesses["y_pred"] or not guesses["score"] else 1,
            format_func={"label": "Predicted label", "score": "Score and cutoff"}.get,
        )  # fmt: skip
        y_pred = score = cutoff = None
        if mode == "label":
            y_pred = pick("Prediction column", headers, guesses["y_pred"], "fairness_y_pred")
        else:
            score = pick("Score column", headers, guesses["score"], "fairness_score")
            cutoff = st.number_input("Cutoff (positive when score ≥)", value=0.5,
                                     key="fairness_cutoff")  # fmt: skip
    with three:
        minimum = st.number_input("Minimum group size", min_value=1,
                                  value=DEFAULT_MIN_GROUP_SIZE, key="fairness_min_group_size")  # fmt: skip
    sensitive = st.multiselect(
        "Sensitive attributes", headers, default=guesses["sensitive"][:2], key="fairness_sensitive"
    )
    crossed = st.checkbox(
        "Also evaluate the intersection of the first two (e.g. Female*Black)",
        key="fairness_intersection",
        disabled=len(sensitive) < 2,
    )
    if not (y_true and (y_pred or score) and sensitive):
        return None, int(minimum)
    chosen = list(sensitive) + ([f"{sensitive[0]}{INTERSECTION}{sensitive[1]}"] if crossed else [])
    columns = PredictionColumns(
        y_true=y_true, sensitive=tuple(chosen), y_pred=y_pred, score=score,
        cutoff=cutoff, positive_label=positive.strip() or None,
    )  # fmt: skip
    return columns, int(minimum)


def evaluate_form() -> None:
    """Upload, preview, pick the columns, evaluate with a progress bar (leads and analysts)."""
    raw = uploaded_predictions()
    if raw is None:
        return
    if not systems:
        _ui.empty_state("No systems yet: import the AI system inventory on Data import first.")
        return
    identity = run_identity()
    columns, minimum = column_choice(raw.headers)
    ready = identity is not None and columns is not None
    if not ready:
        st.caption(
            "Pick the label, prediction (or score) and sensitive columns and a model version."
        )
    if not st.button("Evaluate", type="primary", key="fairness_evaluate", disabled=not ready):
        return
    _ui.require(Action.EVALUATE_FAIRNESS)
    bar = st.progress(0.0, text="Checking every row…")
    try:
        predictions = predictions_from_raw(raw, columns)
        bar.progress(0.4, text="Computing per-group rates and 200 bootstrap rounds…")
        run = _ui.read(fairness_store.prepare_run, predictions, identity, minimum)
    except PredictionsRejected as rejected:
        bar.empty()
        show_problems(rejected.problems)
        return
    except EvaluationRejected as error:
        bar.empty()
        st.error(f"Nothing was evaluated: {_ui.plain(error)}")
        return
    bar.progress(1.0, text="Evaluated")
    st.session_state[RUN_KEY] = run


def pending_run() -> None:
    run: fairness_store.FairnessRun | None = st.session_state.get(RUN_KEY)
    if run is None:
        return
    who = run.identity
    st.subheader(
        _ui.plain(f"Result: {who.system_id} {who.model_version}, {who.stage}, {who.executed_on}")
    )
    failed = sum(not t["passed"] for t in run.test_rows())
    st.markdown(
        f"{_ui.status_badge('red' if failed else 'green')} &nbsp; {failed} of "
        f"{len(run.test_rows())} disparities fail `{run.policy.ref}`",
        unsafe_allow_html=True,
    )
    draw_run(run, "fairness_result")
    if st.button("Save as bias tests", type="primary", key="fairness_save"):
        try:
            counts = _ui.write(Action.EVALUATE_FAIRNESS, fairness_store.save_run, run, me.username)
        except PredictionsRejected as rejected:
            show_problems(rejected.problems)
        else:
            st.session_state.pop(RUN_KEY, None)
            counted_in = periods.quarter_of(who.executed_on, _ui.fiscal_start_month()).label
            _ui.flash(
                f"Saved as bias tests: {counts}. They count in the bias KPIs of {counted_in}.",
                forget="fairness_",
            )


def results_section() -> None:
    st.subheader("Evaluations by system and model version")
    evaluated = _ui.query(fairness_results.evaluated_systems)
    if not evaluated:
        _ui.empty_state(
            "No computed evaluations yet. A governance lead or analyst evaluates a model's "
            "predictions on this page (or with python -m aims_metrics fairness evaluate)."
        )
        return
    system = st.selectbox(
        "System",
        evaluated,
        format_func=lambda s: f"{s} — {systems.get(s, '')}",
        key="fairness_history_system",
    )
    history = _ui.query(fairness_results.evaluation_history, system)
    attributes = sorted(history["protected_attribute"].unique())
    attribute = st.selectbox("Attribute", attributes, key="fairness_history_attribute")
    sentence = charts.gap_sentence(history, attribute, "demographic_parity_difference")
    if sentence:
        st.info(_ui.plain(sentence), icon=":material/trending_down:")
    _ui.chart(charts.history_chart(history, attribute), key="fairness_history_chart")
    runs = history[["evaluation_id", "model_version", "executed_on", "stage"]].drop_duplicates()
    labels = {
        r.evaluation_id: f"{r.model_version} · {r.stage} · {pd.Timestamp(r.executed_on):%Y-%m-%d}"
        for r in runs.iloc[::-1].itertuples()
        if r.evaluation_id
        in set(history[history["protected_attribute"] == attribute]["evaluation_id"])
    }
    chosen = st.selectbox("Evaluation", list(labels), format_func=labels.get,
                          key="fairness_history_run")  # fmt: skip
    groups = _ui.query(fairness_results.group_results, system, [chosen])
    draw_groups(groups, history[history["evaluation_id"] == chosen], "fairness_run", attribute)
    _ui.download_csv(groups, f"bias-test-groups-{system}.csv", key="fairness_groups_download")


def policy_section() -> None:
    st.subheader("Fairness policy")
    rows = [
        {"metric": charts.metric_label(m), "rule": f"{fairness_policy.rule_symbol(m)} "
         f"{policy.thresholds.threshold(m):g}"}
        for m in DISPARITY_METRICS
    ]  # fmt: skip
    st.caption(f"`{policy.ref}` · {_ui.plain(policy.author)}: {_ui.plain(policy.reason)}")
    _ui.show_table(pd.DataFrame(rows), hide_index=True, key="fairness_policy_table")
    history = _ui.query(fairness_policy.policy_history)
    with st.expander(f"History ({count_of(len(history), 'version')})"):
        _ui.show_table(
            pd.DataFrame(
                [{"version": v.version, "author": v.author, "when": v.created_at,
                  "reason": v.reason, **{charts.metric_label(m): t for m, t
                                          in v.thresholds.model_dump().items()}}
                 for v in reversed(history)]
            ),
            hide_index=True,
            key="fairness_policy_history",
        )  # fmt: skip
    if not _ui.allowed(Action.EDIT_FAIRNESS_POLICY):
        return
    with st.form("fairness_policy_form"):
        st.markdown("**Change the policy** (analysts; every save is a new version with a reason)")
        grid = st.columns(len(DISPARITY_METRICS))
        values = {
            m: grid[i].number_input(charts.metric_label(m), min_value=0.0, max_value=1.0, step=0.01,
                                    value=policy.thresholds.threshold(m), key=f"fairness_policy_{m}")
            for i, m in enumerate(DISPARITY_METRICS)
        }  # fmt: skip
        reason = st.text_input("Reason", key="fairness_policy_reason")
        submitted = st.form_submit_button("Save policy", key="fairness_policy_save")
    if submitted:
        try:
            saved = _ui.write(
                Action.EDIT_FAIRNESS_POLICY, fairness_policy.save_policy, values, me.username,
                reason,
            )  # fmt: skip
        except fairness_policy.PolicyError as error:
            st.error(str(error))
        else:
            _ui.flash(
                f"{saved.ref} is current; it decides pass or fail of the next evaluations.",
                forget="fairness_policy_",
            )


if _ui.allowed(Action.EVALUATE_FAIRNESS):
    st.subheader("Evaluate predictions")
    evaluate_form()
    pending_run()
else:
    st.caption("Governance leads and analysts evaluate predictions; you can read the results.")
st.divider()
results_section()
st.divider()
policy_section()
