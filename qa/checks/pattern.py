"""Check type ``pattern``: messages matching one of a list of regular expressions.

Patterns use the syntax of the ``regex`` module and are matched on the ``norm`` column
(NFKC, lower case, traditional -> simplified, whitespace collapsed to one space), so one
pattern covers 難道你沒看到嗎 and 难道你没看到吗, full-width ？ and ?. The reported match and
span are mapped back to the original text.

How it stays fast on a million messages:

1. a vectorised pre-filter picks the candidate messages of the checked ``roles``: the
   ``prefilter`` regexes when the rule gives them, otherwise the patterns themselves when
   they are all valid RE2 (run by pyarrow over the whole column, no Python loop). Counted
   repetitions (``{0,20}``) are relaxed to ``*``/``+`` in that automatic pre-filter: it
   still matches every message a pattern matches, and RE2 runs it ten times faster;
   the alternation runs in pieces of ~800 characters (one big one overflows RE2's DFA and
   falls back to a slow NFA: 40x slower on the rule lists of this project);
2. the Python loop only sees those candidates, and each distinct text once: one combined
   ``regex`` search; for a message it matches, the exclusions, then anchored attempts that
   widen the match over overlapping ones; each pattern on its own only when exclusions
   removed every combined match.

When neither pre-filter is possible (a pattern uses look-arounds and no ``prefilter`` is
given) every message of the checked roles is searched with ``regex``: correct, but slow on
large inputs. NOTE: RE2's ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII-only, so patterns
using them are never used as their own pre-filter.

Parameters (rule ``[params]``):

``patterns`` (strings, required; or ``patterns_file``)
    Regexes; a message matching any of them is flagged (once, at its earliest match).
``exclude`` (strings; or ``exclude_file``)
    Regexes for good wording that looks like a pattern (请问您怎么还没收到呢): a match is
    dropped when an exclusion matches within ``exclude_scope``.
``exclude_scope`` (str: ``overlap`` | ``clause`` | ``message``, default ``overlap``)
    ``overlap``: the exclusion's span overlaps the match; ``clause``: it overlaps one of the
    clauses (text between ``clause_delimiters``) the match touches; ``message``: anywhere.
``prefilter`` (strings; or ``prefilter_file``)
    RE2 regexes (pyarrow) that every flagged message matches; cheap keywords such as
    ``难道|凭什么|几遍``. Leave empty to use the patterns themselves when they are RE2-valid.
``macros`` (strings)
    ``name = regex`` lines; ``{{name}}`` in patterns, exclusions and pre-filters is replaced
    by ``(?:regex)``. A macro may use earlier macros.
``clause_delimiters`` (str, default ``[,.?!;:。、~ ]``)
    A regex character class of the characters that end a clause in ``norm`` text.
``roles`` (strings, default ``["agent"]``)
    Whose messages are checked; customers' rhetorical questions are never findings.
``negation`` / ``condition`` (bool, default false)
    Drop a match in the scope of a negation (不是, 并不是, 没有, 不会) or of a condition
    (如果, 万一, 有…的地方随时) within its clause, as decided by :mod:`qa.negation`.

``model`` (strings; or ``model_file``) and ``model_min_han`` (int, default 10)
    A trained text model (:mod:`qa.questionmodel`; ``benchmarks/train_question_model.py``
    writes it) that looks again at the checked messages no pattern flagged: a message of at
    least ``model_min_han`` Han characters that asks something (a clause ending in ? or 吗/嘛)
    and that the model puts in the class is flagged at its last question, unless an exclusion
    overlaps that clause. Patterns know the forms seen; the model recognises the same reproach in words
    no pattern lists. Short clarifying questions (是这个吗?) stay below ``model_min_han``.

Message fields: ``{match}`` (the matched fragment of the original text).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import compress

import pandas as pd
import pyarrow as pa
import regex

from qa.checks.base import CheckContext, findings_frame, render, role_mask
from qa.classes import in_scope
from qa.diskmemo import disk_kept
from qa.errors import RuleError
from qa.normalize import normalize_column, original_span
from qa.regexcache import compile_regex
from qa.regexutil import FEW_TEXTS_TO_SCREEN, join_alternatives, match_pieces, prefilter_pieces, re2_valid, relax_counts

_MACRO_REF = compile_regex(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
_MACRO_DEF = compile_regex(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$")


def expand_macros(patterns: list[str], macros: list[str]) -> list[str]:
    """Replace ``{{name}}`` by ``(?:definition)``; unknown names raise :class:`RuleError`."""
    table: dict[str, str] = {}
    for line in macros:
        found = _MACRO_DEF.match(line)
        if not found:
            raise RuleError(f"macro must look like 'name = regex', got {line!r}")
        table[found.group(1)] = _substitute(found.group(2), table)
    return [_substitute(p, table) for p in patterns]


def _substitute(pattern: str, table: dict[str, str]) -> str:
    def replace(found: regex.Match) -> str:
        name = found.group(1)
        if name not in table:
            raise RuleError(f"unknown macro {{{{{name}}}}} in {pattern!r}")
        return f"(?:{table[name]})"

    return _MACRO_REF.sub(replace, pattern)


def _compile(pattern: str, what: str) -> regex.Pattern:
    try:
        return compile_regex(pattern)
    except regex.error as error:
        raise RuleError(f"{what}: regex does not compile: {pattern!r}: {error}") from None


@dataclass(frozen=True)
class Matcher:
    """Compiled form of one rule's patterns, exclusions and pre-filter."""

    sources: tuple[str, ...]  # the expanded patterns; compiled one by one only when needed
    combined: regex.Pattern
    exclude: regex.Pattern | None
    exclude_scope: str
    delimiters: regex.Pattern
    prefilter: str | None  # one RE2 alternation, or None: search every message
    negation: bool = False
    condition: bool = False
    # the prefilter cut into pieces RE2 runs as a DFA (qa.regexutil.prefilter_pieces)
    prefilter_parts: tuple[str, ...] = ()

    @cached_property
    def patterns(self) -> tuple[regex.Pattern, ...]:
        """Each pattern on its own, for the rare scan past excluded matches: compiled on first
        use, since compiling them all again costs a small audit as much as the combined one."""
        return tuple(_compile(p, "patterns") for p in self.sources)

    def find(self, text: str, pos: int = 0) -> tuple[int, int] | None:
        """(start, end) in ``text`` of the first non-excluded match at or after ``pos``, widened to
        take in the other kept matches overlapping it (我不是跟您说过 + 不是跟您说过了吗 -> one span)."""
        first = self.combined.search(text, pos)
        if first is None:
            return None
        excluded: list[tuple[int, int]] = []
        if self.exclude is not None:
            excluded = [m.span() for m in self.exclude.finditer(text, overlapped=True)]
            if excluded and self.exclude_scope == "message":
                return None
        # The combined regex, scanned from the first match, finds a match at every start
        # position; only when all of them are excluded is each pattern tried on its own
        # (another alternative may match at an excluded position).
        span = self._scan(text, [self.combined], excluded, first.start())
        if span is None and (excluded or self._scoped):
            span = self._scan(text, self.patterns, excluded, first.start())
        return span

    @property
    def _scoped(self) -> bool:
        return self.negation or self.condition

    def _scan(
        self, text: str, patterns, excluded: list[tuple[int, int]], position: int
    ) -> tuple[int, int] | None:
        """Earliest kept match at or after ``position``, widened by the kept matches that
        start inside it (tried anchored at each position, not by scanning the rest)."""
        first: tuple[int, int] | None = None
        for pattern in patterns:
            for found in pattern.finditer(text, pos=position, overlapped=True):
                span = found.span()
                if first is not None and span[0] >= first[0]:
                    break
                if not ((excluded or self._scoped) and self._is_excluded(text, span, excluded)):
                    first = span
                    break
        if first is None:
            return None
        start, end = first
        at = start + 1
        while at < end:
            for pattern in patterns:
                found = pattern.match(text, at)
                if found is not None and not (
                    (excluded or self._scoped) and self._is_excluded(text, found.span(), excluded)
                ):
                    end = max(end, found.end())
            at += 1
        return start, end

    def _is_excluded(self, text: str, span: tuple[int, int], excluded: list[tuple[int, int]]) -> bool:
        start, end = span
        if (self.negation or self.condition) and in_scope(
            text, start, end, negation=self.negation, condition=self.condition
        ):
            return True
        if self.exclude_scope == "clause":
            start, end = self._clause_bounds(text, start, end)
        return any(e_start < end and start < e_end for e_start, e_end in excluded)

    def _clause_bounds(self, text: str, start: int, end: int) -> tuple[int, int]:
        left = start
        while left > 0 and not self.delimiters.fullmatch(text[left - 1]):
            left -= 1
        right = end
        while right < len(text) and not self.delimiters.fullmatch(text[right]):
            right += 1
        return left, right


