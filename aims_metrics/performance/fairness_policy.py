"""The fairness policy: the threshold each disparity metric is held to, versioned like metric
definitions (append-only versions with author, time, reason and content hash; audit-logged).

A difference passes when abs(value) ≤ threshold, a ratio when value ≥ threshold — the bias_tests
rule of the table-spec registry (`passed` derived from a `*_ratio` metric name). Defaults:
differences ≤ 0.1, ratios ≥ 0.8 (the four-fifths rule).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aims_metrics import store
from aims_metrics.tables.registry import bias_test_passes, is_ratio_metric

DISPARITY_METRICS: tuple[str, ...] = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "false_positive_rate_difference",
    "false_negative_rate_difference",
)
DEFAULT_DIFFERENCE_THRESHOLD = 0.1
DEFAULT_RATIO_THRESHOLD = 0.8  # the four-fifths rule


def is_ratio(metric: str) -> bool:
    """The registry's bias_tests rule: a `*_ratio` metric passes at or above its threshold."""
    return is_ratio_metric(metric)


def rule_symbol(metric: str) -> str:
    """How a metric's value is held against its threshold, as a symbol: ≥ for a ratio, else ≤."""
    return "≥" if is_ratio(metric) else "≤"


def passes(metric: str, value: float, threshold: float) -> bool:
    """`passed` as bias_tests derives it: ratio ≥ threshold, otherwise abs(value) ≤ threshold."""
    return bias_test_passes(metric, value, threshold)


def _threshold(default: float, what: str):
    return Field(default=default, ge=0.0, le=1.0, allow_inf_nan=False, description=what)


class FairnessThresholds(BaseModel):
    """One threshold per disparity metric, each in [0, 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    demographic_parity_difference: float = _threshold(
        DEFAULT_DIFFERENCE_THRESHOLD, "largest gap in selection rate between groups"
    )
    demographic_parity_ratio: float = _threshold(
        DEFAULT_RATIO_THRESHOLD, "smallest ratio of selection rates (four-fifths rule)"
    )
    equalized_odds_difference: float = _threshold(
        DEFAULT_DIFFERENCE_THRESHOLD, "largest gap in true or false positive rate"
    )
    false_positive_rate_difference: float = _threshold(
        DEFAULT_DIFFERENCE_THRESHOLD, "largest gap in false positive rate"
    )
    false_negative_rate_difference: float = _threshold(
        DEFAULT_DIFFERENCE_THRESHOLD, "largest gap in false negative rate"
    )

    def threshold(self, metric: str) -> float:
        return float(getattr(self, metric))

    def content_hash(self) -> str:
        text = json.dumps(self.model_dump(), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PolicyVersion(BaseModel):
    """A saved version of the policy; version 0 is the shipped default (never stored)."""

    model_config = ConfigDict(frozen=True)

    version: int
    thresholds: FairnessThresholds
    author: str
    created_at: datetime | None
    reason: str
    content_hash: str

    @property
    def ref(self) -> str:
        return f"fairness_policy@{self.version}"


class PolicyError(ValueError):
    """A policy edit was refused; the message says why (every problem at once)."""


def default_policy() -> PolicyVersion:
    thresholds = FairnessThresholds()
    return PolicyVersion(
        version=0,
        thresholds=thresholds,
        author="shipped default",
        created_at=None,
        reason="differences ≤ 0.1, ratios ≥ 0.8 (the four-fifths rule)",
        content_hash=thresholds.content_hash(),
    )


def _row_to_version(row: tuple) -> PolicyVersion:
    version, text, digest, author, created_at, reason = row
    return PolicyVersion(
        version=version,
        thresholds=FairnessThresholds.model_validate_json(text),
        author=author,
        created_at=created_at,
        reason=reason,
        content_hash=digest,
    )


_COLUMNS = "version, thresholds, content_hash, author, created_at, reason"


def current_policy(con: duckdb.DuckDBPyConnection) -> PolicyVersion:
    """The latest saved version, else the shipped default (version 0)."""
    row = store.fetch_one(
        con, f"SELECT {_COLUMNS} FROM fairness_policy ORDER BY version DESC LIMIT 1"
    )
    return default_policy() if row is None else _row_to_version(row)


def policy_history(con: duckdb.DuckDBPyConnection) -> list[PolicyVersion]:
    """Every version, oldest first, starting with the shipped default."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM fairness_policy ORDER BY version").fetchall()
    return [default_policy(), *(_row_to_version(row) for row in rows)]


def parse_thresholds(values: dict[str, object]) -> FairnessThresholds:
    """Validate thresholds (unknown metrics, non-numbers, values outside [0, 1]) all at once."""
    try:
        return FairnessThresholds.model_validate(values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"]) or "policy"
            message = item["msg"]
            if item["type"] == "extra_forbidden":
                message = f"unknown disparity metric: use one of {', '.join(DISPARITY_METRICS)}"
            problems.append(f"{where}: {message}")
        raise PolicyError("; ".join(problems)) from None


def save_policy(
    con: duckdb.DuckDBPyConnection,
    thresholds: FairnessThresholds | dict[str, object],
    username: str,
    reason: str,
) -> PolicyVersion:
    """Store a new policy version (with its reason) unless nothing changed; audit-logged.

    Returns the version now current. An unchanged policy is not bumped.
    """
    if not isinstance(thresholds, FairnessThresholds):
        thresholds = parse_thresholds(thresholds)
    if not (reason or "").strip():
        raise PolicyError("reason: say why the policy changes (it is kept with the version)")
    with store.transaction(con):
        current = current_policy(con)
        if current.content_hash == thresholds.content_hash():
            return current
        version = current.version + 1
        con.execute(
            f"INSERT INTO fairness_policy ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            [
                version,
                thresholds.model_dump_json(),
                thresholds.content_hash(),
                username,
                store.now(),
                reason.strip(),
            ],
        )
        store.record_audit(
            con,
            username,
            "fairness_policy.save",
            f"fairness_policy@{version}",
            {"thresholds": thresholds.model_dump(), "reason": reason.strip()},
        )
    return current_policy(con)
