"""Credit for good practice (亮点): what an agent did right, shown beside the deductions.

Standards 000 (沟通流程), 002 §二 (投诉处理四要点) and 003 (困难客户) name good practice a
trainer coaches with: a quick first reply, an apology before the explanation when the
customer is unhappy, two or more solutions to choose from, a concrete follow-up time and a
check of understanding. Credits never hide or offset a finding unless ``scoring.toml``
turns them into bonus points (default off).

Credits are rule data, like rules: one TOML file per credit in ``rules/credits/`` (a rule
pack may hold its own ``credits/`` folder: a file with a built-in id replaces that credit,
``enabled = false`` alone switches it off, a new id adds a credit). A file names::

    id = "follow-up-time"            # public id (reports, JSON, scoring.toml)
    check = "agent-pattern"          # one of CREDIT_CHECKS
    enabled = true
    [name]  zh = "…"  en = "…"       # display names
    [message] zh = "…{match}…" en = "…"   # the reason shown on the Highlights sheet
    [docs] what, why, source
    [params] …                        # the check type's parameters

Check types (each runs on candidate messages only, found column-wise):

``first-reply``
    The session's first agent reply to the customer's first message (the customer spoke
    first; system messages and auto-replies do not answer) came within ``max_seconds``.
    Needs times. The credit sits on the agent's reply.
``reply-opens-with``
    A customer message of class ``customer_class`` (``upset``), and the agent's next reply
    opens with class ``open_class`` (``soothing``): the first soothing match starts within
    ``open_chars`` characters and before any match of ``before_classes`` (``handling``: the
    explanation or offer comes after the apology); a soothing match inside a ``not_counting``
    match (``wait-request``: 请耐心等待 asks for patience, it soothes nothing) does not count.
``agent-pattern``
    An agent message matching ``patterns`` (regex over the normalized text) outside
    ``exclude`` and, with ``negation``/``condition``, outside the scope of a negation
    (不是/没有/无法…) or a condition (如果/万一…) in the same clause (:mod:`qa.negation`).
    With ``alternatives_class`` (``handling``), a message also qualifies when it holds two
    different matches of that class joined by one of ``connectives`` (或者/还是/要么…);
    matches wholly matching ``alternatives_ignore`` (处理, 核实: no offer by themselves) do
    not count.

Credit table (:data:`CREDIT_REPORT_COLUMNS`, one row per credited message per credit, sorted
by message then credit): credit, session_id, agent, timestamp, file, sheet, row, text, match,
span_start, span_end, reason, context_text, msg, context_msg — the finding table's columns
with ``credit`` for ``rule`` and no severity, so partitions merge like findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex

from qa.checks.base import CheckContext
from qa.classes import builtin_classes, in_scope
from qa.errors import RuleError
from qa.model import Role
from qa.regexcache import compile_regex
from qa.regexutil import join_alternatives, re2_valid, regex_problem, relax_counts
from qa.rulefiles import builtin_rules_dir
from qa.textindex import text_index
from qa.tomlfile import read_toml

CREDITS_DIR = "credits"
CREDIT_CHECKS = ("first-reply", "reply-opens-with", "agent-pattern")
CREDIT_COLUMNS = ["msg", "credit", "match", "span_start", "span_end", "reason", "context_msg"]
CREDIT_REPORT_COLUMNS = [
    "credit", "session_id", "agent", "timestamp", "file", "sheet", "row", "text", "match",
    "span_start", "span_end", "reason", "context_text", "msg", "context_msg",
]
_ALTERNATIVES_GAP = 15  # characters at most between two alternatives
_SENTENCE_END = compile_regex(r"[.!?;。…~\n]")
_LITERAL = compile_regex(r"[\p{L}\p{N}]+")  # a connective with no regex syntax
_TOP_KEYS = {"id", "check", "enabled", "name", "message", "docs", "params"}
_PARAMS = {
    "first-reply": {"max_seconds": (int, float)},
    "reply-opens-with": {"customer_class": str, "open_class": str, "before_classes": list, "open_chars": int,
                         "not_counting": list},
    "agent-pattern": {"patterns": list, "exclude": list, "negation": bool, "condition": bool,
                      "alternatives_class": str, "alternatives_ignore": list, "connectives": list, "macros": list},
}
_REQUIRED = {"first-reply": ("max_seconds",), "reply-opens-with": ("customer_class", "open_class"),
             "agent-pattern": ("patterns",)}


@dataclass(frozen=True)
class Credit:
    """One credit for good practice, as loaded from its TOML file."""

    id: str
    check: str
    name: dict[str, str]
    message: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    docs: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    path: str = ""

    def label(self, lang: str) -> str:
        """The display name in ``lang`` (zh/en)."""
        return self.name.get(lang) or self.name.get("en") or self.id

    def reason(self, lang: str, match: str) -> str:
        """The reason shown with a credited message."""
        template = self.message.get(lang) or self.message.get("en") or ""
        return template.replace("{match}", match)


# --------------------------------------------------------------------------- loading


def builtin_credits_dir() -> Path:
    """``rules/credits`` beside the built-in rules."""
    return builtin_rules_dir() / CREDITS_DIR


def _fail(path: Path, problem: str) -> RuleError:
    return RuleError(f"{path}: {problem}")


def _read(path: Path) -> dict[str, Any]:
    return read_toml(path, RuleError)[0]


def _parse(data: dict[str, Any], path: Path) -> Credit:
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise _fail(path, f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(_TOP_KEYS))})")
    credit_id = data.get("id")
    if not isinstance(credit_id, str) or not regex.fullmatch(r"[a-z][a-z0-9-]*", credit_id):
        raise _fail(path, "id must be a lower-case id such as 'follow-up-time'")
    check = data.get("check")
    if check not in CREDIT_CHECKS:
        raise _fail(path, f"check must be one of {', '.join(CREDIT_CHECKS)}, got {check!r}")
    params = dict(data.get("params") or {})
    allowed = _PARAMS[check]
    for key, value in params.items():
        if key not in allowed:
            raise _fail(path, f"unknown key 'params.{key}' for check {check} (allowed: {', '.join(sorted(allowed))})")
        if isinstance(value, bool) and allowed[key] is not bool or not isinstance(value, allowed[key]):
            raise _fail(path, f"params.{key} has the wrong type ({type(value).__name__})")
    for key in _REQUIRED[check]:
        if key not in params:
            raise _fail(path, f"params.{key} is required for check {check}")
    for key in ("patterns", "exclude"):
        for pattern in _expand(params.get(key) or [], params.get("macros") or []):
            if (why := regex_problem(pattern)) is not None:
                raise _fail(path, f"params.{key}: bad regex {pattern!r}: {why}")
    name, message = data.get("name") or {}, data.get("message") or {}
    for table, what in ((name, "name"), (message, "message")):
        if not isinstance(table, dict) or not {"zh", "en"} <= set(table):
            raise _fail(path, f"[{what}] needs zh and en")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(path, "enabled must be true or false")
    return Credit(credit_id, check, dict(name), dict(message), params, dict(data.get("docs") or {}), enabled, str(path))


def _credit_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def load_credits(packs: Iterable[Path] = (), *, include_builtin: bool = True) -> list[Credit]:
    """The built-in credits, then each rule pack's ``credits/`` folder in order (a pack may
    replace a credit, switch one off with ``id`` + ``enabled = false``, or add one). Sorted
    by id; problems are RuleErrors naming the file."""
    by_id: dict[str, Credit] = {}
    folders = ([builtin_credits_dir()] if include_builtin else []) + [Path(p) / CREDITS_DIR for p in packs]
    for folder in folders:
        for path in _credit_files(folder):
            data = _read(path)
            if set(data) <= {"id", "enabled"} and data.get("id") in by_id:
                import dataclasses

                if not isinstance(data.get("enabled", True), bool):
                    raise _fail(path, "enabled must be true or false")
                by_id[data["id"]] = dataclasses.replace(by_id[data["id"]], enabled=data.get("enabled", True))
                continue
            credit = _parse(data, path)
            by_id[credit.id] = credit
    return [by_id[key] for key in sorted(by_id)]


@lru_cache(maxsize=1)
def builtin_credits() -> tuple[Credit, ...]:
    """The built-in credits (cached)."""
    return tuple(load_credits())


# --------------------------------------------------------------------------- detection


def empty_credits() -> pd.DataFrame:
    """A raw credit table with no rows."""
    return pd.DataFrame({
        "msg": pd.Series([], dtype="int64"), "credit": pd.Series([], dtype="str"),
        "match": pd.Series([], dtype="str"), "span_start": pd.Series([], dtype="int64"),
        "span_end": pd.Series([], dtype="int64"), "reason": pd.Series([], dtype="str"),
        "context_msg": pd.Series([], dtype="int64"),
    })


def detect_credits(messages: pd.DataFrame, credits: Sequence[Credit], context: CheckContext, classes: Any = None
                   ) -> pd.DataFrame:
    """Run every enabled credit over a normalized message table (RangeIndex = message id):
    the raw credit table (:data:`CREDIT_COLUMNS`), one row per message per credit, sorted by
    message then credit. ``classes``: the audit's :class:`qa.classes.ClassSet`."""
    frames = []
    for credit in credits:
        if not credit.enabled:
            continue
        if credit.check == "first-reply":
            found = _first_reply(messages, credit, context)
        elif credit.check == "reply-opens-with":
            found = _reply_opens_with(messages, credit, context, _classes(classes))
        else:
            found = _agent_pattern(messages, credit, context, classes)
        if len(found):
            frames.append(found)
    if not frames:
        return empty_credits()
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["msg", "credit"], kind="stable").drop_duplicates(["msg", "credit"])
    return table.reset_index(drop=True)[CREDIT_COLUMNS]


