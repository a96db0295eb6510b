"""Check type ``response``: a customer message that raises a trigger needs a proper first reply.

A *trigger* is a customer message matching one of the rule's trigger categories (sensitive
complaints: 315/12315, 工商, 消协, 投诉, 曝光, 报警, 起诉, personal safety ...). The FIRST
reply after it (next message of a ``reply_roles`` role in the same session; system messages and
further customer messages are passed over) is judged. A finding is made when the reply is

* ``missing``    -- the session ends first; the finding sits on the trigger message;
* ``emoji``      -- only emoji, emoticon codes or symbols;
* ``dismissive`` -- only 嗯 / 好的 / 收到 ... (with punctuation, particles, emoji around it);
* ``guiding``    -- it points the customer to a complaint channel (投诉电话是…, 你可以投诉);
* ``cold``       -- none of the ``soothing`` words and no (non-negated) ``handling`` offer;
* ``unhandled`` / ``unsoothed`` -- with ``needs_both``, only one of the two (in the reply and the rest
  of the agent's turn).

Consecutive triggers before one reply give one finding (context = the first trigger). A reply
made only of a ``preambles`` line (您好 / 亲 / 稍等) that the same agent turn continues is
passed over: the next agent message of that turn is judged instead. A failing reply is made
good by a soothing or handling message the same agent sends before the customer writes again
when it was an answer of its own (``cold``: agents split one answer over several messages);
a bare 嗯/好的, an emoji or a complaint channel stays what the standard calls it, and another
agent stepping in does not make good the first one's reply.

Trigger matching works on the ``norm`` column (simplified, lower-case, half-width). Each match
is checked in its *clause* (text between ``clause_separators``): it is dropped when it overlaps
a ``trigger_exceptions`` phrase (工商银行, 多媒体), when a ``negators`` word stands right before
it, with at most ``negation_window`` characters of ``negation_fillers`` between (我不投诉,
没说要投诉, 不会去打315的), and -- for categories with ``hypothetical = true`` -- when the
clause before it holds a ``hypothetical_markers`` word (会不会过敏, 万一烫伤) or a question
particle follows within ``question_window`` characters (会过敏吗).

Vectorised: one RE2 pre-filter over the whole ``norm`` column (trigger patterns with their
look-arounds removed, a superset) picks candidate customer messages; the first reply of every
trigger is found with ``searchsorted`` over the reply positions. Python loops only over the
candidates and their replies.

Parameters (rule ``[params]``; every ``strings`` list may come from ``<name>_file``):

``trigger_roles`` / ``reply_roles`` (strings, default customer / agent)
    Who raises triggers; whose next message is the reply. Other roles are passed over.
``triggers`` (tables, required)
    ``[[params.triggers]]`` categories: ``name``, ``label_zh``, ``label_en``, ``patterns``
    (regular expressions of the ``regex`` module over the normalized text; look-behinds allowed,
    no ``#``), ``negatable`` (bool, default true), ``hypothetical`` (bool, default false).
``trigger_exceptions`` (strings)
    Phrases containing a trigger that are not one (工商银行, 曝光补偿, 被投诉).
``clause_separators`` (str)
    Regular expression splitting clauses (punctuation, spaces, 但是/可是/不过). A separator
    overlapping the trigger itself (不过 in 不过敏) does not split.
``negators``, ``negation_fillers``, ``negation_window``, ``negation_exceptions``
    Negation as described above; ``negation_exceptions`` (不得不) ending at the negator cancel it.
``hypothetical_markers``, ``question_particles``, ``question_window``
    See above; used by ``hypothetical`` categories only.
``soothing`` / ``handling`` (strings)
    Words that make a reply acceptable; a handling word preceded by a negator (无法处理,
    不能退款) does not count.
``care_trigger_classes`` (strings), ``goods_remedies`` (strings)
    After a trigger of these classes (harm to the person) an otherwise acceptable reply that does
    not soothe and whose every handling match is a ``goods_remedies`` match (退货, 退款, 运费险理赔)
    is ``cold``: it ignores the harm.
``reply_exceptions`` (strings)
    Stock closings whose words do not count as soothing or handling (还有什么可以帮您).
``dismissive`` / ``particles`` / ``preambles`` (strings)
    Whole-reply lists: a reply whose letters are only dismissive words and particles is
    dismissive; only preamble words and particles is a preamble.
``guiding`` (strings)
    Regular expressions (normalized text) of replies pointing the customer to a complaint channel
    or elsewhere (投诉电话是…, 您直接联系厂家吧); negated ones (不用您去投诉) do not count.
``quote_chars`` (int, default 30)
    Longest quote of the trigger clause or the reply in the reason.
``kinds`` (table)
    Reason fragment per kind: ``missing_zh``, ``missing_en``, ``emoji_zh`` ... ``cold_en``, and with
    ``needs_both`` ``unhandled_*`` (soothing only) and ``unsoothed_*`` (handling only);
    they may use ``{trigger}`` and ``{reply}``.

Message fields: ``{trigger}`` (the trigger clause as written), ``{category}`` (its label),
``{reply}`` (the reply as written, shortened), ``{kind}`` (the rendered kind fragment).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import regex

from qa.checks.base import CheckContext, findings_frame, render, role_mask
from qa.checks.content_class import emoji_only_mask
from qa.checktypes.response import DEFAULT_KIND_TEXT
from qa.classes import classes_of
from qa.errors import RuleError
from qa.normalize import normalize_text, normalize_texts, original_span
from qa.regexcache import compile_regex, longest_first
from qa.regexutil import compile_any, regex_problem, strip_lookarounds

EMOJI_TOKEN_PARAMS = ("emoticons", "kaomoji", "token_patterns", "attachments")

# Emoticon codes ([微笑], Wangwang /:^_^) and attachment placeholders; removed before the
# whole-reply comparison, so 好的[微笑] is still only 好的.
_CODES = compile_regex(r"\[[^\[\]]{1,8}\]|/:[^\s/]{1,6}")
_NOT_LETTER = compile_regex(r"[^\p{L}\p{N}]+")
_ODD_SPACE = compile_regex(r"[^\S ]")  # whitespace other than a plain space
_PREFILTER_CHUNK = 200
# The parameters that are lists of words, normalized when the rule is compiled.
_WORD_LISTS = ("trigger_exceptions", "negators", "negation_fillers", "negation_exceptions", "hypothetical_markers",
               "soothing", "handling", "reply_exceptions", "dismissive", "preambles", "particles", "question_particles")


def _alternation(words: list[str]) -> regex.Pattern | None:
    keys = longest_first(normalize_text(w) for w in words)
    if not keys:
        return None
    return compile_regex("|".join(regex.escape(k) for k in keys))


def _patterns(rule, key: str, patterns: list[str]) -> regex.Pattern | None:
    """One pattern matching any of the regular expressions (leftmost, longest listed first)."""
    kept = longest_first(p for p in patterns if p.strip())
    return compile_any(kept, f"{rule.path}: {key}: bad pattern")


def _repeated(words: list[str]) -> regex.Pattern | None:
    """Pattern whose fullmatch accepts a sequence of ``words``."""
    alternation = _alternation(words)
    return None if alternation is None else compile_regex(f"(?:{alternation.pattern})+")


def _whole(words: list[str], particles: list[str]) -> regex.Pattern | None:
    """Pattern whose fullmatch accepts a reply core made of ``words`` and ``particles`` with at
    least one of ``words``."""
    word_keys = longest_first(_core(normalize_text(w)) for w in words)
    if not word_keys:
        return None
    all_keys = longest_first([*word_keys, *(_core(normalize_text(p)) for p in particles)])
    word = "|".join(regex.escape(k) for k in word_keys)
    any_key = "|".join(regex.escape(k) for k in all_keys)
    return compile_regex(f"(?:{any_key})*?(?:{word})(?:{any_key})*")


def _core(norm: str) -> str:
    """The letters and digits of a reply, without emoticon codes, emoji or punctuation."""
    return _NOT_LETTER.sub("", _CODES.sub("", norm))


@dataclass
class _Category:
    name: str
    label: dict[str, str]
    pattern: regex.Pattern
    negatable: bool
    hypothetical: bool
    prefilter: str  # RE2 superset of ``pattern`` (look-arounds removed)


@dataclass
class _Compiled:
    """Everything compiled from one rule's parameters."""

    categories: list[_Category]
    prefilter: list[str]
    exceptions: regex.Pattern | None
    exception_reach: int  # longest exception: how far around a match one can overlap it
    separators: regex.Pattern
    negators: regex.Pattern | None
    fillers: regex.Pattern | None
    negation_window: int
    negation_reach: int  # window + longest negator: a negator must start within this many chars
    negation_exceptions: list[str]
    hypothetical: regex.Pattern | None
    question: regex.Pattern | None
    soothing: regex.Pattern | None
    handling: regex.Pattern | None
    reply_exceptions: regex.Pattern | None
    dismissive: regex.Pattern | None
    preambles: regex.Pattern | None
    guiding: regex.Pattern | None


