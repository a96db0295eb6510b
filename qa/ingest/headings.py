"""Transcripts in blocks: a sheet where each conversation opens with a heading line of its own
(``会话：2100  买家：jack_wang88  客服：糖糖  开始时间：2026-11-28 09:34:45``), often followed by the
column header again, and whose message rows hold no session id (and only a time of day). The
headings give the rows below them their conversation and its date; they, and the repeated header
lines, are no messages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qa.ingest.header import field_of
from qa.regexcache import compile_regex

# a conversation's id in a heading line: 会话：2100, 会话ID: 2100, 对话编号：A-17, 咨询单号 …
_SESSION_LABEL = compile_regex(r"(?:会话|对话|咨询|工单)(?:ID|id|编号|号|单号)?\s*[:：]\s*([^\s,，;；|]+)")
# the day of a heading or a session's start: 开始时间：2026-11-28 09:34:45, 日期：2026年11月28日
_DAY = compile_regex(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
# a cell that may name a conversation (the test of every cell of a sheet, vectorised, before _SESSION_LABEL)
_LABEL_WORD = r"(?:会话|对话|咨询|工单)"


def day_in(text: str) -> str:
    """The first date written in ``text`` as YYYY-MM-DD, or ""."""
    found = _DAY.search(text)
    return f"{found.group(1)}-{int(found.group(2)):02d}-{int(found.group(3)):02d}" if found else ""
# the agent serving the conversation: 客服：糖糖, 接待客服: 客服-可可
_HEADING_AGENT = compile_regex(r"(?:接待)?(?:客服|坐席)(?:昵称|名称|账号)?\s*[:：]\s*([^\s,，;；|]+)")
# the columns given to the message rows, named as the vocabularies know them
SESSION_NAME, DATE_NAME, AGENT_NAME = "会话ID", "日期", "客服"


@dataclass(frozen=True)
class Headings:
    """The block layout of a sheet: the cells with a session and a date column added, the rows that
    are headings or repeated header lines (no messages), and the header's names with the two added."""

    cells: pd.DataFrame
    not_messages: np.ndarray
    names: list[str]
    count: int


def block_headings(cells: pd.DataFrame, blank: np.ndarray, header_at: int, names: list[str]) -> Headings | None:
    """The sheet read as a transcript in blocks, or None when it is not one: it has no session column,
    and lines holding one cell that names a conversation (:data:`_SESSION_LABEL`) stand above
    its blocks (the first may stand above the header)."""
    if any(field_of(name) == "session_id" for name in names if name):
        return None
    # only the rows with a cell naming a conversation word are looked at one by one (a sheet of a million
    # messages is not copied nor walked row by row)
    labelled = np.zeros(len(cells), dtype=bool)
    for column in cells.columns:
        labelled |= cells[column].str.contains(_LABEL_WORD, regex=True).to_numpy(dtype=bool, na_value=False)
    if not labelled.any():
        return None
    heading_ids: dict[int, tuple[str, str, str]] = {}
    candidates = np.flatnonzero(labelled & ~blank)
    for row, line in zip(candidates.tolist(), cells.iloc[candidates].to_numpy(dtype=object)):
        cells_filled = [cell for cell in line if cell]
        found = _SESSION_LABEL.search(cells_filled[0]) if len(cells_filled) == 1 else None
        if found:
            agent = _HEADING_AGENT.search(cells_filled[0])
            heading_ids[int(row)] = (found.group(1), day_in(cells_filled[0]), agent.group(1) if agent else "")
    below = [row for row in heading_ids if row > header_at]
    unblank = np.flatnonzero(~blank[header_at + 1:])
    first_row = int(unblank[0]) + header_at + 1 if len(unblank) else None
    # the first block must open with its heading (above the header or right below it): a summary line
    # at the end (合计 会话：13) heads no block
    if not below or not (any(row < header_at for row in heading_ids) or first_row in heading_ids):
        return None
    values = cells.to_numpy(dtype=object)  # a transcript in blocks: each row is walked below
    header = [str(cell).strip() for cell in values[header_at]]
    sessions = np.full(len(values), "", dtype=object)
    dates = np.full(len(values), "", dtype=object)
    agents = np.full(len(values), "", dtype=object)
    not_messages = np.zeros(len(values), dtype=bool)
    session, date, agent, opened = "", "", "", False
    for row in range(len(values)):
        if row in heading_ids:
            (session, date, agent), opened = heading_ids[row], True
            not_messages[row] = row > header_at
            continue
        if row <= header_at or blank[row]:
            continue
        if [str(cell).strip() for cell in values[row]] == header:  # the header again under a heading
            not_messages[row] = True
            continue
        sessions[row], agents[row] = session, agent
        if opened:  # a conversation's date on its first row only: the reader turns it at midnight
            dates[row], opened = date, False
    sessions[header_at], dates[header_at], agents[header_at] = SESSION_NAME, DATE_NAME, AGENT_NAME
    fields = {field_of(name) for name in names if name}
    extra = {SESSION_NAME: sessions}
    if "date" not in fields and any(dates[header_at + 1:]):
        extra[DATE_NAME] = dates
    if "agent" not in fields and any(agents[header_at + 1:]):
        extra[AGENT_NAME] = agents
    added = pd.concat([cells, pd.DataFrame(extra, index=cells.index)], axis=1)
    added.columns = range(added.shape[1])
    return Headings(added.astype("str"), not_messages, [*names, *extra], len(heading_ids))
