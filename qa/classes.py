"""Shared semantic classes of messages: soothing, handling, upset, sensitive-complaint, …

Several rules judge the same things about a message (is it soothing? is the customer upset?
does it need an answer?). Each such class is defined once, as rule data in
``rules/classes.toml`` (patterns inline or in ``rules/lists/class-*.txt``), and computed here,
so a pack that changes a class changes every rule that uses it.

A class is a set of regexes (``regex`` module syntax) over the normalized text (simplified,
lower case, half width), optionally split into named categories with labels, with exclusions
(a match overlapped by an exclusion is dropped), and the negation/condition handling of
:mod:`qa.negation` (a match in the scope of 不是/没有/不会… or 如果/万一… is dropped when the
class asks for it). ``include`` makes a class the union of others (``answer-due`` includes
``upset`` and ``sensitive-complaint``).

File format (``rules/classes.toml``; a pack folder may hold its own ``classes.toml``)::

    [negation]                      # the scope lists of qa.negation
    negators = ["不是", "没有", …]
    [sentences]
    separators = '[.!?;。…~]+'        # how ClassSet.sentences splits a message
    [classes.soothing]
    doc = "apology, empathy, …"
    roles = ["agent"]
    patterns = ['抱歉|对不起', …]
    patterns_file = "lists/class-soothing.txt"
    exclude = [ … ]
    negation = false                # drop matches in a negation scope
    condition = false               # drop matches in a condition scope
    hypothetical = ['会|怕|担心']     # markers before the match (same clause) that make it hypothetical
    question_after = 0              # drop when 吗/么/嘛/? follows within this many characters
    question = false                # drop matches inside a yes/no question (是不是…, …吗, 不会…吧)
    consequence = false             # drop the condition of what follows (不行就…) and the
                                    # consequence of a condition (要是…就不要了)
    include = ["upset"]            # union with these classes
    [[classes.safety.categories]]
    name = "injury"; label_zh = "受伤"; label_en = "injury"; patterns = [ … ]
    question = true                 # a category may set its own question handling
    word_boundaries = true          # drop a category's match that a word of jieba's dictionary
                                    # crosses (服了 in 舒服了, 无语 in 无语音)

A pack's ``classes.toml`` may define new classes, replace keys of an existing one
(``[classes.soothing] negation = true``) and edit its lists (``[add.classes.soothing]
patterns = [...]``, ``[remove.classes.handling] patterns = [...]``, likewise
``[add.negation] negators = [...]``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex

from qa.diskmemo import disk_memo
from qa.errors import RuleError
from qa.literals import LiteralScreen
from qa.negation import Scope, scope_from_table
from qa.regexcache import compile_regex
from qa.regexutil import (
    FEW_TEXTS_TO_SCREEN,
    expand_backreferences,
    join_alternatives,
    match_pieces,
    pattern_tokens,
    prefilter_pieces,
    re2_valid,
    relax_counts,
    strip_lookarounds,
    valid_mask,
)
from qa.rulefiles import builtin_rules_dir, read_list_file
from qa.textindex import TextIndex, judged_once, text_index
from qa.tomlfile import line_of, read_toml
from qa.wordseg import crosses_word

CLASSES_FILE = "classes.toml"
TOP_KEYS = {"negation", "sentences", "macros", "classes", "add", "remove"}
CLASS_KEYS = {
    "doc", "roles", "patterns", "patterns_file", "exclude", "exclude_file", "negation", "condition",
    "hypothetical", "question_after", "include", "categories", "question", "consequence",
    "label_zh", "label_en",  # what a reason calls a match of the class's own patterns
}
CATEGORY_KEYS = {"name", "label_zh", "label_en", "patterns", "patterns_file", "exclude", "exclude_file",
                 "question", "word_boundaries"}
NEGATION_KEYS = {"negators", "conditions", "exceptions", "clause_separators", "window", "short_window"}
LIST_KEYS = ("patterns", "exclude", "hypothetical", "include")
DEFAULT_SENTENCE_SEPARATORS = r"[.!?;。…~\n]+|(?<=\S\S) (?=\S\S)"
_SERIALS = itertools.count()
_QUESTION_TAIL = compile_regex(r"吗|(?<![怎什这那多])么|嘛|\?")
_MACRO_REF = compile_regex(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
_MACRO_DEF = compile_regex(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$")


@dataclass(frozen=True)
class Match:
    """One class match in a normalized text."""

    start: int
    end: int
    text: str
    cls: str
    category: str
    label_zh: str = ""
    label_en: str = ""

    def label(self, lang: str = "zh") -> str:
        """The category label in ``lang`` (falls back to the category name)."""
        return (self.label_en if lang == "en" else self.label_zh) or self.label_zh or self.category


@dataclass(frozen=True)
class Category:
    """A named part of a class (``sensitive-complaint`` → consumer-authority, police, …)."""

    name: str
    label_zh: str
    label_en: str
    pattern: Any  # compiled regex or None
    exclude: Any
    sources: tuple[str, ...] = ()  # the raw patterns, for the vectorised pre-filter
    question: bool | None = None  # None: as the class
    exclude_sources: tuple[str, ...] = ()  # the raw patterns of ``exclude`` (see ClassSet._exclusions)
    # a match that a dictionary word crosses (服了 in 舒服了, 无语 in 无语音) is dropped (qa.wordseg.crosses_word)
    word_boundaries: bool = False


@dataclass(frozen=True)
class ClassDef:
    """One compiled class."""

    name: str
    doc: str
    roles: tuple[str, ...]
    categories: tuple[Category, ...]
    exclude: Any
    negation: bool
    condition: bool
    hypothetical: Any
    question_after: int
    include: tuple[str, ...]
    question: bool = False
    consequence: bool = False
    exclude_sources: tuple[str, ...] = ()  # the raw patterns of ``exclude`` (see ClassSet._exclusions)


@dataclass(frozen=True, eq=False)
class _Alternation:
    """A list of patterns joined into one (an exclusion list), seen like a category's patterns
    (``pattern`` and its ``sources``) so that ClassSet._screened can screen it branch by branch."""

    pattern: Any
    sources: tuple[str, ...]


@dataclass
class ClassSet:
    """All classes of an audit (built-in plus packs) and the negation scope they share."""

    classes: dict[str, ClassDef]
    scope: Scope
    sentence_separators: str = DEFAULT_SENTENCE_SEPARATORS
    origin: tuple[str, ...] = ("built-in",)
    _prefilters: dict[str, Any] = field(default_factory=dict, repr=False)
    _cache: dict[tuple[str, str], tuple[Match, ...]] = field(default_factory=dict, repr=False)
    # Per category (by id): how often it was scanned, and once that passes _SCREEN_AFTER, its
    # patterns compiled one by one (see _screened).
    _scans: dict[int, int] = field(default_factory=dict, repr=False)
    _screens: dict[int, Any] = field(default_factory=dict, repr=False)
    # Per category (by id): its branches (see _Branches; None when they cannot stand for the
    # joined pattern), and the patterns made of some of them (see _subset).
    _branches: dict[int, _Branches | None] = field(default_factory=dict, repr=False)
    _subsets: dict[tuple[int, tuple[int, ...]], Any] = field(default_factory=dict, repr=False)
    # Per exclusion pattern (by id): it as an _Alternation (kept, so its id stays its own).
    _alternations: dict[int, _Alternation] = field(default_factory=dict, repr=False)
    # Names this class set's results kept on a TextIndex (an id() could be reused).
    _serial: int = field(default_factory=lambda: next(_SERIALS), repr=False)

    def __post_init__(self) -> None:
        self._sentence = compile_regex(self.sentence_separators)

    def __getstate__(self) -> dict:  # picklable for cluster engines (caches are rebuilt)
        state = dict(self.__dict__)
        state["_prefilters"], state["_cache"], state["_scans"], state["_screens"] = {}, {}, {}, {}
        state["_branches"], state["_subsets"], state["_alternations"] = {}, {}, {}
        return state

    def names(self) -> list[str]:
        """The class names, sorted."""
        return sorted(self.classes)

    def get(self, name: str) -> ClassDef:
        """The class ``name``; a RuleError naming the known classes when there is none."""
        try:
            return self.classes[name]
        except KeyError:
            raise RuleError(f"no class '{name}' (known: {', '.join(self.names())})") from None

    # -- one text -------------------------------------------------------------------------
    def find(self, name: str, norm_text: str) -> list[Match]:
        """The matches of class ``name`` in one normalized text, in text order (overlapping
        matches of different categories are all kept)."""
        key = (name, norm_text)
        cached = self._cache.get(key)
        if cached is None:
            cached = tuple(self._find(name, norm_text, frozenset()))
            self._remember(key, cached)
        return list(cached)

    def first(self, name: str, norm_text: str) -> Match | None:
        """The earliest match of class ``name``, or None."""
        found = self.find(name, norm_text)
        return found[0] if found else None

    def matches(self, name: str, norm_text: str) -> bool:
        """Does ``norm_text`` belong to class ``name``?"""
        return bool(self.find(name, norm_text))

    def _remember(self, key: tuple[str, str], found: tuple[Match, ...]) -> None:
        """Keep the matches of ``key`` (class, text). Past :data:`_CACHE_LIMIT` entries the older
        half goes, not the whole cache: a rule asks again for the matches of the texts its masks
        just judged (the cue of a finding), and clearing everything made it find them all again
        (a tenth of the class work on a log of mostly distinct texts)."""
        cache = self._cache
        if len(cache) >= _CACHE_LIMIT:
            for old in list(itertools.islice(cache, len(cache) // 2)):
                del cache[old]
        cache[key] = found

    def _find(self, name: str, text: str, seen: frozenset[str],
              hints: dict[int, dict[int, tuple[int, ...]]] | None = None, row: int = -1) -> list[Match]:
        """The matches of class ``name`` (and the classes it includes) in ``text``. ``hints``
        (from :meth:`_branch_hints`, ``text`` being its ``row``) name per category the branches
        that may occur in the text: only those are tried, and only the ones present run."""
        cls = self.get(name)
        found: list[Match] = []
        class_excluded: list[tuple[int, int]] | None = None
        for category in cls.categories:
            if category.pattern is None:
                continue
            hinted = hints.get(id(category)) if hints is not None else None
            if hinted is not None:
                pattern = self._present_pattern(category, text, hinted.get(row, ()))
                if pattern is None:
                    continue
            else:
                pattern = self._screened(category, text)
                if pattern is None:
                    continue
            excluded: list[tuple[int, int]] | None = None
            position = 0
            # (a pattern that can match nothing finds its empty match at the end again and again)
            while position <= len(text) and (hit := pattern.search(text, position)) is not None:
                start, end = hit.span()
                position = end if end > start else start + 1
                if end == start:
                    continue
                if excluded is None:  # only a text with a match needs its exclusions
                    if class_excluded is None:
                        class_excluded = self._exclusions(cls.exclude, cls.exclude_sources, text)
                    excluded = class_excluded + self._exclusions(category.exclude, category.exclude_sources, text)
                if any(s < end and start < e for s, e in excluded):
                    # an excluded match (评论都差不多…) hides no later one that starts inside it
                    # (销量是刷出来的吧): look again from the next character
                    position = start + 1
                    continue
                if self._dropped(cls, text, start, end):
                    continue
                asks = cls.question if category.question is None else category.question
                if asks and self.scope.question(text, start, end):
                    continue
                if category.word_boundaries and crosses_word(text, start, end):
                    continue
                found.append(Match(start, end, hit.group(), name, category.name, category.label_zh, category.label_en))
        for other in cls.include:
            if other in seen or other == name:
                continue
            found.extend(self._find(other, text, seen | {name}, hints, row))
        found.sort(key=lambda m: (m.start, -(m.end - m.start)))
        return found

    def _find_many(self, name: str, texts: pa.Array) -> list[bool]:
        """:meth:`matches` of class ``name`` for each of many texts (an Arrow string array),
        found as :meth:`find` finds them (and kept in the same cache). Many texts at once let a
        vectorised RE2 pass per branch name the few branches worth trying in each text."""
        values = texts.to_pylist()
        out = [False] * len(values)
        todo: list[int] = []
        for i, text in enumerate(values):
            cached = self._cache.get((name, text))
            if cached is None:
                todo.append(i)
            else:
                out[i] = bool(cached)
        if not todo:
            return out
        hints = None
        if len(todo) >= _HINT_MIN_TEXTS:
            hints = self._branch_hints(name, texts.take(pa.array(todo, type=pa.int64())) if len(todo) < len(values)
                                       else texts)
        # With every category hinted, a text no branch may occur in has no match: no need to look.
        rows_hinted: set[int] | None = None
        if hints is not None:
            categories = [c for member in self._closure(name) for c in self.classes[member].categories
                          if c.pattern is not None]
            if all(id(c) in hints for c in categories):
                rows_hinted = set().union(*(hints[id(c)].keys() for c in categories))
        for row, i in enumerate(todo):
            if rows_hinted is not None and row not in rows_hinted:
                found: tuple[Match, ...] = ()
            else:
                found = tuple(self._find(name, values[i], frozenset(), hints, row))
            self._remember((name, values[i]), found)
            out[i] = bool(found)
        return out

    def _branch_hints(self, name: str, texts: pa.Array) -> dict[int, dict[int, tuple[int, ...]]]:
        """Per category of class ``name`` and the classes it includes (by id): for each text
        (row of ``texts``) the branches whose RE2 form (a superset, as for the class
        pre-filter) occurs in it; a row with none is left out. Categories of few branches, and
        those whose branches cannot stand for their joined pattern, get no entry (they are
        screened as before)."""
        hints: dict[int, dict[int, tuple[int, ...]]] = {}
        every = None
        values: list[str] | None = None
        for member in self._closure(name):
            for category in self.classes[member].categories:
                if category.pattern is None or id(category) in hints:
                    continue
                branches = self._branches_of(category)
                if branches is None or (len(category.sources) < _SCREEN_MIN_BRANCHES
                                        and not any(branches.required)):
                    continue  # the class pre-filter already tried these few
                if branches.literals is not None and _literal_hints_cheaper(len(branches.sources), len(texts)):
                    if values is None:
                        values = texts.to_pylist()
                    hints[id(category)] = self._literal_hints(branches, texts, values)
                    continue
                if every is None:
                    every = np.ones(len(texts), dtype=bool)
                columns = [_re2_hits(form, required, texts, every)
                           for form, required in zip(branches.re2, branches.required)]
                rows, which = np.nonzero(np.column_stack(columns)) if columns else ((), ())
                per_row: dict[int, list[int]] = {}
                for r, b in zip(np.asarray(rows).tolist(), np.asarray(which).tolist()):
                    per_row.setdefault(r, []).append(b)
                hints[id(category)] = {r: tuple(bs) for r, bs in per_row.items()}
        return hints

    @staticmethod
    def _literal_hints(branches: _Branches, texts: pa.Array, values: list[str]) -> dict[int, tuple[int, ...]]:
        """:meth:`_branch_hints` of one category of many branches: per row, the branches whose
        words occur in it (:class:`qa.literals.LiteralScreen`, one Aho-Corasick pass per text)
        and those without words whose RE2 form does. An RE2 pass per branch costs a pyarrow
        compile each (~0.3 ms, upset's 142 branches 40 ms a call) and a scan of every text."""
        screen = branches.literals
        always = sorted(screen.always)
        every = np.ones(len(texts), dtype=bool)
        found = {b: _re2_hits(branches.re2[b], branches.required[b], texts, every) for b in always}
        per_row: dict[int, tuple[int, ...]] = {}
        for r, text in enumerate(values):
            maybe = screen.worded(text)
            for b in always:
                if found[b][r]:
                    maybe.add(b)
            if maybe:
                per_row[r] = tuple(sorted(maybe))
        return per_row

    def _branches_of(self, category: Category | _Alternation) -> _Branches | None:
        """The branches of ``category``'s joined pattern (cached), or None when rebuilding the
        joined pattern from them does not give it back exactly."""
        key = id(category)
        if key in self._branches:
            return self._branches[key]
        ordered = sorted({s for s in category.sources if s.strip()}, key=lambda p: (-len(p), p))
        plan: _Branches | None = None
        if ordered and join_alternatives(ordered) == category.pattern.pattern:
            flags = category.pattern.flags
            compiled = tuple(compile_regex(source, flags, store="large") for source in ordered)
            # the words a branch's every match contains hold only for case-sensitive patterns
            literals = None if flags & (regex.IGNORECASE | regex.VERBOSE) else LiteralScreen(ordered)
            plan = _Branches(tuple(ordered), compiled, tuple(_re2_form(source) for source in ordered),
                             tuple(branch.groups > 0 for branch in compiled), flags,
                             tuple(_required_form(source) for source in ordered),
                             literals if literals is not None and literals.useful else None)
        self._branches[key] = plan
        return plan

    def _present_pattern(self, category: Category, text: str, maybe: tuple[int, ...]) -> Any:
        """The pattern to run on ``text`` for ``category`` given the branches that may occur in
        it (``maybe``): None when none does, else the joined pattern with only the branches
        that may (one) or do (several; :meth:`_subset`)."""
        if not maybe:
            return None
        branches = self._branches[id(category)]
        if len(maybe) == 1:  # running that one branch is as cheap as looking for it
            return self._subset(category, branches, maybe)
        present = tuple(b for b in maybe if branches.compiled[b].search(text) is not None)
        if not present:
            return None
        return self._subset(category, branches, present)

    def _subset(self, category: Category | _Alternation, branches: _Branches, present: tuple[int, ...]) -> Any:
        """The joined pattern of ``category`` without the branches not in ``present``.

        A branch that occurs nowhere in a text matches at no position of it, so leaving it
        out of the alternation changes no match there: the alternatives left are tried in the
        same order. A branch left out that holds groups stays as a branch that never matches
        (``(?!)`` before it), so the groups keep their numbers, and the back-references
        :func:`join_alternatives` renumbers keep theirs."""
        key = (id(category), present)
        compiled = self._subsets.get(key)
        if compiled is None:
            if len(present) == len(branches.sources):
                compiled = category.pattern
            else:
                keep = set(present)
                parts = [source if b in keep else f"(?!)(?:{source})"
                         for b, source in enumerate(branches.sources) if b in keep or branches.groups[b]]
                compiled = compile_regex(join_alternatives(parts), branches.flags, store="large")
            self._subsets[key] = compiled
        return compiled

    def _screened(self, category: Category | _Alternation, text: str) -> Any:
        """The pattern to run on ``text`` for ``category``, or None when no pattern of it occurs
        there (then its joined pattern finds nothing either). The ``regex`` module scans a long
        alternation several times slower than its branches one by one, and most texts that
        reach here (the RE2 pre-filter is loose) hold none of them: a category scanned often
        is first screened branch by branch, and the branches found run alone
        (:meth:`_subset`). Compiling the branches costs a few milliseconds per category, so
        small audits never do it; the result is the same either way."""
        key = id(category)
        screen = self._screens.get(key)
        if screen is None:
            scans = self._scans[key] = self._scans.get(key, 0) + 1
            if scans < _SCREEN_AFTER or len(category.sources) < _SCREEN_MIN_BRANCHES:
                return category.pattern
            branches = self._branches_of(category)
            screen = self._screens[key] = branches if branches is not None else tuple(
                compile_regex(source, category.pattern.flags, store="large")
                for source in dict.fromkeys(category.sources)
                if source.strip()
            )
        if isinstance(screen, _Branches):
            compiled = screen.compiled
            # only the branches whose words occur in the text can match there (one Aho-Corasick
            # pass instead of a search per branch: rhetorical's 283 searches were most of it)
            maybe = range(len(compiled)) if screen.literals is None else screen.literals.possible(text)
            present = tuple(b for b in maybe if compiled[b].search(text) is not None)
            return self._subset(category, screen, present) if present else None
        return category.pattern if any(branch.search(text) for branch in screen) else None

    def _exclusions(self, pattern: Any, sources: tuple[str, ...], text: str) -> list[tuple[int, int]]:
        """The spans of the exclusion ``pattern`` (joined from ``sources``) in ``text``: where
        each position's first matching alternative matches (overlapped). A long list is screened
        like a category (:meth:`_screened`): an alternative that occurs nowhere in the text is
        first at no position, so leaving it out changes no span, and the ``regex`` module scans
        the alternatives present alone several times faster than the whole alternation at every
        position (upset's 35 exclusions: a quarter of the class work on a log of distinct texts).
        Lists shorter than :data:`_SCREEN_MIN_EXCLUSIONS` run whole: screening them costs as much
        as it saves."""
        if pattern is None:
            return []
        if len(sources) < _SCREEN_MIN_EXCLUSIONS:
            return _spans(pattern, text)
        alternation = self._alternations.get(id(pattern))
        if alternation is None:
            alternation = self._alternations[id(pattern)] = _Alternation(pattern, sources)
        screened = self._screened(alternation, text)
        return [] if screened is None else _spans(screened, text)

    def _dropped(self, cls: ClassDef, text: str, start: int, end: int) -> bool:
        # a negator negates words: 不冲！！！ is a refusal shouted, not a negated ！！！
        negation = cls.negation and _WORD.search(text, start, end) is not None
        if (negation or cls.condition) and self.scope.in_scope(
            text, start, end, negation=negation, condition=cls.condition
        ):
            return True
        if cls.consequence and self.scope.consequence(text, start, end):
            return True
        if cls.hypothetical is not None:
            left = self.scope.clause_start(text, start)
            if cls.hypothetical.search(text, left, start):
                return True
        if cls.question_after > 0:
            tail = text[end : end + cls.question_after + 1]
            if tail[:1] and _QUESTION_TAIL.search(tail):
                # 过敏吗 / 会受伤? : a question about the risk, not a report of harm
                stop = self.scope.clause_end(text, end)
                if _QUESTION_TAIL.search(text, end, min(stop + 1, end + cls.question_after + 1)):
                    return True
        return False

    def sentences(self, norm_text: str) -> list[tuple[int, int]]:
        """Spans of the sentences of a normalized text (sentence punctuation and a space between
        longer runs of text end a sentence; commas do not). Empty sentences are skipped."""
        spans: list[tuple[int, int]] = []
        start = 0
        for sep in self._sentence.finditer(norm_text):
            if sep.start() > start and norm_text[start : sep.start()].strip():
                spans.append(_trimmed(norm_text, start, sep.start()))
            start = sep.end()
        if start < len(norm_text) and norm_text[start:].strip():
            spans.append(_trimmed(norm_text, start, len(norm_text)))
        return spans

    # -- whole columns --------------------------------------------------------------------
    def mask(self, name: str, norm: pd.Series) -> pd.Series:
        """Boolean Series: which normalized texts belong to class ``name``.

        A vectorised RE2 pre-filter (pyarrow, look-arounds stripped) picks candidates among
        the distinct texts; each distinct candidate is then checked once in Python
        (exclusions, negation scope)."""
        if not len(norm):
            return pd.Series(np.zeros(0, dtype=bool), index=norm.index, dtype=bool)
        return pd.Series(self.row_mask(name, norm), index=norm.index, dtype=bool)

    def candidates(self, name: str, norm: pd.Series) -> np.ndarray:
        """Vectorised superset of :meth:`mask` (no exclusions, no scope): a numpy bool array."""
        if not len(norm):
            return np.zeros(0, dtype=bool)
        return self.row_candidates(name, norm)

    def row_mask(self, name: str, norm: pd.Series, rows: np.ndarray | None = None) -> np.ndarray:
        """:meth:`mask` of the rows ``rows`` (positions or a bool mask; all when None) of a
        whole normalized column, as a bool array over those rows. Passing the whole column
        lets every caller share its distinct texts and the results already found for them."""
        index = text_index(norm)
        hits = self._distinct_hits(index, name, index.present(rows), exact=True)
        return hits[index.codes if rows is None else index.codes[rows]]

    def row_mask_any(self, names: list[str], norm: pd.Series, rows: np.ndarray) -> np.ndarray:
        """Which of the rows at positions ``rows`` of a whole normalized column belong to any of
        the classes ``names``, as a bool array over ``rows``. A row one class took is not judged
        for the next ones (the union is the same; the later classes judge fewer texts)."""
        index = text_index(norm)
        return _any_class(names, rows, lambda name, some: self.row_mask(name, norm, some),
                          self._known_members(names, index, index.codes[rows]))

    def distinct_mask(self, name: str, index: TextIndex, codes: np.ndarray) -> np.ndarray:
        """:meth:`matches` of class ``name`` for the distinct texts ``codes`` of ``index``, as a
        bool array over ``codes``: found as :meth:`row_mask` finds them, all at once, and kept
        the same way (:meth:`judged` reads them)."""
        codes = np.asarray(codes, dtype=np.int64)
        needed = np.zeros(len(index.uniques), dtype=bool)
        needed[codes] = True
        return self._distinct_hits(index, name, needed, exact=True)[codes]

    def distinct_mask_any(self, names: list[str], index: TextIndex, codes: np.ndarray) -> np.ndarray:
        """Which of the distinct texts ``codes`` belong to any of the classes ``names``
        (:meth:`distinct_mask`); a text one class took is not judged for the next ones, as in
        :meth:`row_mask_any`."""
        codes = np.asarray(codes, dtype=np.int64)
        return _any_class(names, codes, lambda name, some: self.distinct_mask(name, index, some),
                          self._known_members(names, index, codes))

    def _known_members(self, names: list[str], index: TextIndex, codes: np.ndarray) -> np.ndarray:
        """Which of the distinct texts ``codes`` of ``index`` a class mask already found to belong to
        one of the classes ``names`` (the verdicts kept on the index): :func:`_any_class` judges no
        class of them again (a rule asking for any of many classes, most found by earlier rules)."""
        known = np.zeros(len(codes), dtype=bool)
        for name in names:
            verdicts = self.verdicts(name, index)
            if verdicts is not None:
                known |= verdicts[codes] > 0
        return known

    def judged(self, name: str, index: TextIndex, code: int) -> bool | None:
        """Whether distinct text ``code`` of ``index`` belongs to class ``name``, as a
        :meth:`row_mask` over that column already found (None when it has not judged it)."""
        known = self.verdicts(name, index)
        if known is None:
            return None
        verdict = int(known[code])
        return None if verdict < 0 else verdict > 0

    def verdicts(self, name: str, index: TextIndex) -> np.ndarray | None:
        """The verdicts of class ``name`` over the distinct texts of ``index`` found so far (int8
        per text: 1 member, 0 not, -1 not judged yet; updated in place as more are judged), or
        None before the first :meth:`row_mask` of that column: for loops asking :meth:`judged`
        of text after text."""
        return index.memo.get((self._serial, name, True))

    def row_candidates(self, name: str, norm: pd.Series, rows: np.ndarray | None = None) -> np.ndarray:
        """:meth:`candidates` of the rows ``rows`` of a whole normalized column."""
        index = text_index(norm)
        hits = self._distinct_hits(index, name, index.present(rows), exact=False)
        return hits[index.codes if rows is None else index.codes[rows]]

    def _distinct_hits(self, index: TextIndex, name: str, needed: np.ndarray, exact: bool) -> np.ndarray:
        """Bool array over the distinct texts of ``index``: candidates (``exact`` False) or
        members of class ``name``, for the ``needed`` distinct texts (others False); each text
        is judged once per column and carried between partitions (:func:`judged_once`)."""

        def judge(todo: np.ndarray) -> np.ndarray:
            if not exact:
                return self._prefiltered(name, index.uniques.take(pa.array(todo)))
            candidates = index.memo.get((self._serial, name, False))
            if (candidates is None or (candidates[todo] < 0).any()) and self._words_screen_cheaper(name, len(todo)):
                # not kept as the class's candidates: a narrower superset than those of the RE2
                # pre-filter (what candidates() answers), good only for finding the members
                candidate = self._worded_candidates(name, index.uniques.take(pa.array(todo)))
            else:
                wanted = np.zeros(len(index.uniques), dtype=bool)
                wanted[todo] = True
                candidate = self._distinct_hits(index, name, wanted, exact=False)[todo]
            result = np.zeros(len(todo), dtype=bool)
            chosen = np.flatnonzero(candidate)
            if len(chosen):
                result[chosen] = self._find_many(name, index.uniques.take(pa.array(todo[chosen])))
            return result

        return judged_once(index, (self._serial, name, exact), needed, judge)

    def _words_screen_cheaper(self, name: str, texts: int) -> bool:
        """Is :meth:`_worded_candidates` cheaper than the whole pre-filter for ``texts`` texts?
        The pre-filter costs a pyarrow compile per piece whatever the number of texts (~0.6 ms
        for a piece of 800 characters), the words one Aho-Corasick pass per text (~3 µs)."""
        if texts <= FEW_TEXTS_TO_SCREEN or self._prefilter_sources(name) is None:
            return False
        return texts * _WORDS_US_PER_TEXT < len(self._prefilter_pieces(name)) * _RE2_US_PER_PIECE

    def _worded_candidates(self, name: str, texts: pa.Array) -> np.ndarray:
        """A superset of the members of class ``name`` among ``texts`` (no nulls): the RE2
        pre-filter made of only the patterns whose words occur in some text of them (the
        patterns without words always in). A text of the class matches one of its patterns, so
        holds that pattern's words, so that pattern's RE2 form is in and matches the text. A
        few hundred texts hold the words of a tenth of upset's patterns: 3 pieces to compile and
        run instead of 22 (measured on 300 and 1,000 customer texts of the benchmark log: upset
        14 -> 3 ms and 17 -> 6 ms, doubt 12 -> 3 ms and 14 -> 7 ms; the same candidates)."""
        if texts.null_count:
            return self._prefiltered(name, texts)
        key = ("words", name)
        screen = self._prefilters.get(key)
        if screen is None:
            screen = self._prefilters[key] = LiteralScreen(
                [s for member in self._closure(name) for category in self.classes[member].categories
                 for s in category.sources])
        present = set(screen.always)
        for text in texts.to_pylist():
            present |= screen.worded(text)
        if not present:
            return np.zeros(len(texts), dtype=bool)
        relaxed = self._prefilter_sources(name)
        return match_pieces(texts, prefilter_pieces([relaxed[i] for i in sorted(present)]))

    def _prefiltered(self, name: str, texts: pa.Array) -> np.ndarray:
        if len(texts) <= FEW_TEXTS_TO_SCREEN and not texts.null_count and name not in self._prefilters:
            # A few texts are all candidates (as below), whatever the pre-filter: it is not built
            # (the RE2 form of every pattern of a big class, thousands of look-ups) unless the
            # class has no pattern at all (no candidate then).
            has_patterns = any(category.sources for member in self._closure(name)
                               for category in self.classes[member].categories)
            return np.full(len(texts), has_patterns, dtype=bool)
        prefilter = self._prefilter(name)
        if prefilter is None:
            return np.ones(len(texts), dtype=bool)
        if prefilter == "":
            return np.zeros(len(texts), dtype=bool)
        if len(texts) <= FEW_TEXTS_TO_SCREEN:  # candidates are a superset: every text is one
            return valid_mask(texts)
        # One alternation of a big class (provocation reads a dozen lists) overflows RE2's DFA and
        # runs hundreds of times slower: pieces of a few hundred characters each stay in it.
        return match_pieces(texts, self._prefilter_pieces(name))

    def _prefilter_pieces(self, name: str) -> tuple[str, ...]:
        """:meth:`_prefilter` as :func:`qa.regexutil.prefilter_pieces` (for a class that has one)."""
        key = ("pieces", name)
        if key not in self._prefilters:
            self._prefilters[key] = prefilter_pieces(self._prefilter_sources(name))
        return self._prefilters[key]

    def _prefilter(self, name: str) -> str | None:
        """RE2 pattern matching every text the class matches; None when not expressible."""
        if name in self._prefilters:
            return self._prefilters[name]
        relaxed = self._prefilter_sources(name)
        result = None if relaxed is None else "|".join(f"(?:{r})" for r in relaxed)  # [] -> ""
        self._prefilters[name] = result
        return result

    def _prefilter_sources(self, name: str) -> list[str] | None:
        """The RE2 form of every pattern of class ``name`` (its members' too); None when one
        has none."""
        relaxed = [_re2_form(s) for member in self._closure(name)
                   for category in self.classes[member].categories for s in category.sources]
        return None if any(r is None for r in relaxed) else relaxed

    def _closure(self, name: str) -> list[str]:
        order, todo = [], [name]
        while todo:
            current = todo.pop()
            if current in order:
                continue
            self.get(current)
            order.append(current)
            todo.extend(self.classes[current].include)
        return order


@dataclass(frozen=True)
class _Branches:
    """The branches of a category's joined pattern, in its order (see ClassSet._subset)."""

    sources: tuple[str, ...]
    compiled: tuple[Any, ...]  # each alone, with the joined pattern's flags
    re2: tuple[str | None, ...]  # each one's RE2 superset form (None: none)
    groups: tuple[bool, ...]  # whether it holds groups
    flags: int
    required: tuple[str | None, ...] = ()  # each one's RE2 form of what it looks ahead for (None: nothing)
    literals: LiteralScreen | None = None  # which may occur in a text, from their words (None: no words)


_LOOKAHEAD_OPEN = "^(?=.*"


def _required_form(source: str) -> str | None:
    """The RE2 superset form of X for a branch opening with ``^(?=.*X)``: X occurs in every
    text the branch matches, which the branch's own RE2 form (look-arounds dropped) does not
    say. None for other branches, or when X has no RE2 form."""
    if not source.startswith(_LOOKAHEAD_OPEN):
        return None
    depth = 1
    for i, token, in_set in pattern_tokens(source):
        if i < len(_LOOKAHEAD_OPEN) or in_set or len(token) > 1:
            continue
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth == 0:
                inner = source[len(_LOOKAHEAD_OPEN) : i]
                return _re2_form(inner) if inner.strip() else None
    return None


def _re2_hits(form: str | None, required: str | None, texts: pa.Array, every: np.ndarray) -> np.ndarray:
    """Where a branch's RE2 ``form`` and ``required`` form (None: any text) both match in ``texts``."""
    if form is None and required is None:
        return every
    hit = np.ones(len(texts), dtype=bool)
    for piece in (form, required):
        if piece is not None:
            found = pc.fill_null(pc.match_substring_regex(texts, piece), False)
            hit &= found.to_numpy(zero_copy_only=False).astype(bool)
    return hit


_WORD = compile_regex(r"[\p{L}\p{N}]")
# Matches kept per (class, text) by ClassSet.find (most are empty: a text outside the class).
_CACHE_LIMIT = 200_000
# Below this many texts judged at once, the per-branch RE2 pass of ClassSet._find_many costs more
# than it saves: pyarrow compiles each branch's RE2 form on every call. Measured per call on the
# real JDDC chats (warm caches): up to ~250 texts the pass took 2-10 times as long as running the
# patterns directly (upset on 35 texts: 23 ms against 4 ms), from ~400 about the same, at 2,700
# it saved three quarters (no-offer: 12 ms against 42 ms). Same results either way.
_HINT_MIN_TEXTS = 256
# A category is screened branch by branch (ClassSet._screened) from its 200th scan on, when it
# has this many branches or more.
_SCREEN_AFTER = 200
_SCREEN_MIN_BRANCHES = 4
# ClassSet._branch_hints of a category, per text from its branches' words (one Aho-Corasick pass,
# ~1.8 µs a text) or per branch by RE2 (a pyarrow compile, ~250 µs, and ~0.15 µs a text). Measured on
# 300 to 30,000 distinct texts of a --distinct 0.9 log: the words took an eighth to a sixth of the RE2
# time for upset (142 branches) to reassurance (40), a fifth to a half for 10 to 21 branches; only
# handling (7 branches) over 30,000 texts was faster by RE2 (35 ms against 54).
_HINT_US_PER_TEXT_WORDS = 1.8
_HINT_US_PER_BRANCH_RE2 = 250.0
_HINT_US_PER_TEXT_RE2 = 0.15
# ClassSet._words_screen_cheaper: a class's words looked up in a text (its closure's automaton),
# and a pyarrow compile of one pre-filter piece, in µs (measured as above).
_WORDS_US_PER_TEXT = 3.0
_RE2_US_PER_PIECE = 600.0


def _literal_hints_cheaper(branches: int, texts: int) -> bool:
    """Are a category's branch hints cheaper from its words than by an RE2 pass per branch?"""
    return texts * _HINT_US_PER_TEXT_WORDS < branches * (_HINT_US_PER_BRANCH_RE2 + texts * _HINT_US_PER_TEXT_RE2)
# An exclusion list is screened so from this many patterns on (measured on 20,000 distinct texts
# of the benchmark log: upset's 35 and provocation's 30 took a quarter and two thirds of the time
# screened; lists of 15 to 19 about as long either way).
_SCREEN_MIN_EXCLUSIONS = 24


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end)


