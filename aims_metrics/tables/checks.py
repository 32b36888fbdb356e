"""Import validation: the located problem type, and each rule of a table spec as one SQL check
over the file's clean table returning (row, column, message) for every failing cell, all at
once. Cell values reach SQL only as data in the registered table or as bound parameters;
identifiers come from the registry."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from aims_metrics.inputs.text import (
    control_character,
    email_problem,
)
from aims_metrics.tables.readers import (
    ROW_NUMBER,
)
from aims_metrics.tables.registry import (
    RATIO_METRIC_SUFFIX,
    ColumnKind,
    RefSet,
    TableSpec,
    allowed_refs,
    table_spec,
)
from aims_metrics.vocabulary.wording import count_of, verb_for

TRUE_WORDS = ("true", "yes", "y", "1", "t")
FALSE_WORDS = ("false", "no", "n", "0", "f")


@dataclass(frozen=True, order=True)
class ImportProblem:
    """One validation error, located as a spreadsheet shows it (header = row 1)."""

    row: int
    column: str
    message: str
    file: str = ""

    def __str__(self) -> str:
        """`FILE:ROW: COLUMN: message` on one line: a line break or TAB in a cell, a file name or
        a sheet name is shown escaped (`\\n`), so no value can forge a line of the report."""
        return _one_line(f"{self.file}:{self.row}: {self.column}: {self.message}")


def _one_line(text: str) -> str:
    if control_character(text) is None:
        return text
    return "".join(
        c.encode("unicode_escape").decode("ascii") if control_character(c) else c for c in text
    )


# --- validation (one SQL check per rule) ------------------------------------------------------

CLEAN = "import_clean"


def _typed_name(column: str) -> str:
    """The clean table's column holding `column` parsed (NULL when empty or not parseable)."""
    return f"__typed_{column}"


def _parsed(spec: TableSpec) -> list[str]:
    """The columns whose text is parsed (dates, booleans, numbers, enums in lower case, reference
    lists trimmed and joined by `;`)."""
    return [
        c.name
        for c in spec.columns
        if c.kind not in (ColumnKind.TEXT, ColumnKind.CLAUSE) or c.ref_list
    ]


RULE = "__bias_rule"  # bias_tests: what value and threshold say `passed` is (NULL if unknown)


def _clean_view_sql(
    spec: TableSpec, raw_name: str, clean: str = CLEAN, durable: bool = False
) -> str:
    """The file's (trimmed) cells with empty as NULL, and each parsed once into its type: the checks
    and the upsert read the parsed columns instead of parsing a cell again in each.

    Applying an import, this table is also what the target table is filled from, so it is an
    ordinary table (`durable`): DuckDB 2.0 can show concurrent readers part of an INSERT whose
    source is a temporary table or an Arrow scan; inserting from an ordinary table keeps their
    snapshots whole. It is created and dropped inside the import's transaction, so nobody else
    ever sees it. A dry run (read-only transaction) uses a temporary table."""
    cells = ", ".join(f"NULLIF({c}, '') AS {c}" for c in spec.column_names)
    typed = ", ".join(f"{_typed_sql(spec, c)} AS {_typed_name(c)}" for c in _parsed(spec))
    rule = f", {_bias_rule_sql()} AS {RULE}" if spec.derived_bias_pass else ""
    kind = "TABLE" if durable else "OR REPLACE TEMP TABLE"
    return (
        f"CREATE {kind} {clean} AS SELECT *, {typed}{rule} "
        f"FROM (SELECT {ROW_NUMBER}, {cells} FROM {raw_name})"
    )


def _quote(expr: str) -> str:
    """SQL that renders a cell value in a message, shortened and quoted."""
    return f"'''' || left({expr}, 60) || ''''"


def _bool_sql(column: str) -> str:
    t = ", ".join(f"'{w}'" for w in TRUE_WORDS)
    f = ", ".join(f"'{w}'" for w in FALSE_WORDS)
    return (
        f"CASE WHEN lower({column}) IN ({t}) THEN true WHEN lower({column}) IN ({f}) THEN false END"
    )


