"""The implementations of the check types: each module runs the rules of one check type.

A check type is declared in :mod:`qa.checktypes` (its parameters, flags and the name of its
module here); that declaration is all that reading or listing rules needs, and a module here
is imported only when a rule of its type runs or is compiled. :mod:`qa.checks.stage` runs
them over a table. ``CHECK_TYPES`` is the declarations, by name.
"""

from __future__ import annotations

from qa.checktypes import CHECK_TYPES

__all__ = ["CHECK_TYPES"]
