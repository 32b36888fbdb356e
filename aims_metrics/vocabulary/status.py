"""Every status the product shows, with one look each: word, symbol and colour.

Statuses fall in four families (green, amber, red, no data; plus "info" for an open action) whose
symbol and colour they share, so a reader learns one code: ● good, ▲ watch, ■ act, ○ no data or
out of scope. The words are the only place a status value becomes text."""

from __future__ import annotations

from dataclasses import dataclass

from aims_metrics.vocabulary.palette import OKABE_ITO, ink_on

# family → (symbol, colour)
FAMILIES: dict[str, tuple[str, str]] = {
    "green": ("●", OKABE_ITO["bluish_green"]),
    "amber": ("▲", OKABE_ITO["orange"]),
    "red": ("■", OKABE_ITO["vermillion"]),
    "no_data": ("○", OKABE_ITO["grey"]),
    "info": ("◆", OKABE_ITO["blue"]),
}

# status value → (word, family), grouped by the vocabulary each belongs to. A value shared by two
# vocabularies ("gap", "partial", "overdue", "no_data") means the same thing in both.
KPI_STATUSES = {
    "green": ("Green", "green"),
    "amber": ("Amber", "amber"),
    "red": ("Red", "red"),
    "no_data": ("No data", "no_data"),
}
OBJECTIVE_STATUSES = {
    "achieved": ("Achieved", "green"),
    "on_track": ("On track", "green"),
    "at_risk": ("At risk", "amber"),
    "off_track": ("Off track", "red"),
    "missed": ("Missed", "red"),
    "no_data": ("No data", "no_data"),
}
COVERAGE_STATUSES = {
    "covered": ("Covered", "green"),
    "planned": ("Planned", "amber"),
    "gap": ("Gap", "red"),
}
SCHEDULE_STATUSES = {
    "completed": ("Completed", "green"),
    "in_progress": ("In progress", "amber"),
    "overdue": ("Overdue", "red"),
    "cancelled": ("Cancelled", "no_data"),
}
REQUIREMENT_STATUSES = {
    "met": ("Met", "green"),
    "partial": ("Partial", "amber"),
    "gap": ("Gap", "red"),
}
IMPLEMENTATION_STATUSES = {
    "implemented": ("Implemented", "green"),
    "partial": ("Partial", "amber"),
    "not_started": ("Not started", "red"),
    "excluded": ("Excluded", "no_data"),
}
VERDICTS = {  # certification readiness
    "ready": ("Ready for certification", "green"),
    "ready_with_corrections": ("Ready once corrections are made", "amber"),
    "not_ready": ("Not ready for certification", "red"),
}
ACTION_STATES = {
    "done": ("Done", "green"),
    "open": ("Open", "info"),
    "overdue": ("Overdue", "red"),
}
FINDING_STATUSES = {
    "open": ("Open", "info"),
    "in_progress": ("In progress", "amber"),
    "closed": ("Closed", "green"),
    "verified": ("Verified", "green"),
}
TEST_RESULTS = {
    "pass": ("Pass", "green"),
    "fail": ("Fail", "red"),
    "insufficient": ("Too few to judge", "no_data"),
}
_ALL = (
    KPI_STATUSES,
    OBJECTIVE_STATUSES,
    COVERAGE_STATUSES,
    SCHEDULE_STATUSES,
    REQUIREMENT_STATUSES,
    IMPLEMENTATION_STATUSES,
    VERDICTS,
    ACTION_STATES,
    FINDING_STATUSES,
    TEST_RESULTS,
)
STATUSES: dict[str, tuple[str, str]] = {k: v for table in _ALL for k, v in table.items()}


@dataclass(frozen=True)
class Look:
    """How one status is shown: its word, symbol, colour (hex) and the text colour on it."""

    status: str
    word: str
    family: str
    symbol: str
    colour: str

    @property
    def ink(self) -> str:
        return ink_on(self.colour)

    @property
    def label(self) -> str:
        """Symbol and word, the form a table cell or a legend shows."""
        return f"{self.symbol} {self.word}"


def look(status: object) -> Look:
    """The look of a status value (an enum member or its string); an unknown value reads as itself
    in words with the no-data symbol, never as a raw identifier."""
    value = str(getattr(status, "value", status) or "no_data")
    word, family = STATUSES.get(value, (value.replace("_", " ").capitalize(), "no_data"))
    symbol, colour = FAMILIES[family]
    return Look(value, word, family, symbol, colour)


def status_label(status: object) -> str:
    """ "● Green", "■ Not started": symbol and word."""
    return look(status).label


def status_word(status: object) -> str:
    """ "Green", "Not started": the word alone (for sentences and CSV)."""
    return look(status).word
