"""Check type ``phrase``: messages containing any phrase or pattern of categorised lists.

Matching is on the normalized text (so traditional characters and full-width forms match the
simplified list), with one Aho-Corasick automaton for all phrases: its cost does not grow
with the number of phrases. A vectorised pre-filter (pyarrow's RE2 through pandas) picks the
few candidate messages first, so the per-message Python loop only sees those.

Matching sees through form, because agents write 帮 不 了 你 and 请你自己，看着办:

* ``ignore_separators`` (default on): spaces, punctuation, symbols and emoji between the
  characters of a phrase are skipped; the reported span is mapped back to the original text;
* a category may add ``patterns``: regexes over the normalized text for what a list of
  sentences cannot hold (counted variants 说了N遍/八百遍, second person + insult, 找…去吧);
* a match in the scope of a negation (并不是不给您处理) or a condition (如果处理不了…) is not
  a violation: :mod:`qa.negation` decides, per category (``negation``/``condition``);
* ``word_boundaries``: a short word (滚, 废物, 有病) that jieba's segmentation of the message puts
  inside a longer word (滚筒, 废物利用, 有病历) is not a match. jieba only runs on the few
  candidate messages of such a category, and is loaded on first use.

* ``replies_to`` (per category): the category counts only where the customer's turn just before the
  message holds one of those classes (a bare 去呗 dares a customer who threatened to complain);
* ``model``: a learned recall aid (qa.questionmodel, benchmarks/train_question_model.py) judges the long
  messages no list matched.

``exceptions`` are good phrases that contain or touch a forbidden one (不用您自己找快递
contains 自己找快递) that neither negation nor word boundaries explain: a match overlapping an
exception found in the same message is not reported. ``exception_patterns`` are the same as
regexes, for a shape a list of phrases cannot hold (让您说了好几遍: the customer had to repeat
because of the agent, not the agent reproaching the customer); they run on candidates only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import compress

import ahocorasick
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex

from qa import wordseg
from qa.checks.base import CheckContext, findings_frame, render, role_mask, turn_holds
from qa.checks.pattern import cached_model, expand_macros
from qa.classes import classes_of, in_scope
from qa.errors import RuleError
from qa.model import SEVERITY_RANK
from qa.normalize import normalize_text, normalize_texts, original_span
from qa.regexcache import compile_regex
from qa.regexutil import (
    FEW_TEXTS_TO_SCREEN,
    compile_any,
    expand_backreferences,
    join_alternatives,
    match_pieces,
    prefilter_pieces,
    re2_valid,
    relax_counts,
    valid_mask,
)
from qa.textindex import judged_once, text_index

# How many phrases go into one pre-filter alternation; RE2 handles large ones, but a bounded
# size keeps its compiled program small.
_PREFILTER_CHUNK = 400


# What ignore_separators skips between characters: whitespace, punctuation, symbols.
# Format characters and combining marks cover emoji joiners and variation selectors.
_SEPARATOR = r"[\s\p{P}\p{S}\p{Cf}\p{Mn}]"
_SEPARATOR_RE = compile_regex(_SEPARATOR)
# Patterns see through spaces, symbols and emoji but keep punctuation, so that they can
# anchor on a question mark or a clause end.
_SPACING = r"[\s\p{S}\p{Cf}\p{Mn}]"
_SPACING_RE = compile_regex(_SPACING)
# Chat writers end a clause with a space instead of a comma (这个真没办法哈 您自己看着弄吧): a space
# with two or more characters on both sides is a clause end for the patterns, which otherwise see
# through spaces (帮 不 了 你, 你 有病). Patterns run on both views, so neither form is lost.
_CLAUSE_SPACE_RE = compile_regex(r"(?<=[^\s,.?!;:。~]{2})\s+(?=[^\s,.?!;:。~]{2})")
_CLAUSE_SPACE_RE2 = r"([^\s,.?!;:。~]{2})\s+([^\s,.?!;:。~]{2})"
# Characters spaced out one by one (帮 不 了 就这样) are one word: the spaces inside such a run join, and
# the space after it may end the clause like any other.
_SPACED_RUN_RE = compile_regex(r"(?<![^\s,.?!;:。~])[^\s,.?!;:。~](?:\s[^\s,.?!;:。~](?![^\s,.?!;:。~]))+")
_SPACED_RUN_RE2 = r"(?:^|[\s,.?!;:。~])[^\s,.?!;:。~](?:\s[^\s,.?!;:。~])+(?:[\s,.?!;:。~]|$)"
_LEADING_SPACE_RE = compile_regex(r"\s+")
_SHORT_CLOSE_CHARS = 4  # 就这样, 没办法, 您看着办


def _clause_view(text: str) -> str | None:
    """``text`` with its clause-ending spaces turned into commas (same length), or None when it has
    none: a space between two runs of two or more characters ends a clause; so does the space after
    characters spaced out one by one (帮 不 了 就这样) when only a short closing word follows it to the
    end of the message (a message typed word by word, 这 个 没 法 给 您 处 理 优惠 不过…, is not cut
    there)."""
    out = list(_CLAUSE_SPACE_RE.sub(lambda m: "," * len(m.group()), text))
    for run in _SPACED_RUN_RE.finditer(text):
        space = _LEADING_SPACE_RE.match(text, run.end())
        if space and len(_SEPARATOR_RE.sub("", text[space.end():])) <= _SHORT_CLOSE_CHARS:
            out[space.start() : space.end()] = "," * (space.end() - space.start())
    clauses = "".join(out)
    return clauses if clauses != text else None


@dataclass(frozen=True)
class _Entry:
    phrase: str  # normalized
    category: int  # index into categories, or -1 for an exception
    length: int


def parse_variants(entries: list[str]) -> dict[str, list[str]]:
    """'微信=v信|vx' entries -> {normalized word: [normalized variants]}; malformed ones raise
    ValueError (the loader reports them with the rule file and line)."""
    variants: dict[str, list[str]] = {}
    normalize_texts(piece for entry in entries for piece in entry.replace("=", "|").split("|"))  # all at once
    for entry in entries:
        word, sep, alternatives = entry.partition("=")
        forms = [normalize_text(a) for a in alternatives.split("|") if a.strip()]
        if not sep or not word.strip() or not forms:
            raise ValueError(f"variants entry '{entry}' is not 'word=variant|variant'")
        variants.setdefault(normalize_text(word), []).extend(forms)
    return variants


def _expand(phrase: str, variants: dict[str, list[str]], squeeze: bool) -> set[str]:
    """A normalized phrase and its spelling variants (squeezed when separators are ignored)."""
    forms = {phrase}
    for word, alternatives in variants.items():
        for form in list(forms):
            if word in form:
                forms.update(form.replace(word, alternative) for alternative in alternatives)
    if squeeze:
        forms = {_SEPARATOR_RE.sub("", form) for form in forms}
    return {form for form in forms if form}


def _phrase_table(categories: list[dict], exceptions: list[str], params: dict) -> list[tuple[str, int]]:
    """(matchable key, category index or -1 for an exception) for every phrase and variant."""
    variants = parse_variants(params.get("variants") or [])
    squeeze = bool(params.get("ignore_separators"))
    table: list[tuple[str, int]] = []
    normalize_texts([*(phrase for category in categories for phrase in category["phrases"]), *exceptions])  # all at once
    for index, category in enumerate(categories):
        for phrase in category["phrases"]:
            table.extend((key, index) for key in _expand(normalize_text(phrase), variants, squeeze))
    for phrase in exceptions:
        table.extend((key, -1) for key in _expand(normalize_text(phrase), variants, squeeze))
    return table


def _build_automaton(table: list[tuple[str, int]]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    entries: dict[str, list[_Entry]] = {}
    for key, index in table:
        entries.setdefault(key, []).append(_Entry(key, index, len(key)))
    for key, value in entries.items():
        automaton.add_word(key, value)
    automaton.make_automaton()
    return automaton


def _candidates(searched: pa.Array, phrases: list[str]) -> np.ndarray:
    """Which texts contain at least one phrase (vectorised, RE2): a numpy bool array."""
    hits = np.zeros(len(searched), dtype=bool)
    for start in range(0, len(phrases), _PREFILTER_CHUNK):
        chunk = phrases[start : start + _PREFILTER_CHUNK]
        pattern = "|".join(regex.escape(p) for p in chunk)
        hits |= _bools(pc.match_substring_regex(searched, pattern))
    return hits


def _bools(array) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


@dataclass(frozen=True)
class _Compiled:
    """One rule's matching machinery, built once per parameter set."""

    automaton: ahocorasick.Automaton | None
    phrases: tuple[str, ...]  # matchable phrase keys (squeezed when separators are ignored)
    patterns: tuple[tuple[int, regex.Pattern], ...]  # (category index, combined regex)
    prefilter: tuple[str, ...] | None  # every pattern relaxed, as RE2 alternation pieces; None: no patterns
    squeeze: bool
    exception_pattern: regex.Pattern | None = None  # run on candidates only: no RE2 needed
    cleared: tuple[tuple[int, regex.Pattern], ...] = ()  # (category index, its cleared_by regex)


