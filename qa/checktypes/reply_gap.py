"""Declaration of the check type ``reply_gap``: its parameters and flags.

The check itself, and its load-time ``validate``, are :mod:`qa.checks.reply_gap`.
"""

from __future__ import annotations

from qa.checktypes.base import CheckType, Param

PARAMS = {
    "max_wait_seconds": Param("int", "longest allowed wait for an agent reply, in seconds (> is late)",
                              default=300),
    "channel": Param("str", "channel of the audited chats; selects the limit", default="online",
                     choices=("online", "phone")),
    "phone_max_wait_seconds": Param("int", "limit used when channel = \"phone\"", default=30),
    "working_hours": Param("str", "local time windows when the clock runs, e.g. \"09:00-23:00\" "
                           "(comma-separated; empty = all day)", default=""),
}


CHECK = CheckType(
    name="reply_gap",
    doc="A customer waited longer than a limit (working time only) for the next agent reply.",
    params=PARAMS,
    implementation="qa.checks.reply_gap",
    needs_timestamps=True,
    suppress_by_text=False,
)
