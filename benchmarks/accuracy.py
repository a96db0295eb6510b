"""Accuracy of ``qa audit`` against the hand-labelled evaluation set in ``tests/eval/``.

Every eval file is a chat export in one of the layouts the tool reads, plus a column
``expect``: the rule ids (``;``-separated) that must flag THAT message; empty = the message
must stay clean. The labels follow the service standard (``STANDARDS.md``), not the tool.

For each file the tool runs as a user would run it::

    python -m qa audit FILE --json OUT.json -o OUT.xlsx

(in a temporary directory), and the predicted set of ``(file, row, rule)`` from the JSON
result is compared with the labelled set. ``row`` is the spreadsheet row (header = row 1;
a quoted cell with a line break is still one row).

Usage::

    python benchmarks/accuracy.py                          # all tests/eval/*.csv, print the table
    python benchmarks/accuracy.py --min-precision 0.95 --min-recall 0.90   # exit 1 below target
    python benchmarks/accuracy.py --json metrics.json --keep out/          # metrics + tool outputs
    python benchmarks/accuracy.py --check-labels           # only validate the labels
    python benchmarks/accuracy.py --qa-command qa          # an installed qa instead of python -m qa

The tool measured is the code of the checkout this script lives in (its folder goes first on
``PYTHONPATH``, whatever ``--qa-command`` says): to measure another commit, run that checkout's
own copy of the script (``git worktree add ../ref <commit>``, then ``python ../ref/benchmarks/accuracy.py``).

Exit codes: 0 every rule meets the targets (or none were given); 1 some rule is below a
target; 2 the labels are invalid or the tool failed on a file.

Tests import this file by path (``importlib.util.spec_from_file_location``); the public
functions are :func:`evaluate`, :func:`run_evaluation`, :func:`read_labels`,
:func:`check_labels`, :func:`predicted_from_result` and :func:`compare`.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from datetime import time as dt_time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EVAL_DIR = REPO / "tests" / "eval"

#: The public rule ids of STANDARDS.md, in the order the table prints them.
RULES = (
    "forbidden-phrase",
    "rhetorical-question",
    "slow-reply",
    "repeated-soothing",
    "ignored-complaint",
    "emoji-only",
    "unsoothed-emotion",
    "repeated-solution",
    "brand-doubt",
)
#: Rules judged on the agent message itself.
AGENT_MESSAGE_RULES = {"forbidden-phrase", "rhetorical-question", "repeated-soothing", "emoji-only"}

LABEL_COLUMN = "expect"
LABEL_SEPARATORS = re.compile(r"[;；]")

# Header names of the eval layouts (A, B, C, the 飞鸽 one of set K, the 七鱼 one of set L, the 咚咚 one of set M, a 快手 API dump), per field. Only this script uses them, to show
# texts and to check labels; the tool finds its columns on its own.
FIELD_HEADERS = {
    "session": ("session_id", "会话ID", "会话id", "会话编号", "会话标识", "对话ID", "dialogue_id", "conversation_id", "会话",
                "会话流水号"),
    "time": ("timestamp", "时间", "发送时间", "消息时间", "消息发送时间", "created_at", "msg_time", "sent_at", "send_time"),
    "role": ("role", "sender_role", "角色", "发送方", "发送者身份", "消息发送方", "消息发送者", "发送者类型", "sender_type", "消息来源", "发送方向",
             "发送人身份", "消息方向", "身份", "发送方类型", "消息发送人", "from_role",
             "发送角色", "发送人角色", "发送者角色", "author_type", "author_role"),
    "agent": ("agent", "sender_name", "客服", "接待客服", "客服昵称", "客服账号", "客服名称", "发送者", "agent_name", "咚咚账号",
              "接待人员", "坐席昵称", "坐席名称", "座席名称", "发送人", "发送方昵称", "sender", "sender_nick",
              "客服名", "客服工号", "接待人", "发送账号", "author", "author_name"),
    "text": ("text", "内容", "消息内容", "聊天内容", "content", "消息", "消息正文", "body"),
}
# Without a role column the sender decides, as in a 千牛 export: a sub-account
# ``店铺名:客服名`` is an agent (``店铺名:机器人`` the shop robot), any other nickname (``tb123_小王``,
# ``momo:)``) a customer.
SENDER_HEADERS = ("sender", "发送人", "发送者", "发送者昵称")
# Without a session column a session is the customer's conversation, one per start time if a
# column gives it (a 千牛 export keyed by 买家旺旺), else one per day (from 04:00), as the tool reads it.
CUSTOMER_HEADERS = ("买家旺旺", "旺旺", "买家", "买家昵称", "用户昵称", "顾客昵称", "客户昵称", "访客昵称", "访客名称", "customer", "buyer_nick", "客户ID", "客户账号", "用户pin", "买家ID", "买家id")
SESSION_START_HEADERS = ("会话开始", "会话开始时间", "session_start")
# …or, in a log of sender and receiver (千牛 聊天记录), the customer of each row: the sender of a customer's
# message, the receiver of the shop's; one session per customer per day
RECEIVER_HEADERS = ("接收方", "接收人", "接收者", "receiver")
SUB_ACCOUNT = re.compile(r"[^:：\s]+[:：][^:：\s]*\w[^:：\s]*")
# Staff named by their post (员工-售后小林, 客服_小美): an agent, as the tool reads them.
STAFF_NAME = re.compile(r"\s*(?:[^-_·|/:：\s]+\s*[-_·|/]\s*)?(?:(?:员工|客服|售前|售后|店长|店员|导购|顾问|坐席|商家|官方)\s*[-_·|/:：]\s*\S|客服\S)")
# A shop's staff named shop-then-name (拾光家居旗舰店-小橙): an agent when two or more senders share the shop
# part or it names a shop (…店, …铺, …百货, …女装), or when one sender of that shape writes in three sessions
# or more, as the tool reads it.
SHOP_PREFIX = re.compile(r"^\s*([^-·|/－—:：\s]*[\u4e00-\u9fff][^-·|/－—:：]*?[\u4e00-\u9fff][^-·|/－—:：]*?)\s*[-·|/－—]\s*\S")
SHOP_WORD = re.compile(r"(?:店|铺|铺子|馆|坊|站|旗舰店|专营店|专卖店|官方|工作室|商城|商行|公司|品牌|家居|美妆|官旗|"
                       r"百货|超市|优选|严选|好物|女装|男装|童装|服饰|服装|鞋业|鞋服|数码|电器|家电|食品|生鲜|零食|"
                       r"茶叶|茶庄|母婴|家纺|玩具|文具|户外|器材|酒业|酒庄|果园|农场|专柜)$")
STAFF_SESSIONS = 3
GENERIC_PREFIX = re.compile(r"(?:用户|访客|会员|买家|顾客|客户|游客|粉丝|网友|匿名|新人)$")
ID_SUFFIX = re.compile(r"^\s*[^-·|/－—:：]*[-·|/－—]\s*(?=[0-9a-zA-Z_]*[0-9_])[0-9a-zA-Z_]{3,}\s*$")
# A shop's robot named by its post (雾屿美妆-智能助手, 店小蜜): the system, as the tool reads it.
ROBOT_NAME = re.compile(r"系统|机器人|自动回复|智能(?:助手|助理|客服)|店小蜜|阿里小蜜")
# A 咚咚 export flags agent rows (是/否, 1/0) instead of naming a role; the shop robot sends
# from the account 机器人. Its date and time may be two columns.
AGENT_FLAG_HEADERS = ("是否客服发送", "是否客服")
AGENT_FLAG_YES = {"是", "1", "true", "True"}
ROBOT_ACCOUNTS = {"机器人", "robot"}
# The platforms' robots by their account names (京东 JIMI, 店小蜜): an agent-side row sent from one is the
# system, as the tool reads it; on a customer's row the column names whoever was serving.
# 系统 / 系统消息 / 系统通知 as the account sends the platform's notices (会话已转接, 会话超时).
ROBOT_ACCOUNT = re.compile(r"(?i)(?:.*(?<![a-z])(?:jimi|robot|bot|chatbot)(?![a-z]).*|.*(?:店小蜜|阿里小蜜|京小智|智能客服|智能助手|"
                           r"智能助理|机器人|ai客服|ai助手).*|系统(?:消息|通知)?|system)")
# A message-type column (消息类型: 系统消息 / 机器人): such a row is the system whatever its sender, as the tool reads it.
MSG_TYPE_HEADERS = ("消息类型", "msg_type", "message_type")
# A flag on the shop's rows that marks its robot's auto-replies (唯品会 是否自动回复: 是/否): such a row is the system.
AUTO_REPLY_FLAG_HEADERS = ("是否自动回复", "自动回复", "是否机器人", "是否机器人发送", "是否机器人回复", "机器人消息", "is_auto_reply")
SYSTEM_MSG_TYPES = {"系统", "系统消息", "机器人", "机器人消息", "自动回复", "智能客服", "智能助理", "店小蜜", "system",
                    "robot", "bot", "auto-reply", "auto_reply", "撤回消息", "撤回", "消息撤回", "recall", "recalled", "revoke", "revoked"}
SPLIT_TIME_HEADERS = (("日期", "时间"), ("发送日期", "发送时间"), ("消息日期", "消息时间"), ("发送日期", "发送时刻"))
WARNING = "warning: "
ROLE_VALUES = {
    "agent": "agent", "客服": "agent", "接待人员": "agent", "客服发送": "agent", "商家客服": "agent",
    "买家发送": "customer", "系统通知": "system", "系统提示": "system", "系统消息": "system", "商家": "agent", "自动回复": "system",
    "customer": "customer", "buyer": "customer", "seller": "agent", "bot": "system", "买家": "customer", "顾客": "customer", "用户": "customer", "客户": "customer",
    "访客": "customer", "坐席": "agent", "座席": "agent", "end-user": "customer", "end_user": "customer", "enduser": "customer",
    "requester": "customer", "会员": "customer", "粉丝": "customer", "游客": "customer", "member": "customer",
    # a message direction seen from the shop (唯品会: 收到 the member's, 发出 the shop's)
    "收到": "customer", "发出": "agent", "卖家": "agent",
    "system": "system", "系统": "system", "机器人": "system", "robot": "system", "智能助手": "system", "智能客服": "system",
}
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f",
                "%Y年%m月%d日 %H:%M:%S")
SLOW_REPLY_SECONDS = 5 * 60
# The tool's default working hours (rules/slow-reply.toml): a wait counts only inside them, so a
# question at 23:40 answered at 09:00 the next morning waited no working time.
WORKING_HOURS = (9, 23)
CHINA_TIME = timezone(timedelta(hours=8))

DEFAULT_COMMAND = (sys.executable, "-m", "qa")
TOOL_TIMEOUT = 600


def _role_value(raw_role: str) -> str:
    """The normalised role of a role cell (SELLER and seller alike; 客服→客户 names the sender)."""
    for candidate in (raw_role, re.split(r"→|->", raw_role)[0].strip()):
        for spelling in (candidate, candidate.casefold()):
            if spelling in ROLE_VALUES:
                return ROLE_VALUES[spelling]
    return raw_role


class LabelError(ValueError):
    """The eval file itself is malformed (missing column, unknown rule id ...)."""


class ToolError(RuntimeError):
    """``qa audit`` failed on an eval file or wrote no usable JSON result."""


# ---------------------------------------------------------------------------------------------
# Labels


@dataclass(frozen=True)
class Message:
    """One labelled row of an eval file."""

    file: str  # file name, e.g. "a_taobao.csv"
    row: int  # spreadsheet row, header = 1
    session: str
    time: str
    role: str  # agent / customer / system (normalised), or the raw value if unknown
    agent: str
    text: str
    labels: tuple[str, ...]


# English helpdesk headers (Ticket ID, Author Role, Created At, Body) as the tool reads them: case, spaces,
# hyphens and underscores do not matter
_HELPDESK_HEADERS = {"ticketid": "session_id", "authorrole": "role", "authortype": "role", "createdat": "created_at",
                     "body": "text", "author": "agent"}


def _canonical_header(name: str) -> str:
    key = re.sub(r"[\s_\-]+", "", name.casefold())
    for names in FIELD_HEADERS.values():
        for known in names:
            if re.sub(r"[\s_\-]+", "", known.casefold()) == key:
                return known
    return _HELPDESK_HEADERS.get(key, name)


def _field_index(header: list[str], field_name: str, path: Path) -> int:
    for name in FIELD_HEADERS[field_name]:
        if name in header:
            return header.index(name)
    raise LabelError(f"{path.name}: no {field_name} column (tried {', '.join(FIELD_HEADERS[field_name])})")


def _cell_text(value: Any) -> str:
    """An Excel cell as its text: dates and times as the CSV layouts write them."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt_time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet_records(path: Path) -> list[tuple[str, list[list[str]]]]:
    """Every sheet of an .xlsx (or old .xls) eval file as (name, rows of cell texts); row i is
    spreadsheet row i+1."""
    import pandas as pd  # calamine reads both formats; a dependency of the tool

    from qa.ingest.spreadsheet import merges_filled  # merged cells read as the tool reads them

    book = pd.ExcelFile(path, engine="calamine")
    out = []
    for name in book.sheet_names:
        frame, _ = merges_filled(book, name, pd.read_excel(book, sheet_name=name, header=None, dtype=object))
        # a frame is rectangular: every row has the sheet's width
        out.append((str(name), [[_cell_text(None if pd.isna(v) else v) for v in row]
                                for row in frame.itertuples(index=False)]))
    return out


