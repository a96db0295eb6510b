"""A whole conversation in one cell (七鱼 / Udesk session lists exported with their chat: one row per
session, the messages in a 聊天记录 cell as ``[09:53:16] 晴天娃娃：这个还有货吗`` lines): each message
becomes a row of its own, keeping the session's row number, with its time (the day from the
session's start, the next day where the clock goes back past midnight), its sender and its text. A
line without a time and sender goes on the message above it.

Helpdesk exports write a conversation a turn per row (轮次, 轮次开始时间) with the turn's messages as
``顾客：…`` / ``客服：…`` / ``机器人：…`` lines without times: each line is a message of that role, at
the turn's start time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import regex

from qa.ingest.header import field_of, fold_name
from qa.ingest.headings import day_in
from qa.regexcache import compile_regex

# one message line: an optional date, the time (bracketed or not), the sender, a colon, the text
_MESSAGE_LINE = compile_regex(
    r"^\s*[\[【(（]?\s*(?:(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})\s+)?(\d{1,2}:\d{2}(?::\d{2})?)\s*[\]】)）]?\s*"
    r"([^：:\n\[\]【】]{1,40}?)\s*[：:]\s?(.*)$")
# a message cell of a session row opening with the sender and the time in brackets (顾客(09:05:40):…)
_SENDER_TIME_LINE = compile_regex(
    r"^\s*([^：:\n\[\]【】()（）]{1,40}?)\s*[(（]\s*(?:(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})\s+)?(\d{1,2}:\d{2}(?::\d{2})?)\s*[)）]"
    r"\s*[：:]\s?(.*)$")
# one message line named by its role alone, without a time (a helpdesk turn: 顾客：… / 客服：…)
_ROLE_LINE = compile_regex(r"^\s*(顾客|客户|买家|用户|访客|客人|会员|客服|人工客服|商家|卖家|坐席|机器人|智能助手|系统)\s*[：:]\s?(.*)$")
# the session-list columns that say nothing of a message (kept out of the message rows: a 会话结束时间
# beside the messages' own times would make the time column ambiguous)
_SESSION_ONLY = frozenset(fold_name(n) for n in (
    "会话结束时间", "会话时长", "满意度", "满意度评价", "评价结果", "首次响应时长", "平均响应时长", "消息数", "消息条数",
    "接待时长", "结束方式", "session_end", "duration", "rating", "satisfaction"))
_START = frozenset(fold_name(n) for n in ("会话开始时间", "会话开始", "开始时间", "会话创建时间", "进线时间", "接入时间",
                                            "session_start", "conversation_start",
                                            # a helpdesk turn's start: the time of its messages
                                            "轮次开始时间", "轮次时间", "本轮开始时间", "turn_start"))
# the columns given to the message rows, named as the vocabularies know them
TIME_NAME, SENDER_NAME, TEXT_NAME = "消息时间", "发送者", "消息内容"


def _message_line(line: str) -> tuple[str | None, str | None, str, str] | None:
    """(written day, clock, sender, text) of a message line, day and clock None for a role line."""
    found = _MESSAGE_LINE.match(line)
    if found:
        return found.groups()
    found = _ROLE_LINE.match(line)
    return (None, None, found.group(1), found.group(2)) if found else None


def transcript_at(header: Sequence[str], sample: Sequence[Sequence[str]], *, roles_only: bool = False) -> int | None:
    """The column whose cells hold whole conversations (two or more message lines each) in most of the
    ``sample``'s filled cells, or None. ``roles_only``: only cells of lines named by a role (顾客：…)
    count (a table whose text column is read as such otherwise)."""
    def lines_in(cell: str) -> int:
        if roles_only:
            return sum(1 for line in cell.splitlines() if _ROLE_LINE.match(line))
        return sum(1 for line in cell.splitlines() if _message_line(line) is not None)

    for at in range(len(header)):
        cells = [str(row[at]) for row in sample if len(row) > at and str(row[at]).strip()]
        if len(cells) < 1:
            continue
        whole = sum(1 for cell in cells if lines_in(cell) >= 2)
        if whole * 2 > len(cells):
            return at
    return None


def exploded(data: pd.DataFrame, rows: np.ndarray, header: Sequence[str], at: int
             ) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The message rows of a session list (``data``: its data rows as text, ``rows`` their row
    numbers): the session's other cells on each (less the columns of the session only), then the
    message's time, sender and text. Returns the cells, each message's row number and the names."""
    folded = [fold_name(name) for name in header]
    fields = [field_of(name) for name in header]
    # with a customer column, a message's sender tells its role and names its agent (a transfer hands the
    # chat to another agent than the session's 接待客服)
    # (a role line names no one: the agent column stays then)
    named = any(_MESSAGE_LINE.match(line) for cell in data[data.columns[at]].astype(str).head(50)
                for line in cell.splitlines())
    drop_agent = "customer" in fields and named
    kept = [i for i, name in enumerate(folded) if i != at and name not in _SESSION_ONLY and name not in _START
            and not (drop_agent and fields[i] == "agent")]
    start = next((i for i, name in enumerate(folded) if name in _START), None)
    out: list[list[str]] = []
    numbers: list[int] = []
    for values, number in zip(data.itertuples(index=False, name=None), rows.tolist()):
        date = day_in(str(values[start])) if start is not None else ""
        base = [str(values[i]) for i in kept]
        last_clock, ahead = -1, 0
        for line in str(values[at]).splitlines():
            found = _message_line(line)
            if not found:
                if out and numbers[-1] == number and line.strip():  # the message above goes on
                    out[-1][-1] += "\n" + line.strip()
                continue
            written_day, clock, sender, text = found
            if clock is None:  # a role line: the turn's time
                out.append([*base, str(values[start]).strip() if start is not None else "", sender, text.strip()])
                numbers.append(number)
                continue
            hours, minutes, *seconds = (int(part) for part in clock.split(":"))
            at_clock = hours * 3600 + minutes * 60 + (seconds[0] if seconds else 0)
            if written_day:
                stamp = f"{written_day} {clock}"
            else:
                ahead += at_clock < last_clock  # past midnight: the next day
                stamp = f"{_plus_days(date, ahead)} {clock}" if date else clock
            last_clock = at_clock
            out.append([*base, stamp, sender.strip(), text.strip()])
            numbers.append(number)
    names = [str(header[i]) for i in kept] + [TIME_NAME, SENDER_NAME, TEXT_NAME]
    cells = pd.DataFrame(out, columns=range(len(names)), dtype="str") if out else pd.DataFrame(
        columns=range(len(names)), dtype="str")
    return cells, np.asarray(numbers, dtype=np.int64), names


