"""Required literals of a regex, and an Aho-Corasick screen built from them.

A long alternation (a class category of 140 or 280 patterns) is screened branch by branch
before it runs (:meth:`qa.classes.ClassSet._screened`): running each branch's ``regex`` search
on a text costs microseconds, times hundreds of branches per text. Most branches hold words
that every one of their matches contains (``(?:您|你)(?:没|没有)(?:看到|看见)`` cannot match
without one of 您没看, 你没有看, …): one Aho-Corasick pass over the text (C speed) names the few
branches whose words occur, and only those, plus the branches without such words, are searched.
A branch whose words are absent matches nowhere in the text, so the branches found are the same.

:func:`required_literals` reads a pattern with the standard library's parser
(``re._parser``), which knows the ``regex`` module's common syntax; whatever it does not parse
the same way (``\\p{…}`` becomes a non-literal, fuzzy ``{e<=1}``, nested sets, case-insensitive
flags, unknown escapes) gives no literals, so such a branch is always searched: never wrong,
only not faster.
"""

from __future__ import annotations

import re._constants as _sre
import re._parser as _parser
from collections.abc import Sequence
from itertools import product

import ahocorasick

from qa.diskmemo import disk_memo
from qa.regexcache import compile_regex
from qa.regexutil import pattern_tokens, strip_lookarounds

# At most this many strings in a set of alternatives a node or a run of nodes can match: past it
# a run is cut (a set of thousands of words would only make the automaton big).
_MAX_STRINGS = 256
# A counted repetition {m,} of a short set contributes at most this many copies to the words.
_MAX_COPIES = 3
# \p{Han} and the like: a character the standard parser does not know; \W stands for one.
_PROPERTY = compile_regex(r"(?<!\\)((?:\\\\)*)\\[pP](?:\{[^}]*\}|[A-Za-z])")
# A brace that is not a counted repetition (a fuzzy constraint {e<=1}, an unexpanded macro): the
# standard parser would read it as literal characters.
_ODD_BRACE = compile_regex(r"(?<!\\)(?:\\\\)*\{(?!\d+(?:,\d*)?\}|,\d+\})")
_CASE_FLAGS = _sre.SRE_FLAG_IGNORECASE | _sre.SRE_FLAG_VERBOSE | _sre.SRE_FLAG_LOCALE
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (_sre.AT,)


class _NoLiterals(Exception):
    """The pattern uses something whose literals cannot be trusted."""


@disk_memo
def required_literals(pattern: str) -> frozenset[str] | None:
    """Words one of which every match of ``pattern`` (``regex`` module syntax, case-sensitive)
    contains, or None when there are none that can be relied on. Kept between runs: parsing the
    ~1,400 class patterns costs a tenth of a second."""
    text = _PROPERTY.sub(lambda m: m.group(1) + "\\W", strip_lookarounds(pattern))
    if _ODD_BRACE.search(text) or _nested_set(text):
        return None
    try:
        tree = _parser.parse(text)
    except Exception:  # noqa: BLE001 - any syntax the standard parser rejects: no literals
        return None
    if tree.state.flags & _CASE_FLAGS:
        return None
    try:
        _, best = _sequence(list(tree))
    except _NoLiterals:
        return None
    if best is None or "" in best:
        return None
    return best


def _nested_set(pattern: str) -> bool:
    """Does ``pattern`` hold a ``[`` inside a set (a POSIX class [[:alpha:]] or a nested set,
    which the standard parser reads as plain characters)?"""
    inside = False
    for _, token, in_class in pattern_tokens(pattern):
        if token == "[" and in_class and inside:
            return True
        inside = in_class
    return False


def _better(one: frozenset[str] | None, other: frozenset[str] | None) -> frozenset[str] | None:
    """The more selective of two required sets: longer shortest word, then fewer words."""
    if one is None or "" in one:
        return other if other is not None and "" not in other else None
    if other is None or "" in other:
        return one
    return other if (min(map(len, other)), -len(other)) > (min(map(len, one)), -len(one)) else one


def _concat(left: frozenset[str], right: frozenset[str]) -> frozenset[str] | None:
    if len(left) * len(right) > _MAX_STRINGS:
        return None
    return frozenset(a + b for a, b in product(left, right))


