"""JSON documents (.json): what a shop's developer saves from the platform's chat API — one
response, a list of messages, or several responses appended to one file (page 1, page 2, each
pretty-printed) — with the messages wherever the response nests them
(``data.sessions[].messages[]``).

The messages are the objects of the deepest lists whose objects look like messages (a text field
and a time, role or sender field, as an export's header names them). Each message takes the plain
fields of the objects around it that it does not have itself (a session object's ``session_id``,
its ``user.nickname``), so a session named only on the enclosing object is read, and a session cut
by a page break is one session again. A message's row is the line of the ``{`` that opens it. The
records are then read as JSON Lines' are (:mod:`qa.ingest.jsonl`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from qa.errors import InputError
from qa.ingest.header import field_of
from qa.ingest.jsonl import JsonLinesSource, _flat_record
from qa.ingest.table import Format, _rejected_frame

JSON_EXTENSIONS = (".json",)
# a message object names a text and one of these (an export's header would)
_MESSAGE_FIELDS = frozenset({"timestamp", "role", "sender", "agent", "customer"})


class JsonDocumentSource(JsonLinesSource):
    """A .json file of one or more JSON documents, its messages as records."""

    @staticmethod
    def _read(path: str) -> tuple[pa.Table, np.ndarray, pd.DataFrame]:
        return _read_documents(path)


def _read_documents(path: str) -> tuple[pa.Table, np.ndarray, pd.DataFrame]:
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read {path}: a JSON file must be UTF-8") from None
    documents = _documents(text, path)
    # every object's opening brace, in the order of the text: a walk of the documents meets the
    # objects in that order too
    opens = _object_offsets(text)
    line_starts = np.flatnonzero(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == 10)
    records: list[dict[str, str | None]] = []
    offsets: list[int] = []
    counter = iter(range(len(opens)))
    for document in documents:
        _collect(document, {}, counter, records, offsets)
    if not records:
        raise InputError(f"cannot read {path}: no list of messages found in it (objects with a text and a time, "
                         "sender or role)")
    names = list(dict.fromkeys(name for record in records for name in record))
    table = pa.table({name: pa.array([record.get(name) for record in records], pa.string()) for name in names})
    lines = np.searchsorted(line_starts, np.asarray([opens[k] for k in offsets], dtype=np.int64)) + 1
    return table, lines.astype(np.int64), _rejected_frame([], [], [], [])


def _documents(text: str, path: str) -> list[Any]:
    """The JSON values of the text, one after the other (a file of appended responses)."""
    decoder = json.JSONDecoder()
    values, at = [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return values
        try:
            value, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise InputError(f"cannot read {path}: not JSON (line {exc.lineno}: {exc.msg})") from None
        values.append(value)


def _object_offsets(text: str) -> list[int]:
    """The offset of every ``{`` that opens an object (outside strings)."""
    offsets, inside, escaped = [], False, False
    for at, char in enumerate(text):
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif char == "{":
            offsets.append(at)
    return offsets


def _looks_like_message(record: dict[str, str | None]) -> bool:
    fields = {field_of(name) for name in record}
    return "text" in fields and bool(fields & _MESSAGE_FIELDS)


def _plain(value: dict) -> dict[str, str | None]:
    """An object's fields other than its lists, flat (user.nickname as user_nickname)."""
    return _flat_record({key: item for key, item in value.items() if not isinstance(item, list)})


def _collect(value: Any, around: dict[str, str | None], counter, records: list, offsets: list, top: bool = True) -> None:
    """Walk ``value`` in text order, numbering its objects; the objects of a list of messages become
    records with the plain fields of the objects ``around`` them (a document that is itself one
    message is one record)."""
    if isinstance(value, dict):
        number = next(counter)
        flat = _plain(value)
        if top and _looks_like_message(flat) and not any(isinstance(item, list) for item in value.values()):
            records.append(flat)
            offsets.append(number)
            for item in value.values():
                _skip_objects(item, counter)
            return
        inner = {**around, **flat}
        for item in value.values():  # (the keys in text order)
            if isinstance(item, (dict, list)):
                _collect(item, inner, counter, records, offsets, top=False)
        return
    if isinstance(value, list):
        objects = [item for item in value if isinstance(item, dict)]
        messages = [item for item in objects if _looks_like_message(_plain(item))]
        if messages and 2 * len(messages) >= len(objects):
            for item in value:
                if isinstance(item, dict):
                    number = next(counter)
                    flat = _plain(item)
                    for inner_value in item.values():
                        _skip_objects(inner_value, counter)
                    records.append({**{k: v for k, v in around.items() if k not in flat}, **flat})
                    offsets.append(number)
                else:
                    _skip_objects(item, counter)
            return
        for item in value:
            _collect(item, around, counter, records, offsets, top=top)


def _skip_objects(value: Any, counter) -> None:
    """Count the objects inside ``value`` (they are not messages)."""
    if isinstance(value, dict):
        next(counter)
        for item in value.values():
            _skip_objects(item, counter)
    elif isinstance(value, list):
        for item in value:
            _skip_objects(item, counter)


FORMAT = Format("JSON document", JSON_EXTENSIONS, (), JsonDocumentSource)
