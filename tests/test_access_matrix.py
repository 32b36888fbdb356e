"""Who may see and do what: every page × every role (and signed out) through the router, every
action × role in `can()` and through the pages' server-side write guard, and a source check that
every library write a page makes goes through that guard with the right action.

The expected tables are written out here so that a change to the permission matrix is deliberate.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from aims_metrics import auth
from aims_metrics.auth import Action, Role
from pages import _ui
from tests.conftest import app_usernames
from tests.import_helpers import dump_db

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
USERS = {Role(role): name for role, name in app_usernames().items()}
ROLES = [None, *Role]  # None: signed out
NOT_PERMITTED = "ou are not permitted to use this page or action"

# action → allowed for (signed out, executive, governance_lead, analyst, admin)
CAN = {
    Action.VIEW_DASHBOARDS:  "- Y Y Y Y",
    Action.DOWNLOAD_MINUTES: "- Y Y Y Y",
    Action.IMPORT_DATA:      "- - Y Y Y",
    Action.EDIT_OBJECTIVES:  "- - Y Y Y",
    Action.EDIT_REVIEWS:     "- - Y Y Y",
    Action.FINALISE_MINUTES: "- - Y Y Y",
    Action.EDIT_METRICS:     "- - - Y Y",
    Action.MANAGE_USERS:     "- - - - Y",
    Action.EDIT_SETTINGS:    "- - - - Y",
    Action.VIEW_AUDIT_LOG:   "- - - - Y",
    Action.EDIT_SOA:         "- - Y Y Y",
    Action.EDIT_GAPS:        "- - Y Y Y",
    Action.EVALUATE_FAIRNESS:    "- - Y Y Y",
    Action.EDIT_FAIRNESS_POLICY: "- - - Y Y",
    Action.VIEW_NOTIFICATIONS:   "- - Y Y Y",
    Action.MANAGE_NOTIFICATIONS: "- - - - Y",
}  # fmt: skip

# page url path → allowed for (signed out, executive, governance_lead, analyst, admin)
PAGE_ACCESS = {
    "home":                "- Y Y Y Y",
    "kpi-trends":          "- Y Y Y Y",
    "nonconformity-aging": "- Y Y Y Y",
    "ai-objectives":       "- Y Y Y Y",
    "management-review":   "- Y Y Y Y",
    "audit-programme":     "- Y Y Y Y",
    "certification-readiness": "- Y Y Y Y",
    "fairness-evaluation": "- Y Y Y Y",
    "data-import":         "- - Y Y Y",
    "metric-definitions":  "- - - Y Y",
    "administration":      "- - - - Y",
    "admin-notifications": "- - Y Y Y",
}  # fmt: skip


def expected(row: str, role: Role | None) -> bool:
    return row.split()[ROLES.index(role)] == "Y"


def role_id(role: Role | None) -> str:
    return "signed-out" if role is None else role.value


# --- can(): every action × role -------------------------------------------------------------


def test_the_tables_cover_every_action_and_page():
    assert set(CAN) == set(Action)
    assert set(PAGE_ACCESS) == {page.url_path for page in _ui.PAGES}
    assert all(page.path.exists() for page in _ui.PAGES)


@pytest.mark.parametrize("role", ROLES, ids=role_id)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_can_matches_the_written_matrix(action, role):
    assert auth.can(role, action) is expected(CAN[action], role)


@pytest.mark.parametrize("role", ["auditor", "ADMIN", "", " admin"])
def test_unknown_roles_may_do_nothing(role):
    assert not any(auth.can(role, action) for action in Action)


# --- every page × every role, and signed out ------------------------------------------------


@pytest.fixture
def navigation_log(monkeypatch):
    """What the router hands st.navigation: (url path, visible?, is the real page file?)."""
    calls: list[dict[str, tuple[bool, bool]]] = []
    real = st.navigation

    def recording(pages, *args, **kwargs):
        flat = pages if isinstance(pages, list) else [p for group in pages.values() for p in group]
        calls.append(
            {p.url_path: (p._visibility == "visible", isinstance(p._page, Path)) for p in flat}
        )
        return real(pages, *args, **kwargs)

    monkeypatch.setattr(st, "navigation", recording)
    return calls


def visible_text(at: AppTest) -> str:
    parts = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "text",
        "info",
        "success",
        "warning",
        "metric",
        "code",
        "json",
    ):
        for element in getattr(at, kind):
            parts.append(str(getattr(element, "value", "")))
            parts.append(str(getattr(element, "label", "")))
    return "\n".join(parts)


SECRET_DATA = ("Credit scoring", "Chat assistant", "Audit programme incomplete", "Drift 1")


@pytest.mark.parametrize("role", ROLES, ids=role_id)
@pytest.mark.parametrize("page", _ui.PAGES, ids=lambda p: p.url_path)
def test_page_for_role(app_db, navigation_log, page, role):
    at = AppTest.from_file(APP, default_timeout=60)
    if role is not None:
        at.session_state[_ui.USER_KEY] = USERS[role]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    menu = navigation_log[-1]
    allowed = expected(PAGE_ACCESS[page.url_path], role)

    if role is None:
        assert set(menu) == {"sign-in"}  # nothing but the sign-in form is even routed
    elif allowed:
        # (the default page is registered at the root URL)
        entry = menu["" if page.default else page.url_path]
        assert entry == (True, True), "an allowed page is listed and runs its file"
    else:
        assert menu[page.url_path] == (False, False), "a forbidden page is only a hidden refusal"

    if allowed:
        at.switch_page(page.file).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert at.title and at.title[0].value.startswith(page.title.split()[0])
        return

    at._page_hash = calc_hash(page.url_path)  # what a browser does for /url_path
    at.run()
    assert not at.exception
    text = visible_text(at)
    if role is None:
        assert [t.label for t in at.text_input] == ["User name", "Password"]
        assert [t.value for t in at.title] == ["AIMS Review"]
    else:
        assert len(at.error) == 1 and NOT_PERMITTED in at.error[0].value
        assert not at.main.text_input and not at.main.button and not at.main.selectbox
        assert not at.title
    assert not at.dataframe and not at.metric
    assert not at.get("download_button")
    assert not [secret for secret in SECRET_DATA if secret in text]


# --- the server-side write guard: every action × role ---------------------------------------


def _write_under_test() -> None:
    """Runs inside AppTest: the router's signed-in user, then one guarded library write."""
    import streamlit as st

    from aims_metrics import auth
    from pages import _ui

    role = st.session_state["role_under_test"]
    action = auth.Action(st.session_state["action_under_test"])

    def spy(con) -> None:
        st.session_state["wrote"] = True

    if role is None:
        _ui.write(action, spy)
    else:
        user = auth.User("tester", auth.Role(role), None, None, False, 0, None, None, True)
        with _ui.signed_in_as(user):
            _ui.write(action, spy)
    st.success("written")


