"""MySQL's ``SELECT … INTO OUTFILE`` text (and ``mysqldump --tab``) with its defaults: fields split by
TAB, records by LF, nothing quoted — a TAB, a line break or a backslash inside a value is written
with a backslash before it, and NULL as ``\\N``. A CSV or TSV parser ends the record at the escaped
line break and the field at the escaped TAB. The records are rewritten as the CSV they mean, one a
line, so a record's row is its number in the file (the header, UNION'd in as line 1, is record 1).
"""

from __future__ import annotations

import csv
import io

_UNESCAPE = {"0": "\x00", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "\\": "\\", "\t": "\t", "\n": "\n"}


def looks_like_outfile(head: str) -> bool:
    """Whether a text's first lines are MySQL OUTFILE records: TABs in the first line (the header's
    width), no quoted fields, and a line that reads the header's width only with its escapes read —
    a line ending in an escaped break that, joined to the lines after it, makes a record of that
    width, or a line whose escaped TABs make it one. ``\\N`` alone or a stray backslash proves nothing
    (Hive and pandas write \\N and escape nothing)."""
    lines = head.split("\r\n" if "\r\n" in head else "\n")
    if len(lines) < 2 or "\t" not in lines[0] or '"' in head:
        return False
    width = len(lines[0].split("\t"))
    for at, line in enumerate(lines[1:-1], 1):  # (the head's last line may be cut)
        # an escaped break whose next line is no record of its own (a whole record follows a message
        # that merely ends in a typed backslash)
        if _odd_backslashes(line) and len(lines[at + 1].split("\t")) != width:
            joined, end = line, at
            while _odd_backslashes(joined) and end + 1 < len(lines) - 1:
                end += 1
                joined += "\n" + lines[end]
            if len(_fields(joined)) == width:
                return True
        elif "\\\t" in line and len(line.split("\t")) > width and len(_fields(line)) == width:
            return True
    return False


def _odd_backslashes(line: str) -> bool:
    """Whether a line ends in an odd number of backslashes (its line break escaped)."""
    stripped = line.rstrip("\r")
    return (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1


def outfile_as_csv(text: str) -> str:
    """The OUTFILE text's records as CSV, a record a line (``\\N`` as empty). Lines go by whole
    (a record without a backslash is split at its TABs at once); only a record holding one is
    read character by character."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    pending: list[str] = []
    # (written with LINES TERMINATED BY '\r\n', a plain LF inside a value is written as it is)
    lines = text.split("\r\n" if "\r\n" in text[:1 << 16] else "\n")
    if lines and lines[-1] == "":
        lines.pop()  # (the last record's line break)
    for line in lines:
        pending.append(line)
        if _odd_backslashes(line):  # an escaped line break: the record goes on
            continue
        record = "\n".join(pending).rstrip("\r")
        pending = []
        if not record:
            out.write("\n")  # a blank line stays one (rows keep their numbers)
        else:
            fields = record.split("\t")
            if all("\\" not in field or field == "\\N" for field in fields):  # (the common case: at most NULLs)
                writer.writerow(["" if field == "\\N" else field for field in fields])
            else:
                writer.writerow(_fields(record))
    if pending and any(pending):
        writer.writerow(_fields("\n".join(pending)))
    return out.getvalue()


def _fields(record: str) -> list[str]:
    """A record's fields, its escapes read (\\N alone: empty)."""
    fields: list[str] = []
    value: list[str] = []
    at, size = 0, len(record)
    while at < size:
        char = record[at]
        if char == "\\" and at + 1 < size:
            following = record[at + 1]
            if following == "N" and not value and (at + 2 >= size or record[at + 2] == "\t"):
                value.append("\x00N")  # NULL: the whole field is \N
            elif following == "\r" and at + 2 < size and record[at + 2] == "\n":  # an escaped CR LF: one break
                value.append("\n")
                at += 1
            else:
                value.append(_UNESCAPE.get(following, following))
            at += 2
            continue
        if char == "\t":
            fields.append("".join(value))
            value = []
        else:
            value.append(char)
        at += 1
    fields.append("".join(value))
    return ["" if field == "\x00N" else field for field in fields]