def _plus_days(date: str, days: int) -> str:
    if not days:
        return date
    return (pd.Timestamp(date) + pd.Timedelta(days=days)).strftime("%Y-%m-%d")


# A conversation a question-and-answer turn per row (晓多 问答明细: 提问时间, 买家消息, 回复时间, 回复人, 回复内容): the
# customer's message and the reply to it, each with its own time, on one row. The columns by their names.
_PAIR_NAMES = {
    "ask_text": compile_regex(r"^(?:买家|顾客|客户|用户|访客|会员)(?:消息|发言|问题|提问)(?:内容)?$|^(?:提问|问题)(?:内容)?$"),
    "ask_time": compile_regex(r"^(?:提问|买家|顾客|客户|用户|访客|会员)(?:消息|发言|提问)?时间$"),
    "answer_text": compile_regex(r"^(?:回复|答复|回答)(?:内容|消息)?$|^(?:客服|商家|坐席|卖家)(?:回复|消息|发言)(?:内容)?$"),
    "answer_time": compile_regex(r"^(?:回复|答复|回答)时间$|^(?:客服|商家|坐席|卖家)(?:回复)?时间$"),
    "answer_by": compile_regex(r"^(?:回复|答复|回答)(?:人|者|客服|方|账号)$"),
}
# what a turn row says of the pair, not of a message (响应时长: the seconds between question and answer)
_PAIR_ONLY = compile_regex(r"时长|响应|耗时|间隔|duration|latency", regex.IGNORECASE)
ROLE_NAME = "角色"


def turn_pairs_at(header: Sequence[str]) -> dict[str, int] | None:
    """The columns of a question-and-answer row (``_PAIR_NAMES``: the question's and the answer's text and
    time at least, the answer's sender if named), or None."""
    found: dict[str, int] = {}
    for at, name in enumerate(header):
        key = fold_name(str(name))
        for part, pattern in _PAIR_NAMES.items():
            if part not in found and pattern.match(key):
                found[part] = at
                break
    needed = ("ask_text", "ask_time", "answer_text", "answer_time")
    return found if all(part in found for part in needed) else None


