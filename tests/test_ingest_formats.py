"""The reader seam (qa.ingest.registry): formats discovered from modules, chosen by extension or
signature; Parquet with the pandas engine (in memory and out of core); .xls and .ods."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from qa.audit.outofcore import audit_out_of_core
from qa.audit.run import AuditOptions, audit
from qa.cli import main
from qa.errors import InputError
from qa.ingest import EXTENSIONS, FORMATS, expand_inputs, format_of, load_inputs, stream_inputs
from qa.ingest.build import CONTENTLESS
from qa.report.json_report import build_result
from qa.rules import load_rules

DATA = Path(__file__).parent / "data"
TZ = "Asia/Shanghai"


def streamed_like_loaded(paths, chunk_rows):
    """The stream's chunks, concatenated and sorted, against load_inputs (which it must equal)."""
    loaded = load_inputs(paths)
    stream = stream_inputs(paths, chunk_rows=chunk_rows)
    chunks = list(stream)
    messages = pd.concat([c.messages for c in chunks], ignore_index=True)
    messages = messages.sort_values(["session_id", "timestamp", "seq", "input_order"], kind="stable")
    messages = messages.drop(columns="input_order").reset_index(drop=True)
    pd.testing.assert_frame_equal(messages, loaded.messages)
    rejected = pd.concat([c.rejected for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(rejected, loaded.rejected, check_dtype=False)
    assert (stream.input_rows, stream.files, stream.notes) == (loaded.input_rows, loaded.files, loaded.notes)
    assert len(chunks) > 1  # the chunking was exercised
    return loaded


# --------------------------------------------------------------------------- the registry


def test_formats_are_discovered_from_modules():
    assert set(FORMATS) == {"delimited text", "spreadsheet", "Parquet", "JSON Lines", "HTML table", "chat transcript text",
                            "zip archive", "JSON document", "Excel 2003 XML", "MHTML archive"}
    for ext in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods", ".parquet", ".parq", ".jsonl", ".ndjson",
                ".html", ".htm", ".zip", ".json", ".xml", ".mhtml", ".mht"):
        assert ext in EXTENSIONS


def test_signature_wins_over_the_extension(tmp_path):
    """A Parquet file named .xlsx is read as Parquet; a zip workbook named .xls as a workbook."""
    table = pa.table({"session_id": ["s"], "role": ["customer"], "text": ["hi"]})
    misnamed = tmp_path / "export.xlsx"
    pq.write_table(table, misnamed)
    assert format_of(str(misnamed)).name == "Parquet"
    assert load_inputs([str(misnamed)]).messages["text"].tolist() == ["hi"]
    book = openpyxl.Workbook()
    book.active.append(["session_id", "role", "text"])
    book.active.append(["s", "customer", "hello"])
    xlsx_as_xls = tmp_path / "export.xls"
    book.save(xlsx_as_xls)
    assert load_inputs([str(xlsx_as_xls)]).messages["text"].tolist() == ["hello"]


def test_text_named_as_a_workbook_is_read_as_the_text_it_is(tmp_path):
    """A browser plug-in writes tab-separated text and names it .xls: the content decides, and 20-digit
    session ids stay text (as numbers they collapse into one float); an HTML page named .xls is
    refused naming what it is (one holding an HTML table is read: see below); a text that is no table keeps the workbook reader's refusal."""
    tsv = tmp_path / "plugin.xls"
    tsv.write_bytes("\ufeff会话ID\t买家\t发送者\t角色\t时间\t内容\r\n"
                    "20250214093015482701\ttb_小白\ttb_小白\t买家\t2025-02-14 09:30:15\t充电宝能带上飞机吗\r\n"
                    "20250214093015482701\ttb_小白\t小橙\t客服\t2025-02-14 09:31:02\t可以的\r\n"
                    "20250214093015482709\ttb_小白\ttb_小白\t买家\t2025-02-14 14:05:10\t发货了吗\r\n".encode())
    assert format_of(str(tsv)).name == "delimited text"
    result = load_inputs([str(tsv)])
    assert result.messages["session_id"].tolist() == ["20250214093015482701"] * 2 + ["20250214093015482709"]
    assert any("holds delimited text, not the spreadsheet its name says" in note for note in result.notes)
    page = tmp_path / "web.xls"
    page.write_text('<?xml version="1.0"?><Workbook><Worksheet ss:Name="a"/></Workbook>', encoding="utf-8")
    with pytest.raises(InputError, match=r"web\.xls: it is an HTML or XML page named \.xls, not a workbook"):
        load_inputs([str(page)])
    (tmp_path / "note.xlsx").write_text("not a zip", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable Excel workbook"):
        load_inputs([str(tmp_path / "note.xlsx")])


def test_unknown_extension_names_the_supported_ones(tmp_path):
    other = tmp_path / "log.pdf"
    other.write_text("{}")
    with pytest.raises(InputError, match=r"unsupported file type: .*log\.pdf \(use .*\.xls.* or "):
        load_inputs([str(other)])


# --------------------------------------------------------------------------- Parquet


def chat_parquet(path: Path) -> Path:
    """Typed columns as a warehouse would write them: an aware time, an int seq, a null text."""
    times = pd.to_datetime(
        ["2025-03-01 01:00:00", "2025-03-01 01:00:40", "2025-03-01 01:02:00", "2025-03-01 02:00:00",
         "2025-03-01 02:09:00", None, "2025-03-01 02:10:00"], utc=True
    )
    table = pa.table({
        "会话ID": ["S1", "S1", "S1", "S2", "S2", None, "S2"],
        "时间": pa.array(times, type=pa.timestamp("us", tz="UTC")),
        "角色": ["买家", "客服", "买家", "买家", "客服", None, "客服"],
        "客服": [None, "小美", None, None, "阿杰", None, "阿杰"],
        "内容": ["在吗", "在的亲", "好的", "退款呢", "不知道", None, None],
        "序号": pa.array([1, 2, 3, 1, 2, None, 4], type=pa.int64()),
        "unused": [1.5] * 7,
    })
    pq.write_table(table, path, row_group_size=3)
    return path


def test_parquet_is_read_in_memory(tmp_path):
    path = str(chat_parquet(tmp_path / "chat.parquet"))
    result = load_inputs([path])
    messages = result.messages
    # the agent's record without text (a card the warehouse kept no text of) is a message all the same
    assert messages["text"].tolist() == ["在吗", "在的亲", "好的", "退款呢", "不知道", CONTENTLESS]
    assert messages["role"].tolist() == ["customer", "agent", "customer", "customer", "agent", "agent"]
    assert messages["agent"].tolist() == ["", "小美", "", "", "阿杰", "阿杰"]
    # instants kept: 01:00 UTC is 09:00 in Shanghai
    assert messages["timestamp"].iloc[0] == pd.Timestamp("2025-03-01 09:00:00", tz=TZ)
    assert messages["seq"].tolist() == [1.0, 2.0, 3.0, 1.0, 2.0, 4.0]
    assert messages["source_row"].tolist() == [1, 2, 3, 4, 5, 7]  # 1-based position in the file
    # the all-null record is a blank row (noted)
    assert result.input_rows == 6
    assert result.rejected.empty
    assert "chat.parquet: 1 message(s) without text" in " ".join(result.notes)
    assert "chat.parquet: 1 blank row(s) skipped" in " ".join(result.notes)


def test_parquet_streams_like_it_loads(tmp_path):
    path = str(chat_parquet(tmp_path / "chat.parquet"))
    streamed_like_loaded([path], chunk_rows=2)


def test_parquet_column_mapping_is_used(tmp_path):
    path = tmp_path / "own_names.parquet"
    pq.write_table(pa.table({"sid": ["S1", "S1"], "who": ["买家", "客服"], "words": ["在吗", "在的"]}), path)
    messages = load_inputs([str(path)], columns={"session_id": "sid", "role": "who", "text": "words"}).messages
    assert messages["text"].tolist() == ["在吗", "在的"]


def test_parquet_missing_column_is_one_line(tmp_path):
    path = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"a": ["x"], "b": ["y"]}), path)
    with pytest.raises(InputError, match=r"missing column for session_id in .*wrong\.parquet; found: a, b"):
        load_inputs([str(path)])
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match=r"cannot read .*broken\.parquet: not a readable Parquet file"):
        load_inputs([str(broken)])


