"""Writing one xlsxwriter workbook atomically, shared by the audit and the review workbooks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from xlsxwriter.exceptions import XlsxWriterException

from qa.errors import OutputError
from qa.report.excel.rows import Book
from qa.report.files import atomic_write

# Text stays text: a chat line that looks like a formula, a URL or a number is not converted.
PLAIN_TEXT = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def write_book(path: Path, fill: Callable[[Any], None], options: Callable[[Path], dict[str, Any]]) -> None:
    """Write a workbook to ``path`` atomically: ``options(temporary)`` are xlsxwriter's
    workbook options, ``fill(workbook)`` writes the sheets. A failure to write names the path
    and the cause in one line (an OSError is left to :func:`qa.report.files.atomic_write`)."""

    def write(temporary: Path) -> None:
        workbook = Book(str(temporary), {**PLAIN_TEXT, **options(temporary)})
        try:
            fill(workbook)
        finally:
            try:
                workbook.close()
            except XlsxWriterException as error:
                if error.args and isinstance(error.args[0], OSError):
                    raise error.args[0] from None  # atomic_write names the path and the cause
                raise OutputError(f"cannot write {path}: {error}") from None

    atomic_write(Path(path), write)
