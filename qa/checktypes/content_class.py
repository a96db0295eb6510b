"""Declaration of the check type ``content_class``: its parameters and flags.

The check itself, and its load-time ``validate``, are :mod:`qa.checks.content_class`.
"""

from __future__ import annotations

from qa.checktypes.base import CheckType, Param

MESSAGE_FIELDS = {
    "zh": Param("str", "Chinese template", default=""),
    "en": Param("str", "English template", default=""),
}

PARAMS = {
    "roles": Param("strings", "roles whose messages are checked", default=["agent"]),
    "emoticons": Param("strings", "emoticon names, written without brackets", default=[]),
    "kaomoji": Param("strings", "literal kaomoji that contain letters", default=[]),
    "token_patterns": Param("strings", "further token shapes (RE2 regexes)", default=[]),
    "attachments": Param("strings", "attachment placeholder names; a message with one is clean", default=[]),
    "emoji": Param("bool", "Unicode emoji are class tokens", default=True),
    "symbols": Param("bool", "symbols (\\p{S}) are class tokens", default=True),
    "punctuation": Param("bool", "punctuation (\\p{P}) is a class token", default=True),
    "wangwang": Param("bool", "Wangwang codes (/:^_^, /:068) are class tokens", default=True),
    "jd_codes": Param("bool", "JD codes (#E-s57, #E-s[数字x]) are class tokens", default=True),
    "upgrade_severity": Param(
        "str", "severity when the reply answers an upset customer", default="",
        choices=("", "minor", "major", "critical"),
    ),
    "upset_patterns": Param("strings", "regexes marking an upset customer message", default=[]),
    "upset_exclude": Param("strings", "regexes neutralising an upset match they overlap", default=[]),
    "upset_lookback": Param("int", "customer messages searched back from the reply", default=3),
    "upgrade_message": Param("table", "reason template of upgraded findings", default={}, fields=MESSAGE_FIELDS),
    "answer_due_class": Param(
        "str", "class (rules/classes.toml) of customer messages that need an answer; '' = always flag", default=""
    ),
    "upgrade_classes": Param(
        "strings", "classes of customer messages that upgrade the severity (instead of upset_patterns)", default=[]
    ),
    "settled_class": Param(
        "str", "class of a customer's last message that settles the batch (no answer due any more)", default=""
    ),
    "together_seconds": Param(
        "int", "an emoji within this many seconds before the agent's own text answer is part of it", default=120
    ),
}


CHECK = CheckType(
    name="content_class",
    doc="Messages made only of one class of tokens (emoji, emoticon codes, symbols), one RE2 full match.",
    params=PARAMS,
    implementation="qa.checks.content_class",
    suppress_context=False,
)