def _category_patterns(categories: list[dict], macros: list[str]) -> list[tuple[int, str]]:
    """(category index, combined regex source) of each category with patterns."""
    combined = []
    for index, category in enumerate(categories):
        patterns = expand_macros(list(category.get("patterns") or []), macros)
        if patterns:
            combined.append((index, join_alternatives(patterns)))
    return combined


def _compile(params: dict) -> _Compiled:
    """The rule's automaton and regexes, cached per parameter set (their JSON text): building
    them took longer than checking a small file, once per audit (tests run thousands). The
    same parameter dict (a loaded rule's, never changed after loading) is found by identity
    first: its JSON text holds the model's twelve thousand lines, and other checks ask for the
    compiled rule once per finding (4 ms a time, a tenth of an audit of a million messages)."""
    same = _COMPILED_BY_ID.get(id(params))
    if same is not None and same[0] is params:
        return same[1]
    key = json.dumps(params, sort_keys=True, default=repr)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _compile_now(params)  # raises (and caches nothing) on a bad pattern
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[key] = compiled
    if len(_COMPILED_BY_ID) >= _COMPILED_MAX:
        _COMPILED_BY_ID.clear()
    _COMPILED_BY_ID[id(params)] = (params, compiled)  # (the dict kept alive, so its id is not reused)
    return compiled


