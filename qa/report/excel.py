"""The Excel workbook a QA supervisor opens every morning (xlsxwriter).

Sheets, Chinese by default and English with ``lang="en"``:

========  ===========  ==============================================================
zh        en           content
========  ===========  ==============================================================
概览      Summary      inputs, period, rows, rules version, findings per rule, agents
                       most in need of coaching, charts
客服评分  Agents       one row per agent, worst first: score, metrics, findings per rule,
                       credits for good practice per credit (count, per 100 sessions)
违规明细  Findings     one row per finding, matched fragment red and bold in the message,
                       empty Review (drop-down) and Comment columns for the trainer
亮点      Highlights   one row per credit for good practice (qa.credits), the credited
                       fragment marked in the message, the customer message it answered
会话      Sessions     one row per session, worst first
对话记录  Transcripts  the flagged sessions in full, worst first, flagged lines marked
规则      Rules        every rule with its parameters, points and veto; skipped rules
异常行    Rejected     every rejected input row
趋势      Trends       with a history (``trends``), after Agents: each agent's score and
                       each rule's findings per 100 sessions over the last runs, line charts
qa_data   qa_data      very hidden: the data ``qa review`` rescores from (:mod:`qa.review`)
========  ===========  ==============================================================

The Findings sheet's last column is the stable finding id (编号 / ID) that keys the trainer's
verdicts; the Rules sheet lists findings suppressed by ``--suppress`` files.
:func:`write_review_workbook` writes the workbook of ``qa review`` (复核结果 / Review, Agents,
Findings, Sessions with scores before and after review, Trends).

Safety: chat text never becomes a formula or a link. Every text cell is written with
``write_string`` (never ``write``) and the workbook is opened with ``strings_to_formulas``,
``strings_to_urls`` and ``strings_to_numbers`` off. Personal data is masked (:mod:`qa.mask`)
unless ``mask=False``. The file is written to a temporary name and renamed.

Speed: detail sheets are bounded (:data:`MAX_DETAIL_ROWS`, transcripts by
:data:`MAX_TRANSCRIPT_SESSIONS` / :data:`MAX_TRANSCRIPT_LINES`); their columns are
prepared with pandas and their rows' XML built in one loop (:class:`_Cells`,
:class:`_BulkSheet`), about ten times faster than xlsxwriter's per-cell calls; if
xlsxwriter's internals ever change, the same columns go through its public API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from qa.errors import OutputError
from qa.identity import finding_ids
from qa.mask import maybe_mask, result_masker
from qa.metrics import metrics_note
from qa.model import UNKNOWN_AGENT, AuditResult, audit_period, naive_times
from qa.report import MAX_DETAIL_ROWS
from qa.report.files import atomic_write
from qa.review import DATA_SHEET, REVIEW_CHOICES, build_run_data, data_chunks
from qa.rules import rule_label as _rule_label
from qa.rules import rule_names, rules_hash
from qa.score import Scoring, default_scoring

MAX_TRANSCRIPT_SESSIONS = 200
MAX_TRANSCRIPT_LINES = 20_000
COACHING_AGENTS = 5
CHART_AGENTS = 20
MAX_SUPPRESSED_ROWS = 10_000  # suppressed findings listed on the Rules sheet
TREND_CHART_SERIES = 12  # agents drawn in the Trends chart (the lowest latest scores)
TRENDS_SHEET = ("趋势", "Trends")
# Excel refuses cells longer than 32,767 characters.
MAX_CELL_CHARS = 32_000

LANGS = ("zh", "en")

SHEETS = {
    "summary": ("概览", "Summary"),
    "agents": ("客服评分", "Agents"),
    "findings": ("违规明细", "Findings"),
    "highlights": ("亮点", "Highlights"),
    "sessions": ("会话", "Sessions"),
    "transcripts": ("对话记录", "Transcripts"),
    "rules": ("规则", "Rules"),
    "rejected": ("异常行", "Rejected"),
}

WORDS = {
    # headers
    "agent": ("客服", "Agent"),
    "score": ("得分", "Score"),
    "sessions": ("会话数", "Sessions"),
    "messages_sent": ("发送消息数", "Messages sent"),
    "customer_messages": ("客户消息数", "Customer messages"),
    "frt_median": ("首次响应时间中位数(秒)", "First response, median (s)"),
    "frt_mean": ("首次响应时间平均(秒)", "First response, mean (s)"),
    "art": ("平均响应时长(秒)", "Average response time (s)"),
    "reply_rate": ("回复率", "Reply rate"),
    "qa_ratio": ("问答比", "Q/A ratio"),
    "findings": ("违规数", "Findings"),
    "per100": ("每百会话违规", "Findings per 100 sessions"),
    "rule_count": ("{label} 次数", "{label}: count"),
    "rule_per100": ("{label} 每百会话", "{label}: per 100 sessions"),
    "vetoes": ("一票否决次数", "Vetoes"),
    "time": ("时间", "Time"),
    "session": ("会话", "Session"),
    "rule": ("规则", "Rule"),
    "severity": ("严重程度", "Severity"),
    "reason": ("原因", "Reason"),
    "message_marked": ("消息（命中片段标红）", "Message (match in red)"),
    "context": ("客户消息（所回复的）", "Customer message (answered)"),
    "file": ("文件", "File"),
    "row": ("行号", "Row"),
    "review": ("复核", "Review"),
    "comment": ("备注", "Comment"),
    "started": ("开始时间", "Started"),
    "messages": ("消息数", "Messages"),
    "longest_wait": ("最长客户等待(秒)", "Longest customer wait (s)"),
    "rules_hit": ("违规规则", "Rules"),
    "veto": ("一票否决", "Veto"),
    "role": ("角色", "Role"),
    "sender": ("发送者", "Sender"),
    "message": ("消息", "Message"),
    "name": ("名称", "Name"),
    "check": ("检查类型", "Check type"),
    "points": ("扣分", "Points"),
    "status": ("状态", "Status"),
    "params": ("参数", "Parameters"),
    "what": ("说明", "What it checks"),
    "origin": ("来源", "Origin"),
    "config_file": ("配置文件", "Config file"),
    "rule_packs": ("规则包", "Rule packs"),
    "raw": ("原始内容", "Raw content"),
    "count": ("违规数", "Findings"),
    "agents_involved": ("涉及客服数", "Agents involved"),
    "main_issue": ("主要问题", "Main issue"),
    # summary
    "title": ("客服质检报告", "Customer-service QA report"),
    "inputs": ("输入文件", "Inputs"),
    "period": ("时间范围", "Period covered"),
    "rows_read": ("读取行数", "Rows read"),
    "rows_audited": ("审核行数", "Rows audited"),
    "rows_rejected": ("异常行数（见“异常行”）", "Rows rejected (see Rejected)"),
    "n_sessions": ("会话数", "Sessions"),
    "n_agents": ("客服数", "Agents"),
    "n_findings": ("违规数", "Findings"),
    "rules_version": ("规则版本", "Rules version"),
    "timezone": ("时区", "Timezone"),
    "scoring": ("评分方法", "Scoring"),
    "privacy": ("个人信息", "Personal data"),
    "notes": ("说明", "Notes"),
    "per_rule_title": ("各规则违规数", "Findings per rule"),
    "coaching_title": ("最需辅导的客服", "Agents most in need of coaching"),
    "chart_rules": ("各规则违规数", "Findings per rule"),
    "chart_agents": ("得分最低的客服", "Lowest-scoring agents"),
    "skipped_title": ("未运行的规则", "Rules skipped"),
    "scoring_title": ("评分参数", "Scoring parameters"),
    # values
    "masked": ("已脱敏（手机号、固定电话、身份证号、邮箱只保留部分字符）",
               "masked (mobile and landline numbers, ID-card numbers, e-mail keep a part)"),
    "unmasked": ("未脱敏（--no-mask）", "not masked (--no-mask)"),
    "no_times": ("无时间信息", "no times in the input"),
    "yes": ("是", "yes"),
    "applied": ("已运行", "applied"),
    "skipped": ("未运行：{reason}", "skipped: {reason}"),
    "scoring_text": (
        "每个会话100分起，每条违规按严重程度扣分（{points}），最低0分；一票否决的违规使会话得0分。客服得分 = 其会话得分的平均值。",
        "Each session starts at 100 and loses each finding's points ({points}), floor 0; a veto finding sets the session to 0. Agent score = mean of their session scores.",
    ),
    "veto_any": ("任何违规", "any finding"),
    "veto_from": ("{severity}及以上", "{severity} or worse"),
    "findings_capped": (
        "违规共 {total} 条，本表只列出前 {shown} 条；完整清单请用 --findings-csv 导出。",
        "{total} findings; this sheet lists the first {shown}. Use --findings-csv for the complete list.",
    ),
    "rows_capped": (
        "共 {total} 行，本表只列出前 {shown} 行；完整数据见 JSON 结果（--json）。",
        "{total} rows; this sheet lists the first {shown}. The JSON result (--json) has them all.",
    ),
    "transcripts_note": (
        "有违规的会话全文，得分从低到高；共 {flagged} 个，列出 {shown} 个。违规行标红，命中片段红色加粗。",
        "Full text of the flagged sessions, worst first: {flagged} flagged, {shown} shown. Flagged lines are shaded, the matched fragment red and bold.",
    ),
    "session_banner": (
        "会话 {session} · 客服 {agent} · 得分 {score} · 违规 {findings} 条",
        "Session {session} · agent {agent} · score {score} · {findings} findings",
    ),
    "and_more": ("……另有 {n} 个", "... and {n} more"),
    "scoring_file": ("评分文件", "Scoring file"),
    "items": ("{n} 项", "{n} items"),
    # finding ids, suppressions, trends
    "finding_id": ("编号", "ID"),
    "suppressed_title": ("已屏蔽的违规（--suppress，共 {n} 条；不计入违规和得分）",
                         "Suppressed findings (--suppress, {n}; not counted in findings or scores)"),
    "suppressed_note": ("{n} 条违规被屏蔽文件排除（见“规则”表）", "{n} findings suppressed (see Rules)"),
    "suppressed_capped": ("共 {total} 条，列出前 {shown} 条；完整清单见 JSON 结果（--json）。",
                          "{total} suppressed; the first {shown} are listed. The JSON result (--json) has them all."),
    "suppression": ("屏蔽条目", "Suppression"),
    "suppression_reason": ("屏蔽原因", "Why suppressed"),
    "trends_title": ("趋势：最近 {n} 次运行（共 {total} 次）", "Trends: the last {n} runs (of {total})"),
    "trends_note": (
        "历史文件 {path}。按所审核的时间排序；已复核的运行显示复核后的得分和违规率（误报不计）。",
        "History file {path}. Runs in the order of the period audited; reviewed runs show scores and rates after review (false positives excluded).",
    ),
    "history_note": ("本次运行已记入历史 {path}（{label}）", "This run is recorded in the history {path} ({label})"),
    "run": ("运行", "Run"),
    "ran_at": ("运行时间", "Ran at"),
    "reviewed_at": ("复核时间", "Reviewed"),
    "runs_title": ("运行记录", "Runs"),
    "agent_trend_title": ("客服得分", "Agent scores"),
    "rule_trend_title": ("各规则每百会话违规数", "Findings per 100 sessions by rule"),
    "suppressed_count": ("已屏蔽", "Suppressed"),
    # credits for good practice
    "credit": ("亮点", "Credit"),
    "credit_count": ("亮点：{label} 次数", "Credit {label}: count"),
    "credit_per100": ("亮点：{label} 每百会话", "Credit {label}: per 100 sessions"),
    "message_credited": ("消息（亮点片段标出）", "Message (credited part marked)"),
    "highlights_note": (
        "良好做法（亮点）与违规并列显示，不抵消违规；只有在 scoring.toml 的 [credits] 中设置了分数时才加分（本次：{bonus}）。",
        "Good practice, shown beside the findings, never hiding them; it earns points only when scoring.toml sets [credits] points (this run: {bonus}).",
    ),
    "bonus_off": ("不加分", "no bonus"),
    "bonus_on": ("每会话最多加 {max} 分", "at most {max} points per session"),
    "credits_capped": (
        "亮点共 {total} 条，本表只列出前 {shown} 条；完整清单见 JSON 结果（--json）。",
        "{total} credits; this sheet lists the first {shown}. The JSON result (--json) has them all.",
    ),
}

SEVERITY = {"minor": ("轻微", "minor"), "major": ("严重", "major"), "critical": ("致命", "critical")}
ROLE = {"customer": ("客户", "customer"), "agent": ("客服", "agent"), "system": ("系统", "system")}

_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "ns")
_NS_PER_DAY = 86_400 * 1_000_000_000


def _word(key: str, lang: str, **values: Any) -> str:
    text = WORDS[key][0 if lang == "zh" else 1]
    return text.format(**values) if values else text


def _pick(pair: tuple[Any, Any], lang: str) -> Any:
    return pair[0 if lang == "zh" else 1]


def _severity(value: str, lang: str) -> str:
    pair = SEVERITY.get(value)
    return _pick(pair, lang) if pair else str(value)


# ---------------------------------------------------------------------------------------
# Column preparation (vectorised)


def _excel_dates(values: pd.Series) -> np.ndarray:
    """Excel serial day numbers (float, NaN for missing) of naive or aware timestamps;
    aware ones are shown in their own timezone's wall time."""
    if len(values) == 0:
        return np.array([], dtype="float64")
    values = naive_times(pd.to_datetime(values, errors="coerce"))
    array = values.to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(array)
    serial = (array.view("int64") - _EXCEL_EPOCH.view("int64")) / _NS_PER_DAY
    serial[missing] = np.nan
    return serial