def read_messages(path: Path) -> list[Message]:
    """Read one eval file (UTF-8, BOM allowed; UTF-16 with a BOM; else GB18030, as Chinese Windows tools export;
    comma- or tab-separated; or the first sheet of an .xlsx) into messages with their row numbers."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xls"):
        # every sheet holding the label column (one sheet per agent or per day); with several, a
        # message's file is named with its sheet, as the tool's findings name theirs
        labelled = [(name, records) for name, records in _sheet_records(path) if _label_row(records) is not None]
        if not labelled:
            raise LabelError(f"{path.name}: no '{LABEL_COLUMN}' column")
        if len(labelled) == 1:
            return _parse_records(path, labelled[0][1], path.name)
        return [m for name, records in labelled for m in _parse_records(path, records, f"{path.name}[{name}]")]
    else:
        raw = path.read_bytes()
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16 with a BOM
            content = raw.decode("utf-16")
        else:
            try:
                content = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                content = raw.decode("gb18030")
        # the header line decides (a title line above it may hold neither separator)
        lines = content.split("\n", 20)[:20]
        head = next((line for line in lines if LABEL_COLUMN in line), lines[0])
        delimiter = "\t" if path.suffix.lower() == ".tsv" or head.count("\t") > head.count(",") else ","
        records = list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))
    if not records:
        raise LabelError(f"{path.name}: empty file")
    return _parse_records(path, records, path.name)


def _label_row(records: list[list[str]]) -> int | None:
    """The header's index: an export's title lines (聊天记录导出,店铺:…) and blank lines may stand
    above it, as the tool reads them; the header is the first record holding the label column."""
    return next((i for i, record in enumerate(records[:20])
                 if LABEL_COLUMN in [str(name).strip() for name in record]), None)


def _parse_records(path: Path, records: list[list[str]], file_label: str) -> list[Message]:
    """The messages of one table of records (a CSV, or one sheet) with their row numbers."""
    first = _label_row(records)
    if first is None:
        raise LabelError(f"{path.name}: no '{LABEL_COLUMN}' column")
    header = [_canonical_header(name.strip()) for name in records[first]]
    sender = next((header.index(name) for name in SENDER_HEADERS if name in header), None)
    role_known = any(name in header for name in FIELD_HEADERS["role"])
    if role_known and sender is None:
        # a role column holding names (a WeCom archive's 发送方: 王先生, 员工-售后小林, 自动回复) is the sender
        at = next(header.index(name) for name in FIELD_HEADERS["role"] if name in header)
        values = [record[at].strip() for record in records[first + 1:] if len(record) > at and record[at].strip()]
        if values and sum(_role_value(v) not in ("agent", "customer", "system") for v in values) > len(values) / 2:
            role_known, sender = False, at
            # …unless another column holds the role words (微信客服 发送方类型 beside 发送方): that one is
            # the role, the names the sender, as the tool tells two role-like columns apart by their values
            for other, name in enumerate(header):
                if other == at or name == LABEL_COLUMN:
                    continue
                cells = [record[other].strip() for record in records[first + 1:]
                         if len(record) > other and record[other].strip()]
                if cells and all(_role_value(v) in ("agent", "customer", "system") for v in cells) and \
                        {"agent", "customer"} <= {_role_value(v) for v in cells}:
                    header = header[:other] + [FIELD_HEADERS["role"][0]] + header[other + 1:]
                    header[at] = SENDER_HEADERS[0]
                    role_known = True
                    break
    if not role_known and sender is not None:
        # …and a sender column holding roles (a Qiyu export's 发送者: 访客/客服/机器人) is the role, as the tool reads it
        values = [record[sender].strip() for record in records[first + 1:] if len(record) > sender and record[sender].strip()]
        if values and sum(_role_value(v) in ("agent", "customer", "system") for v in values) > len(values) / 2:
            role_at, sender = sender, None
            header = header[:role_at] + [FIELD_HEADERS["role"][0]] + header[role_at + 1:]
            role_known = True
    agent_flag = next((header.index(name) for name in AGENT_FLAG_HEADERS if name in header), None)
    by_flag = not role_known and agent_flag is not None
    by_sender = not role_known and not by_flag and sender is not None
    split_time = next(((header.index(d), header.index(t)) for d, t in SPLIT_TIME_HEADERS
                       if d in header and t in header), None)
    # A log without times (the JD corpus: turn numbers only) is labelled without slow-reply.
    timeless = not split_time and not any(name in header for name in FIELD_HEADERS["time"])
    no_session = not any(name in header for name in FIELD_HEADERS["session"])
    customer_at = next((header.index(name) for name in CUSTOMER_HEADERS if name in header), None)
    start_at = next((header.index(name) for name in SESSION_START_HEADERS if name in header), None)
    receiver_at = next((header.index(name) for name in RECEIVER_HEADERS if name in header), None)
    by_receiver = no_session and customer_at is None and receiver_at is not None and sender is not None
    # a role column beside the senders' names and no agent column: the agent is the sender, as the tool reads it
    agent_from_sender = (sender is not None and not by_sender
                         and not any(name in header for name in FIELD_HEADERS["agent"]))
    idx = {name: _field_index(header, name, path) for name in FIELD_HEADERS
           if not (name == "agent" and agent_from_sender)
           and not (name == "session" and no_session and (customer_at is not None or by_receiver))
           and not ((by_sender and name in ("role", "agent")) or (by_flag and name == "role")
                   or (split_time and name == "time") or (timeless and name == "time")
                   or (timeless and name == "agent" and name not in header and not by_sender))}
    if by_sender:
        idx["role"] = idx["agent"] = sender
    elif agent_from_sender:
        idx["agent"] = sender
    if by_flag:
        idx["role"] = agent_flag
    label_idx = header.index(LABEL_COLUMN)
    msg_type_at = next((header.index(name) for name in MSG_TYPE_HEADERS if name in header), None)
    auto_flag_at = next((header.index(name) for name in AUTO_REPLY_FLAG_HEADERS if name in header), None)
    shops: set[str] = set()
    if by_sender:
        senders: dict[str, set[str]] = {}
        sessions_of: dict[str, set[str]] = {}
        session_at = next((header.index(name) for name in FIELD_HEADERS["session"] if name in header), None)
        for record in records[first + 1:]:
            name = record[sender].strip() if len(record) > sender else ""
            found = SHOP_PREFIX.match(name)
            if (found and not ROBOT_NAME.search(name) and not GENERIC_PREFIX.search(found.group(1).strip())
                    and not ID_SUFFIX.match(name)):
                senders.setdefault(found.group(1).strip(), set()).add(name)
                if session_at is not None and len(record) > session_at:
                    sessions_of.setdefault(name, set()).add(record[session_at].strip())
        shops = {shop for shop, who in senders.items()
                 if len(who) >= 2 or SHOP_WORD.search(shop)
                 or any(len(sessions_of.get(name, ())) >= STAFF_SESSIONS for name in who)}
        # the shop's main account writes under the bare shop name its sub-accounts share (佳禾日用品厂 beside
        # 佳禾日用品厂:小鱼 and 佳禾日用品厂:阿珍), as the tool reads it
        accounts: dict[str, set[str]] = {}
        for record in records[first + 1:]:
            name = record[sender].strip() if len(record) > sender else ""
            if SUB_ACCOUNT.fullmatch(name) and not ROBOT_NAME.search(name):
                accounts.setdefault(re.split("[:：]", name, maxsplit=1)[0], set()).add(name)
        shops |= {shop for shop, who in accounts.items() if len(who) >= 2}
    messages = []
    for number, record in enumerate(records[first + 1:], start=first + 2):
        if len(record) != len(header):
            raise LabelError(f"{path.name}:{number}: {len(record)} cells, header has {len(header)}")
        raw_labels = [part.strip() for part in LABEL_SEPARATORS.split(record[label_idx])]
        if not any(raw_labels) and not record[idx["role"]].strip() and not record[idx["text"]].strip():
            continue  # a blank row or an export's footer (合计：907 条消息), which the tool rejects as no message
        raw_role = record[idx["role"]].strip()
        if by_sender:
            shop = SHOP_PREFIX.match(raw_role)
            raw_role = ("system" if ROBOT_NAME.search(raw_role)
                        else "agent" if STAFF_NAME.match(raw_role) or raw_role in shops
                        or (shop is not None and shop.group(1).strip() in shops and not ID_SUFFIX.match(raw_role))
                        else "customer" if not SUB_ACCOUNT.fullmatch(raw_role)
                        else "system" if re.split("[:：]", raw_role, maxsplit=1)[1] in ROBOT_ACCOUNTS
                        else "agent")
        elif by_flag:
            account = record[idx["agent"]].strip()
            raw_role = ("system" if raw_role in ("机器人", "系统", "robot", "system")
                        or (raw_role in AGENT_FLAG_YES and (account in ROBOT_ACCOUNTS or ROBOT_ACCOUNT.fullmatch(account)))
                        else "agent" if raw_role in AGENT_FLAG_YES else "customer")
        if msg_type_at is not None and record[msg_type_at].strip().casefold() in SYSTEM_MSG_TYPES:
            raw_role = "system"
        if auto_flag_at is not None and record[auto_flag_at].strip() in AGENT_FLAG_YES:
            raw_role = "system"
        if split_time:
            date_part = record[split_time[0]].strip().split(" ")[0]
            time_text = f"{date_part} {record[split_time[1]].strip()}"
        elif timeless:
            time_text = ""
        else:
            time_text = record[idx["time"]].strip()
        if by_receiver:
            customer_at = sender if _role_value(raw_role) == "customer" else receiver_at
        messages.append(
            Message(
                file=file_label,
                row=number,
                session=(record[idx["session"]].strip() if "session" in idx
                         else " · ".join(record[i].strip() for i in (customer_at, start_at) if i is not None)
                         if start_at is not None or not time_text
                         # one session per customer per day, as the tool reads it
                         else f"{record[customer_at].strip()} · {(_parse_time(time_text) - timedelta(hours=4)).date()}"),
                time=time_text,
                role=_role_value(raw_role),
                agent=record[idx["agent"]].strip() if "agent" in idx else "",
                text=record[idx["text"]],
                labels=tuple(label for label in raw_labels if label),
            )
        )
    return messages


def read_labels(path: Path) -> set[tuple[str, int, str]]:
    """The labelled set ``{(file name, row, rule)}`` of one eval file."""
    return {(m.file, m.row, rule) for m in read_messages(path) for rule in m.labels}


def _parse_time(value: str) -> datetime:
    """A naive China-time datetime (times with an offset are converted to UTC+8)."""
    if value.isdigit() and len(value) == 13:  # epoch milliseconds (layout E)
        return datetime.fromtimestamp(int(value) / 1000, CHINA_TIME).replace(tzinfo=None)
    if value.isdigit() and len(value) == 10:  # epoch seconds
        return datetime.fromtimestamp(int(value), CHINA_TIME).replace(tzinfo=None)
    for fmt in TIME_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(CHINA_TIME).replace(tzinfo=None)
        return parsed
    try:  # month-day without a year (a 微店 export: 12-06 09:30:11); a leap year, so 02-29 reads
        return datetime.strptime(f"2000-{value}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        pass
    raise LabelError(f"unreadable time {value!r}")


def _sessions(messages: list[Message]) -> dict[str, list[Message]]:
    """Messages per session, in time order (file order breaks ties)."""
    sessions: dict[str, list[Message]] = {}
    for message in messages:
        sessions.setdefault(message.session, []).append(message)
    return {
        sid: sorted(rows, key=lambda m: (_parse_time(m.time) if m.time else datetime.min, m.row))
        for sid, rows in sessions.items()
    }


_PARTICLES = "哦呢哈啦呀哟嘛了"


@functools.cache
def _t2s():
    """opencc's traditional-to-simplified converter, built once (building one loads its
    dictionaries: done per message it was most of check_labels' time), or None without opencc."""
    try:
        import opencc  # a dependency of the tool; optional here

        return opencc.OpenCC("t2s")
    except Exception:  # noqa: BLE001 - any failure just skips the folding
        return None