@pytest.mark.parametrize("role", ROLES, ids=role_id)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_every_guarded_write_checks_the_role_on_the_server(app_db, action, role):
    at = AppTest.from_function(_write_under_test, default_timeout=30)
    at.session_state["role_under_test"] = None if role is None else role.value
    at.session_state["action_under_test"] = action.value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if expected(CAN[action], role):
        assert at.session_state["wrote"] is True
        assert [s.value for s in at.success] == ["written"]
    else:
        assert "wrote" not in at.session_state
        assert len(at.error) == 1 and NOT_PERMITTED in at.error[0].value
        assert not at.success  # the page stopped at the guard


# Library functions that change the database, and the action a page must hold to call them.
WRITE_ACTIONS = {
    "commit_import": Action.IMPORT_DATA,
    "import_file": Action.IMPORT_DATA,
    "save_mapping_preset": Action.IMPORT_DATA,
    "save_objective": Action.EDIT_OBJECTIVES,
    "delete_objective": Action.EDIT_OBJECTIVES,
    "seed_classic_objectives": Action.EDIT_OBJECTIVES,
    "save_definition": Action.EDIT_METRICS,
    "apply_metric_file": Action.EDIT_METRICS,
    "save_in_transaction": Action.EDIT_METRICS,
    "restore_version": Action.EDIT_METRICS,
    "install_shipped_catalog": Action.EDIT_METRICS,
    "save_review": Action.EDIT_REVIEWS,
    "add_action": Action.EDIT_REVIEWS,
    "update_action": Action.EDIT_REVIEWS,
    "remove_action": Action.EDIT_REVIEWS,
    "revise_review": Action.EDIT_REVIEWS,
    "finalise_review": Action.FINALISE_MINUTES,
    "add_user": Action.MANAGE_USERS,
    "set_role": Action.MANAGE_USERS,
    "disable_user": Action.MANAGE_USERS,
    "enable_user": Action.MANAGE_USERS,
    "set_password": Action.MANAGE_USERS,
    "set_setting": Action.EDIT_SETTINGS,
    "save_settings": Action.EDIT_SETTINGS,
    "restore_database": Action.MANAGE_USERS,
    "save_soa": Action.EDIT_SOA,
    "save_gap_plans": Action.EDIT_GAPS,
    "save_run": Action.EVALUATE_FAIRNESS,
    "evaluate_file": Action.EVALUATE_FAIRNESS,
    "save_policy": Action.EDIT_FAIRNESS_POLICY,
    "add_channel": Action.MANAGE_NOTIFICATIONS,
    "remove_channel": Action.MANAGE_NOTIFICATIONS,
    "set_channel_enabled": Action.MANAGE_NOTIFICATIONS,
    "record_outcome": Action.MANAGE_NOTIFICATIONS,
    "run_notifications": Action.MANAGE_NOTIFICATIONS,
    "send_test_message": Action.MANAGE_NOTIFICATIONS,
}
# admin.py picks one of these into a variable before the guarded write.
ADMIN_USER_OPERATIONS = {"set_role", "disable_user", "enable_user", "set_password"}


