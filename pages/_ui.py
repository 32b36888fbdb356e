"""UI helpers shared by the router and the pages: page registry, guard, data access, look.

This is the only place where pages reach the database: `query` and `read` run a library function
on the process's in-memory snapshot of the file (store.snapshot), `query` caching the result under
(data version, arguments); `write` opens the file for the length of one write. So readers hold the
file only while a snapshot is copied, and the CLI can import while the app runs.
"""

from __future__ import annotations

import html
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
from pandas.io.formats.style import Styler

from aims_metrics import auth, store
from aims_metrics.auth import Action, Role
from aims_metrics.metrics import as_of, periods
from aims_metrics.metrics.formatting import format_value  # noqa: F401  (pages use _ui.format_value)
from aims_metrics.performance import fairness_results
from aims_metrics.tables.export import safe_csv_bytes
from aims_metrics.vocabulary.findings import FINDING_TYPES, finding_colour, finding_title
from aims_metrics.vocabulary.labels import column_label
from aims_metrics.vocabulary.palette import SERIES_COLOURS
from aims_metrics.vocabulary.status import STATUSES, look, status_label
from aims_metrics.vocabulary.wording import MISSING, number

log = logging.getLogger("aims_review")

ROOT = Path(__file__).resolve().parents[1]
USER_KEY = "auth_username"  # set only by the router after a successful sign-in; never a widget key
COOKIE_NAME = "aims_session"
LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1"}


# --- the page registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class PageSpec:
    """A page of the app and the action a user needs to open it.

    url_path never equals the file's stem: Streamlit's legacy `pages/` lookup serves a file by its
    stem before the router has run once in a process, and must not be mistaken for a router page.
    """

    file: str
    title: str
    icon: str
    url_path: str
    action: Action
    section: str = "Dashboards"
    default: bool = False

    @property
    def path(self) -> Path:
        return ROOT / self.file


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "pages/overview.py",
        "Overview",
        ":material/dashboard:",
        "home",
        Action.VIEW_DASHBOARDS,
        default=True,
    ),
    PageSpec(
        "pages/trends.py", "Trends", ":material/show_chart:", "kpi-trends", Action.VIEW_DASHBOARDS
    ),
    PageSpec(
        "pages/nonconformities.py",
        "Nonconformities",
        ":material/report:",
        "nonconformity-aging",
        Action.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/objectives.py",
        "Objectives",
        ":material/flag:",
        "ai-objectives",
        Action.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/review.py",
        "Management review",
        ":material/groups:",
        "management-review",
        Action.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/audit_programme.py",
        "Audit programme",
        ":material/fact_check:",
        "audit-programme",
        Action.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/readiness.py",
        "Certification readiness",
        ":material/verified:",
        "certification-readiness",
        Action.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/fairness.py",
        "Fairness",
        ":material/balance:",
        "fairness-evaluation",
        Action.VIEW_DASHBOARDS,
    ),
    PageSpec(
        "pages/data_import.py",
        "Data import",
        ":material/upload_file:",
        "data-import",
        Action.IMPORT_DATA,
        section="Manage",
    ),
    PageSpec(
        "pages/metrics.py",
        "Metric definitions",
        ":material/functions:",
        "metric-definitions",
        Action.EDIT_METRICS,
        section="Manage",
    ),
    PageSpec(
        "pages/admin.py",
        "Admin",
        ":material/admin_panel_settings:",
        "administration",
        Action.MANAGE_USERS,
        section="Manage",
    ),
    PageSpec(
        "pages/notifications.py",
        "Notifications",
        ":material/notifications:",
        "admin-notifications",
        Action.VIEW_NOTIFICATIONS,
        section="Manage",
    ),
)


def available_pages() -> list[PageSpec]:
    """Pages whose module exists (the management review arrives with its own issue)."""
    return [page for page in PAGES if page.path.exists()]


# --- who is signed in, and the guard ------------------------------------------------------------


# Set by the router for the duration of one script run, after it re-read the user from the
# database. Not session state: nothing a client sends and no earlier run can set it, and a page
# file run without the router (e.g. through Streamlit's legacy pages/ lookup) finds it empty.
_RUN_USER: ContextVar[auth.User | None] = ContextVar("aims_run_user", default=None)


@contextmanager
def signed_in_as(user: auth.User) -> Iterator[None]:
    """Router only: run the page with `user` as the signed-in user of this run."""
    token = _RUN_USER.set(user)
    try:
        yield
    finally:
        _RUN_USER.reset(token)


