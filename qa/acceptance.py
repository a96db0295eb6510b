"""Does the customer's answer accept what the agent just proposed? (the proposal → answer relation)

Whether a customer refuses a solution is a RELATION between two messages, not a property of
the customer's words alone: 不寄 refuses only after the agent proposed sending something back,
我要退货 insists on another remedy only after the agent proposed a different one, and 喷了还响
reports that the proposed step was done and the problem stayed. A word list of refusals
(``rejection``) misses these and would misfire on the same words said unprompted.

The shapes are rule data (classes of ``rules/classes.toml``):

* ``proposal``       agent: proposes a step or a remedy (建议您…, 需要寄回检测, 重装系统就好了, 给您补发);
* ``step-refusal``   customer: 不/不想/别再让我 + a verb (不寄, 我不想转让, 别再让我冲了);
* ``step-failed``    customer: a verb + 了/过 + 还/一样/还是/就没… (喷了还响, 看了还是不一样), or a
                     bare 还是… (还是响);
* ``counter-demand`` customer: asks for a remedy (我就想退, 能不能换, 就不能上门吗, 你们直接退).

and this module checks the relation: a step refused or failed counts when its verb occurs in
the proposal (不寄 after 寄回检测, 按了 一样 after 长按回充键); a demanded remedy counts when the
proposal does not already offer it (我要退货 after 多打几分钟, not after 可以申请退货); an answer that
opens with an acceptance (好的, 可以, 谢谢) accepts.

Used by ``reply_class`` (``answer_classes``: such an answer is a refusal trigger for
unsoothed-emotion) and meant for any rule that needs "the customer did not accept the agent's
proposal" (repeated-solution). Cost: the caller pre-filters with the classes' vectorised
masks; :func:`not_accepted` runs per candidate pair only.
"""

from __future__ import annotations

import functools

import regex

from qa.regexcache import compile_regex

#: The default answer classes, in the order their matches are tried.
ANSWER_CLASSES = ("step-refusal", "step-failed", "counter-demand", "useless-claim", "option-refused", "echoed-proposal",
                  "term-denied")

# Characters too common to tie a step to a proposal (不是, 不会, 看了就好 …): a step verb is
# a content verb the proposal names.
COMMON_CHARS = _COMMON = set("是会能可好对要想用了过到在一有太行够知懂明清满需得该敢算然错着方合适止但只光准舒大小多少客见管急同接就也都还您你我他她它们这那的地个吗呢吧啊哦哈")
# the negators in front of the step (step-refusal): what is left is the verb
_NEGATOR = compile_regex(r"^(?:不想再?|不要再?|不愿意?再?|不用再?|不再|别再?(?:让|叫|要)?我?再?|不)")
# the remedies a counter-demand names, longest first
_REMEDY = compile_regex(r"上门|补发|重新发|重发|派人|退|换|寄|赔|发")
_RESEND_COUNTED = compile_regex(r"(?:再|重新)发(?!一下|下|个?(?:链接|单号|图|照片|地址|截图|视频|信息|消息|定位))"
                                r"|发(?:一|两)?(?:个|双|件|份|台|箱|盒|套|只|条|瓶)(?!链接|单号|图|照片|地址|截图|视频|信息|消息|定位)")
# an answer that starts by agreeing accepts, whatever follows (好的 不用寄了吧); 不介意 answers the agent's
# 您介意的话… by taking the goods as they are. 那我 takes the proposal up (那我申请一下) unless a return, an exchange
# or a complaint follows it (a refusal, 那我不要了, is no agreement anyway): 那我退货 after 给您5元券 chooses another
# remedy (counter-demand checks it is another)
_ACCEPTS = compile_regex(r"^\W*(?:好的?|好吧|行(?:吧|的)?|可以|嗯+|ok|okay|谢谢|知道了|明白|收到|"
                         r"那我(?!\p{Han}{0,4}?(?:退|换|投诉|差评|举报))|不介意|不在意|没关系)(?![不没])")
# an answer that opens by suggesting an alternative (要不…能不能…, 不如…, 或者…) bargains: it asks
# for a deal, it does not refuse (要不不退差价 送个赠品行吗)
_BARGAINS = compile_regex(r"^\W*(?:那|那么|亲)?\W*(?:要不(?!是)|要不然|不如|或者|退而求其次)")
# where the thing called useless ends (贴膜|有什么用, 重启|管用吗, 冷冻的|没意思)
_USELESS = compile_regex(r"有(?:什么|啥)用|(?:有用|管用|顶用)(?:吗|么|嘛)|(?:的)?没(?:意思|啥意思|什么意思)")
# where the option's name ends (中通|不行, 水放|得没问题)
_OPTION_VERDICT = compile_regex(r"(?:也|都|还是|肯定|真的|根本)?(?:不行|不可以|不接受|不考虑|不方便|不合适)|[得的](?:都|也|是)?(?:没问题|没错|好好的|对的|正确)"
                                r"|(?:我)?(?:也|都|根本)?(?:用不上|用不到|不稀罕)")
