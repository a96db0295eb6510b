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

import functools
import hashlib
import importlib
import sys
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from qa.regexcache import KeptDict, cache_dir

T = TypeVar("T")

_FILE_PREFIX = "derived-"
# Files of other builds (checkouts, versions) kept beside this one's.
_KEEP_OTHER_BUILDS = 3
_LIBRARIES = ("pyarrow", "regex", "opencc")
# Past this many entries only what this process used is written back.
_MAX_ENTRIES = 20000



@functools.cache
def fingerprint() -> str:
    """What the stored results depend on: qa's source files and the libraries' versions."""
    digest = hashlib.sha1(f"py{sys.version_info[:3]}".encode())
    for name in _LIBRARIES:
        digest.update(f"{name}={_version(name)};".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        status = path.stat()
        digest.update(f"{path.relative_to(package)}:{status.st_size}:{status.st_mtime_ns};".encode())
    return digest.hexdigest()


def _version(name: str) -> str:
    """The installed version of library ``name`` ("-" when it is missing): its ``__version__``
    (an audit has imported all three by then), else the package metadata. importlib.metadata
    alone took a hundredth of a second to import and search the installed packages."""
    try:
        version = getattr(importlib.import_module(name), "__version__", None)
    except ImportError:
        version = None
    if isinstance(version, str) and version:
        return version
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


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


def _pack(entries: dict) -> dict:
    return {"fingerprint": fingerprint(), "entries": entries}


def _unpack(stored: object) -> dict | None:
    if not isinstance(stored, dict) or stored.get("fingerprint") != fingerprint():
        return None
    entries = stored.get("entries")
    return entries if isinstance(entries, dict) else None


def _new_memo() -> KeptDict:
    return KeptDict(_cache_file, _MAX_ENTRIES, pack=_pack, unpack=_unpack, after_save=_remove_stale)


_memo = _new_memo()


def disk_memo(function: Callable[..., T]) -> Callable[..., T]:
    """Decorate a pure function of hashable, picklable arguments whose result is picklable:
    its results come back from the cache of earlier runs (and from memory within a run).
    Exceptions are never stored."""
    name = f"{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def remembered(*args: Any, **kwargs: Any) -> T:
        key = (name, args, tuple(sorted(kwargs.items())))
        return _memo.get(key, lambda: function(*args, **kwargs))

    return remembered


def disk_kept(name: str, key: Hashable, compute: Callable[[], T]) -> T:
    """The value kept under ``name`` and ``key``, else ``compute()`` kept: :func:`disk_memo`
    for a value whose argument is too big to be its own key (a digest of it is). ``name`` names
    the computation as a function name would; ``compute`` must depend on ``key`` alone."""
    return _memo.get((name, key, ()), compute)


def _save() -> None:
    """Write the file now (it is written at exit anyway; tests call this)."""
    _memo.save()
