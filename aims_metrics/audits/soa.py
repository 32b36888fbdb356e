"""The Statement of Applicability (ISO/IEC 42001 6.1.3, Annex A): every control, whether it
applies (an exclusion needs a justification), its implementation status, owner and evidence.

A control missing from `soa` counts as applicable and not started. Edits made on the page go
through the importer (`tables.ingest`): the same registry rules, one transaction, an import batch
and an audit entry.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from aims_metrics import auth
from aims_metrics.tables import ingest
from aims_metrics.tables.registry import clause_refs, control_refs, table_spec

EDITOR_FILE = "SoA editor"


def soa_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every Annex A control with its SoA entry; a control missing from the SoA is applicable and
    not started (`in_soa` false)."""
    spec = table_spec("soa")
    stored = (
        con.execute(f"SELECT {', '.join(spec.column_names)} FROM soa").df().set_index("control_id")
    )
    titles = clause_refs()
    rows = []
    for ref in control_refs():
        entry = stored.loc[ref] if ref in stored.index else None

        def get(column: str, e: pd.Series | None = entry) -> object:
            return None if e is None or pd.isna(e[column]) else e[column]

        applicable = True if entry is None else bool(entry["applicable"])
        status = get("implementation_status") or ("not_started" if applicable else None)
        rows.append(
            {
                "control_id": ref,
                "title": titles[ref].title,
                "applicable": applicable,
                "justification": get("justification"),
                "implementation_status": status,
                "owner": get("owner"),
                "evidence": get("evidence"),
                "in_soa": entry is not None,
            }
        )
    # Typed columns even when every cell is empty, so an editor offers text and choices.
    text = ["justification", "implementation_status", "owner", "evidence"]
    return pd.DataFrame(rows).astype({c: "string" for c in ["control_id", "title", *text]})


def soa_summary(soa: pd.DataFrame) -> dict[str, int]:
    applicable = soa[soa["applicable"]]
    counts = applicable["implementation_status"].value_counts()
    return {
        "applicable": len(applicable),
        "excluded": int((~soa["applicable"]).sum()),
        "implemented": int(counts.get("implemented", 0)),
        "partial": int(counts.get("partial", 0)),
        "not_started": int(counts.get("not_started", 0)),
    }


def save_soa(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, username: str, role: str
) -> ingest.ImportResult:
    """Upsert edited SoA rows (control_id plus any soa columns) through the importer: validated
    by the registry rules, one transaction, audit-logged. Governance leads and up only.

    Raises ingest.ImportRejected with every problem (row 2 = the first row of `frame`)."""
    auth.require(role, auth.Action.EDIT_SOA)
    columns = table_spec("soa").column_names
    rows = frame.reindex(columns=columns).copy()
    rows["applicable"] = rows["applicable"].map(
        lambda v: None if v is None or pd.isna(v) else ("true" if bool(v) else "false")
    )
    data = rows.to_csv(index=False, lineterminator="\n").encode("utf-8")
    plan = ingest.prepare_import(con, "soa", data, file_name=EDITOR_FILE)
    if not plan.ok:
        raise ingest.ImportRejected(plan)
    return ingest.commit_import(con, plan, username)
