"""Metric and source definitions: models, the shipped catalog, validation and versioned storage.

Analysts own metrics (YAML, versioned in `metric_definitions`); engineers own sources
(`sources.yaml`, shipped with the package). Validation runs in three stages and reports every
problem at once with its YAML path: pydantic shape → reference rules → DuckDB dry run.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import duckdb
import yaml
from pydantic import ValidationError

from aims_metrics import store
from aims_metrics.metrics.definition_reader import (
    LATEST_VERSIONS_SQL,
    in_catalog_order,
    shipped_document,
)
from aims_metrics.metrics.models import (
    NO_VALUE_OPS,
    PERIOD_END,
    PERIOD_START,
    DefinitionProblem,
    DefinitionVersion,
    Filter,
    MetricDefinition,
    MetricFile,
    Op,
    canonical_content,
    yaml_path,
)
from aims_metrics.metrics.sources import shipped_sources
from aims_metrics.metrics.validation import definition_problems

__all__ = [
    "DefinitionProblem",
    "DefinitionVersion",
    "MetricDefinition",
    "MetricFile",
    "apply_metric_file",
    "content_hash",
    "current_definitions",
    "definition_history",
    "definition_to_yaml",
    "describe_filter",
    "install_shipped_catalog",
    "parse_metric_file",
    "restore_version",
    "save_definition",
    "shipped_catalog",
    "validate_metric_file",
]

_UNION_TAGS = {"str", "int", "float", "bool", "date", "none", "list"}


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
        problems.append(DefinitionProblem(yaml_path(loc), message))
    return list(dict.fromkeys(problems))


# libyaml's parser when PyYAML has it: the same documents as yaml.safe_load, ~10x faster (the
# shipped catalog is parsed on every `kpis` run). User files keep the pure-Python parser, whose
# error messages the editor and `metrics validate` report.
def _load_document(text: str) -> tuple[Any, list[DefinitionProblem]]:
    """The YAML document as data, or the file-level problem (syntax, not a mapping)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        return None, [DefinitionProblem("<file>", f"not valid YAML: {where}{problem}")]
    if not isinstance(data, dict):
        return None, [
            DefinitionProblem("<file>", "a metric file is a mapping with schema_version and metrics")
        ]
    return data, []


def _validate_document(data: dict) -> tuple[MetricFile | None, list[DefinitionProblem]]:
    try:
        return MetricFile.model_validate(data), []
    except ValidationError as error:
        return None, _pydantic_problems(error)


def parse_metric_file(text: str) -> tuple[MetricFile | None, list[DefinitionProblem]]:
    """Parse YAML and validate its shape with pydantic; every problem at once."""
    data, problems = _load_document(text)
    if data is None:
        return None, problems
    return _validate_document(data)


def reference_problems(metric_file: MetricFile) -> list[DefinitionProblem]:
    """Reference rules for every metric of a parsed file, plus duplicate names."""
    return _reference_problems(list(enumerate(metric_file.metrics)))


