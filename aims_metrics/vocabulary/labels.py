"""Column labels: how a field is headed wherever a table shows it (the app, the CLI, the PDFs).

Every column reads as words (`finding_id` → "Finding ID", `effort_days` → "Effort (days)"); the
few whose words alone would mislead, or whose unit belongs in the heading, are declared here."""

from __future__ import annotations

import re

from aims_metrics.vocabulary.findings import FINDING_TYPES, finding_title

ACRONYMS = {
    "id": "ID",
    "ids": "IDs",
    "ai": "AI",
    "nc": "NC",
    "kpi": "KPI",
    "kpis": "KPIs",
    "soa": "SoA",
    "ofi": "OFI",
    "url": "URL",
    "csv": "CSV",
    "pdf": "PDF",
    "iso": "ISO",
    "iec": "IEC",
    "smtp": "SMTP",
    "sha256": "SHA-256",
    "ci": "CI",
    "fpr": "FPR",
    "fnr": "FNR",
    "tpr": "TPR",
}
COLUMN_LABELS = {
    "effort_days": "Effort (days)",
    "age_days": "Age (days)",
    "mean_days_to_close": "Mean days to close",
    "n": "Group size (n)",
    "clause_ref": "Clause",
    "clause_refs": "Clauses",
    "ref": "Reference",
    "report_on": "Report due",
    "data_through": "Data through",
    "executed_on": "Executed on",
    "lead_auditor_unit": "Lead auditor's unit",
    "independence_conflict": "Led from the audited unit",
    "insufficient": "Too few to judge",
}


def column_label(name: object) -> str:
    """The heading of a column: declared above, a finding type's title, or its words with
    acronyms in capitals and the first word capitalised."""
    text = str(name)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    if text in FINDING_TYPES:
        return finding_title(text)
    words = [w for w in re.split(r"[_\s]+", text.strip()) if w]
    if not words:
        return text
    shown = [ACRONYMS.get(w.lower(), w) for w in words]
    if shown[0] == words[0]:
        shown[0] = shown[0][:1].upper() + shown[0][1:]
    return " ".join(shown)
