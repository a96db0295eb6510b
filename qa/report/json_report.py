"""The machine-readable result (``--json``), a public contract (version 1).

Same input and rules give byte-identical JSON (no generation time is written).

Credits for good practice (:mod:`qa.credits`) are additive: a top-level ``credits`` array
(one record per credited message: credit, session_id, agent, timestamp, file, row, text,
match, span, reason, context), ``summary.credits`` / ``summary.by_credit``, and per agent
``agents[].credits`` (``{credit id: count, …, "per_100_sessions": {…}}``).

Rule display names are additive too: ``summary.rule_names`` (``{rule id: {"zh": …, "en": …}}``,
from each rule file's ``[name]``, the id where it has none).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa.identity import ID_SCHEME, masked_finding_ids
from qa.mask import result_masker
from qa.memory import release_memory
from qa.model import AuditResult
from qa.report.files import atomic_write
from qa.rules import rule_label, rule_names
from qa.suppress import suppressed_summary

JSON_VERSION = 1


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    """One column as plain Python values: NaN/NaT -> None, timestamps -> ISO text."""
    column = frame[name]
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return _iso_times(column)
    values = column.tolist()
    if pd.api.types.is_float_dtype(column.dtype):
        return [None if v is None or math.isnan(v) else v for v in values]
    if column.dtype == object:
        return [None if (isinstance(v, float) and math.isnan(v)) or v is pd.NaT else v for v in values]
    return values


_EPOCH = pd.Timestamp("1970-01-01")
_LAST = pd.Timestamp("9999-12-31")


def _iso_times(column: pd.Series) -> list[str | None]:
    """Timestamps as ``%Y-%m-%dT%H:%M:%S`` text in their own wall time (None for NaT)."""
    wall = column.dt.tz_localize(None) if getattr(column.dt, "tz", None) is not None else column
    present = wall.dropna()
    if len(present) and _EPOCH <= present.min() and present.max() <= _LAST:
        # numpy writes the same text as strftime here, ten times faster (whole seconds: both
        # drop the fraction of a time after 1970).
        text = np.datetime_as_string(wall.to_numpy(dtype="datetime64[ns]").astype("datetime64[s]"), unit="s")
        return [None if v == "NaT" else v for v in text.tolist()]
    text = column.dt.strftime("%Y-%m-%dT%H:%M:%S")
    return [None if pd.isna(v) else v for v in text.tolist()]


_LOCATED_COLUMNS = ("session_id", "agent", "timestamp", "file", "row", "text", "match", "span_start", "span_end",
                    "reason", "sheet", "context_text")
_FINDING_COLUMNS = ("rule", "severity", *_LOCATED_COLUMNS)
_CREDIT_COLUMNS = ("credit", *_LOCATED_COLUMNS)


def iter_findings(result: AuditResult, *, mask: bool = False) -> Iterator[dict[str, Any]]:
    """The ``findings`` records, in the result's deterministic order, built column-wise.

    With ``mask``, phone numbers, ID numbers and e-mails in texts are masked (lengths are
    kept, so spans still point at the match)."""
    findings = result.findings
    if not len(findings):
        return
    masker = result_masker(result, mask)
    ids = masked_finding_ids(masker, findings)  # over the masked text whatever ``mask``: the same id with or without --no-mask
    findings = masker.findings(findings)
    columns = {name: _column(findings, name) for name in _FINDING_COLUMNS}
    for index, finding_id in enumerate(ids):
        yield {"id": finding_id, "rule": columns["rule"][index], "severity": columns["severity"][index],
               **_located(columns, index)}


def _located(columns: dict[str, list], index: int) -> dict[str, Any]:
    """Where a finding or credit stands and what it matched (the keys after its own id)."""
    start = columns["span_start"][index]
    record = {
        "session_id": columns["session_id"][index],
        "agent": columns["agent"][index],
        "timestamp": columns["timestamp"][index],
        "file": columns["file"][index],
        "row": int(columns["row"][index]),
        "text": columns["text"][index],
        "match": columns["match"][index],
        "span": [int(start), int(columns["span_end"][index])] if start >= 0 else None,
        "reason": columns["reason"][index],
    }
    if columns["sheet"][index]:
        record["sheet"] = columns["sheet"][index]
    if columns["context_text"][index]:
        record["context"] = columns["context_text"][index]
    return record


def iter_credits(result: AuditResult, *, mask: bool = False) -> Iterator[dict[str, Any]]:
    """The ``credits`` records, in the result's (msg, credit) order; masked like findings."""
    credits = getattr(result, "credits", None)
    if credits is None or not len(credits):
        return
    credits = result_masker(result, mask).findings(credits)  # texts, session ids, agents: as findings
    columns = {name: _column(credits, name) for name in _CREDIT_COLUMNS}
    for index in range(len(credits)):
        yield {"credit": columns["credit"][index], **_located(columns, index)}


