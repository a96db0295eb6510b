"""Declaration of the check type ``response``: its parameters and flags.

The check itself, and its load-time ``validate``, are :mod:`qa.checks.response`.
"""

from __future__ import annotations

from qa.checktypes.base import CheckType, Param

DEFAULT_KIND_TEXT = {
    "missing_zh": "客服未回复",
    "missing_en": "the agent never replied",
    "emoji_zh": "客服仅回复表情/符号「{reply}」，未安抚致歉、未提出处理",
    "emoji_en": "the agent answered only with emoji/symbols '{reply}', without soothing or handling",
    "dismissive_zh": "客服回复「{reply}」仅敷衍，未安抚致歉、未提出处理",
    "dismissive_en": "the agent only answered '{reply}' (dismissive), without soothing or handling",
    "guiding_zh": "客服回复「{reply}」引导客户另行投诉，未拦截处理",
    "guiding_en": "the agent answered '{reply}', pointing the customer to a complaint channel instead of handling it",
    "cold_zh": "客服回复「{reply}」未安抚致歉、未提出处理",
    "cold_en": "the agent answered '{reply}' without soothing, apologising or offering handling",
    "unhandled_zh": "客服回复「{reply}」只致歉安抚，未提出处理",
    "unhandled_en": "the agent answered '{reply}' with soothing only, offering no handling",
    "unsoothed_zh": "客服回复「{reply}」提出了处理，但未致歉安抚",
    "unsoothed_en": "the agent answered '{reply}' with handling but no apology or soothing",
}

TRIGGER_FIELDS = {
    "name": Param("str", "category id, e.g. consumer-authority", required=True),
    "label_zh": Param("str", "category name in Chinese reports", default=""),
    "label_en": Param("str", "category name in English reports", default=""),
    "patterns": Param("strings", "regular expressions over the normalized text", required=True),
    "negatable": Param("bool", "a negator right before the match cancels it", default=True),
    "hypothetical": Param("bool", "hypothetical or question clauses cancel the match", default=False),
}

KIND_FIELDS = {key: Param("str", f"reason fragment ({key})", default=value)
               for key, value in DEFAULT_KIND_TEXT.items()}

DEFAULT_SEPARATORS = r"[,.!?;:，。！？；：、…~～\s]+|但是|可是|不过|然而|但"

PARAMS = {
    "trigger_roles": Param("strings", "roles whose messages can trigger", default=["customer"]),
    "reply_roles": Param("strings", "roles whose next message is the judged reply", default=["agent"]),
    "triggers": Param("tables", "trigger categories ([[params.triggers]])", default=[],
                      fields=TRIGGER_FIELDS),
    "trigger_classes": Param("strings", "classes (rules/classes.toml) whose matches are triggers; "
                             "used instead of triggers when given", default=[]),
    "soothing_class": Param("str", "class of soothing replies (instead of the soothing words)", default=""),
    "handling_class": Param("str", "class of handling replies (instead of the handling words)", default=""),
    "self_service_class": Param("str", "class of replies sending the customer to do it alone (自己去订单里点申请); "
                                "a handling match inside one does not handle", default=""),
    "needs_both": Param("bool", "a reply (with the rest of the agent's turn) must soothe AND offer handling; "
                        "either alone is cold", default=False),
    "care_class": Param("str", "with needs_both, after a care_trigger_classes trigger this class (attending to "
                        "the person: 赶紧断电, 孩子现在怎么样) stands for the soothing", default=""),
    "care_trigger_classes": Param("strings", "trigger classes about the person (safety): their reply must soothe "
                                  "or handle more than the goods; a refund or return alone ignores the harm",
                                  default=[]),
    "goods_remedies": Param("strings", "regular expressions a handling match that only concerns the goods "
                            "matches whole (退货, 退款, 运费险理赔)", default=[]),
    "escalation_classes": Param("strings", "trigger classes whose categories are separate topics: after a "
                                "handled 投诉, a later 起诉 in the same session is judged again", default=[]),
    "trigger_exceptions": Param("strings", "phrases containing a trigger that are not one", default=[]),
    "clause_separators": Param("str", "regular expression splitting clauses", default=DEFAULT_SEPARATORS),
    "negators": Param("strings", "words negating a following trigger (不, 没, 不会 ...)", default=[]),
    "negation_fillers": Param("strings", "words allowed between a negator and the trigger", default=[]),
    "negation_window": Param("int", "most characters of fillers between negator and trigger", default=4),
    "negation_exceptions": Param("strings", "phrases ending in a negator that do not negate (不得不)",
                                 default=[]),
    "hypothetical_markers": Param("strings", "clause words making a hypothetical trigger a question",
                                  default=[]),
    "question_particles": Param("strings", "particles after a trigger that make it a question",
                                default=["吗", "么", "嘛"]),
    "question_window": Param("int", "most characters between a trigger and a question particle",
                             default=2),
    "soothing": Param("strings", "soothing / apology words", default=[]),
    "handling": Param("strings", "handling-offer words", default=[]),
    "reply_exceptions": Param("strings", "stock phrases whose words do not count as soothing/handling",
                              default=[]),
    "dismissive": Param("strings", "words that alone make a reply dismissive", required=True),
    # An emoji-only reply is judged with the same token lists as the emoji-only rule's (its
    # rule file names the same list files); none given: Unicode emoji, symbols, punctuation.
    "emoticons": Param("strings", "emoticon names of an emoji-only reply, without brackets", default=[]),
    "kaomoji": Param("strings", "literal kaomoji of an emoji-only reply", default=[]),
    "token_patterns": Param("strings", "further emoji-only token shapes (RE2 regexes)", default=[]),
    "attachments": Param("strings", "attachment placeholders: a reply with one is not emoji-only", default=[]),
    "particles": Param("strings", "modal particles and forms of address ignored in whole-reply lists",
                       default=[]),
    "guiding": Param("strings", "regular expressions of replies pointing the customer to a complaint "
                     "channel or elsewhere", default=[]),
    "preambles": Param("strings", "greeting/holding lines; the same agent turn's next message is judged",
                       default=[]),
    "quote_chars": Param("int", "longest quote in the reason", default=30),
    "kinds": Param("table", "reason fragment per kind", default=None, fields=KIND_FIELDS),
}


CHECK = CheckType(
    name="response",
    doc="A customer trigger (sensitive complaint) whose first agent reply is missing, dismissive, "
        "guiding, emoji-only or cold.",
    params=PARAMS,
    implementation="qa.checks.response",
)