def pairs_exploded(data: pd.DataFrame, rows: np.ndarray, header: Sequence[str], at: dict[str, int]
                   ) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The message rows of a question-and-answer table (``data``: its data rows as text, ``rows`` their row
    numbers): each row's question (the customer's, sent by the customer column's name) and its answer (the
    shop's, sent by the answer's sender: an agent, the robot or a notice), each with its own time and the
    row's other cells. A row may hold only one of them. Returns the cells, each message's row number and the
    names."""
    fields = [field_of(str(name)) for name in header]
    customer = next((i for i, field in enumerate(fields) if field == "customer"), None)
    taken = set(at.values())
    # (the session's serving agents, 晓多机器人/极光-小鹿, name no message's sender when the answer names its own)
    kept = [i for i, name in enumerate(header) if i not in taken and not _PAIR_ONLY.search(str(name))
            and not ("answer_by" in at and fields[i] in ("agent", "role", "sender"))]
    out: list[list[str]] = []
    numbers: list[int] = []
    for values, number in zip(data.itertuples(index=False, name=None), rows.tolist()):
        base = [str(values[i]) for i in kept]
        asked, answered = str(values[at["ask_text"]]).strip(), str(values[at["answer_text"]]).strip()
        if asked:
            who = str(values[customer]).strip() if customer is not None else ""
            out.append([*base, str(values[at["ask_time"]]).strip(), who, "买家", asked])
            numbers.append(number)
        if answered:
            who = str(values[at["answer_by"]]).strip() if "answer_by" in at else ""
            out.append([*base, str(values[at["answer_time"]]).strip(), who, "客服", answered])
            numbers.append(number)
        if not asked and not answered:  # a row with neither stays a row, rejected for its empty text
            out.append([*base, str(values[at["ask_time"]]).strip() or str(values[at["answer_time"]]).strip(), "", "", ""])
            numbers.append(number)
    names = [str(header[i]) for i in kept] + [TIME_NAME, SENDER_NAME, ROLE_NAME, TEXT_NAME]
    cells = pd.DataFrame(out, columns=range(len(names)), dtype="str") if out else pd.DataFrame(
        columns=range(len(names)), dtype="str")
    return cells, np.asarray(numbers, dtype=np.int64), names


# the columns of a session row that each hold one message (消息1, 消息2 … / 第1条 …)
_MESSAGE_COLUMN = compile_regex(r"^(?:消息|对话|聊天|内容|发言|第)\s*\d+\s*(?:条)?(?:消息|内容)?$")
# the name the joined column takes (a conversation's cell, as a session list names it)
JOINED_NAME = "聊天记录"


def _as_message_line(cell: str) -> str:
    """A message cell's first line written as a conversation cell's message line ([09:05:40] 顾客：…)
    when it opens with the sender and the time in brackets (顾客(09:05:40):…); its other lines stay
    the message's own."""
    first, _, rest = cell.partition("\n")
    found = _SENDER_TIME_LINE.match(first)
    if found:
        sender, day, clock, text = found.groups()
        first = f"[{(day + ' ') if day else ''}{clock}] {sender}：{text}"
    return first + ("\n" + rest if rest else "")


def message_columns_joined(cells: pd.DataFrame, header_at: int, names: Sequence[str]
                           ) -> tuple[pd.DataFrame, list[str]] | None:
    """A session per row with one message a column (质检抽检: 消息1, 消息2, …, ragged rows): those
    columns joined into one conversation cell, a message a line (a message's own line breaks stay
    in it, as lines without a sender going on the message above), so that it is read as a
    conversation in one cell is. None when the header has fewer than two such columns."""
    at = [i for i, name in enumerate(names) if _MESSAGE_COLUMN.match(str(name).strip())]
    if len(at) < 2:
        return None
    kept = [i for i in range(cells.shape[1]) if i not in set(at)]
    joined = cells.iloc[:, at].apply(lambda row: "\n".join(_as_message_line(cell) for cell in row if cell), axis=1)
    joined.iloc[: header_at + 1] = ""
    joined.iloc[header_at] = JOINED_NAME
    out = pd.concat([cells.iloc[:, kept], joined.rename(cells.shape[1])], axis=1)
    out.columns = range(out.shape[1])
    return out.astype("str"), [str(names[i]) for i in kept] + [JOINED_NAME]
