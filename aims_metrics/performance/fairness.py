"""Fairness evaluation of a model's predictions (Annex A.6.2.4 verification and validation, 9.1).

Per sensitive attribute (or intersection) and group: n, selection rate, false positive, false
negative and true positive rate, accuracy, each with a 95 % bootstrap interval; then the disparities
over the groups with enough rows: demographic parity difference and ratio, equalized odds
difference, false positive and false negative rate difference (difference = max − min, ratio =
min / max), with the definitions of fairlearn's MetricFrame (`difference` and `ratio` with
method="between_groups"; tests/test_fairness.py checks the figures against MetricFrame).

The predictions of one attribute collapse, without loss, to a count per (group, true label,
prediction) cell, and every rate is a ratio of cell counts, so all groups are computed at once
as arrays: 3,000 groups cost what 3 do. (MetricFrame runs scikit-learn once per group and rate:
about 40 ms per group, minutes for thousands of groups.) The bootstrap resamples the rows the way fairlearn's `n_boot` does
(n draws with replacement from all rows, fixed seed) — as one multinomial draw of the cell counts
per round, which has the same distribution and costs nothing per row. (fairlearn's own `n_boot`
re-runs MetricFrame on every resample: about 20 s per round on a million rows.)
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from aims_metrics.performance.fairness_input import Attribute, Predictions
from aims_metrics.performance.fairness_policy import DISPARITY_METRICS

RATES: tuple[str, ...] = (
    "selection_rate",
    "false_positive_rate",
    "false_negative_rate",
    "true_positive_rate",
    "accuracy",
)
DEFAULT_MIN_GROUP_SIZE = 30
# The bootstrap holds every round's counts of every group: about 25 KB a group at 200 rounds, so
# 10,000 groups take 1 s and 250 MB. More groups than that is an identifier, not an attribute.
MAX_GROUPS = 10_000
DEFAULT_N_BOOT = 200
CI_QUANTILES = (0.025, 0.975)
DEFAULT_RANDOM_STATE = 20240917
# cell columns: (true label, prediction) = (0, 0) TN, (0, 1) FP, (1, 0) FN, (1, 1) TP
TN, FP, FN, TP = range(4)


class EvaluationRejected(ValueError):
    """The predictions are valid but cannot be evaluated (e.g. every group too small)."""


@dataclass(frozen=True)
class GroupRates:
    attribute: str
    group: str
    n: int
    insufficient: bool
    rates: dict[str, float | None]
    intervals: dict[str, tuple[float | None, float | None]]

    def as_dict(self) -> dict:
        row: dict = {"attribute": self.attribute, "group": self.group, "n": self.n}
        row["insufficient"] = self.insufficient
        for rate in RATES:
            low, high = self.intervals[rate]
            row |= {rate: self.rates[rate], f"{rate}_low": low, f"{rate}_high": high}
        return row


@dataclass(frozen=True)
class Disparity:
    attribute: str
    metric: str
    value: float | None  # None when no two sufficient groups define it (e.g. no negatives)


@dataclass
class Evaluation:
    groups: list[GroupRates]
    disparities: list[Disparity]
    warnings: list[str] = field(default_factory=list)
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    n_boot: int = DEFAULT_N_BOOT


def cell_counts(attribute: Attribute, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """(groups × 4) counts of TN, FP, FN, TP: everything the rates depend on."""
    cell = attribute.codes * 4 + y_true.astype(np.int64) * 2 + y_pred.astype(np.int64)
    return np.bincount(cell, minlength=4 * len(attribute.labels)).reshape(-1, 4)


def rates_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """The five rates of each row of `counts` (… × 4); NaN where a rate is undefined."""
    tn, fp, fn, tp = (counts[..., i].astype(float) for i in range(4))
    n, negatives, positives = tn + fp + fn + tp, tn + fp, fn + tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "selection_rate": (fp + tp) / n,
            "false_positive_rate": fp / negatives,
            "false_negative_rate": fn / positives,
            "true_positive_rate": tp / positives,
            "accuracy": (tn + tp) / n,
        }


def between_groups(rates: np.ndarray) -> tuple[float, float]:
    """(max − min, min / max) of a rate over groups, NaN groups ignored (MetricFrame's
    difference and ratio, method="between_groups"); NaN when no group defines the rate."""
    defined = rates[np.isfinite(rates)]
    if defined.size == 0:
        return np.nan, np.nan
    low, high = float(defined.min()), float(defined.max())
    if high == 0:
        return high - low, np.nan
    return high - low, low / high


def bootstrap_intervals(
    counts: np.ndarray, n_boot: int, ci_quantiles: tuple[float, float], seed: int
) -> dict[str, np.ndarray]:
    """(2 × groups) quantiles of each rate over `n_boot` resamples of all rows with replacement."""
    total = int(counts.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, counts.ravel() / total, size=n_boot).reshape(n_boot, -1, 4)
    return {
        rate: nanquantile_columns(values, ci_quantiles)
        for rate, values in rates_from_counts(draws).items()
    }


def nanquantile_columns(values: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """np.nanquantile(values, quantiles, axis=0) (linear interpolation), for all columns at once:
    one sort, NaN last, then each column's own count of defined values. (np.nanquantile loops over
    the columns in Python: seconds for thousands of groups.) A column without values gives NaN."""
    ordered = np.sort(values, axis=0)
    defined = np.isfinite(ordered).sum(axis=0)
    columns = np.arange(ordered.shape[1])
    result = np.full((len(quantiles), ordered.shape[1]), np.nan)
    has_values = defined > 0
    for row, q in enumerate(quantiles):
        position = q * (defined - 1)
        below = np.clip(np.floor(position).astype(np.int64), 0, None)
        above = np.minimum(below + 1, np.maximum(defined - 1, 0))
        fraction = position - below
        low, high = ordered[below, columns], ordered[above, columns]
        with np.errstate(invalid="ignore"):  # numpy's own lerp, so the figures match to the bit
            step = high - low
            value = np.where(fraction >= 0.5, high - step * (1 - fraction), low + step * fraction)
        result[row] = np.where(has_values, value, np.nan)
    return result


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _groups(attribute: Attribute, counts: np.ndarray, intervals, min_size: int):
    """The rates of every group, computed at once from the cell counts."""
    sizes = counts.sum(axis=1)
    rates = {rate: values.tolist() for rate, values in rates_from_counts(counts).items()}
    bounds = {rate: (low.tolist(), high.tolist()) for rate, (low, high) in intervals.items()}
    return [
        GroupRates(
            attribute.name,
            label,
            int(sizes[index]),
            bool(sizes[index] < min_size),
            {rate: _number(rates[rate][index]) for rate in RATES},
            {
                rate: (_number(bounds[rate][0][index]), _number(bounds[rate][1][index]))
                for rate in RATES
            },
        )
        for index, label in enumerate(attribute.labels)
    ]


def _disparities(attribute: Attribute, counts: np.ndarray, sufficient: np.ndarray):
    rates = rates_from_counts(counts[sufficient])
    difference, ratio = {}, {}
    for rate in (
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
        "false_negative_rate",
    ):
        difference[rate], ratio[rate] = between_groups(rates[rate])
    odds = [difference["true_positive_rate"], difference["false_positive_rate"]]
    values = {
        "demographic_parity_difference": difference["selection_rate"],
        "demographic_parity_ratio": ratio["selection_rate"],
        "equalized_odds_difference": np.nanmax(odds) if np.isfinite(odds).any() else np.nan,
        "false_positive_rate_difference": difference["false_positive_rate"],
        "false_negative_rate_difference": difference["false_negative_rate"],
    }
    return [Disparity(attribute.name, m, _number(values[m])) for m in DISPARITY_METRICS]


def evaluate_attribute(
    predictions: Predictions,
    attribute: Attribute,
    min_group_size: int,
    n_boot: int,
    random_state: int,
) -> tuple[list[GroupRates], list[Disparity], list[str]]:
    """Groups, disparities and warnings of one attribute; EvaluationRejected when fewer than two
    groups have `min_group_size` rows."""
    if len(attribute.labels) > MAX_GROUPS:
        raise EvaluationRejected(
            f"{attribute.name}: {len(attribute.labels):,} groups; at most {MAX_GROUPS:,} can be "
            f"evaluated — is {attribute.name} an identifier rather than a sensitive attribute?"
        )
    counts = cell_counts(attribute, predictions.y_true, predictions.y_pred)
    sizes = counts.sum(axis=1)
    sufficient = sizes >= min_group_size
    if sufficient.sum() < 2:
        kept = [attribute.labels[i] for i in np.flatnonzero(sufficient)]
        have = f"only {kept[0]!r} has" if kept else "no group has"
        raise EvaluationRejected(
            f"{attribute.name}: every group but at most one is insufficient ({have} "
            f"{min_group_size} rows or more); a disparity needs two groups — add data or lower "
            "--min-group-size"
        )
    seed = (random_state + zlib.crc32(attribute.name.encode("utf-8"))) % 2**32
    intervals = bootstrap_intervals(counts, n_boot, CI_QUANTILES, seed)
    groups = _groups(attribute, counts, intervals, min_group_size)
    notes = [
        f"{attribute.name}: group {g.group!r} has {g.n} rows (fewer than {min_group_size}); "
        "its rates are shown but left out of the disparities"
        for g in groups
        if g.insufficient
    ]
    disparities = _disparities(attribute, counts, sufficient)
    for d in disparities:
        if d.value is None:
            notes.append(f"{attribute.name}: {d.metric} is undefined for these groups; not tested")
    return groups, disparities, notes


def evaluate(
    predictions: Predictions,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    n_boot: int = DEFAULT_N_BOOT,
    random_state: int = DEFAULT_RANDOM_STATE,
) -> Evaluation:
    """Evaluate every attribute of validated predictions; the same input gives the same result."""
    if min_group_size < 1:
        raise ValueError("min_group_size must be at least 1")
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    groups, disparities, notes = [], [], list(predictions.warnings)
    problems = []
    for attribute in predictions.attributes:
        try:
            g, d, w = evaluate_attribute(
                predictions, attribute, min_group_size, n_boot, random_state
            )
        except EvaluationRejected as error:
            problems.append(str(error))
            continue
        groups += g
        disparities += d
        notes += w
    if problems:
        raise EvaluationRejected("; ".join(problems))
    return Evaluation(groups, disparities, notes, min_group_size, n_boot)