_OF_NO_USE = compile_regex(r"用不上|用不到|不稀罕")
# a counter-demand that names no remedy word but wants more than the proposal gives: the answer
# outright instead of the self-service pointed to (你直接告诉我穿多大), a bigger amount (至少给一半), the
# shop's own easy step instead (你们打个电话给快递就能改)
# (the answer asked to be told outright; a least amount named)
_TOLD = r"告诉我|跟我说|给我说|说一下|帮我(?:选|看|挑)"
_AT_LEAST = r"至少|起码|最少|最起码"
_DEMANDS_MORE = compile_regex(rf"{_TOLD}|帮我查|{_AT_LEAST}|太少|太低|不够|就能|就可以")
_WILL_NOT = compile_regex(r"^(?:不想|不要|不愿|不用)")
# where the denial ends (这根本就不是|色差): the word denied follows
_DENIAL = compile_regex(r"(?:不是|哪是|哪里是|才不是|哪儿是)")
# a denial that plays the matter down (不是什么大问题, 不是很在意) or an answer that takes the ruling (也没关系, 我就问问)
_DENIAL_HEDGE = compile_regex(r"什么|很|太|特别|那么|这么|非常")
# (根本不是, 压根不是 deny outright, whatever follows: 这根本不是太…)
_DENIAL_OUTRIGHT = compile_regex(r"(?:根本|压根|明明|绝对|肯定|才|哪)(?:就)?(?:不是|是)")
_DENIAL_TAKEN = compile_regex(r"(?<!说)(?:没关系|无所谓|就问问|问问而已|随便问问|不在意|不介意)(?![^,.!?;]{0,3}(?:吗|么|吧|\?))")
_HAN_RUN = compile_regex(r"\p{Han}+")
# surprise or a check, not the remedy echoed (真的？那太好了, 是吗？); delight after the echo takes it
_NOT_ECHOED = frozenset("真的 是吗 是的 真是 这样 那样 什么 怎么 为啥 确定 当真 真滴".split())
_DELIGHT = compile_regex(r"太好了|太棒了|好耶|那就好|好的|可以|行吧|谢谢")
# a time or a date echoed back is checked, not refused (明天？ after 明天发出)
_WHEN = compile_regex(r"今天|明天|后天|今晚|明早|明晚|下午|上午|晚上|中午|早上|周[一二三四五六日天末内]|星期|礼拜|下周|本周|这周|月底|月初|之内|以内|[0-9一二两三四五六七八九十几]+(?:点|号|日|天|小时|分钟|周|个?月)")
# the customer did not understand the proposal (新订单? 我没懂 意思是…): asking, not refusing
_CONFUSED = compile_regex(r"没懂|不懂|不明白|没明白|没看懂|什么意思|啥意思|意思是")
# the refused word after a step-refusal's negator: up to two Han characters, none after 了 (不用了)
_REFUSED_WORD = compile_regex(r"\p{Han}(?:(?<!了)\p{Han})?|")
_STILL = compile_regex(r"^(?:可是?|但是?)?(?:还是|依然|仍然|照样)")
# the verbs of trying in general (试了, 弄了, 照做了): they name no step of their own
_TRIED = frozenset("试弄搞照做")


def step_verb(match_text: str, class_name: str) -> str | None:
    """The verb of a step-refusal (after its negator) or a step-failed match (before 了/过);
    None for a bare 还是… report, which needs no verb."""
    if class_name == "step-refusal":
        rest = _NEGATOR.sub("", match_text, count=1)
        return rest[:1] or None
    if class_name == "step-failed":
        if _STILL.match(match_text):
            return None
        return match_text[:1] or None
    return None


def _shares_content_bigram(text: str, other: str) -> bool:
    """Does ``other`` hold two adjacent characters of ``text``, neither of them a common one (色差
    of 这不是色差 in 会有色差)?"""
    return any(text[k] not in _COMMON and text[k + 1] not in _COMMON and text[k:k + 2] in other
               for k in range(len(text) - 1))


# the agent's words thrown back with a question mark (什么叫正常? / 你让我找厂家? / 收到??就这?)
_ECHO = compile_regex(r"(\p{Han}{2,10}?)(?:吗|么)?\?+")
# the customer takes the echoed thing after all (预售? 行 那我等等; 绑定设备? 找到了; 视频? 我现在去拍)
_TAKES_IT = compile_regex(r"(?:^|\W)(?:那)?(?:行|好|好吧|好的|可以|嗯|哦|懂了|明白了)(?:\W|$)"
                          r"|找到了|知道了|原来|我(?:现在|这就|马上)?(?:去|来)(?:拍|试|看|找|弄|装|操作|复制|约|下单|买)|稍等|等我|帮大忙"
                          r"|太好|那我(?:就|现在|马上)?(?:要|选|约|拍|买|下单|试)|马上下单|方便|省事|省心|划算|哈哈|好耶|太棒|喜欢|爱了|😍|🥰"
                          # settling for a way of the customer's own (补发？不用那么麻烦 我用胶带缠一下就行; 不建议？那我手洗好了),
                          # the shop praised (这还不用寄回？你们也太大方了吧)
                          r"|(?:就行|就好|就可以)(?:了|啦)?\W*$|那我\p{Han}{1,6}好了|大方|贴心|良心|给力|周到")
