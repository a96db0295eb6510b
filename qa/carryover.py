"""Auditing again to the path of a reviewed workbook keeps the trainers' work.

The README's own flow audits again to the same ``-o`` after a review (now with
suppressions); the workbook there may hold 复核 / Review verdicts and 备注 / Comment cells.
Before writing, :func:`earlier_reviews` reads them, and the new workbook gets each verdict,
comment and reviewer back on the row of the same finding id (:func:`carry_reviews`). Marks
whose finding is not listed in the new audit (inputs or rules changed) go to a sheet of their
own (未带入的复核 / Reviews not carried) and are named on the terminal, so nothing is lost.

Where carrying over is not safe, the audit stops before writing anything, with one line
naming ``--force`` (which writes a fresh workbook over it): the file looks like a workbook but
cannot be read; a row holds a verdict or comment but no finding id (or the sheet lost its ID
column); or a row's id is not the finding the row shows (an ID column sorted on its own), so
a verdict would move to another finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.identity import finding_ids, legacy_finding_ids
from qa.review import (
    HEADER_SCAN_ROWS,
    HEADERS,
    _cell_text,
    _last_modified_by,
    findings_table,
    misplaced_ids_message,
    row_differences,
)

# A file that may be a workbook: a zip (xlsx) or an OLE container (an encrypted xlsx, xls).
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
NOT_CARRIED_SHEET = ("未带入的复核", "Reviews not carried")
WHY_NOT_LISTED = ("本次审核没有这条违规（输入或规则已变）", "finding not listed in this audit (inputs or rules changed)")
WHY_DUPLICATE = ("编号重复：已带入同一编号的另一行", "duplicate id: another row with this id was carried")


@dataclass
class Mark:
    """A trainer's Review / Comment / Reviewer cells on one row of the earlier workbook."""

    id: str
    review: str  # verbatim, even a word qa review would refuse (it will say so, naming the cell)
    comment: str
    reviewer: str
    where: str  # "违规明细!K5"
    id_cell: str  # "违规明细!M5"
    shown: dict[str, str]  # the row's session, rule, row and message as shown
    why: tuple[str, str] | None = None  # (zh, en) why it was not carried


@dataclass
class EarlierReviews:
    """The marks of the workbook at the output path, and when it was read."""

    path: Path
    marks: list[Mark]
    stamp: tuple[int, int]
    lang: str = "zh"


@dataclass
class Carry:
    """What the new workbook gets: marks by finding id, and those kept apart."""

    path: Path
    marks: dict[str, Mark] = field(default_factory=dict)
    not_carried: list[Mark] = field(default_factory=list)
    ids: list[str] | None = None  # the listed findings' ids, as computed for the check

    @property
    def has_reviewers(self) -> bool:
        """Whether any carried verdict names its reviewer."""
        return any(mark.reviewer for mark in self.marks.values())

    def lines(self, lang: str) -> list[str]:
        """What the terminal says about the carried work."""
        sheet = NOT_CARRIED_SHEET[0 if lang == "zh" else 1]
        lines = [f"review: kept {len(self.marks)} verdict(s)/comment(s) of the earlier {self.path} on the same findings "
                 "(by finding id)"] if self.marks else []
        if self.not_carried:
            ids = ", ".join(mark.id or mark.where for mark in self.not_carried[:5])
            more = f" and {len(self.not_carried) - 5} more" if len(self.not_carried) > 5 else ""
            lines.append(f"review: {len(self.not_carried)} verdict(s)/comment(s) of the earlier {self.path} match no "
                         f"finding listed now ({ids}{more}): kept in sheet {sheet}")
        return lines


