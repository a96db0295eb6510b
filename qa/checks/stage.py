"""The check stage: run every enabled rule's check type over the whole message table."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from qa.checks.base import CheckContext, render
from qa.checktypes import CHECK_TYPES
from qa.memory import release_memory
from qa.model import (
    FINDING_COLUMNS,
    FINDING_REPORT_COLUMNS,
    SEVERITY_RANK,
    UNKNOWN_AGENT,
    Role,
    SkippedRule,
    empty_findings,
    naive_times,
)
from qa.regexcache import compile_regex
from qa.rules import Rule

# From this many messages a rule's freed memory is handed back before the next rule runs (a few
# milliseconds each; on the 1M benchmark log it keeps the rules' peak ~50 MB lower).
_RELEASE_MIN_MESSAGES = 100_000


def run_checks(
    messages: pd.DataFrame,
    rules: list[Rule],
    context: CheckContext,
    timings: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, list[SkippedRule]]:
    """Run each enabled rule; return the raw finding table and the rules that were skipped.

    ``messages`` must carry the ``norm`` column. One finding per message per rule is kept
    (the most severe, then the earliest match), as the contract promises.
    """
    frames: list[pd.DataFrame] = []
    skipped: list[SkippedRule] = []
    for rule in rules:
        if not rule.enabled:
            skipped.append(SkippedRule(rule.id, "disabled"))
            continue
        check_type = CHECK_TYPES[rule.check]
        if check_type.needs_timestamps and not context.has_timestamps:
            skipped.append(SkippedRule(rule.id, "no timestamps"))
            continue
        started = time.perf_counter()
        found = check_type.run(messages, rule, context)
        if len(messages) >= _RELEASE_MIN_MESSAGES:
            release_memory()  # what this rule's masks and Arrow kernels freed, before the next rule's
        if timings is not None:
            timings[f"rule {rule.id}"] = time.perf_counter() - started
        if len(found):
            frames.append(found[FINDING_COLUMNS])
    if not frames:
        return empty_findings(), skipped
    findings = pd.concat(frames, ignore_index=True)
    findings = _with_asked(findings, messages, rules, context)
    return _one_per_message_and_rule(_drop_yielded(findings, rules)), skipped


# a sentence's end in the normalized text (full-width punctuation is half width there); chat writers end a
# sentence with a space too (你脑子有病吧 你不会先看尺码表吗？: the abuse is not asked), a comma goes on
_SENTENCE_END = compile_regex(r"[.!?。！？\s]")
# a question put without its mark at the end of the message (同一个问题我答了五回了，您还要再问吗)
_ASKED_TAIL = compile_regex(r"(?:吗|么|嘛|不成)[\s~～啊呀呢哈]*$")


def _asked(norm_text: str, start: int, end: int) -> bool:
    """Do the words at ``start:end`` of ``norm_text`` stand in a sentence asked as a question: the first
    sentence end at or after the words' last character is a question mark, or the message ends without
    one on 吗/么/嘛?"""
    found = _SENTENCE_END.search(norm_text, max(start, end - 1))
    if found is not None and not found.group().isspace():
        return found.group() in "?？"
    return _ASKED_TAIL.search(norm_text[: found.start()] if found is not None else norm_text, end) is not None


def _with_asked(findings: pd.DataFrame, messages: pd.DataFrame, rules: list[Rule],
                context: CheckContext) -> pd.DataFrame:
    """The findings and, for each rule that has ``asked_from``, a finding of its own where that other
    rule's finding (of the categories named, found again by its phrase check on the message) stands in
    a sentence asked as a question: contempt or abuse asked back (同一个问题我答了五回了，您还要再问吗) is a
    reproaching question too, as STANDARDS.md lists the set phrases under both rules."""
    asking = [rule for rule in rules if rule.asked_from and rule.enabled]
    if not asking or not len(findings):
        return findings
    from qa.checks import phrase

    by_id = {rule.id: rule for rule in rules}
    added: list[dict] = []
    for rule in asking:
        for other_id, categories in rule.asked_from:
            other = by_id.get(other_id)
            if other is None or not other.enabled or other.check != "phrase":
                continue
            theirs = findings[findings["rule"] == other_id]
            if not len(theirs):
                continue
            norms = messages["norm"].reindex(theirs["msg"].to_numpy()).tolist()
            for record, norm_text in zip(theirs.to_dict("records"), norms):
                if not isinstance(norm_text, str):
                    continue
                best = phrase.strongest_match(other.params, other.severity.value, norm_text)
                if best is None:
                    continue
                start, end, category = best
                if categories and category not in categories:
                    continue
                if not _asked(norm_text, start, end):
                    continue
                added.append({**record, "rule": rule.id, "severity": rule.severity.value,
                              "reason": render(rule.message, context.lang if context.lang in ("zh", "en") else "zh",
                                               match=record["match"])})
    if not added:
        return findings
    return pd.concat([findings, pd.DataFrame(added, columns=findings.columns)], ignore_index=True)


def _drop_yielded(findings: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """Without the findings of a rule where a rule it ``yields_to`` found at least the severity
    named in the same words of the same message (abuse asked as a question is abuse: 你是不是有病?).
    Two spans apart are two verdicts (自己没装好还怪我们？有病吧: a rhetorical question, then abuse);
    a finding without a span yields on its whole message. A yielding rule may report a second span
    of a message (:func:`qa.checks.pattern.later_matches`): when its first is the abuse (你是不是傻
    看不懂字？), the question after it stands; one finding per message and rule is kept after this."""
    yielding = [rule for rule in rules if rule.yields_to and rule.enabled]
    if not yielding or not len(findings):
        return findings
    rank = findings["severity"].map(SEVERITY_RANK).fillna(0).to_numpy()
    msg = findings["msg"].to_numpy()
    start = findings["span_start"].to_numpy()
    match = findings["match"].fillna("").astype(str).str.strip("?？!！。.,， ").to_numpy()
    end = findings["span_end"].to_numpy()
    drop = np.zeros(len(findings), dtype=bool)
    for rule in yielding:
        mine = (findings["rule"] == rule.id).to_numpy()
        if not mine.any():
            continue
        for other, least in rule.yields_to:
            strong = (findings["rule"] == other).to_numpy().copy()
            if least is not None:
                strong &= rank >= SEVERITY_RANK[least.value]
            if not strong.any():
                continue
            candidates = np.flatnonzero(mine & np.isin(msg, msg[strong]))
            if not len(candidates):
                continue
            pairs = pd.DataFrame({"msg": msg[candidates], "i": candidates}).merge(
                pd.DataFrame({"msg": msg[strong], "j": np.flatnonzero(strong)}), on="msg")
            i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
            unknown = (start[i] < 0) | (start[j] < 0)
            overlap = (start[i] < end[j]) & (start[j] < end[i])
            # the same words said again (你是不是傻？你是不是傻？): the stronger rule reports its first
            # copy only, the second is the same verdict
            said_again = np.fromiter((bool(a) and bool(b) and (a in b or b in a)
                                      for a, b in zip(match[i].tolist(), match[j].tolist())), dtype=bool, count=len(i))
            drop[i[unknown | overlap | said_again]] = True
    return findings[~drop].reset_index(drop=True) if drop.any() else findings


def _one_per_message_and_rule(findings: pd.DataFrame) -> pd.DataFrame:
    rank = findings["severity"].map(SEVERITY_RANK).fillna(0)
    ordered = findings.assign(_rank=-rank).sort_values(
        ["msg", "rule", "_rank", "span_start"], kind="stable"
    )
    return ordered.drop_duplicates(["msg", "rule"]).drop(columns="_rank").reset_index(drop=True)


def session_agents(messages: pd.DataFrame) -> pd.Series:
    """The agent responsible for each session: the agent who sent most of its agent messages
    (first seen wins a tie); sessions without agent messages get the first agent name seen.

    Works on integer codes (factorized session ids and agent names): grouping the string
    columns themselves cost half a second per million messages."""
    session_codes, sessions = pd.factorize(messages["session_id"])
    agent_codes, agents = pd.factorize(messages["agent"])
    n_agents = max(len(agents), 1)
    chosen = np.full(len(sessions), -1, dtype=np.int64)  # agent code per session

    is_agent = (messages["role"] == Role.AGENT.value).to_numpy()
    if is_agent.any():
        pairs = session_codes[is_agent].astype(np.int64) * n_agents + agent_codes[is_agent]
        unique_pairs, first_seen, counts = np.unique(pairs, return_index=True, return_counts=True)
        session_of, agent_of = np.divmod(unique_pairs, n_agents)
        # Per session: most messages first, then the agent seen first.
        order = np.lexsort((first_seen, -counts, session_of))
        best = order[np.r_[True, session_of[order][1:] != session_of[order][:-1]]]
        chosen[session_of[best]] = agent_of[best]

    named = (messages["agent"] != "").to_numpy()
    missing = chosen < 0
    if missing.any() and named.any():
        rows = np.flatnonzero(named)
        first_named = pd.Series(agent_codes[rows]).groupby(session_codes[rows], sort=False).first()
        fill = first_named.reindex(np.flatnonzero(missing)).to_numpy()
        has_fill = ~pd.isna(fill)
        chosen[np.flatnonzero(missing)[has_fill]] = fill[has_fill].astype(np.int64)

    names = np.asarray(agents, dtype=object)
    values = np.where(chosen >= 0, names[np.maximum(chosen, 0)] if len(names) else UNKNOWN_AGENT, UNKNOWN_AGENT)
    return pd.Series(values, index=pd.Index(sessions, name="session_id"), dtype="str")


def _with_default_context(findings: pd.DataFrame, messages: pd.DataFrame) -> np.ndarray:
    """Context message ids: the check's own, else (for a finding on a non-customer message) the
    last customer message before it in the same session, so trainers see what was answered."""
    context = findings["context_msg"].to_numpy(dtype="int64").copy()
    missing = context < 0
    if not missing.any():
        return context
    positions = np.arange(len(messages), dtype="int64")
    customer = (messages["role"] == Role.CUSTOMER.value).to_numpy()
    marks = pd.Series(np.where(customer, positions, -1))
    last_customer = marks.groupby(messages["session_id"].to_numpy(), sort=False).cummax().to_numpy()
    targets = findings["msg"].to_numpy(dtype="int64")[missing]
    fill = np.where(customer[targets], -1, last_customer[targets])
    context[missing] = fill
    return context


def report_findings(
    findings: pd.DataFrame,
    messages: pd.DataFrame,
    agents_by_session: pd.Series,
    timezone: str,
) -> pd.DataFrame:
    """Join raw findings with their messages: session, agent, time, file, row, text, context.

    Findings on agent messages name that message's agent; a finding on a customer message
    (an unanswered complaint) names the session's agent.
    """
    if findings.empty:
        return pd.DataFrame({column: pd.Series([], dtype="object") for column in FINDING_REPORT_COLUMNS})
    rows = messages.loc[findings["msg"].to_numpy()]
    agent = rows["agent"].where(
        (rows["role"] == Role.AGENT.value) & (rows["agent"] != ""),
        rows["session_id"].map(agents_by_session),
    )
    timestamps = naive_times(rows["timestamp"], timezone)
    context_ids = _with_default_context(findings, messages)
    has_context = context_ids >= 0
    context_text = pd.Series([""] * len(findings), dtype="str")
    if has_context.any():
        # Taken before converting: the whole column as Python strings cost ~1 s per million messages.
        context_text[has_context] = messages["text"].take(context_ids[has_context]).to_numpy()
    report = pd.DataFrame(
        {
            "rule": findings["rule"].to_numpy(),
            "severity": findings["severity"].to_numpy(),
            "session_id": rows["session_id"].to_numpy(),
            "agent": agent.to_numpy(),
            "timestamp": timestamps.to_numpy(),
            "file": rows["source_file"].to_numpy(),
            "sheet": rows["source_sheet"].to_numpy(),
            "row": rows["source_row"].to_numpy(),
            "text": rows["text"].to_numpy(),
            "match": findings["match"].to_numpy(),
            "span_start": findings["span_start"].to_numpy(),
            "span_end": findings["span_end"].to_numpy(),
            "reason": findings["reason"].to_numpy(),
            "context_text": context_text.to_numpy(),
            "msg": findings["msg"].to_numpy(),
            "context_msg": context_ids,
        }
    )
    return report.sort_values(["msg", "rule"], kind="stable").reset_index(drop=True)
