"""The default KPI catalog (issue 3) in plain pandas: the bench's first baseline and cross-check.

A faithful, straightforward implementation of the catalog semantics table, written the way an
analyst would in a notebook: the tables are loaded into DataFrames once (`load_frames`, outside the
timed region), then for each quarter boolean masks select the rows of each metric. Per-system
evidence that does not depend on the quarter (systems with a passed pre-deployment bias test on or
before deployment, first completed impact assessment) is computed once per call.

For quarter Q with first day S and last day E (see issue 3):
  incidents_total                  S <= detected_on <= E
  high_severity_incidents          same, severity in (high, critical)
  incident_mean_days_to_resolve    mean(resolved_on - detected_on), S <= resolved_on <= E
  open_incidents                   detected_on <= E and (resolved_on empty or > E)
  bias_test_pass_rate              passed / all, S <= executed_on <= E
  high_risk_bias_tested_before_deployment
                                   high-risk systems with deployed_on <= E and (retired_on empty or
                                   > E): share with a passed pre_deployment test executed on or
                                   before deployed_on
  assessments_completed            status completed, S <= completed_on <= E
  assessments_overdue              due_on < E, not cancelled, completed_on empty or > E
  high_risk_systems_assessed       high-risk systems with retired_on empty or > E: share with a
                                   completed impact assessment completed_on <= E
  open_nonconformities             major_nc/minor_nc, raised_on <= E, closed_on empty or > E
  open_major_nonconformities       same, major_nc only
  overdue_corrective_actions       open nonconformities with due_on < E
  major_nc_mean_days_to_close      mean(closed_on - raised_on), major_nc, S <= closed_on <= E
  findings_raised                  S <= raised_on <= E
  review_actions_closed_on_time    management review actions with S <= due_on <= E: share done
                                   with closed_on <= due_on (added to the shipped catalog later)
A ratio with an empty denominator, and a mean over no rows, is None (no data).
"""

from __future__ import annotations

import math

import pandas as pd

from aims_metrics.metrics.periods import Quarter

METRICS = (
    "incidents_total",
    "high_severity_incidents",
    "incident_mean_days_to_resolve",
    "open_incidents",
    "bias_test_pass_rate",
    "high_risk_bias_tested_before_deployment",
    "assessments_completed",
    "assessments_overdue",
    "high_risk_systems_assessed",
    "open_nonconformities",
    "open_major_nonconformities",
    "overdue_corrective_actions",
    "major_nc_mean_days_to_close",
    "findings_raised",
    "review_actions_closed_on_time",
)

_COLUMNS = {
    "incidents": ("incident_id", "severity", "detected_on", "resolved_on"),
    "bias_tests": ("test_id", "system_id", "executed_on", "stage", "passed"),
    "systems": ("system_id", "risk_level", "deployed_on", "retired_on"),
    "assessments": (
        "assessment_id",
        "system_id",
        "assessment_type",
        "status",
        "due_on",
        "completed_on",
    ),
    "findings": ("finding_id", "finding_type", "raised_on", "due_on", "closed_on"),
    "review_actions": ("action_id", "due_on", "status", "closed_on"),
}
_DATES = {
    "detected_on",
    "resolved_on",
    "executed_on",
    "deployed_on",
    "retired_on",
    "due_on",
    "completed_on",
    "raised_on",
    "closed_on",
}


def load_frames(con) -> dict[str, pd.DataFrame]:
    """The columns the catalog reads, as DataFrames with datetime64 dates (not timed)."""
    frames = {}
    for table, columns in _COLUMNS.items():
        df = con.execute(f"SELECT {', '.join(columns)} FROM {table}").df()
        for column in columns:
            if column in _DATES:
                df[column] = pd.to_datetime(df[column])
            elif column == "passed":
                df[column] = df[column].astype("boolean")
        frames[table] = df
    return frames


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _mean(days: pd.Series) -> float | None:
    value = days.mean()
    return (
        None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    )


