"""Chinese wording of the reader's notes and rejection reasons, for the Chinese workbook.

The reader writes its notes and reasons in English (the terminal, the JSON and the tests use
them); a supervisor reading the 概览 and 未审核行 sheets in Chinese gets them through
:func:`to_zh`. A text no pattern knows is left as it is, so a new note is never lost, only
untranslated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# (English pattern, Chinese template); the first that matches the whole text wins.
_PATTERNS: list[tuple[str, str]] = [
    (r"empty session id", "会话编号为空"),
    (r"empty text", "消息内容为空"),
    (r"empty time", "时间为空"),
    (r"empty sender", "发送人为空"),
    (r"empty (?P<what>.+)", "{what}为空"),
    (r"unparseable time '(?P<v>.*)'", "无法识别的时间「{v}」"),
    (r"unknown role '(?P<v>.*)'", "无法识别的角色「{v}」"),
    (r"unknown (?P<what>.+) value '(?P<v>.*)'", "无法识别的{what}取值「{v}」"),
    (r"unknown (?P<what>.+) '(?P<v>.*)'", "无法识别的{what}「{v}」"),
    (r"expected (?P<a>\d+) fields, found (?P<b>\d+)", "应有 {a} 列，实际 {b} 列"),
    (r"contains a NUL character \(binary data in a text row\)", "含有 NUL 字符（文本行中混入二进制数据）"),
    (r"unclosed quote: .*", "引号未闭合：本行开始的引号到文件末尾都没有结束（其后各行已按无引号读取）"),
    (r"stray quote: .*", "多余的引号：本行开始的引号内容延续到了后面的行（已按无引号读取）"),
    (r"the further lines of the message above, joined to it", "上一条消息的后续几行，已并入该消息"),
    (r"(?P<f>.+): (?P<n>\d+) row\(s\) holding only text \(a message's further lines, pasted as rows of their own\) "
     r"joined to the message above", "{f}：{n} 行只有消息内容（多行消息粘贴时拆成的后续行），已并入上一条消息"),
    (r"read (?P<f>.+) as GB18030 \(GBK\)", "{f} 按 GB18030（GBK）编码读取"),
    (r"read sheet '(?P<s>.+)' of (?P<f>.+)", "读取了 {f} 的工作表「{s}」"),
    (r"read (?P<f>.+) as (?P<e>[\w-]+)", "{f} 按 {e} 编码读取"),
    (r"(?P<f>.+): (?P<n>\d+) blank row\(s\) skipped", "{f}：跳过 {n} 个空行"),
    (r"(?P<f>.+): (?P<n>\d+) repeated header row\(s\) skipped.*", "{f}：跳过 {n} 个重复的表头行（多个导出文件拼接而成？）"),
    (r"(?P<f>.+): (?P<n>\d+) non-numeric seq value\(s\) ignored", "{f}：忽略 {n} 个非数字的序号"),
    (r"no timestamp column in (?P<f>.+): time-based rules skipped", "{f} 没有时间列：跳过依赖时间的规则"),
    (r"time column '(?P<c>.+)' in (?P<f>.+) is empty: time-based rules skipped",
     "{f} 的时间列「{c}」为空：跳过依赖时间的规则"),
    (r"no role column in (?P<f>.+): roles taken from '(?P<c>.+)' \(1 = agent\)",
     "{f} 没有角色列：角色取自「{c}」（1/是 = 客服）"),
    (r"no role column in (?P<f>.+): roles inferred from nicknames in '(?P<c>.+)' \((?P<r>.+) = agent\)",
     "{f} 没有角色列：按「{c}」中的昵称推断角色（{r} 为客服）"),
    (r"no role column in (?P<f>.+): a sender \('(?P<c>.+)'\) equal to the row's '(?P<b>.+)' is the customer, .*",
     "{f} 没有角色列：「{c}」等于本行「{b}」的是顾客，系统/机器人是系统消息，其他发送人是客服"),
    (r"(?P<f>.+): an agent named with and without the shop's name is one agent \((?P<l>.+)\)",
     "{f}：带店铺名与不带店铺名的同一客服合为一人（{l}）"),
    (r"the header in other words \(.*\), not a message", "表头的另一种写法（如中文表头下的英文表头行），不是消息"),
    (r"no agent column in (?P<f>.+): each sheet's name taken as its agent \(one sheet per agent\)",
     "{f} 没有客服列：每个工作表的名称即其客服（一个客服一个工作表）"),
    (r"no agent column in (?P<f>.+): agent taken from '(?P<c>.+)'", "{f} 没有客服列：客服取自「{c}」"),
    (r"no agent column in (?P<f>.+): agent set to (?P<u>.+)", "{f} 没有客服列：客服记为 {u}"),
    (r"header found on row (?P<r>\d+) of (?P<f>.+?)(?: \(sheet (?P<s>.+)\))?; rows? (?P<skip>.+) skipped",
     "{f}{sheet_zh} 的表头在第 {r} 行；跳过第 {skip} 行"),
    (r"(?P<f>.+) holds delimited text, not the spreadsheet its name says: read as text",
     "{f} 的内容是分隔符文本（不是文件名所示的 Excel 工作簿）：按文本读取"),
    (r"(?P<f>.+): '(?P<d>.+)' is written on the first row of each day only: the rows below take it",
     "{f}：「{d}」只写在每天的第一行，其下各行沿用上面的日期"),
    (r"(?P<f>.+): timestamp from '(?P<d>.+)' \+ '(?P<t>.+)'", "{f}：时间由「{d}」+「{t}」合成"),
    (r"(?P<f>.+): columns read as (?P<m>.+)", "{f}：列的对应关系 {m}"),
    (r"skipped (?P<f>.+?): not read \((?P<why>.+)\)", "跳过 {f}：未能读取（{why}）"),
    (r"skipped (?P<f>.+?): (?P<why>.+)", "跳过 {f}：{why_zh}"),
    (r"warning: (?P<rest>.+)", "警告：{rest_zh}"),
]
_COMPILED = [(re.compile(pattern + r"\Z", re.DOTALL), template) for pattern, template in _PATTERNS]

_WHY = {
    "not a chat export (unsupported file type)": "不是聊天记录导出文件（不支持的文件类型）",
    "this is a qa report; audit the original export": "这是 qa 生成的报告，请审核原始导出文件",
}


def to_zh(text: str) -> str:
    """``text`` (a note or a rejection reason) in Chinese when its pattern is known."""
    for pattern, template in _COMPILED:
        found = pattern.match(text)
        if not found:
            continue
        values = {k: (v or "") for k, v in found.groupdict().items()}
        sheet = values.get("s")
        values["sheet_zh"] = f"（工作表「{sheet}」）" if sheet else ""
        if "why" in values:
            values["why_zh"] = _WHY.get(values["why"], to_zh(values["why"]))
        if "rest" in values:
            values["rest_zh"] = to_zh(values["rest"])
        return template.format(**values)
    return text


def all_to_zh(texts: Iterable[str]) -> list[str]:
    """:func:`to_zh` of each text."""
    return [to_zh(t) for t in texts]
