"""Check type ``repetition``: the same soothing line used more than ``max_uses`` times in a session.

Built for 安抚话术 (soothing lines, 002 §一.7 「同一安抚话术不得使用2次以上」 and §三.5 「避免使用
同一句话反覆回复，给客户造成机械回复的体验」). What is soothing is not a list of sentences here but
the shared class ``soothing`` of ``rules/classes.toml`` (apology, empathy, reassurance, thanks
for patience, promise to do one's best; word patterns with their exclusions), so an unlisted
line such as 我们一定会给您一个满意的答复 counts, and ``ignored-complaint`` and the newer rules
agree with this rule about what soothes. Any class can be counted the same way
(``soothing_class``).

How a message becomes "lines" (each distinct candidate text is worked out once):

1. only messages of ``roles`` (agents) that the class's vectorised pre-filter accepts are
   candidates (``norm`` already folds traditional -> simplified, full/half width and case);
2. the class matches are found on the whole normalized text (so its exclusions, such as
   理解您的意思, and its negation scope apply);
3. emoticon codes (``[微笑]``, ``[图片]``, Wangwang ``/:^_^``, JD ``#E-s57``), emoji,
   punctuation, symbols, whitespace and the modal ``particles`` (哦 呢 哈 啦 呀 哟 嘛, the list
   of the standard) cut the text into clauses and are otherwise ignored; a clause is
   *soothing* when a class match overlaps it;
4. ``unit = "clause"`` (default): a run of consecutive soothing clauses *within one sentence*
   (:meth:`qa.classes.ClassSet.sentences`) is one line, so a message of two sentences holds two
   lines (非常抱歉让您久等了。请您放心 uses 请您放心 like a message of that sentence alone). The
   line is cut to its *soothing core*, from the start of its first class match to the end of
   its last one: commas do not matter (非常抱歉，给您带来不便 = 非常抱歉给您带来不便; 亲亲，别着急 =
   亲亲别着急), and neither do an address word before the soothing words nor the content after
   them: 非常抱歉，我马上为您查一下订单 and 非常抱歉，这个需要仓库确认 both use the line 非常抱歉 —
   the standard is about repeating the same 安抚话术 mechanically, whatever it introduces.
   A core shorter than ``min_line_chars`` (a bare 抱歉 or 久等) is compared with its whole clause run
   instead, and so is one shorter than ``min_core_chars`` (很抱歉, 耐心等) that other words precede in its
   clause (这个很抱歉, 这个真的很抱歉, 你再耐心等等): a wording of its own; opening its clause (很抱歉我马上查,
   亲很抱歉) it is the core. A non-soothing clause between two soothing ones separates two lines
   (非常抱歉，我查一下，请您谅解 = 非常抱歉 + 请您谅解). When soothing sentences follow one another,
   their joined core is a line too, so 非常抱歉！给您带来不便。 is also the line 非常抱歉给您带来不便
   (the same words with other punctuation). With ``min_part_chars``, a clause of a run of two or more
   that is a soothing formula of that many characters or more (its key from its first class match to
   its last) is a line of its own too: 抱歉亲，理解您的心情 also uses 理解您的心情; ``unit = "message"``:
   the whole message (all its clauses) is the line, for rules that want exact repeats only;
5. near-identical wording is the same line: ``final_particles`` (了) and ``fillers`` (的) are
   ignored, and the characters of each ``equivalent_chars`` group read as its first one
   (你 = 您), so 给你带来的不便了 = 给您带来不便;
6. lines are counted per (session, line) in message order, every occurrence (one message may
   use a line twice); the message holding the (max_uses+1)-th and any later use gets one
   finding (match = the whole original text).

Parameters (rule ``[params]``):

``soothing_class`` (str, default ``soothing``)
    The class of :mod:`qa.classes` whose matches make a clause a line.
``max_uses`` (int, default 2)
    Uses allowed per session; the (max_uses+1)-th and later are flagged.
``unit`` (str, ``clause`` | ``message``, default ``clause``)
    What is compared (see 4).
``particles`` (strings, default 哦 呢 哈 啦 呀 哟 嘛)
    Ignored anywhere in a line (they split clauses like punctuation does). Address words
    such as 亲 are not in the standard's list and are not particles here: before the first
    soothing match they fall outside the core anyway (亲，非常抱歉 = 非常抱歉), but between two
    matches they count (非常抱歉亲给您带来不便 ≠ 非常抱歉给您带来不便) unless a rule adds them.
``final_particles`` (strings, default 了), ``fillers`` (strings, default 的)
    Characters ignored inside a line once it is cut (see 5).
``equivalent_chars`` (strings, default 您你妳)
    Groups of characters read as the group's first one.
``address_words`` (strings, default 亲爱的 亲亲 亲)
    Dropped at the start of a line: a class match may begin with an address word
    (亲亲别着急 = 亲亲，别着急 = 别着急).
``min_part_chars`` (int, default 0: off)
    See 4: the shortest clause of a longer line that is a line of its own too.
``min_core_chars`` / ``min_line_chars`` (int, default 3)
    See 4; a line shorter than ``min_line_chars`` (a bare 抱歉 clause) is courtesy, not counted.
``roles`` (strings, default agent)
    Whose messages are counted.

Message fields: ``{count}`` (which use this is: 3), ``{count_ordinal}`` (3rd), ``{limit}``
(``max_uses``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import regex

from qa.checks.base import CheckContext, findings_frame, render, role_mask
from qa.regexcache import compile_regex, longest_first
from qa.textindex import text_index

# Emoticon codes that contain letters or digits (so the symbol class below would keep them):
# bracketed names [微笑] / placeholders [图片] [数字x], Wangwang /:^_^ /:008 /:ok, JD #E-s57
# (norm is lower case). Bare emoji and symbols are covered by the symbol class.
EMOTICON = r"\[[^\[\]]{1,12}\]|/:[!-~]{1,6}|#e-[a-z]+(?:\d+)?|#e\b"
SYMBOLS = r"[^\p{L}\p{N}]"
# Sentences that follow one another are also joined into one line, up to this many.
_MAX_JOINED = 3


def _char_class(chars) -> str:
    return "[" + "".join(regex.escape(c) for c in chars) + "]" if chars else ""


@lru_cache(maxsize=16)
def _compiled(particles: tuple[str, ...], dropped: tuple[str, ...], groups: tuple[str, ...],
              address: tuple[str, ...]):
    """(clause cut regex, translation table of the dropped and equivalent characters, regex of
    the address words at the start of a line)."""
    cut = compile_regex(f"(?:{EMOTICON}|{SYMBOLS}" + (f"|{_char_class(particles)}" if particles else "") + ")+")
    table = {ord(c): None for c in dropped}
    for group in groups:
        for c in group[1:]:
            table.setdefault(ord(c), group[0])
    words = longest_first(address)
    leading = compile_regex("^(?:" + "|".join(regex.escape(w) for w in words) + ")+") if words else None
    return cut, table, leading


class LineFinder:
    """The soothing lines of one normalized text, per the rule's params (callers work out each
    distinct text once)."""

    def __init__(self, params: dict, classes) -> None:
        self.classes = classes
        self.name = params["soothing_class"]
        self.unit = params["unit"]
        self.min_core = params["min_core_chars"]
        self.min_line = params["min_line_chars"]
        self.min_part = params.get("min_part_chars", 0)
        # a particle or a final 了 followed by punctuation (呢，/ 了，): see :meth:`lines`
        particles = _char_class(tuple(params["particles"]) + tuple(params["final_particles"]))
        self.particles = compile_regex(f"{particles}+[^\\p{{Han}}\\p{{L}}\\p{{N}}]*?(?:{EMOTICON}|{SYMBOLS})") \
            if particles else None
        self.cut, self.table, self.leading = _compiled(
            tuple(params["particles"]), tuple(params["final_particles"]) + tuple(params["fillers"]),
            tuple(params["equivalent_chars"]), tuple(params["address_words"]))

    def _key(self, text: str) -> str:
        """A piece of normalized text as a line key: no cut characters, no dropped ones, no
        address word in front (a class match may begin with 亲: 亲亲别着急 = 亲亲，别着急 = 别着急)."""
        key = self.cut.sub("", text).translate(self.table)
        return self.leading.sub("", key) if self.leading is not None else key

    def lines(self, text: str) -> list[str]:
        """The keys of the lines of ``text`` (a normalized message), in text order."""
        matches = [(m.start, m.end) for m in self.classes.find(self.name, text)]
        if not matches:
            return []
        if self.unit == "message":
            key = self._key(text)
            return [key] if len(key) >= self.min_line else []
        # clauses: the pieces between cuts, each with its sentence number
        clauses, position = [], 0
        for found in self.cut.finditer(text):
            if found.start() > position:
                clauses.append((position, found.start()))
            position = found.end()
        if position < len(text):
            clauses.append((position, len(text)))
        sentence_ends = [end for _, end in self.classes.sentences(text)]
        runs: list[list] = []  # [start, end, core_start, core_end, sentence, joinable, clauses]
        soothing_clauses: list[tuple] = []  # (start, end, core_start, core_end, its run's index)
        previous_soothing, sentence, previous_end = False, 0, 0
        for start, end in clauses:
            while sentence < len(sentence_ends) - 1 and start >= sentence_ends[sentence]:
                sentence += 1
            inside = [(s, e) for s, e in matches if s < end and start < e]
            # a modal particle or a final 了 closing a clause before its comma (理解您的心情呢，…,
            # 抱歉让您失望了，是我们发错了) ends the utterance as a full stop does: what follows is
            # a line of its own, also joined (非常抱歉，给您带来不便 stays one line)
            closed = self.particles is not None and previous_end > 0 and \
                self.particles.match(text, previous_end - 1, start) is not None or \
                self.particles is not None and self.particles.search(text, previous_end, start) is not None
            previous_end = end
            if not inside:
                previous_soothing = False
                continue
            core_start, core_end = max(min(s for s, _ in inside), start), min(max(e for _, e in inside), end)
            if previous_soothing and runs[-1][4] == sentence and not closed:
                run = runs[-1]
                run[1], run[3] = end, core_end
                run[6] += 1
            else:
                # a soothing sentence right after another one: their joined core is a line too
                joinable = previous_soothing
                runs.append([start, end, core_start, core_end, sentence, joinable, 1])
            soothing_clauses.append((start, end, core_start, core_end, len(runs) - 1))
            previous_soothing = True
        keys = [self._line(text, run[0], run[1], run[2], run[3]) for run in runs]
        out = [k for k in keys if len(k) >= self.min_line]
        # a clause that is a soothing formula of its own inside a longer line (抱歉亲，理解您的心情，… then
        # 理解您的心情 alone): the clause is a line too, when it is long enough to be a formula and not a
        # bare word (非常抱歉); one clause holds one line only (非常抱歉亲给您带来不便 stays whole)
        for start, end, core_start, core_end, run in soothing_clauses if self.min_part else ():
            key = self._key(text[start:end])
            if runs[run][6] >= 2 and len(key) >= self.min_part and key == self._key(text[core_start:core_end]) \
                    and key not in out:
                out.append(key)
        # joined lines of sentences that follow one another (非常抱歉！给您带来不便。)
        for first in range(len(runs)):
            last = first
            while last + 1 < len(runs) and runs[last + 1][5] and last + 1 - first < _MAX_JOINED:
                last += 1
                key = self._line(text, runs[first][0], runs[last][1], runs[first][2], runs[last][3])
                if len(key) >= self.min_line and key not in out:
                    out.append(key)
        return out

    def _line(self, text: str, start: int, end: int, core_start: int, core_end: int) -> str:
        """The key of a line: its soothing core, or the whole clause run for a bare word (a core under
        ``min_line_chars``: 抱歉亲) and for a short core (under ``min_core_chars``) that other words precede in
        its clause (这个很抱歉, 这个真的很抱歉, 你再耐心等等): wordings of their own. A short core opening its
        clause (很抱歉我马上查, 亲很抱歉, 很抱歉呢) is the core whatever follows it."""
        core = self._key(text[core_start:core_end])
        length = len(self.cut.sub("", text[core_start:core_end]))
        if length < self.min_line or (length < self.min_core and self._key(text[start:core_start])):
            return self._key(text[start:end])
        return core


def soothing_lines(norm: pd.Series, params: dict, classes=None, rows: np.ndarray | None = None
                   ) -> tuple[np.ndarray, list[str]]:
    """Lines of the soothing class in the given (already role-filtered) normalized texts.

    Returns (position in ``norm`` of the message holding each line, key of each line), in
    message order, then order within the message. Each distinct text is worked out once."""
    from qa.classes import builtin_classes

    classes = classes if classes is not None else builtin_classes()
    if norm.empty or (rows is not None and not len(rows)):
        return np.array([], dtype="int64"), []
    finder = LineFinder(params, classes)
    candidates = np.flatnonzero(classes.row_candidates(params["soothing_class"], norm, rows))
    if not len(candidates):
        return np.array([], dtype="int64"), []
    index = text_index(norm)
    codes = index.codes[candidates if rows is None else np.asarray(rows)[candidates]]
    distinct, codes = np.unique(codes, return_inverse=True)
    per_text = [finder.lines(t) for t in index.texts(distinct)]
    counts = np.fromiter((len(lines) for lines in per_text), dtype="int64", count=len(per_text))[codes]
    owner = np.repeat(candidates, counts)
    keys = [k for c in codes.tolist() for k in per_text[c]]
    return owner, keys


def ordinal(n: int) -> str:
    """3 -> "3rd", 11 -> "11th" (for English reasons)."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag each message holding a use of a soothing line beyond ``max_uses`` in its session."""
    from qa.classes import classes_of

    params = rule.params
    limit = params["max_uses"]
    if messages.empty:
        return findings_frame([], rule.id, "", "")
    classes = classes_of(rule)
    scope = np.flatnonzero(role_mask(messages, params["roles"]).to_numpy())
    owner, keys = soothing_lines(messages["norm"], params, classes, rows=scope)
    if len(owner) == 0:
        return findings_frame([], rule.id, "", "")
    positions = scope[owner]
    session_code = pd.factorize(messages["session_id"].iloc[positions])[0].astype("int64")
    key_code = pd.factorize(pd.Series(keys, dtype=object))[0].astype("int64")
    group = session_code * (int(key_code.max()) + 1) + key_code
    use = pd.Series(group).groupby(group, sort=False).cumcount().to_numpy() + 1
    over = use > limit
    if not over.any():
        return findings_frame([], rule.id, "", "")
    flagged = pd.DataFrame({"at": positions[over], "use": use[over]}).drop_duplicates("at")
    texts = messages["text"].iloc[flagged["at"].to_numpy()].astype("str").tolist()
    distinct, inverse = np.unique(flagged["use"].to_numpy(), return_inverse=True)
    texts_by_count = [
        render(rule.message, context.lang, count=int(n), count_ordinal=ordinal(int(n)), limit=limit)
        for n in distinct
    ]
    reasons = np.asarray(texts_by_count, dtype=object)[inverse].tolist()
    return findings_frame(
        messages.index.to_numpy()[flagged["at"].to_numpy()], rule.id, rule.severity.value, reasons,
        match=texts, span_start=0, span_end=[len(t) for t in texts],
    )


def validate(params: dict) -> list[tuple[str, str]]:
    """Problems the loader reports with the rule file and line (beyond the declared types)."""
    problems = []
    if params["max_uses"] < 1:
        problems.append(("max_uses", f"max_uses must be 1 or more, got {params['max_uses']}"))
    if not params["soothing_class"].strip():
        problems.append(("soothing_class", "soothing_class: name a class of rules/classes.toml"))
    for key in ("particles", "final_particles", "fillers"):
        if any(len(c) != 1 for c in params[key]):
            problems.append((key, f"{key}: each entry must be one character"))
    if any(len(g) < 2 for g in params["equivalent_chars"]):
        problems.append(("equivalent_chars", "equivalent_chars: each group needs two characters or more"))
    return problems
