"""Check type ``repeated_offer``: the same answer or solution offered again after the customer
did not accept it (002 §一.8 「如同一方案客户不接受，不得出现2次以上」, §三.5).

"The same" is the normalization of ``repeated-soothing`` (punctuation, whitespace, emoji,
emoticon codes, modal particles, traditional/simplified) plus:

* the words of ``strip_classes`` (``soothing``, ``closing``) and address words (亲, 亲亲) are
  left out, so a different soothing prefix does not make a solution different
  (抱歉亲，请在订单页申请售后 = 辛苦您了，请在订单页申请售后);
* near-identical wording: two offers are the same when the Dice similarity of their character
  bigram sets is at least ``similarity`` (default 0.6: 您下单时有运费险，退货后会自动理赔 and
  下单时有运费险的，退货后自动理赔 score 0.76; 给您补发一个 and 勺子也给您补发 0.55);
* numbers must agree: 补偿5元 and 补偿10元 are different offers.

The (``max_uses`` + 1)-th and later offer of the same solution in a session is flagged when the
customer wrote between it and the previous offer and did not accept (no ``accepted`` pattern
unless the customer also wrote a ``rejection`` class match: 好吧，还是不行) and did not ask for
the same text again (``resend`` patterns: 再发一遍) or only asked how far it has got
(``progress`` patterns: 申请好了吗, 到哪了: the agent's confirmation answers that). An offer the customer accepted and a
different second solution are never flagged.

Cost: the keys are made vectorised (pyarrow/RE2; the strip classes by their RE2 pre-filter
form, a superset of the class), and only offers whose key shares its first or last
``anchor_chars`` characters with another offer of a session holding more than ``max_uses`` such
offers go on to the similarity clustering, in Python.

Parameters (rule ``[params]``): ``roles`` (agent), ``customer_roles`` (customer),
``max_uses`` (2), ``similarity`` (0.6), ``anchor_chars`` (3), ``min_chars`` (shortest solution
key compared, 4), ``strip_classes``, ``rejection_class``, ``pass_over_classes`` (class names),
``accepted`` / ``resend`` / ``progress`` (regular expressions over the customer's normalized text),
``particles``, ``address_words``, ``quote_chars``.

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
from qa.textindex import text_index

PARAMS = {
    "roles": Param("strings", "roles whose offers are counted", default=["agent"]),
    "customer_roles": Param("strings", "roles whose answers accept or refuse an offer", default=["customer"]),
    "max_uses": Param("int", "offers of one solution allowed per session", default=2),
    "similarity": Param("float", "least Dice similarity of character bigrams for the same offer", default=0.6),
    "anchor_chars": Param("int", "length of the first/last characters of the pre-filter", default=3),
    "min_chars": Param("int", "shortest solution (characters left after normalizing) compared", default=4),
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
                       default=["哦", "呢", "哈", "啦", "呀", "哟", "嘛", "噢", "喔", "哒", "滴"]),
    "address_words": Param("strings", "forms of address ignored", default=["亲爱的", "亲亲", "亲"]),
    "quote_chars": Param("int", "longest quote in the reason", default=40),
}

_DIGITS = regex.compile(r"\d+(?:\.\d+)?")
_FINAL = regex.compile(r"[的了]+$")


def _ignored(params: dict) -> str:
    words = sorted(params["address_words"], key=len, reverse=True)
    parts = [EMOTICON, r"[^\p{L}\p{N}]"]
    if params["particles"]:
        parts.append("[" + "".join(regex.escape(p) for p in params["particles"]) + "]")
    if words:
        parts.append("|".join(regex.escape(w) for w in words))
    return "(?:" + "|".join(parts) + ")+"


def raw_keys(norm, params: dict) -> pa.Array:
    """Vectorised key of each text: no emoticons, symbols, particles, address words, final 的/了."""
    keys = pc.replace_substring_regex(norm if isinstance(norm, pa.Array) else to_arrow(norm).cast(pa.large_string()), _ignored(params), "")
    return pc.replace_substring_regex(keys, "[的了]+$", "")


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the character-bigram sets (single characters for one-letter keys)."""
    grams_a = {a[i : i + 2] for i in range(len(a) - 1)} or {a}
    grams_b = {b[i : i + 2] for i in range(len(b) - 1)} or {b}
    return 2 * len(grams_a & grams_b) / (len(grams_a) + len(grams_b))


