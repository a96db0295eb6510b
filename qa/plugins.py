"""Plug-in discovery: the check types (:mod:`qa.checks`) and the input formats
(:mod:`qa.ingest`) are the modules of their package that define one object, so adding one is
adding a module."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Container, Iterable
from typing import TypeVar

T = TypeVar("T")


def discover(package: str, paths: Iterable[str], attribute: str, kind: type[T], skip: Container[str]) -> dict[str, T]:
    """The ``attribute`` of each module of ``package`` (found in ``paths``) that holds a ``kind``,
    by its ``name``, in module-name order; modules in ``skip`` or named ``_…`` are not imported."""
    found: dict[str, T] = {}
    for module_info in sorted(pkgutil.iter_modules(list(paths)), key=lambda m: m.name):
        if module_info.name in skip or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{module_info.name}")
        plugin = getattr(module, attribute, None)
        if isinstance(plugin, kind):
            found[plugin.name] = plugin
    return found