_COMPILED: dict[str, _Compiled] = {}
_COMPILED_BY_ID: dict[int, tuple[dict, _Compiled]] = {}
_COMPILED_MAX = 64


def _compile_now(params: dict) -> _Compiled:
    categories = params["categories"]
    table = _phrase_table(categories, params["exceptions"], params)
    phrases = tuple(sorted({key for key, index in table if index >= 0}))
    sources = _category_patterns(categories, list(params.get("macros") or []))
    try:
        patterns = tuple((index, compile_regex(source)) for index, source in sources)
    except regex.error as error:
        raise RuleError(f"patterns: regex does not compile: {error}") from None
    exception_sources = expand_macros(list(params.get("exception_patterns") or []), list(params.get("macros") or []))
    exception_pattern = compile_any(exception_sources, "exception_patterns: regex does not compile")
    prefilter: tuple[str, ...] | None = None
    if sources:
        # A back-reference (爱(V)不\1, (V)什么\1) is matched by the regex module; RE2 pre-filters
        # with a copy of the group in its place (a superset), each pattern expanded on its own.
        raw = [relax_counts(expand_backreferences(p)) for c in categories
               for p in expand_macros(list(c.get("patterns") or []), list(params.get("macros") or []))]
        whole = "|".join(f"(?:{p})" for p in raw)
        if not re2_valid(whole):
            raise RuleError("patterns: not valid RE2 (no look-arounds, \\w, \\d, \\s or \\b), so they "
                            "cannot pre-filter a million messages")
        # one alternation per category is still too big for RE2's DFA: cut it into pieces
        prefilter = prefilter_pieces(raw)
    cleared = []
    for index, category in enumerate(categories):
        sources_cleared = expand_macros(list(category.get("cleared_by") or []), list(params.get("macros") or []))
        pattern = compile_any(sources_cleared, f"category '{category['name']}': cleared_by: regex does not compile")
        if pattern is not None:
            cleared.append((index, pattern))
    return _Compiled(
        cleared=tuple(cleared),
        automaton=_build_automaton(table) if table else None,
        phrases=phrases,
        patterns=patterns,
        prefilter=prefilter,
        squeeze=bool(params.get("ignore_separators")),
        exception_pattern=exception_pattern,
    )


