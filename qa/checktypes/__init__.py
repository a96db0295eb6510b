"""The check types: a few kinds of logic that all rules are built from.

Each module of this package declares one, as ``CHECK``, a :class:`qa.checktypes.base.CheckType`:
its name, its parameters and flags, and the module that implements it (in :mod:`qa.checks`),
which is imported only when a rule of the type runs or is compiled. The declarations import
nothing heavy, so reading, listing and explaining rules needs no pandas.

Adding a check type is adding two modules: the declaration here, ``qa/checktypes/<name>.py``
(found by discovery), and its implementation, ``qa/checks/<name>.py``, defining
``run(messages, rule, context)`` and optionally ``validate(params)``. Adding a rule is adding
a file in ``rules/`` and needs no Python at all.
"""

from __future__ import annotations

from qa.checktypes.base import CheckType
from qa.plugins import discover

#: Modules of this package that are not check types: the base classes.
_NOT_CHECK_TYPES = {"base"}

CHECK_TYPES: dict[str, CheckType] = discover(__name__, __path__, "CHECK", CheckType, _NOT_CHECK_TYPES)