@pytest.mark.slow
def test_parquet_with_the_pandas_engine_in_memory_and_out_of_core(tmp_path):
    path = str(chat_parquet(tmp_path / "chat.parquet"))
    rules = load_rules([])
    expected = audit([path], AuditOptions(), rules=rules)
    got = audit_out_of_core([path], AuditOptions(), rules, partitions=2, chunk_rows=2)
    assert build_result(got) == build_result(expected)
    assert {f for f in expected.findings["rule"]} >= {"slow-reply"}  # the 9-minute wait in S2
    runner = CliRunner()
    for flag in ("--in-memory", "--out-of-core"):
        out = tmp_path / f"r{flag}.json"
        outcome = runner.invoke(main, ["audit", path, "--engine", "pandas", flag, "--no-history",
                                       "-o", str(tmp_path / f"r{flag}.xlsx"), "--json", str(out)])
        assert outcome.exit_code == 0, outcome.output
        summary = json.loads(out.read_text())["summary"]
        assert (summary["input_rows"], summary["audited_rows"], summary["rejected_rows"]) == (6, 6, 0)


def test_parquet_in_a_folder_is_listed(tmp_path):
    chat_parquet(tmp_path / "b.parquet")
    (tmp_path / "a.csv").write_text("session_id,role,text\ns,customer,hi\n")
    assert [Path(p).name for p in expand_inputs([str(tmp_path)])] == ["a.csv", "b.parquet"]


# --------------------------------------------------------------------------- JSON Lines


def chat_jsonl(path: Path) -> Path:
    """An API dump: ASCII-escaped Chinese, a nested sender object, a list value, a blank line."""
    records = [
        {"conversation_id": "C1", "create_time": "2026-12-17 09:00:00", "sender": {"role": "buyer", "nick": "豆豆"},
         "content": "猫砂只到了一袋", "tags": ["物流"]},
        {"conversation_id": "C1", "create_time": "2026-12-17 09:01:00", "sender": {"role": "servicer", "nick": "阿布"},
         "content": "我查一下物流哈", "tags": []},
        {"conversation_id": "C1", "create_time": "2026-12-17 09:09:30", "sender": {"role": "robot", "nick": "小助手"},
         "content": "已为您催促仓库", "tags": []},
        {"conversation_id": "C1", "create_time": "2026-12-17 09:10:00", "sender": {"role": "servicer", "nick": "阿布"},
         "content": "", "tags": []},
    ]
    lines = [json.dumps(r) for r in records]  # ensure_ascii: 猫 is written \u732b
    path.write_text("\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n", encoding="ascii")
    return path


def test_jsonl_is_read_like_a_table_of_records(tmp_path):
    path = str(chat_jsonl(tmp_path / "dump.jsonl"))
    result = load_inputs([path])
    messages = result.messages
    assert messages["text"].tolist() == ["猫砂只到了一袋", "我查一下物流哈", "已为您催促仓库", CONTENTLESS]
    assert messages["role"].tolist() == ["customer", "agent", "system", "agent"]
    assert messages["agent"].tolist() == ["", "阿布", "", "阿布"]
    assert messages["timestamp"].iloc[1] == pd.Timestamp("2026-12-17 09:01:00", tz=TZ)
    # rows are line numbers: the reply without text is on line 5, below the blank line 3
    assert result.rejected.empty
    assert result.messages["source_row"].tolist() == [1, 2, 4, 5]
    streamed_like_loaded([path], chunk_rows=2)


def test_a_broken_json_line_costs_that_line_only(tmp_path):
    path = chat_jsonl(tmp_path / "cut.jsonl")
    with path.open("a", encoding="ascii") as handle:
        handle.write('{"conversation_id": "C1", "create_time": "2026-12-17 09:11:00", "sender": {"ro')  # cut off
    result = load_inputs([str(path)])
    assert result.messages["text"].tolist() == ["猫砂只到了一袋", "我查一下物流哈", "已为您催促仓库", CONTENTLESS]
    assert result.messages["agent"].tolist() == ["", "阿布", "", "阿布"]
    rejected = result.rejected[["row", "reason"]].values.tolist()
    assert len(rejected) == 1
    assert rejected[0][0] == 6 and rejected[0][1].startswith("not a JSON object")
    assert result.input_rows == len(result.messages) + len(result.rejected)


