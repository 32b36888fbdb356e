"""Admin → Notifications (issue 23): channels, rules and their settings, a preview of today's run
per recipient, send now, and the log. Admins edit; governance leads and analysts read."""

from __future__ import annotations

from datetime import date

import streamlit as st

from aims_metrics import store
from aims_metrics.auth import Action
from aims_metrics.notify import channels as notify_channels
from aims_metrics.notify import outbox, people, rules
from aims_metrics.notify import run as notify_run
from aims_metrics.notify.digest import item_status, rule_title
from aims_metrics.store import settings as store_settings
from aims_metrics.vocabulary.wording import count_of
from pages import _ui

me = _ui.require(Action.VIEW_NOTIFICATIONS)
manage = _ui.allowed(Action.MANAGE_NOTIFICATIONS)

st.title("Notifications")
_ui.show_flash()
st.caption(
    "Reminders between the reviews: overdue corrective and review actions, upcoming and overdue "
    "audits, KPIs turned red and stale data. `python -m aims_metrics notify run` sends them "
    "(schedule it daily); each item is reminded at most every few days, three times, then "
    "escalated once."
)
unmatched = _ui.query(people.unmatched_owners)
if unmatched:
    st.warning(
        people.describe_unmatched(unmatched) + " (import them as people)",
        icon=":material/person_off:",
    )

channels_tab, rules_tab, preview_tab, log_tab = st.tabs(  # keyed: a save keeps the open tab
    ["Channels", "Rules", "Preview", "Log"], key="notify_tab", on_change="rerun"
)

with channels_tab:
    channels = _ui.query(notify_channels.list_channels)
    if channels:
        _ui.show_table(
            _ui.records_frame(
                [
                    {
                        "channel": c.name,
                        "kind": c.kind,
                        "state": "on" if c.enabled else "off",
                        "delivers to": c.describe(),
                    }
                    for c in channels
                ]
            ),
            hide_index=True,
            key="notify_channels_table",
        )
    else:
        _ui.empty_state("No channels yet. An administrator adds an e-mail or webhook channel here.")
    if manage and channels:
        names = [c.name for c in channels]
        picked = st.selectbox("Channel", names, key="notify_channel_pick")
        left, middle, right = st.columns(3)
        if left.button("Send test message", key="notify_channel_test"):
            error = _ui.write(
                Action.MANAGE_NOTIFICATIONS,
                notify_run.send_test_message,
                picked,
                me.username,
                me.email,
            )
            if error:
                st.error(f"Test message failed: {error}")
            else:
                st.success("Test message sent.")
        enabled = next(c.enabled for c in channels if c.name == picked)
        if middle.button("Switch off" if enabled else "Switch on", key="notify_channel_toggle"):
            _ui.write(
                Action.MANAGE_NOTIFICATIONS,
                notify_channels.set_channel_enabled,
                picked,
                not enabled,
                me.username,
            )
            _ui.flash(f"{picked} switched {'off' if enabled else 'on'}.")
        if right.button("Remove", key="notify_channel_remove"):
            _ui.write(
                Action.MANAGE_NOTIFICATIONS, notify_channels.remove_channel, picked, me.username
            )
            _ui.flash(f"{picked} removed.")
    if manage:
        kind = st.radio(
            "Add a channel", ["email", "webhook"], horizontal=True, key="notify_add_kind"
        )
        with st.form("notify_add_channel", clear_on_submit=False):
            name = st.text_input("Name", key="notify_add_name")
            if kind == "email":
                values = {
                    "smtp_host": st.text_input("SMTP host", key="notify_add_host"),
                    "smtp_port": st.number_input("SMTP port", 1, 65535, 587, key="notify_add_port"),
                    "security": st.selectbox(
                        "Security", ["starttls", "ssl", "none"], key="notify_add_security"
                    ),
                    "username": st.text_input("User name (optional)", key="notify_add_user")
                    or None,
                    "password_env": st.text_input(
                        "Environment variable holding the password (optional; never stored)",
                        key="notify_add_password_env",
                    )
                    or None,
                    "sender": st.text_input("Sender address", key="notify_add_sender"),
                }
            else:
                values = {
                    "url": st.text_input("Webhook URL", key="notify_add_url"),
                    "format": st.selectbox(
                        "Format", ["json", "slack", "teams"], key="notify_add_format"
                    ),
                    "secret_env": st.text_input(
                        "Environment variable holding the HMAC secret (optional; never stored)",
                        key="notify_add_secret_env",
                    )
                    or None,
                }
            if st.form_submit_button("Add channel", type="primary", key="notify_add_submit"):
                try:
                    added = _ui.write(
                        Action.MANAGE_NOTIFICATIONS,
                        notify_channels.add_channel,
                        name.strip(),
                        kind,
                        values,
                        me.username,
                    )
                except notify_channels.ChannelError as error:
                    st.error(str(error))
                else:
                    _ui.flash(f"Added {added.name}: {added.describe()}", forget="notify_add_")

