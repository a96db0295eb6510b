"""Finding the input files and dispatching each to the reader of its format."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence


from qa.errors import InputError
from qa.ingest.table import _Notes, _Options, _Table
from qa.ingest.delimited import _read_delimited
from qa.ingest.spreadsheet import _read_excel


TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
EXCEL_EXTENSIONS = (".xlsx", ".xlsm")


# --------------------------------------------------------------------------- finding inputs


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Turn files, directories and globs into a list of supported files, each once (raises
    InputError for a missing input, as :func:`load_inputs` does)."""
    return _expand_inputs(inputs)


def _expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Turn files, directories and globs into a list of supported files, each once."""
    if isinstance(inputs, str):  # a lone path would otherwise be read letter by letter
        inputs = [inputs]
    if not inputs:
        raise InputError("no input files given")
    paths: list[str] = []
    seen: set[str] = set()
    for item in inputs:
        for path in _expand_one(str(item)):
            key = os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                paths.append(path)
    return paths


def _expand_one(item: str) -> list[str]:
    if os.path.isdir(item):
        found = [os.path.join(item, name) for name in sorted(os.listdir(item))]
        found = [p for p in found if os.path.isfile(p) and _is_listed_input(p)]
        if not found:
            raise InputError(f"no supported files in {item} (.csv, .tsv, .txt, .xlsx)")
        return found
    if os.path.isfile(item):
        if not _has_supported_extension(item):
            raise InputError(f"unsupported file type: {item} (use .csv, .tsv, .txt or .xlsx)")
        return [item]
    if glob.has_magic(item):
        found = [p for p in sorted(glob.glob(item)) if os.path.isfile(p) and _is_listed_input(p)]
        if not found:
            raise InputError(f"no supported files match {item}")
        return found
    raise InputError(f"no such file: {item}")


def _has_supported_extension(path: str) -> bool:
    return path.lower().endswith(TEXT_EXTENSIONS + EXCEL_EXTENSIONS)


def _is_listed_input(path: str) -> bool:
    """Whether a file found by a directory or glob is a chat log rather than a side file."""
    name = os.path.basename(path)
    if name.startswith((".", "~$")):  # hidden files, Excel lock files
        return False
    if name.lower().startswith("readme"):
        return False
    return _has_supported_extension(name)


def _read_table(path: str, options: _Options, notes: _Notes) -> _Table:
    if path.lower().endswith(EXCEL_EXTENSIONS):
        return _read_excel(path, options, notes)
    return _read_delimited(path, options, notes)
