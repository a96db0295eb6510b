"""Giving freed memory back to the system between the big steps of an audit.

Freed memory stays with the allocator that served it: pyarrow's pool keeps Arrow buffers
for reuse and glibc keeps freed heap pages, and neither can use the other's. Steps that
alternate between Arrow kernels and Python objects (the partitions, the workbook's sheets,
the JSON arrays) would then peak at the sum of what each step once needed, not at the
largest. :func:`release_memory` hands both back between such steps (a few milliseconds).
"""

from __future__ import annotations

import sys


def release_memory() -> None:
    """Return the memory pyarrow's pool and glibc's heap keep for reuse to the system (a
    no-op for whichever is not in use: pyarrow not imported, not glibc)."""
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


_LIBC: object = False  # not looked up yet


def _libc():
    global _LIBC
    if _LIBC is False:
        try:
            import ctypes
            import ctypes.util

            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.malloc_trim  # noqa: B018 - glibc only
            _LIBC = libc
        except (OSError, AttributeError):
            _LIBC = None
    return _LIBC
