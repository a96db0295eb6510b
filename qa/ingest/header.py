"""Finding the header row of an export, and the vocabularies it is matched against.

Real exports rarely start with their header: 千牛 writes a title and the export time above it,
咚咚 a merged title row, 飞鸽 a two-level header (group cells such as 会话信息 over the real
names). :func:`find_header` looks at the first :data:`SCAN_ROWS` rows and picks the one whose
names best match the known vocabularies; the rows above it are not input rows.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Rows looked at when searching for the header (an export may open with a long block of notes:
#: filters, the shop, a disclaimer line per field; 30 missed a 35-line block).
SCAN_ROWS = 100
# A row is taken as the header when it names at least this many known fields; below that the
# first non-blank row is used (the old behaviour), so an export with its own names and
# --column mappings still reads.
_MIN_FIELDS = 2

# Header names per field, compared case-insensitively after stripping spaces and BOM. Beyond
# the fields of the message table, a few columns are known only so that a header is recognised
# (receiver, customer) or a column is interpreted (msg_type, date).
# Flag columns whose 1 / 是 marks the customer's message, not the agent's.
CUSTOMER_FLAG_NAMES = ("is_buyer", "is_customer", "from_buyer", "from_customer", "是否买家", "是否买家发送", "是否买家消息",
                       "是否客户", "是否客户发送", "是否顾客", "是否用户", "是否用户发送", "是否访客", "是否访客发送")

VOCABULARY: dict[str, tuple[str, ...]] = {
    "session_id": (
        "session_id", "session", "sessionid", "session id", "conversation_id", "dialogue_id", "chat_id",
        "会话ID", "会话编号", "会话id", "对话ID", "对话编号", "会话标识", "咨询ID", "咨询编号", "会话", "对话",
        # helpdesk exports (Zendesk-like) keep a ticket's messages under its id
        "ticket_id", "ticket", "case_id", "thread_id", "工单号", "工单ID", "工单编号",
        # a console's link to the conversation (有赞: …/session-detail?kdt_id=…&sid=…) names it as well as its id
        "会话链接", "会话地址", "会话URL", "session_url", "conversation_url",
    ),
    "timestamp": (
        "timestamp", "time", "datetime", "created_at", "send_time", "msg_time", "message_time", "sent_time",
        "sent_at", "时间", "发送时间", "消息时间",
        "消息发送时间", "聊天时间", "回复时间",
        # a time of day beside a date column (小红书: 发送日期 + 发送时刻)
        "时刻", "发送时刻", "消息时刻",
        # an epoch column says so (飞鸽/抖店 BI: 发送时间戳 in milliseconds)
        "时间戳", "发送时间戳", "消息时间戳", "send_timestamp", "msg_timestamp",
    ),
    "role": (
        "role", "sender_role", "sender_type", "发送方", "角色", "发送者身份", "消息发送方", "发送方类型",
        "发送者类型", "发送者角色", "发送角色", "发送人角色", "发送人身份", "发送人类型", "消息来源", "发送方向", "消息方向", "身份",
        # a helpdesk's replies (Udesk 工单回复: 回复人类型 = 客户/客服/系统/抄送人), an ERP's direction (万里牛 收发 = 收/发)
        "回复人类型", "回复者类型", "回复人角色", "收发", "收/发", "收发方向", "收发类型",
        "消息发送者", "author_type", "author_role", "from_type", "user_type",
        # API dumps name who sent a message by its origin (快手小店 API: from_role = buyer/seller/robot/system)
        "from_role", "sender_kind", "role_type",
    ),
    "agent": (
        "agent", "agent_name", "agent_id", "客服", "客服昵称", "客服账号", "接待客服", "客服名称", "客服姓名",
        "客服名", "客服工号", "接待人", "客服pin", "客服PIN",
        # 企业微信 / 微信客服 and call-centre style exports name the agent by the desk's word
        "接待人员", "客服人员", "接待员", "坐席", "坐席名称", "接待坐席", "员工", "员工姓名",
        # ERP and shop-system exports in English
        "seller_nick", "seller_name", "seller", "agent_nick", "staff", "staff_name", "kefu", "kf_name",
    ),
    "text": (
        "text", "content", "message", "msg", "内容", "消息内容", "聊天内容", "消息文本", "对话内容", "消息",
        "聊天消息", "会话内容", "body", "message_body", "message_text", "msg_content",
    ),
    "seq": ("seq", "turn", "序号", "消息序号", "msg_seq", "message_seq", "seq_no"),
    "sender": (
        "sender", "sender_name", "nickname", "from", "发送人", "发送者", "发送者昵称", "发送者名称", "发送人名称", "昵称", "发送人昵称",
        "咚咚账号", "发送账号", "发送方昵称", "发送方账号", "author", "author_name", "sender_nick", "发言人", "发言者", "说话人",
    ),
    # JD-style exports mark agent messages with a 0/1 column instead of a role column; others mark the
    # buyer's (智齿 / 七鱼 API: 是否买家), where 1 is the customer (see CUSTOMER_FLAG_NAMES).
    "agent_flag": ("is_agent", "是否客服发送", "是否客服", "是否客服消息", *CUSTOMER_FLAG_NAMES),
    # A yes/no column marking the robot's messages (API dumps: sender.isRobot; 是否机器人): those are system rows.
    "bot_flag": ("is_robot", "isrobot", "sender_is_robot", "sender_isrobot", "from_is_robot", "is_bot", "sender_is_bot",
                 "robot", "是否机器人", "是否机器人发送", "是否机器人回复", "机器人消息", "是否自动回复", "is_auto_reply",
                 "auto_reply"),
    # A customer group's staff on each row (企业微信 客户群 export: 群内员工 "刘芸(客服)、青禾小助手(机器人)"): its
    # listed senders are the shop's agents (or its robot), everyone else in the group a customer.
    "staff_list": ("群内员工", "群员工", "群内客服", "员工列表", "客服列表", "staff_list", "group_staff"),
    # 消息状态: 已撤回 makes the row the platform's placeholder of a withdrawn message (a system row).
    "msg_status": ("msg_status", "message_status", "消息状态", "撤回状态"),
    # 消息类型: 文本/图片 are ordinary, 系统/机器人/自动回复 make the row a system message.
    "msg_type": ("msg_type", "message_type", "消息类型", "消息种类", "内容类型", "content_type", "msgtype",
                 # how a helpdesk reply went out (回复方式 = 邮件/在线/内部备注/触发器)
                 "回复方式", "reply_type", "reply_channel"),
    # A date column beside a time-of-day column (日期 + 时间) makes one timestamp.
    "date": ("date", "send_date", "日期", "发送日期", "消息日期", "聊天日期",
             # a session's date beside each message's time of day (七鱼: 会话日期 + 消息时间)
             "会话日期", "对话日期", "咨询日期", "接待日期", "session_date", "conversation_date", "chat_date"),
    "receiver": ("receiver", "to", "接收人", "接收者", "接收者昵称", "接收人昵称", "接收方"),
    # the accounts' ids beside their names (企业微信 / 微信客服: a customer's external userid is wm… or wo…)
    "sender_id": ("sender_id", "from_id", "from_userid", "sender_userid", "发送者ID", "发送人ID", "发送方ID", "发送者userid"),
    "receiver_id": ("receiver_id", "to_id", "to_userid", "receiver_userid", "接收者ID", "接收人ID", "接收方ID", "接收者userid"),
    "customer": (
        "customer", "buyer", "用户昵称", "访客名称", "访客", "访客ID", "买家", "买家昵称", "买家ID", "用户ID",
        "顾客", "顾客ID", "顾客昵称", "顾客账号", "顾客名称", "客户昵称", "用户名", "访客昵称", "买家旺旺", "旺旺", "买家旺旺号", "买家账号",
        "buyer_nick", "customer_name", "客户", "客户ID", "客户账号", "客户名称", "customer_id", "buyer_id", "用户pin", "用户PIN",
        # 1688 / 阿里旺旺 name the buyer by the member name (会员名) of the account
        "买家会员名", "会员名", "买家会员", "会员昵称", "会员账号", "买家会员账号",
        # a 企业微信 customer group (客户群) is served as one conversation a day
        "群名称", "群聊名称", "群名", "客户群", "客户群名称", "group_name", "chat_group",
    ),
}

# English headers come spaced, hyphenated or underscored (Ticket ID, Created At, author-role, session_id): the
# separators do not tell one name from another
_WORD_SEPARATORS = re.compile(r"[\s_\-]+")
_KEYS = {field: {_WORD_SEPARATORS.sub("", name.casefold()) for name in names} for field, names in VOCABULARY.items()}


def clean_name(name: object) -> str:
    """A header cell as compared: no BOM, no surrounding spaces."""
    return str(name).replace("\ufeff", "").strip()


_SPACES = re.compile(r"\s+")
# Taiwan and Hong Kong exports use their own words, which converting the characters leaves as they
# are (訊息 → 讯息, 帳號 → 帐号, 身分): each is matched as the mainland word the vocabularies know.
# 座席 and 坐席 are the same word (call centres write both)
_REGIONAL_WORDS = {"讯息": "消息", "帐号": "账号", "帐户": "账户", "身分": "身份", "使用者": "用户", "座席": "坐席"}
_REGIONAL = re.compile("|".join(_REGIONAL_WORDS))


@functools.lru_cache(maxsize=4096)
def fold_name(name: str) -> str:
    """A header name or a cell's word as matched against the vocabularies: clean, simplified
    Chinese (a Taiwan or Hong Kong shop writes 對話編號, 發送時間, 買家, 身分, 訊息內容), lower case."""
    # a header cell wrapped onto two lines (会话\nID) or ending in a colon (消息内容：) names the same column
    from qa.normalize import t2s_converter  # only when a header is read: qa --help stays fast

    simplified = t2s_converter().convert(_SPACES.sub("", clean_name(name)).rstrip(":："))
    return _REGIONAL.sub(lambda word: _REGIONAL_WORDS[word.group()], simplified).casefold()


def header_key(name: str) -> str:
    """:func:`fold_name` without word separators: how a header name is matched against the
    vocabularies (Ticket ID = ticket_id, Created At = created_at). A name given in two languages
    (会话ID(Session ID), 内容（Content）) is matched by the part before the brackets."""
    folded = fold_name(name)
    outside = _BRACKETED_TAIL.sub("", folded)
    key = _WORD_SEPARATORS.sub("", outside or folded)
    if "." in key.strip("."):
        # a flattened API field (sender.role, message.created_at, content.text): known whole, as the JSON
        # reader joins it (sender_role), else by its last part
        whole, last = key.replace(".", ""), key.rsplit(".", 1)[-1]
        return whole if any(whole in keys for keys in _KEYS.values()) or not last else last
    return key


# a gloss in brackets after a header name: 会话ID(Session ID), 客服（Agent）
_BRACKETED_TAIL = re.compile(r"\s*[(（\[【][^()（）\[\]【】]*[)）\]】]\s*$")


def field_of(name: str) -> str | None:
    """The vocabulary field a header name belongs to, or None."""
    key = header_key(name)
    for field, keys in _KEYS.items():
        if key in keys:
            return field
    return None


@dataclass(frozen=True)
class Header:
    """The chosen header: ``index`` of its row among the rows looked at, the names a person
    sees (a two-level header's empty cells take the group row's name above), and how many
    rows above it are a group row merged into it (0 or 1)."""

    index: int
    names: list[str]
    fields: int


def _blank(row: Sequence[str]) -> bool:
    return not any(clean_name(cell) for cell in row)


def seen_names(rows: Sequence[Sequence[str]], index: int) -> list[str]:
    """The names of row ``index`` as a person reads them: an empty cell under a filled one (a
    header cell merged down over two rows) takes the name above."""
    row = [clean_name(cell) for cell in rows[index]]
    if index == 0:
        return row
    above = [clean_name(cell) for cell in rows[index - 1]]
    names = [cell or (above[i] if i < len(above) else "") for i, cell in enumerate(row)]
    # a name repeated under different group cells (京麦 2025: 账号, 角色 under 发送方 and again under 接收方) is
    # read with its group's name (发送方角色, 接收方角色), when that tells the repeats apart
    repeated = {name for name in names if name and names.count(name) > 1}
    spans = list(itertools.accumulate(above, lambda left, cell: cell or left)) if repeated else []  # a group cell spans right
    for name in repeated:
        places = [i for i, cell in enumerate(names) if cell == name]
        groups = [spans[i] if i < len(spans) else "" for i in places]
        if all(groups) and len(set(groups)) == len(groups):
            for i, group in zip(places, groups):
                names[i] = group + name
    return names


def _score(names: Sequence[str], overrides: Mapping[str, str]) -> int:
    wanted = {fold_name(v) for value in overrides.values() for v in value.split("+")}
    fields = set()
    for name in names:
        if not name:
            continue
        field = field_of(name)
        if field is not None:
            fields.add(field)
        elif fold_name(name) in wanted:
            fields.add("override:" + name)
    return len(fields)


def find_header(rows: Sequence[Sequence[str]], overrides: Mapping[str, str] = {}) -> Header | None:
    """The header among the first :data:`SCAN_ROWS` ``rows`` (cell texts) above the first row of
    messages, or None when all are blank. The row naming the most known fields wins (the earliest on a
    tie); when none names :data:`_MIN_FIELDS`, the first non-blank row is the header."""
    best: Header | None = None
    first: int | None = None
    for index, row in enumerate(rows[:SCAN_ROWS]):
        if _blank(row):
            continue
        if first is not None and _message_row(row):
            # The header stands above the messages: past the first row of them, a row naming fields is a
            # second export joined below the first, or a message that names one (客服), not the header.
            break
        if first is None:
            first = index
        names = seen_names(rows, index)
        fields = _score(names, overrides)
        if best is None or fields > best.fields:
            best = Header(index, names, fields)
    if first is None:
        return None
    if best is None or best.fields < _MIN_FIELDS:
        return Header(first, seen_names(rows, first) if first else [clean_name(c) for c in rows[first]], 0)
    return best


#: A cell that starts with a date (2026-12-06 10:00:05, 2026/12/06): a message's time, not a column's name.
DATE_CELL = re.compile(r"^\s*\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}")


def _message_row(row: Sequence[str]) -> bool:
    """A row of messages, not of notes or names: three or more cells, one of them a date (a title or
    notes line is one cell, 导出时间：2026-12-06 among them; a cover line is a label and a value)."""
    cells = [str(cell) for cell in row if cell is not None and str(cell).strip()]
    return len(cells) >= 3 and any(DATE_CELL.match(cell) for cell in cells)


def at_row(rows: Sequence[Sequence[str]], index: int) -> Header:
    """The header at a given row (``--header-row``)."""
    return Header(index, seen_names(rows, index), _score(seen_names(rows, index), {}))


# A field no vocabulary name matched may still be named in other words (苏宁云信: 消息正文, 消息方向,
# 坐席昵称 beside 坐席工号). Each field's words, most telling first: a column is taken for the field
# by the first pattern that some unclaimed column's name matches, and among those columns the first.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "session_id": (r"(?:会话|对话|咨询|session|conversation|chat|dialog).*(?:id|编号|号|标识|码)$",),
    "text": (r"正文|内容|文本|(?:^|[^类])消息$|^(?:message|content|text|body)", r"聊天记录$|话术$"),
    "timestamp": (r"(?:发送|消息|聊天|回复|创建|记录)?时(?:间戳?|刻)$|^(?:time|datetime|timestamp|sent_at)|[_ ](?:time|at)$",),
    # (a name, account, number or ID card beside the word is no role: 发送方昵称, 身份证号, 角色ID; nor is
    # the receiver's role, which an export may put before the sender's: 接收方角色, receiver_role)
    "role": (r"^(?!(?:接收|收件|收信|receiver|recipient|recv|target|peer|dest|reply_to|to[_\s]))(?!.*(?:昵称|名称|名字|姓名|账号|帐号|编号|号码|证|(?<![a-z])id$))"
             r"(?:.*(?:角色|身份|方向|发送方|direction|sender_?type)|role|.*[_\s]role$)",),
    "agent": (r"(?:客服|坐席|接待|员工|agent).*(?:昵称|名称|姓名|名字)$", r"(?:客服|坐席|接待|员工|agent).*(?:账号|帐号|pin)$",
              r"(?:客服|坐席|接待|员工|agent).*(?:工号|编号|id)$"),
}
_KEYWORD_PATTERNS = {field: tuple(re.compile(p, re.IGNORECASE) for p in patterns) for field, patterns in KEYWORDS.items()}


def guess_column(field: str, names: Sequence[str], claimed: set[int]) -> int | None:
    """The position of an unclaimed column whose name says ``field`` in other words
    (:data:`KEYWORDS`), or None. Names a vocabulary knows for another field are never taken."""
    for pattern in _KEYWORD_PATTERNS.get(field, ()):
        for index, name in enumerate(names):
            if index in claimed or not name or field_of(name) not in (None, field):
                continue
            if pattern.search(fold_name(name)):
                return index
    return None


# Per-party text columns: some exports (1688 旺旺 plug-ins, QA sheets) have no text and no role
# column, but one text column per party (买家发言 / 客服发言 / 系统提示, customer_message /
# agent_message): the name pairs a party word with a text word. Whether a row holds one message
# (one of them filled) or a question and its answer side by side (both filled) only the values tell.
_PARTY_WORDS = {
    "customer": r"买家|顾客|客户|用户|访客|会员|buyer|customer|user|visitor|client",
    "agent": r"客服|商家|卖家|坐席|店铺|agent|seller|staff",
    "system": r"系统|机器人|平台|system|bot|robot",
}
_TEXT_WORDS = (r"发言|消息|内容|文本|回复|答复|回答|问题|提问|提示|通知|message|msg|text|content|reply|question|answer"
               r"|notice")
_PARTY_TEXT = {party: re.compile(rf"^(?:{words})[\s_\-·]*(?:{_TEXT_WORDS})$", re.IGNORECASE)
               for party, words in _PARTY_WORDS.items()}


def party_text_columns(names: Sequence[str], claimed: set[int]) -> dict[str, int]:
    """The unclaimed columns whose names pair a party with a text word (买家发言, 客服发言, 系统提示),
    as party (customer, agent, system) -> position; empty unless at least two parties have one
    and no party has two (which of two would be the party's text is unknown)."""
    found: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        if index in claimed or not name or field_of(name) is not None:
            continue
        key = fold_name(name)
        for party, pattern in _PARTY_TEXT.items():
            if pattern.search(key):
                found.setdefault(party, []).append(index)
    if len(found) < 2 or any(len(positions) > 1 for positions in found.values()):
        return {}
    return {party: positions[0] for party, positions in found.items()}


def closest(field: str, names: Sequence[str]) -> str | None:
    """The header name most like a known name of ``field`` and not itself known (for the hint
    ``found 会话编码? use --column session_id=会话编码``)."""
    candidates = [n for n in names if n and field_of(n) is None]
    if not candidates:
        return None
    vocabulary = list(VOCABULARY.get(field, ()))
    best, best_ratio = None, 0.0
    for name in candidates:
        key = fold_name(name)
        for known in vocabulary:
            known_key = known.casefold()
            ratio = difflib.SequenceMatcher(None, key, known_key).ratio()
            if known_key in key or key in known_key:
                ratio = max(ratio, 0.8)
            if ratio > best_ratio:
                best, best_ratio = name, ratio
    return best if best_ratio >= 0.5 else None


# --------------------------------------------------------------------------- text files


@dataclass(frozen=True)
class TextHeader:
    """The header of a delimited text: its delimiter, names, and the lines above it (skipped)."""

    delimiter: str
    names: list[str]
    lines_above: int  # text lines before the header line (title, metadata, blank lines)
    raw: list[str]  # the header row's own cells (what the parsers compare repeated headers with)


def find_text_header(
    head: str, overrides: Mapping[str, str] = {}, *, delimiter: str | None = None, header_row: int | None = None
) -> TextHeader:
    """The header of a delimited text from its first lines: for each candidate delimiter the
    best row of :func:`find_header`; the delimiter whose header names most known fields wins
    (then the one splitting the header into most fields). ``header_row`` (1-based) forces it."""
    import csv
    import re

    lines = re.split(r"\r\n|\r|\n", head)[: SCAN_ROWS + 1]
    if len(lines) > SCAN_ROWS:  # the last one may be cut in the middle
        lines = lines[:SCAN_ROWS]
    best: tuple[tuple[int, int], TextHeader] | None = None
    for candidate in ([delimiter] if delimiter else [",", "\t", ";"]):
        rows = [next(csv.reader([line], delimiter=candidate), []) for line in lines]
        if header_row is not None:
            index = header_row - 1
            if not 0 <= index < len(rows) or _blank(rows[index]):
                from qa.errors import InputError

                raise InputError(f"--header-row {header_row}: row {header_row} is blank or beyond the first "
                                 f"{len(rows)} rows")
            found = at_row(rows, index)
        else:
            found = find_header(rows, overrides)
        if found is None:
            continue
        rank = (found.fields, len([n for n in found.names if n]))
        if best is None or rank > best[0]:
            best = (rank, TextHeader(candidate, found.names, found.index, rows[found.index]))
    if best is None:
        return TextHeader(delimiter or ",", [], 0, [])
    return best[1]


def header_note(source: str, sheet: str, row: int) -> str | None:
    """``header found on row 3 of X (sheet S); rows 1–2 skipped`` (None for row 1)."""
    if row <= 1:
        return None
    where = f"{source} (sheet {sheet})" if sheet else source
    skipped = "row 1" if row == 2 else f"rows 1–{row - 1}"
    return f"header found on row {row} of {where}; {skipped} skipped"


# --------------------------------------------------------------------------- date + time

# a clock, 24-hour or with its half of the day (上午9:02:00, 9:02:00 PM)
_HALF_DAY = r"(?:上午|下午|中午|凌晨|早上|晚上|[aApP]\.?[mM]\.?)"
_CLOCK = rf"(?:{_HALF_DAY}\s*)?\d{{1,2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?:\s*[aApP]\.?[mM]\.?)?"
_TIME_ONLY = rf"\s*{_CLOCK}\s*"
_DATE_PART = r"\s*(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?)"


def looks_like_time_of_day(values) -> bool:
    """Whether the non-empty values (a pandas str Series) are times of day only (10:06:01, or Excel's
    fraction of a day read as a number: 0.5915)."""
    sample = values[values.str.strip() != ""].iloc[:200]
    return bool(len(sample)) and bool((sample.str.fullmatch(_TIME_ONLY) | sample.str.fullmatch(_DAY_FRACTION)).all())


# a fraction of a day (an Excel time cell read as its number), below 1
_DAY_FRACTION = r"\s*0?\.\d+(?:[eE]-\d+)?\s*|\s*0\s*|\s*\d(?:\.\d+)?[eE]-\d+\s*"


def written_once(dates: Sequence[str]) -> bool:
    """Whether a date column's values (rows in file order) are a grouped report's: the first row
    dated, blanks below, and no date written on two dated rows in a row (a date missing here and
    there from a column dated on every row is damage, not a layout: those rows stay undated)."""
    if not dates or not dates[0] or all(dates):
        return False
    written = [date for date in dates if date]
    return all(earlier != later for earlier, later in zip(written, written[1:]))


def join_date_time(dates, times):
    """One text timestamp per row from a date column and a time-of-day column, as cell texts
    (Excel dates read as ``2026-11-20 00:00:00`` keep only their date; Excel times read as
    ``1899-12-30 10:06:01`` or ``10:06:01`` keep only the time of day)."""
    import pandas as pd

    date = dates.str.extract(_DATE_PART, expand=False).fillna(dates.str.strip())
    time = times.str.extract(rf"({_CLOCK})\s*$", expand=False).fillna(times.str.strip())
    fraction = times.str.fullmatch(_DAY_FRACTION).to_numpy(dtype=bool, na_value=False)
    serial = dates.str.fullmatch(r"\s*[3-7]\d{4}(?:\.0+)?\s*").to_numpy(dtype=bool, na_value=False)
    if serial.any():
        # an Excel date saved as its day number (46362 is 2026-12-06), as a CSV export of a sheet writes it
        days = pd.to_numeric(dates[serial], errors="coerce")
        date = date.copy()
        date[serial] = (pd.Timestamp("1899-12-30") + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d")
    if fraction.any():
        # an Excel time read as its number (0.5915 of a day is 14:11:46)
        seconds = (pd.to_numeric(times[fraction], errors="coerce") * 86400).round().astype("int64")
        time = time.copy()
        time[fraction] = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in seconds.tolist()]
    joined = (date + " " + time).str.strip()
    # a date without its time of day is no time (never midnight): the row is rejected as an empty
    # time, as with one time column — unless the date cell holds the clock itself
    empty = (times.str.strip() == "") & ~dates.str.contains(r"\d{1,2}:\d{2}", regex=True).fillna(False)
    return pd.Series(joined.where(~empty, ""), dtype="str")


# --------------------------------------------------------------------------- message types

#: 消息类型 values that make a row a system message, whatever its sender column says.
SYSTEM_TYPES = frozenset(
    v.casefold() for v in ("系统", "系统消息", "系统通知", "系统提示", "平台通知", "通知", "机器人", "机器人消息", "自动回复",
                           "智能客服", "智能助理", "店小蜜",
                           "system", "robot", "bot", "auto-reply", "auto_reply",
                           # a helpdesk's internal note (the customer never sees it) and its triggers' automatic mails
                           "内部备注", "备注", "内部消息", "internal note", "internal_note", "private note", "note",
                           "触发器", "trigger",
                           # a staff member's automatic greeting to a new contact (企业微信 欢迎语)
                           "欢迎语", "welcome",
                           # a message withdrawn leaves a platform notice (买家撤回了一条消息), no one's words
                           "撤回消息", "撤回", "消息撤回", "recall", "recalled", "revoke", "revoked")
)


def main_accounts(nicknames) -> set[str]:
    """The shop part of the ``店铺名:客服名`` nicknames: a sender equal to it is the shop's main
    account, an agent."""
    shops = set()
    for nick in nicknames:
        for colon in (":", "："):
            if colon in nick:
                shop = nick.split(colon, 1)[0].strip()
                if shop:
                    shops.add(shop)
                break
    return shops
