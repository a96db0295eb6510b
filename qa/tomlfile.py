"""Reading the project's TOML files (rules, packs, config) with one-line errors."""

from __future__ import annotations

import pickle
import sys
import tomllib
from pathlib import Path
from typing import Any

from qa.errors import QAError


def read_toml(path: Path, error: type[QAError] = QAError) -> tuple[dict[str, Any], str]:
    """The parsed table and the text (for file:line messages); unreadable or invalid TOML
    raises ``error`` naming the file."""
    text = read_text(path, error)
    return parse_toml(text, path, error), text


def read_text(path: Path, error: type[QAError] = QAError) -> str:
    """The UTF-8 text of ``path``; an unreadable file raises ``error`` naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{path}: cannot read: {problem}") from None


def parse_toml(text: str, path: Path, error: type[QAError] = QAError) -> dict[str, Any]:
    """The table of a TOML ``text`` read from ``path``; invalid TOML raises ``error`` naming it."""
    try:
        return _loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{path}: not valid TOML: {problem}") from None


# The parsed tables kept between runs (see _loads), created on first use.
_parsed: Any = None


def _loads(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``, kept between runs in qa's cache folder, one file per Python
    version (tomllib is Python's), as :mod:`qa.regexcache` keeps compiled patterns: parsing
    the rule files took 16 ms of every audit, unpickling them takes one. The table is kept
    pickled, so every call gets a table of its own (the loaders change theirs). Errors are
    not kept."""
    global _parsed
    if _parsed is None:
        from qa.regexcache import KeptDict, cache_dir

        def path() -> Path | None:
            folder = cache_dir()
            version = ".".join(map(str, sys.version_info[:3]))  # tomllib is Python's own
            return None if folder is None else folder / f"toml-py{version}.pickle"

        _parsed = KeptDict(path, _MAX_KEPT)
    return pickle.loads(_parsed.get(text, lambda: pickle.dumps(tomllib.loads(text), protocol=pickle.HIGHEST_PROTOCOL)))


# Past this many files' tables only those this process read are written back.
_MAX_KEPT = 2000


def line_of(text: str, key: str) -> int:
    """Line (1-based) of ``key`` in a TOML text, for file:line messages; 1 when not found.

    A dotted key (``points.major``, ``rules.x.veto``) is looked up under the deepest table
    header that is a prefix of it; a plain key is its first ``key = ...`` line or its table
    header (``[key]``, or ``[params.key]`` / ``[[params.key]]`` in a rule file).
    """
    parts = key.split(".")
    lines = text.splitlines()
    if len(parts) > 1:
        for depth in range(len(parts), 0, -1):
            header = "[" + ".".join(parts[:depth]) + "]"
            rest = parts[depth:]
            for number, line in enumerate(lines, start=1):
                if line.strip().replace(" ", "") != header.replace(" ", ""):
                    continue
                if not rest:
                    return number
                for offset, inner in enumerate(lines[number:], start=number + 1):
                    stripped = inner.strip()
                    if stripped.startswith("["):
                        break
                    if stripped.split("=", 1)[0].strip().strip('"') == rest[0]:
                        return offset
                return number
        key = parts[0]
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith(key) and stripped[len(key) :].lstrip()[:1] in ("=", ""):
            return number
        if stripped in (f"[{key}]", f"[params.{key}]", f"[[params.{key}]]"):
            return number
    return 1
