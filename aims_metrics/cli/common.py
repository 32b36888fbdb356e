"""What every command module shares: exit codes, the usage error and who runs the CLI."""

from __future__ import annotations

import getpass
import os

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Wrong arguments: reported on stderr with exit code 2."""


def cli_user() -> str:
    """Who runs the CLI, for import batches and the audit log."""
    return os.environ.get("AIMS_USER") or f"cli:{getpass.getuser()}"


def text_table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """Rows as aligned text columns under a header and a rule (`right`: right-aligned columns)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])
