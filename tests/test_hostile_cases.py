"""Hostile files and commands (issue 21): one case per line of a manifest, whole-command contract.

Each `tests/bad_inputs/cases/*.yaml` holds a list of cases, grouped by the class of hostile input
they try. A case runs one CLI command in this process against a fresh database (systems S1, S2)
and asserts the contract: the exit code, the message, no traceback, and every table of the
database exactly as it was (plus any file the case names under `unchanged`).

A case:

    - id: tab_only_title                      # unique within the class
      argv: [import, incidents, "{tmp}/x.csv"]  # after `--db {db}` unless `db: false`
      db: true                                # prepend --db {db} (default true)
      files:                                  # written into {tmp} before the run
        x.csv: "incident_id,title\\n..."      # text (UTF-8), or
        y.bin: {hex: "00ff"}                  # bytes, or
        z.yaml: {python: "'a: ' * 10"}        # a Python expression giving str or bytes
      env: {AIMS_DB: "{tmp}/x"}               # environment for the run
      stdin: "secret\\n"
      exit: 1
      stderr: ["{tmp}/x.csv:2: title: required value is missing", ...]   # exact lines, or
      stderr_contains: ["required value"]     # substrings that must all appear
      stdout_contains: [...]
      unchanged: ["{tmp}/notes.csv"]          # files whose bytes must not change
      absent: ["{tmp}/out/x.csv"]             # paths that must not exist afterwards

`{tmp}` is the case's own directory, `{db}` its database, `{corpus}` tests/bad_inputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from import_helpers import BAD_INPUTS, dump_db, new_db

from aims_metrics import cli

CASES_DIR = BAD_INPUTS / "cases"


@dataclass(frozen=True)
class Case:
    group: str
    id: str
    argv: list[str]
    exit: int
    db: bool = True
    files: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    stdin: str | None = None
    stderr: list[str] | None = None
    stderr_contains: list[str] = field(default_factory=list)
    stdout_contains: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)


def load_cases() -> list[Case]:
    cases = []
    for manifest in sorted(CASES_DIR.glob("*.yaml")):
        for entry in yaml.safe_load(manifest.read_text("utf-8")) or []:
            cases.append(Case(group=manifest.stem, **entry))
    return cases


CASES = load_cases()


def _content(spec) -> bytes:
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    value = eval(spec["python"], {"__builtins__": __builtins__})  # trusted: the test corpus
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _fill(text: str, places: dict[str, str]) -> str:
    for key, value in places.items():
        text = text.replace("{" + key + "}", value)
    return text


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def run_cli_in_process(argv: list[str], stdin: str | None, env: dict[str, str]):
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    stdin_stream = io.StringIO(stdin or "")
    real_stdin = sys.stdin
    sys.stdin = stdin_stream
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as exit_:  # argparse usage errors
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        sys.stdin = real_stdin
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return code, out.getvalue(), err.getvalue()


def test_cases_are_unique_and_cover_every_class() -> None:
    ids = [(c.group, c.id) for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 1


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}/{c.id}" for c in CASES])
def test_hostile_case(case: Case, tmp_path: Path) -> None:
    db = new_db(tmp_path)
    places = {"tmp": str(tmp_path), "db": str(db), "corpus": str(BAD_INPUTS)}
    for name, spec in case.files.items():
        target = tmp_path / _fill(name, places)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_content(spec))
    watched = {Path(_fill(p, places)): _digest(Path(_fill(p, places))) for p in case.unchanged}
    before = dump_db(db)
    argv = [_fill(a, places) for a in case.argv]
    if case.db:
        argv = ["--db", str(db), *argv]
    env = {k: _fill(v, places) for k, v in case.env.items()}
    stdin = _fill(case.stdin, places) if case.stdin is not None else None

    code, out, err = run_cli_in_process(argv, stdin, env)

    assert "Traceback" not in err and "Traceback" not in out
    assert code == case.exit, err
    if case.stderr is not None:
        assert err.splitlines() == [_fill(line, places) for line in case.stderr]
    for fragment in case.stderr_contains:
        assert _fill(fragment, places) in err
    for fragment in case.stdout_contains:
        assert _fill(fragment, places) in out
    assert dump_db(db) == before
    for path, digest in watched.items():
        assert _digest(path) == digest, f"{path} changed"
    for path in case.absent:
        assert not Path(_fill(path, places)).exists()
