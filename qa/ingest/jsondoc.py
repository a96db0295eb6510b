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
from qa.ingest.jsonl import _read as read_json_lines
from qa.ingest.table import Format, _rejected_frame

JSON_EXTENSIONS = (".json",)
# a message object names a text and one of these (an export's header would)
_MESSAGE_FIELDS = frozenset({"timestamp", "role", "sender", "agent", "customer"})
# the fields of a message an enclosing object must not lend it (a response's msg: success is no text)
_MESSAGE_PARTS = frozenset({"text", "timestamp", "role", "sender", "agent_flag", "bot_flag", "msg_type", "msg_status",
                            "seq", "sender_id", "receiver", "receiver_id"})


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
    documents = _documents(text)
    if documents is None:
        # not a sequence of JSON values: JSON Lines saved as .json with a broken line, read line by
        # line (that line rejected with its reason, the others read)
        return read_json_lines(path)
    # every object's opening brace, in the order of the text: a walk of the documents meets the
    # objects in that order too
    opens = _object_offsets(text)
    line_starts = np.flatnonzero(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == 10)
    records: list[dict[str, str | None]] = []
    offsets: list[int] = []
    counter = iter(range(len(opens)))
    _HOLDS.clear()
    try:
        for document in documents:
            _collect(document, {}, counter, records, offsets)
    finally:
        _HOLDS.clear()
    if not records:
        raise InputError(f"cannot read {path}: no list of messages found in it (objects with a text and a time, "
                         "sender or role)")
    names = list(dict.fromkeys(name for record in records for name in record))
    table = pa.table({name: pa.array([record.get(name) for record in records], pa.string()) for name in names})
    lines = np.searchsorted(line_starts, np.asarray([opens[k] for k in offsets], dtype=np.int64)) + 1
    return table, lines.astype(np.int64), _rejected_frame([], [], [], [])


def _documents(text: str) -> list[Any] | None:
    """The JSON values of the text, one after the other (a file of appended responses); None when
    the text is not such a sequence."""
    decoder = json.JSONDecoder()
    values, at = [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return values
        try:
            value, at = decoder.raw_decode(text, at)
        except (json.JSONDecodeError, RecursionError):  # (nested deeper than Python's stack: no chat export)
            return None
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


def _holds_list(value: Any) -> bool:
    """Whether a value holds a list at any depth."""
    if isinstance(value, list):
        return True
    return isinstance(value, dict) and any(_holds_list(item) for item in value.values())


# _holds_messages of the objects and lists of the documents being read, by id (a walk asks it of every
# level: without it, messages quoting messages take time exponential in the depth)
_HOLDS: dict[int, bool] = {}


def _holds_messages(value: Any) -> bool:
    """Whether a value holds, at any depth, a list of message objects."""
    if not isinstance(value, (list, dict)):
        return False
    key = id(value)
    known = _HOLDS.get(key)
    if known is None:
        if isinstance(value, list):
            known = any(_is_message(item) for item in value) or any(_holds_messages(item) for item in value)
        else:
            known = any(_holds_messages(item) for item in value.values())
        _HOLDS[key] = known
    return known


def _is_message(value: Any) -> bool:
    """A message object: it looks like one (a text and a time, sender or role field) and holds no
    messages itself (a session object with a 会话已结束 ``message`` beside its ``messages`` is no message)."""
    return isinstance(value, dict) and _looks_like_message(_plain(value)) and not _holds_messages(value)


def _plain(value: dict) -> dict[str, str | None]:
    """An object's own fields, flat (user.nickname as user_nickname), less those holding a list."""
    return _flat_record({key: item for key, item in value.items() if not _holds_list(item)})


def _around(value: dict) -> dict[str, str | None]:
    """What an enclosing object gives its messages: its plain fields that name no message part (a
    response's msg: success or code is none of theirs; a session's session_id and user are)."""
    return {name: item for name, item in _plain(value).items() if field_of(name) not in _MESSAGE_PARTS}


def _collect(value: Any, around: dict[str, str | None], counter, records: list, offsets: list) -> None:
    """Walk ``value`` in text order, numbering its objects; each message object (:func:`_is_message`)
    becomes a record with the fields the objects ``around`` it give."""
    if isinstance(value, dict):
        number = next(counter)
        if _is_message(value):
            flat = _flat_record(value)
            records.append({**{k: v for k, v in around.items() if k not in flat}, **flat})
            offsets.append(number)
            for item in value.values():
                _skip_objects(item, counter)
            return
        inner = {**around, **_around(value)}
        for item in value.values():  # (the keys in text order)
            if isinstance(item, (dict, list)):
                _collect(item, inner, counter, records, offsets)
            # (plain values hold no objects)
        return
    if isinstance(value, list):
        objects = [item for item in value if isinstance(item, dict)]
        if objects and 2 * sum(1 for item in objects if _is_message(item)) >= len(objects):
            # a list of messages: each of its objects is one, the few without a text among them too
            # (an order card, a picture of only a url)
            for item in value:
                if isinstance(item, dict) and not _holds_messages(item):
                    number = next(counter)
                    flat = _flat_record(item)
                    records.append({**{k: v for k, v in around.items() if k not in flat}, **flat})
                    offsets.append(number)
                    for inner in item.values():
                        _skip_objects(inner, counter)
                else:
                    _collect(item, around, counter, records, offsets)
            return
        for item in value:
            _collect(item, around, counter, records, offsets)


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