def test_jsonl_that_is_not_json_is_one_line(tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text("session_id,role,text\nS1,customer,hi\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"cannot read .*broken\.jsonl: not JSON Lines"):
        load_inputs([str(broken)])


# --------------------------------------------------------------------------- .xls and .ods


def test_xls_is_read_through_calamine():
    """tests/data/chat-log.xls: made by LibreOffice from an openpyxl workbook (see its README)."""
    path = str(DATA / "chat-log.xls")
    result = load_inputs([path])
    messages = result.messages
    assert messages["text"].tolist() == [
        "你好，在吗？", "亲，在的，请问有什么可以帮您？", "订单12345什么时候发货", "退款怎么还没到", "不知道",
    ]
    assert messages["timestamp"].iloc[1] == pd.Timestamp("2025-03-01 09:00:40", tz=TZ)
    assert messages["source_sheet"].unique().tolist() == ["聊天记录"]
    assert messages["source_row"].tolist() == [2, 3, 4, 5, 6]
    assert result.rejected[["row", "reason"]].values.tolist() == [[7, "empty time"]]
    streamed_like_loaded([path], chunk_rows=2)


def write_ods(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """A minimal OpenDocument spreadsheet, written by hand (no ODS writer is installed)."""

    def cell(value: object) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, (int, float)):
            return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{value}</text:p></table:table-cell>")
        if isinstance(value, pd.Timestamp):
            return (f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
                    f"<text:p>{value}</text:p></table:table-cell>")
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'

    tables = "".join(
        f'<table:table table:name="{escape(name)}">'
        + "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in rows)
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def test_ods_is_read_through_calamine(tmp_path):
    path = write_ods(tmp_path / "chat.ods", {
        "说明": [["导出说明"]],  # a sheet without the columns: skipped for the next one
        "记录": [
            ["会话ID", "时间", "发送方", "内容"],
            ["A1", pd.Timestamp("2025-03-01 09:00:00"), "买家", "你好"],
            [None, None, None, None],
            ["A1", "2025-03-01 09:00:30", "客服", "您好"],
            ["A1", "2025-03-01 09:01:00", "火星人", "?"],
        ],
    })
    result = load_inputs([str(path)])
    assert result.messages["text"].tolist() == ["你好", "您好"]
    assert result.messages["timestamp"].iloc[0] == pd.Timestamp("2025-03-01 09:00:00", tz=TZ)
    assert result.messages["source_row"].tolist() == [2, 4]
    assert result.rejected[["row", "reason"]].values.tolist() == [[5, "unknown role '火星人'"]]
    assert f"read sheet '记录' of {path}" in result.notes
    assert [Path(p).name for p in expand_inputs([str(tmp_path)])] == ["chat.ods"]
    streamed_like_loaded([str(path)], chunk_rows=1)


@pytest.mark.parametrize("mixed", [True, False], ids=["content-mixed", "content-always-an-object"])
def test_a_message_object_shows_its_text_and_a_robot_flag_makes_a_system_row(tmp_path, mixed):
    """An API dump gives a message's content as a string or as an object (a notice's {"text": …}, a picture's
    {"url": …, "width": …}): an object reads as the text it shows, a picture as [图片]; a sender flagged
    isRobot is the system, not the shop's agent."""
    def record(n, kind, content, robot=False):
        return {"conversationId": "c1", "sendTime": 1795831207018 + n * 60_000,
                "sender": {"type": kind, "nick": "店小智" if robot else ("麦兜" if kind == "BUYER" else "青禾-小美"),
                           "isRobot": robot}, "content": content}
    records = [record(0, "BUYER", {"text": "能开专票吗"} if not mixed else "能开专票吗"),
               record(1, "SELLER", {"text": "您好，我是智能助理"}, robot=True),
               record(2, "BUYER", {"url": "https://img.example/a.jpg?x=1", "width": 1080, "height": 1440}),
               record(3, "SYSTEM", {"event": "TRANSFER", "text": "会话已转接至 青禾-小美"}),
               record(4, "SELLER", {"text": "可以开的亲"} if not mixed else "可以开的亲")]
    path = tmp_path / "api.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="ascii")
    result = load_inputs([str(path)])
    assert len(result.rejected) == 0
    assert result.messages["text"].tolist() == ["能开专票吗", "您好，我是智能助理", "[图片]", "会话已转接至 青禾-小美", "可以开的亲"]
    assert result.messages["role"].tolist() == ["customer", "system", "customer", "system", "agent"]
    assert result.messages["timestamp"].iloc[0].year == 2026


def test_an_html_table_named_xls_is_read_like_a_sheet(tmp_path):
    """A web console's "Excel" export is an HTML page named .xls, its charset only in <meta>: its table is read
    like a sheet, a <tr> a row (the spanning title and date rows count as rows), <br> a line break inside a
    message; 消息方向 接收 / 发送 is the shop's view (接收 the customer's message, 发送 the shop's)."""
    page = tmp_path / "export.xls"
    body = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>
<table border="1"><tr><td colspan="5">客服聊天记录导出　店铺：青禾生活馆</td></tr>
<tr><td>会话编号</td><td>客服</td><td>消息方向</td><td>时间</td><td>内容</td></tr>
<tr><td colspan="5">日期：2026年11月27日</td></tr>
<tr><td>2611289065756049</td><td>小王</td><td>接收</td><td>2026年11月27日 11:08</td><td>水壶漏水了</td></tr>
<tr><td>2611289065756049</td><td>小王</td><td>发送</td><td>2026年11月27日 11:09</td><td>抱歉亲<br>麻烦拍个照片</td></tr>
<tr><td>2611289065756049</td><td>智能客服</td><td>发送</td><td>2026年11月27日 11:09</td><td>您好，智能客服为您服务</td></tr>
</table></body></html>"""
    page.write_bytes(body.encode("gb2312"))
    assert format_of(str(page)).name == "HTML table"
    result = load_inputs([str(page)])
    m = result.messages
    assert m["source_row"].tolist() == [4, 5, 6]
    assert m["role"].tolist() == ["customer", "agent", "system"]
    assert m["text"].tolist() == ["水壶漏水了", "抱歉亲\n麻烦拍个照片", "您好，智能客服为您服务"]
    assert m["session_id"].tolist() == ["2611289065756049"] * 3
    assert result.rejected["row"].tolist() == [3]  # the date row: no message


def _mime_archive(parts: list[tuple[str, str, str]], head: list[str], boundary: str = "----=_NextPart_qa") -> bytes:
    """An MHTML archive as browsers and Excel write it: header lines, then each ``(location, charset,
    html)`` part quoted-printable in its charset, CRLF line ends."""
    import quopri

    lines = [*head, "MIME-Version: 1.0", f'Content-Type: multipart/related; boundary="{boundary}"; type="text/html"', ""]
    for location, charset, body in parts:
        lines += [f"--{boundary}", f"Content-Location: {location}", "Content-Transfer-Encoding: quoted-printable",
                  f'Content-Type: text/html; charset="{charset}"', "",
                  quopri.encodestring(body.encode(charset)).decode("ascii").replace("\n", "\r\n")]
    lines.append(f"--{boundary}--")
    return "\r\n".join(lines).encode("ascii")


def test_a_page_saved_as_mhtml_is_read_like_an_html_page(tmp_path):
    """A console's chat history saved by a browser (.mhtml: a MIME archive, the page quoted-printable in
    UTF-8, images beside it): its table is read like an HTML page's, soft line breaks and =XX escapes
    decoded, the stylesheet and image parts passed over."""
    rows = "".join(f"<tr><td>S{n // 3}</td><td>2026-11-27 11:0{n}:00</td><td>{role}</td><td>小王</td><td>{text}</td></tr>"
                   for n, (role, text) in enumerate([("买家", "水壶漏水了，" + "很着急" * 30), ("客服", "抱歉亲，麻烦拍个照片"),
                                                     ("买家", "好的"), ("买家", "发货了吗"), ("客服", "今天发 😊")]))
    page = ('<html><head><meta charset="utf-8"><title>会话记录</title></head><body><div class="nav">首页</div>'
            f"<table><tr><th>会话ID</th><th>时间</th><th>角色</th><th>客服</th><th>内容</th></tr>{rows}</table></body></html>")
    archive = _mime_archive([("https://kf.example.com/history?page=1", "utf-8", page)],
                            ["From: <Saved by Blink>", "Snapshot-Content-Location: https://kf.example.com/history?page=1",
                             "Subject: =?utf-8?Q?=E4=BC=9A=E8=AF=9D?=", "Date: Sat, 5 Dec 2026 10:00:00 +0800"])
    path = tmp_path / "history.mhtml"
    path.write_bytes(archive.replace(b"------=_NextPart_qa--", b"------=_NextPart_qa\r\nContent-Type: image/png\r\n"
                                     b"Content-Transfer-Encoding: base64\r\nContent-Location: logo.png\r\n\r\niVBORw0KGgo=\r\n"
                                     b"------=_NextPart_qa--"))
    assert format_of(str(path)).name == "MHTML archive"
    result = load_inputs([str(path)])
    m = result.messages
    assert len(result.rejected) == 0
    assert m["role"].tolist() == ["customer", "agent", "customer", "customer", "agent"]
    assert m["text"].tolist()[0] == "水壶漏水了，" + "很着急" * 30
    assert m["text"].tolist()[4] == "今天发 😊"
    assert m["source_row"].tolist() == [2, 3, 4, 5, 6]
    assert any("MHTML" in note for note in result.notes)


def test_an_excel_single_file_web_page_named_xls_reads_each_sheet(tmp_path):
    """Excel's "single file web page" (an MHTML archive) that a console names .xls: a frame page, then a
    part per sheet in the workbook's charset (GB2312 here); the messages sheet is read, the statistics
    sheet without a message column is passed over, and the file is not taken for delimited text (its
    MIME header holds a ';')."""
    frame = '<html><frameset><frame src="sheet001.htm"><frame src="sheet002.htm"></frameset></html>'
    messages = ("<html><body><table><tr><td colspan=5>客服聊天记录</td></tr>"
                "<tr><td>会话编号</td><td>客服</td><td>消息方向</td><td>时间</td><td>内容</td></tr>"
                "<tr><td>2611289065756049</td><td>小王</td><td>接收</td><td>2026年11月27日 11:08</td><td>水壶漏水了</td></tr>"
                "<tr><td>2611289065756049</td><td>小王</td><td>发送</td><td>2026年11月27日 11:09</td><td>抱歉亲<br>麻烦拍个照片</td></tr>"
                "</table></body></html>")
    stats = "<html><body><table><tr><td>客服</td><td>接待量</td></tr><tr><td>小王</td><td>1</td></tr></table></body></html>"
    path = tmp_path / "export.xls"
    path.write_bytes(_mime_archive([("file:///C:/export.htm", "gb2312", frame),
                                    ("file:///C:/export.files/sheet001.htm", "gb2312", messages),
                                    ("file:///C:/export.files/sheet002.htm", "gb2312", stats)],
                                   ["X-Document-Type: Workbook"]))
    assert format_of(str(path)).name == "MHTML archive"
    result = load_inputs([str(path)])
    m = result.messages
    assert m["role"].tolist() == ["customer", "agent"]
    assert m["text"].tolist() == ["水壶漏水了", "抱歉亲\n麻烦拍个照片"]
    assert m["source_row"].tolist() == [3, 4]


def test_code_page_936_labelled_gb2312_is_read_whole_in_archives_and_pages(tmp_path):
    """IE and Chinese Excel label code page 936 text gb2312 (also x-gbk, chinese): characters outside GB2312
    (喆, 堃) must not cut a row short; an archive's empty frame part is passed over; a part's raw file name
    is decoded."""
    rows = ("<tr><td>会话ID</td><td>时间</td><td>角色</td><td>客服</td><td>内容</td></tr>"
            "<tr><td>S1</td><td>2026-11-27 11:00:00</td><td>买家</td><td>小喆</td><td>水壶烫到手了 堃哥说要投诉</td></tr>"
            "<tr><td>S1</td><td>2026-11-27 11:01:00</td><td>客服</td><td>小喆</td><td>非常抱歉 马上为您处理</td></tr>")
    page = f"<html><body><table>{rows}</table></body></html>"
    for label in ("gb2312", "x-gbk", "chinese"):
        body = page.encode("gbk")
        archive = (b"From: <Saved by Blink>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"B\"\r\n\r\n"
                   b"--B\r\nContent-Type: text/html; charset=\"" + label.encode() + b"\"\r\nContent-Transfer-Encoding: 8bit\r\n"
                   b"Content-Location: file:///C:/" + "聊天记录.htm".encode() + b"\r\n\r\n" + body + b"\r\n"
                   b"--B\r\nContent-Type: text/html\r\nContent-Location: ad.htm\r\n\r\n<!DOCTYPE html><!-- ad slot -->\r\n--B--\r\n")
        path = tmp_path / f"saved-{label}.mhtml"
        path.write_bytes(archive)
        m = load_inputs([str(path)]).messages
        assert m["text"].tolist() == ["水壶烫到手了 堃哥说要投诉", "非常抱歉 马上为您处理"], label
        assert set(m["agent"]) == {"小喆"}
    plain = tmp_path / "export.xls"
    plain.write_bytes(('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head>'
                       f"<body><table>{rows}</table></body></html>").encode("gbk"))
    assert load_inputs([str(plain)]).messages["text"].tolist()[0] == "水壶烫到手了 堃哥说要投诉"


def test_an_mhtml_without_a_table_is_a_one_line_error(tmp_path):
    path = tmp_path / "saved.mht"
    path.write_bytes(_mime_archive([("https://x.example/", "utf-8", "<html><body><p>没有表格</p></body></html>")],
                                   ["From: <Saved by Blink>"]))
    with pytest.raises(InputError, match=r"saved\.mht holds no table with chat messages"):
        load_inputs([str(path)])
    path.write_bytes(b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n")
    with pytest.raises(InputError, match="not an MHTML archive"):
        load_inputs([str(path)])


def test_a_chat_transcript_in_text_is_read_message_by_message(tmp_path):
    """千牛's transcript as .txt: blocks per buyer (买家：… between rules), a message per paragraph (a time-and-sender
    line, the sender's name may hold a space, then the text lines). Each message is a row at the line of its time; a
    text line that itself begins with a date and a time stays text; the buyer is the customer, the shop's
    sub-account the agent, its robot and the 系统提示 the system; a session is the buyer's day."""
    lines = ["聊天记录导出    店铺：禾木生活旗舰店", "", "=" * 40, "买家：南风 知我意    （共 4 条消息）", "=" * 40, "",
             "2026-11-27 13:08:24 南风 知我意", "杯子破了", "2026-11-24 21:10 下的单", "",
             "2026-11-27 13:08:30 禾木生活旗舰店:店小蜜", "您好，我是智能助手", "",
             "2026-11-27 13:09:26 禾木生活旗舰店:小芸", "非常抱歉，给您补发", "",
             "2026-11-27 13:10:00 系统提示", "邀请您对本次服务进行评价", "",
             "=" * 40, "买家：lily    （共 2 条消息）", "=" * 40, "",
             "2026-11-28 09:00:00 lily", "发货了吗", "",
             "2026-11-28 09:01:00 禾木生活旗舰店:小芸", "今天发", "", "—— 共导出 2 位买家的聊天记录 ——"]
    path = tmp_path / "qianniu.txt"
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    assert format_of(str(path)).name == "chat transcript text"
    result = load_inputs([str(path)])
    m = result.messages.sort_values("source_row")
    assert len(result.rejected) == 0
    assert m["source_row"].tolist() == [7, 11, 14, 17, 24, 27]
    assert m["role"].tolist() == ["customer", "system", "agent", "system", "customer", "agent"]
    assert m["text"].iloc[0] == "杯子破了\n2026-11-24 21:10 下的单"
    assert m["session_id"].nunique() == 2
    assert m["agent"].tolist()[2] == "小芸" or m["agent"].tolist()[2].endswith("小芸")


# --------------------------------------------------------------------------- zip archives, JSON documents, Excel 2003 XML


def _csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_a_zip_of_exports_made_on_a_mac(tmp_path):
    """Each export inside a zip is read by its format; rows name the archive and the member; a
    member name stored in UTF-8 without the zip flag (macOS) is read as UTF-8; __MACOSX resource
    forks and .DS_Store are no exports; a member no format reads is skipped with a note."""
    path = tmp_path / "三店导出.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("山茶店/聊天记录_0215.csv", _csv_bytes("会话ID,发送方,发送时间,内容", "z1,买家,2027-02-15 10:00:00,茶叶什么时候发",
                                          "z1,客服,2027-02-15 10:01:00,今天下午发出"))
        archive.writestr("__MACOSX/山茶店/._聊天记录_0215.csv", b"\x00\x05\x16\x07binary")
        archive.writestr(".DS_Store", b"\x00\x00\x00\x01Bud1")
        archive.writestr("说明.pdf", b"%PDF-1.4")
        archive.writestr("竹林店/0215.csv", _csv_bytes("会话ID,发送方,发送时间,内容", "z2,买家,2027-02-15 11:00:00,有优惠吗",
                                                     "z2,客服,2027-02-15 11:00:30,满199减20", "bad row"))
    # a Mac's archiver stores the names in UTF-8 without the flag that says so
    data = bytearray(path.read_bytes())
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start >= 0:
            data[start + at + 1] &= 0xFF ^ 0x08  # bit 11 of the (little-endian) flags: 0x0800
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))
    result = load_inputs([str(path)])
    m = result.messages
    assert m["text"].tolist() == ["茶叶什么时候发", "今天下午发出", "有优惠吗", "满199减20"]
    assert set(m["source_file"]) == {str(path)}
    assert m["source_sheet"].tolist() == ["山茶店/聊天记录_0215.csv"] * 2 + ["竹林店/0215.csv"] * 2
    assert result.rejected["file"].tolist() == [f"{path} [竹林店/0215.csv]"]
    assert any("说明.pdf" in note for note in result.notes)