def _spans(pattern: Any, text: str) -> list[tuple[int, int]]:
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(text, overlapped=True)]


@disk_memo
def _re2_form(pattern: str) -> str | None:
    """A pattern RE2 (pyarrow) can run that matches at least wherever ``pattern`` does (for
    the pre-filter), or None."""
    candidate = relax_counts(strip_lookarounds(expand_backreferences(pattern)))
    if not candidate:
        return None
    if re2_valid(candidate):
        return candidate
    widened = _widen_ascii_escapes(candidate)
    return widened if widened is not None and re2_valid(widened, allow_ascii=True) else None


# Unicode whitespace that RE2's ASCII \s misses: separators (\p{Z}) and controls (\x1c-\x1f, \x85).
_WIDE_SPACE = r"\s\p{Z}\p{Cc}"


def _widen_ascii_escapes(pattern: str) -> str | None:
    """``pattern`` with \\s and \\W made to match at least what they match in the ``regex``
    module, so RE2 can pre-filter with it: RE2's \\W (not an ASCII word character) already
    takes in every non-ASCII character; \\s gains the Unicode separators and controls. None
    when another ASCII-only escape (\\w \\d \\b …) or \\s/\\W in a negated set remains."""
    out: list[str] = []
    negated, was_in_set = False, False
    for i, token, in_set in pattern_tokens(pattern):
        opens, was_in_set = in_set and not was_in_set, in_set
        if opens:
            negated = pattern[i + 1 : i + 2] == "^"
        if token in ("\\s", "\\W"):
            if in_set and negated:
                return None
            out.append(token if token == "\\W" else (_WIDE_SPACE if in_set else f"[{_WIDE_SPACE}]"))
            continue
        if len(token) == 2 and token[1:] in ("w", "d", "b", "B", "S", "D"):
            return None
        out.append(token)
    return "".join(out)


