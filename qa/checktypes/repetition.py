"""Declaration of the check type ``repetition``: its parameters and flags.

The check itself, and its load-time ``validate``, are :mod:`qa.checks.repetition`.
"""

from __future__ import annotations

from qa.checktypes.base import CheckType, Param

PARAMS = {
    "soothing_class": Param("str", "class (rules/classes.toml) whose matches make a clause a soothing line",
                            default="soothing"),
    "max_uses": Param("int", "uses allowed per session; later uses are flagged", default=2),
    "unit": Param("str", "what is compared: the soothing core of a run of clauses, or the whole message",
                  default="clause", choices=("clause", "message")),
    "particles": Param("strings", "characters ignored anywhere, like punctuation (modal particles)",
                       default=["哦", "呢", "哈", "啦", "呀", "哟", "嘛"]),
    "final_particles": Param("strings", "characters ignored in a line (了 of 给您带来不便了)", default=["了"]),
    "fillers": Param("strings", "characters ignored in a line (的 of 带来的不便)", default=["的"]),
    "equivalent_chars": Param("strings", "groups of characters read as the group's first one (您你)",
                              default=["您你妳"]),
    "address_words": Param("strings", "address words dropped at the start of a line (亲亲别着急 = 别着急)",
                           default=["亲爱的", "亲亲", "亲"]),
    "roles": Param("strings", "roles whose messages are counted", default=["agent"]),
    "min_core_chars": Param("int", "a soothing core shorter than this is compared with its whole "
                            "clause run instead (a bare 抱歉 before three different answers is "
                            "not one repeated line)", default=3),
    "min_line_chars": Param("int", "shortest line counted at all (a bare 抱歉 clause is courtesy)", default=3),
    "min_part_chars": Param("int", "a soothing phrase of at least this many characters inside a longer line is a line "
                            "of its own too (理解您的心情 in 抱歉亲，理解您的心情; 0: off)", default=0),
}


CHECK = CheckType(
    name="repetition",
    doc="The same line of a class (e.g. a soothing line) used more than max_uses times in a session.",
    params=PARAMS,
    implementation="qa.checks.repetition",
    suppress_context=False,
)