def _sequence(items: Sequence) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(``exact``, ``required``) of a sequence of parsed nodes: every string the sequence can
    match (None: unknown or too many), and the best required set found in it."""
    best: frozenset[str] | None = None
    run: frozenset[str] | None = frozenset([""])  # what the nodes since the last cut can match
    exact: frozenset[str] | None = frozenset([""])
    for op, av in items:
        node_exact, node_required = _node(op, av)
        best = _better(best, node_required)
        if exact is not None:
            exact = _concat(exact, node_exact) if node_exact is not None else None
        if node_exact is None:
            best = _better(best, run)
            run = frozenset([""])
            continue
        joined = _concat(run, node_exact)
        if joined is None:  # too many: cut the run here
            best = _better(best, run)
            joined = node_exact
        run = joined
    return exact, _better(best, run)


def _node(op, av) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(``exact``, ``required``) of one parsed node."""
    if op is _sre.LITERAL:
        return frozenset([chr(av)]), None
    if op is _sre.IN:
        chars = set()
        for item_op, item in av:
            if item_op is not _sre.LITERAL:
                return None, None
            chars.add(chr(item))
        return (frozenset(chars), None) if len(chars) <= _MAX_STRINGS else (None, None)
    if op is _sre.SUBPATTERN:
        _group, add_flags, _del_flags, body = av
        if add_flags & _CASE_FLAGS:
            raise _NoLiterals
        return _sequence(list(body))
    if op is _sre.ATOMIC_GROUP:
        return _sequence(list(av))
    if op in _REPEATS:
        low, high, body = av
        exact, required = _sequence(list(body))
        if low == 0:
            return (exact | {""} if exact is not None and high == 1 else None), None
        if exact is None:
            return None, required
        repeated = exact
        for _ in range(min(low, _MAX_COPIES) - 1):
            repeated = _concat(repeated, exact)
            if repeated is None:
                return None, _better(required, exact)
        return (repeated if low == high and low <= _MAX_COPIES else None), _better(required, repeated)
    if op is _sre.BRANCH:
        _, alternatives = av
        exacts: set[str] | None = set()
        required: set[str] | None = set()
        for alternative in alternatives:
            alt_exact, alt_required = _sequence(list(alternative))
            if exacts is not None:
                exacts = exacts | alt_exact if alt_exact is not None and len(exacts) + len(alt_exact) <= _MAX_STRINGS else None
            alt_best = _better(alt_required, alt_exact)
            required = required | alt_best if required is not None and alt_best is not None else None
        return (frozenset(exacts) if exacts is not None else None), (frozenset(required) if required else None)
    if op in _ZERO_WIDTH:
        return frozenset([""]), None
    return None, None  # any character, a category, a back-reference, …: no literal


class LiteralScreen:
    """Which of a list of patterns may occur in a text, from their required literals: one
    Aho-Corasick pass instead of a search per pattern. Patterns without literals always may."""

    def __init__(self, sources: Sequence[str]) -> None:
        self._sources = tuple(sources)
        words: dict[str, list[int]] = {}
        always: list[int] = []
        for index, source in enumerate(sources):
            found = required_literals(source)
            if found is None:
                always.append(index)
                continue
            for word in found:
                words.setdefault(word, []).append(index)
        self.always = frozenset(always)
        self.size = len(sources)
        self._automaton = None
        if words:
            automaton = ahocorasick.Automaton()
            for word, indexes in words.items():
                automaton.add_word(word, tuple(indexes))
            automaton.make_automaton()
            self._automaton = automaton

    def __reduce__(self):
        # rebuilt from its patterns where it is unpickled (a Spark or Dask worker): the automaton's own
        # pickle is large and not the same from one run to the next
        return (LiteralScreen, (self._sources,))

    def __dask_tokenize__(self) -> tuple:
        """What the screen is made of: Dask names tasks by a deterministic token of their inputs."""
        return ("LiteralScreen", self._sources)

    @property
    def useful(self) -> bool:
        """Does it ever rule a pattern out?"""
        return self._automaton is not None

    def worded(self, text: str) -> set[int]:
        """The positions of the patterns with words whose words occur in ``text``."""
        found: set[int] = set()
        if self._automaton is not None:
            for _, indexes in self._automaton.iter(text):
                found.update(indexes)
        return found

    def possible(self, text: str) -> list[int]:
        """The positions of the patterns that may occur in ``text``, in order."""
        return sorted(self.worded(text).union(self.always))
