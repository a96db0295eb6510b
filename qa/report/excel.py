"""The Excel workbook (temporary minimal version: one per-agent sheet and the findings)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qa.model import AuditResult
from qa.report.files import atomic_write


def write_workbook(result: AuditResult, path: Path, *, lang: str = "zh", mask: bool = True) -> None:
    """Write the audit workbook to ``path`` atomically."""

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            result.agents.to_excel(writer, sheet_name="Agents", index=False)
            result.findings.drop(columns=["msg", "context_msg"]).to_excel(writer, sheet_name="Findings", index=False)

    atomic_write(Path(path), write)
