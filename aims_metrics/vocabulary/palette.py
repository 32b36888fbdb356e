"""The Okabe-Ito palette: distinguishable with the common colour-vision deficiencies. A colour is
always shown beside a word (and, for statuses, a symbol), never alone."""

from __future__ import annotations

OKABE_ITO = {
    "bluish_green": "#009E73",
    "orange": "#E69F00",
    "vermillion": "#D55E00",
    "sky_blue": "#56B4E9",
    "blue": "#0072B2",
    "yellow": "#F0E442",
    "reddish_purple": "#CC79A7",
    "grey": "#8C8C8C",
}
# Series of a chart that are not statuses or finding types, in order.
SERIES_COLOURS = [
    OKABE_ITO[name]
    for name in (
        "blue",
        "orange",
        "bluish_green",
        "vermillion",
        "reddish_purple",
        "sky_blue",
        "yellow",
    )
]
_LIGHT = {OKABE_ITO["orange"], OKABE_ITO["yellow"], OKABE_ITO["sky_blue"]}


def ink_on(colour: str) -> str:
    """The text colour readable on a fill of `colour`: black on the light hues, white otherwise."""
    return "#000000" if colour.upper() in _LIGHT else "#FFFFFF"
