"""Interpreting a table of cells: validation, roles, times, rejections; assembling the batch."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.errors import InputError
from qa.ingest.columns import ColumnMap
from qa.ingest.duplicates import drop_duplicates, note_duplicates
from qa.ingest.header import field_of, fold_name, join_date_time, looks_like_time_of_day, written_once
from qa.ingest.markup import without_markup
from qa.ingest.parties import message_text
from qa.ingest.roles import (
    EXTERNAL_ID,
    _agents,
    _roles,
    agent_aliases,
    agent_decorations,
    ids_tell_roles,
    names_as_sender,
    resolve_with_role_values,
    role_legend,
    senders_by_customer,
    senders_by_staff,
    sessions_per_kf_account,
)
from qa.ingest.table import IngestNotes, RawTable, ReadOptions, Source, _clip, _no_reasons, _rejected_frame, _table_slices
from qa.ingest.times import _parse_times
from qa.model import MESSAGE_COLUMNS, UNKNOWN_AGENT, IngestResult, Role, empty_messages, empty_rejected

# --------------------------------------------------------------------------- reading the columns


def columns_from_head(header: Sequence[str], overrides: Mapping[str, str], where: str, above: str,
                      sample: Sequence[Sequence[str]], dictionary: Sequence[str] = ()) -> ColumnMap:
    """The columns of an input: its ``header`` resolved, and read as the rows below it (``sample``,
    the same whatever the chunking) and the lines above it (``above``: a legend of role codes) show."""
    # a blank row or the header repeated (exports joined into one file) tells nothing of the columns' values
    heading = [str(name).strip() for name in header]
    sample = [row for row in sample if any(str(cell).strip() for cell in row)
              and [str(cell).strip() for cell in row][: len(heading)] != heading]
    marked = tuple(at for at in text_marked_columns(sample) if at < len(header))  # cells beyond it are malformed
    sample = [[_unmarked(cell) if at in marked else cell for at, cell in enumerate(row)] for row in sample]
    columns = resolve_with_role_values(header, overrides, where, sample)
    if marked:
        listed = ", ".join(f"'{header[at]}'" for at in marked)
        note = f"{{files}}: the leading ' of {listed} (Excel's mark for a cell kept as text) is dropped"
        columns = replace(columns, text_marked=marked, notes=(*columns.notes, note))
    columns = names_as_sender(columns, sample)
    columns = role_legend(columns, above, sample, where, dictionary)
    columns = ids_tell_roles(columns, sample)
    columns = sessions_per_kf_account(columns, sample)
    columns = senders_by_staff(columns, sample)
    columns = senders_by_customer(columns, sample)
    columns = agent_aliases(columns, sample)
    columns = agent_decorations(columns, sample)
    columns = dated_by_title(columns, above, where, sample)
    return sessions_written_once(dates_written_once(sessions_named_by_link(columns, sample), sample), sample)


# A day named in a title line or a file name (班次：2027-02-03, 2027年2月3日, _20270203.csv).
_TITLE_DATE = re.compile(r"(20\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_NAME_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")


def dated_by_title(columns: ColumnMap, above: str, where: str, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` with the file's day when its time column holds times of day only and no column holds
    the date: the first date in the lines above the header, else in the file's name (a night shift's
    export: 时间 20:14:37, the shift's start date in its title). The rows take that day, and the next one
    after the clock goes back past midnight."""
    if not columns.has("timestamp") or columns.has("date"):
        return columns
    at = columns.positions["timestamp"]
    times = pd.Series([str(row[at]).strip() for row in sample if len(row) > at and str(row[at]).strip()], dtype=object)
    if not len(times) or not looks_like_time_of_day(times):
        return columns
    found = _TITLE_DATE.search(above or "")
    source = "the title above the header"
    if not found:
        found = _NAME_DATE.search(os.path.basename(where.split(" (sheet ")[0]))
        source = "the file's name"
    if not found:
        return columns
    year, month, day = (int(part) for part in found.groups())
    try:
        base = pd.Timestamp(year=year, month=month, day=day).strftime("%Y-%m-%d")
    except ValueError:
        return columns
    note = (f"{{files}}: '{columns.label('timestamp')}' holds times of day only: the day {base} is taken from {source}, "
            "the next day from where the clock goes back past midnight")
    return replace(columns, base_date=base, notes=(*columns.notes, note))


