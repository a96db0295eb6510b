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
the same text again (``resend`` patterns: 再发一遍). An offer the customer accepted and a
different second solution are never flagged.

Cost: a vectorised pre-filter (pyarrow) keeps only agent messages whose normalized text shares
its first or last ``anchor_chars`` characters with at least ``max_uses`` other agent messages of
the same session; the similarity and class work runs on those candidates only.

Parameters (rule ``[params]``): ``roles`` (agent), ``customer_roles`` (customer),
``max_uses`` (2), ``similarity`` (0.6), ``anchor_chars`` (4), ``min_chars`` (shortest solution
key compared, 4), ``strip_classes``, ``rejection_class``, ``pass_over_classes`` (class names),
``accepted`` / ``resend`` (regular expressions over the customer's normalized text),
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
from qa.checks.repetition import EMOTICON, _arrow, ordinal
from qa.classes import classes_of

PARAMS = {
    "roles": Param("strings", "roles whose offers are counted", default=["agent"]),
    "customer_roles": Param("strings", "roles whose answers accept or refuse an offer", default=["customer"]),
    "max_uses": Param("int", "offers of one solution allowed per session", default=2),
    "similarity": Param("float", "least Dice similarity of character bigrams for the same offer", default=0.6),
    "anchor_chars": Param("int", "length of the first/last characters of the pre-filter", default=2),
    "min_chars": Param("int", "shortest solution (characters left after normalizing) compared", default=4),
    "strip_classes": Param("strings", "classes whose words are not part of the solution",
                           default=["soothing", "closing"]),
    "rejection_class": Param("str", "class of a refusal (beats an acceptance word)", default="rejection"),
    "pass_over_classes": Param("strings", "agent messages of these classes are not offers", default=[]),
    "accepted": Param("strings", "regular expressions of a customer accepting an offer", default=[]),
    "resend": Param("strings", "regular expressions of a customer asking for the same text again",
                    default=[]),
    "particles": Param("strings", "characters ignored (modal particles)",
                       default=["哦", "呢", "哈", "啦", "呀", "哟", "嘛", "噢", "喔", "哒", "滴"]),
    "address_words": Param("strings", "forms of address ignored", default=["亲爱的", "亲亲", "亲"]),
    "quote_chars": Param("int", "longest quote in the reason", default=40),
}

_DIGITS = regex.compile(r"\d+(?:\.\d+)?")


def _ignored(params: dict) -> str:
    words = sorted(params["address_words"], key=len, reverse=True)
    parts = [EMOTICON, r"[^\p{L}\p{N}]"]
    if params["particles"]:
        parts.append("[" + "".join(regex.escape(p) for p in params["particles"]) + "]")
    if words:
        parts.append("|".join(regex.escape(w) for w in words))
    return "(?:" + "|".join(parts) + ")+"


def raw_keys(norm: pd.Series, params: dict) -> pa.Array:
    """Vectorised key of each text: no emoticons, symbols, particles, address words, final 的/了."""
    keys = pc.replace_substring_regex(_arrow(norm), _ignored(params), "")
    return pc.replace_substring_regex(keys, "[的了]+$", "")


def solution_key(norm_text: str, classes, params: dict, ignored: regex.Pattern) -> str:
    """The offer of one message: its normalized text without the words of ``strip_classes``."""
    spans = sorted((m.start, m.end) for name in params["strip_classes"] if name in classes.classes
                   for m in classes.find(name, norm_text))
    kept, at = [], 0
    for start, end in spans:
        if start > at:
            kept.append(norm_text[at:start])
        at = max(at, end)
    kept.append(norm_text[at:])
    return regex.sub(r"[的了]+$", "", ignored.sub("", " ".join(kept)))


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
        counts = pd.Series(group).map(pd.Series(group).value_counts()).to_numpy()
        out |= counts > params["max_uses"]
    return out & long_enough


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
                scope[positions[classes.mask(name, norm_all.iloc[positions]).to_numpy()]] = False
    offers = np.flatnonzero(scope)
    if len(offers) <= params["max_uses"]:
        return findings_frame([], rule.id, "", "")
    session_codes = pd.factorize(messages["session_id"])[0].astype("int64")
    keys = raw_keys(norm_all.iloc[offers], params)
    chosen = offers[_candidates(keys, session_codes[offers], params)]
    if len(chosen) == 0:
        return findings_frame([], rule.id, "", "")

    ignored = regex.compile(_ignored(params))
    accepted = [regex.compile(p) for p in params["accepted"]]
    resend = [regex.compile(p) for p in params["resend"]]
    rejection = params["rejection_class"] if params["rejection_class"] in classes.classes else None
    customer = role_mask(messages, params["customer_roles"]).to_numpy()
    limit, threshold = params["max_uses"], params["similarity"]
    texts = messages["text"]

    def refused(position_from: int, position_to: int) -> bool:
        """The customer wrote between the two offers, neither accepting nor asking again."""
        said = [str(t) for t, c in zip(norm_all.iloc[position_from + 1 : position_to].tolist(),
                                       customer[position_from + 1 : position_to]) if c]
        if not said:
            return False
        for text in said:
            if any(p.search(text) for p in resend):
                return False
            if any(p.search(text) for p in accepted) and not (rejection and classes.matches(rejection, text)):
                return False
        return True

    flagged: list[tuple[int, int]] = []  # (position, use)
    chosen_sessions = session_codes[chosen]
    starts = np.flatnonzero(np.r_[True, chosen_sessions[1:] != chosen_sessions[:-1]])
    for block in np.split(chosen, starts[1:]):
        # clusters: [member keys, numbers, uses, last position]; an offer joins the cluster
        # of its most similar earlier offer (single linkage: 只能退货重拍 joins 不支持换货，
        # 只能退货重拍 through an earlier 只能退货重拍)
        clusters: list[list] = []
        for position, norm_text in zip(block.tolist(), norm_all.iloc[block].tolist()):
            key = solution_key(str(norm_text), classes, params, ignored)
            if len(key) < params["min_chars"]:
                continue
            numbers = _DIGITS.findall(key)
            best, best_score = None, threshold
            for cluster in clusters:
                if cluster[1] != numbers:
                    continue
                score = max(similarity(key, member) for member in cluster[0])
                if score >= best_score:
                    best, best_score = cluster, score
            if best is None:
                clusters.append([[key], numbers, 1, position])
                continue
            if key not in best[0]:
                best[0].append(key)
            best[2] += 1
            if best[2] > limit and refused(best[3], position):
                flagged.append((position, best[2]))
            best[3] = position

    if not flagged:
        return findings_frame([], rule.id, "", "")
    positions = [p for p, _ in flagged]
    originals = [str(t) for t in texts.iloc[positions].tolist()]
    lang = context.lang if context.lang in ("zh", "en") else "zh"
    quote_limit = params["quote_chars"]
    reasons = []
    for (position, use), original in zip(flagged, originals):
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
    for key in ("accepted", "resend"):
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
