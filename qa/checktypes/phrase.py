"""Declaration of the check type ``phrase``: its parameters and flags.

The check itself, and its load-time ``validate``, are :mod:`qa.checks.phrase`.
"""

from __future__ import annotations

from qa.checktypes.base import CheckType, Param

CATEGORY_FIELDS = {
    "name": Param("str", "category id, e.g. abuse", required=True),
    "label_zh": Param("str", "category name shown in Chinese reports", default=""),
    "label_en": Param("str", "category name shown in English reports", default=""),
    "severity": Param("str", "severity of this category (default: the rule's)", default="",
                      choices=("", "minor", "major", "critical")),
    "phrases": Param("strings", "phrases of this category", default=[]),
    "patterns": Param("strings", "regexes (regex module syntax, RE2-compatible) over the normalized "
                      "text, for forms a phrase list cannot hold", default=[]),
    "negation": Param("bool", "a match in the scope of a negation (不是, 并不是, 没有, 不会) is not "
                      "reported", default=True),
    "condition": Param("bool", "a match in the scope of a condition (如果, 万一) is not reported",
                       default=True),
    "word_boundaries": Param("bool", "confirm matches on jieba's word segmentation: a match inside a "
                             "longer word (滚 in 滚筒) is not reported", default=False),
    "replies_to": Param("strings", "customer classes: this category counts only in a message whose customer turn "
                        "just before it holds one of them (the bare 去呗 / 您去吧 dares a customer who threatened to "
                        "complain; to one going to fetch a parcel it is harmless); empty = anywhere", default=[]),
    "cleared_by": Param("strings", "regexes (macros allowed) over the normalized text: a match of this "
                        "category is not reported when the same message also holds one of these outside "
                        "a negation or condition (a refusal followed by the agent's own hand-over: "
                        "我这边处理不了，已经帮您升级给主管了)", default=[]),
}

PARAMS = {
    "roles": Param("strings", "roles whose messages are checked", default=["agent"]),
    "categories": Param("tables", "phrase categories ([[params.categories]])", required=True,
                        fields=CATEGORY_FIELDS),
    "exceptions": Param("strings", "good phrases containing a listed phrase; never flagged", default=[]),
    "exception_patterns": Param("strings", "regexes (regex module syntax, macros allowed) over the "
                                "normalized text for good shapes containing a listed phrase or "
                                "pattern; a match overlapping one is not reported", default=[]),
    "ignore_separators": Param("bool", "see through spaces, punctuation, symbols and emoji between "
                               "characters (加 我 微 信, 加.我.微.信)", default=True),
    "macros": Param("strings", "'name = regex' definitions usable as {{name}} in patterns", default=[]),
    "model": Param("strings", "a trained text model's lines (model_file: written by benchmarks/train_question_model.py "
                   "--rule <id>): it also flags a checked message with no list match that it puts in the class",
                   default=[]),
    "model_min_han": Param("int", "the model judges only messages of at least this many Han characters", default=10),
    "model_label_zh": Param("str", "the category name of a model finding in Chinese reports", default=""),
    "model_label_en": Param("str", "the category name of a model finding in English reports", default=""),
    "variants": Param("strings", "spelling variants as 'word=variant|variant' (微信=v信|vx|薇信): every "
                      "phrase containing the word also matches with each variant", default=[]),
}


CHECK = CheckType(
    name="phrase",
    doc="Messages containing a phrase or pattern of categorised lists (Aho-Corasick and regex over "
        "normalized text; negation- and condition-aware).",
    params=PARAMS,
    implementation="qa.checks.phrase",
    suppress_context=False,
)