# the agent asked it (是要退货吗 → 退货? 不是…): the echo answers a question (matched where the words end)
_ASKED_AFTER = compile_regex(r"[^,.!?;~]{0,8}?(?:吗|么|呢|\?)")
# the echo put as a challenge that throws the words back whatever follows (这还正常？, 凭什么让我找快递？, 你让我找厂家？)…
_CHALLENGE_ALONE = compile_regex(r"凭什么|你让我|你叫我|还要我|又要|也叫|这叫|还叫|这还")
# …or one that does so only with the marks doubled (什么叫正常？？; 什么叫价保？ may ask what it is, 要我填单号？ how)
_CHALLENGE_PRESSED = compile_regex(r"什么叫|啥叫|让我|叫我|要我")
# the echo put as a guess (或许叫初始化?), or a contradiction explained away (…可能是我妈拿了)
_HEDGED = compile_regex(r"或许|可能|应该|好像|大概|是不是|也许")
_CONTRADICTS = compile_regex(r"明明|我(?:买的|要的|问的|说的|拍的|选的|下单选的|订的|付的)是")
# a question asked after the echo (…吗, 怎么…, 哪…, ?, …能穿吧)
_ASKS = compile_regex(r"\?|吗|呢|吧\W*$|怎么|什么|哪|几|多少|为啥|为什么|是否|能不能|可不可以|有没有|是不是")


def echoed_in_disbelief(reply_norm: str, answer_norm: str):
    """The match of the customer's ``answer_norm`` that throws words of the agent's ``reply_norm``
    back with a question mark in disbelief, or None: with a challenge that needs nothing more (这还正常?,
    也叫正常?, 凭什么让我找快递?, 你让我找厂家?), with a challenge and doubled marks (什么叫正常??), or as the
    whole of a curt reply pressed back (好的??, 收到? 就这?).

    The words echoed are the longest tail (two characters or more) of the Han run before the question
    mark that the reply holds: not only common characters (是, 好, 了…) unless they are that curt reply, no
    time or date (明天? checks the date), no word of surprise (真的?). Nothing after the echo may take the
    thing (预售? 行 那我等等; 太方便了), ask what it means (没懂), or answer the agent's own question (是要退货吗
    → 退货? 不是…). An echo followed by a statement counts only when the statement contradicts in so many words
    (已签收? 我明明没收到; 随机? 我下单选的是新款): three readers found calm remarks in that shape (不锈钢? 不是陶瓷 那我
    再看看别的; 寄出了? 都不用我催了) as often as refusals."""
    if not reply_norm or not answer_norm:
        return None
    reply_words = "".join(_HAN_RUN.findall(reply_norm))
    for found in _ECHO.finditer(answer_norm):
        run = found.group(1)
        tail = next((run[-k:] for k in range(len(run), 1, -1) if run[-k:] in reply_norm), None)
        if tail is None or _WHEN.search(tail) or tail in _NOT_ECHOED:
            continue
        curt = tail == reply_words
        if all(ch in _COMMON for ch in tail) and not curt:
            continue
        rest = answer_norm[found.end():]
        before = run[: len(run) - len(tail)]
        if _HEDGED.search(before):
            continue
        pressed = found.group().count("?") >= 2
        challenged = _CHALLENGE_ALONE.search(before) is not None or (pressed and _CHALLENGE_PRESSED.search(before) is not None)
        # (the customer's own fact set against the words in so many words: 已签收? 我明明没收到; 随机? 我下单选的是新款)
        # (…unless the customer explains it away: 已签收？我明明在家呀，可能是我妈拿了)
        contradicted = _CONTRADICTS.search(rest) is not None and _ASKS.search(rest) is None and not _HEDGED.search(rest)
        if not (challenged or contradicted or (curt and (pressed or _HAN_RUN.search(rest)))):
            continue
        if _TAKES_IT.search(rest) or _DELIGHT.search(rest) or _CONFUSED.search(answer_norm):
            continue
        if _agent_asked(reply_norm, tail):
            continue
        return found
    return None


def _agent_asked(reply_norm: str, words: str) -> bool:
    """Did the agent ask about ``words`` (是要退货吗: a question mark or 吗 closes their clause)?"""
    said = reply_norm.find(words)
    return said >= 0 and _ASKED_AFTER.match(reply_norm, said + len(words)) is not None