@lru_cache(maxsize=64)
def build_matcher(
    patterns: tuple[str, ...],
    exclude: tuple[str, ...] = (),
    exclude_scope: str = "overlap",
    prefilter: tuple[str, ...] = (),
    macros: tuple[str, ...] = (),
    clause_delimiters: str = "[,.?!;:。、~ ]",
    negation: bool = False,
    condition: bool = False,
) -> Matcher:
    """Expand macros, compile and choose the pre-filter (cached per parameter set)."""
    expanded = expand_macros(list(patterns), list(macros))
    excluded = expand_macros(list(exclude), list(macros))
    filters = expand_macros(list(prefilter), list(macros))
    try:
        combined = compile_regex(join_alternatives(expanded))
    except regex.error as error:
        for pattern in expanded:  # name the pattern that does not compile
            _compile(pattern, "patterns")
        raise RuleError(f"patterns: regex does not compile together: {error}") from None
    exclusion = _compile(join_alternatives(excluded), "exclude") if excluded else None
    if filters:
        joined = "|".join(f"(?:{p})" for p in filters)
        if not re2_valid(joined):
            raise RuleError(f"prefilter: not a valid RE2 regex (does not compile in pyarrow): {joined!r}")
        chosen: str | None = joined
        parts = prefilter_pieces(filters)
    else:
        joined = relax_counts("|".join(f"(?:{p})" for p in expanded))
        chosen = joined if re2_valid(joined) else None
        parts = prefilter_pieces(relax_counts(p) for p in expanded) if chosen else ()
    return Matcher(
        sources=tuple(expanded),
        combined=combined,
        exclude=exclusion,
        exclude_scope=exclude_scope,
        delimiters=_compile(clause_delimiters, "clause_delimiters"),
        prefilter=chosen,
        prefilter_parts=parts,
        negation=negation,
        condition=condition,
    )