# --- word boundaries (jieba) -------------------------------------------------------------------

# Trailing particles that jieba glues to a word (去死吧, 滚吧): they do not make a longer word.
_PARTICLES = "吧啊呀吗嘛呢了啦哦哈么"


def inside_word(text: str, start: int, end: int) -> bool:
    """Does jieba's segmentation put ``text[start:end]`` inside a longer word (滚 in 滚筒洗衣机,
    去死 in 去死皮, 有病 in 有病历)? A word that only adds a trailing particle (去死吧) does not
    count."""
    for a, b in wordseg.token_spans(text):
        if a < start < b:
            return True
        if a < end < b:
            core = b
            while core > end and text[core - 1] in _PARTICLES:
                core -= 1
            if core > end:
                return True
    return False


# --- matching ----------------------------------------------------------------------------------


def _all_matches(normalized: str, compiled: _Compiled) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
    """Every (start, end, category) match and every exception span, in ``normalized``
    coordinates (squeezed matches mapped back)."""
    found: list[tuple[int, int, int]] = []
    excepted: list[tuple[int, int]] = []
    if compiled.automaton is not None:
        if compiled.squeeze:
            haystack, positions = _squeezed(normalized)
        else:
            haystack, positions = normalized, None
        for end_index, entries in compiled.automaton.iter(haystack):
            for entry in entries:
                start, end = end_index - entry.length + 1, end_index + 1
                if positions is not None:
                    start, end = positions[start], positions[end - 1] + 1
                if entry.category < 0:
                    excepted.append((start, end))
                else:
                    found.append((start, end, entry.category))
    if compiled.patterns or compiled.exception_pattern is not None:
        views = [_squeezed(normalized, _SPACING_RE)] if compiled.squeeze else [(normalized, None)]
        clauses = _clause_view(normalized) if compiled.squeeze else None
        if clauses is not None:
            views.append(_squeezed(clauses, _SPACING_RE))
        for haystack, positions in views:
            spans: list[tuple[int, int, int]] = []
            for index, pattern in compiled.patterns:
                spans.extend((*match.span(), index) for match in pattern.finditer(haystack, overlapped=True))
            if compiled.exception_pattern is not None:
                # overlapped: one exception's match must not hide another's that starts inside it
                # (前面让您 of one shape would hide 让您反复解释了 of the next)
                spans.extend((*match.span(), -1)
                             for match in compiled.exception_pattern.finditer(haystack, overlapped=True))
            for start, end, index in spans:
                if end > start:
                    if positions is not None:
                        start, end = positions[start], positions[end - 1] + 1
                    if index < 0:
                        excepted.append((start, end))
                    else:
                        found.append((start, end, index))
    return found, excepted


