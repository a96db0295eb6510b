"""MHTML archives (.mhtml, .mht): a web page saved as one file, as a browser saves a console's chat
history page and Excel saves a workbook as a "single file web page" (which some consoles name .xls).
The archive is a MIME message; each of its HTML parts (the page, or Excel's sheet per part) is read
for tables like an HTML page (:mod:`qa.ingest.htmltable`), decoded from its transfer encoding
(quoted-printable, base64) with the charset the part declares."""

from __future__ import annotations

import re
from urllib.parse import unquote

from qa.errors import InputError
from qa.ingest.htmltable import HtmlTableSource, page_tables
from qa.ingest.table import Format, IngestNotes, RawTable, ReadOptions

MHTML_EXTENSIONS = (".mhtml", ".mht")
# The archive's own header block: MIME-Version and a multipart type among its first header lines
# (browsers write From/Snapshot-Content-Location/Subject/Date before them; Excel X-Document-Type).
_ARCHIVE_HEAD = re.compile(r"\A(?:[!-9;-~]+:[^\n]*\n(?:[ \t][^\n]*\n)*){0,30}?[Mm][Ii][Mm][Ee]-[Vv]ersion:")
_MULTIPART = re.compile(r"^Content-Type:\s*multipart/", re.IGNORECASE | re.MULTILINE)


def is_mime_archive(head: str) -> bool:
    """Whether a file's first part (as text) is the header of a MIME archive of a web page."""
    head = head.lstrip("\ufeff").replace("\r\n", "\n")
    block = head.split("\n\n", 1)[0]
    return _ARCHIVE_HEAD.match(head) is not None and _MULTIPART.search(block) is not None


def _read_tables(path: str, options: ReadOptions, notes: IngestNotes) -> list[RawTable]:
    """The archive's tables with the needed columns."""
    # (email is imported here: every audit imports this module to know the formats, few read one)
    import email
    import email.policy

    try:
        with open(path, "rb") as handle:
            message = email.message_from_binary_file(handle, policy=email.policy.compat32)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not message.is_multipart():
        raise InputError(f"cannot read {path}: not an MHTML archive (no MIME parts); save the page as .html or the "
                         "table as CSV")
    parts = [part for part in message.walk() if part.get_content_type() == "text/html"]
    pages = []
    for number, part in enumerate(parts, 1):
        content = part.get_payload(decode=True)
        if not content:
            continue
        # one page reads like an HTML file; several (Excel's sheets) are told apart by their file names
        location = _file_name(part.get("Content-Location"))
        pages.append(("" if len(parts) == 1 else location or f"part {number}", content, part.get_content_charset()))
    if not pages:
        raise InputError(f"cannot read {path}: the MHTML archive holds no HTML page")
    read = page_tables(path, pages, options, notes)
    notes.add(f"{{files}} is a web page archive (MHTML): read its table{'s' if len(read) > 1 else ''} as a sheet", path)
    return read


def _file_name(location) -> str:
    """The file name at the end of a part's Content-Location (percent-escapes and raw bytes decoded)."""
    if not location:
        return ""
    from email.header import decode_header

    raw = b"".join(piece if isinstance(piece, bytes) else piece.encode("utf-8", "surrogateescape")
                   for piece, _ in decode_header(location))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", "replace")  # a Chinese Excel's file name, written raw
    return unquote(text.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])


class MhtmlSource(HtmlTableSource):
    """The tables of an MHTML archive's HTML parts that have the needed columns, part after part."""

    read_tables = staticmethod(_read_tables)


FORMAT = Format("MHTML archive", MHTML_EXTENSIONS, (), MhtmlSource)