def test_json_responses_appended_with_messages_nested_in_sessions(tmp_path):
    """Two pretty-printed API responses in one .json: the messages are the objects of the lists
    inside the sessions, each taking its session's id; a session cut by the page break is one; a
    message's row is the line of its opening brace; a content object shows its text (or [图片])."""
    def page(sessions):
        return json.dumps({"code": 0, "data": {"sessions": sessions}}, ensure_ascii=False, indent=2)

    first = page([{"session_id": "s-1", "user": {"nick": "阿木"}, "messages": [
        {"from": "user", "sender_name": "阿木", "time": "2027-02-16T09:00:00+08:00", "content": {"text": "在吗"}},
        {"from": "kf", "sender_name": "小云", "time": "2027-02-16T09:00:40+08:00", "content": {"text": "在的"}}]}])
    second = page([{"session_id": "s-1", "user": {"nick": "阿木"}, "messages": [
        {"from": "user", "sender_name": "阿木", "time": "2027-02-16T09:01:00+08:00",
         "content": {"url": "https://img.example/a.jpg", "width": 640, "height": 480}}]}])
    path = tmp_path / "history.json"
    path.write_text(first + "\n" + second + "\n", encoding="utf-8")
    m = load_inputs([str(path)]).messages
    assert m["session_id"].tolist() == ["s-1"] * 3
    assert m["role"].tolist() == ["customer", "agent", "customer"]
    assert m["text"].tolist() == ["在吗", "在的", "[图片]"]
    lines = path.read_text(encoding="utf-8").split("\n")
    for row, text in zip(m["source_row"], ["在吗", "在的", "a.jpg"]):
        assert lines[row - 1].strip() == "{" and text in "\n".join(lines[row - 1: row + 12])