def sessions_named_by_link(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` without a session column that holds one text on every row, no id (查看会话: the id
    is in the cell's link, which the export's reader does not see), while the rows name several
    customers: a session is then a customer's conversation of one day, as when there is no session column."""
    if not (columns.has("session_id") and columns.has("customer")) or "session_day" in columns.positions:
        return columns
    at, customer = columns.positions["session_id"], columns.positions["customer"]
    if at == customer:
        return columns
    ids = {str(row[at]).strip() for row in sample if len(row) > max(at, customer)}
    customers = {str(row[customer]).strip() for row in sample if len(row) > max(at, customer)} - {""}
    if len(ids) != 1 or len(customers) < 2 or any(ch.isdigit() for ch in next(iter(ids))):
        return columns
    label = columns.label("session_id")
    positions = {**columns.positions, "session_id": customer, "session_day": customer}
    note = (f"{{files}}: '{label}' holds the same text on every row ('{next(iter(ids))}', a link): a session is "
            f"a customer's conversation ('{columns.label('customer')}') of one day")
    return replace(columns, positions=positions, notes=(*columns.notes, note))


def sessions_written_once(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` with the session column filled down when the ``sample`` shows a merged-cells
    export (工单号 written on the first row of each conversation, blank below it; see
    :func:`qa.ingest.header.written_once`)."""
    if not columns.has("session_id"):
        return columns
    at = columns.positions["session_id"]
    others = [place for name, place in columns.positions.items() if place != at]
    ids = [str(row[at]).strip() for row in sample
           if len(row) > at and any(len(row) > o and str(row[o]).strip() for o in others)]
    # (a conversation has several messages: blanks outnumber the ids written; a blank here and there among ids on
    # every row is a row without its session, rejected as such)
    if not written_once(ids) or sum(1 for value in ids if not value) < sum(1 for value in ids if value):
        return columns
    note = (f"{{files}}: '{columns.label('session_id')}' is written on the first row of each conversation only: "
            "the rows below take it")
    return replace(columns, sessions_filled_down=True, notes=(*columns.notes, note))


# Excel's text marker: a plug-in writes '1716203471 and '2024-05-30 09:15:27 so that Excel keeps long
# numbers and dates as they are; the apostrophe is no part of the value.
_TEXT_MARK = "'"


def text_marked_columns(sample: Sequence[Sequence[str]]) -> tuple[int, ...]:
    """The positions of the columns whose every filled value in the ``sample`` (the first data rows,
    the same whatever the chunking) opens with Excel's text marker: a whole-column layout, never a
    message that happens to start with an apostrophe."""
    if not sample:
        return ()
    width = max(len(row) for row in sample)
    padded = [[*row, *[""] * (width - len(row))] for row in sample]  # a short row misses its last cells
    cells = pd.DataFrame(padded, dtype="str").fillna("").apply(lambda column: column.str.strip())
    filled = cells != ""
    marked = cells.apply(lambda column: column.str.startswith(_TEXT_MARK)) | ~filled
    return tuple(int(at) for at in cells.columns[marked.all() & filled.any()])


def _unmarked(cell: object) -> object:
    return cell.strip().removeprefix(_TEXT_MARK) if isinstance(cell, str) else cell


def dates_written_once(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` with the date column filled down when the ``sample`` shows a grouped report's
    layout (七鱼: 日期 written on the first row of each day, blank below it): see
    :func:`qa.ingest.header.written_once`."""
    if not (columns.has("date") and columns.has("timestamp")):
        return columns
    date, time = columns.positions["date"], columns.positions["timestamp"]
    rows = [row for row in sample if len(row) > max(date, time) and str(row[time]).strip()]
    dated = [str(row[date]).strip() for row in rows]
    # (checked first: a date written on each conversation's first row can also look like a date per day)
    if columns.has("session_id") and _dated_per_session(rows, dated, columns.positions["session_id"]):
        note = (f"{{files}}: '{columns.label('date')}' is written on the first row of each conversation only: the rows "
                "below take it, and the next day after midnight")
        return replace(columns, dates_filled_down=True, dates_per_session=True, notes=(*columns.notes, note))
    if written_once(dated):
        note = f"{{files}}: '{columns.label('date')}' is written on the first row of each day only: the rows below take it"
        return replace(columns, dates_filled_down=True, notes=(*columns.notes, note))
    return columns


def _dated_per_session(rows: Sequence[Sequence[str]], dated: list[str], session_at: int) -> bool:
    """Whether the dates are written on the first row of conversations only (a conversation's
    date, blank on its other rows): the first row dated, at least as many rows blank, and every dated row
    opening a conversation."""
    if not dated or not dated[0] or sum(1 for d in dated if not d) < sum(1 for d in dated if d):
        return False
    sessions = [str(row[session_at]).strip() if len(row) > session_at else "" for row in rows]
    return all(not d or i == 0 or sessions[i] != sessions[i - 1] for i, d in enumerate(dated))


# --------------------------------------------------------------------------- interpreting rows


@dataclass
class _Part:
    """One input's contribution to the batch."""

    source: str
    messages: pd.DataFrame  # MESSAGE_COLUMNS, input order
    rejected: pd.DataFrame  # REJECTED_COLUMNS, by row
    input_rows: int
    has_timestamps: bool
    mapped: tuple[str, ...] = ()  # the --column fields this input's header used
    where: str = ""  # the input (and sheet) and the names its header has, for errors
    found: str = ""


def build_part(
    table: RawTable, options: ReadOptions, notes: IngestNotes, *, has_times: bool | None = None, counts: dict | None = None
) -> _Part:
    """Interpret one input's cells: validate, map roles, parse times, collect rejections.

    ``has_times`` is decided from ``table`` unless given (a chunk of a streamed file gets the
    decision made for the whole file); with ``counts`` the note counting non-numeric seq
    values is not added but its count is added to ``counts["seq_ignored"]``.
    """
    cells, columns = table.cells, table.columns
    if len(cells):
        _drop_eof_mark(cells)
        reordered = _reordered_after_headers(cells, columns.header, counts if counts is not None else {})
        if reordered is not None:
            cells, order_note = reordered
            table = replace(table, cells=cells)
            notes.add(order_note, table.source)
    for at in columns.text_marked:
        cells[at] = cells[at].str.strip().str.removeprefix(_TEXT_MARK)

    def column(name: str) -> pd.Series:
        return cells[columns.positions[name]]

    if columns.mapped:
        used = ", ".join(f"{name}={wanted}" for name, wanted in columns.mapped.items())
        notes.add(f"{{files}}: columns read as {used}", table.source)
    for note in columns.notes:
        notes.add(note, table.source)
    if columns.guessed:
        guessed = ", ".join(f"{name}={wanted}" for name, wanted in columns.guessed.items())
        notes.add(f"{{files}}: columns found by their names: {guessed} (--column FIELD=NAME to choose others)", table.source)
    session = column("session_id").str.strip()
    floated = _float_ids(session)
    if floated is not None:
        session = floated
        notes.add(f"{{files}}: '{columns.label('session_id')}' holds ids written as decimals (713420118305.0, "
                  "pandas' float): read without the .0", table.source)
    if columns.sessions_filled_down:
        session = _filled_down(session, counts if counts is not None else {}, "last_session")
    if columns.external_ids and columns.positions["session_id"] == columns.positions["sender_id"]:
        # the customer's id: the sender's on a customer's message, else the receiver's (a notice to the customer)
        receiver = column("receiver_id").str.strip() if columns.has("receiver_id") else pd.Series("", index=session.index)
        external = session.str.fullmatch(EXTERNAL_ID).to_numpy(dtype=bool, na_value=False)
        session = session.where(external, receiver.where(receiver.str.fullmatch(EXTERNAL_ID).fillna(False), ""))
    if columns.has("session_start"):  # a session derived from the customer: one per start time
        start = column("session_start").str.strip()
        session = session.where((session == "") | (start == ""), session + " · " + start)
    if columns.has("customer") and columns.positions["customer"] != columns.positions["session_id"]:
        # ids Excel rewrote in scientific notation (1.79613E+17) lost their last digits and run together:
        # with the customer they still tell conversations apart
        damaged = session.str.fullmatch(_SCIENTIFIC_ID).to_numpy(dtype=bool, na_value=False)
        if damaged.any():
            customer = column("customer").str.strip()
            session = session.where(~damaged | (customer == "").to_numpy(), session + " · " + customer)
            notes.add(f"{{files}}: '{columns.label('session_id')}' holds ids Excel wrote in scientific notation "
                      f"(1.79613E+17), which lost their digits: a session is such an id and the customer "
                      f"('{columns.label('customer')}'); export the ids as text to keep them", table.source)
    if columns.has("session_order"):  # a session derived from the customer: one per order asked about
        order = column("session_order").str.strip()
        session = session.where((session == "") | (order == ""), session + " · " + order)
    if columns.has("session_account"):
        # the 微信客服 account the customer wrote to: a row without one (an event the export left blank) is on
        # the account of the customer's rows around it
        account = column("session_account").str.strip()
        if (account == "").any():
            account = account.mask(account == "").groupby(session.to_numpy()).transform(
                lambda values: values.ffill().bfill()).fillna("")
        session = session.where((session == "") | (account == ""), account + " · " + session)
    if columns.has("session_scope"):  # a number of each agent's sessions: the agent's with it
        scope = column("session_scope").str.strip()
        session = session.where((session == "") | (scope == ""), scope + " · " + session)
    shop_day: tuple[pd.Series, pd.Series] | None = None
    if columns.has("session_peer"):  # the conversation of two people, whoever sent the message
        peer = column("session_peer").str.strip()
        if (session.str.contains(_SUB_ACCOUNT) | peer.str.contains(_SUB_ACCOUNT)).any():
            # 千牛's main-account export (发送人, 接收人): the shop's sub-accounts (店铺:子账号), its main account
            # and its bot all talk to the buyer, a transfer hands the buyer on, the platform's notices go to the
            # buyer: a session is the buyer's day, the buyer being the sender of a customer's message and the
            # receiver of every other (set once the roles are known, below)
            shop_day = (session, peer)
            notes.add(f"{{files}}: '店铺:子账号' senders: a session is a buyer's conversation of one day (the sender "
                      f"'{columns.label('session_id')}' of the buyer's messages, the receiver "
                      f"'{columns.label('session_peer')}' of the others)", table.source)
        else:
            first = session.where((session <= peer) | (peer == ""), peer)
            second = peer.where((session <= peer) | (peer == ""), session)
            session = first.where((session == "") | (peer == ""), first + " ↔ " + second)
    text, marked_up = without_markup(_without_final_cr(message_text(table)))
    if columns.has("msg_type"):
        text = _media_placeholders(text, column("msg_type"))
    if marked_up:
        notes.add("{files}: messages written in HTML (<p>, <br>, <img>) or HTML-escaped (&lt;, &amp;, &#12304;) read as "
                  "the text they show", table.source)
    role, role_reason = _roles(table, text, options, notes,
                               None if counts is None else counts.setdefault("shops", set()))
    text, no_text = _contentless_filled(text, role, role_reason, table.source, notes, counts)
    if columns.has("session_customer"):
        if not columns.has("sender"):  # the column holds role words (买家/客服), not who sent the message
            raise InputError(f"missing column for session_id in {table.source}; found: "
                             f"{', '.join(n for n in columns.header if n)}; use --column session_id=NAME")
        receiver = column("session_customer").str.strip()
        session = session.where(pd.Series(role == Role.CUSTOMER.value, index=session.index), receiver)
    if shop_day is not None:
        sender, receiver = shop_day
        session = sender.where(pd.Series(role == Role.CUSTOMER.value, index=sender.index), receiver)
    if has_times is None:
        has_times = _has_times(table, notes)
    else:
        _note_times(table.columns, table.source, has_times, notes)
    if has_times:
        utc, time_reason = _parse_times(
            _time_text(table, options, notes, counts), options.timezone,
            lambda year: notes.add(f"{{files}}: times without a year (12-17 10:02) read as in {year}", table.source))
    else:
        utc, time_reason = np.full(len(cells), np.datetime64("NaT", "ns")), _no_reasons(len(cells))
    if has_times and (columns.has("session_day") or shop_day is not None):
        # a customer's conversation: one session per local day, split again where the platform wrote
        # that a conversation ended (微信客服's [事件] 会话已结束)
        session = _per_day(session, utc, options.timezone)
        ended = _session_end_events(text, role)
        if ended.any():
            session = _between_end_events(session, ended, utc)
    no_session = (session == "").to_numpy()
    text, continued = _continuations_joined(cells, columns, text, no_session, no_text, np.asarray(table.rows))
    text, pieces = _pieces_joined(cells, columns, text, session)
    if len(pieces):
        continued = np.union1d(continued, pieces)
        no_session = no_session.copy()
        no_session[pieces] = True  # (refused below as joined to the message above)
    if len(continued):
        if counts is None:
            notes.add(continued_note(len(continued)), table.source)
        else:
            counts["continued"] = counts.get("continued", 0) + len(continued)
    ok = ~(no_session | no_text | pd.notna(role_reason) | pd.notna(time_reason))
    # Reasons only for the rows refused (a few): four object arrays of a million rows cost more.
    bad = np.flatnonzero(~ok)
    reason = _no_reasons(len(cells))
    # a summary or signature line under the data (合计 共26条, 导出人：…) says why it is no message
    footer = _footer_rows(cells, session, bad)
    repeated = _repeats_header(table, bad)
    reason[bad] = _first_reason(
        np.where(np.isin(bad, continued), "the further lines of the message above, joined to it", None),
        np.where(repeated, "the header repeated (a paged or concatenated export), not a message", None),
        np.where(_header_in_other_words(table, bad), "the header in other words (a second header line, as in a "
                                                     "Chinese + English header), not a message", None),
        np.where(footer, "an export's summary or page line (合计/导出人/第2页…), not a message", None),
        np.where(no_session[bad], "empty session id", None),
        np.where(no_text[bad], "empty text", None),
        role_reason[bad],
        time_reason[bad],
    )
    # Roles as codes of their few values, agents as Arrow strings: a million Python string
    # comparisons and factorizations of object arrays cost far more.
    role_codes, role_names = pd.factorize(role)
    is_agent = role_codes == _code_of(role_names, Role.AGENT.value)
    agent = _agents(table, is_agent, notes).filter(pa.array(ok))
    role_codes, is_agent = role_codes[ok], is_agent[ok]
    tally = _count_agents(table, is_agent, agent, counts)
    if columns.has("seq"):
        seq, ignored = _parse_seq(column("seq"), ok)
        if counts is not None:
            counts["seq_ignored"] = counts.get("seq_ignored", 0) + ignored
        elif ignored:
            notes.add(f"{{files}}: {ignored} non-numeric seq value(s) ignored", table.source)
    else:
        seq = np.full(len(cells), np.nan)
    if counts is None:
        agent_warning(tally, table.source, notes)
    count = int(ok.sum())
    messages = pd.DataFrame(
        {
            "session_id": _kept(session, ok),
            "text": _kept(text, ok),
            "role": _coded_str(role_codes, role_names),
            "timestamp": pd.DatetimeIndex(utc[ok]).tz_localize("UTC").tz_convert(options.timezone),
            "seq": seq[ok],
            "agent": pd.array(agent, dtype="str"),
            "source_file": _constant_str(table.source, count),
            "source_row": table.rows[ok],
            "source_sheet": _constant_str(table.sheet, count),
        }
    )
    # few rows (bad): take them by position rather than masking every column
    rejected = _rejected_frame(
        [table.rejected_as] * len(bad),
        table.rows[bad],
        reason[bad],
        [_clip(",".join(values)) for values in cells.iloc[bad].itertuples(index=False, name=None)],
    )
    if len(table.malformed):
        rejected = pd.concat([rejected, table.malformed], ignore_index=True)
        rejected = rejected.sort_values("row", kind="stable", ignore_index=True)
    where = f"{table.source} (sheet '{table.sheet}')" if table.sheet else table.source
    found = ", ".join(n for n in columns.header if n) or "(no named columns)"
    return _Part(table.source, messages, rejected, len(cells) + len(table.malformed), has_times,
                 tuple(columns.mapped), where, found)


# A customer's day runs from 04:00 to 04:00 local time, so a chat going on past midnight (23:55 → 00:10)
# stays one session; a day's chats and the next morning's are two.
_DAY_STARTS = pd.Timedelta(hours=4)


# A system event saying the conversation ended (微信客服: [事件] 会话已结束; 客服结束了会话, 对话超时自动结束).
_SESSION_END = r"^\W*(?:\[?事件\]?\s*)?(?:本次)?(?:会话|对话|咨询)(?:已|已经)?(?:结束|关闭)|^\W*(?:\[?事件\]?\s*)?(?:客服|接待人员|系统)\S{0,8}?结束了?(?:本次)?(?:会话|对话)|^\W*(?:\[?事件\]?\s*)?(?:会话|对话)超时(?:自动)?(?:结束|关闭)"


def _session_end_events(text: pd.Series, role) -> np.ndarray:
    """System rows that end a conversation (the customer's next message opens another)."""
    system = np.asarray(role == Role.SYSTEM.value, dtype=bool)
    ended = np.zeros(len(text), dtype=bool)
    rows = np.flatnonzero(system)
    if len(rows):
        ended[rows] = text.iloc[rows].str.contains(_SESSION_END, regex=True).to_numpy(dtype=bool, na_value=False)
    return ended


def _between_end_events(session: pd.Series, ended: np.ndarray, utc: np.ndarray) -> pd.Series:
    """``session · k``: the k-th conversation of each customer, counted in time order (file order between
    equal times), a conversation running through the event that ends it; rows without a time keep the
    bare session (they are rejected for it anyway)."""
    keys, _ = pd.factorize(session)
    times = pd.DatetimeIndex(utc).asi8
    order = np.lexsort((np.arange(len(session)), times, keys))
    ended_sorted = ended[order].astype(np.int64)
    keys_sorted = keys[order]
    before = np.cumsum(ended_sorted) - ended_sorted  # end events before each row, over all keys
    starts = np.r_[0, np.flatnonzero(keys_sorted[1:] != keys_sorted[:-1]) + 1]
    first_of_key = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    number = np.empty(len(order), dtype=np.int64)
    number[order] = before - before[first_of_key] + 1
    timed = ~np.isnat(np.asarray(utc, dtype="datetime64[ns]"))
    labels = pd.Series(number, index=session.index).astype(str)
    return session.where((session == "") | ~timed, session + " · " + labels)


# A 千牛 sub-account as the shop's main-account export writes it: 店铺名:子账号名 (half- or full-width colon).
_SUB_ACCOUNT = r"\S[:：][^:：\s][^:：]*$"


def _per_day(session: pd.Series, utc: np.ndarray, timezone: str) -> pd.Series:
    """``session · YYYY-MM-DD`` (the day of each row's local time, days starting at 04:00); rows
    without a time keep the bare session (they are rejected for it anyway). Days are formatted
    once per distinct day."""
    days = (pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(timezone) - _DAY_STARTS).normalize()
    codes, uniques = pd.factorize(days)
    labels = np.asarray([" · " + day.strftime("%Y-%m-%d") for day in uniques] + [""], dtype=object)
    suffix = labels[np.where(codes < 0, len(uniques), codes)]
    return session.where(session == "", session + pd.Series(suffix, index=session.index))


def _kept(values: pd.Series, ok: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The ``values`` of the ``ok`` rows; the values themselves when every row is (a clean export:
    a million texts need not be copied)."""
    return values.array if ok.all() else values[ok].array


def _drop_eof_mark(cells: pd.DataFrame) -> None:
    """Old DOS tools end a file with Ctrl-Z (0x1A) right after the last value: it is no text."""
    last = len(cells) - 1
    for at in range(cells.shape[1]):
        value = cells.iat[last, at]
        if isinstance(value, str) and value.endswith("\x1a"):
            cells.iat[last, at] = value.rstrip("\x1a")


# A message without text whose type says what it was (an API's image / video / voice message) stands as
# the placeholder the platforms' own exports write for it.
_MEDIA_PLACEHOLDERS = {
    **dict.fromkeys(("image", "img", "picture", "pic", "photo", "图片", "图像"), "[图片]"),
    **dict.fromkeys(("video", "视频", "短视频"), "[视频]"),
    **dict.fromkeys(("voice", "audio", "语音", "音频"), "[语音]"),
    **dict.fromkeys(("file", "文件", "附件"), "[文件]"),
    **dict.fromkeys(("sticker", "emoticon", "表情", "表情包"), "[表情]"),
    **dict.fromkeys(("card", "link", "goods", "product", "商品", "商品卡片", "链接", "卡片", "订单卡片"), "[链接]"),
}


def _media_placeholders(text: pd.Series, kinds: pd.Series) -> pd.Series:
    """``text`` with each empty text of a media message (消息类型 图片, content.type image) written as the
    platform's placeholder ([图片], [视频] …): such a message was sent, it is no empty row. A media message
    whose content is only the file's link or name (快手 API: kwimg://im/…/4f2c.jpg) gets the placeholder
    before it ([图片] kwimg://…): the link stays for the reader, and the rules see a picture sent, not words."""
    # the kinds are few: each distinct one is looked up once, and only media rows' texts are matched
    codes, distinct = pd.factorize(kinds)
    placeholder = pd.Series(distinct, dtype=object).astype(str).str.strip().str.casefold().map(_MEDIA_PLACEHOLDERS)
    known_kind = np.append(placeholder.notna().to_numpy(), False)  # code -1 (a missing kind): no media
    known = known_kind[codes]
    if not known.any():
        return text
    shown = pd.Series(np.append(placeholder.to_numpy(dtype=object), None)[codes], index=text.index)
    blank = _blank(text)
    media = np.flatnonzero(known & ~blank)
    referenced = np.zeros(len(text), dtype=bool)
    if len(media):
        referenced[media] = text.iloc[media].str.fullmatch(_MEDIA_REFERENCE, case=False).fillna(False).to_numpy(dtype=bool)
    empty, linked = np.flatnonzero(blank & known), np.flatnonzero(referenced)
    if not len(empty) and not len(linked):
        return text
    filled = text.copy()
    filled.iloc[empty] = shown.iloc[empty].to_numpy()
    # a sticker's link says nothing to a reader: the sticker is audited as one ([表情]), as emoji-only sees it
    shown_linked = shown.iloc[linked]
    filled.iloc[linked] = shown_linked.where(shown_linked == "[表情]",
                                             shown_linked + " " + text.iloc[linked].str.strip()).to_numpy()
    return filled


# A media message's content that only names the file: a link (scheme://…, www.…) or a file name, no words.
_MEDIA_REFERENCE = r"\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*://\S+|www\.\S+|[^\s\[\]]+\.(?:jpe?g|png|gif|webp|bmp|heic|mp4|mov|avi|amr|mp3|m4a|wav|silk|pdf|docx?|xlsx?|zip))\s*"


# What a message the export left without its content is audited as (emoji-only takes it for an attachment).
CONTENTLESS = "[非文本消息]"


def _contentless_filled(text: pd.Series, role: np.ndarray, role_reason: np.ndarray, source: str,
                        notes: IngestNotes, counts: dict | None) -> tuple[pd.Series, np.ndarray]:
    """``text`` with each empty text of a row whose sender is known written as :data:`CONTENTLESS`, and which
    rows are still without text. A card, a picture, a sticker or a recalled message the export wrote without
    its content is still a message of its sender (an agent's card answers the customer); a row whose sender
    is not known keeps its empty text and is refused for it. How many were filled goes to
    ``counts["contentless"]`` (noted once per file by the stream) or, without ``counts``, to a note."""
    empty = _blank(text)
    if not empty.any():
        return text, empty
    # only the few empty rows' roles are looked at (a million object comparisons cost tens of ms)
    rows = np.flatnonzero(empty)
    sent = np.zeros(len(empty), dtype=bool)
    sent[rows] = pd.isna(role_reason[rows]) & np.isin(role[rows], [Role.CUSTOMER.value, Role.AGENT.value,
                                                                   Role.SYSTEM.value])
    if not sent.any():
        return text, empty
    if counts is None:
        notes.add(contentless_note(int(sent.sum())), source)
    else:
        counts["contentless"] = counts.get("contentless", 0) + int(sent.sum())
    values = pa.chunked_array(pa.array(text))
    # one Arrow kernel rather than pandas' setitem (which copies and rebuilds the column)
    filled = pc.if_else(pa.chunked_array([sent], pa.bool_()), pa.scalar(CONTENTLESS, values.type), values)
    return pd.Series(filled, dtype=text.dtype, index=text.index, name=text.name), empty & ~sent


def continued_note(count: int) -> str:
    """The note on a file's rows holding only text, joined to the message above (``{files}`` names the file)."""
    return (f"{{files}}: {count} row(s) holding only text (a message's further lines, pasted as rows of their own) "
            "joined to the message above")


def contentless_note(count: int) -> str:
    """The note on a file's messages audited as :data:`CONTENTLESS` (``{files}`` names the file)."""
    return (f"{{files}}: {count} message(s) without text (a card, a picture or a recalled message the export "
            f"left empty) audited as {CONTENTLESS}")


def _without_final_cr(text: pd.Series) -> pd.Series:
    """The texts without a trailing carriage return (CRLF files read as LF leave one)."""
    if not text.str.endswith("\r").any():  # the usual case: skip rebuilding a million strings
        return text
    return text.str.removesuffix("\r")


def _blank(text: pd.Series) -> np.ndarray:
    """``(text.str.strip() == "").to_numpy()`` without stripping a copy of every text: Arrow's
    whitespace test is the one its trim uses, character for character."""
    values = pa.array(text)
    return np.asarray(pc.or_(pc.equal(values, ""), pc.utf8_is_space(values)).to_numpy(zero_copy_only=False), dtype=bool)


def _time_text(table: RawTable, options: ReadOptions, notes: IngestNotes, counts: dict | None) -> pd.Series:
    """The time column's texts; with a date column beside a time-of-day column (日期 + 时间,
    or ``--column timestamp=日期+时间``), the two joined. ``counts`` carries a grouped report's
    last date from one chunk of a file to the next."""
    columns, cells = table.columns, table.cells
    times = cells[columns.positions["timestamp"]]
    if not columns.has("date") and columns.base_date:
        # times of day under a day named in the title or file name: one group from the file's first row
        joined = join_date_time(pd.Series(columns.base_date, index=times.index, dtype=object), times)
        written = np.zeros(len(times), dtype=bool)
        first = counts is None or "last_clock" not in counts
        if first and len(written):
            written[0] = True
        return _past_midnight(joined, written, counts if counts is not None else {}, least_back=_NIGHT_WRAP)
    if not columns.has("date"):
        return times
    # a time of day in Chinese units (14时03分27秒, 9点05分) is the clock's 14:03:27
    if times.str.contains("[时点]", regex=True).any():
        times = times.str.replace(_CN_CLOCK, _clock_of, regex=True)
    explicit = "+" in options.columns.get("timestamp", "")
    if not explicit and not looks_like_time_of_day(times):
        return times
    dates = cells[columns.positions["date"]]
    written = (dates.str.strip() != "").to_numpy()
    if columns.dates_filled_down:
        dates = _filled_down(dates, counts if counts is not None else {})
    notes.add(f"{{files}}: timestamp from '{columns.label('date')}' + '{columns.label('timestamp')}'", table.source)
    joined = join_date_time(dates, times)
    if columns.dates_per_session:
        joined = _past_midnight(joined, written, counts if counts is not None else {})
    return joined


# Times of day under one day for the whole file: only a clock going back more than this many seconds wraps
# past midnight (23:58 → 00:02); a little back is the next conversation, begun before the last one ended.
_NIGHT_WRAP = 12 * 3600


def _past_midnight(joined: pd.Series, written: np.ndarray, counts: dict, least_back: float = 0) -> pd.Series:
    """Timestamps of conversations dated on their first row only, a day later from where the time
    of day goes back (23:58 then 00:01; by more than ``least_back`` seconds) until the next written
    date; ``counts`` carries the last row's clock and days ahead from one chunk to the next."""
    parts = joined.str.extract(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?", expand=True)
    clock = (parts[1].astype(float) * 3600 + parts[2].astype(float) * 60 + parts[3].fillna("0").astype(float)).to_numpy()
    group = np.cumsum(written)
    before = np.r_[counts.get("last_clock", np.nan), clock[:-1]]
    same_group = np.r_[not written[0] if len(written) else False, group[1:] == group[:-1]]
    back = same_group & (clock < before - least_back)  # NaN compares False: an unparsed clock turns no day
    carried = counts.get("days_ahead", 0) if len(written) and not written[0] else 0
    # days ahead: the wraps so far in the row's group (the first group may go on from the chunk before)
    wraps = pd.Series(back.astype(np.int64)).groupby(group).cumsum().to_numpy() + np.where(group == 0, carried, 0)
    if len(clock):
        counts["last_clock"], counts["days_ahead"] = clock[-1], int(wraps[-1])
    ahead = np.flatnonzero(wraps > 0)
    if not len(ahead):
        return joined
    shifted = joined.copy()
    days = pd.to_datetime(parts[0].iloc[ahead], errors="coerce") + pd.to_timedelta(wraps[ahead], unit="D")
    clock_part = joined.iloc[ahead].str.replace(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}", "", regex=True)
    shifted.iloc[ahead] = (days.dt.strftime("%Y-%m-%d") + clock_part).where(days.notna(), joined.iloc[ahead]).to_numpy()
    return shifted


_CN_CLOCK = r"^\s*(\d{1,2})\s*[时点]\s*(\d{1,2})\s*分(?:\s*(\d{1,2})\s*秒)?\s*$"


def _clock_of(found) -> str:
    hours, minutes, seconds = found.group(1), found.group(2), found.group(3) or "0"
    return f"{int(hours):02d}:{int(minutes):02d}:{int(seconds):02d}"


def _filled_down(values: pd.Series, counts: dict, key: str = "last_date") -> pd.Series:
    """A grouped report's dates (or a merged-cells export's sessions) on every row: a blank takes
    the value above it, in file order; the first rows of a chunk take the last value of the chunk
    before (``counts[key]``)."""
    stripped = values.str.strip()
    written = stripped.mask(stripped == "")
    filled = written.ffill().fillna(counts.get(key, ""))
    if written.notna().any():
        counts[key] = written[written.notna()].iloc[-1]
    return filled


# An export where agents wrote under a tenth of the messages was most likely read with the
# wrong roles (nicknames without 店铺名:, a role column under another name).
_FEW_AGENTS = 0.10


def _count_agents(table: RawTable, is_agent: np.ndarray, agent: pa.Array | pa.ChunkedArray, counts: dict | None) -> dict:
    """Add this table's messages, agent messages and (unknown) agents to ``counts`` (a fresh
    tally when None) for :func:`agent_warning`."""
    tally = counts if counts is not None else {}
    tally["messages"] = tally.get("messages", 0) + len(is_agent)
    tally["agents"] = tally.get("agents", 0) + int(is_agent.sum())
    tally["unknown"] = tally.get("unknown", 0) + int((is_agent & _arrow_equals(agent, UNKNOWN_AGENT)).sum())
    columns = table.columns
    tally["fix"] = ("--column role=COLUMN" if not columns.has("sender")
                    else "--agent-pattern REGEX (the agents' nicknames) or --column role=COLUMN")
    tally["named"] = columns.has("agent") or columns.has("sender")
    return tally


def agent_warning(tally: dict, source: str, notes: IngestNotes) -> None:
    """A warning naming the likely fix when a file's roles or agents look wrong: no agent
    messages, agents under a tenth of them, or (unknown) as the agent of most."""
    total, agents = tally.get("messages", 0), tally.get("agents", 0)
    if total < 5:  # too few rows to judge
        return
    fix = tally["fix"]
    if agents == 0:
        notes.add(f"warning: no agent messages in {{files}}: every message was read as a customer's or the "
                  f"system's; use {fix}", source)
    elif agents < _FEW_AGENTS * total:
        notes.add(f"warning: agents wrote only {agents} of {total} messages in {{files}}; if that is wrong, "
                  f"use {fix}", source)
    elif tally["named"] and tally.get("unknown", 0) > agents / 2:
        # Without any agent or sender column the note "agent set to (unknown)" already says so.
        notes.add(f"warning: the agent is {UNKNOWN_AGENT} for most agent messages in {{files}}; "
                  "use --column agent=COLUMN (the agent's name or account)", source)


class WholeFileSource(Source):
    """A file read whole into its tables when opened (a workbook's sheets, an HTML page's tables, a
    text transcript): its rows given table after table, as tables of at most ``chunk_rows`` rows."""

    def __init__(self, tables: list[RawTable], notes: IngestNotes, chunk_rows: int | None) -> None:
        self.notes = notes
        self._tables = tables
        # (the time note comes with the rows')
        self.has_times = any(_has_times(table, IngestNotes()) for table in tables)
        self._chunk_rows = chunk_rows

    def tables(self) -> Iterator[RawTable]:
        """The tables' rows, in file order, as tables of at most ``chunk_rows`` rows."""
        for table in self._tables:
            yield from _table_slices(table, self._chunk_rows)


def _has_times(table: RawTable, notes: IngestNotes) -> bool:
    """Whether the input has a time column with at least one value (then every row needs one)."""
    columns = table.columns
    has_times = columns.has("timestamp") and _any_time_value(table.cells[columns.positions["timestamp"]])
    _note_times(columns, table.source, has_times, notes)
    return has_times


def _any_time_value(raw: pd.Series) -> bool:
    return bool(len(raw)) and not (raw.str.strip() == "").all()


def _note_times(columns: ColumnMap, source: str, has_times: bool, notes: IngestNotes) -> None:
    """The note for an input whose times are not used: no time column, or an empty one."""
    if not columns.has("timestamp"):
        notes.add("no timestamp column in {files}: time-based rules skipped", source)
    elif not has_times:
        # An export template with an unused time column: treat as "no times", not as N rejections.
        label = columns.label("timestamp")
        notes.add(f"time column '{label}' in {{files}} is empty: time-based rules skipped", source)


def _first_reason(*candidates: np.ndarray) -> np.ndarray:
    """Per row, the first rejection reason that applies (None when the row is fine)."""
    reason = candidates[0].astype(object)
    for candidate in candidates[1:]:
        reason = np.where(pd.isna(reason), candidate, reason)
    return reason


_FOOTER = (r"^\s*(?:合计|总计|小计|汇总|共\s*\d+\s*条|导出人|导出时间|导出日期|导出账号|制表人?|统计时间|备注[:：])"
           r"|第\s*\d+\s*页\s*/?\s*共\s*\d+\s*页")


def _continuations_joined(cells: pd.DataFrame, columns: ColumnMap, text: pd.Series, no_session: np.ndarray,
                          no_text: np.ndarray, file_rows: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """``text`` with the rows that hold only text joined, a line each, to the message in the file row just
    above them, and the positions of those rows. A message with line breaks pasted from a web table into
    Excel (抖店飞鸽 历史会话) spills its further lines into rows of their own, every other cell empty; a run
    of them under no message (under a blank row, atop the table) is joined to nothing."""
    rows = np.flatnonzero(no_session & ~no_text)
    if not len(rows):
        return text, rows
    text_at = columns.positions.get("text")
    others = [at for name, at in columns.positions.items() if at != text_at and at in cells.columns]
    if text_at is None or not others:
        return text, rows[:0]
    only_text = (cells.iloc[rows][others].apply(lambda column: column.str.strip()) == "").all(axis=1).to_numpy()
    rows = rows[only_text]
    if not len(rows):
        return text, rows
    # each run of such rows (adjacent in the file) belongs to the message in the row just above the run
    opens = np.r_[True, (np.diff(rows) > 1) | (np.diff(file_rows[rows]) > 1)]
    above = rows - 1
    has_owner = (above >= 0) & ~no_session[np.maximum(above, 0)] & (file_rows[np.maximum(above, 0)] == file_rows[rows] - 1)
    owner = np.where(opens & has_owner, above, -1)
    owner = owner[np.maximum.accumulate(np.where(opens, np.arange(len(rows)), 0))]  # the run's owner, on each row
    joined = rows[owner >= 0]
    if not len(joined):
        return text, joined
    values = text.to_numpy(dtype=object).copy()
    lines: dict[int, list[str]] = {}
    for row, message in zip(joined.tolist(), owner[owner >= 0].tolist()):
        lines.setdefault(message, [str(values[message])]).append(str(values[row]))
    for message, parts in lines.items():
        values[message] = "\n".join(parts)
    return pd.Series(values, index=text.index, dtype=text.dtype), joined


# A column numbering the pieces of a long message cut into records (网店管家 分片: 1/2, 2/2).
_PIECE_HEADERS = {"分片", "分段", "片段", "分片序号", "消息分片", "分片号", "分段序号"}
_PIECE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def _pieces_joined(cells: pd.DataFrame, columns: ColumnMap, text: pd.Series,
                   session: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``text`` with the later pieces of a message cut into records (分片 2/2 under 1/2, same session) appended
    to its first piece, and the positions of those later pieces."""
    at = next((i for i, name in enumerate(columns.header) if fold_name(name) in _PIECE_HEADERS and i in cells.columns), None)
    if at is None:
        return text, np.zeros(0, dtype=np.int64)
    parts = cells[at].str.extract(_PIECE)
    index = pd.to_numeric(parts[0], errors="coerce").to_numpy()
    later = np.flatnonzero(index > 1)
    if not len(later):
        return text, later
    # each later piece belongs to the nearest row above it that opens a message (piece 1, or no piece number)
    opens = ~(index > 1)
    owner_of = np.maximum.accumulate(np.where(opens, np.arange(len(index)), -1))
    owners = owner_of[later]
    keep = (owners >= 0) & (session.to_numpy()[np.maximum(owners, 0)] == session.to_numpy()[later])
    later, owners = later[keep], owners[keep]
    values = text.to_numpy(dtype=object).copy()
    for row, message in zip(later.tolist(), owners.tolist()):
        values[message] = str(values[message]) + str(values[row])
    return pd.Series(values, index=text.index, dtype=text.dtype), later


def _footer_rows(cells: pd.DataFrame, session: pd.Series, bad: np.ndarray) -> np.ndarray:
    """Which of the ``bad`` rows are an export's summary or page line: its session cell, or the
    row's first filled cell (an Excel table's totals row writes 汇总 in its first column, whatever
    that column holds), opens with a footer word."""
    if not len(bad):
        return bad.astype(bool)
    rows = cells.iloc[bad]
    first_filled = rows.where(rows.apply(lambda column: column.str.strip() != "")).bfill(axis=1).iloc[:, 0]
    return (session.iloc[bad].str.contains(_FOOTER, regex=True).to_numpy(dtype=bool)
            | first_filled.fillna("").str.contains(_FOOTER, regex=True).to_numpy(dtype=bool))


_SCIENTIFIC_ID = r"\s*\d(?:\.\d+)?[eE]\+\d{1,3}\s*"
# A whole-number id a program wrote as a float (pandas turns an id column with a gap into float64 and
# to_csv writes 713420118305.0): five digits or more, then .0.
_FLOAT_ID = r"\d{5,}\.0"


def _float_ids(session: pd.Series) -> pd.Series | None:
    """``session`` with the ids written as floats read without their .0 (whatever else the column holds: a
    footer line, the other export's ids in a joined file, the next chunk's rows); None when there are none.
    Decided per id, so that every chunk of a streamed file reads an id the same way."""
    ending = session.str.endswith(".0").to_numpy(dtype=bool, na_value=False)
    if not ending.any():
        return None
    at = np.flatnonzero(ending)
    floated = session.iloc[at].str.fullmatch(_FLOAT_ID).to_numpy(dtype=bool, na_value=False)
    if not floated.any():
        return None
    session = session.copy()
    session.iloc[at[floated]] = session.iloc[at[floated]].str.removesuffix(".0")
    return session


def _reordered_after_headers(cells: pd.DataFrame, header: Sequence[str], counts: dict
                             ) -> tuple[pd.DataFrame, str] | None:
    """The cells with the rows below a header line in another column order (two exports joined
    into one file: 店铺名称,会话ID,… then 会话ID,消息内容,…) put back in the first header's order,
    and a note; None when no row is such a header. The order in effect is carried from one chunk
    of a streamed file to the next (``counts["column_order"]``)."""
    names = [fold_name(name) for name in header]
    if len(set(names)) != len(names) or len(names) < 2:
        return None
    carried = counts.get("column_order")
    # a header line opens with one of the header's names, as written (a million first cells are
    # looked up, not folded)
    written = {str(name) for name in header} | {str(name).strip() for name in header}
    marks: list[tuple[int, list[int] | None]] = []
    for row in np.flatnonzero(cells[0].isin(written).to_numpy()):
        line = [fold_name(cell) for cell in cells.iloc[row].tolist()]
        if line == names:
            marks.append((int(row), None))  # the first order again
        elif sorted(line) == sorted(names):
            marks.append((int(row), [line.index(name) for name in names]))
    if carried is None and all(order is None for _, order in marks):
        return None
    out = cells.copy()
    counts["column_order"] = marks[-1][1] if marks else carried  # what the next chunk goes on with
    order, begin = carried, 0
    # each header line starts a block read by its order; it is put in order too, and then rejected as
    # the header repeated
    for row, next_order in [*marks, (len(cells), None)]:
        if order is not None and row > begin:
            out.iloc[begin:row, :] = cells.iloc[begin:row, order].to_numpy()
        order, begin = next_order, row
    return out, ("{files}: a header line in another column order below the first (two exports joined): the rows "
                 "under it are read by its order")


def _repeats_header(table: RawTable, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` repeat the header: the session and text cells hold their own column names."""
    if not len(rows):
        return np.zeros(0, dtype=bool)
    columns, cells = table.columns, table.cells
    same = np.ones(len(rows), dtype=bool)
    for at in (columns.positions["session_id"], *columns.text_positions()):
        label = fold_name(columns.header[at])
        same &= cells[at].iloc[rows].map(fold_name).to_numpy() == label
    return same


def _header_in_other_words(table: RawTable, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` name the header's fields in other words (the English line under a Chinese
    header: buyer_nick, content): the session and text cells name the fields of their columns."""
    columns, cells = table.columns, table.cells
    named = np.ones(len(rows), dtype=bool)
    for name, at in (("session_id", columns.positions["session_id"]),
                     *(("text", at) for at in columns.text_positions())):
        fields = {name, field_of(columns.header[at])}  # a session column may be the customer's (买家昵称)
        named &= cells[at].iloc[rows].map(field_of).isin(fields).to_numpy()
    return named


def _parse_seq(raw: pd.Series, kept: np.ndarray) -> tuple[np.ndarray, int]:
    """Seq values (NaN when missing or not a number) and how many non-empty ones of the ``kept``
    rows were ignored (a rejected row's 汇总 is no seq value ignored)."""
    text = raw.str.strip()
    seq = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    ignored = int((np.isnan(seq) & (text != "").to_numpy() & kept).sum())
    return seq, ignored


def _code_of(names: np.ndarray, value: str) -> int:
    """The code of ``value`` among factorized ``names``; -2 (no code) when absent."""
    found = np.flatnonzero(names == value)
    return int(found[0]) if len(found) else -2


def _arrow_equals(values: pa.Array | pa.ChunkedArray, value: str) -> np.ndarray:
    return np.asarray(pc.equal(values, value).to_numpy(zero_copy_only=False), dtype=bool)


def _coded_str(codes: np.ndarray, names: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Values given as codes into ``names``, as pandas' str dtype."""
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(codes, type=pa.int32()), pa.array(names, type=pa.string())
    )
    return pd.array(dictionary.cast(pa.large_string()), dtype="str")


def _constant_str(value: str, length: int) -> pd.api.extensions.ExtensionArray:
    """``value`` ``length`` times, as pandas' str dtype (pyarrow's repeat writes it out at about a
    third of the cost of decoding a dictionary of one value)."""
    return pd.array(pa.repeat(pa.scalar(value, pa.large_string()), length), dtype="str")


def _assemble(parts: list[_Part], files: list[str], options: ReadOptions, notes: IngestNotes) -> IngestResult:
    """Concatenate the inputs, sort once (stable: input order breaks ties) and fix dtypes."""
    frames = [p.messages for p in parts if len(p.messages)]
    repeats = empty_rejected()
    if frames:
        messages = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        messages = messages[MESSAGE_COLUMNS]
        order = canonical_order(messages)
        if order is not None:
            # One input's file and sheet columns hold one value: reordering them changes nothing.
            same = ("source_file", "source_sheet") if len(frames) == 1 else ()
            messages = _take_rows(messages, order, same)
        messages, repeats = drop_duplicates(messages, order if order is not None else np.arange(len(messages)))
        note_duplicates(repeats, notes)
    else:
        messages = empty_messages(options.timezone)
    # the repeats come after the rows each reader rejected, as the out-of-core audit finds them after its read
    rejected_frames = [p.rejected for p in parts if len(p.rejected)] + ([repeats] if len(repeats) else [])
    rejected = pd.concat(rejected_frames, ignore_index=True) if rejected_frames else empty_rejected()
    return IngestResult(
        messages=messages,
        rejected=rejected,
        input_rows=sum(p.input_rows for p in parts),
        files=list(files),
        has_timestamps=any(p.has_timestamps for p in parts),
        notes=notes.render(),
    )


def canonical_order(messages: pd.DataFrame) -> np.ndarray | None:
    """The positions that sort ``messages`` by session, time, seq and input position (NaT and
    NaN last), i.e. what a stable ``sort_values`` of those keys gives; None when the rows are
    already in that order (exports often come session by session)."""
    session = messages["session_id"]
    if session.hasnans:  # no reader makes one; pandas' own sort decides where they go
        keyed = messages.reset_index(drop=True).assign(_order=np.arange(len(messages)))
        order = keyed.sort_values(["session_id", "timestamp", "seq", "_order"], kind="stable",
                                  na_position="last").index.to_numpy()
    else:
        # Sorted codes of the distinct ids order the ids as comparing them would, for far
        # less than a multi-column sort_values of a million strings.
        codes, _ = pd.factorize(session, sort=True)
        times = messages["timestamp"]
        stamps, seq, missing = times.array.asi8, messages["seq"].to_numpy(dtype=float), times.isna().to_numpy()
        if not missing.any() and np.isnan(seq).all() and bool((np.diff(stamps) >= 0).all()):
            # rows in time order without a seq (a log as it was written, sessions interleaved):
            # the input order is the time order, so a stable sort of the sessions alone gives
            # the same positions as the sort below, at a fraction of its cost
            order = _stable_order(codes)
        else:
            # np.lexsort is stable (ties keep input order) and puts NaN seq last; its last key is
            # the primary one. asi8 is UTC whatever the zone, with NaT as the minimum: hence the
            # NaT flag before it.
            order = np.lexsort((seq, stamps, missing, codes))
    if np.array_equal(order, np.arange(len(order))):
        return None
    return order


def _stable_order(codes: np.ndarray) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` for codes in [0, 2**32): numpy sorts 16-bit keys
    by radix, so the codes are sorted by their low 16 bits and then by their high ones."""
    if not len(codes) or codes.max() < 1 << 16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    order = np.argsort((codes & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((codes >> 16).astype(np.uint16)[order], kind="stable")]


def _take_rows(messages: pd.DataFrame, order: np.ndarray, same: tuple[str, ...]) -> pd.DataFrame:
    """``messages`` in ``order`` with a fresh RangeIndex; the columns in ``same`` (one value in
    every row) are kept as they are."""
    # pyarrow's take releases the GIL: the string columns reorder side by side (2 cores halve
    # the ~0.4 s a million rows take one after another).
    names = [name for name in messages.columns if name not in same]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        taken = dict(zip(names, pool.map(lambda name: messages[name].array.take(order), names), strict=True))
    return pd.DataFrame({name: taken.get(name, messages[name].array) for name in messages.columns})
