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
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    # (the Carry, each distinct text's id in it or -1) once looked up: see Carry
    _carried: tuple[Any, np.ndarray] | None = field(default=None, repr=False)

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


class Carry:
    """Per-distinct-text results carried from one partition's column to the next.

    An out-of-core worker audits partition after partition, and canned lines (greetings,
    templates, auto-replies) recur in every one: results that depend on the text alone (a
    class's candidates and verdicts) are found once per worker instead of once per partition.
    At most ``limit`` texts are carried (the first seen), so memory stays bounded. Results are
    the same with or without a carry: only work is saved.
    """

    def __init__(self, limit: int = 250_000) -> None:
        self.limit = limit
        self.texts = pa.array([], type=pa.large_string())  # carried texts; a text's id is its position
        self.values: dict[Any, np.ndarray] = {}  # per key: int8 per carried text (-1: unknown)

    def slots(self, index: TextIndex) -> np.ndarray:
        """The carried id of each text of ``index.uniques`` (-1: not carried), texts not carried
        yet taken in while there is room."""
        if index._carried is None or index._carried[0] is not self:
            uniques = index.uniques.cast(pa.large_string())
            found = pc.index_in(uniques, value_set=self.texts)
            slot = np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
            new = np.flatnonzero((slot < 0) & np.asarray(uniques.is_valid().to_numpy(zero_copy_only=False)))
            room = self.limit - len(self.texts)
            if room > 0 and len(new):
                texts = uniques.take(pa.array(new[:room], type=pa.int64()))
                taken = pc.unique(texts)  # uniques may hold a text twice: carried once
                at = pc.index_in(texts, value_set=taken).to_numpy(zero_copy_only=False)
                slot[new[:room]] = len(self.texts) + np.asarray(at, dtype=np.int64)
                self.texts = pa.concat_arrays([self.texts, taken])
            index._carried = (self, slot)
        return index._carried[1]

    def _values(self, key: Any) -> np.ndarray:
        values = self.values.get(key)
        if values is None or len(values) < len(self.texts):
            grown = np.full(max(len(self.texts), 1), -1, dtype=np.int8)
            if values is not None:
                grown[: len(values)] = values
            values = self.values[key] = grown
        return values

    def fill(self, index: TextIndex, key: Any, known: np.ndarray) -> None:
        """Set ``known`` (int8 over ``index.uniques``, -1 unknown) from results carried under ``key``."""
        slot = self.slots(index)
        carried = np.flatnonzero(slot >= 0)
        if len(carried):
            known[carried] = self._values(key)[slot[carried]]

    def keep(self, index: TextIndex, key: Any, positions: np.ndarray, found: np.ndarray) -> None:
        """Carry the results ``found`` of the texts at ``positions`` of ``index.uniques`` under ``key``."""
        ids = self.slots(index)[positions]
        carried = ids >= 0
        if carried.any():
            self._values(key)[ids[carried]] = found[carried]


#: The carry in effect (see :func:`carrying`), or None.
_CARRY: Carry | None = None


def active_carry() -> Carry | None:
    """The :class:`Carry` in effect, if any."""
    return _CARRY


@contextmanager
def carrying(carry: Carry | None):
    """Make ``carry`` the one in effect for the block (None: none)."""
    global _CARRY
    previous, _CARRY = _CARRY, carry
    try:
        yield carry
    finally:
        _CARRY = previous


def judged_once(index: TextIndex, key: Any, needed: np.ndarray, judge: Callable[[np.ndarray], np.ndarray]
                ) -> np.ndarray:
    """Bool array over ``index.uniques``: ``judge(positions)`` (a bool per distinct text at those
    positions of ``uniques``, depending on the text alone) for the ``needed`` texts (a bool mask
    over ``uniques``; the others are False). Each text is judged once per column (the results
    kept on the index under ``key``, which names what is judged by its content) and, with a
    :class:`Carry` in effect, once per carry."""
    carry = _CARRY
    known = index.memo.get(key)
    if known is None:
        known = index.memo[key] = np.full(len(index.uniques), -1, dtype=np.int8)
        if carry is not None:
            carry.fill(index, key, known)
    todo = np.flatnonzero(needed & (known < 0))
    if len(todo):
        found = np.asarray(judge(todo), dtype=bool)
        known[todo] = found
        if carry is not None:
            carry.keep(index, key, todo, found)
    return needed & (known > 0)


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
