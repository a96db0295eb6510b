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

import regex

_BORDER = regex.compile(r"^\+(?:-+\+)+$")
_ROW = regex.compile(r"^\|.*\|$")
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
    for line in text.splitlines():
        stripped = line.strip()
        if _BORDER.match(stripped):
            cuts = [at for at, char in enumerate(stripped) if char == "+"]
            out.write("\n")
        elif cuts is not None and _ROW.match(stripped):
            writer.writerow(_cells(stripped, cuts))
        else:
            out.write("\n")
    return out.getvalue()


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