# Row heights for wrapped text: Excel, WPS and LibreOffice do not all re-fit rows when they
# open a file, so detail rows get an estimated height (a CJK character is about 1.8 column
# width units; 16 points a line; at most MAX_ROW_LINES lines, the cell holds the rest).
_POINTS_PER_LINE = 16.0
_UNITS_PER_CHAR = 1.8
MAX_ROW_LINES = 8


def _row_heights(wrapped: list[tuple[pd.Series, float]]) -> list[float | None]:
    """Estimated heights of rows whose wrapped cells hold ``(texts, column width)``."""
    if not wrapped:
        return []
    lines = np.ones(len(wrapped[0][0]))
    for texts, width in wrapped:
        per_line = max(width / _UNITS_PER_CHAR, 1.0)
        lengths = texts.str.len().to_numpy(dtype="float64", na_value=0.0)
        breaks = texts.str.count("\n").to_numpy(dtype="float64", na_value=0.0)
        lines = np.maximum(lines, np.ceil(lengths / per_line) + breaks)
    lines = np.clip(lines, 1, MAX_ROW_LINES)
    return [None if n <= 1 else n * _POINTS_PER_LINE for n in lines.tolist()]


_CUT_MARK = ("[已截断 {n} 字]", "[truncated {n} chars]")


def _units(text: str) -> int:
    """Length in UTF-16 units, as Excel counts (an emoji is two)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _cut(n: int, lang: str) -> str:
    return _pick(_CUT_MARK, lang).format(n=f"{n:,}")


def _fit_cell(text: str, lang: str = "zh") -> str:
    """``text`` cut to MAX_CELL_CHARS UTF-16 units, ending in a mark that says how many
    characters were cut (Excel refuses longer cells)."""
    units = 0
    for position, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > MAX_CELL_CHARS:
            return text[:position] + "…" + _cut(len(text) - position, lang)
    return text



def _detail_cells(part: pd.DataFrame, lang: str):
    """Reason, message, context and the marked message of finding-like rows (findings, credits):
    the message is cut around its marked span so the highlight stays visible."""
    reasons = _cell_text(part["reason"], False, lang)
    texts = _cell_text(part["text"], False, lang, cut=False)
    contexts = _cell_text(part["context_text"], False, lang)
    marked = [
        _fit_marked(*cell, lang)
        for cell in zip(
            _as_list(texts),
            _as_list(part["span_start"].fillna(-1).astype("int64")),
            _as_list(part["span_end"].fillna(-1).astype("int64")),
        )
    ]
    return reasons, texts, contexts, marked

def _fit_marked(text: str, start: int, end: int, lang: str) -> tuple[str, int, int]:
    """A highlighted cell ``(text, start, end)`` within Excel's limit. When the match lies
    beyond the head that fits, the cell shows a window of the text around the match instead,
    each cut end marked, so that the highlighted fragment stays visible."""
    if len(text) <= MAX_CELL_CHARS // 2 or _units(text) <= MAX_CELL_CHARS:
        return text, start, end
    head = _fit_cell(text, lang)
    kept = head.rfind("…")
    if not 0 <= start < end <= len(text) or end <= kept:
        return head, (start if end <= kept else -1), (end if end <= kept else -1)
    end = min(end, start + MAX_CELL_CHARS // 2)  # a match longer than the cell: its beginning
    before = min(start, (MAX_CELL_CHARS - (end - start)) // 2)  # context on both sides
    last = min(len(text), start - before + MAX_CELL_CHARS)
    first = max(0, last - MAX_CELL_CHARS)
    while (excess := _units(text[first:last]) - MAX_CELL_CHARS) > 0:  # emoji count twice
        if last - end >= start - first:  # give up context on the side that has more
            last = max(end, last - excess)
        else:
            first = min(start, first + excess)
    lead = _cut(first, lang) + "…" if first else ""
    tail = "…" + _cut(len(text) - last, lang) if last < len(text) else ""
    return lead + text[first:last] + tail, len(lead) + start - first, len(lead) + end - first


def _cell_text(values: pd.Series, mask: bool, lang: str = "zh", cut: bool = True,
               memo: dict[str, str] | None = None) -> pd.Series:
    """Strings ready for cells: masked if asked (through ``memo``, the masked texts known),
    missing as "", cut to Excel's cell limit (``cut=False`` leaves that to :func:`_fit_marked`)."""
    text = maybe_mask(values, mask, memo)
    # Only a text longer than half the limit can exceed it in UTF-16 units.
    long = (text.str.len() > MAX_CELL_CHARS // 2).to_numpy(dtype=bool, na_value=False)
    if cut and long.any():
        text = text.copy()
        text[long] = [_fit_cell(value, lang) for value in text[long].tolist()]
    return text


def _as_list(values: Any) -> list:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _numbers(values: pd.Series) -> list[float | None]:
    """Python floats with None for missing or infinite values (written as blank cells)."""
    array = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return [v if math.isfinite(v) else None for v in array.tolist()]


# ---------------------------------------------------------------------------------------
# Cells: rich text and bulk rows


@dataclass
class Column:
    """One prepared column of a detail table.

    ``kind`` is "text" (str, "" = blank), "number" (float or None = blank) or "marked"
    (``(text, span_start, span_end)``: the span is shown red and bold inside the cell).
    ``fmt`` is one Format or a list with one per row; ``whole_fmt`` is used for a "marked"
    cell whose whole text is the match (a rich string needs two runs or more).
    """

    values: list
    kind: str
    fmt: Any
    whole_fmt: Any = None
    style_blanks: bool = False  # blank cells still get ``fmt`` (shaded rows, banners)


class _BulkSheet(Worksheet):
    """A worksheet that also takes many rows as prebuilt XML, after its ordinary cells.

    xlsxwriter spends about 5 us per cell (a Python call to store it, another to write its
    XML); detail sheets of 100,000 rows would take many seconds. :class:`_Cells` builds their
    rows' XML directly (shared strings still go through the workbook's string table).
    """

    def __init__(self) -> None:
        super().__init__()
        self.bulk_xml: list[str] = []
        self.bulk_first_row = 1 << 30

    def _write_rows(self) -> None:
        if not self.bulk_xml:
            super()._write_rows()
            return
        # Ordinary cells (header, notes) come first; the bulk rows all follow them.
        saved = self.dim_rowmax
        filled = [row for row, cells in self.table.items() if cells]
        if filled and max(filled) >= self.bulk_first_row:
            raise AssertionError(f"{self.name}: a cell was written below the bulk rows")  # a bug in excel.py
        self.dim_rowmax = max(filled) if filled else (self.dim_rowmin or 0) - 1
        try:
            super()._write_rows()
        finally:
            self.dim_rowmax = saved
        for chunk in self.bulk_xml:
            self.fh.write(chunk)


class _Cells:
    """Writes text (never as a formula), highlighted fragments and bulk rows.

    The fast paths use xlsxwriter internals (the shared-string table, the cell table, a
    format's xf index, :class:`_BulkSheet`); when any is missing, everything goes through
    the public ``write_string`` / ``write_rich_string`` / ``write_number`` instead. The
    tests open the workbook with openpyxl either way.
    """

    def __init__(self, workbook: xlsxwriter.Workbook, highlight: Any, plain: Any, probe_sheet: Any) -> None:
        self.highlight = highlight
        self.plain = plain
        self.fast = False
        try:
            from xlsxwriter.format import Format
            from xlsxwriter.worksheet import CellRichStringTuple
            from xlsxwriter.xmlwriter import XMLwriter

            self._tuple = CellRichStringTuple
            self._highlight_font = self._font_xml(probe_sheet, highlight, XMLwriter)
            self._default_font = self._font_xml(probe_sheet, Format(), XMLwriter)
            self._strings = workbook.str_table
            self._string_index = workbook.str_table._get_shared_string_index
            highlight._get_xf_index  # noqa: B018 - present in every xlsxwriter 3.x
            self.fast = (
                not workbook.constant_memory
                and isinstance(probe_sheet, _BulkSheet)
                and isinstance(probe_sheet.table, dict)
                and callable(getattr(probe_sheet, "_check_dimensions", None))
            )
        except (ImportError, AttributeError, TypeError):
            self.fast = False

    @staticmethod
    def _font_xml(sheet: Any, cell_format: Any, writer_class: Any) -> str:
        writer = writer_class()
        handle = StringIO()
        writer._set_filehandle(handle)
        saved = getattr(sheet, "rstring", None)
        sheet.rstring = writer
        try:
            sheet._write_font(cell_format)
        finally:
            sheet.rstring = saved
        return handle.getvalue()

    # -- shared-string keys ----------------------------------------------------------------

    @staticmethod
    def _t(text: str) -> str:
        # Only & < > here: control characters are escaped once, later, by the string table.
        if "&" in text or "<" in text or ">" in text:
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if text[:1].isspace() or text[-1:].isspace():
            return f'<t xml:space="preserve">{text}</t>'
        return f"<t>{text}</t>"

    def rich_key(self, before: str, match: str, after: str) -> str:
        """Shared-string XML of ``before`` + highlighted ``match`` + ``after``."""
        return (
            (f"<r>{self._t(before)}</r>" if before else "")
            + f"<r>{self._highlight_font}{self._t(match)}</r>"
            + (f"<r>{self._default_font}{self._t(after)}</r>" if after else "")
        )

    def text_key(self, text: str) -> str:
        """Shared-string key of a plain text. xlsxwriter writes any string that looks like
        ``<r>...</r>`` unescaped, as rich-text XML; such text is stored as one escaped run."""
        if text.startswith("<r>") and text.endswith("</r>"):
            return f"<r>{self._t(text)}</r>"
        return text

    # -- single cells ----------------------------------------------------------------------

    def text(self, sheet: Any, row: int, col: int, value: str, cell_format: Any = None) -> None:
        """A text cell (``write_string``: never a formula or a link); "" writes nothing."""
        if not value:
            return
        if value.startswith("<r>") and value.endswith("</r>"):
            if self.fast:
                self._store(sheet, row, col, self.text_key(value), cell_format, value)
            else:
                parts = [value[:1], self.plain, value[1:]]
                sheet.write_rich_string(row, col, *parts, *([cell_format] if cell_format is not None else []))
            return
        sheet.write_string(row, col, value, cell_format)

    def marked(
        self, sheet: Any, row: int, col: int, text: str, start: int, end: int, cell_format: Any, whole_format: Any
    ) -> None:
        """A text cell with ``text[start:end]`` red and bold (plain when the span is unusable)."""
        if not text:
            return
        if not 0 <= start < end <= len(text):
            self.text(sheet, row, col, text, cell_format)
        elif start == 0 and end == len(text):
            self.text(sheet, row, col, text, whole_format)
        elif self.fast:
            self._store(sheet, row, col, self.rich_key(text[:start], text[start:end], text[end:]), cell_format, text)
        else:
            parts: list[Any] = [text[:start]] if start else []
            parts += [self.highlight, text[start:end]]
            if end < len(text):
                parts.append(text[end:])
            sheet.write_rich_string(row, col, *parts, *([cell_format] if cell_format is not None else []))

    def _store(self, sheet: Any, row: int, col: int, key: str, cell_format: Any, raw: str) -> None:
        if sheet._check_dimensions(row, col):
            return
        sheet.table[row][col] = self._tuple(self._string_index(key), cell_format, raw)

    # -- bulk rows -------------------------------------------------------------------------

    def rows(
        self, sheet: Any, first_row: int, columns: list[Column], heights: list[float | None] | None = None
    ) -> None:
        """Write the columns as rows ``first_row``... (0-based) below every ordinary cell
        already written on ``sheet``; nothing may be written below them afterwards.
        ``heights`` sets row heights (points; None keeps the default)."""
        n = max((len(c.values) for c in columns), default=0)
        if n == 0:
            return
        if not (self.fast and isinstance(sheet, _BulkSheet)):
            self.write_cells(sheet, first_row, columns, heights)
            return
        # The XML is assembled column-wise with pyarrow string kernels: one Python step per
        # distinct string (its shared-string index) or per highlighted message, not per cell.
        numbers = pc.cast(pa.array(np.arange(first_row + 1, first_row + 1 + n, dtype="int64")), pa.string())
        cells = [self._column_xml(xl_col_to_name(col), numbers, column) for col, column in enumerate(columns)]
        plain_start = pc.binary_join_element_wise('<row r="', numbers, '">', "")
        if heights and any(heights):
            height_text = pc.cast(pa.array(heights, type=pa.float64()), pa.string())
            tall_start = pc.binary_join_element_wise('<row r="', numbers, '" ht="', height_text, '" customHeight="1">', "")
            starts = pc.if_else(pc.is_null(height_text), plain_start, tall_start)
        else:
            starts = plain_start
        xml = pc.binary_join_element_wise(starts, *cells, "</row>", "")
        sheet.bulk_xml.append("".join(xml.to_pylist()))
        sheet.bulk_first_row = min(sheet.bulk_first_row, first_row)
        sheet._check_dimensions(first_row, 0)
        sheet._check_dimensions(first_row + n - 1, len(columns) - 1)

    @staticmethod
    def _xf_list(fmt: Any, n: int) -> list[int]:
        if isinstance(fmt, list):
            cache: dict[int, int] = {}
            out = []
            for item in fmt:
                key = id(item)
                if key not in cache:
                    cache[key] = item._get_xf_index() if item is not None else 0
                out.append(cache[key])
            return out
        return [fmt._get_xf_index() if fmt is not None else 0] * n

    def _xf_text(self, fmt: Any, n: int) -> Any:
        """xf indexes as a string array (one format per row) or one string scalar."""
        if isinstance(fmt, list):
            return pc.cast(pa.array(self._xf_list(fmt, n), type=pa.int64()), pa.string())
        return str(fmt._get_xf_index() if fmt is not None else 0)

    def _shared_indexes(self, keys: list[str | None]) -> pa.Array:
        """Shared-string indexes (strings; null where the key is None), one lookup per
        distinct key; the table's reference count still counts every cell."""
        encoded = pa.array(keys, type=pa.string()).dictionary_encode()
        distinct = encoded.dictionary.to_pylist()
        indexes = pa.array([self._string_index(key) for key in distinct], type=pa.int64())
        valid = len(keys) - encoded.indices.null_count
        self._strings.count += valid - len(distinct)
        return pc.cast(pc.take(indexes, encoded.indices), pa.string())

    def _column_xml(self, letter: str, numbers: pa.Array, column: Column) -> pa.Array:
        """The column's cells as XML strings ("" for a blank cell)."""
        n = len(numbers)
        values = column.values
        ref = pc.binary_join_element_wise(letter, numbers, "")
        xf = self._xf_text(column.fmt, n)
        if column.kind == "number":
            numbers_text = pc.cast(pa.array(values, type=pa.float64()), pa.string())
            cells = pc.binary_join_element_wise('<c r="', ref, '" s="', xf, '"><v>', numbers_text, "</v></c>", "")
        elif column.kind == "text":
            text_key = self.text_key
            keys = [(text_key(v) if v.startswith("<r>") else v) if v else None for v in values]
            indexes = self._shared_indexes(keys)
            cells = pc.binary_join_element_wise('<c r="', ref, '" s="', xf, '" t="s"><v>', indexes, "</v></c>", "")
        else:  # marked: (text, start, end)
            rich_key, text_key = self.rich_key, self.text_key
            whole_xfs = self._xf_list(column.whole_fmt if column.whole_fmt is not None else column.fmt, n)
            xfs = self._xf_list(column.fmt, n)
            keys: list[str | None] = []
            for i, (text, start, end) in enumerate(values):
                if not text:
                    keys.append(None)
                elif not 0 <= start < end <= len(text):
                    keys.append(text_key(text))
                elif start == 0 and end == len(text):
                    keys.append(text_key(text))
                    xfs[i] = whole_xfs[i]
                else:
                    keys.append(rich_key(text[:start], text[start:end], text[end:]))
            xf = pc.cast(pa.array(xfs, type=pa.int64()), pa.string())
            indexes = pa.array(
                [None if key is None else self._string_index(key) for key in keys], type=pa.int64()
            )
            cells = pc.binary_join_element_wise(
                '<c r="', ref, '" s="', xf, '" t="s"><v>', pc.cast(indexes, pa.string()), "</v></c>", ""
            )
        if column.style_blanks:
            blank = pc.binary_join_element_wise('<c r="', ref, '" s="', xf, '"/>', "")
        else:
            blank = pa.scalar("", pa.string())
        return pc.if_else(pc.is_null(cells), blank, cells)

    def write_cells(
        self, sheet: Any, first_row: int, columns: list[Column], heights: list[float | None] | None = None
    ) -> None:
        """The same as :meth:`rows` through xlsxwriter's public per-cell calls."""
        for i, height in enumerate(heights or []):
            if height:
                sheet.set_row(first_row + i, height)
        for col, column in enumerate(columns):
            per_row = isinstance(column.fmt, list)
            wholes = column.whole_fmt if column.whole_fmt is not None else column.fmt
            for i, value in enumerate(column.values):
                fmt = column.fmt[i] if per_row else column.fmt
                row = first_row + i
                if column.style_blanks and fmt is not None:
                    sheet.write_blank(row, col, None, fmt)
                if column.kind == "number":
                    if value is not None:
                        sheet.write_number(row, col, value, fmt)
                elif column.kind == "text":
                    self.text(sheet, row, col, value, fmt)
                else:
                    whole = wholes[i] if isinstance(wholes, list) else wholes
                    self.marked(sheet, row, col, value[0], value[1], value[2], fmt, whole)


# ---------------------------------------------------------------------------------------
# The workbook


@dataclass
class _Formats:
    header: Any
    title: Any
    bold: Any
    note: Any
    wrap: Any
    text: Any
    datetime: Any
    integer: Any
    integer_left: Any
    number1: Any
    number2: Any
    percent: Any
    highlight: Any
    highlight_cell: Any
    flagged_wrap: Any
    flagged_text: Any
    flagged_datetime: Any
    flagged_integer: Any
    flagged_highlight_cell: Any
    banner: Any
    section: Any
    plain: Any


def _formats(workbook: xlsxwriter.Workbook) -> _Formats:
    add = workbook.add_format
    base = {"valign": "top"}
    flagged = {"bg_color": "#FDE9E7", "valign": "top"}
    return _Formats(
        header=add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}),
        title=add({"bold": True, "font_size": 16}),
        bold=add({"bold": True, "valign": "top"}),
        note=add({"bold": True, "font_color": "#C00000"}),
        wrap=add({**base, "text_wrap": True}),
        text=add(base),
        datetime=add({**base, "num_format": _DATETIME_FORMAT}),
        integer=add({**base, "num_format": "0"}),
        integer_left=add({**base, "num_format": "0", "align": "left"}),
        number1=add({**base, "num_format": "0.0"}),
        number2=add({**base, "num_format": "0.00"}),
        percent=add({**base, "num_format": "0.0%"}),
        highlight=add({"bold": True, "font_color": "#C00000"}),
        highlight_cell=add({**base, "text_wrap": True, "bold": True, "font_color": "#C00000"}),
        flagged_wrap=add({**flagged, "text_wrap": True}),
        flagged_text=add(flagged),
        flagged_datetime=add({**flagged, "num_format": _DATETIME_FORMAT}),
        flagged_integer=add({**flagged, "num_format": "0"}),
        flagged_highlight_cell=add({**flagged, "text_wrap": True, "bold": True, "font_color": "#C00000"}),
        banner=add({"bold": True, "bg_color": "#F2F2F2", "top": 1}),
        section=add({"bold": True, "font_size": 12}),
        plain=add({}),
    )


