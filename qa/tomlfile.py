"""Reading the project's TOML files (rules, packs, config) with one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from qa.errors import QAError


def read_toml(path: Path, error: type[QAError] = QAError) -> tuple[dict[str, Any], str]:
    """The parsed table and the text (for file:line messages); unreadable or invalid TOML
    raises ``error`` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{path}: not valid TOML: {problem}") from None
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{path}: cannot read: {problem}") from None
