"""Trainer verdicts: the data behind a workbook, reading reviewed
workbooks, rescoring without false positives, and measured rule precision.

**Finding ids** are :mod:`qa.identity`'s (shown in the workbook's ID column, the JSON and
the findings CSV).

**The data behind a workbook.** Rescoring needs each finding's points and veto, each flagged
session's deductions and each agent's session count and score total: more than the visible
sheets show (the Sessions sheet is capped; points per finding are not shown). So every
workbook ``qa audit`` writes carries them in a *very hidden* sheet ``qa_data`` (Excel lists
no very hidden sheet under Unhide; LibreOffice shows it as hidden): cell A1 is a small JSON
header (``{"format": 1, "kind": "qa-workbook-data", "encoding": "json+zlib+base64",
"cells": N}``), cells A2... hold one JSON document (``{"runs": [...]}``, one run per audit;
:func:`build_run_data`), UTF-8, zlib-compressed, base64, cut into :data:`DATA_CHUNK`
characters per cell (compressed: a 200,000-finding audit stays a few megabytes and quick to
write). Its texts are masked like the visible cells. Since format 2 the header also holds
``"sha256"``, the SHA-256 of the uncompressed JSON: ``qa review`` refuses data that does not
match it (an edited ``qa_data``: agent scores of 400 would otherwise be trusted). It is a
plain, unkeyed checksum: evidence against accidental and naive edits, not authentication;
whoever re-packs the data and recomputes the checksum is not stopped (the structure and
ranges are still checked: every problem names the sheet and cells). ``qa review``
reads the verdicts (Review / 复核, Comment / 备注, optional Reviewer / 复核人) from the visible
Findings sheet, matched by the ID column (columns are found by their header, in either
language), and everything else from ``qa_data``; nothing else in the workbook matters, so
trainers may sort, filter, hide, colour and add columns freely. A row with a verdict or comment
must show the session, rule, row and message of the finding its id names
(:func:`row_differences`): an ID column sorted on its own is refused, naming the cells.

**Rescoring.** A false positive (误报) deducts no points and does not veto its session; the
session score is recomputed from the audit's deductions (floor 0), and each agent's score is
the mean of their session scores again. Confirmed (确认), pending (待定) and unreviewed
findings keep deducting.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa import __version__
from qa.errors import QAError
from qa.identity import ID_SCHEME, masked_finding_ids, run_id_scheme
from qa.mask import result_masker
from qa.model import REVIEW_COLUMNS, audit_period, naive_times
from qa.score import START_SCORE, scorecard_rows, session_scores
from qa.suppress import Suppression, suppressibility, suppression_keys, today

DATA_SHEET = "qa_data"
DATA_FORMAT = 2  # 2: the header holds the payload's sha256
DATA_KIND = "qa-workbook-data"
DATA_CHUNK = 30_000  # base64 characters per cell (Excel allows 32,767)
DATA_ENCODING = "json+zlib+base64"
HEADER_SCAN_ROWS = 10

FINDINGS_SHEETS = ("违规明细", "Findings")
HEADERS = {**REVIEW_COLUMNS, "reviewer": ("复核人", "Reviewer")}


class Verdict(StrEnum):
    """A trainer's verdict on one finding."""

    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    PENDING = "pending"


VERDICT_WORDS: dict[Verdict, tuple[str, str]] = {
    Verdict.CONFIRMED: ("确认", "Confirmed"),
    Verdict.FALSE_POSITIVE: ("误报", "False positive"),
    Verdict.PENDING: ("待定", "Pending"),
}
# The Review column's drop-down, (zh, en).
REVIEW_CHOICES = tuple([words[i] for words in VERDICT_WORDS.values()] for i in (0, 1))
_VERDICT_LOOKUP = {
    word.casefold(): verdict for verdict, words in VERDICT_WORDS.items() for word in words
} | {"false-positive": Verdict.FALSE_POSITIVE, "false_positive": Verdict.FALSE_POSITIVE}
_ALLOWED_WORDS = "确认, 误报, 待定 or Confirmed, False positive, Pending (blank = not reviewed)"


def verdict_word(verdict: Verdict | None, lang: str) -> str:
    """The drop-down word for a verdict ("" for none)."""
    return "" if verdict is None else VERDICT_WORDS[verdict][0 if lang == "zh" else 1]


def parse_verdict(value: Any) -> Verdict | None:
    """A Review cell's verdict; None when blank; ValueError for any other word."""
    if value is None:
        return None
    text = str(value).replace("\u3000", " ").strip()
    if not text:
        return None
    verdict = _VERDICT_LOOKUP.get(" ".join(text.split()).casefold())
    if verdict is None:
        raise ValueError(text)
    return verdict


# ---------------------------------------------------------------------------------------
# The data behind a workbook


def _iso_column(values: pd.Series) -> list[str | None]:
    if values.empty:
        return []
    times = naive_times(pd.to_datetime(values, errors="coerce"))
    return [v if isinstance(v, str) else None for v in times.dt.strftime("%Y-%m-%dT%H:%M:%S").tolist()]


def _strings(values: pd.Series) -> list[str]:
    return values.fillna("").astype("str").tolist()


