"""The one encoding detector of delimited text, and reading any encoding as UTF-8."""

from __future__ import annotations

import codecs
import io
import re

from qa.errors import InputError
from qa.ingest.table import _HEAD_BYTES

# A NUL byte or two is damage in a text export (that row is rejected); a file is refused as
# binary only for a known binary signature or when NULs are this large a share of its head.
_BINARY_NUL_SHARE = 0.05
_BINARY_MAGIC = (
    b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf",
    b"Rar!", b"\xd0\xcf\x11\xe0", b"SQLite format 3", b"PAR1", b"\x7fELF", b"MZ",
)

# Naive time layouts tried as whole-column formats (fast); which ones a file uses is sniffed


def _transcode(path: str, data: bytes, encoding: str, report_as: str | None = None) -> bytes:
    """Decode strictly and re-encode as UTF-8, the only encoding the parsers get (a bad byte is
    reported as one of ``report_as`` when the file was first read as that)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        text = _lines_in_two_encodings(data) if encoding == "gb18030" else None
        if text is None:
            hint = encoding == "gb18030"
            raise InputError(_bad_byte_message(path, report_as or encoding, hint=hint)) from None
    if _mostly_nul(text[:_HEAD_BYTES]):
        raise InputError(f"cannot read {path}: not a text file (binary content)")
    # Every BOM goes, not only the first: two exports concatenated carry one mid-file.
    return text.replace("\ufeff", "").encode("utf-8")


def _lines_in_two_encodings(data: bytes) -> str | None:
    """``data`` decoded line by line, each line as UTF-8 when it is valid UTF-8 and as GB18030
    otherwise (two exports joined byte for byte, one from before a platform moved to UTF-8); None
    when a line is neither. A GBK line of Chinese text is almost never valid UTF-8."""
    parts = []
    for line in data.splitlines(keepends=True):
        try:
            parts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                parts.append(line.decode("gb18030"))
            except UnicodeDecodeError:
                return None
    return "".join(parts)


def _bad_byte_message(path: str, encoding: str, *, hint: bool | None = None) -> str:
    """The error for a file ``encoding`` cannot decode, naming the first bad byte by its offset
    in the file and its line (found by reading the file again: this is the error path)."""
    offset, value, line = _first_bad_byte(path, encoding)
    if hint is None:
        hint = encoding == "gb18030"
    if hint:
        # UTF-8 read further than GB18030 (a UTF-8 file with one damaged byte): its bad byte is the one to fix
        utf8_offset, utf8_value, utf8_line = _first_bad_byte(path, "utf-8")
        if utf8_offset > offset:
            return (f"cannot read {path} as utf-8: bad byte 0x{utf8_value:02X} at offset {utf8_offset} (line "
                    f"{utf8_line}); not GB18030 either: fix that line or use --encoding")
    tail = "; not UTF-8 or GB18030 either, use --encoding" if hint else ""
    return f"cannot read {path} as {encoding}: bad byte 0x{value:02X} at offset {offset} (line {line}){tail}"


def _first_bad_byte(path: str, encoding: str) -> tuple[int, int, int]:
    """(offset, byte, line) of the first byte of the file that ``encoding`` cannot decode."""
    lines, base = 1, 0
    if codecs.lookup(encoding).name == "utf-8-sig":
        encoding = "utf-8"  # the BOM is valid UTF-8, and offsets count from the file's start
    # A stateless multi-byte encoding is decoded per block, which gives exact offsets; the
    # others (UTF-16, UTF-32) go through an incremental decoder.
    stateless = codecs.lookup(encoding).name in ("utf-8", "gb18030", "gbk", "gb2312", "big5", "ascii", "latin-1", "cp1252")
    decoder = None if stateless else codecs.getincrementaldecoder(encoding)(errors="strict")
    carry = b""
    with open(path, "rb") as handle:
        while True:
            raw = handle.read(1 << 20)
            data = carry + raw
            try:
                if decoder is not None:
                    text = decoder.decode(raw, final=not raw)
                else:
                    text, carry = data.decode(encoding), b""
            except UnicodeDecodeError as exc:
                if decoder is not None:  # its start counts from the bytes it held back
                    start = max(exc.start - len(decoder.getstate()[0]), 0)
                    prefix = decoder.decode(raw[:start])
                    return base + start, raw[start] if start < len(raw) else 0, lines + _line_breaks(prefix)
                if raw and exc.start >= len(data) - 4:  # a character cut by the read: read on
                    text, carry = data[: exc.start].decode(encoding), data[exc.start :]
                else:
                    prefix = data[: exc.start].decode(encoding)
                    return base - len(carry) + exc.start, data[exc.start], lines + _line_breaks(prefix)
            lines += _line_breaks(text)
            base += len(raw)
            if not raw:
                return base, 0, lines  # not reached for a file that failed to decode


def _line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _refuse_binary(path: str, head: bytes) -> None:
    """Raise InputError when the file's first bytes are those of a binary file."""
    if b"\x00" not in head:
        return
    if head.startswith(b"PK\x03\x04"):
        raise InputError(f"cannot read {path}: looks like an Excel workbook; save it as .xlsx")
    if head.startswith(_BINARY_MAGIC) or _mostly_nul(head):
        raise InputError(f"cannot read {path}: not a text file (binary content)")


def _mostly_nul(sample: bytes | str) -> bool:
    """Whether NULs are a binary file's share of ``sample`` rather than a stray byte or two."""
    nul = b"\x00" if isinstance(sample, bytes) else "\x00"
    return sample.count(nul) > max(1, len(sample) * _BINARY_NUL_SHARE)


