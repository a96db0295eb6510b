"""Ingest stage: read chat-log exports into the message table of :mod:`qa.model`.

Inputs are delimited text files (.csv, .tsv, .txt) in UTF-8, UTF-8 with BOM, GB18030/GBK or
UTF-16, and Excel workbooks (.xlsx, .xlsm). Columns are found by name (English and Chinese
aliases, or ``--column FIELD=NAME`` overrides), roles are mapped to :class:`qa.model.Role`, and
times are parsed into one timezone. A row that cannot be audited is never dropped silently: it
goes to the rejected table with its row number and a reason, so that
``input_rows == len(messages) + len(rejected)`` always holds.

Speed matters (exports of a million rows are normal), so every per-row step is vectorised:
CSV is parsed by pyarrow's multi-threaded reader, and only files with malformed rows take the
slower but exact path through :mod:`csv`.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv

from qa.errors import InputError
from qa.model import (
    MESSAGE_COLUMNS,
    REJECTED_COLUMNS,
    UNKNOWN_AGENT,
    IngestResult,
    Role,
    empty_rejected,
)
from qa.xlsxlimits import ExcelLimits, LimitError, WorkbookLimits, open_checked

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
EXCEL_EXTENSIONS = (".xlsx", ".xlsm")

#: Fields a ``--column FIELD=NAME`` override may name.
FIELDS = ("session_id", "text", "role", "timestamp", "seq", "agent", "sender")

# Header aliases per field, compared case-insensitively after stripping spaces and BOM.
_ALIASES: dict[str, tuple[str, ...]] = {
    "session_id": (
        "session_id",
        "session",
        "conversation_id",
        "dialogue_id",
        "chat_id",
        "会话ID",
        "会话编号",
        "会话id",
        "对话ID",
    ),
    "timestamp": ("timestamp", "time", "datetime", "created_at", "send_time", "时间", "发送时间", "消息时间"),
    "role": ("role", "sender_role", "sender_type", "发送方", "角色", "发送者身份"),
    "agent": ("agent", "agent_name", "agent_id", "客服", "客服昵称", "客服账号", "接待客服"),
    "text": ("text", "content", "message", "msg", "内容", "消息内容", "聊天内容"),
    "seq": ("seq", "turn", "序号"),
    "sender": ("sender", "sender_name", "nickname", "from", "发送人", "发送者", "发送者昵称", "昵称"),
    # JD-style exports mark agent messages with a 0/1 column instead of a role column.
    "agent_flag": ("is_agent", "是否客服发送", "是否客服"),
}
_FLAG_FIELD = "agent_flag"
_REQUIRED = ("session_id", "text")

_ROLE_WORDS: dict[str, str] = {
    **dict.fromkeys(("agent", "客服", "商家", "seller", "staff", "1"), Role.AGENT.value),
    **dict.fromkeys(("customer", "买家", "顾客", "用户", "客户", "buyer", "user", "0"), Role.CUSTOMER.value),
    **dict.fromkeys(("system", "系统", "机器人", "bot", "robot", "自动回复"), Role.SYSTEM.value),
}
_FLAG_WORDS: dict[str, str] = {
    **dict.fromkeys(("1", "1.0", "true", "yes", "y", "是"), Role.AGENT.value),
    **dict.fromkeys(("0", "0.0", "false", "no", "n", "否"), Role.CUSTOMER.value),
}
_SYSTEM_NICKNAME = re.compile(r"系统|机器人|自动回复|^(?:system|bot|robot)$", re.IGNORECASE)
# Sub-account nicknames on Taobao/Tmall look like 店铺名:客服名 (ASCII or full-width colon).
_SUBACCOUNT_NICKNAME = re.compile(r"^\s*[^:：\s][^:：]*[:：]\s*\S")

_RAW_LIMIT = 200
_HEAD_BYTES = 1 << 16

# A stray quote (a message starting with `"` that an export did not escape) makes a CSV parser
# read the following rows as one field, silently. Chat messages with line breaks are real (an
# address, a bank account) but short: the platforms cap a message at a few thousand characters
# and it rarely has more than a dozen lines. A quoted value running over more lines or
# characters than these is taken to be a stray quote; so is one holding a line shaped like a
# whole row (as many fields as the header), or one with no closing quote before the end.
_QUOTED_MAX_LINES = 100
_QUOTED_MAX_CHARS = 20_000
# Python's csv refuses fields over 131,072 characters by default, while pyarrow (the fast path)
# has no limit: the exact path must not refuse what the fast path reads. A field over this
# (far beyond any chat message) rejects its row, not the file.
_CSV_FIELD_LIMIT = 1 << 28
csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
# A NUL byte or two is damage in a text export (that row is rejected); a file is refused as
# binary only for a known binary signature or when NULs are this large a share of its head.
_BINARY_NUL_SHARE = 0.05
_BINARY_MAGIC = (
    b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf",
    b"Rar!", b"\xd0\xcf\x11\xe0", b"SQLite format 3", b"PAR1", b"\x7fELF", b"MZ",
)

# Naive time layouts tried as whole-column formats (fast); which ones a file uses is sniffed
# from a sample so that a million rows are normally parsed by exactly one format.
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%Y%m%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
# All-digit layouts would also "parse" epoch seconds (1999999999 -> 1999-09-09 09:09:09), so
# they are tried only on what the epoch and Excel-serial patterns did not claim.
_DIGIT_TIME_FORMATS = ("%Y%m%d%H%M%S",)
_OFFSET_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_EPOCH_SECONDS = r"\d{10}(?:\.\d+)?"
_EPOCH_MILLIS = r"\d{13}"
_EXCEL_SERIAL = r"\d{5}(?:\.\d+)?"
# Times outside this window are typos or wrong units, and would overflow nanoseconds.
_TIME_MIN = pd.Timestamp("1900-01-01")
_TIME_MAX = pd.Timestamp("2200-01-01")


def load_inputs(
    inputs: Sequence[str],
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    timezone: str = "Asia/Shanghai",
    agent_pattern: str | None = None,
    excel_limits: ExcelLimits | None = None,
) -> IngestResult:
    """Read every input (files, directories, globs) into one batch of messages.

    ``columns`` maps a field (see :data:`FIELDS`) to the header naming it in the files;
    ``encoding`` forces the text encoding of delimited files; ``sheet`` picks the Excel
    sheet (default: the first sheet with the needed columns); naive times are local to
    ``timezone``; ``agent_pattern`` is a regex of sender nicknames that are agents, used
    when roles are inferred from nicknames; ``excel_limits`` bounds what a workbook may make
    the reader allocate (default :class:`qa.xlsxlimits.ExcelLimits`).

    Returns messages with exactly :data:`qa.model.MESSAGE_COLUMNS`, sorted by session, time,
    seq and input order, plus the rejected rows. Raises :class:`InputError` for problems
    that stop the run (missing file, missing column, unreadable content).
    """
    options = _make_options(columns, encoding, sheet, timezone, agent_pattern, excel_limits)
    paths = _expand_inputs(inputs)
    notes = _Notes()
    parts = [_build_part(_read_table(path, options, notes), options, notes) for path in paths]
    return _assemble(parts, options, notes)


# --------------------------------------------------------------------------- options, notes


@dataclass(frozen=True)
class _Options:
    columns: dict[str, str]
    encoding: str | None
    sheet: str | None
    timezone: str
    agent_regex: re.Pattern[str] | None
    excel_limits: ExcelLimits = ExcelLimits()


def _make_options(
    columns: Mapping[str, str] | None,
    encoding: str | None,
    sheet: str | None,
    timezone: str,
    agent_pattern: str | None,
    excel_limits: ExcelLimits | None = None,
) -> _Options:
    """Validate the arguments once, before any file is touched."""
    overrides = dict(columns or {})
    for name in overrides:
        if name not in FIELDS:
            raise InputError(f"unknown field '{name}' in --column; fields: {', '.join(FIELDS)}")
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"unknown encoding '{encoding}'") from None
    try:
        pd.DatetimeTZDtype("ns", timezone)
    except Exception:  # zoneinfo raises several types (KeyError, ValueError) for bad names
        raise InputError(f"unknown timezone '{timezone}'") from None
    regex = None
    if agent_pattern:
        try:
            regex = re.compile(agent_pattern)
        except re.error as exc:
            raise InputError(f"invalid agent pattern '{agent_pattern}': {exc}") from None
    return _Options(overrides, encoding or None, sheet, timezone, regex, excel_limits or ExcelLimits())


class _Notes:
    """Human-readable notes; the same note for several files is merged into one line."""

    def __init__(self) -> None:
        self._sources: dict[str, list[str]] = {}

    def add(self, template: str, source: str) -> None:
        """Record ``template`` (with a ``{files}`` placeholder) for ``source``."""
        sources = self._sources.setdefault(template, [])
        if source not in sources:
            sources.append(source)

    def render(self) -> list[str]:
        """The notes as lines, in the order first seen."""
        lines = []
        for template, sources in self._sources.items():
            shown = ", ".join(sources[:5])
            if len(sources) > 5:
                shown += f" and {len(sources) - 5} more"
            lines.append(template.format(files=shown))
        return lines


# --------------------------------------------------------------------------- finding inputs


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Turn files, directories and globs into a list of supported files, each once (raises
    InputError for a missing input, as :func:`load_inputs` does)."""
    return _expand_inputs(inputs)


