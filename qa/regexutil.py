"""Regex helpers shared by the rule classes and the check types: turning a rule's pattern
(``regex`` module syntax) into an RE2 pre-filter that pyarrow can run over a whole column.

A pre-filter only has to match a superset of what the pattern matches; the exact pattern then
runs on the rows it keeps. Low level on purpose: the checks and :mod:`qa.classes` both import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex

from qa.diskmemo import disk_memo
from qa.errors import RuleError
from qa.regexcache import compile_regex

# Escapes whose RE2 meaning (ASCII only) differs from the regex module's (Unicode).
_ASCII_ONLY_IN_RE2 = compile_regex(r"(?<!\\)(?:\\\\)*\\[wWdDsSbB]")
# A counted repetition {m}, {m,} or {m,n} (optionally lazy), not preceded by a backslash.
_COUNTED = compile_regex(r"(?<!\\)((?:\\\\)*)\{(\d+)(?:,(\d*))?\}\??")
_LOOKAROUND_START = compile_regex(r"\(\?<?[=!]")


def join_alternatives(patterns: Iterable[str]) -> str:
    """``(?:p1)|(?:p2)|…``: one pattern matching wherever any of ``patterns`` matches.

    Each pattern's numbered back-references keep pointing at its own groups: joined, ``\\1``
    would name the first group of the whole alternation, so in ``(a)x|(\\p{Han})不\\1`` the A-not-A
    test of the second pattern would silently never match. They are renumbered by the number of
    groups before them (counted only when some pattern has a back-reference)."""
    items = list(patterns)
    if not any(_BACKREF.search(item) for item in items):
        return "|".join(f"(?:{item})" for item in items)
    parts: list[str] = []
    offset = 0
    for item in items:
        parts.append(f"(?:{_shift_backreferences(item, offset) if offset else item})")
        offset += _group_count(item)
    return "|".join(parts)


@disk_memo
def _group_count(pattern: str) -> int:
    """How many capturing groups ``pattern`` has (kept between runs: the classes' lists with a
    back-reference are joined at every load, and walking each pattern in Python cost a tenth of
    loading the classes)."""
    return len(_group_bodies(pattern))


def _shift_backreferences(pattern: str, offset: int) -> str:
    return _replace_backreferences(pattern, lambda number: f"\\g<{number + offset}>")


def _replace_backreferences(pattern: str, replacement: Callable[[int], str | None]) -> str:
    """``pattern`` with each numbered back-reference outside a character class replaced by
    ``replacement(number)`` (None keeps it as written)."""
    if not _BACKREF.search(pattern):
        return pattern
    out: list[str] = []
    skip_to = 0  # the second digit of a two-digit back-reference, already replaced
    for i, token, in_class in pattern_tokens(pattern):
        if i < skip_to:
            continue
        found = _BACKREF.match(pattern, i) if token.startswith("\\") and not in_class else None
        replaced = replacement(int(found.group(1))) if found else None
        if replaced is not None:
            out.append(replaced)
            skip_to = found.end()
            continue
        out.append(token)
    return "".join(out)


def compile_any(patterns: Iterable[str], what: str) -> regex.Pattern | None:
    """One pattern matching wherever any of ``patterns`` matches (each kept in its own group, in
    the order given), ``None`` for no patterns; a rule-file error naming ``what`` if one does not
    compile, so every check type reports a bad list the same way."""
    items = list(patterns)
    if not items:
        return None
    try:
        return compile_regex(join_alternatives(items))
    except regex.error as error:
        raise RuleError(f"{what}: {error}") from None


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` does not compile (the regex module's message), or ``None`` if it does:
    for validators that collect every problem of a rule file before reporting."""
    try:
        compile_regex(pattern)
    except regex.error as error:
        return str(error)
    return None


def relax_counts(pattern: str) -> str:
    """``pattern`` with every counted repetition widened to ``*`` (min 0) or ``+`` (min >= 1).

    The result matches a superset of what ``pattern`` matches, so it is a valid pre-filter;
    RE2 compiles bounded repetitions into many states and runs far slower on them.
    """
    return _COUNTED.sub(lambda m: m.group(1) + ("*" if int(m.group(2)) == 0 else "+"), pattern)


