"""The one DuckDB configuration every connection of the product uses."""

from __future__ import annotations

# External access disabled and the configuration locked: no SQL run through a connection can
# read files, URLs or the environment, or turn that back on.
CONNECTION_CONFIG = {"enable_external_access": False, "lock_configuration": True}
