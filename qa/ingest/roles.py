"""Roles (agent, customer, system) from a role column, an is-agent flag or sender nicknames; agents."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.errors import InputError
from qa.ingest.columns import _FLAG_FIELD, AmbiguousColumns, ColumnMap, refuse_side_by_side, resolve_columns
from qa.ingest.header import (
    CUSTOMER_FLAG_NAMES,
    SYSTEM_TYPES,
    field_of,
    fold_name,
    guess_column,
    header_key,
    main_accounts,
)
from qa.ingest.parties import party_roles
from qa.ingest.table import (
    Distinct,
    IngestNotes,
    RawTable,
    ReadOptions,
    _clip,
    _map_unique,
    _no_reasons,
    _test_distinct,
    rows_holding,
    string_buffers,
)
from qa.model import UNKNOWN_AGENT, Role

_ROLE_WORDS: dict[str, str] = {
    **dict.fromkeys(("agent", "客服", "商家", "seller", "staff", "servicer", "support", "1", "人工客服", "人工", "卖家", "商家客服",
                     "店铺客服", "客服人员", "接待人员", "接待员", "坐席", "员工",
                     # a human's message by the tool it was sent with (千牛 消息来源: a canned phrase, a suggested reply)
                     "快捷短语", "快捷回复", "智能辅助", "辅助回复", "推荐回复", "话术",
                     # API enums for the shop's side (京东 WAITER, KF, CS, SERVICE, OPERATOR)
                     "waiter", "kf", "cs", "service", "operator", "csr", "employee"), Role.AGENT.value),
    **dict.fromkeys(("customer", "买家", "顾客", "用户", "客户", "buyer", "user", "0", "访客", "客人", "消费者",
                     "visitor", "外部联系人", "微信用户", "end-user", "end_user", "enduser", "requester",
                     # the platform's member (唯品会 会员) or follower (快手 粉丝), a guest not logged in (游客)
                     "会员", "粉丝", "游客", "member",
                     # a colleague of the customer copied on a helpdesk ticket's mail (Udesk 抄送人)
                     "抄送人", "抄送", "cc"),
                   Role.CUSTOMER.value),
    **dict.fromkeys(("system", "系统", "机器人", "bot", "robot", "自动回复", "系统消息", "智能客服", "智能助理",
                     "店小蜜", "auto-reply", "平台", "平台消息", "官方通知",
                     # a conversation's events (微信客服 来源: 系统事件)
                     "系统事件", "事件", "event", "系统提示", "系统通知"), Role.SYSTEM.value),
    # a message's direction as the shop's export sees it (消息方向: 接收 from the customer, 发送 by the shop)
    **dict.fromkeys(("接收", "收到", "收", "received", "incoming", "inbound", "in"), Role.CUSTOMER.value),
    **dict.fromkeys(("发送", "发出", "发", "sent", "outgoing", "outbound", "out"), Role.AGENT.value),
    "sys": Role.SYSTEM.value,
}
# A role told with what the sender did (买家发送, 客服回复, 系统通知 in 快手/小店 exports): the sender decides.
_ROLE_SUFFIX = re.compile(r"(?:发送|发出|回复|消息|通知|说)$")
# A bot named by the platform's own word (智能助手, 机器人客服, AI助理, 自动应答): a role value that is
# no known word but names a machine sender is a system row, never an unknown role.
_BOT_ROLE = re.compile(r"机器人|智能|自动|助手|助理|(?<![a-z])(?:ai|bot|robot)(?![a-z])", re.IGNORECASE)
# The platform's own staff (抖店 官方客服, 平台客服, 淘宝 小二) write in the shop's chats but are no shop
# agent: like a robot or a notice, a system row (it neither answers for the shop nor counts as an agent).
_PLATFORM_ROLE = re.compile(r"官方|平台|小二|platform", re.IGNORECASE)
# A message direction written sender-arrow-receiver (访客→坐席, 坐席->访客, 客服 => 客户, 买家至卖家).
_DIRECTION = re.compile(r"\s*(?:→|->|=>|⟶|➡|至|\bto\b)\s*", re.IGNORECASE)
# a chain of who served a session, in an agent column (飞鸽机器人→乐途-大鹏): arrows only (至 is in names)
_CHAIN = r"\s*(?:→|->|=>|⟶|➡)\s*"
# ... or a list of them (可可/小雅, 小王、小李): told apart by the sender column only
_AGENT_LIST = r"\s*[/、,，;；|]\s*"
_YES = ("1", "1.0", "true", "yes", "y", "是")
_FLAG_WORDS: dict[str, str] = {
    **dict.fromkeys(_YES, Role.AGENT.value),
    **dict.fromkeys(("0", "0.0", "false", "no", "n", "否"), Role.CUSTOMER.value),
}
# a flag column of the buyer's messages (是否买家: 1 = the customer's)
_CUSTOMER_FLAG_WORDS: dict[str, str] = {
    **dict.fromkeys(_YES, Role.CUSTOMER.value),
    **dict.fromkeys(("0", "0.0", "false", "no", "n", "否"), Role.AGENT.value),
}
# (a shop's robot named by its post, 雾屿美妆-智能助手 or 店小蜜, is no customer either)
# (nor is a notice account named for what it announces: 平台通知, 订单提醒, 官方公告)
# (the shop part of a 店铺:子账号 name names no robot: 净小宝扫地机器人旗舰店:小云 is a person; its 店小蜜 is the robot)
_SYSTEM_NICKNAME = re.compile(r"(?:系统|机器人|自动回复|智能(?:助手|助理|客服)|店小蜜|阿里小蜜)(?![^:：]*[:：]\s*\S)|^(?:system|bot|robot)$"
                              r"|^\s*(?:平台|官方|订单|物流|交易|售后|服务|消息)(?:通知|提醒|公告)\s*$", re.IGNORECASE)
# A sender written with the customer's role word before the name (快麦 / ERP exports: 买家-阿青, 顾客:小王): the
# customer, whatever the name holds (买家-客服姐姐你好, 买家-店小二家的狗); 客户经理-小王 is no such word.
_CUSTOMER_PREFIX = re.compile(r"^\s*(?:买家|顾客|客户|用户|访客|会员)\s*[-_·|:：]\s*\S")
# Sub-account nicknames on Taobao/Tmall look like 店铺名:客服名 (ASCII or full-width colon). The name part holds a
# Chinese character or two letters or digits: a customer's nickname ending in a smiley (momo:), 小鹿:-), lily:P,
# 小猫:3) is no sub-account.
_SUBACCOUNT_NICKNAME = re.compile(r"^\s*[^:：\s][^:：]*[:：]\s*(?=[^:：\s]*(?:[\u4e00-\u9fff]|[A-Za-z0-9]{2}))")
# Staff named by their post before the name (员工-售后小林, 售前_七七, 客服_小美, 店长·阿梅 in WeCom, 微店 and 有赞
# exports), the shop's name may come first (小红书 千帆: 雾屿美妆-客服-晴天); 客服 also runs straight into
# the name (客服小林).
_STAFF_NICKNAME = re.compile(r"^\s*(?:[^-_·|/:：\s]+\s*[-_·|/]\s*)?"
                             r"(?:(?:员工|客服|售前|售后|店长|店员|导购|顾问|坐席|商家|官方)\s*[-_·|/:：]\s*\S|客服\S)")
# A shop's staff named shop-then-name with a dash or a dot (拾光家居旗舰店-小橙, 某某官方店·阿杰: 抖店飞鸽, 快手):
# the part before the separator (two Chinese characters at least: tb_123, jd-abc are customers' ids) is the shop when two or more senders share it, or when it names a
# shop (…店, …旗舰店, …官方, …工作室). A customer's nickname with a dash (小王-北京) shares it with no one.
_SHOP_PREFIX = re.compile(r"^\s*([^-·|/－—:：\s]*[\u4e00-\u9fff][^-·|/－—:：]*?[\u4e00-\u9fff][^-·|/－—:：]*?)\s*[-·|/－—]\s*\S")
# The words shop names end in (半山零食铺, 家常杂货百货, 极客e站, 南风女装): the kind of place or of goods.
_SHOP_WORD = re.compile(r"(?:店|铺|铺子|馆|坊|站|旗舰店|专营店|专卖店|官方|工作室|商城|商行|公司|品牌|家居|美妆|官旗|"
                        r"百货|超市|优选|严选|好物|女装|男装|童装|服饰|服装|鞋业|鞋服|数码|电器|家电|食品|生鲜|零食|"
                        r"茶叶|茶庄|母婴|家纺|玩具|文具|户外|器材|酒业|酒庄|果园|农场|专柜)$")
_SHOP_MARK = "\x00shop:"
# a company whose sub-accounts are customers (1688 B2B buyers: 采购公司:采购员)
_BUYER_MARK = "\x00buyer:"
# a staff name seen under a shop part (kept across the chunks of a streamed file, so two staff in
# different chunks still make a shop)
_STAFF_MARK = "\x00staff:"
# Platforms name anonymous customers by a generic word and a number (微信用户-3721, 抖音用户·88): no shop.
_GENERIC_PREFIX = re.compile(r"(?:用户|访客|会员|买家|顾客|客户|游客|粉丝|网友|匿名|新人)$")
# (an id holds a digit or an underscore: 微信用户-3721, 抖音用户-ab_12; a staff name in Latin letters, 美妆店-Coco, is no id)
_ID_SUFFIX = re.compile(r"^\s*[^-·|/－—:：]*[-·|/－—]\s*(?=[0-9a-zA-Z_]*[0-9_])[0-9a-zA-Z_]{3,}\s*$")
# A 店铺-名字 sender seen in this many sessions of a chunk is the shop's staff: a one-agent shop (半山零食铺-阿梅)
# answers every session, a customer with a dashed nickname (小鹿-成都) writes in one or two.
_STAFF_SESSIONS = 3
# The platforms' robots by their account names (京东 JIMI, 淘宝 店小蜜/阿里小蜜, 蝦皮 聊聊小幫手, 智能客服…).
# An account named after the robot with a suffix or prefix (jimi_robot, shop_bot01, 京小智) is the robot too; a Latin
# name is taken whole (a staff account robin or botanic_kf is no robot). 系统 in the agent column sends notices.
# The robot word counts after a 店铺: part, not in it (扫地机器人旗舰店:小云 is a person).
_BOT_ACCOUNT = (r"(?i)(?:.*(?<![a-z])(?:jimi|robot|bot|chatbot)(?![a-z]).*|(?:[^:：]*[:：])?[^:：]*(?:店小蜜|阿里小蜜|京小智|智能客服|智能助手|智能助理|机器人|"
                r"ai客服|ai助手|小[帮幫]手)[^:：]*|系统(?:消息|通知)?|system)")
# A seat's status or post after the agent's name (小林(在线), 小林（忙碌）, 小林[组长]).
_AGENT_STATUS = (r"\s*[(（\[【](?:在线|忙碌|离开|离线|挂起|小休|休息|空闲|忙|组长|主管|值班|暂离|繁忙)[)）\]】]\s*$")
# The desk's word before an agent's name (客服-小王, 客服_小王, 客服·小王).
_DESK_PREFIX = r"^客服\s*[-_·|－—]\s*(?=\S)"
# A notice's text marks it when its role is missing (【系统消息】, [系统通知]).
# A withdrawn message: its status (消息状态 已撤回), or the placeholder the platform leaves as its text.
_WITHDRAWN_STATUS = frozenset(("已撤回", "撤回", "消息已撤回", "recalled", "withdrawn", "revoked", "deleted", "已删除"))
_WITHDRAWN_TEXT = r"\s*(?:该消息已撤回|此消息已撤回|消息已撤回|[^\n]{0,24}撤回了一条消息)\s*[。.]?\s*"
# WeChat's nudge notice ("Cici" 拍了拍 "林小夏", 我拍了拍客服的肩膀), filed under whoever nudged: no one's words
# (as WeChat writes it: a name in quotes on one side at least, and a short suffix; 我拍了拍照片, 你拍了拍我 有啥事直接说 are
# typed words)
_NUDGE_TEXT = (r"\s*(?:[\"“][^\n\"“”]{1,24}[\"”]\s*拍了拍\s*(?:[\"“][^\n\"“”]{1,24}[\"”]|我|你|自己)"
               r"|(?:我|你)\s*拍了拍\s*[\"“][^\n\"“”]{1,24}[\"”])[^\n,.!?，。！？;；]{0,12}")
_SYSTEM_TEXT = r"^\s*[【\[](?:系统消息|系统通知|系统提示|系统|通知|自动回复|机器人)[】\]]"
# An automatic reply sent under the agent's own account marks its text (【自动回复】, [自動回覆], 【机器人】).
_AUTO_REPLY_TEXT = (r"(?i)^\s*(?:[@＠][^\s@＠]{1,30}\s+)?[【\[]\s*(?:自[动動]回[复覆復]|自[动動][应應]答|[机機]器人|智能(?:客服|助[理手])|"
                    r"auto[- ]?reply)\s*[】\]]"
                    # …and so is the platform's notice that 千牛 files under the agent's account (【系统提示】会话已转接至…):
                    # read as a reply it would stop the customer's clock. Text that speaks to the customer (【系统】显示
                    # 已签收 亲去驿站问下吗, 【系统提示】你烦不烦) is the agent's own, whatever its bracket.
                    r"|^\s*[【\[]\s*(?:系统|系統)(?:消息|訊息|通知|提示)?\s*[】\]](?![^\n]*(?:你|您|妳|亲|親|吗|嗎|呢|吧|[?？]))")
# The first bytes of the UTF-8 of 【, [ and of the characters Python's \s matches (those str.isspace() is
# true of: \t-\r, \x1c-\x1f, space, U+0085, U+00A0, U+1680, U+2000-U+205F, U+3000): a text that
# _SYSTEM_TEXT or _AUTO_REPLY_TEXT match (both ^\s*[【\[]) opens with one of them.
_SPACE_OR_BRACKET_LEAD = np.zeros(256, dtype=bool)
# (and @ / ＠ (0xEF), which open a group chat's auto-reply to a member: @王丽 【自动回复】…)
_SPACE_OR_BRACKET_LEAD[[*range(0x09, 0x0E), *range(0x1C, 0x21), ord("["), ord("@"), 0xC2, 0xE1, 0xE2, 0xE3, 0xEF]] = True
# 企业微信 names an external WeChat contact 名字@微信: in an archive that has them, they are the customers
# and every other (non-system) sender is staff.
_EXTERNAL_NICKNAME = re.compile(r"@(?:微信|wechat)\s*$", re.IGNORECASE)
_EXTERNAL_MARK = "\x00external"
# A role column is taken for senders' names when most of its distinct values (and at least three)
# are no role word at all.
_NAMES_SHARE = 0.5
_NAMES_AT_LEAST = 3
# data rows looked at for it (the first ones below the header)
ROLE_SAMPLE_ROWS = 200


def _roles(
    table: RawTable, text: pd.Series, options: ReadOptions, notes: IngestNotes, shops: set[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Role per row (None when unknown) and the reason for rows whose role is unusable; a
    message type column (消息类型 = 系统/机器人) makes a row a system message whatever its sender.
    ``text`` is each row's text; ``shops`` collects the main accounts seen so far (the chunks of
    one streamed file share it)."""
    role, reason = _sender_roles(table, options, notes, shops if shops is not None else set())
    if all(table.columns.has(name) for name in ("role", "sender", "customer")):
        role = _customer_role_contradicted(table, role, notes)
    if table.columns.has("msg_type"):
        kinds = table.cells[table.columns.positions["msg_type"]].str.strip().str.casefold()
        system = kinds.isin(SYSTEM_TYPES).to_numpy()
        if system.any():
            role = np.where(system, Role.SYSTEM.value, role)
            reason = np.where(system, None, reason)
    if table.columns.has("bot_flag"):
        # a row the export marks as the robot's (isRobot: true, 是否机器人: 是) is a system message, not the shop's agent
        flagged = table.cells[table.columns.positions["bot_flag"]].str.strip().str.casefold().isin(_YES).to_numpy()
        role = np.where(flagged & (role == Role.AGENT.value), Role.SYSTEM.value, role)
    if table.columns.has("msg_status"):
        # a withdrawn message (消息状态 已撤回) leaves the platform's placeholder, no one's words
        status = table.cells[table.columns.positions["msg_status"]].str.strip().str.casefold()
        withdrawn = status.isin(_WITHDRAWN_STATUS).to_numpy()
        role = np.where(withdrawn & pd.notna(role), Role.SYSTEM.value, role)
    # (pd.notna of only the few placeholder rows: on a million role words it costs some 60 ms)
    placeholder = _where_also(_whole_text_is(text, "撤回", _WITHDRAWN_TEXT) | _whole_text_is(text, "拍了拍", _NUDGE_TEXT),
                              lambda rows: pd.notna(role[rows]))
    if placeholder.any():
        role = np.where(placeholder, Role.SYSTEM.value, role)
    if table.columns.has("sender") and not table.columns.has("agent"):
        # a robot named in the sender column under the shop's role (智能客服小赞 as 客服) is no agent
        bots = _test_distinct(table.cells[table.columns.positions["sender"]], lambda senders: senders.str.strip().str.fullmatch(
            _BOT_ACCOUNT).to_numpy(dtype=bool, na_value=False))
        if bots.any():
            role = np.where(bots & (role == Role.AGENT.value), Role.SYSTEM.value, role)
    if table.columns.has("agent"):
        # the platform's robot answering under the agent column (京东 JIMI, 店小蜜) is no agent; a chain of
        # who served the session (飞鸽机器人→乐途-大鹏) names the robot first and the human who took over last
        bots = _test_distinct(table.cells[table.columns.positions["agent"]], lambda agents: agents.str.split(
            _CHAIN, regex=True).str[-1].str.strip().str.fullmatch(_BOT_ACCOUNT).to_numpy(dtype=bool, na_value=False))
        if bots.any():
            role = np.where(bots & (role == Role.AGENT.value), Role.SYSTEM.value, role)
    # Only the few texts opening with a space or a bracket can be marked: the others are never
    # taken out of the column to be matched (a million agents' texts for a few notices).
    may_be_marked = _opens_with_space_or_bracket(text)
    # a notice with no role, marked by its text (【系统消息】订单已发货), is a system row
    marked = _opens_with(text, _SYSTEM_TEXT, _where_also(may_be_marked, lambda rows: pd.isna(role[rows])))
    if marked.any():
        role = np.where(marked, Role.SYSTEM.value, role)
        reason = np.where(marked, None, reason)
    # a robot replying under the agent's own account, told only by its text (【自动回复】亲，客服马上来), is
    # no agent's reply
    automatic = _opens_with(text, _AUTO_REPLY_TEXT, _where_also(may_be_marked, lambda rows: role[rows] == Role.AGENT.value))
    if automatic.any():
        role = np.where(automatic, Role.SYSTEM.value, role)
    return role, reason


