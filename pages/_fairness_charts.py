"""Figures and tables of the Fairness page: per-group rates with intervals and the policy's band,
disparities with pass/fail as word, symbol and colour, and disparities across model versions."""

from __future__ import annotations

from html import escape

import pandas as pd
import plotly.graph_objects as go

from aims_metrics.performance.fairness_policy import is_ratio, rule_symbol
from pages import _ui

RATE_LABELS = {
    "selection_rate": "Selection rate",
    "false_positive_rate": "False positive rate",
    "false_negative_rate": "False negative rate",
    "true_positive_rate": "True positive rate",
    "accuracy": "Accuracy",
}
# The disparity whose threshold bounds the gap in each rate (accuracy has none).
RATE_POLICY = {
    "selection_rate": "demographic_parity_difference",
    "false_positive_rate": "false_positive_rate_difference",
    "false_negative_rate": "false_negative_rate_difference",
    "true_positive_rate": "equalized_odds_difference",
}
RESULTS = ("pass", "fail")  # bias-test results, shown as the vocabulary's words and colours
INSUFFICIENT = _ui.status_colour("insufficient")
# Readable names of the disparity metrics (the stored names are snake_case identifiers).
METRIC_LABELS = {
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio",
    "equalized_odds_difference": "Equalized odds difference",
    "false_positive_rate_difference": "False positive rate difference",
    "false_negative_rate_difference": "False negative rate difference",
}


def metric_label(metric: str) -> str:
    """The readable name of a disparity metric (unknown names as they are, underscores spaced)."""
    return METRIC_LABELS.get(metric, metric.replace("_", " ").capitalize())


def margin_to_limit(metric: str, value: float, threshold: float) -> float:
    """How far a disparity is inside its policy limit (negative: outside, it fails): a ratio
    passes at or above its threshold, any other disparity when |value| is at most its threshold.
    Ratios (≈1) and differences (≈0) drawn on one axis compare only as this distance."""
    return value - threshold if is_ratio(metric) else threshold - abs(value)


def result_word(passed: bool) -> str:
    return _ui.status_word("pass" if passed else "fail")


def group_chart(groups: pd.DataFrame, rate: str, threshold: float | None) -> go.Figure:
    """Bars of one rate per group with 95 % intervals; a band of the policy's allowed gap below
    the highest sufficient group (groups outside it are what fails). Insufficient groups grey."""
    shown = groups.dropna(subset=[rate])
    values = shown[rate].astype(float)
    colours = [INSUFFICIENT if small else _ui.SERIES_COLOURS[0] for small in shown["insufficient"]]
    labels = [
        f"{escape(str(g))} (n={int(n):,}{', too few' if small else ''})"
        for g, n, small in zip(shown["group"], shown["n"], shown["insufficient"], strict=True)
    ]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=values,
            marker_color=colours,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (shown[f"{rate}_high"].astype(float) - values).clip(lower=0),
                "arrayminus": (values - shown[f"{rate}_low"].astype(float)).clip(lower=0),
                "color": "#333333",
            },
            name=RATE_LABELS[rate],
            hovertemplate="%{x}: %{y:.3f}<extra></extra>",
        )
    )
    sufficient = values[~shown["insufficient"].astype(bool)]
    if threshold is not None and len(sufficient):
        top = float(sufficient.max())
        figure.add_hrect(
            y0=max(top - threshold, 0.0),
            y1=top,
            fillcolor=_ui.status_colour("pass"),
            opacity=0.15,
            line_width=0,
            annotation_text=f"within {threshold:g} of the highest group",
            annotation_position="top left",
        )
    figure.update_layout(
        title=f"{RATE_LABELS[rate]} per group (bars: 95 % bootstrap interval)",
        yaxis={"range": [0, 1.05], "title": RATE_LABELS[rate]},
        showlegend=False,
        hovermode="closest",
    )
    return figure


def disparity_table(tests: pd.DataFrame):
    """The disparities with their rule and result (word + symbol + colour-blind-safe colour)."""
    table = pd.DataFrame(
        {
            "attribute": tests["protected_attribute"],
            "metric": [metric_label(m) for m in tests["metric"]],
            "value": tests["value"].round(3),
            "rule": [
                f"{rule_symbol(m)} {t:g}"
                for m, t in zip(tests["metric"], tests["threshold"], strict=True)
            ],
            "result": [result_word(bool(p)) for p in tests["passed"]],
        }
    )

    def colour(word: str) -> str:
        return _ui.status_cell_style(word, RESULTS) + "; font-weight: 700"

    return table.style.map(colour, subset=["result"]).format({"value": "{:.3f}"})


def history_chart(history: pd.DataFrame, attribute: str) -> go.Figure:
    """Each disparity of one attribute across model versions (in order of execution), drawn as
    its distance to the policy limit in force when it was evaluated: above zero passes."""
    rows = history[history["protected_attribute"] == attribute]
    figure = go.Figure()
    for index, (metric, part) in enumerate(rows.groupby("metric", sort=True)):
        colour = _ui.SERIES_COLOURS[index % len(_ui.SERIES_COLOURS)]
        margins = [
            margin_to_limit(metric, float(v), float(t))
            for v, t in zip(part["value"], part["threshold"], strict=True)
        ]
        rules = [f"{'≥' if is_ratio(metric) else '|value| ≤'} {t:g}" for t in part["threshold"]]
        figure.add_trace(
            go.Scatter(
                x=[
                    f"{escape(str(v))} ({d:%Y-%m-%d})"
                    for v, d in zip(part["model_version"], part["executed_on"], strict=True)
                ],
                y=margins,
                mode="lines+markers",
                name=metric_label(metric),
                line={"color": colour},
                marker={"symbol": ["circle" if p else "x" for p in part["passed"]], "size": 10},
                customdata=list(zip(part["value"], rules, strict=True)),
                hovertemplate="%{customdata[0]:.3f} (policy %{customdata[1]}): "
                "margin %{y:+.3f}<extra>%{fullData.name}</extra>",
            )
        )
    figure.add_hline(
        y=0,
        line_dash="dash",
        line_color="#555555",
        annotation_text="policy limit",
        annotation_position="bottom right",
    )
    figure.update_layout(
        title=f"Disparities for {escape(attribute)} across model versions: margin to the policy limit",
        xaxis={"title": "model version (evaluated on)"},
        yaxis={"title": "margin to the limit (above 0 passes; x: failed)", "zeroline": False},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "xanchor": "left", "x": 0},
        margin={"t": 50, "b": 10},
    )
    return figure


def gap_sentence(history: pd.DataFrame, attribute: str, metric: str) -> str | None:
    """Whether a gap is closing: first versus latest evaluation of one disparity."""
    rows = history[(history["protected_attribute"] == attribute) & (history["metric"] == metric)]
    if len(rows) < 2:
        return None
    first, last = rows.iloc[0], rows.iloc[-1]
    bigger_is_better = is_ratio(metric)
    better = last["value"] > first["value"] if bigger_is_better else last["value"] < first["value"]
    trend = "closing" if better else "not closing" if last["value"] != first["value"] else "flat"
    return (
        f"{metric_label(metric)} for {attribute}: {first['value']:.3f} in {first['model_version']} → "
        f"{last['value']:.3f} in {last['model_version']} — the gap is {trend}."
    )
