"""Declaration of the check type ``reply_class``: its parameters and flags.

The check itself, and its load-time ``validate``, are :mod:`qa.checks.reply_class`.
"""

from __future__ import annotations

from qa.checktypes.base import CheckType, Param

PARAMS = {
    "trigger_roles": Param("strings", "roles whose messages can trigger", default=["customer"]),
    "reply_roles": Param("strings", "roles whose next message is the judged reply", default=["agent"]),
    "trigger_classes": Param("strings", "classes making a message a trigger", required=True),
    "skip_classes": Param("strings", "classes whose messages are left to another rule", default=[]),
    "satisfied_by": Param("strings", "classes of which one match makes the reply acceptable", required=True),
    "not_counting": Param("strings", "classes whose matches cancel an overlapping satisfying match",
                          default=[]),
    "pass_over_classes": Param("strings", "reply-role messages of these classes are not replies",
                               default=[]),
    "pass_over_answering": Param("strings", "customer classes that keep a pass_over_classes message a reply when "
                                 "the customer's turn just before it holds one (在吗/人呢 answered with 有什么可以帮您)",
                                 default=[]),
    "after_reply_classes": Param("strings", "trigger classes that count only after an agent reply in the "
                                 "session (a refusal refuses something the agent said)", default=[]),
    "said_again_share": Param("float", "an agent reply sharing this share of the shorter one's content bigrams "
                              "with the agent's previous reply restates it: the customer's turn between did not take the answer and "
                              "is a trigger when it pushes back (pressing_classes; 0 turns it off)", default=0.0),
    "said_again_min_bigrams": Param("int", "least content bigrams of each of the two replies compared", default=4),
    "accepting_classes": Param("strings", "customer messages that take the answer (好的, 谢谢): a turn holding one "
                               "is no refusal however the agent goes on", default=[]),
    "pressing_classes": Param("strings", "customer messages that push back (不对啊, 我都说了, 我问的是…): a turn "
                              "holding one before a restated answer is a trigger (said_again_share)", default=[]),
    "fitted_classes": Param("strings", "agent classes of a reply that fits its answer to what the customer told "
                            "(那这款就很合适): not the answer said again (said_again_share)", default=[]),
    "informing_classes": Param("strings", "customer classes of plain information (家里白天没人): only after a message of "
                               "these does a fitted answer (fitted_classes, taken-up words) take the turn", default=[]),
    "taken_up_stop": Param("strings", "words that fit an answer to nothing when the agent's reply takes them up "
                           "from the customer (一直, 已经: with said_again_share)", default=[]),
    "said_again_label": Param("table", "what a reason calls a turn found by said_again_share (zh, en)", default={},
                              fields={"zh": Param("str", "Chinese"), "en": Param("str", "English")}),
    "urge_classes": Param("strings", "with soothed_episode: a bare urge (那抓紧处理吧, 尽快处理) right after a soothing reply "
                          "takes up what the agent promised: the same episode, whether or not a trigger was found "
                          "before the soothing reply", default=[]),
    "new_episode_classes": Param("strings", "with soothed_episode: customer lines that turn on the agent or the service "
                                 "itself (客服是当摆设的吗, 半天不回) open a new episode even right after a soothing "
                                 "reply", default=[]),
    "insisted_refusal_classes": Param("strings", "with soothed_episode: customer lines besides the after_reply classes "
                                      "that refuse an offer (退了还得重新挑 好麻烦): a soothing reply that offers it again "
                                      "insisted, and the customer's next upset is judged", default=[]),
    "insisted_marker": Param("str", "with insisted_refusal_classes: what a soothing reply says to hold the refused "
                             "offer out again (还是, 只能); a reply without it meets the pushback", default=""),
    "soothed_episode": Param("bool", "a trigger whose preceding agent reply already satisfied is the same "
                             "episode, not judged again", default=False),
    "answered_question_classes": Param("strings", "agent questions a short customer answer answers "
                                       "(an after_reply trigger right after one is an answer, not a refusal)",
                                       default=[]),
    "short_answer_chars": Param("int", "longest short answer (normalized characters)", default=8),
    "step_named_classes": Param("strings", "prompted_classes whose claim (刚重启过了) refuses the proposal only when it "
                                "names a character of the proposed step outside the proposal's condition (没拆封的话…)",
                                default=[]),
    "prompted_classes": Param("strings", "after_reply trigger classes that refuse only what the agent proposed "
                              "(打不通, 刚换的): they count only when the agent's previous reply is of a "
                              "prompt_classes class", default=[]),
    "prompt_classes": Param("strings", "agent proposals (建议您…, 您可以联系…) that a prompted_classes message "
                            "can refuse", default=[]),
    "nothing_offered_classes": Param("strings", "agent lines that offer nothing to refuse (a greeting, a hold, "
                                     "提供下订单号, 是这个商品吗): an after_reply trigger right after one, when that "
                                     "line is no prompt_classes proposal, tells what the customer wants; it refuses "
                                     "nothing", default=[]),
    "answer_classes": Param("strings", "customer classes that refuse only in relation to the agent's proposal "
                            "just before (不寄 after 寄回检测, 我要退货 after 多打几分钟; qa.acceptance)", default=[]),
    "proposal_classes": Param("strings", "agent messages a customer's answer_classes message can refuse",
                              default=[]),
    "ruling_classes": Param("strings", "agent messages that rule on the problem (属于正常现象, 不支持退换): only "
                            "a ruling_answer_classes message refuses them", default=[]),
    "ruling_answer_classes": Param("strings", "customer classes that refuse a ruling_classes reply just before, in "
                                   "relation to it (我要退 after 属于正常现象, 这不是色差 after 会有色差; qa.acceptance)",
                                   default=["counter-demand"]),
    "echo_classes": Param("strings", "customer classes that refuse any agent reply just before by throwing its "
                          "words back in disbelief (什么叫正常? after 慢一些正常的; qa.acceptance.echoed_in_disbelief)",
                          default=[]),
    "clarify_first_classes": Param("strings", "a reply of these classes (which item do you mean?) may "
                                   "leave the answer to the agent's next turn", default=[]),
    "waiting_classes": Param("strings", "trigger messages of these classes (a bare ???) count only while the "
                             "customer waits: after the customer's own message, after a wait over "
                             "wait_seconds, or after the agent repeated a line", default=[]),
    "wait_seconds": Param("int", "a wait longer than this (when times are known) makes a waiting-class "
                          "message impatience", default=300),
    "call_classes": Param("strings", "waiting-class messages that call for attention (人呢, 有人吗): after the "
                          "customer's own unanswered message they are impatience only once the customer has "
                          "waited least_wait_seconds (when times are known)", default=[]),
    "least_wait_seconds": Param("int", "the wait that makes a call_classes message impatience (人呢 ten seconds "
                                "after asking is a call, not frustration)", default=0),
    "waits_unknown": Param("str", "without times a waiting-class or nudge message after the customer's own "
                           "unanswered message cannot show a wait: 'impatience' counts it anyway, 'call' counts "
                           "it only when it is of emphasis_classes (????, ?!)", default="impatience",
                           choices=("impatience", "call")),
    "emphasis_classes": Param("strings", "waiting-class messages of these classes (????, ?!) are impatience "
                              "whatever the wait", default=[]),
    "mild_classes": Param("strings", "customer messages that voice a mild feeling only (……, 这…): a turn whose "
                          "triggers are all of these is answered by a reply of mild_satisfied_by", default=[]),
    "mild_satisfied_by": Param("strings", "agent replies that take a mild turn up (我来帮您看看, 核实的结果是…)",
                               default=[]),
    "giving_up_classes": Param("strings", "closing messages that give up a remedy (算了 不退了): they close the "
                               "complaint only when they answer something the agent said", default=[]),
    "mild_spoiled_by": Param("strings", "agent replies that rule against the customer (超过7天不支持) or ask for a "
                             "rating while the customer is upset: taking the matter up, or a straight answer to the "
                             "impatient question, does not answer the turn then", default=[]),
    "nudge_classes": Param("strings", "customer messages that only nudge (在吗, ?, 你好): the second nudge of "
                           "a turn after the customer's unanswered question or problem (nudge_after_classes) is "
                           "impatience, once the customer has waited least_wait_seconds (when times are known)",
                           default=[]),
    "nudge_after_classes": Param("strings", "customer messages that are due an answer (a question, a problem): "
                                 "nudges after one press it", default=[]),
    "praise_classes": Param("strings", "agent replies holding praise of the customer's character (您人真好, 特别讲道理): "
                            "put to an upset customer in place of an apology, they satisfy only by a praise_satisfied_by "
                            "match beside the praise", default=[]),
    "praise_satisfied_by": Param("strings", "what still satisfies beside praise_classes (the soothing words)", default=[]),
    "burst_nudges": Param("int", "this many nudges in a row after the unanswered question (?? 在吗 在不在) are "
                          "impatience without the least_wait_seconds wait: the burst shows it (0: off)", default=0),
    "closed_classes": Param("strings", "a customer turn whose last message is of these classes (…好吧, 那算了 不要了) "
                            "closes its own complaint: its triggers are not judged", default=[]),
    "mild_closed_classes": Param("strings", "a customer turn whose last message is of these classes (…谢谢你) closes "
                                 "its complaint when every trigger of the turn is a mild_classes match "
                                 "(还要那么久啊? 谢谢你); after anger the thanks may be sarcasm", default=[]),
    "relief_classes": Param("strings", "a customer turn holding one of these (早说嘛 吓我一跳) is relieved, not "
                            "upset: its triggers are not judged", default=[]),
    "request_classes": Param("strings", "a customer turn holding one of these (麻烦人工处理) asks for help: its "
                             "failure reports (failure_classes) are not refusals", default=[]),
    "failure_classes": Param("strings", "what a failed step reads like (操作不了): a refusal made only of these "
                             "is a request when the turn also asks for handling", default=[]),
    "carry_over_classes": Param("strings", "customer follow-ups insisting on an earlier trigger (我问的是…): "
                                "a trigger again when the customer's previous turn held a trigger",
                                default=[]),
    "grant_spoiled_by_classes": Param("strings", "customer messages that turn on the agent beside the request "
                                      "(我只问能不能退，你这是啥口气): granting the request does not answer them",
                                      default=[]),
    "grant_classes": Param("strings", "customer requests (能退吗, 我要退款) a reply granting them handles the "
                           "customer (可以的，给您申请退款); an A-not-A question answered yes (支不支持 → 支持的) "
                           "or a when-question answered with a time (哪天发 → 明天中午前发出) is settled too", default=[]),
    "decision_classes": Param("strings", "the customer's own way out (那我取消重新拍): a reply consenting to it "
                              "(可以取消的) settles a calm refusal", default=[]),
    "affirmed_classes": Param("strings", "customer questions whether a claim holds (是正品吗) that a plain yes "
                              "(affirmative_classes: 是的亲) answers", default=[]),
    "affirmative_classes": Param("strings", "agent replies opening with a plain yes", default=[]),
    "made_good_classes": Param("strings", "agent lines that make a provocation good (不好意思，刚才语气急了): a "
                               "calm close after them is no resignation", default=[]),
    "settled_by_classes": Param("strings", "agent lines that answer the customer's earlier upset (抱歉，刚才表述不当; "
                                "非常抱歉给您添麻烦了): a calm close right after them (那算了) accepts, it does not "
                                "give up in frustration", default=[]),
    "restated_classes": Param("strings", "satisfied_by classes that do not satisfy when the customer has just "
                              "refused the agent's proposal and the match restates it (催管用吗 → 我再给您催一下: the "
                              "refused step again is no reassurance)", default=[]),
    "restated_refusal_classes": Param("strings", "customer classes that refuse the agent's proposal as a whole "
                                      "(不等了, 不要): after them too a restated_classes match restating the "
                                      "proposal does not satisfy", default=[]),
    "refused_wait_classes": Param("strings", "agent classes of waiting held out again (再等两天看看): after a trigger "
                                  "that refuses in so many words (restated_refusal_classes) and asks for a remedy "
                                  "(grant_classes, request_classes), a reply of these classes satisfies only by an "
                                  "apology or empathy, not by restated_classes matches", default=[]),
    "other_way_classes": Param("strings", "with accommodate_refusals: after a calm trigger of "
                               "other_way_after_classes (a step tried in vain, no upset in the turn), a reply of "
                               "these classes unlike the refused one and of no not_counting class (a wait) "
                               "meets the customer: another way to try", default=[]),
    "other_way_after_classes": Param("strings", "triggers another way to try answers (试了还是不行)", default=[]),
    "other_remedy_classes": Param("strings", "after such a trigger, a reply of these classes (a concrete remedy: "
                                  "给您寄个新的) meets the customer whatever was tried before", default=[]),
    "accommodate_refusals": Param("bool", "after a refusal, a reply offering a remedy the agent's previous "
                                  "proposal did not (补发太麻烦 → 给您退这几个的钱) meets the customer",
                                  default=False),
    "provoked_classes": Param("strings", "agent lines that provoke the customer (a rhetorical question, "
                              "contempt, buck-passing): the customer's next message answering one is a "
                              "trigger when it is of pressed_classes", default=[]),
    "pressed_classes": Param("strings", "customer answers to a provocation that show the feeling (!, ??, "
                             "啊?, 我就问…); a calm answer (我还没下单呢) is not upset", default=[]),
    "unsoothed_pressed_classes": Param("strings", "customer lines pressing the point right after a reply that "
                                       "left a trigger unsoothed (??, 我说的是…): triggers too, so the next reply "
                                       "is judged again", default=[]),
    "judge": Param("str", "judge the first reply message or the whole agent turn", default="first",
                   choices=("first", "turn")),
    "turn_ends_after_classes": Param("strings", "with judge = turn, a reply of these classes (a bare 稍等) is judged "
                                     "alone: what the agent sends after it does not make it good", default=[]),
    "flag_missing": Param("bool", "flag a trigger the agent never answers", default=False),
    "quote_chars": Param("int", "longest quote in the reason", default=30),
}


CHECK = CheckType(
    name="reply_class",
    doc="A customer message of a trigger class (upset, doubt …) whose next agent reply belongs to "
        "none of the required classes (soothing, clarification …).",
    params=PARAMS,
    implementation="qa.checks.reply_class",
)
