"""Negation and condition scope: is a matched phrase negated or hypothetical?

A keyword hit is not a violation when it sits in the scope of a negator (并不是不给您处理,
我不投诉, 不会让您自己看着办) or of a condition (如果有不理解的地方随时问我, 万一过敏了…,
有什么问题随时找我). The rule is one mechanism, not a list of excepted sentences:

* the scope of a negator or condition marker runs from the marker to the end of its clause;
  clauses end at clause punctuation (and at a space between two longer runs of text, as chat
  writers use a space for a comma), or at a contrast word (但是, 不过 …);
* a negator only reaches ``window`` characters ahead (我不知道你们为什么不发货我要投诉 is not a
  negated 投诉), a condition reaches the whole clause;
* double negatives that affirm (不得不, 不能不) are not negators.

The word lists are rule data (``[negation]`` in ``rules/classes.toml``), so a pack can add a
negator; :func:`default_scope` gives the built-in one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import regex

DEFAULT_SEPARATORS = r"[,.!?;:。、…~]+|(?<=\S\S) (?=\S\S)|但是|可是|不过|然而"


@dataclass(frozen=True)
class Scope:
    """Compiled negation/condition settings (see the module docstring)."""

    negators: tuple[str, ...] = ("不是", "并不是", "没有", "不会", "不用", "无需", "不必", "没", "不", "别")
    conditions: tuple[str, ...] = ("如果", "万一", "要是", "假如", "若是", "倘若")
    exceptions: tuple[str, ...] = ("不得不", "不能不", "不会不", "不可能不", "没法不")
    clause_separators: str = DEFAULT_SEPARATORS
    window: int = 6
    # A one-character negator (不, 没, 别) reaches only this far: 没说要投诉, but not
    # 不满意我要投诉.
    short_window: int = 2
    _negator: Any = field(default=None, repr=False, compare=False)
    _condition: Any = field(default=None, repr=False, compare=False)
    _separator: Any = field(default=None, repr=False, compare=False)
    _exception: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        def alternation(items: tuple[str, ...], literal: bool) -> Any:
            kept = sorted({i for i in items if i}, key=len, reverse=True)
            if not kept:
                return None
            return regex.compile("|".join(regex.escape(i) if literal else f"(?:{i})" for i in kept))

        object.__setattr__(self, "_negator", alternation(self.negators, literal=True))
        # Conditions are regexes: 有[^,.!?]{0,8}(?:的地方|的话|问题)随时 is a condition too.
        object.__setattr__(self, "_condition", alternation(self.conditions, literal=False))
        object.__setattr__(self, "_exception", alternation(self.exceptions, literal=True))
        object.__setattr__(self, "_separator", regex.compile(self.clause_separators))

    def clause_start(self, text: str, position: int) -> int:
        """Start of the clause holding ``position`` (just after the last separator before it)."""
        start = 0
        for found in self._separator.finditer(text, 0, position):
            if found.end() <= position:
                start = found.end()
        return start

    def clause_end(self, text: str, position: int) -> int:
        """End of the clause holding ``position``."""
        found = self._separator.search(text, position)
        return found.start() if found else len(text)

    def negated(self, text: str, start: int, end: int) -> str | None:
        """The negator whose scope holds ``text[start:end]``, or None."""
        if self._negator is None:
            return None
        left = max(self.clause_start(text, start), start - self.window - 4)
        before = text[left:start]
        if self._exception is not None:
            before = self._exception.sub(lambda m: "#" * len(m.group()), before)
        last = None
        for found in self._negator.finditer(before, overlapped=True):
            # The nearest negator wins; at one position the longest (没有 over 没).
            if last is None or found.end() > last.end() or (found.end() == last.end() and len(found.group()) > len(last.group())):
                last = found
        if last is None:
            return None
        reach = self.window if len(last.group()) > 1 else self.short_window
        if len(before) - last.end() > reach:
            return None
        return last.group()

    def conditional(self, text: str, start: int, end: int) -> str | None:
        """The condition marker whose scope holds ``text[start:end]``, or None."""
        if self._condition is None:
            return None
        left = self.clause_start(text, start)
        found = self._condition.search(text, left, start)
        return found.group() if found else None

    def in_scope(self, text: str, start: int, end: int, negation: bool = True, condition: bool = True) -> str | None:
        """``"negation"`` / ``"condition"`` when ``text[start:end]`` is inside such a scope, else None."""
        if negation and self.negated(text, start, end):
            return "negation"
        if condition and self.conditional(text, start, end):
            return "condition"
        return None


def scope_from_table(table: dict[str, Any] | None) -> Scope:
    """A :class:`Scope` from a ``[negation]`` table (missing keys keep the defaults)."""
    table = table or {}
    kwargs: dict[str, Any] = {}
    for key in ("negators", "conditions", "exceptions"):
        if key in table:
            kwargs[key] = tuple(table[key])
    if "clause_separators" in table:
        kwargs["clause_separators"] = table["clause_separators"]
    for key in ("window", "short_window"):
        if key in table:
            kwargs[key] = int(table[key])
    return Scope(**kwargs)


@lru_cache(maxsize=1)
def default_scope() -> Scope:
    """The built-in scope (``[negation]`` of the built-in ``rules/classes.toml``)."""
    from qa.classes import builtin_classes

    return builtin_classes().scope


def in_scope(text: str, start: int, end: int, scope: Scope | None = None, *, negation: bool = True,
             condition: bool = True) -> str | None:
    """Is the match ``text[start:end]`` of a normalized text negated or conditional?

    Returns ``"negation"``, ``"condition"`` or None. ``scope`` defaults to the built-in one."""
    return (scope or default_scope()).in_scope(text, start, end, negation=negation, condition=condition)
