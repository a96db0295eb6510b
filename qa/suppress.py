"""Suppressions: findings a trainer marked as false positives (误报), kept out of later audits.

``qa review --emit-suppressions FILE`` writes them; ``qa audit --suppress FILE`` honours them.
The file is TOML (UTF-8), readable and editable by QA staff::

    version = 1

    [[suppress]]
    rule = "rhetorical-question"
    text = "亲，您看是这个订单吗？"   # the flagged agent message, normalized
    reason = "正常确认订单"          # the trainers' comments (or "marked 误报 in review")
    count = 3                        # times it was marked 误报 (information only)
    added = "2026-11-21"             # information only

    [[suppress]]
    rule = "ignored-complaint"
    text = "好的"
    context = "我要投诉你们"          # rules that judge a reply to a customer message: that message too

Matching: a finding of ``rule`` is suppressed when its whole message equals ``text`` after
both are masked (:mod:`qa.mask`) and normalized the way rules see text (:mod:`qa.normalize`:
NFKC, lower case, whitespace collapsed, traditional -> simplified); when ``context`` is given,
the customer message the finding answered must match it the same way. Whole messages, never
substrings, so one false positive cannot hide other messages.

Which rules a text can suppress is rule metadata: ``suppress_by_text`` in the rule file, by
default its check type's declaration (:class:`qa.checks.base.CheckType`). A finding that
depends on timing (``reply_gap``: slow-reply) is not about its text, so it is never emitted as
a suppression, and a hand-written one is refused. Check types that judge a reply to a customer
message declare ``suppress_context``: their suppressions name that message too.

Suppressed findings are not dropped silently: they leave the findings and the scores, and are
counted and listed (workbook Rules sheet, JSON ``summary.suppressed``, terminal summary).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from qa.errors import QAError
from qa.identity import finding_ids
from qa.mask import mask_series, mask_text
from qa.normalize import normalize_column, normalize_text
from qa.report.files import atomic_write_text
from qa.tomlfile import parse_toml, read_text

SUPPRESS_FORMAT = 1
ENTRY_KEYS = ("rule", "text", "context", "reason", "count", "added")
SUPPRESSED_COLUMNS = ["suppression", "suppression_reason"]


def suppression_key(text: str) -> str:
    """The form a message is compared in: masked, then normalized."""
    return normalize_text(mask_text(text or ""))


def suppression_keys(texts: pd.Series) -> pd.Series:
    """:func:`suppression_key` over a column."""
    if texts.empty:
        return texts.astype("str")
    return normalize_column(mask_series(texts))


def suppressibility(rule: dict[str, Any] | None) -> tuple[bool, bool]:
    """(suppressible by text, suppression names the customer message too) of a rule as a
    workbook's data records it (``{"id", "check", "suppress_by_text", "suppress_context"}``);
    data written before the rules carried it falls back to the check type's declaration, and
    an unknown rule or check type to (True, True): the narrower match is the safe one."""
    from qa.checktypes import CHECK_TYPES  # late: the check types load only when a review needs them

    rule = rule or {}
    check = CHECK_TYPES.get(rule.get("check", ""))
    by_text = rule.get("suppress_by_text", check.suppress_by_text if check else True)
    context = rule.get("suppress_context", check.suppress_context if check else True)
    return bool(by_text), bool(context)


@dataclass(frozen=True)
class Suppression:
    """One entry of a suppression file."""

    rule: str
    text: str
    reason: str = ""
    context: str | None = None
    count: int = 1
    added: str = ""
    where: str = ""  # "file:line" of its [[suppress]] header

    @property
    def key(self) -> tuple[str, str, str | None]:
        """What a finding must equal to be suppressed: rule, normalized text, normalized context."""
        return (self.rule, suppression_key(self.text), None if self.context is None else suppression_key(self.context))


@dataclass
class Suppressions:
    """The suppressions in effect for one audit."""

    entries: list[Suppression] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.entries)


def _entry_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if re.match(r"\s*\[\[\s*suppress\s*\]\]", line)]


def parse_suppressions(text: str, path: Path, rules: Sequence[Any] | None = None) -> list[Suppression]:
    """Validate a suppression file's text; problems name the file and line.

    ``rules`` (loaded :class:`qa.rules.Rule` objects), when given, refuses entries naming no
    loaded rule or a rule whose findings do not depend on text."""
    data = parse_toml(text, path)
    for key in data:
        if key not in ("version", "suppress"):
            raise QAError(f"{path}: unknown key '{key}' (allowed: version, suppress)")
    version = data.get("version", SUPPRESS_FORMAT)
    if not isinstance(version, int) or isinstance(version, bool):
        raise QAError(f"{path}: version must be a whole number")
    if version > SUPPRESS_FORMAT:
        raise QAError(f"{path}: suppression file version {version} is newer than this qa reads ({SUPPRESS_FORMAT}); upgrade qa")
    raw = data.get("suppress", [])
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise QAError(f"{path}: suppressions are [[suppress]] tables")
    lines = _entry_lines(text)
    loaded = {rule.id: rule for rule in rules} if rules is not None else None
    entries = []
    for index, item in enumerate(raw):
        where = f"{path}:{lines[index] if index < len(lines) else 1}"
        for key in item:
            if key not in ENTRY_KEYS:
                raise QAError(f"{where}: unknown key '{key}' in [[suppress]] (allowed: {', '.join(ENTRY_KEYS)})")
        for key in ("rule", "text"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise QAError(f"{where}: [[suppress]] needs {key} = \"...\"")
        for key in ("reason", "context", "added"):
            if key in item and not isinstance(item[key], str):
                raise QAError(f"{where}: {key} must be a string")
        count = item.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise QAError(f"{where}: count must be a whole number >= 0")
        rule = item["rule"].strip()
        if loaded is not None:
            if rule not in loaded:
                raise QAError(f"{where}: rule '{rule}' is not loaded (known: {', '.join(sorted(loaded))})")
            if not loaded[rule].suppress_by_text:
                raise QAError(
                    f"{where}: findings of {rule} (check {loaded[rule].check}) cannot be suppressed by text "
                    "(suppress_by_text = false, e.g. they depend on timing, not text)"
                )
        entries.append(
            Suppression(
                rule=rule, text=item["text"], reason=item.get("reason", ""), context=item.get("context"),
                count=count, added=item.get("added", ""), where=where,
            )
        )
    return entries


def load_suppressions(paths: Iterable[Path], *, rules: Sequence[Any] | None = None) -> Suppressions:
    """Read suppression files (``qa audit --suppress FILE``); an empty set for no paths."""
    result = Suppressions()
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise QAError(f"no such suppression file: {path}")
        result.entries.extend(parse_suppressions(read_text(path), path, rules))
        result.paths.append(path)
    return result


def empty_suppressed(findings: pd.DataFrame) -> pd.DataFrame:
    """A suppressed-findings table with no rows (the findings' columns plus the suppression's)."""
    frame = findings.iloc[0:0].copy()
    for column in SUPPRESSED_COLUMNS:
        frame[column] = pd.Series([], dtype="str")
    return frame


def apply_suppressions(findings: pd.DataFrame, suppressions: Suppressions | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split report findings into (kept, suppressed). Called after the checks and before
    scoring, so suppressed findings deduct no points. ``suppressed`` has the findings'
    columns plus ``suppression`` (file:line) and ``suppression_reason``."""
    if not suppressions or findings.empty:
        return findings, empty_suppressed(findings)
    by_key: dict[tuple[str, str, str | None], Suppression] = {}
    for entry in suppressions.entries:
        by_key.setdefault(entry.key, entry)
    rules = {key[0] for key in by_key}
    with_context = {key[0] for key in by_key if key[2] is not None}
    candidate = findings["rule"].isin(rules).to_numpy()
    if not candidate.any():
        return findings, empty_suppressed(findings)
    part = findings[candidate]
    keys = suppression_keys(part["text"].fillna("").astype("str")).tolist()
    need_context = part["rule"].isin(with_context)
    context_keys: list[str | None] = [None] * len(part)
    if need_context.any():
        computed = suppression_keys(part.loc[need_context, "context_text"].fillna("").astype("str"))
        positions = need_context.to_numpy().nonzero()[0]
        for position, value in zip(positions.tolist(), computed.tolist()):
            context_keys[position] = value
    matched: list[Suppression | None] = []
    for rule, key, context in zip(part["rule"].tolist(), keys, context_keys):
        entry = by_key.get((rule, key, None))
        if entry is None and context is not None:
            entry = by_key.get((rule, key, context))
        matched.append(entry)
    hit = pd.Series([entry is not None for entry in matched], index=part.index)
    if not hit.any():
        return findings, empty_suppressed(findings)
    suppressed = part[hit.to_numpy()].copy()
    used = [entry for entry in matched if entry is not None]
    suppressed["suppression"] = [entry.where for entry in used]
    suppressed["suppression_reason"] = [entry.reason for entry in used]
    drop = pd.Series(False, index=findings.index)
    drop[suppressed.index] = True
    kept = findings[~drop.to_numpy()].reset_index(drop=True)
    return kept, suppressed.reset_index(drop=True)


