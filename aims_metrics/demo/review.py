"""The demo's finalised management review of the previous quarter, with its actions."""

from __future__ import annotations

from datetime import timedelta

import duckdb

from aims_metrics import store
from aims_metrics.metrics.periods import Quarter
from aims_metrics.review.actions import add_action, update_action
from aims_metrics.review.finalise import finalise_review
from aims_metrics.review.models import ActionStatus, Attendee, Decision, DecisionKind, ReviewRecord
from aims_metrics.review.records import fiscal_quarter, get_review, save_review

# --- demo ----------------------------------------------------------------------------------------


def seed_demo_review(
    con: duckdb.DuckDBPyConnection, last_quarter: Quarter | str, username: str = "demo"
) -> ReviewRecord:
    """A finalised review of the quarter before `last_quarter` with three actions.

    One action is done on time, one is overdue and one is still open when the last quarter's
    review is held, so that review shows all three states under input a). Idempotent: does
    nothing when the earlier quarter already has a review.
    """
    last = fiscal_quarter(con, last_quarter)
    earlier = last.previous()
    existing = get_review(con, earlier)
    if existing is not None:
        return existing
    record = ReviewRecord(
        quarter=earlier.label,
        held_on=earlier.end - timedelta(days=10),
        chair="Dana Whitfield",
        attendees=[
            Attendee(name="Dana Whitfield", role="Chief Executive Officer (chair)"),
            Attendee(name="Sam Okafor", role="AI Governance Lead"),
            Attendee(name="Priya Raman", role="Head of AI Risk"),
            Attendee(name="Lena Vogel", role="Internal Audit Lead"),
        ],
        scope=store.get_setting(con, "aims_scope"),
        input_b="EU AI Act obligations for high-risk systems come into force; two vendor models "
        "moved to new major versions.",
        input_c="Customers ask for a model card with every high-risk release; the works council "
        "asks to be consulted before new HR screening models go live.",
        input_e="Automate the pre-deployment bias test gate in the release pipeline.",
        decisions=[
            Decision(
                kind=DecisionKind.IMPROVEMENT,
                text="Gate every high-risk release on a passed pre-deployment bias test.",
            ),
            Decision(
                kind=DecisionKind.CHANGE_TO_AIMS,
                text="Add the works council to the register of interested parties.",
            ),
            Decision(
                kind=DecisionKind.RESOURCES,
                text="Fund one additional internal auditor for AI systems.",
            ),
        ],
    )
    save_review(con, record, username)
    on_time = add_action(
        con,
        earlier,
        "Publish model cards for all high-risk AI systems",
        "Priya Raman",
        last.start + timedelta(days=14),
        username,
    )
    add_action(
        con,
        earlier,
        "Close the overdue major nonconformities of the internal audit",
        "Lena Vogel",
        last.start + timedelta(days=30),
        username,
    )
    add_action(
        con,
        earlier,
        "Recruit an internal auditor for AI systems",
        "Sam Okafor",
        last.end + timedelta(days=45),
        username,
    )
    finalise_review(con, earlier, username)
    update_action(
        con,
        on_time.action_id,
        ActionStatus.DONE,
        last.start + timedelta(days=9),
        "Model cards published on the intranet and linked from the system inventory.",
        username,
    )
    final = get_review(con, earlier)
    assert final is not None
    return final
