"""The table-spec registry: one declaration per table drives DDL, templates, validation and docs.

Nothing about a data table's columns is written anywhere else. Cross-field rules are data too
(`DateOrder`, `RequiredWhen`), so the validator, the docs and the tests read the same declaration.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from aims_metrics.inputs.text import normalise_text
from aims_metrics.vocabulary.findings import FINDING_TYPES


class ColumnKind(StrEnum):
    TEXT = "text"
    DATE = "date"
    ENUM = "enum"
    BOOL = "bool"
    NUMBER = "number"
    CLAUSE = "clause"  # an ISO/IEC 42001 clause or Annex A control reference
    EMAIL = "email"  # an e-mail address (inputs.text.email_problem)


SQL_TYPES: dict[ColumnKind, str] = {
    ColumnKind.TEXT: "VARCHAR",
    ColumnKind.DATE: "DATE",
    ColumnKind.ENUM: "VARCHAR",
    ColumnKind.BOOL: "BOOLEAN",
    ColumnKind.NUMBER: "DOUBLE",
    ColumnKind.CLAUSE: "VARCHAR",
    ColumnKind.EMAIL: "VARCHAR",
}

# Closed vocabularies of design §2.
RiskLevel = StrEnum("RiskLevel", {v.upper(): v for v in ("high", "medium", "low")})
LifecycleStage = StrEnum(
    "LifecycleStage",
    {v.upper(): v for v in ("design", "development", "validation", "deployed", "retired")},
)
Severity = StrEnum("Severity", {v.upper(): v for v in ("critical", "high", "medium", "low")})
IncidentCategory = StrEnum(
    "IncidentCategory",
    {
        v.upper(): v
        for v in (
            "fairness",
            "privacy",
            "safety",
            "security",
            "transparency",
            "reliability",
            "other",
        )
    },
)
IncidentStatus = StrEnum(
    "IncidentStatus", {v.upper(): v for v in ("open", "investigating", "resolved", "closed")}
)
AssessmentType = StrEnum("AssessmentType", {v.upper(): v for v in ("impact", "risk")})
AssessmentStatus = StrEnum(
    "AssessmentStatus",
    {v.upper(): v for v in ("planned", "in_progress", "completed", "cancelled")},
)
BiasStage = StrEnum("BiasStage", {v.upper(): v for v in ("pre_deployment", "production")})
AuditType = StrEnum(
    "AuditType",
    {v.upper(): v for v in ("internal", "external", "certification", "surveillance")},
)
# bias_tests: a `*_ratio` metric (disparate impact, demographic parity ratio) passes at or above
# its threshold, any other disparity when its absolute value is at most the threshold. The import
# validation, the fairness evaluation, the pages and the demo all ask these two.
RATIO_METRIC_SUFFIX = "_ratio"


def is_ratio_metric(metric: str) -> bool:
    """Whether a bias-test metric is a ratio (held ≥ its threshold) rather than a difference."""
    return metric.endswith(RATIO_METRIC_SUFFIX)


def bias_test_passes(metric: str, value: float, threshold: float) -> bool:
    """`passed` of a bias test: ratio ≥ threshold, otherwise abs(value) ≤ threshold."""
    return value >= threshold if is_ratio_metric(metric) else abs(value) <= threshold


FindingType = StrEnum("FindingType", {v.upper(): v for v in FINDING_TYPES})
FindingStatus = StrEnum(
    "FindingStatus", {v.upper(): v for v in ("open", "in_progress", "closed", "verified")}
)

AuditStatus = StrEnum(
    "AuditStatus", {v.upper(): v for v in ("planned", "in_progress", "completed", "cancelled")}
)
ImplementationStatus = StrEnum(
    "ImplementationStatus", {v.upper(): v for v in ("not_started", "partial", "implemented")}
)
AttestationStatus = StrEnum("AttestationStatus", {v.upper(): v for v in ("met", "partial", "gap")})

NONCONFORMITY_TYPES: tuple[str, ...] = (FindingType.MAJOR_NC, FindingType.MINOR_NC)


class RefSet(StrEnum):
    """Which ISO/IEC 42001 references a CLAUSE column accepts (see `allowed_refs`)."""

    ANY = "any"  # every clause and Annex A control, headings included (9, A.6)
    REQUIREMENT = "requirement"  # an assessable clause requirement 4.1–10.2
    CONTROL = "control"  # an assessable Annex A control


@dataclass(frozen=True, kw_only=True)
class Column:
    """One column of a data table."""

    name: str
    kind: ColumnKind
    required: bool = False
    enum: tuple[str, ...] = ()
    references: str | None = None  # table whose primary key this column must name
    # table whose primary key this column should name: a value naming no row is a warning only
    reported_unless_in: str | None = None
    refs: RefSet = RefSet.ANY  # CLAUSE columns: which references are allowed
    ref_list: bool = False  # CLAUSE columns: `;`-separated references; a prefix covers its children
    description: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


@dataclass(frozen=True, kw_only=True)
class DateOrder:
    """Cross-field rule: `later` must be on or after `earlier` when both are present."""

    later: str
    earlier: str

    def describe(self) -> str:
        return f"{self.later} ≥ {self.earlier}"


@dataclass(frozen=True, kw_only=True)
class RequiredWhen:
    """Cross-field rule: `column` is set exactly when `when_column` equals `when_value` (the parsed
    value: `false` for a bool column written "no"). With `exactly=False` it is only required then,
    and may be set otherwise. `why` is appended to the message (e.g. the clause asking for it)."""

    column: str
    when_column: str
    when_value: str
    exactly: bool = True
    why: str = ""

    def describe(self) -> str:
        how = "set exactly" if self.exactly else "required"
        return f"{self.column} {how} when {self.when_column} = {self.when_value}"


@dataclass(frozen=True, kw_only=True)
class TableSpec:
    """A data table: its columns, primary key and cross-field rules."""

    name: str
    title: str
    primary_key: str
    columns: tuple[Column, ...]
    date_orders: tuple[DateOrder, ...] = ()
    required_when: tuple[RequiredWhen, ...] = ()
    derived_bias_pass: bool = False  # bias_tests: `passed` derived from value and threshold
    record_date: str | None = None  # the date column dating a record (data completeness)
    key_ignores_case: bool = False  # people: owner fields match a person ignoring case

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    def create_table_sql(self) -> str:
        """DDL for this table; the primary key is enforced by the importer's upsert."""
        cols = ",\n  ".join(
            f"{c.name} {c.sql_type}{' NOT NULL' if c.required else ''}" for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {cols}\n)"

    def template_header(self) -> str:
        return ",".join(self.column_names)


