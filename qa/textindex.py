"""Distinct texts of a message column, found once and shared by every check.

Chat logs repeat canned lines (greetings, 好的, auto-replies), and every class and pre-filter
only depends on the text. A :class:`TextIndex` holds a column as codes into its distinct
texts, so a class is judged once per distinct text and mapped back to rows by indexing.

The index of a column is registered under the column's Arrow array (which pandas shares
between a frame, its copies and ``frame["norm"]``), so the checks of one audit find the
index that normalization built instead of factorizing the column again.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

# id(Arrow array of a column) -> (weak reference to that array, its index). The weak
# reference both checks that the id was not reused and drops the entry with the column.
_REGISTRY: dict[int, tuple[weakref.ref, TextIndex]] = {}


@dataclass(eq=False)
class TextIndex:
    """A text column as ``codes`` (one per row, int64) into ``uniques`` (an Arrow string
    array; equal texts may appear more than once there, which only costs a repeat)."""

    codes: np.ndarray
    uniques: pa.Array
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)  # per-distinct results of users

    def present(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Bool mask over ``uniques``: which distinct texts occur in ``rows`` (positions or a
        bool mask over the column; all rows when None)."""
        out = np.zeros(len(self.uniques), dtype=bool)
        out[self.codes if rows is None else self.codes[rows]] = True
        return out

    def text(self, position: int) -> str:
        """The distinct text at ``position`` of ``uniques`` (a scalar read: one text costs a
        tenth of a one-element :meth:`texts`)."""
        return self.uniques[int(position)].as_py()

    def texts(self, positions: np.ndarray) -> list[str]:
        """The distinct texts at ``positions`` of ``uniques``, as Python strings."""
        if not len(positions):
            return []
        return self.uniques.take(pa.array(np.asarray(positions, dtype=np.int64))).to_pylist()


def _arrow_of(column: pd.Series) -> Any:
    """The Arrow array backing an Arrow-backed column (None for other columns)."""
    return getattr(column.array, "_pa_array", None)


def register(column: pd.Series, codes: np.ndarray, uniques: pa.Array) -> None:
    """Record that ``column`` is ``uniques`` taken at ``codes`` (normalization knows it)."""
    backing = _arrow_of(column)
    if backing is None:
        return
    key = id(backing)
    try:
        ref = weakref.ref(backing, lambda _r, key=key: _REGISTRY.pop(key, None))
    except TypeError:
        return
    _REGISTRY[key] = (ref, TextIndex(np.asarray(codes, dtype=np.int64), uniques))


def text_index(column: pd.Series) -> TextIndex:
    """The :class:`TextIndex` of a text column: the registered one, else built now (and
    registered, so later callers share it). Missing values count as empty texts."""
    backing = _arrow_of(column)
    if backing is not None:
        entry = _REGISTRY.get(id(backing))
        if entry is not None and entry[0]() is backing:
            return entry[1]
    if backing is not None:
        array = backing.combine_chunks() if isinstance(backing, pa.ChunkedArray) else backing
        encoded = array.fill_null("").dictionary_encode()
        index = TextIndex(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False),
                          encoded.dictionary)
        register(column, index.codes, index.uniques)
        entry = _REGISTRY.get(id(backing))
        return entry[1] if entry is not None else index
    codes, distinct = pd.factorize(column.fillna("").astype(str), use_na_sentinel=False)
    return TextIndex(np.asarray(codes, dtype=np.int64),
                     pa.array([str(t) for t in distinct], type=pa.large_string()))
