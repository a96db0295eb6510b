"""What every check type declares: its parameters, its flags and where its code lives.

A check type is code; a rule (a TOML file in ``rules/``) names a check type and gives its
parameters. A check type declares the parameters it accepts (like sqlfluff's
``config_keywords``), so a rule file with an unknown key or a wrong type is refused when
the rules load, naming the file and the key.

The declaration is kept apart from the code that runs the check (its ``implementation``
module, imported on first use) so that reading and listing rules needs neither pandas nor
the regex and pyarrow machinery of the checks: ``qa rules list`` starts instantly.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Param:
    """One parameter a check type accepts."""

    # str, int, float, bool, strings, table or tables (qa.rules validates each). "strings"
    # accepts a list of strings inline and/or ``<name>_file`` naming a text file beside the
    # rule (one entry per line, ``#`` comments), so QA staff keep long phrase lists as plain text.
    kind: str
    doc: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    # For kind "table"/"tables": the keys each table accepts (same Param declarations).
    fields: dict[str, Param] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckContext:
    """Facts about the whole audit that a check may need."""

    lang: str = "zh"
    has_timestamps: bool = True
    timezone: str = "Asia/Shanghai"


CheckFunction = Callable[["pd.DataFrame", Any, CheckContext], "pd.DataFrame"]
ValidateFunction = Callable[[dict[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class CheckType:
    """A kind of logic shared by many rules (vale's extension points)."""

    name: str
    doc: str
    params: dict[str, Param]
    # The module that runs the check ("qa.checks.phrase"): it defines
    # ``run(messages with norm column, rule, context) -> finding table`` and may define
    # ``validate(params) -> [(key, problem)]``, the checks beyond types made when a rule loads
    # (e.g. "does this regex compile?"; the loader reports them as file:line).
    implementation: str
    needs_timestamps: bool = False
    # Suppression by text (qa.suppress), the default of its rules' ``suppress_by_text``: False
    # where findings depend on something else than text (timing).
    suppress_by_text: bool = True
    # Whether a suppression also names the customer message a finding answered (checks that
    # judge a reply); False where a finding is about the flagged message's own text only.
    suppress_context: bool = True

    @property
    def run(self) -> CheckFunction:
        """The check itself; the first use imports its implementation (pandas and all)."""
        return importlib.import_module(self.implementation).run

    @property
    def validate(self) -> ValidateFunction | None:
        """The implementation's load-time checks of a rule's parameters, None when it has none;
        the first use imports the implementation."""
        return getattr(importlib.import_module(self.implementation), "validate", None)
