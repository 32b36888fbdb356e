"""The minutes' bias-test drill-down (9.3.2 d) 2.): for each computed bias test of the quarter that
failed, the groups behind it — the lowest and the highest group on the rate the test compares.

`failed_test_groups` reads the data (its rows go into the review inputs and their fingerprint);
`bias_groups_section` lays them out in the minutes' style (review.pdf_style).
"""

from __future__ import annotations

from typing import Any

import duckdb

from aims_metrics.metrics.periods import Quarter
from aims_metrics.performance.fairness_policy import rule_symbol
from aims_metrics.reports.style import CONTENT_WIDTH, cell, heading2, table
from aims_metrics.vocabulary.labels import column_label
from aims_metrics.vocabulary.wording import count_of

# The rate each disparity compares between groups.
RATE_OF_METRIC = {
    "demographic_parity_difference": "selection_rate",
    "demographic_parity_ratio": "selection_rate",
    "equalized_odds_difference": "true_positive_rate",
    "false_positive_rate_difference": "false_positive_rate",
    "false_negative_rate_difference": "false_negative_rate",
}
HEADING = "Failed bias tests: the groups behind them"
MAX_ROWS = 12


def failed_test_groups(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> list[dict[str, Any]]:
    """Failed computed bias tests executed in the quarter, each with its lowest and highest
    sufficient group on the compared rate (plain values, in a stable order)."""
    rows = con.execute(
        """
        SELECT t.system_id, t.model_version, t.executed_on, t.protected_attribute, t.metric,
               t.value, t.threshold, g.group_value, g.n, g.selection_rate, g.true_positive_rate,
               g.false_positive_rate, g.false_negative_rate
        FROM bias_tests t
        JOIN bias_test_groups g ON g.evaluation_id = split_part(t.test_id, ':', 1)
        WHERE NOT t.passed AND t.executed_on BETWEEN ? AND ? AND NOT g.insufficient
        ORDER BY t.executed_on, t.system_id, t.protected_attribute, t.metric, g.group_value
        """,
        [quarter.start, quarter.end],
    ).fetchall()
    tests: dict[tuple, dict[str, Any]] = {}
    rates = ("selection_rate", "true_positive_rate", "false_positive_rate", "false_negative_rate")
    for system, version, day, attribute, metric, value, threshold, group, n, *values in rows:
        entry = tests.setdefault(
            (system, version, day, attribute, metric),
            {"system_id": system, "model_version": version, "executed_on": day.isoformat(),
             "attribute": attribute, "metric": metric, "value": round(value, 4),
             "threshold": threshold, "groups": []},
        )  # fmt: skip
        rate = dict(zip(rates, values, strict=True))[RATE_OF_METRIC.get(metric, "selection_rate")]
        if rate is not None:
            entry["groups"].append((group, int(n), round(rate, 4)))
    result = []
    for entry in tests.values():
        ranked = sorted(entry.pop("groups"), key=lambda g: (g[2], g[0]))
        if ranked:
            entry["lowest"], entry["highest"] = list(ranked[0]), list(ranked[-1])
            result.append(entry)
    return result


def bias_groups_section(rows: list[dict[str, Any]], width: float = CONTENT_WIDTH) -> list:
    """Flowables of the section; nothing when the quarter has no failed computed test."""
    if not rows:
        return []
    flow = [heading2(HEADING)]
    flow.append(cell(
        f"{count_of(len(rows), 'computed bias test')} of the quarter failed. For each, the groups with the "
        "lowest and highest rate the test compares (groups too small to count are left out); "
        "the Fairness page has every group with its 95 % interval.",
    ))  # fmt: skip
    lines = [["System, model, date", "Attribute · test", "Value (rule)", "Lowest group",
              "Highest group"]]  # fmt: skip
    for r in rows[:MAX_ROWS]:
        rule = rule_symbol(r["metric"])
        lines.append([
            f"{r['system_id']} {r['model_version']}, {r['executed_on']}",
            f"{r['attribute']} · {column_label(r['metric']).lower()}",
            f"{r['value']:.3f} ({rule} {r['threshold']:g})",
            f"{r['lowest'][0]}: {r['lowest'][2]:.3f} (n={r['lowest'][1]:,})",
            f"{r['highest'][0]}: {r['highest'][2]:.3f} (n={r['highest'][1]:,})",
        ])  # fmt: skip
    share = (0.22, 0.26, 0.14, 0.19, 0.19)
    flow.append(table(lines, [width * s for s in share]))
    if len(rows) > MAX_ROWS:
        flow.append(cell(f"… and {len(rows) - MAX_ROWS} more on the Fairness page.", "muted"))
    return flow
