"""Check type ``reply_class``: a customer message of some class needs a reply of another class.

The generic form of "trigger → the agent's next reply must satisfy a class", over the shared
semantic classes of ``rules/classes.toml`` (:mod:`qa.classes`):

* ``unsoothed-emotion``: a customer message of class ``upset`` or ``rejection`` must be
  answered by a reply of class ``soothing`` (a ``closing`` formula, a rating invitation or
  canned praise does not count, even when it holds a soothing word);
* ``brand-doubt``: a customer message of class ``doubt`` must be answered by a reply of class
  ``clarification`` or ``soothing``.

How it works (vectorised; Python only over the trigger candidates and their replies):

1. customer messages (``trigger_roles``) matching one of ``trigger_classes`` are triggers
   (:meth:`ClassSet.mask`: an RE2 pre-filter over the column, then negation/condition scope
   per distinct candidate text); a trigger that also matches one of ``skip_classes`` is left
   to another rule (``sensitive-complaint``/``safety`` belong to ``ignored-complaint``: one
   customer message is judged by one rule);
2. the judged reply is the next ``reply_roles`` message of the same session (system messages,
   other customer messages and replies of a ``pass_over_classes`` class such as an
   auto-reply under the agent's nickname are passed over, unless the customer's turn before it
   holds a ``pass_over_answering`` class (人呢 answered by a greeting); ``searchsorted`` over the reply
   positions). Consecutive triggers before one reply give one finding, on the reply, with the
   first trigger as context. ``judge = "turn"`` judges the reply together with the messages
   the agent sends right after it (before the customer writes again);
3. the reply is acceptable when it has a match of one of ``satisfied_by`` that no match of
   a ``not_counting`` class overlaps (还有其他可以帮您的吗 holds 帮您 but is a closing);
4. with ``flag_missing``, a trigger the agent never answers is flagged on the trigger.

Parameters (rule ``[params]``):

``trigger_classes`` (strings, required), ``skip_classes``, ``satisfied_by`` (strings,
required), ``not_counting``, ``pass_over_classes`` (strings)
    Class names of ``rules/classes.toml`` (or a pack's).
``trigger_roles`` / ``reply_roles`` (strings, default customer / agent)
``after_reply_classes`` (strings)
    Trigger classes that count only once an agent has replied in the session: ``rejection``
    (a refusal refuses what the agent offered; 找不到订单 in the first message refuses nothing).
``prompted_classes``, ``prompt_classes`` (strings)
    After-reply trigger classes that refuse only what the agent proposed (打不通, 刚换的 are
    reports on their own): a message of only these counts when the agent's previous reply is
    of a ``prompt_classes`` class (建议您…, 您可以联系…).
``nothing_offered_classes`` (strings)
    Agent lines that offer nothing (有什么可以帮您, 稍等 正在为您查询, 提供下订单号, …是吗?): an
    after-reply trigger right after one (不要了, 不认可, 我要退货) tells the agent what the customer
    wants or what someone else decided, unless that line is also a ``prompt_classes`` proposal.
``answer_classes``, ``proposal_classes`` (strings)
    Refusal as a relation (:mod:`qa.acceptance`): a customer message of an answer class
    (不寄, 喷了还响, 我要退货) right after an agent reply of a proposal class is a refusal when
    :func:`qa.acceptance.not_accepted` ties it to that proposal (the refused step's verb is in
    it, or the demanded remedy is not). It is judged like an ``after_reply_classes`` trigger.
``waiting_classes`` (strings), ``wait_seconds`` (int, default 300)
    A trigger of these classes (a bare ??? of ``bare-punctuation``) is impatience only while the
    customer waits: after the customer's own message, after a wait over ``wait_seconds`` when
    times are known, or after the agent repeated a line; answering the agent's latest message
    (a bare order number, a menu) it is confusion, and as the session's first message a call.
``mild_classes``, ``mild_satisfied_by`` (strings)
    A customer turn whose triggers all lie in mild-class matches (……, 这…) is answered by a
    reply of a ``mild_satisfied_by`` class (the agent takes the matter up: 我来帮您看看), unless
    the reply is also of a ``mild_spoiled_by`` class (it rules against the customer: 超过7天不支持).
``waits_unknown`` ("impatience" | "call"), ``emphasis_classes`` (strings)
    Without a time on the message, a waiting-class or nudge message after the customer's own
    unanswered line shows no wait: "call" does not count it as impatience unless it is of an
    emphasis class (????, ?!); "impatience" (the default) counts it as before.
``restated_classes`` (strings)
    Satisfying classes (``reassurance``: 我给您催一下) whose match does not count when the
    customer's trigger refused the agent's proposal just before (tied by :mod:`qa.acceptance`,
    or a challenge to the agent of ``new_episode_classes``: 你是复读机吗, or a refusal in so many words of
    ``restated_refusal_classes``: 我说了不等了) and the match names a
    Han character of that proposal other than common ones and the words of offering (给, 帮,
    再, 马上): the refused solution offered again reassures no one, in the reply or in a later
    message of the same turn. An apology or empathy in the reply still counts.
``request_classes``, ``failure_classes`` (strings)
    A refusal made only of failure-class matches (操作不了) in a customer turn that also asks
    the agent to handle it (麻烦人工处理) and holds no other trigger is a request, not a refusal.
``carry_over_classes`` (strings)
    Follow-ups that insist on an earlier trigger (我问的是…, 我就想知道…, 所以是…?, 别家就不会):
    a customer message of these classes is a trigger again when the customer's previous turn
    (before the agent's last reply) held a trigger, so a doubt the customer repeats opens a new
    judgement on the next reply; on their own such lines trigger nothing. Chains carry on.
``provoked_classes``, ``pressed_classes`` (strings)
    After the agent's provocation (a rhetorical question, contempt, buck-passing: 你不会自己看吗)
    the customer's answer shows the upset by its form more than by its words (我是租的房子！,
    啊？那我这冰箱就这样了？, 我就问你能不能换): the customer's first message after such a line is
    a trigger when it is of a pressed class; a calm answer (我还没下单呢 就问问) is not.
``judge`` (``first`` | ``turn``, default ``first``)
``turn_ends_after_classes`` (strings)
    With ``judge = "turn"``, a reply of these classes is judged alone: a bare hold (稍等哈) answers an
    upset customer with a wait, and the apology sent after it comes second.
``flag_missing`` (bool, default false)
``quote_chars`` (int, default 30)
    Longest quote of the trigger or the reply in the reason.

Message fields: ``{trigger}`` (the trigger message as written, shortened), ``{cue}`` (the
matched words), ``{category}`` (the label of the matched class category), ``{reply}``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa.acceptance import COMMON_CHARS as _COMMON_CHARS
from qa.acceptance import (
    answers_when,
    answers_yes,
    echoed_in_disbelief,
    grants,
    grants_request,
    not_accepted,
    offers_other,
    offers_other_sum,
    permits_decision,
    same_remedy,
)
from qa.checks.base import CheckContext, findings_frame, render, role_mask, turn_holds
from qa.classes import classes_of
from qa.regexcache import compile_regex
from qa.saidagain import SaidAgain, takes_up
from qa.textindex import text_index

# what a reply with content has: a letter or a digit outside emoticon codes ([微笑], [OK])
_CONTENT = compile_regex(r"[\p{L}\p{N}]")
_EMOTICON_CODE = compile_regex(r"\[[^\[\]]{1,8}\]")
# an A-not-A question with its 到底/究竟 (到底能不能退)
_A_NOT_A_Q = compile_regex(r"(?:到底|究竟)?[^,.!?;]{0,4}?(\p{Han}{1,2})[不没]\1[^,.!?;]{0,8}")
# a clause of a customer's message, and the words that make one a question (到底, 哪天, 多久, 吗, ?, 几天)
# or the impatience of asking it (问了半天, 等了好久, 催了三遍)
_CLAUSE = compile_regex(r"[^,.!?;~\s]+[,.!?;~]*")
_ASKS = compile_regex(r"到底|究竟|哪天|多久|多长时间|什么时候|啥时候|几天|几号|怎么还|吗|(?<![什怎这那多])么|嘛|\?|(\p{Han})[不没]\1"
                      r"|(?:问|等|催|找|说)了(?:半天|好久|很久|这么久|那么久|[0-9一二两三四五六七八九十几好]+(?:遍|次|回|天|分钟|小时))")
# …asking whether something happened (发没发货, 到没到): a status the agent can look up
_STATUS_Q = compile_regex(r"(?:到底|究竟)?[^,.!?;]{0,4}?(\p{Han}{1,2})没\1[^,.!?;]{0,8}")


# attachments ([图片], [商品链接]) carry an answer; emoticon codes ([微笑]) do not
_ATTACHMENT_CODE = compile_regex(r"\[(?:图片|商品|链接|订单|视频|文件|卡片|语音|位置)[^\[\]]{0,6}\]")


def _dodged(norm_text: str) -> bool:
    """Is the agent's message content-less: emoji, emoticon codes or punctuation only (no
    letter or digit, no attachment)?"""
    if _ATTACHMENT_CODE.search(norm_text):
        return False
    return _CONTENT.search(_EMOTICON_CODE.sub("", norm_text)) is None


def _quote(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _values(column: pd.Series, ids) -> list:
    return column.take(np.asarray(ids, dtype="int64")).tolist()


def _opening_followed(over: np.ndarray, replies: np.ndarray, sessions: np.ndarray, agents: np.ndarray) -> np.ndarray:
    """For each position of ``over`` (among the reply positions ``replies``, sorted): is it its agent's first
    reply in the session, with another reply after it in the session?"""
    at = np.searchsorted(replies, over)
    reply_sessions = sessions[replies]
    following = np.minimum(at + 1, len(replies) - 1)
    followed = (at + 1 < len(replies)) & (reply_sessions[following] == sessions[over])
    # each (session, agent)'s first reply: where its key is first seen
    keys = reply_sessions.astype(np.int64) * (int(agents.max(initial=0)) + 2) + (agents[replies] + 1)
    _, first_at = np.unique(keys, return_index=True)
    first = np.zeros(len(replies), dtype=bool)
    first[first_at] = True
    return followed & first[at]


def _class_mask(classes, names: list[str], norm_all: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` (positions or a bool mask of the whole norm column) belong to any
    of the classes ``names`` (names of no class are left out)."""
    positions = np.flatnonzero(rows) if rows.dtype == bool else rows
    return classes.row_mask_any([name for name in names if name in classes.classes], norm_all, positions)


# Below this many rows (one reply at a time) judging them costs less than screening them: pyarrow
# compiles the RE2 pre-filters on every call.
_FEW_ROWS_TO_SCREEN = 8


