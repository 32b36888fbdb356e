"""The package's shape (design §1, issue 16): library first, no import cycles (a lazy import inside
a function included), modules a newcomer reads in one sitting, short functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "aims_metrics"
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 100
# The metrics engine, split by what it does: compiling, the catalog scan, evaluating, judging.
ENGINE_MODULES = ("compiler", "scan", "evaluate", "status")
MAX_ENGINE_MODULE_LINES = 400
MAX_ENGINE_FUNCTION_LINES = 60


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str, root: Path) -> bool:
    relative = Path(*name.split(".")[1:])
    return (root / relative).with_suffix(".py").exists() or (root / relative / "__init__.py").exists()


def imports_of(path: Path, root: Path) -> set[str]:
    """The package's modules a file imports anywhere in it: at module level, inside a function, or
    by name (a string naming a module, as importlib.import_module takes it)."""
    package = root.name
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.split(".")[0] == package and _is_module(node.value, root):
                found.add(node.value)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == package}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != package:
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if _is_module(candidate, root) else node.module)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    return {name: imports_of(path, root) & set(modules) - {name} for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph(PACKAGE)) == []


def test_a_lazy_import_inside_a_function_is_a_cycle_too(tmp_path):
    """The check itself: a function-level import that closes a loop is reported."""
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "a.py").write_text("from pkg.sub import b\n")
    (root / "sub" / "b.py").write_text("def later():\n    from pkg import a\n    return a\n")
    (root / "c.py").write_text("import pkg.a\n")
    assert cycles(import_graph(root)) == [["pkg.a", "pkg.sub.b"]]


def test_a_module_imported_by_name_closes_a_cycle_too(tmp_path):
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "store.py").write_text('MODULES = ("pkg.schema",)\n')
    (root / "schema.py").write_text("from pkg.store import MODULES\n")
    assert cycles(import_graph(root)) == [["pkg.schema", "pkg.store"]]


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_modules_and_functions_stay_readable(path: Path):
    source = path.read_text("utf-8")
    engine = path.parent.name == "metrics" and path.stem in ENGINE_MODULES
    max_lines = MAX_ENGINE_MODULE_LINES if engine else MAX_MODULE_LINES
    max_function = MAX_ENGINE_FUNCTION_LINES if engine else MAX_FUNCTION_LINES
    assert len(source.splitlines()) <= max_lines
    long = {name: n for name, n in _functions(ast.parse(source)) if n > max_function}
    assert long == {}


# Packages split into modules that each do one job (issue 24): none of their modules over this.
SPLIT_PACKAGES = ("auth", "store")
MAX_SPLIT_MODULE_LINES = 400


@pytest.mark.parametrize("package", SPLIT_PACKAGES)
def test_split_packages_keep_their_modules_short(package: str):
    long = {
        path.name: n
        for path in sorted((PACKAGE / package).glob("*.py"))
        if (n := len(path.read_text("utf-8").splitlines())) > MAX_SPLIT_MODULE_LINES
    }
    assert long == {}


def test_the_library_never_imports_streamlit():
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            assert not any(n.split(".")[0] == "streamlit" for n in names), path


def test_one_representation_of_a_metric_definition():
    """No generated mirror of the models and no reader of one (issue 16)."""
    for gone in ("plain_definitions.py", "plain_codegen.py", "definition_reader.py", "folding.py",
                 "engine.py"):
        assert not list(PACKAGE.rglob(gone)), gone