def not_accepted(classes, proposal_norm: str, answer_norm: str, names=ANSWER_CLASSES):
    """The match of the customer's ``answer_norm`` that does not accept the agent's
    ``proposal_norm`` (both normalized texts), or None when the answer accepts or is unrelated.

    The caller decides that ``proposal_norm`` is a proposal (class ``proposal``); this checks
    the relation between the two texts (see the module docstring)."""
    if not proposal_norm or not answer_norm or _ACCEPTS.match(answer_norm) or _BARGAINS.match(answer_norm):
        return None
    for name in names:
        if name not in classes.classes:
            continue
        for found in classes.find(name, answer_norm):
            if name == "useless-claim":
                # 贴膜有什么用 after 给您补发钢化膜: the thing called useless is the one proposed
                cut = _USELESS.search(found.text)
                subject = found.text[: cut.start() if cut else len(found.text)]
                if any(ch not in _COMMON and ch in proposal_norm for ch in subject):
                    return found
                continue
            if name == "echoed-proposal":
                # 退货？… after 给您办理退货: the echoed word is the proposal's, no time (明天？ checks the
                # date), and what follows says why, neither taking it (退货？好的 那我申请) nor saying it
                # was not understood
                # (nor the agent's own question answered: 您是要退货吗 → 退货？不是…; nor taken further on:
                # 预售？那行 我等等)
                echoed = _HAN_RUN.search(found.text)
                rest = answer_norm[found.end:]
                if (echoed is not None and echoed.group() in proposal_norm and not _WHEN.search(echoed.group())
                        and echoed.group() not in _NOT_ECHOED and not _DELIGHT.search(rest)
                        and _HAN_RUN.search(rest) and not _ACCEPTS.match(rest) and not _CONFUSED.search(rest)
                        and not _TAKES_IT.search(rest) and not _agent_asked(proposal_norm, echoed.group())):
                    return found
                continue
            if name == "objection":
                # 你们称得准不代表我收到的够 after 都是称重装袋的: a statement set against the answer about a
                # thing the answer named (a bigram of two content characters of both); told about
                # something else (我家卧室很干) it sets nothing against the proposal
                if _shares_content_bigram(found.text, proposal_norm):
                    return found
                continue
            if name == "term-denied":
                # 这不是色差 after 不同显示器会有色差: a word of two characters denied is the agent's (a bigram of
                # the denied words in the agent's reply), neither played down nor taken in the same answer
                cut = _DENIAL.search(found.text)
                denied = found.text[cut.end():] if cut else ""
                if denied.startswith("什么") and cut.group() != "不是":
                    denied = denied[2:]  # 哪是什么使用不当 denies as strongly as 哪是使用不当
                if (denied and not (cut.group() == "不是" and _DENIAL_HEDGE.match(denied)
                                    and not _DENIAL_OUTRIGHT.search(found.text))
                        and not _DENIAL_TAKEN.search(answer_norm)
                        and _shares_content_bigram(denied, proposal_norm)):
                    return found
                continue
            if name == "option-refused":
                # 中通不行 after 可以走中通: the option refused is named by two of its characters; a step
                # declared done right (水放得没问题 after 按比例放水) by one
                cut = _OPTION_VERDICT.search(found.text)
                subject = found.text[: cut.start() if cut else len(found.text)]
                shared = sum(ch not in _COMMON and ch in proposal_norm for ch in subject)
                # (券我用不上 after 给您10元券: the thing of no use to the customer is named by one character too)
                named_by_one = cut is not None and (cut.group().startswith(("得", "的")) or _OF_NO_USE.search(cut.group()))
                if shared >= (1 if named_by_one else 2):
                    return found
                continue
            if name == "counter-demand":
                # another remedy than the one proposed; a bare 发 asks when the order ships (能不能今天发),
                # no remedy of its own
                # (再发一双 / 重新寄一个 sends a new one: 发 with 再 before it or a count after it is a resend)
                remedy = _REMEDY.search(found.text)
                if remedy is None and _DEMANDS_MORE.search(found.text):
                    return found
                if remedy is not None and remedy.group() not in proposal_norm and (
                        remedy.group() != "发" or _RESEND_COUNTED.search(found.text)):
                    return found
                # the proposal's own remedy wanted without the step it waits on (能不能直接给我换台新的 after 寄回检测
                # 后为您换货): the step is refused
                if remedy is not None and _SKIPS_STEP.search(answer_norm) and _STEP_FIRST.search(proposal_norm):
                    return found
                continue
            if name == "step-refusal" and found.text in proposal_norm:
                # the agent's own negated words quoted back (不用寄回？你们也太大方了吧 after 不用寄回): no refusal
                continue
            verb = step_verb(found.text, name)
            if verb is None or (name == "step-failed" and verb in _TRIED):
                if name == "step-failed":
                    # 还是响: the problem stayed after the proposed step; 试了 没有 / 弄了还是不行: what
                    # was tried right after a proposal is the proposal
                    return found
                continue
            if name == "step-refusal" and _WILL_NOT.match(found.text):
                # a thing declined may be named by its noun (不要小样 after 补偿两片小样): the word after
                # 不要/不想/不用, two characters of the clause (查不到订单 declines nothing; 别 is often inside a word: 类别)
                verb = _REFUSED_WORD.match(answer_norm, found.end - 1).group()
            if any(ch not in _COMMON and ch in proposal_norm for ch in verb):
                return found
    return None


