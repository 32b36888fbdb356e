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
    is_blank,
    normalise_text,
    trim_array,
    trim_list_items,
)
from aims_metrics.store import now, record_audit, transaction
from aims_metrics.tables.checks import (
    CLEAN,
    RULE,
    ImportProblem,
    _clean_view_sql,
    _parsed,
    _typed_name,
    reported_references,
    validate_rows,
)
from aims_metrics.tables.headers import match_headers, normalise_header
from aims_metrics.tables.readers import (
    ROW_NUMBER,
    FileProblem,
    RawFile,
    read_source,
    sheet_location,
)
from aims_metrics.tables.registry import (
    TableSpec,
    table_spec,
)
from aims_metrics.vocabulary.wording import count_of

PREVIEW_ROWS = 20
STAGE = "import_stage"


class ImportUsageError(ValueError):
    """The request itself is wrong (unknown table, bad --map/--set): exit code 2."""


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
    from aims_metrics.inputs.text import normalise_text

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
