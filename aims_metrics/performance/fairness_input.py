"""Read and validate a model's predictions for a fairness evaluation.

A predictions file (CSV or XLSX, read by tables/readers.py with spreadsheet row numbers) holds the
true label, the prediction (a class, or a score and a cutoff) and the sensitive attributes.
Every problem is reported at once as `FILE:ROW: COLUMN: message`; nothing is evaluated until the
file is clean. Validation is vectorised (pyarrow/numpy), so a million rows take well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from aims_metrics.tables.checks import ImportProblem
from aims_metrics.tables.headers import match_headers, normalise_header
from aims_metrics.tables.readers import ROW_NUMBER, FileProblem, RawFile, read_source, text_table

INTERSECTION = "*"  # `--sensitive sex*race` evaluates groups like `Female*Black`
ZERO_ONE = {"0": False, "1": True, "0.0": False, "1.0": True, "false": False, "true": True}
MAX_ROWS_PER_PROBLEM = 20  # then one line says how many more rows share the problem


class PredictionsRejected(ValueError):
    """The predictions cannot be evaluated; `problems` says where and why (all at once)."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class PredictionColumns:
    """Which columns hold what; raises ValueError (a usage error) when the choice is incomplete."""

    y_true: str
    sensitive: tuple[str, ...]
    y_pred: str | None = None
    score: str | None = None
    cutoff: float | None = None
    positive_label: str | None = None

    def __post_init__(self) -> None:
        if (self.y_pred is None) == (self.score is None):
            raise ValueError("give either --y-pred COL or --score COL with --cutoff X")
        if (self.score is None) != (self.cutoff is None):
            raise ValueError("--score and --cutoff go together")
        if not self.sensitive:
            raise ValueError("give at least one --sensitive COL")
        if any(not part.strip() for item in self.sensitive for part in item.split(INTERSECTION)):
            raise ValueError("--sensitive names a column (or COL1*COL2 for an intersection)")

    @property
    def named_columns(self) -> list[str]:
        names = [self.y_true, self.y_pred or self.score or ""]
        names += [part for item in self.sensitive for part in item.split(INTERSECTION)]
        return list(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class Attribute:
    """A sensitive attribute (or intersection): a group code per row and the groups' labels."""

    name: str
    codes: np.ndarray  # int64 per row, index into labels
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Predictions:
    file_name: str
    y_true: np.ndarray  # bool: the positive class
    y_pred: np.ndarray  # bool: predicted positive
    attributes: tuple[Attribute, ...]
    classes: tuple[str, str]  # (positive, negative) as written in the file
    warnings: list[str] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.y_true)


@dataclass
class _Checker:
    """Collects problems for one file, at most MAX_ROWS_PER_PROBLEM rows per kind of problem."""

    file_name: str
    rows: np.ndarray
    problems: list[ImportProblem] = field(default_factory=list)

    def file_level(self, column: str, message: str) -> None:
        self.problems.append(ImportProblem(1, column, message, self.file_name))

    def rows_where(self, mask: np.ndarray, column: str, message, values: pa.Array) -> None:
        """One problem per flagged row; `message(value)` words it."""
        where = np.flatnonzero(mask)
        for index in where[:MAX_ROWS_PER_PROBLEM]:
            text = message(values[int(index)].as_py())
            self.problems.append(ImportProblem(int(self.rows[index]), column, text, self.file_name))
        if len(where) > MAX_ROWS_PER_PROBLEM:
            more = len(where) - MAX_ROWS_PER_PROBLEM
            last = int(self.rows[where[-1]])
            self.problems.append(
                ImportProblem(
                    last, column, f"{more:,} more rows like the ones above", self.file_name
                )
            )