def _enum(
    name: str, values: type[StrEnum], required: bool = False, description: str = ""
) -> Column:
    return Column(
        name=name,
        kind=ColumnKind.ENUM,
        enum=tuple(v.value for v in values),
        required=required,
        description=description,
    )


def _col(name: str, kind: ColumnKind, required: bool = False, **kw: object) -> Column:
    return Column(name=name, kind=kind, required=required, **kw)


T, D, B, N = ColumnKind.TEXT, ColumnKind.DATE, ColumnKind.BOOL, ColumnKind.NUMBER

SYSTEMS = TableSpec(
    name="systems",
    title="AI system inventory",
    primary_key="system_id",
    columns=(
        _col("system_id", T, True, description="unique id of the AI system"),
        _col("name", T, True),
        _col("owner", T),
        _col("business_unit", T),
        _enum("risk_level", RiskLevel, True),
        _enum("lifecycle_stage", LifecycleStage),
        _col("deployed_on", D),
        _col("retired_on", D),
        _col("third_party", B),
    ),
)

INCIDENTS = TableSpec(
    name="incidents",
    title="AI incidents",
    primary_key="incident_id",
    record_date="detected_on",
    columns=(
        _col("incident_id", T, True),
        _col("system_id", T, references="systems"),
        _col("title", T, True),
        _enum("severity", Severity, True),
        _enum("category", IncidentCategory),
        _col("occurred_on", D),
        _col("detected_on", D, True),
        _col("resolved_on", D),
        _enum("status", IncidentStatus),
        _col("root_cause", T),
    ),
    date_orders=(DateOrder(later="resolved_on", earlier="detected_on"),),
)

ASSESSMENTS = TableSpec(
    name="assessments",
    title="AI system impact and risk assessments",
    primary_key="assessment_id",
    record_date="completed_on",
    columns=(
        _col("assessment_id", T, True),
        _col("system_id", T, True, references="systems"),
        _enum("assessment_type", AssessmentType, True),
        _enum("status", AssessmentStatus, True),
        _col("due_on", D),
        _col("completed_on", D),
        _col("assessor", T),
        _enum("residual_risk", RiskLevel),
        _col("notes", T),
    ),
    required_when=(
        RequiredWhen(column="completed_on", when_column="status", when_value="completed"),
    ),
)

BIAS_TESTS = TableSpec(
    name="bias_tests",
    title="Bias and fairness test results",
    primary_key="test_id",
    record_date="executed_on",
    columns=(
        _col("test_id", T, True),
        _col("system_id", T, True, references="systems"),
        _col("model_version", T),
        _col("executed_on", D, True),
        _enum("stage", BiasStage, True),
        _col("protected_attribute", T, True),
        _col(
            "metric",
            T,
            True,
            description="e.g. demographic_parity_difference, disparate_impact_ratio",
        ),
        _col("value", N, True),
        _col("threshold", N, True),
        _col(
            "passed",
            B,
            description="derived when empty: *_ratio passes when value ≥ threshold, "
            "others when abs(value) ≤ threshold",
        ),
    ),
    derived_bias_pass=True,
)