def _audited_functions() -> set[str]:
    """Every function in aims_metrics that (transitively, within the package) writes an audit
    entry — i.e. every library write."""
    bodies: dict[str, set[str]] = {}
    for path in (REPO / "aims_metrics").rglob("*.py"):
        if "cli" in path.parts:
            continue  # the CLI's handlers run as the operator, not through the app
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef):
                called = set()
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call):
                        func = inner.func
                        called.add(
                            func.attr
                            if isinstance(func, ast.Attribute)
                            else getattr(func, "id", "")
                        )
                bodies.setdefault(node.name, set()).update(called)
    writers = {"record_audit"}
    while True:
        more = {name for name, called in bodies.items() if called & writers} - writers
        if not more:
            return writers - {"record_audit"}
        writers |= more


def _page_sources() -> dict[str, ast.Module]:
    return {p.name: ast.parse(p.read_text("utf-8")) for p in sorted((REPO / "pages").glob("*.py"))}


def test_every_library_write_is_known_to_this_test():
    """A new write function in the library must be given its action here (and in the pages)."""
    ignore = {
        "authenticate",
        "replace_one_time_password",  # the signed-in user's own password, any role
        "ensure_initial_admin",
        "load_demo",
        "load_dataset",
        "seed_objectives",
        "seed_demo_review",
        "seed_gap_plans",
        "load_demo_programme",
        "seed_fairness_demo",
        "seed_demo_channel",
        "migrate",
        "main",
        "run_restore",
    }
    unknown = _audited_functions() - set(WRITE_ACTIONS) - ignore
    unknown = {name for name in unknown if not name.startswith(("_", "run_", "test_"))}
    assert not unknown, f"give these library writes an action in WRITE_ACTIONS: {sorted(unknown)}"


def test_pages_call_library_writes_only_through_the_guard_with_the_right_action():
    writers = set(WRITE_ACTIONS) | _audited_functions()
    guarded = 0
    for name, tree in _page_sources().items():
        passed_to_guard: set[int] = set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "write"
                and getattr(node.func.value, "id", None) == "_ui"
            ):
                action_node, function_node = node.args[0], node.args[1]
                action = Action[ast.unparse(action_node).removeprefix("Action.")]
                if isinstance(function_node, ast.Name):
                    assert (name, function_node.id) == ("admin.py", "function"), ast.unparse(node)
                    assert action is Action.MANAGE_USERS
                else:
                    assert WRITE_ACTIONS[function_node.attr] is action, (name, ast.unparse(node))
                passed_to_guard.add(id(function_node))
                guarded += 1
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert called not in writers, f"{name}:{node.lineno} calls {called}() unguarded"
            if isinstance(node, ast.Attribute) and node.attr in ADMIN_USER_OPERATIONS:
                assert name == "admin.py", f"{name}:{node.lineno} uses auth.{node.attr}"
    assert guarded >= 15


