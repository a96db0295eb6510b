"""The one CSV writer every CSV qa writes goes through (``--findings-csv`` today).

Two attacks shape it:

- **Rows out of thin air.** A field holding a bare carriage return (no comma, quote or line
  feed) is left unquoted by Python's csv module and pandas when lines end in ``\\n``; spreadsheet
  programs and csv readers then start a new row at the CR, and whatever follows it, say
  ``=cmd|' /C calc'!A0``, becomes a cell of its own. Here a field is quoted whenever it holds
  the delimiter, a quote, a CR or an LF, whatever the line terminator.
- **Formulas.** A value starting with ``=``, ``+``, ``-``, ``@``, tab or CR is run as a formula
  (or DDE) by Excel and LibreOffice; it is written with a leading ``'`` so it shows as text.
  A plain signed number (``-3``, ``+1``, ``-0.5``) is left alone: a spreadsheet reads it as
  the number it is, and data such as this must round-trip. So do finding ids (hex), rule ids,
  numbers and times, which never start with those characters; join on the finding id, since
  a session id such as ``=S1`` or ``+86 138...`` is written as ``'=S1`` like any other text.

Text columns are always quoted, numbers and times only when they must be. LibreOffice keeps a
quoted field as text with "Format quoted field as text" (so a session id ``00123`` keeps its
zeros); Excel ignores quotes when it opens a CSV directly, which is why the workbook, not the
CSV, is the spreadsheet deliverable (README, "Findings CSV").

UTF-8 with BOM (Excel then reads Chinese correctly), ``\\n`` line ends, written atomically.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pandas as pd

from qa.report.files import atomic_write

DELIMITER = ","
# Excel and LibreOffice treat a cell starting with one of these as a formula (or DDE).
FORMULA_START = r"[=+\-@\t\r]"
# ...unless it is a plain signed number, which is read as a number, never run.
_SIGNED_NUMBER = r"[+\-][0-9]+(?:\.[0-9]+)?"
_NEEDS_QUOTES = r"[\r\n\",]"


def _as_text(values: pd.Series) -> pd.Series:
    """Strings for one column; missing values (None, NaN, NaT) become ""."""
    text = values.astype("object").where(values.notna(), "")
    return text.map(lambda value: value if isinstance(value, str) else str(value))


def defuse(values: pd.Series) -> pd.Series:
    """Prefix ``'`` to the strings of ``values`` a spreadsheet would run as a formula."""
    text = _as_text(values)
    if text.empty:
        return text
    risky = text.str.match(FORMULA_START) & ~text.str.fullmatch(_SIGNED_NUMBER)
    risky = risky.to_numpy(dtype=bool, na_value=False)
    return text.where(~risky, "'" + text) if risky.any() else text


def csv_fields(values: pd.Series, *, quote: bool = False) -> pd.Series:
    """One column as CSV fields: defused, and quoted when ``quote`` or when the value holds
    the delimiter, a quote, CR or LF (quotes inside doubled)."""
    text = defuse(values)
    if text.empty:
        return text
    needs = text.str.contains(_NEEDS_QUOTES, regex=True).to_numpy(dtype=bool, na_value=False)
    if not quote and not needs.any():
        return text
    quoted = '"' + text.str.replace('"', '""', regex=False) + '"'
    return quoted if quote else text.where(~needs, quoted)


def write_csv(path: Path, table: pd.DataFrame, *, text_columns: Collection[str] = ()) -> None:
    """Write ``table`` (header = its column names) to ``path`` as safe CSV, atomically.
    ``text_columns``: columns whose fields are always quoted (they hold text, ids included)."""
    header = DELIMITER.join(csv_fields(pd.Series(list(table.columns), dtype="object")).tolist())
    if len(table):
        fields = [csv_fields(table[name].reset_index(drop=True), quote=name in text_columns) for name in table.columns]
        lines = fields[0]
        for column in fields[1:]:
            lines = lines + DELIMITER + column
        body = "\n".join(lines.tolist()) + "\n"
    else:
        body = ""

    def write(temporary: Path) -> None:
        with open(temporary, "w", encoding="utf-8-sig", newline="") as handle:
            handle.write(header + "\n")
            handle.write(body)

    atomic_write(Path(path), write)