def _expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Turn files, directories and globs into a list of supported files, each once."""
    if isinstance(inputs, str):  # a lone path would otherwise be read letter by letter
        inputs = [inputs]
    if not inputs:
        raise InputError("no input files given")
    paths: list[str] = []
    seen: set[str] = set()
    for item in inputs:
        for path in _expand_one(str(item)):
            key = os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                paths.append(path)
    return paths


def _expand_one(item: str) -> list[str]:
    if os.path.isdir(item):
        found = [os.path.join(item, name) for name in sorted(os.listdir(item))]
        found = [p for p in found if os.path.isfile(p) and _is_listed_input(p)]
        if not found:
            raise InputError(f"no supported files in {item} (.csv, .tsv, .txt, .xlsx)")
        return found
    if os.path.isfile(item):
        if not _has_supported_extension(item):
            raise InputError(f"unsupported file type: {item} (use .csv, .tsv, .txt or .xlsx)")
        return [item]
    if glob.has_magic(item):
        found = [p for p in sorted(glob.glob(item)) if os.path.isfile(p) and _is_listed_input(p)]
        if not found:
            raise InputError(f"no supported files match {item}")
        return found
    raise InputError(f"no such file: {item}")


def _has_supported_extension(path: str) -> bool:
    return path.lower().endswith(TEXT_EXTENSIONS + EXCEL_EXTENSIONS)


def _is_listed_input(path: str) -> bool:
    """Whether a file found by a directory or glob is a chat log rather than a side file."""
    name = os.path.basename(path)
    if name.startswith((".", "~$")):  # hidden files, Excel lock files
        return False
    if name.lower().startswith("readme"):
        return False
    return _has_supported_extension(name)


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class _ColumnMap:
    """Which header position holds each field (absent fields are missing)."""

    positions: dict[str, int]
    header: list[str]

    def has(self, name: str) -> bool:
        return name in self.positions

    def label(self, name: str) -> str:
        return self.header[self.positions[name]]


def _clean_name(name: object) -> str:
    return str(name).replace("\ufeff", "").strip()


def _resolve_columns(header: Sequence[str], overrides: Mapping[str, str], where: str) -> _ColumnMap:
    """Map fields to header positions by override or alias; raise InputError when unclear."""
    names = [_clean_name(h) for h in header]
    keys = [n.casefold() for n in names]
    found = ", ".join(n for n in names if n) or "(no named columns)"
    positions: dict[str, int] = {}
    for name, wanted in overrides.items():
        position = _find_override(names, keys, _clean_name(wanted))
        if position is None:
            raise InputError(f"column '{wanted}' for {name} not found in {where}; found: {found}")
        positions[name] = position
    claimed = set(positions.values())
    for name, aliases in _ALIASES.items():
        if name in positions:
            continue
        alias_keys = {a.casefold() for a in aliases}
        hits = [i for i, key in enumerate(keys) if key in alias_keys and i not in claimed]
        if len(hits) > 1:
            listed = " and ".join(f"'{names[i]}'" for i in hits)
            both = "both" if len(hits) == 2 else "all"
            raise InputError(f"columns {listed} {both} look like {name} in {where}; use --column {name}=NAME")
        if hits:
            positions[name] = hits[0]
    missing = [f for f in _REQUIRED if f not in positions]
    if not missing and not ({"role", _FLAG_FIELD, "sender"} & positions.keys()):
        missing = ["role"]
    if missing:
        raise InputError(
            f"missing column for {missing[0]} in {where}; found: {found}; use --column {missing[0]}=NAME"
        )
    return _ColumnMap(positions, names)


def _find_override(names: list[str], keys: list[str], wanted: str) -> int | None:
    if wanted in names:
        return names.index(wanted)
    folded = wanted.casefold()
    return keys.index(folded) if folded in keys else None


# --------------------------------------------------------------------------- reading


@dataclass
class _Table:
    """One input's data rows as strings, before any interpretation."""

    source: str
    sheet: str
    columns: _ColumnMap
    cells: pd.DataFrame  # positional str columns, one per header cell; blank rows removed
    rows: np.ndarray  # source row number of each cells row
    malformed: pd.DataFrame  # rejected rows (REJECTED_COLUMNS) with a wrong number of fields


def _read_table(path: str, options: _Options, notes: _Notes) -> _Table:
    if path.lower().endswith(EXCEL_EXTENSIONS):
        return _read_excel(path, options, notes)
    return _read_delimited(path, options, notes)


def _read_delimited(path: str, options: _Options, notes: _Notes) -> _Table:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    encoding, data = _detect_encoding(path, raw, options.encoding)
    try:
        table = _parse_delimited(path, data, options, notes)
    except _NotUtf8:
        # The head looked like UTF-8 but a later byte is not: GB18030 is the other candidate,
        # unless the user or a BOM said UTF-8.
        if options.encoding or encoding != "utf-8":
            raise InputError(_bad_byte_message(path, encoding, hint=False)) from None
        # Neither encoding: the byte that broke UTF-8 is the one to show, not GB18030's.
        encoding, data = "gb18030", _transcode(path, raw, "gb18030", report_as="utf-8")
        table = _parse_delimited(path, data, options, notes)
    if encoding == "gb18030":
        notes.add("read {files} as GB18030 (GBK)", path)
    elif encoding not in ("utf-8", "utf-8-sig"):
        notes.add(f"read {{files}} as {encoding}", path)
    return table


def _parse_delimited(path: str, data: bytes, options: _Options, notes: _Notes) -> _Table:
    """Parse UTF-8 ``data``: header and delimiter first (to fail fast), then the rows."""
    if not data or data.isspace():  # isspace stops at the first other byte; strip() would copy
        raise InputError(f"{path} is empty")
    head = _decode_head(data)
    if codecs.BOM_UTF8 in data:  # exports joined into one file: the second one's BOM is mid-file
        data = data.replace(codecs.BOM_UTF8, b"")
    delimiter = "\t" if path.lower().endswith(".tsv") else _sniff_delimiter(head)
    header = next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), [])
    columns = _resolve_columns(header, options.columns, path)
    parsed = _parse_fast(path, data, delimiter, header)
    if parsed is None:  # malformed rows or a stray quote: the exact parser gives row numbers
        parsed = _parse_exact(path, data, delimiter, header)
    cells, rows, malformed, blank, headers = parsed
    _note_skipped(notes, path, blank, headers)
    if not len(cells) and not len(malformed):
        raise InputError(f"{path} has no data rows (only a header)")
    return _Table(path, "", columns, cells, rows, malformed)


def _detect_encoding(path: str, data: bytes, forced: str | None) -> tuple[str, bytes]:
    """Return the encoding and the content re-encoded as UTF-8 (without BOM).

    Order: the user's choice, a BOM, then UTF-8 (verified while parsing), then GB18030.
    """
    if not data:
        raise InputError(f"{path} is empty")
    if forced in ("utf-8", "utf-8-sig"):
        return forced, data.removeprefix(codecs.BOM_UTF8)  # pyarrow validates while parsing
    if forced:
        return forced, _transcode(path, data, forced)
    if data.startswith(codecs.BOM_UTF8):  # Excel's "CSV UTF-8"; no need to transcode
        return "utf-8-sig", data[len(codecs.BOM_UTF8) :]
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM is its prefix
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return name, _transcode(path, data, name)
    _refuse_binary(path, data[:_HEAD_BYTES])
    try:
        _decode_head(data)
    except _NotUtf8:
        return "gb18030", _transcode(path, data, "gb18030")
    return "utf-8", data  # the rest is checked by pyarrow while it parses; see _parse_fast