def grants(classes, proposal_norm: str, answer_norm: str, reply_norm: str) -> bool:
    """Does the agent's ``reply_norm`` grant the other remedy the customer's ``answer_norm``
    demanded instead of ``proposal_norm`` (我要换一个 → 好的，给您换一辆新的)? Only a
    counter-demand can be granted; a refused or failed step is answered by something else."""
    found = not_accepted(classes, proposal_norm, answer_norm)
    if found is None or found.cls != "counter-demand" or _holds_the_skipped_step(answer_norm, reply_norm):
        return False
    remedy = _REMEDY.search(found.text)
    if remedy is None:
        return _DEMANDS_MORE.search(found.text) is not None and _gives_what_was_demanded(answer_norm, reply_norm)
    word = regex.escape(remedy.group())
    granted = compile_regex(
        rf"(?:给|帮|为)(?:您|你|亲)?[^,.!?;。]{{0,4}}{word}|(?:安排|马上|立即|立刻|这就|现在就)[^,.!?;。]{{0,3}}{word}"
        rf"|^\W*(?:好的|好|可以|行|没问题|是的|对的)")
    return granted.search(reply_norm) is not None and not regex.search(r"(?:不能|无法|没法|不可以|不支持)" + word, reply_norm)


# the amount a customer demands (起码给20, 至少给一半), the agent giving an amount, a size answered outright
# (拍39就可以, 建议M码), and the words by which a reply that opens agreeably still refuses (好的亲，但是20不行哦)
_DEMANDED_AMOUNT = compile_regex(rf"(?:{_AT_LEAST})(?:也)?(?:得)?(?:给|赔|退|补|返)?(?:我)?([0-9]+|一半|全额|全款)")
_ASKS_TO_BE_TOLD = compile_regex(_TOLD)
_SIZE_GIVEN = compile_regex(r"(?:拍|选|穿|建议|推荐|买|要)[^,.!?;]{0,4}(?:[0-9]{2,3}|[xsml]{1,3})(?![0-9])|[0-9]{2,3}(?:码|号|cm|厘米)")
_STILL_REFUSES = compile_regex(r"但|不过|不行|不能|只能|最多|不一定|估计|做不到|超出|没法|没办法|不知道|因人而异|说不准|审批"
                               r"|权限|不了|不支持|无法|还是(?:看|参考|以)")


def _gives_what_was_demanded(answer_norm: str, reply_norm: str) -> bool:
    """Does the reply give a counter-demand that names no remedy word (``answer_norm``, the customer's
    turn): the amount demanded, given (起码给20 → 给您补20元), or the answer the customer asked to be told,
    outright (你直接告诉我穿多大 → 您平时穿39的话拍39就可以), or a plain yes to the shop's own easy step
    (你们跟快递说一声就能改 → 好的，我马上联系快递)? Never when the reply still refuses or hedges
    (好的亲，但是20不行哦; 尺码因人而异)."""
    if _STILL_REFUSES.search(reply_norm):
        return False
    amount = _DEMANDED_AMOUNT.search(answer_norm)
    if amount is not None:
        number = regex.escape(amount.group(1))
        return regex.search(rf"(?:给|补|退|返|赔|发)(?:您|你|亲)?[^,.!?;]{{0,4}}(?<![0-9]){number}(?![0-9])", reply_norm) is not None
    if _ASKS_TO_BE_TOLD.search(answer_norm):
        return _SIZE_GIVEN.search(reply_norm) is not None
    return _AGREES.search(reply_norm) is not None


# What a customer may ask for and an agent may grant, as stems found in both texts (退款 and
# 退货 share 退; 补偿 and 赔偿 are money).
_GRANT_REMEDY = compile_regex(r"上门|补发|补寄|重新发|重发|派人|补偿|取消|赔|退|换|寄|发|送|做|煮")
# (寄/发 alone are not offered remedies: 给您发个链接; 送/做/煮: a dish made or sent again, 再做一杯吧 → 马上给您重做一杯送去)
# (换开/重开/补开 an invoice re-issued: the remedy of an invoice made out wrong)
_OTHER_REMEDY = compile_regex(r"上门|补发|补寄|重新发|重发|派人|补偿|赔|退|换(?:个|一个|一件|一台|件|台)?新|换成|换开|重开|补开|重新开"
                              # the cost taken on by the shop (改裤脚的钱我们报销, 运费我们来承担)
                              r"|报销|承担")
_DENY = r"(?:不能|无法|没法|没办法|不可以|不支持|不予|不给|不了|只能)"
# the agent (or the shop) sends someone to do the remedy (我让快递上门取件, 这边安排师傅上门; 您这边让快递… is
# the customer's job)
_AGENT_SENDS = r"(?<![您你])(?:我|我们|这边|小妹)(?:这边)?(?:来|会|马上|这就|现在)?(?:让|叫|安排|联系)"


