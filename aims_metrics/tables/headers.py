"""The one header-matching rule, for imports and the fairness reader alike.

A header matches a column when both normalise to the same name: the text rule trims the ends
(inputs/text.py), case is ignored, and runs of spaces and hyphens count as one underscore
(`Incident ID`, ` incident-id ` and `incident_id` are one column). Two file columns that match
the same wanted column are an ambiguity: reported with both headers, never resolved by taking
the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from aims_metrics.inputs.text import normalise_text


def normalise_header(header: str) -> str:
    """Case-, space- and hyphen-insensitive form of a header (design §2)."""
    text = re.sub(r"[\s\-]+", "_", (normalise_text(str(header)) or "").lower())
    return re.sub(r"_+", "_", text).strip("_")


@dataclass
class HeaderMatch:
    """Which file column feeds each wanted column, and what could not be decided."""

    chosen: dict[str, int] = field(default_factory=dict)  # wanted column → file column index
    ambiguous: list[tuple[str, int, int]] = field(default_factory=list)  # (wanted, first, other)
    ignored: list[int] = field(default_factory=list)  # file columns nothing wants

    def ambiguities(self, headers: list[str]) -> list[tuple[str, str]]:
        """(wanted column, message) for every file column that matches an already matched one."""
        return [
            (target, f"columns {headers[first]!r} and {headers[other]!r} both map to {target}")
            for target, first, other in self.ambiguous
        ]


def match_headers(
    headers: list[str], wanted: Iterable[str], renames: dict[str, str] | None = None
) -> HeaderMatch:
    """Match a file's headers to the `wanted` columns (after `renames`, file header → column).

    Every name is compared in its normalised form; `chosen` is keyed by the normalised column.
    """
    targets = {normalise_header(name) for name in wanted}
    renamed = {normalise_header(src): normalise_header(dst) for src, dst in (renames or {}).items()}
    match = HeaderMatch()
    for index, header in enumerate(headers):
        name = normalise_header(header)
        target = renamed.get(name, name if name in targets else None)
        if target is None:
            match.ignored.append(index)
        elif target in match.chosen:
            match.ambiguous.append((target, match.chosen[target], index))
        else:
            match.chosen[target] = index
    return match
