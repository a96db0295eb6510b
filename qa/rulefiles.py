"""Where the built-in rule data lives and how a rule or class file's list files are read.

Low level on purpose: :mod:`qa.rules` (rule files) and :mod:`qa.classes` (``classes.toml``)
both read list files, and the scoring, credits and class loaders find their built-in files
beside the rules; none of them may import another for it (that closed import cycles).
"""

from __future__ import annotations

import re
from pathlib import Path

from qa.errors import RuleError
from qa.tomlfile import line_of

_COMMENT = re.compile(r"(?:^|\s)#")


def builtin_rules_dir() -> Path:
    """The folder holding the built-in rules (the repository's ``rules/`` when run from source)."""
    package = Path(__file__).resolve().parent
    source_tree = package.parent / "rules"
    if (source_tree / "forbidden-phrase.toml").is_file():
        return source_tree
    # Installed: the wheel ships rules/ as the data folder qa/builtin_rules (see pyproject).
    return package / "builtin_rules"


def rule_error(path: Path, text: str, key: str, problem: str) -> RuleError:
    """A RuleError naming ``path`` and the line of ``key`` (its last dotted part) in ``text``."""
    return RuleError(f"{path}:{line_of(text, key.split('.')[-1])}: {problem}")


def read_list_file(path: Path, rule_path: Path, text: str, key: str) -> list[str]:
    """Entries of a list file: a .txt (one per line, # comments), or one column of a .csv or
    .xlsx sheet (``禁语库.xlsx#禁语`` names the column; default the first), as QA teams keep
    their 禁语库 in spreadsheets. Problems are RuleErrors at ``key`` of ``rule_path``."""
    column = None
    if "#" in path.name and path.suffix.split("#")[0].lower() in (".csv", ".xlsx"):
        name, column = path.name.split("#", 1)
        path = path.with_name(name)
    if not path.is_file():
        raise rule_error(rule_path, text, key, f"{key}: list file not found: {path}")
    if path.suffix.lower() in (".csv", ".xlsx"):
        return _read_list_sheet(path, column, rule_path, text, key)
    entries = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        # A comment starts with # at the line start or after a space, so entries may contain #
        # (kaomoji such as (#^.^#), JD codes #E-s57); \# at the start escapes a leading #.
        # A line without # is its entry (most lines: a model file has ten thousand).
        if "#" not in line:
            entry = line.strip()
        else:
            entry = line.strip()[1:] if line.lstrip().startswith("\\#") else _COMMENT.split(line, 1)[0].strip()
        if entry:
            entries.append(entry)
    return entries


def _read_list_sheet(path: Path, column: str | None, rule_path: Path, text: str, key: str) -> list[str]:
    # pandas is imported here, not at the top: rule loading must not pay for it unless a list
    # is kept in a spreadsheet.
    import pandas as pd

    try:
        if path.suffix.lower() == ".xlsx":
            table = pd.read_excel(path, engine="calamine", dtype=str)
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as error:  # any reader failure is a rule-pack problem to report
        raise rule_error(rule_path, text, key, f"{key}: cannot read {path}: {error}") from None
    if table.shape[1] == 0:
        raise rule_error(rule_path, text, key, f"{key}: {path} has no columns")
    if column is not None and column not in table.columns:
        found = ", ".join(map(str, table.columns))
        raise rule_error(rule_path, text, key, f"{key}: no column '{column}' in {path}; found: {found}")
    values = table[column if column is not None else table.columns[0]].fillna("").astype(str)
    return [value.strip() for value in values if value.strip()]
