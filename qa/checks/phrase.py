"""Check type ``phrase``: messages containing any phrase of one or more categorised lists.

Matching is on the normalized text (so traditional characters and full-width forms match the
simplified list), with one Aho-Corasick automaton for all phrases: its cost does not grow
with the number of phrases. A vectorised pre-filter (pyarrow's RE2 through pandas) picks the
few candidate messages first, so the per-message Python loop only sees those.

``exceptions`` are good phrases that contain or touch a forbidden one (不用您自己找快递
contains 自己找快递): a match overlapping an exception found in the same message is not
reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick
import pandas as pd
import regex

from qa.checks.base import CheckContext, CheckType, Param, findings_frame, render, role_mask
from qa.normalize import normalize_text, original_span

_SEVERITY_RANK = {"minor": 1, "major": 2, "critical": 3}
# How many phrases go into one pre-filter alternation; RE2 handles large ones, but a bounded
# size keeps its compiled program small.
_PREFILTER_CHUNK = 400

CATEGORY_FIELDS = {
    "name": Param("str", "category id, e.g. abuse", required=True),
    "label_zh": Param("str", "category name shown in Chinese reports", default=""),
    "label_en": Param("str", "category name shown in English reports", default=""),
    "severity": Param("str", "severity of this category (default: the rule's)", default="",
                      choices=("", "minor", "major", "critical")),
    "phrases": Param("strings", "phrases of this category", required=True),
}

PARAMS = {
    "roles": Param("strings", "roles whose messages are checked", default=["agent"]),
    "categories": Param("tables", "phrase categories ([[params.categories]])", required=True,
                        fields=CATEGORY_FIELDS),
    "exceptions": Param("strings", "good phrases containing a listed phrase; never flagged", default=[]),
    "ignore_separators": Param("bool", "see through spaces, punctuation and symbols between characters "
                               "(加 我 微 信, 加.我.微.信)", default=False),
    "variants": Param("strings", "spelling variants as 'word=variant|variant' (微信=v信|vx|薇信): every "
                      "phrase containing the word also matches with each variant", default=[]),
}

# What ignore_separators skips between characters: whitespace, punctuation, symbols.
_SEPARATOR = r"[\s\p{P}\p{S}]"
_SEPARATOR_RE = regex.compile(_SEPARATOR)


@dataclass(frozen=True)
class _Entry:
    phrase: str  # normalized
    category: int  # index into categories, or -1 for an exception
    length: int


def parse_variants(entries: list[str]) -> dict[str, list[str]]:
    """'微信=v信|vx' entries -> {normalized word: [normalized variants]}; malformed ones raise
    ValueError (the loader reports them with the rule file and line)."""
    variants: dict[str, list[str]] = {}
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


def _candidates(norm: pd.Series, phrases: list[str]) -> pd.Series:
    """Boolean mask of messages containing at least one phrase (vectorised, RE2)."""
    mask = pd.Series(False, index=norm.index)
    for start in range(0, len(phrases), _PREFILTER_CHUNK):
        chunk = phrases[start : start + _PREFILTER_CHUNK]
        pattern = "|".join(regex.escape(p) for p in chunk)
        mask |= norm.str.contains(pattern, regex=True)
    return mask


def _best_match(text: str, automaton: ahocorasick.Automaton, categories: list[dict], default: str):
    """(start, end, category index) of the most severe, then earliest, non-excepted match."""
    found: list[tuple[int, int, int]] = []
    excepted: list[tuple[int, int]] = []
    for end_index, entries in automaton.iter(text):
        for entry in entries:
            start = end_index - entry.length + 1
            if entry.category < 0:
                excepted.append((start, end_index + 1))
            else:
                found.append((start, end_index + 1, entry.category))
    kept = [
        match for match in found
        if not any(e_start < match[1] and match[0] < e_end for e_start, e_end in excepted)
    ]
    if not kept:
        return None

    def order(match: tuple[int, int, int]):
        severity = categories[match[2]]["severity"] or default
        return (-_SEVERITY_RANK[severity], match[0], -(match[1] - match[0]))

    return min(kept, key=order)


def _squeezed(text: str) -> tuple[str, list[int]]:
    """``text`` without separators, and for each kept character its index in ``text``."""
    kept = [i for i, char in enumerate(text) if not _SEPARATOR_RE.match(char)]
    return "".join(text[i] for i in kept), kept


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag each checked message that contains a listed phrase (one finding per message)."""
    params = rule.params
    categories = params["categories"]
    table = _phrase_table(categories, params["exceptions"], params)
    phrases = sorted({key for key, index in table if index >= 0})
    if not phrases:
        return findings_frame([], rule.id, "", "")
    squeeze = bool(params.get("ignore_separators"))
    scope = role_mask(messages, params["roles"])
    norm = messages["norm"].where(scope, "")
    searched = norm.str.replace(_SEPARATOR, "", regex=True) if squeeze else norm
    candidates = norm[_candidates(searched, phrases) & scope]
    if candidates.empty:
        return findings_frame([], rule.id, "", "")

    automaton = _build_automaton(table)
    texts = messages["text"]
    ids, severities, reasons, matches, starts, ends = [], [], [], [], [], []
    for msg_id, normalized in candidates.items():
        if squeeze:
            haystack, positions = _squeezed(normalized)
        else:
            haystack, positions = normalized, None
        best = _best_match(haystack, automaton, categories, rule.severity.value)
        if best is None:
            continue
        start, end, category_index = best
        if positions is not None:  # back from the squeezed text to the normalized one
            start, end = positions[start], positions[end - 1] + 1
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
    return findings_frame(ids, rule.id, severities, reasons, matches, starts, ends)


def validate(params: dict) -> list[tuple[str, str]]:
    """Problems beyond types: malformed variant entries, categories without phrases."""
    problems = []
    try:
        parse_variants(params.get("variants") or [])
    except ValueError as error:
        problems.append(("variants", str(error)))
    for category in params.get("categories") or []:
        if not category.get("phrases"):
            problems.append(("categories", f"category '{category.get('name')}' has no phrases"))
    return problems


CHECK = CheckType(
    name="phrase",
    doc="Messages containing a phrase from categorised lists (Aho-Corasick over normalized text).",
    params=PARAMS,
    run=run,
    validate=validate,
)
