"""Metric files (YAML, analyst-owned): parse and validate their shape and reference rules, and
render definitions as text (a filter as a sentence, a definition as a one-metric file).

Validation reports every problem at once with its YAML path; `metrics.editing` adds the DuckDB
dry run and saves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aims_metrics.inputs.files import FileProblem, read_input_file
from aims_metrics.metrics.models import (
    NO_VALUE_OPS,
    PERIOD_END,
    PERIOD_START,
    DefinitionProblem,
    Filter,
    MetricDefinition,
    MetricFile,
    Op,
    yaml_path,
)
from aims_metrics.metrics.sources import shipped_sources
from aims_metrics.metrics.validation import definition_problems

_UNION_TAGS = {"str", "int", "float", "bool", "date", "none", "list"}

# Bounds checked before any per-metric work, so a huge file is refused in seconds, not validated
# for minutes: the shipped catalog is about 300 bytes a metric and has fewer than 20 metrics.
MAX_METRIC_FILE_BYTES = 1_000_000
MAX_METRICS_PER_FILE = 200
MAX_NESTING = 50  # a metric is at most 6 levels deep
FILE = "<file>"


# --- reading ---------------------------------------------------------------------------------


def decode_metric_file(data: bytes) -> tuple[str | None, list[DefinitionProblem]]:
    """The bytes of a metric file as text (UTF-8, a BOM allowed), or a located problem."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        return None, [
            DefinitionProblem(
                FILE, f"not UTF-8 text: byte 0x{byte:02x} on line {line} — save the file as UTF-8"
            )
        ]


def read_metric_file(path: str | Path) -> tuple[str | None, list[DefinitionProblem]]:
    """A metric file's text: a regular UTF-8 file of at most MAX_METRIC_FILE_BYTES, or the
    problem (located at the file) that keeps it from being read."""
    try:
        data = read_input_file(path, MAX_METRIC_FILE_BYTES)
    except FileProblem as error:
        return None, [DefinitionProblem(FILE, str(error))]
    return decode_metric_file(data)


# --- parsing ---------------------------------------------------------------------------------