def _same_line_key(text: str) -> str:
    """A rough "same soothing line" key for label checks only: no punctuation, symbols,
    spaces or final particles; traditional folded to simplified when opencc is present."""
    converter = _t2s()
    if converter is not None:
        try:
            text = converter.convert(text)
        except Exception:  # noqa: BLE001 - any failure just skips the folding
            pass
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
    return kept.rstrip(_PARTICLES)


_SENTENCE_SPLIT = re.compile(r"[，,。！？!?；;～~\s]+")
_AUTO_REPLY = re.compile(r"\s*[【\[]?\s*(?:自动回复|自動回覆|机器人|店小蜜|智能助理|智能客服|智能助手|客服助手)"
                         # a platform notice filed under the agent's account (【系统提示】会话已转接至…), as the tool reads it
                         r"|\s*[【\[]\s*(?:系统|系統)(?:消息|訊息|通知|提示)?\s*[】\]]")


def check_labels(paths: Iterable[Path]) -> list[str]:
    """Problems with the labels of the given eval files ([] = valid).

    Checks: every label is a known rule id, once per cell; labels sit on rows of the right
    role (system rows never; customer rows only ``ignored-complaint``); a labelled customer
    complaint has no agent reply after it; an agent ``ignored-complaint`` follows a customer
    message; ``slow-reply`` labels are exactly the agent replies that come more than 5
    minutes after the first of a run of customer messages; a ``repeated-soothing`` label sits
    on at least the third use of that line by agents in the session; session ids are unique
    across files.
    """
    problems: list[str] = []
    seen_sessions: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        try:
            messages = read_messages(path)
        except LabelError as exc:
            problems.append(str(exc))
            continue
        times_ok = True
        for m in messages:
            where = f"{m.file}:{m.row}"
            for label in m.labels:
                if label not in RULES:
                    problems.append(f"{where}: unknown rule id {label!r} (known: {', '.join(RULES)})")
            if len(set(m.labels)) != len(m.labels):
                problems.append(f"{where}: a rule id is repeated in {';'.join(m.labels)!r}")
            if m.role not in ("agent", "customer", "system"):
                problems.append(f"{where}: unknown role {m.role!r}")
            if m.role == "system" and m.labels:
                problems.append(f"{where}: a system message is labelled {';'.join(m.labels)}")
            if m.role == "customer" and set(m.labels) - {"ignored-complaint"}:
                problems.append(f"{where}: a customer message can only carry ignored-complaint")
            if not m.text.strip():
                problems.append(f"{where}: empty text")
            if not m.time:
                if "slow-reply" in m.labels:
                    problems.append(f"{where}: slow-reply labelled in a file without times")
                continue
            try:
                _parse_time(m.time)
            except LabelError as exc:
                problems.append(f"{where}: {exc}")
                times_ok = False
        if not times_ok:
            continue
        for sid, rows in _sessions(messages).items():
            owner = seen_sessions.setdefault(sid, path.name)
            if owner != path.name:
                problems.append(f"{path.name}: session {sid} also in {owner}")
            problems.extend(_check_session(rows))
    return problems