def _compile(rule) -> _Compiled:
    params = rule.params
    # every word list normalized at once (normalize_text then finds each word done)
    normalize_texts(word for key in _WORD_LISTS for word in params.get(key) or ())
    categories: list[_Category] = []
    prefilter: list[str] = []
    for table in params["triggers"]:
        patterns = [p for p in table["patterns"] if p.strip()]
        compiled = compile_any(patterns, f"{rule.path}: triggers '{table['name']}': bad pattern")
        label = {"zh": table["label_zh"] or table["name"], "en": table["label_en"] or table["name"]}
        stripped = [f"(?:{strip_lookarounds(p)})" for p in patterns]
        categories.append(_Category(table["name"], label, compiled, table["negatable"], table["hypothetical"],
                                    "|".join(stripped)))
        prefilter.extend(stripped)
    try:
        separators = compile_regex(params["clause_separators"])
    except regex.error as error:
        raise RuleError(f"{rule.path}: clause_separators: {error}") from None
    particles = params["particles"]
    question = None
    if params["question_particles"]:
        asking = "|".join(regex.escape(normalize_text(q)) for q in params["question_particles"])
        question = compile_regex(f"^.{{0,{params['question_window']}}}?(?:{asking})")
    return _Compiled(
        categories=categories,
        prefilter=prefilter,
        exceptions=_alternation(params["trigger_exceptions"]),
        exception_reach=max((len(normalize_text(w)) for w in params["trigger_exceptions"]), default=0),
        separators=separators,
        negators=_alternation(params["negators"]),
        fillers=_repeated(params["negation_fillers"]),
        negation_window=params["negation_window"],
        negation_reach=params["negation_window"] + max((len(normalize_text(w)) for w in params["negators"]),
                                                       default=0),
        negation_exceptions=sorted({normalize_text(w) for w in params["negation_exceptions"]} - {""}),
        hypothetical=_alternation(params["hypothetical_markers"]),
        question=question,
        soothing=_alternation(params["soothing"]),
        handling=_alternation(params["handling"]),
        reply_exceptions=_alternation(params["reply_exceptions"]),
        dismissive=_whole(params["dismissive"], particles),
        preambles=_whole(params["preambles"], particles),
        guiding=_patterns(rule, "guiding", params["guiding"]),
    )


