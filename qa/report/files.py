"""Writing output files safely: temporary file + rename, so a crash never leaves half a file."""

from __future__ import annotations

import os
import shutil
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


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write text atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding))
