"""Small vectorised helpers shared by the demo generators: dates, draws, ids, text columns, the
quarter window and the system inventory the other tables refer to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from aims_metrics.metrics.periods import Quarter
from aims_metrics.tables.registry import TABLES

# --- small vectorised helpers -------------------------------------------------------------------

QUARTERS = 8  # quarters of history in every data set
DAY = np.timedelta64(1, "D")
NAT = np.datetime64("NaT", "D")


def days(n: np.ndarray | int) -> np.ndarray:
    return np.asarray(n, dtype=np.int64).astype("timedelta64[D]")


def between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform random day in [lo, hi] for each pair (hi ≥ lo)."""
    lo = np.asarray(lo, dtype="datetime64[D]")
    span = (np.asarray(hi, dtype="datetime64[D]") - lo).astype(np.int64) + 1
    return lo + days(np.floor(rng.random(len(lo)) * span))


def uniform_int(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    return rng.integers(lo, hi + 1, n)


TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default `str` dtype


@dataclass(frozen=True)
class Text:
    """A text column as codes into a vocabulary (-1 = missing): cheap to reorder, and turned into
    an Arrow-backed pandas column with one `take` instead of a million Python strings."""

    vocab: tuple[str, ...] | np.ndarray
    codes: np.ndarray

    def __getitem__(self, index: np.ndarray) -> Text:
        return Text(self.vocab, self.codes[index])

    def to_arrow(self) -> pa.Array:
        vocab = pa.array(np.asarray(self.vocab, dtype=object), type=pa.string())
        return vocab.take(pa.array(self.codes, mask=self.codes < 0))


def lookup(values: tuple[str, ...] | np.ndarray, index: np.ndarray) -> Text:
    return Text(values, np.asarray(index, dtype=np.int64))


def pick(rng: np.random.Generator, n: int, shares: tuple[float, ...]) -> np.ndarray:
    p = np.asarray(shares, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def exact_assign(rng: np.random.Generator, n: int, shares: tuple[float, ...]) -> np.ndarray:
    """Category codes in exactly the given proportions (largest remainder), shuffled."""
    raw = np.asarray(shares, dtype=float) * n / sum(shares)
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


def id_column(prefix: str, n: int, width: int | None = None) -> pa.Array:
    """ASCII `prefix` + zero-padded 1..n, written straight into an Arrow string buffer."""
    width = width or max(3, len(str(n)))
    powers = 10 ** np.arange(width - 1, -1, -1)
    digits = (np.arange(1, n + 1)[:, None] // powers % 10 + ord("0")).astype(np.uint8)
    head = np.broadcast_to(np.frombuffer(prefix.encode("ascii"), np.uint8), (n, len(prefix)))
    data = np.ascontiguousarray(np.hstack([head, digits]))
    size = data.shape[1]
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def texts_by_group(rng: np.random.Generator, groups: np.ndarray, texts: list[tuple[str, ...]]):
    """For each row, a random text from the tuple of its group."""
    flat = tuple(t for group in texts for t in group)
    counts = np.asarray([len(group) for group in texts])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = np.floor(rng.random(len(groups)) * counts[groups]).astype(np.int64)
    return lookup(flat, offsets[groups] + pick)


def optional(mask: np.ndarray, values: Text) -> Text:
    """`values` where mask is true, missing elsewhere."""
    return Text(values.vocab, np.where(mask, values.codes, -1))


def column(values: Text | pa.Array | np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    if isinstance(values, Text):
        values = values.to_arrow()
    if isinstance(values, pa.Array):
        return pd.array(values, dtype=TEXT_DTYPE)
    if values.dtype.kind in "OU":
        return pd.array(pa.array(values.astype(object), type=pa.string()), dtype=TEXT_DTYPE)
    return values


def table_frame(table: str, columns: dict[str, Text | pa.Array | np.ndarray]) -> pd.DataFrame:
    names = TABLES[table].column_names
    if set(columns) != set(names):
        raise ValueError(f"{table}: generator columns differ from the registry")
    return pd.DataFrame({name: column(columns[name]) for name in names})


@dataclass(frozen=True)
class Window:
    """The eight quarters ending at the end quarter, as numpy dates."""

    quarters: list[Quarter]
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def ending(cls, end_quarter: Quarter) -> Window:
        quarters = [end_quarter.shift(k) for k in range(-(QUARTERS - 1), 1)]
        return cls(
            quarters,
            np.array([q.start for q in quarters], dtype="datetime64[D]"),
            np.array([q.end for q in quarters], dtype="datetime64[D]"),
        )

    @property
    def first(self) -> np.datetime64:
        return self.starts[0]

    @property
    def end(self) -> np.datetime64:
        return self.ends[-1]

    def progress(self, days: np.ndarray) -> np.ndarray:
        """0 at the window's first day, 1 at its last (clipped): drives improvement over time."""
        span = (self.end - self.first).astype(np.int64)
        return np.clip((days - self.first).astype(np.int64) / span, 0.0, 1.0)


# bias-test plan of a system that has been deployed
TESTED, UNTESTED, LATE, FAILED = range(4)


@dataclass(frozen=True)
class Inventory:
    """The systems frame plus the arrays the other generators need."""

    frame: pd.DataFrame
    ids: np.ndarray
    risk: np.ndarray  # index into RISKS
    stage: np.ndarray  # index into STAGES
    deployed: np.ndarray  # datetime64[D], NaT if never deployed
    retired: np.ndarray
    legacy: np.ndarray  # deployed before the window
    bias_plan: np.ndarray  # TESTED, UNTESTED, LATE, FAILED (deployed systems)
    assessment_gap: np.ndarray  # high-risk system whose impact assessment is stuck
    attributes: np.ndarray  # (n, 3) indices into PROTECTED_ATTRIBUTES
    service_lo: np.ndarray  # (n, quarters): first day in service within each quarter
    service_hi: np.ndarray

    @property
    def in_service(self) -> np.ndarray:
        return self.service_lo <= self.service_hi  # NaT compares false