# --- clause and negation logic ---------------------------------------------------------------


def _spans(pattern: regex.Pattern | None, text: str, overlapped: bool = True) -> list[tuple[int, int]]:
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(text, overlapped=overlapped)]


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(s < span[1] and span[0] < e for s, e in spans)


def clause_bounds(text: str, start: int, end: int, separators: regex.Pattern) -> tuple[int, int]:
    """(start, end) of the clause holding ``text[start:end]``; separators overlapping the span
    itself (不过 in 不过敏, the dot in 3.15) do not split."""
    left, right = 0, len(text)
    for found in separators.finditer(text):
        s, e = found.span()
        if s < end and start < e:
            continue
        if e <= start:
            left = max(left, e)
        elif s >= end:
            right = min(right, s)
            break
    return left, right


def is_negated(prefix: str, c: _Compiled) -> bool:
    """True when ``prefix`` (clause text before the trigger) ends with a negator followed by at
    most ``negation_window`` characters of fillers, and the negator is not part of 不得不."""
    if c.negators is None or c.negators.search(prefix, max(len(prefix) - c.negation_reach, 0)) is None:
        return False
    for gap in range(0, min(c.negation_window, len(prefix)) + 1):
        head, tail = prefix[: len(prefix) - gap], prefix[len(prefix) - gap :]
        if tail and (c.fillers is None or not c.fillers.fullmatch(tail)):
            continue
        if any(found.end() == len(head) for found in c.negators.finditer(head, overlapped=True)):
            if not any(head.endswith(x) for x in c.negation_exceptions):
                return True
    return False


def _is_hypothetical(prefix: str, suffix: str, c: _Compiled) -> bool:
    if c.hypothetical is not None and c.hypothetical.search(prefix):
        return True
    return c.question is not None and bool(c.question.match(suffix))


def _excepted(norm: str, start: int, end: int, c: _Compiled) -> bool:
    """A trigger exception overlaps ``norm[start:end]`` (searched only in the window around it)."""
    if c.exceptions is None:
        return False
    offset = max(start - c.exception_reach + 1, 0)
    window = norm[offset : end + c.exception_reach - 1]
    return _overlaps((start - offset, end - offset), _spans(c.exceptions, window))


def find_trigger(
    norm: str, c: _Compiled, worth_trying: list[bool] | None = None
) -> tuple[int, int, int, int, int] | None:
    """The first valid trigger in a normalized text: (start, end, category, clause_start,
    clause_end), or None. ``worth_trying``: per category, whether it can match (default all)."""
    best = None
    for index, category in enumerate(c.categories):
        if worth_trying is not None and not worth_trying[index]:
            continue
        for found in category.pattern.finditer(norm):
            start, end = found.span()
            if best is not None and start >= best[0]:
                break
            if end == start:
                continue
            if _excepted(norm, start, end, c):
                continue
            left, right = clause_bounds(norm, start, end, c.separators)
            prefix = norm[left:start]
            if category.negatable and is_negated(prefix, c):
                continue
            if category.hypothetical and _is_hypothetical(prefix, norm[end:right], c):
                continue
            best = (start, end, index, left, right)
            break
    return best


