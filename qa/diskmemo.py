"""Results of slow pure functions kept between runs.

Loading the rules derives a few large values from their data before any message is read: the
RE2 form of every class pattern (for pyarrow's pre-filter), the emoji-only full-match regex
(every emoji code point of the Unicode tables, the traditional forms of the emoticon names).
Each is a pure function of its arguments, of qa's code and of the libraries' versions; together
they were a third of a small audit's time. :func:`disk_memo` keeps their results in one file in
qa's cache folder (:func:`qa.regexcache.cache_dir`), stamped with a fingerprint of qa's source
files (path, size, modification time) and of the versions of Python, pyarrow, regex and opencc: a
changed file or an upgraded library makes the whole file cold, so nothing in it can be stale.

The file is read only when it is this user's and no one else may write it (unpickling runs
code), written once at exit, atomically, and only when something new was computed. An empty
``QA_CACHE_DIR`` turns it off.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from qa.regexcache import cache_dir, read_private_pickle, write_private_pickle

T = TypeVar("T")

_FILE_PREFIX = "derived-"
# Files of other builds (checkouts, versions) kept beside this one's.
_KEEP_OTHER_BUILDS = 3
_LIBRARIES = ("pyarrow", "regex", "opencc")
# Past this many entries only what this process used is written back.
_MAX_ENTRIES = 20000

_entries: dict[tuple, Any] | None = None
_used: set[tuple] = set()
_added = False


@functools.cache
def fingerprint() -> str:
    """What the stored results depend on: qa's source files and the libraries' versions."""
    digest = hashlib.sha1(f"py{sys.version_info[:3]}".encode())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=-;".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        status = path.stat()
        digest.update(f"{path.relative_to(package)}:{status.st_size}:{status.st_mtime_ns};".encode())
    return digest.hexdigest()


def _cache_file() -> Path | None:
    """This build's file: named after the fingerprint, so two checkouts or installs sharing
    the cache folder keep a file each instead of overwriting each other's."""
    folder = cache_dir()
    return None if folder is None else folder / f"{_FILE_PREFIX}{fingerprint()[:16]}.pickle"


def _remove_stale(keep: Path) -> None:
    """Drop other builds' files beyond the newest few (edited checkouts make a new one each time)."""
    try:
        others = sorted((p for p in keep.parent.glob(f"{_FILE_PREFIX}*.pickle") if p != keep),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in others[_KEEP_OTHER_BUILDS:]:
            stale.unlink(missing_ok=True)
    except OSError:  # a file another process removed first, or a read-only folder
        pass


def _load() -> dict[tuple, Any]:
    stored = read_private_pickle(_cache_file())
    if not isinstance(stored, dict) or stored.get("fingerprint") != fingerprint():
        return {}
    entries = stored.get("entries")
    return entries if isinstance(entries, dict) else {}


def disk_memo(function: Callable[..., T]) -> Callable[..., T]:
    """Decorate a pure function of hashable, picklable arguments whose result is picklable:
    its results come back from the cache of earlier runs (and from memory within a run).
    Exceptions are never stored."""
    name = f"{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def remembered(*args: Any, **kwargs: Any) -> T:
        global _entries, _added
        if _entries is None:
            _entries = _load()
            atexit.register(_save)
        key = (name, args, tuple(sorted(kwargs.items())))
        try:
            result = _entries[key]
        except KeyError:
            result = _entries[key] = function(*args, **kwargs)
            _added = True
        _used.add(key)
        return result

    return remembered


def _save() -> None:
    if not _added or _entries is None:
        return
    kept = _entries if len(_entries) <= _MAX_ENTRIES else {k: _entries[k] for k in _used}
    path = _cache_file()
    write_private_pickle(path, {"fingerprint": fingerprint(), "entries": kept})
    if path is not None:
        _remove_stale(path)