def _transcode(path: str, data: bytes, encoding: str, report_as: str | None = None) -> bytes:
    """Decode strictly and re-encode as UTF-8, the only encoding the parsers get (a bad byte is
    reported as one of ``report_as`` when the file was first read as that)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        hint = encoding == "gb18030"
        raise InputError(_bad_byte_message(path, report_as or encoding, hint=hint)) from None
    if _mostly_nul(text[:_HEAD_BYTES]):
        raise InputError(f"cannot read {path}: not a text file (binary content)")
    # Every BOM goes, not only the first: two exports concatenated carry one mid-file.
    return text.replace("\ufeff", "").encode("utf-8")


def _bad_byte_message(path: str, encoding: str, *, hint: bool | None = None) -> str:
    """The error for a file ``encoding`` cannot decode, naming the first bad byte by its offset
    in the file and its line (found by reading the file again: this is the error path)."""
    offset, value, line = _first_bad_byte(path, encoding)
    if hint is None:
        hint = encoding == "gb18030"
    tail = "; not UTF-8 or GB18030 either, use --encoding" if hint else ""
    return f"cannot read {path} as {encoding}: bad byte 0x{value:02X} at offset {offset} (line {line}){tail}"


def _first_bad_byte(path: str, encoding: str) -> tuple[int, int, int]:
    """(offset, byte, line) of the first byte of the file that ``encoding`` cannot decode."""
    lines, base = 1, 0
    if codecs.lookup(encoding).name == "utf-8-sig":
        encoding = "utf-8"  # the BOM is valid UTF-8, and offsets count from the file's start
    stateless = codecs.lookup(encoding).name in ("utf-8", "gb18030")
    decoder = None if stateless else codecs.getincrementaldecoder(encoding)(errors="strict")
    carry = b""
    with open(path, "rb") as handle:
        while True:
            raw = handle.read(1 << 20)
            data = carry + raw
            try:
                if decoder is not None:
                    text = decoder.decode(raw, final=not raw)
                else:
                    text, carry = data.decode(encoding), b""
            except UnicodeDecodeError as exc:
                if decoder is not None:  # its start counts from the bytes it held back
                    start = max(exc.start - len(decoder.getstate()[0]), 0)
                    prefix = decoder.decode(raw[:start])
                    return base + start, raw[start] if start < len(raw) else 0, lines + _line_breaks(prefix)
                if raw and exc.start >= len(data) - 4:  # a character cut by the read: read on
                    text, carry = data[: exc.start].decode(encoding), data[exc.start :]
                else:
                    prefix = data[: exc.start].decode(encoding)
                    return base - len(carry) + exc.start, data[exc.start], lines + _line_breaks(prefix)
            lines += _line_breaks(text)
            base += len(raw)
            if not raw:
                return base, 0, lines  # not reached for a file that failed to decode


def _line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _refuse_binary(path: str, head: bytes) -> None:
    """Raise InputError when the file's first bytes are those of a binary file."""
    if b"\x00" not in head:
        return
    if head.startswith(b"PK\x03\x04"):
        raise InputError(f"cannot read {path}: looks like an Excel workbook; save it as .xlsx")
    if head.startswith(_BINARY_MAGIC) or _mostly_nul(head):
        raise InputError(f"cannot read {path}: not a text file (binary content)")


def _mostly_nul(sample: bytes | str) -> bool:
    """Whether NULs are a binary file's share of ``sample`` rather than a stray byte or two."""
    nul = b"\x00" if isinstance(sample, bytes) else "\x00"
    return sample.count(nul) > max(1, len(sample) * _BINARY_NUL_SHARE)


def _decode_head(data: bytes) -> str:
    """The first 64 KiB as text (a character cut at the end is dropped, not an error)."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(
            data[:_HEAD_BYTES], final=len(data) <= _HEAD_BYTES
        )
    except UnicodeDecodeError:
        raise _NotUtf8 from None


def _sniff_delimiter(head: str) -> str:
    """Pick comma, tab or semicolon: whichever splits the header line into most fields."""
    first_line = re.split(r"\r\n|\r|\n", head, maxsplit=1)[0]  # not str.splitlines: it splits on more
    best, best_count = ",", 1
    for delimiter in (",", "\t", ";"):
        count = len(next(csv.reader([first_line], delimiter=delimiter), []))
        if count > best_count:
            best, best_count = delimiter, count
    return best


# cells, their row numbers, rejected rows, blank rows skipped, repeated header rows skipped
_Parsed = tuple[pd.DataFrame, np.ndarray, pd.DataFrame, int, int]


def _note_skipped(notes: _Notes, path: str, blank: int, headers: int) -> None:
    """The notes for rows that are not data: blank rows, and header rows of joined exports."""
    if blank:
        notes.add(f"{{files}}: {blank} blank row(s) skipped", path)
    if headers:
        notes.add(f"{{files}}: {headers} repeated header row(s) skipped (exports joined into one file?)", path)


def _parse_fast(path: str, data: bytes, delimiter: str, header: list[str]) -> _Parsed | None:
    """Parse with pyarrow; None when any row has the wrong number of fields, when a quoted
    value may hide a stray quote (see :func:`_quote_trouble`), or on doubt.

    pyarrow reports malformed rows without their row numbers, so those files are re-read by
    :func:`_parse_exact`; clean files (the normal case) never pay for that.
    """
    malformed = 0

    def count_malformed(_row: object) -> str:
        nonlocal malformed
        malformed += 1
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=count_malformed,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise _NotUtf8 from None
        return None
    if malformed or table.num_columns != len(header):
        return None
    if any(not pa.types.is_string(t) for t in table.schema.types):
        return None  # pyarrow read the header differently from csv; trust the exact path
    # More line breaks than rows means values with line breaks: check them for a stray quote.
    ends = 1 if data.endswith((b"\n", b"\r")) else 0
    if _line_breaks_of(data) > table.num_rows + ends and _quote_trouble(
        table.columns, delimiter, len(header), ends_file=True
    ):
        return None
    table = table.rename_columns([str(i) for i in range(table.num_columns)])
    cells = table.to_pandas()
    cells.columns = range(len(header))
    rows = np.arange(2, len(cells) + 2, dtype=np.int64)
    return _tidy(path, cells, rows, header, nul=b"\x00" in data)


def _line_breaks_of(data: bytes) -> int:
    """Physical line breaks (LF, CRLF or a lone CR) in UTF-8 ``data``."""
    breaks = data.count(b"\n")
    if b"\r" in data:
        breaks += data.count(b"\r") - data.count(b"\r\n")
    return breaks


def _tidy(path: str, cells: pd.DataFrame, rows: np.ndarray, header: list[str], *, nul: bool) -> _Parsed:
    """Take out what is not a message row: blank rows and repeated header rows (counted) and,
    when ``nul``, rows holding a NUL character (rejected)."""
    arrays = [pa.array(cells[position]) for position in cells.columns]
    blank = _blank_mask(cells)
    repeated = _header_mask(arrays, header) & ~blank
    bad = _nul_mask(arrays) if nul else np.zeros(len(cells), dtype=bool)
    rejected = empty_rejected()
    if bad.any():
        where = np.flatnonzero(bad)
        raws = [_clip(",".join(v)) for v in cells.iloc[where].itertuples(index=False, name=None)]
        rejected = _rejected_frame([path] * len(where), rows[where], [_NUL_REASON] * len(where), raws)
    drop = blank | repeated | bad
    if drop.any():
        cells, rows = cells[~drop].reset_index(drop=True), rows[~drop]
    return cells, rows, rejected, int(blank.sum()), int(repeated.sum())


_NUL_REASON = "contains a NUL character (binary data in a text row)"


def _header_mask(arrays: Sequence[pa.Array], header: list[str]) -> np.ndarray:
    """Rows that repeat the header (exports joined into one file)."""
    names = [_clean_name(name) for name in header]
    same = np.ones(len(arrays[0]) if arrays else 0, dtype=bool)
    for array, name in zip(arrays, names, strict=False):
        same &= _equals(pa_compute.utf8_trim_whitespace(array), name)
        if not same.any():
            break
    return same


def _nul_mask(arrays: Sequence[pa.Array]) -> np.ndarray:
    bad = np.zeros(len(arrays[0]) if arrays else 0, dtype=bool)
    for array in arrays:
        bad |= np.asarray(pa_compute.match_substring(array, "\x00").to_numpy(zero_copy_only=False), dtype=bool)
    return bad


def _equals(array: pa.Array, value: str) -> np.ndarray:
    return np.asarray(pa_compute.equal(array, value).to_numpy(zero_copy_only=False), dtype=bool)


def _quote_trouble(columns: Sequence, delimiter: str, width: int, *, ends_file: bool) -> bool:
    """Whether values that pyarrow read across lines may hide a stray quote, so that the file
    must go through the exact parser (which finds and isolates it): a value of the last row
    of the file (when ``ends_file``; the quote may never close), or a suspect record (see
    :func:`_suspect_record`). Only rows with a line break in a value are looked at."""
    rows = _rows_with_line_breaks(columns)
    if not len(rows):
        return False
    if ends_file and rows[-1] == len(columns[0]) - 1:
        return True
    return any(_suspect_record([column[int(i)].as_py() for column in columns], delimiter, width) for i in rows)


def _rows_with_line_breaks(columns: Sequence) -> np.ndarray:
    """Indices of the rows with a CR or LF in any value, from the string buffers (a kernel
    per value would cost seconds on a million rows)."""
    found: list[np.ndarray] = []
    for column in columns:
        base = 0
        for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
            offsets_buffer, data_buffer = chunk.buffers()[1:3]
            if data_buffer is not None and len(chunk):
                kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
                offsets = np.frombuffer(offsets_buffer, dtype=kind)[chunk.offset : chunk.offset + len(chunk) + 1]
                data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
                at = np.flatnonzero((data == 10) | (data == 13)) + offsets[0]
                if len(at):
                    found.append(np.searchsorted(offsets, at, side="right") - 1 + base)
            base += len(chunk)
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _suspect_record(values: Sequence[str], delimiter: str, width: int) -> bool:
    """Whether a record read across lines looks like a stray quote swallowing rows: a line of
    a value shaped like a whole row, or more lines or characters than a chat message has (the
    character count is an upper bound of the record's length in the file, so that the fast
    path gives up wherever :class:`_LineSource` could stop the exact one)."""
    lines, chars = 1, 3 * len(values) + 2
    for value in values:
        chars += len(value) + value.count('"')
        if "\n" in value or "\r" in value:
            lines += _line_breaks(value)
            for line in re.split(r"\r\n|\r|\n", value):
                if line.count(delimiter) >= width - 1 and len(_fields_of(line, delimiter)) >= width:
                    return True
    return lines > _QUOTED_MAX_LINES or (lines > 1 and chars > _QUOTED_MAX_CHARS)


def _fields_of(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


class _NotUtf8(Exception):
    """The file passed the UTF-8 check on its head but not further down."""


class _RunawayQuote(Exception):
    """A quoted value ran over more lines or characters than a chat message has."""


def _fit_record(record: list[str], width: int) -> list[str] | None:
    """The record with ``width`` fields, or None when it cannot be one. Extra fields that
    are all empty are dropped: some exports end every data row (not the header) with a
    delimiter, and rejecting every such row would lose the whole file."""
    if len(record) == width:
        return record
    if len(record) > width and not any(field.strip() for field in record[width:]):
        return record[:width]
    return None


class _LineSource:
    """Physical lines for :mod:`csv`, keeping those of the record being read so that after a
    stray quote they can be read again; stops a record that runs away (see _QUOTED_MAX_*)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = iter(lines)
        self._again: list[str] = []
        self.taken: list[str] = []
        self.ended = False
        self._chars = 0

    def __iter__(self) -> _LineSource:
        return self

    def __next__(self) -> str:
        if self._again:
            line = self._again.pop()
        else:
            try:
                line = next(self._lines)
            except StopIteration:
                self.ended = True
                raise
        self.taken.append(line)
        self._chars += len(line)
        if len(self.taken) > 1 and (len(self.taken) > _QUOTED_MAX_LINES or self._chars > _QUOTED_MAX_CHARS):
            raise _RunawayQuote
        return line

    def begin(self) -> None:
        """Start a record."""
        self.taken, self._chars, self.ended = [], 0, False

    def read_again(self, lines: list[str]) -> None:
        self._again.extend(reversed(lines))