def findings_records(result: AuditResult, *, mask: bool = False) -> list[dict[str, Any]]:
    """The ``findings`` array as a list (see :func:`iter_findings`)."""
    return list(iter_findings(result, mask=mask))


def iter_table(frame: pd.DataFrame, masker: Any = None) -> Iterator[dict[str, Any]]:
    """Rows of a sessions/agents table as JSON-ready dicts, built column-wise; with a
    :class:`qa.mask.ResultMasker`, session ids and agent names masked."""
    frame = _masked_table(frame, masker)
    names = list(frame.columns)
    columns = [_column(frame, name) for name in names]
    for values in zip(*columns):
        yield dict(zip(names, values))


def _masked_table(frame: pd.DataFrame, masker: Any) -> pd.DataFrame:
    """A sessions/agents table with session ids and agent names masked (when ``masker`` is on)."""
    if masker is not None and masker.enabled and len(frame):
        if "session_id" in frame:
            frame = frame.assign(session_id=masker.sessions(frame["session_id"]))
        if "agent" in frame:
            frame = frame.assign(agent=masker.agents(frame["agent"]))
        if "agents" in frame:  # the sessions' agents taking part
            frame = frame.assign(agents=masker.agent_lists(frame["agents"]))
        if "file" in frame:
            frame = frame.assign(file=masker.files(frame["file"]))
    return frame


def _summary(result: AuditResult, mask: bool) -> dict[str, Any]:
    ingest = result.ingest
    by_rule = {rule.id: 0 for rule in result.rules if rule.enabled}
    names = rule_names(result.rules)
    if len(result.findings):
        for rule_id, count in result.findings["rule"].value_counts().sort_index().items():
            by_rule[rule_id] = int(count)
    credits = getattr(result, "credits", None)
    by_credit = {credit.id: 0 for credit in getattr(result, "credit_defs", None) or [] if credit.enabled}
    if credits is not None and len(credits):
        for credit_id, count in credits["credit"].value_counts().sort_index().items():
            by_credit[credit_id] = int(count)
    return {
        "input_rows": int(ingest.input_rows),
        "audited_rows": int(len(ingest.messages)),
        "rejected_rows": int(len(ingest.rejected)),
        "sessions": int(len(result.sessions)),
        "agents": int(len(result.agents)),
        "findings": int(len(result.findings)),
        "id_scheme": ID_SCHEME,  # how findings[].id is made (README, "Finding ids")
        "by_rule": by_rule,
        "skipped_rules": [{"rule": s.rule, "reason": s.reason} for s in result.skipped_rules],
        # inputs of a several-file run the reader refused (the run exits 2), additive; a reason may quote a cell
        "files_not_read": _files_not_read(result, mask),
        "suppressed": suppressed_summary(result, mask=mask),
        "credits": int(len(credits)) if credits is not None else 0,
        "by_credit": by_credit,
        # Display names ([name] of each rule file; the id where a rule has none), additive.
        "rule_names": {rule_id: {lang: rule_label(rule_id, lang, names) for lang in ("zh", "en")} for rule_id in by_rule},
    }


def _files_not_read(result: AuditResult, mask: bool) -> list[dict[str, str]]:
    refused = getattr(result.ingest, "refused", None) or []
    if not refused:
        return []
    masker = result_masker(result, mask)
    reasons = masker.texts(pd.Series([why for _, why in refused], dtype="str")).tolist()
    paths = masker.files(pd.Series([path for path, _ in refused], dtype="str")).tolist()
    return [{"file": path, "reason": why} for path, why in zip(paths, reasons, strict=True)]


def _rejected(result: AuditResult, mask: bool) -> Iterator[dict[str, Any]]:
    rejected = result.ingest.rejected
    masker = result_masker(result, mask)
    reasons = masker.texts(rejected["reason"]).tolist()  # may quote the row
    for file, row, reason in zip(masker.files(rejected["file"]).tolist(), rejected["row"].tolist(), reasons):
        yield {"file": file, "row": int(row), "reason": reason}


def _sections(result: AuditResult, mask: bool) -> list[tuple[str, Any]]:
    """The document's top-level keys in order; arrays as iterators (streamed when written)."""
    return [
        ("version", JSON_VERSION),
        ("summary", _summary(result, mask)),
        ("findings", iter_findings(result, mask=mask)),
        ("sessions", iter_table(result.sessions, result_masker(result, mask))),
        ("agents", iter_table(result.agents, result_masker(result, mask))),
        ("rejected", _rejected(result, mask)),
        ("credits", iter_credits(result, mask=mask)),
    ]