# -- loading ------------------------------------------------------------------------------
def builtin_classes_file() -> Path:
    """The built-in ``classes.toml`` (beside the built-in rules)."""
    return builtin_rules_dir() / CLASSES_FILE


@lru_cache(maxsize=1)
def builtin_classes() -> ClassSet:
    """The built-in classes (cached)."""
    return load_classes()


def default_scope() -> Scope:
    """The built-in negation/condition scope (``[negation]`` of the built-in ``classes.toml``)."""
    return builtin_classes().scope


def in_scope(text: str, start: int, end: int, scope: Scope | None = None, *, negation: bool = True,
             condition: bool = True) -> str | None:
    """Is the match ``text[start:end]`` of a normalized text negated or conditional?

    Returns ``"negation"``, ``"condition"`` or None. ``scope`` defaults to the built-in one."""
    return (scope or default_scope()).in_scope(text, start, end, negation=negation, condition=condition)


def classes_of(rule: Any) -> ClassSet:
    """The class set a rule was loaded with (built-in when the rule carries none)."""
    found = getattr(rule, "classes", None)
    return found if found is not None else builtin_classes()


def class_files(paths: Iterable[Path]) -> list[Path]:
    """The ``classes.toml`` files of rule pack paths (folders holding one, or the file itself)."""
    files = []
    for path in paths:
        path = Path(path)
        if path.is_dir() and (path / CLASSES_FILE).is_file():
            files.append(path / CLASSES_FILE)
        elif path.is_file() and path.name == CLASSES_FILE:
            files.append(path)
    return files


