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