def _pydantic_problems(error: ValidationError) -> list[DefinitionProblem]:
    problems = []
    for item in error.errors():
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and (p in _UNION_TAGS or "[" in p))
        )
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r} (not part of the metric format)"
        elif item["type"] == "missing":
            message = f"{loc[-1]} is required"
        elif item["type"] == "string_too_short" and item.get("ctx", {}).get("min_length") == 1:
            message = f"{loc[-1]} is required (it is blank)"
        problems.append(DefinitionProblem(yaml_path(loc), message))
    return list(dict.fromkeys(problems))


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _parse_yaml(text: str) -> Any:
    """The document, parsed fast by libyaml when it is there: its events are scanned first (an
    iterative parser), so a document nested deeper than MAX_NESTING is refused before libyaml's
    recursive composer could overflow the C stack. A syntax error is parsed again by the
    pure-Python parser, whose messages (with line numbers) are the ones users see."""
    if not getattr(yaml, "__with_libyaml__", False):
        return yaml.safe_load(text)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    raise _TooDeep(event.start_mark.line + 1)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
        return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506 (the safe loader)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def load_document(text: str) -> tuple[Any, list[DefinitionProblem]]:
    """The YAML document as data, or the file-level problem (too large, syntax, nesting, not a
    mapping, too many metrics), found before any per-metric work."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_METRIC_FILE_BYTES:
        return None, [
            DefinitionProblem(
                FILE,
                (
                    f"the file is {size / 1e6:.1f} MB; the limit is {MAX_METRIC_FILE_BYTES / 1e6:.0f} MB "
                    "— split it into smaller files"
                ),
            )
        ]
    try:
        data = _parse_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        return None, [DefinitionProblem(FILE, f"not valid YAML: {where}{problem}")]
    except _TooDeep as error:
        return None, [
            DefinitionProblem(
                FILE,
                (f"not valid YAML: line {error.line}: nested more than {MAX_NESTING} levels deep"),
            )
        ]
    except RecursionError:
        return None, [DefinitionProblem(FILE, "not valid YAML: nested too deeply")]
    except ValueError as error:  # an integer with more digits than Python converts
        detail = str(error).split(";")[0]
        if "digits" in detail:
            detail = "a number has more than 4,300 digits"
        return None, [DefinitionProblem(FILE, f"not valid YAML: {detail}")]
    if not isinstance(data, dict):
        return None, [
            DefinitionProblem(FILE, "a metric file is a mapping with schema_version and metrics")
        ]
    metrics = data.get("metrics")
    if isinstance(metrics, list) and len(metrics) > MAX_METRICS_PER_FILE:
        return None, [
            DefinitionProblem(
                "metrics",
                (
                    f"{len(metrics):,} metrics; a file holds at most {MAX_METRICS_PER_FILE} "
                    "— split it into smaller files"
                ),
            )
        ]
    return data, []


def validate_document(data: dict) -> tuple[MetricFile | None, list[DefinitionProblem]]:
    try:
        return MetricFile.model_validate(data), []
    except ValidationError as error:
        return None, _pydantic_problems(error)


def parse_metric_file(text: str) -> tuple[MetricFile | None, list[DefinitionProblem]]:
    """Parse YAML and validate its shape with pydantic; every problem at once."""
    data, problems = load_document(text)
    if data is None:
        return None, problems
    return validate_document(data)


def reference_problems(metric_file: MetricFile) -> list[DefinitionProblem]:
    """Reference rules for every metric of a parsed file, plus duplicate names."""
    return reference_problems_of(list(enumerate(metric_file.metrics)))


def reference_problems_of(
    indexed: list[tuple[int, MetricDefinition]],
) -> list[DefinitionProblem]:
    sources = shipped_sources()
    problems: list[DefinitionProblem] = []
    first_seen: dict[str, int] = {}
    for index, definition in indexed:
        prefix = f"metrics[{index}]"
        if definition.name in first_seen:
            problems.append(
                DefinitionProblem(
                    f"{prefix}.name",
                    f"metric {definition.name!r} appears more than once "
                    f"(also metrics[{first_seen[definition.name]}])",
                )
            )
        first_seen.setdefault(definition.name, index)
        problems += definition_problems(definition, sources, prefix)
    return problems


def metrics_valid_alone(data: dict) -> list[tuple[int, MetricDefinition]]:
    """In a document whose shape is invalid, the metrics whose own shape is valid (so their
    reference problems can be reported in the same pass), with their index in the file."""
    entries = data.get("metrics")
    valid = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        try:
            valid.append((index, MetricDefinition.model_validate(entry)))
        except ValidationError:
            continue
    return valid


# --- rendering -------------------------------------------------------------------------------

_OP_WORDS = {
    Op.EQ: "is",
    Op.NEQ: "is not",
    Op.IN: "is one of",
    Op.NOT_IN: "is none of",
    Op.GT: "is greater than",
    Op.GTE: "is at least",
    Op.LT: "is less than",
    Op.LTE: "is at most",
}
_DATE_OP_WORDS = {
    Op.GT: "is after",
    Op.GTE: "is on or after",
    Op.LT: "is before",
    Op.LTE: "is on or before",
}
_NO_VALUE_WORDS = {
    Op.IS_NULL: "is empty",
    Op.IS_NOT_NULL: "is set",
    Op.IS_TRUE: "is true",
    Op.IS_FALSE: "is false",
}


def _value_words(value: Any) -> str:
    if value == PERIOD_START:
        return "the period start"
    if value == PERIOD_END:
        return "the period end"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def describe_filter(filter: Filter) -> str:
    """A filter as a human sentence, e.g. "severity is one of high, critical"."""
    if filter.sql is not None:
        return f"condition: {filter.sql.strip()}"
    op = filter.op
    assert op is not None
    if op in NO_VALUE_OPS:
        return f"{filter.field} {_NO_VALUE_WORDS[op]}"
    if isinstance(filter.value, list):
        return f"{filter.field} {_OP_WORDS[op]} {', '.join(_value_words(v) for v in filter.value)}"
    datelike = filter.value in (PERIOD_START, PERIOD_END) or _looks_like_date(filter.value)
    words = _DATE_OP_WORDS.get(op, _OP_WORDS[op]) if datelike else _OP_WORDS[op]
    return f"{filter.field} {words} {_value_words(filter.value)}"


def _looks_like_date(value: Any) -> bool:
    from datetime import date

    if isinstance(value, date):
        return True
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def definition_to_yaml(definition: MetricDefinition) -> str:
    """A definition as a one-metric file in the metric format (for the editor and `metrics show`)."""
    data = definition.model_dump(mode="json", exclude_none=True)
    for key in ("grain",):
        if data.get(key) == "quarter":
            data.pop(key)
    document = {"schema_version": 1, "metrics": [data]}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