def _column_lookup(
    check: _Checker, raw: RawFile, columns: PredictionColumns
) -> dict[str, str] | None:
    """Normalised column name → physical column, by the import's header rule; None (with the
    problems noted) when a named column is missing or two headers match it (`sex` and `Sex `)."""
    match = match_headers(raw.headers, columns.named_columns)
    given = {normalise_header(c): c for c in reversed(columns.named_columns)}
    for target, message in match.ambiguities(raw.headers):
        check.file_level(given[target], message)
    missing = [c for c in columns.named_columns if normalise_header(c) not in match.chosen]
    for name in missing:
        check.file_level(name, f"no such column (the file has: {', '.join(raw.headers)})")
    if missing or match.ambiguous:
        return None
    return {name: f"c{index}" for name, index in match.chosen.items()}


def _text(raw: RawFile, physical: str) -> pa.Array:
    """A column's text, trimmed by the readers' text rule (inputs/text.py)."""
    return raw.table[physical].combine_chunks()


def _label_mask(values: pa.Array, classes: tuple[str, str] | None) -> tuple[np.ndarray, np.ndarray]:
    """(is positive, is not a valid class) for 0/1 labels (classes None) or two named classes."""
    if classes is None:
        lowered = pc.utf8_lower(values)
        positive = pc.is_in(lowered, pa.array([k for k, v in ZERO_ONE.items() if v]))
        valid = pc.is_in(lowered, pa.array(list(ZERO_ONE)))
    else:
        positive = pc.equal(values, classes[0])
        valid = pc.is_in(values, pa.array(list(classes)))
    return positive.to_numpy(zero_copy_only=False), ~valid.to_numpy(zero_copy_only=False)


def _classes(check: _Checker, values: pa.Array, column: str, positive_label: str | None):
    """The two classes (positive, negative) of the true labels, or None with a problem noted."""
    counts = pc.value_counts(values).to_pylist()
    present = [c["values"] for c in sorted(counts, key=lambda c: -c["counts"]) if c["values"] != ""]
    if positive_label is None:
        kinds = {ZERO_ONE[v.lower()] for v in present if v.lower() in ZERO_ONE}
        if len(kinds) == 1:
            check.file_level(column, f"every label is {present[0]!r}: the file needs both classes")
        return None
    if positive_label not in present:
        check.file_level(
            column,
            f"the positive label {positive_label!r} does not occur "
            f"(values: {', '.join(repr(v) for v in present[:5])})",
        )
        return None
    others = [v for v in present if v != positive_label]
    if not others:
        check.file_level(column, f"every label is {positive_label!r}: the file needs both classes")
        return None
    return positive_label, others[0]


def _class_message(column_role: str, classes: tuple[str, str] | None):
    if classes is None:
        return lambda v: (
            f"{v!r} is not a class: {column_role} must be 0 or 1 "
            "(or name the positive class with --positive-label)"
        )
    return lambda v: (
        f"{v!r} is not one of the two classes ({classes[0]!r}, {classes[1]!r})"
        if v
        else f"empty {column_role}"
    )


def _scores(check: _Checker, values: pa.Array, column: str, cutoff: float) -> np.ndarray:
    numbers = pd.to_numeric(pd.Series(values.to_numpy(zero_copy_only=False)), errors="coerce")
    bad = ~np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan))
    check.rows_where(
        bad, column, lambda v: f"{v!r} is not a number" if v else "empty score", values
    )
    return np.nan_to_num(numbers.to_numpy(dtype=float, na_value=np.nan)) >= cutoff


def _attribute(check: _Checker, raw: RawFile, lookup: dict[str, str], item: str) -> Attribute:
    codes, labels = None, None
    for part in item.split(INTERSECTION):
        values = _text(raw, lookup[normalise_header(part)])
        empty = pc.equal(values, "").to_numpy(zero_copy_only=False)
        check.rows_where(empty, part, lambda _v: "empty value: every row needs a group", values)
        part_codes, part_labels = pd.factorize(values.to_numpy(zero_copy_only=False), sort=True)
        part_labels = [str(v) for v in part_labels]
        if codes is None:
            codes, labels = part_codes.astype(np.int64), part_labels
        else:
            codes = codes * len(part_labels) + part_codes
            labels = [f"{a}{INTERSECTION}{b}" for a in labels for b in part_labels]
    present = np.flatnonzero(np.bincount(codes, minlength=len(labels)))  # combinations seen
    dense = np.zeros(len(labels), dtype=np.int64)
    dense[present] = np.arange(len(present))
    return Attribute(item, dense[codes], tuple(labels[i] for i in present))