def _refuse(path: Path, why: str) -> QAError:
    return QAError(f"{path} holds trainers' review work that cannot be carried into the new workbook: {why}; "
                   "choose another -o, or add --force to overwrite it")


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def _may_be_workbook(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return head.startswith(_WORKBOOK_MAGIC)


def earlier_reviews(path: Path) -> EarlierReviews | None:
    """The verdicts and comments in the workbook at ``path`` (None when there is no such
    file, it is not a workbook, or it holds no Findings sheet); QAError naming ``--force``
    when they cannot be carried over safely."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    if not path.is_file() or not _may_be_workbook(path):
        return None
    stamp = _stamp(path)
    try:
        book = CalamineWorkbook.from_path(str(path))
        table = findings_table(book, path)
    except QAError:
        if _marks_without_ids(book):
            raise _refuse(path, "its Findings sheet has verdicts or comments but no 编号 / ID column") from None
        return None
    except Exception as error:  # calamine raises its own types for anything unreadable
        raise _refuse(path, f"it cannot be read as a workbook ({error})") from None
    if table is None or not ({"review", "comment"} & set(table.columns)):
        return None
    modified_by = _last_modified_by(path)
    marks: list[Mark] = []
    for index in range(table.header_row + 1, len(table.rows)):
        row = table.rows[index]
        review = _cell_text(table.value(row, "review"))
        comment = _cell_text(table.value(row, "comment"))
        if not review and not comment:
            continue
        key = "review" if review else "comment"
        finding = _cell_text(table.value(row, "id"))
        if not finding:
            raise _refuse(path, f"{table.cell('id', index)} is blank on a row with a review or comment")
        reviewer = _cell_text(table.value(row, "reviewer")) or (modified_by if review else "")
        marks.append(Mark(finding, review, comment, reviewer, table.cell(key, index), table.cell("id", index),
                          table.shown(row)))
    return EarlierReviews(path, marks, stamp, table.lang) if marks else None


def _marks_without_ids(book: Any) -> bool:
    """Whether a Findings sheet without an ID column has anything under a Review or Comment
    header."""
    from qa.review import FINDINGS_SHEETS

    for name in FINDINGS_SHEETS:
        if name not in book.sheet_names:
            continue
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
            cols = [c for c, v in enumerate(row) if _cell_text(v) in (*HEADERS["review"], *HEADERS["comment"])]
            if cols and any(c < len(r) and _cell_text(r[c]) for r in rows[index + 1:] for c in cols):
                return True
    return False


def carry_reviews(earlier: EarlierReviews | None, result: Any) -> Carry | None:
    """Match the earlier marks to the findings the new workbook lists (``result``:
    :class:`qa.model.AuditResult`). The workbook is read again if it was saved since (a
    trainer working while the audit ran)."""
    if earlier is None:
        return None
    path = earlier.path
    if not path.is_file():
        return None
    if _stamp(path) != earlier.stamp:
        earlier = earlier_reviews(path)
        if earlier is None:
            return None
    from qa.report import MAX_DETAIL_ROWS
    from qa.rules import builtin_rule_names, rule_names

    part = result.findings.iloc[:MAX_DETAIL_ROWS]
    ids = finding_ids(part)
    facts = dict(zip(ids, zip(part["session_id"].astype("str").tolist(), part["rule"].astype("str").tolist(),
                              [int(v) for v in part["row"].tolist()], part["text"].fillna("").astype("str").tolist())))
    carry = Carry(path=path, ids=ids)
    # The earlier workbook shows rule names: today's, or the built-in ones of an older qa.
    names = {**builtin_rule_names(), **rule_names(result.rules)}
    if any(mark.id not in facts for mark in earlier.marks):
        # A workbook from before id scheme 2: its ids are the findings' scheme-1 ids.
        legacy = dict(zip(legacy_finding_ids(part), ids))
        for mark in earlier.marks:
            if mark.id not in facts and mark.id in legacy:
                mark.id = legacy[mark.id]
    misplaced = []
    for mark in earlier.marks:
        fact = facts.get(mark.id)
        if fact is None:
            mark.why = WHY_NOT_LISTED
            carry.not_carried.append(mark)
            continue
        differences = row_differences(mark.shown, fact, earlier.lang, names)
        if differences:
            misplaced.append((mark.id_cell, mark.id, differences))
            continue
        if mark.id in carry.marks:
            mark.why = WHY_DUPLICATE
            carry.not_carried.append(mark)
            continue
        carry.marks[mark.id] = mark
    if misplaced:
        raise _refuse(path, misplaced_ids_message(misplaced))
    return carry


def refuse_reviewed_output(path: Path | None) -> None:
    """For outputs that cannot hold verdicts (JSON, CSV, Parquet): refuse to write over a
    workbook that holds review work."""
    if path is not None and earlier_reviews(Path(path)) is not None:
        raise _refuse(Path(path), "this output is not a workbook, so its verdicts would be lost")


def refuse_losing_reviews(path: Path, verdicts: dict[str, Any]) -> None:
    """For ``qa review``: refuse to write over a workbook holding verdicts or comments the new
    one will not hold (``verdicts``: :attr:`qa.review.Review.verdicts`), e.g. a reviewed
    workbook reviewed further."""
    from qa.review import parse_verdict

    earlier = earlier_reviews(Path(path))
    if earlier is None:
        return
    lost = []
    for mark in earlier.marks:
        now = verdicts.get(mark.id)
        try:
            verdict = parse_verdict(mark.review)
        except ValueError:
            verdict = mark.review
        if now is None or (mark.review and verdict != now.verdict) or (mark.comment and mark.comment not in now.comment):
            lost.append(mark.where)
    if lost:
        more = f" and {len(lost) - 3} more" if len(lost) > 3 else ""
        raise QAError(f"{path} holds {len(lost)} verdict(s)/comment(s) this review does not ({', '.join(lost[:3])}{more}): "
                      f"give it to qa review too (with another -o), choose another -o, or add --force to overwrite it")