def test_excel_2003_xml_named_xls_with_skipped_cells_and_rows(tmp_path):
    """An Excel 2003 XML workbook named .xls: a cell's ss:Index puts it in its column past the empty
    ones left out, a row's ss:Index keeps the row number Excel shows, a merged title fills its row."""
    def row(cells, index=None):
        at = f' ss:Index="{index}"' if index else ""
        inner = "".join(f'<Cell{" ss:Index=" + chr(34) + str(i) + chr(34) if i else ""}><Data ss:Type="String">{escape(v)}'
                        f"</Data></Cell>" for i, v in cells)
        return f"<Row{at}>{inner}</Row>"

    rows = [
        '<Row><Cell ss:MergeAcross="3"><Data ss:Type="String">客服聊天记录 2027-02-18</Data></Cell></Row>',
        row([(None, "会话号"), (None, "客服"), (None, "发送方"), (None, "发送时间"), (None, "内容")]),
        row([(None, "x1"), (3, "买家"), (None, "2027-02-18T10:00:00.000"), (None, "快递到哪了")]),
        row([(None, "x1"), (None, "阿星"), (None, "客服"), (None, "2027-02-18T10:01:00.000"), (None, "今天派送")]),
        row([(None, "x2"), (3, "买家"), (None, "2027-02-18T11:00:00.000"), (None, "能开发票吗")], index=6),
    ]
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<?mso-application progid="Excel.Sheet"?>\n'
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="聊天记录"><Table>'
           + "".join(rows) + "</Table></Worksheet></Workbook>")
    path = tmp_path / "erp.xls"
    path.write_text(xml, encoding="utf-8")
    m = load_inputs([str(path)]).messages
    assert m["role"].tolist() == ["customer", "agent", "customer"]
    assert m["text"].tolist() == ["快递到哪了", "今天派送", "能开发票吗"]
    assert m["source_row"].tolist() == [3, 4, 6]


def test_a_session_a_row_with_one_message_a_column(tmp_path):
    """A QA sampling sheet: a session per row, its messages in 消息1, 消息2 … as 顾客(09:05:40):…, the
    rows ragged; the date from the session's start; a line break inside a cell stays in its message;
    the agent column's chain of who served (机器人→阿鹏) names the human last."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["会话ID", "接待客服", "会话开始时间", "消息条数", "消息1", "消息2", "消息3", "消息4"])
    sheet.append(["q1", "小助手机器人→阿鹏", "2027-02-19 09:05:40", 4, "顾客(09:05:40):帐篷防水吗",
                  "机器人(09:05:41):您好 请问有什么可以帮您", "客服(09:07:00):防水的\n暴雨建议加天幕", "顾客(09:08:00):好"])
    sheet.append(["q2", "阿鹏", "2027-02-19 10:00:00", 2, "顾客(10:00:00):在吗", "客服(10:00:30):在的"])
    path = tmp_path / "抽检.xlsx"
    book.save(path)
    m = load_inputs([str(path)]).messages
    assert m["role"].tolist() == ["customer", "system", "agent", "customer", "customer", "agent"]
    assert m["text"].iloc[2] == "防水的\n暴雨建议加天幕"
    assert m["timestamp"].dt.strftime("%d %H:%M:%S").tolist()[:3] == ["19 09:05:40", "19 09:05:41", "19 09:07:00"]
    assert set(m.loc[m["role"] == "agent", "agent"]) == {"阿鹏"}


def test_a_transfer_chain_in_the_agent_column_gives_each_message_its_own_sender(tmp_path):
    """美洽-style rows name the session's chain of agents (售后-小安→主管-老林) beside each message's
    sender: an agent's message before the transfer is that agent's, not the one who took over last
    (a veto of the first agent's reply must not land on the supervisor who stepped in)."""
    path = tmp_path / "对话记录.csv"
    path.write_bytes(_csv_bytes(
        "对话ID,接待客服,发送方,发送者,消息时间,消息内容",
        "m1,售后-小安→主管-老林,访客,张三,2027-02-15 10:00:00,水壶漏水",
        "m1,售后-小安→主管-老林,客服,售后-小安,2027-02-15 10:00:30,拍个视频看看",
        "m1,售后-小安→主管-老林,系统,系统,2027-02-15 10:01:00,对话由售后-小安转接至主管-老林",
        "m1,售后-小安→主管-老林,客服,主管-老林,2027-02-15 10:01:30,您好 我来处理",
        "m2,售前-阿木,访客,李四,2027-02-15 11:00:00,在吗",
        "m2,售前-阿木,客服,售前-阿木,2027-02-15 11:00:20,在的"))
    m = load_inputs([str(path)]).messages
    agents = m.loc[m["role"] == "agent", ["text", "agent"]].values.tolist()
    assert agents == [["拍个视频看看", "售后-小安"], ["您好 我来处理", "主管-老林"], ["在的", "售前-阿木"]]
    # the robot named first in a chain is no agent: its greeting stays with the human who answered
    path.write_bytes(_csv_bytes(
        "对话ID,接待客服,发送方,发送者,消息时间,消息内容",
        "m3,店铺机器人→售后-小安,访客,王五,2027-02-15 12:00:00,在吗",
        "m3,店铺机器人→售后-小安,客服,店铺机器人,2027-02-15 12:00:01,这里是店铺助手 请描述问题",
        "m3,店铺机器人→售后-小安,客服,售后-小安,2027-02-15 12:01:00,您好 我是小安"))
    m = load_inputs([str(path)]).messages
    assert set(m.loc[m["role"] == "agent", "agent"]) == {"售后-小安"}


def test_without_a_session_column_the_end_events_split_a_customers_conversations(tmp_path):
    """微信客服 exports have no session id: a customer's conversation runs through the system event that
    ends it, the customer's next message opens the next one (also on the same day), and a conversation
    going on past midnight is not cut there."""
    path = tmp_path / "消息记录.csv"
    path.write_bytes(_csv_bytes(
        "客户昵称,来源,接待人员,消息内容,发送时间",
        "豆豆妈,客户,,外套有130码吗,2027-02-25 10:00:00",
        "豆豆妈,接待人员,小青,有的,2027-02-25 10:01:00",
        "豆豆妈,系统事件,,[事件] 会话已结束,2027-02-25 10:11:00",
        "豆豆妈,客户,,下午再问一下 发货了吗,2027-02-25 15:00:00",
        "豆豆妈,接待人员,小青,今天发,2027-02-25 15:01:00",
        "豆豆妈,客户,,好的 晚上还想问个尺码,2027-02-25 23:58:00",
        "豆豆妈,接待人员,小青,您说,2027-02-26 00:03:00",
        "豆豆妈,系统事件,,[事件] 会话已结束,2027-02-26 00:13:00"))
    result = load_inputs([str(path)])
    sessions = result.messages["session_id"].tolist()
    assert sessions[:3] == [sessions[0]] * 3 and sessions[3:] == [sessions[3]] * 5 and sessions[0] != sessions[3]
    assert any("会话已结束" in note for note in result.notes)


def test_a_zip_member_that_cannot_be_read_is_skipped_with_a_note_and_a_bomb_is_refused(tmp_path):
    """A readme or a side file inside an archive is skipped with a note (as in a folder), a member
    that is no export too; an archive whose member unpacks to hundreds of times its size is refused
    with a one-line error, before it fills the disk."""
    path = tmp_path / "exports.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("chat.csv", _csv_bytes("会话ID,发送方,发送时间,内容", "k1,买家,2027-02-15 10:00:00,在吗",
                                                "k1,客服,2027-02-15 10:00:30,在的"))
        archive.writestr("说明.txt", "本压缩包为二月的聊天记录导出，请查收。\n".encode())
        archive.writestr("manifest.json", b'{"version": 2, "files": ["chat.csv"]}')
    result = load_inputs([str(path)])
    assert result.messages["text"].tolist() == ["在吗", "在的"]
    assert any("说明.txt" in note for note in result.notes) and any("manifest.json" in note for note in result.notes)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("chat.csv", "w", force_zip64=True) as member:
            member.write("会话ID,发送方,发送时间,内容\n".encode())
            for _ in range(80):
                member.write(b" " * (1 << 20))
    with pytest.raises(InputError, match="zip bomb"):
        load_inputs([str(bomb)])


