"""Every finding as CSV (``--findings-csv``): UTF-8 with BOM so Excel shows Chinese correctly.

Values are the machine forms (rule ids, severities ``minor``/``major``/``critical``) so the
file joins with the JSON result; headers follow ``lang``. Text that a spreadsheet would
run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is
prefixed with ``'`` so it is shown as text. Personal data is masked unless ``mask=False``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qa.mask import maybe_mask
from qa.model import AuditResult
from qa.report.files import atomic_write

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
]
TEXT_COLUMNS = ("agent", "session_id", "reason", "text", "match", "context_text", "file", "sheet")
MASKED_COLUMNS = ("reason", "text", "match", "context_text")

# A cell starting with one of these is a formula (or DDE) to Excel and LibreOffice.
_FORMULA_START = r"^[=+\-@\t\r]"


def defuse_formulas(values: pd.Series) -> pd.Series:
    """Prefix ``'`` to strings a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@`` ...)."""
    text = values.fillna("").astype("str")
    risky = text.str.contains(_FORMULA_START, regex=True).to_numpy(dtype=bool, na_value=False)
    if not risky.any():
        return text
    return text.where(~risky, "'" + text)


def findings_table(result: AuditResult, *, lang: str = "zh", mask: bool = True) -> pd.DataFrame:
    """The CSV's rows as a DataFrame (headers in ``lang``), in the result's order."""
    findings = result.findings
    header_index = 1 if lang == "zh" else 2
    columns = {}
    for spec in CSV_COLUMNS:
        name = spec[0]
        values = findings[name] if name in findings else pd.Series([""] * len(findings), dtype="str")
        if name == "timestamp":
            times = pd.to_datetime(values, errors="coerce")
            if getattr(times.dt, "tz", None) is not None:
                times = times.dt.tz_localize(None)
            values = times.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
        elif name in TEXT_COLUMNS:
            values = maybe_mask(values, mask) if name in MASKED_COLUMNS else values.fillna("").astype("str")
            values = defuse_formulas(values)
        columns[spec[header_index]] = values.to_numpy()
    return pd.DataFrame(columns)


def write_findings_csv(result: AuditResult, path: Path, *, lang: str = "zh", mask: bool = True) -> None:
    """Write every finding to ``path`` (UTF-8 with BOM, CRLF-free, atomically)."""
    table = findings_table(result, lang=lang, mask=mask)

    def write(temporary: Path) -> None:
        table.to_csv(temporary, index=False, encoding="utf-8-sig", lineterminator="\n")

    atomic_write(Path(path), write)