def _working_seconds(start: datetime, end: datetime) -> float:
    """Seconds between ``start`` and ``end`` that fall inside :data:`WORKING_HOURS` of each day."""
    total, day = 0.0, start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        opens, closes = day + timedelta(hours=WORKING_HOURS[0]), day + timedelta(hours=WORKING_HOURS[1])
        total += max(0.0, (min(end, closes) - max(start, opens)).total_seconds())
        day += timedelta(days=1)
    return total


def _check_session(rows: list[Message]) -> list[str]:
    problems = []
    waiting_since: datetime | None = None
    agent_lines: dict[str, int] = {}
    for i, m in enumerate(rows):
        where = f"{m.file}:{m.row}"
        when = _parse_time(m.time) if m.time else None
        if m.role == "customer":
            if waiting_since is None:
                waiting_since = when
            # (an auto-reply under the agent's name is no reply, as the tool reads it)
            if "ignored-complaint" in m.labels and any(r.role == "agent" and not _AUTO_REPLY.match(r.text)
                                                       for r in rows[i + 1:]):
                problems.append(f"{where}: customer complaint labelled ignored-complaint, but an agent replies later "
                                "(label the agent reply instead)")
        elif m.role == "agent" and _AUTO_REPLY.match(m.text):
            continue  # an auto-reply under the agent's name is a system message: the clock runs on
        elif m.role == "agent":
            late = (waiting_since is not None and when is not None
                    and _working_seconds(waiting_since, when) > SLOW_REPLY_SECONDS)
            if when is not None and late != ("slow-reply" in m.labels):
                wait = _working_seconds(waiting_since, when) if waiting_since else 0
                problems.append(f"{where}: slow-reply label {'missing' if late else 'wrong'} "
                                f"(customer waited {wait:.0f} s)")
            waiting_since = None
            if "ignored-complaint" in m.labels:
                previous = [r for r in rows[:i] if r.role != "system" and not _AUTO_REPLY.match(r.text)]
                if not previous or previous[-1].role != "customer":
                    problems.append(f"{where}: ignored-complaint on an agent message that answers no customer message")
            # Soothing is counted per sentence (STANDARDS.md): the label needs the message or one
            # of its sentences at its 3rd or later use.
            uses = 0
            keys = {_same_line_key(part) for part in _SENTENCE_SPLIT.split(m.text)} | {_same_line_key(m.text)}
            for sentence in keys - {""}:
                agent_lines[sentence] = agent_lines.get(sentence, 0) + 1
                uses = max(uses, agent_lines[sentence])
            if "repeated-soothing" in m.labels and uses < 3:
                # The "same line" key here is rougher than the standard's (a soothing clause at
                # the head of messages with different endings is the same line): a warning.
                problems.append(f"{WARNING}{where}: repeated-soothing on use {uses} of that line (needs >= 3)")
    return problems


