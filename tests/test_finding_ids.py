"""Finding ids reveal nothing the masked outputs hide (id scheme 2), stay the same across
paths and --no-mask, and workbooks written under scheme 1 still review, update their history
and emit suppressions that match."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import openpyxl
import pytest
from review_helpers import audit, findings_of, review_in_excel, rows_as_dicts, run

from qa.audit.run import audit as audit_in_process
from qa.errors import QAError
from qa.identity import ID_SCHEME, finding_id, finding_ids, legacy_finding_ids, run_id_scheme
from qa.review import DATA_SHEET, data_chunks, read_data_chunks, read_reviewed_workbook

PHONE = "13800138001"


def chat(phone: str = PHONE) -> str:
    return (
        "session_id,timestamp,role,agent,text\n"
        "S1,2026-11-20 10:00:00,customer,,能便宜点吗\n"
        f"S1,2026-11-20 10:00:30,agent,小美,爱买不买，有事打{phone}\n"
        "S2,2026-11-20 11:00:00,customer,,我要投诉你们\n"
        "S2,2026-11-20 11:00:30,agent,阿杰,嗯\n"
        "S3,2026-11-20 12:00:00,customer,,还能再便宜吗\n"
        "S3,2026-11-20 12:00:20,agent,小美,爱买不买\n"
    )


def scheme1(file: str, sheet: str, row: int, rule: str, text: str) -> str:
    """How qa computed an id before scheme 2 (SHA-256 over the unmasked text)."""
    key = "\x1f".join((file, sheet, str(row), rule, text))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def test_brute_forcing_the_hidden_digits_cannot_reproduce_a_masked_findings_id(tmp_path):
    book, data = audit(tmp_path, chat())
    finding = next(f for f in data["findings"] if "****" in f["text"])
    assert finding["text"] == "爱买不买，有事打138****8001"  # what an attacker reads
    shown = {r["编号"] for r in rows_as_dicts(book, "违规明细", "时间")}
    assert finding["id"] in shown  # the workbook's ID column shows the same id

    guesses = [finding["text"].replace("****", f"{n:04d}") for n in range(10_000)]
    assert "爱买不买，有事打" + PHONE in guesses
    head = (finding["file"], "", str(finding["row"]), finding["rule"])
    for tag in ((), ("qa-finding-id/2",)):  # the old key layout, and the new one fed the guess
        hits = [g for g in guesses
                if hashlib.sha256("\x1f".join((*tag, *head, g)).encode()).hexdigest()[:12] == finding["id"]]
        assert hits == []
    # ...and the id is the same whatever the hidden digits are: it carries nothing about them.
    other = tmp_path / "other"
    other.mkdir()
    _, again = audit(other, chat("13899998001"))
    moved = next(f for f in again["findings"] if "****" in f["text"])
    assert moved["text"] == finding["text"]
    assert moved["id"] == finding_id(finding["file"].replace(str(tmp_path), str(other)), "", finding["row"],
                                     finding["rule"], finding["text"])


def test_ids_are_the_same_in_memory_out_of_core_and_with_no_mask(tmp_path):
    _, in_memory = audit(tmp_path, chat(), "day", "--in-memory")
    _, out_of_core = audit(tmp_path, chat(), "day", "--out-of-core", "--no-mask")
    ids = [f["id"] for f in in_memory["findings"]]
    assert ids == [f["id"] for f in out_of_core["findings"]]
    assert len(set(ids)) == len(ids) == 3
    assert in_memory["summary"]["id_scheme"] == ID_SCHEME == 2
    unmasked = next(f for f in out_of_core["findings"] if PHONE in f["text"])
    # From the original text or from the masked one: the same id.
    assert unmasked["id"] == finding_id(unmasked["file"], "", unmasked["row"], unmasked["rule"], unmasked["text"])
    assert unmasked["id"] == finding_id(unmasked["file"], None, unmasked["row"], unmasked["rule"],
                                        "爱买不买，有事打138****8001")


def test_the_same_finding_in_another_file_row_or_rule_gets_another_id():
    base = finding_id("day.csv", "", 3, "r", "x")
    assert base == finding_id("./a/../day.csv", "", 3, "r", "x")
    assert len({base, finding_id("day.csv", "", 4, "r", "x"), finding_id("day.csv", "Sheet1", 3, "r", "x"),
                finding_id("night.csv", "", 3, "r", "x"), finding_id("day.csv", "", 3, "s", "x"),
                finding_id("day.csv", "", 3, "r", "y")}) == 6


def test_legacy_ids_are_the_scheme_1_ids(tmp_path):
    source = tmp_path / "day.csv"
    source.write_text(chat(), encoding="utf-8")
    result = audit_in_process([str(source)])
    findings = result.findings
    expected = [scheme1(str(source), "", int(row), rule, text)
                for row, rule, text in zip(findings["row"], findings["rule"], findings["text"])]
    assert legacy_finding_ids(findings) == expected
    assert finding_ids(findings, scheme=1) == expected
    assert set(finding_ids(findings)).isdisjoint(expected)
    with pytest.raises(QAError, match="newer"):
        finding_ids(findings, scheme=3)


def make_scheme_1(book, findings) -> dict[str, str]:
    """Rewrite a workbook as qa wrote it before scheme 2: scheme-1 ids in the ID column and in
    qa_data, no id_scheme. Returns {new id: old id}."""
    old_of = dict(zip(finding_ids(findings), legacy_finding_ids(findings)))
    workbook = openpyxl.load_workbook(book, rich_text=True)
    data = workbook[DATA_SHEET]
    cells = [row[0].value for row in data.iter_rows() if row[0].value]
    runs = read_data_chunks(cells)
    for one in runs:
        one.pop("id_scheme")
        one["findings"]["id"] = [old_of[i] for i in one["findings"]["id"]]
    for cell in [row[0] for row in data.iter_rows()]:
        cell.value = None
    for index, text in enumerate(data_chunks(runs), start=1):
        data.cell(index, 1).value = text
    sheet = workbook["违规明细"]
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value in old_of:
                cell.value = old_of[cell.value]
    workbook.save(book)
    return old_of


def test_a_workbook_with_scheme_1_ids_still_reviews_updates_history_and_suppresses(tmp_path):
    history = tmp_path / "h.sqlite"
    book, data = audit(tmp_path, chat(), "day", "--history", history)
    findings = audit_in_process([str(tmp_path / "day.csv")]).findings
    assert finding_ids(findings) == [f["id"] for f in data["findings"]]
    old_of = make_scheme_1(book, findings)

    reviewed = read_reviewed_workbook(book)
    assert [run_id_scheme(one) for one in reviewed.runs] == [1]
    old_ids = reviewed.runs[0]["findings"]["id"]
    assert old_ids == [old_of[f["id"]] for f in data["findings"]]
    # A new audit of the same input matches the old ids once they are recomputed the old way.
    assert legacy_finding_ids(findings) == old_ids

    rude = findings_of(data, rule="forbidden-phrase", session_id="S3")[0]
    review_in_excel(book, {old_of[rude["id"]]: ("误报", "口头禅")})
    suppress = tmp_path / "suppressions.toml"
    result = run("review", book, "-o", tmp_path / "reviewed.xlsx", "--emit-suppressions", suppress)
    assert result.exit_code == 0, result.stderr
    assert "1 false positive" in result.stdout and "updated run #1" in result.stderr
    with sqlite3.connect(history) as connection:
        assert connection.execute("SELECT SUM(false_positives) FROM rule_runs").fetchone()[0] == 1

    js = tmp_path / "again.json"
    result = run("audit", tmp_path / "day.csv", "-o", tmp_path / "again.xlsx", "--json", js, "--suppress", suppress)
    assert result.exit_code == 0, result.output
    after = json.loads(js.read_text(encoding="utf-8"))
    assert [f["id"] for f in after["summary"]["suppressed"]["findings"]] == [rude["id"]]
    assert rude["id"] not in {f["id"] for f in after["findings"]}


def test_a_new_workbook_records_its_id_scheme(tmp_path):
    book, _ = audit(tmp_path, chat())
    reviewed = read_reviewed_workbook(book)
    assert [run_id_scheme(one) for one in reviewed.runs] == [ID_SCHEME]
    with pytest.raises(QAError, match="newer"):
        run_id_scheme({"id_scheme": ID_SCHEME + 1})