def _classes(classes: Any) -> Any:
    if classes is not None:
        return classes
    return builtin_classes()


def _no_credits(credit: Credit, lang: str) -> pd.DataFrame:
    """The credits of ``credit`` when none was earned: no rows, the columns of :func:`_frame`."""
    # A copy of one empty frame per credit id (it holds no reason, so neither the language nor
    # the rest of the credit shows): building a frame costs milliseconds, copying it microseconds.
    template = _EMPTY_CREDITS.get(credit.id)
    if template is None:
        template = _EMPTY_CREDITS[credit.id] = _frame(credit, [], [], [], [], [], lang)
    return template.copy()


_EMPTY_CREDITS: dict[str, pd.DataFrame] = {}


def _role_positions(messages: pd.DataFrame, role: Role) -> np.ndarray:
    """Positions of the messages of ``role``."""
    return np.flatnonzero((messages["role"] == role.value).to_numpy())


def _frame(credit: Credit, msgs: list[int], matches: list[str], starts: list[int], ends: list[int],
           contexts: list[int], lang: str) -> pd.DataFrame:
    return pd.DataFrame({
        "msg": pd.Series(msgs, dtype="int64"),
        "credit": credit.id,
        "match": pd.Series(matches, dtype="str"),
        "span_start": pd.Series(starts, dtype="int64"),
        "span_end": pd.Series(ends, dtype="int64"),
        "reason": pd.Series([credit.reason(lang, m) for m in matches], dtype="str"),
        "context_msg": pd.Series(contexts, dtype="int64"),
    })