class _Writer:
    """One workbook being written: formats, cell writers and one method per sheet."""

    def __init__(
        self, workbook: xlsxwriter.Workbook, result: AuditResult, lang: str, mask: bool, scoring: Scoring,
        trends: Any = None, carry: Any = None,
    ):
        self.workbook = workbook
        self.result = result
        self.lang = lang
        self.rule_names = rule_names(result.rules)
        self.mask = mask
        self.masker = result_masker(result, mask)  # session ids and agent names, as in every output
        self.scoring = scoring
        self.trends = trends  # qa.history.Trends, when the run was recorded in a history
        self.carry = carry  # qa.carryover.Carry: review work of the workbook this one replaces
        self.formats = _formats(workbook)
        self.sheets = {}
        for key, names in SHEETS.items():
            self.sheets[key] = workbook.add_worksheet(_pick(names, lang), worksheet_class=_BulkSheet)
            if key == "agents" and trends is not None:
                self.sheets["trends"] = workbook.add_worksheet(_pick(TRENDS_SHEET, lang), worksheet_class=_BulkSheet)
        if carry is not None and carry.not_carried:
            from qa.carryover import NOT_CARRIED_SHEET

            self.sheets["not_carried"] = workbook.add_worksheet(_pick(NOT_CARRIED_SHEET, lang), worksheet_class=_BulkSheet)
        self.data_sheet = workbook.add_worksheet(DATA_SHEET)
        self.cells = _Cells(workbook, self.formats.highlight, self.formats.plain, self.sheets["findings"])
        self.agents_header_row = 0

    # -- helpers ---------------------------------------------------------------------------

    def text(self, sheet: Any, row: int, col: int, value: Any, cell_format: Any = None) -> None:
        if value is None:
            return
        self.cells.text(sheet, row, col, value if isinstance(value, str) else str(value), cell_format)

    @staticmethod
    def number(sheet: Any, row: int, col: int, value: Any, cell_format: Any = None) -> None:
        """A number cell; missing values (None/NaN) stay blank."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        sheet.write_number(row, col, value, cell_format)

    def header(self, sheet: Any, row: int, headers: list[str]) -> None:
        for col, title in enumerate(headers):
            self.text(sheet, row, col, title, self.formats.header)
        sheet.set_row(row, 32)  # two lines: long Chinese headers wrap in narrow columns

    @staticmethod
    def finish_table(sheet: Any, header_row: int, last_row: int, n_cols: int) -> None:
        """Frozen header and a filter over the table."""
        sheet.freeze_panes(header_row + 1, 0)
        sheet.autofilter(header_row, 0, max(last_row, header_row), n_cols - 1)

    @staticmethod
    def widths(sheet: Any, widths: list[float]) -> None:
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)

    def notes_then_header(self, sheet: Any, notes: list[str], headers: list[str]) -> int:
        """Note lines (red, bold) on top, then the header; returns the header's row."""
        for row, line in enumerate(notes):
            self.text(sheet, row, 0, line, self.formats.note)
        self.header(sheet, len(notes), headers)
        return len(notes)

    def credit_ids(self) -> list[str]:
        """Credits shown as columns: every enabled credit, then any other credited one."""
        ids = [c.id for c in getattr(self.result, "credit_defs", None) or [] if c.enabled]
        credits = getattr(self.result, "credits", None)
        if credits is not None and len(credits):
            ids += sorted(set(credits["credit"].unique()) - set(ids))
        return ids

    def rule_label(self, rule_id: str) -> str:
        """A rule's display name in the workbook's language (from its rule file's [name])."""
        return _rule_label(rule_id, self.lang, self.rule_names)

    def credit_label(self, credit_id: str) -> str:
        for credit in getattr(self.result, "credit_defs", None) or []:
            if credit.id == credit_id:
                return credit.label(self.lang)
        return credit_id

    def rule_ids(self) -> list[str]:
        """Rules shown as columns: every enabled rule, then any other rule with findings."""
        ids = [rule.id for rule in self.result.rules if getattr(rule, "enabled", True)]
        if len(self.result.findings):
            ids += sorted(set(self.result.findings["rule"].unique()) - set(ids))
        return ids

    # -- sheets ----------------------------------------------------------------------------

    def write(self) -> None:
        for sheet in self.sheets.values():
            # Printed for a coaching talk: landscape A4, as wide as one page.
            sheet.set_landscape()
            sheet.set_paper(9)
            sheet.fit_to_pages(1, 0)
            sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        self.write_agents()  # first: the summary's chart points at its rows
        self.write_findings()
        self.write_highlights()
        self.write_sessions()
        self.write_transcripts()
        self.write_rules()
        self.write_rejected()
        self.write_summary()
        if self.trends is not None:
            _write_trends(self, self.sheets["trends"], self.trends)
        self.write_data()
        if "not_carried" in self.sheets:
            self.write_not_carried()
        self.sheets["summary"].activate()

    def listed_ids(self) -> list[str]:
        """Ids of the findings the Findings sheet lists (computed once)."""
        if getattr(self, "_listed_ids", None) is None and getattr(self.carry, "ids", None) is not None:
            self._listed_ids = self.carry.ids
        if getattr(self, "_listed_ids", None) is None:
            self._listed_ids = self.masker.finding_ids(self.result.findings)[:MAX_DETAIL_ROWS]
        return self._listed_ids

    def write_data(self) -> None:
        """The very hidden sheet with the data ``qa review`` rescores from."""
        trends = self.trends
        run = build_run_data(
            self.result, mask=self.mask, shown=min(len(self.result.findings), MAX_DETAIL_ROWS), lang=self.lang,
            run_key=getattr(trends, "current_key", None),
            history=str(Path(trends.path).resolve()) if trends is not None else None,
            ids=self.listed_ids(),
        )
        _write_data_sheet(self, self.data_sheet, [run])

    def write_not_carried(self) -> None:
        """Verdicts and comments of the workbook this one replaced whose finding is not listed
        now: kept, so no trainer's work is lost (qa review does not read this sheet)."""

        sheet, lang, fmt = self.sheets["not_carried"], self.lang, self.formats
        note = _pick((
            f"这些复核来自此前同一路径的 {self.carry.path}，但本次审核没有列出对应的违规，因此保留在这里（qa review 不读取本表）。",
            f"These verdicts were in {self.carry.path}, the earlier workbook at this path, but their findings are not listed "
            "in this audit; they are kept here (qa review does not read this sheet).",
        ), lang)
        headers = [
            _word("finding_id", lang), _word("review", lang), _word("comment", lang), _pick(("复核人", "Reviewer"), lang),
            _word("session", lang), _word("rule", lang), _word("row", lang), _word("message", lang),
            _pick(("原位置", "Earlier cell"), lang), _pick(("原因", "Why not carried"), lang),
        ]
        header_row = self.notes_then_header(sheet, [note], headers)
        self.widths(sheet, [13, 10, 24, 12, 16, 14, 7, 50, 14, 30])
        for offset, mark in enumerate(self.carry.not_carried, start=header_row + 1):
            values = [mark.id, mark.review, mark.comment, mark.reviewer, mark.shown.get("session", ""),
                      mark.shown.get("rule", ""), mark.shown.get("row", ""), mark.shown.get("text", ""), mark.where,
                      _pick(mark.why, lang) if mark.why else ""]
            for col, value in enumerate(values):
                self.text(sheet, offset, col, _fit_cell(value), fmt.wrap if col in (2, 7) else fmt.text)
        self.finish_table(sheet, header_row, header_row + len(self.carry.not_carried), len(headers))

    def write_agents(self) -> None:
        sheet, lang, fmt = self.sheets["agents"], self.lang, self.formats
        agents = self.result.agents
        rule_ids = self.rule_ids()
        note = metrics_note(bool(self.result.ingest.has_timestamps), lang)
        headers = [
            _word("agent", lang), _word("score", lang), _word("sessions", lang), _word("messages_sent", lang),
            _word("frt_median", lang), _word("frt_mean", lang), _word("art", lang), _word("reply_rate", lang),
            _word("qa_ratio", lang), _word("findings", lang), _word("per100", lang),
        ]
        headers += [_word("rule_count", lang, label=self.rule_label(r)) for r in rule_ids]
        headers += [_word("rule_per100", lang, label=self.rule_label(r)) for r in rule_ids]
        headers.append(_word("vetoes", lang))
        credit_ids = self.credit_ids() if "credits" in agents else []
        headers += [_word("credit_count", lang, label=self.credit_label(c)) for c in credit_ids]
        headers += [_word("credit_per100", lang, label=self.credit_label(c)) for c in credit_ids]
        header_row = self.notes_then_header(sheet, [note] if note else [], headers)
        self.agents_header_row = header_row
        self.widths(sheet, [20, 8, 8, 10, 12, 12, 13, 9, 8, 8, 10] + [12] * (2 * len(rule_ids)) + [10]
                    + [12] * (2 * len(credit_ids)))
        n = len(agents)
        if n:
            by_rule = _as_list(agents["findings_by_rule"])
            per_100 = _as_list(agents["per_100_sessions_by_rule"])
            columns = [
                Column(_as_list(self.masker.agents(agents["agent"])), "text", fmt.text),
                Column(_numbers(agents["score"]), "number", fmt.number1),
                Column(_numbers(agents["sessions"]), "number", fmt.integer),
                Column(_numbers(agents["messages"]), "number", fmt.integer),
                Column(_numbers(agents["first_response_median_s"]), "number", fmt.number1),
                Column(_numbers(agents["first_response_mean_s"]), "number", fmt.number1),
                Column(_numbers(agents["avg_response_s"]), "number", fmt.number1),
                Column(_numbers(agents["reply_rate"]), "number", fmt.percent),
                Column(_numbers(agents["qa_ratio"]), "number", fmt.number2),
                Column(_numbers(agents["findings"]), "number", fmt.integer),
                Column(_numbers(agents["findings_per_100_sessions"]), "number", fmt.number1),
            ]
            columns += [Column([(d or {}).get(r, 0) for d in by_rule], "number", fmt.integer) for r in rule_ids]
            columns += [Column([(d or {}).get(r, 0.0) for d in per_100], "number", fmt.number1) for r in rule_ids]
            columns.append(Column(_numbers(agents["vetoes"]), "number", fmt.integer))
            if credit_ids:
                credits = [d or {} for d in _as_list(agents["credits"])]
                columns += [Column([d.get(c, 0) for d in credits], "number", fmt.integer) for c in credit_ids]
                columns += [Column([(d.get("per_100_sessions") or {}).get(c, 0.0) for d in credits], "number", fmt.number1)
                            for c in credit_ids]
            # Ordinary cells (not bulk rows), so the summary chart caches their values.
            self.cells.write_cells(sheet, header_row + 1, columns)
            sheet.conditional_format(
                header_row + 1, 1, header_row + n, 1,
                {"type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B"},
            )
        self.finish_table(sheet, header_row, header_row + n, len(headers))
        sheet.freeze_panes(header_row + 1, 1)  # the agent's name stays in view

    def write_findings(self) -> None:
        sheet, lang, fmt = self.sheets["findings"], self.lang, self.formats
        findings = self.result.findings
        total = len(findings)
        shown = min(total, MAX_DETAIL_ROWS)
        notes = [_word("findings_capped", lang, total=total, shown=shown)] if shown < total else []
        headers = [
            _word("time", lang), _word("agent", lang), _word("session", lang), _word("rule", lang),
            _word("severity", lang), _word("reason", lang), _word("message_marked", lang), _word("context", lang),
            _word("file", lang), _word("row", lang), _word("review", lang), _word("comment", lang),
            _word("finding_id", lang),
        ]
        carry = self.carry
        if carry is not None and carry.has_reviewers:
            headers.append(_pick(("复核人", "Reviewer"), lang))  # who gave the verdicts carried over
        header_row = self.notes_then_header(sheet, notes, headers)
        widths = [19, 20, 16, 14, 8, 36, 50, 36, 22, 7, 10, 24, 13, 12]
        self.widths(sheet, widths[: len(headers)])
        review_col = headers.index(_word("review", lang))
        if shown:
            part = self.masker.findings(findings).iloc[:shown]  # reasons hide what the masked text hides
            labels = {rule: self.rule_label(rule) for rule in part["rule"].unique()}
            severities = {s: _severity(s, lang) for s in part["severity"].unique()}
            reasons, texts, contexts, marked = _detail_cells(part, lang)
            columns = [
                Column(_numbers(pd.Series(_excel_dates(part["timestamp"]))), "number", fmt.datetime),
                Column(_as_list(part["agent"].fillna("").astype("str")), "text", fmt.text),
                Column(_as_list(part["session_id"].astype("str")), "text", fmt.text),
                Column(_as_list(part["rule"].map(labels)), "text", fmt.text),
                Column(_as_list(part["severity"].map(severities)), "text", fmt.text),
                Column(_as_list(reasons), "text", fmt.wrap),
                Column(marked, "marked", fmt.wrap, fmt.highlight_cell),
                Column(_as_list(contexts), "text", fmt.wrap),
                Column(_as_list(_file_labels(part)), "text", fmt.text),
                Column(_numbers(part["row"]), "number", fmt.integer),
                Column([""] * shown, "text", fmt.text),  # Review: the trainer's
                Column([""] * shown, "text", fmt.text),  # Comment: the trainer's
                Column(self.listed_ids(), "text", fmt.text),
            ]
            if carry is not None and carry.marks:
                marks = [carry.marks.get(finding) for finding in self.listed_ids()]
                columns[10] = Column([m.review if m else "" for m in marks], "text", fmt.text)
                columns[11] = Column([m.comment if m else "" for m in marks], "text", fmt.wrap)
                if carry.has_reviewers:
                    columns.append(Column([m.reviewer if m else "" for m in marks], "text", fmt.text))
            heights = _row_heights([(reasons, widths[5]), (texts, widths[6]), (contexts, widths[7])])
            self.cells.rows(sheet, header_row + 1, columns, heights)
        sheet.data_validation(
            header_row + 1, review_col, header_row + max(shown, 1), review_col,
            {"validate": "list", "source": _pick(REVIEW_CHOICES, lang), "ignore_blank": True},
        )
        self.finish_table(sheet, header_row, header_row + shown, len(headers))

    def write_highlights(self) -> None:
        """Credits for good practice, laid out like the Findings sheet (same writers, same
        masking): the credited fragment marked in the message, the message it answered."""
        sheet, lang, fmt = self.sheets["highlights"], self.lang, self.formats
        credits = getattr(self.result, "credits", None)
        total = len(credits) if credits is not None else 0
        shown = min(total, MAX_DETAIL_ROWS)
        scoring = self.scoring
        bonus = (_word("bonus_on", lang, max=f"{scoring.max_bonus:g}") if getattr(scoring, "credit_points", None)
                 else _word("bonus_off", lang))
        notes = [_word("highlights_note", lang, bonus=bonus)]
        if shown < total:
            notes.append(_word("credits_capped", lang, total=total, shown=shown))
        headers = [
            _word("time", lang), _word("agent", lang), _word("session", lang), _word("credit", lang),
            _word("reason", lang), _word("message_credited", lang), _word("context", lang),
            _word("file", lang), _word("row", lang),
        ]
        header_row = self.notes_then_header(sheet, notes, headers)
        widths = [19, 20, 16, 16, 36, 50, 36, 22, 7]
        self.widths(sheet, widths)
        if shown:
            part = self.masker.findings(credits).iloc[:shown]  # texts, session ids, agents: as findings
            labels = {c: self.credit_label(c) for c in part["credit"].unique()}
            reasons, texts, contexts, marked = _detail_cells(part, lang)
            columns = [
                Column(_numbers(pd.Series(_excel_dates(part["timestamp"]))), "number", fmt.datetime),
                Column(_as_list(part["agent"].fillna("").astype("str")), "text", fmt.text),
                Column(_as_list(part["session_id"].astype("str")), "text", fmt.text),
                Column(_as_list(part["credit"].map(labels)), "text", fmt.text),
                Column(_as_list(reasons), "text", fmt.wrap),
                Column(marked, "marked", fmt.wrap, fmt.highlight_cell),
                Column(_as_list(contexts), "text", fmt.wrap),
                Column(_as_list(_file_labels(part)), "text", fmt.text),
                Column(_numbers(part["row"]), "number", fmt.integer),
            ]
            heights = _row_heights([(reasons, widths[4]), (texts, widths[5]), (contexts, widths[6])])
            self.cells.rows(sheet, header_row + 1, columns, heights)
        self.finish_table(sheet, header_row, header_row + shown, len(headers))

    def write_sessions(self) -> None:
        sheet, lang, fmt = self.sheets["sessions"], self.lang, self.formats
        sessions = self.result.sessions
        total = len(sessions)
        shown = min(total, MAX_DETAIL_ROWS)
        notes = [_word("rows_capped", lang, total=total, shown=shown)] if shown < total else []
        headers = [
            _word("session", lang), _word("agent", lang), _word("started", lang), _word("file", lang),
            _word("messages", lang), _word("longest_wait", lang), _word("findings", lang), _word("rules_hit", lang),
            _word("veto", lang), _word("score", lang),
        ]
        header_row = self.notes_then_header(sheet, notes, headers)
        self.widths(sheet, [18, 20, 19, 22, 8, 12, 8, 30, 8, 8])
        if shown:
            ordered = _worst_sessions(sessions).iloc[:shown]
            blank_text, blank_number = [""] * shown, [None] * shown
            yes = _word("yes", lang)

            def rules_text(by_rule: Any) -> str:
                if not by_rule:
                    return ""
                return "、".join(f"{self.rule_label(rule)}×{count}" for rule, count in by_rule.items())

            columns = [
                Column(_as_list(self.masker.sessions(ordered["session_id"])), "text", fmt.text),
                Column(_as_list(self.masker.agents(ordered["agent"])), "text", fmt.text),
                Column(
                    _numbers(pd.Series(_excel_dates(ordered["started_at"]))) if "started_at" in ordered else blank_number,
                    "number", fmt.datetime,
                ),
                Column(_as_list(ordered["file"].fillna("").astype("str")) if "file" in ordered else blank_text, "text", fmt.text),
                Column(_numbers(ordered["messages"]), "number", fmt.integer),
                Column(_numbers(ordered["longest_wait_s"]) if "longest_wait_s" in ordered else blank_number, "number", fmt.number1),
                Column(_numbers(ordered["findings"]), "number", fmt.integer),
                Column(
                    [rules_text(d) for d in _as_list(ordered["findings_by_rule"])] if "findings_by_rule" in ordered else blank_text,
                    "text", fmt.text,
                ),
                Column([yes if v else "" for v in _as_list(ordered["veto"])] if "veto" in ordered else blank_text, "text", fmt.text),
                Column(_numbers(ordered["score"]), "number", fmt.number1),
            ]
            self.cells.rows(sheet, header_row + 1, columns)
        self.finish_table(sheet, header_row, header_row + shown, len(headers))

    def _transcript_sessions(self) -> tuple[list[str], int]:
        """The flagged sessions shown (worst first, within the caps) and how many are flagged."""
        sessions = self.result.sessions
        if not len(sessions) or not len(self.result.ingest.messages):
            return [], 0
        flagged = sessions[sessions["findings"] > 0]
        chosen: list[str] = []
        lines = 0
        ordered = _worst_sessions(flagged)
        for session_id, count in zip(_as_list(ordered["session_id"]), _as_list(ordered["messages"])):
            if len(chosen) >= MAX_TRANSCRIPT_SESSIONS or (chosen and lines + count + 1 > MAX_TRANSCRIPT_LINES):
                break
            chosen.append(session_id)
            lines += int(count) + 1
        return chosen, len(flagged)

    def write_transcripts(self) -> None:
        sheet, lang, fmt = self.sheets["transcripts"], self.lang, self.formats
        result = self.result
        headers = [
            _word("session", lang), _word("agent", lang), _word("time", lang), _word("role", lang),
            _word("sender", lang), _word("message_marked", lang), _word("rule", lang), _word("reason", lang),
            _word("row", lang),
        ]
        self.widths(sheet, [16, 20, 19, 6, 20, 60, 16, 40, 7])
        chosen, flagged = self._transcript_sessions()
        note = _word("transcripts_note", lang, flagged=flagged, shown=len(chosen))
        header_row = self.notes_then_header(sheet, [note], headers)
        sheet.freeze_panes(header_row + 1, 0)
        if not chosen:
            return

        messages = result.ingest.messages
        position = {session_id: i for i, session_id in enumerate(chosen)}
        selected = messages[messages["session_id"].isin(chosen)]
        order = np.lexsort((np.arange(len(selected)), selected["session_id"].map(position).to_numpy()))
        selected = selected.iloc[order].iloc[:MAX_TRANSCRIPT_LINES]
        message_ids = selected.index.to_numpy()

        # Findings per message: rule names and reasons joined; the first span highlighted.
        findings = result.findings
        on_line = findings["msg"].isin(message_ids).to_numpy(dtype=bool) if len(findings) else None
        on_lines = findings[on_line] if len(findings) else findings
        marks: dict[int, list] = {}
        if len(on_lines):
            reasons = _as_list(_cell_text(self.masker.findings(findings)["reason"][on_line], False, lang))
            for msg, rule, reason, start, end in zip(
                _as_list(on_lines["msg"]), _as_list(on_lines["rule"]), reasons,
                _as_list(on_lines["span_start"]), _as_list(on_lines["span_end"]),
            ):
                label = self.rule_label(rule)
                if msg in marks:
                    marks[msg][0] += "、" + label
                    marks[msg][1] += "\n" + reason
                else:
                    marks[msg] = [label, reason, int(start), int(end)]

        info = result.sessions.set_index("session_id").loc[chosen]
        banner = {
            sid: _word("session_banner", lang, session=self.masker.session(sid), agent=self.masker.agent(agent),
                       score=f"{score:.1f}", findings=int(n))
            for sid, agent, score, n in zip(chosen, _as_list(info["agent"]), _as_list(info["score"]), _as_list(info["findings"]))
        }
        agent_of = dict(zip(chosen, _as_list(self.masker.agents(info["agent"]))))
        shown_sid = {sid: self.masker.session(sid) for sid in chosen}
        texts = _as_list(_cell_text(selected["text"], self.mask, lang, cut=False, memo=self.masker.memo))
        times = _numbers(pd.Series(_excel_dates(selected["timestamp"])))
        roles = [_pick(ROLE[r], lang) if r in ROLE else r for r in _as_list(selected["role"].astype("str"))]
        senders = _as_list(self.masker.agents(selected["agent"]))
        source_rows = _numbers(selected["source_row"])
        session_ids = _as_list(selected["session_id"].astype("str"))

        # One list per column, a banner row before each session.
        col: list[list] = [[] for _ in headers]
        formats: list[list] = [[] for _ in headers]
        current = None
        for i, msg in enumerate(message_ids.tolist()):
            sid = session_ids[i]
            if sid != current:
                current = sid
                values = [banner[sid], "", None, "", "", ("", -1, -1), "", "", None]
                for c, value in enumerate(values):
                    col[c].append(value)
                    formats[c].append(fmt.banner)
            mark = marks.get(msg)
            if mark is None:
                values = [shown_sid[sid], agent_of[sid], times[i], roles[i], senders[i],
                          _fit_marked(texts[i], -1, -1, lang), "", "",
                          source_rows[i]]
                row_formats = [fmt.text, fmt.text, fmt.datetime, fmt.text, fmt.text, fmt.wrap, fmt.text, fmt.wrap, fmt.integer]
            else:
                values = [shown_sid[sid], agent_of[sid], times[i], roles[i], senders[i],
                          _fit_marked(texts[i], mark[2], mark[3], lang),
                          mark[0], mark[1], source_rows[i]]
                row_formats = [fmt.flagged_text, fmt.flagged_text, fmt.flagged_datetime, fmt.flagged_text,
                               fmt.flagged_text, fmt.flagged_wrap, fmt.flagged_text, fmt.flagged_wrap, fmt.flagged_integer]
            for c, value in enumerate(values):
                col[c].append(value)
                formats[c].append(row_formats[c])
        wholes = [fmt.flagged_highlight_cell if f is fmt.flagged_wrap else f for f in formats[5]]
        kinds = ["text", "text", "number", "text", "text", "marked", "text", "text", "number"]
        columns = [
            Column(col[c], kinds[c], formats[c], wholes if c == 5 else None, style_blanks=True)
            for c in range(len(headers))
        ]
        message_texts = pd.Series([value[0] for value in col[5]], dtype="str")
        heights = _row_heights([(message_texts, 60), (pd.Series(col[7], dtype="str"), 40)])
        self.cells.rows(sheet, header_row + 1, columns, heights)
        sheet.autofilter(header_row, 0, header_row + len(col[0]), len(headers) - 1)

    def write_rules(self) -> None:
        sheet, lang, fmt = self.sheets["rules"], self.lang, self.formats
        result = self.result
        skipped = {s.rule: s.reason for s in result.skipped_rules}
        headers = [
            _word("rule", lang), _word("name", lang), _word("check", lang), _word("severity", lang),
            _word("points", lang), _word("veto", lang), _word("status", lang), _word("params", lang),
            _word("what", lang), _word("origin", lang), _word("file", lang),
        ]
        self.header(sheet, 0, headers)
        widths = [18, 14, 12, 8, 18, 12, 16, 60, 50, 12, 30]
        self.widths(sheet, widths)
        found_severities: dict[str, set[str]] = {}
        if len(result.findings):
            for rule_id, severity in result.findings[["rule", "severity"]].drop_duplicates().itertuples(index=False):
                found_severities.setdefault(rule_id, set()).add(severity)
        row = 0
        for rule in result.rules:
            row += 1
            severity = str(rule.severity)
            status = _word("skipped", lang, reason=skipped[rule.id]) if rule.id in skipped else _word("applied", lang)
            severities = {severity} | found_severities.get(rule.id, set()) | _declared_severities(rule.params)
            values = [
                rule.id, self.rule_label(rule.id), rule.check, _severity(severity, lang),
                self._points_text(rule.id, severities), self._veto_text(rule.id), status,
                _params_summary(rule.params, lang), (rule.docs or {}).get("what", ""),
                " + ".join(getattr(rule, "origin", ()) or ()), str(rule.path or ""),
            ]
            for col, value in enumerate(values):
                self.text(sheet, row, col, value, fmt.wrap)
            lines = max(_display_lines(str(v), int(w)) for v, w in zip(values, widths))
            if lines > 1:
                sheet.set_row(row, _POINTS_PER_LINE * min(lines, 3 * MAX_ROW_LINES))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, row, len(headers) - 1)

        row += 2
        self.text(sheet, row, 0, _word("skipped_title", lang), fmt.section)
        for skipped_rule in result.skipped_rules:
            row += 1
            self.text(sheet, row, 0, skipped_rule.rule, fmt.text)
            self.text(sheet, row, 1, skipped_rule.reason, fmt.text)
        row += 2
        self.text(sheet, row, 0, _word("scoring_title", lang), fmt.section)
        row += 1
        self.text(sheet, row, 0, self._scoring_sentence(), fmt.text)
        row += 1
        self.text(sheet, row, 0, _word("scoring_file", lang), fmt.text)
        self.text(sheet, row, 1, str(self.scoring.path or ""), fmt.text)
        # The audit trail of what shaped the rules: the project config and the packs applied.
        row += 1
        self.text(sheet, row, 0, _word("config_file", lang), fmt.text)
        self.text(sheet, row, 1, str(getattr(result, "config_path", None) or "-"), fmt.text)
        row += 1
        self.text(sheet, row, 0, _word("rule_packs", lang), fmt.text)
        self.text(sheet, row, 1, " + ".join(str(p) for p in result.rule_paths) or "-", fmt.text)
        self._suppressed_section(sheet, row + 2)

    def _suppressed_section(self, sheet: Any, row: int) -> None:
        """Findings dropped by suppression files: per rule, then each one (capped)."""
        suppressed = getattr(self.result, "suppressed", None)
        if not isinstance(suppressed, pd.DataFrame) or suppressed.empty:
            return
        lang, fmt = self.lang, self.formats
        self.text(sheet, row, 0, _word("suppressed_title", lang, n=len(suppressed)), fmt.section)
        for rule_id, count in suppressed["rule"].value_counts().sort_index().items():
            row += 1
            self.text(sheet, row, 0, rule_id, fmt.text)
            self.text(sheet, row, 1, self.rule_label(rule_id), fmt.text)
            sheet.write_number(row, 2, int(count), fmt.integer)
        row += 2
        shown = min(len(suppressed), MAX_SUPPRESSED_ROWS)
        if shown < len(suppressed):
            self.text(sheet, row, 0, _word("suppressed_capped", lang, total=len(suppressed), shown=shown), fmt.note)
            row += 1
        headers = [
            _word("rule", lang), _word("agent", lang), _word("session", lang), _word("file", lang), _word("row", lang),
            _word("message", lang), _word("suppression_reason", lang), _word("suppression", lang),
            _word("finding_id", lang),
        ]
        self.header(sheet, row, headers)
        part = suppressed.iloc[:shown]
        texts = _as_list(_cell_text(part["text"], self.mask, lang))
        ids = finding_ids(part)
        for i, finding in enumerate(part.itertuples(index=False)):
            row += 1
            values = [
                finding.rule, self.masker.agent(finding.agent), self.masker.session(finding.session_id),
                str(finding.file), None, texts[i],
                str(finding.suppression_reason), str(finding.suppression), ids[i],
            ]
            for col, value in enumerate(values):
                if col == 4:
                    sheet.write_number(row, col, int(finding.row), fmt.integer)
                else:
                    self.text(sheet, row, col, value, fmt.wrap if col in (5, 6) else fmt.text)

    def _points_text(self, rule_id: str, severities: set[str]) -> str:
        ordered = [s for s in SEVERITY if s in severities]
        return " / ".join(f"{_severity(s, self.lang)} -{self.scoring.points_for(rule_id, s):g}" for s in ordered)

    def _veto_text(self, rule_id: str) -> str:
        own = self.scoring.rules.get(rule_id)
        if own is None or own.veto is None:
            return ""
        if own.veto == "minor":
            return _word("veto_any", self.lang)
        return _word("veto_from", self.lang, severity=_severity(own.veto, self.lang))

    def _scoring_sentence(self) -> str:
        separator = "，" if self.lang == "zh" else ", "
        points = separator.join(f"{_severity(s, self.lang)} -{self.scoring.points.get(s, 0):g}" for s in SEVERITY)
        sentence = _word("scoring_text", self.lang, points=points)
        template = "{}（{}）" if self.lang == "zh" else "{} ({})"
        vetoes = [
            template.format(self.rule_label(r), self._veto_text(r))
            for r in sorted(self.scoring.rules)
            if self._veto_text(r)
        ]
        if vetoes:
            sentence += ("一票否决：" if self.lang == "zh" else " Veto: ") + separator.join(vetoes)
        return sentence

    def write_rejected(self) -> None:
        sheet, lang, fmt = self.sheets["rejected"], self.lang, self.formats
        rejected = self.result.ingest.rejected
        total = len(rejected)
        shown = min(total, MAX_DETAIL_ROWS)
        notes = [_word("rows_capped", lang, total=total, shown=shown)] if shown < total else []
        headers = [_word("file", lang), _word("row", lang), _word("reason", lang), _word("raw", lang)]
        header_row = self.notes_then_header(sheet, notes, headers)
        self.widths(sheet, [24, 7, 36, 80])
        if shown:
            part = rejected.iloc[:shown]
            reasons = part["reason"]
            if lang == "zh":  # the reader's reasons are English; the Chinese workbook says them in Chinese
                from qa.ingest.wording import to_zh

                reasons = reasons.astype("str").map(to_zh)
            reasons = _cell_text(reasons, self.mask, lang)
            raws = _cell_text(part["raw"], self.mask, lang)
            columns = [
                Column(_as_list(part["file"].fillna("").astype("str")), "text", fmt.text),
                Column(_numbers(part["row"]), "number", fmt.integer),
                Column(_as_list(reasons), "text", fmt.wrap),
                Column(_as_list(raws), "text", fmt.wrap),
            ]
            self.cells.rows(sheet, header_row + 1, columns, _row_heights([(reasons, 36), (raws, 80)]))
        self.finish_table(sheet, header_row, header_row + shown, len(headers))

    def write_summary(self) -> None:
        sheet, lang, fmt = self.sheets["summary"], self.lang, self.formats
        result = self.result
        ingest = result.ingest
        sheet.set_column(0, 0, 26)
        sheet.set_column(1, 1, 22)
        sheet.set_column(2, 5, 12)
        self.text(sheet, 0, 0, _word("title", lang), fmt.title)

        inputs = [str(p) for p in (result.inputs or ingest.files)]
        if len(inputs) > 20:
            inputs = inputs[:20] + [_word("and_more", lang, n=len(inputs) - 20)]
        notes = list(ingest.notes)
        if lang == "zh":
            from qa.ingest.wording import all_to_zh

            notes = all_to_zh(notes)
        note = metrics_note(bool(ingest.has_timestamps), lang)
        if note:
            notes.append(note)
        for skipped in result.skipped_rules:
            notes.append(f"{skipped.rule}: {_word('skipped', lang, reason=skipped.reason)}")
        if len(result.findings) > MAX_DETAIL_ROWS:
            notes.append(_word("findings_capped", lang, total=len(result.findings), shown=MAX_DETAIL_ROWS))
        suppressed = getattr(result, "suppressed", None)
        if isinstance(suppressed, pd.DataFrame) and len(suppressed):
            notes.append(_word("suppressed_note", lang, n=len(suppressed)))
        if self.trends is not None and getattr(self.trends, "current_label", None):
            notes.append(_word("history_note", lang, path=self.trends.path, label=self.trends.current_label))
        facts: list[tuple[str, Any]] = [
            (_word("inputs", lang), "\n".join(inputs)),
            (_word("period", lang), audit_period(ingest.messages) or _word("no_times", lang)),
            (_word("rows_read", lang), int(ingest.input_rows)),
            (_word("rows_audited", lang), int(len(ingest.messages))),
            (_word("rows_rejected", lang), int(len(ingest.rejected))),
            (_word("n_sessions", lang), int(len(result.sessions))),
            (_word("n_agents", lang), int(len(result.agents))),
            (_word("n_findings", lang), int(len(result.findings))),
            (_word("rules_version", lang), rules_hash(result.rules)),
            (_word("timezone", lang), result.timezone),
            (_word("scoring", lang), self._scoring_sentence()),
            (_word("privacy", lang), _word("masked" if self.mask else "unmasked", lang)),
            (_word("notes", lang), "\n".join(notes)),
        ]
        row = 2
        for label, value in facts:
            self.text(sheet, row, 0, label, fmt.bold)
            if isinstance(value, int):
                sheet.write_number(row, 1, value, fmt.integer_left)
            else:
                # Long values span B:F; merge_range writes "" and write_string the text.
                sheet.merge_range(row, 1, row, 5, "", fmt.wrap)
                self.text(sheet, row, 1, value, fmt.wrap)
                lines = _display_lines(value, _SUMMARY_VALUE_WIDTH)
                if lines > 1:
                    sheet.set_row(row, 15 * min(lines, 30))
            row += 1

        row = self._summary_rules_table(sheet, row + 1)
        self._summary_coaching(sheet, row + 2)

    def _summary_rules_table(self, sheet: Any, row: int) -> int:
        lang, fmt, result = self.lang, self.formats, self.result
        self.text(sheet, row, 0, _word("per_rule_title", lang), fmt.section)
        row += 1
        self.header(sheet, row, [_word("rule", lang), _word("name", lang), _word("severity", lang),
                                 _word("count", lang), _word("per100", lang), _word("agents_involved", lang)])
        table_header = row
        findings = result.findings
        counts = findings["rule"].value_counts() if len(findings) else pd.Series(dtype="int64")
        involved = findings.groupby("rule")["agent"].nunique() if len(findings) else pd.Series(dtype="int64")
        severity_of = {rule.id: str(rule.severity) for rule in result.rules}
        n_sessions = max(len(result.sessions), 1)
        for rule_id in self.rule_ids():
            row += 1
            count = int(counts.get(rule_id, 0))
            self.text(sheet, row, 0, rule_id, fmt.text)
            self.text(sheet, row, 1, self.rule_label(rule_id), fmt.text)
            self.text(sheet, row, 2, _severity(severity_of.get(rule_id, ""), lang), fmt.text)
            sheet.write_number(row, 3, count, fmt.integer)
            sheet.write_number(row, 4, round(count * 100.0 / n_sessions, 1), fmt.number1)
            sheet.write_number(row, 5, int(involved.get(rule_id, 0)), fmt.integer)
        if row > table_header:
            name = sheet.get_name()
            chart = self.workbook.add_chart({"type": "bar"})
            chart.add_series({
                "name": _word("chart_rules", lang),
                "categories": [name, table_header + 1, 1, row, 1],
                "values": [name, table_header + 1, 3, row, 3],
                "fill": {"color": "#C0504D"},
                "data_labels": {"value": True},
            })
            chart.set_title({"name": _word("chart_rules", lang)})
            chart.set_legend({"none": True})
            chart.set_y_axis({"reverse": True})
            sheet.insert_chart(1, 7, chart, {"x_scale": 1.3, "y_scale": 1.0})
        return row

    def _summary_coaching(self, sheet: Any, row: int) -> None:
        lang, fmt, agents = self.lang, self.formats, self.result.agents
        self.text(sheet, row, 0, _word("coaching_title", lang), fmt.section)
        row += 1
        self.header(sheet, row, [_word("agent", lang), _word("main_issue", lang), _word("score", lang),
                                 _word("sessions", lang), _word("per100", lang), _word("vetoes", lang)])
        if not len(agents):
            return
        for agent in agents[agents["agent"] != UNKNOWN_AGENT].head(COACHING_AGENTS).itertuples(index=False):
            row += 1
            by_rule = {k: v for k, v in (agent.findings_by_rule or {}).items() if v}
            main = max(by_rule, key=lambda k: (by_rule[k], k)) if by_rule else ""
            self.text(sheet, row, 0, self.masker.agent(agent.agent), fmt.text)
            self.text(sheet, row, 1, self.rule_label(main) if main else "", fmt.text)
            self.number(sheet, row, 2, float(agent.score), fmt.number1)
            self.number(sheet, row, 3, float(agent.sessions), fmt.integer)
            self.number(sheet, row, 4, float(agent.findings_per_100_sessions), fmt.number1)
            self.number(sheet, row, 5, float(agent.vetoes), fmt.integer)

        # The lowest scores, straight from the Agents sheet (worst first).
        n = min(len(agents), CHART_AGENTS)
        agents_sheet = self.sheets["agents"].get_name()
        first = self.agents_header_row + 1
        chart = self.workbook.add_chart({"type": "bar"})
        chart.add_series({
            "name": _word("chart_agents", lang),
            "categories": [agents_sheet, first, 0, first + n - 1, 0],
            "values": [agents_sheet, first, 1, first + n - 1, 1],
            "fill": {"color": "#4F81BD"},
            "data_labels": {"value": True, "num_format": "0.0"},
        })
        chart.set_title({"name": _word("chart_agents", lang)})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        chart.set_x_axis({"max": 100})
        sheet.insert_chart(17, 7, chart, {"x_scale": 1.3, "y_scale": max(1.0, n / 12)})


