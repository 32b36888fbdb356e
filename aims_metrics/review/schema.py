"""The management review tables (migration 3), declared as data apart from the review modules so
that store.migrate() reads them without importing those (pydantic models, every CLI start-up),
and without this module importing the store. Frozen literal DDL: a released migration never
changes."""

from __future__ import annotations

REVIEW_TABLES_SQL = (
    """CREATE TABLE IF NOT EXISTS reviews (
        quarter VARCHAR NOT NULL, revision INTEGER NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN ('draft', 'final')),
        held_on DATE, chair VARCHAR NOT NULL DEFAULT '', attendees VARCHAR NOT NULL DEFAULT '[]',
        scope VARCHAR NOT NULL DEFAULT '', input_b VARCHAR NOT NULL DEFAULT '',
        input_c VARCHAR NOT NULL DEFAULT '', input_e VARCHAR NOT NULL DEFAULT '',
        created_by VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
        updated_by VARCHAR, updated_at TIMESTAMP,
        finalised_by VARCHAR, finalised_at TIMESTAMP, revision_reason VARCHAR,
        PRIMARY KEY (quarter, revision))""",
    """CREATE TABLE IF NOT EXISTS review_decisions (
        quarter VARCHAR NOT NULL, revision INTEGER NOT NULL, position INTEGER NOT NULL,
        kind VARCHAR NOT NULL CHECK (kind IN ('improvement', 'change_to_aims', 'resources')),
        text VARCHAR NOT NULL, PRIMARY KEY (quarter, revision, position))""",
    """CREATE TABLE IF NOT EXISTS review_actions (
        action_id VARCHAR PRIMARY KEY, quarter VARCHAR NOT NULL, revision INTEGER NOT NULL,
        description VARCHAR NOT NULL, owner VARCHAR NOT NULL, due_on DATE NOT NULL,
        status VARCHAR NOT NULL CHECK (status IN ('open', 'done')), closed_on DATE,
        closing_note VARCHAR, created_by VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
        updated_by VARCHAR, updated_at TIMESTAMP,
        CHECK ((status = 'done') = (closed_on IS NOT NULL)))""",
    """CREATE TABLE IF NOT EXISTS minutes_archive (
        quarter VARCHAR NOT NULL, revision INTEGER NOT NULL, sha256 VARCHAR NOT NULL,
        pdf BLOB NOT NULL, created_by VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (quarter, revision))""",
)

# (version, description, DDL statements): read by store.migrations
MIGRATION = (
    3,
    "management review: reviews, decisions, actions, minutes archive",
    REVIEW_TABLES_SQL,
)
