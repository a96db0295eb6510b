"""Load and validate rule files (TOML), the data half of "rules are data, checkers are code".

A rule file names a check type and gives its parameters::

    id = "forbidden-phrase"
    check = "phrase"
    severity = "major"
    suppress_by_text = true   # optional; default: the check type's (false for timing checks)
    yields_to = ["forbidden-phrase:critical"]  # optional: no finding where that rule found this much
    asked_from = ["forbidden-phrase:contempt"]  # optional: that rule's finding, asked as a question, is this one's too
    [name]                    # display names in the reports (default: the id)
    zh = "服务禁语"
    en = "Forbidden phrase"
    [message]
    zh = "客服使用服务禁语「{match}」"
    en = "Agent used a forbidden expression '{match}'"
    [docs]
    what = "..."; why = "..."; bad = "..."; good = "..."
    [params]
    ...  # declared by the check type in qa/checktypes/

Unknown keys, wrong types and unknown check types are refused with the file and key named.

Loading has two depths. Reading the files (keys, types, choices, list files, ids, packs) needs
only the check types' declarations (:mod:`qa.checktypes`). A deep load also runs each check
type's own ``validate`` (does a regex compile, is it RE2) and compiles the shared classes,
which imports the checks' code (pandas, pyarrow, regex): every audit and ``qa rules check``
load deeply; listing and explaining rules reads the files only, and starts instantly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qa.checktypes import CHECK_TYPES
from qa.checktypes.base import Param
from qa.errors import RuleError
from qa.model import Severity
from qa.rulefiles import builtin_rules_dir, read_list_file
from qa.rulefiles import rule_error as _fail
from qa.tomlfile import line_of, read_toml

TOP_LEVEL_KEYS = {"id", "check", "severity", "enabled", "name", "suppress_by_text", "yields_to", "asked_from", "message",
                  "docs", "params"}
# Keys of a pack file that changes an existing rule (it has no ``check``).
PATCH_KEYS = {"id", "severity", "enabled", "name", "suppress_by_text", "yields_to", "asked_from", "message", "docs", "params", "add",
              "remove"}
DOC_KEYS = ("what", "why", "bad", "good")
OPTIONAL_DOC_KEYS = ("source",)
MESSAGE_LANGS = ("zh", "en")
NAME_LANGS = ("zh", "en")
# Files in a rules folder that are not rules.
NON_RULE_FILES = {"scoring.toml", "qa.toml", "pyproject.toml", "classes.toml"}
# Rule test cases kept beside a pack: <anything>.cases.toml (same format as tests/rules/).
CASE_SUFFIX = ".cases.toml"


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
    # Where the rule was defined and every pack that changed it: ("built-in", "shop/pack.toml").
    origin: tuple[str, ...] = ("built-in",)
    # The shared semantic classes (qa.classes.ClassSet) of the audit: built-in plus the packs'
    # classes.toml; None = the built-in ones.
    classes: Any = field(default=None, repr=False, compare=False)
    # Display names by language ([name] zh/en); the reports fall back to the id.
    name: dict[str, str] = field(default_factory=dict)
    # Whether a finding can be suppressed by its text, and whether the suppression also names
    # the customer message it answered (the check type's declaration unless the file says).
    suppress_by_text: bool = True
    suppress_context: bool = True
    # (rule id, least severity or None): this rule makes no finding on a message where that rule
    # made one at least that severe (abuse phrased as a question is abuse, not also a rhetorical question)
    yields_to: tuple[tuple[str, Severity | None], ...] = ()
    # (rule id, categories or ()): that rule's finding (of one of those categories of its phrase lists) whose
    # words stand in a sentence asked as a question is this rule's finding too (同一个问题我答了五回了，您还要再问吗)
    asked_from: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def label(self, lang: str) -> str:
        """The rule's display name in ``lang`` (zh/en), else its id."""
        return rule_label(self.id, lang, {self.id: self.name})


