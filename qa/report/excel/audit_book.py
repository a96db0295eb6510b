"""The audit workbook (Summary, Agents, Findings, Highlights, Sessions, Transcripts, Rules,
Rejected, Trends, hidden qa_data): :func:`write_workbook`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from qa.identity import finding_ids, masked_finding_ids
from qa.mask import mask_findings, result_masker
from qa.memory import release_memory
from qa.metrics import metrics_note
from qa.model import UNKNOWN_AGENT, AuditResult, audit_period
from qa.report import MAX_DETAIL_ROWS
from qa.report.excel.book import write_book
from qa.report.excel.cells import (
    DATETIME_FORMAT,
    MAX_CELL_CHARS,
    MAX_ROW_LINES,
    POINTS_PER_LINE,
    as_list,
    cell_text,
    detail_cells,
    excel_dates,
    fit_cell,
    fit_marked,
    number_values,
    row_heights,
)
from qa.report.excel.rows import BulkSheet, Cells, Column, Later
from qa.report.excel.trends import write_trends
from qa.report.excel.words import (
    FINDING_HEADERS,
    LANGS,
    ROLE,
    SEVERITY,
    SHEETS,
    TRENDS_SHEET,
    pick,
    severity_word,
    word,
    words,
)
from qa.review import DATA_SHEET, REVIEW_CHOICES, build_run_data, data_chunks
from qa.rules import result_rules_hash, rule_names
from qa.rules import rule_label as _rule_label
from qa.score import Scoring, default_scoring

MAX_TRANSCRIPT_SESSIONS = 200
# Up to this many messages the workbook is assembled in memory, not in temporary files.
IN_MEMORY_MAX_MESSAGES = 50_000
MAX_TRANSCRIPT_LINES = 20_000
COACHING_AGENTS = 5
CHART_AGENTS = 20
MAX_SUPPRESSED_ROWS = 10_000  # suppressed findings listed on the Rules sheet

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


def make_formats(workbook: xlsxwriter.Workbook) -> _Formats:
    """The cell formats of both workbooks, added to ``workbook``."""
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
        datetime=add({**base, "num_format": DATETIME_FORMAT}),
        integer=add({**base, "num_format": "0"}),
        integer_left=add({**base, "num_format": "0", "align": "left"}),
        number1=add({**base, "num_format": "0.0"}),
        number2=add({**base, "num_format": "0.00"}),
        percent=add({**base, "num_format": "0.0%"}),
        highlight=add({"bold": True, "font_color": "#C00000"}),
        highlight_cell=add({**base, "text_wrap": True, "bold": True, "font_color": "#C00000"}),
        flagged_wrap=add({**flagged, "text_wrap": True}),
        flagged_text=add(flagged),
        flagged_datetime=add({**flagged, "num_format": DATETIME_FORMAT}),
        flagged_integer=add({**flagged, "num_format": "0"}),
        flagged_highlight_cell=add({**flagged, "text_wrap": True, "bold": True, "font_color": "#C00000"}),
        banner=add({"bold": True, "bg_color": "#F2F2F2", "top": 1}),
        section=add({"bold": True, "font_size": 12}),
        plain=add({}),
    )


class AuditWriter:
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
        self.formats = make_formats(workbook)
        self.add_sheets(SHEETS)
        if carry is not None and carry.not_carried:
            from qa.carryover import NOT_CARRIED_SHEET

            self.sheets["not_carried"] = workbook.add_worksheet(pick(NOT_CARRIED_SHEET, lang), worksheet_class=BulkSheet)
        self.data_sheet = workbook.add_worksheet(DATA_SHEET)
        self.cells = Cells(workbook, self.formats.highlight, self.formats.plain, self.sheets["findings"])
        self.agents_header_row = 0
        self.data_cells: Callable[[], list[str]] | None = None  # see write_workbook

    # -- helpers ---------------------------------------------------------------------------

    def add_sheets(self, names: dict[str, tuple[str, str]]) -> None:
        """Add the sheets ``names`` (key: (Chinese, English) name) in order, with the Trends
        sheet after the Agents sheet when the run has trends."""
        self.sheets = {}
        for key, pair in names.items():
            self.sheets[key] = self.workbook.add_worksheet(pick(pair, self.lang), worksheet_class=BulkSheet)
            if key == "agents" and self.trends is not None:
                self.sheets["trends"] = self.workbook.add_worksheet(pick(TRENDS_SHEET, self.lang), worksheet_class=BulkSheet)

    def set_up_pages(self) -> None:
        """Every sheet printed for a coaching talk: landscape A4, as wide as one page."""
        for sheet in self.sheets.values():
            sheet.set_landscape()
            sheet.set_paper(9)
            sheet.fit_to_pages(1, 0)
            sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)

    def text(self, sheet: Any, row: int, col: int, value: Any, cell_format: Any = None) -> None:
        """Write ``value`` as a string (never a formula), cut to fit a cell; None writes nothing."""
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
        """Write the header row ``headers`` at ``row``."""
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
        """Set the columns' widths, from column A."""
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)

    @staticmethod
    def colour_scores(sheet: Any, first_row: int, last_row: int) -> None:
        """Scores in column B coloured red (lowest) through yellow to green (highest)."""
        sheet.conditional_format(
            first_row, 1, last_row, 1,
            {"type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B"},
        )

    def verdict_choices(self, sheet: Any, first_row: int, last_row: int, col: int) -> None:
        """The Review column's drop-down list of verdicts (blank allowed)."""
        sheet.data_validation(
            first_row, col, last_row, col,
            {"validate": "list", "source": pick(REVIEW_CHOICES, self.lang), "ignore_blank": True},
        )

    def facts(self, sheet: Any, row: int, facts: list[tuple[str, Any]], last_col: int, width: int) -> int:
        """Label / value rows from ``row``: a whole number as a number, a text wrapped across
        columns B to ``last_col`` (``width`` characters) with the row as tall as its lines;
        returns the row after them."""
        fmt = self.formats
        for label, value in facts:
            self.text(sheet, row, 0, label, fmt.bold)
            if isinstance(value, int):
                sheet.write_number(row, 1, value, fmt.integer_left)
            else:
                # merge_range writes "" and write_string the text.
                sheet.merge_range(row, 1, row, last_col, "", fmt.wrap)
                self.text(sheet, row, 1, value, fmt.wrap)
                lines = display_lines(value, width)
                if lines > 1:
                    sheet.set_row(row, 15 * min(lines, 30))
            row += 1
        return row

    def message_columns(
        self, part: pd.DataFrame, times: pd.Series, labels: list[Column], details: tuple, files: pd.Series,
        widths: list[float],
    ) -> tuple[list[Column], Any]:
        """The columns of a sheet of marked messages (findings, credits): time, agent, session,
        the ``labels`` columns, reason, marked message, context, file, row; and the rows'
        heights. ``details`` are the reasons, texts, contexts and marked cells
        (:func:`detail_cells`), ``widths`` the sheet's column widths."""
        reasons, texts, contexts, marked = details
        fmt = self.formats
        n = len(part)
        # The text columns are made as the sheet writes them, one at a time (see Later).
        columns = [
            Column(number_values(pd.Series(excel_dates(times))), "number", fmt.datetime),
            Column(Later(n, lambda: as_list(part["agent"].fillna("").astype("str"))), "text", fmt.text),
            Column(Later(n, lambda: as_list(part["session_id"].astype("str"))), "text", fmt.text),
            *labels,
            Column(Later(n, lambda: as_list(reasons)), "text", fmt.wrap),
            Column(marked, "marked", fmt.wrap, fmt.highlight_cell),
            Column(Later(n, lambda: as_list(contexts)), "text", fmt.wrap),
            Column(Later(n, lambda: as_list(files)), "text", fmt.text),
            Column(number_values(part["row"]), "number", fmt.integer),
        ]
        reason = 3 + len(labels)
        heights = row_heights([(reasons, widths[reason]), (texts, widths[reason + 1]), (contexts, widths[reason + 2])])
        return columns, heights

    def text_column(self, values: pd.Series) -> Column:
        """A column of ``values`` written as strings."""
        return Column(as_list(values.astype("str")), "text", self.formats.text)

    @staticmethod
    def number_columns(frame: pd.DataFrame, cell_format: Any, *fields: str) -> list[Column]:
        """One column per field of ``frame``, numbers in ``cell_format`` (missing ones blank)."""
        return [Column(number_values(frame[field]), "number", cell_format) for field in fields]

    def capped_note(self, total: int, note: str) -> tuple[int, list[str]]:
        """How many of ``total`` rows a detail sheet lists, and the note ``note`` saying so
        when that is fewer."""
        shown = min(total, MAX_DETAIL_ROWS)
        return shown, ([word(note, self.lang, total=total, shown=shown)] if shown < total else [])

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
        """The display name of a credit in the workbook's language."""
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
        """Write every sheet."""
        self.set_up_pages()
        steps = [
            self.write_agents,  # first: the summary's chart points at its rows
            self.write_findings, self.write_highlights, self.write_sessions, self.write_transcripts, self.write_rules,
            self.write_rejected, self.write_summary, self.write_trends, self.write_data,
        ]
        if "not_carried" in self.sheets:
            steps.append(self.write_not_carried)
        for step in steps:
            step()
            # Each detail sheet builds its rows with Arrow kernels and Python lists, then keeps
            # only their XML: hand the rest back so the next sheet does not add to it.
            release_memory()
        self.sheets["summary"].activate()

    def write_trends(self) -> None:
        """The Trends sheet, when the run was recorded in a history."""
        if self.trends is not None:
            write_trends(self, self.sheets["trends"], self.trends)

    def listed_ids(self) -> list[str]:
        """Ids of the findings the Findings sheet lists (computed once)."""
        if getattr(self, "_listed_ids", None) is None:
            self._listed_ids = listed_finding_ids(self.result, self.masker, self.carry)
        return self._listed_ids

    def write_data(self) -> None:
        """The very hidden sheet with the data ``qa review`` rescores from (its cells found here,
        or by ``data_cells`` when given: see :func:`write_workbook`)."""
        if self.data_cells is not None:
            cells = self.data_cells()
        else:
            cells = data_cells(self.result, lang=self.lang, mask=self.mask, trends=self.trends,
                               listed_ids=self.listed_ids())
        write_data_cells(self, self.data_sheet, cells)

    def write_not_carried(self) -> None:
        """Verdicts and comments of the workbook this one replaced whose finding is not listed
        now: kept, so no trainer's work is lost (qa review does not read this sheet)."""

        sheet, lang, fmt = self.sheets["not_carried"], self.lang, self.formats
        note = pick((
            f"这些复核来自此前同一路径的 {self.carry.path}，但本次审核没有列出对应的违规，因此保留在这里（qa review 不读取本表）。",
            f"These verdicts were in {self.carry.path}, the earlier workbook at this path, but their findings are not listed "
            "in this audit; they are kept here (qa review does not read this sheet).",
        ), lang)
        headers = [
            word("finding_id", lang), word("review", lang), word("comment", lang), pick(("复核人", "Reviewer"), lang),
            word("session", lang), word("rule", lang), word("row", lang), word("message", lang),
            pick(("原位置", "Earlier cell"), lang), pick(("原因", "Why not carried"), lang),
        ]
        header_row = self.notes_then_header(sheet, [note], headers)
        self.widths(sheet, [13, 10, 24, 12, 16, 14, 7, 50, 14, 30])
        for offset, mark in enumerate(self.carry.not_carried, start=header_row + 1):
            values = [mark.id, mark.review, mark.comment, mark.reviewer, mark.shown.get("session", ""),
                      mark.shown.get("rule", ""), mark.shown.get("row", ""), mark.shown.get("text", ""), mark.where,
                      pick(mark.why, lang) if mark.why else ""]
            for col, value in enumerate(values):
                self.text(sheet, offset, col, fit_cell(value), fmt.wrap if col in (2, 7) else fmt.text)
        self.finish_table(sheet, header_row, header_row + len(self.carry.not_carried), len(headers))

    def write_agents(self) -> None:
        """Agents / 客服评分: one row per agent, worst first."""
        sheet, lang, fmt = self.sheets["agents"], self.lang, self.formats
        agents = self.result.agents
        rule_ids = self.rule_ids()
        note = metrics_note(bool(self.result.ingest.has_timestamps), lang)
        headers = words(
            lang, "agent", "score", "sessions", "messages_sent", "frt_median", "frt_mean", "art", "reply_rate", "qa_ratio",
            "findings", "per100",
        )
        headers += [word("rule_count", lang, label=self.rule_label(r)) for r in rule_ids]
        headers += [word("rule_per100", lang, label=self.rule_label(r)) for r in rule_ids]
        headers.append(word("vetoes", lang))
        credit_ids = self.credit_ids() if "credits" in agents else []
        headers += [word("credit_count", lang, label=self.credit_label(c)) for c in credit_ids]
        headers += [word("credit_per100", lang, label=self.credit_label(c)) for c in credit_ids]
        header_row = self.notes_then_header(sheet, [note] if note else [], headers)
        self.agents_header_row = header_row
        self.widths(sheet, [20, 8, 8, 10, 12, 12, 13, 9, 8, 8, 10] + [12] * (2 * len(rule_ids)) + [10]
                    + [12] * (2 * len(credit_ids)))
        n = len(agents)
        if n:
            by_rule = as_list(agents["findings_by_rule"])
            per_100 = as_list(agents["per_100_sessions_by_rule"])
            numbers = self.number_columns
            columns = [
                Column(as_list(self.masker.agents(agents["agent"])), "text", fmt.text),
                *numbers(agents, fmt.number1, "score"),
                *numbers(agents, fmt.integer, "sessions", "messages"),
                *numbers(agents, fmt.number1, "first_response_median_s", "first_response_mean_s", "avg_response_s"),
                *numbers(agents, fmt.percent, "reply_rate"),
                *numbers(agents, fmt.number2, "qa_ratio"),
                *numbers(agents, fmt.integer, "findings"),
                *numbers(agents, fmt.number1, "findings_per_100_sessions"),
            ]
            columns += [Column([(d or {}).get(r, 0) for d in by_rule], "number", fmt.integer) for r in rule_ids]
            columns += [Column([(d or {}).get(r, 0.0) for d in per_100], "number", fmt.number1) for r in rule_ids]
            columns.append(Column(number_values(agents["vetoes"]), "number", fmt.integer))
            if credit_ids:
                credits = [d or {} for d in as_list(agents["credits"])]
                columns += [Column([d.get(c, 0) for d in credits], "number", fmt.integer) for c in credit_ids]
                columns += [Column([(d.get("per_100_sessions") or {}).get(c, 0.0) for d in credits], "number", fmt.number1)
                            for c in credit_ids]
            # Ordinary cells (not bulk rows), so the summary chart caches their values.
            self.cells.write_cells(sheet, header_row + 1, columns)
            self.colour_scores(sheet, header_row + 1, header_row + n)
        self.finish_table(sheet, header_row, header_row + n, len(headers))
        sheet.freeze_panes(header_row + 1, 1)  # the agent's name stays in view

    def write_findings(self) -> None:
        """Findings / 违规明细: one row per finding, with Review and Comment columns."""
        sheet, lang, fmt = self.sheets["findings"], self.lang, self.formats
        findings = self.result.findings
        shown, notes = self.capped_note(len(findings), "findings_capped")
        headers = words(lang, *FINDING_HEADERS, "finding_id")
        carry = self.carry
        if carry is not None and carry.has_reviewers:
            headers.append(pick(("复核人", "Reviewer"), lang))  # who gave the verdicts carried over
        header_row = self.notes_then_header(sheet, notes, headers)
        widths = [19, 20, 16, 14, 8, 36, 50, 36, 22, 7, 10, 24, 13, 12]
        self.widths(sheet, widths[: len(headers)])
        review_col = headers.index(word("review", lang))
        if shown:
            part = self.masker.findings_head(findings, shown)  # reasons hide what the masked text hides
            labels = {rule: self.rule_label(rule) for rule in part["rule"].unique()}
            severities = {s: severity_word(s, lang) for s in part["severity"].unique()}
            rule_columns = [
                Column(Later(shown, lambda: as_list(part["rule"].map(labels))), "text", fmt.text),
                Column(Later(shown, lambda: as_list(part["severity"].map(severities))), "text", fmt.text),
            ]
            columns, heights = self.message_columns(
                part, part["timestamp"], rule_columns, detail_cells(part, lang), _file_labels(part), widths,
            )
            columns += [
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
            self.cells.rows(sheet, header_row + 1, columns, heights)
        self.verdict_choices(sheet, header_row + 1, header_row + max(shown, 1), review_col)
        self.finish_table(sheet, header_row, header_row + shown, len(headers))

    def write_highlights(self) -> None:
        """Credits for good practice, laid out like the Findings sheet (same writers, same
        masking): the credited fragment marked in the message, the message it answered."""
        sheet, lang, fmt = self.sheets["highlights"], self.lang, self.formats
        credits = getattr(self.result, "credits", None)
        shown, capped = self.capped_note(len(credits) if credits is not None else 0, "credits_capped")
        scoring = self.scoring
        bonus = (word("bonus_on", lang, max=f"{scoring.max_bonus:g}") if getattr(scoring, "credit_points", None)
                 else word("bonus_off", lang))
        notes = [word("highlights_note", lang, bonus=bonus), *capped]
        headers = words(lang, "time", "agent", "session", "credit", "reason", "message_credited", "context", "file", "row")
        header_row = self.notes_then_header(sheet, notes, headers)
        widths = [19, 20, 16, 16, 36, 50, 36, 22, 7]
        self.widths(sheet, widths)
        if shown:
            part = self.masker.findings_head(credits, shown)  # texts, session ids, agents: as findings
            labels = {c: self.credit_label(c) for c in part["credit"].unique()}
            columns, heights = self.message_columns(
                part, part["timestamp"], [Column(as_list(part["credit"].map(labels)), "text", fmt.text)],
                detail_cells(part, lang), _file_labels(part), widths,
            )
            self.cells.rows(sheet, header_row + 1, columns, heights)
        self.finish_table(sheet, header_row, header_row + shown, len(headers))

    def write_sessions(self) -> None:
        """Sessions / 会话: one row per session, worst first."""
        sheet, lang, fmt = self.sheets["sessions"], self.lang, self.formats
        sessions = self.result.sessions
        shown, notes = self.capped_note(len(sessions), "rows_capped")
        # A transferred session (more than one agent) adds the column of the agents taking part,
        # in order of their first message, after the responsible agent's; without one the sheet
        # is as before.
        transferred = "agents" in sessions and bool(len(sessions)) and bool((sessions["agents"].map(len) > 1).any())
        headers = words(
            lang, "session", "agent", *(["session_agents"] if transferred else []), "started", "file", "messages",
            "longest_wait", "findings", "rules_hit", "veto", "score",
        )
        header_row = self.notes_then_header(sheet, notes, headers)
        self.widths(sheet, [18, 20, *([28] if transferred else []), 19, 22, 8, 12, 8, 30, 8, 8])
        if shown:
            ordered = worst_sessions(sessions, shown)
            blank_text, blank_number = [""] * shown, [None] * shown
            yes = word("yes", lang)

            def rules_text(by_rule: Any) -> str:
                if not by_rule:
                    return ""
                return "、".join(f"{self.rule_label(rule)}×{count}" for rule, count in by_rule.items())

            # Text columns made as the sheet writes them (see Later): the masker keeps no state
            # between these calls that another column's would change.
            columns = [
                Column(Later(shown, lambda: as_list(self.masker.sessions(ordered["session_id"]))), "text", fmt.text),
                Column(Later(shown, lambda: as_list(self.masker.agents(ordered["agent"]))), "text", fmt.text),
                *([Column(Later(shown, lambda: [" → ".join(names) for names in self.masker.agent_lists(ordered["agents"])]),
                          "text", fmt.text)] if transferred else []),
                Column(
                    number_values(pd.Series(excel_dates(ordered["started_at"]))) if "started_at" in ordered else blank_number,
                    "number", fmt.datetime,
                ),
                Column(Later(shown, lambda: as_list(self.masker.files(ordered["file"]))) if "file" in ordered
                       else blank_text, "text", fmt.text),
                Column(number_values(ordered["messages"]), "number", fmt.integer),
                Column(number_values(ordered["longest_wait_s"]) if "longest_wait_s" in ordered else blank_number, "number", fmt.number1),
                Column(number_values(ordered["findings"]), "number", fmt.integer),
                Column(
                    Later(shown, lambda: [rules_text(d) for d in as_list(ordered["findings_by_rule"])])
                    if "findings_by_rule" in ordered else blank_text,
                    "text", fmt.text,
                ),
                Column([yes if v else "" for v in as_list(ordered["veto"])] if "veto" in ordered else blank_text, "text", fmt.text),
                Column(number_values(ordered["score"]), "number", fmt.number1),
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
        ordered = worst_sessions(flagged, MAX_TRANSCRIPT_SESSIONS)  # never more are chosen
        for session_id, count in zip(as_list(ordered["session_id"]), as_list(ordered["messages"])):
            if len(chosen) >= MAX_TRANSCRIPT_SESSIONS or (chosen and lines + count + 1 > MAX_TRANSCRIPT_LINES):
                break
            chosen.append(session_id)
            lines += int(count) + 1
        return chosen, len(flagged)

    def write_transcripts(self) -> None:
        """Transcripts / 对话记录: the flagged sessions in full, flagged lines marked."""
        sheet, lang, fmt = self.sheets["transcripts"], self.lang, self.formats
        result = self.result
        headers = words(lang, "session", "agent", "time", "role", "sender", "message_marked", "rule", "reason", "row")
        self.widths(sheet, [16, 20, 19, 6, 20, 60, 16, 40, 7])
        chosen, flagged = self._transcript_sessions()
        note = word("transcripts_note", lang, flagged=flagged, shown=len(chosen))
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
            # Masked row by row: these rows alone, not every finding of the audit.
            reasons = as_list(cell_text(mask_findings(on_lines, self.mask, self.masker)["reason"], False, lang))
            for msg, rule, reason, start, end in zip(
                as_list(on_lines["msg"]), as_list(on_lines["rule"]), reasons,
                as_list(on_lines["span_start"]), as_list(on_lines["span_end"]),
            ):
                label = self.rule_label(rule)
                if msg in marks:
                    marks[msg][0] += "、" + label
                    marks[msg][1] += "\n" + reason
                else:
                    marks[msg] = [label, reason, int(start), int(end)]

        info = result.sessions.set_index("session_id").loc[chosen]
        banner = {
            sid: word("session_banner", lang, session=self.masker.session(sid), agent=self.masker.agent(agent),
                       score=f"{score:.1f}", findings=int(n))
            for sid, agent, score, n in zip(chosen, as_list(info["agent"]), as_list(info["score"]), as_list(info["findings"]))
        }
        agent_of = dict(zip(chosen, as_list(self.masker.agents(info["agent"]))))
        shown_sid = {sid: self.masker.session(sid) for sid in chosen}
        texts = as_list(cell_text(selected["text"], self.mask, lang, cut=False, memo=self.masker.memo))
        times = number_values(pd.Series(excel_dates(selected["timestamp"])))
        roles = [pick(ROLE[r], lang) if r in ROLE else r for r in as_list(selected["role"].astype("str"))]
        senders = as_list(self.masker.agents(selected["agent"]))
        source_rows = number_values(selected["source_row"])
        session_ids = as_list(selected["session_id"].astype("str"))

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
                          fit_marked(texts[i], -1, -1, lang), "", "",
                          source_rows[i]]
                row_formats = [fmt.text, fmt.text, fmt.datetime, fmt.text, fmt.text, fmt.wrap, fmt.text, fmt.wrap, fmt.integer]
            else:
                values = [shown_sid[sid], agent_of[sid], times[i], roles[i], senders[i],
                          fit_marked(texts[i], mark[2], mark[3], lang),
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
        heights = row_heights([(message_texts, 60), (pd.Series(col[7], dtype="str"), 40)])
        self.cells.rows(sheet, header_row + 1, columns, heights)
        sheet.autofilter(header_row, 0, header_row + len(col[0]), len(headers) - 1)

    def write_rules(self) -> None:
        """Rules / 规则: every rule, its parameters, points and veto; suppressed findings."""
        sheet, lang, fmt = self.sheets["rules"], self.lang, self.formats
        result = self.result
        skipped = {s.rule: s.reason for s in result.skipped_rules}
        headers = words(
            lang, "rule", "name", "check", "severity", "points", "veto", "status", "params", "what", "origin", "file",
        )
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
            status = word("skipped", lang, reason=skipped[rule.id]) if rule.id in skipped else word("applied", lang)
            severities = {severity} | found_severities.get(rule.id, set()) | _declared_severities(rule.params)
            values = [
                rule.id, self.rule_label(rule.id), rule.check, severity_word(severity, lang),
                self._points_text(rule.id, severities), self._veto_text(rule.id), status,
                _params_summary(rule.params, lang), (rule.docs or {}).get("what", ""),
                " + ".join(getattr(rule, "origin", ()) or ()), str(rule.path or ""),
            ]
            for col, value in enumerate(values):
                self.text(sheet, row, col, value, fmt.wrap)
            lines = max(display_lines(str(v), int(w)) for v, w in zip(values, widths))
            if lines > 1:
                sheet.set_row(row, POINTS_PER_LINE * min(lines, 3 * MAX_ROW_LINES))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, row, len(headers) - 1)

        row += 2
        self.text(sheet, row, 0, word("skipped_title", lang), fmt.section)
        for skipped_rule in result.skipped_rules:
            row += 1
            self.text(sheet, row, 0, skipped_rule.rule, fmt.text)
            self.text(sheet, row, 1, skipped_rule.reason, fmt.text)
        row += 2
        self.text(sheet, row, 0, word("scoring_title", lang), fmt.section)
        row += 1
        self.text(sheet, row, 0, self._scoring_sentence(), fmt.text)
        row += 1
        self.text(sheet, row, 0, word("scoring_file", lang), fmt.text)
        self.text(sheet, row, 1, str(self.scoring.path or ""), fmt.text)
        # The audit trail of what shaped the rules: the project config and the packs applied.
        row += 1
        self.text(sheet, row, 0, word("config_file", lang), fmt.text)
        self.text(sheet, row, 1, str(getattr(result, "config_path", None) or "-"), fmt.text)
        row += 1
        self.text(sheet, row, 0, word("rule_packs", lang), fmt.text)
        self.text(sheet, row, 1, " + ".join(str(p) for p in result.rule_paths) or "-", fmt.text)
        self._suppressed_section(sheet, row + 2)

    def _suppressed_section(self, sheet: Any, row: int) -> None:
        """Findings dropped by suppression files: per rule, then each one (capped)."""
        suppressed = getattr(self.result, "suppressed", None)
        if not isinstance(suppressed, pd.DataFrame) or suppressed.empty:
            return
        lang, fmt = self.lang, self.formats
        self.text(sheet, row, 0, word("suppressed_title", lang, n=len(suppressed)), fmt.section)
        for rule_id, count in suppressed["rule"].value_counts().sort_index().items():
            row += 1
            self.text(sheet, row, 0, rule_id, fmt.text)
            self.text(sheet, row, 1, self.rule_label(rule_id), fmt.text)
            sheet.write_number(row, 2, int(count), fmt.integer)
        row += 2
        shown = min(len(suppressed), MAX_SUPPRESSED_ROWS)
        if shown < len(suppressed):
            self.text(sheet, row, 0, word("suppressed_capped", lang, total=len(suppressed), shown=shown), fmt.note)
            row += 1
        headers = words(
            lang, "rule", "agent", "session", "file", "row", "message", "suppression_reason", "suppression", "finding_id",
        )
        self.header(sheet, row, headers)
        part = suppressed.iloc[:shown]
        texts = as_list(cell_text(part["text"], self.mask, lang))
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
        return " / ".join(f"{severity_word(s, self.lang)} -{self.scoring.points_for(rule_id, s):g}" for s in ordered)

    def _veto_text(self, rule_id: str) -> str:
        own = self.scoring.rules.get(rule_id)
        if own is None or own.veto is None:
            return ""
        if own.veto == "minor":
            return word("veto_any", self.lang)
        return word("veto_from", self.lang, severity=severity_word(own.veto, self.lang))

    def _scoring_sentence(self) -> str:
        separator = "，" if self.lang == "zh" else ", "
        points = separator.join(f"{severity_word(s, self.lang)} -{self.scoring.points.get(s, 0):g}" for s in SEVERITY)
        sentence = word("scoring_text", self.lang, points=points)
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
        """Rejected / 异常行: every rejected input row."""
        sheet, lang, fmt = self.sheets["rejected"], self.lang, self.formats
        rejected = self.result.ingest.rejected
        shown, notes = self.capped_note(len(rejected), "rows_capped")
        headers = [word("file", lang), word("row", lang), word("reason", lang), word("raw", lang)]
        header_row = self.notes_then_header(sheet, notes, headers)
        self.widths(sheet, [24, 7, 36, 80])
        if shown:
            part = rejected.iloc[:shown]
            reasons = part["reason"]
            if lang == "zh":  # the reader's reasons are English; the Chinese workbook says them in Chinese
                from qa.ingest.wording import to_zh

                reasons = reasons.astype("str").map(to_zh)
            reasons = cell_text(reasons, self.mask, lang)
            raws = cell_text(part["raw"], self.mask, lang)
            columns = [
                Column(as_list(self.masker.files(part["file"])), "text", fmt.text),
                Column(number_values(part["row"]), "number", fmt.integer),
                Column(as_list(reasons), "text", fmt.wrap),
                Column(as_list(raws), "text", fmt.wrap),
            ]
            self.cells.rows(sheet, header_row + 1, columns, row_heights([(reasons, 36), (raws, 80)]))
        self.finish_table(sheet, header_row, header_row + shown, len(headers))

    def write_summary(self) -> None:
        """Summary / 概览: inputs, period, counts, findings per rule, coaching, charts."""
        sheet, lang, fmt = self.sheets["summary"], self.lang, self.formats
        result = self.result
        ingest = result.ingest
        sheet.set_column(0, 0, 26)
        sheet.set_column(1, 1, 22)
        sheet.set_column(2, 5, 12)
        self.text(sheet, 0, 0, word("title", lang), fmt.title)

        inputs = [self.masker.text(str(p)) for p in (result.inputs or ingest.files)]
        if len(inputs) > 20:
            inputs = inputs[:20] + [word("and_more", lang, n=len(inputs) - 20)]
        notes = [self.masker.text(note) for note in ingest.notes]  # (as on the terminal: a note names files)
        if lang == "zh":
            from qa.ingest.wording import all_to_zh

            notes = all_to_zh(notes)
        note = metrics_note(bool(ingest.has_timestamps), lang)
        if note:
            notes.append(note)
        for skipped in result.skipped_rules:
            notes.append(f"{skipped.rule}: {word('skipped', lang, reason=skipped.reason)}")
        if len(result.findings) > MAX_DETAIL_ROWS:
            notes.append(word("findings_capped", lang, total=len(result.findings), shown=MAX_DETAIL_ROWS))
        suppressed = getattr(result, "suppressed", None)
        if isinstance(suppressed, pd.DataFrame) and len(suppressed):
            notes.append(word("suppressed_note", lang, n=len(suppressed)))
        if self.trends is not None and getattr(self.trends, "current_label", None):
            notes.append(word("history_note", lang, path=self.trends.path, label=self.trends.current_label))
        facts: list[tuple[str, Any]] = [
            (word("inputs", lang), "\n".join(inputs)),
            (word("period", lang), audit_period(ingest.messages) or word("no_times", lang)),
            (word("rows_read", lang), int(ingest.input_rows)),
            (word("rows_audited", lang), int(len(ingest.messages))),
            (word("rows_rejected", lang), int(len(ingest.rejected))),
            (word("n_sessions", lang), int(len(result.sessions))),
            (word("n_agents", lang), int(len(result.agents))),
            (word("n_findings", lang), int(len(result.findings))),
            (word("rules_version", lang), result_rules_hash(result)),
            (word("timezone", lang), result.timezone),
            (word("scoring", lang), self._scoring_sentence()),
            (word("privacy", lang), word("masked" if self.mask else "unmasked", lang)),
            (word("notes", lang), "\n".join(notes)),
        ]
        row = self.facts(sheet, 2, facts, 5, _SUMMARY_VALUE_WIDTH)  # long values span B:F
        row = self._summary_rules_table(sheet, row + 1)
        self._summary_coaching(sheet, row + 2)

    def _summary_rules_table(self, sheet: Any, row: int) -> int:
        lang, fmt, result = self.lang, self.formats, self.result
        self.text(sheet, row, 0, word("per_rule_title", lang), fmt.section)
        row += 1
        self.header(sheet, row, [word("rule", lang), word("name", lang), word("severity", lang),
                                 word("count", lang), word("per100", lang), word("agents_involved", lang)])
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
            self.text(sheet, row, 2, severity_word(severity_of.get(rule_id, ""), lang), fmt.text)
            sheet.write_number(row, 3, count, fmt.integer)
            sheet.write_number(row, 4, round(count * 100.0 / n_sessions, 1), fmt.number1)
            sheet.write_number(row, 5, int(involved.get(rule_id, 0)), fmt.integer)
        if row > table_header:
            name = sheet.get_name()
            chart = self.workbook.add_chart({"type": "bar"})
            chart.add_series({
                "name": word("chart_rules", lang),
                "categories": [name, table_header + 1, 1, row, 1],
                "values": [name, table_header + 1, 3, row, 3],
                "fill": {"color": "#C0504D"},
                "data_labels": {"value": True},
            })
            chart.set_title({"name": word("chart_rules", lang)})
            chart.set_legend({"none": True})
            chart.set_y_axis({"reverse": True})
            sheet.insert_chart(1, 7, chart, {"x_scale": 1.3, "y_scale": 1.0})
        return row

    def _summary_coaching(self, sheet: Any, row: int) -> None:
        lang, fmt, agents = self.lang, self.formats, self.result.agents
        self.text(sheet, row, 0, word("coaching_title", lang), fmt.section)
        row += 1
        self.header(sheet, row, [word("agent", lang), word("main_issue", lang), word("score", lang),
                                 word("sessions", lang), word("per100", lang), word("vetoes", lang)])
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
            "name": word("chart_agents", lang),
            "categories": [agents_sheet, first, 0, first + n - 1, 0],
            "values": [agents_sheet, first, 1, first + n - 1, 1],
            "fill": {"color": "#4F81BD"},
            "data_labels": {"value": True, "num_format": "0.0"},
        })
        chart.set_title({"name": word("chart_agents", lang)})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        chart.set_x_axis({"max": 100})
        sheet.insert_chart(17, 7, chart, {"x_scale": 1.3, "y_scale": max(1.0, n / 12)})


