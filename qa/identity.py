"""Finding identity: the stable id of a finding, the same in every output and engine.

**Finding id.** :func:`finding_id` (id scheme :data:`ID_SCHEME` = 2) is the first 12 hex
digits of SHA-256 over a scheme tag, the input path as given (``./`` and ``..`` folded, ``/``
separators), the Excel sheet for workbook inputs, the spreadsheet row, the rule id and the
message text *masked* (:func:`qa.mask.mask_text`, whether or not the outputs are masked). An id
therefore says nothing the masked outputs do not: every phone number ``138****8001`` could
hide gives the same id, so guessing the 4 hidden digits cannot be checked against it (scheme
1 hashed the unmasked text, and 10,000 guesses recovered the number). It depends neither on
the order of findings, nor on ``--no-mask``, language or engine: sorting or filtering the
Findings sheet keeps each verdict attached to its finding, and auditing the same file under
the same path again gives the same ids. The workbook's Findings sheet shows it (column 编号 /
ID), and so do the JSON result (``findings[].id``) and the findings CSV (column ``id``).

Old ids: a workbook's ``qa_data`` records ``id_scheme`` (absent = 1, written before scheme 2);
:func:`run_id_scheme` reads it, and ``finding_ids(findings, scheme=1)`` recomputes the old ids
of a new audit's findings (:func:`legacy_finding_ids`) so verdicts given under scheme 1 can be
matched. Suppression files and the history database hold no finding ids (suppressions match
by rule and masked text, history by run), so they need no migration.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from qa.errors import QAError
from qa.mask import mask_series, mask_text

ID_LENGTH = 12
ID_SCHEME = 2  # 1: over the unmasked text (recoverable masked digits); 2: over the masked text
_ID_TAG = "qa-finding-id/2"


def _path_key(path: Any) -> str:
    text = str(path or "")
    return os.path.normpath(text).replace("\\", "/") if text else ""


def _row_key(row: Any) -> str:
    try:
        return str(int(row))
    except (TypeError, ValueError):
        return str(row)


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:ID_LENGTH]


def finding_id(file: Any, sheet: Any, row: Any, rule: str, text: Any, *, scheme: int = ID_SCHEME) -> str:
    """The stable id of a finding (see the module docstring). ``text`` may be the original or
    the masked message (masking is idempotent: both give the same id); ``scheme=1`` gives the
    old id, which needs the original text."""
    text = str(text or "")
    parts = [_path_key(file), str(sheet or ""), _row_key(row), str(rule)]
    if scheme == 1:
        return _digest([*parts, text])
    _check_scheme(scheme)
    return _digest([_ID_TAG, *parts, mask_text(text)])


def _check_scheme(scheme: int) -> None:
    if scheme not in (1, ID_SCHEME):
        raise QAError(f"finding id scheme {scheme} is newer than this qa knows ({ID_SCHEME}); upgrade qa")


def finding_ids(findings: pd.DataFrame, *, scheme: int = ID_SCHEME, memo: dict[str, str] | None = None) -> list[str]:
    """Ids of a report finding table's rows (needs file, row, rule, text with the original
    text; sheet optional); the same as :func:`finding_id` row by row. ``memo``: masked texts
    already known (:attr:`qa.mask.ResultMasker.memo`)."""
    if findings.empty:
        return []
    _check_scheme(scheme)
    files = {file: _path_key(file) for file in findings["file"].unique().tolist()}
    sheets = findings["sheet"].fillna("").astype("str").tolist() if "sheet" in findings else [""] * len(findings)
    rows = [str(int(row)) for row in findings["row"].tolist()]
    texts = findings["text"].fillna("").astype("str")
    # The masked text, never the original: the id must not confirm a guess of what is hidden.
    texts = texts if scheme == 1 else mask_series(texts, memo)
    head = [] if scheme == 1 else [_ID_TAG]
    return [
        _digest([*head, files[file], sheet, row, rule, text])
        for file, sheet, row, rule, text in zip(
            findings["file"].tolist(), sheets, rows, findings["rule"].astype("str").tolist(), texts.tolist(),
        )
    ]


def legacy_finding_ids(findings: pd.DataFrame) -> list[str]:
    """Scheme-1 ids (over the unmasked text) of a finding table's rows: only to match verdicts
    and ids recorded before scheme 2 against a new audit's findings; never written anywhere."""
    return finding_ids(findings, scheme=1)


def run_id_scheme(run: dict[str, Any]) -> int:
    """The id scheme of one ``qa_data`` run (1 when it predates the ``id_scheme`` field)."""
    scheme = run.get("id_scheme", 1)
    if not isinstance(scheme, int) or isinstance(scheme, bool):
        raise ValueError(f"id_scheme {scheme!r} is not a whole number")
    _check_scheme(scheme)
    return scheme


def masked_finding_ids(masker: Any, findings: pd.DataFrame) -> list[str]:
    """:func:`finding_ids` of a findings table through ``masker`` (a
    :class:`qa.mask.ResultMasker`), worked out once per table object and kept on the masker, so
    the workbook, JSON and CSV of one result share them."""
    for table, ids in masker.ids_done:
        if table is findings:
            return ids
    ids = finding_ids(findings, memo=masker.memo)
    masker.ids_done.append((findings, ids))
    return ids