def test_every_page_guards_itself_first():
    """The first statement after the imports of every page is `require(...)` for its action."""
    for page in _ui.PAGES:
        tree = ast.parse(page.path.read_text("utf-8"))
        body = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)]
        body = [
            n for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
        ]
        first = ast.unparse(body[0])
        assert first.endswith(f"_ui.require(Action.{page.action.name})"), (page.file, first)


# --- lower roles cannot reach the write paths by forging widget state ------------------------

FORGED_STATE = {
    # objectives page: the edit form's fields
    "objective_edit_pick": "(new objective)",
    "objective_delete": True,
    # review page: meeting form, decisions, actions, finalise
    "review_new_decision_text": "forged decision",
    "review_new_decision_add": True,
    "review_new_action_description": "forged action",
    "review_new_action_owner": "mallory",
    "review_new_action_add": True,
    "review_finalise": True,
    # import page
    "import_commit": True,
    # admin page
    "add_user_name": "mallory",
    "add_user_role": "admin",
    "add_user_password": "forged password 1",
    "add_user_submit": True,
    "settings_submit": True,
    "setting_org": "Forged Ltd",
    # metrics page
    "metric_form_save": True,
    "metric_yaml_save": True,
    # readiness page: the SoA and gap register saves
    "soa_save": True,
    "gaps_save": True,
    "gaps_reason": "forged",
    # fairness page
    "fairness_save": True,
    "fairness_policy_save": True,
    "fairness_policy_reason": "forged policy",
}


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.GOVERNANCE_LEAD, Role.ANALYST], ids=str)
@pytest.mark.parametrize("page", _ui.PAGES, ids=lambda p: p.url_path)
def test_forged_widget_state_writes_nothing(app_db, page, role):
    before = dump_db(app_db)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[_ui.USER_KEY] = USERS[role]
    for key, value in FORGED_STATE.items():
        try:
            at.session_state[key] = value
        except Exception:  # Streamlit refuses to preset some widget values; that is fine too
            pass
    at.run()
    if auth.can(role, page.action):
        at.switch_page(page.file).run()
    else:
        at._page_hash = calc_hash(page.url_path)
        at.run()
    assert not at.exception
    after = dump_db(app_db)
    changed = {t for t in before if before[t] != after[t]} - {"user_sessions"}
    # The one write a page may make on its own: the shipped catalog stored on first use.
    assert changed <= {"metric_definitions", "audit_log"}
    new_audit = after["audit_log"][len(before["audit_log"]) :]
    assert all(row[3] == "metric.save" for row in new_audit), new_audit
    buttons = {b.key for b in at.button}
    for action in Action:
        if not auth.can(role, action):
            assert not buttons & FORBIDDEN_BUTTONS.get(action, set()), (action, buttons)


FORBIDDEN_BUTTONS = {
    Action.IMPORT_DATA: {"import_commit", "import_preset_save"},
    Action.EDIT_OBJECTIVES: {"objective_delete"},
    Action.FINALISE_MINUTES: {"review_finalise"},
    Action.EDIT_METRICS: {"metric_form_save", "metric_yaml_save"},
    Action.EDIT_SOA: {"soa_save"},
    Action.EDIT_GAPS: {"gaps_save"},
    Action.EVALUATE_FAIRNESS: {"fairness_evaluate", "fairness_save"},
    Action.EDIT_FAIRNESS_POLICY: {"fairness_policy_save"},
    Action.MANAGE_USERS: {
        "change_user_set_role",
        "change_user_disable",
        "change_user_enable",
        "change_user_set_password",
    },
}
