"""Rule test cases: chats that a rule must flag or leave clean, run through the real tool.

Used by the test suite (tests/rules/<rule-id>.toml) and by ``qa rules test`` for the cases QA
staff keep beside their rule packs (``<name>.cases.toml``).

A case file::

    rule = "forbidden-phrase"

    [[case]]
    name = "flag_contempt_phrase"
    chat = \"\"\"
    session_id,timestamp,role,agent,text
    S1,2026-11-20 10:00:00,customer,,我的快递还没到
    S1,2026-11-20 10:01:00,agent,小美,我已经说过很多遍了
    \"\"\"
    expect = [{ row = 3, match = "我已经说过很多遍了" }]

    [[case]]
    name = "clean_polite_question"
    params = { }            # optional overrides of the rule's parameters
    chat = \"\"\"...\"\"\"
    expect = []             # must stay clean

The chat goes through the real loader (it is written to a CSV file). Each expected finding
is compared on the keys it lists (row, match, severity, reason_contains, role ...); the number
of findings must equal the number expected.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASE_KEYS = {"name", "chat", "expect", "params", "note", "columns", "file_name"}


@dataclass
class RuleCase:
    """One chat and the findings one rule must produce on it."""

    rule: str
    name: str
    chat: str
    expect: list[dict[str, Any]]
    params: dict[str, Any]
    columns: dict[str, str]
    file_name: str
    source: Path

    @property
    def id(self) -> str:
        """``rule::name``, the case's id in test output."""
        return f"{self.rule}::{self.name}"


def load_case_file(path: Path) -> list[RuleCase]:
    """Parse one case file, refusing unknown keys so typos cannot silently skip a check."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: cannot read cases: {error}") from None
    if not isinstance(data.get("rule"), str):
        raise ValueError(f"{path}: a case file needs rule = \"<rule id>\"")
    rule = data["rule"]
    cases = []
    for raw in data.get("case", []):
        unknown = set(raw) - CASE_KEYS
        if unknown:
            raise ValueError(f"{path}: case {raw.get('name')}: unknown keys {sorted(unknown)}")
        problem = _shape_problem(raw)
        if problem:
            raise ValueError(f"{path}: case {raw.get('name')}: {problem}")
        cases.append(
            RuleCase(
                rule=rule,
                name=raw["name"],
                chat=raw["chat"].strip("\n") + "\n",
                expect=list(raw["expect"]),
                params=dict(raw.get("params", {})),
                columns=dict(raw.get("columns", {})),
                file_name=raw.get("file_name", "chat.csv"),
                source=path,
            )
        )
    return cases


def _shape_problem(raw: dict) -> str | None:
    """What is malformed in a case table (a name and a chat as text, expect as a list of tables
    with a row number), or None."""
    if not isinstance(raw.get("name"), str) or not isinstance(raw.get("chat"), str):
        return "needs name and chat as text"
    expect = raw.get("expect")
    if not isinstance(expect, list):
        return "needs expect = [] or a list of { row = N, … } tables"
    for entry in expect:
        if not isinstance(entry, dict) or not isinstance(entry.get("row"), int):
            return f"expect entries are {{ row = N, … }} tables, not {entry!r}"
    return None


def load_case_files(paths: list[Path]) -> list[RuleCase]:
    """Every case of the given case files, in order."""
    cases: list[RuleCase] = []
    for path in paths:
        cases.extend(load_case_file(path))
    return cases


def run_case(case: RuleCase, work_dir: Path, rules: list | None = None) -> list[dict[str, Any]]:
    """Audit the case's chat with its rule only (from ``rules``, default the built-in ones);
    return the findings as JSON-like dicts."""
    from qa.audit.run import AuditOptions, audit
    from qa.report.json_report import findings_records

    rule = _case_rule(case, rules)
    path = work_dir / case.file_name
    path.write_text(case.chat, encoding="utf-8")
    # Findings only: the verdict of a case is its findings, and scoring and credits (which
    # never change them) were two thirds of the time of each case's audit.
    result = audit([str(path)], AuditOptions(columns=case.columns), rules=_audited(rule, rules), score=False)
    return [record for record in findings_records(result) if record["rule"] == rule.id]


# --------------------------------------------------------------------------- batched cases
#
# A case's audit costs mostly its fixed overhead (reading a file, a pandas operation per stage
# on a tiny table), so cases that would be read and judged alike are audited together: the
# chats of a group become the sessions of one file (each case's session ids prefixed with
# the case's own tag), audited once, and the findings are handed back per case as its own
# audit gives them. That is the audit's own contract (qa.audit.partition: whole sessions are
# judged alike whatever other sessions share their table) as long as the FILE is read alike,
# so a case joins a group only when nothing read from the whole file can differ:
#
# * the same rule, parameters, case file (parameter paths), --column mappings and file name;
# * the same header line, found at line 1, naming a role column (roles per row: nicknames
#   without one are read by what the whole file holds) and no date column (a date beside a
#   time-of-day column is decided on the whole column) and the session id first;
# * one record per line (no blank line, no quoted line break, no line the header shape does
#   not fit, no carriage return) and nothing before the session id (no quote, no space);
# * the same answer to "has the time column any value" (it switches time rules on or off).
#
# The batch is then checked row by row: every line of every case must come back as exactly
# one message, at its own row, with its own session and text, and nothing may be rejected;
# otherwise the group's cases are audited one by one. tests/test_rule_cases.py holds the
# batched findings equal to one-by-one findings for every built-in case.


@dataclass
class _Layout:
    """What a batchable case's file looks like: its group key and its parsed data lines."""

    key: tuple
    header: str
    lines: list[str]
    sessions: list[str]
    texts: list[str]


