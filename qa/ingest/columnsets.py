"""Two exports of different column sets joined into one table (``pd.concat`` of an old and a new
千牛 export, then ``to_csv``): the header is the union of both, and each row fills only its own
export's columns. Read as one header, two columns look like the same field (会话ID and 会话编号);
read as two, each export's rows have the columns their export wrote."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def column_sets(cells: pd.DataFrame, header_at: int, names: Sequence[str], skip: np.ndarray,
                clashing: Sequence[str]) -> list[tuple[list[str], np.ndarray]] | None:
    """The column sets of a table whose ``clashing`` columns (named like one field) are never
    filled on the same row: per set, the header with the names of the columns only the other sets
    fill left blank, and which rows are its own (those filling its clashing column, and rows filling
    none of them with the row above). None when a row fills two of them, one of them is never filled,
    or the sets' rows interleave (a sparse column, not two exports): then the clash stands.

    ``cells`` are the table's text cells, ``header_at`` the header's row, ``skip`` the rows that are
    no messages (blank, headings)."""
    stripped = [str(name).strip() for name in names]
    positions = [at for at, name in enumerate(stripped) if name and name in set(clashing)]
    if len(positions) < 2:
        return None
    body = np.zeros(len(cells), dtype=bool)
    body[header_at + 1:] = True
    body &= ~skip
    width = min(len(names), cells.shape[1])
    filled = np.column_stack([cells[at].astype("str").str.strip().ne("").to_numpy() for at in range(width)]) & body[:, None]
    holders = np.column_stack([filled[:, at] for at in positions])
    if (holders.sum(axis=1) > 1).any() or not holders.any(axis=0).all():
        return None
    # each row's set: the clashing column it fills, else the set of the row above (the first set at the top)
    owner = np.where(holders.any(axis=1), holders.argmax(axis=1), -1)
    known = np.flatnonzero(owner >= 0)
    filled_from = np.maximum.accumulate(np.where(owner >= 0, np.arange(len(owner)), -1))
    owner = np.where(filled_from >= 0, owner[np.maximum(filled_from, 0)], owner[known[0]])
    owner = np.where(body, owner, -1)
    # two exports joined: each set's rows are one run (or a few), not scattered row by row
    in_body = owner[body]
    if np.count_nonzero(np.diff(in_body)) > 2 * len(positions):
        return None
    sets: list[tuple[list[str], np.ndarray]] = []
    for k in range(len(positions)):
        own = owner == k
        own_columns = filled[own].any(axis=0)
        others = filled[(owner >= 0) & ~own].any(axis=0)
        header = [name if own_columns[at] or not others[at] else "" for at, name in enumerate(names[:width])]
        header += list(names[width:])
        sets.append((header, own))
    return sets