def test_a_zip_member_a_reader_refuses_is_listed_as_not_read_like_a_folders_file(tmp_path):
    """A .csv inside an archive that does not decode, or holds only a header, was only noted while the run
    exited 0; as in a folder, it is listed as not read (files_not_read, exit 2) and the others audited."""
    path = tmp_path / "days.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("day1.csv", _csv_bytes("会话ID,发送方,发送时间,内容", "k1,买家,2027-02-15 10:00:00,在吗",
                                                "k1,客服,2027-02-15 10:00:30,在的"))
        archive.writestr("day2.csv", bytes(range(128, 256)) * 40)
        archive.writestr("day3.csv", _csv_bytes("会话ID,发送方,发送时间,内容"))
    for result in (load_inputs([str(path)]), _streamed(path)):
        assert sorted(label for label, _ in result.refused) == [f"{path} [day2.csv]", f"{path} [day3.csv]"]
    assert load_inputs([str(path)]).messages["text"].tolist() == ["在吗", "在的"]


def _streamed(path):
    """The out-of-core reader's view of ``path``, read to the end."""
    from qa.ingest import stream_inputs

    stream = stream_inputs([str(path)])
    for _chunk in stream:
        pass
    return stream


def test_json_a_response_wrapper_and_json_lines_named_json(tmp_path):
    """A response's own fields (msg: success, code) lend nothing to its messages; a message object with
    a list field is still a message; JSON Lines named .json with one broken line rejects that line."""
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"code": 0, "msg": "success", "data": {"list": [
        {"session_id": "w1", "role": "buyer", "content": "在吗", "time": "2027-02-15 10:00:00", "images": []},
        {"session_id": "w1", "role": "seller", "content": "在的", "time": "2027-02-15 10:00:30", "images": []}]}},
        ensure_ascii=False), encoding="utf-8")
    assert load_inputs([str(wrapped)]).messages["text"].tolist() == ["在吗", "在的"]
    lines = tmp_path / "lines.json"
    rows = [{"session_id": "l1", "role": "buyer", "content": "在吗", "time": "2027-02-15 10:00:00", "tags": ["a"]},
            {"session_id": "l1", "role": "seller", "content": "在的", "time": "2027-02-15 10:00:30", "tags": []}]
    lines.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + '\n{"session_id": "l1", "role"\n',
                     encoding="utf-8")
    result = load_inputs([str(lines)])
    assert result.messages["text"].tolist() == ["在吗", "在的"]
    assert result.rejected["row"].tolist() == [3]


def test_excel_2003_xml_with_an_index_far_past_its_rows_is_refused(tmp_path):
    """A damaged or hostile ss:Index (row 1,048,576) is checked against --max-sheet-cells before any
    grid is made."""
    xml = ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="s"><Table>'
           '<Row><Cell><Data ss:Type="String">会话ID</Data></Cell><Cell><Data ss:Type="String">内容</Data></Cell></Row>'
           '<Row ss:Index="1048576"><Cell ss:Index="256"><Data ss:Type="String">x</Data></Cell></Row>'
           "</Table></Worksheet></Workbook>")
    path = tmp_path / "big.xls"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(InputError, match="max-sheet-cells"):
        load_inputs([str(path)])


def test_a_folder_s_side_files_named_json_or_xml_are_skipped(tmp_path):
    (tmp_path / "chat.csv").write_text("会话ID,发送方,发送时间,内容\nf1,买家,2027-02-15 10:00:00,在吗\n"
                                       "f1,客服,2027-02-15 10:00:30,在的\n", encoding="utf-8")
    (tmp_path / "settings.xml").write_text('<?xml version="1.0"?><settings><theme>dark</theme></settings>')
    (tmp_path / "manifest.json").write_text('{"version": 2}')
    assert [os.path.basename(p) for p in expand_inputs([str(tmp_path)])] == ["chat.csv"]


def test_excel_2003_xml_cells_merged_down_fill_their_rows(tmp_path):
    """An agent written once over its session's rows (ss:MergeDown) names each row's agent."""
    xml = ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="s"><Table>'
           '<Row><Cell><Data ss:Type="String">会话ID</Data></Cell><Cell><Data ss:Type="String">客服</Data></Cell>'
           '<Cell><Data ss:Type="String">发送方</Data></Cell><Cell><Data ss:Type="String">内容</Data></Cell></Row>'
           '<Row><Cell><Data ss:Type="String">m1</Data></Cell><Cell ss:MergeDown="1"><Data ss:Type="String">阿星</Data></Cell>'
           '<Cell><Data ss:Type="String">买家</Data></Cell><Cell><Data ss:Type="String">在吗</Data></Cell></Row>'
           '<Row><Cell><Data ss:Type="String">m1</Data></Cell><Cell ss:Index="3"><Data ss:Type="String">客服</Data></Cell>'
           '<Cell><Data ss:Type="String">在的</Data></Cell></Row>'
           "</Table></Worksheet></Workbook>")
    path = tmp_path / "merged.xls"
    path.write_text(xml, encoding="utf-8")
    m = load_inputs([str(path)]).messages
    assert m.loc[m["role"] == "agent", "agent"].tolist() == ["阿星"]