_SUMMARY_VALUE_WIDTH = 22 + 4 * 12  # columns B:F of the summary, in character widths


def display_lines(text: str, width: int) -> int:
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


def worst_sessions(sessions: pd.DataFrame, head: int | None = None) -> pd.DataFrame:
    """Sessions worst first: lowest score, then most findings, then by id; the first ``head``
    of them when given (sorted by the three key columns alone, then only those rows taken:
    not a sorted copy of every session's row, ~190 MB at 10M messages)."""
    keys = ["score", "findings", "session_id"]
    order = sessions[keys].reset_index(drop=True).sort_values(keys, ascending=[True, False, True], kind="stable")
    positions = order.index.to_numpy()
    return sessions.iloc[positions if head is None else positions[:head]]


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
            if isinstance(value, (dict, list)):  # not each word of a list of ten thousand
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
            text = word("items", lang, n=len(value)) + ": " + text + "…"
        return text
    text = str(value)
    return text if len(text) <= 4 * chars else text[: 4 * chars - 1] + "…"


def _params_summary(params: dict[str, Any], lang: str) -> str:
    """One line per parameter, shortened; the rule file has the full text."""
    return "\n".join(f"{key} = {_short(value, lang)}" for key, value in params.items())[:MAX_CELL_CHARS]


