"""jieba's word segmentation with its dictionary read a word at a time.

jieba loads its whole dictionary (about 500,000 words and prefixes) before the first cut: 0.5–0.7 s
on a quiet machine, several seconds on a busy one, which is most of a small audit. A word-boundary
check segments only the few messages whose match might sit inside a longer word, and segmenting a
sentence reads only the dictionary entries of its own substrings. So the dictionary is kept as an
SQLite table in qa's cache folder (:func:`qa.regexcache.cache_dir`), built once from jieba's own
dictionary, and entries are read as the segmentation asks for them. Past :data:`LOOKUPS_BEFORE_FULL_LOAD`
reads (an audit with many candidates) the whole dictionary is loaded as jieba loads it, which is then
cheaper than reading word by word.

Same dictionary, same total frequency, jieba's own algorithm: :func:`cut` gives exactly the tokens of
``jieba.cut`` (a test compares them). With the cache off (``QA_CACHE_DIR=""``) or a cache folder that
cannot be written, jieba loads its dictionary as usual.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from qa.regexcache import cache_dir, trusted_cache_file

if TYPE_CHECKING:
    import sqlite3

#: Word reads before the whole dictionary is loaded instead (about 0.1 s of SQLite reads, a few
#: hundred sentences; the full load costs 0.5 s and more).
LOOKUPS_BEFORE_FULL_LOAD = 40_000

_tokenizer = None


def cut(text: str) -> Iterator[str]:
    """jieba's tokens of ``text`` (``jieba.cut(text, HMM=True)``), the dictionary read lazily."""
    return _get_tokenizer().cut(text, HMM=True)


@lru_cache(maxsize=4096)
def token_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The (start, end) of each of jieba's tokens of ``text``."""
    spans, position = [], 0
    for token in cut(text):
        spans.append((position, position + len(token)))
        position += len(token)
    return tuple(spans)


def crosses_word(text: str, start: int, end: int) -> bool:
    """Does a dictionary word of jieba's segmentation of ``text`` cross an end of ``text[start:end]``:
    the match begins in the middle of a word (服了 in 舒服了, 衣服了, 说服了) or ends in one (无语 in 无语音,
    火大 in 火大小)? Only words of jieba's dictionary count: the tokens its HMM makes of unknown
    strings (我服|了, 太气|人) are no innocent words, and a token holding the whole match (真服了, 太无语)
    leaves it whole."""
    frequencies = _get_tokenizer().FREQ
    for a, b in token_spans(text):
        if a >= end:
            break
        if (a < start < b < end) or (start < a < end < b):
            if frequencies.get(text[a:b], 0):
                return True
    return False


def _quiet_jieba():
    if "jieba" not in sys.modules and "pkg_resources" not in sys.modules:
        # jieba imports setuptools' deprecated pkg_resources (0.2–0.3 s, a DeprecationWarning) only to
        # open its own data files, and falls back to plain open() when that import fails: a None
        # entry in sys.modules makes the import fail, for this one import only.
        sys.modules["pkg_resources"] = None
        try:
            import jieba  # noqa: F401
        finally:
            del sys.modules["pkg_resources"]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    return jieba


def _get_tokenizer():
    global _tokenizer
    if _tokenizer is None:
        jieba = _quiet_jieba()
        tokenizer = jieba.Tokenizer()
        store = _dictionary_store(jieba, tokenizer)
        if store is None:  # jieba's default tokenizer, loading its dictionary as usual
            jieba.dt.initialize()
            tokenizer = jieba.dt
        else:
            connection, total = store
            tokenizer.FREQ = _LazyFrequencies(connection)
            tokenizer.total = total
            tokenizer.initialized = True
        _tokenizer = tokenizer
    return _tokenizer


class _LazyFrequencies:
    """The part of a dict jieba uses of its ``FREQ`` (``in``, ``[]``, ``get``), read from SQLite."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._known: dict[str, int | None] = {}
        self._full: dict[str, int] | None = None

    def _frequency(self, word: str) -> int | None:
        if self._full is not None:
            return self._full.get(word)
        try:
            return self._known[word]
        except KeyError:
            pass
        if len(self._known) >= LOOKUPS_BEFORE_FULL_LOAD:
            self._full = _full_dictionary()
            self._connection.close()
            return self._full.get(word)
        row = self._connection.execute("SELECT freq FROM words WHERE word = ?", (word,)).fetchone()
        frequency = None if row is None else row[0]
        self._known[word] = frequency
        return frequency

    def get(self, word: str, default=None):
        frequency = self._frequency(word)
        return default if frequency is None else frequency

    def __contains__(self, word: str) -> bool:
        return self._frequency(word) is not None

    def __getitem__(self, word: str) -> int:
        frequency = self._frequency(word)
        if frequency is None:
            raise KeyError(word)
        return frequency


def _full_dictionary() -> dict[str, int]:
    """jieba's whole dictionary, loaded the way jieba loads it (its own marshal cache)."""
    jieba = _quiet_jieba()
    jieba.dt.initialize()
    return jieba.dt.FREQ


def _store_path(jieba) -> Path | None:
    """The table's file, named after jieba's version and its dictionary file's size and date."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        status = os.stat(Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME)
    except (OSError, AttributeError):
        return None
    return folder / f"jieba-{jieba.__version__}-{status.st_size}-{int(status.st_mtime)}.sqlite"


def _dictionary_store(jieba, tokenizer) -> tuple[sqlite3.Connection, int] | None:
    """An open read-only connection to the dictionary table and jieba's total, building the table
    on first use; ``None`` when there is no usable cache folder."""
    import sqlite3  # (here: most audits segment nothing)

    path = _store_path(jieba)
    if path is None:
        return None
    if not trusted_cache_file(path):
        _build_store(path, tokenizer)
    if not trusted_cache_file(path):
        return None
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        total = connection.execute("SELECT value FROM meta WHERE key = 'total'").fetchone()[0]
    except (sqlite3.Error, TypeError):
        return None
    return connection, int(total)


def _build_store(path: Path, tokenizer) -> None:
    """Write jieba's dictionary (words and prefixes with their frequencies) to ``path``, atomically."""
    import sqlite3

    frequencies, total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".jieba-", suffix=".sqlite", dir=path.parent)
        os.close(handle)
        os.chmod(temporary, 0o600)
        with sqlite3.connect(temporary) as connection:
            connection.execute("CREATE TABLE words (word TEXT PRIMARY KEY, freq INTEGER NOT NULL) WITHOUT ROWID")
            connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            connection.executemany("INSERT INTO words VALUES (?, ?)", frequencies.items())
            connection.execute("INSERT INTO meta VALUES ('total', ?)", (total,))
        connection.close()
        os.replace(temporary, path)
    except (OSError, sqlite3.Error):  # a read-only home or a full disk: jieba loads as usual
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