_BLANK, _HEADER, _GOOD, _BAD = range(4)
_LINE_END = ("\n", "\r")


def _exact_rows(lines: Iterator[str], delimiter: str, header: list[str]) -> Iterator[tuple[int, int, object]]:
    """The data records of a delimited text, one at a time with their row numbers (header =
    1), as ``(kind, row, value)``: blank rows, repeated header rows, good records (value: the
    fields) and bad ones (value: reason and raw text).

    A quote that opens a value and then runs into the following rows (never closing, closing
    in a way a writer never would, or past the bounds of a chat message, see
    :func:`_suspect_record`) makes its row bad; the lines after it are read again as rows of
    their own, so one stray quote costs one row. A value with line breaks inside a quote that
    closes properly is one row.
    """
    width = len(header)
    names = [_clean_name(name) for name in header]
    source = _LineSource(lines)
    try:
        next(csv.reader(source, delimiter=delimiter), None)  # the header
    except (_RunawayQuote, csv.Error):
        source.read_again(source.taken[1:])
    row = 1
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    while True:
        source.begin()
        record, damage = None, None
        try:
            record = next(reader)
        except StopIteration:
            return
        except _RunawayQuote:
            damage = _RUNAWAY_REASON
        except csv.Error:
            taken = source.taken
            if len(taken) > 1 or (source.ended and taken and taken[0].endswith(_LINE_END)):
                damage = _UNCLOSED_REASON if source.ended else _RUNAWAY_REASON
            else:  # quotes misplaced within one line ('"a"b'): read as pyarrow and csv do
                source.read_again(taken)
                source.begin()
                try:
                    record = next(csv.reader(source, delimiter=delimiter))
                except _RunawayQuote:
                    damage = _RUNAWAY_REASON
                except csv.Error as exc:  # a field over _CSV_FIELD_LIMIT
                    row += 1
                    yield _BAD, row, (f"unreadable row: {exc}", _clip(_without_line_end(source.taken[0])))
                    source.read_again(source.taken[1:])
                    reader = csv.reader(source, delimiter=delimiter, strict=True)
                    continue
            reader = csv.reader(source, delimiter=delimiter, strict=True)
        taken = source.taken
        if damage is None:
            # at the end of the file inside a quote (only csv's tolerant mode gets here)
            if source.ended and (len(taken) > 1 or taken[-1].endswith(_LINE_END)):
                damage = _UNCLOSED_REASON
            elif len(taken) > 1 and _suspect_record(record, delimiter, width):
                damage = _RUNAWAY_REASON
        row += 1
        if damage is not None:
            yield _BAD, row, (damage, _clip(_without_line_end(taken[0])))
            source.read_again(taken[1:])
            reader = csv.reader(source, delimiter=delimiter, strict=True)
        elif not any(record):
            yield _BLANK, row, None
        elif (fitted := _fit_record(record, width)) is None:
            yield _BAD, row, (f"expected {width} fields, found {len(record)}", _clip(",".join(record)))
        elif any("\x00" in line for line in taken):
            yield _BAD, row, (_NUL_REASON, _clip(",".join(record)))
        elif _clean_name(fitted[0]) == names[0] and [_clean_name(f) for f in fitted] == names:
            yield _HEADER, row, None
        else:
            yield _GOOD, row, fitted


_UNCLOSED_REASON = "unclosed quote: a quote opened in this row never closes (the rows after it were read without it)"
_RUNAWAY_REASON = "stray quote: a quoted value opened in this row runs into the rows after it (read without it)"


def _without_line_end(line: str) -> str:
    return line.rstrip("\r\n")


def _parse_exact(path: str, data: bytes, delimiter: str, header: list[str]) -> _Parsed:
    """Parse with :mod:`csv`, one record at a time, keeping exact row numbers."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _NotUtf8 from None
    width = len(header)
    good: list[list[str]] = []
    rows: list[int] = []
    bad: list[tuple[int, str, str]] = []
    skipped = {_BLANK: 0, _HEADER: 0}
    for kind, row, value in _exact_rows(io.StringIO(text, newline=""), delimiter, header):
        if kind == _GOOD:
            good.append(value)
            rows.append(row)
        elif kind == _BAD:
            bad.append((row, *value))
        else:
            skipped[kind] += 1
    cells = pd.DataFrame(good, columns=range(width), dtype="str") if good else _empty_cells(width)
    malformed = _rejected_frame([path] * len(bad), *zip(*bad, strict=True)) if bad else empty_rejected()
    return cells, np.asarray(rows, dtype=np.int64), malformed, skipped[_BLANK], skipped[_HEADER]


def _empty_cells(width: int) -> pd.DataFrame:
    return pd.DataFrame({i: pd.Series([], dtype="str") for i in range(width)})


def _blank_mask(cells: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty: spreadsheet padding, not messages."""
    blank = np.ones(len(cells), dtype=bool)
    for position in cells.columns:
        blank &= (cells[position] == "").to_numpy()
        if not blank.any():
            break
    return blank


def _read_excel(path: str, options: _Options, notes: _Notes) -> _Table:
    limits = open_checked(path, options.excel_limits)  # before calamine allocates anything
    try:
        return _read_workbook(path, options, notes, limits)
    finally:
        if limits is not None:
            limits.close()


def _read_workbook(path: str, options: _Options, notes: _Notes, limits: WorkbookLimits | None) -> _Table:
    with _calamine(f"cannot read {path}: not a readable Excel workbook"):
        book = pd.ExcelFile(path, engine="calamine")
    with book:
        names = [str(n) for n in book.sheet_names]
        if options.sheet is not None:
            if options.sheet not in names:
                raise InputError(f"no sheet '{options.sheet}' in {path}; sheets: {', '.join(names)}")
            table = _read_sheet(book, path, options.sheet, options, limits)
            if table is None:
                raise InputError(f"sheet '{options.sheet}' of {path} is empty")
            return _checked_sheet(table, path, options.sheet)
        errors: list[InputError] = []
        for name in names:
            try:
                table = _read_sheet(book, path, name, options, limits)
            except LimitError:
                raise  # never skipped for the next sheet: it may be the one with the data
            except InputError as exc:
                errors.append(exc)
                continue
            if table is not None:
                if len(names) > 1:
                    notes.add(f"read sheet '{name}' of {{files}}", path)
                return _checked_sheet(table, path, name)
    if not errors:
        raise InputError(f"{path} is empty")
    if len(names) == 1:
        raise errors[0]
    raise InputError(
        f"{errors[0]} (no sheet has the needed columns; sheets: {', '.join(names)}; use --sheet NAME)"
    )


def _checked_sheet(table: _Table, path: str, sheet: str) -> _Table:
    if not len(table.cells):
        raise InputError(f"{path} has no data rows (only a header) in sheet '{sheet}'")
    return table