def triggers_in(texts: list[str], rule) -> list[tuple[int, int, str] | None]:
    """For tests and tools: (start, end, category name) of the trigger in each raw text."""
    c = _compile(rule)
    out: list[tuple[int, int, str] | None] = []
    names = list(rule.params.get("trigger_classes") or [])
    if names:
        classes = classes_of(rule)
        for text in texts:
            norm = normalize_text(text)
            matches = [m for name in names for m in classes.find(name, norm)]
            first = min(matches, key=lambda m: (m.start, -(m.end - m.start))) if matches else None
            out.append(None if first is None else (first.start, first.end, first.category))
        return out
    for text in texts:
        found = find_trigger(normalize_text(text), c)
        out.append(None if found is None else (found[0], found[1], c.categories[found[2]].name))
    return out


# --- reply classification -------------------------------------------------------------------


def _counting(pattern: regex.Pattern | None, norm: str, excluded: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [s for s in _spans(pattern, norm, overlapped=False) if not _overlaps(s, excluded)]


def classify_reply(norm: str, is_emoji: bool, c: _Compiled, classes=None, soothing_class: str = "",
                   handling_class: str = "", self_service_class: str = "") -> tuple[str, tuple[int, int] | None]:
    """("" when acceptable, else a kind; the normalized span of a guiding phrase or None).
    With ``classes`` (a qa.classes.ClassSet), soothing and handling are those classes; a handling
    match that lies inside a ``self_service_class`` match (自己去订单里点退货) sends the customer
    to do it alone and handles nothing."""
    if is_emoji:
        return "emoji", None
    core = _core(norm)
    if core and c.dismissive is not None and c.dismissive.fullmatch(core):
        return "dismissive", None
    # Leftmost-longest, not overlapped: 无需您拨打12315 is one negated phrase, not also 打12315.
    for span in _spans(c.guiding, norm, overlapped=False):
        if classes is not None and not c.negators:
            if not classes.scope.in_scope(norm, span[0], span[1]):
                return "guiding", span
            continue
        left, _ = clause_bounds(norm, span[0], span[1], c.separators)
        if not is_negated(norm[left : span[0]], c):
            return "guiding", span
    if classes is not None and (soothing_class or handling_class):
        soothes, handles = soothes_and_handles(norm, classes, soothing_class, handling_class, self_service_class)
        return ("", None) if soothes or handles else ("cold", None)
    soothing = c.soothing is not None and c.soothing.search(norm) is not None
    handling = c.handling is not None and c.handling.search(norm) is not None
    if not soothing and not handling:
        return "cold", None
    excluded = _spans(c.reply_exceptions, norm)
    if soothing and _counting(c.soothing, norm, excluded):
        return "", None
    for span in _counting(c.handling, norm, excluded) if handling else ():
        left, _ = clause_bounds(norm, span[0], span[1], c.separators)
        if not is_negated(norm[left : span[0]], c):
            return "", None
    return "cold", None


def _is_preamble(norm: str, c: _Compiled) -> bool:
    core = _core(norm)
    return bool(core) and c.preambles is not None and bool(c.preambles.fullmatch(core))


# --- the check --------------------------------------------------------------------------------


def _candidates(norm: pd.Series, prefilter: list[str]) -> pd.Series:
    mask = pd.Series(False, index=norm.index)
    for start in range(0, len(prefilter), _PREFILTER_CHUNK):
        mask |= norm.str.contains("|".join(prefilter[start : start + _PREFILTER_CHUNK]), regex=True)
    return mask


def _span_in(original: str, norm: str, start: int, end: int) -> tuple[int, int]:
    """Map a span of ``norm`` back to ``original``. Most texts normalize character by character
    (same length, single spaces, NFKC keeps the length): then the span is the same."""
    if (
        len(original) == len(norm)
        and original == original.strip()
        and "  " not in original
        and not _ODD_SPACE.search(original)
        and len(unicodedata.normalize("NFKC", original)) == len(original)
    ):
        return (start, end)
    return original_span(original, start, end, norm)


def _quote(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _trigger_quote(original: str, norm: str, found: tuple[int, int, int, int, int], limit: int) -> str:
    """The trigger's clause as written, at most ``limit`` characters around the trigger."""
    start, end, _, left, right = found
    if right - left > limit:
        half = max((limit - (end - start)) // 2, 0)
        left = max(left, start - half)
        right = min(right, max(end, left + limit))
    span = _span_in(original, norm, left, right)
    fragment = original[span[0] : span[1]] if span[0] >= 0 else norm[left:right]
    return " ".join(fragment.split())


def _values(column: pd.Series, ids) -> list:
    """Python values of ``column`` at message ids, fetched in one go (no per-row indexing)."""
    return column.take(np.asarray(ids, dtype="int64")).tolist()


def _first_replies(trigger_ids: np.ndarray, reply_mask: np.ndarray, sessions: pd.Series) -> np.ndarray:
    """For each trigger, the id of the next reply-role message in the same session, or -1."""
    reply_positions = np.flatnonzero(reply_mask)
    if len(reply_positions) == 0:
        return np.full(len(trigger_ids), -1, dtype="int64")
    k = np.searchsorted(reply_positions, trigger_ids, side="right")
    nxt = reply_positions[np.minimum(k, len(reply_positions) - 1)]
    nxt = np.where(k < len(reply_positions), nxt, -1)
    has_next = nxt >= 0
    if has_next.any():
        same = np.asarray(_values(sessions, nxt[has_next])) == np.asarray(_values(sessions, trigger_ids[has_next]))
        nxt[np.flatnonzero(has_next)[~same]] = -1
    return nxt


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag triggers whose first reply is missing, emoji-only, dismissive, guiding or cold."""
    c = _compile(rule)
    classes = classes_of(rule)
    trigger_classes = list(rule.params["trigger_classes"])
    if trigger_classes:
        return _run(messages, rule, context, c, classes, trigger_classes)
    if not c.categories or len(messages) == 0:
        return findings_frame([], rule.id, "", "")
    trigger_scope = role_mask(messages, rule.params["trigger_roles"])
    norm_all = messages["norm"]
    scoped = norm_all.where(trigger_scope, "")
    candidates = scoped[_candidates(scoped, c.prefilter) & trigger_scope]
    if candidates.empty:
        return findings_frame([], rule.id, "", "")

    # Which categories may match each candidate (RE2, vectorised), so the exact patterns run
    # only where they can; and the same customer line (我要投诉) is analysed once.
    hits = np.column_stack([candidates.str.contains(cat.prefilter, regex=True).to_numpy(dtype=bool)
                            for cat in c.categories])
    seen: dict[str, tuple[int, int, int, int, int] | None] = {}
    trigger_ids: list[int] = []
    trigger_found: dict[int, tuple[int, int, int, int, int]] = {}
    for msg_id, normalized, row in zip(candidates.index.tolist(), candidates.tolist(), hits.tolist()):
        if normalized not in seen:
            seen[normalized] = find_trigger(normalized, c, row)
        found = seen[normalized]
        if found is not None:
            trigger_ids.append(msg_id)
            trigger_found[msg_id] = found
    if not trigger_ids:
        return findings_frame([], rule.id, "", "")

    return _judge(messages, rule, context, c, classes, trigger_ids, trigger_found,
                  lambda found, lang: c.categories[found[2]].label[lang])


def _run(messages: pd.DataFrame, rule, context: CheckContext, c: _Compiled, classes, names: list[str]) -> pd.DataFrame:
    """Triggers from shared classes (sensitive-complaint, safety): one vectorised mask per class
    over the customer messages, then the first match of each candidate."""
    if len(messages) == 0:
        return findings_frame([], rule.id, "", "")
    trigger_scope = role_mask(messages, rule.params["trigger_roles"]).to_numpy()
    norm_all = messages["norm"]
    scoped = norm_all[trigger_scope]
    hit = np.zeros(len(scoped), dtype=bool)
    for name in names:
        hit |= classes.row_mask(name, norm_all, trigger_scope)
    candidates = scoped[hit]
    trigger_ids: list[int] = []
    trigger_found: dict[int, tuple] = {}
    for msg_id, normalized in zip(candidates.index.tolist(), candidates.tolist()):
        matches = [m for name in names for m in classes.find(name, normalized)]
        if not matches:
            continue
        first = min(matches, key=lambda m: (m.start, -(m.end - m.start)))
        left = classes.scope.clause_start(normalized, first.start)
        right = classes.scope.clause_end(normalized, first.end)
        trigger_ids.append(msg_id)
        trigger_found[msg_id] = (first.start, first.end, first, left, right)
    if not trigger_ids:
        return findings_frame([], rule.id, "", "")
    return _judge(messages, rule, context, c, classes, trigger_ids, trigger_found,
                  lambda found, lang: found[2].label(lang))


def _judge(messages, rule, context, c, classes, trigger_ids, trigger_found, label_of) -> pd.DataFrame:
    """Find each trigger's first reply and judge it (shared by list and class triggers)."""
    norm_all = messages["norm"]
    trigger_scope = role_mask(messages, rule.params["trigger_roles"])
    sessions = messages["session_id"]
    reply_mask = role_mask(messages, rule.params["reply_roles"]).to_numpy()
    trigger_mask = trigger_scope.to_numpy()
    ids = np.asarray(trigger_ids, dtype="int64")
    nxt = _first_replies(ids, reply_mask, sessions)
    trigger_sessions = _values(sessions, ids)

    # One finding per first reply (or per session end): the first trigger of each group.
    groups: dict[tuple, int] = {}
    for msg_id, reply, session in zip(ids.tolist(), nxt.tolist(), trigger_sessions):
        groups.setdefault(("reply", reply) if reply >= 0 else ("end", session), msg_id)
    missing = [first for key, first in groups.items() if key[0] == "end"]
    first_replies = {key[1]: first for key, first in groups.items() if key[0] == "reply"}

    # A bare greeting/holding line continued by the same agent turn: judge the continuation.
    judged: dict[int, int] = {}  # judged reply id -> first trigger id
    reply_ids = sorted(first_replies)
    n = len(messages)
    for reply, reply_norm in zip(reply_ids, _values(norm_all, reply_ids)):
        first = first_replies[reply]
        while _is_preamble(reply_norm, c):
            following = reply + 1
            while following < n and not reply_mask[following] and not trigger_mask[following]:
                following += 1
            if following >= n or not reply_mask[following]:
                break
            following_session, reply_session = _values(sessions, [following, reply])
            if following_session != reply_session:
                break
            reply, reply_norm = following, _values(norm_all, [following])[0]
        judged.setdefault(reply, first)

    texts = messages["text"]
    agents = messages["agent"]
    kinds_text = {**DEFAULT_KIND_TEXT, **(rule.params.get("kinds") or {})}
    limit = rule.params["quote_chars"]
    lang = context.lang if context.lang in ("zh", "en") else "zh"
    context_ids = sorted(set(missing) | set(judged.values()))
    trigger_text = dict(zip(context_ids, _values(texts, context_ids)))
    trigger_norm = dict(zip(context_ids, _values(norm_all, context_ids)))
    quotes: dict[int, tuple[str, str]] = {}

    def trigger_values(trigger_id: int) -> tuple[str, str]:
        if trigger_id not in quotes:
            found = trigger_found[trigger_id]
            quote = _trigger_quote(trigger_text[trigger_id], trigger_norm[trigger_id], found, limit)
            quotes[trigger_id] = (quote, label_of(found, lang))
        return quotes[trigger_id]

    # Once the agent has soothed or handled a complaint, the customer's later mentions of it
    # in the same session (在看医生) are the same complaint, not a new one to judge. A new
    # channel of an ``escalation_classes`` class (投诉 handled, then 我去法院起诉) is a new
    # threat and is judged; a reply guiding to a complaint channel is judged every time.
    escalation = set(rule.params.get("escalation_classes") or [])

    def topic(trigger_id: int):
        found = trigger_found[trigger_id][2]
        cls = getattr(found, "cls", None)
        if cls is None:
            return None
        if cls not in escalation:
            # a message that reports the harm again and threatens a new channel (医生说是灼伤 我要找律师
            # 起诉) is judged by the threat: its channel is the topic
            for name in sorted(escalation):
                norm = trigger_norm.get(trigger_id)
                if norm is None:
                    norm = trigger_norm[trigger_id] = _values(norm_all, [trigger_id])[0]
                threat = classes.first(name, norm) if name in classes.classes else None
                if threat is not None:
                    return (name, threat.category)
            return (cls, None)
        return (cls, found.category)

    handled: set = set()
    needs_both = bool(rule.params.get("needs_both")) and classes is not None
    care_class = rule.params.get("care_class") or ""
    # After harm to the person (脚崴了, 孩子扎出血了) a refund or a return alone ignores the harm.
    care = set(rule.params.get("care_trigger_classes") or [])
    goods = compile_regex("^(?:" + "|".join(f"(?:{p})" for p in rule.params["goods_remedies"]) + ")+$") \
        if care and rule.params.get("goods_remedies") else None
    trigger_sessions_of = dict(zip(ids.tolist(), trigger_sessions))
    out_ids, reasons, matches, starts, ends, contexts = [], [], [], [], [], []
    judged_ids = sorted(judged)
    if judged_ids:
        judged_text = pd.Series(_values(texts, judged_ids), dtype="str")
        emoji = emoji_only_mask(judged_text, **{key: rule.params[key] for key in EMOJI_TOKEN_PARAMS}).to_numpy()
        verdicts: dict[tuple[str, bool], tuple[str, tuple[int, int] | None]] = {}
        judged_sessions = _values(sessions, judged_ids)
        for reply_id, original, reply_norm, is_emoji, session in zip(
            judged_ids, judged_text.tolist(), _values(norm_all, judged_ids), emoji.tolist(), judged_sessions
        ):
            key = (reply_norm, bool(is_emoji))
            if key not in verdicts:
                verdicts[key] = classify_reply(reply_norm, bool(is_emoji), c, classes,
                                               rule.params["soothing_class"], rule.params["handling_class"],
                                               rule.params["self_service_class"])
            kind_name, guide_span = verdicts[key]
            about = topic(judged[reply_id])
            if needs_both and kind_name in ("", "cold"):
                # soothing or handling alone falls short: both, in this message or the rest of the agent's turn
                # (after harm to the person, attending to the person stands for the soothing: 赶紧断电 / 孩子现在怎么样)
                cared = care_class if about is not None and about[0] in care else ""
                soothes, handles = _turn_soothes_and_handles(reply_id, session, n, sessions, agents, reply_mask,
                                                             trigger_mask, norm_all, rule, classes, cared)
                kind_name = ("" if handles else "unhandled") if soothes else ("unsoothed" if handles else "cold")
            elif kind_name == "cold" and _turn_makes_good(reply_id, session, n, sessions, agents, reply_mask,
                                                          trigger_mask, norm_all, texts, rule, c, classes):
                kind_name = None
            # a later word on a complaint the agent has since soothed or handled (已经在医院了 after
            # the apology and the offer) continues that episode: its reply is not judged again
            if kind_name and kind_name != "guiding" and _episode_handled(
                    judged[reply_id], session, ids, trigger_sessions_of, topic, reply_mask, norm_all, texts, rule,
                    c, classes):
                kind_name = None
            if not kind_name and about is not None and about[0] in care and _goods_only(reply_norm, rule, classes, goods):
                kind_name = "cold"
            if kind_name != "guiding" and ((session, None) in handled or (session, about) in handled):
                continue
            if not kind_name:
                handled.add((session, about))
                continue
            if guide_span is not None:
                span = _span_in(original, reply_norm, *guide_span)
            else:
                stripped = original.strip()
                offset = original.find(stripped) if stripped else 0
                span = (offset, offset + len(stripped))
            fragment = original[span[0] : span[1]] if span[0] >= 0 else original
            trigger_id = judged[reply_id]
            quote, category = trigger_values(trigger_id)
            reply_quote = _quote(original, limit)
            kind = render({lang: kinds_text[f"{kind_name}_{lang}"]}, lang, trigger=quote, reply=reply_quote)
            out_ids.append(reply_id)
            reasons.append(render(rule.message, lang, trigger=quote, category=category, reply=reply_quote,
                                  kind=kind))
            matches.append(fragment)
            starts.append(span[0])
            ends.append(span[1])
            contexts.append(trigger_id)

    # A mention left unanswered at the session's end (在医院了) after the agent had already
    # soothed or handled the same complaint in this session continues that episode: it is not
    # a new complaint nobody answered. Any agent reply since the episode's first trigger counts
    # (the caring answer often comes only after a cold first reply and the customer's protest).
    # A new channel of an escalation class is a new topic and still counts.
    for trigger_id, session in zip(missing, _values(sessions, missing)):
        if (session, None) in handled or (session, topic(trigger_id)) in handled:
            continue
        if _episode_handled(trigger_id, session, ids, trigger_sessions_of, topic, reply_mask, norm_all,
                            texts, rule, c, classes):
            continue
        quote, category = trigger_values(trigger_id)
        found = trigger_found[trigger_id]
        original = trigger_text[trigger_id]
        span = _span_in(original, trigger_norm[trigger_id], found[0], found[1])
        fragment = original[span[0] : span[1]] if span[0] >= 0 else trigger_norm[trigger_id][found[0] : found[1]]
        kind = render({lang: kinds_text[f"missing_{lang}"]}, lang, trigger=quote, reply="")
        out_ids.append(trigger_id)
        reasons.append(render(rule.message, lang, trigger=quote, category=category, reply="", kind=kind))
        matches.append(fragment)
        starts.append(span[0])
        ends.append(span[1])
        contexts.append(-1)

    return findings_frame(out_ids, rule.id, rule.severity.value, reasons, matches, starts, ends, contexts)


def _goods_only(reply_norm: str, rule, classes, goods) -> bool:
    """Whether an acceptable reply only handles the goods: no soothing, and every handling match
    a ``goods_remedies`` one (申请退货就行 运费险会赔 after 摔伤了腿)."""
    if goods is None or classes.matches(rule.params["soothing_class"], reply_norm):
        return False
    found = classes.find(rule.params["handling_class"], reply_norm)
    return bool(found) and all(goods.match(reply_norm[m.start : m.end]) for m in found)


def soothes_and_handles(norm: str, classes, soothing_class: str, handling_class: str, self_service_class: str = "",
                        cared: str = "") -> tuple[bool, bool]:
    """(soothes, handles) of a normalized reply: the soothing class (or the ``cared`` class) matches; a
    handling match lies outside every self-service match (自己去订单里点退货 handles nothing)."""
    soothes = bool(soothing_class) and classes.matches(soothing_class, norm) or bool(cared and classes.matches(cared, norm))
    handled = classes.find(handling_class, norm) if handling_class else []
    alone = classes.find(self_service_class, norm) if handled and self_service_class else []
    return soothes, any(not any(a.start <= h.start and h.end <= a.end for a in alone) for h in handled)


def _same_agent_turn(reply_id, session, n, sessions, agents, reply_mask, customer_mask):
    """The positions of the agent messages that ``reply_id``'s agent sends right after it, before the
    customer writes again; another agent stepping in ends the turn."""
    agent = _values(agents, [reply_id])[0]
    following = reply_id + 1
    while following < n and not customer_mask[following] and _values(sessions, [following])[0] == session:
        if reply_mask[following]:
            if _values(agents, [following])[0] != agent:
                return
            yield following
        following += 1


def _turn_soothes_and_handles(reply_id, session, n, sessions, agents, reply_mask, customer_mask, norm_all, rule,
                              classes, cared: str = "") -> tuple[bool, bool]:
    """(soothes, handles) of ``reply_id`` with the rest of its agent's turn (:func:`_same_agent_turn`: 真的非常抱歉
    / 这单给您全额退款 split over two messages)."""
    soothes = handles = False
    for position in (reply_id, *_same_agent_turn(reply_id, session, n, sessions, agents, reply_mask, customer_mask)):
        more_soothes, more_handles = soothes_and_handles(
            _values(norm_all, [position])[0], classes, rule.params["soothing_class"], rule.params["handling_class"],
            rule.params["self_service_class"], cared)
        soothes, handles = soothes or more_soothes, handles or more_handles
        if soothes and handles:
            break
    return soothes, handles


def _turn_makes_good(reply_id, session, n, sessions, agents, reply_mask, customer_mask, norm_all, texts, rule,
                     c, classes) -> bool:
    """Whether a message the agent sends right after ``reply_id``, before the customer writes
    again, soothes or handles: agents split one answer over several messages (天 吓到了吧 /
    这是我们的问题 马上给您全额退), and the turn is judged whole. Another agent taking over (a
    supervisor stepping in) does not make good the first agent's reply. Runs only for replies
    that fail."""
    return any(not _reply_kinds([following], texts, norm_all, rule, c, classes)[0]
               for following in _same_agent_turn(reply_id, session, n, sessions, agents, reply_mask, customer_mask))


def _reply_kinds(replies: list[int], texts, norm_all, rule, c, classes) -> list[str]:
    """The :func:`classify_reply` kind of each agent message of ``replies`` ("" when it soothes
    or handles)."""
    emoji = emoji_only_mask(pd.Series(_values(texts, replies), dtype="str"),
                            **{key: rule.params[key] for key in EMOJI_TOKEN_PARAMS}).to_numpy()
    return [classify_reply(norm, bool(is_emoji), c, classes, rule.params["soothing_class"],
                           rule.params["handling_class"], rule.params["self_service_class"])[0]
            for norm, is_emoji in zip(_values(norm_all, replies), emoji.tolist())]


def _episode_handled(trigger_id, session, ids, trigger_sessions_of, topic, reply_mask, norm_all, texts,
                     rule, c, classes) -> bool:
    """Whether an agent reply after an earlier trigger of the same topic in ``session`` (and
    before ``trigger_id``) soothed or handled it: the unanswered ``trigger_id`` then continues
    an episode already taken care of. Only runs for triggers left without a reply."""
    about = topic(trigger_id)
    earlier = [t for t in ids.tolist() if t < trigger_id and trigger_sessions_of[t] == session
               and topic(t) == about]
    if not earlier:
        return False
    replies = [p for p in range(min(earlier) + 1, trigger_id) if reply_mask[p]]
    if not replies:
        return False
    return not all(_reply_kinds(replies, texts, norm_all, rule, c, classes))


def validate(params: dict) -> list[tuple[str, str]]:
    """Problems the loader reports with the rule file's line: bad regexes, negative windows."""
    problems: list[tuple[str, str]] = []

    def compiles(key: str, pattern: str, where: str) -> None:
        if (why := regex_problem(pattern)) is not None:
            problems.append((key, f"{where}: bad regular expression {pattern!r}: {why}"))

    for table in params["triggers"]:
        for pattern in table["patterns"]:
            compiles("triggers", pattern, f"triggers '{table['name']}'")
    for pattern in params["guiding"]:
        compiles("guiding", pattern, "guiding")
    compiles("clause_separators", params["clause_separators"], "clause_separators")
    for key in ("negation_window", "question_window", "quote_chars"):
        if params[key] < 0:
            problems.append((key, f"{key} must be 0 or more"))
    return problems
