"""Generates `aims_metrics/plain_definitions.py`: pydantic-free mirrors of the metric models.

The pydantic models in `models.py` stay the one declaration of every field; this writes, from
their `model_fields`, a read-only record class per model (fields, defaults, how nested values and
enums are converted) for the read path that evaluates already validated definitions.

    python -m aims_metrics.metrics.plain_codegen        # rewrite the module
    python -m aims_metrics.metrics.plain_codegen --check  # exit 1 when it is stale

tests/test_plain_definitions.py fails when the committed module differs from what this writes.
"""

from __future__ import annotations

import sys
import types
import typing
from enum import Enum
from pathlib import Path

from pydantic import BaseModel

from aims_metrics.metrics import models, vocabulary

MIRRORED: tuple[type[BaseModel], ...] = (
    models.SourceColumn,
    models.Source,
    models.Filter,
    models.Snapshot,
    models.Measure,
    models.Bound,
    models.Thresholds,
    models.MetricDefinition,
)
TARGET = Path(__file__).resolve().parent / "plain_definitions.py"
PREFIX = "Plain"

HEADER = '''"""Read-only, pydantic-free mirrors of the metric and source models (GENERATED: do not edit).

Written by `python -m aims_metrics.metrics.plain_codegen` from the pydantic models in
`aims_metrics/definitions/models.py`, which stay the one declaration of every field; a test fails
when this file is stale. `aims_metrics.metrics.definition_reader` builds these from definitions that were
validated when they were saved, so evaluating the catalog (`kpis`) does not import pydantic.
"""

from __future__ import annotations

from aims_metrics.metrics.vocabulary import (
{imports}
)
'''


def _non_none(annotation: object) -> list[object]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _converter(annotation: object, imports: set[str]) -> str | None:
    """The converter expression for a field's annotation, or None when values pass as they are."""
    options = _non_none(annotation)
    if len(options) != 1:
        return None  # e.g. int | float, a filter value: kept as stored
    (kind,) = options
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return f"{PREFIX}{kind.__name__}.from_data"
    if isinstance(kind, type) and issubclass(kind, Enum):
        imports.add(kind.__name__)
        return kind.__name__
    if typing.get_origin(kind) is tuple:
        item, ellipsis = typing.get_args(kind)
        assert ellipsis is Ellipsis, f"only tuple[X, ...] is mirrored, not {kind}"
        if isinstance(item, type) and issubclass(item, BaseModel):
            imports.add("tuple_of")
            return f"tuple_of({PREFIX}{item.__name__})"
        assert item is str, f"only tuples of models or strings are mirrored, not {kind}"
        imports.add("tuple_of_text")
        return "tuple_of_text"
    return None


def _literal(value: object, imports: set[str]) -> str:
    if isinstance(value, Enum):
        imports.add(type(value).__name__)
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, str):
        assert '"' not in value and "\\" not in value, value
        return f'"{value}"'
    assert value is None or isinstance(value, int | float | tuple), value
    return repr(value)


def _dict_lines(name: str, items: dict[str, str]) -> list[str]:
    if not items:
        return [f"    {name} = {{}}"]
    return [f"    {name} = {{", *(f'        "{k}": {v},' for k, v in items.items()), "    }"]


def _class_source(model: type[BaseModel], imports: set[str]) -> str:
    behaviours = [b.__name__ for b in model.__mro__ if b.__module__ == vocabulary.__name__]
    imports.update(behaviours)
    imports.add("PlainRecord")
    fields = model.model_fields
    defaults = {
        name: _literal(info.default, imports)
        for name, info in fields.items()
        if not info.is_required()
    }
    converters = {
        name: code
        for name, info in fields.items()
        if (code := _converter(info.annotation, imports))
    }
    lines = [
        "",
        "",
        f"class {PREFIX}{model.__name__}({', '.join([*behaviours, 'PlainRecord'])}):",
        f'    """Mirror of models.{model.__name__}."""',
        "",
        "    __slots__ = (",
        *(f'        "{name}",' for name in fields),
        "    )",
        *_dict_lines("_defaults", defaults),
        *_dict_lines("_convert", converters),
    ]
    return "\n".join(lines) + "\n"


def generate() -> str:
    """The text of `plain_definitions.py` for the current models."""
    imports: set[str] = set()
    body = "".join(_class_source(model, imports) for model in MIRRORED)
    ordered = sorted(imports, key=lambda name: (not name.isupper(), name[0].islower(), name))
    header = HEADER.format(imports="\n".join(f"    {name}," for name in ordered))
    return header + body


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        current = TARGET.read_text("utf-8") if TARGET.exists() else ""
        if current != text:
            sys.stderr.write(
                f"{TARGET} is stale: python -m aims_metrics.metrics.plain_codegen\n"
            )
            return 1
        return 0
    TARGET.write_text(text, "utf-8")
    sys.stdout.write(f"wrote {TARGET}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
