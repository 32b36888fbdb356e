"""Import: read → map headers → validate every row (all errors at once) → upsert in one transaction.

Validation is vectorised: the file is registered in DuckDB as an Arrow table of text and each rule
of the table spec becomes one SQL check returning (row, column, message) for every failing cell.
Cell values only ever reach SQL as data in that registered table, never as SQL text. The text
arrives trimmed by the one text rule (inputs/text.py: by the readers for files, here for `--set`
values and editor rows), so no SQL here trims.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from aims_metrics.inputs.text import (
    control_character,
    email_problem,
    is_blank,
    normalise_text,
    trim_array,
    trim_list_items,
)
from aims_metrics.store import now, record_audit, transaction
from aims_metrics.tables.headers import match_headers, normalise_header
from aims_metrics.tables.readers import (
    ROW_NUMBER,
    FileProblem,
    RawFile,
    read_source,
    sheet_location,
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
PREVIEW_ROWS = 20
STAGE = "import_stage"


class ImportUsageError(ValueError):
    """The request itself is wrong (unknown table, bad --map/--set): exit code 2."""


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


@dataclass
class ImportCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.inserted:,} inserted, {self.updated:,} updated, {self.unchanged:,} unchanged"


@dataclass
class ImportPlan:
    """A validated (or rejected) import, ready for `commit_import`."""

    table: str
    file_name: str
    sha256: str
    row_count: int
    problems: list[ImportProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: ImportCounts = field(default_factory=ImportCounts)
    column_sources: dict[str, str] = field(default_factory=dict)  # target column → file header
    mapped: pa.Table | None = None  # text columns named by target column, plus _row
    sheet: str | None = None  # the workbook sheet read (None for a CSV)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def location(self) -> str:
        """Where messages say the problems are: the file, or a workbook's `book.xlsx[Sheet]`."""
        return sheet_location(self.file_name, self.sheet) if self.sheet else self.file_name

    @property
    def preview(self) -> pd.DataFrame:
        if self.mapped is None:
            return pd.DataFrame()
        frame = self.mapped.slice(0, PREVIEW_ROWS).to_pandas()
        return frame.rename(columns={ROW_NUMBER: "row"})

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(p.file, p.row, p.column, p.message) for p in self.problems],
            columns=["file", "row", "column", "message"],
        )


@dataclass
class ImportResult:
    table: str
    file_name: str
    counts: ImportCounts
    batch_id: int | None
    dry_run: bool = False


class ImportRejected(Exception):
    """Validation failed; `problems` lists every error. The database is unchanged."""

    def __init__(self, plan: ImportPlan):
        super().__init__(f"{count_of(len(plan.problems), 'problem')} in {plan.location}")
        self.plan = plan


# --- header mapping ---------------------------------------------------------------------------