def current_user() -> auth.User | None:
    """The user the router validated against the database in this run (None when signed out)."""
    return _RUN_USER.get()


def allowed(action: Action) -> bool:
    user = current_user()
    return user is not None and auth.can(user.role, action)


def require(action: Action) -> auth.User:
    """Top-of-page and before-every-write guard: stop with "not permitted" unless allowed."""
    user = current_user()
    if user is None or not auth.can(user.role, action):
        not_permitted()
    return user


def not_permitted(page_title: str | None = None) -> None:
    where = f"{page_title}: y" if page_title else "Y"
    st.error(
        f"{where}ou are not permitted to use this page or action with your role. "
        "Ask an administrator if you need access.",
        icon=":material/block:",
    )
    st.stop()


# --- database access -----------------------------------------------------------------------------


def db_path() -> str:
    return str(store.default_db_path())


_QUERIES: dict[str, Callable[..., Any]] = {}


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(
    name: str, snapshot_key: tuple, args: tuple, kwargs: tuple, _snapshot: store.Snapshot
) -> Any:
    with _snapshot.cursor() as con:
        return _QUERIES[name](con, *args, **dict(kwargs))


def query(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`function(con, *args, **kwargs)` on the process's snapshot of the database, cached by the
    snapshot's data version and the arguments (a write by any process is a new version)."""
    name = f"{function.__module__}.{function.__qualname__}"
    _QUERIES[name] = function
    snapshot = store.read_snapshot(db_path())
    return _cached_call(name, snapshot.key, args, tuple(sorted(kwargs.items())), snapshot)


def write(action: Action, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Check the role again on the server, then run a library write on a short-lived connection
    to the file (the only way pages reach the file itself)."""
    require(action)
    with store.open_db(db_path()) as con:
        return store.retry_while_held(db_path(), lambda: function(con, *args, **kwargs))


def read(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`function(con, …)` on the snapshot, uncached (per-upload work, per-request checks)."""
    with store.read_db(db_path()) as con:
        return function(con, *args, **kwargs)


def setting(key: str) -> str:
    return query(store.get_setting, key)


def fiscal_start_month() -> int:
    return query(as_of.fiscal_start_month)


# --- confirmations after a write ---------------------------------------------------------------

FLASH_KEY = "_aims_flash"


def flash(
    message: str, *, reset: str | None = None, kind: str = "success", forget: str | None = None
) -> None:
    """End a write: keep `message` across the rerun, give the forms of `reset` fresh keys (so they
    show the saved state, not what was typed), drop the widget values whose keys start with
    `forget`, and rerun. `show_flash` draws the message on the next run."""
    st.session_state[FLASH_KEY] = (kind, message)
    if reset is not None:
        st.session_state[_generation_key(reset)] = form_generation(reset) + 1
    if forget is not None:
        for key in [k for k in st.session_state if str(k).startswith(forget)]:
            del st.session_state[key]
    st.rerun()


def show_flash() -> None:
    """The confirmation of the write that caused this rerun, once (pages call it at the top)."""
    kept = st.session_state.pop(FLASH_KEY, None)
    if kept is None:
        return
    kind, message = kept
    if kind == "info":
        st.info(message, icon=":material/info:")
    else:
        st.success(message, icon=":material/check_circle:")


def _generation_key(scope: str) -> str:
    return f"_aims_form_generation_{scope}"


def form_generation(scope: str) -> int:
    """A number that changes after each write in `scope`: part of the widget keys of its forms."""
    return int(st.session_state.get(_generation_key(scope), 0))


def fresh_key(key: str, scope: str) -> str:
    """`key` until the first write in `scope`, then a new key after each one (a fresh widget)."""
    generation = form_generation(scope)
    return key if generation == 0 else f"{key}__{generation}"


# --- quarters -----------------------------------------------------------------------------------

QUARTER_KEY = "quarter"


def quarter_options() -> list[str]:
    """Newest first: the quarter in progress, then the last twelve completed quarters."""
    start = fiscal_start_month()
    last = periods.last_completed_quarter(start_month=start)
    return [q.label for q in reversed(periods.quarters_ending(last.next(), 13))]


def evaluation_point() -> as_of.EvaluationPoint:
    """The quarter chosen in the sidebar (default: the latest complete quarter) and the day every
    page evaluates at; `.describe()` says which."""
    return as_of.evaluation_point(st.session_state.get(QUARTER_KEY), fiscal_start_month())


def selected_quarter() -> periods.Quarter:
    """The quarter chosen in the sidebar (default: the last completed quarter)."""
    return evaluation_point().quarter


def trend_quarters(count: int = 8) -> list[periods.Quarter]:
    return periods.quarters_ending(selected_quarter(), count)


# --- session signing key -------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _process_key() -> bytes:
    return secrets.token_bytes(32)


def is_local_mode() -> bool:
    return (st.get_option("server.address") or "") in LOCAL_ADDRESSES


def _secret(name: str) -> Any:
    try:
        return st.secrets.get(name)
    except Exception:  # no secrets file at all
        return None


def session_key() -> bytes | None:
    """The cookie signing key: `session_key` in secrets or $AIMS_SESSION_KEY.

    In local mode (bound to localhost) a random key per server process is used instead, so a
    restart signs everyone out; outside local mode there is no fallback and the app refuses to run.
    """
    configured = _secret("session_key") or os.environ.get("AIMS_SESSION_KEY")
    if configured:
        key = str(configured).encode("utf-8")
        return key if len(key) >= 16 else None
    return _process_key() if is_local_mode() else None


def sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:
        return False


# --- look ---------------------------------------------------------------------------------------

# Statuses, finding types and the series palette come from aims_metrics.vocabulary: the same
# words, symbols and colour-blind-safe colours as the CLI and the PDFs.
PLOTLY_TEMPLATE = "aims"

pio.templates[PLOTLY_TEMPLATE] = go.layout.Template(
    layout=go.Layout(
        colorway=SERIES_COLOURS,
        font={"size": 15},
        title={"font": {"size": 18}},
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "right",
            "x": 1,
            "traceorder": "normal",
        },
        hovermode="x unified",
    )
)

CSS = """
<style>
[data-testid="stMetricValue"] { font-size: 2.6rem; font-weight: 700; }
[data-testid="stMetricLabel"] p { font-size: 1.05rem; }
/* KPI titles wrap instead of being cut mid-word ("Mean days to resolve a…") */
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] div,
[data-testid="stMetricLabel"] .stMarkdownEllipsis, [data-testid="stMetricLabel"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important; }
.aims-status { font-weight: 700; font-size: 1.05rem; padding: 0.1rem 0.55rem;
  border-radius: 0.4rem; color: #fff; display: inline-block; }
</style>
"""


def apply_look() -> None:
    st.html(CSS)


def chart(figure: go.Figure, key: str, height: int = 380) -> None:
    """Draw a plotly figure with the one shared template."""
    figure.update_layout(template=PLOTLY_TEMPLATE, height=height)
    st.plotly_chart(figure, key=key, config={"displaylogo": False})


# st.dataframe's row and header height in pixels; a taller table scrolls inside
TABLE_ROW_PX = 35
MAX_TABLE_ROWS = 25


def table_height(rows: int, max_rows: int = MAX_TABLE_ROWS) -> int:
    """The height of a st.dataframe that shows all its `rows` (up to `max_rows`, then it scrolls):
    Streamlit's default shows ten rows and hides the rest behind a scrollbar."""
    return TABLE_ROW_PX * (min(max(rows, 1), max_rows) + 1) + 3


def count_step(largest: float) -> int:
    """A whole-number tick step for a count axis whose largest value is `largest` (1, 2, 5, 10…),
    at most about eight ticks."""
    step, magnitude = 1, 1
    while largest / step > 8:
        for factor in (2, 5, 10):
            step = factor * magnitude
            if largest / step <= 8:
                break
        magnitude *= 10
    return step


def count_axis(figure: go.Figure, title: str, largest: float, axis: str = "y") -> go.Figure:
    """A count axis: whole-number ticks from zero (never 3.5 findings) and a title naming the unit."""
    update = figure.update_yaxes if axis == "y" else figure.update_xaxes
    update(
        title_text=title,
        tick0=0,
        dtick=count_step(largest),
        tickformat=",d",
        rangemode="tozero",
        range=[0, max(float(largest), 1.0) * 1.1],
    )
    return figure


def status_badge(status: Any, text: str | None = None, font_size: str | None = None) -> str:
    """HTML for a status: colour, symbol and word (never colour alone). `text` replaces the word
    and must be ours, never user text."""
    item = look(status)
    size = f";font-size:{font_size}" if font_size else ""
    return (
        f'<span class="aims-status" style="background:{item.colour};color:{item.ink}{size}">'
        f"{item.symbol} {html.escape(text or item.word)}</span>"
    )


def status_word(status: Any) -> str:
    """ "● Green", "■ Not started": a status as a table cell or a legend shows it."""
    return status_label(status)


def status_colour(status: Any) -> str:
    return look(status).colour


def status_cell_style(label: str, statuses: Any) -> str:
    """Pandas Styler CSS for a cell that shows one of `statuses` as `status_word` does."""
    for status in statuses:
        if label == status_label(status):
            item = look(status)
            return f"background-color: {item.colour}; color: {item.ink}"
    return ""


def finding_type_title(finding_type: Any) -> str:
    return finding_title(finding_type)


def finding_type_colour(finding_type: Any) -> str:
    return finding_colour(finding_type)


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]<>#!|~$])")


