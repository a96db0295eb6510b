"""Helpers shared by test modules: the CLI run in-process, two audits' workbooks compared."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from qa.cli import main
from qa.report.excel.audit_book import write_workbook


def run(*args):
    """Invoke the CLI in-process (arguments may be paths); stdout and stderr are kept apart."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_same_workbook(expected, got, folder: Path) -> None:
    """The audit workbooks of two results (written into ``folder``) hold the same cells."""
    write_workbook(expected, folder / "expected.xlsx")
    write_workbook(got, folder / "got.xlsx")
    mine = pd.read_excel(folder / "got.xlsx", sheet_name=None, header=None, engine="calamine")
    theirs = pd.read_excel(folder / "expected.xlsx", sheet_name=None, header=None, engine="calamine")
    assert list(mine) == list(theirs)
    for sheet in theirs:
        pd.testing.assert_frame_equal(mine[sheet], theirs[sheet], obj=f"sheet {sheet}")