# a reply opening with yes (好 今天下午就发出, 可以的 给您…)
# (a word of its own: 可以退的 您自己申请 only permits)
_AGREES = compile_regex(r"^\W*(?:亲|亲亲)?\W*(?:好的|好滴|好嘞|好|可以的|可以|行|没问题|ok)(?:的|哈|哦|呢|呀|亲)?(?=[\s,.!~]|$)")
_SELF_SERVICE = compile_regex(r"(?:您|你|亲)(?:自己|可以|需要|先|直接)?(?:在|到|去|从)?[^,.!?;。]{0,8}?(?:点|点击|申请|提交|操作|选择|填写)")
# what doing a remedy is called once under way (补发 → 今天就发出, 寄出)
_DOING = {"补发": "发|寄", "补寄": "发|寄", "重新发": "发|寄", "重发": "发|寄", "寄": "发|寄", "发": "发|寄"}


def _granted_in(reply_norm: str, remedy: str) -> bool:
    word = regex.escape(remedy)
    if regex.search(rf"{_DENY}[^,.!?;。]{{0,4}}{word}|{word}不了", reply_norm):
        return False
    if regex.search(
            rf"(?:给|帮|为|替)(?:您|你|亲)?[^,.!?;。]{{0,10}}{word}|(?:安排|马上|立即|立刻|这就|现在就|直接)[^,.!?;。]{{0,4}}{word}"
            # the agent sends someone to do it (我让快递上门取, 这边叫师傅上门)
            rf"|{_AGENT_SENDS}[^,.!?;。]{{0,6}}{word}"
            # done already (好 已退, 已经给您补发了)
            rf"|已(?:经)?(?:给|帮|为)?(?:您|你|亲)?(?:申请|安排|操作)?(?:了)?{word}",
            reply_norm):
        return True
    # yes, and the remedy under way (补发吧 → 好 今天下午就发出); yes and the customer sent to do it
    # (好的 您自己在页面上点退货就行) only permits
    doing = _DOING.get(remedy, word)
    return (_AGREES.search(reply_norm) is not None and regex.search(rf"(?:{doing})", reply_norm) is not None
            and _SELF_SERVICE.search(reply_norm) is None)


# a step the proposal puts before its remedy (寄回检测后换货, 先寄回, 鉴定后退款)
_STEP_FIRST = compile_regex(r"寄回|退回|寄过来|寄到|检测|鉴定|质检|核实后|审核后|先(?:申请|提交|拍|上传|寄)")
# The remedy asked for without the step before it (直接退, 仅退款, 不寄回): the reply that makes it wait on that step
# (退货退款, 收到商品后为您退款, 需要先寄回) holds out the refused way, it does not grant the request.
_SKIPS_STEP = compile_regex(r"直接|仅退款|只退款|不用寄|不寄|不想寄|不退货|免寄回|不用退货|先(?:给我)?(?:发|寄|换)(?:个|一个|件|台|双)?新")
_AFTER_STEP = compile_regex(r"(?:收到|寄回|退回|寄到|返回|签收)(?:商品|货|退货|包裹)?[^,.!?;。]{0,4}?(?:后|之后|以后)|退货退款"
                            r"|(?:货|商品|包裹|东西)(?:寄)?到(?:仓|仓库|我们这|我们这边)[^,.!?;。]{0,3}?(?:后|之后|以后|再)"
                            r"|(?<!不)(?:需要|要|得|请)(?:您)?(?:先)?(?:把(?:商品|货)?)?(?:提交|申请)?(?:寄回|退回|寄过来|退货)")


def _holds_the_skipped_step(request_norm: str, reply_norm: str) -> bool:
    """Did the customer ask for the remedy without the step before it (直接退吗) and the reply make it
    wait on that step (请先申请退货，仓库签收后给您退款)?"""
    return _SKIPS_STEP.search(request_norm) is not None and _AFTER_STEP.search(reply_norm) is not None


def grants_request(classes, request_norm: str, reply_norm: str, request_class: str = "remedy-request") -> bool:
    """Does the agent's ``reply_norm`` grant what the customer's ``request_norm`` asks for (能退吗 →
    可以的，给您申请退款; 我要换新的 → 给您换一个)? The agent must do it: 可以退的，您自己申请 only
    permits it. Granting the request handles the customer's upset; a refusal of it (这边不能退哦) does not."""
    if not request_norm or not reply_norm or request_class not in classes.classes:
        return False
    if _holds_the_skipped_step(request_norm, reply_norm):
        return False
    for found in classes.find(request_class, request_norm):
        remedy = _GRANT_REMEDY.search(found.text)
        if remedy is None:
            continue
        if regex.search(rf"{_DENY}[^,.!?;。]{{0,4}}{regex.escape(remedy.group())}", reply_norm):
            return False
        if _granted_in(reply_norm, remedy.group()):
            return True
        # a refund of goods not yet sent is the order cancelled (退款 → 帮您把订单取消掉)
        if remedy.group() == "退" and _granted_in(reply_norm, "取消"):
            return True
    return False


# a remedy's family: 补发 and 补寄 offer the same thing again
_FAMILY = {"补发": "resend", "补寄": "resend", "重新发": "resend", "重发": "resend", "上门": "visit",
           "派人": "visit", "补偿": "money", "赔": "money", "报销": "cost", "承担": "cost", "退": "refund",
           "换开": "reissue", "重开": "reissue", "补开": "reissue", "重新开": "reissue"}


