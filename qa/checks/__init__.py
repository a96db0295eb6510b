"""The check types: a few kinds of logic that all rules are built from.

Each module in this package defines ``CHECK``, a :class:`qa.checks.base.CheckType`. They are
discovered here, so adding a check type is adding a module; adding a rule is adding a file
in ``rules/`` and needs no Python at all. :mod:`qa.checks.stage` runs them over a table.
"""

from __future__ import annotations

import importlib
import pkgutil

from qa.checks.base import CheckType

#: Modules of this package that are not check types: the base classes and the check stage.
_NOT_CHECK_TYPES = {"base", "stage"}


def _discover() -> dict[str, CheckType]:
    found: dict[str, CheckType] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name in _NOT_CHECK_TYPES or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        check = getattr(module, "CHECK", None)
        if isinstance(check, CheckType):
            found[check.name] = check
    return found


CHECK_TYPES: dict[str, CheckType] = _discover()
