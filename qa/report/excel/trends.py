"""The Trends / 趋势 sheet: each agent's score and each rule's findings per 100 sessions over
the runs of a history, with line charts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from qa.report.excel.words import word

TREND_CHART_SERIES = 12  # agents drawn in the Trends chart (the lowest latest scores)

def _latest(values: list[float | None]) -> float:
    present = [v for v in values if v is not None]
    return present[-1] if present else math.inf


def write_trends(writer: Any, sheet: Any, trends: Any) -> None:
    """Trends / 趋势: runs, each agent's score per run, each rule's findings per 100 sessions
    per run (tables, runs as rows), and a line chart of each."""
    lang, fmt = writer.lang, writer.formats
    runs = trends.runs
    n = len(runs)
    writer.text(sheet, 0, 0, word("trends_title", lang, n=n, total=trends.total_runs), fmt.title)
    writer.text(sheet, 1, 0, word("trends_note", lang, path=trends.path), fmt.text)
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 2, 20)
    sheet.set_column(3, 3, 28)
    sheet.set_column(4, 200, 12)
    if not n:
        return
    name = sheet.get_name()
    charts_row = 3
    row = charts_row + 19
    writer.text(sheet, row, 0, word("runs_title", lang), fmt.section)
    row += 1
    writer.header(sheet, row, [
        word("run", lang), word("period", lang), word("ran_at", lang), word("inputs", lang),
        word("n_sessions", lang), word("n_findings", lang), word("suppressed_count", lang), word("reviewed_at", lang),
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
        writer.header(sheet, header, [word("run", lang), *(label for label, _ in columns)])
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
    row = series_table(row + 3, word("agent_trend_title", lang), agents, 0, {"max": 100})
    rules = [(writer.rule_label(rule), values) for rule, values in trends.rules.items()]
    series_table(row + 1, word("rule_trend_title", lang), rules, 5, {"min": 0})