def catalog(frames: dict[str, pd.DataFrame], quarters: list[Quarter]) -> dict[str, list]:
    """Every catalog metric for every quarter (values in `quarters`' order)."""
    inc, bt, sy = frames["incidents"], frames["bias_tests"], frames["systems"]
    asm, fi, ra = frames["assessments"], frames["findings"], frames["review_actions"]
    out: dict[str, list] = {name: [] for name in METRICS}

    # per-system evidence, independent of the quarter
    pre = bt[(bt["stage"] == "pre_deployment") & (bt["passed"] == True)]  # noqa: E712
    pre = pre.merge(sy[["system_id", "deployed_on"]], on="system_id")
    tested_ids = set(pre.loc[pre["executed_on"] <= pre["deployed_on"], "system_id"])
    impact = asm[(asm["assessment_type"] == "impact") & (asm["status"] == "completed")]
    first_impact = impact.groupby("system_id")["completed_on"].min()

    for quarter in quarters:
        s, e = pd.Timestamp(quarter.start), pd.Timestamp(quarter.end)

        detected = inc[(inc["detected_on"] >= s) & (inc["detected_on"] <= e)]
        out["incidents_total"].append(len(detected))
        out["high_severity_incidents"].append(
            len(detected[detected["severity"].isin(["high", "critical"])])
        )
        resolved = inc[(inc["resolved_on"] >= s) & (inc["resolved_on"] <= e)]
        out["incident_mean_days_to_resolve"].append(
            _mean((resolved["resolved_on"] - resolved["detected_on"]).dt.days)
        )
        still_open = inc[
            (inc["detected_on"] <= e) & (inc["resolved_on"].isna() | (inc["resolved_on"] > e))
        ]
        out["open_incidents"].append(len(still_open))

        executed = bt[(bt["executed_on"] >= s) & (bt["executed_on"] <= e)]
        out["bias_test_pass_rate"].append(
            _ratio(int((executed["passed"] == True).sum()), len(executed))  # noqa: E712
        )

        not_retired = sy[sy["retired_on"].isna() | (sy["retired_on"] > e)]
        high = not_retired[not_retired["risk_level"] == "high"]
        in_service = high[high["deployed_on"] <= e]
        out["high_risk_bias_tested_before_deployment"].append(
            _ratio(int(in_service["system_id"].isin(tested_ids).sum()), len(in_service))
        )

        completed = asm[
            (asm["status"] == "completed") & (asm["completed_on"] >= s) & (asm["completed_on"] <= e)
        ]
        out["assessments_completed"].append(len(completed))
        overdue = asm[
            (asm["due_on"] < e)
            & (asm["status"] != "cancelled")
            & (asm["completed_on"].isna() | (asm["completed_on"] > e))
        ]
        out["assessments_overdue"].append(len(overdue))
        assessed = high["system_id"].map(first_impact) <= e
        out["high_risk_systems_assessed"].append(_ratio(int(assessed.sum()), len(high)))

        open_findings = fi[
            (fi["raised_on"] <= e) & (fi["closed_on"].isna() | (fi["closed_on"] > e))
        ]
        open_nc = open_findings[open_findings["finding_type"].isin(["major_nc", "minor_nc"])]
        out["open_nonconformities"].append(len(open_nc))
        out["open_major_nonconformities"].append(int((open_nc["finding_type"] == "major_nc").sum()))
        out["overdue_corrective_actions"].append(int((open_nc["due_on"] < e).sum()))
        closed = fi[
            (fi["finding_type"] == "major_nc") & (fi["closed_on"] >= s) & (fi["closed_on"] <= e)
        ]
        out["major_nc_mean_days_to_close"].append(
            _mean((closed["closed_on"] - closed["raised_on"]).dt.days)
        )
        raised = fi[(fi["raised_on"] >= s) & (fi["raised_on"] <= e)]
        out["findings_raised"].append(len(raised))

        due = ra[(ra["due_on"] >= s) & (ra["due_on"] <= e)]
        on_time = due[
            (due["status"] == "done")
            & due["closed_on"].notna()
            & (due["closed_on"] <= due["due_on"])
        ]
        out["review_actions_closed_on_time"].append(_ratio(len(on_time), len(due)))
    return out
