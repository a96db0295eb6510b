"""Naming the columns of a table dump that has no header line (a data warehouse's download,
``tunnel download`` with its header off) by what the columns hold.

A file whose first line is already a message (a date-time cell, ids, a role word) names none of
its columns. Read from a few hundred rows, the columns tell what they are: the one whose cells are
all date-times is the time, the one of role words (买家 / 客服 / 系统) the role, the long varied
one the text, an id repeated in runs the session, a name that changes inside a session the
sender, a name constant inside each session the customer. The columns are then given the names a
header would give them, and the first line is read as data.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

from qa.ingest.header import field_of
from qa.regexcache import compile_regex

# a date with a time of day (2027-01-25 09:31:20, 2027/1/25 9:31, 2027-01-25T09:31:20.123Z)
_DATE_TIME = compile_regex(r"^\s*\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
                           r"\s*(?:Z|[+-]\d{2}:?\d{2})?)\s*$")
# a time as epoch seconds or milliseconds between 2001 and 2100 (1802677266, 1802677266123)
_EPOCH = compile_regex(r"^\s*(?:[1-3]\d{9}|[1-3]\d{12})\s*$")
# an id: letters, digits, _ and -, with a digit, at least four long (27010480415755, t_1499023117, 8801)
_ID = compile_regex(r"^\s*(?=[0-9A-Za-z_-]*\d)[0-9A-Za-z_-]{4,}\s*$")
# Share of a column's filled cells that must fit a kind for the column to be of it.
_SHARE = 0.9
# The names given; each is one the header vocabularies know (qa.ingest.header).
SESSION, ROLE, SENDER, TIME, TEXT, CUSTOMER = "会话ID", "发送方", "发送者", "发送时间", "消息内容", "买家昵称"


def first_line_is_data(names: Sequence[str], dump: bool = False) -> bool:
    """Whether a would-be header line holds data: fewer than half its cells name a known column (a
    role word such as 买家 is also a column's name), and one is a date-time — or the file is a dump
    that never has a header (``dump``: Hive's \\x01-separated output, its times often epoch seconds)."""
    cells = [str(name).strip() for name in names]
    return (len(cells) >= 3 and 2 * sum(1 for cell in cells if cell and field_of(cell)) < len(cells)
            and (dump or any(_DATE_TIME.match(cell) for cell in cells)))


def names_by_content(rows: Sequence[Sequence[str]], mostly_role_words) -> list[str] | None:
    """Header names for the columns of ``rows`` (the first lines of the file, the first one
    included), told by their content; None when the text, time and role or sender cannot all
    be told. ``mostly_role_words(rows, at)`` tells whether column ``at`` holds role words."""
    width = max((len(row) for row in rows), default=0)
    rows = [list(row) + [""] * (width - len(row)) for row in rows]
    if width < 3 or len(rows) < 3:
        return None
    # (\\N is Hive's NULL)
    columns = [["" if str(row[at]).strip() == "\\N" else str(row[at]).strip() for row in rows] for at in range(width)]
    filled = [[cell for cell in column if cell] for column in columns]

    def share(at: int, pattern: regex.Pattern) -> float:
        return sum(1 for cell in filled[at] if pattern.match(cell)) / max(len(filled[at]), 1)

    names = [""] * width
    free = set(range(width))

    def take(at: int | None, name: str) -> None:
        if at is not None:
            names[at] = name
            free.discard(at)

    times = [at for at in range(width) if filled[at] and share(at, _DATE_TIME) >= _SHARE]
    if not times:
        # epoch seconds or milliseconds (a dump's raw times): of the columns of such numbers, the one of
        # most values (an id in the same range repeats on a session's rows; a message's time seldom)
        epochs = [at for at in range(width) if filled[at] and share(at, _EPOCH) >= _SHARE]
        times = [max(epochs, key=lambda at: len(set(filled[at])))] if epochs else []
    if len(times) != 1:
        return None
    take(times[0], TIME)
    # (codes such as 0/1 are role words only where a header says so: a flag column of a dump is no role)
    roles = [at for at in sorted(free) if mostly_role_words(rows, at) and not all(cell.isdigit() for cell in filled[at])]
    take(roles[0] if len(roles) == 1 else None, ROLE)
    ids = {at for at in free if filled[at] and share(at, _ID) >= _SHARE}
    # the text: of the columns that are no ids, the one of most distinct cells (a sender repeats
    # its name; a message is seldom said twice), then the longest on average
    words = [at for at in free if at not in ids and filled[at] and len(set(filled[at])) > len(filled[at]) / 2]
    if not words:
        return None
    take(max(words, key=lambda at: (len(set(filled[at])), sum(map(len, filled[at])) / len(filled[at]))), TEXT)
    # the session: an id repeated in runs (each value on consecutive rows), the one of most values
    runs = [at for at in sorted(ids & free) if _in_runs(columns[at]) and len(set(filled[at])) < len(filled[at])]
    # (of two alike, the first: a dump puts its session before the buyer's id)
    session = max(runs, key=lambda at: (len(set(filled[at])), -at), default=None)
    if session is None:
        return None
    take(session, SESSION)
    starts = _run_starts(columns[session])
    # a message's own id (every value once) is neither the sender nor the customer
    free -= {at for at in ids if len(set(filled[at])) == len(filled[at])}
    # the sender: a column whose values change inside a session (the buyer, then the shop's account)
    changing = [at for at in sorted(free) if len(set(filled[at])) >= 2 and _changes_inside(columns[at], starts)]
    take(changing[0] if changing else None, SENDER)
    if ROLE not in names and SENDER not in names:
        return None
    # the customer: constant inside each session, varying between them
    constant = [at for at in sorted(free) if len(set(filled[at])) >= 2 and not _changes_inside(columns[at], starts)]
    take(constant[0] if constant else None, CUSTOMER)
    for at, name in enumerate(names):
        names[at] = name or f"第{at + 1}列"
    return names


def _in_runs(values: Sequence[str]) -> bool:
    """Whether each value of a column stands on consecutive rows only."""
    seen: set[str] = set()
    previous = None
    for value in values:
        if value != previous:
            if value in seen:
                return False
            seen.add(value)
            previous = value
    return True


def _run_starts(values: Sequence[str]) -> list[int]:
    """The row numbers where a session (a run of equal values) begins, and the end."""
    return [at for at, value in enumerate(values) if at == 0 or value != values[at - 1]] + [len(values)]


def _changes_inside(values: Sequence[str], starts: Sequence[int]) -> bool:
    """Whether a column's filled values differ inside some session."""
    for begin, end in zip(starts, starts[1:]):
        inside = {value for value in values[begin:end] if value}
        if len(inside) > 1:
            return True
    return False
