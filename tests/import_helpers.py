"""Helpers for the import tests: run the CLI (in-process or as a subprocess) and dump a database.

Owned by the import test suite (test_import_*.py, test_bad_inputs.py, test_external_data.py,
test_cli_data.py, test_export.py).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from aims_metrics import cli
from aims_metrics.store import open_db

REPO_ROOT = Path(__file__).resolve().parents[1]
BAD_INPUTS = Path(__file__).resolve().parent / "bad_inputs"
EXTERNAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "external-data"

SYSTEMS_CSV = (
    "system_id,name,owner,business_unit,risk_level,lifecycle_stage,deployed_on,retired_on,third_party\n"
    "S1,Credit scoring,Ana,Retail,High,Deployed,2024-01-15,,no\n"
    "S2,Chat assistant,Ben,Support,low,development,,,yes\n"
)


def write(path: Path, content: str | bytes) -> Path:
    """Write text (UTF-8, newlines as given) or bytes to path."""
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


_TEMPLATES: dict[bool, Path] = {}


def new_db(directory: Path, with_systems: bool = True) -> Path:
    """A migrated database in `directory`; with systems S1 and S2 unless told otherwise.

    Built once per test process and copied, so each test starts from the same fresh file fast.
    """
    if with_systems not in _TEMPLATES:
        home = Path(tempfile.mkdtemp(prefix="aims-import-template-"))
        atexit.register(shutil.rmtree, home, ignore_errors=True)  # gone with the test process
        template = home / "template.duckdb"
        with open_db(template):
            pass
        if with_systems:
            code, _out, err = run_main(
                template, "import", "systems", str(write(home / "seed.csv", SYSTEMS_CSV))
            )
            assert code == 0, err
        _TEMPLATES[with_systems] = template
    db = directory / "aims.duckdb"
    shutil.copyfile(_TEMPLATES[with_systems], db)
    write(directory / "seed.csv", SYSTEMS_CSV)
    return db


def run_main(db: Path, *args: str) -> tuple[int, str, str]:
    """Run `python -m aims_metrics --db DB ARGS` in this process; (exit code, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(["--db", str(db), *args])
        except SystemExit as exit_:  # argparse usage errors
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def run_cli(
    db: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess from the repository root."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "aims_metrics", "--db", str(db), *args],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def dump_db(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table (data, import_batches, audit_log, …), sorted, for equality checks."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name"
            ).fetchall()
        ]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables}
    finally:
        con.close()


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def require_external_data() -> Path:
    if not EXTERNAL_DATA.is_dir():
        pytest.skip(f"the shared external data folder {EXTERNAL_DATA} is absent")
    return EXTERNAL_DATA