def build_result(result: AuditResult, *, mask: bool = True) -> dict[str, Any]:
    """The whole JSON document as a dict (what :func:`write_json` writes)."""
    return {key: (value if key in ("version", "summary") else list(value)) for key, value in _sections(result, mask)}


def write_json(result: AuditResult, path: Path, *, mask: bool = True) -> None:
    """Write the JSON result to ``path`` atomically, one array element per line.

    The arrays are encoded a column at a time (:func:`_array_chunks`): each distinct string is
    encoded once by the C encoder and the records are joined with pyarrow string kernels, the
    same text as encoding each record (:func:`build_result` holds the same document). They are
    encoded and written :data:`_CHUNK_ROWS` rows at a time: a record's text does not depend on
    the other rows, and the whole array's lines at once cost gigabytes at 10M messages."""
    encode = _ENCODE

    def write(temporary: Path) -> None:
        # What the outputs before this one freed (the workbook's string table and rows) goes
        # back to the system first: measured at 10M messages, ~1.78 GiB entering this writer.
        release_memory()
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write("{")
            for number, (key, value) in enumerate(_sections(result, mask)):
                handle.write(("\n" if number == 0 else ",\n") + encode(key) + ": ")
                if key in ("version", "summary"):
                    handle.write(encode(value))
                    continue
                chunks = _array_chunks(key, result, mask)
                if chunks is None:  # no fast form for this array: each record encoded on its own
                    chunks = iter([[encode(record) for record in value]])
                handle.write("[")
                written = False
                for lines in chunks:
                    for start in range(0, len(lines), _WRITE_BATCH):
                        handle.write((",\n  " if written else "\n  ") + ",\n  ".join(lines[start : start + _WRITE_BATCH]))
                        written = True
                handle.write("\n]" if written else "]")
                release_memory()  # the array's Arrow buffers and strings, before the next one
            handle.write("\n}\n")

    atomic_write(path, write)


# ---------------------------------------------------------------------------------------
# Column-wise encoding of the arrays (write_json)

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
# What that encoder writes for a str (JSONEncoder.encode's own choice without ensure_ascii).
_encode_str = json.encoder.encode_basestring
_WRITE_BATCH = 10_000
#: Rows of an array encoded at a time by :func:`write_json` (a few tens of MB of text).
_CHUNK_ROWS = 50_000