def _cleared(normalized: str, compiled: _Compiled, index: int) -> bool:
    """Does the message hold a ``cleared_by`` match of category ``index`` outside any negation
    or condition (我帮您转给售后专员 clears 这个不归我们管; 没法帮您转 does not)?"""
    for category, pattern in compiled.cleared:
        if category == index:
            return any(not in_scope(normalized, *match.span()) for match in pattern.finditer(normalized)
                       if match.end() > match.start())
    return False


def _best_match(normalized: str, compiled: _Compiled, categories: list[dict], default: str,
                skip: frozenset[int] = frozenset()):
    """(start, end, category index) of the most severe, then earliest, longest kept match:
    not overlapping an exception, not inside a longer word, not negated or conditional, and of no
    category in ``skip`` (those whose ``replies_to`` the message's context does not meet)."""
    found, excepted = _all_matches(normalized, compiled)
    if skip:
        found = [match for match in found if match[2] not in skip]

    def order(match: tuple[int, int, int]):
        severity = categories[match[2]]["severity"] or default
        return (-SEVERITY_RANK[severity], match[0], -(match[1] - match[0]))

    def kept(start: int, end: int, index: int) -> bool:
        if any(e_start < end and start < e_end for e_start, e_end in excepted):
            return False
        category = categories[index]
        if category.get("word_boundaries") and inside_word(normalized, start, end):
            return False
        if compiled.cleared and _cleared(normalized, compiled, index):
            return False
        negation, condition = category.get("negation", True), category.get("condition", True)
        return not ((negation or condition)
                    and in_scope(normalized, start, end, negation=negation, condition=condition))

    ordered = sorted(set(found), key=order)
    for start, end, index in ordered:
        if not kept(start, end, index):
            continue
        # Widen over the kept matches of the same category that overlap it, so the report
        # shows 我已经说过很多遍了 rather than one piece of it.
        for other_start, other_end, other_index in ordered:
            if (other_index == index and other_start < end and start < other_end
                    and (other_start < start or other_end > end) and kept(other_start, other_end, other_index)):
                start, end = min(start, other_start), max(end, other_end)
        return start, end, index
    return None


