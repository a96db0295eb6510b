"""Compiled regular expressions kept between runs.

The ``regex`` module parses a pattern in Python: the rule lists and classes take a second or more
to compile, which is most of a small audit and of every test that loads the rules. A compiled
pattern pickles to its already-parsed program (``regex`` registers that with :mod:`copyreg` so
patterns can cross process boundaries), and unpickling it costs microseconds. :func:`compile_regex`
keeps the patterns it compiled in one file in the user's cache folder, keyed by pattern and flags
and named after the ``regex`` and Python versions, so a changed rule is a new key and an upgraded
library a new file: nothing in the cache can be stale.

The folder is ``$QA_CACHE_DIR`` if set (an empty value turns the cache off), else
``$XDG_CACHE_HOME/qa`` or ``~/.cache/qa`` (``%LOCALAPPDATA%\\qa`` on Windows). A cache file is read
only if the current user owns it and no one else may write it; anything unreadable is ignored and
rebuilt. Writing happens once at exit, atomically, and only when something new was compiled.
"""

from __future__ import annotations

import atexit
import os
import pickle
import sys
import tempfile
from pathlib import Path

import regex

# Past this many entries the file is rewritten with only what this process used, so rules edited
# over months do not grow it without end.
_MAX_ENTRIES = 5000


class _PatternFile:
    """The compiled patterns of one cache file, read on first use and written at exit."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.entries: dict[tuple[str, int], regex.Pattern] | None = None
        self.used: set[tuple[str, int]] = set()
        self.added = False

    def get(self, pattern: str, flags: int) -> regex.Pattern:
        if self.entries is None:
            loaded = read_private_pickle(_cache_file(self.store))
            self.entries = loaded if isinstance(loaded, dict) else {}
            atexit.register(self.save)
        key = (pattern, int(flags))
        compiled = self.entries.get(key)
        if compiled is None:
            compiled = regex.compile(pattern, flags)
            self.entries[key] = compiled
            self.added = True
        self.used.add(key)
        return compiled

    def save(self) -> None:
        if not self.added or self.entries is None:
            return
        kept = self.entries if len(self.entries) <= _MAX_ENTRIES else {k: self.entries[k] for k in self.used}
        write_private_pickle(_cache_file(self.store), kept)


# One file per store: "" holds what every audit compiles (read at its start); "large" what only big
# audits do (ClassSet's branch screens), so a small audit does not read those too.
_files: dict[str, _PatternFile] = {}


def cache_dir() -> Path | None:
    """The folder of qa's caches, or ``None`` when ``QA_CACHE_DIR`` is set empty (cache off)."""
    configured = os.environ.get("QA_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "qa"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa"


def _cache_file(store: str = "") -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    version = getattr(regex, "__version__", "0")
    suffix = f"-{store}" if store else ""
    return folder / f"regex-{version}-py{sys.version_info[0]}{sys.version_info[1]}{suffix}.pickle"


def trusted_cache_file(path: Path) -> bool:
    """Whether a cache file may be read: this user's, and no one else may write it (unpickling
    runs code; a foreign dictionary table would change results)."""
    try:
        status = path.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and status.st_uid != os.getuid():
        return False
    return not status.st_mode & 0o022


def read_private_pickle(path: Path | None) -> object | None:
    """The object pickled in ``path``, or None when there is no such file, it is not
    :func:`trusted_cache_file`, or it does not unpickle (a damaged file is only a cold cache)."""
    if path is None or not trusted_cache_file(path):
        return None
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception:  # noqa: BLE001 - whatever is wrong with the file, the cache is cold
        return None


def write_private_pickle(path: Path | None, value: object) -> None:
    """Pickle ``value`` to ``path`` atomically, readable by this user only; failures (a
    read-only home, a full disk) are ignored: they must not fail the audit that ran."""
    if path is None:
        return
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except Exception:  # noqa: BLE001
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def longest_first(items) -> list[str]:
    """The distinct non-empty ``items``, longest first, equal lengths in text order: the order of
    an alternation where the longer form must win. A set's own order changes from process to
    process (string hashing), which made a new cache key, and for patterns of equal length
    possibly another match, in every run."""
    return sorted({item for item in items if item}, key=lambda item: (-len(item), item))


def compile_regex(pattern: str, flags: int = 0, *, store: str = "") -> regex.Pattern:
    """``regex.compile(pattern, flags)``, from the cache of earlier runs when it is there.
    ``store`` names the cache file (see ``_files``).

    Raises ``regex.error`` exactly as ``regex.compile`` does (errors are never cached)."""
    file = _files.get(store)
    if file is None:
        file = _files[store] = _PatternFile(store)
    return file.get(pattern, flags)


def _save() -> None:
    """Write every cache file that gained a pattern (at exit; tests call it directly)."""
    for file in list(_files.values()):
        file.save()