def listed_finding_ids(result: AuditResult, masker: Any, carry: Any = None) -> list[str]:
    """Ids of the findings the Findings sheet lists: the carried workbook's when it has them,
    else the first :data:`MAX_DETAIL_ROWS` of the (masked) findings."""
    if getattr(carry, "ids", None) is not None:
        return carry.ids
    return masked_finding_ids(masker, result.findings)[:MAX_DETAIL_ROWS]


def data_cells(
    result: AuditResult, *, lang: str = "zh", mask: bool = True, trends: Any = None, carry: Any = None,
    listed_ids: list[str] | None = None,
) -> list[str]:
    """The cells of the workbook's very hidden ``qa_data`` sheet (what ``qa review`` rescores
    from) for :func:`write_workbook` with the same arguments; ``listed_ids``: the listed
    findings' ids when already known (:func:`listed_finding_ids`)."""
    lang = lang if lang in LANGS else "zh"
    if listed_ids is None:
        listed_ids = listed_finding_ids(result, result_masker(result, mask), carry)
    run = build_run_data(
        result, mask=mask, shown=min(len(result.findings), MAX_DETAIL_ROWS), lang=lang,
        run_key=getattr(trends, "current_key", None),
        history=str(Path(trends.path).resolve()) if trends is not None else None,
        ids=listed_ids, deferred=True,
    )
    return data_chunks([run])


