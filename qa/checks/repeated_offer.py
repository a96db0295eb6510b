"""Check type ``repeated_offer``: the same answer or solution offered again after the customer
did not accept it (002 §一.8 「如同一方案客户不接受，不得出现2次以上」, §三.5).

"The same" is the normalization of ``repeated-soothing`` (punctuation, whitespace, emoji,
emoticon codes, modal particles, traditional/simplified) plus:

* the solution core is compared, not the whole message: a clause made of ``strip_classes``
  words (``soothing``, ``closing``) with at most ``soothing_gap`` other characters goes out
  whole (抱歉让您费心了, 真是委屈您了, 别着急亲), the strip words left elsewhere go too, and so
  do address words (亲, 亲亲) and ``filler_words`` (您, 一下, 麻烦, 已经, 再…), so a different
  soothing opening or function words do not make a solution different;
* near-identical wording: two offers are the same when the Dice similarity of their sets of
  characters and character bigrams is at least ``similarity`` (default 0.55; characters too,
  so 催一下仓库 and 跟仓库催一下 match). Measured on 41 hand-judged pairs of sets G, F, E and
  real JD chats: at 0.55, 23 of 27 same-remedy pairs and 4 of 14 different-answer pairs
  reach it (at 0.5: 24 and 10; at 0.6: 17 and 2) — 个人抬头只能开普票 / 只支持开普通发票 0.65,
  官方授权经销商 / 官方授权店 0.59, but 申请退款 / 申请换货 0.43, 补发一个 / 勺子补发 0.43;
* paraphrase (set H: 运费由买家承担 after 非质量问题退货运费需要买家承担, 寄回检测更稳妥 after 建议寄回来
  检测): an offer is also like an earlier one when that one holds at least ``cover`` (0.67 in the rule file) of the
  characters and bigrams of its content (the key without ``light_words`` 建议/需要/会…, masking
  placeholders, Latin letters and digits; at least ``cover_min_chars`` distinct characters; not a
  question back ending in 吗/么). Asymmetric on purpose: a later offer saying mostly new things is
  not covered. Measured on sets G, F, H and the JD test split: cover 0.5 / 0.6 / 0.67 gave H recall
  0.49 / 0.43 / 0.28, G 0.968 / 0.935 / 0.935, JD findings 22 / 14 / 11 (about half judged right);
  the rule file sets 0.67: the fewest real-chat false flags, and on a later blind set 0.6 and 0.67
  found the same repeats;
* offers without numbers compare with any offer (长按回充键 / 长按回充键3秒); ``vague`` keys (马上处理,
  请稍等: handling promised without saying how, or a hold) are no offers;
* one solution is every offer linked to another by that similarity (single linkage: an offer
  like two earlier ones merges them), and an offer is flagged only when it is itself like
  ``max_uses`` earlier offers (not only chained to them through a third);
* numbers must agree: 补偿5元 and 补偿10元 are different offers;
* an offer whose distinct characters are mostly new to the earlier offers of its solution
  (less than ``min_repeated_share`` already used) explains further and is not a repeat.

The (``max_uses`` + 1)-th and later offer of the same solution in a session is flagged when the
customer wrote between it and the previous offer and did not accept (no ``accepted`` pattern
unless the customer also wrote a ``rejection`` class match: 好吧，还是不行) and did not ask for
the same text again (``resend`` patterns: 再发一遍) or only asked how far it has got
(``progress`` patterns: 申请好了吗, 到哪了: the agent's confirmation answers that). An offer the
customer accepted and a different second solution are never flagged.

Cost: the keys are made vectorised (pyarrow/RE2; the strip classes by their RE2 pre-filter
form, a superset of the class), once per distinct text; only offers of sessions holding more
than ``max_uses`` offers with the same numbers go on to the clustering, in Python.

Parameters (rule ``[params]``): ``roles`` (agent), ``customer_roles`` (customer),
``max_uses`` (2), ``similarity`` (0.55), ``min_repeated_share`` (0.5), ``min_chars`` (shortest
solution key compared, 3), ``soothing_gap`` (3), ``strip_classes``, ``rejection_class``,
``pass_over_classes`` (class names), ``accepted`` / ``resend`` / ``progress`` (regular
expressions over the customer's normalized text), ``particles``, ``address_words``,
``filler_words``, ``quote_chars``.

Message fields: ``{count}``, ``{count_ordinal}``, ``{limit}``, ``{solution}`` (the offer as
written, shortened).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex

from qa.checks.base import CheckContext, CheckType, Param, findings_frame, render, role_mask
from qa.checks.pattern import to_arrow
from qa.checks.repetition import EMOTICON, ordinal
from qa.classes import classes_of
from qa.regexcache import compile_regex
from qa.regexutil import regex_problem
from qa.textindex import text_index

PARAMS = {
    "roles": Param("strings", "roles whose offers are counted", default=["agent"]),
    "customer_roles": Param("strings", "roles whose answers accept or refuse an offer", default=["customer"]),
    "max_uses": Param("int", "offers of one solution allowed per session", default=2),
    "similarity": Param("float", "least Dice similarity of characters and character bigrams for the same "
                        "offer", default=0.55),
    "min_chars": Param("int", "shortest solution (characters left after normalizing) compared", default=3),
    "cover": Param("float", "least share of an offer's content characters found in one earlier offer for "
                   "the same offer (a paraphrase: 运费由买家承担 after 退货运费需要买家承担)", default=1.0),
    "cover_min_chars": Param("int", "least distinct content characters of an offer compared by cover",
                             default=3),
    "light_words": Param("strings", "words left out of the content an offer is covered by (建议, 需要, 会…)",
                         default=[]),
    "vague": Param("strings", "regular expressions of a solution key that promises handling without "
                   "saying which (马上处理): not an offer", default=[]),
    "min_repeated_share": Param("float", "least share of an offer's distinct characters already used by "
                                "the earlier offers of its solution for it to count as a repeat", default=0.5),
    "soothing_gap": Param("int", "characters a clause may hold besides strip-class words and still "
                          "count as a soothing clause (left out whole)", default=3),
    "filler_words": Param("strings", "function words ignored when comparing (您, 一下, 麻烦, 已经…)",
                          default=[]),
    "strip_classes": Param("strings", "classes whose words are not part of the solution",
                           default=["soothing", "closing"]),
    "rejection_class": Param("str", "class of a refusal (beats an acceptance word)", default="rejection"),
    "pass_over_classes": Param("strings", "agent messages of these classes are not offers", default=[]),
    "accepted": Param("strings", "regular expressions of a customer accepting an offer", default=[]),
    "resend": Param("strings", "regular expressions of a customer asking for the same text again",
                    default=[]),
    "progress": Param("strings", "regular expressions of a customer asking how far it has got (the "
                      "agent's confirmation answers that; it is not a refused offer repeated)", default=[]),
    "particles": Param("strings", "characters ignored (modal particles)",
                       default=["哦", "呢", "哈", "啦", "呀", "哟", "嘛", "噢", "喔", "哒", "滴", "唷"]),
    "address_words": Param("strings", "forms of address ignored", default=["亲爱的", "亲亲", "亲"]),
    "quote_chars": Param("int", "longest quote in the reason", default=40),
}

_DIGITS = compile_regex(r"\d+(?:\.\d+)?")
# Masking placeholders of exported chats ([数字x], [日期x] after normalizing) and Latin letters or
# digits (numbers are compared on their own) are no content.
_PLACEHOLDER = compile_regex(r"(?:数字|日期|时间|地址|电话|姓名|金额|组织机构|站点)x|[A-Za-z0-9_]+")
# Clause boundaries of the normalized text (half-width punctuation, whitespace), and the mark
# that stands for a strip-class word while soothing clauses are found.
_SEPARATORS = r",.!?;:~。…、\s"
_MARK = "\x1f"


def _ignored(params: dict, fillers: bool = False) -> str:
    words = list(params["address_words"]) + (list(params.get("filler_words") or []) if fillers else [])
    # Longer words are tried first, longest first (亲爱的 before 亲, 是不是 before 是); the
    # one-character words join the particles in one character class.
    chars = "".join(regex.escape(c) for c in dict.fromkeys(list(params["particles"]) + [w for w in words if len(w) == 1]))
    longer = sorted((w for w in words if len(w) > 1), key=len, reverse=True)
    parts = [EMOTICON] + [regex.escape(w) for w in longer] + [r"[^\p{L}\p{N}]"] + ([f"[{chars}]"] if chars else [])
    return "(?:" + "|".join(parts) + ")+"


def raw_keys(norm, params: dict, fillers: bool = False) -> pa.Array:
    """Vectorised key of each text: no emoticons, symbols, particles, address words (and the
    ``filler_words`` when ``fillers``), no final 的/了."""
    norm = norm if isinstance(norm, pa.Array) else to_arrow(norm).cast(pa.large_string())
    keys = pc.replace_substring_regex(norm, _ignored(params, fillers), "")
    return pc.replace_substring_regex(keys, "[的了]+$", "")


def solution_keys(norm: pa.Array, strip: str | None, params: dict) -> pa.Array:
    """Vectorised solution core of each normalized text, the key offers are compared by.

    The ``strip`` words (soothing, closing) go out, and so does a clause that held some and
    keeps at most ``soothing_gap`` other characters (no digit) before, between and after them
    (抱歉让您费心了, 真是委屈您了, 别着急亲); then what :func:`raw_keys` ignores and the
    ``filler_words``.
    """
    norm = pc.fill_null(norm, "")
    if strip:
        norm = pc.replace_substring_regex(norm, strip, _MARK)
        marked = np.flatnonzero(np.asarray(pc.match_substring(norm, _MARK)))
        if len(marked):
            # A soothing clause keeps its separators (\1, \2). Matches do not overlap, so a
            # clause right after a removed one (its opening separator used up) needs a 2nd pass.
            other = f"[^{_SEPARATORS}0-9{_MARK}]{{0,{int(params['soothing_gap'])}}}"
            clause = f"(^|[{_SEPARATORS}])(?:{other}{_MARK})+{other}([{_SEPARATORS}]|$)"
            texts = norm.take(pa.array(marked))
            for _ in range(2):
                texts = pc.replace_substring_regex(texts, clause, r"\1\2")
            texts = pc.replace_substring(texts, _MARK, "")
            norm = norm.to_numpy(zero_copy_only=False)
            norm[marked] = texts.to_numpy(zero_copy_only=False)
            norm = pa.array(norm, pa.large_string())
    return raw_keys(norm, params, fillers=True)


def _root(parent: list[int], index: int) -> int:
    """The cluster an index was merged into (union-find with path halving)."""
    while parent[index] != index:
        parent[index] = parent[parent[index]]
        index = parent[index]
    return index


def grams_of(key: str) -> frozenset:
    """Characters and character bigrams of a key (a reordered 催仓库/仓库催 keeps its characters)."""
    return frozenset(key) | frozenset(key[i : i + 2] for i in range(len(key) - 1))


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the character and character-bigram sets of two keys."""
    grams_a, grams_b = grams_of(a), grams_of(b)
    if not grams_a or not grams_b:
        return 0.0
    return 2 * len(grams_a & grams_b) / (len(grams_a) + len(grams_b))