def _rule_severity_pairs(findings: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """The code of each finding's (rule, severity) pair into the distinct pairs, and those pairs."""
    if not len(findings):
        return np.zeros(0, dtype=np.intp), []
    rules, rule_values = pd.factorize(findings["rule"], use_na_sentinel=False)
    severities, severity_values = pd.factorize(findings["severity"], use_na_sentinel=False)
    width = max(len(severity_values), 1)
    codes, combined = pd.factorize(rules.astype(np.int64) * width + severities)
    rule_list, severity_list = rule_values.tolist(), severity_values.tolist()
    pairs = [(rule_list[int(c) // width], severity_list[int(c) % width]) for c in combined.tolist()]
    return codes, pairs


def build_run_data(
    result: Any,
    *,
    mask: bool,
    shown: int,
    lang: str,
    run_key: str | None = None,
    history: str | None = None,
    ids: list[str] | None = None,
    deferred: bool = False,
) -> dict[str, Any]:
    """What ``qa review`` needs from one audit (:class:`qa.model.AuditResult`): the first
    ``shown`` findings (those the Findings sheet lists, the only ones a trainer can review)
    with points and veto, every flagged session's deductions, every agent's totals. ``ids``:
    the listed findings' ids when already computed."""
    from qa.rules import result_rules_hash
    from qa.score import default_scoring

    scoring = getattr(result, "scoring", None) or default_scoring()
    findings = result.findings
    part = findings.iloc[:shown]
    # (rule, severity) of each finding as a code into its distinct pairs: a tuple per finding
    # of every finding (650k at 10M messages) cost ~120 MB of this sheet's peak.
    pair_codes, pairs = _rule_severity_pairs(findings)
    points_of = {pair: scoring.points_for(*pair) for pair in pairs}
    veto_of = {pair: scoring.vetoes(*pair) for pair in pairs}
    vetoes_all = pd.Series(np.array([bool(veto_of[pair]) for pair in pairs], dtype=bool)[pair_codes],
                           index=findings.index, dtype=bool)
    part_pairs = [pairs[code] for code in pair_codes[:shown].tolist()]

    sessions = result.sessions
    flagged = sessions[sessions["findings"] > 0] if len(sessions) else sessions
    if len(findings):
        veto_counts = vetoes_all.groupby(findings["session_id"]).sum()
    else:
        veto_counts = pd.Series(dtype="int64")
    # Agents are scored on their parts of transferred sessions (qa.score.scorecard_rows).
    parts = getattr(result, "parts", None)
    parts = parts if isinstance(parts, pd.DataFrame) and len(parts) else None
    scored = scorecard_rows(sessions, parts) if len(sessions) else sessions
    score_sum = scored.groupby("agent")["score"].sum() if len(scored) else pd.Series(dtype="float64")
    agents = result.agents
    masker = result_masker(result, mask)  # texts, session ids and agents as the visible sheets show them
    shown_part = masker.findings_head(findings, shown)  # the masked rows the writers share
    # ``deferred``: the long columns are made as data_chunks encodes them, one at a time (the
    # hidden sheet's 200,000 findings as Python lists at once cost ~400 MB at 10M messages).
    later = _Deferred if deferred else (lambda make: make())
    return {
        "qa_version": __version__,
        "id_scheme": ID_SCHEME,
        "lang": lang,
        "mask": bool(mask),
        "timezone": result.timezone,
        "inputs": [masker.text(str(p)) for p in (result.inputs or result.ingest.files)],  # (a file named after a customer)
        "period": audit_period(result.ingest.messages),
        "run_key": run_key,
        "history": history,
        "rules": [
            {"id": rule.id, "check": rule.check, "severity": str(rule.severity), "enabled": bool(rule.enabled),
             "name": dict(rule.name), "suppress_by_text": bool(rule.suppress_by_text),
             "suppress_context": bool(rule.suppress_context)}
            for rule in result.rules
        ],
        "rules_hash": result_rules_hash(result),
        "sessions_total": int(len(sessions)),
        "findings_total": int(len(findings)),
        "findings_shown": int(len(part)),
        "findings": {
            "id": list(ids) if ids is not None else masked_finding_ids(masker, findings)[:shown],
            "time": later(lambda: _iso_column(part["timestamp"])),
            "session_id": later(lambda: _strings(shown_part["session_id"])),
            "agent": later(lambda: _strings(shown_part["agent"])),
            "rule": later(lambda: _strings(part["rule"])),
            "severity": later(lambda: _strings(part["severity"])),
            "reason": later(lambda: _strings(shown_part["reason"])),
            "text": later(lambda: _strings(shown_part["text"])),
            "span_start": later(lambda: [int(v) for v in part["span_start"].fillna(-1).tolist()]),
            "span_end": later(lambda: [int(v) for v in part["span_end"].fillna(-1).tolist()]),
            "context": later(lambda: _strings(shown_part["context_text"])),
            "file": later(lambda: _strings(shown_part["file"])),
            "row": later(lambda: [int(v) for v in part["row"].tolist()]),
            "points": later(lambda: [points_of[pair] for pair in part_pairs]),
            "veto": later(lambda: [bool(veto_of[pair]) for pair in part_pairs]),
        },
        "sessions": {
            "session_id": later(lambda: _strings(masker.sessions(flagged["session_id"]))),
            "agent": later(lambda: _strings(masker.agents(flagged["agent"]))),
            "findings": later(lambda: [int(v) for v in flagged["findings"].tolist()]),
            "points_deducted": later(lambda: [float(v) for v in flagged["points_deducted"].tolist()]),
            "veto_findings": later(lambda: [int(veto_counts.get(s, 0)) for s in flagged["session_id"].tolist()]),
            "score": later(lambda: [float(v) for v in flagged["score"].tolist()]),
            **({"bonus_points": later(lambda: [float(v) for v in flagged["bonus_points"].tolist()])}
               if getattr(scoring, "credit_points", None) and "bonus_points" in flagged else {}),
        },
        **({"parts": _parts_data(parts, flagged, findings, vetoes_all, masker, scoring, later)}
           if parts is not None else {}),
        "agents": {
            "agent": _strings(masker.agents(agents["agent"])),
            "sessions": [int(v) for v in agents["sessions"].tolist()],
            "score": [float(v) for v in agents["score"].tolist()],
            "score_sum": [float(score_sum.get(a, 0.0)) for a in agents["agent"].tolist()],
            "findings": [int(v) for v in agents["findings"].tolist()],
            **_agent_credits(agents),
        },
        # The credits counted (ids and display names), in column order; optional: data
        # written before credits were carried has neither this nor agents.credits.
        "credits": [{"id": credit.id, "name": dict(credit.name)}
                    for credit in getattr(result, "credit_defs", None) or [] if credit.enabled],
    }


def _parts_data(parts: pd.DataFrame, flagged: pd.DataFrame, findings: pd.DataFrame, vetoes: pd.Series,
                masker: Any, scoring: Any, later: Any) -> dict[str, Any]:
    """The ``parts`` table of a run's data (written only when some session was transferred): every
    part of the flagged transferred sessions, with its deductions and veto findings, so rescoring
    gives each agent the change of their own part (the findings name the part's agent)."""
    parts = parts[parts["session_id"].isin(flagged["session_id"]).to_numpy()]
    if len(findings):
        veto_counts = vetoes.groupby([findings["session_id"], findings["agent"]]).sum()
    else:
        veto_counts = pd.Series(dtype="int64")
    keys = list(zip(parts["session_id"].tolist(), parts["agent"].tolist()))
    return {
        "session_id": later(lambda: _strings(masker.sessions(parts["session_id"]))),
        "agent": later(lambda: _strings(masker.agents(parts["agent"]))),
        "findings": later(lambda: [int(v) for v in parts["findings"].tolist()]),
        "points_deducted": later(lambda: [float(v) for v in parts["points_deducted"].tolist()]),
        "veto_findings": later(lambda: [int(veto_counts.get(key, 0)) for key in keys]),
        "score": later(lambda: [float(v) for v in parts["score"].tolist()]),
        **({"bonus_points": later(lambda: [float(v) for v in parts["bonus_points"].tolist()])}
           if getattr(scoring, "credit_points", None) and "bonus_points" in parts else {}),
    }


def _agent_credits(agents: pd.DataFrame) -> dict[str, list[dict[str, int]]]:
    """``{"credits": [{credit id: count, …} per agent]}`` (without the per-100 rates), or {}
    when the audit counted no credits."""
    from qa.score import PER_100

    if "credits" not in agents:
        return {}
    return {"credits": [{key: int(count) for key, count in (value if isinstance(value, dict) else {}).items()
                         if key != PER_100} for value in agents["credits"].tolist()]}


def data_chunks(runs: Sequence[dict[str, Any]]) -> list[str]:
    """The ``qa_data`` sheet's cells (column A, from A1) for these runs."""
    # The same bytes as compressing json.dumps of the whole document, but encoded, hashed and
    # compressed a piece at a time: at 200,000 listed findings the document's text alone is
    # hundreds of MB (zlib's output does not depend on how its input is cut up).
    digest = hashlib.sha256()
    compressor = zlib.compressobj(6)
    packed_parts = []
    for piece in _json_pieces({"runs": list(runs)}):
        raw = piece.encode("utf-8", "surrogatepass")
        digest.update(raw)
        packed_parts.append(compressor.compress(raw))
    packed_parts.append(compressor.flush())
    packed = base64.b64encode(b"".join(packed_parts)).decode("ascii")
    del packed_parts
    chunks = [packed[i : i + DATA_CHUNK] for i in range(0, len(packed), DATA_CHUNK)]
    header = {"format": DATA_FORMAT, "kind": DATA_KIND, "encoding": DATA_ENCODING, "cells": len(chunks),
              "sha256": digest.hexdigest()}
    return [json.dumps(header), *chunks]


_DATA_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class _Deferred:
    """A value of :func:`build_run_data` made when :func:`_json_pieces` encodes it."""

    __slots__ = ("make",)

    def __init__(self, make: Any) -> None:
        self.make = make


def _json_pieces(value: Any) -> Iterator[str]:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)`` in
    pieces: dicts with text keys and lists of dicts are taken apart, anything else (a column
    of values) is one piece from the C encoder. A :class:`_Deferred` value is made first."""
    if isinstance(value, _Deferred):
        value = value.make()
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        yield "{"
        for number, (key, item) in enumerate(value.items()):
            yield ("," if number else "") + _DATA_ENCODE(key) + ":"
            yield from _json_pieces(item)
        yield "}"
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        yield "["
        for number, item in enumerate(value):
            if number:
                yield ","
            yield from _json_pieces(item)
        yield "]"
    else:
        yield _DATA_ENCODE(value)


class DataEdited(ValueError):
    """The ``qa_data`` payload does not match the checksum qa stored with it."""


def _data_cells(count: int) -> str:
    return "cell A2" if count <= 1 else f"cells A2:A{count + 1}"


def read_data_chunks(cells: Sequence[str]) -> list[dict[str, Any]]:
    """The runs from the ``qa_data`` cells; ValueError naming the cell(s) and what is wrong
    when damaged (:class:`DataEdited` when the checksum does not match), and :class:`QAError`
    when written by a newer qa."""
    if not cells:
        raise ValueError("the sheet is empty")
    try:
        header = json.loads(cells[0])
    except ValueError:
        raise ValueError("cell A1 is not the qa data header") from None
    if not isinstance(header, dict) or header.get("kind") != DATA_KIND:
        raise ValueError("cell A1 is not the qa data header")
    version = header.get("format")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"cell A1: format {version!r} is not a format number")
    if version > DATA_FORMAT:
        raise QAError(f"format {version}, newer than this qa reads ({DATA_FORMAT}); upgrade qa")
    if header.get("encoding") != DATA_ENCODING:
        raise ValueError(f"cell A1: unknown encoding {header.get('encoding')!r}")
    if len(cells) - 1 != header.get("cells"):
        raise ValueError(f"{len(cells) - 1} data cells, expected {header.get('cells')} (cell A1)")
    checksum = header.get("sha256")
    # Format 1 (before checksums) is still read, so workbooks audited before the upgrade can
    # be reviewed; from format 2 on, the checksum is required.
    if version >= 2 and not (isinstance(checksum, str) and re.fullmatch(r"[0-9a-f]{64}", checksum)):
        raise ValueError("cell A1: no sha256 checksum of the data")
    where = _data_cells(len(cells) - 1)
    try:
        raw = zlib.decompress(base64.b64decode("".join(cells[1:]), validate=True))
    except (ValueError, zlib.error) as error:
        raise ValueError(f"{where}: not qa's packed data ({error})") from None
    if checksum is not None and hashlib.sha256(raw).hexdigest() != checksum:
        raise DataEdited(f"{where} do not match the checksum in cell A1")
    try:
        document = json.loads(raw.decode("utf-8", "surrogatepass"))
    except ValueError as error:
        raise ValueError(f"{where}: not JSON ({error})") from None
    runs = document.get("runs") if isinstance(document, dict) else None
    if not isinstance(runs, list) or not runs:
        raise ValueError(f"{where}: no audit in it")
    for number, run in enumerate(runs, start=1):
        problem = _run_problem(run)
        if problem:
            raise ValueError(f"{where}: audit {number}: {problem}")
    return runs


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def _is_count(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _is_score(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= START_SCORE


def _is_optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


# What each column of a run's tables must hold: (test, what it is called in a message).
_TEXT = (lambda v: isinstance(v, str), "a text")
_COLUMNS: dict[str, dict[str, tuple[Any, str]]] = {
    "findings": {
        "id": _TEXT, "session_id": _TEXT, "agent": _TEXT, "rule": _TEXT, "severity": _TEXT, "reason": _TEXT,
        "text": _TEXT, "context": _TEXT, "file": _TEXT,
        "span_start": (_is_int, "a whole number"), "span_end": (_is_int, "a whole number"),
        "row": (_is_int, "a whole number"), "points": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
        "veto": (lambda v: isinstance(v, bool), "true or false"),
    },
    "sessions": {
        "session_id": _TEXT, "agent": _TEXT, "findings": (_is_count, "a count"),
        "points_deducted": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
        "veto_findings": (_is_count, "a count"), "score": (_is_score, "a score from 0 to 100"),
    },
    "agents": {
        "agent": _TEXT, "sessions": (_is_count, "a count"), "score": (_is_score, "a score from 0 to 100"),
        "score_sum": (lambda v: _is_number(v) and v >= 0, "a number >= 0"), "findings": (_is_count, "a count"),
    },
}
# Since agents are scored on their parts of transferred sessions: those parts (written only when
# some session was transferred), as the sessions are.
_COLUMNS["parts"] = dict(_COLUMNS["sessions"])
_OPTIONAL_TABLES = {"parts"}
_OPTIONAL_COLUMNS = {
    "findings": {"time": (_is_optional_text, "a time text or null")},
    # Since credits were carried: each agent's count per credit ({credit id: count}).
    "agents": {"credits": (lambda v: isinstance(v, dict) and all(isinstance(k, str) and _is_count(n)
                                                                 for k, n in v.items()),
                           "a table of credit counts")},
    # Written only when scoring.toml gives credits points: the session's bonus (qa.score).
    "sessions": {"bonus_points": (lambda v: _is_number(v) and v >= 0, "a number >= 0")},
    "parts": {"bonus_points": (lambda v: _is_number(v) and v >= 0, "a number >= 0")},
}


def _run_problem(run: Any) -> str:
    """What is wrong with one run's data (as :func:`build_run_data` writes it), or ""."""
    if not isinstance(run, dict):
        return "not an object"
    try:
        run_id_scheme(run)
    except ValueError as error:
        return str(error)
    for key in ("run_key", "history"):
        if not _is_optional_text(run.get(key)):
            return f"{key} is {run.get(key)!r}, not a text"
    inputs = run.get("inputs", [])
    if not isinstance(inputs, list) or not all(isinstance(p, str) for p in inputs):
        return "inputs is not a list of paths"
    rules = run.get("rules", [])
    if not isinstance(rules, list) or not all(
        isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("check"), str) for r in rules
    ):
        return "rules is not a list of rules with id and check"
    for table, columns in _COLUMNS.items():
        data = run.get(table)
        if data is None and table in _OPTIONAL_TABLES:
            continue
        if not isinstance(data, dict):
            return f"missing {table}" if data is None else f"{table} is not a table"
        lengths: set[int] = set()
        for column, (test, kind) in {**columns, **_OPTIONAL_COLUMNS.get(table, {})}.items():
            values = data.get(column)
            if values is None and column not in columns:
                continue
            if not isinstance(values, list):
                return f"missing {table}.{column}" if values is None else f"{table}.{column} is not a list"
            lengths.add(len(values))
            for index, value in enumerate(values):
                if not test(value):
                    return f"{table}.{column}[{index}] is {json.dumps(value, ensure_ascii=False)[:40]}, not {kind}"
        if len(lengths) > 1:
            return f"the columns of {table} differ in length ({', '.join(str(n) for n in sorted(lengths))})"
    return ""


def run_digest(run: dict[str, Any]) -> str:
    """Identity of one run's data: copies of a workbook (one per trainer) share it."""
    text = json.dumps(run, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# ---------------------------------------------------------------------------------------
# Reading reviewed workbooks


@dataclass
class VerdictRow:
    """One Findings-sheet row as the trainer left it."""

    id: str
    verdict: Verdict | None
    comment: str
    reviewer: str
    where: str  # "report.xlsx 违规明细!K5"


@dataclass
class ReviewedWorkbook:
    """A workbook after review: its audit data and the trainer's rows."""

    path: Path
    runs: list[dict[str, Any]]
    rows: list[VerdictRow]
    lang: str
    modified_by: str = ""


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def _last_modified_by(path: Path) -> str:
    """Who saved the workbook last (document properties), or ""."""
    try:
        with zipfile.ZipFile(path) as archive:
            core = archive.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return ""
    for tag in ("cp:lastModifiedBy", "dc:creator"):
        found = re.search(rf"<{tag}>([^<]*)</{tag}>", core)
        if found and found.group(1).strip() and found.group(1).strip() != "qa":
            from html import unescape

            return unescape(found.group(1).strip())
    return ""


def _open_workbook(path: Path):
    from python_calamine import CalamineWorkbook

    if not path.is_file():
        raise QAError(f"no such workbook: {path}")
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own types for anything unreadable
        raise QAError(f"{path}: cannot read it as an Excel workbook ({error})") from None


def _read_data(book: Any, path: Path) -> list[dict[str, Any]]:
    if DATA_SHEET not in book.sheet_names:
        raise QAError(
            f"{path}: no sheet '{DATA_SHEET}': not a workbook written by qa audit (or by a qa older than "
            "qa review, or saved in a format that drops hidden sheets); audit again and review the new workbook"
        )
    rows = book.get_sheet_by_name(DATA_SHEET).to_python(skip_empty_area=False)
    cells = [_cell_text(row[0]) for row in rows if row and _cell_text(row[0])]
    try:
        return read_data_chunks(cells)
    except QAError as error:
        raise QAError(f"{path}: sheet '{DATA_SHEET}' has {error}") from None
    except DataEdited as error:
        raise QAError(
            f"{path}: sheet '{DATA_SHEET}' was edited after qa wrote it ({error}); qa review trusts only the "
            "data qa audit wrote: review a copy as qa wrote it (the visible sheets may be edited freely)"
        ) from None
    except (ValueError, KeyError, TypeError, zlib.error, UnicodeDecodeError) as error:
        raise QAError(f"{path}: sheet '{DATA_SHEET}' is damaged ({error}); review a workbook as qa wrote it") from None


# Visible columns of a Findings row that identify its finding, checked against the id's data
# (headers of the audit and review workbooks, in either language).
ROW_HEADERS = {
    "session": ("会话", "Session"),
    "rule": ("规则", "Rule"),
    "row": ("行号", "Row"),
    "text": ("消息（命中片段标红）", "Message (match in red)"),
}
# Enough of a message to tell findings apart; long messages may be cut in the cell.
_TEXT_COMPARED = 1000


@dataclass
class FindingsTable:
    """The Findings sheet of a workbook: its rows (as read) and where its columns are."""

    sheet: str
    rows: list[list[Any]]
    header_row: int  # 0-based
    columns: dict[str, int]  # keys of HEADERS and ROW_HEADERS -> 0-based column

    def value(self, row: list, key: str) -> Any:
        """The cell of ``row`` under the column ``key`` (None if the sheet has no such column)."""
        col = self.columns.get(key)
        return row[col] if col is not None and col < len(row) else None

    def shown(self, row: list) -> dict[str, str]:
        """The row's session, rule, row number and message as shown (keys of the columns the
        sheet has)."""
        return {key: _cell_text(self.value(row, key)) for key in ROW_HEADERS if key in self.columns}

    @property
    def lang(self) -> str:
        """The workbook's language, from the name of its findings sheet."""
        return "zh" if self.sheet == FINDINGS_SHEETS[0] else "en"

    def cell(self, key: str, index: int) -> str:
        """"违规明细!K5" for column ``key`` of row ``index`` (0-based)."""
        return f"{self.sheet}!{_column_letter(self.columns[key])}{index + 1}"


def findings_table(book: Any, path: Path) -> FindingsTable | None:
    """The Findings sheet (either language) and its header, or None when the workbook has
    none; QAError when it has no header row with an ID column."""
    sheet_name = next((name for name in FINDINGS_SHEETS if name in book.sheet_names), None)
    if sheet_name is None:
        return None
    rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    words = {**HEADERS, **ROW_HEADERS}
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        for col, value in enumerate(row):
            text = _cell_text(value)
            for key, names in words.items():
                if text in names and key not in found:
                    found[key] = col
        if "id" in found:
            return FindingsTable(sheet_name, rows, index, found)
    raise QAError(f"{path}: sheet {sheet_name}: no header row with an {' / '.join(HEADERS['id'])} column in the first "
                  f"{HEADER_SCAN_ROWS} rows (the finding ids are needed to read verdicts; restore the column)")


def finding_facts(runs: Sequence[dict[str, Any]]) -> dict[str, list[tuple[str, str, int, str]]]:
    """What each listed finding id stands for in the audits' data: (session, rule, row, text)."""
    facts: dict[str, list[tuple[str, str, int, str]]] = {}
    for run in runs:
        data = run["findings"]
        for fact in zip(data["id"], zip(data["session_id"], data["rule"], data["row"], data["text"])):
            known = facts.setdefault(fact[0], [])
            if fact[1] not in known:
                known.append(fact[1])
    return facts


def _same_text(shown: str, expected: str) -> bool:
    from qa.mask import mask_text

    shown, expected = shown.strip()[:_TEXT_COMPARED], expected.strip()[:_TEXT_COMPARED]
    # A workbook audited with --no-mask and one audited masked show the same finding.
    return shown == expected or mask_text(shown) == mask_text(expected)


def rule_names_of(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Rule id -> display names ([name] of its rule file) as the audits' data records them;
    data written before it did falls back to the built-in rules' names."""
    from qa.rules import builtin_rule_names

    names: dict[str, dict[str, str]] = {}
    for run in runs:
        for rule in run.get("rules", []):
            if "name" in rule:
                names.setdefault(rule["id"], rule["name"])
    if any("name" not in rule for run in runs for rule in run.get("rules", [])):
        names = {**builtin_rule_names(), **names}
    return names


def row_differences(
    shown: dict[str, str], fact: tuple[str, str, int, str], lang: str = "zh",
    names: dict[str, dict[str, str]] | None = None,
) -> list[str]:
    """How the visible cells of a Findings row (:meth:`FindingsTable.shown`) differ from the
    finding its id stands for (``fact``: session, rule, row, text); columns the sheet no
    longer has are not compared. ``names``: the rules' display names (:func:`rule_names_of`)."""
    from qa.mask import mask_text, shows_name
    from qa.rules import rule_label

    session, rule, number, text = fact
    differences = []
    if "session" in shown:
        cell = shown["session"]
        if cell != session and not shows_name(cell, session):
            differences.append(f"session {cell or '(blank)'} ≠ {mask_text(session)}")
    names = names or {}
    if "rule" in shown and shown["rule"] not in (rule, rule_label(rule, "zh", names), rule_label(rule, "en", names)):
        differences.append(f"rule {shown['rule'] or '(blank)'} ≠ {rule_label(rule, lang, names)}")
    if "row" in shown and shown["row"] != str(number):
        differences.append(f"row {shown['row'] or '(blank)'} ≠ {number}")
    if "text" in shown and not _same_text(shown["text"], text):
        differences.append("message differs")
    return differences


def misplaced_ids_message(misplaced: list[tuple[str, str, list[str]]]) -> str:
    """One sentence for rows whose id is not the finding shown on the row: (id cell, id,
    differences) for each."""
    cell, finding, differences = misplaced[0]
    more = ""
    if len(misplaced) > 1:
        others = [c for c, _, _ in misplaced[1:6]]
        more = f"; also {', '.join(others)}" + (f" and {len(misplaced) - 6} more" if len(misplaced) > 6 else "")
    return (f"{cell}: finding id '{finding}' is not the finding shown on its row ({'; '.join(differences)}){more}: "
            "were ID cells sorted, filled or pasted apart from their rows? Put each id back on its own row "
            "(sort whole rows only)")


def read_reviewed_workbook(path: Path) -> ReviewedWorkbook:
    """Read a reviewed workbook; anything the tool cannot read is an error naming the
    workbook, sheet, cell and problem. A row whose ID cell does not belong to the finding the
    row shows (session, rule, row, message; e.g. after sorting the ID column alone) is an
    error too: its verdict would land on another finding."""
    path = Path(path)
    book = _open_workbook(path)
    runs = _read_data(book, path)
    facts = finding_facts(runs)
    table = findings_table(book, path)
    if table is None:
        raise QAError(f"{path}: no sheet {' or '.join(FINDINGS_SHEETS)} (was it renamed or deleted?)")
    names = rule_names_of(runs)
    sheet_name, rows, header_row, columns = table.sheet, table.rows, table.header_row, table.columns
    lang = table.lang
    if "review" not in columns:
        raise QAError(f"{path}: sheet {sheet_name}: header row {header_row + 1} has no {' / '.join(HEADERS['review'])} column "
                      "(restore it: verdicts are read from it)")

    modified_by = _last_modified_by(path)
    verdicts: list[VerdictRow] = []
    misplaced: list[tuple[str, str, list[str]]] = []
    for index in range(header_row + 1, len(rows)):
        row = rows[index]
        finding = _cell_text(table.value(row, "id"))
        review_text = _cell_text(table.value(row, "review"))
        review_cell = table.cell("review", index)
        id_cell = table.cell("id", index)
        try:
            verdict = parse_verdict(review_text)
        except ValueError:
            raise QAError(f"{path}: {review_cell}: unknown review '{review_text}' (use {_ALLOWED_WORDS})") from None
        comment = _cell_text(table.value(row, "comment"))
        if not finding:
            if verdict is not None or comment:
                raise QAError(f"{path}: {id_cell}: a row with a review or comment but no finding id "
                              "(keep each finding's ID cell; do not add rows)")
            continue
        if finding not in facts:
            raise QAError(f"{path}: {id_cell}: unknown finding id '{finding}' (not in this workbook's audit: "
                          "was the cell edited, or the row pasted from another workbook?)")
        if verdict is not None or comment:
            shown = table.shown(row)
            differences = [row_differences(shown, fact, table.lang, names) for fact in facts[finding]]
            if all(differences):
                misplaced.append((id_cell, finding, differences[0]))
        reviewer = _cell_text(table.value(row, "reviewer")) or (modified_by if verdict is not None else "")
        verdicts.append(VerdictRow(finding, verdict, comment, reviewer, f"{path.name} {review_cell}"))
    if misplaced:
        raise QAError(f"{path}: {misplaced_ids_message(misplaced)}; no verdict was applied")
    return ReviewedWorkbook(path=path, runs=runs, rows=verdicts, lang=lang, modified_by=modified_by)


# ---------------------------------------------------------------------------------------
# Rescoring and rule quality


@dataclass
class RunReview:
    """One audit after review."""

    label: str
    data: dict[str, Any]
    findings: pd.DataFrame  # the listed findings + verdict, comment, reviewer, where, points_after, ...
    sessions: pd.DataFrame  # flagged sessions: before / after
    agents: pd.DataFrame  # every agent: before / after

    @property
    def run_key(self) -> str | None:
        """The history run key the workbook was written with, if any."""
        return self.data.get("run_key")


@dataclass
class Review:
    """Everything ``qa review`` reports and writes."""

    workbooks: list[ReviewedWorkbook]
    runs: list[RunReview]
    quality: pd.DataFrame
    false_texts: pd.DataFrame
    lang: str
    verdicts: dict[str, VerdictRow] = field(default_factory=dict)

    @property
    def findings(self) -> pd.DataFrame:
        """Every listed finding of every run, with its run's label."""
        frames = [run.findings.assign(run=run.label) for run in self.runs]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def rule_suppression(self) -> dict[str, tuple[bool, bool]]:
        """Rule id -> (suppressible by text, names the context) (:func:`qa.suppress.suppressibility`)."""
        found: dict[str, tuple[bool, bool]] = {}
        for run in self.runs:
            for rule in run.data.get("rules", []):
                found.setdefault(rule["id"], suppressibility(rule))
        return found

    def credits(self) -> list[tuple[str, dict[str, str]]]:
        """(credit id, display names) of the credits the reviewed audits counted, in order;
        none for data written before credits were carried."""
        found: dict[str, dict[str, str]] = {}
        for run in self.runs:
            for credit in run.data.get("credits") or []:
                if isinstance(credit, dict) and isinstance(credit.get("id"), str):
                    found.setdefault(credit["id"], credit.get("name") if isinstance(credit.get("name"), dict) else {})
        return list(found.items())

    def rule_names(self) -> dict[str, dict[str, str]]:
        """Rule id -> display names, as the reviewed audits recorded them."""
        return rule_names_of([run.data for run in self.runs])

    def reviewers(self) -> list[str]:
        """The reviewers named on verdicts, each once, in order of appearance."""
        names = [v.reviewer for v in self.verdicts.values() if v.verdict is not None and v.reviewer]
        return list(dict.fromkeys(names))


def merge_verdicts(workbooks: Iterable[ReviewedWorkbook]) -> dict[str, VerdictRow]:
    """One verdict per finding id over all workbooks (copies reviewed by several trainers);
    two different verdicts on one finding are an error naming both cells."""
    merged: dict[str, VerdictRow] = {}
    for workbook in workbooks:
        for row in workbook.rows:
            old = merged.get(row.id)
            if old is None:
                merged[row.id] = row
                continue
            if old.verdict is not None and row.verdict is not None and old.verdict != row.verdict:
                raise QAError(
                    f"finding {row.id}: {old.where} says {verdict_word(old.verdict, 'zh')} ({old.verdict.value}) but "
                    f"{row.where} says {verdict_word(row.verdict, 'zh')} ({row.verdict.value}); make them agree"
                )
            keep = old if old.verdict is not None or row.verdict is None else row
            comments = [c for c in dict.fromkeys([old.comment, row.comment]) if c]
            reviewers = [r for r in dict.fromkeys([old.reviewer, row.reviewer]) if r]
            merged[row.id] = VerdictRow(row.id, keep.verdict, " / ".join(comments), ", ".join(reviewers), keep.where)
    return merged


def _frame(columns: dict[str, list]) -> pd.DataFrame:
    return pd.DataFrame({key: pd.Series(values, dtype="object") for key, values in columns.items()})


def _rescored(sessions: pd.DataFrame, false_rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Flagged sessions (or parts, ``keys`` session_id and agent) with their false positives
    (``false_rows``: the findings judged 误报) taken off: false_positives, score_before,
    score_after, findings_after, change."""
    for column in ("findings", "veto_findings"):
        sessions[column] = pd.to_numeric(sessions[column]).astype("int64") if len(sessions) else sessions[column]
    for column in ("points_deducted", "score"):
        sessions[column] = pd.to_numeric(sessions[column]).astype("float64") if len(sessions) else sessions[column]
    empty = not len(false_rows) or not len(sessions)
    grouped = None if empty else false_rows.groupby(keys)
    fp_points = pd.Series(dtype="float64") if empty else grouped["points"].sum()
    fp_count = pd.Series(dtype="int64") if empty else grouped.size()
    fp_veto = (
        pd.Series(dtype="int64") if empty else false_rows[false_rows["veto"].astype(bool)].groupby(keys).size()
    )

    def of(values: pd.Series, fill: Any) -> pd.Series:
        if not len(values):
            return pd.Series(fill, index=sessions.index)
        if len(keys) == 1:
            return sessions[keys[0]].map(values).fillna(fill)
        index = pd.MultiIndex.from_frame(sessions[keys]) if len(sessions) else pd.MultiIndex.from_tuples([], names=keys)
        return pd.Series(values.reindex(index).to_numpy(), index=sessions.index).fillna(fill)

    sessions["false_positives"] = of(fp_count, 0).astype("int64").to_numpy() if len(sessions) else []
    deducted = sessions["points_deducted"] - of(fp_points, 0.0).astype("float64")
    vetoed = (sessions["veto_findings"] - of(fp_veto, 0).astype("int64")) > 0
    if "bonus_points" in sessions:  # credits earned bonus points: they offset deductions, within 0..100
        after = session_scores(deducted, vetoed, pd.to_numeric(sessions["bonus_points"]).astype("float64"))
        sessions = sessions.drop(columns=["bonus_points"])
    else:
        after = session_scores(deducted, vetoed)
    sessions = sessions.rename(columns={"score": "score_before"})
    sessions["score_after"] = after.astype("float64") if len(sessions) else pd.Series([], dtype="float64")
    sessions["findings_after"] = sessions["findings"] - sessions["false_positives"] if len(sessions) else []
    sessions["change"] = (sessions["score_after"] - sessions["score_before"]).round(1) if len(sessions) else []
    return sessions


def rescore_run(run: dict[str, Any], verdicts: dict[str, VerdictRow], label: str) -> RunReview:
    """Scores of one audit with its false positives removed."""
    findings = _frame(run["findings"])
    n = len(findings)
    rows = [verdicts.get(finding) for finding in findings["id"].tolist()] if n else []
    findings["verdict"] = pd.Series([row.verdict if row else None for row in rows], dtype="object")
    findings["comment"] = pd.Series([row.comment if row else "" for row in rows], dtype="object")
    findings["reviewer"] = pd.Series([row.reviewer if row else "" for row in rows], dtype="object")
    findings["where"] = pd.Series([row.where if row and (row.verdict or row.comment) else "" for row in rows], dtype="object")
    false = (findings["verdict"] == Verdict.FALSE_POSITIVE) if n else pd.Series([], dtype=bool)
    findings["points"] = pd.to_numeric(findings["points"]) if n else pd.Series([], dtype="float64")
    findings["points_after"] = findings["points"].where(~false, 0.0) if n else findings["points"]

    false_rows = findings[false] if n else findings
    sessions = _rescored(_frame(run["sessions"]), false_rows, ["session_id"])
    # Agents are scored on their parts of transferred sessions: a false positive changes the
    # part of the agent it names (data written before parts were carried has none: the sessions).
    rows = sessions
    if isinstance(run.get("parts"), dict):
        parts = _rescored(_frame(run["parts"]), false_rows, ["session_id", "agent"])
        if len(parts):
            rows = pd.concat([sessions[~sessions["session_id"].isin(parts["session_id"])], parts], ignore_index=True)

    agents = _frame(run["agents"])
    if len(agents):
        delta = (rows["score_after"] - rows["score_before"]).groupby(rows["agent"]).sum() if len(rows) else pd.Series(dtype="float64")
        fp_agent = rows.groupby("agent")["false_positives"].sum() if len(rows) else pd.Series(dtype="int64")
        agents["sessions"] = pd.to_numeric(agents["sessions"]).astype("int64")
        agents["score_before"] = pd.to_numeric(agents["score"]).astype("float64")
        agents["findings"] = pd.to_numeric(agents["findings"]).astype("int64")
        total = pd.to_numeric(agents["score_sum"]).astype("float64") + agents["agent"].map(delta).fillna(0.0).astype("float64")
        changed = agents["agent"].map(delta).fillna(0.0).astype("float64") != 0
        recomputed = (total / agents["sessions"].where(agents["sessions"] > 0)).round(1)
        agents["score_after"] = recomputed.where(changed, agents["score_before"])
        agents["false_positives"] = agents["agent"].map(fp_agent).fillna(0).astype("int64")
        agents["findings_after"] = agents["findings"] - agents["false_positives"]
        agents["change"] = (agents["score_after"] - agents["score_before"]).round(1)
        agents = agents.drop(columns=["score", "score_sum"])
        agents = agents.sort_values(["score_after", "agent"], kind="stable").reset_index(drop=True)
    session_order = ["score_after", "session_id"]
    sessions = sessions.sort_values(session_order, kind="stable").reset_index(drop=True) if len(sessions) else sessions
    if n:
        after_of = dict(zip(sessions["session_id"].tolist(), sessions["score_after"].tolist()))
        before_of = dict(zip(sessions["session_id"].tolist(), sessions["score_before"].tolist()))
        findings["session_score_before"] = findings["session_id"].map(before_of)
        findings["session_score_after"] = findings["session_id"].map(after_of)
    return RunReview(label=label, data=run, findings=findings, sessions=sessions, agents=agents)


def _run_label(run: dict[str, Any], taken: set[str]) -> str:
    inputs = run.get("inputs") or []
    name = Path(inputs[0]).name if inputs else "audit"
    label = name if len(inputs) <= 1 else f"{name} +{len(inputs) - 1}"
    base, n = label, 2
    while label in taken:
        label, n = f"{base} ({n})", n + 1
    taken.add(label)
    return label


def rule_quality(findings: pd.DataFrame, rule_order: Sequence[str]) -> pd.DataFrame:
    """Per rule: findings listed, reviewed, confirmed, false positives, pending, unreviewed and
    the measured precision (confirmed / (confirmed + false positives)) with its count."""
    distinct = findings.drop_duplicates("id") if len(findings) else findings
    rules = list(dict.fromkeys([*rule_order, *(sorted(distinct["rule"].unique()) if len(distinct) else [])]))
    records = []
    for rule in rules:
        verdicts = distinct.loc[distinct["rule"] == rule, "verdict"] if len(distinct) else pd.Series([], dtype="object")
        confirmed = int((verdicts == Verdict.CONFIRMED).sum())
        false = int((verdicts == Verdict.FALSE_POSITIVE).sum())
        pending = int((verdicts == Verdict.PENDING).sum())
        judged = confirmed + false
        records.append({
            "rule": rule, "findings": int(len(verdicts)), "reviewed": confirmed + false + pending,
            "confirmed": confirmed, "false_positive": false, "pending": pending,
            "unreviewed": int(len(verdicts)) - confirmed - false - pending,
            "precision": round(confirmed / judged, 4) if judged else None, "judged": judged,
        })
    return pd.DataFrame.from_records(
        records,
        columns=["rule", "findings", "reviewed", "confirmed", "false_positive", "pending", "unreviewed", "precision", "judged"],
    )


def false_positive_texts(
    findings: pd.DataFrame, suppression: dict[str, tuple[bool, bool]], *, top: int | None = None
) -> pd.DataFrame:
    """Per rule, the false-positive messages, most frequent first: the normalized text (the
    suppression key), the customer message for rules that judge a reply, how often, an
    example as shown, and the trainers' comments."""
    columns = ["rule", "key", "context_key", "count", "example", "comments"]
    if findings.empty:
        return pd.DataFrame(columns=columns)
    false = findings[findings["verdict"] == Verdict.FALSE_POSITIVE].drop_duplicates("id")
    if false.empty:
        return pd.DataFrame(columns=columns)
    false = false.assign(
        key=suppression_keys(false["text"].fillna("").astype("str")).to_numpy(),
        context_key=[
            key if suppression.get(rule, (True, True))[1] else None
            for rule, key in zip(false["rule"], suppression_keys(false["context"].fillna("").astype("str")))
        ],
    )
    records = []
    for (rule, key, context), group in false.groupby(["rule", "key", "context_key"], dropna=False, sort=False):
        context = None if context is None or (isinstance(context, float) and math.isnan(context)) else context
        comments = [c for c in dict.fromkeys(group["comment"].tolist()) if c]
        records.append({"rule": rule, "key": key, "context_key": context, "count": len(group),
                        "example": group["text"].iloc[0], "comments": " / ".join(comments)})
    table = pd.DataFrame.from_records(records, columns=columns)
    table = table.sort_values(["rule", "count", "key"], ascending=[True, False, True], kind="stable")
    if top is not None:
        table = table.groupby("rule", sort=False).head(top)
    return table.reset_index(drop=True)


def review_workbooks(workbooks: Sequence[ReviewedWorkbook], *, lang: str | None = None) -> Review:
    """Merge the verdicts of reviewed workbooks and rescore every audit they hold."""
    verdicts = merge_verdicts(workbooks)
    runs: list[RunReview] = []
    seen: set[str] = set()
    labels: set[str] = set()
    for workbook in workbooks:
        for run in workbook.runs:
            digest = run_digest(run)
            if digest in seen:
                continue
            seen.add(digest)
            runs.append(rescore_run(run, verdicts, _run_label(run, labels)))
    rule_order = list(dict.fromkeys(rule["id"] for run in runs for rule in run.data.get("rules", []) if rule.get("enabled", True)))
    review = Review(workbooks=list(workbooks), runs=runs, quality=pd.DataFrame(), false_texts=pd.DataFrame(),
                    lang=lang or (workbooks[0].lang if workbooks else "zh"), verdicts=verdicts)
    findings = review.findings
    review.quality = rule_quality(findings, rule_order)
    review.false_texts = false_positive_texts(findings, review.rule_suppression())
    return review


def suppression_entries(review: Review) -> tuple[list[Suppression], list[str]]:
    """The false positives as suppressions, and the rules left out (timing-based checks)."""
    suppression = review.rule_suppression()
    entries, skipped = [], []
    for row in review.false_texts.itertuples(index=False):
        if not suppression.get(row.rule, (True, True))[0]:
            if row.rule not in skipped:
                skipped.append(row.rule)
            continue
        reason = row.comments or ("review: 误报" if review.lang == "zh" else "review: false positive")
        context = row.context_key if isinstance(row.context_key, str) else None
        entries.append(Suppression(rule=row.rule, text=row.key, context=context, reason=reason,
                                   count=int(row.count), added=today()))
    return entries, skipped


def history_updates(review: Review) -> list[Any]:
    """One :class:`qa.history.ReviewUpdate` per reviewed run that was recorded in a history."""
    from qa.history import ReviewUpdate

    updates = []
    reviewers = ", ".join(review.reviewers())
    for run in review.runs:
        if not run.run_key:
            continue
        agents = {
            str(a.agent): (float(a.score_after) if a.score_after is not None and not pd.isna(a.score_after) else None,
                           int(a.false_positives))
            for a in run.agents.itertuples(index=False)
        }
        rules: dict[str, tuple[int, int]] = {}
        reviewed = bool(len(run.findings)) and bool(run.findings["verdict"].notna().any())
        if len(run.findings):
            for rule, group in run.findings.groupby("rule"):
                rules[str(rule)] = (int((group["verdict"] == Verdict.CONFIRMED).sum()),
                                    int((group["verdict"] == Verdict.FALSE_POSITIVE).sum()))
        updates.append(ReviewUpdate(run_key=run.run_key, agents=agents, rules=rules, reviewed_by=reviewers, reviewed=reviewed))
    return updates


def history_paths(review: Review) -> list[str]:
    """History files the reviewed audits were recorded in (as stored in the workbooks)."""
    return list(dict.fromkeys(run.data["history"] for run in review.runs if run.data.get("history")))


# ---------------------------------------------------------------------------------------
# Terminal


def _percent(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value * 100:.0f}%"


def format_review(review: Review, *, top: int = 3) -> list[str]:
    """What ``qa review`` prints: verdict totals, rule quality, frequent false positives, and
    the agents whose score changed."""
    from qa.history import _table

    verdicts = [v for v in review.verdicts.values() if v.verdict is not None]
    counts = {verdict: sum(1 for v in verdicts if v.verdict == verdict) for verdict in Verdict}
    listed = sum(len(run.findings) for run in review.runs)
    lines = [
        f"reviewed {len(verdicts)} of {listed} findings in {len(review.workbooks)} workbook(s), {len(review.runs)} audit(s): "
        f"{counts[Verdict.CONFIRMED]} confirmed, {counts[Verdict.FALSE_POSITIVE]} false positive, {counts[Verdict.PENDING]} pending",
        "",
        "rule quality (precision = confirmed / (confirmed + false positive))",
    ]
    lines += _table(
        ["rule", "findings", "reviewed", "confirmed", "false", "pending", "precision"],
        [
            [q.rule, str(q.findings), str(q.reviewed), str(q.confirmed), str(q.false_positive), str(q.pending),
             f"{_percent(q.precision)} (n={q.judged})" if q.judged else "- (n=0)"]
            for q in review.quality.itertuples(index=False)
        ],
    )
    if len(review.false_texts):
        lines += ["", "most frequent false positives"]
        for rule, group in review.false_texts.groupby("rule", sort=False):
            lines.append(f"  {rule}:")
            for row in group.head(top).itertuples(index=False):
                text = row.example if len(row.example) <= 60 else row.example[:59] + "…"
                note = f"  ({row.comments})" if row.comments else ""
                lines.append(f"    {row.count}× {text}{note}")
    changed = [
        (run.label, a)
        for run in review.runs
        for a in run.agents.itertuples(index=False)
        if a.change and not pd.isna(a.change)
    ]
    if changed:
        lines += ["", "scores changed by review"]
        multi = len(review.runs) > 1
        lines += _table(
            (["audit"] if multi else []) + ["agent", "before", "after", "change"],
            [
                ([label] if multi else []) + [str(a.agent), f"{a.score_before:.1f}", f"{a.score_after:.1f}", f"{a.change:+.1f}"]
                for label, a in changed
            ],
            numeric_from=2 if multi else 1,
        )
    return lines
