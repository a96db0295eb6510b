"""A zip archive of exports (an ERP's download of several shops' files, a folder zipped to be
mailed): each export inside is read by the reader of its format.

A member's rows name the archive as their file and the member as their sheet (店铺A/0215.csv, or
店铺A/0215.xlsx [聊天记录] for a workbook's sheet), so every finding and rejected row points into
the archive. Names zipped on a Mac or a Chinese Windows without the archive's UTF-8 flag are read
as UTF-8, else GB18030, not as the DOS code page zip assumes. What an archiver adds beside the
exports (``__MACOSX/`` resource forks, ``.DS_Store``, folders) is no export; other files are
skipped with a note, as a folder's are.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator

from qa.errors import InputError
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions, Source

# the flag bit of a member whose name the archive stores in UTF-8
_UTF8_FLAG = 0x800


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its maker wrote it: the archive's UTF-8 flag, else UTF-8 when the bytes
    are UTF-8 (macOS, Linux), else GB18030 (Chinese Windows), never the DOS code page."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _archiver_litter(name: str) -> bool:
    """Whether a member is what an archiver adds, not an export: a folder, a macOS resource fork
    (__MACOSX/, ._name) or a hidden file (.DS_Store)."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return name.endswith("/") or name.startswith("__MACOSX/") or "/__MACOSX/" in name or base.startswith(".")


class ZipSource(Source):
    """The exports inside a zip archive, one after the other, in the archive's order."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        from qa.ingest.registry import EXTENSIONS, open_source

        self.path = path
        self.notes = IngestNotes()
        try:
            archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read {path}: not a zip archive ({exc})") from None
        self._folder = tempfile.mkdtemp(prefix="qa-zip-")
        self._members: list[tuple[str, str, Source]] = []  # (member name, extracted path, its source)
        try:
            with archive:
                for info in archive.infolist():
                    name = member_name(info)
                    if _archiver_litter(name):
                        continue
                    if not name.lower().endswith(EXTENSIONS) or name.lower().endswith(".zip"):
                        self.notes.add(f"{{files}}: skipped {name} inside it (not a chat export)", path)
                        continue
                    # the member's own name (a date in it dates its times of day), in a folder of its own
                    folder = os.path.join(self._folder, str(len(self._members)))
                    os.makedirs(folder)
                    extracted = os.path.join(folder, os.path.basename(name))
                    with archive.open(info) as member, open(extracted, "wb") as out:
                        shutil.copyfileobj(member, out)
                    try:
                        source = open_source(extracted, options, chunk_rows)
                    except InputError as error:
                        raise InputError(str(error).replace(extracted, f"{path} [{name}]")) from None
                    self._members.append((name, extracted, source))
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        if not self._members:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise InputError(f"{path} holds no chat export (a zip archive of .csv/.xlsx files is read)")
        self.has_times = any(source.has_times for _, _, source in self._members)

    def tables(self) -> Iterator[RawTable]:
        """Each member's tables, named by the archive and the member (the extracted copies go
        when the last one has been read)."""
        try:
            for name, extracted, source in self._members:
                for table in source.tables():
                    yield _renamed(table, self.path, name, extracted)
                for template, sources in source.notes._sources.items():
                    for shown in sources:
                        self.notes.add(template, f"{self.path} [{name}]" if shown == extracted else shown)
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


def _renamed(table: RawTable, archive: str, member: str, extracted: str) -> RawTable:
    """``table`` as rows of the archive: its member (and sheet) as the sheet."""
    sheet = f"{member} [{table.sheet}]" if table.sheet else member
    table.source, table.sheet, table.label = archive, sheet, f"{archive} [{sheet}]"
    if len(table.malformed) and "file" in table.malformed:
        table.malformed = table.malformed.assign(file=table.label)
    return table


FORMAT = Format("zip archive", (".zip",), (), ZipSource)
