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
    return (root / relative).with_suffix(".py").exists() or (
        root / relative / "__init__.py"
    ).exists()


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


def package_of(module: str) -> str:
    """The package a module belongs to: its first level below the root (`pkg.a.b` → `pkg.a`)."""
    return ".".join(module.split(".")[:2])


# The one kind of module edge allowed to run against the layers, each named so the list cannot
# hide a new one: the store's migration registry names every package's frozen schema module (by
# name). Those modules are literal DDL that import nothing (tests/test_migrations.py checks it), so
# each package declares its own tables and the store applies them in order.
KNOWN_PACKAGE_EDGES = {
    ("aims_metrics.store.migrations", "aims_metrics.review.schema"),
    ("aims_metrics.store.migrations", "aims_metrics.auth.schema"),
    ("aims_metrics.store.migrations", "aims_metrics.performance.fairness_schema"),
    ("aims_metrics.store.migrations", "aims_metrics.audits.schema"),
    ("aims_metrics.store.migrations", "aims_metrics.notify.schema"),
    ("aims_metrics.store.migrations", "aims_metrics.auth.password_schema"),
}


def package_graph(
    graph: dict[str, set[str]], ignored: set[tuple[str, str]] = frozenset()
) -> dict[str, set[str]]:
    """The module graph folded onto packages: an edge wherever a module of one imports another's."""
    folded: dict[str, set[str]] = {}
    for module, targets in graph.items():
        source = package_of(module)
        folded.setdefault(source, set()).update(
            package_of(t) for t in targets if package_of(t) != source and (module, t) not in ignored
        )
    return folded


def test_no_package_imports_another_in_a_circle():
    """Modules may be acyclic while their packages are not (audits → review.pdf_style while review
    → audits, issue 24): the packages form no cycle either, beyond the named edges."""
    assert cycles(package_graph(import_graph(PACKAGE), KNOWN_PACKAGE_EDGES)) == []


def test_the_named_package_edges_still_exist():
    """An edge that is gone leaves the list, so the list only ever shrinks."""
    graph = import_graph(PACKAGE)
    assert {(m, t) for m, t in KNOWN_PACKAGE_EDGES if t not in graph.get(m, set())} == set()


def test_a_package_cycle_without_a_module_cycle_is_found(tmp_path):
    """The check itself: pkg.a.x → pkg.b.y and pkg.b.z → pkg.a.w is no module cycle but a package
    cycle, as reports were before issue 24."""
    root = tmp_path / "pkg"
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "a" / "x.py").write_text("from pkg.b import y\n")
    (root / "a" / "w.py").write_text("STYLE = 1\n")
    (root / "b" / "y.py").write_text("VALUE = 2\n")
    (root / "b" / "z.py").write_text("from pkg.a.w import STYLE\n")
    graph = import_graph(root)
    assert cycles(graph) == []
    assert cycles(package_graph(graph)) == [["pkg.a", "pkg.b"]]


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
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] == "streamlit" for n in names), path


def test_one_representation_of_a_metric_definition():
    """No generated mirror of the models and no reader of one (issue 16)."""
    for gone in (
        "plain_definitions.py",
        "plain_codegen.py",
        "definition_reader.py",
        "folding.py",
        "engine.py",
    ):
        assert not list(PACKAGE.rglob(gone)), gone