FINDINGS = TableSpec(
    name="findings",
    title="Audit findings and nonconformities",
    primary_key="finding_id",
    record_date="raised_on",
    columns=(
        _col("finding_id", T, True),
        _col("audit_id", T, True, reported_unless_in="audits"),
        _enum("audit_type", AuditType),
        _col("clause_ref", ColumnKind.CLAUSE, True, description="ISO/IEC 42001 clause or control"),
        _enum("finding_type", FindingType, True),
        _col("description", T, True),
        _col("raised_on", D, True),
        _col("due_on", D),
        _col("closed_on", D),
        _col("owner", T),
        _enum("status", FindingStatus),
        _col("root_cause", T),
        _col("corrective_action", T),
        _col("verified_on", D),
    ),
    date_orders=(
        DateOrder(later="closed_on", earlier="raised_on"),
        DateOrder(later="due_on", earlier="raised_on"),
    ),
)

AUDITS = TableSpec(
    name="audits",
    title="Audit programme (9.2.2)",
    primary_key="audit_id",
    record_date="planned_start",
    columns=(
        _col("audit_id", T, True),
        _enum("audit_type", AuditType, True),
        _col("title", T, True),
        _col("planned_start", D, True),
        _col("planned_end", D),
        _enum("status", AuditStatus, True),
        _col("actual_end", D),
        _col("lead_auditor", T),
        _col("lead_auditor_unit", T, description="must differ from auditee_unit (9.2.2)"),
        _col("team", T),
        _col("auditee_unit", T),
        _col(
            "scope",
            ColumnKind.CLAUSE,
            True,
            ref_list=True,
            description="clauses and controls separated by ; (9 covers every 9.x)",
        ),
        _col("criteria", T),
        _col("report_on", D),
    ),
    date_orders=(
        DateOrder(later="planned_end", earlier="planned_start"),
        DateOrder(later="report_on", earlier="planned_start"),
    ),
    required_when=(
        RequiredWhen(
            column="actual_end", when_column="status", when_value="completed", exactly=False
        ),
    ),
)

SOA = TableSpec(
    name="soa",
    title="Statement of Applicability (Annex A, 6.1.3)",
    primary_key="control_id",
    columns=(
        _col("control_id", ColumnKind.CLAUSE, True, refs=RefSet.CONTROL),
        _col("applicable", B, True),
        _col("justification", T, description="why an excluded control does not apply"),
        _enum("implementation_status", ImplementationStatus),
        _col("owner", T),
        _col("evidence", T),
    ),
    required_when=(
        RequiredWhen(
            column="justification",
            when_column="applicable",
            when_value="false",
            exactly=False,
            why="6.1.3 asks why each excluded control does not apply",
        ),
    ),
)

ATTESTATIONS = TableSpec(
    name="attestations",
    title="Attestations of clause requirements the data cannot judge",
    primary_key="ref",
    record_date="reviewed_on",
    columns=(
        _col("ref", ColumnKind.CLAUSE, True, refs=RefSet.REQUIREMENT),
        _enum("status", AttestationStatus, True),
        _col("evidence", T),
        _col("owner", T),
        _col("reviewed_on", D),
    ),
)

# The rates behind a computed bias test (aims_metrics.performance.fairness): one row per
# evaluation × protected attribute × group. Written by the fairness evaluation, not imported;
# exported, templated and documented like the data tables.
_RATE_COLUMNS = tuple(
    _col(f"{rate}{suffix}", N, description=f"{what} of {rate}" if what else "")
    for rate in (
        "selection_rate",
        "false_positive_rate",
        "false_negative_rate",
        "true_positive_rate",
        "accuracy",
    )
    for suffix, what in (("", ""), ("_low", "95 % bootstrap low"), ("_high", "95 % bootstrap high"))
)

BIAS_TEST_GROUPS = TableSpec(
    name="bias_test_groups",
    title="Per-group rates behind computed bias tests",
    primary_key="group_id",
    columns=(
        _col("group_id", T, True),
        _col("evaluation_id", T, True, description="shared with the bias_tests rows' test_id"),
        _col("system_id", T, True, references="systems"),
        _col("model_version", T),
        _col("executed_on", D, True),
        _enum("stage", BiasStage, True),
        _col("protected_attribute", T, True),
        _col("group_value", T, True),
        _col("n", N, True),
        _col("insufficient", B, True, description="fewer rows than the minimum group size"),
        *_RATE_COLUMNS,
    ),
)