def suppressed_of(result: Any) -> pd.DataFrame | None:
    """The suppressed findings an audit result carries (None when suppression was off)."""
    suppressed = getattr(result, "suppressed", None)
    return suppressed if isinstance(suppressed, pd.DataFrame) else None


def suppressed_summary(result: Any, *, mask: bool = True) -> dict[str, Any]:
    """JSON ``summary.suppressed``: count, per rule, the suppression files, and every
    suppressed finding (id, rule, severity, session, agent, file, row, text, why)."""
    suppressed = suppressed_of(result)
    if suppressed is None or suppressed.empty:
        return {"count": 0, "by_rule": {}, "findings": []}
    ids = finding_ids(suppressed)
    from qa.mask import result_masker

    masker = result_masker(result, mask)
    texts = masker.texts(suppressed["text"])
    sessions = masker.sessions(suppressed["session_id"]).tolist()
    agents = masker.agents(suppressed["agent"]).tolist()
    records = []
    for finding_id, row, text, session_id, agent in zip(
        ids, suppressed.itertuples(index=False), texts.tolist(), sessions, agents
    ):
        records.append({
            "id": finding_id, "rule": row.rule, "severity": row.severity, "session_id": session_id,
            "agent": agent, "file": row.file, "row": int(row.row), "text": text,
            "suppression": row.suppression, "reason": row.suppression_reason,
        })
    by_rule = {rule: int(n) for rule, n in suppressed["rule"].value_counts().sort_index().items()}
    return {"count": len(suppressed), "by_rule": by_rule, "findings": records}


