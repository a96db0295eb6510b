"""Negation and condition scope: is a matched phrase negated or hypothetical?

A keyword hit is not a violation when it sits in the scope of a negator (并不是不给您处理,
我不投诉, 不会让您自己看着办) or of a condition (如果有不理解的地方随时问我, 万一过敏了…,
有什么问题随时找我). The rule is one mechanism, not a list of excepted sentences:

* the scope of a negator or condition marker runs from the marker to the end of its clause;
  clauses end at clause punctuation (and at a space between two longer runs of text, as chat
  writers use a space for a comma), or at a contrast word (但是, 不过 …);
* a negator only reaches ``window`` characters ahead (我不知道你们为什么不发货我要投诉 is not a
  negated 投诉), a condition reaches the whole clause;
* double negatives that affirm (不得不, 不能不) are not negators;
* a yes/no question is not a statement (:meth:`Scope.question`): 是不是就没用了, 不给退了吗,
  不会拒绝吧 ask whether something is so — a class may drop matches inside one;
* the consequence of a condition is as hypothetical as the condition (:meth:`Scope.consequence`):
  要是…就不要了, and a match that is itself the condition of what follows (不行就换, 不满意
  的话退) states no fact.

The word lists are rule data (``[negation]`` in ``rules/classes.toml``), so a pack can add a
negator; :func:`qa.classes.default_scope` gives the built-in one (this module reads no files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import regex

from qa.regexcache import compile_regex, longest_first

DEFAULT_SEPARATORS = r"[,.!?;:。、…~]+|(?<=\S\S) (?=\S\S)|但是|可是|不过|然而"
# "Nothing (at all)" closing its own clause: 啥也没有, 什么都没, 一个都没有, 一点都不; also a search that
# found nothing (找了一圈都没有, 问遍了都没有, 影子也没) — not a person (孩子也没 受伤, 我都没有 生气 stress the word)
_NOTHING_THERE = compile_regex(r"(?:啥|什么|一点|一个|一件|一样|哪个|谁|半个|一次)(?:也|都)(?:没有|没|不)$"
                               r"|(?:找|翻|搜|问|查|寻)\p{Han}{0,6}?(?:也|都)(?:没有|没)$"
                               r"|(?:影子|人影|动静|回音|消息|一圈|到处|哪儿|哪里)(?:也|都)(?:没有|没)$")
# A person opening what follows the space (照片都不发 我拿什么核实): a new clause with its own subject, out of
# the reach of the negated verb before the space; a denial (不是 我们的问题) still covers the whole clause.
_NEW_SUBJECT = compile_regex(r"[我你您他她咱]")
_DENIES = compile_regex(r"(?:不是|并非|不是说)$")
# A concession closing its own clause: 不给就不给, 不退就不退 (the same negated verb twice around 就).
_CONCESSION = compile_regex(r"(不\p{Han}{1,2})就\1$")
# The punctuation a pattern's match may open on (RE2 patterns take the clause end before them in).
_OPENING_PUNCTUATION = frozenset(",.!?;:。、…~ ")
# A question is a whole sentence part between punctuation: 是不是就没用了 is one question even
# though 就 ends a negation scope.
_QUESTION_CLAUSE = compile_regex(r"[,.!?;:。、…~]+|(?<=\S\S) (?=\S\S)")
# A-not-A (是不是, 能不能, 行不行, 有没有, 可不可以) or 是否/能否 asks; 能不能别…/是不是该快点
# is an impatient request, not a question (the word after the A-not-A says so).
_A_NOT_A_ONLY = compile_regex(r"(\p{Han})[不没]\1")
# The 不/没 inside a potential complement V不C (找不到, 打不开, 看不懂, 用不了) negates only its
# complement: 找不到那是你自己的事 does not negate what follows. An adverb or a person before 不
# makes it a plain negator (也不到, 我不动, 还不了), and so does a clause start.
# 别 in 别的 / 别人 / 别家 / 别处 (the other) and in 特别, 区别, 分别… is no "don't" either: 别的一律不处理 negates nothing.
_NOT_NEGATING = compile_regex(r"(?<=\p{Han})(?<![也还都就才又并绝可再从而我你您他她们这那亲是要会能别])不(?=[到开懂清见起住出完掉通惯及了动])"
                              r"|别(?=的|人|家|处)|(?<=[特分区告类级性识差个鉴辨派送道离])别"
                              # 岂不是 / 岂不就 asks back to affirm (岂不是白买了 = it was bought in vain)
                              r"|(?<=岂)不")
_A_NOT_A = compile_regex(r"(\p{Han})[不没]\1|是否|能否|可否|有无")
_IMPERATIVE_AFTER = compile_regex(r"别|不要|少|快|赶紧|好好|认真|给我")
# A rhetorical question states its opposite (用得着这么麻烦吗 = it should not be this hard):
# it is not a yes/no question.
_RHETORICAL = compile_regex(r"难道|用得着|用的着|至于|何必|哪有|还用|有必要")
# Sentence-final yes/no particles (not 什么/怎么/这么/多么); trailing 啊/呀/哈/啦 and ? are allowed.
_YES_NO_END = compile_regex(r"(?:吗|(?<![什怎这那多要])么|嘛)[啊呀哈啦哦呢]*\??$")
# 吧 asks only after a presumption: 不会拒绝吧, 应该可以吧 (太差了吧 is an exclamation).
_PRESUMPTION = compile_regex(r"不会|该不会|应该|难道|不是|大概|估计")
_BA_END = compile_regex(r"吧[啊呀哈]*\??$")
# 不是 + a match + 吗 is a rhetorical question that affirms the match (这不是骗人吗, 这不是坑人嘛):
# 不是 negates nothing there, when the question closes within a few characters of the match.
_RHETORICAL_NEGATORS = frozenset({"不是", "这不是", "那不是"})
_RHETORICAL_TAIL = 4
# 这不 / 那不 + a match + 嘛 asks back the same way (这不扯淡嘛, 那不坑人吗): 这不是 with 是 left out.
_BARE_RHETORICAL_BEFORE = ("这", "那", "这可", "那可")


def _bare_rhetorical(before: str, negator: regex.Match) -> bool:
    """Is ``negator`` a bare 不 right after 这/那 (the 这不…嘛 of a rhetorical question)?"""
    return negator.group() == "不" and before[:negator.start()].endswith(_BARE_RHETORICAL_BEFORE)


# How far past a phrase a condition holding it may reach (有什么难以理解的地方，您随时问我: the offer that makes it one).
_CONDITION_TAIL = 16
# A match followed at once by 的话/就/再 is the condition of what follows (不行就退, 不满意的话).
# The condition marker that closes its clause (不用的话, 要是不行的话).
_POSTPOSED = compile_regex(r"的话")
_ANTECEDENT = compile_regex(r"了?(?:的话|就|那就|那我|我就|我再|再|在(?=联系|找|问|说|来))")


# A one-character negator with its own verb, then a subject (再不发我报警了, 别逼我曝光): the negation ends at
# the verb, the subject's clause is the consequence. A preposition or causative before the pronoun makes it
# an object inside the negation (不跟你说, 不让我投诉).
_OWN_VERB_THEN_SUBJECT = compile_regex(r"(?!跟|和|给|对|向|帮|替|让|叫|把|被|为|许|准|要|用|需|必|找|同|与|敢|想|能|会|该)\p{Han}"
                                       r"(?:我|你|您|他|她|咱)")


# the verbs of saying or thinking between a one-character negator and a negated phrase (没说不是, 不觉得不好)
_SAID = compile_regex(r"(?:说|讲|提|说过|讲过|提过|认为|觉得|以为|承认)")


# words that open a clause of their own ("otherwise"; the indignant 凭什么 / 凭啥 of 没穿过凭什么不给退): a negator
# before them does not reach past
_OPENER = compile_regex(r"要不然|不然|否则|凭什么|凭啥")


# A bare refusal (不要, 不用, 不行) and then, after a lone space, a phrase with its own subject (不要 我要全额退款,
# 不用 我自己去取) are two clauses: the stress space (我没有 生气, 并不是 我们不给您退) stands inside one.
_SUBJECT = compile_regex(r"我|你|您|他|她|咱")
_BARE_REFUSAL = compile_regex(r"(?:^|[^\p{Han}])(?:不要|不用|不行|不了|不需要|别)(?:了|啊|呀|哦|吧|啦)?\s$")


def _opens_with_subject(text: str, position: int) -> bool:
    return _SUBJECT.match(text, position) is not None and _BARE_REFUSAL.search(text, 0, position) is not None


@dataclass(frozen=True)
class Scope:
    """Compiled negation/condition settings (see the module docstring)."""

    negators: tuple[str, ...] = ("不是", "并不是", "没有", "不会", "不用", "无需", "不必", "没", "不", "别")
    conditions: tuple[str, ...] = ("如果", "万一", "要是", "假如", "若是", "倘若")
    exceptions: tuple[str, ...] = ("不得不", "不能不", "不会不", "不可能不", "没法不")
    clause_separators: str = DEFAULT_SEPARATORS
    window: int = 6
    # A one-character negator (不, 没, 别) reaches only this far: 没说要投诉, but not
    # 不满意我要投诉.
    short_window: int = 2
    _negator: Any = field(default=None, repr=False, compare=False)
    _condition: Any = field(default=None, repr=False, compare=False)
    _separator: Any = field(default=None, repr=False, compare=False)
    _exception: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        def alternation(items: tuple[str, ...], literal: bool) -> Any:
            kept = longest_first(items)
            if not kept:
                return None
            return compile_regex("|".join(regex.escape(i) if literal else f"(?:{i})" for i in kept))

        object.__setattr__(self, "_negator", alternation(self.negators, literal=True))
        # Conditions are regexes: 有[^,.!?]{0,8}(?:的地方|的话|问题)随时 is a condition too.
        object.__setattr__(self, "_condition", alternation(self.conditions, literal=False))
        object.__setattr__(self, "_exception", alternation(self.exceptions, literal=True))
        object.__setattr__(self, "_separator", compile_regex(self.clause_separators))

    def clause_start(self, text: str, position: int) -> int:
        """Start of the clause holding ``position`` (just after the last separator before it).

        A space separates two runs of text (the chat writer's comma), so its look-ahead may see the
        phrase itself (我没有收到 太生气了: two clauses). A lone space right before the phrase is
        not a clause break: chat writers put a space before the word they stress (我没有 生气,
        不是 质量问题), and the negation stays in force — unless a bare refusal stands before it and
        the phrase opens with its own subject (不要 我要全额退款)."""
        start = 0
        for found in self._separator.finditer(text, 0, min(len(text), position + 2)):
            if found.end() < position or (found.end() == position and (found.group() != " " or _opens_with_subject(text, position))):
                start = found.end()
        return start

    def clause_end(self, text: str, position: int) -> int:
        """End of the clause holding ``position``."""
        found = self._separator.search(text, position)
        return found.start() if found else len(text)

    def negated(self, text: str, start: int, end: int) -> str | None:
        """The negator whose scope holds ``text[start:end]``, or None."""
        if self._negator is None:
            return None
        if _OPENER.match(text, start):
            return None  # 不然我问你干嘛 opens a clause of its own: 没有 before it negates nothing there
        left = max(self.clause_start(text, start), start - self.window - 4)
        if start > 0 and text[start - 1] == " " and self._separator.match(text, start - 1):
            # the lone space right before the phrase keeps a negator standing just before it (我没有
            # 生气, 不是 质量问题); a negator that already has its word (扣不上 我儿子差点摔下来) ends there,
            # and so do "nothing there" (啥也没有 白高兴了, 一个都没 气死) and a concession (不给就不给 凶什么)
            kept = text[:start].rstrip()
            if not any(kept.endswith(n) for n in self.negators) or _NOTHING_THERE.search(kept) \
                    or _CONCESSION.search(kept) or _NEW_SUBJECT.match(text, start) and not _DENIES.search(kept):
                left = start
        before = text[left:start]
        closed = before.rfind("的话")
        if closed >= 0:
            # 的话 closes a condition: a negator inside it (不喜欢的话请你自己看着办) does not reach
            # what is said after it
            before = before[closed + 2:]
        if self._exception is not None:
            before = self._exception.sub(lambda m: "#" * len(m.group()), before)
        # The 不/没 of an A-not-A question (能不能, 有没有, 会不会) asks; it negates nothing after it.
        before = _A_NOT_A_ONLY.sub(lambda m: "#" * len(m.group()), before)
        before = _NOT_NEGATING.sub("#", before)
        last = None
        for found in self._negator.finditer(before, overlapped=True):
            # The nearest negator wins; at one position the longest (没有 over 没).
            if last is None or found.end() > last.end() or (found.end() == last.end() and len(found.group()) > len(last.group())):
                last = found
        if last is None:
            return None
        reach = self.window if len(last.group()) > 1 else self.short_window
        if len(before) - last.end() > reach:
            return None
        if len(last.group()) == 1 and _OWN_VERB_THEN_SUBJECT.match(before, last.end()):
            return None  # 再不发我报警了: 不 has its verb (发); 我 opens what follows, the consequence
        if len(last.group()) == 1 and len(before) > last.end() and self._negator.match(text, start) \
                and not _SAID.fullmatch(before, last.end()):
            # 没卡好不是我们的问题, 没装好不是质量问题: 没 has its verb (卡好), the phrase its own negator; two
            # negations in a row (没说不是…) only after a verb of saying
            return None
        if (last.group() in _RHETORICAL_NEGATORS or _bare_rhetorical(before, last)) and self._rhetorical_end(text, end):
            return None
        return last.group()

    @staticmethod
    def _rhetorical_end(text: str, end: int) -> bool:
        """Does the sentence part after ``end`` close as a yes/no question (…吗, …嘛)?
        不是…吗 asks back and affirms: 这不是骗人吗 says it is cheating."""
        stop = _QUESTION_CLAUSE.search(text, end)
        part = text[end:stop.start() if stop else len(text)].rstrip(" ")
        return len(part) <= _RHETORICAL_TAIL and _YES_NO_END.search(part) is not None

    def conditional(self, text: str, start: int, end: int) -> str | None:
        """The condition marker whose scope holds ``text[start:end]``, or None."""
        if self._condition is None:
            return None
        left = self.clause_start(text, start)
        found = self._condition.search(text, left, start)
        if found:
            return found.group()
        # a condition that holds the phrase itself (有什么难以理解的地方，您随时问我: the listed 有什么难以理解的
        # is the condition's own 有…的地方)
        for found in self._condition.finditer(text, left, min(len(text), end + _CONDITION_TAIL)):
            if found.start() > start:
                break
            if found.end() >= end:
                return found.group()
        # 的话 is a postposed marker: 不使用的话 / 是翻新机的话 make their whole clause a condition
        after = _POSTPOSED.search(text, end, self.clause_end(text, end))
        return after.group() if after else None

    def question(self, text: str, start: int, end: int) -> str | None:
        """The marker making ``text[start:end]`` part of a yes/no question, or None.

        The question runs over the sentence part between punctuation holding the match: an
        A-not-A form (是不是, 能不能, 行不行) starting before the match's end, a sentence-final
        吗/么/嘛, or 吧 after a presumption (不会…吧). A wh-question (什么态度?, 凭什么) is not
        a yes/no question and is not matched here."""
        left, right = 0, len(text)
        for found in _QUESTION_CLAUSE.finditer(text):
            if found.end() <= start:
                left = found.end()
            elif found.start() >= end:
                right = found.start()
                break
        clause = text[left:right].rstrip(" ")
        rel_start, rel_end = start - left, end - left
        for found in _A_NOT_A.finditer(clause, 0, rel_start + 2, overlapped=True):
            # before the match or overlapping its start (行不行 holds 不行), not inside it
            if found.start() < rel_start and not _IMPERATIVE_AFTER.match(clause, found.end()):
                return found.group()
        if _RHETORICAL.search(clause, 0, rel_start):
            return None
        particle = _YES_NO_END.search(clause, rel_end)
        if particle:
            return particle.group()
        ba = _BA_END.search(clause, rel_end)
        if ba and _PRESUMPTION.search(clause, 0, rel_start):
            return ba.group()
        return None

    def consequence(self, text: str, start: int, end: int) -> str | None:
        """The condition that makes ``text[start:end]`` hypothetical though not inside its
        clause, or None: the match is the condition of what follows (不行就…, 不满意的话…), or
        it sits in the clause right after 就/那就 whose preceding clause holds a condition
        marker (要是…就不要了)."""
        after = _ANTECEDENT.match(text, end)
        if after:
            return after.group()
        if self._condition is None:
            return None
        left = self.clause_start(text, start)
        opener = text[max(0, left - 2):left]
        if not opener.endswith("就"):
            return None
        before = self.clause_start(text, max(0, left - 1))
        found = self._condition.search(text, before, left)
        if found is None:
            # 你要不…就 / 不…就 are conditions too when they open the clause before 就
            found = compile_regex(r"要不(?!是|然|要)|不然").search(text, before, left)
        return found.group() if found else None

    def in_scope(self, text: str, start: int, end: int, negation: bool = True, condition: bool = True) -> str | None:
        """``"negation"`` / ``"condition"`` when ``text[start:end]`` is inside such a scope, else None."""
        # a match opening on the punctuation before its clause (RE2 patterns cannot look behind:
        # ",等着吧." after 系统上没显示) starts with its clause: the negator before the comma is another's
        while start < end - 1 and text[start] in _OPENING_PUNCTUATION:
            start += 1
        if negation and self.negated(text, start, end):
            return "negation"
        if condition and self.conditional(text, start, end):
            return "condition"
        return None


def scope_from_table(table: dict[str, Any] | None) -> Scope:
    """A :class:`Scope` from a ``[negation]`` table (missing keys keep the defaults)."""
    table = table or {}
    kwargs: dict[str, Any] = {}
    for key in ("negators", "conditions", "exceptions"):
        if key in table:
            kwargs[key] = tuple(table[key])
    if "clause_separators" in table:
        kwargs["clause_separators"] = table["clause_separators"]
    for key in ("window", "short_window"):
        if key in table:
            kwargs[key] = int(table[key])
    return Scope(**kwargs)