_SUMMARY_VALUE_WIDTH = 22 + 4 * 12  # columns B:F of the summary, in character widths


def _display_lines(text: str, width: int) -> int:
    """Lines a wrapped cell of ``width`` needs (CJK characters count double)."""
    total = 0
    for line in text.split("\n"):
        size = sum(2 if ord(char) > 0x2E7F else 1 for char in line)
        total += max(1, -(-size // width))
    return total


def _file_labels(findings: pd.DataFrame) -> pd.Series:
    """``file``, or ``file [sheet]`` for Excel inputs."""
    files = findings["file"].fillna("").astype("str")
    if "sheet" not in findings:
        return files
    sheets = findings["sheet"].fillna("").astype("str")
    has_sheet = sheets != ""
    if not has_sheet.any():
        return files
    return files.where(~has_sheet, files + " [" + sheets + "]")


def _worst_sessions(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions worst first: lowest score, then most findings, then by id."""
    return sessions.sort_values(["score", "findings", "session_id"], ascending=[True, False, True], kind="stable")


def _declared_severities(params: Any) -> set[str]:
    """Severities a rule's parameters can give findings (e.g. a critical phrase category)."""
    found: set[str] = set()
    if isinstance(params, dict):
        for key, value in params.items():
            if key == "severity" and value in SEVERITY:
                found.add(value)
            else:
                found |= _declared_severities(value)
    elif isinstance(params, list):
        for value in params:
            found |= _declared_severities(value)
    return found


_OTHER_LANG_SUFFIX = {"zh": "_en", "en": "_zh"}


def _short(value: Any, lang: str, items: int = 5, chars: int = 24) -> str:
    """A parameter value in a few words: long lists as their size and first items."""
    if isinstance(value, dict):
        name = value.get("name")
        inner = ", ".join(
            f"{k}={_short(v, lang, 3)}"
            for k, v in value.items()
            if k != "name" and v not in (None, "", [], {}) and not k.endswith(_OTHER_LANG_SUFFIX[lang])
        )
        return f"{name}({inner})" if name else "{" + inner + "}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            return "; ".join(_short(v, lang, items, chars) for v in value)
        shown = [s if len(s) <= chars else s[: chars - 1] + "…" for s in (str(v) for v in value[:items])]
        text = "、".join(shown)
        if len(value) > items:
            text = _word("items", lang, n=len(value)) + ": " + text + "…"
        return text
    text = str(value)
    return text if len(text) <= 4 * chars else text[: 4 * chars - 1] + "…"


def _params_summary(params: dict[str, Any], lang: str) -> str:
    """One line per parameter, shortened; the rule file has the full text."""
    return "\n".join(f"{key} = {_short(value, lang)}" for key, value in params.items())[:MAX_CELL_CHARS]


def write_workbook(
    result: AuditResult, path: Path, *, lang: str = "zh", mask: bool = True, trends: Any = None, carry: Any = None,
) -> None:
    """Write the audit workbook to ``path`` atomically (temporary file, then rename).

    ``lang`` "zh" (default) or "en" names sheets and headers; ``mask`` hides personal data
    in every text cell. Scoring parameters come from ``result.scoring`` when the pipeline
    sets it, else from the built-in ``scoring.toml``. ``trends`` (:class:`qa.history.Trends`,
    when the run was recorded in a history) adds the Trends sheet. ``carry``
    (:class:`qa.carryover.Carry`) puts the verdicts and comments of the workbook it replaces
    back on their findings, and keeps those it cannot place on a sheet of their own.
    """
    lang = lang if lang in LANGS else "zh"
    scoring = getattr(result, "scoring", None) or default_scoring()

    def write(temporary: Path) -> None:
        workbook = xlsxwriter.Workbook(
            str(temporary),
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "constant_memory": False,
                # Sheets are assembled in temporary files beside the output, not in memory:
                # at 10M messages the in-memory zip alone cost ~700 MB of peak memory.
                "in_memory": False,
                "tmpdir": str(temporary.parent),
            },
        )
        try:
            _Writer(workbook, result, lang, mask, scoring, trends, carry).write()
        finally:
            try:
                workbook.close()
            except XlsxWriterException as error:
                if error.args and isinstance(error.args[0], OSError):
                    raise error.args[0] from None  # atomic_write names the path and the cause
                raise OutputError(f"cannot write {path}: {error}") from None

    atomic_write(Path(path), write)


# ---------------------------------------------------------------------------------------
# Hidden data, trends, and the review workbook (qa review)


def _write_data_sheet(writer: Any, sheet: Any, runs: list[dict[str, Any]]) -> None:
    """The very hidden ``qa_data`` sheet: the runs' data as JSON cut into cells A1, A2, ..."""
    sheet.very_hidden()
    for row, chunk in enumerate(data_chunks(runs)):
        writer.text(sheet, row, 0, chunk)


def _latest(values: list[float | None]) -> float:
    present = [v for v in values if v is not None]
    return present[-1] if present else math.inf


def _write_trends(writer: Any, sheet: Any, trends: Any) -> None:
    """Trends / 趋势: runs, each agent's score per run, each rule's findings per 100 sessions
    per run (tables, runs as rows), and a line chart of each."""
    lang, fmt = writer.lang, writer.formats
    runs = trends.runs
    n = len(runs)
    writer.text(sheet, 0, 0, _word("trends_title", lang, n=n, total=trends.total_runs), fmt.title)
    writer.text(sheet, 1, 0, _word("trends_note", lang, path=trends.path), fmt.text)
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 2, 20)
    sheet.set_column(3, 3, 28)
    sheet.set_column(4, 200, 12)
    if not n:
        return
    name = sheet.get_name()
    charts_row = 3
    row = charts_row + 19
    writer.text(sheet, row, 0, _word("runs_title", lang), fmt.section)
    row += 1
    writer.header(sheet, row, [
        _word("run", lang), _word("period", lang), _word("ran_at", lang), _word("inputs", lang),
        _word("n_sessions", lang), _word("n_findings", lang), _word("suppressed_count", lang), _word("reviewed_at", lang),
    ])
    for run in runs:
        row += 1
        writer.text(sheet, row, 0, run.label, fmt.text)
        writer.text(sheet, row, 1, run.period, fmt.text)
        writer.text(sheet, row, 2, run.ran, fmt.text)
        writer.text(sheet, row, 3, ", ".join(Path(p).name or p for p in run.inputs), fmt.text)
        sheet.write_number(row, 4, run.sessions, fmt.integer)
        sheet.write_number(row, 5, run.findings, fmt.integer)
        sheet.write_number(row, 6, run.suppressed, fmt.integer)
        writer.text(sheet, row, 7, run.reviewed, fmt.text)

    def series_table(top: int, title: str, columns: list[tuple[str, list[float | None]]], chart_col: int, y_axis: dict) -> int:
        writer.text(sheet, top, 0, title, fmt.section)
        header = top + 1
        writer.header(sheet, header, [_word("run", lang), *(label for label, _ in columns)])
        for i, run in enumerate(runs):
            writer.text(sheet, header + 1 + i, 0, run.label, fmt.text)
            for col, (_, values) in enumerate(columns, start=1):
                writer.number(sheet, header + 1 + i, col, values[i], fmt.number1)
        if columns:
            chart = writer.workbook.add_chart({"type": "line"})
            for col in range(1, min(len(columns), TREND_CHART_SERIES) + 1):
                chart.add_series({
                    "name": [name, header, col],
                    "categories": [name, header + 1, 0, header + n, 0],
                    "values": [name, header + 1, col, header + n, col],
                    "marker": {"type": "circle", "size": 5},
                })
            chart.set_title({"name": title})
            chart.set_y_axis(y_axis)
            chart.show_blanks_as("span")
            chart.set_legend({"position": "bottom"})
            sheet.insert_chart(charts_row, chart_col, chart, {"x_scale": 1.25, "y_scale": 1.3})
        return header + n + 2

    # Agents with the lowest latest score first: they are the ones charted.
    agents = sorted(trends.agents.items(), key=lambda item: (_latest(item[1]), item[0]))
    row = series_table(row + 3, _word("agent_trend_title", lang), agents, 0, {"max": 100})
    rules = [(writer.rule_label(rule), values) for rule, values in trends.rules.items()]
    series_table(row + 1, _word("rule_trend_title", lang), rules, 5, {"min": 0})


REVIEW_SHEETS = {
    "review": ("复核结果", "Review"),
    "agents": ("客服评分", "Agents"),
    "findings": ("违规明细", "Findings"),
    "sessions": ("会话", "Sessions"),
}

REVIEW_WORDS = {
    "review_title": ("复核结果：误报不扣分后的得分与规则准确率", "Review: scores without false positives, and measured rule precision"),
    "workbooks": ("复核的工作簿", "Reviewed workbooks"),
    "audits": ("审核", "Audits"),
    "verdicts": ("复核结论", "Verdicts"),
    "verdict_counts": ("列出 {listed} 条，已复核 {reviewed} 条：确认 {confirmed}，误报 {false}，待定 {pending}",
                       "{listed} listed, {reviewed} reviewed: {confirmed} confirmed, {false} false positive, {pending} pending"),
    "history": ("历史记录", "History"),
    "rescoring": ("重新评分", "Rescoring"),
    "rescoring_text": ("误报不扣分、不触发一票否决；确认、待定和未复核的违规照常扣分。客服得分 = 其会话得分的平均值。",
                       "False positives deduct no points and veto nothing; confirmed, pending and unreviewed findings still deduct. Agent score = mean of their session scores."),
    "quality_title": ("各规则实测准确率（准确率 = 确认 /（确认 + 误报））", "Measured precision per rule (confirmed / (confirmed + false positive))"),
    "listed": ("列出的违规", "Findings listed"),
    "reviewed": ("已复核", "Reviewed"),
    "confirmed": ("确认", "Confirmed"),
    "false_positive": ("误报", "False positive"),
    "pending": ("待定", "Pending"),
    "unreviewed": ("未复核", "Unreviewed"),
    "precision": ("准确率", "Precision"),
    "judged": ("样本数（确认+误报）", "n (confirmed + false)"),
    "fp_title": ("最常见的误报消息（用于修改规则；--emit-suppressions 可生成屏蔽文件）",
                 "Most frequent false positives (to fix the rules; --emit-suppressions turns them into a suppression file)"),
    "fp_text": ("消息（标准化前的示例）", "Message (as shown)"),
    "times": ("次数", "Times"),
    "comments": ("复核备注", "Comments"),
    "report": ("报告", "Report"),
    "score_before": ("复核前得分", "Score before review"),
    "score_after": ("复核后得分", "Score after review"),
    "change": ("变化", "Change"),
    "false_positives": ("误报数", "False positives"),
    "findings_after": ("复核后违规数", "Findings after review"),
    "credits_total": ("亮点数", "Credits"),
    "reviewer": ("复核人", "Reviewer"),
    "reviewed_in": ("复核来源", "Reviewed in"),
    "points_after": ("复核后扣分", "Points after review"),
    "session_before": ("会话得分（复核前）", "Session score before"),
    "session_after": ("会话得分（复核后）", "Session score after"),
}


def _rword(key: str, lang: str, **values: Any) -> str:
    text = REVIEW_WORDS[key][0 if lang == "zh" else 1]
    return text.format(**values) if values else text


class _ReviewWriter(_Writer):
    """The workbook of ``qa review``: the same look as the audit workbook."""

    def __init__(self, workbook: xlsxwriter.Workbook, review: Any, lang: str, trends: Any, history_note: str):
        self.workbook = workbook
        self.review = review
        self.lang = lang
        self.rule_names = review.rule_names()
        self.mask = False  # texts come from the reviewed workbooks, masked as they were
        self.trends = trends
        self.history_note = history_note
        self.formats = _formats(workbook)
        self.sheets = {}
        for key, names in REVIEW_SHEETS.items():
            self.sheets[key] = workbook.add_worksheet(_pick(names, lang), worksheet_class=_BulkSheet)
            if key == "agents" and trends is not None:
                self.sheets["trends"] = workbook.add_worksheet(_pick(TRENDS_SHEET, lang), worksheet_class=_BulkSheet)
        self.data_sheet = workbook.add_worksheet(DATA_SHEET)
        self.cells = _Cells(workbook, self.formats.highlight, self.formats.plain, self.sheets["findings"])

    def write(self) -> None:
        for sheet in self.sheets.values():
            sheet.set_landscape()
            sheet.set_paper(9)
            sheet.fit_to_pages(1, 0)
            sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        self.write_review()
        self.write_review_agents()
        self.write_review_findings()
        self.write_review_sessions()
        if self.trends is not None:
            _write_trends(self, self.sheets["trends"], self.trends)
        _write_data_sheet(self, self.data_sheet, [run.data for run in self.review.runs])
        self.sheets["review"].activate()

    def write_review(self) -> None:
        from qa.review import Verdict

        sheet, lang, fmt, review = self.sheets["review"], self.lang, self.formats, self.review
        sheet.set_column(0, 0, 22)
        sheet.set_column(1, 1, 40)
        sheet.set_column(2, 9, 11)
        self.text(sheet, 0, 0, _rword("review_title", lang), fmt.title)
        verdicts = [v for v in review.verdicts.values() if v.verdict is not None]
        count = {v: sum(1 for x in verdicts if x.verdict == v) for v in Verdict}
        workbooks = "\n".join(
            f"{w.path}" + (f" — {w.modified_by}" if w.modified_by else "") for w in review.workbooks
        )
        audits = "\n".join(
            f"{run.label}: {', '.join(run.data.get('inputs', []))}" + (f" ({run.data['period']})" if run.data.get("period") else "")
            for run in review.runs
        )
        facts = [
            (_rword("workbooks", lang), workbooks),
            (_rword("audits", lang), audits),
            (_rword("verdicts", lang), _rword(
                "verdict_counts", lang, listed=sum(len(run.findings) for run in review.runs), reviewed=len(verdicts),
                confirmed=count[Verdict.CONFIRMED], false=count[Verdict.FALSE_POSITIVE], pending=count[Verdict.PENDING],
            )),
            (_rword("rescoring", lang), _rword("rescoring_text", lang)),
            (_rword("history", lang), self.history_note),
        ]
        row = 2
        for label, value in facts:
            self.text(sheet, row, 0, label, fmt.bold)
            sheet.merge_range(row, 1, row, 7, "", fmt.wrap)
            self.text(sheet, row, 1, value, fmt.wrap)
            lines = _display_lines(value, 40 + 6 * 11)
            if lines > 1:
                sheet.set_row(row, 15 * min(lines, 30))
            row += 1

        row += 1
        self.text(sheet, row, 0, _rword("quality_title", lang), fmt.section)
        row += 1
        self.header(sheet, row, [
            _word("rule", lang), _word("name", lang), _rword("listed", lang), _rword("reviewed", lang),
            _rword("confirmed", lang), _rword("false_positive", lang), _rword("pending", lang),
            _rword("unreviewed", lang), _rword("precision", lang), _rword("judged", lang),
        ])
        for quality in review.quality.itertuples(index=False):
            row += 1
            self.text(sheet, row, 0, quality.rule, fmt.text)
            self.text(sheet, row, 1, self.rule_label(quality.rule), fmt.text)
            for col, value in enumerate(
                [quality.findings, quality.reviewed, quality.confirmed, quality.false_positive, quality.pending,
                 quality.unreviewed], start=2,
            ):
                sheet.write_number(row, col, int(value), fmt.integer)
            self.number(sheet, row, 8, quality.precision, fmt.percent)
            sheet.write_number(row, 9, int(quality.judged), fmt.integer)

        row += 2
        self.text(sheet, row, 0, _rword("fp_title", lang), fmt.section)
        row += 1
        self.header(sheet, row, [_word("rule", lang), _rword("fp_text", lang), _rword("times", lang), _rword("comments", lang)])
        sheet.set_column(3, 3, 11)
        for fp in review.false_texts.itertuples(index=False):
            row += 1
            self.text(sheet, row, 0, self.rule_label(fp.rule), fmt.text)
            self.text(sheet, row, 1, _fit_cell(str(fp.example)), fmt.wrap)
            sheet.write_number(row, 2, int(fp.count), fmt.integer)
            self.text(sheet, row, 3, str(fp.comments), fmt.text)

    def write_review_agents(self) -> None:
        sheet, lang, fmt = self.sheets["agents"], self.lang, self.formats
        headers = [
            _word("agent", lang), _rword("score_after", lang), _rword("score_before", lang), _rword("change", lang),
            _word("sessions", lang), _word("findings", lang), _rword("false_positives", lang),
            _rword("findings_after", lang), _rword("report", lang),
        ]
        # Credits for good practice, when the audits carried them: the total, then each credit.
        credits = self.review.credits()
        if credits:
            headers += [_rword("credits_total", lang)]
            headers += [_word("credit_count", lang, label=names.get(lang) or credit) for credit, names in credits]
        self.header(sheet, 0, headers)
        self.widths(sheet, [22, 10, 10, 8, 8, 8, 8, 10, 24] + [10] * (len(credits) + 1 if credits else 0))
        frames = [run.agents.assign(report=run.label) for run in self.review.runs if len(run.agents)]
        agents = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        n = len(agents)
        if n:
            agents = agents.sort_values(["score_after", "agent", "report"], kind="stable")
            columns = [
                Column(_as_list(agents["agent"].astype("str")), "text", fmt.text),
                Column(_numbers(agents["score_after"]), "number", fmt.number1),
                Column(_numbers(agents["score_before"]), "number", fmt.number1),
                Column(_numbers(agents["change"]), "number", fmt.number1),
                Column(_numbers(agents["sessions"]), "number", fmt.integer),
                Column(_numbers(agents["findings"]), "number", fmt.integer),
                Column(_numbers(agents["false_positives"]), "number", fmt.integer),
                Column(_numbers(agents["findings_after"]), "number", fmt.integer),
                Column(_as_list(agents["report"].astype("str")), "text", fmt.text),
            ]
            if credits:
                counts = [value if isinstance(value, dict) else None
                          for value in (agents["credits"] if "credits" in agents else [None] * n)]
                # An agent of a run without credit data has no counts: blank, not 0.
                columns.append(Column([sum(c.values()) if c is not None else None for c in counts], "number", fmt.integer))
                columns += [Column([c.get(credit, 0) if c is not None else None for c in counts], "number", fmt.integer)
                            for credit, _ in credits]
            self.cells.write_cells(sheet, 1, columns)
            sheet.conditional_format(
                1, 1, n, 1,
                {"type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B"},
            )
        self.finish_table(sheet, 0, n, len(headers))
        sheet.freeze_panes(1, 1)

    def write_review_sessions(self) -> None:
        sheet, lang, fmt = self.sheets["sessions"], self.lang, self.formats
        headers = [
            _word("session", lang), _word("agent", lang), _rword("score_after", lang), _rword("score_before", lang),
            _rword("change", lang), _word("findings", lang), _rword("false_positives", lang), _rword("report", lang),
        ]
        self.header(sheet, 0, headers)
        self.widths(sheet, [18, 22, 10, 10, 8, 8, 8, 24])
        frames = [run.sessions.assign(report=run.label) for run in self.review.runs if len(run.sessions)]
        sessions = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        n = min(len(sessions), MAX_DETAIL_ROWS)
        if n:
            sessions = sessions.sort_values(["score_after", "session_id"], kind="stable").iloc[:n]
            columns = [
                Column(_as_list(sessions["session_id"].astype("str")), "text", fmt.text),
                Column(_as_list(sessions["agent"].astype("str")), "text", fmt.text),
                Column(_numbers(sessions["score_after"]), "number", fmt.number1),
                Column(_numbers(sessions["score_before"]), "number", fmt.number1),
                Column(_numbers(sessions["change"]), "number", fmt.number1),
                Column(_numbers(sessions["findings"]), "number", fmt.integer),
                Column(_numbers(sessions["false_positives"]), "number", fmt.integer),
                Column(_as_list(sessions["report"].astype("str")), "text", fmt.text),
            ]
            self.cells.rows(sheet, 1, columns)
        self.finish_table(sheet, 0, n, len(headers))

    def write_review_findings(self) -> None:
        from qa.review import verdict_word

        sheet, lang, fmt = self.sheets["findings"], self.lang, self.formats
        headers = [
            _word("time", lang), _word("agent", lang), _word("session", lang), _word("rule", lang),
            _word("severity", lang), _word("reason", lang), _word("message_marked", lang), _word("context", lang),
            _word("file", lang), _word("row", lang), _word("review", lang), _word("comment", lang),
            _rword("reviewer", lang), _rword("reviewed_in", lang), _rword("points_after", lang),
            _rword("session_before", lang), _rword("session_after", lang), _rword("report", lang),
            _word("finding_id", lang),
        ]
        self.header(sheet, 0, headers)
        widths = [19, 20, 16, 14, 8, 36, 50, 36, 22, 7, 10, 24, 12, 24, 9, 10, 10, 20, 13]
        self.widths(sheet, widths)
        findings = self.review.findings
        n = min(len(findings), MAX_DETAIL_ROWS)
        review_col = headers.index(_word("review", lang))
        if n:
            part = findings.iloc[:n]
            empty = pd.Series([""] * n, dtype="str")
            reasons = _cell_text(part["reason"].fillna("").astype("str"), False, lang)
            texts = _cell_text(part["text"].fillna("").astype("str"), False, lang, cut=False)
            contexts = _cell_text(part["context"].fillna("").astype("str"), False, lang)
            times = pd.to_datetime(part["time"], errors="coerce") if "time" in part else empty
            marked = [
                _fit_marked(*cell, lang)
                for cell in zip(_as_list(texts), [int(v) for v in part["span_start"]], [int(v) for v in part["span_end"]])
            ]
            columns = [
                Column(_numbers(pd.Series(_excel_dates(pd.Series(times)))), "number", fmt.datetime),
                Column(_as_list(part["agent"].fillna("").astype("str")), "text", fmt.text),
                Column(_as_list(part["session_id"].astype("str")), "text", fmt.text),
                Column([self.rule_label(r) for r in part["rule"]], "text", fmt.text),
                Column([_severity(s, lang) for s in part["severity"]], "text", fmt.text),
                Column(_as_list(reasons), "text", fmt.wrap),
                Column(marked, "marked", fmt.wrap, fmt.highlight_cell),
                Column(_as_list(contexts), "text", fmt.wrap),
                Column(_as_list(part["file"].fillna("").astype("str")), "text", fmt.text),
                Column(_numbers(part["row"]), "number", fmt.integer),
                Column([verdict_word(v, lang) for v in part["verdict"]], "text", fmt.text),
                Column(_as_list(part["comment"].fillna("").astype("str")), "text", fmt.wrap),
                Column(_as_list(part["reviewer"].fillna("").astype("str")), "text", fmt.text),
                Column(_as_list(part["where"].fillna("").astype("str")), "text", fmt.text),
                Column(_numbers(part["points_after"]), "number", fmt.number1),
                Column(_numbers(part["session_score_before"]), "number", fmt.number1),
                Column(_numbers(part["session_score_after"]), "number", fmt.number1),
                Column(_as_list(part["run"].astype("str")), "text", fmt.text),
                Column(_as_list(part["id"].astype("str")), "text", fmt.text),
            ]
            heights = _row_heights([(reasons, widths[5]), (texts, widths[6]), (contexts, widths[7])])
            self.cells.rows(sheet, 1, columns, heights)
        sheet.data_validation(
            1, review_col, max(n, 1), review_col,
            {"validate": "list", "source": _pick(REVIEW_CHOICES, lang), "ignore_blank": True},
        )
        self.finish_table(sheet, 0, n, len(headers))


def write_review_workbook(review: Any, path: Path, *, lang: str = "zh", trends: Any = None, history_note: str = "") -> None:
    """Write the workbook of ``qa review`` (:class:`qa.review.Review`) atomically. Its Findings
    sheet keeps the Review and Comment columns (filled in) and it carries the same hidden data,
    so it can be reviewed further and given to ``qa review`` again."""
    lang = lang if lang in LANGS else "zh"

    def write(temporary: Path) -> None:
        workbook = xlsxwriter.Workbook(
            str(temporary),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "in_memory": True},
        )
        try:
            _ReviewWriter(workbook, review, lang, trends, history_note).write()
        finally:
            try:
                workbook.close()
            except XlsxWriterException as error:
                if error.args and isinstance(error.args[0], OSError):
                    raise error.args[0] from None  # atomic_write names the path and the cause
                raise OutputError(f"cannot write {path}: {error}") from None

    atomic_write(Path(path), write)
