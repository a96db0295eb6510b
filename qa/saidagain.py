"""Whether an agent's reply says an earlier reply of its own again: the same answer sent a second time,
reworded a little (亲，已经帮您登记了… / 已经帮您登记了亲…). Shared by unsoothed-emotion's said-again trigger
(:mod:`qa.checks.reply_class`) and repeated-solution's answer said a third time (:mod:`qa.checks.repeated_offer`)."""

from __future__ import annotations

from collections.abc import Callable

from qa.regexcache import compile_regex


def content_bigrams(text: str) -> frozenset[str]:
    """The bigrams of a text's Han characters and short numbers (punctuation, emoji, Latin letters and
    long numbers such as an order number out: an order number named in two different answers would
    make them alike)."""
    kept = _CONTENT_CHARS.sub("", _LONG_NUMBER.sub("", text))
    return frozenset(kept[i:i + 2] for i in range(len(kept) - 1))


_CONTENT_CHARS = compile_regex(r"[^\p{Han}0-9]+")
_LONG_NUMBER = compile_regex(r"[0-9]{5,}")
OTHER_WAY = compile_regex(r"或者|或是|要不然?|再不然|也可以|还可以|另外")
_FIGURE = compile_regex(r"(?<![0-9])[0-9]{1,4}(?:\.[0-9]+)?(?![0-9])")
# a negated word (不支持, 没有货): said bare in the other answer, the two say opposite things
_NEGATED = compile_regex(r"(?:不|没|无法|未)(\p{Han}{2})")
_NEGATOR_BEFORE = compile_regex(r"(?:不|没|无法|未)$")


def flipped(one: str, other: str) -> bool:
    """Does one answer negate a word the other says bare (不支持七天退换 / 支持七天退换)? 不好意思 or
    退不了 beside an answer that never says 好意 or 了… flips nothing."""
    for text, against in ((one, other), (other, one)):
        for found in _NEGATED.finditer(text):
            word = found.group(1)
            start = against.find(word)
            while start >= 0:
                if not _NEGATOR_BEFORE.search(against[:start]):
                    return True
                start = against.find(word, start + 1)
    return False


def takes_up(earlier: str, later: str, customer: str, stop: frozenset[str]) -> bool:
    """Does the later answer take up a word of the customer's that the earlier one did not have, to fit
    the answer to it (家里白天没人 晚上才在 → …师傅会电话联系您约晚上的时间; 家里没装宽带 用的流量 →
    插上流量卡的话…)? Then the agent answered what the customer told it, not said its answer again.
    Words are jieba's tokens of two or more Han characters outside ``stop`` (一直, 已经, 还是: echoed,
    they fit nothing); a word taken up only to insist (新机器也建议先清洗, 寄配件也需要审核) fits nothing
    either. Asked only of the few answers found said again, so segmenting them costs nothing."""
    from qa.wordseg import cut

    def words(text: str) -> set[str]:
        return {w for w in cut(text) if len(w) >= 2 and w not in stop and _HAN_WORD.fullmatch(w)}

    # the customer's word put in front of the same answer (您出差的话，快递员明天派送…) fits nothing: the later
    # answer must add words of its own too (约…时间, 插上…卡)
    own = set(_HAN_WORD_CHARS.findall(later)) - set(earlier) - set(customer) - _LIGHT_CHARS
    if len(own) < 2:
        return False
    for word in (words(later) & words(customer)) - words(earlier):
        start = later.find(word)
        while start >= 0:
            if not _INSISTING.match(later, start + len(word)):
                return True
            start = later.find(word, start + 1)
    return False


_HAN_WORD = compile_regex(r"\p{Han}+")
_HAN_WORD_CHARS = compile_regex(r"\p{Han}")
# characters that add nothing of the agent's own (的话, 您, 亲, particles)
_LIGHT_CHARS = frozenset("的话您你亲呢哦哈吧啊呀了是就也都还在这那个么嘛哒滴")
# the word said to need the answer all the same (新机器也…, 寄配件同样要…)
_INSISTING = compile_regex(r"\p{Han}{0,2}?(?:也|都|还是|同样|照样|一样)")


class SaidAgain:
    """Whether an agent reply says an earlier one again: ``share`` of the shorter one's content bigrams in
    common (long numbers left out), each with at least ``least``, no second way added (或者…), no other
    figure, neither negating a word the other says bare. ``text_at(position)`` gives a row's normalized
    text, ``code_of(position)`` a code shared by rows of the same text: bigrams are made once per text."""

    def __init__(self, text_at: Callable[[int], str], code_of: Callable[[int], int], least: int, share: float,
                 content: Callable[[str], str] | None = None, reordered: float = 0.0) -> None:
        self.text_at, self.code_of = text_at, code_of
        self.least, self.share = least, share
        # the same words in another order (登记了，会有专员联系您 / 登记了 专员会联系您): with ``reordered`` of the
        # shorter one's characters in the other, a bigram share 0.2 lower is enough
        self.reordered = reordered
        self.content_of = content  # what of a text is compared (repeated-solution: less its soothing)
        self.grams: dict[int, frozenset[str]] = {}
        self.marks: dict[int, tuple[int, frozenset[str]]] = {}

    def _marks(self, position: int) -> tuple[int, frozenset[str]]:
        """How many second ways (或者…) the row at ``position`` offers and the figures it names:
        found once per text (each answer is asked against the one before it and the one after)."""
        code = int(self.code_of(position))
        found = self.marks.get(code)
        if found is None:
            text = self.text_at(position)
            found = self.marks[code] = (len(OTHER_WAY.findall(text)), frozenset(_FIGURE.findall(text)))
        return found

    def content(self, position: int) -> frozenset[str]:
        """The content bigrams of the row at ``position``."""
        code = int(self.code_of(position))
        found = self.grams.get(code)
        if found is None:
            text = self.text_at(position)
            found = self.grams[code] = content_bigrams(self.content_of(text) if self.content_of else text)
        return found

    def __call__(self, first: int, second: int) -> bool:
        """Does the row at ``second`` say the row at ``first`` again?"""
        # a second way offered beside the first (…或者您拍段视频，确认了直接给您发新的) is the recommended
        # answer to a refusal, not the same one again; another figure (退款金额是85元 → 是95元, 3幢 → 5幢) is
        # the answer corrected. Both are cheap, so they are asked before the content is compared.
        (ways_earlier, figures_earlier), (ways_later, figures_later) = self._marks(first), self._marks(second)
        if ways_later > ways_earlier:
            return False
        if figures_earlier != figures_later:
            return False
        one, other = self.content(first), self.content(second)
        if len(one) < self.least or len(other) < self.least:
            return False
        shorter = min(len(one), len(other))
        if len(one & other) < self.share * shorter:
            if not self.reordered or len(one & other) < (self.share - 0.2) * shorter:
                return False
            chars_one, chars_other = {g[0] for g in one} | {g[1] for g in one}, {g[0] for g in other} | {g[1] for g in other}
            if len(chars_one & chars_other) < self.reordered * min(len(chars_one), len(chars_other)):
                return False
        # 不支持 → 支持: a corrected answer, not the same one
        return not flipped(self.text_at(first), self.text_at(second))