def parse_assignments(pairs: list[str] | None, flag: str) -> dict[str, str]:
    """`["SRC=DST", …]` → dict; a pair without `=` is a usage error."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ImportUsageError(f"{flag} expects NAME=VALUE, got {pair!r}")
        result[key.strip()] = value.strip() if flag == "--map" else value
    return result


def _map_columns(
    spec: TableSpec, raw: RawFile, mapping: dict[str, str], constants: dict[str, str]
) -> tuple[dict[str, int], list[str], list[ImportProblem]]:
    """target column → file column index; warnings; file-level problems."""
    targets = set(spec.column_names)
    wanted = {normalise_header(src): normalise_header(dst) for src, dst in mapping.items()}
    for src, dst in wanted.items():
        if dst not in targets:
            raise ImportUsageError(
                f"--map {src}={dst}: {spec.name} has no column {dst!r} "
                f"(columns: {', '.join(spec.column_names)})"
            )
    headers = [normalise_header(h) for h in raw.headers]
    for src in wanted:
        if src not in headers:
            raise ImportUsageError(
                f"--map {src}=…: the file has no column {src!r} (its columns: {', '.join(raw.headers)})"
            )
    match = match_headers(raw.headers, targets, wanted)
    chosen = match.chosen
    problems = [
        ImportProblem(1, target, message, raw.location)
        for target, message in match.ambiguities(raw.headers)
    ]
    ignored = [raw.headers[i] or f"(blank header in column {i + 1})" for i in match.ignored]
    for column in constants:
        name = normalise_header(column)
        if name not in targets:
            raise ImportUsageError(
                f"--set {column}=…: {spec.name} has no column {name!r} "
                f"(columns: {', '.join(spec.column_names)})"
            )
        if name in chosen:
            raise ImportUsageError(
                f"--set {column}=…: the file already has column {name!r}; "
                "--set only fills a column the file lacks"
            )
    provided = set(chosen) | {normalise_header(c) for c in constants}
    hint = ""
    if sum(1 for h in raw.headers if is_blank(h)) > len(raw.headers) / 2:
        hint = " (row 1 looks like a title row, not a header: remove the rows above the header)"
    elif len(raw.headers) == 1 and raw.row_count:
        hint = (
            " (the file has a single column: is it delimited by something other than , ; or tab?)"
        )
    for column in spec.required_columns:
        if column not in provided:
            problems.append(
                ImportProblem(1, column, f"required column is missing{hint}", raw.location)
            )
    warnings = []
    if ignored:
        warnings.append(f"ignored columns not in {spec.name}: {', '.join(ignored)}")
    return chosen, warnings, problems


def _mapped_table(
    spec: TableSpec, raw: RawFile, chosen: dict[str, int], constants: dict[str, str]
) -> pa.Table:
    n = raw.row_count
    normalised_constants = {normalise_header(k): normalise_text(v) for k, v in constants.items()}
    arrays, names = [], []
    for column in spec.column_names:
        if column in chosen:
            arrays.append(_list_items_trimmed(spec, column, raw.table[f"c{chosen[column]}"]))
        elif column in normalised_constants:
            value = _list_items_trimmed(
                spec, column, pa.array([normalised_constants[column]], pa.string())
            )
            arrays.append(pa.repeat(value[0], n))
        else:
            arrays.append(pa.nulls(n, pa.string()))
        names.append(column)
    arrays.append(raw.table[ROW_NUMBER])
    names.append(ROW_NUMBER)
    return pa.table(arrays, names=names)


def _list_items_trimmed(spec: TableSpec, column: str, values):
    """A reference-list column (`audits.scope`) with each `;`-separated item trimmed by the rule."""
    return trim_list_items(values) if spec.column(column).ref_list else values


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


def _checks(spec: TableSpec, clean: str = CLEAN) -> list[tuple[str, list]]:
    """(SQL selecting _row, col, msg) and its parameters, one per rule."""
    checks: list[tuple[str, list]] = []
    for column in spec.columns:
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


# --- staging and upsert -----------------------------------------------------------------------


def _typed_select(spec: TableSpec, clean: str = CLEAN) -> str:
    typed = []
    parsed = set(_parsed(spec))
    for column in spec.column_names:
        expr = _typed_name(column) if column in parsed else column
        if spec.derived_bias_pass and column == "passed":
            expr = f"coalesce({expr}, {RULE})"
        typed.append(f"{expr} AS {column}")
    return f"SELECT {', '.join(typed)} FROM {clean}"


def _diff_counts(con: duckdb.DuckDBPyConnection, spec: TableSpec, staged: str) -> ImportCounts:
    pk = spec.primary_key
    same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM t.{c}" for c in spec.column_names)
    inserted, unchanged, total = con.execute(
        f"SELECT count(*) FILTER (WHERE t.{pk} IS NULL), "
        f"count(*) FILTER (WHERE t.{pk} IS NOT NULL AND {same}), count(*) "
        f"FROM {staged} s LEFT JOIN {spec.name} t ON t.{pk} = s.{pk}"
    ).fetchall()[0]
    return ImportCounts(int(inserted), int(total - inserted - unchanged), int(unchanged))


def _apply(con: duckdb.DuckDBPyConnection, spec: TableSpec, staged: str, existing: bool) -> None:
    """Upsert the staged rows (`staged`: a subquery over the ordinary clean table). Into an empty
    table (`existing` false, seen in this transaction) every staged row is new: a plain insert,
    no update and no anti-join."""
    pk = spec.primary_key
    columns = ", ".join(spec.column_names)
    if not existing:
        con.execute(f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM {staged} s")
        return
    others = [c for c in spec.column_names if c != pk]
    differs = " OR ".join(f"s.{c} IS DISTINCT FROM {spec.name}.{c}" for c in others)
    assignments = ", ".join(f"{c} = s.{c}" for c in others)
    con.execute(
        f"UPDATE {spec.name} SET {assignments} FROM {staged} s "
        f"WHERE {spec.name}.{pk} = s.{pk} AND ({differs})"
    )
    con.execute(
        f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM {staged} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {spec.name} t WHERE t.{pk} = s.{pk})"
    )


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, table: pa.Table) -> Iterator[tuple[str, str]]:
    """Register the file's Arrow table; yield (its name, a fresh staging-table name)."""
    name = "import_raw"
    stage = f"{STAGE}_{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        yield name, stage
    finally:
        con.unregister(name)
        con.execute(f"DROP TABLE IF EXISTS {CLEAN}")
        con.execute(f"DROP TABLE IF EXISTS {stage}")


