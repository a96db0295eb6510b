"""The workbook of ``qa review``: the audit workbook's look, with scores before and after review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from qa.report import MAX_DETAIL_ROWS
from qa.report.excel.audit_book import AuditWriter, make_formats, write_data_sheet
from qa.report.excel.book import write_book
from qa.report.excel.cells import as_list, cell_text, fit_cell, fit_marked, number_values
from qa.report.excel.rows import Cells, Column
from qa.report.excel.words import FINDING_HEADERS, LANGS, REVIEW_SHEETS, review_word, severity_word, word, words
from qa.review import DATA_SHEET


class _ReviewWriter(AuditWriter):
    """The workbook of ``qa review``: the same look as the audit workbook."""

    def __init__(self, workbook: xlsxwriter.Workbook, review: Any, lang: str, trends: Any, history_note: str):
        self.workbook = workbook
        self.review = review
        self.lang = lang
        self.rule_names = review.rule_names()
        self.mask = False  # texts come from the reviewed workbooks, masked as they were
        self.trends = trends
        self.history_note = history_note
        self.formats = make_formats(workbook)
        self.add_sheets(REVIEW_SHEETS)
        self.data_sheet = workbook.add_worksheet(DATA_SHEET)
        self.cells = Cells(workbook, self.formats.highlight, self.formats.plain, self.sheets["findings"])

    def write(self) -> None:
        self.set_up_pages()
        self.write_review()
        self.write_review_agents()
        self.write_review_findings()
        self.write_review_sessions()
        self.write_trends()
        write_data_sheet(self, self.data_sheet, [run.data for run in self.review.runs])
        self.sheets["review"].activate()

    def write_review(self) -> None:
        from qa.review import Verdict

        sheet, lang, fmt, review = self.sheets["review"], self.lang, self.formats, self.review
        sheet.set_column(0, 0, 22)
        sheet.set_column(1, 1, 40)
        sheet.set_column(2, 9, 11)
        self.text(sheet, 0, 0, review_word("review_title", lang), fmt.title)
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
            (review_word("workbooks", lang), workbooks),
            (review_word("audits", lang), audits),
            (review_word("verdicts", lang), review_word(
                "verdict_counts", lang, listed=sum(len(run.findings) for run in review.runs), reviewed=len(verdicts),
                confirmed=count[Verdict.CONFIRMED], false=count[Verdict.FALSE_POSITIVE], pending=count[Verdict.PENDING],
            )),
            (review_word("rescoring", lang), review_word("rescoring_text", lang)),
            (review_word("history", lang), self.history_note),
        ]
        row = self.facts(sheet, 2, facts, 7, 40 + 6 * 11)  # values span B:H

        row += 1
        self.text(sheet, row, 0, review_word("quality_title", lang), fmt.section)
        row += 1
        self.header(sheet, row, [
            word("rule", lang), word("name", lang), review_word("listed", lang), review_word("reviewed", lang),
            review_word("confirmed", lang), review_word("false_positive", lang), review_word("pending", lang),
            review_word("unreviewed", lang), review_word("precision", lang), review_word("judged", lang),
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
        self.text(sheet, row, 0, review_word("fp_title", lang), fmt.section)
        row += 1
        self.header(sheet, row, [word("rule", lang), review_word("fp_text", lang), review_word("times", lang), review_word("comments", lang)])
        sheet.set_column(3, 3, 11)
        for fp in review.false_texts.itertuples(index=False):
            row += 1
            self.text(sheet, row, 0, self.rule_label(fp.rule), fmt.text)
            self.text(sheet, row, 1, fit_cell(str(fp.example)), fmt.wrap)
            sheet.write_number(row, 2, int(fp.count), fmt.integer)
            self.text(sheet, row, 3, str(fp.comments), fmt.text)

    def _all_runs(self, table: str) -> pd.DataFrame:
        """The reviewed runs' ``table`` (agents, sessions) in one frame, each row with its
        run's label in ``report``."""
        frames = [getattr(run, table).assign(report=run.label) for run in self.review.runs if len(getattr(run, table))]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def write_review_agents(self) -> None:
        sheet, lang, fmt = self.sheets["agents"], self.lang, self.formats
        headers = [
            word("agent", lang), review_word("score_after", lang), review_word("score_before", lang), review_word("change", lang),
            word("sessions", lang), word("findings", lang), review_word("false_positives", lang),
            review_word("findings_after", lang), review_word("report", lang),
        ]
        # Credits for good practice, when the audits carried them: the total, then each credit.
        credits = self.review.credits()
        if credits:
            headers += [review_word("credits_total", lang)]
            headers += [word("credit_count", lang, label=names.get(lang) or credit) for credit, names in credits]
        self.header(sheet, 0, headers)
        self.widths(sheet, [22, 10, 10, 8, 8, 8, 8, 10, 24] + [10] * (len(credits) + 1 if credits else 0))
        agents = self._all_runs("agents")
        n = len(agents)
        if n:
            agents = agents.sort_values(["score_after", "agent", "report"], kind="stable")
            columns = [
                self.text_column(agents["agent"]),
                *self.number_columns(agents, fmt.number1, "score_after", "score_before", "change"),
                *self.number_columns(agents, fmt.integer, "sessions", "findings", "false_positives", "findings_after"),
                self.text_column(agents["report"]),
            ]
            if credits:
                counts = [value if isinstance(value, dict) else None
                          for value in (agents["credits"] if "credits" in agents else [None] * n)]
                # An agent of a run without credit data has no counts: blank, not 0.
                columns.append(Column([sum(c.values()) if c is not None else None for c in counts], "number", fmt.integer))
                columns += [Column([c.get(credit, 0) if c is not None else None for c in counts], "number", fmt.integer)
                            for credit, _ in credits]
            self.cells.write_cells(sheet, 1, columns)
            self.colour_scores(sheet, 1, n)
        self.finish_table(sheet, 0, n, len(headers))
        sheet.freeze_panes(1, 1)

    def write_review_sessions(self) -> None:
        sheet, lang, fmt = self.sheets["sessions"], self.lang, self.formats
        headers = [
            word("session", lang), word("agent", lang), review_word("score_after", lang), review_word("score_before", lang),
            review_word("change", lang), word("findings", lang), review_word("false_positives", lang), review_word("report", lang),
        ]
        self.header(sheet, 0, headers)
        self.widths(sheet, [18, 22, 10, 10, 8, 8, 8, 24])
        sessions = self._all_runs("sessions")
        n = min(len(sessions), MAX_DETAIL_ROWS)
        if n:
            sessions = sessions.sort_values(["score_after", "session_id"], kind="stable").iloc[:n]
            columns = [
                self.text_column(sessions["session_id"]),
                self.text_column(sessions["agent"]),
                *self.number_columns(sessions, fmt.number1, "score_after", "score_before", "change"),
                *self.number_columns(sessions, fmt.integer, "findings", "false_positives"),
                self.text_column(sessions["report"]),
            ]
            self.cells.rows(sheet, 1, columns)
        self.finish_table(sheet, 0, n, len(headers))

    def write_review_findings(self) -> None:
        from qa.review import verdict_word

        sheet, lang, fmt = self.sheets["findings"], self.lang, self.formats
        headers = [
            *words(lang, *FINDING_HEADERS),
            review_word("reviewer", lang), review_word("reviewed_in", lang), review_word("points_after", lang),
            review_word("session_before", lang), review_word("session_after", lang), review_word("report", lang),
            word("finding_id", lang),
        ]
        self.header(sheet, 0, headers)
        widths = [19, 20, 16, 14, 8, 36, 50, 36, 22, 7, 10, 24, 12, 24, 9, 10, 10, 20, 13]
        self.widths(sheet, widths)
        findings = self.review.findings
        n = min(len(findings), MAX_DETAIL_ROWS)
        review_col = headers.index(word("review", lang))
        if n:
            part = findings.iloc[:n]
            empty = pd.Series([""] * n, dtype="str")
            reasons = cell_text(part["reason"].fillna("").astype("str"), False, lang)
            texts = cell_text(part["text"].fillna("").astype("str"), False, lang, cut=False)
            contexts = cell_text(part["context"].fillna("").astype("str"), False, lang)
            times = pd.to_datetime(part["time"], errors="coerce") if "time" in part else empty
            marked = [
                fit_marked(*cell, lang)
                for cell in zip(as_list(texts), [int(v) for v in part["span_start"]], [int(v) for v in part["span_end"]])
            ]
            rule_columns = [
                Column([self.rule_label(r) for r in part["rule"]], "text", fmt.text),
                Column([severity_word(s, lang) for s in part["severity"]], "text", fmt.text),
            ]
            columns, heights = self.message_columns(
                part, pd.Series(times), rule_columns, (reasons, texts, contexts, marked),
                part["file"].fillna("").astype("str"), widths,
            )
            columns += [
                Column([verdict_word(v, lang) for v in part["verdict"]], "text", fmt.text),
                Column(as_list(part["comment"].fillna("").astype("str")), "text", fmt.wrap),
                Column(as_list(part["reviewer"].fillna("").astype("str")), "text", fmt.text),
                Column(as_list(part["where"].fillna("").astype("str")), "text", fmt.text),
                Column(number_values(part["points_after"]), "number", fmt.number1),
                Column(number_values(part["session_score_before"]), "number", fmt.number1),
                Column(number_values(part["session_score_after"]), "number", fmt.number1),
                Column(as_list(part["run"].astype("str")), "text", fmt.text),
                Column(as_list(part["id"].astype("str")), "text", fmt.text),
            ]
            self.cells.rows(sheet, 1, columns, heights)
        self.verdict_choices(sheet, 1, max(n, 1), review_col)
        self.finish_table(sheet, 0, n, len(headers))


def write_review_workbook(review: Any, path: Path, *, lang: str = "zh", trends: Any = None, history_note: str = "") -> None:
    """Write the workbook of ``qa review`` (:class:`qa.review.Review`) atomically. Its Findings
    sheet keeps the Review and Comment columns (filled in) and it carries the same hidden data,
    so it can be reviewed further and given to ``qa review`` again."""
    lang = lang if lang in LANGS else "zh"

    write_book(path, lambda workbook: _ReviewWriter(workbook, review, lang, trends, history_note).write(),
               lambda _temporary: {"in_memory": True})