def load_classes(*packs: Path, include_builtin: bool = True) -> ClassSet:
    """Load the built-in classes, then each pack's ``classes.toml`` in order.

    ``packs`` are rule pack folders or ``classes.toml`` files; folders without one are
    skipped. Problems are RuleErrors naming file and line."""
    files = ([builtin_classes_file()] if include_builtin else []) + class_files(packs)
    # A ClassSet is read-only, and compiling the classes is most of a small audit's start-up
    # (load_rules validates with them and the checks run with them), so one load per set of
    # files serves both; the stamp makes an edited file load afresh.
    return _load_files(tuple((path, *_stamp(path)) for path in files), include_builtin)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError:
        return (0, 0)
    return (status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=16)
def _load_files(stamped: tuple[tuple[Path, int, int], ...], include_builtin: bool) -> ClassSet:
    raw: dict[str, Any] = {"negation": {}, "sentences": {}, "macros": [], "classes": {}}
    origin: list[str] = []
    files = [path for path, *_ in stamped]
    for index, path in enumerate(files):
        _merge_file(raw, path, first=index == 0 and include_builtin)
        origin.append("built-in" if index == 0 and include_builtin else str(path))
    return _compile(raw, origin)


def _fail(path: Path, text: str, key: str, problem: str) -> RuleError:
    return RuleError(f"{path}:{line_of(text, key)}: {problem}")


