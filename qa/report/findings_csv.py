"""Every finding as CSV (``--findings-csv``): UTF-8 with BOM so Excel shows Chinese correctly.

Values are the machine forms (rule ids, severities ``minor``/``major``/``critical``) and the
last column is the finding id, so the file joins with the JSON result (``findings[].id``);
headers follow ``lang``. Written by :mod:`qa.report.csvfile`: fields holding CR, LF, a comma
or a quote are quoted, text that a spreadsheet would run as a formula is prefixed with ``'``,
text columns are always quoted. Personal data is masked unless ``mask=False``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qa.identity import masked_finding_ids
from qa.mask import result_masker
from qa.model import AuditResult, naive_times
from qa.report.csvfile import write_csv

# (column in result.findings, zh header, en header)
CSV_COLUMNS = [
    ("timestamp", "时间", "time"),
    ("agent", "客服", "agent"),
    ("session_id", "会话", "session_id"),
    ("rule", "规则", "rule"),
    ("severity", "严重程度", "severity"),
    ("reason", "原因", "reason"),
    ("text", "消息", "text"),
    ("match", "命中片段", "match"),
    ("span_start", "片段起点", "span_start"),
    ("span_end", "片段终点", "span_end"),
    ("context_text", "客户消息", "context"),
    ("file", "文件", "file"),
    ("sheet", "工作表", "sheet"),
    ("row", "行号", "row"),
    ("id", "编号", "id"),
]
# Always quoted (see qa.report.csvfile); the rest are numbers and times.
TEXT_COLUMNS = ("agent", "session_id", "rule", "severity", "reason", "text", "match", "context_text", "file",
                "sheet", "id")


def findings_table(result: AuditResult, *, lang: str = "zh", mask: bool = True) -> pd.DataFrame:
    """The CSV's rows as a DataFrame (headers in ``lang``), in the result's order; values as
    they are (formula defusing and quoting happen when the file is written)."""
    masker = result_masker(result, mask)
    findings = masker.findings(result.findings)  # masked as in every output
    header_index = 1 if lang == "zh" else 2
    columns = {}
    for spec in CSV_COLUMNS:
        name = spec[0]
        if name == "id":
            values = pd.Series(masked_finding_ids(masker, result.findings), dtype="object")
        elif name in findings:
            values = findings[name]
        else:
            values = pd.Series([""] * len(findings), dtype="str")
        if name == "timestamp":
            times = naive_times(pd.to_datetime(values, errors="coerce"))
            values = times.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
        elif name in TEXT_COLUMNS:
            values = values.fillna("").astype("str")
        columns[spec[header_index]] = values.to_numpy()
    return pd.DataFrame(columns)


def write_findings_csv(result: AuditResult, path: Path, *, lang: str = "zh", mask: bool = True) -> None:
    """Write every finding to ``path`` (UTF-8 with BOM, ``\\n`` line ends, atomically)."""
    table = findings_table(result, lang=lang, mask=mask)
    header_index = 1 if lang == "zh" else 2
    text_headers = [spec[header_index] for spec in CSV_COLUMNS if spec[0] in TEXT_COLUMNS]
    write_csv(Path(path), table, text_columns=text_headers)