Progress = Callable[[float, str], None]  # (share done 0..1, what is happening now)


def _no_progress(done: float, step: str) -> None:
    return None


def _validate_and_count(
    con: duckdb.DuckDBPyConnection, plan: ImportPlan, apply: bool, progress: Progress = _no_progress
) -> None:
    spec = table_spec(plan.table)
    rows = f"{plan.mapped.num_rows:,} rows"
    with _registered(con, plan.mapped) as (raw_name, stage):
        clean = stage if apply else CLEAN  # applying: an ordinary table (see _clean_view_sql)
        progress(0.05, f"Parsing every cell of {rows}")
        con.execute(_clean_view_sql(spec, raw_name, clean, durable=apply))
        progress(0.35, f"Checking {rows}: types, allowed values, rules, known systems")
        plan.problems.extend(validate_rows(con, spec, plan.location, clean))
        if plan.problems:
            return
        for warning in reported_references(con, spec, clean):
            if warning not in plan.warnings:
                plan.warnings.append(warning)
        (existing,) = con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {spec.name} LIMIT 1)"
        ).fetchall()[0]
        if not existing and not apply:  # first load of the table: everything is new
            plan.counts = ImportCounts(inserted=plan.mapped.num_rows)
            return
        staged = f"({_typed_select(spec, clean)})"
        progress(0.6, f"Comparing with the rows stored in {spec.name}")
        if existing:
            plan.counts = _diff_counts(con, spec, staged)
        else:
            plan.counts = ImportCounts(inserted=plan.mapped.num_rows)
        if apply:
            progress(0.75, f"Writing in one transaction: {plan.counts}")
            _apply(con, spec, staged, bool(existing))


# --- the public entry points ------------------------------------------------------------------


def source_headers(
    source: Path | bytes, file_name: str | None = None, sheet: str | None = None
) -> list[str]:
    """The headers of a file as written, for the column-mapping form."""
    return read_source(source, file_name, sheet).headers


def prepare_import(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: Path | bytes,
    file_name: str | None = None,
    mapping: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    sheet: str | None = None,
    validate: bool = True,
) -> ImportPlan:
    """Read, map and validate a file; count what a commit would change. Writes nothing.

    With validate=False only file-level problems are checked (commit_import validates anyway).
    """
    try:
        spec = table_spec(table)
    except KeyError as error:
        raise ImportUsageError(str(error.args[0])) from None
    name = file_name or (Path(source).name if isinstance(source, str | Path) else "upload")
    try:
        raw = read_source(source, name, sheet)
    except FileProblem as problem:
        plan = ImportPlan(table=table, file_name=name, sha256="", row_count=0)
        # a workbook's problems name the sheet: book.xlsx[Sheet]
        plan.problems.append(ImportProblem(1, "(file)", str(problem), problem.where or name))
        return plan
    except OSError as error:
        raise ImportUsageError(f"cannot read {name}: {error.strerror or error}") from None
    plan = ImportPlan(
        table=table, file_name=name, sha256=raw.sha256, row_count=raw.row_count, sheet=raw.sheet
    )
    where = plan.location  # for a workbook, `book.xlsx[Sheet]`: every message names the sheet
    chosen, warnings, problems = _map_columns(spec, raw, mapping or {}, constants or {})
    plan.warnings = raw.notes + warnings
    plan.column_sources = {target: raw.headers[index] for target, index in chosen.items()}
    plan.problems.extend(problems)
    plan.problems.extend(ImportProblem(row, "(row)", msg, where) for row, msg in raw.malformed_rows)
    if raw.row_count == 0 and not raw.malformed_rows:
        plan.problems.append(
            ImportProblem(1, "(file)", "the file has a header but no data rows", where)
        )
    if plan.problems:
        plan.problems.sort()
        return plan
    plan.mapped = _mapped_table(spec, raw, chosen, constants or {})
    if validate:
        with transaction(con, read_only=True):
            _validate_and_count(con, plan, apply=False)
    return plan