def suppressed_line(result: Any) -> str | None:
    """The terminal line about suppressed findings, or None when nothing was suppressed."""
    suppressed = suppressed_of(result)
    if suppressed is None or suppressed.empty:
        return None
    counts = suppressed["rule"].value_counts().sort_index()
    per_rule = ", ".join(f"{rule} {n}" for rule, n in counts.items())
    return f"suppressed: {len(suppressed)} findings ({per_rule}), listed on the Rules sheet"


# ---------------------------------------------------------------------------------------
# Writing


def _toml_string(value: str) -> str:
    out = ['"']
    for char in value:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


HEADER = """\
# qa suppressions: findings trainers marked as false positives (误报).
# `qa audit --suppress THIS_FILE` keeps matching findings out of findings and scores and lists
# them as suppressed. A finding matches when its rule is `rule` and its whole message, masked and
# normalized (full-width -> half-width, lower case, spaces collapsed, traditional -> simplified),
# equals `text` (and the customer message it answered equals `context`, when given).
# Written by `qa review --emit-suppressions`; edit or delete entries freely.
"""


def format_suppressions(entries: Sequence[Suppression]) -> str:
    """The TOML text of a suppression file."""
    lines = [HEADER, f"version = {SUPPRESS_FORMAT}"]
    for entry in entries:
        lines.append("")
        lines.append("[[suppress]]")
        lines.append(f"rule = {_toml_string(entry.rule)}")
        lines.append(f"text = {_toml_string(entry.text)}")
        if entry.context is not None:
            lines.append(f"context = {_toml_string(entry.context)}")
        lines.append(f"reason = {_toml_string(entry.reason)}")
        lines.append(f"count = {int(entry.count)}")
        if entry.added:
            lines.append(f"added = {_toml_string(entry.added)}")
    return "\n".join(lines) + "\n"


def write_suppressions(path: Path, entries: Sequence[Suppression]) -> tuple[int, int]:
    """Write ``entries`` to ``path``, keeping the entries already there (an existing file is
    merged, not replaced). Returns (entries added, entries kept)."""
    path = Path(path)
    existing: list[Suppression] = []
    if path.exists():
        existing = parse_suppressions(read_text(path), path)
    known = {entry.key: i for i, entry in enumerate(existing)}
    merged = list(existing)
    added = 0
    for entry in entries:
        if entry.key in known:
            old = merged[known[entry.key]]
            reasons = [r for r in dict.fromkeys([*old.reason.split(" / "), *entry.reason.split(" / ")]) if r]
            merged[known[entry.key]] = Suppression(
                rule=old.rule, text=old.text, context=old.context, reason=" / ".join(reasons),
                count=max(old.count, entry.count), added=old.added or entry.added,
            )
            continue
        known[entry.key] = len(merged)
        merged.append(entry)
        added += 1
    atomic_write_text(path, format_suppressions(merged))
    return added, len(existing)


def today() -> str:
    """Today's date as YYYY-MM-DD (the ``added`` of new entries)."""
    return date.today().isoformat()