class _Texts:
    """The normalized column seen through its distinct texts: a row's text, its line key and
    whether it satisfies the reply classes are found once per distinct text, never per row
    (a pandas ``take`` per row cost more than the checks themselves)."""

    def __init__(self, classes, norm_all: pd.Series, satisfied_by: list[str], not_counting: list[str],
                 praise: list[str] = (), praise_satisfied_by: list[str] = ()):
        self.classes, self.norm_all = classes, norm_all
        # praise of the customer in place of an apology: then only these satisfy
        self.praise, self.praise_satisfied_by = list(praise), list(praise_satisfied_by)
        self.index = text_index(norm_all)
        self.codes = self.index.codes
        self.satisfied_by, self.not_counting = satisfied_by, not_counting
        self._text: dict[int, str] = {}
        self._key: dict[int, str] = {}
        self._verdict = np.full(len(self.index.uniques), -1, dtype=np.int8)
        self._verdicts: dict[str, np.ndarray] = {}  # per class: ClassSet.verdicts over the column

    def at(self, position: int) -> str:
        """The normalized text of the row at ``position``."""
        code = int(self.codes[position])
        text = self._text.get(code)
        if text is None:
            text = self._text[code] = self.index.uniques[code].as_py()
        return text

    def line_key(self, position: int) -> str:
        """:func:`_line_key` of the row at ``position``."""
        code = int(self.codes[position])
        key = self._key.get(code)
        if key is None:
            key = self._key[code] = _line_key(self.at(position))
        return key

    def known(self, name: str, position: int) -> bool | None:
        """Whether the row at ``position`` belongs to class ``name``, as far as a class mask over
        the column already found (None: not judged yet)."""
        verdicts = self._verdicts.get(name)
        if verdicts is None:
            verdicts = self.classes.verdicts(name, self.index)
            if verdicts is None:
                return None
            self._verdicts[name] = verdicts  # the array stays the class's and fills in place
        verdict = int(verdicts[self.codes[position]])
        return None if verdict < 0 else verdict > 0

    def member(self, name: str, position: int) -> bool:
        """``classes.matches(name, …)`` of the row at ``position``: what a class mask over the
        column already found for its text, else judged now."""
        verdict = self.known(name, position)
        return verdict if verdict is not None else self.classes.matches(name, self.at(position))

    def acceptable(self, positions) -> np.ndarray:
        """Does each row at ``positions`` satisfy (:func:`satisfies`)? Rows no satisfying class's
        RE2 pre-filter matches hold no satisfying match and skip the Python check (when there
        are enough of them to pay for the pre-filter)."""
        positions = np.asarray(positions, dtype="int64")
        codes = self.codes[positions]
        todo = np.flatnonzero(self._verdict[codes] < 0)
        if len(todo):
            rows = positions[todo]
            if len(rows) < _FEW_ROWS_TO_SCREEN:
                candidate = np.ones(len(rows), dtype=bool)
            else:
                candidate = np.zeros(len(rows), dtype=bool)
                for name in self.satisfied_by:
                    candidate |= self.classes.row_candidates(name, self.norm_all, rows)
            self._verdict[codes[todo[~candidate]]] = 0
            for position in np.unique(rows[candidate]).tolist():
                code = int(self.codes[position])
                if self._verdict[code] < 0:
                    text = self.at(position)
                    verdict = satisfies(self.classes, text, self.satisfied_by, self.not_counting)
                    if verdict and self.praise and any(self.classes.matches(name, text) for name in self.praise):
                        verdict = satisfies(self.classes, text, self.praise_satisfied_by, self.not_counting)
                    self._verdict[code] = verdict
        return self._verdict[codes] > 0

    def acceptable_at(self, position: int) -> bool:
        """:meth:`acceptable` of one row."""
        return bool(self.acceptable([position])[0])

    def screen(self, positions) -> None:
        """Settle as not acceptable, at once, the rows at ``positions`` that no satisfying class's
        RE2 pre-filter matches (what :meth:`acceptable` finds of them, vectorised), so that
        :meth:`acceptable_at` asked of them one at a time later skips the Python check; the
        other rows are left to be judged when asked."""
        positions = np.asarray(positions, dtype="int64")
        codes = self.codes[positions]
        todo = np.flatnonzero(self._verdict[codes] < 0)
        if len(todo) < _FEW_ROWS_TO_SCREEN:
            return
        rows = positions[todo]
        candidate = np.zeros(len(rows), dtype=bool)
        for name in self.satisfied_by:
            candidate |= self.classes.row_candidates(name, self.norm_all, rows)
        self._verdict[codes[todo[~candidate]]] = 0


_NOT_WORDS = compile_regex(r"[^\p{L}\p{N}]+|[哦呢哈啦呀哟嘛噢喔哒滴的了]")


def _line_key(norm_text: str) -> str:
    """A reply without punctuation, emoji and modal particles (非常抱歉给您带来不便呢！ = …不便～)."""
    return _NOT_WORDS.sub("", str(norm_text))


def _previous_reply(reply_positions: np.ndarray, positions: np.ndarray, sessions: np.ndarray) -> np.ndarray:
    """The last reply position before each position in the same session, or -1."""
    if len(reply_positions) == 0:
        return np.full(len(positions), -1, dtype="int64")
    k = np.searchsorted(reply_positions, positions, side="left") - 1
    out = np.where(k >= 0, reply_positions[np.maximum(k, 0)], -1).astype("int64")
    out[(out >= 0) & (sessions[np.maximum(out, 0)] != sessions[positions])] = -1
    return out


def satisfies(classes, norm_text: str, satisfied_by: list[str], not_counting: list[str]) -> bool:
    """Does a normalized reply hold a satisfying class match not overlapped by a not-counting one?
    The not-counting classes are looked for only in a text that holds a satisfying match (most
    candidates of the pre-filter hold none)."""
    cancel: list[tuple[int, int]] | None = None
    for name in satisfied_by:
        for found in classes.find(name, norm_text):
            if cancel is None:
                cancel = [(m.start, m.end) for other in not_counting if other in classes.classes
                          for m in classes.find(other, norm_text)]
            if not any(found.start < e and s < found.end for s, e in cancel):
                return True
    return False


def first_trigger_match(classes, norm_text: str, names: list[str]):
    """The earliest match of any of the trigger classes (for the reason)."""
    best = None
    for name in names:
        found = classes.first(name, norm_text) if name in classes.classes else None
        if found is not None and (best is None or found.start < best.start):
            best = found
    return best


def _turn_of(position: int, customer: np.ndarray, replies: np.ndarray, sessions: np.ndarray) -> list[int]:
    """The customer's messages of the turn around ``position``: from the agent's previous reply
    to its next one, within the session."""
    n = len(sessions)
    start = position
    while start - 1 >= 0 and sessions[start - 1] == sessions[position] and not replies[start - 1]:
        start -= 1
    end = position
    while end + 1 < n and sessions[end + 1] == sessions[position] and not replies[end + 1]:
        end += 1
    return [p for p in range(start, end + 1) if customer[p]]


def _drop_unprompted(classes, params, norm_all, reply_positions, sessions, positions, found,
                     later: list[str], prompted: list[str]) -> None:
    """打不通 / 刚换的 report a fact; they refuse the agent's way only right after the agent
    proposed one (``prompt_classes``: 建议您重启, 您可以联系快递). A message holding another
    refusal (不行, 没用) stays a trigger whatever came before."""
    idx = np.flatnonzero(found)
    hits = positions[idx]
    others = [c for c in later if c not in prompted]
    only = ~_class_mask(classes, others, norm_all, hits) if others else np.ones(len(hits), dtype=bool)
    if not only.any():
        return
    idx, hits = idx[only], hits[only]
    previous = _previous_reply(reply_positions, hits, sessions)
    proposed = np.zeros(len(hits), dtype=bool)
    has_prev = previous >= 0
    prompts = [c for c in params["prompt_classes"] if c in classes.classes]
    if has_prev.any() and prompts:
        proposed[has_prev] = _class_mask(classes, prompts, norm_all, previous[has_prev])
    named = [c for c in params["step_named_classes"] if c in classes.classes]
    if named and proposed.any():
        # 早就重启过了 refuses 您重启一下试试; 试了一下 拆封了 after 没拆封的话可以换 tells the condition,
        # not a step done: the claim must name the step proposed, outside the proposal's condition
        unnamed = [c for c in prompted if c not in named]
        for k in np.flatnonzero(proposed).tolist():
            text = norm_all.iat[hits[k]]
            if _class_matches(classes, unnamed, text):
                continue
            matches = _class_matches(classes, named, text)
            proposal = norm_all.iat[previous[k]]
            condition = set("".join(_CONDITION_CLAUSE.findall(proposal)))
            step = set(_CONDITION_CLAUSE.sub(" ", proposal))
            claimed = {ch for m in matches for ch in _HAN.findall(m.text)} - _COMMON_CHARS - _DONE_CHARS
            # a claim naming nothing of its own (试过了, 都搞过了) refers to the step; one naming only the
            # proposal's condition answers the condition
            if claimed and claimed & condition and not claimed & step:
                proposed[k] = False
    found[idx[~proposed]] = False


# the condition of a proposal (没拆封的话, 如果还没发货): what the customer may answer without refusing the step
# (您把路由器重启一下的话 就能连上 puts the step itself as 的话: only a clause with a marker of a state is a condition)
_CONDITION_CLAUSE = compile_regex(r"(?:如果|要是|假如|若)[^,.!?;~ ]{1,12}|[^,.!?;~ ]{0,6}(?:没|未|不|还)[^,.!?;~ ]{0,6}的话")
# the words of having done it (早就, 已经…过了, 弄了一下): no step of their own
_DONE_CHARS = frozenset("过了都早就已经刚我下次遍弄搞")


def _drop_nothing_offered(classes, params, norm_all, reply_positions, sessions, positions, found) -> None:
    """不要了 / 不认可 / 我要退货 right after a greeting, a hold or a question identifying the order
    refuse nothing: the agent had offered no answer or solution yet. ``found`` holds refusals only
    (a message with an upset word is an ``anytime`` trigger and never reaches here)."""
    names = [c for c in params["nothing_offered_classes"] if c in classes.classes]
    if not names or not found.any():
        return
    idx = np.flatnonzero(found)
    previous = _previous_reply(reply_positions, positions[idx], sessions)
    has_prev = previous >= 0
    idx, previous = idx[has_prev], previous[has_prev]
    if not len(idx):
        return
    empty = _class_mask(classes, names, norm_all, previous)
    prompts = [c for c in params["prompt_classes"] if c in classes.classes]
    if prompts and empty.any():
        empty[empty] = ~_class_mask(classes, prompts, norm_all, previous[empty])
    found[idx[empty]] = False


def _class_matches(classes, names: list[str], text: str) -> list:
    """Every match of the (known) classes ``names`` in ``text``."""
    return [m for name in names if name in classes.classes for m in classes.find(name, text)]