def commit_import(
    con: duckdb.DuckDBPyConnection,
    plan: ImportPlan,
    username: str,
    progress: Progress = _no_progress,
) -> ImportResult:
    """Re-validate and upsert in ONE transaction, recording the batch; all or nothing.

    `progress(share, step)` is called as each stage starts and with 1.0 once committed."""
    if not plan.ok or plan.mapped is None:
        raise ImportRejected(plan)
    with transaction(con):
        plan.problems.clear()
        _validate_and_count(con, plan, apply=True, progress=progress)
        if plan.problems:
            raise ImportRejected(plan)  # rolls back: the data changed since preparing
        counts = plan.counts
        (batch_id,) = con.execute(
            "INSERT INTO import_batches (table_name, file_name, sha256, row_count, inserted, updated, "
            "unchanged, username, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING batch_id",
            [
                plan.table,
                plan.file_name,
                plan.sha256,
                plan.row_count,
                counts.inserted,
                counts.updated,
                counts.unchanged,
                username,
                now(),
            ],
        ).fetchall()[0]
        record_audit(
            con,
            username,
            "data.import",
            plan.table,
            {
                "file": plan.file_name,
                "sha256": plan.sha256,
                "batch_id": batch_id,
                "inserted": counts.inserted,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
            },
        )
        progress(0.95, "Committing")
    progress(1.0, f"Committed as import batch {batch_id}")
    return ImportResult(plan.table, plan.file_name, counts, int(batch_id))


def import_file(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: Path | bytes,
    username: str,
    file_name: str | None = None,
    mapping: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
) -> tuple[ImportPlan, ImportResult | None]:
    """Prepare and (unless dry_run or invalid) commit. Raises ImportRejected on invalid data."""
    plan = prepare_import(
        con, table, source, file_name, mapping, constants, sheet, validate=dry_run
    )
    if not plan.ok:
        raise ImportRejected(plan)
    if dry_run:
        return plan, ImportResult(table, plan.file_name, plan.counts, None, dry_run=True)
    return plan, commit_import(con, plan, username)


def import_history(con: duckdb.DuckDBPyConnection, limit: int = 200) -> pd.DataFrame:
    """Recent import batches, newest first."""
    return con.execute(
        "SELECT batch_id, table_name, file_name, sha256, row_count, inserted, updated, unchanged, "
        "username, imported_at FROM import_batches ORDER BY batch_id DESC LIMIT ?",
        [limit],
    ).df()


def save_mapping_preset(
    con: duckdb.DuckDBPyConnection, table: str, name: str, mapping: dict[str, str], username: str
) -> None:
    """Store a source→target header mapping under a name, for the next export of that shape."""
    from aims_metrics.inputs.text import control_character, normalise_text

    table_spec(table)
    name = normalise_text(name) or ""
    if not name:
        raise ImportUsageError("a preset needs a name")
    if found := control_character(name):
        raise ImportUsageError(f"the preset name contains a control character {found}")
    with transaction(con):
        con.execute(
            "INSERT INTO mapping_presets VALUES (?, ?, ?, ?, ?) ON CONFLICT (table_name, name) "
            "DO UPDATE SET mapping = excluded.mapping, created_by = excluded.created_by, "
            "created_at = excluded.created_at",
            [table, name, json.dumps(mapping, sort_keys=True), username, now()],
        )
        record_audit(con, username, "mapping_preset.save", f"{table}/{name}", mapping)


def mapping_presets(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, dict[str, str]]:
    rows = con.execute(
        "SELECT name, mapping FROM mapping_presets WHERE table_name = ? ORDER BY name", [table]
    ).fetchall()
    return {name: json.loads(mapping) for name, mapping in rows}


def validate_records(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    records: list[dict[str, object]],
    file_name: str,
) -> list[ImportProblem]:
    """The import's rules over rows typed into an editor (the same checks as a file; row 2 is the
    first record, as in a spreadsheet). `spec` need not be a data table (e.g. the gap register)."""
    columns = {
        c: _list_items_trimmed(
            spec,
            c,
            trim_array(
                pa.array(
                    [
                        None if r.get(c) is None or r.get(c) != r.get(c) else str(r.get(c))
                        for r in records
                    ],
                    pa.string(),
                )
            ),
        )
        for c in spec.column_names
    }
    columns[ROW_NUMBER] = pa.array(range(2, len(records) + 2), pa.int64())
    with transaction(con, read_only=True), _registered(con, pa.table(columns)) as (raw_name, _):
        con.execute(_clean_view_sql(spec, raw_name))
        return validate_rows(con, spec, file_name)