def matcher_for(params: dict) -> Matcher:
    """The compiled matcher for a rule's validated parameters."""
    return build_matcher(
        tuple(params["patterns"]),
        tuple(params.get("exclude") or ()),
        params.get("exclude_scope") or "overlap",
        tuple(params.get("prefilter") or ()),
        tuple(params.get("macros") or ()),
        params.get("clause_delimiters") or "[,.?!;:。、~ ]",
        bool(params.get("negation")),
        bool(params.get("condition")),
    )


def candidate_mask(norm: pd.Series, matcher: Matcher) -> pd.Series:
    """Vectorised pre-filter: True where a message may match (all True without a filter)."""
    if matcher.prefilter is None or norm.empty:
        return pd.Series(True, index=norm.index)
    if len(norm) <= FEW_TEXTS_TO_SCREEN:  # a few texts: every present one is a candidate
        return norm.notna()

    from qa.textindex import judged_once, text_index

    # Canned lines repeat: the pieces run once per distinct text (and once per worker's
    # partitions, see qa.textindex.Carry); missing texts stay False.
    pieces = matcher.prefilter_parts or (matcher.prefilter,)
    index = text_index(norm)
    present = norm.notna().to_numpy()
    distinct = judged_once(index, ("pattern prefilter", pieces), index.present(present),
                           lambda todo: match_pieces(index.uniques.take(pa.array(todo, type=pa.int64())), pieces))
    hits = present & distinct[index.codes]
    return pd.Series(hits, index=norm.index, dtype=bool)