def _date_sql(column: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({column}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') "
        f"THEN TRY_CAST({column} AS DATE) END"
    )


def _number_sql(column: str) -> str:
    return f"CASE WHEN isfinite(TRY_CAST({column} AS DOUBLE)) THEN TRY_CAST({column} AS DOUBLE) END"


def _typed_sql(spec: TableSpec, column: str) -> str:
    kind = spec.column(column).kind
    if kind is ColumnKind.DATE:
        return _date_sql(column)
    if kind is ColumnKind.BOOL:
        return _bool_sql(column)
    if kind is ColumnKind.NUMBER:
        return _number_sql(column)
    if kind is ColumnKind.ENUM:
        return f"lower({column})"
    if kind is ColumnKind.CLAUSE and spec.column(column).ref_list:
        return f"NULLIF({_ref_list_sql(column)}, '')"
    return column


def _ref_list_sql(column: str) -> str:
    """A `;`-separated reference list (items already trimmed), empty items dropped, joined by `;`."""
    return f"array_to_string(list_filter(string_split({column}, ';'), lambda x: x <> ''), ';')"


REF_HINTS = {
    RefSet.ANY: "use an ISO/IEC 42001 clause or Annex A control such as 9.2 or A.6.2.4",
    RefSet.CONTROL: "use an Annex A control such as A.6.2.4 (a heading such as A.6 is not a control)",
    RefSet.REQUIREMENT: "use a clause requirement 4.1–10.2 such as 9.2.1 (a heading such as 9.2 "
    "is not a requirement)",
}


def _clause_checks(spec: TableSpec, column, clean: str) -> list[tuple[str, list]]:
    """Every reference of a CLAUSE column must be in its reference set; a list needs one."""
    c = column.name
    allowed = allowed_refs(column.refs)
    hint = REF_HINTS[column.refs]
    if not column.ref_list:
        noun = "clause_ref" if column.refs is RefSet.ANY else c
        return [
            (
                f"SELECT {ROW_NUMBER}, '{c}', 'unknown {noun} ' || {_quote(c)} || ': ' || ? "
                f"FROM {clean} WHERE {c} IS NOT NULL AND NOT list_contains(?::VARCHAR[], {c})",
                [hint, allowed],
            )
        ]
    return [
        (
            f"SELECT {ROW_NUMBER}, '{c}', 'unknown clause ref ' || {_quote('part')} || ' in {c}: ' || ? "
            f"FROM (SELECT {ROW_NUMBER}, unnest(string_split({c}, ';')) AS part FROM {clean} "
            f"WHERE {c} IS NOT NULL) WHERE part <> '' AND NOT list_contains(?::VARCHAR[], part)",
            [hint + "; separate several with ;", allowed],
        ),
        (
            f"SELECT {ROW_NUMBER}, '{c}', '{c} names no clause or control: ' || ? FROM {clean} "
            f"WHERE {c} IS NOT NULL AND {_typed_name(c)} IS NULL",
            [hint],
        ),
    ]


# registry.is_ratio_metric in SQL (the suffix is the registry's constant, not data)
_RATIO_SQL = f"ends_with(metric, '{RATIO_METRIC_SUFFIX}')"


def _bias_rule_sql() -> str:
    value, threshold = _number_sql("value"), _number_sql("threshold")
    return (
        f"CASE WHEN {_RATIO_SQL} THEN {value} >= {threshold} ELSE abs({value}) <= {threshold} END"
    )


def _column_checks(spec: TableSpec, column, clean: str) -> list[tuple[str, list]]:
    """The checks of one column: required, its kind (enum, date, bool, number, clause), its
    reference."""
    checks: list[tuple[str, list]] = []
    c = column.name
    if column.required:
        checks.append(
            (
                f"SELECT {ROW_NUMBER}, '{c}', 'required value is missing' FROM {clean} "
                f"WHERE {c} IS NULL",
                [],
            )
        )
    if column.kind is ColumnKind.ENUM:
        checks.append(
            (
                f"SELECT {ROW_NUMBER}, '{c}', {_quote(c)} || ' is not one of: ' || ? FROM {clean} "
                f"WHERE {c} IS NOT NULL AND NOT list_contains(?::VARCHAR[], lower({c}))",
                [", ".join(column.enum), list(column.enum)],
            )
        )
    elif column.kind is ColumnKind.DATE:
        checks.append(
            (
                f"SELECT {ROW_NUMBER}, '{c}', {_quote(c)} || ' is not a valid date (expected YYYY-MM-DD)' "
                f"FROM {clean} WHERE {c} IS NOT NULL AND {_typed_name(c)} IS NULL",
                [],
            )
        )
    elif column.kind is ColumnKind.BOOL:
        checks.append(
            (
                f"SELECT {ROW_NUMBER}, '{c}', {_quote(c)} || ' is not true or false' FROM {clean} "
                f"WHERE {c} IS NOT NULL AND {_typed_name(c)} IS NULL",
                [],
            )
        )
    elif column.kind is ColumnKind.NUMBER:
        checks.append(
            (
                f"SELECT {ROW_NUMBER}, '{c}', {_quote(c)} || ' is not a number' FROM {clean} "
                f"WHERE {c} IS NOT NULL AND {_typed_name(c)} IS NULL",
                [],
            )
        )
    elif column.kind is ColumnKind.CLAUSE:
        checks += _clause_checks(spec, column, clean)
    if column.references:
        ref = table_spec(column.references)
        # a table naming its own rows (people.manager) may name a row of the same file
        same_file = (
            f" AND NOT EXISTS (SELECT 1 FROM {clean} f WHERE f.{ref.primary_key} = s.{c})"
            if ref.name == spec.name
            else ""
        )
        checks.append(
            (
                f"SELECT s.{ROW_NUMBER}, '{c}', 'unknown {c} ' || {_quote('s.' + c)} || "
                f"': import {ref.name} first' FROM {clean} s WHERE s.{c} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {ref.name} r WHERE r.{ref.primary_key} = s.{c}){same_file}",
                [],
            )
        )
    return checks


def _checks(spec: TableSpec, clean: str = CLEAN) -> list[tuple[str, list]]:
    """(SQL selecting _row, col, msg) and its parameters, one per rule."""
    checks: list[tuple[str, list]] = []
    for column in spec.columns:
        checks += _column_checks(spec, column, clean)
    pk = spec.primary_key
    key = f"lower({pk})" if spec.key_ignores_case else pk
    checks.append(
        (
            f"SELECT {ROW_NUMBER}, '{pk}', 'duplicate {pk} ' || {_quote(pk)} || ' (first on row ' || "
            f"first_row || ')' FROM (SELECT {ROW_NUMBER}, {pk}, min({ROW_NUMBER}) OVER (PARTITION BY {key}) "
            f"AS first_row FROM {clean} WHERE {key} IN (SELECT {key} FROM {clean} GROUP BY {key} "
            f"HAVING count(*) > 1)) WHERE {ROW_NUMBER} > first_row",
            [],
        )
    )
    if spec.key_ignores_case:  # 'ana' would be a second person beside a stored 'Ana'
        checks.append(
            (
                f"SELECT s.{ROW_NUMBER}, '{pk}', {_quote('s.' + pk)} || ' is already stored as ' || "
                f"{_quote('r.' + pk)} || ' ({pk} names are matched ignoring case)' FROM {clean} s "
                f"JOIN {spec.name} r ON lower(r.{pk}) = lower(s.{pk}) AND r.{pk} <> s.{pk}",
                [],
            )
        )
    for rule in spec.date_orders:
        later, earlier = _typed_name(rule.later), _typed_name(rule.earlier)
        checks.append(
            (
                f"SELECT {ROW_NUMBER}, '{rule.later}', '{rule.later} ' || {rule.later} || "
                f"' is before {rule.earlier} ' || {rule.earlier} FROM {clean} WHERE {later} < {earlier}",
                [],
            )
        )
    for rule in spec.required_when:
        checks += _required_when_checks(spec, rule, clean)
    if spec.derived_bias_pass:
        checks.append(
            (
                f"SELECT {ROW_NUMBER}, 'passed', 'passed is ' || {_quote('passed')} || ' but value ' || "
                f"value || ' with threshold ' || threshold || CASE WHEN {RULE} THEN ' passes' "
                f"ELSE ' fails' END || CASE WHEN {_RATIO_SQL} "
                "THEN ' the rule value ≥ threshold' ELSE ' the rule abs(value) ≤ threshold' END "
                f"FROM {clean} WHERE {_typed_name('passed')} IS NOT NULL AND {RULE} IS NOT NULL "
                f"AND {_typed_name('passed')} <> {RULE}",
                [],
            )
        )
    return checks


def _required_when_checks(spec: TableSpec, rule, clean: str) -> list[tuple[str, list]]:
    """`rule.column` required when the parsed `rule.when_column` is `rule.when_value` (and, for an
    `exactly` rule, empty otherwise). Comparing the parsed value lets `no` mean false."""
    when = rule.when_column
    status = f"lower({when})"
    if when in _parsed(spec):
        status = f"CAST({_typed_name(when)} AS VARCHAR)"
    why = f" ({rule.why})" if rule.why else ""
    checks = [
        (
            f"SELECT {ROW_NUMBER}, '{rule.column}', '{rule.column} is required when "
            f"{when} is {rule.when_value}' || ? FROM {clean} WHERE {status} = ? "
            f"AND {rule.column} IS NULL",
            [why, rule.when_value],
        )
    ]
    if rule.exactly:
        checks.append(
            (
                f"SELECT {ROW_NUMBER}, '{rule.column}', '{rule.column} must be empty unless "
                f"{when} is {rule.when_value} (it is ' || {status} || ')' FROM {clean} "
                f"WHERE {status} <> ? AND {rule.column} IS NOT NULL",
                [rule.when_value],
            )
        )
    return checks


def reported_references(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, clean: str = CLEAN
) -> list[str]:
    """Warnings (not errors) for columns that should name a row of another table and do not,
    once that table holds rows at all (old exports without an audit programme stay quiet)."""
    warnings = []
    for column in spec.columns:
        target = column.reported_unless_in
        if not target:
            continue
        ref = table_spec(target)
        c = column.name
        (present,) = con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {ref.name} LIMIT 1)"
        ).fetchall()[0]
        if not present:
            continue
        missing = con.execute(
            f"SELECT {ROW_NUMBER}, {c}, count(*) OVER () FROM {clean} s WHERE {c} IS NOT NULL AND "
            f"NOT EXISTS (SELECT 1 FROM {ref.name} r WHERE r.{ref.primary_key} = s.{c}) "
            f"ORDER BY {ROW_NUMBER} LIMIT 1"
        ).fetchall()
        if missing:
            row, value, count = missing[0]
            warnings.append(
                f"{c}: {count_of(count, 'row')} {verb_for(count, 'names', 'name')} no {ref.primary_key} of {ref.name} (first: {value!r} on "
                f"row {row}); they are imported anyway: import {ref.name} to link them"
            )
    return warnings