def predictions_from_raw(raw: RawFile, columns: PredictionColumns) -> Predictions:
    """Validate a read file against the column choice; PredictionsRejected lists every problem."""
    check = _Checker(raw.location, raw.table[ROW_NUMBER].to_numpy())
    for row, message in raw.malformed_rows:
        check.problems.append(ImportProblem(row, "(row)", message, raw.location))
    lookup = _column_lookup(check, raw, columns)
    if lookup is None:
        raise PredictionsRejected(check.problems)
    if raw.row_count == 0:
        check.file_level(columns.y_true, "the file has no data rows")
        raise PredictionsRejected(check.problems)

    labels = _text(raw, lookup[normalise_header(columns.y_true)])
    classes = _classes(check, labels, columns.y_true, columns.positive_label)
    y_true, bad = _label_mask(labels, classes)
    if columns.positive_label is None or classes is not None:
        check.rows_where(bad, columns.y_true, _class_message("the label", classes), labels)
    if columns.score is not None:
        score_values = _text(raw, lookup[normalise_header(columns.score)])
        y_pred = _scores(check, score_values, columns.score, float(columns.cutoff))
    else:
        predicted = _text(raw, lookup[normalise_header(columns.y_pred)])
        y_pred, bad = _label_mask(predicted, classes)
        if columns.positive_label is None or classes is not None:
            check.rows_where(
                bad, columns.y_pred, _class_message("the prediction", classes), predicted
            )
    attributes = tuple(_attribute(check, raw, lookup, item) for item in columns.sensitive)
    if check.problems:
        raise PredictionsRejected(check.problems)
    shown = classes or ("1", "0")
    return Predictions(raw.location, y_true, y_pred, attributes, shown)


def read_predictions(
    source: Path | bytes,
    columns: PredictionColumns,
    file_name: str | None = None,
    sheet: str | None = None,
) -> Predictions:
    """Read a CSV/XLSX predictions file and validate it (PredictionsRejected on any problem)."""
    name = file_name or (str(source) if isinstance(source, Path | str) else "upload")
    try:
        raw = read_source(source, name, sheet)
    except FileProblem as problem:
        where = problem.where or name  # a workbook's problems name the sheet: book.xlsx[Sheet]
        raise PredictionsRejected([ImportProblem(1, "(file)", str(problem), where)]) from None
    predictions = predictions_from_raw(raw, columns)
    predictions.warnings.extend(raw.notes)
    return predictions


def predictions_from_frame(
    frame: pd.DataFrame, columns: PredictionColumns, file_name: str = "predictions"
) -> Predictions:
    """Validate an in-memory frame exactly as a file would be (row 2 is the first data row)."""
    text = [pc.cast(pa.array(frame[c], from_pandas=True), pa.string()) for c in frame]
    table = text_table(text, np.arange(2, len(frame) + 2, dtype=np.int64))
    raw = RawFile(
        file_name=file_name, headers=[str(c) for c in frame.columns], table=table, sha256=""
    )
    return predictions_from_raw(raw, columns)


GUESSES = {
    "y_true": ("y_true", "label", "actual", "target", "outcome", "truth", "approved", "income"),
    "y_pred": ("y_pred", "prediction", "predicted", "pred", "decision"),
    "score": ("score", "probability", "proba", "prob", "y_score"),
    "sensitive": (
        "sex", "gender", "race", "ethnicity", "age_band", "age_group", "disability",
        "nationality", "marital_status", "religion",
    ),
}  # fmt: skip


def guess_columns(headers: list[str]) -> dict[str, list[str]]:
    """Likely columns for each role (the page's defaults), best first, by header name."""
    normalised = {normalise_header(h): h for h in reversed(headers)}
    return {
        role: [normalised[name] for name in names if name in normalised]
        for role, names in GUESSES.items()
    }
