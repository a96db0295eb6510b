"""Check type ``content_class``: messages whose whole content is only one class of tokens.

Built for emoji-only replies (002 §三.7 「不可以纯用表情或符号替代方案或解释话术回应客户」): a
message is in the class when, once whitespace is set aside, it consists only of

* Unicode emoji: ``\\p{Extended_Pictographic}``, skin tones (``\\p{Emoji_Modifier}``), flags
  (regional indicators, tag sequences), ZWJ ``\\u200d``, variation selectors, keycaps, and
  private-use characters (platform emoji glyphs);
* platform emoticon codes: ``[微笑]`` / ``【微笑】`` from the ``emoticons`` name list, JD codes
  (``#E-s57``, ``#E-s[数字x]``, ``#E-b12``, ``#E-j3``, ``#E-抱拳``), Wangwang codes (``/:^_^``,
  ``/:068``, ``/:rose``);
* kaomoji: the literal ``kaomoji`` list (``~O(∩_∩)O~``, ``T_T``, ``orz``) and the shapes of
  ``token_patterns`` (``(^o^)/``, ``^_^``, ``:)``);
* symbols (``\\p{S}``) and punctuation (``\\p{P}``): ``。。。``, ``？？``, ``~~``, ``…``, ``!!!``;

and it has at least one such token. Any letter, CJK character or digit left over is real
content, so ``好的👍``, ``[数字x]`` (a masked number) and ``1`` are clean. Attachment
placeholders (``[图片]``, ``[商品链接]``, ``[订单]`` …, the ``attachments`` list) are content
the agent sent: a message containing one is never in the class, even next to an emoji
(``[商品链接][微笑]`` is clean: the link is the answer).

The test is one RE2 full match over the whole column (pyarrow), so it costs well under a
second per million messages; :func:`emoji_only_mask` exposes it for other checks.

Severity upgrade: the customer messages a flagged reply answers (those after the previous
agent message in the same session, at most ``upset_lookback`` of them, system messages
skipped) are searched with ``upset_patterns`` (minus ``upset_exclude``, e.g. 我不投诉). When
one matches, the finding gets ``upgrade_severity``, the ``upgrade_message`` reason and that
customer message as ``context_msg``. This loop only visits flagged replies.

Parameters (rule ``[params]``):

``roles`` (strings, default ``["agent"]``)
    Whose messages are checked.
``emoticons`` (strings; or ``emoticons_file``)
    Emoticon names, written without brackets (微笑, 捂脸, 玫瑰).
``kaomoji`` (strings; or ``kaomoji_file``)
    Literal kaomoji / text faces that contain letters (those made only of symbols need none).
``token_patterns`` (strings; or ``token_patterns_file``)
    Further token shapes as RE2 regexes over NFKC + lower-cased text.
``attachments`` (strings; or ``attachments_file``)
    Attachment placeholder names, without brackets; a message containing one is clean.
``emoji``, ``symbols``, ``punctuation``, ``wangwang``, ``jd_codes`` (bool, default true)
    Which built-in token families belong to the class.
``upgrade_severity`` (str: "" | minor | major | critical, default "")
    Severity when the reply answers an upset customer; "" = never upgrade.
``upset_patterns`` / ``upset_exclude`` (strings; regex module syntax, on the customer's norm)
    What makes a customer message upset (投诉, 12315, 差评, 骗子, 什么态度 …) and wording that
    neutralises a match it overlaps (我不投诉, 不会给差评).
``upset_lookback`` (int, default 3)
    How many customer messages back (since the previous agent message) are searched.
``upgrade_message`` (table: ``zh``, ``en``)
    Reason template for upgraded findings; fields ``{match}``, ``{context}`` (the customer's
    message, shortened) and ``{trigger}`` (the upset words).

Message fields: ``{match}`` (the whole reply as written).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex

from qa.checks.base import CheckContext, findings_frame, preceding_turns, render, role_mask
from qa.classes import classes_of
from qa.diskmemo import disk_memo
from qa.errors import RuleError
from qa.normalize import normalize_text, normalize_texts
from qa.regexutil import compile_any
from qa.textindex import text_index

# Characters that count as space: whitespace, separators, zero-width space/joiners, BOM.
_SPACE = r"[\s\p{Z}\x{200B}\x{200C}\x{2060}\x{FEFF}]"
_RE2_SPECIAL = set("\\.^$|?*+()[]{}")
_CONTEXT_CHARS = 30
# Letters that draw kaomoji strokes (non-CJK, non-ASCII): Greek, Cyrillic, Thai, Arabic, Kannada,
# Canadian syllabics, Hangul, kana, IPA and phonetic extensions. A message made only of them and
# spaces is text, not a face (see _only_letters); with a bracket or symbol beside them it is one.
_KAOMOJI_LETTERS = (
    r"\p{Greek}\p{Cyrillic}\p{Thai}\p{Arabic}\p{Kannada}\p{Canadian_Aboriginal}\p{Hangul}"
    r"\p{Katakana}\p{Hiragana}\x{0250}-\x{02FF}\x{1D00}-\x{1DBF}\x{0E00}-\x{0E7F}"
)
_ONLY_LETTERS = r"\A[\s" + _KAOMOJI_LETTERS + r"]*\z"


def _re2_escape(text: str) -> str:
    return "".join("\\" + ch if ch in _RE2_SPECIAL else ch for ch in text)


def _alternation(items: Sequence[str]) -> str:
    """Escaped literals, longest first (so 微笑脸 wins over 微笑)."""
    unique = sorted(set(items), key=lambda s: (-len(s), s))
    return "|".join(_re2_escape(item) for item in unique)


@lru_cache(maxsize=1)
def _emoji_ranges() -> str:
    """RE2 class body of every emoji code point (Extended_Pictographic, modifiers, flags),
    taken from the ``regex`` module's Unicode tables (newer than RE2's)."""
    # every code point below U+30000 but the surrogates, in order (made from their UTF-32 bytes)
    points = np.concatenate([np.arange(0xD800, dtype="<u4"), np.arange(0xE000, 0x30000, dtype="<u4")])
    chars = points.tobytes().decode("utf-32-le")
    pieces = []
    for found in regex.finditer(r"[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}]+", chars):
        first, last = ord(found.group()[0]), ord(found.group()[-1])
        pieces.append(f"\\x{{{first:X}}}" if first == last else f"\\x{{{first:X}}}-\\x{{{last:X}}}")
    # ZWJ, variation selectors, combining keycap, tag characters (subdivision flags), private use.
    pieces.append(r"\x{200D}\x{FE0E}\x{FE0F}\x{20E3}\x{E0020}-\x{E007F}\p{Co}")
    return "".join(pieces)


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def _name_forms(names: Sequence[str]) -> list[str]:
    """Each name normalized (simplified) plus its traditional form, both NFKC + lower case."""
    forms: set[str] = set()
    for simplified in normalize_texts(names):  # all names in one pass
        if simplified:
            forms.add(simplified)
            forms.add(_s2t().convert(simplified))
    return sorted(forms)


@disk_memo  # pyarrow compiles the pattern to say it is valid: at every load, for every token pattern
def _check_re2(pattern: str, what: str) -> str:
    try:
        pc.match_substring_regex(pa.array([""], type=pa.string()), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise RuleError(f"{what}: regex does not compile in RE2 (pyarrow): {pattern!r}: {error}") from None
    return pattern


@lru_cache(maxsize=32)
@disk_memo
def build_class(
    emoticons: tuple[str, ...],
    kaomoji: tuple[str, ...],
    token_patterns: tuple[str, ...],
    attachments: tuple[str, ...],
    emoji: bool = True,
    symbols: bool = True,
    punctuation: bool = True,
    wangwang: bool = True,
    jd_codes: bool = True,
) -> tuple[str, str | None]:
    """(full-match RE2 regex of a class-only text, RE2 regex of an attachment placeholder)."""
    names = _name_forms(emoticons)
    tokens: list[str] = []
    if names:
        tokens.append(r"[\[【](?:" + _alternation(names) + r")[\]】]")
    if jd_codes:
        named = "|".join(filter(None, [_alternation(names)]))
        coded = r"[a-z]{0,3}(?:[0-9]+|\[数字x\])*"
        tokens.append(r"#e-?(?:" + (named + "|" if named else "") + coded + ")")
    if wangwang:
        tokens.append(r"/:[\p{P}\p{S}]{0,6}[a-z0-9]{0,10}[\p{P}\p{S}]{0,6}")
    literal = [normalize_text(k) for k in kaomoji]
    if any(literal):
        tokens.append(_alternation([k for k in literal if k]))
    for pattern in token_patterns:
        tokens.append(_check_re2(f"(?:{pattern})", "token_patterns"))
    if emoji:
        tokens.append(r"[0-9#*]\x{FE0F}?\x{20E3}")
    chars = ""
    if emoji:
        chars += _emoji_ranges()
    if symbols:
        chars += r"\p{S}\p{M}"
    if punctuation:
        chars += r"\p{P}"
    if chars:
        tokens.append(f"[{chars}]")
    if symbols or punctuation:
        # Kaomoji strokes drawn with letters of other scripts: (๑•̀ㅂ•́)و✧ ヽ(`Д´)ﾉ ʕ•ᴥ•ʔ ¯\_(ツ)_/¯,
        # and one or two ASCII arm letters around a bracketed face: d(^_^o) o(*^▽^*)o.
        tokens.append(f"[{_KAOMOJI_LETTERS}]")
        tokens.append(r"[a-z]{1,2}\((?:[^()\p{Han}\p{N}a-z]|[a-z]){0,14}\)[a-z/]{0,2}")
    if not tokens:
        raise RuleError("content_class: no token family is enabled")
    full = _check_re2(r"\A(?:" + _SPACE + "|" + "|".join(tokens) + r")*\z", "content_class")
    attachment = None
    attachment_names = _name_forms(attachments)
    if attachment_names:
        attachment = _check_re2(r"[\[【](?:" + _alternation(attachment_names) + r")[\]】]", "attachments")
    return full, attachment


def _to_arrow(texts: pd.Series) -> pa.Array:
    try:
        return pa.array(texts.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(texts.astype("str").to_numpy(dtype=object), type=pa.large_string())


def emoji_only_mask(
    texts: pd.Series,
    *,
    emoticons: Sequence[str] | None = None,
    kaomoji: Sequence[str] | None = None,
    token_patterns: Sequence[str] | None = None,
    attachments: Sequence[str] | None = None,
    emoji: bool = True,
    symbols: bool = True,
    punctuation: bool = True,
    wangwang: bool = True,
    jd_codes: bool = True,
    normalized: bool = False,
) -> pd.Series:
    """Boolean Series (same index as ``texts``): True where a text is only emoji, emoticon
    codes, kaomoji, symbols or punctuation, with at least one of them and no attachment.

    The lists are a rule's parameters (the built-in ``emoji-only`` rule's name the files in
    ``rules/lists/``); none given, only the Unicode, symbol and code families count. Pass the ``norm``
    column with ``normalized=True`` to skip NFKC + lower-casing; raw texts work too (both
    simplified and traditional emoticon names are recognised).
    """
    if texts.empty:
        return pd.Series([], index=texts.index, dtype=bool)
    array = _to_arrow(texts)
    if not normalized:
        array = pc.utf8_lower(pc.utf8_normalize(array, "NFKC"))
    hit = _emoji_hits(array, emoticons=emoticons, kaomoji=kaomoji, token_patterns=token_patterns,
                      attachments=attachments, emoji=emoji, symbols=symbols, punctuation=punctuation,
                      wangwang=wangwang, jd_codes=jd_codes)
    return pd.Series(hit, index=texts.index, dtype=bool)


def _emoji_hits(
    array: pa.Array,
    *,
    emoticons: Sequence[str] | None,
    kaomoji: Sequence[str] | None,
    token_patterns: Sequence[str] | None,
    attachments: Sequence[str] | None,
    emoji: bool,
    symbols: bool,
    punctuation: bool,
    wangwang: bool,
    jd_codes: bool,
) -> np.ndarray:
    """:func:`emoji_only_mask` of an Arrow array of normalized texts, as a numpy bool array."""
    if not len(array):
        return np.zeros(0, dtype=bool)
    full, attachment = build_class(
        tuple(emoticons or ()),
        tuple(kaomoji or ()),
        tuple(token_patterns or ()),
        tuple(attachments or ()),
        emoji, symbols, punctuation, wangwang, jd_codes,
    )
    hit = pc.and_(
        pc.match_substring_regex(array, full),
        pc.match_substring_regex(array, r"[^\s\p{Z}\x{200B}\x{200C}\x{2060}\x{FEFF}]"),
    )
    if symbols or punctuation:
        hit = pc.and_not(hit, pc.match_substring_regex(array, _ONLY_LETTERS))
    if attachment is not None:
        hit = pc.and_not(hit, pc.match_substring_regex(array, attachment))
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)


@lru_cache(maxsize=16)
def _upset_matchers(patterns: tuple[str, ...], exclude: tuple[str, ...]):
    return (compile_any(patterns, "upset_patterns: regex does not compile"),
            compile_any(exclude, "upset_exclude: regex does not compile"))


def upset_span(text: str, upset: regex.Pattern, exclude: regex.Pattern | None) -> tuple[int, int] | None:
    """First span of ``text`` (norm) an upset pattern matches outside every exclusion."""
    excluded = [m.span() for m in exclude.finditer(text, overlapped=True)] if exclude is not None else []
    for found in upset.finditer(text, overlapped=True):
        start, end = found.span()
        if not any(e_start < end and start < e_end for e_start, e_end in excluded):
            return start, end
    return None


def _answered_customers(messages: pd.DataFrame, positions: np.ndarray, lookback: int) -> list[list[int]]:
    """For each reply position, the positions of the customer messages it answers, closest
    first: after the previous agent message of the same session, at most ``lookback``
    (:func:`qa.checks.base.preceding_turns`; the short per-reply lists are cut from index arrays)."""
    roles = messages["role"]
    sessions = messages["session_id"]
    customer_positions, left, right = preceding_turns(
        roles.eq("agent").to_numpy(dtype=bool), roles.eq("customer").to_numpy(dtype=bool),
        sessions.ne(sessions.shift()).to_numpy(dtype=bool), positions)
    left = np.maximum(left, right - lookback)
    listed = customer_positions.tolist()
    return [listed[lo:hi][::-1] for lo, hi in zip(left.tolist(), right.tolist())]


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CONTEXT_CHARS else text[: _CONTEXT_CHARS - 1] + "…"


def _emoji_mask(messages: pd.DataFrame, scope: pd.Series, params: dict) -> pd.Series:
    """Emoji-only mask of the checked messages: on the normalized text, and on the raw text
    (lower-cased, no NFKC) so emoji that picture a character (🈶 🉑 ㊗), which NFKC turns into
    that character, still count as emoji."""
    kwargs = dict(
        emoticons=params["emoticons"], kaomoji=params["kaomoji"], token_patterns=params["token_patterns"],
        attachments=params["attachments"], emoji=params["emoji"], symbols=params["symbols"],
        punctuation=params["punctuation"], wangwang=params["wangwang"], jd_codes=params["jd_codes"],
    )
    rows = scope.to_numpy(dtype=bool)
    # Each distinct normalized text of the checked rows is tested once.
    index = text_index(messages["norm"])
    todo = np.flatnonzero(index.present(rows))
    # The raw text can only tell otherwise where lower-casing it does not give the norm text.
    raw = _to_arrow(messages["text"][scope].astype("str"))
    lowered = pc.utf8_lower(raw)
    differs = pc.fill_null(pc.and_(pc.less_equal(pc.utf8_length(raw), 40),
                                   pc.not_equal(lowered, _to_arrow(messages["norm"][scope]))),
                           False).to_numpy(zero_copy_only=False)
    chosen = np.flatnonzero(differs)
    raw_texts, raw_of = pa.array([], type=pa.large_string()), np.zeros(0, dtype=np.int64)
    if len(chosen):
        # Most of them are canned texts (NFKC changed a full-width comma): each distinct one once.
        picked = _combined(lowered.take(pa.array(chosen)))
        encoded = picked.dictionary_encode()
        if encoded.indices.null_count:
            raw_texts, raw_of = picked, np.arange(len(chosen))
        else:
            raw_texts, raw_of = encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
    # Both kinds of text in one pass: pyarrow compiles the class's RE2 regex (every emoji code
    # point) on every call, ~10 ms each. Each text is judged on its own, so a raw text whose
    # norm text is already emoji-only being judged too changes nothing.
    found = _emoji_hits(pa.concat_arrays([index.uniques.take(pa.array(todo)).cast(pa.large_string()),
                                          raw_texts.cast(pa.large_string())]), **kwargs)
    distinct = np.zeros(len(index.uniques), dtype=bool)
    distinct[todo] = found[: len(todo)]
    hits = distinct[index.codes[rows]]
    hits[chosen] |= found[len(todo) :][raw_of]
    return pd.Series(hits, index=messages.index[rows], dtype=bool)


def _combined(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _neighbours(messages: pd.DataFrame, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position: the previous and the next non-system message of the same session
    (-1 when none)."""
    n = len(messages)
    order = np.arange(n)
    not_system = messages["role"].ne("system").to_numpy(dtype=bool)
    sessions = messages["session_id"]
    new_session = sessions.ne(sessions.shift()).to_numpy(dtype=bool)
    session_id = np.cumsum(new_session)
    last = np.maximum.accumulate(np.where(not_system, order, -1))
    nxt = np.where(not_system, order, n)[::-1]
    nxt = np.minimum.accumulate(nxt)[::-1]
    prev = np.where(positions > 0, last[np.maximum(positions - 1, 0)], -1)
    after = np.where(positions + 1 < n, nxt[np.minimum(positions + 1, n - 1)], n)
    prev = np.where((prev >= 0) & (session_id[np.maximum(prev, 0)] == session_id[positions]), prev, -1)
    after = np.where((after < n) & (session_id[np.minimum(after, n - 1)] == session_id[positions]), after, -1)
    return prev, after


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag each checked message made only of class tokens where an answer was due; upgrade
    those answering an upset or complaining customer."""
    params = rule.params
    scope = role_mask(messages, params["roles"])
    mask = _emoji_mask(messages, scope, params)
    ids = mask.index[mask.to_numpy()]
    if len(ids) == 0:
        return findings_frame([], rule.id, "", "")

    classes = classes_of(rule)
    due_class = params["answer_due_class"]
    upgrade_classes = list(params["upgrade_classes"])
    upgrade = params["upgrade_severity"]
    upset, exclude = _upset_matchers(tuple(params["upset_patterns"]), tuple(params["upset_exclude"]))
    upgrade_template = {k: v for k, v in (params.get("upgrade_message") or {}).items() if v} or rule.message
    positions = messages.index.get_indexer(ids)
    texts = messages["text"].take(positions).tolist()
    lookback = params["upset_lookback"]
    customers = _answered_customers(messages, positions, lookback)
    emoji_positions = set(positions.tolist())
    keep = np.ones(len(positions), dtype=bool)
    if due_class:
        # An emoji sent with (right after, or just before) the agent's own text answer is part
        # of that answer, not in place of one.
        prev, after = _neighbours(messages, positions)
        roles = messages["role"].to_numpy(dtype=object)
        times = messages["timestamp"] if "timestamp" in messages else None
        if times is not None:  # the two times of each (emoji, next message) pair, read once
            first_times = times.take(positions).tolist()
            next_times = times.take(np.maximum(after, 0)).tolist()
        agents = set(params["roles"])
        for i in range(len(positions)):
            if not customers[i] and prev[i] >= 0 and roles[prev[i]] in agents:
                keep[i] = False
                continue
            a = after[i]
            if a >= 0 and roles[a] in agents and a not in emoji_positions:
                close = True
                if times is not None:
                    t0, t1 = first_times[i], next_times[i]
                    if pd.notna(t0) and pd.notna(t1):
                        close = (t1 - t0).total_seconds() <= params["together_seconds"]
                if close:
                    keep[i] = False
    needed = sorted({c for row in customers for c in row})
    customer_norm = dict(zip(needed, messages["norm"].take(needed).tolist()))
    customer_text = dict(zip(needed, messages["text"].take(needed).tolist()))
    # Whether an answer was due and whether the customer settled it, judged per distinct text
    # through the class pre-filter rather than one text at a time.
    due_of: dict[int, bool] = {}
    settled_of: dict[int, bool] = {}
    if due_class:
        asked = sorted({c for i, row in enumerate(customers) if keep[i] for c in row})
        if asked:
            due_of = dict(zip(asked, classes.row_mask(due_class, messages["norm"], np.asarray(asked)).tolist()))
        latest = sorted({row[0] for i, row in enumerate(customers) if keep[i] and row})
        if params["settled_class"] and latest:
            settled_of = dict(zip(latest, classes.row_mask(params["settled_class"], messages["norm"],
                                                          np.asarray(latest)).tolist()))

    out_ids, severities, reasons, matches, starts, ends, contexts = [], [], [], [], [], [], []
    plain_reasons: dict[str, str] = {}
    base_severity = rule.severity.value
    upset_found: dict[int, tuple[int, int] | None] = {}
    if upgrade_classes and needed:
        # the upgrade classes of all the answered customers' messages in one class mask each
        # (vectorised); a class absent from a text is then not looked for in it
        norm_index = text_index(messages["norm"])
        for name in upgrade_classes:
            if name in classes.classes:
                classes.row_mask(name, messages["norm"], np.asarray(needed))

    def upset_in(customer: int) -> tuple[int, int] | None:
        if customer not in upset_found:
            span = None
            norm = customer_norm[customer]
            if upgrade_classes:
                code = int(norm_index.codes[customer])
                hits = [m for name in upgrade_classes if classes.judged(name, norm_index, code) is not False
                        for m in classes.find(name, norm)]
                if hits:
                    first = min(hits, key=lambda m: m.start)
                    span = (first.start, first.end)
            elif upset is not None:
                span = upset_span(norm, upset, exclude)
            upset_found[customer] = span
        return upset_found[customer]

    for i, (msg_id, original, answered) in enumerate(zip(ids, texts, customers)):
        if not keep[i]:
            continue
        if due_class:
            # The customer's own last message may settle what they asked (found it, it works).
            latest = answered[0] if answered else None
            settled = bool(params["settled_class"]) and latest is not None and settled_of[latest] and not due_of[latest]
            if settled or not any(due_of[c] for c in answered):
                continue
        stripped = original.strip()
        start = original.find(stripped) if stripped else 0
        found = None
        if upgrade:
            for customer in answered:
                span = upset_in(customer)
                if span is not None:
                    found = (customer, span)
                    break
        if found is None:
            severities.append(base_severity)
            if stripped not in plain_reasons:
                plain_reasons[stripped] = render(rule.message, context.lang, match=stripped)
            reasons.append(plain_reasons[stripped])
            contexts.append(-1)
        else:
            customer, (u_start, u_end) = found
            severities.append(upgrade)
            reasons.append(
                render(
                    upgrade_template,
                    context.lang,
                    match=stripped,
                    context=_shorten(customer_text[customer]),
                    trigger=customer_norm[customer][u_start:u_end],
                )
            )
            contexts.append(int(messages.index[customer]))
        out_ids.append(int(msg_id))
        matches.append(stripped)
        starts.append(start)
        ends.append(start + len(stripped))
    return findings_frame(out_ids, rule.id, severities, reasons, matches, starts, ends, contexts)


def validate(params: dict) -> list[tuple[str, str]]:
    """Load-time check: token patterns are RE2, upset regexes compile, a family is enabled."""
    for key in ("upset_patterns", "upset_exclude"):
        try:
            _upset_matchers(tuple(params.get(key) or ()), ())
        except RuleError as error:
            return [(key, str(error))]
    for pattern in params.get("token_patterns") or []:
        try:
            _check_re2(f"(?:{pattern})", "token_patterns")
        except RuleError as error:
            return [("token_patterns", str(error))]
    try:
        build_class(
            tuple(params["emoticons"]), tuple(params["kaomoji"]), tuple(params["token_patterns"]),
            tuple(params["attachments"]), params["emoji"], params["symbols"], params["punctuation"],
            params["wangwang"], params["jd_codes"],
        )
    except RuleError as error:
        return [("emoji", str(error))]
    return []
