"""Declaration of the check type ``pattern``: its parameters and flags.

The check itself, and its load-time ``validate``, are :mod:`qa.checks.pattern`.
"""

from __future__ import annotations

from qa.checktypes.base import CheckType, Param

PARAMS = {
    "roles": Param("strings", "roles whose messages are checked", default=["agent"]),
    "patterns": Param("strings", "regexes (regex module syntax) matched on the norm text", required=True),
    "exclude": Param("strings", "regexes of good wording; a match they cover is not reported", default=[]),
    "exclude_scope": Param(
        "str", "where an exclusion must match to drop a match", default="overlap",
        choices=("overlap", "clause", "message"),
    ),
    "prefilter": Param("strings", "RE2 regexes every flagged message matches (vectorised)", default=[]),
    "macros": Param("strings", "'name = regex' definitions usable as {{name}}", default=[]),
    "clause_delimiters": Param("str", "regex character class ending a clause", default="[,.?!;:。、~ ]"),
    "negation": Param("bool", "drop a match in the scope of a negation (qa.negation)", default=False),
    "condition": Param("bool", "drop a match in the scope of a condition (如果, 万一…)", default=False),
    "model": Param("strings", "a trained text model's lines (model_file: written by "
                   "benchmarks/train_question_model.py): it also flags a checked message with no pattern "
                   "match whose question it puts in the class", default=[]),
    "model_min_han": Param("int", "the model judges only questions in messages of at least this many Han characters", default=10),
}


CHECK = CheckType(
    name="pattern",
    doc="Messages matching a regex list on normalized text, minus exclusions (vectorised pre-filter).",
    params=PARAMS,
    implementation="qa.checks.pattern",
    suppress_context=False,
)
