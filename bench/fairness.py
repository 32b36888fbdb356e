"""Bench section `fairness`: 1,000,000 synthetic predictions, two sensitive attributes, 200
bootstrap rounds (design §9: ≤ 10 s; issue 17: ≤ 1 GB), against a plain pandas groupby computing
the same point rates in the same process. Generates its own data (seeded); the data set of the
other sections is not used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import DATA, ROUNDS, Row, log, median, peak_mb, timed

ROWS = 1_000_000
N_BOOT = 200
LIMIT_S = 10.0
MEMORY_LIMIT_MB = 1024.0
RATES = ("selection_rate", "false_positive_rate", "false_negative_rate", "true_positive_rate",
         "accuracy")  # fmt: skip


def synthetic_predictions(rows: int = ROWS, seed: int = 17) -> pd.DataFrame:
    """A scored model whose true-positive rate differs by sex and race."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["Female", "Male"], rows, p=[0.48, 0.52])
    race = rng.choice(["White", "Black", "Asian", "Amer-Indian", "Other"], rows,
                      p=[0.8, 0.1, 0.05, 0.03, 0.02])  # fmt: skip
    label = (rng.random(rows) < 0.3).astype(np.int64)
    lift = np.where(sex == "Male", 0.08, 0.0) + np.where(race == "White", 0.05, 0.0)
    predicted = np.where(label == 1, rng.random(rows) < 0.7 + lift, rng.random(rows) < 0.1 + lift)
    return pd.DataFrame({"label": label, "prediction": predicted.astype(np.int64), "sex": sex,
                         "race": race})  # fmt: skip


def pandas_rates(frame: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """The baseline: the same point rates by a plain pandas groupby."""
    y, p = frame["label"].astype(bool), frame["prediction"].astype(bool)
    parts = pd.DataFrame({"g": frame[attribute], "p": p, "tp": p & y, "fp": p & ~y, "fn": ~p & y,
                          "pos": y, "neg": ~y, "ok": p == y})  # fmt: skip
    sums = parts.groupby("g", sort=True).agg(n=("p", "size"), sel=("p", "sum"), tp=("tp", "sum"),
                                             fp=("fp", "sum"), fn=("fn", "sum"),
                                             pos=("pos", "sum"), neg=("neg", "sum"),
                                             ok=("ok", "sum"))  # fmt: skip
    return pd.DataFrame({
        "selection_rate": sums["sel"] / sums["n"],
        "false_positive_rate": sums["fp"] / sums["neg"],
        "false_negative_rate": sums["fn"] / sums["pos"],
        "true_positive_rate": sums["tp"] / sums["pos"],
        "accuracy": sums["ok"] / sums["n"],
    })  # fmt: skip


def _check(evaluation, baseline: dict[str, pd.DataFrame]) -> None:
    for g in evaluation.groups:
        expected = baseline[g.attribute].loc[g.group]
        for rate in RATES:
            if abs(g.rates[rate] - float(expected[rate])) > 1e-12:
                raise AssertionError(f"{g.attribute}={g.group} {rate}: {g.rates[rate]} vs "
                                     f"pandas {expected[rate]}")  # fmt: skip


def section_fairness(db: Path, manifest: dict) -> list[Row]:
    from aims_metrics.performance.fairness import evaluate
    from aims_metrics.performance.fairness_input import (
        PredictionColumns,
        predictions_from_frame,
        read_predictions,
    )

    columns = PredictionColumns(y_true="label", y_pred="prediction", sensitive=("sex", "race"))
    frame = synthetic_predictions()
    csv = DATA / "work" / f"fairness-predictions-{ROWS}.csv"
    if not csv.exists():
        csv.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(csv, index=False)

    def from_frame():
        return evaluate(predictions_from_frame(frame, columns), n_boot=N_BOOT)

    def from_file():
        return evaluate(read_predictions(csv, columns), n_boot=N_BOOT)

    def by_pandas():
        return {a: pandas_rates(frame, a) for a in ("sex", "race")}

    cold, evaluation = timed(from_frame)
    alone = [timed(from_frame)[0] for _ in range(ROUNDS)]
    files = [timed(from_file)[0] for _ in range(ROUNDS)]
    peak = peak_mb()  # the project's own, before the baseline runs
    runners = {"project": from_frame, "pandas": by_pandas}
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    for index in range(ROUNDS):  # interleaved, the order flipping every round
        for name in runners if index % 2 == 0 else list(reversed(runners)):
            seconds[name].append(timed(runners[name])[0])
    project, baseline = seconds["project"], seconds["pandas"]
    _check(evaluation, {a: pandas_rates(frame, a) for a in ("sex", "race")})
    p, b = median(project), median(baseline)
    log(f"[bench] fairness: {p:.3f} s (file {median(files):.3f} s), pandas {b:.3f} s, "
        f"peak {peak:.0f} MB")  # fmt: skip
    return [Row(
        "fairness", f"evaluate {ROWS:,} predictions, 2 attributes, {N_BOOT} bootstrap rounds",
        p, "pandas groupby (point rates only)", b, p / b, f"<= {LIMIT_S:g} s, <= 1 GB",
        p <= LIMIT_S, peak, peak <= MEMORY_LIMIT_MB,
        f"validate + evaluate from a frame; from the CSV file (read + validate + evaluate) "
        f"{median(files):.2f} s; cold {cold:.2f} s; rates equal pandas'",
        {"project_runs": project, "baseline_runs": baseline, "alone_runs": alone,
         "file_runs": files},
    )]  # fmt: skip
