"""Writing output files safely: temporary file + rename, so a crash never leaves half a file."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from qa.errors import OutputError
from qa.outputs import close_abandoned_zips, describe_os_error, owned_temp_name, sweep_stale, write_error


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)`` then move the result onto ``path`` in one step.

    The temporary file lives in a private folder beside ``path`` (``.<name>.qa-<pid>-<host>-
    XXXX.tmp``), where a writer may also put its own scratch files; the folder is removed
    whatever happens, and one left by a process that was killed is swept at the next write
    into that folder. Every ``OSError`` becomes one line naming ``path`` and the cause."""
    path = Path(path)
    if _is_stream(path):
        # /dev/stdout, a named pipe, a device: written through as it stands (renaming a file onto
        # it would replace the device with a regular file)
        _write_through(path, write)
        return
    if path.is_symlink():
        # the link stays; the file it points to gets the output
        path = Path(os.path.realpath(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {path.parent}: {describe_os_error(error)}") from None
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file path")
    sweep_stale(path.parent, ".", ".tmp")
    folder = owned_temp_name(f".{path.name}.", path.parent, ".tmp")
    try:
        folder.mkdir(mode=0o700)  # private: the writer's scratch files go here too
        temporary_path = folder / path.name
        write(temporary_path)
        # Give the output the permissions a normal file gets (the folder is private).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary_path, 0o666 & ~umask)
        os.replace(temporary_path, path)
    except OSError as error:
        close_abandoned_zips(error)
        raise write_error(path, error) from None
    except BaseException as error:
        close_abandoned_zips(error)
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _is_stream(path: Path) -> bool:
    """Does ``path`` name something other than a regular file or a folder (a device, a pipe)?"""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _write_through(path: Path, write: Callable[[Path], None]) -> None:
    """Write the output to a private temporary file, then copy its bytes into ``path``."""
    folder = Path(tempfile.mkdtemp(prefix="qa-out-"))
    try:
        temporary_path = folder / (path.name or "output")
        write(temporary_path)
        with open(temporary_path, "rb") as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target)
    except OSError as error:
        close_abandoned_zips(error)
        raise write_error(path, error) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write text atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding))