@disk_memo
def re2_valid(pattern: str, allow_ascii: bool = False) -> bool:
    """Does RE2 (pyarrow) compile ``pattern``? Unless ``allow_ascii``, a pattern using an escape
    that is ASCII-only in RE2 (\\w \\s \\d \\b …) does not count: RE2 would miss Unicode matches.

    Kept between runs (:func:`qa.diskmemo.disk_memo`): loading the rules asks it of every rule's
    whole pattern list joined, and pyarrow compiles the pattern to answer (a tenth of loading them)."""
    if not allow_ascii and _ASCII_ONLY_IN_RE2.search(pattern):
        return False
    try:
        pc.match_substring_regex(pa.array([""], type=pa.string()), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def strip_lookarounds(pattern: str) -> str:
    """Remove look-around groups: the result matches wherever ``pattern`` does (a superset), and
    RE2 (pyarrow) can run it."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        found = _LOOKAROUND_START.match(pattern, i)
        if not found:
            out.append(pattern[i])
            i += 1
            continue
        depth, j, in_class = 1, found.end(), False
        while j < len(pattern) and depth:
            ch = pattern[j]
            if ch == "\\":
                j += 2
                continue
            if in_class:
                in_class = ch != "]"
            elif ch == "[":
                in_class = True
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            j += 1
        i = j
    return "".join(out)


# A numbered back-reference \1 … \99 (outside a character class, where \1 is an octal escape).
_BACKREF = compile_regex(r"\\([1-9][0-9]?)")
# What makes a group's text depend on where it stands (anchors, word boundaries, look-arounds):
# a copy of such a group elsewhere could miss what the back-reference matches there.
_POSITIONAL = compile_regex(r"(?<!\\)(?:\\\\)*(?:\\[AZzbBG]|[$^]|\(\?<?[=!])")


def pattern_tokens(pattern: str) -> Iterator[tuple[int, str, bool]]:
    """The tokens of a regular expression as ``(position, token, in_class)``: an escape (two
    characters) or one character, and whether it stands inside a character class ``[…]``.
    The opening bracket counts as inside and the closing one as outside, so a token inside
    after one outside opens a class; ``[]…]`` and ``[^]…]`` start with a literal ``]``.
    The walk every pattern rewriter here needs, so escapes and classes are read one way."""
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            yield i, pattern[i : i + 2], in_class
            i += 2
            continue
        if in_class:
            if ch == "]" and not (pattern[i - 1] == "[" or pattern[i - 2 : i] == "[^"):
                yield i, ch, False
                in_class = False
                i += 1
                continue
        elif ch == "[":
            in_class = True
        yield i, ch, in_class
        i += 1


def _group_bodies(pattern: str) -> list[str]:
    """The bodies of the capturing groups of ``pattern`` in number order (plain ``(…)`` and
    named ``(?P<n>…)`` / ``(?<n>…)`` groups), character classes and escapes skipped."""
    opened: list[tuple[int, int | None]] = []  # (body start, group number or None)
    bodies: dict[int, str] = {}
    number = 0
    for i, token, in_class in pattern_tokens(pattern):
        if in_class or len(token) > 1:
            continue
        if token == "(":
            named = regex.match(r"\(\?P?<(?![=!])[^>]*>", pattern[i:])
            if named:  # the name's characters that follow hold no parenthesis
                number += 1
                opened.append((i + named.end(), number))
            elif pattern[i + 1 : i + 2] != "?":
                number += 1
                opened.append((i + 1, number))
            else:
                opened.append((i + 1, None))
        elif token == ")" and opened:
            start, group = opened.pop()
            if group is not None:
                bodies[group] = pattern[start:i]
    return [bodies.get(n, "") for n in range(1, number + 1)]


def expand_backreferences(pattern: str) -> str:
    """``pattern`` with each numbered back-reference (\\1) replaced by a copy of its group's
    pattern (RE2 has no back-references): the copy matches whatever the group matched, so the
    result matches a superset of ``pattern`` and is a valid pre-filter. A group whose text
    depends on its position (an anchor, a word boundary, a look-around) becomes ``.*``."""
    if not _BACKREF.search(pattern):
        return pattern
    bodies = _group_bodies(pattern)

    def copy_of_group(number: int) -> str | None:
        if number > len(bodies):
            return None
        body = bodies[number - 1]
        # a copy without capturing groups, so later numbers keep their meaning
        plain = regex.sub(r"(?<!\\)((?:\\\\)*)\((?!\?)", r"\1(?:", body)
        return "(?s:.*)" if _POSITIONAL.search(body) or _BACKREF.search(body) else f"(?:{plain})"

    return _replace_backreferences(pattern, copy_of_group)


#: RE2 runs an alternation as one lazily built DFA. With many gapped patterns (a relaxed
#: ``{0,6}`` is ``*``) the states multiply past its memory budget and it falls back to a far
#: slower NFA: measured over 48 000 real messages, the forbidden-phrase patterns as one
#: alternation took 40 s, the same patterns in ~800-character pieces 0.6 s (rhetorical-question:
#: 21 s against 0.5 s). Longer pieces save little; shorter ones add a pass each.
PREFILTER_PIECE_CHARS = 800


def prefilter_pieces(patterns: Iterable[str], limit: int = PREFILTER_PIECE_CHARS) -> tuple[str, ...]:
    """RE2-ready ``patterns`` as alternations of about ``limit`` characters each (a longer
    pattern is a piece of its own), in order; a text matches one of the pieces exactly when it
    matches the alternation of all the patterns."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for pattern in patterns:
        item = f"(?:{pattern})"
        if current and size + len(item) + 1 > limit:
            pieces.append("|".join(current))
            current, size = [], 0
        current.append(item)
        size += len(item) + 1
    if current:
        pieces.append("|".join(current))
    return tuple(pieces)


#: Up to this many distinct texts a screen (a superset of the matches, checked exactly after) is not
#: worth running: pyarrow compiles every RE2 piece on every call, which costs more than checking a few
#: dozen texts exactly (a small audit, a rule's test cases).
FEW_TEXTS_TO_SCREEN = 64


def valid_mask(array: pa.Array):
    """Boolean numpy mask of the non-null texts of ``array`` (every one a candidate)."""
    return np.asarray(pc.is_valid(array).to_numpy(zero_copy_only=False), dtype=bool)


def match_pieces(array: pa.Array, pieces: Iterable[str]):
    """Boolean numpy mask: where any piece of :func:`prefilter_pieces` matches (nulls: False)."""
    hits = np.zeros(len(array), dtype=bool)
    for piece in pieces:
        found = pc.fill_null(pc.match_substring_regex(array, piece), False)
        hits |= np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return hits
