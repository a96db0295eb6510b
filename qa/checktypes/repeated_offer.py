"""Declaration of the check type ``repeated_offer``: its parameters and flags.

The check itself, and its load-time ``validate``, are :mod:`qa.checks.repeated_offer`.
"""

from __future__ import annotations

from qa.checktypes.base import CheckType, Param

PARAMS = {
    "roles": Param("strings", "roles whose offers are counted", default=["agent"]),
    "customer_roles": Param("strings", "roles whose answers accept or refuse an offer", default=["customer"]),
    "max_uses": Param("int", "offers of one solution allowed per session", default=2),
    "similarity": Param("float", "least Dice similarity of characters and character bigrams for the same "
                        "offer", default=0.55),
    "min_chars": Param("int", "shortest solution (characters left after normalizing) compared", default=3),
    "cover": Param("float", "least share of an offer's content characters found in one earlier offer for "
                   "the same offer (a paraphrase: 运费由买家承担 after 退货运费需要买家承担)", default=1.0),
    "cover_min_chars": Param("int", "least distinct content characters of an offer compared by cover",
                             default=3),
    "light_words": Param("strings", "words left out of the content an offer is covered by (建议, 需要, 会…)",
                         default=[]),
    "term_share": Param("float", "least share of a later offer's remedy terms (jieba words, synonyms "
                        "grouped) that are terms of an earlier offer for the same remedy; 1 turns it off",
                        default=1.0),
    "term_min_hits": Param("int", "least remedy terms shared for the same remedy", default=3),
    "term_synonyms": Param("strings", "groups 'word=other|other' of wordings of one remedy term (the first "
                           "word stands for the group)", default=[]),
    "term_stop": Param("strings", "words that name no remedy (把, 在, 建议…)", default=[]),
    "key_synonyms": Param("strings", "groups 'word=pattern|pattern' (RE2) of other wordings of one remedy, written as "
                          "the word in the keys offers are compared by, group by group in the listed order", default=[]),
    "anchor_reach": Param("int", "an offer restating one of the agent's last this many offers with a common "
                          "thing named (a content bigram, the same amount) after the customer refused it is "
                          "the same remedy; 0 turns it off", default=0),
    "said_again_share": Param("float", "an answer the agent sends a third time nearly word for word (this share of "
                              "the shorter one's content bigrams, less its soothing and closing words, the same figures, "
                              "no way added), each time after a customer message of said_again_refusal_classes and none "
                              "accepting it, is a solution repeated whatever it offers (0 turns it off)", default=0.0),
    "said_again_min_bigrams": Param("int", "least content bigrams of each answer compared by said_again_share",
                                    default=6),
    "said_again_reordered": Param("float", "the same words in another order: with this share of the shorter "
                                  "answer's characters in the other, a bigram share 0.2 lower is enough (0: off)",
                                  default=0.0),
    "said_again_not_classes": Param("strings", "agent classes of an answer that offers nothing said again (a "
                                    "question, a hold, a closing line; for said_again_share)", default=[]),
    "said_again_fitted_classes": Param("strings", "agent classes of an answer fitted to what the customer told "
                                       "(那这款就很合适): not said again (for said_again_share)", default=[]),
    "said_again_informing_classes": Param("strings", "customer classes of plain information (家里白天没人): only "
                                          "after a gap whose refusals are all of these does a fitted answer take it",
                                          default=[]),
    "said_again_refusal_classes": Param("strings", "customer classes of a message that did not take the answer "
                                        "(for said_again_share)", default=[]),
    "family_pushes": Param("bool", "an offer naming only a remedy family (补发, 退货, 维修…) the customer turned down "
                           "or asked to change, pushed for the (max_uses+1)-th time with the customer not taking it in "
                           "each gap, repeats the solution", default=False),
    "family_demand_classes": Param("strings", "customer classes of a demand for a remedy (能不能直接退): asking for "
                                   "a remedy other than the one pushed turns it down (for family_pushes)", default=[]),
    "streak_offers": Param("int", "the offer that is the this-many-th in a row, each after the customer refused "
                           "the one before, and keeps a thing of each earlier one without a new remedy or step, "
                           "repeats the solution (3: the third push); 0 turns it off", default=0),
    "streak_offer_classes": Param("strings", "agent classes of a third push (a remedy offered again, a step to do "
                                  "again)", default=[]),
    "streak_retry_classes": Param("strings", "agent classes of a step to do again (再试一次): a clause of them in a "
                                  "push proposes no new step", default=[]),
    "streak_acted_classes": Param("strings", "agent classes of a third push that acts on the remedy rather than "
                                  "offering it (催仓库, 券已发到账户): a push only where the customer refused the "
                                  "remedy itself in each gap (streak_acted_refusal_classes)", default=[]),
    "streak_acted_not_classes": Param("strings", "agent classes that keep an acting push out (a request for details, "
                                      "a progress report asking to wait)", default=[]),
    "streak_acted_share": Param("float", "the least share of an acting push's content characters that its earlier "
                                "pushes already named (a push mostly new is a new remedy)", default=0.4),
    "streak_acted_refusal_classes": Param("strings", "customer classes refusing the remedy itself (不要券, 不用催了, "
                                          "没用): upset or a question back is no such refusal", default=[]),
    "streak_kind_classes": Param("strings", "agent classes of one remedy kind (waiting more): pushes all of one of "
                                 "them keep the remedy even when they share no word", default=[]),
    "streak_kind_refusal_classes": Param("strings", "customer classes refusing a remedy kind itself (还等??, 帮我催一下): "
                                         "a push that offers nothing but its kind counts only after one in each gap",
                                         default=[]),
    "anchor_stop": Param("strings", "words whose bigrams name no remedy thing (正常, 影响, 问题…)", default=[]),
    "anchor_terms": Param("strings", "words changing a remedy's terms (不用 a step waived, 一半 a "
                            "share): an offer with one the other lacks is a changed remedy (寄回 → 不用寄回)", default=[]),
    "anchor_added_terms": Param("strings", "anchor_terms words that change a remedy only when the later offer "
                                "adds them (或者: a second way added; the earlier A or B narrowed to A restates A)",
                                default=[]),
    "new_matter_classes": Param("strings", "customer classes opening another matter (还有个问题): a message of them "
                                "between two offers means no refusal of the earlier one", default=[]),
    "anchor_emphasis": Param("strings", "anchor_terms words that only urge a step the earlier offers named when "
                             "they stand before it with no agent taking it over (直接拒收 after 拒收; not 我这边直接联系)",
                             default=[]),
    "anchor_refusal_classes": Param("strings", "customer classes of a refusal strong enough for an anchored "
                                    "restatement (refusal_classes without the mere question back)", default=[]),
    "anchor_answer_shared": Param("int", "least anchors two answers (not anchor_offer_classes offers, not requests "
                                  "for details) must share to count as one answer restated; 0: only offers "
                                  "count", default=0),
    "anchor_offer_classes": Param("strings", "agent classes of which both offers of an anchored restatement "
                                  "must be (offering the remedy again), none empty", default=[]),
    "anchor_detail_classes": Param("strings", "agent classes (a request for details) that are no anchored "
                                   "restatement", default=[]),
    "anchor_provoked_classes": Param("strings", "agent classes (a provocation) after which the customer's "
                                     "answer is a reaction to the agent, not a refusal of the remedy "
                                     "(你不会看上面的记录吗 → ……)", default=[]),
    "question_refusal_classes": Param("strings", "customer classes that refuse an offer only by asking on "
                                      "(follow-up-question, bare-punctuation): when those are all the customer "
                                      "wrote between two offers and the customer's next message accepts the later "
                                      "one, it answered a new question and is no refused offer repeated "
                                      "(empty: off)", default=[]),
    "answer_openings": Param("strings", "regular expressions of an offer opening with a plain yes (是的呢, 对的): "
                             "after the customer's question just before it, with question_refusal_classes, it "
                             "answered a new question as an acceptance in the next message shows", default=[]),
    "vague": Param("strings", "regular expressions of a solution key that promises handling without "
                   "saying which (马上处理): not an offer", default=[]),
    "min_repeated_share": Param("float", "least share of an offer's distinct characters already used by "
                                "the earlier offers of its solution for it to count as a repeat", default=0.5),
    "soothing_gap": Param("int", "characters a clause may hold besides strip-class words and still "
                          "count as a soothing clause (left out whole)", default=3),
    "filler_words": Param("strings", "function words ignored when comparing (您, 一下, 麻烦, 已经…)",
                          default=[]),
    "strip_classes": Param("strings", "classes whose words are not part of the solution",
                           default=["soothing", "closing"]),
    "rejection_class": Param("str", "class of a refusal (beats an acceptance word)", default="rejection"),
    "accept_overridden_by": Param("strings", "customer classes that, beside an agreeing word, make it no "
                                  "acceptance (upset: 行 差评, 就会复制粘贴是吧)", default=[]),
    "refusal_classes": Param("strings", "customer classes of non-acceptance (a refusal, an objection, a failed "
                             "step, upset): when given, an offer is a refused one repeated only when the "
                             "customer wrote one of these, or asked an earlier question again, since the "
                             "previous offer", default=[]),
    "tied_refusal_classes": Param("strings", "refusal_classes that answer a proposal (a step refused or failed, "
                                  "another remedy demanded: step-refusal, step-failed, counter-demand, "
                                  "useless-claim): they count only when tied to the agent's offer or the agent's "
                                  "message just before (qa.acceptance: the refused step's verb is in it); "
                                  "开不了机 told as the problem refuses no wait for the review", default=[]),
    "new_proposal_classes": Param("strings", "agent classes of a proposal (proposal): an offer holding a clause "
                                  "of one whose characters are mostly new to the earlier offers of its solution "
                                  "(less than min_repeated_share) offers a different solution beside the old "
                                  "words (您可以撤销后重新申请 beside 以审核结果为准) and is no repeat", default=[]),
    "new_proposal_not_classes": Param("strings", "agent classes of a clause that only promises the outcome of the "
                                      "remedy (明天就能到, 装好就能正常使用): such a clause proposes nothing new",
                                      default=[]),
    "clause_similarity": Param("float", "least Dice similarity of a proposing clause of each of two offers for "
                               "them to be the same proposal restated beside new reasons (1.0: off)", default=1.0),
    "clause_min_chars": Param("int", "shortest clause key compared by clause_similarity", default=4),
    "clause_classes": Param("strings", "agent classes a clause must belong to for clause_similarity (proposal)",
                            default=[]),
    "repeated_question": Param("float", "least Dice similarity of two customer messages for the later to ask "
                               "the earlier again (a non-acceptance)", default=0.6),
    "pass_over_classes": Param("strings", "agent messages of these classes are not offers", default=[]),
    "accepted": Param("strings", "regular expressions of a customer accepting an offer", default=[]),
    "resend": Param("strings", "regular expressions of a customer asking for the same text again",
                    default=[]),
    "progress": Param("strings", "regular expressions of a customer asking how far it has got (the "
                      "agent's confirmation answers that; it is not a refused offer repeated)", default=[]),
    "particles": Param("strings", "characters ignored (modal particles)",
                       default=["哦", "呢", "哈", "啦", "呀", "哟", "嘛", "噢", "喔", "哒", "滴", "唷"]),
    "address_words": Param("strings", "forms of address ignored", default=["亲爱的", "亲亲", "亲"]),
    "quote_chars": Param("int", "longest quote in the reason", default=40),
}


CHECK = CheckType(
    name="repeated_offer",
    doc="The same answer or solution offered more than max_uses times in a session although the "
        "customer did not accept it.",
    params=PARAMS,
    implementation="qa.checks.repeated_offer",
)
