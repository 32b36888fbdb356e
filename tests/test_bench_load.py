"""The load bench works (issue 22): signed-in browser sessions browse a real server while the CLI
imports 50,000 rows at a time; every import succeeds and the figures are measured. No timing
assertions: the bench measures, this test checks that it runs and counts right."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import load

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not Path(load.CHROMIUM).exists() and os.environ.get("CI") != "true":
    pytest.skip(f"{load.CHROMIUM} is not installed (outside CI)", allow_module_level=True)


def test_sessions_browse_while_the_cli_imports_and_every_import_succeeds(demo_db_path):
    out = load.run(demo_db_path, sessions=2, seconds=20, think=1, import_every=5)
    figures = load.summary(out)

    assert out.imports and all(ok for ok, _, _ in out.imports), out.imports
    assert all(message == f"{load.IMPORT_ROWS:,} inserted, 0 updated, 0 unchanged".replace(",", "")
               or "inserted" in message for _, _, message in out.imports)  # fmt: skip
    views = [v for v in out.views if v.kind == "load"]
    assert {v.session for v in views} == {0, 1}
    assert not [v for v in views if v.failed], [v.failed for v in views if v.failed]
    assert all(v.bytes > 0 for v in views)  # every view received the page over the websocket
    assert figures["cpu_per_view"] and figures["cpu_per_view"] > 0
    assert out.probes and 0 <= figures["lock_share"] <= 100
    assert "sessions" in load.report(out, 2)