def _joined_exports_frame() -> pd.DataFrame:
    """An old and a new export of one shop joined with pd.concat: each fills its own columns."""
    old = pd.DataFrame({
        "会话ID": [880011223344.0, 880011223344.0, 880011225566.0, 880011225566.0],
        "买家昵称": ["橘子汽水", "橘子汽水", "晚风", "晚风"],
        "发送人": ["橘子汽水", "木木家纺:小林", "晚风", "木木家纺:小林"],
        "发送时间": ["2027-03-01 10:00:00", "2027-03-01 10:01:00", "2027-03-01 23:58:00", "2027-03-01 23:59:00"],
        "消息内容": ["枕套有蓝色吗", "有的亲，浅蓝和雾蓝两种", "被套能机洗吗", "可以的，冷水轻柔模式"],
    })
    new = pd.DataFrame({
        "会话编号": ["880011225566", "880011225566", "880011229900"],
        "买家": ["晚风", "晚风", "阿橙"],
        "客服账号": ["木木家纺:小林", "木木家纺:小林", "木木家纺:阿青"],
        "发送方": ["买家", "客服", "买家"],
        "发送时间": ["2027-03-02 00:01:00", "2027-03-02 00:02:00", "2027-03-02 09:00:00"],
        "内容": ["那烘干呢", "不建议烘干哦，容易缩", "在吗"],
    })
    # the ids of the old export became floats in the join (a gap in the column), as pandas writes them
    return pd.concat([old, new]).reset_index(drop=True)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_two_exports_of_different_columns_joined_read_each_row_by_its_own_columns(tmp_path, suffix):
    path = tmp_path / f"joined{suffix}"
    frame = _joined_exports_frame()
    if suffix == ".csv":
        frame.to_csv(path, encoding="utf-8-sig")
    else:
        frame.to_excel(path)
    loaded = load_inputs([str(path)])
    messages = loaded.messages.sort_values("source_row")
    assert messages["source_row"].tolist() == list(range(2, 9))
    assert messages["role"].tolist() == ["customer", "agent", "customer", "agent", "customer", "agent", "customer"]
    assert messages["text"].iloc[4] == "那烘干呢"
    # the session that went on past the switch of exports is one session, its id without pandas' .0
    assert messages["session_id"].iloc[2:6].nunique() == 1
    assert messages["session_id"].iloc[2] == "880011225566"
    assert set(messages.loc[messages["role"] == "agent", "agent"]) == {"木木家纺:小林"}
    notes = " ".join(loaded.notes)
    assert "two exports of different columns joined" in notes and "'会话编号' on rows 6–8" in notes


