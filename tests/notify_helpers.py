"""A small known data set for the reminder tests (issue 23), as of AS_OF = 2026-03-10.

Expected answers, worked out by hand (see tests/test_notify_rules.py):
- corrective_action_overdue: F1 (major, due 03-01: 9 days overdue)
- corrective_action_due_soon (14 days): F2 (due 03-20), F7 (due today)
- review_action_overdue: R1 (due 03-01); review_action_due_soon: R2 (due 03-15)
- audit_starting_soon (30 days): A1 (starts 04-01); audit_overdue: A3 (ends 03-01), A5 (ends 02-10)
- kpi_turned_red: open_major_nonconformities (0 in 2025Q3, 4 in 2025Q4: F1 F4 F6 F7)
- data_stale (100 days): systems (imported 2025-11-01), not incidents (2026-02-01)
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from import_helpers import new_db, run_main, write

from aims_metrics import auth
from aims_metrics.store import open_db

AS_OF = date(2026, 3, 10)

PEOPLE_CSV = (
    "person,email,unit,manager\n"
    "Dana Ruiz,dana@example.org,Risk,\n"
    "Lee Chen,lee@example.org,Risk,Dana Ruiz\n"
    "Kim Park,kim@example.org,Audit,\n"
    "Internal Audit Lead,audit-lead@example.org,Audit,\n"
)

FINDINGS_CSV = (
    "finding_id,audit_id,clause_ref,finding_type,description,raised_on,due_on,closed_on,owner,status\n"
    "F1,A3,9.2,major_nc,Model cards missing,2025-10-01,2026-03-01,, lee chen ,open\n"
    "F2,A3,9.2,minor_nc,Log retention,2025-11-01,2026-03-20,,Lee Chen,in_progress\n"
    "F3,A3,9.2,minor_nc,Access review,2025-11-01,2026-04-30,,Lee Chen,open\n"
    "F4,A3,9.2,major_nc,Closed late,2025-10-05,2026-01-01,2026-02-01,Lee Chen,closed\n"
    "F5,A3,9.2,observation,Only an observation,2025-10-05,2026-01-01,,Lee Chen,open\n"
    "F6,A3,9.2,major_nc,Closed without date,2025-12-01,2026-02-01,,Lee Chen,closed\n"
    "F7,A3,9.2,major_nc,Due today,2025-10-01,2026-03-10,,Zoe Unknown,open\n"
)

AUDITS_CSV = (
    "audit_id,audit_type,title,planned_start,planned_end,status,actual_end,lead_auditor,scope\n"
    "A1,internal,Clause 8 audit,2026-04-01,2026-04-05,planned,,Kim Park,8\n"
    "A2,internal,Annex A audit,2026-05-01,2026-05-05,planned,,Kim Park,A.6\n"
    "A3,internal,Clause 9 audit,2026-02-20,2026-03-01,in_progress,,Kim Park,9\n"
    "A4,internal,Clause 4 audit,2025-12-01,2026-01-01,completed,2026-01-01,Kim Park,4\n"
    "A5,internal,Clause 10 audit,2026-02-01,2026-02-10,planned,,Kim Park,10\n"
)

REVIEW_ACTIONS = (
    ("R1", "Publish the AI policy", "Lee Chen", date(2026, 3, 1), "open", None),
    ("R2", "Train the reviewers", "Dana Ruiz", date(2026, 3, 15), "open", None),
    ("R3", "Done already", "Lee Chen", date(2026, 3, 1), "done", date(2026, 3, 5)),
)

IMPORTS = (("systems", datetime(2025, 11, 1, 9)), ("incidents", datetime(2026, 2, 1, 9)))


def known_db(directory: Path) -> Path:
    """The data set above in a fresh database, with one governance lead who has an e-mail."""
    db = new_db(directory)
    for table, text in (("people", PEOPLE_CSV), ("findings", FINDINGS_CSV), ("audits", AUDITS_CSV)):
        code, _out, err = run_main(
            db, "import", table, str(write(directory / f"{table}.csv", text))
        )
        assert code == 0, err
    with open_db(db) as con:
        for action_id, text, owner, due, status, closed in REVIEW_ACTIONS:
            con.execute(
                "INSERT INTO review_actions (action_id, quarter, revision, description, owner, due_on, "
                "status, closed_on, created_by, created_at) VALUES (?, '2025Q4', 1, ?, ?, ?, ?, ?, 't', ?)",
                [action_id, text, owner, due, status, closed, datetime(2025, 12, 20)],
            )
        # the test's own imports are dated today (after AS_OF); these are the ones that count
        for table, when in IMPORTS:
            con.execute(
                "INSERT INTO import_batches (table_name, file_name, sha256, row_count, inserted, "
                "updated, unchanged, username, imported_at) VALUES (?, 'x.csv', 'x', 1, 1, 0, 0, 't', ?)",
                [table, when],
            )
        auth.add_user(con, "gina", "governance_lead", None, "test", email="gina@example.org")
    return db
