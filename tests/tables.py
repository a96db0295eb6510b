"""Message tables for check tests, built one way (the columns qa.ingest produces, plus norm).

Check tests used to build their own tables, each a little different; these builders give the
schema of qa.model in one place, so a column added to ingest is added here once.
"""

from __future__ import annotations

import pandas as pd

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
