"""Streamed ingest: the inputs in chunks of bounded size, for out-of-core audits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qa.errors import InputError
from qa.ingest.build import _Part, agent_warning, build_part, contentless_note, continued_note
from qa.ingest.registry import _expand_inputs, open_source, skipped_inputs
from qa.ingest.table import IngestNotes, ReadOptions, make_options
from qa.xlsxlimits import ExcelLimits

# --------------------------------------------------------------------------- streaming

#: Column of :class:`IngestChunk` messages: the row's position among all audited rows of all
#: inputs in input order (file order, then row), i.e. the tie-breaker of the canonical sort.
ORDER_COLUMN = "input_order"
#: Default rows per chunk of :func:`stream_inputs`.
CHUNK_ROWS = 250_000


@dataclass
class IngestChunk:
    """A piece of the streamed inputs: audited rows in input order, and the rows refused."""

    messages: pd.DataFrame  # MESSAGE_COLUMNS + ORDER_COLUMN, input order, not sorted
    rejected: pd.DataFrame  # REJECTED_COLUMNS, by file then row


class StreamedInputs:
    """The inputs of :func:`stream_inputs`, read one chunk at a time.

    Iterating gives :class:`IngestChunk` objects in input order; once iterated, ``input_rows``,
    ``files``, ``has_timestamps`` and ``notes`` equal what :func:`load_inputs` reports, and
    the chunks' messages and rejected rows, concatenated, are its message table before the
    sort and its rejected table, both before the repeats of earlier messages are taken out
    (sorting the messages by session, time, seq and :data:`ORDER_COLUMN`, then
    :func:`qa.ingest.duplicates.drop_duplicates`, gives its tables exactly; the out-of-core
    audit finds the same repeats without holding the table).
    """

    def __init__(self, paths: list[str], options: ReadOptions, chunk_rows: int,
                 skipped: list[tuple[str, str]] | None = None) -> None:
        self.paths = paths
        self._skipped = skipped or []
        self.input_rows = 0
        self.files: list[str] = []
        self.has_timestamps = False
        self.notes: list[str] = []
        self.refused: list[tuple[str, str]] = []
        self._options = options
        self._chunk_rows = max(1, int(chunk_rows))

    def __iter__(self) -> Iterator[IngestChunk]:
        notes = IngestNotes()
        for skipped, why in self._skipped:
            notes.add(f"skipped {{files}}: {why}", skipped)
        order = 0
        refused = self.refused if len(self.paths) > 1 else None
        for path in self.paths:
            for part in read_input(path, self._options, notes, self._chunk_rows, refused):
                messages = part.messages
                messages[ORDER_COLUMN] = np.arange(order, order + len(messages), dtype=np.int64)
                order += len(messages)
                self.input_rows += part.input_rows
                self.has_timestamps |= part.has_timestamps
                yield IngestChunk(messages, part.rejected)
            if not (refused and refused[-1][0] == path):
                self.files.append(path)
        self.refused.extend(notes.refused_members)
        self.notes = notes.render()


def stream_inputs(
    inputs: Sequence[str],
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    timezone: str = "Asia/Shanghai",
    agent_pattern: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    excel_limits: ExcelLimits | None = None,
    header_row: int | None = None,
) -> StreamedInputs:
    """Like :func:`load_inputs`, but without holding the inputs in memory: the rows come in
    chunks of at most ``chunk_rows`` (for out-of-core audits of inputs larger than memory).

    Each file goes through the reader of its format (:mod:`qa.ingest.registry`), which
    decides what holds for the whole file (parser, whether times are used) before its first
    chunk. Arguments are checked, and inputs expanded, before returning.
    """
    options = make_options(columns, encoding, sheet, timezone, agent_pattern, excel_limits, header_row)
    return StreamedInputs(_expand_inputs(inputs), options, chunk_rows, skipped_inputs(inputs))


def read_input(path: str, options: ReadOptions, notes: IngestNotes, chunk_rows: int | None,
               refused: list[tuple[str, str]] | None) -> Iterator[_Part]:
    """:func:`read_parts` of one input of several: an input the reader refuses before its first
    rows (no role legend, no header, a layout it cannot read) is added to ``refused`` with the
    reason and noted as skipped, so that one bad export in a nightly folder does not stop the
    audit of the others. With ``refused`` None (a single input) the refusal stops the run. A
    refusal after rows were read stops it too: a file is never half audited."""
    parts = read_parts(path, options, notes, chunk_rows)
    try:
        first = next(parts)
    except StopIteration:
        return
    except InputError as error:
        if refused is None:
            raise
        refused.append((path, str(error)))
        notes.add(f"skipped {{files}}: not read ({error})", path)
        return
    yield first
    yield from parts


def read_parts(path: str, options: ReadOptions, notes: IngestNotes, chunk_rows: int | None) -> Iterator[_Part]:
    """One input, through the reader of its format, as interpreted parts of at most
    ``chunk_rows`` rows (one part when None: the in-memory audit); its notes go to ``notes``
    in one order whatever the chunking (read notes, then interpretation notes)."""
    source = open_source(path, options, chunk_rows)
    build_notes = IngestNotes()  # notes of interpreting: the same for every chunk, kept once
    counts: dict[str, int] = {}
    for index, table in enumerate(source.tables()):
        yield build_part(
            table, options, build_notes if index == 0 else IngestNotes(), has_times=source.has_times, counts=counts
        )
    for collected in (source.notes, build_notes):
        for template, sources in collected._sources.items():
            for name in sources:
                notes.add(template, name)
    notes.refused_members.extend(source.notes.refused_members)
    if counts.get("contentless"):
        notes.add(contentless_note(counts["contentless"]), path)
    if counts.get("continued"):
        notes.add(continued_note(counts["continued"]), path)
    if counts.get("seq_ignored"):
        notes.add(f"{{files}}: {counts['seq_ignored']} non-numeric seq value(s) ignored", path)
    agent_warning(counts, path, notes)  # judged on the whole file, whatever the chunking
