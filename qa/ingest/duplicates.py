"""Messages exported twice: the rows that repeat an earlier message exactly.

Two overlapping exports joined into one file (09:00–12:00 and 11:00–14:00 pasted one under the
other), or given side by side in a folder, hold the messages of the overlap twice; auditing both
would double their findings. Rows are equal when their session, time, sequence number, role,
agent and text are all equal (:data:`DUPLICATE_KEY`, the message as read, so two files in
different layouts meet too). A repeat is rejected naming the first of its equal rows, which is
audited.

Equal rows are not always a repeat: a customer who sends three photos at once ([图片] three times
in one second), or 在吗 twice in a row, makes rows equal in every field such an export has. Such
a burst sits in consecutive rows of the file; a repeat of an overlapping export comes back after
other rows. So equal rows that follow each other directly are separate messages, and of equal rows
as many are kept, first in input order, as their longest unbroken run holds: [图片] x3 once is three
messages, [图片] x3 exported twice is three messages and three repeats. What cannot be told apart
is a burst split by an overlap's edge right between its rows, or equal messages sent apart at
the same second (rows of other sessions between them).
A row without a time is never a repeat: without one, 好的 said twice in a session is two messages.

The in-memory read finds them over the whole message table (:func:`drop_duplicates`); the
out-of-core audit, which never holds that table, over the few rows whose :func:`fingerprints`
are equal (:func:`possible_duplicates`), a superset of every group of equal rows, which gives the
same rows (:mod:`qa.audit.outofcore`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.ingest.table import IngestNotes, _clip, _rejected_frame
from qa.model import empty_rejected

#: The fields of a message that make a row a repeat of another when all are equal.
DUPLICATE_KEY = ["session_id", "timestamp", "seq", "role", "agent", "text"]


@dataclass
class Duplicates:
    """The rows of a message table that repeat an earlier row, and their rejection."""

    positions: np.ndarray  # positions in the table given, in its order
    rejected: pd.DataFrame  # REJECTED_COLUMNS, one row per repeat, in input order


def find_duplicates(messages: pd.DataFrame, input_order: np.ndarray) -> Duplicates:
    """The repeats among ``messages`` (sorted as ingest sorts: session, time, seq, input order;
    ``input_order`` is each row's position among all audited rows in input order)."""
    candidates = np.flatnonzero(_shares_its_moment(messages))
    if not len(candidates):
        return Duplicates(np.zeros(0, dtype=np.int64), empty_rejected())
    rows = messages.iloc[candidates]
    group = rows.groupby(DUPLICATE_KEY, sort=False, dropna=False).ngroup().to_numpy()
    file, _ = pd.factorize(rows["source_file"] + "\x00" + rows["source_sheet"])
    by_group = np.lexsort((input_order[candidates], group))  # each group's rows in input order
    repeats, originals = _beyond_longest_run(group[by_group], input_order[candidates][by_group], file[by_group])
    positions, originals = candidates[by_group][repeats], candidates[by_group][originals]
    by_input = np.argsort(input_order[positions], kind="stable")
    return Duplicates(positions, _rejected(messages, positions[by_input], originals[by_input]))


def _beyond_longest_run(group: np.ndarray, order: np.ndarray, file: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by ``group`` of equal rows, then input ``order``: which rows are repeats
    (after as many rows of their group as its longest run of rows consecutive in one ``file``),
    and for those the position of their group's first row."""
    starts_group = np.r_[True, group[1:] != group[:-1]]
    starts_run = starts_group | np.r_[True, (order[1:] != order[:-1] + 1) | (file[1:] != file[:-1])]
    run = np.cumsum(starts_run) - 1
    run_length = np.bincount(run)[run]
    group_start = np.flatnonzero(starts_group)
    longest = np.maximum.reduceat(run_length, group_start)
    index = np.cumsum(starts_group) - 1
    rank = np.arange(len(group)) - group_start[index]
    repeats = rank >= longest[index]
    return repeats, group_start[index][repeats]


def drop_duplicates(messages: pd.DataFrame, input_order: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``messages`` (sorted as ingest sorts) without the repeats, and the repeats' rejection."""
    found = find_duplicates(messages, input_order)
    if not len(found.positions):
        return messages, found.rejected
    keep = np.ones(len(messages), dtype=bool)
    keep[found.positions] = False
    return messages[keep].reset_index(drop=True), found.rejected


def _shares_its_moment(messages: pd.DataFrame) -> np.ndarray:
    """Rows with a time whose session, time and seq equal the row before or after (sorted, a
    repeat sits in such a run with its original): the few rows worth comparing in full."""
    if len(messages) < 2:
        return np.zeros(len(messages), dtype=bool)
    sessions = pa.array(messages["session_id"])
    times = messages["timestamp"].array.asi8
    seq = messages["seq"].to_numpy(dtype=float)
    same = np.asarray(pc.equal(sessions[1:], sessions[:-1]).to_numpy(zero_copy_only=False), dtype=bool)
    same &= (times[1:] == times[:-1]) & messages["timestamp"].notna().to_numpy()[1:]
    same &= (seq[1:] == seq[:-1]) | (np.isnan(seq[1:]) & np.isnan(seq[:-1]))
    shares = np.zeros(len(messages), dtype=bool)
    shares[1:] |= same
    shares[:-1] |= same
    return shares


def _rejected(messages: pd.DataFrame, positions: np.ndarray, originals: np.ndarray) -> pd.DataFrame:
    """The rejection of each repeat: its file and row, and the row it repeats."""
    rows = messages.iloc[positions]
    files = [_where(file, sheet) for file, sheet in zip(rows["source_file"], rows["source_sheet"])]
    first = messages.iloc[originals]
    reasons = []
    for file, (first_file, first_sheet, first_row) in zip(
            files, zip(first["source_file"], first["source_sheet"], first["source_row"])):
        place = _where(first_file, first_sheet)
        of = "" if place == file else f" of {place}"
        reasons.append(f"duplicate: the same session, time, role, agent and text as row {first_row}{of} "
                       "(a message exported twice)")
    raws = [_clip(",".join(str(value) for value in values))
            for values in rows[["session_id", "timestamp", "role", "agent", "text"]].itertuples(index=False)]
    return _rejected_frame(files, rows["source_row"].to_numpy(dtype=np.int64), reasons, raws)


def note_duplicates(rejected: pd.DataFrame, notes: IngestNotes) -> None:
    """A note per file of how many of its rows the repeats (``rejected``) are."""
    for file, count in rejected["file"].value_counts(sort=False).items():
        notes.add(f"{{files}}: {count} row(s) repeat an earlier row exactly (overlapping exports joined?): "
                  "rejected as duplicates", file)


def _where(file: str, sheet: str) -> str:
    """A row's file as rejected rows name it: with its sheet for a workbook."""
    return f"{file} (sheet '{sheet}')" if sheet else file


# --------------------------------------------------------------------------- out of core


def fingerprints(messages: pd.DataFrame) -> np.ndarray:
    """A 64-bit value per row, equal for rows equal in :data:`DUPLICATE_KEY` (the text stands in
    by its length: hashing a million texts costs 0.4 s, their lengths nothing); rows without a
    time, which are never repeats, get 0 and are not compared."""
    key = pd.DataFrame({
        "session_id": messages["session_id"],
        "timestamp": messages["timestamp"].array.asi8,
        "seq": messages["seq"].to_numpy(dtype=float),
        "role": messages["role"],
        "agent": messages["agent"],
        "length": pc.utf8_length(pa.array(messages["text"])).to_numpy(zero_copy_only=False),
    })
    values = pd.util.hash_pandas_object(key, index=False).to_numpy(dtype=np.uint64, copy=True)
    values[values == 0] = 1  # 0 marks the rows not compared
    values[messages["timestamp"].isna().to_numpy()] = 0
    return values


def possible_duplicates(values: np.ndarray) -> np.ndarray:
    """The positions of the rows whose fingerprint (:func:`fingerprints`, ``values`` in input
    order) another row shares: every repeat and its original are among them."""
    timed = np.flatnonzero(values != 0)
    if not (np.diff(np.sort(values[timed])) == 0).any():  # the usual answer, for half an argsort's time
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values[timed], kind="stable")
    ranked = values[timed][order]
    same = ranked[1:] == ranked[:-1]
    shared = np.zeros(len(ranked), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    return np.sort(timed[order[shared]])