def _class_spans(classes, names: list[str], text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of :func:`_class_matches`."""
    return [(m.start, m.end) for m in _class_matches(classes, names, text)]


def _overlaps_all(matches, spans: list[tuple[int, int]]) -> bool:
    """Does every match overlap one of ``spans``: is that part of the text all there is of it
    (a refusal made only of a failure report, an upset made only of ??? or of the question)?"""
    return all(any(s < m.end and m.start < e for s, e in spans) for m in matches)


def _words_covered(matches, spans: list[tuple[int, int]]) -> bool:
    """Does every match overlap ``spans`` with none of its Han words left outside them? A time
    echoed in disbelief (半个月??) is more than the ?? that presses it; 人呢??? is all call."""
    def covered(match) -> bool:
        inside = [(s, e) for s, e in spans if s < match.end and match.start < e]
        if not inside:
            return False
        return not any(_HAN.match(ch) and not any(s <= match.start + i < e for s, e in inside)
                       for i, ch in enumerate(match.text))
    return all(covered(m) for m in matches)


def _within_all(matches, spans: list[tuple[int, int]]) -> bool:
    """Does every match lie inside one of ``spans`` (说好的今天到 reaches past the mild 到现在还没,
    so that turn holds more than a mild remark)?"""
    return all(any(s <= m.start and m.end <= e for s, e in spans) for m in matches)


def _drop_unprompted_failures(classes, params, norm_all, reply_positions, sessions, positions, found,
                              later: list[str]) -> None:
    """改不了 / 操作不了 report that a step failed; like 打不通 they refuse the agent's way only right
    after the agent proposed one. Reported in answer to a question (您提交了吗? → 没有，改不了) or
    unprompted, they are information: a refusal made only of ``failure_classes`` matches counts
    only when the agent's previous reply is of a ``prompt_classes`` class."""
    failure = [c for c in params["failure_classes"] if c in classes.classes]
    prompts = [c for c in params["prompt_classes"] if c in classes.classes]
    if not failure or not prompts:
        return
    idx = np.flatnonzero(found)
    idx = idx[_class_mask(classes, failure, norm_all, positions[idx])]
    for i in idx.tolist():
        text = norm_all.iat[int(positions[i])]
        refusals = _class_matches(classes, later, text)
        if not refusals or not _overlaps_all(refusals, _class_spans(classes, failure, text)):
            continue
        previous = _previous_reply(reply_positions, positions[[i]], sessions)[0]
        if previous < 0 or not _class_mask(classes, prompts, norm_all, np.asarray([previous])).any():
            found[i] = False


def _drop_requests(classes, params, texts: _Texts, customer, replies, sessions, is_trigger,
                   later: list[str], anytime: list[str]) -> None:
    """A failure report (申请了，操作不了) in a calm turn that asks the agent to handle it
    (麻烦人工处理) asks for help; it refuses nothing. Upset words in the turn keep it a trigger."""
    failure = [c for c in params["failure_classes"] if c in classes.classes]
    requests = [c for c in params["request_classes"] if c in classes.classes]
    if not failure or not requests:
        return
    norm_all = texts.norm_all
    positions = np.flatnonzero(is_trigger)
    # a trigger by an upset word holds no refusal; a refusal with no failure match is a refusal
    # (class masks over the distinct texts, so only real candidates reach Python)
    positions = positions[_class_mask(classes, later, norm_all, positions)]
    positions = positions[_class_mask(classes, failure, norm_all, positions)]
    covered: dict[int, bool] = {}
    for position in positions.tolist():
        code = int(texts.codes[position])
        if code not in covered:
            text = texts.at(position)
            covered[code] = _overlaps_all(_class_matches(classes, later, text), _class_spans(classes, failure, text))
        if not covered[code]:
            continue
        turn = _turn_of(position, customer, replies, sessions)
        if not any(texts.member(name, p) for name in requests for p in turn):
            continue
        if any(texts.member(name, p) for name in anytime if name in classes.classes for p in turn):
            continue
        is_trigger[position] = False


def _drop_answers_to_agent(classes, params, messages, texts: _Texts, customer, replies, sessions,
                           is_trigger) -> None:
    """A bare ??? nudges while the customer waits, but answers the agent's latest message in
    confusion (a bare order number, a menu, an unclear line). It stays a trigger after the
    customer's own message, after a wait over ``wait_seconds`` (when times are known), or when
    the agent's message repeated a line it had already sent (the same answer again), or answered
    a customer turn that was itself a trigger (the disagreement goes on)."""
    names = [c for c in params["waiting_classes"] if c in classes.classes]
    if not names:
        return
    calls = [c for c in params["call_classes"] if c in classes.classes]
    emphasis = [c for c in params["emphasis_classes"] if c in classes.classes]
    positions = np.flatnonzero(is_trigger)
    waiting = _class_mask(classes, names, texts.norm_all, positions)
    times = messages["timestamp"] if "timestamp" in messages.columns else None
    limit = pd.Timedelta(seconds=params["wait_seconds"])
    triggers = [c for c in params["trigger_classes"] if c in classes.classes]
    for position in positions[waiting].tolist():
        # the ??? or the call must be the message's only upset (人呢 太差劲了 stays a trigger)
        text = texts.at(position)
        if not _words_covered(_class_matches(classes, triggers, text), _class_spans(classes, names, text)):
            continue
        before = position - 1
        # system messages (auto-replies, transfers) neither answer nor wait
        while before >= 0 and sessions[before] == sessions[position] and not customer[before] \
                and not replies[before]:
            before -= 1
        if before < 0 or sessions[before] != sessions[position]:
            is_trigger[position] = False  # nothing before it: a call for attention
            continue
        if customer[before]:
            # the customer's own message is still unanswered: impatience once the customer has
            # waited (from the first message of the unanswered run). Without times no wait shows:
            # ? / 人呢 / 你好 right after the customer's own line is the rhythm of chat, not anger,
            # unless shouted (????, ?!).
            if _wait_unknown(times, position) and params["waits_unknown"] == "call" and not any(
                    texts.member(name, position) for name in emphasis):
                is_trigger[position] = False
                continue
            if times is not None and params["least_wait_seconds"] > 0 and any(
                    texts.member(name, position) for name in calls):
                first = before
                while first - 1 >= 0 and sessions[first - 1] == sessions[position] and not replies[first - 1]:
                    first -= 1
                while not customer[first]:
                    first += 1
                gap = times.iloc[position] - times.iloc[first]
                if pd.notna(gap) and gap < pd.Timedelta(seconds=params["least_wait_seconds"]):
                    is_trigger[position] = False
            continue
        if times is not None:
            gap = times.iloc[position] - times.iloc[before]
            if pd.notna(gap) and gap > limit:
                continue
        # the agent's message held no answer (only emoji, stickers, punctuation): ??? or 说话 after
        # it presses the question the agent dodged
        if _dodged(texts.at(before)):
            continue
        # the agent's message answered the customer's refusal or upset and the customer
        # replies ??? to it: the disagreement goes on (the same offer again, in other words)
        turn_before = before - 1
        while turn_before >= 0 and sessions[turn_before] == sessions[position] and not replies[turn_before]:
            if customer[turn_before] and is_trigger[turn_before]:
                break
            turn_before -= 1
        else:
            turn_before = -1
        if turn_before >= 0 and sessions[turn_before] == sessions[position] and not replies[turn_before]:
            continue
        key = texts.line_key(before)
        earlier, p = [], before - 1
        while p >= 0 and sessions[p] == sessions[position]:
            if replies[p]:
                earlier.append(p)
            p -= 1
        if key and any(texts.line_key(e) == key for e in earlier):
            continue
        is_trigger[position] = False


def _mark_repeated_nudges(classes, params, messages, texts: _Texts, customer, replies, sessions,
                          is_trigger) -> None:
    """The customer asked or reported something, nobody answered, and they nudge twice (? then
    人还在吗, 你好 ?? 在不在): the second nudge of the unanswered turn is impatience, a trigger. One
    nudge is a call (在吗 after a question may be typed at once); when times are known the customer
    must also have waited ``least_wait_seconds`` since the message nudged about, unless the nudges come in a
    burst of ``burst_nudges`` (? 在吗 在不在 within seconds: the burst is the impatience)."""
    names = [c for c in params["nudge_classes"] if c in classes.classes]
    due = [c for c in params["nudge_after_classes"] if c in classes.classes]
    if not names or not due:
        return
    positions = np.flatnonzero(customer)
    nudges = positions[_class_mask(classes, names, texts.norm_all, positions)]
    if not len(nudges):
        return
    is_nudge = np.zeros(len(customer), dtype=bool)
    is_nudge[nudges] = True
    times = messages["timestamp"] if "timestamp" in messages.columns else None
    least = pd.Timedelta(seconds=params["least_wait_seconds"])
    for position in nudges.tolist():
        if is_trigger[position]:
            continue
        p, between, asked = position - 1, 0, -1
        while p >= 0 and sessions[p] == sessions[position] and not replies[p]:
            if customer[p]:
                if is_nudge[p]:
                    between += 1
                else:
                    if any(texts.member(name, p) for name in due):
                        asked = p
                    break
            p -= 1
        if asked < 0 or between < 1:
            continue
        if 0 < params["burst_nudges"] <= between + 1:
            is_trigger[position] = True
            continue
        if _wait_unknown(times, position) and params["waits_unknown"] == "call":
            continue
        if times is not None and params["least_wait_seconds"] > 0:
            gap = times.iloc[position] - times.iloc[asked]
            if pd.notna(gap) and gap < least:
                continue
        is_trigger[position] = True


_STEP_WORDS = compile_regex(r"\p{Han}{2}")
# bigrams that name no step (how a step is offered, not which), nor the device or order it is done on
# (重启手机 → 去手机的蓝牙列表里忽略这个设备 is another way)
_NO_STEP = frozenset("一遍 一下 一次 试试 试一 可以 您可 您先 建议 麻烦 就好 好了 亲亲 的话 这个 那个 然后 再试 "
                     "手机 电脑 平板 耳机 手表 音箱 电视 路由 由器 设备 机器 订单 商品 宝贝 产品 东西 包裹 系统 软件".split())


def _unlike(one: str, other: str) -> bool:
    """Does the reply ``other`` name no step of ``one`` (no Han bigram in common but the words
    of offering: 一遍, 试试, 可以): another way, not the same one again (清洗 → 再清洗一次)?"""
    return not (_steps(one) & _steps(other))


_HAN = compile_regex(r"\p{Han}")
# what is done for the customer in a handling match (寄个新的, 上门, 补发, 退款, 换新): no mere promise
_HANDS_OVER = compile_regex(r"寄|发|上门|派|补|赔|退|换|修|送")
# the clause around a match: between clause punctuation (normalized text)
_CLAUSE_STOP = compile_regex(r"[,.!?;~\s]")
# how an action is offered (给您, 帮您, 再, 一下), not which action
_OFFERING_CHARS = frozenset("给帮为再下马上立刻")


def _steps(text: str) -> set[str]:
    """The Han bigrams of ``text`` that can name a step (see :data:`_NO_STEP`)."""
    return {text[i:i + 2] for i in range(len(text) - 1) if _STEP_WORDS.fullmatch(text[i:i + 2])} - _NO_STEP


def _restates(classes, reply_norm: str, proposal_norm: str, satisfied_by: list[str], restated: list[str],
              not_counting: list[str]) -> bool:
    """Does the reply satisfy only by ``restated`` matches that name a content character of the
    refused ``proposal_norm``? (我再给您催一下 after the customer called 催 useless; 抱歉… or a
    new promise — 差价补给您 after 提交售后单 — still satisfies.)"""
    cancel = [(m.start, m.end) for name in not_counting if name in classes.classes
              for m in classes.find(name, reply_norm)]
    restating = False
    for name in satisfied_by:
        for found in classes.find(name, reply_norm):
            if any(found.start < e and s < found.end for s, e in cancel):
                continue
            if name in restated and any(ch in proposal_norm for ch in _HAN.findall(found.text)
                                        if ch not in _COMMON_CHARS and ch not in _OFFERING_CHARS):
                restating = True
                continue
            return False
    return restating


def _clause_of(text: str, found) -> str:
    """The clause of ``text`` (normalized) holding the match ``found``: a promise of a step's outcome
    (清了缓存一般就好了) names the step beside the promise, not inside it."""
    start, end = found.start, found.end
    while start > 0 and not _CLAUSE_STOP.match(text, start - 1):
        start -= 1
    while end < len(text) and not _CLAUSE_STOP.match(text, end):
        end += 1
    return text[start:end]


def _remedy_besides(proposal_norm: str, reply_norm: str, found) -> bool:
    """Is the handling match ``found`` of the reply a remedy besides the tried ``proposal_norm``: a
    thing done for the customer (寄个新的, 换新, 补发), or a promise in a clause naming no step of the
    proposal? 清了缓存一般就好了 promises the tried step's outcome: the same step again, and so is
    the remedy the proposal offered done for them (申请换货 → 可以给您换货的)."""
    clause = _clause_of(reply_norm, found)
    return _unlike(proposal_norm, clause) or (_HANDS_OVER.search(found.text) is not None
                                               and not same_remedy(proposal_norm, clause))


def _wait_unknown(times: pd.Series | None, position: int) -> bool:
    """No time at ``position``: how long the customer waited cannot be told."""
    return times is None or pd.isna(times.iloc[position])


def _drop_closed(classes, params, texts: _Texts, customer, replies, sessions, is_trigger,
                 anytime: list[str]) -> None:
    """A customer who closes the complaint in the same turn (…好吧 / 行吧 at the end, a calm 那算了
    不要了, answering what the agent said) or is relieved (早说嘛 吓我一跳) is not left upset: the
    turn's triggers are not judged.
    The closing class itself keeps shouts and angry emoji out (算了! is no calm close); a close said
    with an upset word beside it (算了 懒得说了 就这样吧: resignation) closes nothing either."""
    closing = [c for c in params["closed_classes"] if c in classes.classes]
    relief = [c for c in params["relief_classes"] if c in classes.classes]
    # 那算了 不退了 after the agent's rudeness (凭什么运费要我们出?) gives up; it closes nothing
    provoking = [c for c in params["provoked_classes"] if c in classes.classes]
    made_good_by = [c for c in params["made_good_classes"] if c in classes.classes]
    giving_up = [c for c in params["giving_up_classes"] if c in classes.classes]
    settled_by = [c for c in params["settled_by_classes"] if c in classes.classes]
    mild_closing = [c for c in params["mild_closed_classes"] if c in classes.classes]
    mild = [c for c in params["mild_classes"] if c in classes.classes]
    if mild_closing and mild:
        # a mild grievance the customer ends with thanks (还要那么久啊? 谢谢你) is accepted
        trigger_names = [c for c in params["trigger_classes"] if c in classes.classes]
        positions = np.flatnonzero(customer)
        for position in positions[_class_mask(classes, mild_closing, texts.norm_all, positions)].tolist():
            turn = _turn_of(position, customer, replies, sessions)
            if position != turn[-1] or not is_trigger[turn].any():
                continue
            if all(_within_all(_class_matches(classes, trigger_names, texts.at(p)),
                               _class_spans(classes, mild, texts.at(p))) for p in turn if is_trigger[p]):
                is_trigger[turn] = False
    if not closing and not relief:
        return
    positions = np.flatnonzero(customer)
    positions = positions[_class_mask(classes, closing + relief, texts.norm_all, positions)]
    for position in positions.tolist():
        turn = _turn_of(position, customer, replies, sessions)
        if not is_trigger[turn].any():
            continue
        # a closing word counts at the end of the turn, and only when the customer was not already
        # upset in the turns before (算了不买了 after an argument gives up in frustration); relief
        # anywhere in the turn
        if any(texts.member(name, position) for name in relief) or (
                position == turn[-1] and any(texts.member(name, position) for name in closing)
                and not _upset_beside(classes, texts.at(position), anytime, closing)
                and (_agent_spoke_before(turn[0], replies, sessions)
                     or not any(texts.member(name, position) for name in giving_up))
                and (not _upset_before(turn[0], customer, replies, sessions, is_trigger)
                     or _settled_just_before(turn[0], replies, sessions, texts, settled_by))
                and not _provoked_before(turn[0], replies, sessions, texts, provoking, made_good_by)):
            is_trigger[turn] = False


def _upset_beside(classes, norm_text: str, anytime: list[str], closing: list[str]) -> bool:
    """Does the closing message hold an upset match outside its closing words (不想说了 in
    算了 不想说了 就这样吧)?"""
    spans = _class_spans(classes, closing, norm_text)
    return any(not any(found.start < end and start < found.end for start, end in spans)
               for found in _class_matches(classes, [n for n in anytime if n in classes.classes], norm_text))


def _agent_spoke_before(start: int, replies, sessions) -> bool:
    """Has the agent replied in the session before ``start``? A close that gives up (算了 不退了) and
    answers nothing the agent said (the customer's first turn) accepts nothing."""
    p = start - 1
    while p >= 0 and sessions[p] == sessions[start]:
        if replies[p]:
            return True
        p -= 1
    return False


def _settled_just_before(start: int, replies, sessions, texts: _Texts, settled_by: list[str]) -> bool:
    """Did the agent's turn just before ``start`` apologise or soothe (``settled_by``)? Then a calm
    close of the customer's (那算了) accepts the answer rather than giving up on an argument."""
    p = start - 1
    while p >= 0 and sessions[p] == sessions[start] and not replies[p]:
        p -= 1
    found = False
    while p >= 0 and sessions[p] == sessions[start] and replies[p]:
        found = found or any(texts.member(name, p) for name in settled_by)
        p -= 1
    return found


def _upset_before(start: int, customer, replies, sessions, is_trigger) -> bool:
    """Did one of the customer's two turns before ``start`` hold a trigger (an argument going on)?"""
    p = start - 1
    for _ in range(2):
        while p >= 0 and sessions[p] == sessions[start] and not customer[p]:
            p -= 1  # the agent's turn (and system messages)
        while p >= 0 and sessions[p] == sessions[start] and not replies[p]:
            if customer[p] and is_trigger[p]:
                return True
            p -= 1
    return False


def _provoked_before(start: int, replies, sessions, texts: _Texts, provoking: list[str],
                     made_good_by: list[str] = ()) -> bool:
    """Did one of the agent's two turns before ``start`` provoke the customer (a rhetorical
    question, contempt, buck-passing), not made good by a soothing turn since? A calm-looking
    close after it is resignation."""
    if not provoking:
        return False
    p, turns = start - 1, 0
    while p >= 0 and sessions[p] == sessions[start] and turns < 2:
        if not replies[p]:
            p -= 1
            continue
        made_good = False
        while p >= 0 and sessions[p] == sessions[start] and replies[p]:
            if any(texts.member(name, p) for name in provoking):
                return True
            made_good = made_good or any(texts.member(name, p) for name in made_good_by)
            p -= 1
        if made_good:
            # the agent apologised for its manner since (不好意思，刚才语气急了): an older provocation
            # is made good (made_good_by: a polite 不好意思 before a refusal is not)
            return False
        turns += 1
    return False


def _mark_provoked(classes, params, texts: _Texts, customer, replies, sessions, is_trigger) -> None:
    """The customer's first message after an agent line of ``provoked_classes`` (你不会自己看吗,
    我已经说过很多遍了) answers a provocation: it is a trigger when it presses its point
    (``pressed_classes``: !, ??, 啊?, 我就问…). The answers are found first and judged pressed, and
    only the agent lines answered so are judged for a provocation (its lists are long: judging
    every agent line cost more than the rest of the rule)."""
    provoking = [c for c in params["provoked_classes"] if c in classes.classes]
    if not provoking:
        return
    pressed = [c for c in params["pressed_classes"] if c in classes.classes]
    agent_rows = np.flatnonzero(replies)
    if not len(agent_rows) or not pressed:
        return
    answer = _answer_after(agent_rows, customer, replies, sessions)
    answered = answer >= 0
    agent_rows, answer = agent_rows[answered], answer[answered]
    pressing = _class_mask(classes, pressed, texts.norm_all, answer)
    agent_rows, answer = agent_rows[pressing], answer[pressing]
    if len(agent_rows):
        is_trigger[answer[_class_mask(classes, provoking, texts.norm_all, agent_rows)]] = True


def _mark_pressed_unsoothed(classes, params, texts: _Texts, customer, replies, sessions, is_trigger) -> None:
    """The customer's first message after an agent reply that answered a trigger without soothing
    (the customer turn before the reply held a trigger, the reply satisfies nothing) is a trigger too
    when it presses the point (``unsoothed_pressed_classes``: ??, 我说的是…) and takes nothing
    (``accepting_classes``: 好吧!, 哦!!谢谢): the grievance goes on unanswered, and the next reply is judged
    again. Candidates are the pressing answers (a vectorised class mask); only their replies are checked for
    soothing."""
    pressed = [c for c in params["unsoothed_pressed_classes"] if c in classes.classes]
    agent_rows = np.flatnonzero(replies)
    if not pressed or not len(agent_rows):
        return
    answer = _answer_after(agent_rows, customer, replies, sessions)
    keep = answer >= 0
    keep[keep] = ~is_trigger[answer[keep]]
    if not keep.any():
        return
    # the reply answered a turn holding a trigger: it is the next agent reply of a trigger, in its session
    triggers = np.flatnonzero(is_trigger & customer)
    slot = np.searchsorted(agent_rows, triggers, side="right")
    inside = slot < len(agent_rows)
    following = agent_rows[slot[inside]]
    answering = np.zeros(len(sessions), dtype=bool)
    answering[following[sessions[following] == sessions[triggers[inside]]]] = True
    keep &= answering[agent_rows]
    if not keep.any():
        return
    at = np.flatnonzero(keep)
    at = at[_class_mask(classes, pressed, texts.norm_all, answer[at])]
    accepting = [c for c in params["accepting_classes"] if c in classes.classes]
    if len(at) and accepting:
        # 好吧! / 哦!!!谢谢 takes the answer, loudly
        at = at[~_class_mask(classes, accepting, texts.norm_all, answer[at])]
    if len(at):
        at = at[~texts.acceptable(agent_rows[at])]
        is_trigger[answer[at]] = True


def _mark_said_again(classes, params, texts: _Texts, customer, replies, sessions, is_trigger) -> set[int]:
    """The customer's turn between two agent replies of which the second restates the first
    (``said_again_share`` of the shorter one's content bigrams in common, long numbers left out, each
    reply with at least ``said_again_min_bigrams``, neither negating a word the other says bare, the
    second adding no other way — 或者…, 也可以… — and no other figure): the agent answered the
    turn by saying its answer again, so the turn did not take it. The turn's last message of
    ``pressing_classes`` (not a bare ``waiting_classes`` one, whose wait the check judges) becomes a
    trigger when the turn accepts nothing (``accepting_classes``), holds no trigger yet, and the
    first reply offered something (not of ``nothing_offered_classes``, ``not_counting`` or
    ``answered_question_classes``: a hold, a closing line, a question). Returns the marked rows. The
    turns are narrowed with vectorised class masks first; only the pairs left are compared."""
    marked: set[int] = set()
    reply_rows = np.flatnonzero(replies)
    if len(reply_rows) < 2:
        return marked
    earlier, later = reply_rows[:-1], reply_rows[1:]
    customer_count = np.cumsum(customer)
    trigger_count = np.cumsum(is_trigger & customer)
    keep = ((sessions[earlier] == sessions[later]) & (customer_count[later] > customer_count[earlier])
            & (trigger_count[later] == trigger_count[earlier]))
    pressing = [c for c in params["pressing_classes"] if c in classes.classes]
    if not keep.any() or not pressing:
        return marked
    # the customer rows of the kept turns, judged once
    starts, ends = earlier[keep] + 1, later[keep]
    depth = np.zeros(len(customer) + 1, dtype=np.int64)
    np.add.at(depth, starts, 1)
    np.add.at(depth, ends, -1)
    turn_rows = (np.cumsum(depth[:-1]) > 0) & customer
    pushed = np.zeros(len(customer), dtype=bool)
    rows = np.flatnonzero(turn_rows)
    pushed[rows[_class_mask(classes, pressing, texts.norm_all, rows)]] = True
    waiting = [c for c in params["waiting_classes"] if c in classes.classes]
    if waiting and pushed.any():
        rows = np.flatnonzero(pushed)
        pushed[rows[_class_mask(classes, waiting, texts.norm_all, rows)]] = False
    pushed_count = np.cumsum(pushed)
    keep &= pushed_count[later] > pushed_count[earlier]
    # a hold, a closing line or a question of the agent's (是5月1日这单吗? → 不对 → 是5月3日这单吗?) offered
    # nothing to take
    holding = [c for c in params["nothing_offered_classes"] + params["not_counting"]
               + params["answered_question_classes"] if c in classes.classes]
    if holding and keep.any():
        at = np.flatnonzero(keep)
        keep[at[_class_mask(classes, holding, texts.norm_all, earlier[at])]] = False
    accepting = [c for c in params["accepting_classes"] if c in classes.classes]
    fitted = [c for c in params["fitted_classes"] if c in classes.classes]
    taken_up_stop = frozenset(params["taken_up_stop"])
    informing = [c for c in params["informing_classes"] if c in classes.classes]
    says_again = SaidAgain(texts.at, lambda position: texts.codes[position], params["said_again_min_bigrams"],
                           params["said_again_share"])
    for index in np.flatnonzero(keep).tolist():
        first, second = int(earlier[index]), int(later[index])
        if not says_again(first, second):
            continue
        turn = [p for p in range(first + 1, second) if customer[p]]
        if any(texts.member(name, p) for p in turn for name in accepting):
            continue
        # the message that pushed back is the trigger (an attachment sent after it says nothing)
        trigger = max(p for p in turn if pushed[p])
        # an answer fitted to what the customer told (家里没装宽带 用的流量 → 插上流量卡的话…) applies the answer:
        # only after the customer told its circumstances (informing_classes), not after a denial (不是刚开始…, 不对吧…),
        # and not the earlier answer's own fitted clause said again
        if any(texts.member(name, trigger) for name in informing) and (
                (any(texts.member(name, second) for name in fitted) and not any(texts.member(name, first) for name in fitted))
                or takes_up(texts.at(first), texts.at(second), texts.at(trigger), taken_up_stop)):
            continue
        is_trigger[trigger] = True
        marked.add(trigger)
    return marked


def _answer_after(agent_rows: np.ndarray, customer, replies, sessions) -> np.ndarray:
    """The customer's message answering each agent row: the next customer or agent message of
    the session (system messages between, auto-replies and transfers, neither answer nor
    provoke) when it is the customer's, else -1."""
    n = len(sessions)
    speaking = np.flatnonzero(customer | replies)
    at = np.searchsorted(speaking, agent_rows, side="right")
    following = np.where(at < len(speaking), speaking[np.minimum(at, len(speaking) - 1)], n)
    session_changes = np.r_[0, np.cumsum(sessions[1:] != sessions[:-1]), 0]
    same_session = session_changes[following] == session_changes[agent_rows]
    answers = (following < n) & same_session & customer[np.minimum(following, n - 1)]
    return np.where(answers, following, -1)


def _skip_judged_turns(classes, names: list[str], norm_all, customer, replies, sessions, is_trigger) -> None:
    """A customer turn that holds a skip-class message (我去工商局举报你们) has its reply judged by
    another rule (ignored-complaint): the other triggers of that turn (凭什么) are not judged here
    again. Candidates are the skip-class matches among the customer rows (a vectorised mask)."""
    if not is_trigger.any():
        return
    rows = np.flatnonzero(customer)
    hits = rows[_class_mask(classes, names, norm_all, rows)]
    n = len(sessions)
    for position in hits.tolist():
        p = position - 1
        while p >= 0 and sessions[p] == sessions[position] and not replies[p]:
            is_trigger[p] = False
            p -= 1
        p = position + 1
        while p < n and sessions[p] == sessions[position] and not replies[p]:
            is_trigger[p] = False
            p += 1


def _relation_refusals(classes, params, norm_all, reply_positions, sessions, positions) -> np.ndarray:
    """Which customer ``positions`` refuse the agent's proposal just before them (answer_classes
    in relation to a proposal_classes reply, :func:`qa.acceptance.not_accepted`). Vectorised
    masks pick the candidates; the relation is checked per candidate pair only."""
    out = np.zeros(len(positions), dtype=bool)
    answers = [c for c in params["answer_classes"] if c in classes.classes]
    proposals = [c for c in params["proposal_classes"] if c in classes.classes]
    demands = [c for c in params["ruling_answer_classes"] if c in classes.classes]
    echoes = [c for c in params["echo_classes"] if c in classes.classes]
    if not answers or not proposals or not len(positions):
        return out
    candidate = _class_mask(classes, list(dict.fromkeys(answers + demands + echoes)), norm_all, positions)
    if not candidate.any():
        return out
    idx = np.flatnonzero(candidate)
    previous = _previous_reply(reply_positions, positions[idx], sessions)
    has_prev = previous >= 0
    idx, previous = idx[has_prev], previous[has_prev]
    if not len(idx):
        return out
    proposed = _class_mask(classes, proposals, norm_all, previous)
    # a ruling (色差属于正常现象) is refused by a demand for a remedy (我要退) or by its word denied (这不是色差),
    # not by a step report
    rulings = [c for c in params["ruling_classes"] if c in classes.classes]
    ruled = ~proposed & _class_mask(classes, rulings, norm_all, previous) if rulings \
        else np.zeros(len(previous), dtype=bool)
    for kind, names in ((proposed, answers), (ruled, demands)):
        if not names or not kind.any():
            continue
        # the texts of all candidate pairs in one take each (a pandas lookup per pair cost more)
        pairs = zip(idx[kind].tolist(), _values(norm_all, previous[kind]), _values(norm_all, positions[idx[kind]]))
        for i, proposal, answer in pairs:
            if not_accepted(classes, proposal, answer, names) is not None:
                out[i] = True
    if echoes:
        # the agent's words thrown back in disbelief (什么叫正常? after 慢一些正常的), whatever the reply was
        left = np.flatnonzero(~out[idx])
        if len(left):
            echoing = _class_mask(classes, echoes, norm_all, positions[idx[left]])
            left = left[echoing]
            pairs = zip(idx[left].tolist(), _values(norm_all, previous[left]), _values(norm_all, positions[idx[left]]))
            for i, reply, answer in pairs:
                if echoed_in_disbelief(reply, answer) is not None:
                    out[i] = True
    return out


def _carry_over(classes, names: list[str], norm_all: pd.Series, customer: np.ndarray, replies: np.ndarray,
                sessions: np.ndarray, is_trigger: np.ndarray) -> None:
    """A follow-up that insists on an earlier trigger (我问的是真假, 所以是镀金的?) becomes a trigger
    when the customer's turn before the agent's last reply held one: the repeated doubt is judged
    on the next reply. Candidates are the class matches only; chains carry (in order)."""
    names = [c for c in names if c in classes.classes]
    eligible = customer & ~is_trigger
    if not names or not eligible.any():
        return
    positions = np.flatnonzero(eligible)
    positions = positions[_class_mask(classes, names, norm_all, positions)]
    for position in positions.tolist():
        reply = position - 1
        while reply >= 0 and sessions[reply] == sessions[position] and not replies[reply]:
            reply -= 1
        if reply < 0 or sessions[reply] != sessions[position]:
            continue  # no agent reply yet: nothing was left unsettled
        before = reply - 1
        while before >= 0 and sessions[before] == sessions[position] and not replies[before]:
            if is_trigger[before]:
                is_trigger[position] = True
                break
            before -= 1


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag the first reply of each trigger that satisfies none of the ``satisfied_by`` classes."""
    params = rule.params
    classes = classes_of(rule)
    if messages.empty:
        return findings_frame([], rule.id, "", "")
    norm_all = messages["norm"]
    scope = role_mask(messages, params["trigger_roles"]).to_numpy()
    is_trigger = np.zeros(len(messages), dtype=bool)
    later = [n for n in params["trigger_classes"] if n in params["after_reply_classes"]]
    anytime = [n for n in params["trigger_classes"] if n not in params["after_reply_classes"]]
    relation_hits = np.zeros(len(messages), dtype=bool)  # refusals found by the proposal relation
    is_trigger[np.flatnonzero(scope)] = _class_mask(classes, anytime, norm_all, scope)
    sessions = pd.factorize(messages["session_id"])[0].astype("int64")
    agent_codes = pd.factorize(messages["agent"])[0]
    replies_so_far = np.cumsum(role_mask(messages, params["reply_roles"]).to_numpy())
    reply_positions_all = np.flatnonzero(role_mask(messages, params["reply_roles"]).to_numpy())
    if later:
        # replies before each message within its session (cumulative count minus the count at
        # the session's first message)
        first = np.r_[0, np.flatnonzero(sessions[1:] != sessions[:-1]) + 1]
        starts = np.repeat(first, np.diff(np.r_[first, len(sessions)]))
        before = replies_so_far - np.r_[0, replies_so_far][starts]
        eligible = scope & (before > 0) & ~is_trigger
        if eligible.any():
            positions = np.flatnonzero(eligible)
            found = _class_mask(classes, later, norm_all, positions)
            if params["answer_classes"]:
                # 不寄 / 喷了还响 / 我要退货 refuse only what the agent just proposed
                related = _relation_refusals(classes, params, norm_all, reply_positions_all, sessions,
                                             positions[~found])
                relation_hits[positions[~found][related]] = True
                found[np.flatnonzero(~found)[related]] = True
            if params["answered_question_classes"] and found.any():
                # 不行 / 打不通 right after the agent asked 能打通吗 answers the question; it refuses
                # nothing (a proposal 您看可以吗 is kept out of the question class)
                hits = positions[found]
                previous = _previous_reply(reply_positions_all, hits, sessions)
                lengths = norm_all.iloc[hits].str.len().to_numpy()
                asked = np.zeros(len(hits), dtype=bool)
                has_prev = previous >= 0
                if has_prev.any():
                    asked[has_prev] = _class_mask(classes, list(params["answered_question_classes"]),
                                                  norm_all, previous[has_prev])
                    # a reproach put as a question (您自己不会再插紧试试吗？) asks nothing: 插了好几次了
                    # reports the step done in vain, it answers no yes/no question
                    provoking = [c for c in params["provoked_classes"] if c in classes.classes]
                    if provoking and asked.any():
                        asking = np.flatnonzero(asked)
                        asked[asking[_class_mask(classes, provoking, norm_all, previous[asking])]] = False
                found[np.flatnonzero(found)[asked & (lengths <= params["short_answer_chars"])]] = False
            _drop_nothing_offered(classes, params, norm_all, reply_positions_all, sessions, positions, found)
            prompted = [c for c in params["prompted_classes"] if c in classes.classes]
            if prompted and found.any():
                before_prompt = found.copy()
                _drop_unprompted(classes, params, norm_all, reply_positions_all, sessions, positions, found,
                                 later, prompted)
                _drop_unprompted_failures(classes, params, norm_all, reply_positions_all, sessions, positions,
                                          found, later)
                # a relation refusal was tied to its proposal already
                found |= before_prompt & relation_hits[positions]
            is_trigger[positions] = found
    reply_mask = role_mask(messages, params["reply_roles"]).to_numpy().copy()
    if params["pass_over_classes"] and reply_mask.any():
        positions = np.flatnonzero(reply_mask)
        over = positions[_class_mask(classes, list(params["pass_over_classes"]), norm_all, positions)]
        if params["pass_over_answering"] and len(over):
            # a welcome is passed over only as the agent's opening line (its first message in the session, or
            # after a transfer) and when the agent writes again: as the agent's only reply, or said to a
            # customer already in talk with it, it is the reply (a dodge)
            over = over[_opening_followed(over, positions, sessions, agent_codes)]
            over = over[~turn_holds(classes, list(params["pass_over_answering"]), norm_all, scope, reply_mask,
                                          sessions, over)]
        reply_mask[over] = False
    satisfied_by, not_counting = list(params["satisfied_by"]), list(params["not_counting"])
    texts = _Texts(classes, norm_all, satisfied_by, not_counting,
                   [c for c in params["praise_classes"] if c in classes.classes],
                   [c for c in params["praise_satisfied_by"] if c in classes.classes])
    if later and params["request_classes"] and params["failure_classes"] and is_trigger.any():
        _drop_requests(classes, params, texts, scope, reply_mask, sessions, is_trigger, later, anytime)
    if params["waiting_classes"] and is_trigger.any():
        _drop_answers_to_agent(classes, params, messages, texts, scope, reply_mask, sessions, is_trigger)
    if params["nudge_classes"]:
        _mark_repeated_nudges(classes, params, messages, texts, scope, reply_mask, sessions, is_trigger)
    if (params["closed_classes"] or params["relief_classes"]) and is_trigger.any():
        _drop_closed(classes, params, texts, scope, reply_mask, sessions, is_trigger, anytime)
    if params["carry_over_classes"] and is_trigger.any():
        _carry_over(classes, list(params["carry_over_classes"]), norm_all, scope, reply_mask, sessions, is_trigger)
    if params["provoked_classes"]:
        _mark_provoked(classes, params, texts, scope, reply_mask, sessions, is_trigger)
    if params["unsoothed_pressed_classes"] and is_trigger.any():
        _mark_pressed_unsoothed(classes, params, texts, scope, reply_mask, sessions, is_trigger)
    said_again_triggers: set[int] = set()
    if params["said_again_share"] > 0:
        said_again_triggers = _mark_said_again(classes, params, texts, scope, reply_mask, sessions, is_trigger)
    if params["skip_classes"] and is_trigger.any():
        positions = np.flatnonzero(is_trigger)
        skipped = _class_mask(classes, list(params["skip_classes"]), norm_all, positions)
        is_trigger[positions[skipped]] = False
        _skip_judged_turns(classes, list(params["skip_classes"]), norm_all, scope, reply_mask, sessions,
                           is_trigger)
    trigger_ids = np.flatnonzero(is_trigger)
    if len(trigger_ids) == 0:
        return findings_frame([], rule.id, "", "")

    reply_positions = np.flatnonzero(reply_mask)

    k = np.searchsorted(reply_positions, trigger_ids, side="right")
    nxt = np.where(k < len(reply_positions), reply_positions[np.minimum(k, max(len(reply_positions) - 1, 0))]
                   if len(reply_positions) else -1, -1)
    valid = nxt >= 0
    nxt[valid & (sessions[np.maximum(nxt, 0)] != sessions[trigger_ids])] = -1

    if params["soothed_episode"] and len(trigger_ids):
        # The agent's reply just before the trigger already soothed (消消气, 抱歉让您久等了) and the
        # customer goes on in the same vein: that episode has been answered, not ignored.
        # A refusal (an after_reply class: 我不要券, 这方案我不接受) answers the agent's new offer and
        # opens a new episode, so it is judged even right after a soothing reply.
        previous = _previous_reply(reply_positions, trigger_ids, sessions)
        soothed = np.zeros(len(previous), dtype=bool)
        has_prev = previous >= 0
        soothed[has_prev] = texts.acceptable(previous[has_prev])
        if soothed.any():
            # the soothing reply must have answered an emotion (the customer's turn before it held a
            # trigger, or a complaint left to skip_classes' rule: 我要投诉 → 非常抱歉… → 退钱): a 请耐心等待
            # to a plain question opens no episode
            skip_names = [c for c in params["skip_classes"] if c in classes.classes]
            urge_names = [c for c in params["urge_classes"] if c in classes.classes]
            for index in np.flatnonzero(soothed).tolist():
                position = int(previous[index])
                before = position - 1
                # 很抱歉…会帮您催 → 那抓紧处理吧: the customer urges what was just promised
                opened = any(texts.member(name, int(trigger_ids[index])) for name in urge_names)
                while not opened and before >= 0 and sessions[before] == sessions[position] and not reply_mask[before]:
                    if is_trigger[before] or (scope[before] and any(texts.member(name, before) for name in skip_names)):
                        opened = True
                        break
                    before -= 1
                if not opened:
                    soothed[index] = False
            # a canned line the agent already sent in the session (非常抱歉给您带来不便, again) is
            # repeated-soothing's business: it does not answer the episode
            session_start = np.r_[0, np.flatnonzero(sessions[1:] != sessions[:-1]) + 1]
            for index in np.flatnonzero(soothed).tolist():
                position = int(previous[index])
                key = texts.line_key(position)
                # the replies of the session before this one (sessions are contiguous)
                start = session_start[np.searchsorted(session_start, position, side="right") - 1]
                low, high = np.searchsorted(reply_positions, [start, position], side="left")
                if any(texts.line_key(p) == key for p in reply_positions[low:high].tolist()):
                    soothed[index] = False
        # (a refusal said in anger, 你听不懂吗 不要补, is an upset trigger whose refusal class still counts)
        refusing = [c for c in later if c in classes.classes]
        # pushing back (好麻烦) refuses the offer only when the soothing reply holds it out again in so many
        # words (还是, 只能): 理解您，那给您申请仅退款 meets it with another remedy
        pushing = [c for c in params["insisted_refusal_classes"] if c in classes.classes and c not in refusing]
        insisting = compile_regex(params["insisted_marker"]) if params["insisted_marker"] else None
        tied = [c for c in params["answer_classes"] if c in classes.classes]
        insisted_at: dict[int, bool] = {}

        def refused_between(offer: int, position: int) -> bool:
            """Did a customer message between the offer and the reply refuse it?"""
            return any(scope[p] and (relation_hits[p] or any(texts.member(name, p) for name in refusing)
                                     # an answer class counts only tied to the offer (要多久？ echoes nothing)
                                     or (tied and not_accepted(classes, texts.at(offer), texts.at(p), tied) is not None))
                       for p in range(offer + 1, position))

        def pushed_back_between(offer: int, position: int) -> bool:
            """Did the customer push back on the offer and the reply hold it out again in so many words?"""
            return (bool(pushing) and insisting is not None and insisting.search(texts.at(position)) is not None
                    and any(scope[p] and any(texts.member(name, p) for name in pushing)
                            for p in range(offer + 1, position)))

        def insisted(position: int) -> bool:
            """Did the soothing reply at ``position`` offer again what the customer refused since the
            agent's offer before it? Found once per soothing reply."""
            found = insisted_at.get(position)
            if found is None:
                offer = int(_previous_reply(reply_positions, np.asarray([position]), sessions)[0])
                found = offer >= 0 and not _unlike(texts.at(offer), texts.at(position)) and (
                    refused_between(offer, position) or pushed_back_between(offer, position))
                insisted_at[position] = found
            return found

        if soothed.any() and (refusing or tied or pushing):
            # a soothing reply that insisted on the solution the customer had just refused (我不要补胶 →
            # 抱歉，还是建议您返厂补胶): the customer's next upset (……) is about that insistence, not the
            # soothed episode going on
            for index in np.flatnonzero(soothed).tolist():
                if insisted(int(previous[index])):
                    soothed[index] = False
        provoking = [c for c in params["provoked_classes"] if c in classes.classes]
        if soothed.any() and provoking:
            # the agent turns on the customer in the next reply (这不是早讲过了吗？您没留意？): the
            # soothing before it is undone, the reply is judged
            for index in np.flatnonzero(soothed).tolist():
                reply = int(nxt[index])
                if reply >= 0 and any(texts.member(name, reply) for name in provoking):
                    soothed[index] = False
        new_episode = [c for c in params["new_episode_classes"] if c in classes.classes]
        if soothed.any() and new_episode:
            # the customer turns on the agent or the service itself (客服是摆设吗 after waiting on the
            # agent): a new grievance, not the soothed one going on
            positions = trigger_ids[soothed]
            soothed[np.flatnonzero(soothed)[_class_mask(classes, new_episode, norm_all, positions)]] = False
        if soothed.any() and later:
            positions = trigger_ids[soothed]
            refusal = _class_mask(classes, later, norm_all, positions) | relation_hits[positions]
            if params["answer_classes"] and (~refusal).any():
                # an upset message that also refuses the new proposal (你们寄一下会死吗 after 建议您就近买)
                refusal[~refusal] = _relation_refusals(classes, params, norm_all, reply_positions_all, sessions,
                                                       positions[~refusal])
            soothed[np.flatnonzero(soothed)[refusal]] = False
        trigger_ids, nxt = trigger_ids[~soothed], nxt[~soothed]

    # One judgement per reply (the first trigger before it is the context); per session end.
    first_of: dict[int, int] = {}
    missing: dict[int, int] = {}
    for trigger, reply in zip(trigger_ids.tolist(), nxt.tolist()):
        if reply >= 0:
            first_of.setdefault(reply, trigger)
        else:
            missing.setdefault(int(sessions[trigger]), trigger)

    customer_turn = role_mask(messages, params["trigger_roles"]).to_numpy()
    originals = messages["text"]
    lang = context.lang if context.lang in ("zh", "en") else "zh"
    limit = params["quote_chars"]
    trigger_names = list(dict.fromkeys(list(params["trigger_classes"]) + params["answer_classes"]
                                       + params["ruling_answer_classes"] + params["echo_classes"]
                                       + params["nudge_classes"]))

    clarify_first = [c for c in params["clarify_first_classes"] if c in classes.classes]

    def next_turn_acceptable(reply: int) -> bool:
        """The agent asked which item is meant: its messages up to the end of its next turn
        (after the customer's answer) may hold the clarification."""
        following, answered, replied_since = reply + 1, False, False
        while following < n and sessions[following] == sessions[reply]:
            if customer_turn[following]:
                if answered and replied_since:
                    return False
                answered, replied_since = True, False
            elif reply_mask[following]:
                replied_since = True
                if texts.acceptable_at(following):
                    return True
            following += 1
        return False

    def demand_granted(trigger: int, reply: int) -> bool:
        """The customer asked for another remedy (我要换一个) and the reply grants it (给您换一个新的):
        the refusal is answered by doing what the customer wants. Upset words keep it a trigger."""
        if any(texts.member(name, trigger) for name in anytime if name in classes.classes):
            return False
        previous = _previous_reply(reply_positions_all, np.asarray([trigger]), sessions)[0]
        if previous < 0:
            return False
        return grants(classes, texts.at(previous), texts.at(trigger), texts.at(reply))

    grant_names = [c for c in params["grant_classes"] if c in classes.classes]

    only_question_of: dict[str, bool] = {}

    def only_the_question(text: str) -> bool:
        """The customer's upset lies in the impatient question alone (到底能不能开票), not beside it
        (等了半天了 到底能不能退: a yes answers the question, not the wait). Found once per text."""
        found = only_question_of.get(text)
        if found is None:
            found = only_question_of[text] = _overlaps_all(_class_matches(classes, anytime, text),
                                                           [m.span() for m in _A_NOT_A_Q.finditer(text)])
        return found

    def dodged_before(trigger: int) -> bool:
        """Was the agent's reply before the customer's turn content-less (emoji, codes, punctuation)?"""
        previous = _previous_reply(reply_positions_all, np.asarray([trigger]), sessions)[0]
        return previous >= 0 and _CONTENT.search(_EMOTICON_CODE.sub("", texts.at(previous))) is None

    def request_granted(trigger: int, reply: int) -> bool:
        """The customer's turn asked for something (能退吗, 我要退款, 到底支不支持…) and the reply
        grants it or says yes: the request is handled, not left unsoothed."""
        reply_text = texts.at(reply)
        # only the impatient question itself is settled by a straight answer (人呢？ after a
        # question is waiting, which 今天下午发 does not answer)
        question = texts.at(trigger)
        # …unless the answer also spoils it (a rating asked for while the customer is upset)
        # …nor when a stronger upset follows in the same turn (什么时候发货 → 人呢？？？还没人回): the
        # answer settles the question, not the anger that came after it
        # …nor the upset voiced beside the question in the same message (又要等好几天 好烦啊 → 明天发出)
        if ((answers_yes(question, reply_text, synonyms=False) or answers_when(question, reply_text))
                and not any(classes.matches(name, reply_text) for name in mild_spoilers)
                and not upset_beside_question(trigger)
                and not upset_after(trigger, reply)):
            return True
        # 可以 to 能不能 permits: it settles the impatient question alone, not a complaint beside it
        # (等了半天了 到底能不能退 → 可以退的 您自己申请), nor the impatience of a customer whose
        # question the agent dodged with emoji only (早晚都能用吗 → 😊😊 → 到底能不能)
        # (…and, as above, not the anger that came after the question in the same turn: 到底补不补 → 人呢？？ → 补的)
        if (answers_yes(question, reply_text) and only_the_question(question) and not dodged_before(trigger)
                and not upset_after(trigger, reply)):
            return True
        for position in _turn_of(trigger, customer_turn, reply_mask, sessions):
            if position > reply:
                break
            text = texts.at(position)
            # (a text outside the request class grants nothing: no need to look)
            if any(texts.known(name, position) is not False and grants_request(classes, text, reply_text, name)
                   for name in grant_names):
                return True
        return False

    other_way_names = [c for c in params["other_way_classes"] if c in classes.classes]
    other_way_after = [c for c in params["other_way_after_classes"] if c in classes.classes]
    other_remedy_names = [c for c in params["other_remedy_classes"] if c in classes.classes]
    # a wait is no way, and a provocation (难道不是您自己碰掉的吗) none either
    other_way_not = [c for c in list(params["not_counting"]) + list(params["provoked_classes"]) if c in classes.classes]

    def refusal_met(trigger: int, reply: int) -> bool:
        """The customer refused the agent's proposal and the reply offers another remedy."""
        if not (relation_hits[trigger] or any(texts.member(name, trigger) for name in later
                                              if name in classes.classes)):
            return False
        previous = _previous_reply(reply_positions_all, np.asarray([trigger]), sessions)[0]
        if previous < 0:
            return False
        if offers_other(texts.at(previous), texts.at(reply)):
            return True
        # another sum after a calm refusal of the first (10块太少了 → 那给您申请20元); a scorned one (10块钱打发要饭的呢)
        # wants the soothing too
        if offers_other_sum(texts.at(previous), texts.at(reply)) and calm_turn(trigger, reply):
            return True
        # a step tried in vain, said calmly (试了还是很小, no upset in the turn), met with another way to
        # try (那可能是水垢，用白醋烧一遍): the recommended second solution, not the refused one again, nor a wait
        # (a remedy offered for it — 给您寄个新的 — meets the customer whatever was tried before; a promise
        # beside the tried step, 清缓存就能好, is that step again, and so is the step the customer said was
        # done asked for again beside a promise: 我上传了两张了 → 请上传照片 审核后专人联系您)
        if asks_done_step_again(trigger, reply):
            return False
        return (bool(other_way_names) and any(texts.member(name, trigger) for name in other_way_after)
                and calm_turn(trigger, reply) and not any(texts.member(name, reply) for name in other_way_not)
                and (any(_remedy_besides(texts.at(previous), texts.at(reply), found)
                         for name in other_remedy_names if texts.member(name, reply)
                         for found in classes.find(name, texts.at(reply)))
                     or (any(texts.member(name, reply) for name in other_way_names)
                         and _unlike(texts.at(previous), texts.at(reply)))))

    def asks_done_step_again(trigger: int, reply: int) -> bool:
        """Does the reply ask again, outside its handling promises, for the step the customer's
        turn says was done (an other_way_after match: 我上传了两张了 → 请在售后页面上传照片)?"""
        done = set()
        for name in other_way_after:
            if texts.member(name, trigger):
                for found in classes.find(name, texts.at(trigger)):
                    done |= _steps(found.text)
        if not done:
            return False
        reply_text = texts.at(reply)
        promised = [_clause_of(reply_text, found) for name in other_remedy_names if texts.member(name, reply)
                    for found in classes.find(name, reply_text) if _HANDS_OVER.search(found.text) is None]
        rest = reply_text
        for clause in promised:
            rest = rest.replace(clause, " ")
        return bool(done & _steps(rest))

    def calm_turn(trigger: int, reply: int) -> bool:
        """No upset word in the customer's turn up to ``reply``."""
        return not any(texts.member(name, p) for p in _turn_of(trigger, customer_turn, reply_mask, sessions)
                       if p < reply for name in anytime if name in classes.classes)

    decision_names = [c for c in params["decision_classes"] if c in classes.classes]

    def decision_consented(trigger: int, reply: int) -> bool:
        """A calm turn in which the customer chose their own way out (不行的话我就取消重拍), and
        the reply consents to it: the customer is not left with a refused solution. Upset words
        in the turn keep it a trigger."""
        turn = [p for p in _turn_of(trigger, customer_turn, reply_mask, sessions) if p < reply]
        if any(texts.member(name, p) for p in turn for name in anytime if name in classes.classes):
            return False
        return any(texts.known(name, p) is not False and permits_decision(classes, texts.at(p), texts.at(reply), name)
                   for p in turn for name in decision_names)

    affirmed_names = [c for c in params["affirmed_classes"] if c in classes.classes]
    affirmative_names = [c for c in params["affirmative_classes"] if c in classes.classes]

    def affirmed(trigger: int, reply: int) -> bool:
        """The customer asked whether a claim holds (是原装的吗) and the reply opens with a plain
        yes (是的亲): the doubt is answered, whatever courtesy follows."""
        if not any(texts.member(name, reply) for name in affirmative_names):
            return False
        return any(texts.member(name, p) for name in affirmed_names
                   for p in _turn_of(trigger, customer_turn, reply_mask, sessions) if p < reply)

    mild_names = [c for c in params["mild_classes"] if c in classes.classes]
    mild_replies = [c for c in params["mild_satisfied_by"] if c in classes.classes]
    mild_spoilers = [c for c in params["mild_spoiled_by"] if c in classes.classes]

    more_than_mild_of: dict[str, bool] = {}

    def more_than_mild(position: int) -> bool:
        """The message at ``position`` has a trigger match outside every mild-class match and
        outside an impatient question whether something happened (到底发没发货: the agent looking it
        up answers it; 管不管, 是不是机器人 challenge the agent and stay more than mild). Found once per text."""
        text = texts.at(position)
        verdict = more_than_mild_of.get(text)
        if verdict is None:
            found = _class_matches(classes, trigger_names, text)
            spans = _class_spans(classes, mild_names, text) + [m.span() for m in _STATUS_Q.finditer(text)] if found else []
            verdict = more_than_mild_of[text] = bool(found) and not _within_all(found, spans)
        return verdict

    beside_question_of: dict[tuple, bool] = {}
    grant_spoilers = [c for c in params["grant_spoiled_by_classes"] if c in classes.classes]

    def upset_beside_question(trigger: int, names: list[str] | None = None) -> bool:
        """The message at ``trigger`` voices more than a mild feeling (of ``names``, default every
        trigger class) in a clause that asks nothing (又要等好几天 宝宝等着用 好烦啊: 好烦啊 beside the wait
        asked about), outside the impatient question (到底哪天发, 你们到底退不退) that a straight answer
        settles. Found once per text and class list."""
        text = texts.at(trigger)
        names = names or trigger_names
        verdict = beside_question_of.get((text, tuple(names)))
        if verdict is None:
            found = _class_matches(classes, names, text)
            spans = _class_spans(classes, mild_names, text) if found else []
            spans += [m.span() for m in _CLAUSE.finditer(text) if _ASKS.search(m.group())] if found else []
            verdict = beside_question_of[(text, tuple(names))] = bool(found) and not _within_all(found, spans)
        return verdict

    def upset_after(trigger: int, reply: int) -> bool:
        """A later message of the trigger's turn (before ``reply``) voices more than a mild feeling."""
        return any(position != trigger and is_trigger[position] and more_than_mild(position)
                   for position in _turn_of(trigger, customer_turn, reply_mask, sessions) if position < reply)

    def mild_taken_up(trigger: int, reply: int) -> bool:
        """The customer's turn voiced a mild feeling only (……, 这… 你查一下呀: every trigger match
        in it lies in a ``mild_classes`` match) and the reply takes the matter up (我来帮您看看,
        核实的结果是…): speechlessness met by the agent's own action needs no apology."""
        if not any(texts.member(name, reply) for name in mild_replies):
            return False
        if any(texts.member(name, reply) for name in mild_spoilers):
            return False
        return not any(more_than_mild(position)
                       for position in _turn_of(trigger, customer_turn, reply_mask, sessions) if position <= reply)

    n = len(messages)
    reply_ids = sorted(first_of)
    judged = np.asarray(reply_ids, dtype="int64")
    unsatisfied = judged[~texts.acceptable(judged)] if len(judged) else judged
    if len(unsatisfied):
        # The classes the judgements below ask of the customer's turns, as class masks over all
        # those messages at once (vectorised) rather than one text at a time.
        asked = np.unique(np.asarray([p for reply in unsatisfied.tolist()
                                      for p in _turn_of(first_of[reply], customer_turn, reply_mask, sessions)],
                                     dtype="int64"))
        for name in dict.fromkeys(grant_names + decision_names + affirmed_names + trigger_names):
            if name in classes.classes and len(asked):
                classes.row_mask(name, norm_all, asked)
        # So are the classes asked of the replies themselves (the first of clarify_first, which
        # every reply is asked, the affirmative and mild-reply classes), and the satisfying classes'
        # pre-filter over the rest of each reply's turn (judge = "turn"): the loop then runs the
        # Python check only on the replies a pre-filter lets through. The verdicts are the same.
        for name in dict.fromkeys(clarify_first[:1] + affirmative_names + mild_replies):
            classes.row_mask(name, norm_all, unsatisfied)
        if params["judge"] == "turn":
            following_replies: list[int] = []
            for reply in unsatisfied.tolist():
                following = reply + 1
                while following < n and sessions[following] == sessions[reply] and not customer_turn[following]:
                    if reply_mask[following]:
                        if agent_codes[following] != agent_codes[reply]:
                            break
                        following_replies.append(following)
                    following += 1
            if following_replies:
                texts.screen(np.unique(np.asarray(following_replies, dtype="int64")))
    restated_names = [c for c in params["restated_classes"] if c in classes.classes]
    refused_offer: dict[int, int] = {}  # a reply that only restated the refused offer -> that offer
    challenge_names = [c for c in params["new_episode_classes"] if c in classes.classes]
    refusal_names = [c for c in params["restated_refusal_classes"] if c in classes.classes]
    wait_names = [c for c in params["refused_wait_classes"] if c in classes.classes]
    demand_names = [c for c in list(params["grant_classes"]) + list(params["request_classes"]) if c in classes.classes]
    proposing = [c for c in params["proposal_classes"] if c in classes.classes]
    again: list[int] = []
    if restated_names and len(judged):
        # the customer refused the proposal just before (催管用吗, tied to it by qa.acceptance) and
        # the reply only offers it again; a message of the same turn that only offers it again does
        # not make the reply good either (refused_offer)
        acceptable = texts.acceptable(judged)
        for reply, ok in zip(judged.tolist(), acceptable.tolist()):
            trigger = first_of[reply]
            # a refusal tied to the proposal names what was refused; a challenge to the agent (你是复读机吗)
            # refuses the proposal it answers as a whole, and so does a refusal in so many words (我说了不等了)
            # of a reply that proposed something
            tied = relation_hits[trigger] or any(texts.member(name, trigger) for name in challenge_names)
            refused_whole = not tied and any(texts.member(name, trigger) for name in refusal_names)
            if (wait_names and ok
                    and any(texts.member(name, trigger) for name in refusal_names)
                    and any(texts.member(name, trigger) for name in demand_names)
                    and any(texts.member(name, reply) for name in wait_names)
                    and _restates(classes, texts.at(reply), texts.at(reply), satisfied_by, restated_names, not_counting)):
                # 快递六天不动 我不要了 赶紧给我退钱 → 已经给您催了 再等两天看看: the course the customer refused,
                # waiting, held out again while the remedy asked for is passed over; only its reassurance
                # speaks for it (an apology or empathy in the reply still counts)
                again.append(reply)
                continue
            if not (tied or refused_whole):
                continue
            previous = int(_previous_reply(reply_positions_all, np.asarray([trigger]), sessions)[0])
            if previous < 0 or (refused_whole and not any(texts.member(name, previous) for name in proposing)):
                continue
            refused_offer[reply] = previous
            if ok and _restates(classes, texts.at(reply), texts.at(previous), satisfied_by, restated_names,
                                not_counting):
                again.append(reply)
    if again:
        unsatisfied = np.sort(np.r_[unsatisfied, np.asarray(again, dtype="int64")])
    flagged: list[int] = []
    ends_turn = [c for c in params["turn_ends_after_classes"] if c in classes.classes]
    if ends_turn and len(unsatisfied):
        for name in ends_turn:
            classes.row_mask(name, norm_all, unsatisfied)
    for reply in unsatisfied.tolist():
        if params["judge"] == "turn" and not (ends_turn and any(texts.member(name, reply) for name in ends_turn)):
            # the rest of the same agent's turn: another agent stepping in does not make it good
            ok, following = False, reply + 1
            while following < n and sessions[following] == sessions[reply] and not customer_turn[following]:
                if reply_mask[following] and agent_codes[following] != agent_codes[reply]:
                    break
                # (a second message restating the refused offer, 这就再去催, is no better than the first)
                if reply_mask[following] and texts.acceptable_at(following) and not (
                        reply in refused_offer and _restates(classes, texts.at(following), texts.at(refused_offer[reply]),
                                                             satisfied_by, restated_names, not_counting)):
                    ok = True
                    break
                following += 1
            if ok:
                continue
        if clarify_first and any(texts.member(name, reply) for name in clarify_first) and next_turn_acceptable(reply):
            continue
        # (a grant answers the request, not the agent's manner turned on beside it: 我只问能不能退，你这是啥口气)
        challenged = bool(grant_spoilers) and upset_beside_question(first_of[reply], grant_spoilers)
        if not challenged and relation_hits[first_of[reply]] and demand_granted(first_of[reply], reply):
            continue
        if not challenged and grant_names and request_granted(first_of[reply], reply):
            continue
        if params["accommodate_refusals"] and refusal_met(first_of[reply], reply):
            continue
        if decision_names and decision_consented(first_of[reply], reply):
            continue
        if affirmed_names and affirmed(first_of[reply], reply):
            continue
        if mild_names and mild_replies and mild_taken_up(first_of[reply], reply):
            continue
        flagged.append(reply)

    out_ids, reasons, matches, starts, ends, contexts = [], [], [], [], [], []
    trigger_list = [first_of[r] for r in flagged] + (list(missing.values()) if params["flag_missing"] else [])
    trigger_text = dict(zip(trigger_list, _values(originals, trigger_list)))
    trigger_norm = dict(zip(trigger_list, _values(norm_all, trigger_list)))

    # a turn admitted by another path (a pressed question, a doubt pressed again, question marks) names
    # that class in the reason rather than nothing
    other_names = [name for key, value in params.items() if key.endswith("_classes") and isinstance(value, list)
                   for name in value if name in classes.classes and name not in trigger_names
                   and "customer" in (classes.classes[name].roles or ("customer",))
                   and any(c.label_zh for c in classes.classes[name].categories)]

    named: dict[tuple[int, bool], tuple[str, str]] = {}  # (text code, said again) -> (cue, category)

    def trigger_named(trigger: int) -> tuple[str, str]:
        """The cue and category a trigger's reason names: they depend on its text alone (and on whether
        the agent said its answer again), so they are found once per distinct text."""
        key = (int(texts.codes[trigger]), trigger in said_again_triggers)
        if key in named:
            return named[key]
        candidates = [name for name in trigger_names if texts.known(name, trigger) is not False]
        # a refusal of a step (找不到 in 订单列表里找不到…又降价了) counts only after a proposal: a trigger class
        # in the same message names what the customer felt
        found = first_trigger_match(classes, trigger_norm[trigger],
                                    [name for name in candidates if name in params["trigger_classes"]])
        if found is None:
            found = first_trigger_match(classes, trigger_norm[trigger], candidates)
        if found is None and other_names:
            found = first_trigger_match(classes, trigger_norm[trigger], other_names)
        if found is None and key[1]:
            label = params["said_again_label"]
            named[key] = ("", label.get(lang) or label.get("zh", ""))
        else:
            named[key] = (found.text if found is not None else "", found.label(lang) if found is not None else "")
        return named[key]

    def trigger_fields(trigger: int) -> dict[str, str]:
        cue, category = trigger_named(trigger)
        return {"trigger": _quote(trigger_text[trigger], limit), "cue": cue, "category": category}

    for reply, original in zip(flagged, _values(originals, flagged)):
        trigger = first_of[reply]
        original = str(original)
        reply_quote = _quote(original, limit)
        stripped = original.strip()
        offset = original.find(stripped) if stripped else 0
        out_ids.append(reply)
        reasons.append(render(rule.message, lang, reply=reply_quote, **trigger_fields(trigger)))
        matches.append(stripped)
        starts.append(offset)
        ends.append(offset + len(stripped))
        contexts.append(trigger)
    if params["flag_missing"]:
        for trigger in missing.values():
            original = str(trigger_text[trigger])
            out_ids.append(trigger)
            reasons.append(render(rule.message, lang, reply="", **trigger_fields(trigger)))
            matches.append(original)
            starts.append(0)
            ends.append(len(original))
            contexts.append(-1)
    if not out_ids:
        return findings_frame([], rule.id, "", "")
    return findings_frame(messages.index.to_numpy()[out_ids], rule.id, rule.severity.value, reasons,
                          matches, starts, ends,
                          [int(messages.index[c]) if c >= 0 else -1 for c in contexts])


def validate(params: dict) -> list[tuple[str, str]]:
    """Problems the loader reports with the rule file's line."""
    problems: list[tuple[str, str]] = []
    if params["quote_chars"] < 1:
        problems.append(("quote_chars", "quote_chars must be 1 or more"))
    return problems