def _read_sheet(
    book: pd.ExcelFile, path: str, sheet: str, options: _Options, limits: WorkbookLimits | None
) -> _Table | None:
    """Read one sheet; None when it has no cells. The header is the first non-blank row."""
    if limits is not None:
        limits.check_sheet(sheet)
    with _calamine(f"cannot read sheet '{sheet}' of {path}"):
        frame = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
    # header=None keeps leading and inner blank rows, so index + 1 is the row Excel shows.
    cells = frame.map(_excel_cell_text).astype("str") if len(frame) else frame
    if not len(cells):
        return None
    blank = _blank_mask(cells)
    if blank.all():
        return None
    header_at = int(np.argmax(~blank))
    header = [str(v) for v in cells.iloc[header_at]]
    columns = _resolve_columns(header, options.columns, f"{path} (sheet '{sheet}')")
    keep = ~blank
    keep[: header_at + 1] = False
    data = cells[keep].reset_index(drop=True)
    data.columns = range(data.shape[1])
    rows = np.flatnonzero(keep).astype(np.int64) + 1
    return _Table(path, sheet, columns, data, rows, empty_rejected())


@contextmanager
def _calamine(failure: str) -> Iterator[None]:
    """Turn every failure of calamine into one line starting with ``failure``, a Rust panic
    included: pyo3 raises those as PanicException, a BaseException that ``except Exception``
    misses, after Rust's panic hook has printed a backtrace on stderr, which is held back."""
    with _native_stderr_held() as drop:
        try:
            yield
        except Exception as exc:  # calamine raises its own error types for corrupt files
            raise InputError(f"{failure} ({_first_line(exc)})") from None
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise  # KeyboardInterrupt, SystemExit
            drop()
            raise InputError(f"{failure} (the Excel reader failed: {_first_line(exc)})") from None


@contextmanager
def _native_stderr_held() -> Iterator[Callable[[], None]]:
    """Divert what native code writes to file descriptor 2 during the block; it is written
    out afterwards, unless the block calls the function it was given."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to hold
        yield lambda: None
        return
    dropped = False

    def drop() -> None:
        nonlocal dropped
        dropped = True

    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield drop
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            if not dropped:
                held.seek(0)
                while piece := held.read(1 << 16):
                    os.write(2, piece)


def _excel_cell_text(value: object) -> str:
    """A cell as the text a user sees: 12345 not 12345.0, dates in ISO form."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ")
    if hasattr(value, "isoformat") and not isinstance(value, str):
        try:
            return value.isoformat(sep=" ")  # datetime
        except TypeError:
            return value.isoformat()  # date, time
    return str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- interpreting rows


@dataclass
class _Part:
    """One input's contribution to the batch."""

    source: str
    messages: pd.DataFrame  # MESSAGE_COLUMNS, input order
    rejected: pd.DataFrame  # REJECTED_COLUMNS, by row
    input_rows: int
    has_timestamps: bool


def _build_part(
    table: _Table, options: _Options, notes: _Notes, *, has_times: bool | None = None, counts: dict | None = None
) -> _Part:
    """Interpret one input's cells: validate, map roles, parse times, collect rejections.

    ``has_times`` is decided from ``table`` unless given (a chunk of a streamed file gets the
    decision made for the whole file); with ``counts`` the note counting non-numeric seq
    values is not added but its count is added to ``counts["seq_ignored"]``.
    """
    cells, columns = table.cells, table.columns

    def column(name: str) -> pd.Series:
        return cells[columns.positions[name]]

    session = column("session_id").str.strip()
    text = _without_final_cr(column("text"))
    role, role_reason = _roles(table, options, notes)
    if has_times is None:
        has_times = _has_times(table, notes)
    else:
        _note_times(table.columns, table.source, has_times, notes)
    if has_times:
        utc, time_reason = _parse_times(column("timestamp"), options.timezone)
    else:
        utc, time_reason = np.full(len(cells), np.datetime64("NaT", "ns")), _no_reasons(len(cells))
    reason = _first_reason(
        np.where((session == "").to_numpy(), "empty session id", None),
        np.where((text.str.strip() == "").to_numpy(), "empty text", None),
        role_reason,
        time_reason,
    )
    ok = pd.isna(reason).astype(bool)
    agent = _agents(table, role, notes)[ok]
    role = role[ok]
    if columns.has("seq"):
        seq, ignored = _parse_seq(column("seq"))
        if counts is not None:
            counts["seq_ignored"] = counts.get("seq_ignored", 0) + ignored
        elif ignored:
            notes.add(f"{{files}}: {ignored} non-numeric seq value(s) ignored", table.source)
    else:
        seq = np.full(len(cells), np.nan)
    count = int(ok.sum())
    messages = pd.DataFrame(
        {
            "session_id": session[ok].array,
            "text": text[ok].array,
            "role": _str_array(role),
            "timestamp": pd.DatetimeIndex(utc[ok]).tz_localize("UTC").tz_convert(options.timezone),
            "seq": seq[ok],
            "agent": _str_array(agent),
            "source_file": _constant_str(table.source, count),
            "source_row": table.rows[ok],
            "source_sheet": _constant_str(table.sheet, count),
        }
    )
    bad = np.flatnonzero(~ok)  # few rows: take them by position rather than masking every column
    rejected = _rejected_frame(
        [table.source] * len(bad),
        table.rows[bad],
        reason[bad],
        [_clip(",".join(values)) for values in cells.iloc[bad].itertuples(index=False, name=None)],
    )
    if len(table.malformed):
        rejected = pd.concat([rejected, table.malformed], ignore_index=True)
        rejected = rejected.sort_values("row", kind="stable", ignore_index=True)
    return _Part(table.source, messages, rejected, len(cells) + len(table.malformed), has_times)


def _without_final_cr(text: pd.Series) -> pd.Series:
    """The texts without a trailing carriage return (CRLF files read as LF leave one)."""
    if not text.str.endswith("\r").any():  # the usual case: skip rebuilding a million strings
        return text
    return text.str.removesuffix("\r")


def _has_times(table: _Table, notes: _Notes) -> bool:
    """Whether the input has a time column with at least one value (then every row needs one)."""
    columns = table.columns
    has_times = columns.has("timestamp") and _any_time_value(table.cells[columns.positions["timestamp"]])
    _note_times(columns, table.source, has_times, notes)
    return has_times


def _any_time_value(raw: pd.Series) -> bool:
    return bool(len(raw)) and not (raw.str.strip() == "").all()


def _note_times(columns: _ColumnMap, source: str, has_times: bool, notes: _Notes) -> None:
    """The note for an input whose times are not used: no time column, or an empty one."""
    if not columns.has("timestamp"):
        notes.add("no timestamp column in {files}: time-based rules skipped", source)
    elif not has_times:
        # An export template with an unused time column: treat as "no times", not as N rejections.
        label = columns.label("timestamp")
        notes.add(f"time column '{label}' in {{files}} is empty: time-based rules skipped", source)


