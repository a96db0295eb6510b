"""CSV written in a browser with ``JSON.stringify`` on every field (腾讯企点's console export and
many hand-made front-end exports): each value quoted with JSON's escapes — ``\\"`` for a quote,
``\\n`` for a line break, ``\\\\`` for a backslash — instead of CSV's doubled quotes. A CSV parser
reads ``\\"`` as the end of the value (a message ending in an inch mark, 11\\", runs into the next
rows). Each line is one record and decodes as a JSON array; it is rewritten as the CSV it means,
line for line, so every row keeps its number.
"""

from __future__ import annotations

import csv
import io
import json

# a value's escaped quote or backslash, as JSON writes it inside a quoted field
_ESCAPED = ('\\"', "\\\\")


def looks_json_stringified(head: str) -> bool:
    """Whether the first lines of a text are JSON-quoted fields with JSON escapes: every field of the
    first line in double quotes, and an escaped quote or backslash somewhere in the head."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    if not first.startswith('"') or not first.endswith('"') or not any(mark in head for mark in _ESCAPED):
        return False
    try:
        fields = json.loads("[" + first + "]")
    except ValueError:
        return False
    return len(fields) >= 3 and all(isinstance(field, str) for field in fields)


def json_stringified_as_csv(text: str) -> str | None:
    """The text's records (one a line, each a JSON array's items) as CSV, a line each; a line that
    does not decode (a download cut off) stays one field, which the reader rejects with its row;
    None when the header line does not decode (then the text is read as the CSV it claims to be)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    lines = text.lstrip("\ufeff").split("\n")
    if lines and not lines[-1].strip():
        lines.pop()  # (the last record's line break)
    for number, line in enumerate(lines):
        line = line.rstrip("\r")
        if not line.strip():
            out.write("\n")
            continue
        try:
            fields = json.loads("[" + line + "]")
        except ValueError:
            if number == 0:
                return None
            writer.writerow([line])
            continue
        writer.writerow([_whole("" if field is None else str(field)) for field in fields])
    return out.getvalue()


def _whole(value: str) -> str:
    """A value without lone surrogates (an emoji cut in half by the exporting script: \\ud83d)."""
    if any("\ud800" <= char <= "\udfff" for char in value):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value
