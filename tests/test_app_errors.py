"""Failures reach users as plain sentences, never as tracebacks or a generic error."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from aims_metrics.metrics import evaluate
from aims_metrics.metrics.evaluate import MetricTimeout
from pages import _ui
from tests.conftest import app_usernames

REPO = Path(__file__).resolve().parents[1]


def test_a_metric_timeout_on_the_overview_says_which_limit_stopped_it(app_db, monkeypatch):
    def stopped(*args, **kwargs):
        raise MetricTimeout("metric evaluation took longer than 30 s and was stopped")

    monkeypatch.setattr(evaluate, "catalog_series", stopped)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[_ui.USER_KEY] = app_usernames()["executive"]
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("A metric took too long to compute and was stopped") for e in errors), (
        errors
    )
    assert not any("Something went wrong" in e for e in errors), errors
