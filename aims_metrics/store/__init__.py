"""DuckDB store: the database path, connections, transactions, migrations, audit log, settings,
backup and restore (one module each; `from aims_metrics.store import X` for all of them).

Every connection in the product uses one configuration — external access disabled, configuration
locked — so no SQL run through it can read files, URLs or the environment. Connections are
short-lived: open, work, close, so the app and the CLI can share the file.
"""

from __future__ import annotations

from aims_metrics.store.audit import audit_entries, fetch_one, now, record_audit
from aims_metrics.store.backup import (
    RESTORE_MAX_BYTES,
    RestoreRefused,
    backup_database,
    restore_database,
    verified_schema_version,
)
from aims_metrics.store.config import CONNECTION_CONFIG
from aims_metrics.store.connection import (
    BUSY_TIMEOUT_SECONDS,
    DEFAULT_DB_PATH,
    DatabaseBusy,
    DatabasePathProblem,
    check_database_path,
    connect,
    data_version,
    default_db_path,
    is_duckdb_file,
    open_db,
    release_database,
    retry_while_held,
)
from aims_metrics.store.migrations import (
    Migration,
    all_migrations,
    latest_schema_version,
    migrate,
    reference_snapshot,
    schema_differences,
    schema_snapshot,
    schema_version,
)
from aims_metrics.store.settings import (
    SETTING_DEFAULTS,
    SETTINGS,
    Setting,
    SettingError,
    SettingProblem,
    all_settings,
    get_setting,
    parse_settings,
    set_setting,
    setting_value,
)
from aims_metrics.store.snapshot import Snapshot, read_db, read_snapshot
from aims_metrics.store.transactions import read_transactions, transaction

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "CONNECTION_CONFIG",
    "DEFAULT_DB_PATH",
    "RESTORE_MAX_BYTES",
    "SETTINGS",
    "SETTING_DEFAULTS",
    "DatabaseBusy",
    "DatabasePathProblem",
    "Migration",
    "RestoreRefused",
    "Snapshot",
    "Setting",
    "SettingError",
    "SettingProblem",
    "all_migrations",
    "all_settings",
    "audit_entries",
    "backup_database",
    "check_database_path",
    "connect",
    "data_version",
    "default_db_path",
    "fetch_one",
    "get_setting",
    "is_duckdb_file",
    "latest_schema_version",
    "migrate",
    "now",
    "open_db",
    "parse_settings",
    "read_db",
    "read_snapshot",
    "read_transactions",
    "record_audit",
    "reference_snapshot",
    "release_database",
    "restore_database",
    "retry_while_held",
    "schema_differences",
    "schema_snapshot",
    "schema_version",
    "set_setting",
    "setting_value",
    "transaction",
    "verified_schema_version",
]
