"""A query's result as a database client prints it (the ``mysql`` client's box table), pasted
into a text file: made into CSV text with the same line numbers.

The client draws the table with ``+----+`` border lines and ``| value |`` rows, padding each cell
to the column's width **on the screen**: a Chinese character takes two columns. So the cells are
cut where the border's ``+`` marks stand, counted in screen columns, not split at ``|`` (which a
message may hold, 尺码S|M|L) nor at character positions. ``NULL`` is the client's word for no
value. Lines outside the table (the prompt, the query, ``25 rows in set``) become blank lines, so a
row keeps the line number the file shows.
"""

from __future__ import annotations

import csv
import io
import unicodedata

from qa.regexcache import compile_regex

_BORDER = compile_regex(r"^\+(?:-+\+)+$")
_ROW = compile_regex(r"^\|.*\|$")
# Lines looked at for a table's top: the header's border, the header, its border.
_HEAD_LINES = 60


def _width(char: str) -> int:
    """The screen columns a character takes in a terminal (wide and full-width ones: two)."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def is_box_table(head: str) -> bool:
    """Whether the first lines of a text hold a box table's top: a border, a row, a border."""
    lines = [line.strip() for line in head.splitlines()[:_HEAD_LINES]]
    return any(_BORDER.match(lines[at]) and _ROW.match(lines[at + 1]) and _BORDER.match(lines[at + 2])
               for at in range(len(lines) - 2))


def box_table_as_csv(text: str) -> str:
    """The text with its box table's rows as CSV records on the lines they stand on, every other
    line blank (the header is the first row under a border)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    cuts: list[int] | None = None
    lines = [line.rstrip("\r") for line in text.split("\n")]  # (not splitlines: U+2028 inside a cell is no line end)
    at = 0
    while at < len(lines):
        stripped = lines[at].strip()
        if _BORDER.match(stripped):
            cuts = [position for position, char in enumerate(stripped) if char == "+"]
            out.write("\n")
        elif cuts is not None and _ROW.match(stripped):
            writer.writerow(_cells(stripped, cuts))
        elif cuts is not None and stripped.startswith("|"):
            # a value holding a line break: the client prints it as it is, so the row goes on over the
            # next lines until one closes it (|); the row stays on its first line, the others blank
            end = at + 1
            while end < len(lines) and not lines[end].rstrip().endswith("|") and not _BORDER.match(lines[end].strip()):
                end += 1
            if end < len(lines) and not _BORDER.match(lines[end].strip()):
                writer.writerow(_broken_row(stripped, [line.rstrip() for line in lines[at + 1 : end + 1]], cuts))
                out.write("\n" * (end - at))
                at = end
            else:
                writer.writerow([stripped])  # never closed: a malformed row, rejected with its line
        else:
            out.write("\n")
        at += 1
    return out.getvalue()


def _broken_row(first: str, rest: list[str], cuts: list[int]) -> list[str]:
    """The cells of a row printed over several lines: the first line cut at the border's columns up
    to where it stops, the value it stops in taking the next lines, the last line's other cells split
    at its ``|`` separators."""
    cells = _cells(first + " " * _width_of(first), cuts)  # (padded: the cells the first line holds)
    width = _width_of(first)
    whole = [index for index in range(1, len(cuts)) if cuts[index] <= width]
    done, open_cell = cells[: len(whole)], cells[len(whole)] if len(cells) > len(whole) else ""
    tail = "\n".join(rest)
    pieces = [piece.strip() for piece in tail.rstrip().removesuffix("|").split(" | ")]
    pieces[0] = (open_cell + "\n" + pieces[0]).strip() if open_cell else pieces[0]
    out = done + pieces
    return [cell if cell != "NULL" else "" for cell in out][: len(cuts) - 1]


def _width_of(text: str) -> int:
    """The screen columns a text takes."""
    return sum(_width(char) for char in text)


def _cells(line: str, cuts: list[int]) -> list[str]:
    """The cells of a table row, cut at the border's ``+`` columns counted on the screen (a ``|``
    one column off a cut is taken for the cut: clients count an emoji's width differently)."""
    cells: list[str] = []
    cell: list[str] = []
    column, edge = 1, 1  # the opening | takes column 0
    for char in line[1:]:
        if edge < len(cuts) and (column >= cuts[edge] or (char == "|" and cuts[edge] - column <= 1)):
            cells.append("".join(cell).strip())
            cell, column, edge = [], cuts[edge] + 1, edge + 1
            continue
        cell.append(char)
        column += _width(char)
    return [cell if cell != "NULL" else "" for cell in cells][: len(cuts) - 1]