def write_workbook(
    result: AuditResult, path: Path, *, lang: str = "zh", mask: bool = True, trends: Any = None, carry: Any = None,
    data: Callable[[], list[str]] | None = None,
) -> None:
    """Write the audit workbook to ``path`` atomically (temporary file, then rename).

    ``lang`` "zh" (default) or "en" names sheets and headers; ``mask`` hides personal data
    in every text cell. Scoring parameters come from ``result.scoring`` when the pipeline
    sets it, else from the built-in ``scoring.toml``. ``trends`` (:class:`qa.history.Trends`,
    when the run was recorded in a history) adds the Trends sheet. ``carry``
    (:class:`qa.carryover.Carry`) puts the verdicts and comments of the workbook it replaces
    back on their findings, and keeps those it cannot place on a sheet of their own.
    ``data``, when given, returns :func:`data_cells` of the same arguments (worked out
    elsewhere meanwhile, e.g. in another process): it is called when that sheet is written.
    """
    lang = lang if lang in LANGS else "zh"
    scoring = getattr(result, "scoring", None) or default_scoring()

    def fill(workbook: Any) -> None:
        writer = AuditWriter(workbook, result, lang, mask, scoring, trends, carry)
        writer.data_cells = data
        writer.write()

    write_book(
        path,
        fill,
        lambda temporary: {
            "constant_memory": False,
            # Sheets are assembled in temporary files beside the output, not in memory:
            # at 10M messages the in-memory zip alone cost ~700 MB of peak memory. A small
            # audit's workbook is assembled in memory (a 100-row audit: 9 ms less).
            "in_memory": len(result.ingest.messages) <= IN_MEMORY_MAX_MESSAGES,
            "tmpdir": str(temporary.parent),
        },
    )


# ---------------------------------------------------------------------------------------
# Hidden data, trends, and the review workbook (qa review)


def write_data_sheet(writer: Any, sheet: Any, runs: list[dict[str, Any]]) -> None:
    """The very hidden ``qa_data`` sheet: the runs' data as JSON cut into cells A1, A2, ..."""
    write_data_cells(writer, sheet, data_chunks(runs))


def write_data_cells(writer: Any, sheet: Any, cells: list[str]) -> None:
    """The very hidden ``qa_data`` sheet with ``cells`` (:func:`qa.review.data_chunks`) in A1, A2, ..."""
    sheet.very_hidden()
    for row, chunk in enumerate(cells):
        writer.text(sheet, row, 0, chunk)
