"""A database whose cells try to break a CSV export, built at test time for the hostile cases of
class 3 (tests/bad_inputs/cases/03_export_quoting.yaml): rows are inserted directly, as any
earlier version, another tool or a restore could have left them, without the import's rules."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aims_metrics.store import open_db


def incidents_database(titles: dict[str, str]) -> bytes:
    """The bytes of a migrated database holding one low-severity incident per (id, title)."""
    with tempfile.TemporaryDirectory(prefix="aims-hostile-export-") as folder:
        path = Path(folder) / "hostile.duckdb"
        with open_db(path) as con:
            con.executemany(
                "INSERT INTO incidents (incident_id, title, severity, detected_on) "
                "VALUES (?, ?, 'low', DATE '2025-01-01')",
                [[incident, title] for incident, title in titles.items()],
            )
        return path.read_bytes()