# the shop named as the one who pays a cost (改裤脚的钱我们报销, 运费由我们来承担, 这边全部承担)
_SHOP_PAYS = compile_regex(r"(?<!不是|不由|不是由|由您|您|你)(?:我们店|我们这边|我们|店里|小店|商家|小店这边)(?:来|会|都会|可以|给您|帮您|为您)?"
                           r"(?:全部|全|都)?(?:报销|承担)(?!不了|不起)")

# a sum of money offered (补10元红包, 5块钱的券, 返现): the family of 补偿/赔
MONEY = compile_regex(r"[0-9一二两三四五六七八九十几百]+(?:元|块)|红包|券|返现|补差价?")


def _families(text: str) -> set[str]:
    return {_FAMILY.get(m.group(), "exchange" if m.group().startswith("换") else m.group())
            for m in _GRANT_REMEDY.finditer(text)} | (
        {"exchange"} if "换" in text else set()) | ({"money"} if MONEY.search(text) else set()) | (
        {"cost"} if _SHOP_PAYS.search(text) else set()) | {
        _FAMILY[m.group()] for m in _OTHER_REMEDY.finditer(text) if _FAMILY.get(m.group()) == "reissue"}


def same_remedy(proposal_norm: str, text_norm: str) -> bool:
    """Does ``text_norm`` name only remedies the agent's ``proposal_norm`` already offered (换货 →
    可以给您换货的)? A text naming none is no same remedy."""
    named = _families(text_norm)
    return bool(named) and named <= _families(proposal_norm)


# a sum of money named (5元, 二十块), and one the agent grants (给您申请20元, 补您30块)
_SUM_OFFERED = compile_regex(r"([0-9]+(?:\.[0-9]+)?|[一二两三四五六七八九十百]+)(?=元|块)")
_SUM_GRANTED = compile_regex(r"(?:给|帮|为|替|补|赔|退)(?:您|你|亲)?[^,.!?;。]{0,8}?([0-9]+(?:\.[0-9]+)?|[一二两三四五六七八九十百]+)(?=元|块)")


def offers_other_sum(proposal_norm: str, reply_norm: str) -> bool:
    """Does the agent's ``reply_norm`` grant another sum than the one its ``proposal_norm`` offered
    (10元 refused → 那给您申请20元)?"""
    sums = set(_SUM_OFFERED.findall(proposal_norm))
    return bool(sums) and any(amount not in sums for amount in _SUM_GRANTED.findall(reply_norm))


def offers_other(proposal_norm: str, reply_norm: str) -> bool:
    """Does the agent's ``reply_norm`` offer the customer a remedy its earlier ``proposal_norm``
    did not (补发太麻烦 → 那给您退这3个的钱)? After a refusal, a new concrete remedy meets the
    customer; the same offer again (只能给您补偿3元, 补寄 after 补发) does not."""
    proposed = _families(proposal_norm)
    for remedy in _OTHER_REMEDY.finditer(reply_norm):
        word = remedy.group()
        family = _FAMILY.get(word) or ("exchange" if word.startswith("换") else word)
        if family in proposed:
            continue
        if family == "cost":
            # the shop as the one who pays (钱我们报销, 运费由我们来承担); not the customer's side (您这边承担)
            # nor a payment denied (不是我们承担, 我们不报销)
            if _SHOP_PAYS.search(reply_norm):
                return True
            continue
        if _granted_in(reply_norm, word) and regex.search(
                rf"(?:给|帮|为|替)(?:您|你|亲)?[^,.!?;。]{{0,10}}{regex.escape(word)}|直接[^,.!?;。]{{0,3}}{regex.escape(word)}"
                rf"|{_AGENT_SENDS}[^,.!?;。]{{0,6}}{regex.escape(word)}",
                reply_norm):
            return True
    return False


_A_NOT_A = compile_regex(r"(\p{Han}{1,2})[不没]\1")
# what, after the word of an A-not-A question, makes no yes of it (有病, 有毛病, 有问题找售后)
_NOT_A_YES = ("病", "毛病", "问题")
_LEAD = compile_regex(r"^\W*(?:(?:亲+|您好|你好|在的|嗯+|是的)\W*)*")


# the can-questions (能不能, 可不可以, 行不行, 支不支持) and the words that say yes to any of them
_CAN = {"能", "以", "行", "持"}
_CAN_YES = ("可以", "能", "行的", "支持", "没问题")


@functools.lru_cache(maxsize=1 << 16)
def _a_not_a_words(question_norm: str) -> tuple[str, ...]:
    """The words of the A-not-A questions of ``question_norm`` (支 of 支不支持, 有 of 有没有), in
    order, less the rhetorical 是不是 / 会不会 / 对不对. Each needs a 不 or 没: a text without one
    (most) skips the back-reference scan. Kept per text: a question is asked of every reply."""
    if "不" not in question_norm and "没" not in question_norm:
        return ()
    return tuple(word for found in _A_NOT_A.finditer(question_norm)
                 # 是不是骗人的 is rhetorical: 是这样的 answers nothing
                 if (word := found.group(1)) not in ("是", "会", "对"))