def _no_reasons(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def _first_reason(*candidates: np.ndarray) -> np.ndarray:
    """Per row, the first rejection reason that applies (None when the row is fine)."""
    reason = candidates[0].astype(object)
    for candidate in candidates[1:]:
        reason = np.where(pd.isna(reason), candidate, reason)
    return reason


def _map_unique(values: pd.Series, function: Callable[[str], object]) -> np.ndarray:
    """Apply ``function`` once per distinct value (exports repeat a few values a million times)."""
    codes, uniques = pd.factorize(values)
    mapped = np.array([function(u) for u in uniques] + [None], dtype=object)
    return mapped[codes]  # code -1 (missing) picks the trailing None


def _roles(table: _Table, options: _Options, notes: _Notes) -> tuple[np.ndarray, np.ndarray]:
    """Role per row (None when unknown) and the reason for rows whose role is unusable."""
    columns, cells = table.columns, table.cells
    if columns.has("role"):
        raw = cells[columns.positions["role"]].str.strip()
        return _roles_from_words(raw, _ROLE_WORDS, "role")
    if columns.has(_FLAG_FIELD):
        label = columns.label(_FLAG_FIELD)
        notes.add(f"no role column in {{files}}: roles taken from '{label}' (1 = agent)", table.source)
        raw = cells[columns.positions[_FLAG_FIELD]].str.strip()
        return _roles_from_words(raw, _FLAG_WORDS, f"{label} value")  # "unknown is_agent value '2'"
    label = columns.label("sender")
    rule = f"matching /{options.agent_regex.pattern}/" if options.agent_regex else "店铺名:客服名"
    notes.add(
        f"no role column in {{files}}: roles inferred from nicknames in '{label}' ({rule} = agent)",
        table.source,
    )
    nicknames = cells[columns.positions["sender"]].str.strip()
    role = _map_unique(nicknames, lambda nick: _role_from_nickname(nick, options.agent_regex))
    reason = np.where((nicknames == "").to_numpy(), "empty sender", None)
    return role, reason


def _roles_from_words(raw: pd.Series, words: Mapping[str, str], what: str) -> tuple[np.ndarray, np.ndarray]:
    """Map stripped values through ``words`` (case-insensitive); reasons name ``what``."""
    role = _map_unique(raw, lambda value: words.get(value.casefold()))
    unknown = pd.isna(role)
    reason = _no_reasons(len(raw))
    reason[unknown] = [f"unknown {what} '{_clip(v, 40)}'" if v else f"empty {what}" for v in raw[unknown]]
    return role, reason


def _role_from_nickname(nickname: str, agent_regex: re.Pattern[str] | None) -> str | None:
    """Role of a sender nickname; an explicit ``agent_pattern`` replaces the sub-account rule."""
    if not nickname:
        return None
    if agent_regex is not None and agent_regex.search(nickname):
        return Role.AGENT.value
    if _SYSTEM_NICKNAME.search(nickname):  # before the sub-account rule: 店铺:机器人小蜜 is a bot
        return Role.SYSTEM.value
    if agent_regex is None and _SUBACCOUNT_NICKNAME.match(nickname):
        return Role.AGENT.value
    return Role.CUSTOMER.value


def _agents(table: _Table, role: np.ndarray, notes: _Notes) -> np.ndarray:
    """Agent per row: as exported; for agent rows without one, the nickname or (unknown)."""
    columns, cells = table.columns, table.cells
    is_agent = role == Role.AGENT.value
    if columns.has("agent"):
        agent = cells[columns.positions["agent"]].str.strip().to_numpy(dtype=object)
        return np.where(is_agent & (agent == ""), UNKNOWN_AGENT, agent)
    if columns.has("sender"):
        label = columns.label("sender")
        notes.add(f"no agent column in {{files}}: agent taken from '{label}'", table.source)
        nickname = cells[columns.positions["sender"]].str.strip().to_numpy(dtype=object)
        return np.where(is_agent, np.where(nickname == "", UNKNOWN_AGENT, nickname), "")
    notes.add(f"no agent column in {{files}}: agent set to {UNKNOWN_AGENT}", table.source)
    return np.where(is_agent, UNKNOWN_AGENT, "").astype(object)


def _parse_seq(raw: pd.Series) -> tuple[np.ndarray, int]:
    """Seq values (NaN when missing or not a number) and how many non-empty ones were ignored."""
    text = raw.str.strip()
    seq = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    ignored = int((np.isnan(seq) & (text != "").to_numpy()).sum())
    return seq, ignored


# --------------------------------------------------------------------------- times


def _parse_times(raw: pd.Series, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC instants (datetime64[ns], NaT when unusable) and a rejection reason per row.

    Whole-column formats run first (one C-level pass for a clean export); only what they
    leave goes through the slower classifiers for offsets, epochs and Excel serials.
    """
    text = raw.str.strip().reset_index(drop=True)
    utc = np.full(len(text), np.datetime64("NaT", "ns"))
    todo = (text != "").to_numpy(dtype=bool, copy=True)
    for fmt in _likely_formats(text[todo]):
        _fill(utc, todo, text, lambda values, fmt=fmt: _to_datetime(values, format=fmt), timezone)
        if not todo.any():
            break
    if todo.any():
        _parse_other_times(text, utc, todo, timezone)
    reason = _no_reasons(len(text))
    empty = (text == "").to_numpy()
    reason[empty] = "empty time"
    failed = np.isnat(utc) & ~empty
    reason[failed] = [f"unparseable time '{_clip(v, 40)}'" for v in text[failed]]
    return utc, reason


def _likely_formats(values: pd.Series) -> list[str]:
    """The naive formats that parse a sample of the column, most successful first."""
    sample = values.iloc[:200]
    if not len(sample):
        return []
    scores = []
    for order, fmt in enumerate(_TIME_FORMATS):
        hits = int(_to_datetime(sample, format=fmt).notna().sum())
        if hits:
            scores.append((-hits, order, fmt))
    return [fmt for *_, fmt in sorted(scores)]


def _parse_other_times(text: pd.Series, utc: np.ndarray, todo: np.ndarray, timezone: str) -> None:
    """Times the sniffed formats left: offsets, epochs, Excel serials, then every other layout."""
    positions = np.flatnonzero(todo)
    rest = text.iloc[positions]
    kinds: list[tuple[pd.Series, Callable[[pd.Series], pd.Series], str | None]] = [
        (rest.str.contains(_OFFSET_TIME, regex=True), _parse_offset_times, None),
        (rest.str.fullmatch(_EPOCH_MILLIS), lambda v: _from_epoch(v, "ms"), None),
        (rest.str.fullmatch(_EPOCH_SECONDS), lambda v: _from_epoch(v, "s"), None),
        (rest.str.fullmatch(_EXCEL_SERIAL), _from_excel_serial, timezone),
    ]
    taken = np.zeros(len(rest), dtype=bool)
    for matches, parser, local in kinds:
        mask = matches.to_numpy(dtype=bool, na_value=False) & ~taken
        taken |= mask
        if mask.any():
            subset = np.zeros(len(text), dtype=bool)
            subset[positions[mask]] = True
            _fill(utc, subset, text, parser, local)
    # Whatever is left is naive text: a layout the sample did not show, or ISO 8601 variants.
    others = np.zeros(len(text), dtype=bool)
    others[positions[~taken]] = True
    for fmt in (*_TIME_FORMATS, *_DIGIT_TIME_FORMATS, "ISO8601"):
        if not others.any():
            break
        _fill(utc, others, text, lambda values, fmt=fmt: _to_datetime(values, format=fmt), timezone)
    todo &= np.isnat(utc)


def _fill(
    utc: np.ndarray,
    todo: np.ndarray,
    text: pd.Series,
    parser: Callable[[pd.Series], pd.Series],
    local: str | None,
) -> None:
    """Parse ``text[todo]`` into ``utc`` and clear what parsed from ``todo``.

    ``local`` is the timezone of naive results; None means they already are UTC.
    """
    where = np.flatnonzero(todo)
    parsed = pd.DatetimeIndex(parser(text.iloc[where]))
    if parsed.tz is not None:
        parsed = parsed.tz_convert("UTC").tz_localize(None)
    in_range = np.asarray((parsed >= _TIME_MIN) & (parsed < _TIME_MAX), dtype=bool)
    if not in_range.any():
        return
    instants = parsed[in_range]
    if local is not None:
        # DST gaps shift forward; repeated hours take the first (summer-time) reading.
        instants = (
            instants.tz_localize(
                local, ambiguous=np.ones(len(instants), dtype=bool), nonexistent="shift_forward"
            )
            .tz_convert("UTC")
            .tz_localize(None)
        )
    utc[where[in_range]] = instants.as_unit("ns").to_numpy()
    todo[where[in_range]] = False


def _to_datetime(values: pd.Series, **kwargs: object) -> pd.Series:
    """pd.to_datetime with errors="coerce" that never raises: bad values become NaT."""
    try:
        return pd.to_datetime(values, errors="coerce", **kwargs)
    except (ValueError, TypeError, OverflowError):
        # A whole-column call can still raise (mixed offsets, overflow): go value by value.
        parsed = {value: _to_datetime_one(value, kwargs) for value in pd.unique(values)}
        dtype = "datetime64[ns, UTC]" if kwargs.get("utc") else "datetime64[ns]"
        return pd.Series([parsed[v] for v in values], index=values.index, dtype=dtype)


def _to_datetime_one(value: object, kwargs: dict[str, object]) -> pd.Timestamp:
    try:
        stamp = pd.to_datetime(value, errors="coerce", **kwargs)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if stamp is pd.NaT or not _TIME_MIN <= stamp.tz_localize(None) < _TIME_MAX:
        return pd.NaT
    return stamp


def _parse_offset_times(values: pd.Series) -> pd.Series:
    return _to_datetime(values, format="ISO8601", utc=True)


def _from_epoch(values: pd.Series, unit: str) -> pd.Series:
    return _to_datetime(pd.to_numeric(values, errors="coerce"), unit=unit)


def _from_excel_serial(values: pd.Series) -> pd.Series:
    days = pd.to_numeric(values, errors="coerce")
    days = days.where((days >= 20000) & (days < 80000))  # 1954..2119: plausible chat dates
    # Day fractions are binary floats: round away the nanosecond noise (46346.58 -> 13:55:12).
    return (pd.Timestamp("1899-12-30") + pd.to_timedelta(days, unit="D")).dt.round("ms")


# --------------------------------------------------------------------------- output


def _clip(value: str, limit: int = _RAW_LIMIT) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _rejected_frame(
    files: Sequence[str], rows: Sequence[int], reasons: Sequence[str], raws: Sequence[str]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": pd.Series(list(files), dtype="str"),
            "row": pd.Series(np.asarray(rows, dtype=np.int64), dtype="int64"),
            "reason": pd.Series(list(reasons), dtype="str"),
            "raw": pd.Series(list(raws), dtype="str"),
        },
        columns=REJECTED_COLUMNS,
    )


def _str_array(values: np.ndarray | pd.Series) -> pd.api.extensions.ExtensionArray:
    """Values as pandas' str dtype, via codes of distinct values (a million rows repeat few)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(codes, type=pa.int32()), pa.array(uniques, type=pa.string())
    )
    return pd.array(dictionary.cast(pa.string()), dtype="str")


def _constant_str(value: str, length: int) -> pd.api.extensions.ExtensionArray:
    codes = pa.array(np.zeros(length, dtype=np.int32))
    return pd.array(pa.DictionaryArray.from_arrays(codes, pa.array([value])).cast(pa.string()), dtype="str")


def _empty_messages(timezone: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "session_id": pd.Series([], dtype="str"),
            "text": pd.Series([], dtype="str"),
            "role": pd.Series([], dtype="str"),
            "timestamp": pd.Series([], dtype=pd.DatetimeTZDtype("ns", timezone)),
            "seq": pd.Series([], dtype="float64"),
            "agent": pd.Series([], dtype="str"),
            "source_file": pd.Series([], dtype="str"),
            "source_row": pd.Series([], dtype="int64"),
            "source_sheet": pd.Series([], dtype="str"),
        }
    )


