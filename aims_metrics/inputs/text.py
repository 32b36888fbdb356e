"""The one rule for text that arrives from outside: import cells, fairness predictions, metric
files, user identifiers.

A cell is trimmed of every Unicode whitespace character (space, TAB, CR, LF, NBSP, the typographic
spaces, line and paragraph separators) and of the zero-width characters that spreadsheets and web
forms leave behind, at both ends; what is left empty is no value. Inside a value nothing changes.
"""

from __future__ import annotations

import re
import sys
import unicodedata

# Zero-width characters that are not whitespace to Python but are invisible in every viewer.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

# Every character Python calls whitespace (str.isspace), plus the zero-width ones: one constant
# used by Python (str.strip), Arrow (utf8_trim) and DuckDB (trim(x, chars)) alike.
TRIMMED_CHARACTERS = (
    "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()) + ZERO_WIDTH
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def normalise_text(value: str | None) -> str | None:
    """The value with whitespace and zero-width characters trimmed at both ends; None if empty."""
    if value is None:
        return None
    trimmed = value.strip(TRIMMED_CHARACTERS)
    return trimmed or None


def is_blank(value: str | None) -> bool:
    """Whether a value is empty once trimmed (a TAB or an NBSP alone is blank)."""
    return normalise_text(value) is None


def control_character(value: str) -> str | None:
    """The first control character in a value (shown as U+XXXX), or None.

    Identifiers people see in tables and logs (user names, e-mail addresses, channel names) must
    not carry line breaks or other control characters that could forge a row on a terminal.
    """
    found = _CONTROL.search(value)
    if found is None:
        return None
    character = found.group()
    name = unicodedata.name(character, "control character")
    return f"U+{ord(character):04X} ({name.lower()})"


def trim_array(values):
    """`normalise_text` for a whole Arrow column at once (the same characters; empty stays "").

    The readers apply it to every cell of every file once, so imports, the fairness reader and
    the SoA rules all see the same trimmed text without a per-row Python loop.
    """
    import pyarrow.compute as pc

    return pc.utf8_trim(values, characters=TRIMMED_CHARACTERS)


# The trimmed characters as an RE2 character class (Arrow's regular expressions).
_CLASS = "".join(f"\\x{{{ord(c):04X}}}" for c in TRIMMED_CHARACTERS)


def trim_list_items(values, separator: str = ";"):
    """Each `separator`-separated item of an Arrow text column trimmed by the one rule.

    `"9.2 ;\\tA.6.2.4"` becomes `"9.2;A.6.2.4"`; the ends of the whole cell are left to `trim_array`.
    """
    import pyarrow.compute as pc

    around = f"[{_CLASS}]*{re.escape(separator)}[{_CLASS}]*"
    return pc.replace_substring_regex(values, pattern=around, replacement=separator)


def email_problem(address: str) -> str | None:
    """Why a (trimmed) text is not an e-mail address, or None when it is one.

    The one e-mail rule, for user accounts, the people directory and mail channels alike:
    email-validator's syntax check (nothing is looked up in DNS) and no control characters.
    """
    from email_validator import EmailNotValidError, validate_email

    if found := control_character(address):
        return f"contains a control character {found}"
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)
    return None
