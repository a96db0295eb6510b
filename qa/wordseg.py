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
import re
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
    """jieba's tokens of ``text`` (``jieba.cut(text, HMM=True)``), the dictionary read lazily.

    jieba's algorithm, with its costly parts remembered per run of Han characters: the best route
    through a run's dictionary words and the HMM's words of an unknown run. A block of Han
    characters, digits and letters (jieba's unit) is routed run by run: no dictionary word crosses
    from a Han character to a digit or a letter except the few that hold both (T恤, 4S店, 1号店),
    and a block holding one of those is cut by jieba whole, so the route and the tokens are jieba's
    own. Replies that differ only in an order number, a sum or a date (拍下后改价为22780元) then
    share the work of their words."""
    tokenizer = _get_tokenizer()
    for block in _BLOCK.split(text):
        if not block:
            continue
        if _BLOCK.match(block):
            yield from _cut_block(tokenizer, block)
        else:
            for part in _SKIP.split(block):
                if _SKIP.match(part):
                    yield part
                else:
                    yield from part


# jieba's own patterns (jieba.re_han_default, re_skip_default; finalseg's re_han, re_skip)
_BLOCK = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")
_SKIP = re.compile(r"(\r\n|\s)")
_HAN_RUN = re.compile(r"([\u4E00-\u9FD5]+)")
_HMM_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
_NOT_HAN = re.compile(r"[a-zA-Z0-9+#&\._%\-]")
# a block cut into Han runs and single other characters
_RUN_OR_CHAR = re.compile(r"[\u4E00-\u9FD5]+|.", re.S)

_mixed_words: re.Pattern | None = None


def _mixed(tokenizer) -> re.Pattern:
    """The dictionary words holding a character of a block other than a Han one (T恤, 4S店), as
    one pattern (read once: a scan of the table, or of the loaded dictionary)."""
    global _mixed_words
    if _mixed_words is None:
        frequencies = tokenizer.FREQ
        if isinstance(frequencies, _LazyFrequencies):
            words = frequencies.mixed_words()
        else:
            words = [word for word, frequency in frequencies.items() if frequency and _NOT_HAN.search(word)]
        words = sorted(words, key=len, reverse=True)
        # (an empty alternation would match everywhere: a pattern that never matches instead)
        _mixed_words = re.compile("|".join(re.escape(w) for w in words) or r"(?!)")
    return _mixed_words


def _cut_block(tokenizer, block: str) -> Iterator[str]:
    """jieba's ``__cut_DAG`` of one block, the route found run by run (see :func:`cut`)."""
    if _NOT_HAN.search(block) and _mixed(tokenizer).search(block):
        yield from tokenizer._Tokenizer__cut_DAG(block)
        return
    frequencies = tokenizer.FREQ
    buf = ""
    for run in _RUN_OR_CHAR.findall(block):
        words = _route(tokenizer, run) if len(run) > 1 else (run,)
        for word in words:
            if len(word) == 1:
                buf += word
                continue
            if buf:
                yield from _single_characters(buf, frequencies)
                buf = ""
            yield word
    if buf:
        yield from _single_characters(buf, frequencies)


def _single_characters(buf: str, frequencies) -> Iterator[str]:
    """jieba's tokens of a run of characters its route left single: one character as it is, an unknown
    run by the HMM, a dictionary word character by character."""
    if len(buf) == 1:
        yield buf
    elif not frequencies.get(buf):
        yield from _hmm_cut(buf)
    else:
        yield from buf


_ROUTES: dict[str, tuple[str, ...]] = {}
_ROUTES_MAX = 200_000


def _route(tokenizer, run: str) -> tuple[str, ...]:
    """The words of jieba's best route through a run of Han characters (its DAG and ``calc``)."""
    found = _ROUTES.get(run)
    if found is None:
        dag = tokenizer.get_DAG(run)
        route: dict = {}
        tokenizer.calc(run, dag, route)
        words, x = [], 0
        while x < len(run):
            y = route[x][1] + 1
            words.append(run[x:y])
            x = y
        found = tuple(words)
        if len(_ROUTES) >= _ROUTES_MAX:
            _ROUTES.clear()
        _ROUTES[run] = found
    return found


def _hmm_cut(text: str) -> Iterator[str]:
    """``jieba.finalseg.cut``: the HMM's words of each Han run, the other parts as they are."""
    for block in _HAN_RUN.split(text):
        if _HAN_RUN.match(block):
            yield from _hmm_words(block)
        else:
            for part in _HMM_SKIP.split(block):
                if part:
                    yield part


@lru_cache(maxsize=65536)
def _hmm_words(run: str) -> tuple[str, ...]:
    from jieba import finalseg

    # finalseg.cut of a run of Han characters alone is that run's words
    return tuple(finalseg.cut(run))


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

    def mixed_words(self) -> list[str]:
        """The dictionary's words (frequency above 0) holding a digit, a letter or one of ``+#&._%-``."""
        if self._full is not None:
            return [word for word, frequency in self._full.items() if frequency and _NOT_HAN.search(word)]
        rows = self._connection.execute("SELECT word FROM words WHERE freq > 0 AND word GLOB '*[a-zA-Z0-9+#&._%-]*'")
        return [word for (word,) in rows]

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
