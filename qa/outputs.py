"""Output safety: clear write errors, no two outputs on one file, no debris left behind.

* :func:`describe_os_error` turns an ``OSError`` into the cause a person can act on
  (permission denied, disk full, locked or in use, a folder, ...); :func:`write_error` makes
  it the one-line :class:`~qa.errors.OutputError` that names the path.
* :func:`check_outputs` refuses two outputs that resolve to the same file (``-o r.xlsx
  --json r.xlsx``, ``--history`` equal to ``-o``) and an output that is one of the inputs.
* Temporary files and folders qa makes carry their owner in the name
  (``qa-<pid>-<host>-``): :func:`owned_temp_dir` makes one, and first sweeps away those of
  owners that are gone (a run killed with ``kill -9`` cannot clean up after itself).
* :func:`signals_raise` turns SIGTERM and SIGHUP into :class:`Interrupted` (a
  ``KeyboardInterrupt``, like Ctrl-C), so the ``finally`` blocks that remove temporary files
  and the out-of-core spill run on those signals too.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from qa.errors import OutputError

# Windows sharing violations (a file open in Excel), reported as winerror on OSError.
_WINDOWS_LOCKED = {32, 33}
_OWNER = re.compile(r"qa-(\d+)-([0-9a-f]{6})-")


def describe_os_error(error: OSError) -> str:
    """The cause of a failed write in words a person can act on."""
    if getattr(error, "winerror", None) in _WINDOWS_LOCKED or error.errno in (errno.EBUSY, errno.ETXTBSY):
        return "the file is locked or in use by another program (is it open in Excel? close it and run again)"
    if error.errno in (errno.EACCES, errno.EPERM) or isinstance(error, PermissionError):
        return "permission denied (is the folder read-only, or the file open in another program?)"
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "disk full (no space left on the device); free some space and run again"
    if error.errno == errno.EROFS:
        return "the file system is read-only"
    if error.errno == errno.EISDIR or isinstance(error, IsADirectoryError):
        return "it is a folder; give a file path"
    if error.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    if error.errno == errno.ENOENT:
        return "the folder does not exist"
    if error.errno == errno.ENAMETOOLONG:
        return "the name is too long"
    return error.strerror or str(error)


def write_error(path: Path | str, error: OSError) -> OutputError:
    """The one-line error for a failed write of ``path``."""
    return OutputError(f"cannot write {path}: {describe_os_error(error)}")


def _same_file(first: Path, second: Path) -> bool:
    if first.resolve() == second.resolve():
        return True
    try:  # hard links, and names that differ only in case on a case-insensitive disk
        return first.exists() and second.exists() and os.path.samefile(first, second)
    except OSError:
        return False


def check_outputs(outputs: Sequence[tuple[str, Path | str | None]], inputs: Iterable[Path | str] = ()) -> None:
    """Refuse outputs (``(option, path)`` pairs; None paths are skipped) that resolve to the
    same file as another output or as an input, or that are an existing folder."""
    given = [(option, Path(path)) for option, path in outputs if path is not None]
    for index, (option, path) in enumerate(given):
        for other_option, other in given[:index]:
            if _same_file(path, other):
                raise OutputError(
                    f"{other_option} {other} and {option} {path} are the same file; give each output its own path"
                )
        try:
            folder = path.is_dir()
        except OSError as error:  # a name the file system refuses (too long): said once, before the audit
            raise OutputError(f"cannot write {path} ({option}): {describe_os_error(error)}") from None
        if folder and option not in ("--findings-parquet",):
            raise OutputError(f"cannot write {path} ({option}): it is a folder; give a file path")
    input_paths = [Path(p) for p in inputs]
    for option, path in given:
        for source in input_paths:
            if _same_file(path, source):
                raise OutputError(f"output {path} ({option}) is one of the inputs; choose another path")


# ---------------------------------------------------------------------------------------
# Temporary files and folders that name their owner


def _host_tag() -> str:
    # (imported here: every command imports this module for signals_raise, few make temporary files)
    import hashlib
    import socket

    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def owner_tag() -> str:
    """``qa-<pid>-<host>-``: put in the names of temporary files and folders, so a later run
    can tell whether their owner is still alive."""
    return f"qa-{os.getpid()}-{_host_tag()}-"


def _owner_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # someone else's process, or no way to tell: keep it
        return True
    return True


def sweep_stale(folder: Path | str, prefix: str, suffix: str = "") -> list[Path]:
    """Remove the entries of ``folder`` named ``<prefix>...qa-<pid>-<host>-...<suffix>`` whose
    owner ran on this host and is no longer running; returns what was removed. Errors are
    ignored: a sweep never stops a run."""
    removed: list[Path] = []
    host = _host_tag()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(suffix)):
            continue
        owner = _OWNER.search(entry.name, len(prefix))
        if owner is None or owner.group(2) != host or _owner_alive(int(owner.group(1))):
            continue
        path = Path(entry.path)
        with suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def owned_temp_name(prefix: str, folder: Path | str | None = None, suffix: str = "") -> Path:
    """A fresh name ``<prefix>qa-<pid>-<host>-<random><suffix>`` in ``folder`` (default: the
    system's temporary folder, created if missing), after sweeping the entries of owners
    that are gone. Nothing is created under the name: the caller makes it inside the ``try``
    whose ``finally`` removes it, so a signal can never fall between creating it and
    knowing its name."""
    where = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    sweep_stale(where, prefix, suffix)
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {where}: {describe_os_error(error)}") from None
    import secrets

    return where / f"{prefix}{owner_tag()}{secrets.token_hex(4)}{suffix}"


def make_private_dir(path: Path) -> None:
    """Create the folder ``path`` (from :func:`owned_temp_name`), readable by its owner only."""
    try:
        path.mkdir(mode=0o700)
    except OSError as error:
        raise OutputError(f"cannot create a temporary folder in {path.parent}: {describe_os_error(error)}") from None


def owned_temp_dir(prefix: str, folder: Path | str | None = None) -> Path:
    """A new temporary folder ``<prefix>qa-<pid>-<host>-XXXX`` in ``folder`` (see
    :func:`owned_temp_name`)."""
    path = owned_temp_name(prefix, folder)
    make_private_dir(path)
    return path


# ---------------------------------------------------------------------------------------
# Signals


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C so every ``finally`` cleans up."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@contextmanager
def signals_raise() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise :class:`Interrupted` (SIGINT raises
    ``KeyboardInterrupt`` as usual). A second signal during the clean-up is ignored, so the
    clean-up is not cut short; ``kill -9`` still ends the process at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[str] = []

    def handler(number: int, _frame) -> None:
        if fired:
            return
        name = signal.Signals(number).name
        fired.append(name)
        raise KeyboardInterrupt if number == signal.SIGINT else Interrupted(name)

    previous = {}
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        number = getattr(signal, name, None)
        # A signal someone chose to ignore (nohup, a background job) stays ignored.
        if number is None or signal.getsignal(number) not in (signal.SIG_DFL, signal.default_int_handler):
            continue
        with suppress(OSError, ValueError):
            previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            with suppress(OSError, ValueError, TypeError):
                signal.signal(number, old)


def close_abandoned_zips(error: BaseException) -> None:
    """Quietly close the zip files a failed writer left open in the frames of ``error``.

    A workbook writer that fails mid-write (disk full) leaves its ``ZipFile`` open; when
    the traceback is freed, ``ZipFile.__del__`` tries to finish the file, fails again and
    prints a traceback of its own ("Exception ignored in ZipFile.__del__"). The temporary
    file is deleted anyway, so nothing is lost by closing it without finishing it."""
    import zipfile

    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        pending += [current.__cause__, current.__context__, *[a for a in current.args if isinstance(a, BaseException)]]
        trace = current.__traceback__
        while trace is not None:
            for value in list(trace.tb_frame.f_locals.values()):
                if isinstance(value, zipfile.ZipFile) and value.fp is not None:
                    handle, value.fp = value.fp, None
                    with suppress(Exception):
                        handle.close()
            trace = trace.tb_next