# The people owner fields name (reminders, aims_metrics.notify); a manager is a person too.
PEOPLE = TableSpec(
    name="people",
    title="People directory (reminders)",
    primary_key="person",
    key_ignores_case=True,
    columns=(
        _col("person", T, True, description="the name as it appears in owner fields"),
        _col("email", ColumnKind.EMAIL, True),
        _col("unit", T),
        _col("manager", T, references="people", description="a person of this directory"),
    ),
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        SYSTEMS,
        INCIDENTS,
        ASSESSMENTS,
        BIAS_TESTS,
        FINDINGS,
        AUDITS,
        SOA,
        ATTESTATIONS,
        PEOPLE,
    )
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
# Tables the product computes (not imported); they have templates, exports and docs too.
RESULT_TABLES: dict[str, TableSpec] = {BIAS_TEST_GROUPS.name: BIAS_TEST_GROUPS}
EXPORT_TABLE_NAMES: tuple[str, ...] = (*TABLES, *RESULT_TABLES)


def table_spec(name: str) -> TableSpec:
    """The spec of a data or result table, or KeyError naming the valid tables."""
    try:
        return TABLES[name] if name in TABLES else RESULT_TABLES[name]
    except KeyError:
        raise KeyError(
            f"unknown table {name!r}: use one of {', '.join(EXPORT_TABLE_NAMES)}"
        ) from None


@dataclass(frozen=True, kw_only=True)
class ClauseRef:
    ref: str
    title: str
    kind: str
    assessable: bool


@cache
def clause_refs() -> dict[str, ClauseRef]:
    """ISO/IEC 42001 clause and Annex A control references shipped as package data."""
    text = resources.files("aims_metrics.tables").joinpath("iso42001-refs.csv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    return {
        r["ref"]: ClauseRef(
            ref=r["ref"], title=r["title"], kind=r["kind"], assessable=r["assessable"] == "true"
        )
        for r in rows
    }


def allowed_refs(refs: RefSet) -> list[str]:
    """The references a CLAUSE column with this `refs` accepts, in the reference list's order."""
    known = clause_refs().values()
    if refs is RefSet.REQUIREMENT:
        return [r.ref for r in known if r.kind == "clause" and r.assessable]
    if refs is RefSet.CONTROL:
        return [r.ref for r in known if r.kind == "control" and r.assessable]
    return [r.ref for r in known]


def requirement_refs() -> list[str]:
    """The 29 assessable clause requirements 4.1–10.2, in clause order."""
    return allowed_refs(RefSet.REQUIREMENT)


def control_refs() -> list[str]:
    """The assessable Annex A controls, in Annex order."""
    return allowed_refs(RefSet.CONTROL)


def ref_covers(scope_ref: str, ref: str) -> bool:
    """True when an audit scoped `scope_ref` covers `ref`: the same ref or one of its children
    (`9` covers 9.2.1, `A.6` covers A.6.2.4; `9` does not cover `90`)."""
    return ref == scope_ref or ref.startswith(scope_ref + ".")


def split_refs(text: str | None) -> list[str]:
    """A `;`-separated reference list as written in `audits.scope`, each item trimmed by the text
    rule (inputs/text.py), empties dropped."""
    parts = (normalise_text(part) for part in (text or "").split(";"))
    return [part for part in parts if part]


def _column_doc(c: Column) -> str:
    text = f"{c.name}{'*' if c.required else ''}"
    if c.enum:
        text += f" ({', '.join(c.enum)})"
    elif c.kind is ColumnKind.CLAUSE and c.ref_list:
        text += " (clause refs separated by ;)"
    elif c.kind is ColumnKind.CLAUSE and c.refs is not RefSet.ANY:
        text += f" ({'Annex A control' if c.refs is RefSet.CONTROL else 'clause 4.1–10.2'})"
    elif c.kind not in (ColumnKind.TEXT,):
        text += f" ({c.kind.value})"
    return text


def docs_markdown() -> str:
    """The data-contract table for the README, generated from the registry."""
    lines = ["| table | columns (`*` required) | rules |", "|---|---|---|"]
    for spec in (*TABLES.values(), *RESULT_TABLES.values()):
        cols = [_column_doc(c) for c in spec.columns]
        rules = [f"{spec.primary_key} unique"]
        rules += [r.describe() for r in spec.date_orders]
        rules += [r.describe() for r in spec.required_when]
        rules += [f"{c.name} must exist in {c.references}" for c in spec.columns if c.references]
        rules += [
            f"{c.name} naming no {c.reported_unless_in} row is a warning"
            for c in spec.columns
            if c.reported_unless_in
        ]
        rules += [
            f"each {c.name} ref must be known; a prefix covers its children (9 covers 9.2.1)"
            for c in spec.columns
            if c.ref_list
        ]
        if spec.derived_bias_pass:
            rules.append("passed derived when empty; a contradicting value is an error")
        lines.append(f"| `{spec.name}` ({spec.title}) | {', '.join(cols)} | {'; '.join(rules)} |")
    return "\n".join(lines)