def plain(text: Any) -> str:
    """User-supplied text made inert for st.markdown (no links, images, HTML or formatting)."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text if text is not None else ""))


# --- exports ------------------------------------------------------------------------------------


def safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes safe to open in a spreadsheet (text cells that start a formula are neutralised)."""
    return safe_csv_bytes(frame)


def download_csv(
    frame: pd.DataFrame, file_name: str, key: str, label: str = "Download CSV"
) -> None:
    """A CSV download of `frame`, built only when clicked (Streamlit calls `data` then): a view
    never pays for a 100,000-row CSV nobody asked for. The callable runs outside the script, so
    it only reads the frame it closes over."""
    st.download_button(
        label,
        data=lambda: safe_csv(frame),
        file_name=file_name,
        mime="text/csv",
        key=key,
        icon=":material/download:",
        on_click="ignore",
    )


def pdf_on_request(
    container: Any,
    *,
    key: str,
    scope: str,
    prepare: str,
    download: str,
    build: Callable[[], bytes],
    file_name: str,
    icon: str = ":material/picture_as_pdf:",
) -> None:
    """A PDF typeset only when asked for: the `prepare` button until it is clicked (in this
    session, for `scope`, e.g. the quarter), then the `download` of what `build` returns (built
    in the script run, so it can use the data-version cache of `query`)."""
    asked_key = f"_aims_pdf_asked_{key}_{scope}"
    if not st.session_state.get(asked_key):
        if container.button(prepare, key=f"{key}_prepare", icon=icon):
            st.session_state[asked_key] = True
            st.rerun()
        return
    container.download_button(
        download,
        data=build(),
        file_name=file_name,
        mime="application/pdf",
        key=key,
        icon=icon,
        on_click="ignore",
    )


