"""The metric catalog: the shipped definitions and the versions saved in `metric_definitions`.

Every saved edit is a new version (author, time, reason, content hash); old versions stay, so a
figure printed as `name@version` can be reproduced later.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

import duckdb

from aims_metrics import store
from aims_metrics.metrics.definition_files import validate_document
from aims_metrics.metrics.models import (
    STORED,
    DefinitionVersion,
    MetricDefinition,
    canonical_content,
)
from aims_metrics.metrics.sources import shipped_document, shipped_sources
from aims_metrics.metrics.validation import definition_problems

# The latest stored version of every metric, by name.
LATEST_VERSIONS_SQL = (
    "SELECT name, definition FROM metric_definitions "
    "QUALIFY row_number() OVER (PARTITION BY name ORDER BY version DESC) = 1 ORDER BY name"
)


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
    metric_file, problems = validate_document(shipped_document("catalog.yaml"))
    if metric_file is None:
        raise ValueError("shipped catalog is invalid: " + "; ".join(map(str, problems)))
    return metric_file.metrics


def _stored_current(con: duckdb.DuckDBPyConnection) -> dict[str, MetricDefinition]:
    rows = con.execute(LATEST_VERSIONS_SQL).fetchall()
    return {name: MetricDefinition.model_validate_json(text, context=STORED) for name, text in rows}


def current_definitions(con: duckdb.DuckDBPyConnection) -> list[MetricDefinition]:
    """The latest version of every metric: shipped ones in catalog order, then the others by name.

    A shipped metric not yet stored in the database counts with its shipped version.
    """
    stored = _stored_current(con)
    ordered = [stored.pop(d.name, d) for d in shipped_catalog()]
    return ordered + [stored[name] for name in sorted(stored)]


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
        [
            definition.name,
            version,
            canonical_json(versioned),
            digest,
            username,
            store.now(),
            reason,
        ],
    )
    store.record_audit(
        con,
        username,
        "metric.save",
        definition.name,
        {"version": version, "content_hash": digest, "reason": reason},
    )


def save_in_transaction(
    con: duckdb.DuckDBPyConnection, definition: MetricDefinition, username: str, reason: str | None
) -> tuple[int, bool]:
    """Save inside the caller's transaction; (version, whether a new version was written)."""
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
        version, _ = save_in_transaction(con, definition, username, reason)
    return version


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
            definition=MetricDefinition.model_validate_json(text, context=STORED),
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
        new_version, _ = save_in_transaction(con, old.definition, username, note)
    return new_version


def install_shipped_catalog(con: duckdb.DuckDBPyConnection, username: str = "system") -> int:
    """Store every shipped metric the database lacks (idempotent); returns how many were added."""
    stored = set(_stored_current(con))
    added = 0
    with store.transaction(con):
        for definition in shipped_catalog():
            if definition.name not in stored:
                _insert_version(con, definition, definition.version, username, "shipped catalog")
                added += 1
    return added