def _squeezed(text: str, separator: regex.Pattern = _SEPARATOR_RE) -> tuple[str, list[int]]:
    """``text`` without separators, and for each kept character its index in ``text``."""
    kept = [i for i, char in enumerate(text) if not separator.match(char)]
    return "".join(text[i] for i in kept), kept


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag each checked message that contains a listed phrase or pattern (one finding per
    message, its most severe match)."""
    params = rule.params
    categories = params["categories"]
    compiled = _compile(params)
    if not compiled.phrases and not compiled.patterns:
        return findings_frame([], rule.id, "", "")
    # The pre-filter runs on the distinct texts of the checked roles only (canned lines repeat,
    # and customers' messages are half the table), and separators are stripped once per text.
    positions = np.flatnonzero(role_mask(messages, params["roles"]).to_numpy())
    if not len(positions):
        return findings_frame([], rule.id, "", "")
    positions = positions[messages["norm"].iloc[positions].notna().to_numpy()]
    index = text_index(messages["norm"])

    def screen(todo: np.ndarray) -> np.ndarray:
        distinct = index.uniques.take(pa.array(todo, type=pa.int64()))
        if len(distinct) <= FEW_TEXTS_TO_SCREEN:  # a few texts: all candidates, checked exactly below
            return valid_mask(distinct)
        hits = np.zeros(len(distinct), dtype=bool)
        spaced = pc.replace_substring_regex(distinct, _SPACING, "") if compiled.squeeze else distinct
        if compiled.phrases:
            searched = pc.replace_substring_regex(spaced, r"\p{P}", "") if compiled.squeeze else distinct
            hits |= _candidates(searched, list(compiled.phrases))
        if compiled.prefilter is not None:
            hits |= match_pieces(spaced, compiled.prefilter)
            if compiled.squeeze:
                # the clause view of _all_matches (RE2 has no look-arounds: two passes catch 'ab cd ef'),
                # screened only where it differs from the spaced view: a text without a clause space
                # is its own clause view, and the pass above already screened it
                spaced_clauses = np.flatnonzero(_bools(pc.match_substring_regex(distinct, _CLAUSE_SPACE_RE2)))
                if len(spaced_clauses):
                    clauses = distinct.take(pa.array(spaced_clauses, type=pa.int64()))
                    for _ in range(2):
                        clauses = pc.replace_substring_regex(clauses, _CLAUSE_SPACE_RE2, r"\1,\2")
                    hits[spaced_clauses] |= match_pieces(pc.replace_substring_regex(clauses, _SPACING, ""),
                                                         compiled.prefilter)
                # characters spaced out one by one (rare) close up before a clause space: checked exactly
                hits |= _bools(pc.match_substring_regex(distinct, _SPACED_RUN_RE2))
        return hits

    # Candidates depend on the text and the phrases and patterns alone: each distinct text is
    # screened once per column (and once per worker's partitions, see qa.textindex.Carry).
    key = ("phrase candidates", compiled.phrases, compiled.prefilter, compiled.squeeze)
    hits = judged_once(index, key, index.present(positions), screen)
    chosen = positions[hits[index.codes[positions]]]
    if not len(chosen):
        return findings_frame([], rule.id, "", "")
    candidates = pd.Series(messages["norm"].iloc[chosen].to_numpy(dtype=object), index=messages.index[chosen])

    texts = messages["text"]
    ids, severities, reasons, matches, starts, ends = [], [], [], [], [], []
    seen: dict[str, tuple[int, int, int] | None] = {}
    bests = []
    for normalized in candidates.tolist():
        if normalized not in seen:  # canned lines repeat: judge each distinct text once
            seen[normalized] = _best_match(normalized, compiled, categories, rule.severity.value)
        bests.append(seen[normalized])
    contextual = frozenset(i for i, category in enumerate(categories) if category.get("replies_to"))
    if contextual:
        bests = _in_context(messages, rule, chosen, candidates.tolist(), bests, contextual, compiled)
    for msg_id, normalized, best in zip(candidates.index, candidates.tolist(), bests):
        if best is None:
            continue
        start, end, category_index = best
        while end - start > 1 and _SEPARATOR_RE.match(normalized[end - 1]):
            end -= 1  # a pattern may consume the clause end; the report shows the words
        while end - start > 1 and _SEPARATOR_RE.match(normalized[start]):
            start += 1  # …or the clause start before them (…？有病吧)
        category = categories[category_index]
        original = texts[msg_id]
        span = original_span(original, start, end, normalized)
        fragment = original[span[0] : span[1]] if span[0] >= 0 else normalized[start:end]
        label = category.get(f"label_{context.lang}") or category.get("label_zh") or category["name"]
        ids.append(msg_id)
        severities.append(category["severity"] or rule.severity.value)
        reasons.append(render(rule.message, context.lang, match=fragment, category=label))
        matches.append(fragment)
        starts.append(span[0])
        ends.append(span[1])
    if params.get("model"):
        label = params.get(f"model_label_{context.lang}") or params.get("model_label_zh") or "model"
        for msg_id in _model_flagged(messages, params, compiled, index, positions, set(ids)):
            original = texts[msg_id]
            ids.append(msg_id)
            severities.append(rule.severity.value)
            reasons.append(render(rule.message, context.lang, match=original, category=label))
            matches.append(original)
            starts.append(0)
            ends.append(len(original))
    return findings_frame(ids, rule.id, severities, reasons, matches, starts, ends)


def _model_flagged(messages: pd.DataFrame, params: dict, compiled: _Compiled, index, positions: np.ndarray,
                   found: set) -> list:
    """Ids of the checked messages with no list match that the rule's learned model (``model``, written by
    benchmarks/train_question_model.py) puts in the class: messages of at least ``model_min_han`` Han
    characters holding no exception. Lists know the wordings seen; the model recognises the same
    buck-passing or contempt in words no list holds (measured on blind sets written apart from it).
    Each distinct text is judged once; the length gate runs over the distinct texts as one Arrow kernel."""
    model = cached_model(tuple(params["model"]))  # one model cache for the pattern and phrase checks
    if model is None or not len(positions):
        return []
    rows = positions[~messages.index[positions].isin(list(found))]
    if not len(rows):
        return []
    codes = index.codes[rows]
    distinct = np.flatnonzero(index.present(rows))
    han = np.asarray(pc.count_substring_regex(index.uniques.take(pa.array(distinct, type=pa.int64())), r"\p{Han}"))
    scored = distinct[han >= int(params.get("model_min_han") or 0)]
    verdict = np.zeros(len(index.uniques), dtype=bool)
    texts = index.uniques.take(pa.array(scored, type=pa.int64())).to_pylist()
    in_class = model.flags_many(texts)
    for code, text in zip(scored[in_class].tolist(), compress(texts, in_class)):
        verdict[code] = not _all_matches(text, compiled)[1]
    return messages.index[rows[verdict[codes]]].tolist()


def _in_context(messages: pd.DataFrame, rule, chosen: np.ndarray, normalized: list[str], bests: list,
                contextual: frozenset[int], compiled: _Compiled) -> list:
    """``bests`` with each match of a category with ``replies_to`` kept only where the customer's turn
    just before the message holds one of those classes (the bare 去呗 / 您去吧 dares a customer who just
    threatened to complain, and is harmless to one going to fetch a parcel); elsewhere the message's
    best match among the other categories stands instead."""
    categories = rule.params["categories"]
    classes = classes_of(rule)
    roles = messages["role"].to_numpy()
    sessions = messages["session_id"].to_numpy()
    norm_all = messages["norm"]
    replies = np.isin(roles, list(rule.params["roles"]))
    turn = roles == "customer"
    kept = list(bests)
    for index in sorted(contextual):
        at = np.asarray([i for i, best in enumerate(kept) if best is not None and best[2] == index], dtype=np.int64)
        if not len(at):
            continue
        holds = turn_holds(classes, list(categories[index]["replies_to"]), norm_all, turn, replies, sessions,
                           chosen[at])
        for i in at[~holds].tolist():
            kept[i] = _best_match(normalized[i], compiled, categories, rule.severity.value,
                                  skip=contextual)
    return kept


def strongest_match(params: dict, severity: str, normalized: str) -> tuple[int, int, str] | None:
    """(start, end, category name) of the match a finding of a phrase rule with ``params`` reports on the
    normalized text (the most severe, then earliest, longest kept match), or None."""
    categories = params["categories"]
    # (a category that counts only in reply to some turn is left out: the text alone cannot tell)
    contextual = frozenset(i for i, category in enumerate(categories) if category.get("replies_to"))
    best = _best_match(normalized, _compile(params), categories, severity, skip=contextual)
    if best is None:
        return None
    start, end, index = best
    return start, end, categories[index].get("name")


def validate(params: dict) -> list[tuple[str, str]]:
    """Problems beyond types: malformed variant entries, categories without phrases."""
    problems = []
    try:
        parse_variants(params.get("variants") or [])
    except ValueError as error:
        problems.append(("variants", str(error)))
    for category in params.get("categories") or []:
        if not category.get("phrases") and not category.get("patterns"):
            problems.append(("categories", f"category '{category.get('name')}': phrases is empty and "
                              "there are no patterns"))
    if problems:
        return problems
    try:
        _compile(params)
    except RuleError as error:
        problems.append(("categories", str(error)))
    return problems
