"""A larger-than-demo data set for the scale tests: the enterprise generator at a fraction of its
size (ENTERPRISE_SIZE × SCALE: 10,000 incidents, 5,000 findings, a programme of ~330 audits),
loaded as `init --demo --scale enterprise` loads the full one, with one user per role. Built once
per test run and shared (tests/conftest.py's `shared_database`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import APP_PASSWORD, TEST_BCRYPT_ROUNDS, app_usernames, shared_database

SCALE = 0.05


def build_scaled_enterprise(path: Path) -> None:
    from aims_metrics import auth
    from aims_metrics.auth import users
    from aims_metrics.demo import generate_enterprise, load_dataset
    from aims_metrics.demo.audits import load_demo_programme
    from aims_metrics.demo.objectives import seed_objectives
    from aims_metrics.metrics.periods import last_completed_quarter
    from aims_metrics.store import open_db

    end = last_completed_quarter()
    users.BCRYPT_ROUNDS, rounds = TEST_BCRYPT_ROUNDS, users.BCRYPT_ROUNDS
    try:
        with open_db(path) as con:
            load_dataset(con, generate_enterprise(end, scale_factor=SCALE))
            seed_objectives(con, end)
            load_demo_programme(con, end, load_dataset)
            for role, username in app_usernames().items():
                auth.add_user(con, username, role, APP_PASSWORD, actor="test")
    finally:
        users.BCRYPT_ROUNDS = rounds


def scaled_enterprise(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared scaled enterprise database (read it or copy it; never change it)."""
    return shared_database(tmp_path_factory, f"enterprise-{SCALE}", build_scaled_enterprise)
