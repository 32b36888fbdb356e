"""Which rows of an edited table differ from what was shown: the one rule for the SoA editor and
the gap register (an empty cell equals a missing value; a row is changed if any column differs)."""

from __future__ import annotations

import pandas as pd


def changed_rows(before: pd.DataFrame, after: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The rows of `after` whose `columns` differ from the same row of `before` (same order)."""
    shown = before[columns].reset_index(drop=True).astype(object)
    edited = after[columns].reset_index(drop=True).astype(object)
    differs = (shown.fillna("") != edited.fillna("")).any(axis=1)
    return edited[differs]