def _speaking(messages: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids of the non-system messages, their session codes and roles (system messages never
    answer a customer and never stop the clock)."""
    role = messages["role"].to_numpy(dtype=object)
    keep = np.flatnonzero(role != Role.SYSTEM.value)
    codes, _ = pd.factorize(messages["session_id"])
    return keep, codes[keep], role[keep]


def _first_reply(messages: pd.DataFrame, credit: Credit, context: CheckContext) -> pd.DataFrame:
    """Sessions whose customer spoke first and got the first agent reply within the limit."""
    if not context.has_timestamps or not len(messages):
        return _no_credits(credit, context.lang)
    ids, codes, roles = _speaking(messages)
    if not len(ids):
        return _no_credits(credit, context.lang)
    first = np.r_[True, codes[1:] != codes[:-1]]
    starts = np.flatnonzero(first)
    opened_by_customer = roles[starts] == Role.CUSTOMER.value
    # Within each session: the first agent message (its position among the speaking ones).
    is_agent = roles == Role.AGENT.value
    agent_positions = np.flatnonzero(is_agent)
    if not len(agent_positions):
        return _no_credits(credit, context.lang)
    first_agent = pd.Series(agent_positions).groupby(codes[agent_positions], sort=False).first()
    session_code = codes[starts]
    reply_pos = first_agent.reindex(session_code).to_numpy()
    has_reply = opened_by_customer & ~pd.isna(reply_pos)
    customer_ids = ids[starts[has_reply]]
    reply_ids = ids[reply_pos[has_reply].astype(np.int64)]
    from qa.metrics import _nanoseconds

    ns, missing = _nanoseconds(messages["timestamp"])
    timed = ~missing[customer_ids] & ~missing[reply_ids]
    waited = np.where(timed, (ns[reply_ids] - ns[customer_ids]) / 1e9, np.nan)
    limit = float(credit.params["max_seconds"])
    quick = ~np.isnan(waited) & (waited >= 0) & (waited <= limit)
    msgs = reply_ids[quick].tolist()
    seconds = waited[quick].tolist()
    lang = context.lang
    reasons = [_seconds(s) for s in seconds]
    frame = _frame(credit, msgs, [""] * len(msgs), [-1] * len(msgs), [-1] * len(msgs),
                   customer_ids[quick].tolist(), lang)
    frame["reason"] = pd.Series([credit.reason(lang, r) for r in reasons], dtype="str")
    return frame


def _seconds(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _next_agent_reply(messages: pd.DataFrame, positions_of: np.ndarray) -> np.ndarray:
    """For message ids ``positions_of`` (customer messages), the id of the next agent
    message of the same session, -1 when none."""
    role = messages["role"].to_numpy(dtype=object)
    codes, _ = pd.factorize(messages["session_id"])
    n = len(role)
    is_agent = role == Role.AGENT.value
    # next agent id at or after each position, per session: reverse cumulative minimum.
    marks = np.where(is_agent, np.arange(n), n)
    nxt = pd.Series(marks[::-1]).groupby(codes[::-1], sort=False).cummin().to_numpy()[::-1]
    after = np.minimum(positions_of + 1, n - 1)
    candidate = nxt[after]
    same = (positions_of + 1 < n) & (candidate < n)
    candidate = np.where(same, candidate, n)
    ok = candidate < n
    ok[ok] = codes[candidate[ok]] == codes[positions_of[ok]]
    return np.where(ok, candidate, -1)


def _reply_opens_with(messages: pd.DataFrame, credit: Credit, context: CheckContext, classes: Any) -> pd.DataFrame:
    """Upset customer messages whose next agent reply opens with soothing."""
    params = credit.params
    positions = _role_positions(messages, Role.CUSTOMER)
    if not len(positions):
        return _no_credits(credit, context.lang)
    norm = messages["norm"]
    upset = classes.row_mask(params["customer_class"], norm, positions)
    asked = positions[upset]
    replies = _next_agent_reply(messages, asked) if len(asked) else np.zeros(0, np.int64)
    keep = replies >= 0
    asked, replies = asked[keep], replies[keep]
    # A run of upset messages answered by one reply credits that reply once (the first).
    if len(replies):
        _, first = np.unique(replies, return_index=True)
        asked, replies = asked[first], replies[first]
    open_class, before = params["open_class"], list(params.get("before_classes") or [])
    window = int(params.get("open_chars", 15))
    not_counting = [name for name in params.get("not_counting") or [] if name in classes.classes]
    if len(replies):
        # a reply outside the open class opens with nothing: left out by a class mask over all the
        # replies at once (vectorised pre-filter, the verdicts kept) rather than found one by one
        opens = classes.row_mask(open_class, norm, replies)
        asked, replies = asked[opens], replies[opens]
    reply_texts = norm.take(replies).tolist()
    msgs, spans, contexts = [], [], []
    for customer_id, reply_id, text in zip(asked.tolist(), replies.tolist(), reply_texts):
        text = str(text)
        ignored = [m for name in not_counting for m in classes.find(name, text)]
        found = next((m for m in sorted(classes.find(open_class, text), key=lambda m: m.start)
                      if not any(i.start <= m.start and m.end <= i.end for i in ignored)), None)
        if found is None or found.start > window:
            continue
        earlier = [m for name in before for m in classes.find(name, text) if m.start < found.start]
        if earlier:
            continue
        msgs.append(reply_id)
        spans.append((found.start, found.end))
        contexts.append(customer_id)
    return _with_original_spans(messages, credit, msgs, spans, contexts, context.lang)


def _with_original_spans(messages: pd.DataFrame, credit: Credit, msgs: list[int], spans: list[tuple[int, int]],
                         contexts: list[int], lang: str) -> pd.DataFrame:
    from qa.checks.pattern import map_spans

    if not msgs:
        return _no_credits(credit, lang)
    originals = messages["text"].take(msgs).tolist()
    norms = messages["norm"].take(msgs).tolist()
    mapped = map_spans([(str(o), str(n), s, e) for o, n, (s, e) in zip(originals, norms, spans)])
    matches = [str(o)[s:e] if s >= 0 else str(n)[a:b]
               for o, n, (s, e), (a, b) in zip(originals, norms, mapped, spans)]
    return _frame(credit, msgs, matches, [s for s, _ in mapped], [e for _, e in mapped], contexts, lang)


def _expand(patterns: list[str], macros: list[str]) -> list[str]:
    from qa.checks.pattern import expand_macros

    return expand_macros(list(patterns), list(macros))


@lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...], exclude: tuple[str, ...], macros: tuple[str, ...]
              ) -> tuple[Any, Any, str | None]:
    expanded = _expand(list(patterns), list(macros))
    combined = compile_regex(join_alternatives(expanded))
    excluded = _expand(list(exclude), list(macros))
    exclusion = compile_regex(join_alternatives(excluded)) if excluded else None
    prefilter = relax_counts("|".join(f"(?:{p})" for p in expanded))
    return combined, exclusion, prefilter if re2_valid(prefilter) else None


def _arrow_candidates(texts: pa.Array, prefilter: str | None) -> np.ndarray:
    """Which of ``texts`` the RE2 ``prefilter`` matches (all when there is none)."""
    if prefilter is None:
        return np.ones(len(texts), dtype=bool)
    hits = pc.fill_null(pc.match_substring_regex(texts, prefilter), False)
    return hits.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _in_scope(text: str, start: int, end: int, negation: bool, condition: bool, classes: Any) -> bool:
    if not (negation or condition):
        return False
    scope = getattr(classes, "scope", None)
    return bool(in_scope(text, start, end, scope, negation=negation, condition=condition))


def _pattern_span(text: str, combined: Any, exclusion: Any, negation: bool, condition: bool, classes: Any
                  ) -> tuple[int, int] | None:
    excluded = [m.span() for m in exclusion.finditer(text, overlapped=True)] if exclusion is not None else []
    for found in combined.finditer(text):
        start, end = found.span()
        if any(a < end and start < b for a, b in excluded):
            continue
        if _in_scope(text, start, end, negation, condition, classes):
            continue
        return start, end
    return None


def _alternatives_span(text: str, name: str, connectives: Any, ignore: Any, classes: Any) -> tuple[int, int] | None:
    """Two different matches of class ``name`` with a connective between them (退款或者补发);
    matches ``ignore`` matches whole (处理, 解决: no offer on their own) do not count."""
    found = [m for m in classes.find(name, text) if ignore is None or not ignore.fullmatch(m.text)]
    for i, left in enumerate(found):
        for right in found[i + 1:]:
            if right.start < left.end or right.text == left.text:
                continue
            between = text[left.end:right.start]
            # One sentence, close together: 退款还是换货, 可以退款，或者给您补发.
            if len(between) <= _ALTERNATIVES_GAP and not _SENTENCE_END.search(between) and connectives.search(between):
                return left.start, right.end
    return None


def _agent_pattern(messages: pd.DataFrame, credit: Credit, context: CheckContext, classes: Any) -> pd.DataFrame:
    """Agent messages matching the credit's patterns (or offering alternatives)."""
    params = credit.params
    positions = _role_positions(messages, Role.AGENT)
    if not len(positions):
        return _no_credits(credit, context.lang)
    combined, exclusion, prefilter = _compiled(
        tuple(params["patterns"]), tuple(params.get("exclude") or ()), tuple(params.get("macros") or ()))
    negation, condition = bool(params.get("negation", True)), bool(params.get("condition", True))
    # Each distinct text of the agent messages is judged once (canned lines repeat).
    index = text_index(messages["norm"])
    distinct = np.flatnonzero(index.present(positions))
    distinct_texts = index.uniques.take(pa.array(distinct))
    candidates = _arrow_candidates(distinct_texts, prefilter)
    alternatives = params.get("alternatives_class")
    if alternatives:
        classes = _classes(classes)
        connective_list = list(params.get("connectives") or ["或者", "或是", "还是", "要么", "或"])
        connectives = compile_regex("|".join(connective_list))
        ignored = params.get("alternatives_ignore") or []
        ignore = compile_regex(join_alternatives(ignored)) if ignored else None
        offered = classes._distinct_hits(index, alternatives, index.present(positions), exact=False)[distinct]
        if all(_LITERAL.fullmatch(c) for c in connective_list):
            # Two alternatives need a connective between them, so a text without one has none.
            offered &= _arrow_candidates(distinct_texts, "|".join(connective_list))
    elif negation or condition:
        classes = _classes(classes)
    chosen = np.flatnonzero(candidates | offered) if alternatives else np.flatnonzero(candidates)
    span_of: list[tuple[int, int] | None] = []
    for i, text in zip(chosen.tolist(), index.texts(distinct[chosen])):
        span = _pattern_span(text, combined, exclusion, negation, condition, classes) if candidates[i] else None
        if span is None and alternatives and offered[i]:
            span = _alternatives_span(text, alternatives, connectives, ignore, classes)
        span_of.append(span)
    slot = np.full(len(index.uniques), -1, dtype=np.int64)
    slot[distinct[chosen]] = np.arange(len(chosen))
    at = slot[index.codes[positions]]
    found = np.zeros(len(positions), dtype=bool)
    found[at >= 0] = [span_of[k] is not None for k in at[at >= 0].tolist()]
    msgs = positions[found].tolist()
    spans = [span_of[k] for k in at[found].tolist()]
    contexts = _last_customer(messages, msgs)
    return _with_original_spans(messages, credit, msgs, spans, contexts, context.lang)


def _last_customer(messages: pd.DataFrame, msgs: list[int]) -> list[int]:
    """The last customer message before each of ``msgs`` in its session, -1 when none."""
    if not msgs:
        return []
    n = len(messages)
    customer = (messages["role"] == Role.CUSTOMER.value).to_numpy()
    marks = pd.Series(np.where(customer, np.arange(n), -1))
    last = marks.groupby(messages["session_id"].to_numpy(), sort=False).cummax().to_numpy()
    return last[np.asarray(msgs, dtype=np.int64)].tolist()


def report_credits(raw: pd.DataFrame, messages: pd.DataFrame, agents_by_session: pd.Series, timezone: str
                   ) -> pd.DataFrame:
    """Join raw credits with their messages, exactly as findings are joined
    (:func:`qa.checks.stage.report_findings`): :data:`CREDIT_REPORT_COLUMNS`."""
    from qa.checks.stage import report_findings

    if not len(raw):
        return pd.DataFrame({column: pd.Series([], dtype="object") for column in CREDIT_REPORT_COLUMNS})
    as_findings = raw.rename(columns={"credit": "rule"}).assign(severity="")
    report = report_findings(as_findings, messages, agents_by_session, timezone)
    return report.rename(columns={"rule": "credit"})[CREDIT_REPORT_COLUMNS]


def merge_credit_frames(frames: Iterable[pd.DataFrame], *, release: bool = False) -> pd.DataFrame:
    """Credits of several partitions (global ids), in the in-memory order (msg, credit);
    ``release`` empties the frames as they are merged (:func:`qa.memory.concat_sorted`)."""
    frames = list(frames)
    non_empty = [f for f in frames if len(f)]
    if not non_empty:
        return frames[0] if frames else pd.DataFrame({c: pd.Series([], dtype="object") for c in CREDIT_REPORT_COLUMNS})
    from qa.memory import concat_sorted

    return concat_sorted(non_empty, ["msg", "credit"], release=release)
