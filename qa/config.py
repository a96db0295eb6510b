"""Project configuration: ``qa.toml`` in the working folder, or ``[tool.qa]`` in its
``pyproject.toml``. Command-line options win over it.

    rules = ["rules-shop/"]          # rule packs applied over the built-in rules
    timezone = "Asia/Shanghai"
    working_hours = "09:00-23:00"    # sets slow-reply's working hours
    mask = true
    fail_on = "major"
    history = "reports/qa-history.sqlite"   # record every audit (off when not set)
    suppress = ["rules/suppressions.toml"]  # from qa review --emit-suppressions
    lang = "zh"
    max_sheet_cells = 20000000       # Excel input: rows x columns from A1 to the farthest value
    max_xlsx_part_mb = 512           # Excel input: shared strings or one sheet's XML, inflated
    [columns]
    session_id = "会话ID"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.tomlfile import line_of, read_toml

KEYS = {
    "rules", "columns", "timezone", "working_hours", "mask", "fail_on", "lang", "encoding",
    "agent_pattern", "sheet", "history", "suppress", "max_sheet_cells", "max_xlsx_part_mb",
}
FIELDS = {"session_id", "text", "role", "timestamp", "seq", "agent", "sender"}


@dataclass
class ProjectConfig:
    """Settings read from a config file; ``None`` = not set there."""

    path: Path | None = None
    rules: list[Path] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    working_hours: str | None = None
    mask: bool | None = None
    fail_on: str | None = None
    lang: str | None = None
    encoding: str | None = None
    agent_pattern: str | None = None
    sheet: str | None = None
    history: str | bool | None = None  # a path (relative to the config file) or true/false
    suppress: list[str] = field(default_factory=list)  # suppression files
    max_sheet_cells: int | None = None
    max_xlsx_part_mb: int | None = None


def _string(data: dict, key: str, path: Path, text: str, choices: tuple[str, ...] = ()) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or (choices and value not in choices):
        allowed = f" ({', '.join(choices)})" if choices else ""
        raise QAError(f"{path}:{line_of(text, key)}: {key} must be a string{allowed}; got {value!r}")
    return value


def _positive(data: dict, key: str, path: Path, text: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise QAError(f"{path}:{line_of(text, key)}: {key} must be a positive whole number; got {value!r}")
    return value


def parse_config(data: dict[str, Any], path: Path, text: str) -> ProjectConfig:
    """Validate a config table; unknown keys and wrong types name the file and line."""
    for key in data:
        if key not in KEYS:
            raise QAError(f"{path}:{line_of(text, key)}: unknown key '{key}' (allowed: {', '.join(sorted(KEYS))})")
    rules = data.get("rules", [])
    if isinstance(rules, str):
        rules = [rules]
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise QAError(f"{path}:{line_of(text, 'rules')}: rules must be a list of paths")
    columns = data.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise QAError(f"{path}:{line_of(text, 'columns')}: [columns] maps fields to column names")
    for name in columns:
        if name not in FIELDS:
            raise QAError(f"{path}:{line_of(text, name)}: unknown field '{name}' in [columns] (fields: {', '.join(sorted(FIELDS))})")
    mask = data.get("mask")
    if mask is not None and not isinstance(mask, bool):
        raise QAError(f"{path}:{line_of(text, 'mask')}: mask must be true or false")
    history = data.get("history")
    if history is not None and not isinstance(history, (str, bool)):
        raise QAError(f"{path}:{line_of(text, 'history')}: history must be a path or true/false")
    suppress = data.get("suppress", [])
    suppress = [suppress] if isinstance(suppress, str) else suppress
    if not isinstance(suppress, list) or not all(isinstance(p, str) for p in suppress):
        raise QAError(f"{path}:{line_of(text, 'suppress')}: suppress must be a list of suppression files")
    return ProjectConfig(
        path=path,
        rules=[(path.parent / r) for r in rules],
        columns=dict(columns),
        timezone=_string(data, "timezone", path, text),
        working_hours=_string(data, "working_hours", path, text),
        mask=mask,
        fail_on=_string(data, "fail_on", path, text, ("never", "minor", "major", "critical")),
        lang=_string(data, "lang", path, text, ("zh", "en")),
        encoding=_string(data, "encoding", path, text),
        agent_pattern=_string(data, "agent_pattern", path, text),
        sheet=_string(data, "sheet", path, text),
        history=history,
        suppress=list(suppress),
        max_sheet_cells=_positive(data, "max_sheet_cells", path, text),
        max_xlsx_part_mb=_positive(data, "max_xlsx_part_mb", path, text),
    )


def load_config(explicit: Path | None = None, folder: Path | None = None) -> ProjectConfig:
    """The config given with ``--config``, else ``qa.toml`` or ``[tool.qa]`` in ``pyproject.toml``
    in ``folder`` (default the working folder); an empty config when there is none."""
    if explicit is not None:
        if not explicit.is_file():
            raise QAError(f"no such config file: {explicit}")
        data, text = read_toml(explicit)
        table = data.get("tool", {}).get("qa", data) if explicit.name == "pyproject.toml" else data
        return parse_config(table, explicit, text)
    folder = folder or Path.cwd()
    qa_toml = folder / "qa.toml"
    if qa_toml.is_file():
        data, text = read_toml(qa_toml)
        return parse_config(data, qa_toml, text)
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        data, text = read_toml(pyproject)
        table = data.get("tool", {}).get("qa")
        if isinstance(table, dict):
            return parse_config(table, pyproject, text)
    return ProjectConfig()


def configured_history(config: Any) -> Path | None:
    """The history file qa.toml asks for: ``history = "path"`` (relative to the config file's
    folder) or ``history = true`` (:data:`qa.history.DEFAULT_HISTORY`); None when not set."""
    value = getattr(config, "history", None)
    if value is None or value is False:
        return None
    if value is True:
        from qa.history import DEFAULT_HISTORY  # (an audit without a history does not import qa.history)

        return DEFAULT_HISTORY
    path = Path(value)
    if not path.is_absolute() and getattr(config, "path", None) is not None:
        path = Path(config.path).parent / path
    return path


def configured_suppressions(config: Any) -> list[Path]:
    """Suppression files qa.toml lists (``suppress = ["suppressions.toml"]``), if any."""
    value = getattr(config, "suppress", None) or []
    if isinstance(value, (str, Path)):
        value = [value]
    base = Path(config.path).parent if getattr(config, "path", None) is not None else Path()
    return [Path(p) if Path(p).is_absolute() else base / p for p in value]
