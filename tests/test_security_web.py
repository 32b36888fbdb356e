"""The app's outward defences: no user text rendered as HTML, formula-safe CSV downloads, the
upload size limit, passwords never stored or logged in clear, the session signing key, and the
first administrator's one-time password."""

from __future__ import annotations

import csv
import io
import logging
import re
import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from aims_metrics import auth
from aims_metrics.performance import objectives
from aims_metrics.review import models, records
from aims_metrics.store import open_db, set_setting
from aims_metrics.tables import ingest
from aims_metrics.tables.export import FORMULA_PREFIXES
from pages import _ui
from tests.conftest import APP_PASSWORD, app_usernames, known_quarter
from tests.import_helpers import dump_db

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
USERS = app_usernames()

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
PAYLOADS = (SCRIPT, IMG)


def signed_in(role: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS[role]
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- user text is never HTML ------------------------------------------------------------------


@pytest.fixture
def hostile_db(app_db):
    """User-supplied text carrying HTML/script in every place a page shows it."""
    q = known_quarter()
    with open_db(app_db) as con:
        ingest.import_file(
            con, "systems",
            f"system_id,name,owner,risk_level\nS7,\"{SCRIPT}\",\"{IMG}\",high\n".encode(),
            "test", file_name="systems.csv",
        )  # fmt: skip
        ingest.import_file(
            con, "findings",
            "finding_id,audit_id,audit_type,clause_ref,finding_type,description,raised_on,due_on,owner,status\n"
            f"F9,A9,internal,9.2,major_nc,\"{SCRIPT} {IMG}\",{q.start - timedelta(days=50)},"
            f"{q.start},\"{IMG}\",open\n".encode(),
            "test", file_name="findings.csv",
        )  # fmt: skip
        objectives.save_objective(
            con,
            objectives.Objective(
                objective_id="OBJ-X", title=f"{SCRIPT}{IMG}", metric="incidents_total",
                target=5, deadline=date(q.end.year + 1, 12, 31), owner=IMG,
            ),
            "test",
        )  # fmt: skip
        record = records.new_review(con, q).model_copy(
            update={
                "chair": f"{SCRIPT}{IMG}",
                "input_b": SCRIPT,
                "input_c": IMG,
                "input_e": SCRIPT,
                "decisions": [models.Decision(kind="improvement", text=f"{IMG} decision")],
            }
        )
        records.save_review(con, record, "test")
        set_setting(con, "organisation_name", f"{SCRIPT} Ltd", "test")
        admin = USERS["admin"]
        con.execute("UPDATE users SET display_name = ? WHERE username = ?", [IMG, admin])
    return app_db


def rendered_markup(at: AppTest) -> list[tuple[str, bool, str]]:
    """(kind, rendered as HTML?, text) for every element that Streamlit renders as markup."""
    found = []
    for element in at.markdown:  # captions, st.markdown, st.badge-like markdown
        found.append(("markdown", bool(element.proto.allow_html), element.value))
    for element in at.get("html"):
        found.append(("html", True, element.proto.body))
    for element in at.caption:
        found.append(("caption", bool(element.proto.allow_html), element.value))
    return found


PAGES_WITH_USER_TEXT = [
    ("executive", None),
    ("executive", "pages/nonconformities.py"),
    ("executive", "pages/objectives.py"),
    ("executive", "pages/review.py"),
    ("executive", "pages/trends.py"),
    ("admin", None),
    ("admin", "pages/admin.py"),
    ("admin", "pages/objectives.py"),
    ("admin", "pages/review.py"),
]


@pytest.mark.parametrize(("role", "page"), PAGES_WITH_USER_TEXT, ids=lambda v: str(v))
def test_user_text_is_never_rendered_as_html(hostile_db, role, page):
    at = signed_in(role, page)
    assert not at.error, [e.value for e in at.error]
    for kind, as_html, text in rendered_markup(at):
        for payload in PAYLOADS:
            if as_html:
                assert payload not in text and "onerror" not in text, (kind, text)
            # Markdown without HTML still gets the text escaped (no tags, links or images).
            assert payload not in text, (kind, text)


def test_the_payloads_are_actually_on_the_pages(hostile_db):
    """Guard against a vacuous pass: the hostile text is shown — as text."""
    at = signed_in("executive", "pages/objectives.py")
    shown = "\n".join(text for _, _, text in rendered_markup(at))
    assert _ui.plain(f"{SCRIPT}{IMG}") in shown
    at = signed_in("executive", "pages/nonconformities.py")
    frames = "\n".join(f.value.to_csv() for f in at.dataframe)
    assert SCRIPT in frames  # in a data grid, which never renders HTML
    at = signed_in("admin")
    assert _ui.plain(f"{SCRIPT} Ltd") in "\n".join(m.value for m in at.sidebar.markdown)


def test_every_html_markdown_in_the_pages_escapes_its_data():
    """Source check: st.markdown(..., unsafe_allow_html=True) may interpolate only values the
    code controls (status colours, symbols, enum words), never free text."""
    allowed = re.compile(
        r"_ui\.status_badge\(|_ui\.STATUS_COLOURS\[|_ui\.STATUS_SYMBOLS\[|\{word\}|\{target\}"
    )
    for path in sorted((REPO / "pages").glob("*.py")) + [REPO / "app.py"]:
        source = path.read_text("utf-8")
        for match in re.finditer(
            r"\.markdown\((?:[^()]|\([^()]*\))*?unsafe_allow_html=True", source
        ):
            call = match.group(0)
            fields = re.findall(r"\{[^{}]+\}", call)
            risky = [f for f in fields if not allowed.search(f) and "#000" not in f]
            assert not risky, f"{path.name}: HTML markdown interpolates {risky}"


# --- formula-safe CSV downloads ----------------------------------------------------------------

FORMULAS = (
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "@SUM(A1)",
    "-2+3",
    "=cmd|' /C calc'!A0",
)


@pytest.fixture
def downloads(monkeypatch):
    """Every CSV a page offers: (key, bytes)."""
    offered: list[tuple[str, bytes]] = []
    real = st.download_button

    def recording(label, data=None, *args, **kwargs):
        built = data() if callable(data) else data  # a CSV built on click: build it here
        if isinstance(built, bytes | str) and str(kwargs.get("mime", "")).startswith("text/csv"):
            offered.append(
                (kwargs.get("key"), built if isinstance(built, bytes) else built.encode())
            )
        return real(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", recording)
    return offered


@pytest.fixture
def formula_db(app_db):
    q = known_quarter()
    lines = ["incident_id,system_id,title,severity,detected_on,root_cause"]
    lines += [
        f'Z{n},S1,"{text.replace(chr(34), chr(34) * 2)}",high,{q.start + timedelta(days=n)},"{text.replace(chr(34), chr(34) * 2)}"'
        for n, text in enumerate(FORMULAS)
    ]
    findings = [
        "finding_id,audit_id,audit_type,clause_ref,finding_type,description,raised_on,due_on,owner,status"
    ]
    findings += [
        f'G{n},A1,internal,9.2,minor_nc,"{text.replace(chr(34), chr(34) * 2)}",{q.start},{q.end},"{text.replace(chr(34), chr(34) * 2)}",open'
        for n, text in enumerate(FORMULAS)
    ]
    with open_db(app_db) as con:
        ingest.import_file(
            con, "incidents", ("\n".join(lines) + "\n").encode(), "test", file_name="i.csv"
        )
        ingest.import_file(
            con, "findings", ("\n".join(findings) + "\n").encode(), "test", file_name="f.csv"
        )
    return app_db


def assert_formula_safe(name: str, data: bytes) -> int:
    """No cell starts a formula (numbers like -2.5 are values, not formulas). Returns cells checked."""
    cells = 0
    for row in csv.reader(io.StringIO(data.decode("utf-8"))):
        for cell in row:
            cells += 1
            if cell.startswith(FORMULA_PREFIXES):
                try:
                    float(cell)
                except ValueError:
                    raise AssertionError(f"{name}: formula cell {cell!r}") from None
    return cells


def test_drill_down_csv_is_formula_safe(formula_db, downloads):
    at = signed_in("executive")
    at.toggle(key="overview_drilldown_show").set_value(True).run()
    at.selectbox(key="overview_drilldown_metric").select("high_severity_incidents").run()
    data = [d for key, d in downloads if key == "overview_drilldown_download"][-1]
    assert b"'=HYPERLINK" in data and b"'+1+1" in data and b"'@SUM(A1)" in data
    assert assert_formula_safe("drill-down", data) > 0


def test_nonconformities_csv_is_formula_safe(formula_db, downloads):
    signed_in("executive", "pages/nonconformities.py")
    (data,) = [d for key, d in downloads if key == "nc_download"]
    assert b"'=HYPERLINK" in data and b"'-2+3" in data
    assert_formula_safe("nonconformities", data)


def test_trends_and_audit_log_csvs_are_formula_safe(formula_db, downloads):
    signed_in("executive", "pages/trends.py")
    signed_in("admin", "pages/admin.py")
    keys = {key for key, _ in downloads}
    assert {"trends_download", "audit_download"} <= keys, keys
    for key, data in downloads:
        assert_formula_safe(key, data)


def test_import_problems_csv_is_formula_safe(app_db, downloads):
    at = signed_in("governance_lead", "pages/data_import.py")
    at.selectbox(key="import_table").select("incidents").run()
    bad = (
        "incident_id,system_id,title,severity,detected_on\n"
        '"=1+2",S404,"=HYPERLINK(""http://evil.example"")",@bad,2025-13-01\n'
    )
    at.file_uploader(key="import_upload").upload("=evil.csv", bad.encode(), "text/csv").run()
    assert not at.exception
    (data,) = [d for key, d in downloads if key == "import_problems_download"]
    assert b"'@bad" in data or b"'=" in data
    assert_formula_safe("import problems", data)


# --- the upload size limit -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def oversize_csv() -> bytes:
    header = b"system_id,name,risk_level\n"
    row = b"S1,Scorer,high\n"
    return header + row * ((51 * 2**20) // len(row) + 1)


def test_a_file_over_50_mb_is_refused_with_a_clear_message(app_db, oversize_csv):
    before = dump_db(app_db)
    at = signed_in("governance_lead", "pages/data_import.py")
    at.selectbox(key="import_table").select("systems").run()
    at.file_uploader(key="import_upload").upload("big.csv", oversize_csv, "text/csv").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == [
        "big.csv: the file is 51 MB; the upload limit is 50 MB — use the CLI for larger files "
        "(python -m aims_metrics import systems FILE)."
    ]
    assert not [b for b in at.button if b.key == "import_commit"]
    assert not at.success
    assert dump_db(app_db) == before


def test_a_file_just_under_the_limit_is_read(app_db):
    at = signed_in("governance_lead", "pages/data_import.py")
    at.selectbox(key="import_table").select("systems").run()
    data = b"system_id,name,risk_level\nS9,Fraud model,high\n"
    at.file_uploader(key="import_upload").upload("small.csv", data, "text/csv").run()
    assert "Importing would insert 1" in at.success[0].value


# --- passwords: hashed, never logged -------------------------------------------------------------

SECRET = "Plaintext-Secret-42"


@pytest.mark.production_hashing
def test_passwords_are_stored_hashed_and_never_logged_or_audited(db_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    with open_db(db_path) as con:
        auth.add_user(con, "root", "admin", SECRET, actor="system")
        auth.authenticate(con, "root", SECRET)
        auth.authenticate(con, "root", SECRET + "-wrong")
        for _ in range(5):
            auth.authenticate(con, "root", "wrong " + SECRET)
        auth.set_password(con, "root", SECRET + "-new", actor="root")
        ((stored,),) = con.execute("SELECT password_hash FROM users").fetchall()
    assert stored.startswith("$2b$12$") and len(stored) == 60
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    dumped = repr(dump_db(db_path))
    for text in (SECRET, SECRET + "-new", "wrong " + SECRET):
        assert text not in logged
        assert text not in dumped  # not in audit_log detail, nor anywhere else


def test_a_password_typed_into_the_sign_in_form_is_not_logged(app_db, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    at = AppTest.from_file(APP, default_timeout=60).run()
    for password in (SECRET, APP_PASSWORD):  # a wrong one, then the right one
        at.text_input(key="sign_in_username").input(USERS["analyst"])
        at.text_input(key="sign_in_password").input(password)
        at.button(key="sign_in_submit").click().run()
    out, err = capfd.readouterr()
    assert SECRET not in caplog.text + out + err
    assert APP_PASSWORD not in caplog.text + out + err
    assert at.session_state[_ui.USER_KEY] == USERS["analyst"]  # the right one signed in
    assert SECRET not in repr(dump_db(app_db))


# --- the session signing key ---------------------------------------------------------------------


@pytest.fixture
def bound_to(monkeypatch):
    """Set server.address for the app under test (restored afterwards)."""
    original = st_config.get_option("server.address")

    def bind(address: str) -> None:
        st_config.set_option("server.address", address)

    yield bind
    st_config.set_option("server.address", original)


SIGNING_KEY_MESSAGE = "needs a session signing key"


@pytest.mark.parametrize(
    ("address", "key", "secret", "starts"),
    [
        ("0.0.0.0", None, None, False),
        ("0.0.0.0", "too-short", None, False),
        ("0.0.0.0", "a-long-enough-signing-key", None, True),
        ("0.0.0.0", None, "a-long-enough-secret-key", True),
        ("192.168.1.20", None, None, False),
        ("localhost", None, None, True),
        ("127.0.0.1", None, None, True),
    ],
    ids=["public-no-key", "public-short-key", "public-env-key", "public-secrets-key",
         "lan-no-key", "localhost", "loopback"],
)  # fmt: skip
def test_outside_local_mode_the_app_refuses_to_start_without_a_signing_key(
    app_db, monkeypatch, bound_to, address, key, secret, starts
):
    monkeypatch.delenv("AIMS_SESSION_KEY", raising=False)
    if key is not None:
        monkeypatch.setenv("AIMS_SESSION_KEY", key)
    bound_to(address)
    at = AppTest.from_file(APP, default_timeout=60)
    if secret is not None:
        at.secrets["session_key"] = secret
    at.run()
    assert not at.exception
    if starts:
        assert [t.label for t in at.text_input] == ["User name", "Password"]
        assert not at.error
    else:
        assert len(at.error) == 1 and SIGNING_KEY_MESSAGE in at.error[0].value
        assert not at.text_input and not at.button


def test_the_signing_key_is_the_configured_one(monkeypatch, bound_to):
    monkeypatch.setenv("AIMS_SESSION_KEY", "a-long-enough-signing-key")
    bound_to("0.0.0.0")
    assert _ui.session_key() == b"a-long-enough-signing-key"


# --- no default passwords: the first administrator -----------------------------------------------


def first_start(path: Path, monkeypatch, capfd, caplog) -> str:
    monkeypatch.setenv("AIMS_DB", str(path))
    monkeypatch.setenv("AIMS_SESSION_KEY", "test-session-key-0123456789")
    caplog.set_level(logging.DEBUG)
    capfd.readouterr()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    _, err = capfd.readouterr()
    passwords = re.findall(r"one-time password: (\S+)", err)
    assert len(passwords) == 1, err
    # Shown on the terminal only: never in the page, the log or the database.
    password = passwords[0]
    assert password not in caplog.text
    assert all(password not in str(getattr(e, "value", "")) for e in at.main)
    assert password not in repr(dump_db(path))
    # A second start of the same database prints nothing.
    AppTest.from_file(APP, default_timeout=60).run()
    assert "one-time password" not in capfd.readouterr()[1]
    return password


def test_first_start_creates_admin_with_a_random_one_time_password(
    tmp_path, monkeypatch, capfd, caplog
):
    passwords = [
        first_start(tmp_path / f"fresh-{n}.duckdb", monkeypatch, capfd, caplog) for n in range(2)
    ]
    assert passwords[0] != passwords[1]
    assert all(len(p) >= 12 for p in passwords)
    with open_db(tmp_path / "fresh-0.duckdb") as con:
        ((stored,),) = con.execute(
            "SELECT password_hash FROM users WHERE username = 'admin'"
        ).fetchall()
        assert stored.startswith("$2b$")
        assert auth.authenticate(con, "admin", passwords[0]).user.role is auth.Role.ADMIN
        assert not auth.authenticate(con, "admin", passwords[1]).ok
        assert not auth.authenticate(con, "admin", "admin").ok


def test_config_toml_limit_and_the_page_agree():
    settings = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text("utf-8"))
    source = (REPO / "pages" / "data_import.py").read_text("utf-8")
    (limit,) = re.findall(r"^MAX_UPLOAD_MB = (\d+)", source, re.M)
    assert settings["server"]["maxUploadSize"] == int(limit) == 50
    assert settings["server"]["address"] == "localhost"  # local mode unless configured otherwise