def rule_label(rule_id: str, lang: str, names: dict[str, dict[str, str]]) -> str:
    """The name a supervisor reads for a rule: ``names[rule_id]`` in ``lang`` (zh/en), else
    its public id (a rule file without [name], or an id no loaded rule has)."""
    return (names.get(rule_id) or {}).get(lang) or rule_id


def rule_names(rules: list[Rule]) -> dict[str, dict[str, str]]:
    """Rule id -> its [name] table, for :func:`rule_label`."""
    return {rule.id: dict(rule.name) for rule in rules}


def builtin_rule_names() -> dict[str, dict[str, str]]:
    """The built-in rules' display names, read from their files' [name] tables without
    loading the rules (for data written before workbooks carried the names)."""
    names = {}
    for path in _rule_files(builtin_rules_dir()):
        data, _ = _read_toml(path)
        if isinstance(data.get("id"), str) and isinstance(data.get("name"), dict):
            names[data["id"]] = {k: v for k, v in data["name"].items() if isinstance(v, str)}
    return names


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        if not any(path.glob("*.toml")):  # (a mistyped or empty pack folder changes nothing: say so)
            raise RuleError(f"rule pack {path} holds no .toml file (rules, classes.toml, scoring.toml, credits)")
        return sorted(
            p for p in path.glob("*.toml") if p.name not in NON_RULE_FILES and not p.name.endswith(CASE_SUFFIX)
        )
    if path.is_file():
        return [path]
    raise RuleError(f"no such rule file or folder: {path}")


def _validate_value(
    value: Any, spec: Param, key: str, rule_path: Path, text: str, base: Path, partial: bool = False
) -> Any:
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
        return _validate_params(value, spec.fields, rule_path, text, base, prefix=f"{key}.", partial=partial)
    if kind == "tables":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _fail(rule_path, text, key, f"{key} must be a list of tables ([[params.{key}]])")
        return [
            _validate_params(item, spec.fields, rule_path, text, base, prefix=f"{key}.", partial=partial)
            for item in value
        ]
    raise AssertionError(f"unknown parameter kind {kind}")  # a bug in a check type declaration


def _validate_params(
    raw: dict[str, Any],
    specs: dict[str, Param],
    rule_path: Path,
    text: str,
    base: Path,
    prefix: str = "",
    partial: bool = False,
) -> dict[str, Any]:
    """Check ``raw`` against the declared ``specs``; resolve ``*_file`` lists; fill defaults.

    With ``partial`` (a pack patching a rule) only the keys present are returned and nothing
    is required."""
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
                    items.extend(read_list_file(base / file_name, rule_path, text, file_key))
                present = True
            if not present:
                if partial:
                    continue
                if spec.required:
                    raise _fail(rule_path, text, name, f"missing required key '{prefix}{name}'")
                items = list(spec.default or [])
            elif spec.required and not items:
                raise _fail(rule_path, text, name, f"'{prefix}{name}' is empty")
            params[name] = items
            continue
        if not present:
            if partial:
                continue
            if spec.required:
                raise _fail(rule_path, text, name, f"missing required key '{prefix}{name}'")
            params[name] = spec.default
            continue
        params[name] = _validate_value(raw[name], spec, prefix + name, rule_path, text, base, partial)
    return params


def _read_toml(path: Path) -> tuple[dict[str, Any], str]:
    return read_toml(path, RuleError)