def _candidates(keys: pa.Array, sessions: np.ndarray, params: dict) -> np.ndarray:
    """Messages sharing first or last anchor characters with ``max_uses`` others of the session."""
    length = np.asarray(pc.utf8_length(keys), dtype="int64")
    anchor = params["anchor_chars"]
    long_enough = length >= params["min_chars"]
    out = np.zeros(len(keys), dtype=bool)
    for part in (pc.utf8_slice_codeunits(keys, 0, anchor), pc.utf8_slice_codeunits(keys, -anchor)):
        codes = np.asarray(pc.dictionary_encode(part).indices, dtype="int64")
        group = sessions * (int(codes.max(initial=0)) + 1) + codes
        group = np.where(long_enough, group, -1 - np.arange(len(group)))  # short keys stay alone
        counts = pd.Series(group).map(pd.Series(group).value_counts()).to_numpy()
        out |= counts >= 2  # shares an anchor with another offer of the session
    out &= long_enough
    # a session needs max_uses + 1 such offers at all
    per_session = pd.Series(out.astype("int64")).groupby(sessions).transform("sum").to_numpy()
    return out & (per_session > params["max_uses"])


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
    # The words of the strip classes go out here already (their RE2 pre-filter form, a superset
    # of the class), so the anchors below compare solutions, not soothing openings.
    strip = [classes._prefilter(n) for n in params["strip_classes"] if n in classes.classes]
    strip = [p for p in strip if p]
    if strip:
        agent_norm = pc.replace_substring_regex(agent_norm, "|".join(f"(?:{p})" for p in strip), "")
    keys = raw_keys(agent_norm, params)
    slot = np.zeros(len(texts_of.uniques), dtype=np.int64)
    slot[distinct] = np.arange(len(distinct))
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
        repeated = pd.Series(group).map(pd.Series(group).value_counts()).to_numpy() > params["max_uses"]
        chosen, chosen_keys = chosen[repeated], chosen_keys.filter(pa.array(repeated))
    chosen_keys = chosen_keys.to_pylist()
    if len(chosen) == 0:
        return findings_frame([], rule.id, "", "")

    accepted = [regex.compile(p) for p in params["accepted"]]
    resend = [regex.compile(p) for p in params["resend"]]
    progress = [regex.compile(p) for p in params["progress"]]
    rejection = params["rejection_class"] if params["rejection_class"] in classes.classes else None
    customer = role_mask(messages, params["customer_roles"]).to_numpy()
    limit, threshold = params["max_uses"], params["similarity"]
    texts = messages["text"]

    grams_of: dict[str, frozenset] = {}

    def grams(key: str) -> frozenset:
        found = grams_of.get(key)
        if found is None:
            found = grams_of[key] = frozenset(key[i : i + 2] for i in range(len(key) - 1)) or frozenset((key,))
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
        # clusters: [uses, last position, numbers]; an offer joins the cluster of its most
        # similar earlier offer (single linkage: 只能退货重拍 joins 不支持换货，只能退货重拍
        # through an earlier 只能退货重拍); an exact key joins its cluster without comparing.
        clusters: list[list] = []
        # (bigrams, cluster index) of the earlier offers, by the numbers in them: an offer is
        # only compared with offers (hence clusters) quoting the same numbers.
        members: dict[tuple[str, ...], list[tuple[frozenset, int]]] = {}
        exact: dict[str, int] = {}
        for position in block.tolist():
            key = key_at[position]
            if len(key) < params["min_chars"]:
                continue
            index = exact.get(key)
            if index is None:
                numbers = tuple(_DIGITS.findall(key))
                mine = grams(key)
                size = len(mine)
                best_score = threshold
                same_numbers = members.setdefault(numbers, [])
                for other_grams, other_size, other_index in same_numbers:
                    total = size + other_size
                    # The Dice score is at most 2·min(sizes)/total: skip the intersection when
                    # even that cannot reach the best score so far.
                    if 2 * (size if size < other_size else other_size) / total < best_score:
                        continue
                    score = 2 * len(mine & other_grams) / total
                    if score >= best_score:
                        index, best_score = other_index, score
                if index is None:
                    clusters.append([0, position, numbers])
                    index = len(clusters) - 1
                exact[key] = index
                same_numbers.append((mine, size, index))
            cluster = clusters[index]
            cluster[0] += 1
            if cluster[0] > limit and refused(cluster[1], position):
                flagged.append((position, cluster[0]))
            cluster[1] = position

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
    if params["anchor_chars"] < 1:
        problems.append(("anchor_chars", "anchor_chars must be 1 or more"))
    for key in ("accepted", "resend", "progress"):
        for pattern in params[key]:
            try:
                regex.compile(pattern)
            except regex.error as error:
                problems.append((key, f"{key}: bad regular expression {pattern!r}: {error}"))
    return problems


CHECK = CheckType(
    name="repeated_offer",
    doc="The same answer or solution offered more than max_uses times in a session although the "
        "customer did not accept it.",
    params=PARAMS,
    run=run,
    validate=validate,
)
