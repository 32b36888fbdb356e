"""Known answers, computed by hand, for every metric of the shipped catalog.

Quarters: 2025Q1 (Jan 1–Mar 31), 2025Q2 (Apr 1–Jun 30), 2025Q3 (Jul 1–Sep 30), 2025Q4 (empty
of events). Edge cases: events on the first (S) and last (E) day, items closed exactly on E (not
open), open items, retired systems (retired on E counts as retired), cancelled assessments,
tests after deployment, empty denominators.
"""

from __future__ import annotations

import pytest

from aims_metrics import store
from aims_metrics.metrics.evaluate import catalog_series, kpis_for_quarter
from aims_metrics.metrics.periods import Quarter
from aims_metrics.metrics.status import KpiStatus

Q1, Q2, Q3, Q4 = (Quarter(2025, n) for n in (1, 2, 3, 4))

SYSTEMS = [
    # system_id, risk_level, deployed_on, retired_on
    ("S1", "high", "2025-05-01", None),
    ("S2", "high", "2025-05-10", "2025-09-30"),  # retired on Q3's last day
    ("S3", "high", "2025-08-01", None),  # only tested after deployment
    ("S4", "medium", "2025-01-01", None),
    ("S5", "high", None, None),  # not deployed yet
    ("S6", "high", "2024-01-01", "2025-06-15"),  # retired in Q2
]
INCIDENTS = [
    # incident_id, severity, detected_on, resolved_on
    ("i1", "high", "2025-04-01", "2025-04-11"),  # on S of Q2, 10 days
    ("i2", "low", "2025-06-30", "2025-07-01"),  # on E of Q2, resolved in Q3 after 1 day
    ("i3", "critical", "2025-07-01", None),  # on S of Q3, open
    ("i4", "medium", "2025-09-30", "2025-09-30"),  # on E of Q3, 0 days
    ("i5", "high", "2025-03-31", "2025-06-30"),  # Q1, resolved on E of Q2 after 91 days
    ("i6", "low", "2025-05-15", None),  # open
]
BIAS_TESTS = [
    # test_id, system_id, executed_on, stage, passed
    ("b1", "S1", "2025-04-20", "pre_deployment", True),
    ("b2", "S2", "2025-05-10", "pre_deployment", True),  # on deployed_on: counts
    ("b3", "S3", "2025-07-15", "pre_deployment", False),
    ("b4", "S3", "2025-08-02", "pre_deployment", True),  # after deployed_on: does not count
    ("b5", "S1", "2025-06-30", "production", False),
    ("b6", "S1", "2025-07-01", "production", True),
    ("b7", "S1", "2025-09-30", "production", True),
]
ASSESSMENTS = [
    # assessment_id, system_id, type, status, due_on, completed_on
    ("a1", "S1", "impact", "completed", "2025-05-01", "2025-04-01"),
    ("a2", "S2", "impact", "completed", "2025-06-01", "2025-07-10"),  # overdue at Q2's end
    ("a3", "S3", "impact", "cancelled", "2025-06-01", None),  # cancelled: never overdue
    ("a4", "S3", "risk", "planned", "2025-09-30", None),  # due on E of Q3: not overdue then
    ("a5", "S5", "impact", "in_progress", "2025-08-15", None),
    ("a6", "S3", "impact", "completed", "2025-09-30", "2025-09-30"),  # completed on E of Q3
    ("a7", "S1", "risk", "completed", None, "2025-06-30"),
    ("a8", "S4", "risk", "completed", None, "2025-08-20"),
    ("a9", "S4", "impact", "planned", "2025-07-01", None),
]
FINDINGS = [
    # finding_id, finding_type, raised_on, due_on, closed_on
    ("f1", "major_nc", "2025-04-01", "2025-05-01", "2025-06-30"),  # closed on E of Q2, 90 days
    ("f2", "minor_nc", "2025-06-30", "2025-07-30", None),
    ("f3", "major_nc", "2025-05-01", "2025-06-01", "2025-07-01"),  # closed on S of Q3, 61 days
    ("f4", "observation", "2025-07-15", "2025-08-01", None),
    ("f5", "ofi", "2025-09-30", None, None),
    ("f6", "major_nc", "2025-08-01", "2025-12-31", None),
    ("f7", "minor_nc", "2025-01-10", None, "2025-03-31"),
    ("f8", "minor_nc", "2025-09-30", None, None),
]


