"""Per-party text columns: a row's text in the column of its sender (买家发言 / 客服发言 / 系统提示).

Such an export has no text column and no role column: each row is one message, written in the
column of the party that sent it, the others left empty. The filled column gives both the text
and the role (:meth:`qa.ingest.columns.ColumnMap.party_texts`). A row with text in two parties'
columns cannot be one message: it is rejected, naming the columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa.ingest.table import RawTable, _no_reasons


def message_text(table: RawTable) -> pd.Series:
    """Each row's text: its text column, or the first filled one of its per-party text columns."""
    columns = table.columns
    if "text" in columns.positions:
        return table.cells[columns.positions["text"]]
    text = None
    for _, at in columns.party_texts():
        cells = table.cells[at]
        text = cells if text is None else text.where(_filled(text), cells)
    return text


def party_roles(table: RawTable) -> tuple[np.ndarray, np.ndarray]:
    """Role per row from which per-party text column is filled (None when none is), and the
    reason for rows with text in more than one party's column."""
    columns = table.columns
    role = np.full(len(table.cells), None, dtype=object)
    filled_count = np.zeros(len(table.cells), dtype=np.int64)
    for party, at in reversed(columns.party_texts()):  # the first filled column wins, as in message_text
        filled = _filled(table.cells[at]).to_numpy()
        role = np.where(filled, party, role)
        filled_count += filled
    reason = _no_reasons(len(table.cells))
    for row in np.flatnonzero(filled_count > 1):  # few: worded one by one
        names = [f"'{columns.header[at]}'" for _, at in columns.party_texts() if table.cells[at].iat[row].strip()]
        reason[row] = f"text in {' and '.join(names)}: one row must hold one message, in its sender's column"
    return role, reason


def _filled(cells: pd.Series) -> pd.Series:
    return cells.str.strip() != ""