def _candidates(keys: pa.Array, sessions: np.ndarray, params: dict) -> np.ndarray:
    """Offers long enough to compare, in sessions holding more than ``max_uses`` of them."""
    long_enough = np.asarray(pc.utf8_length(keys), dtype="int64") >= params["min_chars"]
    per_session = pd.Series(long_enough.astype("int64")).groupby(sessions).transform("sum").to_numpy()
    return long_enough & (per_session > params["max_uses"])


def run(messages: pd.DataFrame, rule, context: CheckContext) -> pd.DataFrame:
    """Flag the (max_uses+1)-th and later offer of a solution the customer did not accept."""
    params = rule.params
    if messages.empty:
        return findings_frame([], rule.id, "", "")
    classes = classes_of(rule)
    scope = role_mask(messages, params["roles"]).to_numpy().copy()
    norm_all = messages["norm"]
    if params["pass_over_classes"] and scope.any():
        positions = np.flatnonzero(scope)
        for name in params["pass_over_classes"]:
            if name in classes.classes:
                scope[positions[classes.row_mask(name, norm_all, positions)]] = False
    offers = np.flatnonzero(scope)
    if len(offers) <= params["max_uses"]:
        return findings_frame([], rule.id, "", "")
    session_codes = pd.factorize(messages["session_id"])[0].astype("int64")
    # Keys depend on the text alone: work them out once per distinct text of the offers.
    texts_of = text_index(norm_all)
    distinct = np.flatnonzero(texts_of.present(offers))
    agent_norm = texts_of.uniques.take(pa.array(distinct)).cast(pa.large_string())
    # The words of the strip classes go out (their RE2 pre-filter form, a superset of the
    # class), so offers compare solutions, not soothing openings.
    strip = [classes._prefilter(n) for n in params["strip_classes"] if n in classes.classes]
    strip = "|".join(f"(?:{p})" for p in strip if p) or None
    keys = solution_keys(agent_norm, strip, params)
    slot = np.zeros(len(texts_of.uniques), dtype=np.int64)
    slot[distinct] = np.arange(len(distinct))
    if params["vague"]:
        # A promise to handle it without saying how (马上处理) is no solution to count.
        keys = pc.replace_substring_regex(keys, "^(?:" + "|".join(f"(?:{p})" for p in params["vague"]) + ")$", "")
    keys = keys.take(pa.array(slot[texts_of.codes[offers]]))
    chosen_mask = _candidates(keys, session_codes[offers], params)
    chosen = offers[chosen_mask]
    chosen_keys = keys.filter(pa.array(chosen_mask))
    if len(chosen):
        # Offers join only offers quoting the same numbers, so an offer whose numbers come up at
        # most max_uses times in its session is never flagged: drop those before the loop. The
        # key's ASCII digits are equal wherever the numbers are, so grouping by them is safe.
        digits = pc.replace_substring_regex(chosen_keys, "[^0-9]+", "")
        codes = np.asarray(pc.dictionary_encode(digits).indices, dtype="int64")
        group = session_codes[chosen] * (int(codes.max(initial=0)) + 1) + codes
        # An offer without numbers may be like any offer (长按回充键 / 长按回充键3秒): it counts
        # with every group of its session.
        plain = np.asarray(pc.equal(digits, ""))
        sessions_chosen = pd.Series(session_codes[chosen])
        plain_count = sessions_chosen.map(pd.Series(plain.astype("int64")).groupby(session_codes[chosen]).sum()).to_numpy()
        count = pd.Series(group).map(pd.Series(group).value_counts()).to_numpy()
        count = np.where(plain, sessions_chosen.map(sessions_chosen.value_counts()).to_numpy(), count + plain_count)
        repeated = count > params["max_uses"]
        chosen, chosen_keys = chosen[repeated], chosen_keys.filter(pa.array(repeated))
    chosen_keys = chosen_keys.to_pylist()
    if len(chosen) == 0:
        return findings_frame([], rule.id, "", "")

    accepted = [compile_regex(p) for p in params["accepted"]]
    resend = [compile_regex(p) for p in params["resend"]]
    progress = [compile_regex(p) for p in params["progress"]]
    rejection = params["rejection_class"] if params["rejection_class"] in classes.classes else None
    customer = role_mask(messages, params["customer_roles"]).to_numpy()
    limit, threshold, share = params["max_uses"], params["similarity"], params["min_repeated_share"]
    texts = messages["text"]

    grams_cache: dict[str, frozenset] = {}
    light = compile_regex("|".join(sorted((regex.escape(w) for w in params["light_words"]), key=len, reverse=True))) \
        if params["light_words"] else None
    content_cache: dict[str, frozenset] = {}
    cover, min_content = params["cover"], params["cover_min_chars"]

    def content_of(key: str) -> frozenset:
        """Characters and bigrams of the content of a key: without the light words (建议, 需要, 会…),
        masking placeholders and Latin letters or digits."""
        found = content_cache.get(key)
        if found is None:
            text = _PLACEHOLDER.sub("", light.sub("", key) if light else key)
            found = content_cache[key] = grams_of(text)
        return found

    chars_cache: dict[str, int] = {}

    def chars_of(key: str, content: frozenset) -> int:
        """Distinct single characters among a key's content grams (counted once per key)."""
        found = chars_cache.get(key)
        if found is None:
            found = chars_cache[key] = sum(len(gram) == 1 for gram in content)
        return found

    def grams(key: str) -> frozenset:
        found = grams_cache.get(key)
        if found is None:
            found = grams_cache[key] = grams_of(key)
        return found

    said_of: dict[int, str] = {}  # distinct customer texts read so far (one Arrow take each was slow)

    def said_text(code: int) -> str:
        text = said_of.get(code)
        if text is None:
            text = said_of[code] = texts_of.uniques[code].as_py()
        return text

    def refused(position_from: int, position_to: int) -> bool:
        """The customer wrote between the two offers, neither accepting nor asking again."""
        codes = texts_of.codes[position_from + 1 : position_to]
        said = [said_text(code) for code in codes[customer[position_from + 1 : position_to]].tolist()]
        if not said:
            return False
        for text in said:
            if any(p.search(text) for p in resend):
                return False
            if any(p.search(text) for p in accepted + progress) and not (rejection and classes.matches(rejection, text)):
                return False
        return True

    flagged: list[tuple[int, int]] = []  # (position, use)
    chosen_sessions = session_codes[chosen]
    starts = np.flatnonzero(np.r_[True, chosen_sessions[1:] != chosen_sessions[:-1]])
    key_at = dict(zip(chosen.tolist(), chosen_keys))
    for block in np.split(chosen, starts[1:]):
        # clusters: [uses, last position, characters of its offers]; an offer joins every cluster holding an earlier offer
        # at least `threshold` similar and merges them (single linkage: 只能退货重拍 links
        # 不支持换货，只能退货重拍 and 只能退货重新拍 into one solution); an exact key joins its
        # cluster without comparing.
        clusters: list[list] = []
        parent: list[int] = []
        # (grams, size, cluster index) of the earlier offers, by the numbers in them: an offer
        # is only compared with offers (hence clusters) quoting the same numbers.
        members: dict[tuple[str, ...], list[tuple[frozenset, int, int, str]]] = {}
        exact: dict[str, int] = {}
        # Offers so far of each key, and the keys directly like it: an offer is flagged only
        # when it is itself like max_uses earlier offers, not only chained to them through
        # another (在与不在 / 管理不了 both share 商家客服 with a third answer, not each other).
        seen: dict[str, int] = {}
        neighbours: dict[str, list[str]] = {}
        for position in block.tolist():
            key = key_at[position]
            if len(key) < params["min_chars"]:
                continue
            index = exact.get(key)
            if index is None:
                mine = grams(key)
                size = len(mine)
                numbers = tuple(_DIGITS.findall(key))
                same_numbers = members.setdefault(numbers, [])
                # Offers quoting the same numbers, and those quoting none, may be alike; one
                # without numbers may be like any.
                if not numbers:
                    comparable = [m for group in members.values() for m in group]
                else:
                    comparable = same_numbers + members.get((), [])
                content = content_of(key)
                # A question back (差价30吗, 无货了吗) asks, it does not offer: no paraphrase check.
                content_chars = 0 if key.endswith(("吗", "么")) else chars_of(key, content)
                linked: set[int] = set()
                near = neighbours[key] = []
                for other_grams, other_size, other_index, other_key in comparable:
                    total = size + other_size
                    # The Dice score is at most 2·min(sizes)/total: skip the intersection when
                    # even that cannot reach the threshold.
                    alike = (2 * (size if size < other_size else other_size) >= threshold * total
                             and 2 * len(mine & other_grams) >= threshold * total)
                    # A paraphrase: the offer's content is (mostly) said already by the earlier one.
                    if not alike and content_chars >= min_content:
                        other_content = content_of(other_key)
                        # The share covered is at most the other's size over this one's.
                        alike = (len(other_content) >= cover * len(content)
                                 and len(content & other_content) >= cover * len(content))
                    if alike:
                        linked.add(_root(parent, other_index))
                        near.append(other_key)
                        neighbours[other_key].append(key)
                if linked:
                    index = min(linked)
                    for other in linked - {index}:
                        parent[other] = index
                        clusters[index][0] += clusters[other][0]
                        clusters[index][1] = max(clusters[index][1], clusters[other][1])
                        clusters[index][2] = clusters[index][2] | clusters[other][2]
                else:
                    clusters.append([0, position, frozenset()])
                    parent.append(len(parent))
                    index = len(clusters) - 1
                exact[key] = index
                same_numbers.append((mine, size, index, key))
            cluster = clusters[_root(parent, index)]
            cluster[0] += 1
            chars = frozenset(key)
            # An offer mostly made of what the earlier ones did not say explains further (30度以下
            # → 30度以下的冷水或温水都可以，别用热水): the standard asks for that, it is no repeat.
            direct = seen.get(key, 0) + sum(seen[other] for other in neighbours[key])
            if (cluster[0] > limit and direct >= limit and len(chars & cluster[2]) >= share * len(chars)
                    and refused(cluster[1], position)):
                flagged.append((position, cluster[0]))
            seen[key] = seen.get(key, 0) + 1
            cluster[1] = position
            cluster[2] = cluster[2] | chars

    if not flagged:
        return findings_frame([], rule.id, "", "")
    positions = [p for p, _ in flagged]
    originals = [str(t) for t in texts.iloc[positions].tolist()]
    lang = context.lang if context.lang in ("zh", "en") else "zh"
    quote_limit = params["quote_chars"]
    reasons = []
    for (_position, use), original in zip(flagged, originals):
        quote = " ".join(original.split())
        quote = quote if len(quote) <= quote_limit else quote[: quote_limit - 1] + "…"
        reasons.append(render(rule.message, lang, count=use, count_ordinal=ordinal(use), limit=limit,
                              solution=quote))
    return findings_frame(messages.index.to_numpy()[positions], rule.id, rule.severity.value, reasons,
                          match=originals, span_start=0, span_end=[len(t) for t in originals])


def validate(params: dict) -> list[tuple[str, str]]:
    """Problems the loader reports with the rule file's line."""
    problems: list[tuple[str, str]] = []
    if params["max_uses"] < 1:
        problems.append(("max_uses", "max_uses must be 1 or more"))
    if not 0 < params["similarity"] <= 1:
        problems.append(("similarity", "similarity must be in (0, 1]"))
    if not 0 <= params["min_repeated_share"] <= 1:
        problems.append(("min_repeated_share", "min_repeated_share must be in [0, 1]"))
    if params["soothing_gap"] < 0:
        problems.append(("soothing_gap", "soothing_gap must be 0 or more"))
    if not 0 < params["cover"] <= 1:
        problems.append(("cover", "cover must be in (0, 1]"))
    for key in ("accepted", "resend", "progress", "vague"):
        for pattern in params[key]:
            if (why := regex_problem(pattern)) is not None:
                problems.append((key, f"{key}: bad regular expression {pattern!r}: {why}"))
    return problems


CHECK = CheckType(
    name="repeated_offer",
    doc="The same answer or solution offered more than max_uses times in a session although the "
        "customer did not accept it.",
    params=PARAMS,
    run=run,
    validate=validate,
)