def load_known_answer_data(con) -> None:
    for system_id, risk, deployed, retired in SYSTEMS:
        con.execute(
            "INSERT INTO systems (system_id, name, risk_level, deployed_on, retired_on) "
            "VALUES (?, ?, ?, ?, ?)",
            [system_id, f"System {system_id}", risk, deployed, retired],
        )
    for incident_id, severity, detected, resolved in INCIDENTS:
        con.execute(
            "INSERT INTO incidents (incident_id, system_id, title, severity, detected_on, "
            "resolved_on) VALUES (?, 'S1', 'incident', ?, ?, ?)",
            [incident_id, severity, detected, resolved],
        )
    for test_id, system_id, executed, stage, passed in BIAS_TESTS:
        con.execute(
            "INSERT INTO bias_tests (test_id, system_id, executed_on, stage, protected_attribute, "
            "metric, value, threshold, passed) VALUES (?, ?, ?, ?, 'sex', "
            "'demographic_parity_difference', 0.05, 0.1, ?)",
            [test_id, system_id, executed, stage, passed],
        )
    for assessment_id, system_id, kind, status, due, completed in ASSESSMENTS:
        con.execute(
            "INSERT INTO assessments (assessment_id, system_id, assessment_type, status, due_on, "
            "completed_on) VALUES (?, ?, ?, ?, ?, ?)",
            [assessment_id, system_id, kind, status, due, completed],
        )
    for finding_id, kind, raised, due, closed in FINDINGS:
        con.execute(
            "INSERT INTO findings (finding_id, audit_id, clause_ref, finding_type, description, "
            "raised_on, due_on, closed_on) VALUES (?, 'AUD-1', '9.1', ?, 'finding', ?, ?, ?)",
            [finding_id, kind, raised, due, closed],
        )


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    path = tmp_path_factory.mktemp("known") / "t.duckdb"
    with store.open_db(path) as con:
        load_known_answer_data(con)
        return catalog_series(con, [Q1, Q2, Q3, Q4])


# metric: (2025Q1, 2025Q2, 2025Q3, 2025Q4) computed by hand from the rows above.
EXPECTED = {
    "incidents_total": (1, 3, 2, 0),
    "high_severity_incidents": (1, 1, 1, 0),
    "incident_mean_days_to_resolve": (None, (10 + 91) / 2, (1 + 0) / 2, None),
    "open_incidents": (1, 2, 2, 2),
    "bias_test_pass_rate": (None, 2 / 3, 3 / 4, None),
    "high_risk_bias_tested_before_deployment": (0.0, 1.0, 0.5, 0.5),
    "assessments_completed": (0, 2, 3, 0),
    "assessments_overdue": (0, 1, 2, 3),
    "high_risk_systems_assessed": (0.0, 1 / 4, 2 / 3, 2 / 3),
    "open_nonconformities": (0, 2, 3, 3),
    "open_major_nonconformities": (0, 1, 1, 1),
    "overdue_corrective_actions": (0, 1, 1, 1),
    "major_nc_mean_days_to_close": (None, 90.0, 61.0, None),
    "findings_raised": (1, 3, 4, 0),
}


def test_every_issue_3_catalog_metric_has_known_answers(series):
    # Metrics added later by other features (e.g. review_actions_closed_on_time) test their own.
    assert set(EXPECTED) <= set(series)
    assert list(series)[:14] == list(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_known_answers(series, name):
    values = [r.value for r in series[name]]
    for got, want in zip(values, EXPECTED[name], strict=True):
        if want is None:
            assert got is None
        else:
            assert got == pytest.approx(want)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_previous_value_is_the_previous_quarters_value(series, name):
    results = series[name]
    for earlier, later in zip(results, results[1:], strict=False):
        assert later.previous_value == earlier.value


def test_counts_are_ints_and_empty_ratio_is_no_data(series):
    for name in ("incidents_total", "open_nonconformities", "assessments_overdue"):
        assert all(type(r.value) is int for r in series[name])
    assert series["bias_test_pass_rate"][3].status is KpiStatus.NO_DATA
    assert series["major_nc_mean_days_to_close"][3].status is KpiStatus.NO_DATA


def test_statuses_follow_thresholds(series):
    def status(name, index):
        return series[name][index].status

    assert status("high_severity_incidents", 3) is KpiStatus.GREEN  # 0 ≤ 0
    assert status("high_severity_incidents", 2) is KpiStatus.AMBER  # 1 ≤ 2
    assert status("bias_test_pass_rate", 2) is KpiStatus.RED  # 0.75 < 0.85
    assert status("high_risk_bias_tested_before_deployment", 1) is KpiStatus.GREEN  # 1.0 ≥ 1.0
    assert status("major_nc_mean_days_to_close", 1) is KpiStatus.AMBER  # 60 < 90 ≤ 90


def test_ratio_with_empty_denominator_is_no_data(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as con:
        load_known_answer_data(con)
        (result,) = catalog_series(
            con, [Quarter(2023, 4)], ["high_risk_bias_tested_before_deployment"]
        )["high_risk_bias_tested_before_deployment"]
    assert result.value is None
    assert result.status is KpiStatus.NO_DATA


def test_kpis_for_quarter_covers_the_catalog_with_previous_values(tmp_path):
    with store.open_db(tmp_path / "t.duckdb") as con:
        load_known_answer_data(con)
        results = kpis_for_quarter(con, Q3)
    by_name = {r.name: r for r in results}
    assert len(results) == len(by_name) >= 14
    assert by_name["findings_raised"].value == 4
    assert by_name["findings_raised"].previous_value == 3
    assert by_name["findings_raised"].ref == "findings_raised@1"
    assert by_name["findings_raised"].quarter == "2025Q3"


def test_fiscal_quarters_shift_the_window(tmp_path):
    # Fiscal year starting in April: FY2026 Q1 is 2025-04-01 … 2025-06-30, the calendar Q2.
    with store.open_db(tmp_path / "t.duckdb") as con:
        load_known_answer_data(con)
        (result,) = catalog_series(con, [Quarter(2026, 1, start_month=4)], ["findings_raised"])[
            "findings_raised"
        ]
    assert result.quarter == "2026Q1"
    assert result.value == 3
