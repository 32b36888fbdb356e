"""One representation per concept (issue 24): statuses and finding types are worded, marked and
coloured in aims_metrics.vocabulary only, and the app, the CLI and the PDFs render from it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from aims_metrics.review.models import DecisionKind
from aims_metrics.vocabulary import findings, palette, status, wording

REPO = Path(__file__).resolve().parents[1]
VOCABULARY = REPO / "aims_metrics" / "vocabulary"
HEX = re.compile(r"#[0-9A-Fa-f]{6}\b")
STATUS_HEX = {c.upper() for c in palette.OKABE_ITO.values()}
SYMBOL_WORD = re.compile(r"[●▲■○◆] ?([A-Za-z]+(?: [a-z]+)?)")
STATUS_WORDS = {w.lower() for w, _ in status.STATUSES.values()} | {
    w.lower().split()[0] for w, _ in status.STATUSES.values()
}
FINDING_LABELS = {
    text
    for t in findings.FINDING_TYPES
    for item in [findings.finding_look(t)]
    for text in (
        item.title,
        item.short,
        item.singular,
        item.plural,
        item.title.lower(),
        f"{item.title}(s)",
        f"{item.singular}(s)",
        f"{item.title.lower()}(s)",
        item.title[0].lower() + item.title[1:],
    )
} - set(findings.FINDING_TYPES)


def renderers(root: Path = REPO) -> list[Path]:
    """Every module that shows something: the pages, the app, the library outside the vocabulary."""
    library = [p for p in (root / "aims_metrics").rglob("*.py") if VOCABULARY not in p.parents]
    return sorted([*(root / "pages").glob("*.py"), root / "app.py", *library])


def copies_of_the_vocabulary(path: Path) -> list[str]:
    """What a module declares that the vocabulary owns: a status colour (an Okabe-Ito hex), a
    finding-type label, or a map from status values to their words, symbols or colours."""
    found: list[str] = []
    tree = ast.parse(path.read_text("utf-8"))
    docs = {  # docstrings may show an example of the look
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [f"colour {c}" for c in HEX.findall(node.value) if c.upper() in STATUS_HEX]
            if node.value.strip() in FINDING_LABELS:
                found.append(f"finding-type label {node.value!r}")
            found += [
                f"status symbol and word {m.group(0)!r}"
                for m in SYMBOL_WORD.finditer(node.value)
                if m.group(1).split()[0].lower() in STATUS_WORDS and id(node) not in docs
            ]
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            values = [v.value for v in node.values if isinstance(v, ast.Constant)]
            statuses = [k for k in keys if k in status.STATUSES]
            described = [
                v
                for v in values
                if isinstance(v, str)
                and (
                    v.lower() in {w.lower() for w, _ in status.STATUSES.values()}
                    or v in status.FAMILIES
                    or HEX.fullmatch(v)
                )
            ]
            if len(statuses) >= 2 and len(described) >= 2:
                found.append(f"status map {dict(zip(keys, values, strict=False))}")
    return found


@pytest.mark.parametrize("path", renderers(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_page_or_pdf_declares_its_own_status_look_or_finding_labels(path: Path):
    assert copies_of_the_vocabulary(path) == []


def test_the_scan_finds_the_copies_issue_24_found(tmp_path):
    """The check itself: the kinds of copy the pages and the PDFs held before issue 24."""
    page = tmp_path / "page.py"
    page.write_text(
        'FAMILY = {"met": "green", "gap": "red"}\n'
        'WORDS = {"covered": "Covered", "planned": "Planned"}\n'
        'PASS, FAIL = "#009E73", "#D55E00"\n'
        'TYPE_WORDS = {"major_nc": "major NC", "ofi": "OFI"}\n'
        'CAPTION = "status: ● Green on target, ▲ Amber watch"\n'
    )
    found = copies_of_the_vocabulary(page)
    assert len([f for f in found if f.startswith("status map")]) == 2
    assert {"colour #009E73", "colour #D55E00"} <= set(found)
    assert {"finding-type label 'major NC'", "finding-type label 'OFI'"} <= set(found)
    assert len([f for f in found if f.startswith("status symbol and word")]) == 2


def test_decision_kinds_have_one_title_in_the_page_and_the_pdf():
    assert DecisionKind.IMPROVEMENT.title == "Continual-improvement opportunity"
    for path in renderers():
        text = path.read_text("utf-8")
        if path.name != "models.py":
            assert '"Improvement"' not in text, path


def test_finding_types_look_the_same_in_the_app_and_the_minutes():
    """Major NC is vermillion and OFI bluish green everywhere (it was blue / orange in the app)."""
    from aims_metrics.reports.style import finding_colour
    from pages import _ui

    for finding_type in findings.FINDING_TYPES:
        app = _ui.finding_type_colour(finding_type)
        pdf = finding_colour(finding_type).hexval().replace("0x", "#").upper()
        assert app.upper() == pdf
    assert _ui.finding_type_colour("major_nc") == palette.OKABE_ITO["vermillion"]
    assert _ui.finding_type_colour("ofi") == palette.OKABE_ITO["bluish_green"]


def test_every_status_value_of_the_library_has_a_word():
    from aims_metrics.audits import readiness
    from aims_metrics.metrics.status import KpiStatus
    from aims_metrics.performance.objectives import ObjectiveStatus
    from aims_metrics.review.models import ActionState

    values = [
        *KpiStatus,
        *ObjectiveStatus,
        *ActionState,
        readiness.READY,
        readiness.READY_WITH_CORRECTIONS,
        readiness.NOT_READY,
    ]
    assert [
        str(getattr(v, "value", v))
        for v in values
        if str(getattr(v, "value", v)) not in status.STATUSES
    ] == []


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (1, "audit", "1 audit"),
        (14, "audit", "14 audits"),
        (0, "nonconformity", "0 nonconformities"),
        (1, "major nonconformity", "1 major nonconformity"),
        (2, "minor nonconformity", "2 minor nonconformities"),
        (1, "version", "1 version"),
        (3, "KPI", "3 KPIs"),
        (6675, "finding", "6,675 findings"),
    ],
)
def test_counts_agree_with_their_noun(count, noun, expected):
    assert wording.count_of(count, noun) == expected


def test_numbers_are_written_one_way():
    assert [wording.number(v) for v in (6675, 8248.0, 0.97, None)] == [
        "6,675",
        "8,248",
        "0.97",
        "—",
    ]


def test_the_ratio_rule_is_written_once():
    """`*_ratio` passes at or above its threshold: the registry says so, everyone else asks it."""
    for path in renderers():
        if path.name == "registry.py":
            continue
        text = path.read_text("utf-8")
        assert "_ratio')" not in text and '_ratio")' not in text, path  # endswith("_ratio")
        assert "\\_ratio" not in text, path  # the LIKE '%\\_ratio' SQL


def test_the_vocabulary_imports_nothing_else_of_the_package():
    """Every layer may use it (the registry, the reports, the pages), so it depends on none."""
    from tests.test_architecture import PACKAGE, import_graph

    graph = import_graph(PACKAGE)
    outside = {
        (module, target)
        for module, targets in graph.items()
        if module.startswith("aims_metrics.vocabulary")
        for target in targets
        if not target.startswith("aims_metrics.vocabulary")
    }
    assert outside == set()