def _merge_file(raw: dict[str, Any], path: Path, first: bool) -> None:
    data, text = read_toml(path, RuleError)
    for key in data:
        if key not in TOP_KEYS:
            raise _fail(path, text, key, f"unknown key '{key}' (allowed: {', '.join(sorted(TOP_KEYS))})")

    def lines_of(value: Any, key: str) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(path, text, key, f"{key} must be a list of strings")
        return list(value)

    def read_lists(table: dict[str, Any], where: str) -> dict[str, Any]:
        """Inline lists plus ``*_file`` lists of one class/category table."""
        out = dict(table)
        for key in ("patterns", "exclude"):
            items = lines_of(table.get(key, []), key) if key in table else []
            file_key = f"{key}_file"
            if file_key in table:
                for name in lines_of(table[file_key], file_key):
                    items += read_list_file(path.parent / name, path, text, file_key)
                del out[file_key]
            if key in table or file_key in table:
                out[key] = items
        return out

    negation = data.get("negation", {})
    if not isinstance(negation, dict):
        raise _fail(path, text, "negation", "[negation] must be a table")
    for key, value in negation.items():
        if key not in NEGATION_KEYS:
            raise _fail(path, text, key, f"unknown key 'negation.{key}' (allowed: {', '.join(sorted(NEGATION_KEYS))})")
        if key in ("window", "short_window"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise _fail(path, text, key, f"negation.{key} must be a whole number >= 0")
        elif key == "clause_separators":
            if not isinstance(value, str):
                raise _fail(path, text, key, "negation.clause_separators must be a regex string")
            _compile_or_fail(value, path, text, key)
        else:
            lines_of(value, key)
        raw["negation"][key] = value
    sentences = data.get("sentences", {})
    if not isinstance(sentences, dict) or set(sentences) - {"separators"}:
        raise _fail(path, text, "sentences", "[sentences] takes only separators = '<regex>'")
    if "separators" in sentences:
        _compile_or_fail(str(sentences["separators"]), path, text, "separators")
        raw["sentences"]["separators"] = sentences["separators"]
    if "macros" in data:
        raw["macros"] = raw["macros"] + lines_of(data["macros"], "macros")
    classes = data.get("classes", {})
    if not isinstance(classes, dict):
        raise _fail(path, text, "classes", "[classes.<name>] tables expected")
    for name, table in classes.items():
        if not isinstance(table, dict):
            raise _fail(path, text, name, f"classes.{name} must be a table")
        for key in table:
            if key not in CLASS_KEYS:
                raise _fail(path, text, key, f"unknown key 'classes.{name}.{key}' (allowed: {', '.join(sorted(CLASS_KEYS))})")
        table = read_lists(table, name)
        for key in ("roles", "hypothetical", "include"):
            if key in table:
                table[key] = lines_of(table[key], key)
        for key in ("negation", "condition", "question", "consequence"):
            if key in table and not isinstance(table[key], bool):
                raise _fail(path, text, key, f"classes.{name}.{key} must be true or false")
        if "question_after" in table and (not isinstance(table["question_after"], int) or isinstance(table["question_after"], bool)):
            raise _fail(path, text, "question_after", f"classes.{name}.question_after must be a whole number")
        if "categories" in table:
            cats = table["categories"]
            if not isinstance(cats, list) or not all(isinstance(c, dict) for c in cats):
                raise _fail(path, text, "categories", f"classes.{name}.categories must be [[classes.{name}.categories]] tables")
            merged = {c["name"]: c for c in raw["classes"].get(name, {}).get("categories", [])}
            for cat in cats:
                for key in cat:
                    if key not in CATEGORY_KEYS:
                        raise _fail(path, text, key, f"unknown key '{key}' in a category of class {name} (allowed: {', '.join(sorted(CATEGORY_KEYS))})")
                if "question" in cat and not isinstance(cat["question"], bool):
                    raise _fail(path, text, "question", f"category {cat.get('name')} of class {name}: question must be true or false")
                if not isinstance(cat.get("name"), str):
                    raise _fail(path, text, "categories", f"each category of class {name} needs name = \"...\"")
                cat = read_lists(cat, cat["name"])
                merged[cat["name"]] = {**merged.get(cat["name"], {}), **cat}
            table["categories"] = list(merged.values())
        raw["classes"][name] = {**raw["classes"].get(name, {}), **table}
    for section, adding in (("add", True), ("remove", False)):
        if section not in data:
            continue
        edits = data[section]
        if not isinstance(edits, dict) or set(edits) - {"classes", "negation"}:
            raise _fail(path, text, section, f"[{section}] edits classes.<name> or negation lists")
        for key, value in edits.get("negation", {}).items():
            if key not in ("negators", "conditions", "exceptions"):
                raise _fail(path, text, key, f"[{section}.negation] edits negators, conditions or exceptions")
            current = list(raw["negation"].get(key, getattr(Scope(), key)))
            entries = lines_of(value, key)
            raw["negation"][key] = current + [e for e in entries if e not in current] if adding else [e for e in current if e not in entries]
        for name, table in edits.get("classes", {}).items():
            if name not in raw["classes"]:
                raise _fail(path, text, name, f"[{section}.classes.{name}]: no class '{name}' (known: {', '.join(sorted(raw['classes']))})")
            table = read_lists(table, name)
            target = raw["classes"][name]
            for key, value in table.items():
                if key not in LIST_KEYS:
                    raise _fail(path, text, key, f"[{section}.classes.{name}] edits {', '.join(LIST_KEYS)}; not '{key}'")
                entries = lines_of(value, key)
                if key == "patterns" and not target.get("patterns") and target.get("categories") and adding:
                    # a class made only of categories: added patterns form their own category
                    target["categories"] = target["categories"] + [{"name": "pack", "patterns": entries}]
                    continue
                current = list(target.get(key, []))
                if adding:
                    target[key] = current + [e for e in entries if e not in current]
                else:
                    target[key] = [e for e in current if e not in entries]
                    for cat in target.get("categories", []):
                        cat["patterns"] = [e for e in cat.get("patterns", []) if e not in entries]
    raw.setdefault("files", []).append((path, text))


def _compile_or_fail(pattern: str, path: Path, text: str, key: str) -> Any:
    try:
        return compile_regex(pattern)
    except regex.error as error:
        raise _fail(path, text, key, f"{key}: regex does not compile: {pattern!r}: {error}") from None


def _expand(patterns: list[str], macros: list[str]) -> list[str]:
    table = _macro_table(tuple(macros))
    if not table:
        return patterns
    # a pattern without {{ holds no macro reference: it is its own expansion
    return [p if "{{" not in p else
            _MACRO_REF.sub(lambda m: f"(?:{table[m.group(1)]})" if m.group(1) in table else m.group(0), p)
            for p in patterns]


@lru_cache(maxsize=16)
def _macro_table(macros: tuple[str, ...]) -> dict[str, str]:
    """The macros' names and bodies (a body's references to earlier macros expanded), read once
    per set of macro lines: every list of every class is expanded with them (reading the lines
    again for each list was a third of compiling the classes). Callers do not change it."""
    table: dict[str, str] = {}
    for line in macros:
        found = _MACRO_DEF.match(line)
        if found:
            table[found.group(1)] = _MACRO_REF.sub(lambda m: f"(?:{table.get(m.group(1), m.group(0))})", found.group(2))
    return table


def _where(raw: dict[str, Any], needle: str) -> tuple[Path, str, str]:
    """The last loaded file mentioning ``needle`` (for error lines)."""
    files = raw.get("files", [])
    for path, text in reversed(files):
        if needle in text:
            return path, text, needle
    path, text = files[-1] if files else (Path(CLASSES_FILE), "")
    return path, text, needle


def _list_sources(items: list[str], raw: dict[str, Any]) -> tuple[str, ...]:
    """The patterns :func:`_compile_list` joins, macros expanded (empty ones left out)."""
    return tuple(p for p in _expand([i for i in items if i.strip()], raw["macros"]) if p.strip())


def _compile_list(items: list[str], raw: dict[str, Any], name: str, key: str) -> Any:
    kept = list(_list_sources(items, raw))
    if not kept:
        return None
    ordered = sorted(set(kept), key=lambda p: (-len(p), p))
    try:
        return compile_regex(join_alternatives(ordered))
    except regex.error:
        pass
    # Compiling each item costs as much again: only done to name the one that fails.
    for item in kept:
        try:
            compile_regex(item)
        except regex.error as error:
            path, text, needle = _where(raw, item[:20])
            raise _fail(path, text, needle, f"class {name}: {key}: regex does not compile: {item!r}: {error}") from None
    raise RuleError(f"class {name}: {key}: the patterns do not compile together")


def _compile(raw: dict[str, Any], origin: list[str]) -> ClassSet:
    classes: dict[str, ClassDef] = {}
    for name, table in raw["classes"].items():
        categories = []
        if table.get("patterns"):
            sources = _expand(table["patterns"], raw["macros"])
            categories.append(Category(name, table.get("label_zh", ""), table.get("label_en", ""),
                                       _compile_list(table["patterns"], raw, name, "patterns"), None, tuple(sources)))
        for cat in table.get("categories", []):
            sources = _expand(cat.get("patterns", []), raw["macros"])
            categories.append(Category(
                cat["name"], cat.get("label_zh", ""), cat.get("label_en", ""),
                _compile_list(cat.get("patterns", []), raw, name, "patterns"),
                _compile_list(cat.get("exclude", []), raw, name, "exclude"), tuple(sources),
                cat.get("question"), _list_sources(cat.get("exclude", []), raw),
                bool(cat.get("word_boundaries", False)),
            ))
        classes[name] = ClassDef(
            name=name,
            doc=table.get("doc", ""),
            roles=tuple(table.get("roles", [])),
            categories=tuple(categories),
            exclude=_compile_list(table.get("exclude", []), raw, name, "exclude"),
            exclude_sources=_list_sources(table.get("exclude", []), raw),
            negation=bool(table.get("negation", False)),
            condition=bool(table.get("condition", False)),
            hypothetical=_compile_list(table.get("hypothetical", []), raw, name, "hypothetical"),
            question_after=int(table.get("question_after", 0)),
            include=tuple(table.get("include", [])),
            question=bool(table.get("question", False)),
            consequence=bool(table.get("consequence", False)),
        )
    for name, cls in classes.items():
        for other in cls.include:
            if other not in classes:
                path, text, needle = _where(raw, other)
                raise _fail(path, text, needle, f"class {name} includes unknown class '{other}'")
    return ClassSet(
        classes=classes,
        scope=scope_from_table(raw["negation"]),
        sentence_separators=raw["sentences"].get("separators", DEFAULT_SENTENCE_SEPARATORS),
        origin=tuple(origin),
    )


# -- auto-replies -------------------------------------------------------------------------
def mark_auto_replies(messages: pd.DataFrame, classes: ClassSet, name: str = "auto-reply") -> pd.DataFrame:
    """Messages whose text marks them automatic (【自动回复】, 店小蜜 …: class ``auto-reply``)
    become system messages whatever their sender role, so they never stop the reply clock,
    never count as a first response and are never judged as agent replies. Needs ``norm``."""
    if name not in classes.classes or not len(messages):
        return messages
    candidates = messages["role"].ne("system").to_numpy()
    if not candidates.any():
        return messages
    hits = np.zeros(len(messages), dtype=bool)
    hits[candidates] = classes.row_mask(name, messages["norm"], candidates)
    if not hits.any():
        return messages
    out = messages.copy()
    out.loc[hits, "role"] = "system"
    return out


def _any_class(names: list[str], items: np.ndarray, member, known: np.ndarray | None = None) -> np.ndarray:
    """Which of ``items`` belong to any of the classes ``names``, as a bool array over them:
    ``member(name, some_items)`` judges one class; an item one class took is not judged for the
    next ones (the union is the same; the later classes judge fewer items). ``known``: items
    already known to belong to one of them (taken without judging any class)."""
    out = np.zeros(len(items), dtype=bool) if known is None else known.copy()
    for name in names:
        undecided = np.flatnonzero(~out)
        if not len(undecided):
            break
        out[undecided] = member(name, items[undecided])
    return out