def to_arrow(texts: pd.Series) -> pa.Array:
    """The column as an Arrow string array (no copy when it is already Arrow-backed)."""
    try:
        array = pa.array(texts.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(texts.astype("str").to_numpy(dtype=object), type=pa.large_string())
    # An object column of only missing values infers Arrow's null type, which no string
    # kernel accepts: it is a string column with every value missing.
    return array.cast(pa.string()) if pa.types.is_null(array.type) else array


def find_matches(norm: pd.Series, matcher: Matcher) -> dict[int, tuple[int, int]]:
    """{message id: (start, end) in the norm text} of every message with a kept match.

    Canned lines repeat a lot in customer service, so each distinct text is searched once."""
    found: dict[int, tuple[int, int]] = {}
    seen: dict[str, tuple[int, int] | None] = {}
    candidates = norm[candidate_mask(norm, matcher)]
    for msg_id, text in zip(candidates.index, candidates.tolist()):
        if text not in seen:
            seen[text] = matcher.find(text)
        span = seen[text]
        if span is not None:
            found[msg_id] = span
    return found


def later_matches(norm: pd.Series, matcher: Matcher, first: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """{message id: the next kept match after ``first``'s} of the messages that have one: a rule
    that yields its first match to another's (a rhetorical question that is abuse, 你是不是傻) still
    reports a second question of the message (看不懂字？)."""
    found: dict[int, tuple[int, int]] = {}
    seen: dict[tuple[str, int], tuple[int, int] | None] = {}
    for msg_id, (_, end) in first.items():
        text = norm[msg_id]
        if (text, end) not in seen:
            seen[(text, end)] = matcher.find(text, end)
        span = seen[(text, end)]
        if span is not None:
            found[msg_id] = span
    return found


def map_spans(items: list[tuple[str, str, int, int]]) -> list[tuple[int, int]]:
    """:func:`original_span` for many (original, normalized, start, end) at once.

    Fast path, two vectorised normalizations for all items: when the original text up to
    the match and the match itself normalize to the same characters at the same offsets (no
    full-width text or collapsed whitespace before it: the usual case), the span is unchanged.
    Only the others are mapped character by character."""
    if not items:
        return []
    prefixes = normalize_column(pd.Series([o[:start] for o, _, start, _ in items], dtype="str")).tolist()
    pieces = normalize_column(pd.Series([o[start:end] for o, _, start, end in items], dtype="str")).tolist()
    spans = []
    for (original, normalized, start, end), prefix, piece in zip(items, prefixes, pieces):
        if prefix == normalized[:start] and piece == normalized[start:end]:
            spans.append((start, end))
        else:
            spans.append(original_span(original, start, end))
    return spans


@lru_cache(maxsize=8)
def cached_model(lines: tuple[str, ...]):
    """The rule's model, kept between runs under a digest of its lines (reading the ten thousand
    lines of the built-in one took a twentieth of a small audit)."""
    from qa.questionmodel import QuestionModel

    if not lines:
        return None
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return disk_kept("qa.questionmodel.QuestionModel.from_lines", digest, lambda: QuestionModel.from_lines(list(lines)))


# the last question of a message: a clause ending in ? or in 吗/嘛 (before closing punctuation)
_QUESTION_CLAUSE = compile_regex(r"[^,.?!;:。~]*(?:\?+|(?:吗|嘛)(?=[\s.!~。]*$))")
_HAN = compile_regex(r"\p{Han}")


def model_matches(norm: pd.Series, matcher: Matcher, params: dict, skip: set) -> dict[int, tuple[int, int]]:
    """{message id: span of its last question} of the messages the rule's model flags (those in
    ``skip`` already have a pattern match). Each distinct text is scored once; only questions in
    messages of ``model_min_han`` Han characters or more are scored at all."""
    model = cached_model(tuple(params.get("model") or ()))
    if model is None or norm.empty:
        return {}
    texts = norm[~norm.index.isin(list(skip))].dropna()
    texts = texts[texts.str.contains(r"[?吗嘛]", regex=True)]  # asks something: one pass over the column
    least = int(params.get("model_min_han") or 0)
    # cheapest first: the length gate, the model over all the texts it passes, then where the question
    # is and whether an exclusion (good wording) covers it
    values = texts.tolist()
    distinct = [text for text in dict.fromkeys(values) if len(_HAN.findall(text)) >= least]
    spans: dict[str, tuple[int, int]] = {}
    for text in compress(distinct, model.flags_many(distinct)):
        questions = [m for m in _QUESTION_CLAUSE.finditer(text) if m.group().strip(" ?")]
        if questions:
            start, end = questions[-1].span()
            while start < end and text[start] == " ":
                start += 1
            excluded = matcher.exclude is not None and any(
                s < end and start < e for s, e in (m.span() for m in matcher.exclude.finditer(text, overlapped=True)))
            if not excluded:
                spans[text] = (start, end)
    return {msg_id: spans[text] for msg_id, text in zip(texts.index, values) if text in spans}


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag each checked message with a pattern match that no exclusion covers (or, with a
    ``model``, whose question the model puts in the class)."""
    matcher = matcher_for(rule.params)
    scope = role_mask(messages, rule.params["roles"])
    norm = messages["norm"][scope]
    spans = find_matches(norm, matcher)
    # (the next match of each message, for a first match the rule yields to another rule's finding;
    # the stage keeps one finding per message and rule after the yielding)
    seconds = later_matches(norm, matcher, spans) if rule.yields_to else {}
    spans.update(model_matches(norm, matcher, rule.params, set(spans)))
    if not spans:
        return findings_frame([], rule.id, "", "")
    ids = list(spans) + list(seconds)
    found = list(spans.values()) + list(seconds.values())
    originals = messages["text"].take(messages.index.get_indexer(ids)).tolist()
    norms = messages["norm"].take(messages.index.get_indexer(ids)).tolist()
    unique = list(dict.fromkeys(
        (original, normalized, *span) for span, original, normalized in zip(found, originals, norms)
    ))
    mapped = {}
    for (original, normalized, start, end), span in zip(unique, map_spans(unique)):
        fragment = original[span[0] : span[1]] if span[0] >= 0 else normalized[start:end]
        mapped[(original, start, end)] = (fragment, span[0], span[1], render(rule.message, context.lang, match=fragment))
    reasons, matches, starts, ends = [], [], [], []
    for span, original in zip(found, originals):
        fragment, span_start, span_end, reason = mapped[(original, *span)]
        reasons.append(reason)
        matches.append(fragment)
        starts.append(span_start)
        ends.append(span_end)
    return findings_frame(ids, rule.id, rule.severity.value, reasons, matches, starts, ends)


def validate(params: dict) -> list[tuple[str, str]]:
    """Load-time check: macros expand and every regex compiles (problems as (key, text))."""
    macros = list(params.get("macros") or [])
    try:
        expand_macros([], macros)
    except RuleError as error:
        return [("macros", str(error))]
    try:
        # The matcher the check runs with (cached): compiling every pattern again here would
        # double a small audit's start-up.
        matcher_for(params)
    except RuleError as whole:
        for key in ("patterns", "exclude"):
            for pattern in params.get(key) or []:
                try:
                    _compile(expand_macros([pattern], macros)[0], key)
                except RuleError as error:
                    return [(key, str(error))]
        try:
            _compile(params.get("clause_delimiters") or "[,.?!;:。、~ ]", "clause_delimiters")
        except RuleError as error:
            return [("clause_delimiters", str(error))]
        key = "prefilter" if str(whole).startswith("prefilter") else "patterns"
        return [(key, str(whole))]
    return []
