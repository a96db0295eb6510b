"""The check types: a few kinds of logic that all rules are built from.

Each module in this package defines ``CHECK``, a :class:`qa.checks.base.CheckType`. They are
discovered here, so adding a check type is adding a module; adding a rule is adding a file
in ``rules/`` and needs no Python at all. :mod:`qa.checks.stage` runs them over a table.
"""

from __future__ import annotations

from qa.checks.base import CheckType
from qa.plugins import discover

#: Modules of this package that are not check types: the base classes and the check stage.
_NOT_CHECK_TYPES = {"base", "stage"}

CHECK_TYPES: dict[str, CheckType] = discover(__name__, __path__, "CHECK", CheckType, _NOT_CHECK_TYPES)
