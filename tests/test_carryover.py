"""Auditing again to the path of a reviewed workbook: the trainers' verdicts are carried over
by finding id (those that match nothing are kept on a sheet of their own), or the audit
refuses with a message naming --force; --force writes a fresh workbook."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from review_helpers import CHAT, audit, findings_of, review_in_excel, rows_as_dicts, run

WITHOUT_S7 = "\n".join(line for line in CHAT.splitlines() if not line.startswith("S7")) + "\n"


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    return audit(tmp_path_factory.mktemp("audit"))


@pytest.fixture
def reviewed(tmp_path):
    """An audited workbook with three findings reviewed by 王老师 (S7's among them), beside its
    input (ids depend on the input's path, so each test audits its own)."""
    book, data = audit(tmp_path)
    found = {s: findings_of(data, session_id=s)[0] for s in ("S1", "S2", "S3", "S7")}
    review_in_excel(book, {found["S1"]["id"]: ("误报", "议价玩笑"), found["S2"]["id"]: ("确认", ""),
                           found["S7"]["id"]: ("误报", "客户先骂人")}, who="王老师")
    return book, data, found


def _verdicts(book):
    return {r["编号"]: (r["复核"], r["备注"], r.get("复核人")) for r in rows_as_dicts(book, "违规明细", "时间")}


def test_reaudit_keeps_verdicts_by_id_and_keeps_those_that_match_nothing(reviewed, tmp_path):
    book, data, found = reviewed
    (tmp_path / "day.csv").write_text(WITHOUT_S7, encoding="utf-8")  # S7's finding is gone now
    result = run("audit", tmp_path / "day.csv", "-o", book)
    assert result.exit_code == 0, result.stderr

    verdicts = _verdicts(book)
    assert verdicts[found["S1"]["id"]] == ("误报", "议价玩笑", "王老师")
    assert verdicts[found["S2"]["id"]] == ("确认", None, "王老师")
    assert found["S7"]["id"] not in verdicts
    assert sum(1 for v in verdicts.values() if v[0]) == 2
    assert "kept 2 verdict(s)/comment(s)" in result.stderr
    assert f"1 verdict(s)/comment(s) of the earlier {book} match no finding listed now ({found['S7']['id']})" in result.stderr
    assert "kept in sheet 未带入的复核" in result.stderr

    kept = rows_as_dicts(book, "未带入的复核", "编号")
    assert [(r["编号"], r["复核"], r["备注"], r["复核人"], r["会话"], r["消息"]) for r in kept] == [
        (found["S7"]["id"], "误报", "客户先骂人", "王老师", "S7", "你有病吧")
    ]
    assert kept[0]["原位置"].startswith("违规明细!K")

    # The new workbook reviews as the old one did: the carried false positive counts.
    out = tmp_path / "reviewed.xlsx"
    reviewed_run = run("review", book, "-o", out)
    assert reviewed_run.exit_code == 0, reviewed_run.stderr
    findings = {r["编号"]: r for r in rows_as_dicts(out, "违规明细", "时间")}
    assert findings[found["S1"]["id"]]["复核"] == "误报" and findings[found["S1"]["id"]]["复核人"] == "王老师"
    assert findings[found["S1"]["id"]]["复核后扣分"] == 0


def test_reaudit_to_an_unreviewed_workbook_writes_it_as_before(audited, tmp_path):
    path, _ = audited
    book = tmp_path / "day-qa.xlsx"
    shutil.copy(path, book)
    (tmp_path / "day.csv").write_text(CHAT, encoding="utf-8")
    result = run("audit", tmp_path / "day.csv", "-o", book)
    assert result.exit_code == 0, result.stderr
    assert "review:" not in result.stderr
    assert "未带入的复核" not in openpyxl.load_workbook(book).sheetnames


def test_force_writes_a_fresh_workbook(reviewed, tmp_path):
    book, _, _ = reviewed
    result = run("audit", tmp_path / "day.csv", "-o", book, "--force")
    assert result.exit_code == 0, result.stderr
    assert not any(v[0] or v[1] for v in _verdicts(book).values())


def _refused(result, book, before: bytes, cell_hint: str = ""):
    assert result.exit_code == 2
    assert result.stderr.startswith("qa: error: ") and len(result.stderr.strip().splitlines()) == 1
    assert str(book) in result.stderr and "--force" in result.stderr and cell_hint in result.stderr
    assert book.read_bytes() == before  # nothing was written over it


def test_swapped_ids_in_the_earlier_workbook_are_refused_not_carried(reviewed, tmp_path):
    """A verdict next to S1's message but with S2's id (the ID column sorted on its own) would
    land on S2's finding: the audit stops before writing anything, the history included."""
    book, _, found = reviewed
    workbook = openpyxl.load_workbook(book, rich_text=True)
    sheet = workbook["违规明细"]
    cells = {c.value: c for c in sheet["M"] if c.value in (found["S1"]["id"], found["S2"]["id"])}
    a, b = cells[found["S1"]["id"]], cells[found["S2"]["id"]]
    a.value, b.value = b.value, a.value
    workbook.save(book)
    before = book.read_bytes()
    history = tmp_path / "history.sqlite"
    result = run("audit", tmp_path / "day.csv", "-o", book, "--history", history)
    _refused(result, book, before, f"违规明细!M{a.row}: finding id '{found['S2']['id']}' is not the finding shown on its row")
    assert "session S1 ≠ S2" in result.stderr
    assert not history.exists()
    assert run("audit", tmp_path / "day.csv", "-o", book, "--force").exit_code == 0


def test_a_verdict_without_an_id_is_refused(reviewed, tmp_path):
    book, _, found = reviewed
    workbook = openpyxl.load_workbook(book, rich_text=True)
    cell = next(c for c in workbook["违规明细"]["M"] if c.value == found["S1"]["id"])
    cell.value = None
    workbook.save(book)
    before = book.read_bytes()
    _refused(run("audit", tmp_path / "day.csv", "-o", book), book, before, f"违规明细!M{cell.row} is blank")


def test_an_unreadable_workbook_at_the_output_is_refused(tmp_path):
    """A damaged workbook may hold verdicts that cannot be read: not overwritten silently."""
    (tmp_path / "day.csv").write_text(CHAT, encoding="utf-8")
    book = tmp_path / "day-qa.xlsx"
    book.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    before = book.read_bytes()
    _refused(run("audit", tmp_path / "day.csv", "-o", book), book, before, "cannot be read as a workbook")
    assert run("audit", tmp_path / "day.csv", "-o", book, "--force").exit_code == 0
    assert "违规明细" in openpyxl.load_workbook(book).sheetnames


def test_other_outputs_do_not_overwrite_a_reviewed_workbook(reviewed, tmp_path):
    book, _, _ = reviewed
    before = book.read_bytes()
    result = run("audit", tmp_path / "day.csv", "-o", tmp_path / "new.xlsx", "--json", book)
    _refused(result, book, before, "not a workbook")
    assert not (tmp_path / "new.xlsx").exists()


def test_review_does_not_overwrite_a_reviewed_review(reviewed, tmp_path):
    """qa review writes <report>-reviewed.xlsx; a trainer reviews that further; running the first
    review again must not throw the further work away."""
    book, _, found = reviewed
    first = run("review", book)
    assert first.exit_code == 0, first.stderr
    out = book.with_name("day-qa-reviewed.xlsx")
    assert run("review", book).exit_code == 0  # the same review again loses nothing
    review_in_excel(out, {found["S3"]["id"]: ("确认", "再看")})
    before = out.read_bytes()
    result = run("review", book)
    _refused(result, out, before, "holds 1 verdict(s)/comment(s) this review does not (违规明细!K")
    assert run("review", book, "--force").exit_code == 0
    assert run("review", book, out, "-o", tmp_path / "both.xlsx").exit_code == 0



def test_verdicts_under_old_ids_are_carried_to_the_same_findings(reviewed, tmp_path):
    """A workbook written before finding id scheme 2 shows scheme-1 ids: its verdicts still go
    back on their findings."""
    from qa.identity import finding_id

    book, _, found = reviewed
    s5 = found["S2"]  # 爱买不买: no personal data, so the JSON's text is the original text
    old_id = finding_id(s5["file"], "", s5["row"], s5["rule"], s5["text"], scheme=1)
    assert old_id != s5["id"]
    workbook = openpyxl.load_workbook(book, rich_text=True)
    next(c for c in workbook["违规明细"]["M"] if c.value == s5["id"]).value = old_id
    workbook.save(book)
    result = run("audit", tmp_path / "day.csv", "-o", book)
    assert result.exit_code == 0, result.stderr
    assert _verdicts(book)[s5["id"]] == ("确认", None, "王老师")
    assert "kept 3 verdict(s)/comment(s)" in result.stderr and "match no finding" not in result.stderr