def _assemble(parts: list[_Part], options: _Options, notes: _Notes) -> IngestResult:
    """Concatenate the inputs, sort once (stable: input order breaks ties) and fix dtypes."""
    frames = [p.messages for p in parts if len(p.messages)]
    if frames:
        messages = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        # The input position (file order, then row) is the last key, so ties keep input order
        # whatever algorithm pandas picks for a multi-column sort.
        messages["_order"] = np.arange(len(messages))
        messages = messages.sort_values(
            ["session_id", "timestamp", "seq", "_order"], kind="stable", na_position="last"
        ).reset_index(drop=True)
        messages = messages[MESSAGE_COLUMNS]
    else:
        messages = _empty_messages(options.timezone)
    rejected_frames = [p.rejected for p in parts if len(p.rejected)]
    rejected = pd.concat(rejected_frames, ignore_index=True) if rejected_frames else empty_rejected()
    return IngestResult(
        messages=messages,
        rejected=rejected,
        input_rows=sum(p.input_rows for p in parts),
        files=[p.source for p in parts],
        has_timestamps=any(p.has_timestamps for p in parts),
        notes=notes.render(),
    )


# --------------------------------------------------------------------------- streaming

#: Column of :class:`IngestChunk` messages: the row's position among all audited rows of all
#: inputs in input order (file order, then row), i.e. the tie-breaker of the canonical sort.
ORDER_COLUMN = "input_order"
#: Default rows per chunk of :func:`stream_inputs`.
CHUNK_ROWS = 250_000
# pyarrow's streaming block: small blocks keep its read-ahead small (32 MB blocks cost ~500 MB
# of RSS and were slower); blocks are gathered into chunks of chunk_rows.
_BLOCK_BYTES = 4 << 20


@dataclass
class IngestChunk:
    """A piece of the streamed inputs: audited rows in input order, and the rows refused."""

    messages: pd.DataFrame  # MESSAGE_COLUMNS + ORDER_COLUMN, input order, not sorted
    rejected: pd.DataFrame  # REJECTED_COLUMNS, by file then row


class StreamedInputs:
    """The inputs of :func:`stream_inputs`, read one chunk at a time.

    Iterating gives :class:`IngestChunk` objects in input order; once iterated, ``input_rows``,
    ``files``, ``has_timestamps`` and ``notes`` equal what :func:`load_inputs` reports, and
    the chunks' messages and rejected rows, concatenated, are its message table before the
    sort (sorting them by session, time, seq and :data:`ORDER_COLUMN` gives it exactly) and
    its rejected table.
    """

    def __init__(self, paths: list[str], options: _Options, chunk_rows: int) -> None:
        self.paths = paths
        self.input_rows = 0
        self.files: list[str] = []
        self.has_timestamps = False
        self.notes: list[str] = []
        self._options = options
        self._chunk_rows = max(1, int(chunk_rows))

    def __iter__(self) -> Iterator[IngestChunk]:
        notes = _Notes()
        order = 0
        for path in self.paths:
            for part in _stream_file(path, self._options, notes, self._chunk_rows):
                messages = part.messages
                messages[ORDER_COLUMN] = np.arange(order, order + len(messages), dtype=np.int64)
                order += len(messages)
                self.input_rows += part.input_rows
                self.has_timestamps |= part.has_timestamps
                yield IngestChunk(messages, part.rejected)
            self.files.append(path)
        self.notes = notes.render()


def stream_inputs(
    inputs: Sequence[str],
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    timezone: str = "Asia/Shanghai",
    agent_pattern: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    excel_limits: ExcelLimits | None = None,
) -> StreamedInputs:
    """Like :func:`load_inputs`, but without holding the inputs in memory: the rows come in
    chunks of at most ``chunk_rows`` (for out-of-core audits of inputs larger than memory).

    Delimited files are parsed by pyarrow's streaming reader (or, when a file has rows with
    the wrong number of fields, by :mod:`csv`, as :func:`load_inputs` does); each file is
    scanned once before its chunks are made, to choose the parser and to decide whether its
    time column is used. Excel sheets are read whole (a sheet holds at most ~1M rows) and
    then cut into chunks. Arguments are checked, and inputs expanded, before returning.
    """
    options = _make_options(columns, encoding, sheet, timezone, agent_pattern, excel_limits)
    return StreamedInputs(_expand_inputs(inputs), options, chunk_rows)


def _stream_file(path: str, options: _Options, notes: _Notes, chunk_rows: int) -> Iterator[_Part]:
    """One input as parts of at most ``chunk_rows`` rows; its notes go to ``notes`` in the
    order :func:`load_inputs` adds them (read notes, then interpretation notes)."""
    read_notes = _Notes()  # notes of reading: encoding, sheet (blank rows are counted)
    build_notes = _Notes()  # notes of interpreting: the same for every chunk, kept once
    counts: dict[str, int] = {}
    if path.lower().endswith(EXCEL_EXTENSIONS):
        table = _read_excel(path, options, read_notes)
        tables: Iterator[_Table] = _table_slices(table, chunk_rows)
        has_times = _has_times(table, _Notes())
    else:
        reader = _DelimitedStream(path, options, chunk_rows)
        tables = reader.tables()
        has_times = reader.has_times
        _note_skipped(read_notes, path, reader.blank, reader.headers)
        if reader.encoding == "gb18030":
            read_notes.add("read {files} as GB18030 (GBK)", path)
        elif reader.encoding not in ("utf-8", "utf-8-sig"):
            read_notes.add(f"read {{files}} as {reader.encoding}", path)
    for index, table in enumerate(tables):
        yield _build_part(table, options, build_notes if index == 0 else _Notes(), has_times=has_times, counts=counts)
    for collected in (read_notes, build_notes):
        for template, sources in collected._sources.items():
            for source in sources:
                notes.add(template, source)
    if counts.get("seq_ignored"):
        notes.add(f"{{files}}: {counts['seq_ignored']} non-numeric seq value(s) ignored", path)


def _table_slices(table: _Table, rows: int) -> Iterator[_Table]:
    """``table`` cut into tables of at most ``rows`` rows (always at least one table)."""
    total = len(table.cells)
    for start in range(0, max(total, 1), rows):
        piece = slice(start, start + rows)
        malformed = table.malformed if start == 0 else empty_rejected()
        yield _Table(
            table.source, table.sheet, table.columns, table.cells.iloc[piece].reset_index(drop=True),
            table.rows[piece], malformed,
        )


