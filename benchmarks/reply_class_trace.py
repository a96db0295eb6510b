"""Which stage of ``reply_class`` decided each labelled miss of a rule (a tuning aid).

    python benchmarks/reply_class_trace.py RULE FILE.csv [FILE.csv ...] [--all]

For every agent message that the labels (``expect`` column) and the tool disagree on for RULE
(a missed label or a false finding; ``--all`` also the agreeing positives) it prints the
customer turn before the reply and, per customer message, the stage that kept or dropped it:

``no-word``         no raw pattern of a trigger class matches
``class:<why>``     a raw hit the class itself dropped (exclude, negation, condition, question …)
``first-message``   an after-reply class before any agent reply
``answered``        a short answer to the agent's yes/no question
``unprompted``      a prompted class (打不通) without an agent proposal before it
``nothing-offered`` a refusal after a greeting, a hold or an identifying question (nothing to refuse)
``request`` / ``waiting`` / ``skip:<class>``   the check's later gates
``episode``         the previous reply already soothed the same episode
``trigger``         kept as a trigger

and for the reply: ``accepted by <class> '<match>'`` or ``not satisfying``. The counts per
stage close the output. The stages are recomputed with the check's own helpers (in the same
order as :func:`qa.checks.reply_class.run`), so the tool's verdict and the trace agree.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import qa.checks.reply_class as rc
from qa.audit.run import AuditOptions, audit
from qa.checks.base import role_mask
from qa.classes import classes_of
from qa.report.json_report import findings_records
from qa.rules import load_rules


def _labels(path: Path, rule: str) -> set[int]:
    """Spreadsheet rows labelled with ``rule``, read as benchmarks/accuracy.py reads the file (any
    layout it knows: title rows above the header, .xlsx, GB18030, no role column)."""
    from accuracy import read_messages
    return {m.row for m in read_messages(path) if rule in m.labels}


def _class_why(classes, name: str, text: str) -> str | None:
    """Why class ``name`` has no match in ``text`` although a raw pattern hits (None: no raw hit)."""
    cls = classes.get(name)
    for category in cls.categories:
        if category.pattern is None:
            continue
        for hit in category.pattern.finditer(text, overlapped=False):
            start, end = hit.span()
            if end == start:
                continue
            spans = rc_spans(cls.exclude, text) + rc_spans(category.exclude, text)
            if any(s < end and start < e for s, e in spans):
                return f"exclude '{hit.group()}'"
            scope = classes.scope
            if cls.negation or cls.condition:
                why = scope.in_scope(text, start, end, negation=cls.negation, condition=cls.condition)
                if why:
                    return f"scope({why}) '{hit.group()}'"
            if cls.consequence and scope.consequence(text, start, end):
                return f"consequence '{hit.group()}'"
            if cls.hypothetical is not None and cls.hypothetical.search(text, scope.clause_start(text, start), start):
                return f"hypothetical '{hit.group()}'"
            asks = cls.question if category.question is None else category.question
            if asks and scope.question(text, start, end):
                return f"question '{hit.group()}'"
            return f"question-after '{hit.group()}'"
    return None


def rc_spans(pattern, text: str) -> list[tuple[int, int]]:
    from qa.classes import _spans
    return _spans(pattern, text)


def trace(messages, rule, rows_of_interest: set[int]) -> tuple[list[str], Counter]:
    """Trace lines and stage counts for the agent rows (positions) in ``rows_of_interest``."""
    params = rule.params
    classes = classes_of(rule)
    norm_all = messages["norm"]
    scope = role_mask(messages, params["trigger_roles"]).to_numpy()
    later = [n for n in params["trigger_classes"] if n in params["after_reply_classes"]]
    anytime = [n for n in params["trigger_classes"] if n not in params["after_reply_classes"]]
    stage: dict[int, str] = {}
    is_trigger = np.zeros(len(messages), dtype=bool)
    is_trigger[np.flatnonzero(scope)] = rc._class_mask(classes, anytime, norm_all, scope)
    sessions = np.asarray(__import__("pandas").factorize(messages["session_id"])[0], dtype="int64")
    reply_all = role_mask(messages, params["reply_roles"]).to_numpy()
    reply_positions_all = np.flatnonzero(reply_all)
    replies_so_far = np.cumsum(reply_all)
    first = np.r_[0, np.flatnonzero(sessions[1:] != sessions[:-1]) + 1]
    starts = np.repeat(first, np.diff(np.r_[first, len(sessions)]))
    before = replies_so_far - np.r_[0, replies_so_far][starts]
    for p in np.flatnonzero(scope).tolist():
        if is_trigger[p]:
            stage[p] = "trigger"
            continue
        if p in stage:
            continue
        text = messages["norm"].iat[p]
        whys = [w for name in params["trigger_classes"] if (w := _class_why(classes, name, text))]
        stage[p] = "class:" + whys[0] if whys else "no-word"
    eligible = scope & (before > 0) & ~is_trigger
    positions = np.flatnonzero(eligible)
    found = rc._class_mask(classes, later, norm_all, positions) if later else np.zeros(0, dtype=bool)
    if later and params.get("answer_classes"):
        related = rc._relation_refusals(classes, params, norm_all, reply_positions_all, sessions, positions[~found])
        for p in positions[~found][related].tolist():
            stage[p] = "relation"
        found[np.flatnonzero(~found)[related]] = True
    for p, f in zip(positions.tolist(), found.tolist()):
        if f and stage.get(p) != "relation":
            stage[p] = "trigger"
    for p in np.flatnonzero(scope & (before == 0) & ~is_trigger).tolist():
        if later and rc._class_mask(classes, later, norm_all, np.asarray([p])).any():
            stage[p] = "first-message"
    if later and found.any():
        kept = found.copy()
        if params["answered_question_classes"]:
            hits = positions[kept]
            previous = rc._previous_reply(reply_positions_all, hits, sessions)
            lengths = norm_all.iloc[hits].str.len().to_numpy()
            asked = np.zeros(len(hits), dtype=bool)
            has = previous >= 0
            if has.any():
                asked[has] = rc._class_mask(classes, list(params["answered_question_classes"]), norm_all,
                                            previous[has])
            drop = np.flatnonzero(kept)[asked & (lengths <= params["short_answer_chars"])]
            kept[drop] = False
            for p in positions[drop].tolist():
                stage[p] = "answered"
        snapshot = kept.copy()
        rc._drop_nothing_offered(classes, params, norm_all, reply_positions_all, sessions, positions, kept)
        for p in positions[snapshot & ~kept].tolist():
            stage[p] = "nothing-offered"
        prompted = [c for c in params["prompted_classes"] if c in classes.classes]
        if prompted and kept.any():
            snapshot = kept.copy()
            rc._drop_unprompted(classes, params, norm_all, reply_positions_all, sessions, positions, kept,
                                later, prompted)
            for p in positions[snapshot & ~kept].tolist():
                stage[p] = "unprompted"
        is_trigger[positions] = kept
    reply_mask = reply_all.copy()
    if params["pass_over_classes"]:
        rp = np.flatnonzero(reply_mask)
        reply_mask[rp[rc._class_mask(classes, list(params["pass_over_classes"]), norm_all, rp)]] = False
    texts = rc._Texts(classes, norm_all, list(params["satisfied_by"]), list(params["not_counting"]))
    for name, step in (("request", lambda: rc._drop_requests(classes, params, texts, scope, reply_mask, sessions,
                                                              is_trigger, later, anytime)
                        if later and params["request_classes"] and params["failure_classes"] else None),
                       ("waiting", lambda: rc._drop_answers_to_agent(classes, params, messages, texts, scope,
                                                                     reply_mask, sessions, is_trigger)
                        if params["waiting_classes"] else None)):
        snapshot = is_trigger.copy()
        step()
        for p in np.flatnonzero(snapshot & ~is_trigger).tolist():
            stage[p] = name
    for p in np.flatnonzero(is_trigger).tolist():
        for name in params["skip_classes"]:
            if classes.matches(name, norm_all.iat[p]):
                is_trigger[p] = False
                stage[p] = f"skip:{name}"
                break
    reply_positions = np.flatnonzero(reply_mask)
    if params["soothed_episode"]:
        for p in np.flatnonzero(is_trigger).tolist():
            prev = rc._previous_reply(reply_positions, np.asarray([p]), sessions[[p]] * 0 + sessions[p])[0] \
                if False else rc._previous_reply(reply_positions, np.asarray([p]), sessions)[0]
            if prev >= 0 and texts.acceptable_at(prev):
                opened, b = False, prev - 1
                while b >= 0 and sessions[b] == sessions[prev] and not reply_mask[b]:
                    if is_trigger[b]:
                        opened = True
                        break
                    b -= 1
                if opened and not (later and rc._class_mask(classes, later, norm_all, np.asarray([p])).any()):
                    stage[p] = "episode?"  # (repeated-line exception not traced)
    lines: list[str] = []
    counts: Counter = Counter()
    sat = list(params["satisfied_by"])
    for reply in sorted(rows_of_interest):
        k = reply - 1
        turn = []
        while k >= 0 and sessions[k] == sessions[reply] and not reply_mask[k]:
            if scope[k]:
                turn.append(k)
            k -= 1
        turn.reverse()
        if k >= 0 and sessions[k] == sessions[reply]:
            lines.append(f"    prev agent: {messages['text'].iat[k]}")
        turn_stages = []
        for p in turn:
            turn_stages.append(stage.get(p, "?"))
            lines.append(f"    C [{stage.get(p, '?')}] {messages['text'].iat[p]}")
        accepted = ""
        text = norm_all.iat[reply]
        for name in sat:
            for m in classes.find(name, text):
                cancel = [(c.start, c.end) for nc in params["not_counting"] for c in classes.find(nc, text)]
                if not any(m.start < e and s < m.end for s, e in cancel):
                    accepted = f"accepted by {name} '{m.text}'"
                    break
            if accepted:
                break
        lines.append(f"    A [{accepted or 'not satisfying'}] {messages['text'].iat[reply]}")
        if accepted:
            key = "reply:" + accepted.split(" '")[0]
        elif "trigger" in turn_stages or "relation" in turn_stages:
            key = "trigger kept, reply not satisfying (should be flagged)"
        else:
            key = "; ".join(sorted({s.split(" '")[0].split("(")[0] for s in turn_stages})) or "no customer turn"
        counts[key] += 1
        lines.insert(len(lines) - len(turn) - 2 if k >= 0 and sessions[k] == sessions[reply] else len(lines) - len(turn) - 1,
                     f"  {messages['source_file'].iat[reply].split('/')[-1]}:{messages['source_row'].iat[reply]} -> {key}")
    return lines, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rule")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--all", action="store_true", help="also trace the agreeing positives")
    args = parser.parse_args(argv)
    rule = next(r for r in load_rules() if r.id == args.rule)
    captured = {}
    original = rc.run

    def capture(messages, rule_, context):
        captured["messages"] = messages
        return original(messages, rule_, context)

    rc.run = capture  # the check type resolves its run in this module at each call
    total: Counter = Counter()
    for path in args.files:
        result = audit([str(path)], AuditOptions(), rules=[rule])
        messages = captured["messages"]
        flagged = {f["row"] for f in findings_records(result) if f["rule"] == args.rule}
        labelled = _labels(path, args.rule)
        row_of = messages["source_row"].astype(int).to_numpy()  # the spreadsheet row
        by_row = {int(r): p for p, r in enumerate(row_of)}
        for title, rows in (("FN", labelled - flagged), ("FP", flagged - labelled)) + \
                ((("TP", labelled & flagged),) if args.all else ()):
            positions = {by_row[r] for r in rows if r in by_row}
            lines, counts = trace(messages, rule, positions)
            print(f"== {path.name} {title} ({len(positions)})")
            print("\n".join(lines))
            for key, n in counts.items():
                total[f"{title} {key}"] += n
    print("== stages")
    for key, n in sorted(total.items()):
        print(f"{n:4d}  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
