"""The management review's vocabulary and records (pydantic): statuses, decisions, attendees,
the review record, its actions and the archived minutes."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aims_metrics.inputs.text import control_character, normalise_text
from aims_metrics.metrics.periods import Quarter, parse_quarter

TREND_QUARTERS = 6  # quarters shown in the trend tables and charts of input d)


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    FINAL = "final"


class DecisionKind(StrEnum):
    """The 9.3.3 results a decision belongs to."""

    IMPROVEMENT = "improvement"
    CHANGE_TO_AIMS = "change_to_aims"
    RESOURCES = "resources"

    @property
    def title(self) -> str:
        return DECISION_TITLES[self]


DECISION_TITLES = {
    DecisionKind.IMPROVEMENT: "Continual-improvement opportunity",
    DecisionKind.CHANGE_TO_AIMS: "Change to the AIMS",
    DecisionKind.RESOURCES: "Resources",
}


class ActionStatus(StrEnum):
    """Stored status of a review action."""

    OPEN = "open"
    DONE = "done"


class ActionState(StrEnum):
    """Status of an action as reported under input a) on a given date."""

    OPEN = "open"
    DONE = "done"
    OVERDUE = "overdue"


class ReviewError(ValueError):
    """A review operation was refused; the message says why and what to do."""


class ReviewLocked(ReviewError):
    """The review's latest revision is finalised: create a new revision to change it."""


class ReviewIncomplete(ReviewError):
    """The review cannot be finalised yet; `problems` lists every missing item."""

    def __init__(self, quarter: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"the review of {quarter} cannot be finalised: " + "; ".join(problems))


# --- models ------------------------------------------------------------------------------------


class Attendee(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    role: str = ""

    @field_validator("name", "role")
    @classmethod
    def _one_line(cls, value: str, info) -> str:  # type: ignore[no-untyped-def]
        """The one text rule (ends trimmed), on one line: names are shown in the minutes."""
        text = normalise_text(value) or ""
        stored = bool(info.context and info.context.get("stored"))  # saved before this rule
        if not stored and (found := control_character(text)):
            raise ValueError(f"the attendee {info.field_name} contains a control character {found}")
        if info.field_name == "name" and not text:
            raise ValueError("an attendee needs a name")
        return text


class Decision(BaseModel):
    """A 9.3.3 result: a decision on an improvement, a change to the AIMS or resources."""

    model_config = ConfigDict(extra="forbid")

    kind: DecisionKind
    text: str = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a decision needs a text")
        return value.strip()


def quarter_label(value: Quarter | str) -> str:
    return value.label if isinstance(value, Quarter) else parse_quarter(str(value)).label


class ReviewRecord(BaseModel):
    """One revision of a quarter's management review: meeting data, texts b, c, e, decisions."""

    model_config = ConfigDict(extra="forbid")

    quarter: str
    revision: int = 1
    status: ReviewStatus = ReviewStatus.DRAFT
    held_on: date | None = None
    chair: str = ""
    attendees: list[Attendee] = Field(default_factory=list)
    scope: str = ""
    input_b: str = ""  # changes in external and internal issues
    input_c: str = ""  # changes in needs and expectations of interested parties
    input_e: str = ""  # opportunities for continual improvement
    decisions: list[Decision] = Field(default_factory=list)
    created_by: str | None = None
    created_at: datetime | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    finalised_by: str | None = None
    finalised_at: datetime | None = None
    revision_reason: str | None = None

    @field_validator("quarter", mode="before")
    @classmethod
    def _normalise_quarter(cls, value: Any) -> str:
        return quarter_label(value)

    @property
    def is_final(self) -> bool:
        return self.status is ReviewStatus.FINAL

    @property
    def document_id(self) -> str:
        """The minutes' document id, e.g. AIMS-MR-2025Q3-r1."""
        return document_id(self.quarter, self.revision)


def document_id(quarter: Quarter | str, revision: int | None) -> str:
    label = quarter_label(quarter)
    return f"AIMS-MR-{label}-r{revision}" if revision else f"AIMS-MR-{label}-draft"


class ReviewAction(BaseModel):
    """An action raised by a review (9.3.3): owner and due date, tracked until closed."""

    action_id: str
    quarter: str  # the review that raised it
    revision: int  # the revision in which it was raised
    description: str
    owner: str
    due_on: date
    status: ActionStatus = ActionStatus.OPEN
    closed_on: date | None = None
    closing_note: str | None = None
    created_by: str
    created_at: datetime
    updated_by: str | None = None
    updated_at: datetime | None = None


class CarriedAction(BaseModel):
    """An action from an earlier review as reported under input a) on `as_of`."""

    action: ReviewAction
    as_of: date
    state: ActionState
    on_time: bool | None  # done: closed by its due date; otherwise None

    @property
    def days_overdue(self) -> int:
        if self.state is not ActionState.OVERDUE:
            return 0
        return (self.as_of - self.action.due_on).days


class ArchivedMinutes(BaseModel):
    quarter: str
    revision: int
    sha256: str
    pdf: bytes
    created_by: str
    created_at: datetime

    @property
    def document_id(self) -> str:
        return document_id(self.quarter, self.revision)

    @property
    def intact(self) -> bool:
        """The stored bytes still match the sha256 recorded when they were archived."""
        return hashlib.sha256(self.pdf).hexdigest() == self.sha256
