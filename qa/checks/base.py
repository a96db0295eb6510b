"""What every check type shares: its declared parameters, its context, building findings.

A check type is code; a rule (a TOML file in ``rules/``) names a check type and gives its
parameters. A check type declares the parameters it accepts (like sqlfluff's
``config_keywords``), so a rule file with an unknown key or a wrong type is refused when
the rules load, naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qa.model import FINDING_COLUMNS, empty_findings


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


CheckFunction = Callable[[pd.DataFrame, Any, CheckContext], pd.DataFrame]


@dataclass(frozen=True)
class CheckType:
    """A kind of logic shared by many rules (vale's extension points)."""

    name: str
    doc: str
    params: dict[str, Param]
    run: CheckFunction  # (messages with norm column, rule, context) -> finding table
    needs_timestamps: bool = False
    # Checks beyond types, run when a rule loads (e.g. "does this regex compile?"): takes the
    # validated params, returns (key, problem) pairs; the loader reports them as file:line.
    validate: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None
    # Suppression by text (qa.suppress), the default of its rules' ``suppress_by_text``: False
    # where findings depend on something else than text (timing).
    suppress_by_text: bool = True
    # Whether a suppression also names the customer message a finding answered (checks that
    # judge a reply); False where a finding is about the flagged message's own text only.
    suppress_context: bool = True


def render(template: dict[str, str], lang: str, **values: Any) -> str:
    """Render a rule's message template in ``lang`` (falls back to zh) with named fields."""
    text = template.get(lang) or template.get("zh") or next(iter(template.values()), "")
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return text


def findings_frame(
    msg: Sequence[int] | np.ndarray,
    rule: str,
    severity: Sequence[str] | str,
    reason: Sequence[str] | str,
    match: Sequence[str] | str = "",
    span_start: Sequence[int] | int = -1,
    span_end: Sequence[int] | int = -1,
    context_msg: Sequence[int] | int = -1,
) -> pd.DataFrame:
    """Build a finding table from columns (scalars are broadcast)."""
    msg_array = np.asarray(msg, dtype="int64")
    if len(msg_array) == 0:
        return empty_findings()
    n = len(msg_array)

    def column(value: Any, dtype: str) -> pd.Series:
        if isinstance(value, (str, int, np.integer)):
            return pd.Series([value] * n, dtype=dtype)
        return pd.Series(list(value), dtype=dtype)

    frame = pd.DataFrame(
        {
            "msg": msg_array,
            "rule": column(rule, "str"),
            "severity": column(severity, "str"),
            "match": column(match, "str"),
            "span_start": column(span_start, "int64"),
            "span_end": column(span_end, "int64"),
            "reason": column(reason, "str"),
            "context_msg": column(context_msg, "int64"),
        }
    )
    return frame[FINDING_COLUMNS]


def role_mask(messages: pd.DataFrame, roles: Sequence[str]) -> pd.Series:
    """Boolean mask of the messages whose role is one of ``roles``."""
    return messages["role"].isin(list(roles))