def _layout(case: RuleCase) -> _Layout | None:
    """The case's layout when it can share a file with others (see above), else None."""
    import csv
    import json

    from qa.errors import InputError
    from qa.ingest.columns import resolve_columns
    from qa.ingest.header import find_text_header

    chat = case.chat
    if "\r" in chat or not case.file_name.lower().endswith(".csv") or "/" in case.file_name:
        return None
    header, *lines = chat.rstrip("\n").split("\n")
    if not lines:
        return None
    try:
        found = find_text_header(chat, case.columns)
        if not found.names or found.lines_above:
            return None
        columns = resolve_columns(found.raw, case.columns, case.file_name)
    except (InputError, ValueError):
        return None
    positions = columns.positions
    if positions.get("session_id") != 0 or not columns.has("role") or columns.has("date"):
        return None
    width = len(found.raw)
    sessions, texts, has_times = [], [], False
    for line in lines:
        records = list(csv.reader([line], delimiter=found.delimiter))
        if len(records) != 1 or len(records[0]) != width:
            return None
        fields = records[0]
        session = fields[0]
        if not session or session != session.lstrip() or line[0] in "\"" + found.delimiter:
            return None
        sessions.append(session.rstrip())
        texts.append(fields[positions["text"]])
        if columns.has("timestamp") and fields[positions["timestamp"]].strip():
            has_times = True
    key = (case.rule, json.dumps(case.params, sort_keys=True, default=str), str(case.source),
           tuple(sorted(case.columns.items())), case.file_name, header, has_times)
    return _Layout(key, header, lines, sessions, texts)