_USEFUL_ASKED = compile_regex(r"(有用|管用|好用|有效)(?:吗|么|嘛)")


@functools.lru_cache(maxsize=1 << 16)  # (the same question and reply recur across sessions: canned replies)
def answers_yes(question_norm: str, reply_norm: str, synonyms: bool = True) -> bool:
    """Does ``reply_norm`` answer the customer's A-not-A question (到底支不支持快充?, 有没有货)
    with a plain yes (支持的, 有的亲)? A direct yes settles what the impatient customer asked.
    With ``synonyms`` the usual yes of a can-question counts too (能不能开票 → 可以开的)."""
    reply = reply_norm[_LEAD.match(reply_norm).end():]
    # whether the offered thing works, asked plainly (粘毛器有用吗), answered that it does (有用的，滚两下就干净了)
    use = _USEFUL_ASKED.search(question_norm)
    if use and reply.startswith(use.group(1)) and not reply.startswith(_NOT_A_YES, len(use.group(1))):
        return True
    words = _a_not_a_words(question_norm)
    if not words:
        return False
    for word in words:
        # the word said back (有的, 有现货的, 能啊); 有病吧 / 有问题找售后去 after 有没有办法 say no yes
        if reply.startswith(word) and not reply.startswith(_NOT_A_YES, len(word)):
            return True
        if reply.startswith(word[-1:] + "的"):
            return True
        # 能不能开票 → 可以开的; 支不支持 → 可以的: the usual yes of a can-question
        if synonyms and word[-1:] in _CAN and reply.startswith(_CAN_YES):
            return True
    return False


_WHEN_ASKED = compile_regex(r"什么时候|啥时候?|几时|哪天|多久|多长时间|几天")
_TIME = compile_regex(r"(?:今天|明天|后天|今晚|明早|上午|下午|晚上|最晚|最迟|(?:下|这|本)?(?:周|星期|礼拜)[一二三四五六日天]|下周|月底|月初|[0-9一二三四五六七八九十两]+(?:号|日|点|天内|天之内|个?小时内|h内|h之内|个?工作日))"
                      r"[^,.!?;。不没]{0,10}(?<!才能|才会|之后才)(?:发|到|送|寄|退|处理|安排|完成|出库|揽收|上门)(?!不|得了吗)")
_UNSURE = compile_regex(r"不确定|不清楚|不知道|没法确定|无法确定|说不准|不好说")
# the time window of the page or the rules read out (页面写了预售期30天内发货, 预售商品都是30天内发的): the shop's promise,
# not a time for this customer's order; a concrete time beside it (按规定48小时内发，您这单明天上午就发) answers
_WINDOW = compile_regex(r"[0-9一二三四五六七八九十两几]+(?:个)?(?:天|小时|工作日|h)(?:内|之内|以内)")
_POLICY_CITED = compile_regex(r"页面|详情页|详情里|商品页|标题|规则|规定|流程|预售期|都是|统一")
# the reply speaks of this order (您这单已经在打包了, 查了您这单, 已经原路退回了): its window is this order's
_THIS_ORDER = compile_regex(r"您这单|这单|您的订单|你这单|您的包裹|您的快递|您的退款|查了|问了|一定|已经(?:在|原路|退回|打包|出库|发出|揽收|安排|提交)")


@functools.lru_cache(maxsize=1 << 16)
def answers_when(question_norm: str, reply_norm: str) -> bool:
    """Does ``reply_norm`` answer the customer's when-question (到底哪天发?) with a concrete time
    for the action (明天中午前发出, 最晚后天发)? A straight answer settles the impatient question; the
    page's or the rules' time read out (页面写了30天内发货) does not."""
    if _WHEN_ASKED.search(question_norm) is None or _UNSURE.search(reply_norm) is not None:
        return False
    times = [m.group() for m in _TIME.finditer(reply_norm)]
    if not times:
        return False
    return not (all(_WINDOW.match(t) for t in times) and _POLICY_CITED.search(reply_norm) is not None
                and _THIS_ORDER.search(reply_norm) is None)


_PERMITS = compile_regex(r"^\W*(?:(?:亲+|您好|你好|嗯+)\W*)*(?:可以|好的?|行的?|没问题|ok|okay|嗯+|是的|对的|能的)"
                         r"|(?:可以|能)(?:直接|自己|先)?(?:取消|退|换|重新|申请)")
_REFUSES = compile_regex(r"不能|无法|没法|没办法|不可以|不支持|不行|取消不了|退不了")


def permits_decision(classes, answer_norm: str, reply_norm: str, decision_class: str = "own-decision") -> bool:
    """Does the agent's ``reply_norm`` go along with the way out the customer chose themselves
    (那我取消订单重新拍 → 可以取消的; 我自己去网点寄 → 好的)? The customer decided; the agent's
    consent settles it, as granting a request does."""
    if decision_class not in classes.classes or not classes.matches(decision_class, answer_norm):
        return False
    return _PERMITS.search(reply_norm) is not None and _REFUSES.search(reply_norm) is None
