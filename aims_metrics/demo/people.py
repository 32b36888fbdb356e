"""The demo organisation's people directory and a configured (not sending) demo e-mail channel
(issue 23), so the Notifications preview tells a story: most owners are reachable, overdue items
escalate to managers, and three owners have no e-mail address yet."""

from __future__ import annotations

import unicodedata

import duckdb
import pandas as pd

from aims_metrics.demo.audits import AUDITORS, CONTROL_OWNERS
from aims_metrics.demo.vocabulary import OWNERS

DOMAIN = "example.com"
# Left out on purpose: the preview lists them as owners without an e-mail.
WITHOUT_EMAIL = ("Kenji Sato", "Lena Johansson", "Quality Manager")
HEADS = (
    "Head of AI Governance",
    "Head of AI Risk",
    "Head of AI Operations",
    "Responsible AI Lead",
    "AI Governance Lead",
    "Internal Audit Lead",
    "Chief Data Officer",
    "ML Platform Lead",
    "CISO",
)
REVIEW_ACTION_OWNERS = ("Priya Raman", "Lena Vogel", "Sam Okafor")  # demo.review
DEMO_CHANNEL = "demo-mail"


def _address(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return f"{'.'.join(ascii_name.lower().split())}@{DOMAIN}"


def _manager(name: str) -> str | None:
    if name == "Chief Data Officer":
        return None
    if name in HEADS:
        return "Chief Data Officer"
    if name in AUDITORS:
        return "Internal Audit Lead"
    if name in REVIEW_ACTION_OWNERS:
        return "Head of AI Governance"
    # system and finding owners report to operations or risk, alternately
    return ("Head of AI Operations", "Head of AI Risk")[OWNERS.index(name) % 2]


def _unit(name: str) -> str:
    if name in AUDITORS or name == "Internal Audit Lead":
        return "Internal Audit"
    if name in HEADS:
        return "AI Governance Office"
    return "AI Operations" if _manager(name) == "Head of AI Operations" else "AI Risk"


def demo_people() -> pd.DataFrame:
    """The directory: every demo owner name but those in WITHOUT_EMAIL, with unit and manager."""
    names = dict.fromkeys((*HEADS, *CONTROL_OWNERS, *AUDITORS, *OWNERS, *REVIEW_ACTION_OWNERS))
    rows = [
        {"person": n, "email": _address(n), "unit": _unit(n), "manager": _manager(n)}
        for n in names
        if n not in WITHOUT_EMAIL
    ]
    return pd.DataFrame(rows, columns=["person", "email", "unit", "manager"])


def seed_demo_channel(con: duckdb.DuckDBPyConnection, username: str = "demo") -> None:
    """A switched-off e-mail channel to a local relay: the preview works, nothing is sent until an
    administrator points it at the real relay and switches it on."""
    from aims_metrics.notify.channels import add_channel, get_channel

    if get_channel(con, DEMO_CHANNEL) is None:
        add_channel(
            con,
            DEMO_CHANNEL,
            "email",
            {
                "smtp_host": "localhost",
                "smtp_port": 25,
                "security": "none",
                "sender": f"aims-review@{DOMAIN}",
            },
            username,
            enabled=False,
        )
