"""Admin: users and roles, settings, and the audit log (read-only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aims_metrics import auth, store
from aims_metrics.auth import Action, Role
from aims_metrics.store import settings as store_settings
from aims_metrics.vocabulary.wording import count_of
from pages import _ui

me = _ui.require(Action.MANAGE_USERS)

st.title("Admin")
_ui.show_flash()
users_tab, settings_tab, audit_tab = st.tabs(  # keyed: a save keeps the open tab
    ["Users and roles", "Settings", "Audit log"], key="admin_tab", on_change="rerun"
)

ROLES = [role.value for role in Role]


def user_state(user: auth.User) -> str:
    if user.disabled:
        return "disabled"
    if user.locked_until is not None and user.locked_until > store.now():
        return "locked"
    return "active"


with users_tab:
    users = _ui.query(auth.list_users)
    table = pd.DataFrame(
        [
            {
                "user": u.username,
                "name": u.display_name or "",
                "role": u.role.title,
                "e-mail": u.email or "",
                "sign-in": "password" if u.has_password else "single sign-on",
                "state": user_state(u),
                "created": u.created_at,
            }
            for u in users
        ]
    )
    _ui.show_table(table, hide_index=True, key="users_table")

    left, right = st.columns(2)
    with left, st.form("add_user", clear_on_submit=True):
        st.subheader("Add a user")
        new_name = st.text_input("User name", key="add_user_name")
        new_display = st.text_input("Display name (optional)", key="add_user_display")
        new_email = st.text_input("E-mail (for single sign-on, optional)", key="add_user_email")
        new_role = st.selectbox("Role", ROLES, key="add_user_role", format_func=_ui.role_title)
        new_password = st.text_input(
            f"Initial password (at least {auth.MIN_PASSWORD_LENGTH} characters; leave empty "
            "for single sign-on only)",
            type="password",
            key="add_user_password",
        )
        if st.form_submit_button("Add user", type="primary", key="add_user_submit"):
            try:
                added = _ui.write(
                    Action.MANAGE_USERS,
                    auth.add_user,
                    new_name,
                    new_role,
                    new_password or None,
                    actor=me.username,
                    email=new_email or None,
                    display_name=new_display or None,
                )
            except auth.UserError as error:
                st.error(str(error))
            else:
                _ui.flash(f"Added {added.username} as {added.role.title}.", reset="admin_users")

    with right, st.container(border=True):
        st.subheader("Change a user")
        names = [u.username for u in users]
        target = st.selectbox("User", names, key="change_user_name")
        by_name = {u.username: u for u in users}
        # Keyed per user, so the role starts at that user's current role: one click never demotes.
        current_role = by_name[target].role.value if target in by_name else ROLES[0]
        change_role = st.selectbox(
            "New role",
            ROLES,
            index=ROLES.index(current_role),
            key=_ui.fresh_key(f"change_user_role_{target}", "admin_users"),
            format_func=_ui.role_title,
        )
        role_col, disable_col, enable_col = st.columns(3)
        operation = None
        if role_col.button("Set role", key="change_user_set_role"):
            operation = (auth.set_role, (target, change_role), "role changed")
        if disable_col.button("Disable", key="change_user_disable"):
            operation = (auth.disable_user, (target,), "disabled; their sessions have ended")
        if enable_col.button("Enable and unlock", key="change_user_enable"):
            operation = (auth.enable_user, (target,), "enabled and unlocked")
        new_pw = st.text_input(
            "New password",
            type="password",
            key=_ui.fresh_key("change_user_password", "admin_users"),
        )
        if st.button("Set password", key="change_user_set_password"):
            operation = (auth.set_password, (target, new_pw), "password set; sessions ended")
        if operation is not None and target:
            function, arguments, done = operation
            try:
                _ui.write(Action.MANAGE_USERS, function, *arguments, actor=me.username)
            except auth.UserError as error:
                st.error(str(error))
            else:
                _ui.flash(f"{target}: {done}.", reset="admin_users")

with settings_tab:
    _ui.require(Action.EDIT_SETTINGS)
    months = list(range(1, 13))
    month_names = [pd.Timestamp(2000, m, 1).strftime("%B") for m in months]
    labels = {key: declared.label for key, declared in store.SETTINGS.items()}
    with st.form("settings"):
        organisation = st.text_input(
            labels["organisation_name"], value=_ui.setting("organisation_name"), key="setting_org"
        )
        scope = st.text_area(
            labels["aims_scope"], value=_ui.setting("aims_scope"), key="setting_scope", height=120
        )
        start_month = st.selectbox(
            labels["fiscal_year_start_month"],
            months,
            index=_ui.fiscal_start_month() - 1,
            format_func=lambda m: month_names[m - 1],
            key="setting_fiscal_start",
        )
        cycle_start = st.text_input(
            f"{labels['audit_cycle_start']} (YYYY-MM-DD; empty: 1 January of the as-of year)",
            value=_ui.setting("audit_cycle_start"),
            key="setting_cycle_start",
        )
        time_limit = st.text_input(
            labels["metric_time_limit_seconds"],
            value=_ui.setting("metric_time_limit_seconds"),
            key="setting_metric_time_limit",
            help=store.SETTINGS["metric_time_limit_seconds"].description,
        )
        if st.form_submit_button("Save settings", type="primary", key="settings_submit"):
            typed = {
                "organisation_name": organisation,
                "aims_scope": scope,
                "fiscal_year_start_month": str(start_month),
                "audit_cycle_start": cycle_start,
                "metric_time_limit_seconds": time_limit,
            }
            try:  # the library decides what is valid and what changed
                changed = _ui.write(
                    Action.EDIT_SETTINGS, store_settings.save_settings, typed, me.username
                )
            except store.SettingError as error:
                for problem in error.problems:
                    st.error(problem.message)
            else:
                if changed:
                    _ui.flash("Settings saved.")
                st.info("Nothing changed.")

with audit_tab:
    _ui.require(Action.VIEW_AUDIT_LOG)
    entries = pd.DataFrame(_ui.query(store.audit_entries, 2000))
    if entries.empty:
        _ui.empty_state("No changes recorded yet. Imports, edits and user changes appear here.")
    else:
        who = st.multiselect("Who", sorted(entries["username"].unique()), key="audit_filter_user")
        what = st.multiselect(
            "Action", sorted(entries["action"].unique()), key="audit_filter_action"
        )
        shown = entries
        if who:
            shown = shown[shown["username"].isin(who)]
        if what:
            shown = shown[shown["action"].isin(what)]
        st.caption(
            f"{len(shown):,} of the latest {count_of(len(entries), 'entry')}; the log cannot be edited here."
        )
        _ui.show_table(shown, hide_index=True, key="audit_table")
        _ui.download_csv(shown, "audit-log.csv", key="audit_download")