def _check_texts(data: dict[str, Any], path: Path, text: str, partial: bool) -> None:
    """Validate the [message] and [docs] tables (complete ones unless ``partial``)."""
    message = data.get("message", {})
    if not isinstance(message, dict) or (not partial and "zh" not in message):
        raise _fail(path, text, "message", "[message] needs at least zh = \"...\"")
    for lang, template in message.items():
        if lang not in MESSAGE_LANGS or not isinstance(template, str):
            raise _fail(path, text, lang, f"[message] keys are {', '.join(MESSAGE_LANGS)} with string values")
    docs = data.get("docs", {})
    if not isinstance(docs, dict):
        raise _fail(path, text, "docs", "[docs] must be a table")
    for key, value in docs.items():
        if key not in DOC_KEYS + OPTIONAL_DOC_KEYS:
            raise _fail(path, text, key, f"unknown key 'docs.{key}' (allowed: {', '.join(DOC_KEYS + OPTIONAL_DOC_KEYS)})")
        if not isinstance(value, str) or not value.strip():
            raise _fail(path, text, key, f"docs.{key} must be a non-empty string")
    if not partial:
        for key in DOC_KEYS:
            if key not in docs:
                raise _fail(path, text, "docs", f"[docs] needs a non-empty '{key}'")


def _check_name(data: dict[str, Any], path: Path, text: str) -> dict[str, str]:
    """Validate the optional [name] table (display names): zh/en, non-empty strings."""
    name = data.get("name", {})
    if not isinstance(name, dict):
        raise _fail(path, text, "name", "[name] must be a table (zh = \"...\", en = \"...\")")
    for lang, value in name.items():
        if lang not in NAME_LANGS or not isinstance(value, str) or not value.strip():
            raise _fail(path, text, lang, f"[name] keys are {', '.join(NAME_LANGS)} with non-empty string values")
    return dict(name)


