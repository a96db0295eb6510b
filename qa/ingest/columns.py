"""Column vocabularies and the mapping of a header to the fields of the message table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from qa.errors import InputError
from qa.ingest.header import DATE_CELL, VOCABULARY, closest, fold_name, guess_column, header_key, party_text_columns
from qa.regexcache import compile_regex

#: Fields a ``--column FIELD=NAME`` override may name.
FIELDS = ("session_id", "text", "role", "timestamp", "seq", "agent", "sender")

# Header aliases per field: the platforms' vocabularies (qa.ingest.header), compared
# case-insensitively after stripping spaces and BOM.
_ALIASES: dict[str, tuple[str, ...]] = VOCABULARY
# Fields read only to recognise a header (a customer's ID beside the customer's nickname, as
# 小红书 and 七鱼 export them): which of two such columns is taken changes nothing, so two are
# no ambiguity to stop the run for.
_RECOGNITION_ONLY = frozenset({"customer"})
_FLAG_FIELD = "agent_flag"
# The positions of per-party text columns (买家发言, 客服发言) are kept as fields "text:customer",
# "text:agent", "text:system", so that every reader carries them as it carries the other fields.
PARTY_TEXT = "text:"
# A file is read as one message per row from its per-party text columns unless, in the rows looked
# at, more than this share fill two parties' columns: then it holds questions and answers side by side
# (a question-and-answer sheet fills both on most rows, half of them when many questions went
# unanswered or a reply took two rows; an export of messages fills two only on a damaged row).
_SIDE_BY_SIDE_SHARE = 0.25
_REQUIRED = ("session_id", "text")
# Without a session column (a 千牛 export keyed by the buyer's 旺旺) a session is the customer's
# conversation, told apart by the time it began when a column gives it.
# A header cell that is a date (2026-12-17 10:01:30) means the first line is data; so do two cells that
# are numbers or long hex ids (0000b82c62117aa4…, 0, 1) in a line naming no field.
_VALUE_LIKE = compile_regex(r"^\s*(?:-?\d+(?:\.\d+)?|[0-9a-fA-F]{16,})\s*$")
# Question-and-answer layouts: the customer's message and the agent's reply in two columns of one row.
_ASKED_COLUMN = compile_regex(r"^(?:买家|客户|顾客|用户|访客)(?:消息|内容|问题|提问|发言)$")
_ANSWERED_COLUMN = compile_regex(r"^(?:客服|商家|卖家|坐席)(?:回复|答复|回答|消息|内容)$")
# Columns of a session list (one row per session, the whole chat in one cell or none): 七鱼/飞鸽
# export it beside the message records, and it is easily taken for them.
_SESSION_SUMMARY = frozenset(n.casefold() for n in (
    "会话开始时间", "会话结束时间", "会话时长", "满意度", "满意度评价", "评价结果", "首次响应时长", "平均响应时长",
    "消息数", "消息条数", "接待时长", "结束方式", "session_start", "session_end", "duration", "rating",
    "satisfaction"))
_SESSION_START = frozenset(n.casefold() for n in (
    "会话开始", "会话开始时间", "会话创建时间", "进线时间", "接入时间", "session_start", "session_started_at",
    "conversation_start"))
# The order a conversation is about (飞鸽 / 抖店 exports without a session column): a customer's chats about
# two orders are two sessions.
_SESSION_ORDER = frozenset(n.casefold() for n in (
    "订单号", "订单编号", "订单ID", "关联订单", "关联订单号", "咨询订单", "order_id", "order_no", "order_sn", "orderid"))


# --------------------------------------------------------------------------- columns


class AmbiguousColumns(InputError):
    """Two or more columns of a header are named like one field (发送方 and 角色 both like role):
    which one holds it only their values can tell."""

    def __init__(self, message: str, field: str, names: Sequence[str]) -> None:
        super().__init__(message)
        self.field = field
        self.names = tuple(names)


@dataclass(frozen=True)
class ColumnMap:
    """Which header position holds each field (absent fields are missing)."""

    positions: dict[str, int]
    header: list[str]
    mapped: dict[str, str] = field(default_factory=dict)  # the --column mappings this input used
    guessed: dict[str, str] = field(default_factory=dict)  # fields found by the words in a header name
    notes: tuple[str, ...] = ()  # how the reader took a column ({files} stands for the input)
    role_codes: tuple[tuple[str, str | None], ...] = ()  # role column codes (1=顾客) from the export's legend
    # no role column, and the sender equals the row's customer (买家昵称) on many rows: that sender is
    # the customer, every other sender an agent or the system
    senders_by_customer: bool = False
    # no role column, and every message is the staff member's (the row's agent column, 员工) or sent to them (a
    # 企业微信 archive: 员工, 发送者, 接收者): the staff member's are the agent's, the others the customer's
    senders_by_staff: bool = False
    # an agent's sub-account spelling and the bare name also in the file (店铺:小芸 -> 小芸): one agent
    agent_aliases: tuple[tuple[str, str], ...] = ()
    # 企业微信 / 微信客服: the ids tell who wrote (a customer's external userid wm… / wo…, the kf account's wk…,
    # staff's own userids): roles from the sender's id, a session the customer's id per day
    external_ids: bool = False
    # a grouped report writes the date on the first row of each day only: each blank takes the date above
    dates_filled_down: bool = False
    # ... or on the first row of each conversation only: a time of day earlier than the one above it in
    # the same conversation is on the next day (a chat that runs past midnight)
    dates_per_session: bool = False
    # the day of a file whose times are times of day only, named in its title or file name (班次：2027-02-03)
    base_date: str | None = None
    # a merged-cells export writes the session on its first row only: each blank takes the session above
    sessions_filled_down: bool = False
    # patterns of what decorates agents' names (小王(离线), 客服-小王): dropped, one agent one name
    agent_decorations: tuple[str, ...] = ()
    # columns whose values open with Excel's text marker (a leading '): the marker is dropped
    text_marked: tuple[int, ...] = ()
    # a workbook's staff directory sheet (qa.ingest.staffdir): (id, name, role) of the shop's accounts
    staff_directory: tuple[tuple[str, str, str], ...] = ()

    def has(self, name: str) -> bool:
        """Whether the field ``name`` has a column."""
        return name in self.positions

    def label(self, name: str) -> str:
        """The header of the column of field ``name``, as the file writes it."""
        return self.header[self.positions[name]]

    def party_texts(self) -> list[tuple[str, int]]:
        """(role, position) of each per-party text column (买家发言 -> customer), in header order;
        empty when the file has one text column."""
        pairs = [(name[len(PARTY_TEXT):], at) for name, at in self.positions.items() if name.startswith(PARTY_TEXT)]
        return sorted(pairs, key=lambda pair: pair[1])

    def text_positions(self) -> list[int]:
        """The column holding the text, or the per-party text columns."""
        return [self.positions["text"]] if "text" in self.positions else [at for _, at in self.party_texts()]


# The agent named twice, by number and by name (客服工号 / 客服昵称): reports show the name. (Not the
# customer: 买家ID tells apart two buyers whose masked nicknames read alike.)
_NAMED_PARTIES = frozenset({"agent"})
_NAME_SUFFIXES = frozenset({"名称", "昵称", "姓名", "名字", "name"})
_NUMBER_LIKE = compile_regex(r"(?i)工号|编号|账号|帐号|号码|(?<![a-z])id$|_id$|\bid\b|ID")


def _clean_name(name: object) -> str:
    return str(name).replace("\ufeff", "").strip()


def resolve_columns(header: Sequence[str], overrides: Mapping[str, str], where: str) -> ColumnMap:
    """Map fields to header positions by override or alias; raise InputError when unclear."""
    names = [_clean_name(h) for h in header]
    keys = [fold_name(n) for n in names]
    flat_keys = [header_key(n) for n in names]  # Ticket ID matches the alias ticket_id
    found = ", ".join(n for n in names if n) or "(no named columns)"
    positions: dict[str, int] = {}
    unmatched: dict[str, str] = {}
    for name, wanted in overrides.items():
        if name == "timestamp" and "+" in wanted and _find_override(names, keys, _clean_name(wanted)) is None:
            # --column timestamp=日期+时间: a date column and a time column make one timestamp
            day, _, clock = wanted.partition("+")
            for part, field in ((day, "date"), (clock, "timestamp")):
                position = _find_override(names, keys, _clean_name(part))
                if position is None:
                    raise InputError(f"column '{part.strip()}' for {name} not found in {where}; found: {found}")
                positions[field] = position
            continue
        position = _find_override(names, keys, _clean_name(wanted))
        if position is None:
            # In a folder mixing platforms a mapping is for the files that have that column;
            # the others find the field by its usual names (or fail below, naming the mapping).
            unmatched[name] = wanted
            continue
        positions[name] = position
    claimed = set(positions.values())
    for name, aliases in _ALIASES.items():
        if name in positions:
            continue
        alias_keys = {header_key(a) for a in aliases}
        hits = [i for i, key in enumerate(flat_keys) if key in alias_keys and i not in claimed]
        if len(hits) > 1 and name in _NAMED_PARTIES:
            # an agent by number and by name (客服工号 beside 客服昵称): the name is what people read
            named = [i for i in hits if not _NUMBER_LIKE.search(names[i])]
            if len(named) == 1:
                hits = named
        if len(hits) > 1 and name in ("sender", "agent"):
            # a party named twice, bare and as a name (发送者 / 发送者名称, 坐席 / 座席名称): the name is what people read
            named = [i for i in hits if any(keys[i] != keys[j] and keys[i].startswith(keys[j])
                                            and keys[i][len(keys[j]):] in _NAME_SUFFIXES for j in hits)]
            if len(named) == 1:
                hits = named
        if len(hits) > 1 and name not in _RECOGNITION_ONLY:
            listed = " and ".join(f"'{names[i]}'" for i in hits)
            both = "both" if len(hits) == 2 else "all"
            if len({keys[i] for i in hits}) == 1:  # the same name twice: --column cannot pick one
                places = ", ".join(str(i + 1) for i in hits)
                # (a time column twice is often a session's start beside the message's time)
                why = " (the other is likely a session's start)" if name == "timestamp" else ""
                raise InputError(f"columns {places} of {where} are all named '{names[hits[0]]}' and look like {name}: "
                                 f"rename one of them in the file{why}")
            raise AmbiguousColumns(f"columns {listed} {both} look like {name} in {where}; use --column {name}=NAME",
                                   name, [names[i] for i in hits])
        if hits:
            positions[name] = hits[0]
    notes: tuple[str, ...] = ()
    if "text" not in positions and "text" not in unmatched:
        notes = _take_party_texts(positions, names)
    # per-party text columns give each row's text and its sender's role: neither is looked for
    parties = any(name.startswith(PARTY_TEXT) for name in positions)
    guessed: dict[str, str] = {}
    # a column naming the role in other words (发送人身份类型) beats telling roles from nicknames
    if not ({"role", _FLAG_FIELD} & positions.keys()) and not parties:
        _guess(positions, names, "role", guessed)
    for name in ("session_id", "text", "timestamp", "agent"):
        if name not in positions and not (name == "text" and parties):
            _guess(positions, names, name, guessed)
    if "session_id" not in positions and "customer" in positions and "session_id" not in unmatched:
        positions["session_id"] = positions["customer"]
        starts = [i for i, key in enumerate(keys) if key in _SESSION_START and i not in positions.values()]
        if starts:
            positions["session_start"] = starts[0]
        orders = [i for i, key in enumerate(keys) if key in _SESSION_ORDER and i not in positions.values()]
        if orders and not starts:
            positions["session_order"] = orders[0]
        if not starts:
            # nothing tells one conversation from the next: a customer's messages of one day are one
            # session (a customer who comes back tomorrow starts another), when the rows have times
            positions["session_day"] = positions["customer"]
        split = (f", one per '{names[starts[0]]}'" if starts else
                 f", one per '{names[orders[0]]}' and day when times are given" if orders else ", one per day when times are given")
        split += "; where the export writes that a conversation ended (会话已结束), the next one starts after it"
        notes = (*notes, f"{{files}}: no session column: a session is a customer's conversation "
                         f"('{names[positions['customer']]}'{split})")
    elif "session_id" not in positions and {"sender", "receiver"} <= positions.keys() and "session_id" not in unmatched:
        # an archive of messages from one person to another (企业微信 会话存档: 发送者, 接收者): a session
        # is the conversation of the two
        positions["session_id"] = positions["sender"]
        positions["session_peer"] = positions["receiver"]
        notes = (*notes, f"{{files}}: no session column: a session is the conversation of "
                         f"'{names[positions['sender']]}' and '{names[positions['receiver']]}'")
    elif ("session_id" not in positions and {"role", "receiver"} <= positions.keys()
          and "session_id" not in unmatched):
        # a message log of sender and receiver without a session (千牛 聊天记录: 发送方 is the buyer or the
        # shop's 店铺:子账号, 接收方 the other party; a transfer hands the buyer to another 子账号): a session
        # is the customer's day, the customer being the sender of a customer's message and the receiver
        # of the shop's. The role column must turn out to hold the senders' names (roles.names_as_sender).
        positions["session_id"] = positions["role"]
        positions["session_customer"] = positions["receiver"]
        positions["session_day"] = positions["receiver"]
        notes = (*notes, f"{{files}}: no session column: a session is a customer's conversation of one day "
                         f"(the customer: '{names[positions['role']]}' of a customer's message, "
                         f"'{names[positions['receiver']]}' of the shop's)")
    if "session_id" not in positions and "session_id" not in unmatched:
        # a chat opened per order (美团外卖 / 饿了么 商家 IM: 订单号 on every row, no customer column): a session
        # is the conversation about one order; a row without an order number is rejected with that reason
        orders = [i for i, key in enumerate(keys) if key in _SESSION_ORDER and i not in positions.values()]
        if orders:
            positions["session_id"] = orders[0]
            notes = (*notes, f"{{files}}: no session column: a session is the conversation about one order "
                             f"('{names[orders[0]]}')")
    if "session_id" in positions and "agent" in positions and "session_id" not in overrides \
            and keys[positions["session_id"]].endswith("序号"):
        # a running number of each agent's sessions (会话序号 1, 2, 3 again for the next agent) names a
        # session only together with its agent
        positions["session_scope"] = positions["agent"]
        notes = (*notes, f"{{files}}: '{names[positions['session_id']]}' numbers each agent's sessions: a session "
                         f"is '{names[positions['agent']]}' with that number")
    for name, wanted in unmatched.items():
        if name not in positions and (name in _REQUIRED or name == "timestamp"):
            raise InputError(f"column '{wanted}' for {name} not found in {where}; found: {found}")
    missing = [f for f in _REQUIRED if f not in positions and not (f == "text" and parties)]
    if not missing and not parties and not ({"role", _FLAG_FIELD, "sender"} & positions.keys()):
        missing = ["role"]
    values = [n for n in names if _VALUE_LIKE.search(n)]
    if missing and (any(DATE_CELL.search(n) for n in names) or (len(values) >= 2 and not positions)):
        sample = next((n for n in names if DATE_CELL.search(n)), values[0] if values else "")
        raise InputError(f"{where} has no header row: its first line already holds data ('{sample}'); add the "
                         f"header line (会话ID, 发送方, 时间, 内容…) or name the columns with --header-row/--column")
    asks = [n for n in names if _ASKED_COLUMN.search(n)]
    answers = [n for n in names if _ANSWERED_COLUMN.search(n)]
    if missing and asks and answers:
        raise _side_by_side(where, asks[0], answers[0])
    if missing and len({key for key in keys if key in _SESSION_SUMMARY}) >= 2:
        listed = ", ".join(n for n, key in zip(names, keys) if key in _SESSION_SUMMARY)
        raise InputError(f"{where} looks like a list of sessions, one row per session ({listed}); qa audits "
                         f"the message records, one row per message: export the chat messages instead")
    if missing:
        near = closest(missing[0], names)
        hint = f"found {near}? use --column {missing[0]}={near}" if near else f"use --column {missing[0]}=NAME"
        raise InputError(f"missing column for {missing[0]} in {where}; found: {found}; {hint}")
    mapped = {name: wanted for name, wanted in overrides.items() if name not in unmatched}
    return ColumnMap(positions, names, mapped, guessed, notes)


def _take_party_texts(positions: dict[str, int], names: list[str]) -> tuple[str, ...]:
    """Take the per-party text columns (买家发言, 客服发言, 系统提示) of a header without a text column
    into ``positions``; the note saying so, or no note when there are none."""
    parties = party_text_columns(names, set(positions.values()))
    for party, at in parties.items():
        positions[PARTY_TEXT + party] = at
    if not parties:
        return ()
    listed = ", ".join(f"'{names[at]}' {party}" for party, at in sorted(parties.items(), key=lambda item: item[1]))
    return (f"{{files}}: no text column: each row's text is in the column of its sender ({listed})",)


def refuse_side_by_side(columns: ColumnMap, sample: Sequence[Sequence[str]], where: str) -> None:
    """Raise when per-party text columns hold a question and its answer on one row: in the
    ``sample`` rows (the first data rows), most rows with any text fill two parties' columns."""
    texts = columns.party_texts()
    if not texts:
        return
    filled = [sum(1 for _, at in texts if at < len(row) and str(row[at]).strip()) for row in sample]
    with_text = [count for count in filled if count]
    if with_text and sum(count > 1 for count in with_text) > _SIDE_BY_SIDE_SHARE * len(with_text):
        raise _side_by_side(where, columns.header[texts[0][1]], columns.header[texts[1][1]])


def _side_by_side(where: str, asked: str, answered: str) -> InputError:
    return InputError(f"{where} holds a customer's message and the agent's reply side by side on one row "
                      f"('{asked}', '{answered}'); qa needs the message records, one row per message")


def _guess(positions: dict[str, int], names: list[str], name: str, guessed: dict[str, str]) -> None:
    """Take a column for ``name`` by the words in its header (消息正文 for text), noting the guess."""
    position = guess_column(name, names, set(positions.values()))
    if position is not None:
        positions[name] = position
        guessed[name] = names[position]


def _find_override(names: list[str], keys: list[str], wanted: str) -> int | None:
    if wanted in names:
        return names.index(wanted)
    folded = fold_name(wanted)
    return keys.index(folded) if folded in keys else None
