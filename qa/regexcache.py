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
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # regex is imported when a pattern is compiled: KeptDict alone (qa.tomlfile) needs none
    import regex

# Past this many entries the file is rewritten with only what this process used, so rules edited
# over months do not grow it without end.
_MAX_ENTRIES = 5000
# What a KeptDict file holds: its payload (each value pickled on its own) and the generations its
# entries were last used in. A file of another format is a cold cache.
_KEPT_FORMAT = "qa-kept-3"
# The format before (values pickled with the file); see KeptDict's ``legacy``.
_LEGACY_FORMAT = "qa-kept-2"


class KeptDict:
    """A dict kept between runs in one private pickle file (:func:`read_private_pickle`): read on
    first use, written at exit when something was added. Every write is a generation; an entry
    no process used over the last ``STALE_AFTER_SAVES`` writes is dropped (an edited rule leaves
    its old patterns behind, and reading a file three times the size of what an audit uses cost
    a small audit a fifth of its time), and past ``max_entries`` only the keys this process used
    are written, so the file cannot grow without end. ``pack``/``unpack`` wrap what is stored
    (``unpack`` returns None for a file that does not fit: a cold cache); ``after_save`` gets the
    path written. Shared by the compiled patterns here and the derived values of qa.diskmemo.

    Each value is kept pickled on its own and unpickled when first asked for: a store holds what
    every recent run used (tests, other rule packs, large audits), and unpickling a compiled
    pattern rebuilds it, so reading them all cost a small audit up to several times what it
    uses (776 patterns, 1.5 MB, against the ~340 a 100-row audit asks for)."""

    #: Writes after which an entry no process used in between is dropped. Writes happen only when
    #: something new was computed (a changed rule, another command), never on a warm audit.
    STALE_AFTER_SAVES = 4

    def __init__(self, path: Callable[[], Path | None], max_entries: int, *,
                 pack: Callable[[dict], object] = lambda entries: entries,
                 unpack: Callable[[object], dict | None] = lambda stored: stored if isinstance(stored, dict) else None,
                 after_save: Callable[[Path], None] | None = None,
                 legacy: Callable[[], Path | None] | None = None) -> None:
        self._path, self._max, self._pack, self._unpack, self._after_save = path, max_entries, pack, unpack, after_save
        # the file of the previous format, read when there is none of this one yet (written again
        # in this format at exit): upgrading qa does not make the store cold
        self._legacy = legacy
        self.entries: dict | None = None
        self.used: set = set()
        self.added = False
        # the keys whose value in ``entries`` is still the pickle read from the file
        self._packed: set = set()
        # the generation of this file's last write, and per key the last generation that used it
        self._generation = 0
        self._last_used: dict = {}

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value kept for ``key``, else ``compute()`` kept (exceptions propagate, unkept)."""
        if self.entries is None:
            self._load()
        try:
            value = self.entries[key]
        except KeyError:
            value = self.entries[key] = compute()
            self.added = True
        else:
            if key in self._packed:
                self._packed.discard(key)
                del self.entries[key]  # (gone if compute() below raises)
                try:
                    value = pickle.loads(value)
                except Exception:  # noqa: BLE001 - a damaged entry is only a cold one
                    value = compute()
                    self.added = True
                self.entries[key] = value
        self.used.add(key)
        return value

    def _load(self) -> None:
        stored = read_private_pickle(self._path())
        ages, entries = None, None
        if isinstance(stored, dict) and stored.get("format") == _KEPT_FORMAT:
            ages, entries = stored.get("ages"), self._unpack(stored.get("payload"))
            self.entries = entries if isinstance(entries, dict) else {}
            self._packed = set(self.entries)
        else:
            self.entries = {}
            old = read_private_pickle(self._legacy()) if stored is None and self._legacy is not None else None
            if isinstance(old, dict) and old.get("format") == _LEGACY_FORMAT:
                ages, entries = old.get("ages"), self._unpack(old.get("payload"))
                if isinstance(entries, dict) and entries:
                    self.entries, self.added = dict(entries), True  # values unpickled; write this format
        if isinstance(ages, dict) and isinstance(ages.get("last_used"), dict):
            self._generation = int(ages.get("generation", 0))
            self._last_used = ages["last_used"]
        atexit.register(self.save)

    def save(self) -> None:
        """Write the file if something was added (failures are ignored, as for any cache)."""
        if not self.added or self.entries is None:
            return
        generation = self._generation + 1
        for key in self.used:
            self._last_used[key] = generation
        oldest = generation - self.STALE_AFTER_SAVES
        keys = [k for k in self.entries if self._last_used.get(k, generation) > oldest]
        if len(keys) > self._max:
            keys = [k for k in self.entries if k in self.used]
        kept = {}
        for key in keys:
            value = self.entries[key]
            if key not in self._packed:
                try:
                    value = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # noqa: BLE001 - a value that does not pickle is not kept
                    continue
            kept[key] = value
        ages = {"generation": generation, "last_used": {k: self._last_used.get(k, generation) for k in kept}}
        path = self._path()
        write_private_pickle(path, {"format": _KEPT_FORMAT, "ages": ages, "payload": self._pack(kept)})
        self._generation, self._last_used = generation, ages["last_used"]
        if path is not None and self._after_save is not None:
            self._after_save(path)


# One file per store: "" holds what every audit compiles (read at its start); "large" what only big
# audits do (ClassSet's branch screens), so a small audit does not read those too.
_files: dict[str, KeptDict] = {}


def cache_dir() -> Path | None:
    """The folder of qa's caches, or ``None`` when ``QA_CACHE_DIR`` is set empty (cache off)."""
    configured = os.environ.get("QA_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "qa"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa"


def _cache_file(store: str = "", legacy: bool = False) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    import regex

    version = getattr(regex, "__version__", "0")
    suffix = f"-{store}" if store else ""
    # "k3": the file format (_KEPT_FORMAT), so builds of another format sharing the folder keep
    # files of their own instead of each finding the other's cold and rewriting it
    kept = "" if legacy else "-k3"
    return folder / f"regex-{version}-py{sys.version_info[0]}{sys.version_info[1]}{kept}{suffix}.pickle"


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
    import regex

    file = _files.get(store)
    if file is None:
        file = _files[store] = KeptDict(lambda: _cache_file(store), _MAX_ENTRIES,
                                        legacy=lambda: _cache_file(store, legacy=True))
    return file.get((pattern, int(flags)), lambda: regex.compile(pattern, flags))


def _save() -> None:
    """Write every cache file that gained a pattern (at exit; tests call it directly)."""
    for file in list(_files.values()):
        file.save()
