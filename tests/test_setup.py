"""Set-up promises (issue 24): the requirements declare what the code imports and nothing it does
not, and the app fetches nothing from the internet for its look (the page icon ships with it)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# import name → distribution name, where they differ
DISTRIBUTIONS = {
    "yaml": "pyyaml",
    "email_validator": "email-validator",
    "charset_normalizer": "charset-normalizer",
    "PIL": "pillow",
    "sklearn": "scikit-learn",
}
OURS = {"aims_metrics", "pages", "tests", "bench", "app"}
TEST_HELPERS = {p.stem for p in (REPO / "tests").glob("*.py")}


def _imported(paths: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    third_party = found - set(sys.stdlib_module_names) - OURS - TEST_HELPERS
    return {DISTRIBUTIONS.get(name, name) for name in third_party}


def _pinned(file_name: str) -> set[str]:
    names = set()
    for line in (REPO / file_name).read_text("utf-8").splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9_.-]+)==\S+", line.strip()):
            names.add(match.group(1).lower())
    return names


def _sources(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((REPO / folder).rglob("*.py"))]


def test_the_app_requirements_are_exactly_what_the_app_imports():
    app_code = _sources("aims_metrics", "pages") + [REPO / "app.py"]
    assert _pinned("requirements.txt") == _imported(app_code)


def test_the_dev_requirements_cover_what_the_tests_and_bench_import():
    tooling = {"ruff", "pytest-xdist"}  # run as programs or plugins, never imported
    needed = _imported(_sources("tests", "bench"))
    dev = _pinned("requirements-dev.txt")
    assert needed <= _pinned("requirements.txt") | dev
    assert dev - tooling <= needed


def test_the_page_icon_ships_with_the_app():
    """An emoji or a :material/…: page icon makes the browser fetch it from the internet."""
    tree = ast.parse((REPO / "app.py").read_text("utf-8"))
    (call,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "set_page_config"
    ]
    (icon,) = [k.value for k in call.keywords if k.arg == "page_icon"]
    assert not isinstance(icon, ast.Constant), "a literal icon is fetched from a CDN"
    assert (REPO / "assets" / "icon.png").read_bytes().startswith(b"\x89PNG")
    assert "PAGE_ICON" in ast.unparse(icon)


def test_make_run_takes_the_port_and_the_readme_says_so():
    makefile = (REPO / "Makefile").read_text("utf-8")
    assert "PORT ?= 8501" in makefile and "--server.port $(PORT)" in makefile
    assert "make run PORT=8502" in (REPO / "README.md").read_text("utf-8")


def test_ci_runs_the_linter_before_the_tests():
    steps = [
        line.split("#")[0].strip() for line in (REPO / ".ci" / "run").read_text("utf-8").split("\n")
    ]
    assert steps.index("make lint") < steps.index("make test")