class CaseRunner:
    """Findings of many cases, each as :func:`run_case` gives them for ``work_dir/<index>``
    (file paths and finding ids included), with the cases that can share a file audited
    together (see above). A group is audited when one of its cases is first asked for, so a
    runner serves a test run that asks for cases one at a time, in any order."""

    def __init__(self, cases: list[RuleCase], work_dir: Path, rules: list | None = None, *,
                 batch: bool = True) -> None:
        self.cases = list(cases)
        self.work_dir = Path(work_dir)
        self.rules = rules
        self._layouts = [_layout(case) if batch else None for case in self.cases]
        self._groups: dict[tuple, list[int]] = {}
        for index, layout in enumerate(self._layouts):
            if layout is not None:
                self._groups.setdefault(layout.key, []).append(index)
        self._done: dict[int, list[dict[str, Any]]] = {}
        self._tried: set[tuple] = set()

    def findings(self, index: int) -> list[dict[str, Any]]:
        """The findings of case ``index`` (raises as :func:`run_case` does for that case)."""
        layout = self._layouts[index]
        if index not in self._done and layout is not None and layout.key not in self._tried:
            self._tried.add(layout.key)
            self._done.update(self._run_group(self._groups[layout.key]))
        if index in self._done:
            return self._done[index]
        return run_case(self.cases[index], self._case_dir(index), rules=self.rules)

    @property
    def batched(self) -> set[int]:
        """The cases whose findings came from a shared audit so far."""
        return set(self._done)

    def _case_dir(self, index: int) -> Path:
        path = self.work_dir / str(index)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _run_group(self, group: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Findings per case of a group audited together. The cases whose rows the batch read
        otherwise than their own file would be read (a rejected row, say) are left to run
        alone, and the rest batched again without them, once."""
        if len(group) < 2:
            return {}
        found, bad = self._run_batch(group)
        if bad and len(bad) < len(group) - 1:
            found, bad = self._run_batch([index for index in group if index not in bad])
        return {} if bad else found

    def _run_batch(self, group: list[int]) -> tuple[dict[int, list[dict[str, Any]]], set[int]]:
        """The group's findings per case from one audit, and the cases whose rows did not
        come back exactly as written (when there are any, the findings are not to be used;
        all of the group when the audit itself cannot run)."""
        from qa.audit.run import AuditOptions, audit
        from qa.errors import QAError
        from qa.identity import finding_id
        from qa.report.json_report import findings_records

        first = self.cases[group[0]]
        try:
            rule = _case_rule(first, self.rules)
        except (LookupError, QAError):  # an unknown rule or bad parameters: each case reports it alone
            return {}, set(group)
        layouts = [self._layouts[index] for index in group]
        tags = [f"{index}~" for index in group]
        batch_lines, expected, case_of_row, offsets = [layouts[0].header], {}, {}, []
        for position, (tag, layout) in enumerate(zip(tags, layouts)):
            offsets.append(len(batch_lines) - 1)
            for line, session, text in zip(layout.lines, layout.sessions, layout.texts):
                row = len(batch_lines) + 1
                expected[row] = (tag + session, text)
                case_of_row[row] = group[position]
                batch_lines.append(tag + line)
        folder = self.work_dir / f"batch-{group[0]}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / first.file_name
        path.write_text("\n".join(batch_lines) + "\n", encoding="utf-8")
        try:
            result = audit([str(path)], AuditOptions(columns=first.columns), rules=_audited(rule, self.rules),
                           score=False)
        except QAError:
            return {}, set(group)
        # Every row of every case must come back once, as its own file would give it.
        messages = result.ingest.messages
        read = zip(messages["source_row"].tolist(), messages["session_id"].tolist(), messages["text"].tolist())
        seen: set[int] = set()
        bad = {case_of_row.get(row, -1) for row in result.ingest.rejected["row"].tolist()}
        for row, session, text in read:
            if expected.get(row) != (session, text) or row in seen:
                bad.add(case_of_row.get(row, -1))
            seen.add(row)
        bad |= {case_of_row[row] for row in expected.keys() - seen}
        if -1 in bad:  # a row no case wrote: nothing of this batch can be told apart
            return {}, set(group)
        if bad:
            return {}, bad
        found: dict[int, list[dict[str, Any]]] = {index: [] for index in group}
        for record in findings_records(result):
            if record["rule"] != rule.id:  # a rule it yields to or is asked from, run beside it
                continue
            index = case_of_row[record["row"]]
            position = group.index(index)
            row = record["row"] - offsets[position]
            file = str(self.work_dir / str(index) / first.file_name)
            record.update(
                id=finding_id(file, record.get("sheet"), row, record["rule"], record["text"]),
                session_id=record["session_id"].removeprefix(tags[position]), file=file, row=row,
            )
            found[index].append(record)
        return found, set()


def _audited(rule, rules: list | None) -> list:
    """The case's rule and the rules it ``yields_to`` or is ``asked_from`` (their findings decide which
    of its own stand or add to them; only its own are compared)."""
    if not rule.yields_to and not rule.asked_from:
        return [rule]
    from qa.rules import load_rules

    wanted = {other for other, _ in rule.yields_to} | {other for other, _ in rule.asked_from}
    return [rule] + [r for r in (rules if rules is not None else load_rules()) if r.id in wanted and r.id != rule.id]


def _case_rule(case: RuleCase, rules: list | None):
    """The case's rule from ``rules`` (default: the built-in ones) with the case's parameters."""
    from qa.rules import load_rules, with_params

    matching = [rule for rule in (rules if rules is not None else load_rules()) if rule.id == case.rule]
    if not matching:
        raise LookupError(f"no built-in rule '{case.rule}'")
    rule = matching[0]
    if case.params:
        rule = with_params(rule, case.params, case.source)
    return rule


def compare(case: RuleCase, actual: list[dict[str, Any]]) -> list[str]:
    """Differences between expected and actual findings, as readable lines ([] = pass)."""
    problems: list[str] = []
    wanted = sorted(case.expect, key=lambda e: (e.get("row", 0), e.get("match", "")))
    got = sorted(actual, key=lambda f: (f["row"], f["match"]))
    if len(wanted) != len(got):
        problems.append(f"expected {len(wanted)} finding(s), got {len(got)}")
    for expected, finding in zip(wanted, got):
        for key, value in expected.items():
            if key == "reason_contains":
                if value not in finding["reason"]:
                    problems.append(f"row {finding['row']}: reason {finding['reason']!r} lacks {value!r}")
            elif finding.get(key) != value:
                problems.append(f"row {finding['row']}: {key} = {finding.get(key)!r}, expected {value!r}")
    if problems:
        problems.append("actual: " + "; ".join(
            f"row {f['row']} {f['severity']} match={f['match']!r} reason={f['reason']!r}" for f in got
        ) if got else "actual: no findings")
    return problems
