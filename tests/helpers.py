"""Helpers shared by test modules: the CLI run in-process, two audits' workbooks compared, a
folder built once per run for all xdist workers."""

from __future__ import annotations

import os
from collections.abc import Callable
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


def shared_folder(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder ``build`` fills once for the whole run, whichever xdist worker asks first; the
    others wait on a lock and reuse it (a module-scoped fixture is otherwise built once per
    worker). It lives in this run's temporary root, so no run sees an earlier run's folder."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = root / name, root / f"{name}.done"
    try:
        import fcntl
    except ImportError:  # not POSIX: each worker builds its own
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            folder.mkdir(exist_ok=True)
            build(folder)
            done.touch()
    return folder
