"""Masking personal data in everything the tool writes (``--no-mask`` turns it off).

This is the one module every output channel masks through: the workbook (every sheet and
the hidden ``qa_data``), the JSON result, the findings CSV and Parquet, the terminal
(summary and ``--fail-on`` lines) and the history database.

What is masked (the README lists the same):

==============  ===========================================  ===============================
kind            shapes recognised                            written as
==============  ===========================================  ===============================
mobile          ``1[3-9]`` + 9 digits; ``138-0013-8000``,      first 3 + ``****`` + last 4:
                ``138 0013 8000``, ``138.0013.8000``,          ``138****8000``,
                ``138_0013_8000``, ``138—0013—8000``,          ``+86 138 **** 8000``
                ``1380 013 8000``, ``1380013 8000``,
                ``1 3 8 0 0 1 3 8 0 0 0``; ``+86``/``0086``/
                ``86`` before it, with or without a space
landline        area code ``0xx``/``0xxx`` with ``-`` or a     area code and last 4 kept:
                space, or in brackets: ``021-12345678``,       ``021-****5678``,
                ``(0755)87654321``, ``0755-8765432``           ``(0755)****4321``
ID card         18 characters (6-digit region, birth date      all but the last 4:
                19xx/20xx, 3 digits, check digit or X), also   ``**************123X``
                as ``110101 19900307 123X``; 15 digits (region,
                YYMMDD, 3 digits)
e-mail          ``local@domain.tld``, also with a full-width   first character of the local
                ``＠`` ``。`` ``．`` and internationalized       part + ``*``; domain kept:
                domains (``张三@例子.中国``)                   ``z*******@example.com``
bank card       16-19 digits, together, in fours or four and   all but the last 4:
                the rest: a card, account or bank named in     ``**** **** **** 7890``
                the 16 characters before (``卡号``, ``账户``,
                ``开户行``, ``工行``…; then also 12-15 digits)
                and no order number named right before; in
                fours after 卡里/到卡…; or a valid card number
                (Luhn, network) in fours or after 卡里/到卡…
address         house, building, unit and room numbers in      the numerals: ``*号楼***室``,
                digits or Chinese numerals (``3号楼501室``,     ``文三路**号``
                ``5栋 2单元 302``, ``3#楼502``, ``B座1203``,
                ``望京西园3-12-502``, ``门牌号：1502``) and a
                road's, lane's or village's number
                (``文三路90号``, ``长乐路1234弄``, ``村3组15号``)
==============  ===========================================  ===============================

Full-width digits and letters count as their ASCII forms. A run of digits is masked only
when it has one of these shapes and is not part of a longer run of digits, so order numbers
(``2026112014030012345``, any run of 16, 17 or 19+ digits, 18 digits without a 19xx/20xx
birth date), amounts, dates and times (``2026-11-20 14:03``) and ``315``/``12315`` stay
readable. ID numbers must start with a real province code (11-15, 21-23, 31-37, 41-46,
50-54, 61-65, 71, 81-83, 91): a 15-digit number that starts with one and has a valid month and
day in positions 9-12 is taken for an old ID number. A landline needs its separator or
brackets (``02112345678`` is not masked: too like an order number). A Chinese local part of
an e-mail runs back to the previous space, punctuation or ASCII character.

Masking keeps the length of every string, so a finding's span (computed on the original
text) still points at the same characters of the masked text. It is applied when outputs
are written, never before the rules run. A rule that matched inside a masked span (``tmd``
in ``xtmdy@163.com``) is reported on the masked text: its ``match`` is the masked text at
its span (``***``) and the reason quotes it so (:func:`mask_findings`). Dropping such matches
would make the findings, scores and ids depend on ``--mask``; showing them masked keeps one
result and leaks nothing.

Session ids and agent names are masked as text too; when two different ids mask to the same
text (``13800138000`` and ``13811118000`` both give ``138****8000``), the second and later
(in sorted order of the originals) get ``~2``, ``~3``, so sessions and agents stay distinct
in every table, the history and ``qa review`` (:class:`ResultMasker`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas only where a table is masked: a one-line error masked on stderr needs none
    import pandas as pd

# Full-width ASCII (digits, letters, ＋ ＠ － ． （ ）...) is matched as ASCII; the text is
# translated for matching only (one character for one, so positions agree) and masked in the
# original. The ideographic full stop and small commercial at stand for "." and "@" in
# e-mail addresses typed with a Chinese input method.
_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_ASCII.update({ord("。"): ".", ord("﹫"): "@", ord("　"): " ", 0xA0: " "})
_WIDE = re.compile("[\uff01-\uff5e。﹫　\u00a0]")

_PROVINCE = r"(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[1-3]|91)"
_MONTH_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_NUMBERS = (
    # ID card, 18 characters: region (6 digits), birth date 19xx/20xx-MM-DD, sequence (3),
    # check digit or X; the three groups may be separated by one space or hyphen.
    rf"(?P<id18>(?<![0-9]){_PROVINCE}[0-9]{{4}}(?P<isep>[- ]?)(?:19|20)[0-9]{{2}}{_MONTH_DAY}(?P=isep)"
    r"[0-9]{3}[0-9Xx](?![0-9Xx]))"
    # ID card, 15 digits (issued before 1999): region, YYMMDD, sequence.
    rf"|(?P<id15>(?<![0-9]){_PROVINCE}[0-9]{{4}}[0-9]{{2}}{_MONTH_DAY}[0-9]{{3}}(?![0-9]))"
    # Mobile: optional +86 / 0086 / 86, then 1[3-9]x xxxx xxxx (3-4-4 or 4-3-4 with one
    # kind of separator, or none).
    # (separators: - . space _ and the dashes typed by a Chinese input method; also 7-4 with one
    # separator, 1381234 5678, and every digit spaced, 1 3 8 1 2 3 4 5 6 7 8)
    r"|(?P<mobile>(?<![0-9])(?:(?:\+|00)86[- ]?|86[- ]?)?"
    r"(?P<mnum>1[3-9][0-9](?:[0-9]{8}|(?P<msep>[-. _\u2010-\u2015\u2212])[0-9]{4}(?P=msep)[0-9]{4}"
    r"|[0-9](?P<msep2>[-. _\u2010-\u2015\u2212])[0-9]{3}(?P=msep2)[0-9]{4}"
    r"|[0-9]{4}[-. _\u2010-\u2015\u2212][0-9]{4})"
    r"|1(?P<msep3>[ _-])[3-9](?:(?P=msep3)[0-9]){9})(?![0-9]))"
    # Landline: area code 0xx / 0xxx with a separator or in brackets, 7-8 digit number.
    r"|(?P<landline>(?<![0-9])(?:\(0[1-9][0-9]{1,2}\)[- ]?|0[1-9][0-9]{1,2}[- ])(?P<lnum>[1-9][0-9]{6,7})(?![0-9]))"
    # Bank card or account: 16-19 digits run together, or 12-19 in groups of four (6222 0212 3456 7890
    # 123, a company account 1219 0876 5432 108); which of them are cards is decided by _is_card (a run
    # of 16-19 digits is most often an order number).
    r"|(?P<card>(?<![0-9])(?:[0-9]{4}(?P<csep>[- ])[0-9]{4}(?P=csep)[0-9]{4}"
    r"(?:(?P=csep)[0-9]{1,4}(?:(?P=csep)?[0-9]{1,3})?)?"
    # (a first group of four, then the rest run together: 6222 021234567890128; American Express 4-6-5)
    r"|[0-9]{4}(?P<csep2>[- ])(?:[0-9]{12,15}|[0-9]{6}(?P=csep2)[0-9]{5})|[0-9]{16,19})(?![0-9]))"
)
# Every number shape starts with a digit, "+" or "(": the look-ahead skips the other
# positions at once instead of trying each alternative there.
_NUMBERS = rf"(?=[0-9+(])(?:{_NUMBERS})"
# Address details: house, building, unit and room numbers, in digits or Chinese numerals (3号楼501室, 5栋 2单元
# 302, 三号楼五零一室, 3#楼502, B座1203, 15楼1502, 望京西园3-12-502, 文三路90号, 长乐路1234弄, 张家村3组15号,
# 18号院, 门牌号：1502, 忠孝東路四段100號5樓). Province, city, district, street and estate names stay: without the
# numbers they point at no one, and trainers read them. Not: a course's 第3单元, a flat's layout (2室1厅, 两室一卫),
# a date (12月3号楼下), a bus (5路3号车).
_N = "[0-9零〇一二三四五六七八九十百两]"
_HOUSE = "(?:号|號)"
_BUILDING = rf"(?:{_HOUSE}(?:楼|樓)|栋|棟|幢|座|#(?:楼|樓)?)"
_ROOM = rf"(?:\s?{_N}{{1,2}}(?:单元|單元)|\s?{_N}{{1,3}}(?:层|層|楼|樓)|\s?[0-9]{{1,2}}-[0-9]{{3,4}}|\s?{_N}{{2,5}}\s?(?:室|{_HOUSE}|户|戶)?)"
_ADDRESS = (
    rf"(?=[0-9零〇一二三四五六七八九十百两A-Za-z门])(?P<address>(?<![0-9第月年日])(?:{_N}{{1,4}}{_BUILDING}{_ROOM}*"
    rf"|{_N}{{1,2}}(?:单元|單元){_ROOM}+"
    rf"|{_N}{{3,5}}\s?室(?!\s?{_N}\s?[厅廳卫衛])"
    rf"|[A-Za-z]座{_N}{{3,5}}"
    rf"|{_N}{{1,3}}(?:楼|樓){_N}{{3,5}}"
    # a road's, lane's or village's number (路 after a bus line's number is no road)
    rf"|(?<![0-9]路)(?:(?<=[路街巷弄村组段])|(?<=大道)){_N}{{1,5}}(?={_HOUSE}(?![车線线口门站])|弄|组)"
    rf"|(?<=胡同){_N}{{1,5}}(?={_HOUSE})|{_N}{{1,4}}(?={_HOUSE}院)"
    rf"|(?<=[\u4e00-\u9fff])[0-9]{{1,3}}-[0-9]{{1,3}}-[0-9]{{2,4}}(?![0-9-])"
    rf"|门牌(?:号|號)?[:：\s]*{_N}{{1,5}}))"
)
_NUMERALS = frozenset("0123456789０１２３４５６７８９零〇一二三四五六七八九十百两")
_PATTERN = re.compile(
    _NUMBERS + "|" + _ADDRESS +
    # E-mail: only the local part is matched (the domain is a look-ahead: it stays visible and
    # is not consumed, so "a@x.cn、b@y.cn" masks both). ASCII local part, or a Chinese one.
    rf"|(?P<email>(?:[A-Za-z0-9_%+-][A-Za-z0-9._%+-]*|[{_CJK}]+)"
    r"(?=@(?:(?:[^\W_]|-)+\.)+[^\W\d_]{2,}))"
)
# The same without the e-mail shape (which cannot match without an "@"), for the texts that
# have none: the e-mail local part is tried at every position of a run of letters or Chinese
# characters, which makes it the costliest alternative. The empty group keeps the names.
_NUMBERS_ONLY = re.compile(_NUMBERS + "|" + _ADDRESS + r"|(?P<email>(?!))")
_WIDE_ASCII = {chr(code): chr(ascii_code) if isinstance(ascii_code, int) else ascii_code
               for code, ascii_code in _ASCII.items()}
# Cheap test for "might contain something to mask": four digits in a row, an @, or an address number.
_CANDIDATE = (r"[0-9０-９]{4}|[@＠﹫]|[0-9０-９零〇一二三四五六七八九十百两](?:号楼|號樓|栋|棟|幢|座|单元|單元|室|#|弄|组|号院)"
              r"|[路街巷弄村组段座][0-9０-９零〇一二三四五六七八九十百两]|大道[0-9０-９]|[楼樓][0-9０-９]{3}"
              r"|[\u4e00-\u9fff][0-9０-９]{1,3}[-－][0-9０-９]|门牌")
# The same in RE2's syntax, for pyarrow's regular expressions over whole columns (``\\x{4e00}`` for ``\\u4e00``).
_CANDIDATE_RE2 = re.sub(r"\\u([0-9a-fA-F]{4})", r"\\x{\1}", _CANDIDATE)
# A bank card, account or bank named in the 16 characters before the number (卡号：6222…, 开户行工商银行 6222…)…
_CARD_NAMED = re.compile(r"(?:卡号|银行卡|信用卡|储蓄卡|借记卡|账号|帐号|账户|帐户|户名|开户行|银行|工行|农行|建行|中行|招行|交行|邮储|收款)")
# …unless an order or waybill is named right before it (物流卡住了，订单号2345…)
_ORDER_NAMED = re.compile(r"(?:订单|单号|运单|快递单|物流单)(?:号|编号)?[:：\s是为]{0,3}$")
# …or the number is a card's (a Luhn check digit and a card network's first digits: UnionPay 62, Visa 4,
# Mastercard 51-55/22-27, American Express 34/37, JCB 35, Discover 6011/65) and is written in groups of
# four or follows a mention of a card (退到我银行卡里 6222…).
_CARD_NETWORK = re.compile(r"62|4|5[1-5]|2[2-7]|3[457]|6011|65")
_CARD_NEAR = re.compile("工资卡|卡里|卡上|到卡|这张卡|张卡")


def _digit_positions(value: str) -> list[int]:
    return [i for i, char in enumerate(value) if char.isalnum()]


def _starred(value: str, positions: Iterable[int]) -> str:
    chars = list(value)
    for position in positions:
        chars[position] = "*"
    return "".join(chars)


def _masked_match(match: re.Match, text: str) -> tuple[int, int, str]:
    """(start, end, masked text) for one match of :data:`_PATTERN` in ``text``."""
    if match.group("mobile") is not None:
        start, end = match.span("mnum")
        value = text[start:end]
        return start, end, _starred(value, _digit_positions(value)[3:7])
    if match.group("landline") is not None:
        start, end = match.span("lnum")
        value = text[start:end]
        return start, end, "*" * (len(value) - 4) + value[-4:]
    start, end = match.span()
    value = text[start:end]
    if match.group("card") is not None:
        if not _is_card(match, text):
            return start, end, value
        return start, end, _starred(value, _digit_positions(value)[:-4])
    if match.group("address") is not None:
        return start, end, _starred(value, [i for i, char in enumerate(value) if char in _NUMERALS])
    if match.group("email") is not None:
        return start, end, value[0] + "*" * (len(value) - 1)
    return start, end, _starred(value, _digit_positions(value)[:-4])  # ID cards


def _luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_card(match: re.Match, text: str) -> bool:
    """Whether a run of digits (:data:`_PATTERN`'s ``card``) is a bank card or account number: a
    card, account or bank named in the 16 characters before it (12-19 digits), unless an order or
    waybill is named right before it; 16-19 digits in groups near a card word (卡里, 到卡: even
    mistyped); or a valid card number (Luhn, network) in groups or near a card word. An order
    number (run together, no card named) stays visible."""
    start = match.start()
    before = text[max(0, start - 16):start]
    if _ORDER_NAMED.search(before):
        return False
    if _CARD_NAMED.search(before):
        return True
    digits = "".join(char for char in match.group() if char.isdigit())
    if len(digits) < 16:  # an account number in groups, named as one (账号：1219 0876 5432 108) or not at all
        return False
    grouped = match.group("csep") is not None or match.group("csep2") is not None
    near = bool(_CARD_NEAR.search(before))
    if grouped and near:
        return True
    return (grouped or near) and bool(_CARD_NETWORK.match(digits)) and _luhn(digits)


def _ascii_of(match: re.Match) -> str:
    return _WIDE_ASCII[match.group()]


def personal_spans(text: str) -> list[tuple[int, int, str]]:
    """Where ``text`` holds personal data: ``(start, end, masked)`` for each piece that
    masking changes, in order (``text[start:end]`` is written as ``masked``, same length)."""
    if not text:
        return []
    # Replacing the few wide characters is much faster than str.translate over the whole text.
    matched = _WIDE.sub(_ascii_of, text) if _WIDE.search(text) else text
    pattern = _PATTERN if "@" in matched else _NUMBERS_ONLY
    spans = []
    for match in pattern.finditer(matched):
        start, end, masked = _masked_match(match, text)
        if masked != text[start:end]:
            spans.append((start, end, masked))
    return spans


def mask_text(text: str) -> str:
    """Mask one string (the result has the same length as the input)."""
    spans = personal_spans(text)
    if not spans:
        return text
    pieces = []
    last = 0
    for start, end, masked in spans:
        pieces.append(text[last:start])
        pieces.append(masked)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def may_hold_personal_data(text: pd.Series):
    """Per string of ``text`` (a column of str): might it hold something to mask (four digits in a
    row, an @, an address number)? A boolean numpy array, found by RE2 over the column (a tenth
    of the time of pandas' per-string ``str.contains``: ~0.5 s on the findings of a 1M-message log)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.match_substring_regex(pa.Array.from_pandas(text, type=pa.large_string()), _CANDIDATE_RE2)
    return np.asarray(pc.fill_null(found, False), dtype=bool)


def mask_series(values: pd.Series, memo: dict[str, str] | None = None) -> pd.Series:
    """Mask a column of strings; missing values become "". Only rows that might hold a
    number or an address go through the regular expression, each distinct text once (``memo``,
    when given, keeps the masked texts for later calls: the channels of one result share it)."""
    text = values.fillna("").astype("str")
    if text.empty:
        return text
    candidates = may_hold_personal_data(text)
    if not candidates.any():
        return text
    masked = text.copy()
    done: dict[str, str] = {} if memo is None else memo  # repeated texts (canned replies, quoted lines) masked once
    out = []
    for value in text[candidates].tolist():
        result = done.get(value)
        if result is None:
            result = done[value] = mask_text(value)
        out.append(result)
    masked[candidates] = out
    return masked


def maybe_mask(values: pd.Series, mask: bool, memo: dict[str, str] | None = None) -> pd.Series:
    """``mask_series(values)`` when ``mask`` is true, else the strings unchanged ("" for missing)."""
    return mask_series(values, memo) if mask else values.fillna("").astype("str")


# --------------------------------------------------------------------------- findings

_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _secrets(text: str) -> list[tuple[str, str]]:
    """(original, masked) for each piece of personal data in ``text``, plus the piece as the
    rules' normalized text writes it (NFKC, lower case), which some reasons quote."""
    pairs = []
    for start, end, masked in personal_spans(text):
        original = text[start:end]
        pairs.append((original, masked))
        folded = [unicodedata.normalize("NFKC", char).lower() for char in original]
        if all(len(char) == 1 for char in folded) and "".join(folded) != original:
            pairs.append(("".join(folded), "".join(m if m == "*" else f for m, f in zip(masked, folded))))
    return pairs


def _hide_fragments(value: str, secrets: list[tuple[str, str]], visible: tuple[str, ...] = (),
                    whole: bool = False) -> str:
    """``value`` with every stretch it shares with a piece of personal data masked, when the
    stretch covers a hidden character, is long enough to be a quote of it (4 characters, 3
    for a stretch that is a whole ASCII word, any length when ``whole`` and it is all of
    ``value``) and is not shown anyway in one of the ``visible`` (masked) texts: reasons quote
    messages cut short ("1380013…") or a match inside an e-mail ("tmd" of "xtmdy@163.com"),
    while a "tmd" the message also has outside the address reveals nothing."""
    if not secrets or not value:
        return value
    n = len(value)
    stretches = []  # (length, start in value, start in original, original, masked)
    for original, masked in secrets:
        m = len(original)
        for i in range(n):
            for j in range(m):
                if value[i] != original[j] or (i and j and value[i - 1] == original[j - 1]):
                    continue  # not the start of a maximal common stretch
                k = 0
                while i + k < n and j + k < m and value[i + k] == original[j + k]:
                    k += 1
                if all(masked[j + t] == original[j + t] for t in range(k)):
                    continue  # covers no hidden character
                bounded = (i == 0 or value[i - 1] not in _ASCII_WORD) and (i + k == n or value[i + k] not in _ASCII_WORD)
                if not (k >= 4 or (k >= 3 and bounded) or (whole and k == n)):
                    continue
                if not any(value[i : i + k] in shown for shown in visible):
                    stretches.append((k, i, j, original, masked))
    # The longest alignment of each stretch wins ("1380013" is the phone's start, not its
    # "1380" at the end); shorter ones overlapping it are coincidences.
    out = list(value)
    used = [False] * n
    for k, i, j, original, masked in sorted(stretches, key=lambda s: (-s[0], s[1], s[2])):
        if any(used[i : i + k]):
            continue
        used[i : i + k] = [True] * k
        for t in range(k):
            if masked[j + t] != original[j + t]:
                out[i + t] = masked[j + t]
    return "".join(out)


def mask_finding(text: str, match: str, span_start: int, span_end: int, reason: str,
                 context: str = "") -> tuple[str, str, str, str]:
    """One finding's ``(text, match, reason, context)`` masked together: the match is the
    masked text at its span, and the reason hides whatever it quotes of a masked piece of the
    message or its context (also cut short, or normalized), besides its own personal data."""
    text, match, reason, context = text or "", match or "", reason or "", context or ""
    secrets = _secrets(text) + _secrets(context)
    masked_text, masked_context = mask_text(text), mask_text(context)
    visible = (masked_text, masked_context)
    if 0 <= span_start < span_end <= len(text) and text[span_start:span_end] == match:
        masked_match = masked_text[span_start:span_end]
    else:  # a match the checks took from the normalized text
        masked_match = _hide_fragments(mask_text(match), secrets, visible, whole=True)
    masked_reason = mask_text(reason)
    if masked_match != match and match:
        masked_reason = masked_reason.replace(match, masked_match)
    masked_reason = _hide_fragments(masked_reason, secrets, visible)
    return masked_text, masked_match, masked_reason, masked_context


def mask_findings(findings: pd.DataFrame, mask: bool = True, names: ResultMasker | None = None) -> pd.DataFrame:
    """Findings (report columns) ready to write: with ``mask``, ``text``, ``context_text``,
    ``match`` and ``reason`` masked by :func:`mask_finding` (``file`` and ``sheet`` as text), and ``session_id`` and ``agent``
    masked (through ``names`` when given, so they agree with the other tables). Without
    ``mask``, the frame unchanged."""
    if not mask or not len(findings):
        return findings
    memo = names.memo if names is not None else None
    columns: dict[str, Any] = {}
    for name in ("text", "context_text", "reason", "match", "file", "sheet"):  # (a file named after a customer's phone)
        if name in findings:
            columns[name] = mask_series(findings[name], memo)
    if "text" in findings and "match" in findings:
        plain = findings["text"].fillna("").astype("str")
        context = findings["context_text"].fillna("").astype("str") if "context_text" in findings else None
        changed = (columns["text"] != plain).to_numpy(dtype=bool)
        if context is not None:
            changed = changed | (columns["context_text"] != context).to_numpy(dtype=bool)
        if changed.any():
            rows = findings[changed]
            match_values, reason_values = [], []
            for text, match, start, end, reason, ctx in zip(
                rows["text"].fillna("").astype("str").tolist(), rows["match"].fillna("").astype("str").tolist(),
                rows["span_start"].fillna(-1).astype("int64").tolist(), rows["span_end"].fillna(-1).astype("int64").tolist(),
                rows["reason"].fillna("").astype("str").tolist(),
                context[changed].tolist() if context is not None else [""] * len(rows),
            ):
                _, masked_match, masked_reason, _ = mask_finding(text, match, start, end, reason, ctx)
                match_values.append(masked_match)
                reason_values.append(masked_reason)
            columns["match"] = columns["match"].copy()
            columns["reason"] = columns["reason"].copy()
            columns["match"][changed] = match_values
            columns["reason"][changed] = reason_values
    if "session_id" in findings:
        columns["session_id"] = names.sessions(findings["session_id"]) if names else mask_series(findings["session_id"])
    if "agent" in findings:
        columns["agent"] = names.agents(findings["agent"]) if names else mask_series(findings["agent"])
    # The masked columns are str Series on the findings' own index: assigned as they are, not
    # as object arrays pandas would scan and convert back to str (about 0.1 s at 70k findings).
    return findings.assign(**columns)


# --------------------------------------------------------------------------- names


def distinct_masks(values: Iterable[str]) -> dict[str, str]:
    """Masked forms of names (session ids, agents) that masking changes, kept distinct: when
    several names mask to the same text, the second and later in sorted order get ``~2``,
    ``~3``... Names masking leaves alone are not in the result."""
    groups: dict[str, list[str]] = {}
    for value in set(values):
        masked = mask_text(value)
        if masked != value:
            groups.setdefault(masked, []).append(value)
    taken = set(groups)
    out: dict[str, str] = {}
    for masked, originals in groups.items():
        for number, original in enumerate(sorted(originals), start=1):
            name = masked if number == 1 else f"{masked}~{number}"
            while number > 1 and name in taken:
                name += "~"
            taken.add(name)
            out[original] = name
    return out


def shows_name(shown: str, original: str) -> bool:
    """Whether a cell ``shown`` is how some output writes the session id or agent name
    ``original``: as it is, masked, or masked with the ``~2`` of :func:`distinct_masks`."""
    if shown == original:
        return True
    masked = mask_text(original)
    if shown == masked or mask_text(shown) == masked:
        return True
    suffix = shown[len(masked):] if shown.startswith(masked) and masked != original else ""
    return bool(re.fullmatch(r"~[0-9]+~*", suffix))


def _distinct(series_list: Iterable[Any]) -> set[str]:
    import pandas as pd

    seen: set[str] = set()
    for values in series_list:
        if values is None or not len(values):
            continue
        values = pd.Series(values)
        if isinstance(values.dtype, pd.CategoricalDtype):
            # The message table of a large audit (qa.audit.compact): its distinct values, not
            # millions of strings made from the codes.
            values = pd.Series(values.cat.remove_unused_categories().cat.categories)
        text = pd.Series(pd.unique(values.dropna().astype("str")), dtype="str")
        seen.update(text[may_hold_personal_data(text)].tolist())
    return seen


class ResultMasker:
    """How one audit's outputs are masked, the same in every channel: texts by
    :func:`mask_series`, findings by :func:`mask_findings`, session ids and agent names by
    one :func:`distinct_masks` map each over all the result's tables. Disabled (``--no-mask``),
    every method returns its input as text."""

    def __init__(self, result: Any, enabled: bool = True) -> None:
        self.result = result
        self.enabled = enabled
        self._sessions: dict[str, str] | None = None
        self._agents: dict[str, str] | None = None
        # Masked forms of the free texts seen so far, and the masked findings tables and ids
        # by table: the workbook, JSON and CSV writers mask each text and table once.
        self.memo: dict[str, str] = {}
        self._tables_done: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        self.ids_done: list[tuple[pd.DataFrame, list[str]]] = []

    def _tables(self) -> list[pd.DataFrame]:
        import pandas as pd

        result = self.result
        tables = [result.sessions, result.agents, result.findings, result.ingest.messages]
        suppressed = getattr(result, "suppressed", None)
        if isinstance(suppressed, pd.DataFrame):
            tables.append(suppressed)
        credits = getattr(result, "credits", None)  # credits for good practice (qa.credits)
        if isinstance(credits, pd.DataFrame):
            tables.append(credits)
        return [table for table in tables if isinstance(table, pd.DataFrame)]

    def session_map(self) -> dict[str, str]:
        """Original session id -> masked, for the ids masking changes."""
        if self._sessions is None:
            self._sessions = distinct_masks(_distinct(t["session_id"] for t in self._tables() if "session_id" in t))
        return self._sessions

    def agent_map(self) -> dict[str, str]:
        """Original agent name -> masked, for the names masking changes."""
        if self._agents is None:
            self._agents = distinct_masks(_distinct(t["agent"] for t in self._tables() if "agent" in t))
        return self._agents

    @staticmethod
    def _mapped(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
        text = values.fillna("").astype("str")
        if not mapping or text.empty:
            return text
        return text.map(lambda value: mapping.get(value, value)).astype("str")

    def texts(self, values: pd.Series) -> pd.Series:
        """Free text (messages, reasons, raw rows)."""
        return maybe_mask(values, self.enabled, self.memo)

    def text(self, value: Any) -> str:
        """One free-text string (a terminal line, a note)."""
        value = "" if value is None else str(value)
        return mask_text(value) if self.enabled else value

    def files(self, values: pd.Series) -> pd.Series:
        """A column of file (or sheet) names: an export may be named after a customer (客户138…csv)."""
        return self.texts(values.fillna("").astype("str"))

    def sessions(self, values: pd.Series) -> pd.Series:
        """A column of session ids."""
        return self._mapped(values, self.session_map()) if self.enabled else values.fillna("").astype("str")

    def agents(self, values: pd.Series) -> pd.Series:
        """A column of agent names."""
        return self._mapped(values, self.agent_map()) if self.enabled else values.fillna("").astype("str")

    def agent_lists(self, values: pd.Series) -> list[list[str]]:
        """A column of lists of agent names (the sessions' ``agents``)."""
        mapping = self.agent_map() if self.enabled else {}
        return [[mapping.get(name, name) for name in names] for names in values.tolist()]

    def session(self, value: Any) -> str:
        """One session id."""
        value = "" if value is None else str(value)
        return self.session_map().get(value, value) if self.enabled else value

    def agent(self, value: Any) -> str:
        """One agent name."""
        value = "" if value is None else str(value)
        return self.agent_map().get(value, value) if self.enabled else value

    def findings(self, findings: pd.DataFrame) -> pd.DataFrame:
        """A findings table (report columns) masked for writing (:func:`mask_findings`); the
        same table object (the result's findings or credits) is masked once, and a part of it
        is best taken from the masked whole (``masker.findings(table).iloc[:n]``): masking
        works row by row. Callers must not change the table in place in between."""
        for table, masked in self._tables_done:
            if table is findings and len(masked) == len(findings):
                return masked
        masked = mask_findings(findings, self.enabled, self)
        self._tables_done.append((findings, masked))
        return masked

    def findings_head(self, findings: pd.DataFrame, rows: int) -> pd.DataFrame:
        """``self.findings(findings).iloc[:rows]`` without masking (and keeping) the rows after
        ``rows``: the sheets list at most a few hundred thousand of millions of findings. Kept,
        like :meth:`findings`, so the channels of one result mask these rows once."""
        for table, masked in self._tables_done:
            if table is findings and len(masked) >= min(rows, len(findings)):
                return masked.iloc[:rows]
        if rows >= len(findings):
            return self.findings(findings)
        masked = mask_findings(findings.iloc[:rows], self.enabled, self)
        self._tables_done.append((findings, masked))
        return masked

    def findings_rows(self, findings: pd.DataFrame, start: int, stop: int) -> pd.DataFrame:
        """``self.findings(findings).iloc[start:stop]``, taken from the rows already masked
        when they cover it, else masked on their own and not kept (a writer going through a
        large table a chunk at a time)."""
        stop = min(stop, len(findings))
        for table, masked in self._tables_done:
            if table is findings and len(masked) >= stop:
                return masked.iloc[start:stop]
        return mask_findings(findings.iloc[start:stop], self.enabled, self)


def result_masker(result: Any, mask: bool = True) -> ResultMasker:
    """The :class:`ResultMasker` of ``result`` (built once per result and kept on it, so every
    channel uses the same session and agent maps)."""
    cache = result.__dict__.setdefault("_qa_maskers", {})
    if mask not in cache:
        cache[mask] = ResultMasker(result, mask)
    return cache[mask]
