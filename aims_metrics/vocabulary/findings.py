"""Finding types (9.2 audit results): the closed list, in order of severity, with the title,
short form, phrase and colour each is shown with in the app, the CLI and the PDFs."""

from __future__ import annotations

from dataclasses import dataclass

from aims_metrics.vocabulary.palette import OKABE_ITO
from aims_metrics.vocabulary.wording import count_of

FINDING_TYPES = ("major_nc", "minor_nc", "observation", "ofi")
NONCONFORMITY_TYPES = ("major_nc", "minor_nc")


@dataclass(frozen=True)
class FindingTypeLook:
    """How a finding type is written and drawn."""

    value: str
    title: str  # a chart legend or a table heading: "Major NC"
    short: str  # a narrow column: "Obs."
    singular: str  # in a sentence: "major nonconformity"
    plural: str
    colour: str


_LOOKS = {
    "major_nc": FindingTypeLook(
        "major_nc",
        "Major NC",
        "Major NC",
        "major nonconformity",
        "major nonconformities",
        OKABE_ITO["vermillion"],
    ),
    "minor_nc": FindingTypeLook(
        "minor_nc",
        "Minor NC",
        "Minor NC",
        "minor nonconformity",
        "minor nonconformities",
        OKABE_ITO["orange"],
    ),
    "observation": FindingTypeLook(
        "observation", "Observation", "Obs.", "observation", "observations", OKABE_ITO["sky_blue"]
    ),
    "ofi": FindingTypeLook(
        "ofi",
        "OFI",
        "OFI",
        "opportunity for improvement",
        "opportunities for improvement",
        OKABE_ITO["bluish_green"],
    ),
}


def finding_look(finding_type: object) -> FindingTypeLook:
    """The look of a finding type (an enum member or its string)."""
    return _LOOKS[str(getattr(finding_type, "value", finding_type))]


def finding_title(finding_type: object) -> str:
    """ "Major NC", "Observation": the title of a finding type."""
    return finding_look(finding_type).title


def finding_colour(finding_type: object) -> str:
    return finding_look(finding_type).colour


def finding_count(count: int, finding_type: object) -> str:
    """ "1 major nonconformity", "3 observations"."""
    item = finding_look(finding_type)
    return count_of(count, item.singular, item.plural)
