"""The library views behind thin pages (issue 24): edit detection, the needs-attention list, the
trends breakdown and the management review's tables, each with answers computed by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from aims_metrics.audits.edits import changed_rows
from aims_metrics.metrics import breakdown
from aims_metrics.performance import attention
from aims_metrics.review import models, views
from aims_metrics.store import open_db
from tests.conftest import known_quarter


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ({"owner": ["Ana", None]}, []),  # nothing edited
        ({"owner": ["Ana", ""]}, []),  # an emptied empty cell is no change
        ({"owner": ["Ana", "Ben"]}, ["B"]),
        ({"owner": ["Cy", "Ben"]}, ["A", "B"]),
    ],
)
def test_changed_rows_are_the_rows_with_any_column_edited(after, expected):
    before = pd.DataFrame({"ref": ["A", "B"], "owner": ["Ana", None], "title": ["x", "y"]})
    edited = before.assign(**after)
    assert list(changed_rows(before, edited, ["ref", "owner"])["ref"]) == expected


def test_breakdown_counts_records_per_value_most_first_with_none_named():
    records = pd.DataFrame(
        {"severity": ["low", "high", "low", None], "in_numerator": [True, False, True, True]}
    )
    assert breakdown.breakdown_columns(records) == ["severity"]
    table = breakdown.breakdown(records, "severity")
    assert table.to_dict("records") == [
        {"severity": "low", "records": 2, "in numerator": 2},
        {"severity": "(none)", "records": 1, "in numerator": 1},
        {"severity": "high", "records": 1, "in numerator": 0},
    ]


def test_breakdown_records_carry_the_business_unit_of_their_system(app_db):
    with open_db(app_db) as con:
        records = breakdown.breakdown_records(con, "incidents_total", known_quarter())
    assert len(records) == 12
    assert set(records["business_unit"]) == {"Retail", "Support"}
    assert "business_unit" in breakdown.breakdown_columns(records)


def test_needs_attention_lists_the_overdue_major_nc_with_its_days_overdue(app_db):
    q = known_quarter()
    with open_db(app_db) as con:
        items = attention.needs_attention(con, q, q.end)
        frame = attention.needs_attention_frame(con, q, q.end)
    (major,) = [i for i in items if i.what == "Overdue major nonconformity"]
    due = date.fromordinal(q.start.toordinal() - 10)  # conftest: F1 due 10 days before Q
    assert major.item == "F1 (9.2)"
    assert major.days_overdue == (q.end - due).days
    assert major.detail == f"owner Cara, due {due:%Y-%m-%d}"
    assert list(frame.columns) == ["what", "item", "days overdue", "detail"]
    assert len(frame) == len(items)


def kpi(label: str, status: str, value: float, target: float):
    from aims_metrics.metrics.status import KpiResult, KpiStatus

    return KpiResult(
        name=label, label=label, description="", owner="", clause="9.1", unit="count",
        direction="lower_is_better", target=target, version=1, quarter="2026Q1", value=value,
        previous_value=None, status=KpiStatus(status),
    )  # fmt: skip


def test_needs_attention_names_red_kpis_with_value_and_target():
    (item,) = attention.red_kpis([kpi("Open major NCs", "red", 3, 0), kpi("Fine", "green", 1, 1)])
    assert (item.what, item.item, item.detail) == ("Red KPI", "Open major NCs", "3 (target 0)")


def test_review_views_use_the_one_wording_of_a_decision_kind():
    record = models.ReviewRecord(
        quarter="2026Q1",
        decisions=[
            models.Decision(kind="improvement", text="Train the reviewers"),
            models.Decision(kind="resources", text="Hire an auditor"),
        ],
    )
    assert views.decision_rows(record) == [
        {
            "no.": 1,
            "kind": models.DecisionKind.IMPROVEMENT.title,
            "decision": "Train the reviewers",
        },
        {"no.": 2, "kind": models.DecisionKind.RESOURCES.title, "decision": "Hire an auditor"},
    ]
    assert views.decision_rows(None) == []
