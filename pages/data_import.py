"""Data import: template, upload CSV/XLSX, map columns (presets), preview, errors, commit, history."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import streamlit as st

from aims_metrics import store
from aims_metrics.auth import Action
from aims_metrics.tables import ingest, readers
from aims_metrics.tables.readers import FileProblem
from aims_metrics.tables.registry import TABLES
from aims_metrics.vocabulary.wording import count_of, number, verb_for
from pages import _ui

me = _ui.require(Action.IMPORT_DATA)

MAX_UPLOAD_MB = 50  # as server.maxUploadSize in .streamlit/config.toml


def remembered(key: tuple, function, *args):
    """`function(*args)` computed once per key and kept for the session's later reruns: every
    widget change reruns the page, and reading a large workbook again each time takes seconds."""
    slot = f"import_memo_{key[0]}"
    kept = st.session_state.get(slot)
    if kept is None or kept[0] != key:
        kept = st.session_state[slot] = (key, function(*args))
    return kept[1]


st.title("Data import")
_ui.show_flash()
st.caption(
    "Load exports from your registers. Import systems first: incidents, assessments and bias "
    "tests must name a known system_id. A file is imported completely or not at all."
)

table = st.selectbox(
    "Table",
    list(TABLES),
    format_func=lambda name: f"{TABLES[name].title} ({name})",
    key="import_table",
)
spec = TABLES[table]
template_column, columns_column = st.columns([1, 2])
template_column.download_button(
    f"{table}.csv template",  # the icon says download; the whole name fits the button
    data=(spec.template_header() + "\n").encode("utf-8"),
    file_name=f"{table}.csv",
    mime="text/csv",
    key="import_template",
    icon=":material/download:",
    on_click="ignore",
)
columns_column.caption(
    "Columns: "
    + ", ".join(f"{c.name}{'*' if c.required else ''}" for c in spec.columns)
    + " (* required)"
)

upload = st.file_uploader(
    "CSV or XLSX file",
    type=["csv", "xlsx", "txt", "tsv"],
    key=_ui.fresh_key("import_upload", "import"),  # a fresh uploader after each import
)
if upload is not None and upload.size > MAX_UPLOAD_MB * 2**20:
    # Checked here too, not only by server.maxUploadSize in .streamlit/config.toml (that setting
    # is read from the working directory and is easily lost); the CLI takes files up to 512 MB.
    st.error(
        f"{upload.name}: the file is {upload.size / 2**20:.0f} MB; the upload limit is "
        f"{MAX_UPLOAD_MB} MB — use the CLI for larger files "
        f"(python -m aims_metrics import {table} FILE)."
    )
    upload = None

if upload is not None:
    data = upload.getvalue()
    file_name = upload.name
    sheet = None
    try:
        sheets = (
            remembered(("sheets", upload.file_id), readers.xlsx_sheet_names, data)
            if readers.looks_like_xlsx(data, file_name)
            else []
        )
    except FileProblem:
        sheets = []  # reported below, where the file is read
    if len(sheets) > 1:
        sheet = st.selectbox(
            f"Sheet of {file_name}",
            sheets,
            key="import_sheet",
            help="The visible sheets; the first by default (hidden sheets are skipped).",
        )
    try:
        headers = remembered(
            ("headers", upload.file_id, sheet), ingest.source_headers, data, file_name, sheet
        )
    except FileProblem as problem:
        headers = []  # a workbook's problem names the sheet: book.xlsx[Sheet]
        st.error(f"{problem.where or file_name} cannot be read: {problem}")
    except Exception:  # any unreadable upload: a message, never a traceback
        headers = []
        st.error(f"{file_name} cannot be read as CSV or XLSX.")

    mapping: dict[str, str] = {}
    if headers:
        presets = _ui.query(ingest.mapping_presets, table)
        with st.expander("Map columns (when the file's headers differ from the template)"):
            if presets:
                preset = st.selectbox(
                    "Apply a saved mapping",
                    list(presets),
                    index=None,
                    placeholder="none",
                    key=f"import_preset_{table}",
                )
                if preset and st.button("Apply", key="import_preset_apply"):
                    normalised = {ingest.normalise_header(h): h for h in headers}
                    for source, target in presets[preset].items():
                        header = normalised.get(ingest.normalise_header(source))
                        if header is not None:
                            st.session_state[f"import_map_{table}_{target}"] = header
                    st.rerun()
            AUTO = "(automatic)"
            grid = st.columns(3)
            for index, column in enumerate(spec.columns):
                choice = grid[index % 3].selectbox(
                    f"{column.name}{' *' if column.required else ''}",
                    [AUTO, *headers],
                    key=f"import_map_{table}_{column.name}",
                )
                if choice != AUTO and ingest.normalise_header(choice) != column.name:
                    mapping[choice] = column.name
            name_column, save_column = st.columns([3, 1])
            preset_name = name_column.text_input("Save this mapping as", key="import_preset_name")
            if save_column.button("Save mapping", key="import_preset_save", disabled=not mapping):
                try:
                    _ui.write(
                        Action.IMPORT_DATA,
                        ingest.save_mapping_preset,
                        table,
                        preset_name,
                        mapping,
                        me.username,
                    )
                except ingest.ImportUsageError as error:
                    st.error(str(error))
                else:
                    _ui.flash(f"Saved the mapping {preset_name.strip()!r}.")

        plan_key = json.dumps(
            [
                hashlib.sha256(data).hexdigest(),
                file_name,
                sheet,
                table,
                mapping,
                list(store.data_version(_ui.db_path())),
            ],
            sort_keys=True,
        )
        if st.session_state.get("import_plan_key") != plan_key:
            try:
                plan = _ui.read(ingest.prepare_import, table, data, file_name, mapping, sheet=sheet)
            except ingest.ImportUsageError as error:
                plan = None
                st.error(str(error))
            st.session_state["import_plan"] = plan
            st.session_state["import_plan_key"] = plan_key
        plan: ingest.ImportPlan | None = st.session_state.get("import_plan")

        if plan is not None:
            for warning in plan.warnings:
                st.warning(warning)
            if not plan.ok:
                problems = plan.problems_frame()
                st.error(
                    f"{count_of(len(problems), 'problem')} in {plan.location}: nothing was imported. "
                    "Fix the file (or map its columns above) and upload it again."
                )
                _ui.show_table(
                    problems[["row", "column", "message"]], hide_index=True, key="import_problems"
                )
                _ui.download_csv(
                    problems,
                    f"{file_name}-problems.csv",
                    key="import_problems_download",
                    label="Download the problems as CSV",
                )
            else:
                counts = plan.counts
                st.success(
                    f"{count_of(plan.row_count, 'row')} {verb_for(plan.row_count, 'is', 'are')} valid. Importing would "
                    f"insert {number(counts.inserted)}, update {number(counts.updated)} and leave "
                    f"{number(counts.unchanged)} unchanged."
                )
                st.caption(
                    f"Preview of the first {count_of(len(plan.preview), 'row')} after mapping"
                )
                _ui.show_table(plan.preview, hide_index=True, key="import_preview")
                if st.button(
                    f"Import {count_of(plan.row_count, 'row')} into {table}",
                    type="primary",
                    key="import_commit",
                    icon=":material/upload:",
                ):
                    with st.status(f"Importing {file_name}…", expanded=True) as status:
                        bar = st.progress(0.0, text="Validating again before writing…")
                        try:
                            result = _ui.write(
                                Action.IMPORT_DATA,
                                ingest.commit_import,
                                plan,
                                me.username,
                                progress=lambda done, step: bar.progress(done, text=step),
                            )
                        except ingest.ImportRejected as rejected:
                            status.update(label="Import refused: nothing changed", state="error")
                            _ui.show_table(
                                rejected.plan.problems_frame()[["row", "column", "message"]],
                                hide_index=True,
                                key="import_commit_problems",
                            )
                        else:
                            status.update(
                                label=f"Imported {plan.location}: {result.counts}", state="complete"
                            )
                            st.session_state.pop("import_plan_key", None)
                            st.session_state.pop("import_plan", None)
                            _ui.flash(f"Imported {plan.location}: {result.counts}.", reset="import")

st.divider()
st.subheader("Import history")
history = _ui.query(ingest.import_history)
if history.empty:
    _ui.empty_state("Nothing imported yet. Pick a table, download its template and upload a file.")
else:
    history = history.rename(
        columns={
            "table_name": "table",
            "file_name": "file",
            "username": "who",
            "imported_at": "when",
        }
    )
    _ui.show_table(
        history[
            [
                "when",
                "who",
                "table",
                "file",
                "sha256",
                "row_count",
                "inserted",
                "updated",
                "unchanged",
            ]
        ],
        hide_index=True,
        key="import_history",
        column_config={"sha256": st.column_config.TextColumn(width="small")},
    )
    _ui.download_csv(pd.DataFrame(history), "import-history.csv", key="import_history_download")
