"""Chat transcripts as plain text (千牛 聊天记录 exported as .txt): blocks per buyer, each opened by a
``买家：lily_2019`` line between rules, and in them one message per paragraph: a line
``2026-11-27 11:04:44 禾木生活旗舰店:小芸`` (time, then the sender, who may have a space in the name)
followed by the message's lines. Read as a table of messages (the buyer, time, sender and text of
each; its row the line number of its time line), whose roles and sessions the reader then works
out as for any export: the buyer is the customer, a session is the buyer's day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa.errors import InputError
from qa.ingest.build import WholeFileSource, columns_from_head
from qa.ingest.encoding import detect_encoding, to_utf8
from qa.ingest.roles import ROLE_SAMPLE_ROWS
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions
from qa.model import empty_rejected
from qa.regexcache import compile_regex

# a message's first line: its date and time, then who sent it
_MESSAGE_HEAD = compile_regex(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\d{1,2}:\d{2}:\d{2})\s+(\S.{0,60}?)\s*$")
# a block's heading: the buyer whose chat follows (买家：lily_2019    （共 8 条消息）)
_BUYER = compile_regex(r"^\s*(?:买家|客户|顾客|用户|访客)(?:昵称|账号)?\s*[:：]\s*(.+?)\s*(?:[（(]\s*共.*)?$")
_RULE = compile_regex(r"^\s*[=\-—_*~·]{5,}\s*$")
# the columns given to the messages, named as the vocabularies know them
NAMES = ["买家", "发送时间", "发送人", "消息内容"]


def looks_like_chat_text(head: str) -> bool:
    """Whether the first part of a text file is a transcript: buyer headings and at least three
    message lines that follow a blank line, and hardly a delimiter."""
    lines = head.splitlines()
    heads = sum(1 for before, line in zip(["", *lines], lines) if not before.strip() and _MESSAGE_HEAD.match(line))
    buyers = sum(1 for line in lines if _BUYER.match(line))
    return heads >= 3 and buyers >= 1 and sum(line.count(",") + line.count("\t") for line in lines) < len(lines)


def _messages(text: str) -> tuple[list[list[str]], list[int]]:
    """The messages of a transcript, and the line number of each one's first line. A time line
    opens a message only after a blank line, a rule or a heading: a message's own text may begin
    with a date and a time ("2026-11-24 21:10 下的单")."""
    rows: list[list[str]] = []
    numbers: list[int] = []
    buyer, open_message, after_break = "", False, True
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            after_break = True
            continue
        found_buyer = _BUYER.match(line)
        if found_buyer and after_break:
            buyer, open_message, after_break = found_buyer.group(1), False, True
            continue
        if _RULE.match(line):
            open_message, after_break = False, True
            continue
        found = _MESSAGE_HEAD.match(line) if after_break else None
        if found and buyer:
            rows.append([buyer, found.group(1), found.group(2), ""])
            numbers.append(number)
            open_message, after_break = True, False
            continue
        if open_message:
            rows[-1][3] = f"{rows[-1][3]}\n{line.strip()}" if rows[-1][3] else line.strip()
        after_break = False
    return rows, numbers


class ChatTextSource(WholeFileSource):
    """A plain-text transcript, read whole (see the module's docstring)."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        notes = IngestNotes()
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        encoding = detect_encoding(path, raw[:65536], options.encoding, final=True)
        text = to_utf8(path, raw, encoding).decode("utf-8", "replace")
        rows, numbers = _messages(text)
        if not rows:
            raise InputError(f"{path} holds no message of a chat transcript")
        cells = pd.DataFrame(rows, columns=range(len(NAMES)), dtype="str")
        columns = columns_from_head(NAMES, options.columns, path, "", cells.iloc[:ROLE_SAMPLE_ROWS].values.tolist())
        notes.add("{files} is a chat transcript in text (a time-and-sender line, then the message, per buyer "
                  "block): read message by message, each at the line of its time", path)
        table = RawTable(path, "", columns, cells, np.asarray(numbers, dtype=np.int64), empty_rejected())
        super().__init__([table], notes, chunk_rows)


FORMAT = Format("chat transcript text", (), (), ChatTextSource)