class _DelimitedStream:
    """A delimited file read in chunks with the decisions :func:`_read_delimited` makes.

    The constructor reads the head (encoding, delimiter, header, columns) and scans the file
    once: which parser (pyarrow, or :mod:`csv` when a row has the wrong number of fields),
    whether the time column has any value, and that there are data rows.
    """

    def __init__(self, path: str, options: _Options, chunk_rows: int) -> None:
        self.path = path
        self.options = options
        self.chunk_rows = chunk_rows
        self._report_as: str | None = None
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as handle:
                raw_head = handle.read(_HEAD_BYTES)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not size:
            raise InputError(f"{path} is empty")
        self.encoding = _stream_encoding(path, raw_head, options.encoding)
        try:
            self._scan()
        except _NotUtf8:
            if options.encoding or self.encoding != "utf-8":
                raise InputError(_bad_byte_message(path, self.encoding, hint=False)) from None
            self.encoding, self._report_as = "gb18030", "utf-8"
            self._scan()

    # -- reading UTF-8 bytes whatever the file's encoding

    def _open(self) -> io.RawIOBase:
        return _Utf8Reader(self.path, self.encoding, self._report_as)

    def _scan(self) -> None:
        path = self.path
        with self._open() as stream:
            data_head = stream.read(_HEAD_BYTES)
            at_end = not stream.read(1)
        if not data_head or (data_head.isspace() and (at_end or self._all_space())):
            raise InputError(f"{path} is empty")
        head = _decode_head_of(data_head, at_end)
        self.delimiter = "\t" if path.lower().endswith(".tsv") else _sniff_delimiter(head)
        self.header = next(csv.reader(io.StringIO(head, newline=""), delimiter=self.delimiter), [])
        self.columns = _resolve_columns(self.header, self.options.columns, path)
        self.exact = not self._scan_fast()
        if self.exact:
            self._scan_exact()
        if not self.data_rows and not self.malformed_rows:
            raise InputError(f"{path} has no data rows (only a header)")

    def _all_space(self) -> bool:
        with self._open() as stream:
            while block := stream.read(1 << 20):
                if not block.isspace():
                    return False
        return True

    def _time_position(self) -> int | None:
        return self.columns.positions.get("timestamp")

    # -- the pyarrow path

    def _arrow_reader(self, stream: io.RawIOBase, handler: Callable | None, include: list[str] | None = None):
        return pa_csv.open_csv(
            pa.PythonFile(stream, mode="r"),
            read_options=pa_csv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=True),
            parse_options=pa_csv.ParseOptions(
                delimiter=self.delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=handler,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in self.header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=include or [],
            ),
        )

    def _scan_fast(self) -> bool:
        """Scan with pyarrow; False when :func:`_parse_fast` would give up on this file."""
        malformed = 0

        def count_malformed(_row: object) -> str:
            nonlocal malformed
            malformed += 1
            return "skip"

        time_at = self._time_position()
        width = len(self.header)
        self.has_times = False
        self.data_rows = self.malformed_rows = self.blank = self.headers = 0
        try:
            with self._open() as stream:
                schema = self._arrow_reader(stream, count_malformed).schema
            if len(schema) != width or any(not pa.types.is_string(t) for t in schema.types):
                return False
            names = schema.names
            last: pa.RecordBatch | None = None
            # Scan every column for blank rows; the time column decides has_times.
            with self._open() as stream:
                for batch in self._arrow_reader(stream, count_malformed):
                    if malformed:
                        return False
                    if last is not None and _quote_trouble(last.columns, self.delimiter, width, ends_file=False):
                        return False
                    last = batch
                    blank = np.ones(batch.num_rows, dtype=bool)
                    for column in batch.columns:
                        blank &= _equals_empty(column)
                        if not blank.any():
                            break
                    # the rows _tidy takes out: blank, repeated header (counted), NUL (rejected)
                    repeated = _header_mask(batch.columns, self.header) & ~blank
                    nul = _nul_mask(batch.columns) & ~blank & ~repeated if stream.saw_nul else repeated & False
                    skip = blank | repeated | nul
                    self.blank += int(blank.sum())
                    self.headers += int(repeated.sum())
                    self.malformed_rows += int(nul.sum())
                    self.data_rows += batch.num_rows - int(skip.sum())
                    if time_at is not None and not self.has_times:
                        # the test of _any_time_value (pandas' str.strip is this kernel)
                        stripped = pa_compute.utf8_trim_whitespace(batch.column(names[time_at]))
                        self.has_times = bool((~_equals_empty(stripped) & ~skip).any())
            if last is not None and _quote_trouble(last.columns, self.delimiter, width, ends_file=True):
                return False
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc):
                raise _NotUtf8 from None
            return False
        return not malformed

    def _fast_tables(self) -> Iterator[_Table]:
        """Chunks of exactly ``chunk_rows`` rows (the last one shorter), gathered from blocks."""
        record = 0
        pending: pa.Table | None = None
        with self._open() as stream:
            batches = iter(self._arrow_reader(stream, None))
            done = False
            while not done:
                batch = next(batches, None)
                done = batch is None
                if batch is not None:
                    batch = pa.Table.from_batches([batch.rename_columns([str(i) for i in range(batch.num_columns)])])
                    pending = batch if pending is None else pa.concat_tables([pending, batch])
                if pending is None or (not done and pending.num_rows < self.chunk_rows):
                    continue
                if done and not pending.num_rows:
                    break
                size = pending.num_rows if done else pending.num_rows - pending.num_rows % self.chunk_rows
                table, pending = pending.slice(0, size), pending.slice(size)
                cells = table.to_pandas()
                del table
                cells.columns = range(len(self.header))
                rows = np.arange(record + 2, record + 2 + len(cells), dtype=np.int64)
                record += len(cells)
                yield from _table_slices(self._tidy_table(cells, rows, stream.saw_nul), self.chunk_rows)
        if not record:  # a file with a header only still makes one (empty) chunk
            yield self._tidy_table(_empty_cells(len(self.header)), np.zeros(0, dtype=np.int64), False)

    def _tidy_table(self, cells: pd.DataFrame, rows: np.ndarray, nul: bool) -> _Table:
        cells, rows, rejected, _blank, _headers = _tidy(self.path, cells, rows, self.header, nul=nul)
        return _Table(self.path, "", self.columns, cells, rows, rejected)

    # -- the csv path (files with malformed rows or a stray quote)

    def _records(self) -> Iterator[tuple[int, int, object]]:
        with self._open() as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")
            try:
                yield from _exact_rows(text, self.delimiter, self.header)
            except UnicodeDecodeError:
                raise _NotUtf8 from None

    def _scan_exact(self) -> None:
        time_at = self._time_position()
        self.has_times = False
        self.data_rows = self.malformed_rows = self.blank = self.headers = 0
        for kind, _row, value in self._records():
            if kind == _BLANK:
                self.blank += 1
            elif kind == _HEADER:
                self.headers += 1
            elif kind == _BAD:
                self.malformed_rows += 1
            else:
                self.data_rows += 1
                if time_at is not None and not self.has_times and value[time_at].strip():
                    # the same test as _any_time_value, value by value
                    self.has_times = bool(pd.Series([value[time_at]], dtype="str").str.strip().iloc[0])

    def _exact_tables(self) -> Iterator[_Table]:
        width = len(self.header)
        good: list[list[str]] = []
        rows: list[int] = []
        bad: list[tuple[int, str, str]] = []

        def table() -> _Table:
            cells = pd.DataFrame(good, columns=range(width), dtype="str") if good else _empty_cells(width)
            malformed = (
                _rejected_frame([self.path] * len(bad), *zip(*bad, strict=True)) if bad else empty_rejected()
            )
            return _Table(self.path, "", self.columns, cells, np.asarray(rows, dtype=np.int64), malformed)

        made = False
        for kind, row, value in self._records():
            if kind == _GOOD:
                good.append(value)
                rows.append(row)
            elif kind == _BAD:
                bad.append((row, *value))
            else:
                continue
            if len(good) + len(bad) >= self.chunk_rows:
                yield table()
                made = True
                good, rows, bad = [], [], []
        if good or bad or not made:
            yield table()

    def tables(self) -> Iterator[_Table]:
        """The file's data rows as tables of at most ``chunk_rows`` rows, in file order."""
        return self._exact_tables() if self.exact else self._fast_tables()


def _equals_empty(column: pa.Array) -> np.ndarray:
    """Whether each value of a string column is the empty string."""
    return np.asarray(pa_compute.equal(column, "").to_numpy(zero_copy_only=False), dtype=bool)


def _stream_encoding(path: str, head: bytes, forced: str | None) -> str:
    """The encoding :func:`_detect_encoding` would choose, decided from the file's head."""
    if forced:
        return forced
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if head.startswith(bom):
            return name
    _refuse_binary(path, head)
    try:
        _decode_head_of(head, len(head) < _HEAD_BYTES)
    except _NotUtf8:
        return "gb18030"
    return "utf-8"


def _decode_head_of(head: bytes, final: bool) -> str:
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(head, final=final)
    except UnicodeDecodeError:
        raise _NotUtf8 from None


class _Utf8Reader(io.RawIOBase):
    """A file's content as UTF-8 bytes without BOMs, decoding other encodings strictly on the fly
    (the streaming counterpart of :func:`_transcode`). ``saw_nul`` tells whether a NUL has been
    read so far."""

    def __init__(self, path: str, encoding: str, report_as: str | None = None) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._path = path
        self._encoding = encoding
        self._report_as = report_as
        self._pending = bytearray()
        self._started = False
        self._decoder = None
        self._held = b""  # the start of a UTF-8 BOM cut by a read boundary
        self.saw_nul = False
        if encoding in ("utf-8", "utf-8-sig"):
            if self._file.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
                self._file.seek(0)
        else:
            self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = (1 << 62) if size is None or size < 0 else size
        while len(self._pending) < want:
            raw = self._file.read(min(max(want - len(self._pending), 1 << 16), 1 << 24))
            self._pending += self._utf8_of(raw)
            if not raw:
                break
        out = bytes(self._pending[:want])
        del self._pending[:want]
        return out

    def _utf8_of(self, raw: bytes) -> bytes:
        """The next raw bytes as UTF-8 without BOMs (b"" at the end: ``raw`` is b"")."""
        if self._decoder is None:
            data, self._held = self._held + raw, b""
            if raw:  # the last bytes may begin a BOM that the next read completes
                for cut in (2, 1):
                    if data.endswith(codecs.BOM_UTF8[:cut]):
                        data, self._held = data[:-cut], data[-cut:]
                        break
            if b"\x00" in data:
                self.saw_nul = True
            return data.replace(codecs.BOM_UTF8, b"")
        try:
            text = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            hint = self._encoding == "gb18030"
            raise InputError(_bad_byte_message(self._path, self._report_as or self._encoding, hint=hint)) from None
        if not self._started and text:
            self._started = True
            if _mostly_nul(text[:_HEAD_BYTES]):
                raise InputError(f"cannot read {self._path}: not a text file (binary content)")
        if "\x00" in text:
            self.saw_nul = True
        return text.replace("\ufeff", "").encode("utf-8")

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
