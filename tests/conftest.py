"""Shared fixtures: a fresh migrated database in tmp_path, and a demo database when demo exists."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from aims_metrics.store import open_db

# bcrypt at the product's cost (12) takes a quarter of a second per hash on this machine; tests that
# are not about the cost hash at the minimum cost instead (a hash records its cost, so checking
# one works whatever the cost). Tests about the stored hash itself are marked production_hashing.
TEST_BCRYPT_ROUNDS = 4


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "production_hashing: hash passwords at the product's bcrypt cost in this test"
    )


@pytest.fixture(autouse=True)
def _cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    if request.node.get_closest_marker("production_hashing") is None:
        from aims_metrics.auth import users

        monkeypatch.setattr(users, "BCRYPT_ROUNDS", TEST_BCRYPT_ROUNDS)
    yield


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh, fully migrated, empty database file."""
    path = tmp_path / "aims.duckdb"
    with open_db(path):
        pass
    return path


@pytest.fixture
def con(db_path: Path):
    """An open connection to a fresh database, closed after the test."""
    with open_db(db_path) as connection:
        yield connection


def shared_database(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A database built once per test run and shared by every pytest-xdist worker: the first
    worker to take the lock builds it (into a temporary name, then renames), the others wait for
    the lock and find it built. Tests read it or copy it; they never change it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, shared by the workers
    path = root / "shared" / f"{name}.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():
            building = path.with_suffix(".building")
            building.unlink(missing_ok=True)
            build(building)
            building.rename(path)
    return path


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deterministic demo data set, built once per test run (shared by the workers)."""
    if importlib.util.find_spec("aims_metrics.demo") is None:
        pytest.skip("aims_metrics.demo is not built yet")

    def build(path: Path) -> None:
        from aims_metrics.demo import load_demo

        with open_db(path) as connection:
            load_demo(connection)

    return shared_database(tmp_path_factory, "demo", build)


@pytest.fixture
def demo_db_path(demo_db_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database that a test may change."""
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db_template, path)
    return path


# --- the app: one user per role and a small known data set ------------------------------------

APP_PASSWORD = "known password 1"


def app_usernames() -> dict[str, str]:
    from aims_metrics.auth import Role

    return {role.value: f"{role.value.replace('_', '-')}-user" for role in Role}


def signed_in_page(role: str, file: str, *, timeout: float = 90, **state):
    """AppTest of `file` opened through app.py by the test user of `role`, with `state` put in
    the session first; fails on any exception or error the page shows."""
    from streamlit.testing.v1 import AppTest

    from pages import _ui

    at = AppTest.from_file(
        str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=timeout
    )
    at.session_state[_ui.USER_KEY] = app_usernames()[role]
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(file).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def known_quarter():
    """The quarter the app shows by default: the last completed one."""
    from aims_metrics.metrics.periods import last_completed_quarter

    return last_completed_quarter()


def known_data_csv() -> dict[str, str]:
    """Hand-made data for the default quarter Q (see tests/test_app_pages.py for the answers)."""
    from datetime import timedelta

    q = known_quarter()
    p = q.previous()
    d = lambda day, delta=0: (day + timedelta(days=delta)).isoformat()  # noqa: E731
    incidents = ["incident_id,system_id,title,severity,detected_on,resolved_on,status"]
    incidents += [
        f"I{n},S1,Drift {n},low,{d(q.start, n)},{d(q.start, n + 1)},resolved" for n in range(11)
    ]
    incidents += [f"I11,S2,Leak,high,{d(q.start, 20)},,open"]
    incidents += [
        f"P{n},S1,Old {n},low,{d(p.start, n)},{d(p.start, n + 2)},resolved" for n in range(3)
    ]
    return {
        "systems": "system_id,name,owner,business_unit,risk_level,lifecycle_stage,deployed_on\n"
        f"S1,Credit scoring,Ana,Retail,high,deployed,{d(p.start, -400)}\n"
        f"S2,Chat assistant,Ben,Support,low,deployed,{d(p.start, -400)}\n",
        "incidents": "\n".join(incidents) + "\n",
        "findings": "finding_id,audit_id,audit_type,clause_ref,finding_type,description,raised_on,due_on,owner,status\n"
        f"F1,A1,internal,9.2,major_nc,Audit programme incomplete,{d(q.start, -100)},{d(q.start, -10)},Cara,open\n"
        f"F2,A1,internal,10.2,minor_nc,Root cause missing,{d(q.start, 5)},{d(q.end, 60)},Dan,open\n",
    }


@pytest.fixture(scope="session")
def app_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated database with the known data set and one user per role (password APP_PASSWORD)."""

    def build(path: Path) -> None:
        from aims_metrics import auth
        from aims_metrics.auth import users
        from aims_metrics.tables import ingest

        users.BCRYPT_ROUNDS, rounds = TEST_BCRYPT_ROUNDS, users.BCRYPT_ROUNDS
        with open_db(path) as connection:
            for table, text in known_data_csv().items():
                ingest.import_file(
                    connection, table, text.encode(), "test", file_name=f"{table}.csv"
                )
            for role, username in app_usernames().items():
                auth.add_user(connection, username, role, APP_PASSWORD, actor="test")
        users.BCRYPT_ROUNDS = rounds

    return shared_database(tmp_path_factory, "app", build)


@pytest.fixture
def app_db(app_db_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the app database, named by AIMS_DB for the app under test."""
    path = tmp_path / "app.duckdb"
    shutil.copyfile(app_db_template, path)
    monkeypatch.setenv("AIMS_DB", str(path))
    monkeypatch.setenv("AIMS_SESSION_KEY", "test-session-key-0123456789")
    return path