def _reference_problems(
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


def _metrics_valid_alone(data: dict) -> list[tuple[int, MetricDefinition]]:
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


def dry_run_problems(
    con: duckdb.DuckDBPyConnection, definition: MetricDefinition, prefix: str
) -> list[DefinitionProblem]:
    """Compile and plan the metric's query against this database (read-only, no rows read)."""
    from aims_metrics.metrics.engine import (
        EVALUATION_TIME_LIMIT_SECONDS,
        MetricError,
        _existing_columns,
        compile_series,
        source_availability_problem,
        time_limit,
    )
    from aims_metrics.metrics.periods import Quarter

    sources = shipped_sources()
    with store.transaction(con, read_only=True):
        existing = _existing_columns(con)
    problems = []
    for part, measure in definition.parts():
        problem = source_availability_problem(sources[measure.source], existing)
        if problem:
            problems.append(DefinitionProblem(f"{prefix}.{part}.source", problem))
    if problems:
        return problems
    try:
        query = compile_series(definition, sources, [Quarter(2000, 1)])
        with time_limit(con, EVALUATION_TIME_LIMIT_SECONDS):
            with store.transaction(con, read_only=True):
                con.execute(f"EXPLAIN {query.sql}", query.params).fetchall()
    except MetricError as error:
        return [DefinitionProblem(prefix, f"cannot compile: {error}")]
    except duckdb.Error as error:
        return [DefinitionProblem(prefix, f"DuckDB dry run failed: {str(error).splitlines()[0]}")]
    return []


def validate_metric_file(con: duckdb.DuckDBPyConnection, text: str) -> list[DefinitionProblem]:
    """Shape, reference rules (sources, columns, types) and a DuckDB dry run; all problems."""
    data, problems = _load_document(text)
    if data is None:
        return problems
    metric_file, problems = _validate_document(data)
    if metric_file is not None:
        indexed = list(enumerate(metric_file.metrics))
    else:  # shape problems: still check every metric whose own shape is valid
        indexed = _metrics_valid_alone(data)
    problems = problems + _reference_problems(indexed)
    failing = {p.path.split(".")[0] for p in problems}
    for index, definition in indexed:
        prefix = f"metrics[{index}]"
        if prefix not in failing:
            problems += dry_run_problems(con, definition, prefix)
    return problems


# --- versioned storage -----------------------------------------------------------------------


def canonical_json(definition: MetricDefinition) -> str:
    """The stored form of a definition: sorted keys, no whitespace, version included."""
    data = definition.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(definition: MetricDefinition) -> str:
    """sha256 of the definition's content without its version (what a version bump protects)."""
    text = json.dumps(
        canonical_content(definition), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shipped_catalog() -> list[MetricDefinition]:
    """The metrics shipped with the package (catalog.yaml), in catalog order."""
    return list(_parsed_shipped_catalog())


@cache
def _parsed_shipped_catalog() -> tuple[MetricDefinition, ...]:
    # the document the plain read path also uses, parsed once per process
    metric_file, problems = _validate_document(shipped_document("catalog.yaml"))
    if metric_file is None:
        raise ValueError("shipped catalog is invalid: " + "; ".join(map(str, problems)))
    return metric_file.metrics


def _stored_current(con: duckdb.DuckDBPyConnection) -> dict[str, MetricDefinition]:
    rows = con.execute(LATEST_VERSIONS_SQL).fetchall()
    return {name: MetricDefinition.model_validate_json(text) for name, text in rows}


def current_definitions(con: duckdb.DuckDBPyConnection) -> list[MetricDefinition]:
    """The latest version of every metric: shipped ones in catalog order, then the others by name.

    A shipped metric not yet stored in the database counts with its shipped version. Every
    definition is validated here; `definition_reader.plain_current_definitions` is the same list
    as unvalidated plain records (the engine's read path).
    """
    return in_catalog_order(_stored_current(con), ((d.name, d) for d in shipped_catalog()))


def _insert_version(
    con: duckdb.DuckDBPyConnection,
    definition: MetricDefinition,
    version: int,
    username: str,
    reason: str | None,
) -> None:
    versioned = definition.model_copy(update={"version": version})
    digest = content_hash(versioned)
    con.execute(
        "INSERT INTO metric_definitions (name, version, definition, content_hash, author, "
        "created_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [definition.name, version, canonical_json(versioned), digest, username, store.now(), reason],
    )
    store.record_audit(
        con,
        username,
        "metric.save",
        definition.name,
        {"version": version, "content_hash": digest, "reason": reason},
    )


def _save_in_transaction(
    con: duckdb.DuckDBPyConnection, definition: MetricDefinition, username: str, reason: str | None
) -> tuple[int, bool]:
    row = con.execute(
        "SELECT version, content_hash FROM metric_definitions WHERE name = ? "
        "ORDER BY version DESC LIMIT 1",
        [definition.name],
    ).fetchone()
    if row is None:
        shipped = {d.name: d for d in shipped_catalog()}.get(definition.name)
        if shipped is not None:
            # Keep name@version unambiguous: record the shipped version before changing it.
            if content_hash(shipped) == content_hash(definition):
                _insert_version(con, shipped, shipped.version, username, reason or "installed")
                return shipped.version, True
            _insert_version(con, shipped, shipped.version, "system", "shipped catalog")
            row = (shipped.version, content_hash(shipped))
    if row is None:
        _insert_version(con, definition, definition.version, username, reason)
        return definition.version, True
    current_version, current_hash = row
    if current_hash == content_hash(definition):
        return int(current_version), False
    _insert_version(con, definition, int(current_version) + 1, username, reason)
    return int(current_version) + 1, True


def save_definition(
    con: duckdb.DuckDBPyConnection,
    definition: MetricDefinition,
    username: str,
    reason: str | None = None,
) -> int:
    """Save a definition as a new version unless its content is unchanged; returns the version.

    The caller validates first (validate_metric_file / reference rules); the stored version
    number is assigned here: the current one + 1, or the definition's own for a new metric.
    """
    problems = definition_problems(definition, shipped_sources(), "metric")
    if problems:
        raise ValueError("; ".join(str(p) for p in problems))
    with store.transaction(con):
        version, _ = _save_in_transaction(con, definition, username, reason)
    return version


def apply_metric_file(
    con: duckdb.DuckDBPyConnection, text: str, username: str, reason: str | None = None
) -> list[tuple[str, int]]:
    """Save every changed metric of a valid file as a new version, all or nothing.

    Returns (name, version) for each metric saved; unchanged metrics are not bumped.
    Raises ValueError listing every problem when the file is invalid.
    """
    problems = validate_metric_file(con, text)
    if problems:
        raise ValueError("\n".join(str(p) for p in problems))
    metric_file, _ = parse_metric_file(text)
    assert metric_file is not None
    saved = []
    with store.transaction(con):
        for definition in metric_file.metrics:
            version, changed = _save_in_transaction(con, definition, username, reason)
            if changed:
                saved.append((definition.name, version))
    return saved


def definition_history(con: duckdb.DuckDBPyConnection, name: str) -> list[DefinitionVersion]:
    """Every saved version of a metric, oldest first."""
    rows = con.execute(
        "SELECT version, author, created_at, reason, content_hash, definition "
        "FROM metric_definitions WHERE name = ? ORDER BY version",
        [name],
    ).fetchall()
    return [
        DefinitionVersion(
            name=name,
            version=version,
            author=author,
            created_at=created_at,
            reason=reason,
            content_hash=digest,
            definition=MetricDefinition.model_validate_json(text),
        )
        for version, author, created_at, reason, digest, text in rows
    ]


def restore_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    version: int,
    username: str,
    reason: str | None = None,
) -> int:
    """Save an old version's content as a new version; returns the resulting current version."""
    old = {v.version: v for v in definition_history(con, name)}.get(version)
    if old is None:
        raise KeyError(f"metric {name!r} has no saved version {version}")
    note = f"restored version {version}" + (f": {reason}" if reason else "")
    with store.transaction(con):
        new_version, _ = _save_in_transaction(con, old.definition, username, note)
    return new_version


def install_shipped_catalog(con: duckdb.DuckDBPyConnection, username: str = "system") -> int:
    """Store every shipped metric the database lacks (idempotent); returns how many were added."""
    stored = set(_stored_current(con))
    added = 0
    with store.transaction(con):
        for definition in shipped_catalog():
            if definition.name not in stored:
                _insert_version(
                    con, definition, definition.version, username, "shipped catalog"
                )
                added += 1
    return added


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