def _email_checks(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, clean: str
) -> list[tuple[str, list]]:
    """E-mail columns, by the one e-mail rule (text.email_problem) over their distinct values."""
    checks = []
    for c in (col.name for col in spec.columns if col.kind is ColumnKind.EMAIL):
        values = [
            v
            for (v,) in con.execute(
                f"SELECT DISTINCT {c} FROM {clean} WHERE {c} IS NOT NULL"
            ).fetchall()
        ]
        bad = {v: problem for v in values if (problem := email_problem(v))}
        if bad:
            checks.append(
                (
                    f"SELECT {ROW_NUMBER}, '{c}', {_quote(c)} || ' is not an e-mail address: ' || "
                    f"map_extract(?::MAP(VARCHAR, VARCHAR), {c})[1] FROM {clean} "
                    f"WHERE list_contains(?::VARCHAR[], {c})",
                    [bad, list(bad)],
                )
            )
    return checks


def validate_rows(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, file_name: str, clean: str = CLEAN
) -> list[ImportProblem]:
    """Every rule of `spec` over the clean table: all problems, sorted by row then column."""
    order = {name: i for i, name in enumerate(spec.column_names)}
    problems: list[ImportProblem] = []
    for sql, params in _checks(spec, clean) + _email_checks(con, spec, clean):
        for row, column, message in con.execute(sql, params).fetchall():
            problems.append(ImportProblem(int(row), column, message, file_name))
    problems.sort(key=lambda p: (p.row, order.get(p.column, -1), p.message))
    return problems