with rules_tab:
    _ui.show_table(
        _ui.records_frame(
            [
                {
                    "rule": rule_title(spec.rule),
                    "item": spec.kind,
                    "to": spec.to,
                    "when": spec.when,
                    "switched": _ui.setting(spec.switch_setting),
                    "days ahead": _ui.setting(spec.days_setting) if spec.days_setting else "",
                }
                for spec in rules.RULES.values()
            ]
        ),
        hide_index=True,
        key="notify_rules_table",
    )
    st.caption(
        f"Reminded at most every {_ui.setting('remind_every_days')} days, 3 times, then escalated "
        f"to the owner's manager (else the governance leads); data is stale after "
        f"{_ui.setting('stale_after_days')} days; links point to {_ui.setting('app_base_url')}."
    )
    if _ui.allowed(Action.EDIT_SETTINGS):
        with st.form("notify_settings"):
            edited = {
                key: st.text_input(
                    key.replace("_", " "), value=_ui.setting(key), key=f"notify_set_{key}"
                )
                for key in ("app_base_url", *rules.DAY_SETTINGS)
            }
            for spec in rules.RULES.values():
                on = st.checkbox(
                    rule_title(spec.rule),
                    value=_ui.setting(spec.switch_setting) == "on",
                    key=f"notify_set_{spec.switch_setting}",
                )
                edited[spec.switch_setting] = "on" if on else "off"
            if st.form_submit_button("Save rule settings", key="notify_settings_submit"):
                try:  # the library decides what is valid and what changed
                    changed = _ui.write(
                        Action.EDIT_SETTINGS, store_settings.save_settings, edited, me.username
                    )
                except store.SettingError as refused:
                    st.error("\n".join(f"- {p}" for p in refused.problems))
                else:
                    if changed:
                        _ui.flash("Rule settings saved.")
                    st.info("Nothing changed.")

with preview_tab:
    # computed here, after the channel forms above, so a channel added in this run is previewed
    preview = _ui.query(notify_run.preview_notifications, date.today())
    st.caption(f"A dry run as of today ({date.today().isoformat()}): nothing is sent or recorded.")
    rows = [
        {
            "channel": m.channel,
            "to": m.to,
            "rule": rule_title(i["rule"]),
            "id": i["id"],
            "title": i["title"],
            "status": item_status(i),
        }
        for m in preview.messages
        for i in m.items
    ]
    if rows:
        _ui.show_table(_ui.records_frame(rows), hide_index=True, key="notify_preview_table")
    else:
        _ui.empty_state("Nothing is due a reminder today.")
    if manage and st.button("Send now", type="primary", key="notify_send_now", disabled=not rows):
        try:
            result = _ui.write(
                Action.MANAGE_NOTIFICATIONS, notify_run.run_notifications, date.today(), me.username
            )
        except notify_run.NotifyError as error:
            st.error(str(error))
        else:
            failed = [m for m in result.messages if m.status == "failed"]
            summary = f"{count_of(len(result.messages) - len(failed), 'message')} sent"
            if failed:
                st.error(f"{summary}, {len(failed)} failed: see the log.")
            else:
                st.success(summary)

with log_tab:
    log = _ui.query(outbox.outbox_log, 500)
    if log:
        frame = _ui.records_frame(
            [
                {
                    "when": m.created_at,
                    "channel": m.channel,
                    "to": m.recipient,
                    "status": m.status,
                    "items": ", ".join(f"{i['rule']}:{i['id']}" for i in m.items),
                    "attempts": m.attempts,
                    "error": m.error or "",
                }
                for m in log
            ]
        )
        _ui.show_table(frame, hide_index=True, key="notify_log_table")
        _ui.download_csv(frame, "notifications-log.csv", key="notify_log_download")
    else:
        _ui.empty_state("No messages yet. Send now, or schedule `notify run`.")