# ---------------------------------------------------------------------------------------------
# Running the tool and comparing


def run_tool(path: Path, work_dir: Path, command: Sequence[str] = DEFAULT_COMMAND) -> dict[str, Any]:
    """Run ``qa audit`` on one file inside ``work_dir``; return the parsed JSON result."""
    path = Path(path).resolve()
    json_path = work_dir / f"{path.stem}.json"
    xlsx_path = work_dir / f"{path.stem}.xlsx"
    argv = [*command, "audit", str(path), "--json", str(json_path), "-o", str(xlsx_path)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        proc = subprocess.run(argv, cwd=work_dir, env=env, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=TOOL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"{path.name}: could not run {' '.join(argv[:3])}: {exc}") from exc
    # 0 = clean audit, 1 = findings at/above --fail-on; both produce the JSON result.
    if proc.returncode not in (0, 1):
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise ToolError(f"{path.name}: qa audit exited {proc.returncode}:\n    " + "\n    ".join(detail))
    try:
        result = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ToolError(f"{path.name}: no readable JSON result at {json_path.name}: {exc}") from exc
    if not isinstance(result, dict) or not isinstance(result.get("findings"), list):
        raise ToolError(f"{path.name}: JSON result has no 'findings' list")
    return result


def _same_file(reported: Any, path: Path) -> bool:
    if not isinstance(reported, str) or not reported:
        return False
    reported_path = Path(re.sub(r" \(sheet '[^']*'\)$", "", reported))
    if reported_path.name != path.name:
        return False
    try:
        return not reported_path.is_absolute() or reported_path.resolve() == path.resolve()
    except OSError:
        return True


Key = tuple[str, int, str]  # (file name, row, rule)


def predicted_from_result(result: dict[str, Any], path: Path,
                          by_sheet: bool = False) -> tuple[set[Key], dict[Key, dict]]:
    """The predicted set ``{(file name, row, rule)}`` for ``path`` from a JSON result, plus the
    first finding behind each key (for match/reason in the FP listing); ``by_sheet``: the file
    name carries the finding's sheet (``book.xlsx[sheet]``), as a workbook of several labelled
    sheets is read."""
    path = Path(path)
    keys: set[tuple[str, int, str]] = set()
    detail: dict[tuple[str, int, str], dict] = {}
    for finding in result.get("findings", []):
        if not _same_file(finding.get("file"), path):
            continue
        try:
            name = f"{path.name}[{finding.get('sheet') or ''}]" if by_sheet else path.name
            key = (name, int(finding["row"]), str(finding["rule"]))
        except (KeyError, TypeError, ValueError):
            continue
        keys.add(key)
        detail.setdefault(key, finding)
    return keys, detail


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def compare(expected: set[tuple[str, int, str]], predicted: set[tuple[str, int, str]],
            rules: Sequence[str] = RULES) -> dict[str, dict[str, Any]]:
    """Per-rule TP/FP/FN, precision, recall, F1 of ``predicted`` against ``expected``.

    Precision with no predictions and recall with no labels are 1.0 (nothing was wrong).
    Predicted keys of rules outside ``rules`` are ignored here (see :func:`run_evaluation`).
    """
    metrics: dict[str, dict[str, Any]] = {}
    for rule in rules:
        exp = {k for k in expected if k[2] == rule}
        pred = {k for k in predicted if k[2] == rule}
        tp, fp, fn = len(exp & pred), len(pred - exp), len(exp - pred)
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics[rule] = {
            "support": len(exp), "predicted": len(pred), "tp": tp, "fp": fp, "fn": fn,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "false_positives": sorted(pred - exp), "false_negatives": sorted(exp - pred),
        }
    return metrics


@dataclass
class Evaluation:
    """Everything one evaluation run found."""

    files: list[str]
    metrics: dict[str, dict[str, Any]]
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    false_negatives: list[dict[str, Any]] = field(default_factory=list)
    other_rules: dict[str, int] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    skipped_rules: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def below(self, min_precision: float | None, min_recall: float | None) -> list[str]:
        """One line per rule under a target."""
        lines = []
        for rule, m in self.metrics.items():
            if min_precision is not None and m["precision"] < min_precision:
                lines.append(f"{rule}: precision {m['precision']:.3f} < {min_precision}")
            if min_recall is not None and m["recall"] < min_recall:
                lines.append(f"{rule}: recall {m['recall']:.3f} < {min_recall}")
        return lines

    def misses(self, rule: str | None = None) -> list[str]:
        """Readable FP/FN lines (``file:row rule [role] text``), optionally for one rule."""
        lines = []
        for kind, items in (("FP", self.false_positives), ("FN", self.false_negatives)):
            for item in items:
                if rule is None or item["rule"] == rule:
                    lines.append(_miss_line(kind, item))
        return lines

    def to_json(self, targets: dict[str, float | None] | None = None) -> dict[str, Any]:
        metrics = {rule: {k: v for k, v in m.items() if k not in ("false_positives", "false_negatives")}
                   for rule, m in self.metrics.items()}
        return {
            "files": self.files, "targets": targets or {}, "rules": metrics, "micro": _micro(self.metrics),
            "false_positives": self.false_positives, "false_negatives": self.false_negatives,
            "other_rules": self.other_rules, "rejected": self.rejected,
            "skipped_rules": self.skipped_rules, "errors": self.errors,
        }


def _micro(metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tp = sum(m["tp"] for m in metrics.values())
    fp = sum(m["fp"] for m in metrics.values())
    fn = sum(m["fn"] for m in metrics.values())
    return {"tp": tp, "fp": fp, "fn": fn,
            "precision": round(_ratio(tp, tp + fp), 4), "recall": round(_ratio(tp, tp + fn), 4)}


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _miss_line(kind: str, item: dict[str, Any]) -> str:
    line = f"{kind} {item['file']}:{item['row']} {item['rule']} [{item.get('role', '?')}] {_clip(item.get('text', ''))}"
    if item.get("match"):
        line += f"  (match {item['match']!r})"
    if kind == "FP" and item.get("reason"):
        line += f"  — {_clip(item['reason'], 80)}"
    if kind == "FN" and item.get("also_flagged"):
        line += f"  (tool flagged this row as {', '.join(item['also_flagged'])})"
    return line


#: Files in this sub-folder of the eval set are labelled for the six original rules only: the
#: three rules STANDARDS.md added on 2026-12-03 are not scored on them.
SIX_RULE_DIR = "six-rules"


def eval_files() -> list[Path]:
    """The eval set: every ``tests/eval/*.csv`` and ``tests/eval/six-rules/*.csv``, sorted."""
    return sorted(EVAL_DIR.glob("*.csv")) + sorted((EVAL_DIR / SIX_RULE_DIR).glob("*.csv"))


def labelled_rules(path: Path) -> tuple[str, ...]:
    """The rule ids a file's labels cover; findings of other rules are not scored on it."""
    return RULES[:6] if Path(path).parent.name == SIX_RULE_DIR else RULES


def run_evaluation(paths: Sequence[Path] | None = None, *, command: Sequence[str] = DEFAULT_COMMAND,
                   keep_dir: Path | None = None, working_hours: str | None = None) -> Evaluation:
    """Run the tool on each file and compare. A file the tool fails on is reported in
    ``errors`` and its labels count as false negatives. ``working_hours`` (09:00-23:00) is the
    shop's, given to the tool through a qa.toml in its working folder."""
    paths = [Path(p) for p in (paths or eval_files())]
    expected: set[tuple[str, int, str]] = set()
    predicted: set[tuple[str, int, str]] = set()
    details: dict[tuple[str, int, str], dict] = {}
    by_row: dict[tuple[str, int], Message] = {}
    evaluation = Evaluation(files=[p.name for p in paths], metrics={})
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise LabelError("eval files must have distinct names")
    with tempfile.TemporaryDirectory(prefix="qa-accuracy-") as tmp:
        work_dir = Path(keep_dir) if keep_dir else Path(tmp)
        work_dir.mkdir(parents=True, exist_ok=True)
        if working_hours:
            (work_dir / "qa.toml").write_text(f'working_hours = "{working_hours}"\n', encoding="utf-8")
        for path in paths:
            messages = read_messages(path)
            by_row.update({(m.file, m.row): m for m in messages})
            expected |= {(m.file, m.row, rule) for m in messages for rule in m.labels}
            try:
                result = run_tool(path, work_dir, command)
            except ToolError as exc:
                evaluation.errors.append(str(exc))
                continue
            keys, found = predicted_from_result(result, path, by_sheet=len({m.file for m in messages}) > 1)
            scored = labelled_rules(path)
            keys = {key for key in keys if key[2] in scored}
            predicted |= keys
            details.update(found)
            for item in result.get("rejected") or []:
                if _same_file(item.get("file"), path):
                    evaluation.rejected.append({"file": path.name, "row": item.get("row"), "reason": item.get("reason")})
            for item in (result.get("summary") or {}).get("skipped_rules") or []:
                evaluation.skipped_rules.append({"file": path.name, **item})
    evaluation.metrics = compare(expected, predicted)
    for key in sorted(predicted):
        if key[2] not in RULES:
            evaluation.other_rules[key[2]] = evaluation.other_rules.get(key[2], 0) + 1

    def describe(key: tuple[str, int, str]) -> dict[str, Any]:
        message = by_row.get((key[0], key[1]))
        finding = details.get(key, {})
        item = {"file": key[0], "row": key[1], "rule": key[2],
                "session": message.session if message else finding.get("session_id", ""),
                "role": message.role if message else "?",
                "text": message.text if message else f"(no such row) {finding.get('text', '')}"}
        if finding:
            item["match"] = finding.get("match") or ""
            item["reason"] = finding.get("reason") or ""
        return item

    for rule in RULES:
        m = evaluation.metrics[rule]
        evaluation.false_positives += [describe(k) for k in m["false_positives"]]
        for key in m["false_negatives"]:
            item = describe(key)
            item["also_flagged"] = sorted(r for (f, row, r) in predicted if (f, row) == key[:2] and r != rule)
            evaluation.false_negatives.append(item)
    return evaluation


def evaluate(paths: Sequence[Path] | None = None, *,
             command: Sequence[str] = DEFAULT_COMMAND) -> dict[str, dict[str, Any]]:
    """Per-rule metrics (``tp fp fn support predicted precision recall f1 false_positives
    false_negatives``) of the tool on ``paths`` (default: the whole eval set).

    Raises :class:`ToolError` when the tool fails on a file, :class:`LabelError` when an eval
    file is malformed.
    """
    evaluation = run_evaluation(paths, command=command)
    if evaluation.errors:
        raise ToolError("\n".join(evaluation.errors))
    return evaluation.metrics


# ---------------------------------------------------------------------------------------------
# Command line


def format_table(evaluation: Evaluation, min_precision: float | None = None,
                 min_recall: float | None = None) -> str:
    """The metrics table plus the FP/FN listing, as printed by the command line."""
    lines = [f"{'rule':<21}{'labels':>7}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}{'F1':>7}"]
    lines.append("-" * len(lines[0]))
    for rule, m in evaluation.metrics.items():
        flag = ""
        if (min_precision is not None and m["precision"] < min_precision) or (
                min_recall is not None and m["recall"] < min_recall):
            flag = "  BELOW TARGET"
        lines.append(f"{rule:<21}{m['support']:>7}{m['tp']:>5}{m['fp']:>5}{m['fn']:>5}"
                     f"{m['precision']:>11.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}{flag}")
    micro = _micro(evaluation.metrics)
    lines.append("-" * len(lines[0]))
    lines.append(f"{'all (micro)':<21}{micro['tp'] + micro['fn']:>7}{micro['tp']:>5}{micro['fp']:>5}{micro['fn']:>5}"
                 f"{micro['precision']:>11.3f}{micro['recall']:>8.3f}")
    if evaluation.other_rules:
        lines.append("other rules (not evaluated): "
                     + ", ".join(f"{r} {n}" for r, n in sorted(evaluation.other_rules.items())))
    for item in evaluation.skipped_rules:
        lines.append(f"skipped by the tool in {item['file']}: {item.get('rule')} ({item.get('reason')})")
    for item in evaluation.rejected:
        lines.append(f"rejected by the tool: {item['file']}:{item['row']} ({item['reason']})")
    for error in evaluation.errors:
        lines.append(f"ERROR {error}")
    misses = evaluation.misses()
    if misses:
        lines.append("")
        lines.append(f"misses ({len(evaluation.false_positives)} FP, {len(evaluation.false_negatives)} FN):")
        lines.extend("  " + line for line in misses)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path, help="eval files (default: tests/eval/*.csv and tests/eval/six-rules/*.csv)")
    parser.add_argument("--min-precision", type=float, help="exit 1 if a rule's precision is below this")
    parser.add_argument("--min-recall", type=float, help="exit 1 if a rule's recall is below this")
    parser.add_argument("--json", dest="json_path", type=Path, help="write the metrics as JSON here")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the tool's JSON/xlsx outputs in DIR")
    parser.add_argument("--check-labels", action="store_true", help="only validate the labels, do not run the tool")
    parser.add_argument("--qa-command", metavar="CMD",
                        help="how to start the tool, e.g. 'qa' for an installed one (default: this python -m qa)")
    parser.add_argument("--working-hours", metavar="HH:MM-HH:MM",
                        help="the shop's working hours, when the set's are not the tool's default 09:00-23:00")
    args = parser.parse_args(argv)
    if args.working_hours:
        global WORKING_HOURS
        opens, closes = (int(part.split(":")[0]) for part in args.working_hours.split("-"))
        WORKING_HOURS = (opens, closes)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="replace")

    # a folder stands for its CSV files (a six-rules folder inside it too)
    paths = [f for p in args.paths for f in (sorted(p.glob("*.csv")) + sorted((p / SIX_RULE_DIR).glob("*.csv"))
                                             if p.is_dir() else [p])] or eval_files()
    if not paths:
        print(f"no eval files in {EVAL_DIR}", file=sys.stderr)
        return 2
    problems = check_labels(paths)
    warnings = [problem for problem in problems if problem.startswith(WARNING)]
    problems = [problem for problem in problems if not problem.startswith(WARNING)]
    if warnings:
        print("label warnings:\n  " + "\n  ".join(warnings), file=sys.stderr)
    if problems:
        print("label problems:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    if args.check_labels:
        counts = {rule: 0 for rule in RULES}
        for path in paths:
            for _, _, rule in read_labels(path):
                counts[rule] += 1
        print("labels OK: " + ", ".join(f"{r} {n}" for r, n in counts.items()))
        return 0

    command = shlex.split(args.qa_command) if args.qa_command else DEFAULT_COMMAND
    evaluation = run_evaluation(paths, command=command, keep_dir=args.keep, working_hours=args.working_hours)
    print(format_table(evaluation, args.min_precision, args.min_recall))
    if args.json_path:
        targets = {"min_precision": args.min_precision, "min_recall": args.min_recall}
        args.json_path.write_text(json.dumps(evaluation.to_json(targets), ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
    if evaluation.errors:
        return 2
    below = evaluation.below(args.min_precision, args.min_recall)
    if below:
        print("\nbelow target:\n  " + "\n  ".join(below))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