def _where_also(rows: np.ndarray, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``rows`` (a mask) and ``test`` of their positions: ``rows & test(all)`` for a test run on the
    few rows only."""
    found = np.zeros(len(rows), dtype=bool)
    at = np.flatnonzero(rows)
    if len(at):
        found[at] = np.asarray(test(at), dtype=bool)
    return found


def _whole_text_is(text: pd.Series, word: str, pattern: str) -> np.ndarray:
    """Which texts are wholly ``pattern``; only the texts holding ``word`` are matched (a million
    texts are searched for the word by Arrow, not by a regex each)."""
    found = np.zeros(len(text), dtype=bool)
    maybe = rows_holding(text, word)
    if len(maybe):
        found[maybe] = text.iloc[maybe].str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False)
    return found


def _opens_with_space_or_bracket(text: pd.Series) -> np.ndarray:
    """Which texts may open with a bracket or a space: those whose first byte begins one (see
    :data:`_SPACE_OR_BRACKET_LEAD`; a few more than do, as 0xE3 also begins 。 and 「), read from
    the Arrow buffers."""
    leads = []
    for offsets, data in string_buffers(pa.array(text)):
        starts = offsets[:-1]
        filled = offsets[1:] > starts
        lead = np.zeros(len(starts), dtype=np.uint8)
        lead[filled] = data[starts[filled]]
        leads.append(_SPACE_OR_BRACKET_LEAD[lead])
    return np.concatenate(leads) if leads else np.zeros(0, dtype=bool)


def _opens_with(text: pd.Series, pattern: str, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` (a mask) have a ``text`` that opens with ``pattern``; the texts of the
    other rows are not looked at (a million agent texts need not be matched for a few notices)."""
    found = np.zeros(len(text), dtype=bool)
    where = np.flatnonzero(rows)
    if len(where):
        found[where] = text.iloc[where].str.match(pattern).to_numpy(dtype=bool, na_value=False)
    return found


def names_as_sender(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` with the role column read as the senders' names when, in the ``sample`` (the
    data rows the reader sees below the header before reading on, the same whatever the
    chunking), that column holds names rather than roles: a WeCom archive's 发送方 (王先生,
    员工-售后小林, 自动回复). A column named with --column role= is kept as it is."""
    if (not columns.has("role") and columns.has("sender") and not columns.has(_FLAG_FIELD)
            and "sender" not in columns.mapped):
        return _roles_as_role(columns, sample)
    if not columns.has("role") or columns.has("sender") or "role" in columns.mapped:
        return columns
    at = columns.positions["role"]
    values = _sample_values(sample, at)
    if not len(values):
        return columns
    role, _ = _roles_from_words(values, _ROLE_WORDS, "role")
    unknown = int(pd.isna(role).sum())
    if unknown < _NAMES_AT_LEAST or unknown <= _NAMES_SHARE * len(values):
        return columns
    positions = {("sender" if name == "role" else name): place for name, place in columns.positions.items()}
    note = f"'{columns.label('role')}' in {{files}} holds names, not roles: read as the sender"
    # the role may then be in a column named in other words beside it (1688: 发送方 and 发送方角色)
    role_at = guess_column("role", columns.header, set(positions.values()))
    if role_at is not None and mostly_role_words(sample, role_at):
        positions["role"] = role_at
        note += f", and '{columns.header[role_at]}', holding role words, as the role"
    return replace(columns, positions=positions, notes=(*columns.notes, note))


# The sender is the row's customer on at least this share of the sample's rows (and not on every row)
# when the customer column names the customers as the sender column writes them.
_CUSTOMER_SENDS_SHARE = 0.2


# 企业微信's external userid (a customer, 32 characters after wm / wo) and a 微信客服 account's id (wk…)
EXTERNAL_ID = r"\s*w[mo][0-9A-Za-z_-]{20,}\s*"
KF_ACCOUNT_ID = r"\s*wk[0-9A-Za-z_-]{20,}\s*"


def sessions_per_kf_account(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` keeping a customer's conversations on two 微信客服 accounts apart (售前 and 售后 at the same
    time are two conversations): when a session is the customer's day, a column no field took whose ``sample``
    values are all 微信客服 account ids (open_kfid, wk…) scopes it."""
    positions = columns.positions
    if not columns.has("session_day") or columns.has("session_scope") or columns.has("session_account") \
            or "session_id" in columns.mapped:
        return columns
    taken = set(positions.values())
    width = max((len(row) for row in sample), default=0)
    for at in range(width):
        if at in taken:
            continue
        values = {str(row[at]).strip() for row in sample if len(row) > at} - {""}
        if values and all(re.fullmatch(KF_ACCOUNT_ID, value) for value in values):
            note = (f"{{files}}: '{columns.header[at]}' holds 微信客服 accounts (wk…): a customer's conversations on "
                    "two accounts are two sessions")
            return replace(columns, positions={**positions, "session_account": at}, notes=(*columns.notes, note))
    return columns


def ids_tell_roles(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` reading roles and sessions from the senders' ids when there is no role column and the
    ``sample`` shows 企业微信 external userids among them (customers and staff alike have plain names: only
    the ids tell them apart)."""
    if columns.has("role") or columns.has(_FLAG_FIELD) or not columns.has("sender_id") or "session_id" in columns.mapped:
        return columns
    ids = [str(row[at]).strip() for at in (columns.positions["sender_id"], columns.positions.get("receiver_id", -1))
           if at >= 0 for row in sample if len(row) > at]
    if not any(re.fullmatch(EXTERNAL_ID, value) for value in ids):
        return columns
    positions = {name: at for name, at in columns.positions.items() if name not in ("session_peer", "session_customer")}
    session_given = columns.has("session_id") and columns.positions["session_id"] not in (
        columns.positions.get("sender"), columns.positions.get("customer"))
    notes = columns.notes
    if not session_given:
        positions["session_id"] = positions["session_day"] = columns.positions["sender_id"]
        notes = tuple(note for note in notes if "no session column" not in note)  # the sender↔receiver guess is replaced
    if "agent" in positions and "sender" in positions and "agent" not in columns.mapped:
        # the agent column names the 客服 account the staff share; the sender names the person who wrote
        del positions["agent"]
    note = (f"{{files}}: the ids in '{columns.label('sender_id')}' tell who wrote (企业微信 external userids wm… / wo… "
            f"are customers, wk… the 微信客服 account, other ids staff)"
            + ("" if session_given else ": a session is the customer's id per day"))
    return replace(columns, positions=positions, external_ids=True, notes=(*notes, note))


def senders_by_staff(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` telling roles by the agent column when there is no role column and, in the ``sample``,
    every message but the system's is sent by the row's staff member or to them (a 企业微信 SCRM archive: 员工,
    发送者, 接收者) and a customer column, if any, does not name the customers as they write: the staff
    member's messages are the agent's, those sent to them the customer's whatever name the customer goes by
    (a nickname, the remark the staff gave them, a renamed nickname). A customer column then makes a session
    of the staff member's conversation with that customer (two customers both called 小雨 are two
    conversations)."""
    if columns.has("role") or columns.has(_FLAG_FIELD) or not all(columns.has(f) for f in ("sender", "receiver", "agent")):
        return columns
    sender, receiver, agent = (columns.positions[f] for f in ("sender", "receiver", "agent"))
    rows = [(str(row[sender]).strip(), str(row[receiver]).strip(), str(row[agent]).strip())
            for row in sample if len(row) > max(sender, receiver, agent) and str(row[sender]).strip()
            and not _SYSTEM_NICKNAME.search(str(row[sender]))]
    sent = sum(1 for by, _, staff in rows if staff and by == staff)
    received = [(by, to) for by, to, staff in rows if staff and to == staff and by != staff]
    # every message by or to the staff member (a colleague answering or the shop's main account writing, as in a
    # 千牛 log with 客服昵称 beside 发送者/接收者, makes it no archive), ...
    if not rows or not sent or not received or sent + len(received) < len(rows):
        return columns
    # ... and the customer column does not name the customers as they write (else it tells roles itself)
    if columns.has("customer"):
        customer = columns.positions["customer"]
        names = {str(row[sender]).strip(): str(row[customer]).strip() for row in sample if len(row) > max(sender, customer)}
        if all(names.get(by) == by for by, _ in received):
            return columns
    positions = dict(columns.positions)
    note = (f"no role column in {{files}}: a message sent by the row's '{columns.label('agent')}' is the agent's, one "
            f"sent to them ('{columns.label('receiver')}') the customer's, 系统 the system")
    if columns.has("customer") and positions.get("session_id") == positions["customer"] and "session_scope" not in positions:
        positions["session_scope"] = agent
        note += f"; a session is a conversation of one '{columns.label('agent')}' with one customer"
    return replace(columns, positions=positions, senders_by_staff=True, notes=(*columns.notes, note))


def senders_by_customer(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` telling roles by the customer column when there is no role column: a sender
    equal to the row's customer (买家昵称) is the customer, 系统消息 the system and any other sender
    an agent (千牛's 子账号 export names an agent 店铺:小芸 on some rows and 小芸 on others, which the
    nickname rule would take for a customer). Taken when, in the ``sample``, the sender is the
    row's customer on a good share of the rows but not on all: the two columns name customers alike."""
    if columns.has("role") or columns.has(_FLAG_FIELD) or columns.senders_by_staff \
            or not (columns.has("sender") and columns.has("customer")):
        return columns
    sender = columns.positions["sender"]
    # of the columns naming the customer (顾客账号 beside 顾客), the one whose names the senders use
    taken = set(columns.positions.values()) - {columns.positions["customer"]}
    candidates = [columns.positions["customer"]] + [
        at for at, name in enumerate(columns.header)
        if at not in taken and at != columns.positions["customer"] and field_of(str(name)) == "customer"]
    best = None
    for customer in candidates:
        pairs = [(str(row[sender]).strip(), str(row[customer]).strip())
                 for row in sample if len(row) > max(sender, customer) and str(row[sender]).strip()]
        customers = sum(name == buyer for name, buyer in pairs)
        if sender != customer and _CUSTOMER_SENDS_SHARE * len(pairs) <= customers < len(pairs):
            best = customer
            break
    if best is None:
        return columns
    if best != columns.positions["customer"]:
        # (a session derived from the customer stays on the column it was: an account tells customers apart)
        columns = replace(columns, positions={**columns.positions, "customer": best})
    note = (f"no role column in {{files}}: a sender ('{columns.label('sender')}') equal to the row's "
            f"'{columns.label('customer')}' is the customer, 系统/机器人 the system, any other sender an agent")
    return replace(columns, senders_by_customer=True, notes=(*columns.notes, note))


def agent_aliases(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` with the agents that the ``sample`` spells both as a sub-account (店铺:小芸) and by
    the bare name (小芸) taken as one agent under the bare name. Only where the bare name is an
    agent's: in an agent column, or in a sender column read by :func:`senders_by_customer`."""
    if columns.has("agent"):
        names = _sample_values(sample, columns.positions["agent"])
    elif columns.senders_by_customer:
        customers = set(_sample_values(sample, columns.positions["customer"]))
        names = _sample_values(sample, columns.positions["sender"])
        names = names[~names.isin(customers) & ~names.str.contains(_SYSTEM_NICKNAME)]
    else:
        return columns
    spelled = names[names.str.match(_SUBACCOUNT_NICKNAME)]
    name_part = spelled.str.split(r"[:：]", n=1, regex=True).str[1].str.strip()
    also_bare = name_part.isin(set(names)).to_numpy()
    pairs = tuple(zip(spelled[also_bare], name_part[also_bare], strict=True))
    if not pairs:
        return columns
    listed = ", ".join(f"{full} = {name}" for full, name in pairs[:3]) + (" …" if len(pairs) > 3 else "")
    note = f"{{files}}: an agent named with and without the shop's name is one agent ({listed})"
    return replace(columns, agent_aliases=pairs, notes=(*columns.notes, note))


_LEGEND = re.compile(r"(\d{1,2})\s*[=＝:：\-－]\s*(顾客|客户|买家|用户|访客|消费者|客服|商家|卖家|坐席|人工客服|人工|"
                     r"机器人|智能客服|系统|自动回复)")


def agent_decorations(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` with the decorations of agents' names that the ``sample`` (the file's head, the
    same whatever the chunking) shows, to be dropped so that one agent has one name: a seat's
    status or title after the name (小林(在线), 小林（忙碌）, 阿珍[主管]) in an agent column or a sender
    column, and in a sender column beside a role column the desk's word before it (客服-小王: the
    role column says who is an agent, the word is no part of the name). An agent column holds the
    account as the shop named it (客服-小林 stays), and without a role column the desk's word is how
    a sender is told to be staff (员工-小林 stays)."""
    if columns.has("agent"):
        names, desk = _sample_values(sample, columns.positions["agent"]), False
    elif columns.has("sender") and columns.has("role"):
        sender, role = columns.positions["sender"], columns.positions["role"]
        rows = [row for row in sample if len(row) > max(sender, role)]
        roles, _ = _roles_from_words(pd.Series([str(row[role]).strip() for row in rows], dtype="str"),
                                     {**_ROLE_WORDS, **dict(columns.role_codes)}, "role")
        names = pd.Series([str(row[sender]).strip() for row in rows], dtype="str")[roles == Role.AGENT.value]
        desk = True
    else:
        return columns
    found = {pattern: note for pattern, note, wanted in (
        (_AGENT_STATUS, "a status or title after an agent's name (在线, 忙碌, 主管…) is dropped", True),
        (_DESK_PREFIX, "the role column says who is an agent: 客服- before an agent's name is dropped", desk))
        if wanted and names.str.contains(pattern, regex=True).any()}
    if not found:
        return columns
    notes = tuple(f"{{files}}: {note}: one agent, one name" for note in found.values())
    return replace(columns, agent_decorations=tuple(found), notes=(*columns.notes, *notes))


def role_legend(columns: ColumnMap, above: str, sample: Sequence[Sequence[str]], where: str,
                dictionary: Sequence[str] = ()) -> ColumnMap:
    """``columns`` with the role column's codes read from the legend in the lines above the
    header (发送方：1=顾客，2=客服，3=机器人), or from the line of a workbook's field dictionary
    (``dictionary``: a 字段说明 sheet's rows, as text) that names the role column (sender_type 发送方类型 …
    1-客服；2-买家). Without a legend, codes other than the 0/1 agent flag
    (1, 2, 3) have no known meaning and are never guessed (1 = agent would turn every customer into
    an agent): a role column of nothing but codes is refused, naming them (reading on would lose
    every row but a few notices); a stray code among role words leaves its row rejected."""
    if not columns.has("role") or "role" in columns.mapped:
        return columns
    label = columns.label("role")
    described = " ".join(line for line in dictionary if label and label in line)
    pairs = {code: _ROLE_WORDS[word] for code, word in _LEGEND.findall(f"{above or ''} {described}")
             if word in _ROLE_WORDS}
    if len(pairs) >= 2:
        listed = ", ".join(f"{code}={role}" for code, role in sorted(pairs.items()))
        note = f"{{files}}: '{columns.label('role')}' codes read from the export's legend ({listed})"
        return replace(columns, role_codes=tuple(sorted(pairs.items())), notes=(*columns.notes, note))
    at = columns.positions["role"]
    values = _sample_values(sample, at)
    digits = {value for value in values if value.isdigit()}
    if digits - {"0", "1"} and len(digits) == len(values):
        label = columns.label("role")
        raise InputError(f"'{label}' in {where} holds role codes ({', '.join(sorted(digits))}) and no legend says "
                         f"which is which; add a legend line above the header ({label}：1=顾客，2=客服，3=系统) "
                         f"or export the roles as words")
    if digits - {"0", "1"}:
        note = (f"{{files}}: '{columns.label('role')}' holds codes ({', '.join(sorted(digits))}) and no legend "
                "says which is which: those rows are rejected")
        return replace(columns, role_codes=tuple((d, None) for d in sorted(digits | {"0", "1"})),
                       notes=(*columns.notes, note))
    return columns


def resolve_with_role_values(header: Sequence[str], overrides: Mapping[str, str], where: str,
                             sample: Sequence[Sequence[str]]) -> ColumnMap:
    """:func:`qa.ingest.columns.resolve_columns`, and when it finds no role column, the one column
    whose values are role words (类型: 买家 / 客服) taken as the role, with a note. Per-party text
    columns that the ``sample`` shows filled side by side (a question and its answer on one row)
    are refused."""
    try:
        columns = resolve_columns(header, overrides, where)
        refuse_side_by_side(columns, sample, where)
        return columns
    except AmbiguousColumns as error:
        if error.field == "sender" and "role" not in overrides and "sender" not in overrides:
            # two sender-like fields (an API's from: user/kf beside sender_name): the one holding role
            # words is the role
            named = [name for name in error.names if mostly_role_words(sample, list(header).index(name))]
            if len(named) == 1:
                other = next(name for name in error.names if name != named[0])
                return resolve_with_role_values(header, {**overrides, "role": named[0], "sender": other}, where, sample)
        if error.field != "role":
            raise
        return _role_among(error, header, overrides, where, sample)
    except InputError as error:
        if "role" in overrides or not str(error).startswith("missing column for role"):
            raise
        name = role_column_by_values(header, sample)
        if name is None:
            raise
    columns = resolve_columns(header, {**overrides, "role": name}, where)
    note = f"{{files}}: '{name}' holds the roles (买家, 客服…): read as the role column"
    return replace(columns, mapped={k: v for k, v in columns.mapped.items() if k != "role"}, notes=(*columns.notes, note))


def _role_among(error: AmbiguousColumns, header: Sequence[str], overrides: Mapping[str, str], where: str,
                sample: Sequence[Sequence[str]]) -> ColumnMap:
    """The columns when several are named like the role (发送方 and 角色, 发送方 and 发送方类型): the one
    whose ``sample`` values are role words (客服 / 买家) is the role, as a person reading the rows
    would take it, and the other the senders' names when the header has no sender column. Raises
    ``error`` again when not exactly one of them holds role words."""
    positions = [i for i, name in enumerate(header) if str(name).strip() in error.names]
    holding_roles = [at for at in positions if _holds_role_words(_sample_values(sample, at))]
    if len(holding_roles) != 1:
        raise error
    role = str(header[holding_roles[0]]).strip()
    columns = resolve_columns(header, {**overrides, "role": role}, where)
    others = [str(header[at]).strip() for at in positions if at != holding_roles[0]]
    if not columns.has("sender") and len(others) == 1:
        columns = resolve_columns(header, {**overrides, "role": role, "sender": others[0]}, where)
    refuse_side_by_side(columns, sample, where)
    taken = ", ".join(f"'{columns.label(f)}' as the {f}" for f in ("role", "sender") if f in columns.mapped
                      and f not in overrides)
    note = f"{{files}}: {' and '.join(repr(n) for n in error.names)} are both named like the role: read {taken} by their values"
    mapped = {k: v for k, v in columns.mapped.items() if k in overrides}
    return replace(columns, mapped=mapped, notes=(*columns.notes, note))


def _sample_values(sample: Sequence[Sequence[str]], at: int) -> pd.Series:
    """The distinct non-empty values of column ``at`` in the ``sample`` rows, sorted."""
    return pd.Series(sorted({str(row[at]).strip() for row in sample if len(row) > at} - {""}), dtype="str")


def role_column_by_values(header: Sequence[str], sample: Sequence[Sequence[str]]) -> str | None:
    """The name of a column whose values in ``sample`` are all role words,
    the agent's among them (类型: 买家 / 客服), for an export whose role column has a name no
    vocabulary knows; None when there is none or more than one."""
    found = []
    for at, name in enumerate(header):
        if not str(name).strip():
            continue
        if _holds_role_words(_sample_values(sample, at)):
            found.append(str(name).strip())
    return found[0] if len(found) == 1 else None


def _holds_role_words(values: pd.Series) -> bool:
    """Whether a column's distinct ``values`` are all role words (no codes), the agent's and the
    customer's among them (买家 / 客服 / 系统)."""
    if len(values) < 2 or values.str.fullmatch(r"\d+").any():
        return False
    role, _ = _roles_from_words(values, _ROLE_WORDS, "role")
    return not pd.isna(role).any() and {Role.AGENT.value, Role.CUSTOMER.value} <= set(role)


# Share of a sample's filled cells that must be role words for a column named like the role (发送方角色) to be
# read as it beside a sender column of names: a table appended below the messages (坐席工作量统计) fills a few.
_ROLE_WORDS_SHARE = 0.75


def mostly_role_words(sample: Sequence[Sequence[str]], at: int) -> bool:
    """Whether at least :data:`_ROLE_WORDS_SHARE` of the filled cells of column ``at`` in the ``sample``
    rows are role words, the agent's and the customer's among them."""
    cells = pd.Series([row[at].strip() for row in sample if at < len(row) and row[at] and row[at].strip()], dtype=object)
    if len(cells) < 2:
        return False
    counts = cells.value_counts()
    role, _ = _roles_from_words(pd.Series(counts.index, dtype=object), _ROLE_WORDS, "role")
    known = pd.notna(role)
    return (counts.to_numpy()[known].sum() >= _ROLE_WORDS_SHARE * counts.sum()
            and {Role.AGENT.value, Role.CUSTOMER.value} <= set(role[known]))


def _roles_as_role(columns: ColumnMap, sample: Sequence[Sequence[str]]) -> ColumnMap:
    """``columns`` with the sender column read as the role when, in the ``sample``, it holds role
    words (发送者: 顾客 / 客服 / 系统), not nicknames: every distinct value a role word."""
    at = columns.positions["sender"]
    values = _sample_values(sample, at)
    if len(values) < 2:
        return columns
    role, _ = _roles_from_words(values, _ROLE_WORDS, "role")
    if pd.isna(role).any() or Role.AGENT.value not in set(role):
        return columns
    positions = {("role" if name == "sender" else name): place for name, place in columns.positions.items()}
    note = f"'{columns.label('sender')}' in {{files}} holds roles, not names: read as the role"
    return replace(columns, positions=positions, notes=(*columns.notes, note))


def _sender_roles(
    table: RawTable, options: ReadOptions, notes: IngestNotes, shops: set[str]
) -> tuple[np.ndarray, np.ndarray]:
    columns, cells = table.columns, table.cells
    if columns.party_texts():  # the column a row's text is in says who sent it
        return party_roles(table)
    if columns.external_ids:
        return _roles_by_ids(table)
    if columns.has("staff_list") and columns.has("sender"):
        return _roles_by_staff_list(table)
    if columns.has("role"):
        words = {**_ROLE_WORDS, **dict(columns.role_codes)} if columns.role_codes else _ROLE_WORDS
        role, reason = _roles_from_words(cells[columns.positions["role"]], words, "role", strip=True)
        if columns.has("sender") and columns.has("customer"):
            # a role column written for the shop's messages only (千牛 消息来源 = 人工/店小蜜/快捷短语, blank on the
            # buyer's): a blank row sent by the row's customer is the customer's
            blank = (cells[columns.positions["role"]].str.strip() == "").to_numpy()
            if blank.any():
                sender = cells[columns.positions["sender"]].str.strip()
                own = blank & (sender == cells[columns.positions["customer"]].str.strip()).to_numpy() & (sender != "").to_numpy()
                role = np.where(own, Role.CUSTOMER.value, role)
                reason = np.where(own, None, reason)
        return role, reason
    if columns.has(_FLAG_FIELD):
        label = columns.label(_FLAG_FIELD)
        buyer_flag = header_key(label) in {header_key(name) for name in CUSTOMER_FLAG_NAMES}
        notes.add(f"no role column in {{files}}: roles taken from '{label}' (1 = {'customer' if buyer_flag else 'agent'})",
                  table.source)
        raw = cells[columns.positions[_FLAG_FIELD]].str.strip()
        role, reason = _roles_from_words(raw, _CUSTOMER_FLAG_WORDS if buyer_flag else _FLAG_WORDS, f"{label} value")
        if columns.has("sender"):
            # a flag tells the shop's side from the buyer's only: the robot and the notices (智能机器人, 系统)
            # are on the shop's side, told by their sender
            machine = _test_distinct(cells[columns.positions["sender"]], lambda senders: senders.str.strip().str.contains(
                _SYSTEM_NICKNAME).to_numpy(dtype=bool, na_value=False))
            role = np.where(machine & (role == Role.AGENT.value), Role.SYSTEM.value, role)
        return role, reason  # "unknown is_agent value '2'"
    nicknames = cells[columns.positions["sender"]].str.strip()
    if columns.staff_directory and not options.agent_regex:
        listed = {account: role for account, _, role in columns.staff_directory}
        if nicknames.isin(listed.keys()).any():
            notes.add(f"no role column in {{files}}: a sender in '{columns.label('sender')}' that the staff directory "
                      f"lists is staff (a robot or notice account the system), any other sender the customer",
                      table.source)
            return _roles_by_directory(nicknames, listed)
    if columns.senders_by_staff and not options.agent_regex:
        return _roles_by_staff(nicknames, cells[columns.positions["receiver"]].str.strip(),
                               cells[columns.positions["agent"]].str.strip())
    if columns.senders_by_customer and not options.agent_regex:
        return _roles_by_customer(nicknames, cells[columns.positions["customer"]].str.strip())
    label = columns.label("sender")
    rule = (f"matching /{options.agent_regex.pattern}/" if options.agent_regex
            else "店铺名:客服名, 员工-名字, 店铺-客服-名字, 店铺-名字 when the shop has two such senders, is named like a shop (…店, …铺, …百货) or the sender answers three sessions")
    notes.add(
        f"no role column in {{files}}: roles inferred from nicknames in '{label}' ({rule} = agent)",
        table.source,
    )
    # The main account replies under the bare shop name: the shop part of the sub-accounts.
    # Receivers count too: a customer writes to 店铺:客服 before that sub-account has sent
    # anything, so a chunk of a streamed file knows the shop from its first rows.
    if not options.agent_regex:
        names = pd.unique(nicknames)
        if columns.has("receiver"):
            names = pd.unique(np.concatenate([names, pd.unique(cells[columns.positions["receiver"]].str.strip())]))
        if columns.has("session_id"):
            # buyers that are companies with sub-accounts too (1688: 采购公司:采购员 writing to 工厂:客服)
            shops.update(_BUYER_MARK + company for company in _buyer_companies(
                cells, columns, nicknames, shops))
        shops.update(main_accounts(
            n for n in names if _SUBACCOUNT_NICKNAME.match(n) and not _SYSTEM_NICKNAME.search(n)
            and _BUYER_MARK + _company_of(n) not in shops))
        found_shops = shop_prefixes(names, shops)
        if columns.has("session_id"):
            found_shops |= _serving_shops(nicknames, cells[columns.positions["session_id"]], shops)
        shops.update(_SHOP_MARK + shop for shop in found_shops)
        if _EXTERNAL_MARK not in shops and any(_EXTERNAL_NICKNAME.search(n) for n in names):
            shops.add(_EXTERNAL_MARK)
            notes.add("{files}: senders named 名字@微信 are customers (企业微信 external contacts), "
                      "the others staff", table.source)
    external = _EXTERNAL_MARK in shops
    def role_of(nick: str) -> str | None:
        if not options.agent_regex and _BUYER_MARK + _company_of(nick) in shops and not _SYSTEM_NICKNAME.search(nick):
            return Role.CUSTOMER.value
        # the shop's own account under its bare name (木木良品 beside 木木良品-阿杰) is an agent too
        if not options.agent_regex and not _SYSTEM_NICKNAME.search(nick) and (
                nick in shops or _SHOP_MARK + nick in shops
                or (_SHOP_MARK + _shop_of(nick) in shops and not _ID_SUFFIX.match(nick))):
            return Role.AGENT.value
        return _role_from_nickname(nick, options.agent_regex, external)

    role = _map_unique(nicknames, role_of)
    reason = np.where((nicknames == "").to_numpy(), "empty sender", None)
    return role, reason


def _company_of(nickname: str) -> str:
    """The part of ``公司:名字`` before the colon ("" when there is none)."""
    for colon in (":", "："):
        if colon in nickname:
            return nickname.split(colon, 1)[0].strip()
    return ""


def _buyer_companies(cells: pd.DataFrame, columns, nicknames: pd.Series, known: set[str]) -> set[str]:
    """The companies of ``公司:名字`` accounts that are customers (1688 B2B: 采购公司:采购员 writing to
    工厂:客服): an account of a company writes to an account of another company in the same session, and
    that other company is present (as sender or receiver) in more sessions, or an earlier chunk took it
    for the shop (``known``). Needs the receiver column: a shop's own second account (店:售后) writes to
    the customer, not to another company, so it stays the shop's."""
    if not columns.has("receiver"):
        return set()
    receivers = cells[columns.positions["receiver"]].str.strip()
    sessions = cells[columns.positions["session_id"]]
    names = pd.unique(np.concatenate([pd.unique(nicknames), pd.unique(receivers)]))
    company = {name: _company_of(name) for name in names if not _SYSTEM_NICKNAME.search(name)}
    triples = pd.DataFrame({"sender": nicknames.map(company), "receiver": receivers.map(company),
                            "session": sessions.to_numpy()}).drop_duplicates()
    triples = triples[triples["sender"].notna() & triples["receiver"].notna()
                      & (triples["sender"] != "") & (triples["receiver"] != "")]
    across = triples[triples["sender"] != triples["receiver"]]
    if across.empty:
        return set()
    present = pd.concat([triples[["sender", "session"]].set_axis(["company", "session"], axis=1),
                         triples[["receiver", "session"]].set_axis(["company", "session"], axis=1)]).drop_duplicates()
    reach = present["company"].value_counts()
    writer_reach = across["sender"].map(reach).to_numpy()
    shop_reach = across["receiver"].map(reach).to_numpy()
    shop_known = across["receiver"].map(lambda c: _SHOP_MARK + c in known).to_numpy(dtype=bool)
    writer_known = across["sender"].map(lambda c: _SHOP_MARK + c in known).to_numpy(dtype=bool)
    buyer = ((writer_reach < shop_reach) | shop_known) & ~writer_known
    return set(across["sender"][buyer])


def _shop_of(nickname: str) -> str:
    """The part of ``店铺-名字`` before the separator ("" when there is none)."""
    found = _SHOP_PREFIX.match(nickname)
    return found.group(1).strip() if found else ""


def shop_prefixes(names, known: set[str]) -> set[str]:
    """The shops among the ``店铺-名字`` senders (see :data:`_SHOP_PREFIX`): a prefix that two or more
    distinct senders share, or that names a shop (…旗舰店). System senders (店铺-智能助手), generic
    customer names with an id (微信用户-3721) and ids after the dash do not count. ``known`` holds what
    earlier chunks of a streamed file saw (shop and staff marks); this chunk's staff names are added
    to it, so two staff of one shop in different chunks still make it a shop."""
    for name in names:
        shop = _shop_of(name)
        if (shop and not _SYSTEM_NICKNAME.search(name) and not _GENERIC_PREFIX.search(shop)
                and not _ID_SUFFIX.match(name)):
            known.add(f"{_STAFF_MARK}{shop}\x1f{name}")
    senders: dict[str, int] = {}
    for mark in known:
        if mark.startswith(_STAFF_MARK):
            shop = mark[len(_STAFF_MARK):].split("\x1f", 1)[0]
            senders[shop] = senders.get(shop, 0) + 1
    return {shop for shop, count in senders.items() if count >= 2 or _SHOP_WORD.search(shop)}


def _serving_shops(nicknames: pd.Series, sessions: pd.Series, known: set[str]) -> set[str]:
    """The shop parts of the ``店铺-名字`` senders (the candidates :func:`shop_prefixes` marked in
    ``known``) who write in :data:`_STAFF_SESSIONS` or more sessions: the staff of a shop that has one
    agent and a name no shop word ends. Only those senders' rows are counted."""
    staff = {mark[len(_STAFF_MARK):].split("\x1f", 1)[1]: mark[len(_STAFF_MARK):].split("\x1f", 1)[0]
             for mark in known if mark.startswith(_STAFF_MARK)}
    if not staff:
        return set()
    rows = nicknames.isin(staff.keys()).to_numpy()
    if not rows.any():
        return set()
    pairs = pd.DataFrame({"name": nicknames[rows].to_numpy(), "session": sessions[rows].to_numpy()})
    spread = pairs.drop_duplicates()["name"].value_counts()
    return {staff[name] for name in spread.index[spread >= _STAFF_SESSIONS]}


# one member of a staff list: 刘芸(客服), 青禾小助手（机器人）, 张杰
_STAFF_MEMBER = re.compile(r"\s*([^()（）、,，;；/|]+?)\s*(?:[(（]\s*([^()（）]*)\s*[)）])?\s*$")


def _roles_by_staff_list(table: RawTable) -> tuple[np.ndarray, np.ndarray]:
    """Roles in a customer group: a sender named in the row's staff list is an agent, or the system when the
    list calls it a robot (青禾小助手(机器人)); 系统 and the like are the system; every other member a customer."""
    columns, cells = table.columns, table.cells
    senders = cells[columns.positions["sender"]].str.strip()
    lists = cells[columns.positions["staff_list"]].str.strip()
    pairs = pd.DataFrame({"sender": senders, "staff": lists})
    codes, distinct = pd.factorize(pd.MultiIndex.from_frame(pairs))
    roles = []
    for sender, staff in distinct:
        members = {}
        for item in re.split(r"[、,，;；|/]", staff):
            found = _STAFF_MEMBER.match(item) if item.strip() else None
            if found:
                members[found.group(1)] = found.group(2) or ""
        if not sender:
            roles.append(None)
        elif _SYSTEM_NICKNAME.search(sender):
            roles.append(Role.SYSTEM.value)
        elif sender in members:
            roles.append(Role.SYSTEM.value if _BOT_ROLE.search(members[sender]) else Role.AGENT.value)
        else:
            roles.append(Role.CUSTOMER.value)
    role = np.asarray(roles, dtype=object)[codes]
    empty = pd.isna(role)
    return role, np.where(empty, "empty sender", None)


def _roles_by_directory(senders: pd.Series, listed: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Roles by a staff directory (:mod:`qa.ingest.staffdir`): a listed sender has its listed role, a
    system-named one (系统消息) is the system, an empty one has none, any other the customer."""
    def role_of(sender: str) -> str | None:
        if not sender:
            return None
        if sender in listed:
            return listed[sender]
        return Role.SYSTEM.value if _SYSTEM_NICKNAME.search(sender) else Role.CUSTOMER.value

    role = _map_unique(senders, role_of)
    return role, np.where((senders == "").to_numpy(), "empty sender", None)


def _roles_by_ids(table: RawTable) -> tuple[np.ndarray, np.ndarray]:
    """Roles from the senders' ids (:func:`ids_tell_roles`): an external userid is the customer; the
    微信客服 account (wk…), an empty id or a system sender name is the system; any other id is staff."""
    columns, cells = table.columns, table.cells
    ids = cells[columns.positions["sender_id"]].str.strip()
    names = cells[columns.positions["sender"]].str.strip() if columns.has("sender") else pd.Series("", index=ids.index)
    customer = ids.str.fullmatch(EXTERNAL_ID).to_numpy(dtype=bool, na_value=False)
    machine = (ids.str.fullmatch(KF_ACCOUNT_ID).to_numpy(dtype=bool, na_value=False) | (ids == "").to_numpy()
               | names.str.contains(_SYSTEM_NICKNAME).to_numpy(dtype=bool, na_value=False))
    role = np.where(customer, Role.CUSTOMER.value, np.where(machine, Role.SYSTEM.value, Role.AGENT.value)).astype(object)
    return role, _no_reasons(len(cells))


# a name shaped like the shop's staff: 店铺:名字, 店铺-名字, 客服_名字
_SHOP_STAFF_SHAPE = r"^\s*[^-_·|/:：\s]+\s*[-_·|/:：]\s*\S"


def _roles_by_staff(senders: pd.Series, receivers: pd.Series, staff: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Roles when the row's staff member (the agent column) sends or receives every message (see
    :func:`senders_by_staff`): a notice account (系统) the system, the staff member the agent, a sender
    writing to them the customer; a message neither by nor to them goes by its sender's name."""
    machine = _test_distinct(senders, lambda names: names.str.contains(_SYSTEM_NICKNAME).to_numpy(dtype=bool, na_value=False))
    by_staff = ((senders == staff) & (staff != "")).to_numpy()
    to_staff = ((receivers == staff) & (staff != "")).to_numpy()
    role = np.full(len(senders), None, dtype=object)
    role[to_staff] = Role.CUSTOMER.value
    role[by_staff] = Role.AGENT.value
    role[machine] = Role.SYSTEM.value
    other = pd.isna(role) & (senders != "").to_numpy()
    if other.any():  # a message neither by nor to the staff member: its sender's name tells what it can
        role[other] = _map_unique(senders[other], lambda nick: _role_from_nickname(nick, None))
    empty = (senders == "").to_numpy()
    return role, np.where(empty, "empty sender", None)


def _customer_role_contradicted(table: RawTable, role: np.ndarray, notes: IngestNotes) -> np.ndarray:
    """``role`` with the rows a role column gives to the customer but the sender and customer columns give
    to someone else made that one's (an agent, or the system by its name): in an export whose customers'
    rows are their own (the sender is the row's customer), a sender called the customer who is never the
    row's customer is not (a helper column of lookups a colleague added, stale for an agent who joined
    after its list was made). Nothing changes when the customers' rows name them otherwise."""
    said_customer = role == Role.CUSTOMER.value
    if not said_customer.any():
        return role
    cells, positions = table.cells, table.columns.positions
    senders = cells[positions["sender"]].str.strip()[said_customer]
    own = (senders == cells[positions["customer"]].str.strip()[said_customer]) | (senders == "")
    is_own = own.groupby(senders.to_numpy()).any()
    strangers = is_own.index[~is_own.to_numpy()]
    # most of those called customers are the rows' own customers: the column is to be trusted elsewhere
    if not len(strangers) or is_own.sum() < 3 * len(strangers):
        return role
    # ... and a stranger is overruled only in a conversation where the row's customer also writes as themself:
    # two people called the customer in one chat, one of them the chat's customer (a customer whose nickname
    # differs from the customer column, alone on the customer's side of the chat, stays the customer)
    rows = np.flatnonzero(said_customer)
    if "session_id" in positions:
        sessions = cells[positions["session_id"]].str.strip()[said_customer]
        voiced = set(sessions[own.to_numpy() & (senders != "").to_numpy()])
        stranger_rows = senders.isin(strangers).to_numpy() & sessions.isin(voiced).to_numpy()
    else:
        stranger_rows = senders.isin(strangers).to_numpy()
    if not stranger_rows.any():
        return role
    strangers = pd.unique(senders[stranger_rows])
    flipped = np.zeros(len(role), dtype=bool)
    flipped[rows[stranger_rows]] = True
    role = role.copy()
    role[flipped] = Role.AGENT.value
    system = flipped & cells[positions["sender"]].str.strip().str.contains(_SYSTEM_NICKNAME).to_numpy(dtype=bool)
    role[system] = Role.SYSTEM.value
    listed = ", ".join(sorted(strangers)[:3]) + (" …" if len(strangers) > 3 else "")
    notes.add(f"{{files}}: '{table.columns.label('role')}' calls {listed} the customer, but the sender is never the row's "
              f"'{table.columns.label('customer')}': read as the shop's ({int(flipped.sum())} rows)", table.source)
    return role


def _roles_by_customer(nicknames: pd.Series, customers: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Roles when the sender equal to the row's customer is the customer (see
    :func:`senders_by_customer`): every other sender is the system (系统消息) or an agent."""
    role = _map_unique(nicknames, lambda nick: Role.SYSTEM.value if _SYSTEM_NICKNAME.search(nick) else Role.AGENT.value)
    empty = (nicknames == "").to_numpy()
    as_customer = (nicknames == customers).to_numpy() & ~empty
    # an export that writes the new agent into the customer column on a transfer (快手): a staff-shaped name
    # (老杨家-小米) that writes as an agent elsewhere stays the agent
    staff = set(pd.unique(nicknames[~as_customer & (role == Role.AGENT.value)]))
    if staff and as_customer.any():
        suspect = nicknames.isin(staff).to_numpy() & as_customer
        if suspect.any():
            shaped = _test_distinct(nicknames[suspect], lambda names: names.str.match(_SHOP_STAFF_SHAPE).to_numpy(
                dtype=bool, na_value=False))
            as_customer[np.flatnonzero(suspect)[shaped]] = False
    role = np.where(as_customer, Role.CUSTOMER.value, role)
    role[empty] = None
    return role, np.where(empty, "empty sender", None)


_BRACKETED_ROLE = re.compile(r"^\s*([^(（\[【]+?)\s*[(（\[【]\s*([^)）\]】]+?)\s*[)）\]】]\s*$")


def _roles_from_words(raw: pd.Series, words: Mapping[str, str], what: str, *,
                      strip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Map stripped values through ``words`` (case-insensitive); reasons name ``what``. With
    ``strip``, ``raw`` is the column as read: each distinct value is stripped (not a million)."""
    def role_of(value: str) -> str | None:
        # a direction names the sender first (访客→坐席, 坐席->访客, 客服 to 客户)
        value = _DIRECTION.split(value, maxsplit=1)[0].strip() if _DIRECTION.search(value) else value
        folded = fold_name(value)  # 買家 / 賣家 from a Taiwan shop are 买家 / 卖家
        known = words.get(folded) or words.get(_ROLE_SUFFIX.sub("", folded))
        if known is None and (bracketed := _BRACKETED_ROLE.match(value)):
            # a status or kind after the role word (顾客(PLUS会员), 客服（已离职）, 客服(快捷回复)): the role word's,
            # unless what is in brackets names a machine (客服(自动回复), 客服[机器人])
            base, inner = bracketed.groups()
            if role_of(inner) == Role.SYSTEM.value:
                return Role.SYSTEM.value
            known = role_of(base)
        if known is None:
            # a machine sender, or the platform's staff, is a system row, also under a yes/no agent flag
            # (是否客服: 是 / 否 / 机器人 / 系统)
            named = _ROLE_WORDS.get(value.casefold()) if words in (_FLAG_WORDS, _CUSTOMER_FLAG_WORDS) else None
            no_shop_agent = _BOT_ROLE.search(value) or _PLATFORM_ROLE.search(value)
            if named == Role.SYSTEM.value or (named is None and no_shop_agent):
                return Role.SYSTEM.value
        return known

    if strip and not raw.hasnans:
        codes, uniques = pd.factorize(raw)
        stripped = pd.Series(uniques, dtype=raw.dtype).str.strip()
        mapped = np.array([role_of(value) for value in stripped], dtype=object)
        role = mapped[codes]
        unknown = pd.isna(mapped)[codes]  # (pd.isna of a million role words costs some 60 ms)
        values = stripped.to_numpy(dtype=object)[codes[unknown]]
    else:
        if strip:
            raw = raw.str.strip()
        role = _map_unique(raw, role_of)
        unknown = pd.isna(role)
        values = raw[unknown]
    reason = _no_reasons(len(raw))
    reason[unknown] = [f"unknown {what} '{_clip(v, 40)}'" if v else f"empty {what}" for v in values]
    return role, reason


def _role_from_nickname(nickname: str, agent_regex: re.Pattern[str] | None, external: bool = False) -> str | None:
    """Role of a sender nickname; an explicit ``agent_pattern`` replaces the sub-account rule;
    with ``external`` (an archive naming customers 名字@微信) every other sender is staff."""
    if not nickname:
        return None
    if agent_regex is not None and agent_regex.search(nickname):
        return Role.AGENT.value
    if _SYSTEM_NICKNAME.search(nickname):  # before the sub-account rule: 店铺:机器人小蜜 is a bot
        return Role.SYSTEM.value
    if _CUSTOMER_PREFIX.match(nickname):  # 买家-客服姐姐你好: the export's role word, not the name, tells
        return Role.CUSTOMER.value
    if external and agent_regex is None:
        return Role.CUSTOMER.value if _EXTERNAL_NICKNAME.search(nickname) else Role.AGENT.value
    if agent_regex is None and (_SUBACCOUNT_NICKNAME.match(nickname) or _STAFF_NICKNAME.match(nickname)):
        return Role.AGENT.value
    return Role.CUSTOMER.value


def _agents(table: RawTable, is_agent: np.ndarray, notes: IngestNotes) -> pa.Array | pa.ChunkedArray:
    """Agent per row, as Arrow strings: as exported; for agent rows without one, the nickname
    or (unknown)."""
    columns, cells = table.columns, table.cells
    if columns.has("agent"):
        names = _undecorated(_merged_aliases(cells[columns.positions["agent"]].str.strip(), columns), columns)
        # (tested once per distinct name: a million rows name a few hundred agents)
        distinct = Distinct(names)  # (factorized again only if the names change)
        chained = distinct.test(lambda values: values.str.contains(_CHAIN, regex=True).to_numpy(
            dtype=bool, na_value=False))
        if chained.any():
            # who served the session as a chain (飞鸽机器人→乐途-大鹏): an agent's message written before the
            # transfer names its sender (售后-大伟 in 售后-大伟→主管-老周) when the file has a sender column;
            # otherwise the human who took over last answered
            last = names.str.split(_CHAIN, regex=True).str[-1].str.strip()
            if columns.has("sender"):
                senders = _sender_names(table)
                member = _sender_in_chain(names, senders, chained & is_agent)
                if member.any():
                    last = last.where(~member, senders.str.strip())
            names = names.where(~chained, last)
            distinct = Distinct(names)
        if columns.has("sender"):
            # the session's agents listed (可可/小雅, 小王、小李): an agent's message is its sender's when the
            # sender is one of them
            listed = distinct.test(lambda values: values.str.contains(_AGENT_LIST, regex=True).to_numpy(
                dtype=bool, na_value=False))
            if listed.any():
                senders = _sender_names(table)
                # a list of people only when each of them writes as an agent in the file (暖暖家居/小美 beside the
                # shop's account 暖暖家居 as sender is one agent's name, not two people)
                writing = set(senders[is_agent].str.strip()) - {""}
                listed &= distinct.test(lambda values: np.array(
                    [all(part.strip() in writing for part in re.split(_AGENT_LIST, value)) for value in values], dtype=bool))
                member = _sender_in_chain(names, senders, listed & is_agent, _AGENT_LIST)
                if member.any():
                    names = names.where(~member, senders.str.strip())
                    distinct = Distinct(names)
        agent = pa.array(names)
        # the robot named on the rows of a session it served alone (智能客服, ROBOT01) is no agent to score
        robot = ~is_agent & distinct.test(lambda values: values.str.fullmatch(_BOT_ACCOUNT).to_numpy(
            dtype=bool, na_value=False))
        if columns.has("role"):
            # …nor a robot under a nickname of its own on rows whose role names a machine (有赞: 角色 智能助手,
            # 客服名称 栖暖小管家); a notice's name stays (系统通知 会话已分配给客服小林: the agent assigned).
            # (the distinct values are stripped: a million need not be)
            robot |= ~is_agent & _test_distinct(cells[columns.positions["role"]], lambda values: values.str.strip().str.contains(
                _BOT_ROLE).to_numpy(dtype=bool, na_value=False))
        if robot.any():
            agent = pc.if_else(pa.array(robot), "", agent)
        unnamed = is_agent & _empty(agent)
        if unnamed.any() and columns.has("sender"):
            # the agent column written on a session's first row only (七鱼's session-header rows): an agent's
            # message names its sender itself
            agent = pc.if_else(pa.array(unnamed), pa.array(_sender_names(table)), agent)
            unnamed = is_agent & _empty(agent)
        # usually none: then the column is kept as it is rather than written out again
        return pc.if_else(pa.array(unnamed), UNKNOWN_AGENT, agent) if unnamed.any() else agent
    if columns.has("sender"):
        label = columns.label("sender")
        notes.add(f"no agent column in {{files}}: agent taken from '{label}'", table.source)
        # (a customer's row has no agent: what the decorations do to customers' nicknames is never seen)
        nickname = pa.array(_sender_names(table))
        named = pc.if_else(pa.array(_empty(nickname)), UNKNOWN_AGENT, nickname)
        return pc.if_else(pa.array(is_agent), named, "")
    if _agent_sheet(table):
        # one sheet per agent (有赞, 企业微信 exports by staff: 客服-小桃, 阿北): the sheet names whose rows they are
        notes.add("no agent column in {files}: each sheet's name taken as its agent (one sheet per agent)", table.source)
        return pc.if_else(pa.array(is_agent, type=pa.bool_()), table.sheet.strip(), "")
    notes.add(f"no agent column in {{files}}: agent set to {UNKNOWN_AGENT}", table.source)
    return pc.if_else(pa.array(is_agent, type=pa.bool_()), UNKNOWN_AGENT, "")


def _agent_sheet(table: RawTable) -> bool:
    """Is ``table`` one of several sheets of a workbook, named like a person or a staff account (客服-小桃, 阿北,
    售后_Mia, 客服2)? Not a table's own title (Sheet1, 聊天记录, 查询结果), a date (12月6日, 周一, 本周), a party
    (买家消息, 客服发言), a platform, a department or a shift (淘宝, 售后, 夜班), nor a file inside an archive."""
    name = (table.sheet or "").strip()
    if not table.label.endswith(f"(sheet '{table.sheet}')"):  # a lone sheet, or an archive's member
        return False
    if not _AGENT_SHEET.fullmatch(name) or _NOT_AN_AGENT_SHEET.search(name) or _DATE_SHEET.fullmatch(name):
        return False
    return not SHEET_ROLE.match(name)


# a name: letters or characters, a staff number at most at its end (客服2, 小美2号)
_AGENT_SHEET = re.compile(r"[^\d\s./\\][^\d./\\]{0,19}?(?:\s*\d{1,3}号?)?")
_NOT_AN_AGENT_SHEET = re.compile(r"(?i)sheet|工作表|表格|记录|明细|消息|聊天|会话|对话|数据|导出|汇总|统计|结果|全部|所有|"
                                 r"\b(?:data|export|messages?|chats?|sessions?|logs?|summary|report|list|history|"
                                 r"conversations?|records?|results?)\b|说明|字典|目录|封面|首页|概览|总览|"
                                 r"(?<!小)店(?!长|小二|员)|旗舰|专营|官方|公司|商城|平台|家居|"
                                 r"淘宝|天猫|京东|抖音|抖店|拼多多|快手|小红书|微信|有赞|微店|唯品会|"
                                 r"^(?:售前|售后|客服部|[早中晚夜白]班|差评|好评|中评|投诉|退款|退货)$|"
                                 r"客户(?!经理|服务)|买家|顾客|用户|访客|系统|机器人|通知")
_DATE_SHEET = re.compile(r"(?:星期|周|礼拜)[一二三四五六日天末]|[一二三四五六七八九十]+月(?:[一二三四五六七八九十]+日)?|"
                         r"[一二三四五六七八九十]+日|今日|今天|昨日|昨天|本周|上周|本月|上月|双十一|双十二|618")
# A sheet named after a party (买家消息, 客服发言): an export split by sender (spreadsheet.py reads the role
# from it), no one agent's sheet.
SHEET_ROLE = re.compile(r"^\s*(买家|顾客|客户|用户|会员|访客|粉丝|客服|坐席|人工|卖家|商家|系统|通知)(?:的)?(?:消息|发言|记录|聊天|会话|回复)?\s*$")


def _sender_in_chain(chains: pd.Series, senders: pd.Series, rows: np.ndarray, separator: str = _CHAIN) -> np.ndarray:
    """Which of ``rows`` name a sender who is one of the names of the row's chain of agents (售后-大伟 in
    售后-大伟→主管-老周; parts split at ``separator``); tested once per distinct (chain, sender) pair, as
    integer codes."""
    found = np.zeros(len(chains), dtype=bool)
    at = np.flatnonzero(rows)
    if not len(at):
        return found
    chain_codes, chain_values = pd.factorize(chains.iloc[at])
    sender_codes, sender_values = pd.factorize(senders.iloc[at])
    pairs = chain_codes.astype(np.int64) * (len(sender_values) + 1) + sender_codes
    unique_pairs, inverse = np.unique(pairs, return_inverse=True)
    verdicts = np.zeros(len(unique_pairs), dtype=bool)
    for index, pair in enumerate(unique_pairs.tolist()):
        chain_code, sender_code = divmod(pair, len(sender_values) + 1)
        if chain_code < 0 or sender_code < 0 or sender_code >= len(sender_values):
            continue
        sender = str(sender_values[sender_code]).strip()
        # (the robot named in the chain is no agent: its greeting stays with the human who answered)
        verdicts[index] = bool(sender) and not re.fullmatch(_BOT_ACCOUNT, sender) and not _SYSTEM_NICKNAME.search(sender) \
            and sender in {part.strip() for part in re.split(separator, str(chain_values[chain_code]))}
    found[at] = verdicts[inverse.ravel()]
    return found


def _sender_names(table: RawTable) -> pd.Series:
    """Each row's sender as an agent's name: undecorated (:func:`_undecorated`), a 工号 named as the staff
    directory names it (1024 -> 小鹿), a sub-account spelling as the bare name (:func:`_merged_aliases`)."""
    columns = table.columns
    senders = _undecorated(table.cells[columns.positions["sender"]].str.strip(), columns)
    if columns.staff_directory:
        senders = senders.replace({account: name for account, name, _ in columns.staff_directory})
    return _merged_aliases(senders, columns)


def _undecorated(names: pd.Series, columns: ColumnMap) -> pd.Series:
    """Agents' names without the decorations :func:`agent_decorations` found in the file's head."""
    for pattern in columns.agent_decorations:
        names = names.str.replace(pattern, "", regex=True)
    return names


def _merged_aliases(names: pd.Series, columns: ColumnMap) -> pd.Series:
    """Agent names with each sub-account spelling of :attr:`ColumnMap.agent_aliases` as its bare name."""
    return names.replace(dict(columns.agent_aliases)) if columns.agent_aliases else names


def _empty(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.equal(values, "").to_numpy(zero_copy_only=False), dtype=bool)
