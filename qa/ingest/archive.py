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
import zlib
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
    """The exports inside a zip archive, one after the other, in the archive's order. A member is
    extracted only when its turn comes (and removed once read), its size counted as it is copied;
    a member that cannot be read (a damaged or encrypted one, a program's side file, a layout no
    reader reads) is skipped with a note naming why, as a folder's files are."""

    def __init__(self, path: str, options: ReadOptions, chunk_rows: int | None) -> None:
        self.path = path
        self.options = options
        self.chunk_rows = chunk_rows
        self.notes = IngestNotes()
        try:
            with zipfile.ZipFile(path) as archive:
                self._infos = [(info, member_name(info)) for info in archive.infolist()]
        except (OSError, zipfile.BadZipFile, RuntimeError, ValueError) as exc:
            raise InputError(f"cannot read {path}: not a readable zip archive ({exc})") from None
        self._infos = [(info, name) for info, name in self._infos if not _archiver_litter(name)]
        self.has_times = True  # set member by member as each is read (a member's rows take its own)

    def tables(self) -> Iterator[RawTable]:
        """Each member's tables, named by the archive and the member."""
        from qa.ingest.registry import EXTENSIONS, is_side_file, open_source

        folder = tempfile.mkdtemp(prefix="qa-zip-")
        read = 0
        skipped: list[str] = []
        budget = _MAX_EXTRACTED_BYTES
        try:
            with zipfile.ZipFile(self.path) as archive:
                for number, (info, name) in enumerate(self._infos):
                    label = f"{self.path} [{name}]"
                    base = name.rsplit("/", 1)[-1]
                    if name.lower().endswith(".zip"):
                        self.notes.add(f"{{files}}: skipped {name} inside it (a zip inside a zip is not read: "
                                       "unpack it first)", self.path)
                        skipped.append(f"{name} (a zip inside a zip: unpack it first)")
                        continue
                    if not name.lower().endswith(EXTENSIONS) or base.lower().startswith("readme") or base.startswith("~$"):
                        self.notes.add(f"{{files}}: skipped {name} inside it (not a chat export)", self.path)
                        continue
                    extracted = os.path.join(folder, str(number), os.path.basename(name))
                    os.makedirs(os.path.dirname(extracted))
                    try:
                        budget -= _extract(archive, info, extracted, budget, label)
                    except (RuntimeError, zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError) as exc:
                        why = "encrypted: a password is needed" if "encrypted" in str(exc) else f"damaged: {exc}"
                        self.notes.add(f"{{files}}: skipped {name} inside it ({why})", self.path)
                        skipped.append(f"{name} ({why})")
                        self.notes.refused_members.append((label, why))
                        continue
                    if is_side_file(extracted):
                        self.notes.add(f"{{files}}: skipped {name} inside it (a program's side file)", self.path)
                        os.remove(extracted)
                        continue
                    try:
                        source = open_source(extracted, self.options, self.chunk_rows)
                    except InputError as error:
                        reason = str(error).replace(extracted, label)
                        self.notes.add(f"{{files}}: skipped {name} inside it (not read: {reason})", self.path)
                        skipped.append(f"{name} ({reason})")
                        self.notes.refused_members.append((label, reason))
                        os.remove(extracted)
                        continue
                    self.has_times = source.has_times
                    for table in source.tables():
                        read += 1
                        yield _renamed(table, self.path, name, extracted)
                    for template, sources in source.notes._sources.items():
                        for shown in sources:
                            self.notes.add(template, label if shown == extracted else shown)
                    os.remove(extracted)
        except (zipfile.BadZipFile, RuntimeError) as exc:
            raise InputError(f"cannot read {self.path}: not a readable zip archive ({exc})") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if not read:
            why = f"; skipped {skipped[0]}" if skipped else ""
            raise InputError(f"{self.path} holds no chat export that could be read (a zip archive of .csv/.xlsx "
                             f"files is read){why}")


# What an archive may unpack to, all members together: past it, it is taken for a zip bomb.
_MAX_EXTRACTED_BYTES = 8 << 30
_COPY_BYTES = 1 << 20
# A member may unpack to this many times its compressed size, or to this size whatever it is.
_MAX_RATIO = 200
_RATIO_FREE_BYTES = 64 << 20


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: str, budget: int, label: str) -> int:
    """Copy a member to ``target``, counting its bytes as they come (a header's size can lie);
    the bytes written. Raises InputError past ``budget``."""
    written = 0
    # text compresses five to twenty times; hundreds of times over a large size is a bomb's work
    most = max(_RATIO_FREE_BYTES, _MAX_RATIO * info.compress_size)
    with archive.open(info) as member, open(target, "wb") as out:
        while block := member.read(_COPY_BYTES):
            written += len(block)
            if written > budget or written > most:
                raise InputError(f"{label} unpacks to far more than it holds compressed ({info.compress_size:,} bytes): "
                                 "refused as a zip bomb")
            out.write(block)
    return written


def _renamed(table: RawTable, archive: str, member: str, extracted: str) -> RawTable:
    """``table`` as rows of the archive: its member (and sheet) as the sheet."""
    sheet = f"{member} [{table.sheet}]" if table.sheet else member
    table.source, table.sheet, table.label = archive, sheet, f"{archive} [{sheet}]"
    if len(table.malformed) and "file" in table.malformed:
        table.malformed = table.malformed.assign(file=table.label)
    return table


FORMAT = Format("zip archive", (".zip",), (), ZipSource)