# --- long tables: one page of rows at a time ------------------------------------------------------

PAGE_SIZE = 50  # rows of a long table sent to the browser at once


def page_count(rows: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, -(-rows // page_size))


def paged_table(
    frame: pd.DataFrame,
    *,
    key: str,
    file_name: str,
    page_size: int = PAGE_SIZE,
    column_config: dict | None = None,
    download_label: str = "Download CSV",
) -> pd.DataFrame:
    """A long table a page at a time: only `page_size` rows reach the browser, a page number (its
    steppers are previous and next) moves through the rest, "rows 1–50 of 27,000" says where, and
    the CSV download holds every row (built when clicked). Widget keys: `{key}_page`,
    `{key}_table`, `{key}_download`. Returns the rows shown."""
    total = len(frame)
    pages = page_count(total, page_size)
    page_key = f"{key}_page"
    if int(st.session_state.get(page_key) or 1) > pages:  # fewer rows than before (a filter)
        st.session_state[page_key] = pages
    number, caption = 1, st.caption
    if pages > 1:
        left, right = st.columns([1, 3], vertical_alignment="bottom")
        number = int(
            left.number_input(
                f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=page_key
            )
        )
        caption = right.caption
    first = (number - 1) * page_size
    shown = frame.iloc[first : first + page_size]
    caption(f"rows {first + 1:,}–{first + len(shown):,} of {total:,}" if total else "no rows")
    show_table(
        shown, key=f"{key}_table", height=table_height(len(shown)), column_config=column_config
    )
    download_csv(frame, file_name, key=f"{key}_download", label=download_label)
    return shown


def with_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamp columns that hold only dates shown as dates (no 00:00:00)."""
    shown = frame.copy()
    for column in shown.columns:
        values = shown[column]
        if (
            pd.api.types.is_datetime64_any_dtype(values)
            and (values.dropna() == values.dropna().dt.normalize()).all()
        ):
            shown[column] = values.dt.date
    return shown


MAX_STYLED_CELLS = 60_000  # beyond this, styling costs seconds: only text cells get "—"


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value)
    except (TypeError, ValueError):  # pandas.NA
        return True


def _shown_number(value: Any) -> str:
    return MISSING if _missing(value) else number(value)


def table_display(frame: pd.DataFrame | Styler) -> pd.DataFrame | Styler:
    """A table as people read it: dates as dates, missing values as "—" (not a grey "None"),
    numbers with thousands separators. The values stay as they are (sorting still works)."""
    if isinstance(frame, Styler):  # a page's own colours: keep its data, format the display
        styler, data = frame, frame.data
    else:
        data = with_dates(frame)
        # a missing text is written "—" in the data itself; only in text columns: a date column
        # with "—" in it would hold two types (Arrow refuses it). Other empty cells show the
        # grid's placeholder (show_table).
        text = [c for c in data.columns if pd.api.types.infer_dtype(data[c]) in ("string", "empty")]
        filled = data.fillna({c: MISSING for c in text})
        if data.size > MAX_STYLED_CELLS:
            return filled
        styler = filled.style  # formats below are chosen from the values as they were
    formats: dict[Any, Callable[[Any], str]] = {
        c: _shown_number
        for c in data.columns
        if pd.api.types.is_numeric_dtype(data[c]) and not pd.api.types.is_bool_dtype(data[c])
    }
    formats |= {
        c: _missing_kept(words) for c in data.columns if (words := _vocabulary_words(data[c]))
    }
    return styler.format(na_rep=MISSING).format(formats, na_rep=MISSING)


def _missing_kept(words: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda value: MISSING if value == MISSING else words(value)


def _vocabulary_words(values: pd.Series) -> Callable[[Any], str] | None:
    """How a column of closed-vocabulary values reads: finding types by title, statuses with
    symbol and word (`major_nc` → "Major NC", `not_started` → "■ Not started"); None otherwise."""
    if values.dtype != object and not isinstance(values.dtype, pd.StringDtype):
        return None
    unique = values.dropna().unique()
    seen = set(unique) if len(unique) <= len(STATUSES) + len(FINDING_TYPES) else set()
    if not seen or not all(isinstance(v, str) for v in seen):
        return None
    if seen <= set(FINDING_TYPES):
        return finding_title
    if seen <= set(STATUSES):
        return status_label
    return None


def table_columns(columns: Any, given: dict | None = None) -> dict:
    """Column config that heads every column with its label (vocabulary.labels); a config the
    page passes keeps its settings and gets the label if it has none."""
    config: dict = dict(given or {})
    for column in columns:
        entry = config.get(column, "missing")
        if entry == "missing":
            config[column] = st.column_config.Column(column_label(column))
        elif isinstance(entry, dict) and not entry.get("label"):
            config[column] = {**entry, "label": column_label(column)}
        elif isinstance(entry, str):  # a bare label
            config[column] = st.column_config.Column(entry)
    return config


def show_table(
    frame: pd.DataFrame | Styler,
    *,
    key: str,
    column_config: dict | None = None,
    hide_index: bool = True,
    **kwargs: Any,
) -> Any:
    """st.dataframe for every table of the app: human column labels, dates as dates, "—" for
    missing values and numbers written one way."""
    columns = frame.data.columns if isinstance(frame, Styler) else frame.columns
    return st.dataframe(
        table_display(frame),
        key=key,
        hide_index=hide_index,
        column_config=table_columns(columns, column_config),
        placeholder=MISSING,  # the grid's own empty cells (it draws them itself, not the Styler)
        **kwargs,
    )


def empty_state(message: str) -> None:
    st.info(message, icon=":material/info:")


def _cell_text(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def records_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows for st.dataframe in which an empty cell shows empty, not "None"; dates as
    YYYY-MM-DD (and times to the minute)."""
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_cell_text).astype(str)
    return frame


def role_title(role: Role | str) -> str:
    return Role(role).title


def fairness_drilldown(test_ids: list[str], key: str) -> None:
    """The per-group rates behind computed bias tests (bias KPIs, review inputs), with a link to
    the Fairness page; nothing when none of the tests was computed from predictions."""
    groups = query(fairness_results.groups_behind_tests, list(test_ids))
    if groups.empty:
        return
    st.caption(
        f"Per-group rates behind {groups['evaluation_id'].nunique()} computed evaluations among "
        "these tests (groups marked insufficient are left out of the disparities)"
    )
    shown = groups[["system_id", "model_version", "executed_on", "stage", "protected_attribute",
                    "group_value", "n", "insufficient", "selection_rate", "false_positive_rate",
                    "false_negative_rate", "true_positive_rate", "accuracy"]]  # fmt: skip
    show_table(with_dates(shown).round(3), key=f"{key}_groups")
    st.page_link("pages/fairness.py", label="Open Fairness", icon=":material/balance:")