def _fragments(values: list[Any]) -> pa.Array:
    """The JSON text of each value (as :data:`_ENCODE` writes it inside a record)."""
    if not values:
        return pa.array([], type=pa.string())
    kind = pd.api.types.infer_dtype(values, skipna=True)
    try:
        if kind == "string":  # str or None only (anything else fails the conversion): each distinct text encoded once
            encoded = pa.array(values, type=pa.string(), from_pandas=False).dictionary_encode()
            distinct = pa.array([_encode_str(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
            return pc.fill_null(pc.take(distinct, encoded.indices), "null")
        if kind == "integer" and all(v.__class__ is int for v in values):
            return pc.cast(pa.array(values, type=pa.int64()), pa.string())
    except (pa.ArrowException, OverflowError, TypeError):
        pass  # mixed or out-of-range values: one at a time below
    if kind == "floating":
        # A finite float is written as its repr; None, NaN and infinities by the encoder.
        return pa.array([float.__repr__(v) if v.__class__ is float and v - v == 0 else _ENCODE(v) for v in values],
                        type=pa.string())
    if kind == "boolean":
        return pa.array(["true" if v is True else "false" if v is False else _ENCODE(v) for v in values], type=pa.string())
    memo: dict[Any, str] = {}
    out = []
    for value in values:
        cls = value.__class__
        if value is None:
            out.append("null")
        elif cls is float and value - value == 0:
            out.append(float.__repr__(value))
        elif cls is int:
            out.append(int.__repr__(value))
        elif cls is str:
            out.append(_encode_str(value))
        elif cls is dict and all(k.__class__ is str and v.__class__ is int for k, v in value.items()):
            # Counts by rule or credit: few distinct ones. (Only str keys and int values share a
            # memo entry: 1, 1.0 and True are equal keys but are written differently.)
            key = tuple(value.items())
            text = memo.get(key)
            if text is None:
                text = memo[key] = _ENCODE(value)
            out.append(text)
        elif cls is list and all(v.__class__ is str for v in value):
            # A session's agents: few distinct lists. (Keyed apart from the dicts' item tuples.)
            key = ("list", tuple(value))
            text = memo.get(key)
            if text is None:
                text = memo[key] = _ENCODE(value)
            out.append(text)
        else:
            out.append(_ENCODE(value))
    return pa.array(out, type=pa.string())


def _records(fields: list[tuple[str, pa.Array]], optional: tuple[str, ...] = ()) -> list[str]:
    """Records ``{"key": value, ...}`` from the fields' encoded values in order; a null in an
    ``optional`` field leaves its key out of that record."""
    pieces: list[Any] = []
    for number, (key, fragments) in enumerate(fields):
        lead = ("{" if number == 0 else ", ") + _ENCODE(key) + ": "
        if key in optional:
            pieces.append(pc.binary_join_element_wise(lead, fragments, ""))
        else:
            pieces += [lead, fragments]
    joined = pc.binary_join_element_wise(*pieces, "}", "", null_handling="replace", null_replacement="")
    return joined.to_pylist()


def _located_fields(columns: dict[str, list]) -> list[tuple[str, pa.Array]]:
    """The encoded fields of :func:`_located`, in its order (sheet and context optional)."""
    span = [None if start is None else (f"[{int(start)}, {int(end)}]" if start >= 0 else "null")
            for start, end in zip(columns["span_start"], columns["span_end"])]
    if any(value is None for value in span):
        raise TypeError("a finding without a span start")  # as _located fails on it
    kept = lambda values: [value if value else None for value in values]  # noqa: E731
    return [
        ("session_id", _fragments(columns["session_id"])),
        ("agent", _fragments(columns["agent"])),
        ("timestamp", _fragments(columns["timestamp"])),
        ("file", _fragments(columns["file"])),
        ("row", _fragments([int(v) for v in columns["row"]])),
        ("text", _fragments(columns["text"])),
        ("match", _fragments(columns["match"])),
        ("span", pa.array(span, type=pa.string())),
        ("reason", _fragments(columns["reason"])),
        ("sheet", _optional(_fragments(kept(columns["sheet"])), columns["sheet"])),
        ("context", _optional(_fragments(kept(columns["context_text"])), columns["context_text"])),
    ]


def _optional(fragments: pa.Array, values: list[Any]) -> pa.Array:
    """``fragments`` with null where the value is falsy (the key is left out)."""
    mask = pa.array([not value for value in values], type=pa.bool_())
    return pc.if_else(mask, pa.scalar(None, pa.string()), fragments)


def _array_chunks(key: str, result: AuditResult, mask: bool) -> Iterator[list[str]] | None:
    """The encoded records of the array ``key``, :data:`_CHUNK_ROWS` rows at a time, or None
    when it has no column-wise form."""
    if key == "findings":
        findings = result.findings
        if not len(findings):
            return iter(())
        masker = result_masker(result, mask)
        ids = masked_finding_ids(masker, findings)

        def finding_lines(part: pd.DataFrame, start: int) -> list[str]:
            columns = {name: _column(part, name) for name in _FINDING_COLUMNS}
            fields = [("id", _fragments(ids[start : start + len(part)])), ("rule", _fragments(columns["rule"])),
                      ("severity", _fragments(columns["severity"])), *_located_fields(columns)]
            return _records(fields, optional=("sheet", "context"))

        return _masked_chunks(masker, findings, finding_lines)
    if key == "credits":
        credits = getattr(result, "credits", None)
        if credits is None or not len(credits):
            return iter(())

        def credit_lines(part: pd.DataFrame, _start: int) -> list[str]:
            columns = {name: _column(part, name) for name in _CREDIT_COLUMNS}
            return _records([("credit", _fragments(columns["credit"])), *_located_fields(columns)],
                            optional=("sheet", "context"))

        return _masked_chunks(result_masker(result, mask), credits, credit_lines)
    if key in ("sessions", "agents"):
        frame, masker = getattr(result, key), result_masker(result, mask)
        if not len(frame) or not len(frame.columns):
            return iter(()) if not len(frame) else None
        parts = (_masked_table(frame.iloc[start : start + _CHUNK_ROWS], masker) for start in range(0, len(frame), _CHUNK_ROWS))
        return (_records([(str(name), _fragments(_column(part, name))) for name in part.columns]) for part in parts)
    return None


def _masked_chunks(masker: Any, table: pd.DataFrame, lines_of: Any) -> Iterator[list[str]]:
    """``lines_of(masked rows, first row)`` over ``table`` a chunk at a time, masked by
    ``masker`` (row by row, so a chunk masks as it would within the whole)."""
    for start in range(0, len(table), _CHUNK_ROWS):
        yield lines_of(masker.findings_rows(table, start, start + _CHUNK_ROWS), start)