#: The byte-order marks of UTF-8 and UTF-16 (a text file or page that starts with one says its encoding).
UNICODE_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def head_text(head: bytes) -> str | None:
    """A file's first bytes as text, or None when they are not text: decoded by their Unicode BOM,
    else as UTF-8 or GB18030 when they hold no NUL (a character cut at the end of ``head`` aside)."""
    for bom, encoding in zip(UNICODE_BOMS, ("utf-8", "utf-16-le", "utf-16-be"), strict=True):
        if head.startswith(bom):
            return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head[len(bom):])
    if b"\x00" in head:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
    return None


def detect_encoding(path: str, head: bytes, forced: str | None, *, final: bool) -> str:
    """The encoding of a delimited file, from its first bytes (``final``: they are the whole
    file): the user's choice, a BOM, then UTF-8 (verified further while parsing: see
    :class:`_NotUtf8`), then GB18030. Raises InputError for binary content."""
    if forced:
        return forced
    if head.startswith(codecs.BOM_UTF8):  # Excel's "CSV UTF-8"
        return "utf-8-sig"
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM is its prefix
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if head.startswith(bom):
            return name
    _refuse_binary(path, head[:_HEAD_BYTES])
    try:
        _decode_head(head[:_HEAD_BYTES], final)
    except _NotUtf8:
        return "big5" if _reads_better_as_big5(head[:_HEAD_BYTES]) else "gb18030"
    return "utf-8"


def _reads_better_as_big5(head: bytes) -> bool:
    """Whether the first lines name more known columns read as Big5 (a Taiwan shop's export:
    對話編號, 發送時間) than as GB18030, which decodes most Big5 bytes too, into other characters."""
    try:
        big5 = head.decode("big5", errors="strict")
    except UnicodeDecodeError:
        try:  # the head may end inside a character
            big5 = head[:-1].decode("big5", errors="strict")
        except UnicodeDecodeError:
            return False
    return _known_columns(big5) > _known_columns(head.decode("gb18030", errors="replace"))


def _known_columns(text: str) -> int:
    from qa.ingest.header import field_of

    lines = text.splitlines()[:8]
    return max((len({field_of(cell) for cell in re.split(r"[,\t;]", line)} - {None}) for line in lines), default=0)


def _decode_head(head: bytes, final: bool) -> str:
    """UTF-8 ``head`` as text (a character cut at its end is dropped unless ``final``)."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(head, final=final)
    except UnicodeDecodeError:
        raise _NotUtf8 from None


# A BOM anywhere in a file (exports joined into one): re finds it in about half the time of
# ``in`` or bytes.replace (Chinese text is full of the BOM's first byte, 0xEF, which begins ，！？：).
_UTF8_BOM = re.compile(re.escape(codecs.BOM_UTF8))


def _without_boms(data: bytes) -> bytes:
    """UTF-8 ``data`` without its BOMs (``data`` itself when it has none, the usual case)."""
    return data.replace(codecs.BOM_UTF8, b"") if _UTF8_BOM.search(data) else data


def to_utf8(path: str, raw: bytes, encoding: str, report_as: str | None = None) -> bytes:
    """A whole file's content as UTF-8 without BOMs (the in-memory counterpart of
    :class:`_Utf8Reader`; UTF-8 is checked by the parser, not here)."""
    if encoding in ("utf-8", "utf-8-sig"):
        return _without_boms(raw)
    return _transcode(path, raw, encoding, report_as)


class _NotUtf8(Exception):
    """The file passed the UTF-8 check on its head but not further down."""


class _Utf8Reader(io.RawIOBase):
    """A file's content as UTF-8 bytes without BOMs, decoding other encodings strictly on the fly
    (the streaming counterpart of :func:`_transcode`). ``saw_nul`` tells whether a NUL has been
    read so far."""

    def __init__(self, path: str, encoding: str, report_as: str | None = None) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._path = path
        self._encoding = encoding
        self._report_as = report_as
        self._pending = bytearray()
        self._started = False
        self._decoder = None
        self._held = b""  # the start of a UTF-8 BOM cut by a read boundary
        self.saw_nul = False
        if encoding in ("utf-8", "utf-8-sig"):
            if self._file.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
                self._file.seek(0)
        else:
            self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = (1 << 62) if size is None or size < 0 else size
        while len(self._pending) < want:
            raw = self._file.read(min(max(want - len(self._pending), 1 << 16), 1 << 24))
            data = self._utf8_of(raw)
            if not self._pending and len(data) == want:
                return data  # a block just as asked for (the usual case): not copied through _pending
            self._pending += data
            if not raw:
                break
        out = bytes(self._pending[:want])
        del self._pending[:want]
        return out

    def _utf8_of(self, raw: bytes) -> bytes:
        """The next raw bytes as UTF-8 without BOMs (b"" at the end: ``raw`` is b"")."""
        if self._decoder is None:
            data, self._held = self._held + raw, b""
            if raw:  # the last bytes may begin a BOM that the next read completes
                for cut in (2, 1):
                    if data.endswith(codecs.BOM_UTF8[:cut]):
                        data, self._held = data[:-cut], data[-cut:]
                        break
            if b"\x00" in data:
                self.saw_nul = True
            return _without_boms(data)
        try:
            text = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            hint = self._encoding == "gb18030"
            raise InputError(_bad_byte_message(self._path, self._report_as or self._encoding, hint=hint)) from None
        if not self._started and text:
            self._started = True
            if _mostly_nul(text[:_HEAD_BYTES]):
                raise InputError(f"cannot read {self._path}: not a text file (binary content)")
        if "\x00" in text:
            self.saw_nul = True
        return text.replace("\ufeff", "").encode("utf-8")

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