def test_columns_named_alike_filled_row_by_row_in_turn_are_still_refused(tmp_path):
    # two session-like columns filled alternately are no two exports: which one holds the session is unclear
    path = tmp_path / "alternating.csv"
    lines = ["会话ID,会话编号,发送方,发送时间,内容"]
    for i in range(8):
        first, second = ("5501", "") if i % 2 == 0 else ("", "5501")
        lines.append(f"{first},{second},{'买家' if i % 2 == 0 else '客服'},2027-03-01 10:0{i}:00,消息{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="both look like session_id"):
        load_inputs([str(path)])


def _role_column_rows(stale: str) -> list[list[str]]:
    rows = [["会话ID", "顾客账号", "发送人", "发送时间", "消息内容", "角色"]]
    for n, buyer in enumerate(["jd_小鹿", "jd_青柠", "jd_团子", "jd_北北"]):
        agent = "小周" if n % 2 else stale  # the agent who joined after the role list was made
        rows += [[f"91000{n}", buyer, buyer, f"2027-03-0{n + 1} 10:00:00", "充电器是原装的吗", "顾客"],
                 [f"91000{n}", buyer, agent, f"2027-03-0{n + 1} 10:01:00", "是原装的，配件清单里有写",
                  "人工" if agent == "小周" else "顾客"]]
    return rows


def test_a_role_column_calling_an_agent_the_customer_is_overruled_by_the_sender_and_customer_columns(tmp_path):
    path = tmp_path / "roles.csv"
    path.write_text("\n".join(",".join(row) for row in _role_column_rows("小桃")) + "\n", encoding="utf-8")
    loaded = load_inputs([str(path)])
    messages = loaded.messages.sort_values("source_row")
    assert messages["role"].tolist() == ["customer", "agent"] * 4
    assert set(messages.loc[messages["role"] == "agent", "agent"]) == {"小桃", "小周"}
    assert any("calls 小桃 the customer" in note for note in loaded.notes)


def test_a_role_column_is_kept_where_senders_and_customers_are_written_differently(tmp_path):
    # the customer column holds nicknames, the sender column account ids: no sender is ever "the row's
    # customer", so nothing contradicts the role column
    rows = _role_column_rows("小桃")
    for row in rows[1:]:
        row[1] = row[1].removeprefix("jd_") + "同学"
    path = tmp_path / "roles.csv"
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")
    messages = load_inputs([str(path)]).messages.sort_values("source_row")
    assert messages["role"].tolist() == ["customer", "customer", "customer", "agent", "customer", "customer",
                                         "customer", "agent"]


def test_a_customer_on_two_wechat_service_accounts_at_once_has_two_sessions(tmp_path):
    presale, aftersale = "wk" + "P" * 24, "wk" + "Q" * 24
    rows = [["客服账号ID", "客户ID", "客户昵称", "来源", "接待人员", "消息内容", "发送时间"]]
    buyer = "wm" + "b" * 24
    for minute, (account, source, agent, text) in enumerate([
            (aftersale, "客户", "", "退货寄出三天了还没退款", ),
            (aftersale, "接待人员", "阿May", "我看一下，仓库今天签收的"),
            (presale, "客户", "", "另外问下连体衣有70码吗"),
            (presale, "接待人员", "小青", "有的，70码适合3到6个月"),
            (aftersale, "客户", "", "那什么时候到账"),
            (aftersale, "接待人员", "阿May", "今天下班前给您退")]):
        rows.append([account, buyer, "Amy妈", source, agent, text, f"2027-03-01 10:{minute:02d}:00"])
    path = tmp_path / "kf.csv"
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")
    loaded = load_inputs([str(path)])
    messages = loaded.messages.sort_values("source_row")
    sessions = messages["session_id"].tolist()
    assert sessions[0] == sessions[1] == sessions[4] == sessions[5] != sessions[2] == sessions[3]
    assert any("two accounts are two sessions" in note for note in loaded.notes)


def test_a_call_centre_export_writing_zuoxi_with_the_other_character_reads_its_agents_and_directions(tmp_path):
    # 座席 and 坐席 are one word: 座席名称 names the agent, 座席→访客 is the agent's message
    rows = [["会话编号", "访客名称", "座席工号", "座席名称", "消息方向", "消息时间", "消息内容"],
            ["c-1", "小雨", "", "", "访客→座席", "2027-03-01 10:00:00", "沙发什么时候送"],
            ["c-1", "小雨", "8002", "木隅-阿凯", "座席→访客", "2027-03-01 10:01:00", "明天上午送到"],
            ["c-1", "小雨", "", "", "系统", "2027-03-01 10:02:00", "座席结束会话"]]
    path = tmp_path / "7moor.csv"
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8-sig")
    messages = load_inputs([str(path)]).messages.sort_values("source_row")
    assert messages["role"].tolist() == ["customer", "agent", "system"]
    assert messages["agent"].iloc[1] == "木隅-阿凯"


def test_an_agent_column_listing_the_session_s_agents_gives_each_message_to_its_sender(tmp_path):
    rows = [["对话ID", "客服", "消息发送者", "发送者名称", "发送时间", "消息内容"],
            ["77", "可可/小雅", "客户", "Bella", "2027-03-01 10:00:00", "孕妇能用吗"],
            ["77", "可可/小雅", "客服", "可可", "2027-03-01 10:01:00", "不放心就别买"],
            ["77", "可可/小雅", "系统", "系统", "2027-03-01 10:02:00", "对话已由 可可 转接给 小雅"],
            ["77", "可可/小雅", "客服", "小雅", "2027-03-01 10:03:00", "抱歉，刚才的回复不妥，这款孕期可以用"],
            ["78", "小雅", "客服", "小雅", "2027-03-01 11:00:00", "您好"]]
    path = tmp_path / "udesk.csv"
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")
    messages = load_inputs([str(path)]).messages.sort_values("source_row")
    agents = messages.loc[messages["role"] == "agent", "agent"].tolist()
    assert agents == ["可可", "小雅", "小雅"]


def _csv_file(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_customer_alone_on_the_customer_s_side_under_another_nickname_stays_the_customer(tmp_path):
    path = _csv_file(tmp_path, "roles.csv", "会话ID,时间,角色,发送人,顾客昵称,内容\n"
                     "S1,2026-12-01 10:00:00,顾客,阿花,阿花,这个杯子有蓝色吗\nS1,2026-12-01 10:00:30,客服,小禾,阿花,有的亲\n"
                     "S2,2026-12-01 10:01:00,顾客,大熊,大熊,发货了吗\nS2,2026-12-01 10:01:30,客服,小禾,大熊,今天发\n"
                     "S3,2026-12-01 10:02:00,顾客,木木,木木,能开发票吗\nS3,2026-12-01 10:02:30,客服,小禾,木木,可以\n"
                     "S4,2026-12-01 10:03:00,顾客,橘子汽水,小橘,东西太差了\nS4,2026-12-01 10:04:30,客服,小禾,小橘,抱歉\n")
    messages = load_inputs([path]).messages
    assert messages.loc[messages["session_id"] == "S4", "role"].tolist() == ["customer", "agent"]


def test_a_wechat_event_row_without_its_account_stays_in_the_customer_s_conversation(tmp_path):
    first, second, buyer = "wk" + "A" * 24, "wk" + "B" * 24, "wm" + "c" * 24
    rows = [[first, "客户", "", "在吗", "10:00:00"], [first, "接待人员", "小青", "在的", "10:01:00"],
            ["", "系统事件", "", "[事件] 会话已结束", "10:30:00"],
            [second, "客户", "", "退款到了吗", "15:00:00"], [second, "接待人员", "阿May", "今天到", "15:01:00"]]
    text = "客服账号ID,客户ID,客户昵称,来源,接待人员,消息内容,发送时间\n" + "".join(
        f"{account},{buyer},小B,{source},{agent},{words},2027-03-01 {clock}\n" for account, source, agent, words, clock in rows)
    messages = load_inputs([_csv_file(tmp_path, "kf.csv", text)]).messages.sort_values("source_row")
    sessions = messages["session_id"].tolist()
    assert sessions[0] == sessions[1] == sessions[2] != sessions[3] == sessions[4]


def test_the_customer_column_is_the_one_whose_names_the_senders_use(tmp_path):
    # 顾客账号 (ids) beside 顾客 (nicknames), the senders written as nicknames
    path = _csv_file(tmp_path, "c.csv", "时间,顾客账号,顾客,发送人,内容\n"
                     "2026-12-01 10:00:00,c1001,阿花,阿花,这个杯子有蓝色吗\n2026-12-01 10:00:30,c1001,阿花,小禾,有的亲\n"
                     "2026-12-01 10:01:00,c1002,大熊,大熊,发货了吗\n2026-12-01 10:01:30,c1002,大熊,小禾,今天发\n"
                     "2026-12-01 10:02:00,c1003,木木,木木,能开发票吗\n2026-12-01 10:02:30,c1003,木木,阿青,可以\n")
    messages = load_inputs([path]).messages.sort_values("source_row")
    assert messages["role"].tolist() == ["customer", "agent"] * 3


@pytest.mark.parametrize("bare,named", [("发送者", "发送者名称"), ("发送人", "发送人名称"), ("坐席", "座席名称")])
def test_a_party_named_bare_and_by_its_name_reads_the_name(tmp_path, bare, named):
    path = _csv_file(tmp_path, "n.csv", f"会话ID,时间,角色,{bare},{named},内容\n"
                     "S1,2026-12-01 10:00:00,顾客,u1,阿花,在吗\nS1,2026-12-01 10:00:30,客服,k7,小禾,在的\n")
    messages = load_inputs([path]).messages.sort_values("source_row")
    assert messages["agent"].iloc[1] == "小禾"


def test_an_agent_name_with_a_slash_is_one_agent_when_its_parts_do_not_all_write(tmp_path):
    path = _csv_file(tmp_path, "s.csv", "会话ID,时间,角色,客服,发送人,内容\n"
                     "S1,2026-12-01 10:00:00,顾客,暖暖家居/小美,小圆,在吗\nS1,2026-12-01 10:00:30,客服,暖暖家居/小美,暖暖家居,在的亲\n"
                     "S2,2026-12-01 10:01:00,顾客,暖暖家居/阿杰,大熊,发货了吗\nS2,2026-12-01 10:01:30,客服,暖暖家居/阿杰,暖暖家居,今天发\n")
    messages = load_inputs([path]).messages
    assert set(messages.loc[messages["role"] == "agent", "agent"]) == {"暖暖家居/小美", "暖暖家居/阿杰"}


def test_float_ids_read_alike_in_every_chunk_and_beside_a_footer(tmp_path):
    lines = ["会话ID,发送时间,发送方,客服,内容"]
    for n in range(12):
        session = f"{713420100000 + n // 4}.0"
        lines.append(f"{session},2026-12-01 10:{n:02d}:00,{'买家' if n % 2 == 0 else '客服'},小禾,消息{n}")
    lines.append("合计：共12条,,,,")
    path = _csv_file(tmp_path, "f.csv", "\n".join(lines) + "\n")
    streamed_like_loaded([path], 5)
    sessions = set(load_inputs([path]).messages["session_id"])
    assert sessions == {"713420100000", "713420100001", "713420100002"}


def test_a_password_protected_workbook_is_named_so(tmp_path):
    """An encrypted .xlsx (an OLE2 container with an EncryptedPackage stream) was 'not a readable Excel
    workbook (Cannot detect file format)'."""
    path = tmp_path / "locked.xlsx"
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    path.write_bytes(header + b"\x00" * 1000 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 2000)
    with pytest.raises(InputError, match="password-protected"):
        load_inputs([str(path)])


def test_a_zip_inside_a_zip_is_named_as_such(tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("chat.csv", _csv_bytes("会话ID,发送方,发送时间,内容", "k1,买家,2027-02-15 10:00:00,在吗"))
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(inner, "inner.zip")
    with pytest.raises(InputError, match="a zip inside a zip: unpack it first"):
        load_inputs([str(outer)])


def test_one_sheet_per_agent_without_an_agent_column_names_the_agent_by_its_sheet(tmp_path):
    """An 有赞-style workbook with a sheet per agent and no agent column: each sheet's name is its
    agent, said in a note; a sheet named like a table, a date or a party is no agent's name."""
    book = openpyxl.Workbook()
    first = book.active
    first.title = "客服-老周"
    for row in (["会话ID", "发送方", "消息内容"], ["A1", "客户", "在吗"], ["A1", "客服", "在的"]):
        first.append(row)
    second = book.create_sheet("阿北")
    for row in (["会话ID", "发送方", "消息内容"], ["B1", "客户", "发货没"], ["B1", "客服", "今天发"]):
        second.append(row)
    path = tmp_path / "agents.xlsx"
    book.save(path)
    result = load_inputs([str(path)])
    agents = result.messages.loc[result.messages["role"] == "agent", "agent"].tolist()
    assert agents == ["客服-老周", "阿北"]
    assert result.messages.loc[result.messages["role"] == "customer", "agent"].tolist() == ["", ""]
    assert any("each sheet's name taken as its agent" in note for note in result.notes)
    # a staff number is part of the name; a lone sheet, or a sheet named like a table, a date, a party, a
    # platform or a shift is no agent's
    for titles, expected in ((("客服2", "小美3号"), ["客服2", "小美3号"]), (("客服-小桃",), ["(unknown)"]),
                             (("Sheet1", "Sheet2"), ["(unknown)"] * 2), (("12月6日", "本周"), ["(unknown)"] * 2),
                             (("聊天记录", "客服发言"), ["(unknown)"] * 2), (("淘宝", "夜班"), ["(unknown)"] * 2),
                             (("禾木家居旗舰店", "查询结果"), ["(unknown)"] * 2)):
        book = openpyxl.Workbook()
        book.remove(book.active)
        for title in titles:
            sheet = book.create_sheet(title)
            for row in (["会话ID", "发送方", "消息内容"], [f"{title}-1", "客户", "在吗"], [f"{title}-1", "客服", "在的"]):
                sheet.append(row)
        other = tmp_path / "other.xlsx"
        book.save(other)
        read = load_inputs([str(other)]).messages
        assert read.loc[read["role"] == "agent", "agent"].tolist() == expected, titles
