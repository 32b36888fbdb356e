"""What users saw (issue 24): tables that hid their key columns (item 5), counts drawn with
half-integer ticks (item 6) and the fairness history mixing ratios and differences on one axis,
with results defaulting to today's quarter (item 9). Through the router (AppTest)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from aims_metrics import auth
from aims_metrics.store import open_db
from pages import _fairness_charts, _ui
from tests.conftest import app_usernames, known_quarter

APP = str(Path(__file__).resolve().parents[1] / "app.py")
USERS = app_usernames()


@pytest.fixture
def table_heights(monkeypatch) -> dict[str, tuple[int, int | str | None]]:
    """key → (rows, height) of every st.dataframe a run draws (AppTest does not keep heights)."""
    drawn: dict[str, tuple[int, int | str | None]] = {}
    original = st.dataframe

    def recording(data=None, *args, **kwargs):
        drawn[kwargs.get("key")] = (len(data.data if hasattr(data, "data") else data),
                                    kwargs.get("height"))  # fmt: skip
        return original(data, *args, **kwargs)

    monkeypatch.setattr(st, "dataframe", recording)
    return drawn


def signed_in(role: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS.get(role, role)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def frame(at: AppTest, column: str):
    """The one table on the page with this column (AppTest does not keep a table's key)."""
    (found,) = [d.value for d in at.dataframe if column in d.value.columns]
    return found


def figures(at: AppTest) -> dict[str, dict]:
    return {chart.proto.id: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}


def figure(at: AppTest, key_part: str) -> dict:
    (found,) = [spec for chart_id, spec in figures(at).items() if key_part in chart_id]
    return found


# --- item 5: the columns a reader needs first, tables sized to their rows -----------------------


def test_table_height_fits_the_rows_up_to_a_limit():
    assert _ui.table_height(15) > _ui.table_height(10) > _ui.table_height(1)
    assert _ui.table_height(15) == _ui.TABLE_ROW_PX * 16 + 3
    assert _ui.table_height(500) == _ui.table_height(_ui.MAX_TABLE_ROWS)
    assert _ui.table_height(0) == _ui.table_height(1)


def test_overview_objectives_lead_with_status_progress_value_and_target(app_db):
    with open_db(app_db) as con:
        con.execute(
            "INSERT INTO objectives (objective_id, title, metric, target, deadline) "
            "VALUES ('O1', 'Fewer AI incidents', 'incidents_total', 5, DATE '2030-12-31')"
        )
    at = signed_in("executive")
    objectives = frame(at, "Objective")
    assert list(objectives.columns)[:5] == ["Status", "Objective", "Progress", "Value", "Target"]
    assert objectives.loc[0, "Value"] == "12" and objectives.loc[0, "Target"] == "5"
    assert objectives.loc[0, "Metric"] == "AI incidents"  # the label, not the raw metric id


def test_needs_attention_shows_days_overdue_before_the_detail(app_db):
    at = signed_in("executive")
    attention = frame(at, "Days overdue")
    assert list(attention.columns) == ["What", "Item", "Days overdue", "Detail"]
    overdue = attention[attention["What"] == "Overdue major nonconformity"]
    assert overdue["Days overdue"].str.fullmatch(r"[\d,]+").all()


@pytest.mark.parametrize(
    ("page", "key"),
    [
        ("pages/overview.py", "overview_objectives"),
        ("pages/overview.py", "overview_attention_table"),
        ("pages/review.py", "review_kpis"),
    ],
)
def test_tables_are_sized_to_their_rows(app_db, table_heights, page, key):
    with open_db(app_db) as con:
        con.execute(
            "INSERT INTO objectives (objective_id, title, metric, target, deadline) "
            "VALUES ('O1', 'Fewer AI incidents', 'incidents_total', 5, DATE '2030-12-31')"
        )
    signed_in("governance_lead", page if page != "pages/overview.py" else None)
    rows, height = table_heights[key]
    assert height == _ui.table_height(rows)
    if key == "review_kpis":
        assert rows > 10  # more than Streamlit's default height shows


# --- item 6: counts on whole-number axes, ordered bars, titles and units ------------------------


@pytest.mark.parametrize("largest", [0, 1, 3, 4.5, 7, 12, 37, 250])
def test_count_axes_have_whole_number_ticks(largest):
    import plotly.graph_objects as go

    axis = _ui.count_axis(go.Figure(), "findings (count)", largest).layout.yaxis
    assert axis.dtick >= 1 and float(axis.dtick).is_integer() and axis.tick0 == 0
    assert axis.tickformat == ",d" and axis.title.text == "findings (count)"
    assert max(largest, 1) / axis.dtick <= 8


def test_nonconformity_charts_count_in_whole_numbers_with_titles(app_db):
    at = signed_in("executive", "pages/nonconformities.py")
    for key in ("nc_aging_chart", "nc_trend_chart"):
        layout = figure(at, key)["layout"]
        assert layout["title"]["text"]
        assert layout["xaxis"]["title"]["text"]
        assert "(count)" in layout["yaxis"]["title"]["text"]
        assert layout["yaxis"]["tickformat"] == ",d" and layout["yaxis"]["dtick"] == 1


def test_trend_breakdown_bars_are_ordered_and_counted(app_db):
    at = signed_in("executive", "pages/trends.py")
    layout = figure(at, "trends_breakdown_chart")["layout"]
    bars = figure(at, "trends_breakdown_chart")["data"][0]
    assert layout["xaxis"]["categoryarray"] == bars["x"]
    assert list(bars["y"]) == sorted(bars["y"], reverse=True)
    assert layout["yaxis"]["tickformat"] == ",d" and layout["yaxis"]["title"]["text"]
    assert layout["title"]["text"] and layout["xaxis"]["title"]["text"]
    main = figure(at, "trends_chart")["layout"]
    assert main["xaxis"]["title"]["text"] == "quarter" and main["yaxis"]["title"]["text"]


# --- item 9: the fairness page ---------------------------------------------------------------


def test_executed_on_defaults_to_the_selected_quarter_and_says_where_results_count(app_db):
    from tests.test_fairness_page import predictions_csv

    at = signed_in("governance_lead", "pages/fairness.py")
    csv = predictions_csv(gap_rows=12).encode()
    at.file_uploader(key="fairness_upload").upload("predictions.csv", csv, "text/csv").run()
    quarter = known_quarter()
    assert at.date_input(key="fairness_executed_on").value == min(quarter.end, date.today())
    captions = " ".join(c.value for c in at.caption)
    assert f"count in the bias KPIs of **{quarter.label}**" in captions


@pytest.mark.parametrize(
    ("metric", "value", "threshold", "margin"),
    [
        ("demographic_parity_ratio", 0.97, 0.8, 0.17),
        ("demographic_parity_ratio", 0.7, 0.8, -0.1),
        ("demographic_parity_difference", 0.02, 0.1, 0.08),
        ("demographic_parity_difference", -0.15, 0.1, -0.05),
    ],
)
def test_margin_to_the_policy_limit_is_positive_exactly_when_the_rule_passes(
    metric, value, threshold, margin
):
    assert _fairness_charts.margin_to_limit(metric, value, threshold) == pytest.approx(margin)


def test_history_draws_every_disparity_as_its_margin_to_the_limit(demo_db_path, monkeypatch):
    monkeypatch.setenv("AIMS_DB", str(demo_db_path))
    monkeypatch.setenv("AIMS_SESSION_KEY", "test-session-key-0123456789")
    with open_db(demo_db_path) as con:
        auth.add_user(con, "exec", "executive", "known password 1", actor="test")
        stored = con.execute(
            "SELECT metric, value, threshold, passed FROM bias_tests WHERE test_id LIKE '%:%'"
        ).fetchall()
    at = signed_in("exec", "pages/fairness.py")
    spec = figure(at, "fairness_history_chart")
    names = {trace["name"] for trace in spec["data"]}
    assert "Demographic parity ratio" in names and "Demographic parity difference" in names
    zero_lines = [s for s in spec["layout"]["shapes"] if s["y0"] == 0 and s["y1"] == 0]
    assert len(zero_lines) == 1  # one limit for every disparity
    for trace in spec["data"]:
        symbols = trace["marker"]["symbol"]
        for margin, symbol in zip(trace["y"], symbols, strict=True):
            assert (margin >= 0) == (symbol == "circle")  # passing exactly when above the limit
    assert all(passed == (_fairness_charts.margin_to_limit(m, v, t) >= 0)
               for m, v, t, passed in stored)  # fmt: skip
