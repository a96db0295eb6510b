"""Load and validate rule files (TOML), the data half of "rules are data, checkers are code".

A rule file names a check type and gives its parameters::

    id = "forbidden-phrase"
    check = "phrase"
    severity = "major"
    [message]
    zh = "客服使用服务禁语「{match}」"
    en = "Agent used a forbidden expression '{match}'"
    [docs]
    what = "..."; why = "..."; bad = "..."; good = "..."
    [params]
    ...  # declared by the check type in qa/checks/

Unknown keys, wrong types and unknown check types are refused with the file and key named.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from qa.checks import CHECK_TYPES
from qa.checks.base import Param
from qa.errors import RuleError
from qa.model import Severity

TOP_LEVEL_KEYS = {"id", "check", "severity", "enabled", "message", "docs", "params"}
DOC_KEYS = ("what", "why", "bad", "good")
OPTIONAL_DOC_KEYS = ("source",)
MESSAGE_LANGS = ("zh", "en")
# Files in a rules folder that are not rules.
NON_RULE_FILES = {"scoring.toml"}


@dataclass(frozen=True)
class Rule:
    """One rule as loaded: public id, check type, severity, texts and validated parameters."""

    id: str
    check: str
    severity: Severity
    message: dict[str, str]
    docs: dict[str, str]
    params: dict[str, Any]
    path: Path
    enabled: bool = True
    source_text: str = field(default="", repr=False, compare=False)


def builtin_rules_dir() -> Path:
    """The folder holding the built-in rules (the repository's ``rules/`` when run from source)."""
    source_tree = Path(__file__).resolve().parent.parent / "rules"
    if (source_tree / "forbidden-phrase.toml").is_file():
        return source_tree
    return Path(str(resources.files("qa.builtin_rules")))


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.toml") if p.name not in NON_RULE_FILES)
    if path.is_file():
        return [path]
    raise RuleError(f"no such rule file or folder: {path}")


def _line_of(text: str, key: str) -> int:
    """First line (1-based) where ``key`` appears as a TOML key, for error messages."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(key) and stripped[len(key) :].lstrip()[:1] in ("=", ""):
            return number
        if stripped in (f"[{key}]", f"[params.{key}]", f"[[params.{key}]]"):
            return number
    return 1


def _fail(path: Path, text: str, key: str, problem: str) -> RuleError:
    return RuleError(f"{path}:{_line_of(text, key.split('.')[-1])}: {problem}")


def _read_list_file(path: Path, rule_path: Path, text: str, key: str) -> list[str]:
    if not path.is_file():
        raise _fail(rule_path, text, key, f"{key}: list file not found: {path}")
    entries = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        entry = line.split("#", 1)[0].strip() if not line.lstrip().startswith("\\#") else line.strip()[1:]
        if entry:
            entries.append(entry)
    return entries


def _validate_value(value: Any, spec: Param, key: str, rule_path: Path, text: str, base: Path) -> Any:
    kind = spec.kind
    if kind == "str":
        if not isinstance(value, str):
            raise _fail(rule_path, text, key, f"{key} must be a string, got {type(value).__name__}")
        if spec.choices and value not in spec.choices:
            raise _fail(rule_path, text, key, f"{key} must be one of {', '.join(spec.choices)}; got '{value}'")
        return value
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(rule_path, text, key, f"{key} must be a whole number, got {value!r}")
        return value
    if kind == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _fail(rule_path, text, key, f"{key} must be a number, got {value!r}")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(rule_path, text, key, f"{key} must be true or false, got {value!r}")
        return value
    if kind == "strings":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(rule_path, text, key, f"{key} must be a list of strings")
        return list(value)
    if kind == "table":
        if not isinstance(value, dict):
            raise _fail(rule_path, text, key, f"{key} must be a table")
        return _validate_params(value, spec.fields, rule_path, text, base, prefix=f"{key}.")
    if kind == "tables":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _fail(rule_path, text, key, f"{key} must be a list of tables ([[params.{key}]])")
        return [
            _validate_params(item, spec.fields, rule_path, text, base, prefix=f"{key}.")
            for item in value
        ]
    raise AssertionError(f"unknown parameter kind {kind}")  # a bug in a check type declaration


def _validate_params(
    raw: dict[str, Any], specs: dict[str, Param], rule_path: Path, text: str, base: Path, prefix: str = ""
) -> dict[str, Any]:
    """Check ``raw`` against the declared ``specs``; resolve ``*_file`` lists; fill defaults."""
    known = set(specs) | {f"{name}_file" for name, spec in specs.items() if spec.kind == "strings"}
    for key in raw:
        if key not in known:
            allowed = ", ".join(sorted(known)) or "none"
            raise _fail(rule_path, text, key, f"unknown key '{prefix}{key}' (allowed: {allowed})")
    params: dict[str, Any] = {}
    for name, spec in specs.items():
        present = name in raw
        if spec.kind == "strings":
            items: list[str] = []
            if present:
                items.extend(_validate_value(raw[name], spec, prefix + name, rule_path, text, base))
            file_key = f"{name}_file"
            if file_key in raw:
                files = raw[file_key] if isinstance(raw[file_key], list) else [raw[file_key]]
                for file_name in files:
                    if not isinstance(file_name, str):
                        raise _fail(rule_path, text, file_key, f"{prefix}{file_key} must be a file name")
                    items.extend(_read_list_file(base / file_name, rule_path, text, file_key))
                present = True
            if not present:
                if spec.required:
                    raise _fail(rule_path, text, name, f"missing required key '{prefix}{name}'")
                items = list(spec.default or [])
            elif spec.required and not items:
                raise _fail(rule_path, text, name, f"'{prefix}{name}' is empty")
            params[name] = items
            continue
        if not present:
            if spec.required:
                raise _fail(rule_path, text, name, f"missing required key '{prefix}{name}'")
            params[name] = spec.default
            continue
        params[name] = _validate_value(raw[name], spec, prefix + name, rule_path, text, base)
    return params


def load_rule_file(path: Path) -> Rule:
    """Load and validate one rule file."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RuleError(f"{path}: not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RuleError(f"{path}: cannot read: {error}") from None

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise _fail(path, text, key, f"unknown key '{key}' (allowed: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    for key in ("id", "check", "severity", "message", "docs"):
        if key not in data:
            raise RuleError(f"{path}:1: missing required key '{key}'")
    rule_id = data["id"]
    if not isinstance(rule_id, str) or not rule_id:
        raise _fail(path, text, "id", "id must be a non-empty string")
    check_name = data["check"]
    if check_name not in CHECK_TYPES:
        raise _fail(path, text, "check", f"unknown check type '{check_name}' (known: {', '.join(sorted(CHECK_TYPES))})")
    try:
        severity = Severity(data["severity"])
    except ValueError:
        raise _fail(path, text, "severity", f"severity must be minor, major or critical; got {data['severity']!r}") from None
    message = data["message"]
    if not isinstance(message, dict) or "zh" not in message:
        raise _fail(path, text, "message", "[message] needs at least zh = \"...\"")
    for lang, template in message.items():
        if lang not in MESSAGE_LANGS or not isinstance(template, str):
            raise _fail(path, text, lang, f"[message] keys are {', '.join(MESSAGE_LANGS)} with string values")
    docs = data["docs"]
    if not isinstance(docs, dict):
        raise _fail(path, text, "docs", "[docs] must be a table")
    for key in docs:
        if key not in DOC_KEYS + OPTIONAL_DOC_KEYS:
            raise _fail(path, text, key, f"unknown key 'docs.{key}' (allowed: {', '.join(DOC_KEYS + OPTIONAL_DOC_KEYS)})")
    for key in DOC_KEYS:
        if not isinstance(docs.get(key), str) or not docs[key].strip():
            raise _fail(path, text, "docs", f"[docs] needs a non-empty '{key}'")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(path, text, "enabled", "enabled must be true or false")
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise _fail(path, text, "params", "[params] must be a table")
    check_type = CHECK_TYPES[check_name]
    params = _validate_params(raw_params, check_type.params, path, text, path.parent)
    return Rule(
        id=rule_id,
        check=check_name,
        severity=severity,
        message=dict(message),
        docs=dict(docs),
        params=params,
        path=path,
        enabled=enabled,
        source_text=text,
    )


def load_rules(extra: list[Path] | None = None, *, include_builtin: bool = True) -> list[Rule]:
    """Load the built-in rules, then each extra file or folder; a later rule replaces an
    earlier one with the same id. Returns rules sorted by id."""
    paths: list[Path] = [builtin_rules_dir()] if include_builtin else []
    paths.extend(extra or [])
    by_id: dict[str, Rule] = {}
    for path in paths:
        seen_here: dict[str, Path] = {}
        for file_path in _rule_files(Path(path)):
            rule = load_rule_file(file_path)
            if rule.id in seen_here:
                raise RuleError(f"{file_path}:1: duplicate rule id '{rule.id}' (also in {seen_here[rule.id]})")
            seen_here[rule.id] = file_path
            by_id[rule.id] = rule
    return [by_id[key] for key in sorted(by_id)]


def rules_hash(rules: list[Rule]) -> str:
    """A short hash of the rule files' contents, shown in reports as the rules version."""
    digest = hashlib.sha256()
    for rule in rules:
        digest.update(rule.id.encode())
        digest.update(rule.source_text.encode())
        digest.update(repr(sorted(rule.params.items(), key=lambda kv: kv[0])).encode())
    return digest.hexdigest()[:12]
