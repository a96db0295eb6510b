"""Message tables for check tests, built one way (the columns qa.ingest produces, plus norm),
and random chat exports for the property tests of the readers.

Check tests used to build their own tables, each a little different; these builders give the
schema of qa.model in one place, so a column added to ingest is added here once.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
from hypothesis import strategies as st

from qa.normalize import add_norm_column

TIMEZONE = "Asia/Shanghai"


def message_table(rows, *, timestamp: str | None = "2026-11-20 10:00", timezone: str = TIMEZONE) -> pd.DataFrame:
    """A message table from (role, text) rows (session S1) or (session, role, text) rows, in
    the given order. Every message has ``timestamp`` (None: no times, all NaT); agent
    messages are by agent ``a1``; source rows count from 2, as a spreadsheet shows them."""
    rows = [row if len(row) == 3 else ("S1", *row) for row in rows]
    n = len(rows)
    if timestamp is None:
        times = pd.Series(pd.NaT, index=range(n), dtype=f"datetime64[ns, {timezone}]")
    else:
        times = pd.to_datetime([timestamp] * n).tz_localize(timezone)
    frame = pd.DataFrame(
        {
            "session_id": pd.Series([s for s, _, _ in rows], dtype="str"),
            "text": pd.Series([t for _, _, t in rows], dtype="str"),
            "role": pd.Series([r for _, r, _ in rows], dtype="str"),
            "timestamp": times,
            "seq": pd.Series(range(n), dtype="float64"),
            "agent": pd.Series(["a1" if r == "agent" else "" for _, r, _ in rows], dtype="str"),
            "source_file": pd.Series(["t.csv"] * n, dtype="str"),
            "source_row": pd.Series(range(2, n + 2), dtype="int64"),
            "source_sheet": pd.Series([""] * n, dtype="str"),
        }
    )
    return add_norm_column(frame)


# --------------------------------------------------------------------------- random exports

EXPORT_HEADER = ["session_id", "timestamp", "role", "agent", "text"]
TIMES = st.sampled_from(
    [
        "2026-11-20 14:03:27",
        "2026/11/20 14:03",
        "1763618607",
        "1763618607000",
        "46346.58",
        "2026-11-20T14:03:27+08:00",
        "",
        "不是时间",
        "9999-99-99",
        "0",
        "99999999999999999999",
    ]
)
ROLES = st.sampled_from(["客服", "买家", "系统", "agent", "", "wizard", "1"])


def export_rows(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[tuple[list[str], bool]]]:
    """Rows of a chat export with texts from ``text``: five fields, or any number of texts and
    times; each with whether it is written quoted (see :func:`write_export`)."""
    row = st.one_of(
        st.tuples(st.sampled_from(["s1", "s2", "", " s3 "]), TIMES, ROLES, text, text).map(list),
        st.lists(st.one_of(text, TIMES), min_size=0, max_size=7),
    )
    return st.lists(st.tuples(row, st.booleans()), max_size=12)


def write_export(path: Path, rows: list[tuple[list[str], bool]]) -> Path:
    """A UTF-8 CSV of ``rows`` (from :func:`export_rows`) under :data:`EXPORT_HEADER`."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    for fields, quoted in rows:
        if quoted:
            writer.writerow(fields)
        else:  # written without quoting: stray quotes, delimiters and newlines break the row
            out.write(",".join(fields) + "\n")
    path.write_bytes(out.getvalue().encode("utf-8"))
    return path
