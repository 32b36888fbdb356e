"""Shared fixtures: a fresh migrated database in tmp_path, and a demo database when demo exists."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

import aims_metrics.auth  # noqa: F401  (registers its schema migration before any db is made)
from aims_metrics.store import open_db


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


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deterministic demo data set, built once per test session."""
    if importlib.util.find_spec("aims_metrics.demo") is None:
        pytest.skip("aims_metrics.demo is not built yet")
    from aims_metrics.demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with open_db(path) as connection:
        load_demo(connection)
    return path


@pytest.fixture
def demo_db_path(demo_db_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database that a test may change."""
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db_template, path)
    return path