def _true_or_false(data: dict[str, Any], path: Path, text: str, key: str, default: bool) -> bool:
    """The value of a true/false ``key`` of a rule file, ``default`` when it is absent."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise _fail(path, text, key, f"{key} must be true or false")
    return value


def _rule_references(data: dict[str, Any], path: Path, text: str, key: str, default: tuple, usage: str,
                     parse: Callable[[str, str, str], Any]) -> tuple:
    """``data[key]``: a list of "rule-id" or "rule-id:detail", each parsed by ``parse(item, rule_id, detail)``
    (``default`` when the file does not set it; ``usage`` is the error for a value of another shape)."""
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise _fail(path, text, key, usage)
    out = []
    for item in value:
        rule_id, _, detail = item.partition(":")
        out.append(parse(item, rule_id.strip(), detail.strip()))
    return tuple(out)


def _yields_to(data: dict[str, Any], path: Path, text: str, default: tuple) -> tuple[tuple[str, Severity | None], ...]:
    """``yields_to``: a list of "rule-id" or "rule-id:severity" (that rule's finding at least that severe)."""

    def parse(item: str, rule_id: str, severity: str) -> tuple[str, Severity | None]:
        try:
            return rule_id, Severity(severity) if severity else None
        except ValueError:
            raise _fail(path, text, "yields_to", f"yields_to: unknown severity '{severity}' in '{item}' "
                                                 "(minor, major or critical)") from None

    return _rule_references(data, path, text, "yields_to", default,
                            'yields_to must be a list of rule ids, each optionally ":minor", ":major" '
                            'or ":critical" (e.g. ["forbidden-phrase:critical"])', parse)


def _asked_from(data: dict[str, Any], path: Path, text: str, default: tuple) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``asked_from``: a list of "rule-id" or "rule-id:category,category" (that rule's findings of those
    categories, asked as a question, are this rule's too)."""
    return _rule_references(data, path, text, "asked_from", default,
                            'asked_from must be a list of rule ids, each optionally with ":" and its '
                            'categories (e.g. ["forbidden-phrase:abuse,contempt"])',
                            lambda item, rule_id, categories: (rule_id, tuple(
                                c.strip() for c in categories.split(",") if c.strip())))


def _severity(data: dict[str, Any], path: Path, text: str) -> Severity:
    try:
        return Severity(data["severity"])
    except (ValueError, TypeError):
        raise _fail(path, text, "severity", f"severity must be minor, major or critical; got {data['severity']!r}") from None


def _rule_id(data: dict[str, Any], path: Path, text: str) -> str:
    if "id" not in data:
        raise RuleError(f"{path}:1: missing required key 'id'")
    rule_id = data["id"]
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise _fail(path, text, "id", "id must be a non-empty string")
    return rule_id


def load_rule_file(path: Path, *, deep: bool = True) -> Rule:
    """Load and validate one complete rule file (one that names its check type); ``deep``:
    as :func:`load_rules`."""
    data, text = _read_toml(path)
    return _full_rule(data, text, path, deep=deep)


def _full_rule(data: dict[str, Any], text: str, path: Path, origin: str = "built-in", deep: bool = True) -> Rule:
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise _fail(path, text, key, f"unknown key '{key}' (allowed: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    rule_id = _rule_id(data, path, text)
    check_name = data["check"]
    if check_name not in CHECK_TYPES:
        raise _fail(path, text, "check", f"unknown check type '{check_name}' (known: {', '.join(sorted(CHECK_TYPES))})")
    for key in ("severity", "message", "docs"):
        if key not in data:
            raise RuleError(f"{path}:1: missing required key '{key}'")
    _check_texts(data, path, text, partial=False)
    name = _check_name(data, path, text)
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise _fail(path, text, "params", "[params] must be a table")
    params = _validate_params(raw_params, CHECK_TYPES[check_name].params, path, text, path.parent)
    if deep:
        _run_check_validation(check_name, params, path, text)
    return Rule(
        id=rule_id,
        check=check_name,
        severity=_severity(data, path, text),
        message=dict(data["message"]),
        docs=dict(data["docs"]),
        params=params,
        path=path,
        enabled=_true_or_false(data, path, text, "enabled", True),
        source_text=text,
        origin=(origin,),
        name=name,
        suppress_by_text=_true_or_false(data, path, text, "suppress_by_text", CHECK_TYPES[check_name].suppress_by_text),
        suppress_context=CHECK_TYPES[check_name].suppress_context,
        yields_to=_yields_to(data, path, text, ()),
        asked_from=_asked_from(data, path, text, ()),
    )


def with_params(rule: Rule, overrides: dict[str, Any], where: Path) -> Rule:
    """``rule`` with some parameters replaced, validated exactly as a rule file's (unknown
    keys, types, the check type's own checks), so that a typo in a test case or a config
    fails with ``where`` and its line instead of silently changing nothing."""
    text = where.read_text(encoding="utf-8") if where.is_file() else ""
    changed = _validate_params(overrides, CHECK_TYPES[rule.check].params, where, text, where.parent, partial=True)
    params = {**rule.params, **changed}
    _run_check_validation(rule.check, params, where, text)
    return replace(rule, params=params)


def _run_check_validation(check_name: str, params: dict[str, Any], path: Path, text: str) -> None:
    validate = CHECK_TYPES[check_name].validate
    if validate is None:
        return
    problems = validate(params)
    if problems:
        key, problem = problems[0]
        raise _fail(path, text, key, problem)


def _merge_tables(base: list[dict], patch: list[dict], key: str, path: Path, text: str, specs) -> list[dict]:
    """Merge a patch's [[params.X]] tables into the base list by their ``name``."""
    merged = [dict(item) for item in base]
    by_name = {item.get("name"): item for item in merged}
    for item in patch:
        name = item.get("name")
        if name is None:
            raise _fail(path, text, key, f"each [[params.{key}]] in a pack needs a name")
        if name in by_name:
            by_name[name].update(item)
            continue
        missing = [f for f, spec in specs.items() if spec.required and f not in item]
        if missing:
            raise _fail(path, text, key, f"new {key} '{name}' lacks {', '.join(missing)}")
        complete = {f: item.get(f, spec.default) for f, spec in specs.items()}
        merged.append(complete)
        by_name[name] = complete
    return merged


def _apply_list_edits(
    params: dict[str, Any], edits: Any, specs: dict[str, Param], path: Path, text: str, section: str, adding: bool
) -> None:
    """[add] / [remove]: append entries to, or remove them from, list parameters.

    ``[add] exceptions = [...]`` edits a list parameter; ``[add.categories.impatience]
    phrases = [...]`` edits a list inside one named table of a table list."""
    if not isinstance(edits, dict):
        raise _fail(path, text, section, f"[{section}] must be a table")
    for key, value in edits.items():
        spec = specs.get(key.removesuffix("_file"))
        if spec is None:
            raise _fail(path, text, key, f"unknown key '{section}.{key}'")
        if spec.kind == "strings":
            entries = _validate_params({key: value}, {key.removesuffix("_file"): spec}, path, text, path.parent, partial=True)
            entries = entries[key.removesuffix("_file")]
            current = params[key.removesuffix("_file")]
            params[key.removesuffix("_file")] = (
                current + [e for e in entries if e not in current] if adding else [e for e in current if e not in entries]
            )
        elif spec.kind == "tables" and isinstance(value, dict):
            tables = params[key]
            for name, inner in value.items():
                target = next((t for t in tables if t.get("name") == name), None)
                if target is None:
                    known = ", ".join(str(t.get("name")) for t in tables)
                    raise _fail(path, text, name, f"[{section}.{key}.{name}]: no {key} named '{name}' (known: {known})")
                _apply_list_edits(target, inner, spec.fields, path, text, f"{section}.{key}.{name}", adding)
        else:
            raise _fail(path, text, key, f"[{section}] edits lists; '{key}' is not a list parameter")


def _patched_rule(base: Rule, data: dict[str, Any], text: str, path: Path, deep: bool = True) -> Rule:
    """A pack file without ``check`` changes an existing rule: severity, enabled, message,
    docs, parameters (replaced), and list entries added or removed."""
    for key in data:
        if key not in PATCH_KEYS:
            raise _fail(path, text, key, f"unknown key '{key}' in a rule patch (allowed: {', '.join(sorted(PATCH_KEYS))})")
    _check_texts(data, path, text, partial=True)
    name = _check_name(data, path, text)
    specs = CHECK_TYPES[base.check].params
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise _fail(path, text, "params", "[params] must be a table")
    changes = _validate_params(raw_params, specs, path, text, path.parent, partial=True)
    params = {key: (list(v) if isinstance(v, list) else v) for key, v in base.params.items()}
    for key, value in changes.items():
        if specs[key].kind == "tables":
            params[key] = _merge_tables(params[key], value, key, path, text, specs[key].fields)
        else:
            params[key] = value
    if "add" in data:
        _apply_list_edits(params, data["add"], specs, path, text, "add", adding=True)
    if "remove" in data:
        _apply_list_edits(params, data["remove"], specs, path, text, "remove", adding=False)
    if deep:
        _run_check_validation(base.check, params, path, text)
    return Rule(
        id=base.id,
        check=base.check,
        severity=_severity(data, path, text) if "severity" in data else base.severity,
        message={**base.message, **data.get("message", {})},
        docs={**base.docs, **data.get("docs", {})},
        params=params,
        path=base.path,
        enabled=_true_or_false(data, path, text, "enabled", base.enabled),
        source_text=base.source_text + "\n" + text,
        origin=base.origin + (str(path),),
        name={**base.name, **name},
        suppress_by_text=_true_or_false(data, path, text, "suppress_by_text", base.suppress_by_text),
        suppress_context=base.suppress_context,
        yields_to=_yields_to(data, path, text, base.yields_to),
        asked_from=_asked_from(data, path, text, base.asked_from),
    )


def load_rules(extra: list[Path] | None = None, *, include_builtin: bool = True, deep: bool = True) -> list[Rule]:
    """Load the built-in rules, then apply each rule pack (a file or folder) in order.

    In a pack, a file that names a ``check`` defines a rule (a new id, or a complete
    replacement of an existing one); a file without ``check`` patches the rule with that id.
    Returns rules sorted by id.

    ``deep=False`` reads and checks the files only: the check types' own validations do not
    run and the classes are not loaded (the rules' ``classes`` stay None), so such rules are
    for showing, not for auditing."""
    by_id: dict[str, Rule] = {}
    classes = None
    if deep:
        from qa.classes import load_classes  # late: classes compile regexes with pyarrow and pandas

        # Classes first: a broken classes.toml is reported as file:line like a rule file.
        classes = load_classes(*[Path(p) for p in extra or []], include_builtin=True)
    if include_builtin:
        for file_path in _rule_files(builtin_rules_dir()):
            rule = load_rule_file(file_path, deep=deep)
            by_id[rule.id] = rule
    for pack in extra or []:
        seen_here: dict[str, Path] = {}
        for file_path in _rule_files(Path(pack)):
            data, text = _read_toml(file_path)
            rule_id = _rule_id(data, file_path, text)
            if rule_id in seen_here:
                raise RuleError(f"{file_path}:{line_of(text, 'id')}: duplicate rule id '{rule_id}' (also in {seen_here[rule_id]})")
            seen_here[rule_id] = file_path
            if "check" in data:
                by_id[rule_id] = _full_rule(data, text, file_path, origin=str(file_path), deep=deep)
            elif rule_id in by_id:
                by_id[rule_id] = _patched_rule(by_id[rule_id], data, text, file_path, deep=deep)
            else:
                raise _fail(file_path, text, "id", f"no rule '{rule_id}' to change; a new rule needs check = \"...\" "
                            f"(known check types: {', '.join(sorted(CHECK_TYPES))})")
    for rule in by_id.values():
        for other, _ in rule.yields_to:
            if other not in by_id:
                raise RuleError(f"{rule.path}: yields_to names no loaded rule '{other}' "
                                f"(known: {', '.join(sorted(by_id))})")
        for other, categories in rule.asked_from:
            if other not in by_id:
                raise RuleError(f"{rule.path}: asked_from names no loaded rule '{other}' "
                                f"(known: {', '.join(sorted(by_id))})")
            known = {category.get("name") for category in by_id[other].params.get("categories") or []}
            if unknown := [c for c in categories if c not in known]:
                raise RuleError(f"{rule.path}: asked_from: '{other}' has no category '{unknown[0]}' "
                                f"(known: {', '.join(sorted(k for k in known if k)) or 'none'})")
    if classes is not None:
        for rule in by_id.values():
            for category in rule.params.get("categories") or [] if rule.check == "phrase" else []:
                if unknown := [name for name in category.get("replies_to") or [] if name not in classes.classes]:
                    raise RuleError(f"{rule.path}: category '{category.get('name')}': replies_to names no class "
                                    f"'{unknown[0]}' (known: {', '.join(classes.names())})")
    return [replace(by_id[key], classes=classes) for key in sorted(by_id)]


def with_working_hours(rules: list[Rule], working_hours: str) -> list[Rule]:
    """The rules with ``working_hours`` set on every rule whose check type takes it (a
    project-wide setting from qa.toml)."""
    changed = []
    for rule in rules:
        if "working_hours" in CHECK_TYPES[rule.check].params:
            rule = replace(rule, params={**rule.params, "working_hours": working_hours})
        changed.append(rule)
    return changed


def result_rules_hash(result: Any) -> str:
    """:func:`rules_hash` of an audit result's rules, computed once per result and kept on it
    (the workbook, its review data and the history each show it; hashing the text of every
    parameter, a model of ten thousand lines among them, took several milliseconds a time)."""
    kept = result.__dict__.get("_qa_rules_hash")
    if kept is None or kept[0] is not result.rules:
        kept = result.__dict__["_qa_rules_hash"] = (result.rules, rules_hash(result.rules))
    return kept[1]


def rules_hash(rules: list[Rule]) -> str:
    """A short hash of the rule files' contents, shown in reports as the rules version."""
    digest = hashlib.sha256()
    for rule in rules:
        digest.update(rule.id.encode())
        digest.update(rule.source_text.encode())
        digest.update(repr(sorted(rule.params.items(), key=lambda kv: kv[0])).encode())
    return digest.hexdigest()[:12]
