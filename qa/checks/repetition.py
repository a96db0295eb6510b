"""Check type ``repetition``: the same lexicon line used more than ``max_uses`` times in a session.

Built for 安抚话术 (soothing lines, 002 §一.7 「同一安抚话术不得使用2次以上」 and §三.5 「避免使用
同一句话反覆回复，给客户造成机械回复的体验」), but the lexicon is data: any family of canned
lines can be counted the same way.

How a message becomes "lines", all vectorised over the candidate messages (pyarrow compute, RE2;
no loop over sessions or messages):

1. only messages of ``roles`` (agents) whose ``norm`` text contains a lexicon phrase are
   candidates (``norm`` already folds traditional -> simplified, full/half width and case);
2. emoticon codes (``[微笑]``, ``[图片]``, Wangwang ``/:^_^``, JD ``#E-s57``), emoji,
   punctuation, symbols, whitespace and the modal ``particles`` (哦 呢 哈 啦 呀 哟 嘛, the list
   of the standard) cut the text into clauses and are otherwise ignored;
3. a clause is *soothing* when it contains a lexicon phrase (after the ``exceptions``, such as
   理解您的意思, are blanked out);
4. ``unit = "clause"`` (default): a run of consecutive soothing clauses of one message is one
   line, cut to its *soothing core*, from the start of its first lexicon phrase to the end of
   its last one (the longest phrase wins at a position, so 非常抱歉 and 很抱歉 stay apart).
   Hence commas do not matter (非常抱歉，给您带来不便 = 非常抱歉给您带来不便; 亲亲，别着急 =
   亲亲别着急), and neither do an address word or filler before the soothing words nor the
   content after them: 非常抱歉，我马上为您查一下订单 and 非常抱歉，这个需要仓库确认 both
   use the line 非常抱歉 — the standard is about repeating the same 安抚话术 mechanically,
   whatever it introduces. Different soothing lines stay different:
   非常抱歉让您久等了 ≠ 非常抱歉给您带来不便. A non-soothing clause between two soothing ones
   separates two lines (非常抱歉。我查一下。请您耐心等待 = 非常抱歉 + 请您耐心等待).
   ``unit = "message"``: the whole message (all its clauses) is the line, for rules that
   want exact repeats only;
5. ``final_particles`` (了) are ignored at the end of a clause, so 非常抱歉给您带来不便了哦～ and
   非常抱歉，給您帶來不便！ give the same key; 了解 keeps its 了;
6. lines are counted per (session, key) in message order, every occurrence (one message may
   use a line twice); the message holding the (max_uses+1)-th and any later use gets one
   finding (match = the whole original text).

Parameters (rule ``[params]``):

``phrases`` (strings, required; or ``phrases_file``)
    Lexicon: a clause containing one of these is soothing. List intensified forms too
    (非常抱歉, 很抱歉) when they should count as different lines from the bare word.
``exceptions`` (strings)
    Phrases that contain a lexicon phrase without being one (我理解您的意思是…); blanked out
    before the lexicon test.
``max_uses`` (int, default 2)
    Uses allowed per session; the (max_uses+1)-th and later are flagged.
``unit`` (str, ``clause`` | ``message``, default ``clause``)
    What is compared (see 4).
``particles`` (strings, default 哦 呢 哈 啦 呀 哟 嘛)
    Ignored anywhere in a line (they split clauses like punctuation does). Address words
    such as 亲 are not in the standard's list and are not particles here: before the first
    soothing phrase they fall outside the core anyway (亲，非常抱歉 = 非常抱歉), but between two
    phrases they count (非常抱歉亲给您带来不便 ≠ 非常抱歉给您带来不便) unless a rule adds them.
``final_particles`` (strings, default 了)
    Ignored at the end of a clause only (给您带来不便了 = 给您带来不便, 了解 stays).
``roles`` (strings, default agent)
    Whose messages are counted.

Message fields: ``{count}`` (which use this is: 3), ``{count_ordinal}`` (3rd), ``{limit}``
(``max_uses``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex

from qa.checks.base import CheckContext, CheckType, Param, findings_frame, render, role_mask
from qa.normalize import normalize_text

PARAMS = {
    "phrases": Param("strings", "lexicon: a clause containing one of these is soothing", required=True),
    "exceptions": Param("strings", "phrases containing a lexicon phrase that are not one", default=[]),
    "max_uses": Param("int", "uses allowed per session; later uses are flagged", default=2),
    "unit": Param("str", "what is compared: the soothing core of a run of clauses, or the whole message",
                  default="clause", choices=("clause", "message")),
    "particles": Param("strings", "characters ignored anywhere, like punctuation (modal particles)",
                       default=["哦", "呢", "哈", "啦", "呀", "哟", "嘛"]),
    "final_particles": Param("strings", "characters ignored at the end of a clause", default=["了"]),
    "roles": Param("strings", "roles whose messages are counted", default=["agent"]),
    "min_core_chars": Param("int", "a soothing core shorter than this is compared with its whole "
                            "clause run instead (a bare 抱歉 before three different answers is "
                            "not one repeated line)", default=3),
    "min_line_chars": Param("int", "shortest line counted at all (a bare 抱歉 clause is courtesy)", default=3),
}

# Emoticon codes that contain letters or digits (so the symbol class below would keep them):
# bracketed names [微笑] / placeholders [图片] [数字x], Wangwang /:^_^ /:008 /:ok, JD #E-s57
# (norm is lower case). Bare emoji and symbols are covered by the symbol class.
EMOTICON = r"\[[^\[\]]{1,12}\]|/:[!-~]{1,6}|#e-[a-z]+(?:\d+)?|#e\b"
SYMBOLS = r"[^\p{L}\p{N}]"
_CUT = "|"  # clause boundary; "|" in the text is a symbol, so it is a boundary anyway
_JOIN = ","  # joins the clauses of a line until final particles are stripped


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(regex.escape(c) for c in chars) + "]" if chars else ""


def _line_key(text: str, particles: list[str]) -> str:
    """Normalize one lexicon/exception phrase the way clauses are (no clause split)."""
    text = regex.sub(EMOTICON, "", normalize_text(text))
    if particles:
        text = regex.sub(_char_class(particles), "", text)
    return regex.sub(r"[^\p{L}\p{N}]+", "", text)


def _alternation(phrases: list[str]) -> str:
    return "|".join(regex.escape(p) for p in sorted(set(phrases), key=len, reverse=True) if p)


def _arrow(strings: pd.Series) -> pa.Array:
    """The column as one pyarrow large_string array (zero-copy for pyarrow-backed strings)."""
    array = pa.array(strings) if isinstance(strings.dtype, pd.StringDtype) else pa.array(
        strings.astype("str").tolist())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.large_string())


_EMPTY = (np.array([], dtype="int64"), pa.array([], pa.large_string()))


def _slice_bytes(strings: pa.Array, start: np.ndarray, end: np.ndarray) -> pa.Array:
    """Each string cut to its bytes [start, end) (vectorised over the value buffer)."""
    strings = strings.cast(pa.large_string())
    offsets = np.frombuffer(strings.buffers()[1], dtype="int64")[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(strings.buffers()[2], dtype="uint8") if strings.buffers()[2] else np.zeros(0, "uint8")
    lengths = np.maximum(end - start, 0)
    out_offsets = np.zeros(len(strings) + 1, dtype="int64")
    np.cumsum(lengths, out=out_offsets[1:])
    take = np.arange(out_offsets[-1], dtype="int64") + np.repeat(offsets[:-1] + start - out_offsets[:-1], lengths)
    return pa.LargeStringArray.from_buffers(len(strings), pa.py_buffer(out_offsets), pa.py_buffer(data[take]))


def soothing_core(lines: pa.Array, phrases: list[str]) -> pa.Array:
    """Each line cut to its soothing core: from the start of its first lexicon phrase to the
    end of its last one (the longest phrase wins at a position, so 非常抱歉 is kept whole).

    Address words and fillers before the core (亲亲，别着急 = 亲亲别着急 = 别着急) and content
    after it (非常抱歉，我马上为您查一下订单 -> 非常抱歉) are not part of the line. The last
    phrase is the first match in the reversed string, so two non-capturing RE2 searches do it.
    Every line must contain a phrase.
    """
    lexicon = _alternation(phrases)
    length = np.asarray(pc.binary_length(lines), dtype="int64")
    start = np.zeros(len(lines), dtype="int64")
    end = length.copy()
    # Most lines already start and end with a phrase; only the others are searched (finding
    # a match position is several times slower than testing for a match).
    loose = pc.invert(pc.match_substring_regex(lines, f"^(?:{lexicon})"))
    if pc.any(loose).as_py():
        where = np.flatnonzero(np.asarray(loose, dtype=bool))
        start[where] = np.asarray(pc.find_substring_regex(lines.filter(loose), lexicon), dtype="int64")
    loose = pc.invert(pc.match_substring_regex(lines, f"(?:{lexicon})$"))
    if pc.any(loose).as_py():
        where = np.flatnonzero(np.asarray(loose, dtype=bool))
        reversed_lines = pc.utf8_reverse(lines.filter(loose))
        reversed_lexicon = _alternation([p[::-1] for p in phrases])
        end[where] -= np.asarray(pc.find_substring_regex(reversed_lines, reversed_lexicon), dtype="int64")
    return _slice_bytes(lines, start, end)


def soothing_lines(norm: pd.Series, params: dict) -> tuple[np.ndarray, pa.Array]:
    """Lines of lexicon phrases in the given (already role-filtered) normalized texts.

    Returns (position in ``norm`` of the message holding each line, key of each line), in
    message order, then order within the message.
    """
    particles, final = list(params["particles"]), list(params["final_particles"])
    phrases = [k for k in (_line_key(p, particles) for p in params["phrases"]) if k]
    if not phrases or norm.empty:
        return _EMPTY
    exceptions = [k for k in (_line_key(p, particles) for p in params["exceptions"]) if k]
    lexicon = _alternation(phrases)

    # Clauses: emoticon codes, emoji, punctuation, spaces, symbols and particles cut the text.
    cut = f"(?:{EMOTICON}|{SYMBOLS}" + (f"|{_char_class(particles)}" if particles else "") + ")+"
    parts = pc.split_pattern(pc.replace_substring_regex(_arrow(norm), cut, _CUT), _CUT)
    clauses = pc.list_flatten(parts)
    parent = np.asarray(pc.list_parent_indices(parts), dtype="int64")
    nonempty = np.asarray(pc.greater(pc.binary_length(clauses), 0), dtype=bool)
    clauses, parent = clauses.filter(nonempty), parent[nonempty]
    if len(clauses) == 0:
        return _EMPTY
    if exceptions:  # blanked out: 我理解您的意思 is not a soothing clause
        clauses = pc.replace_substring_regex(clauses, _alternation(exceptions), "#")
    soothing = np.asarray(pc.match_substring_regex(clauses, lexicon), dtype=bool)

    if params["unit"] == "message":
        has_soothing = np.zeros(len(norm), dtype=bool)
        has_soothing[parent[soothing]] = True
        chosen = np.flatnonzero(has_soothing[parent])
    else:
        chosen = np.flatnonzero(soothing)
    if len(chosen) == 0:
        return _EMPTY
    owner = parent[chosen]
    # A line is a run of chosen clauses next to each other in one message ("message" unit:
    # all clauses of a message that has a soothing one, so the line is the whole message).
    starts = np.ones(len(chosen), dtype=bool)
    starts[1:] = owner[1:] != owner[:-1]
    if params["unit"] != "message":
        starts[1:] |= chosen[1:] != chosen[:-1] + 1
    start_positions = np.flatnonzero(starts)
    offsets = pa.array(np.append(start_positions, len(chosen)), pa.int64())
    runs = pa.LargeListArray.from_arrays(offsets, clauses.take(pa.array(chosen)))
    keys = pc.binary_join(runs, pa.scalar(_JOIN, pa.large_string()))
    if params["unit"] != "message":
        # A short core (a bare 抱歉 or 久等) is too common to be "the same line" by itself:
        # then the whole clause run is compared (抱歉这边已经发货 and 抱歉目前无法拦截 differ,
        # 让您久等了 three times is the same line).
        cores = soothing_core(keys, phrases)
        short = pc.less(pc.utf8_length(cores), params["min_core_chars"])
        keys = pc.if_else(short, keys, cores)
    if final:  # at the end of a clause: 给您带来不便了 = 给您带来不便, 了解 stays
        keys = pc.replace_substring_regex(keys, _char_class(final) + f"+({_JOIN}|$)", "\\1")
    keys = pc.replace_substring_regex(keys, _JOIN, "")
    # Inside a line, 了 is the same particle as at a clause end: 给您添麻烦了实在不好意思 is the
    # line 给您添麻烦了，实在不好意思 written without the comma (keys are only compared).
    if final:
        keys = pc.replace_substring_regex(keys, _char_class(final), "")
    return owner[start_positions], keys


def ordinal(n: int) -> str:
    """3 -> "3rd", 11 -> "11th" (for English reasons)."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag each message holding a use of a lexicon line beyond ``max_uses`` in its session."""
    params = rule.params
    limit = params["max_uses"]
    phrases = [k for k in (_line_key(p, list(params["particles"])) for p in params["phrases"]) if k]
    if messages.empty or not phrases:
        return findings_frame([], rule.id, "", "")
    scope = role_mask(messages, params["roles"]).to_numpy()
    norm = messages["norm"][scope]
    # Cheap vectorised pre-filter on the whole table: only messages mentioning a phrase.
    prefilter = norm.str.contains(_alternation(phrases), regex=True)
    candidates = norm[prefilter.to_numpy(dtype=bool)]
    owner, keys = soothing_lines(candidates, params)  # owner: position in candidates
    # A line of one or two characters (a bare 抱歉 clause) is a courtesy, not a 话术.
    long_enough = np.asarray(pc.greater_equal(pc.utf8_length(keys), params["min_line_chars"]), dtype=bool)
    owner, keys = owner[long_enough], keys.filter(pa.array(long_enough))
    if len(owner) == 0:
        return findings_frame([], rule.id, "", "")
    positions = np.flatnonzero(scope)[np.flatnonzero(prefilter.to_numpy(dtype=bool))][owner]
    session_code = pd.factorize(messages["session_id"].iloc[positions])[0].astype("int64")
    key_code = np.asarray(pc.dictionary_encode(keys).indices, dtype="int64")
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
    if not any(_line_key(p, list(params["particles"])) for p in params["phrases"]):
        problems.append(("phrases", "phrases: no phrase has a letter or digit left after normalizing"))
    for key in ("particles", "final_particles"):
        if any(len(c) != 1 for c in params[key]):
            problems.append((key, f"{key}: each entry must be one character"))
    return problems


CHECK = CheckType(
    name="repetition",
    doc="The same lexicon line (e.g. a soothing line) used more than max_uses times in a session.",
    params=PARAMS,
    run=run,
    validate=validate,
)
