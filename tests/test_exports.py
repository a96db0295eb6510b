"""Exports as the platforms write them, read by `qa audit FILE` with no options: header
detection (title lines, cover sheets, merged and two-level headers), split date and time, the
platforms' vocabularies, folders with skipped files, roles one can trust, zero-row runs and the
output slips that get one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import run

from qa.errors import InputError
from qa.ingest import load_inputs, stream_inputs

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
EXPORTS = {
    # file: (messages, sessions, header note fragment)
    "qianniu-export.csv": (43, 8, "header found on row 4 of"),
    "dongdong-export.xlsx": (26, 5, "header found on row 3 of"),
    "feige-export.xlsx": (24, 5, None),
    "qiyu-chats.csv": (23, 5, None),
}


def audit_json(tmp_path: Path, *inputs: str, extra: tuple[str, ...] = ()):
    out, js = tmp_path / "r.xlsx", tmp_path / "r.json"
    result = run("audit", *inputs, "-o", str(out), "--json", str(js), *extra)
    data = json.loads(js.read_text(encoding="utf-8")) if js.exists() else None
    return result, data


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_export_sample_is_read_whole_with_no_options(name, tmp_path):
    messages, sessions, header_note = EXPORTS[name]
    result, data = audit_json(tmp_path, str(SAMPLES / name))
    assert result.exit_code == 0, result.output
    summary = data["summary"]
    assert (summary["input_rows"], summary["audited_rows"], summary["rejected_rows"]) == (messages, messages, 0)
    assert summary["sessions"] == sessions
    assert f"audited {messages} of {messages} rows (0 rejected)" in result.output
    if header_note:
        assert header_note in result.output
    assert "warning:" not in result.output  # roles, agents and times all trusted


def test_qianniu_title_lines_skipped_main_account_is_an_agent():
    ingest = load_inputs([str(SAMPLES / "qianniu-export.csv")])
    main_rows = ingest.messages[ingest.messages["text"].str.startswith("这不是我们的问题")]
    assert main_rows["role"].tolist() == ["agent"] and main_rows["agent"].tolist() == ["暖暖家居旗舰店"]
    assert main_rows["source_row"].tolist() == [20]  # rows as the file shows them (header on row 4)
    assert ingest.messages["source_row"].min() == 5
    assert any("rows 1–3 skipped" in note for note in ingest.notes)


def test_main_account_replying_first_is_an_agent_in_every_chunk(tmp_path):
    # the main account answers before any sub-account has sent a message: the customer's
    # messages to 店铺:客服 name the shop, so even a streamed chunk of two rows knows it
    lines = ["会话ID,发送人,接收人,发送时间,消息内容",
             "Q1,tb_1,小店:阿明,2026-11-20 10:00:00,在吗",
             "Q1,小店,tb_1,2026-11-20 10:00:20,在的亲",
             "Q1,tb_1,小店:阿明,2026-11-20 10:01:00,发货了吗",
             "Q1,小店:阿明,tb_1,2026-11-20 10:01:30,今天发"]
    path = write(tmp_path / "q.csv", "\n".join(lines) + "\n")
    whole = load_inputs([str(path)]).messages
    chunks = pd.concat([c.messages for c in stream_inputs([str(path)], chunk_rows=2)], ignore_index=True)
    for messages in (whole, chunks):
        assert messages.sort_values("source_row")["role"].tolist() == ["customer", "agent", "customer", "agent"]


def test_dongdong_cover_sheet_merged_title_and_split_excel_date_time():
    ingest = load_inputs([str(SAMPLES / "dongdong-export.xlsx")])
    assert set(ingest.messages["source_sheet"]) == {"聊天记录"}
    late = ingest.messages[ingest.messages["text"].str.startswith("您好，是新一级能效")]
    assert str(late["timestamp"].iloc[0]) == "2026-11-20 10:06:10+08:00"
    assert late["source_row"].tolist() == [16]
    notes = "\n".join(ingest.notes)
    assert "header found on row 3 of" in notes and "(sheet 聊天记录); rows 1–2 skipped" in notes
    assert "'日期' + '时间'" in notes


def test_feige_two_level_header_and_message_type_robot_is_system():
    ingest = load_inputs([str(SAMPLES / "feige-export.xlsx")])
    messages = ingest.messages
    robot = messages[messages["text"].str.startswith("您好，欢迎来到轻风运动")]
    assert len(robot) == 3 and set(robot["role"]) == {"system"}
    assert messages["source_row"].min() == 3


def test_qiyu_roles_and_split_date_time_columns():
    messages = load_inputs([str(SAMPLES / "qiyu-chats.csv")]).messages
    assert messages["role"].value_counts().to_dict() == {"customer": 12, "agent": 8, "system": 3}
    first = messages[messages["text"] == "请问这个面霜适合干皮吗"]
    assert str(first["timestamp"].iloc[0]) == "2026-11-20 09:15:00+08:00"


# --------------------------------------------------------------------------- header rows


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


TITLED = "聊天记录导出\n导出时间：2026-11-21\n\n会话编号,时间,角色,内容\nS1,2026-11-20 10:00:00,买家,在吗\nS1,2026-11-20 10:00:30,客服,在的\n"


def test_header_row_override_and_rows_above_are_not_input(tmp_path):
    path = write(tmp_path / "t.csv", TITLED)
    found = load_inputs([str(path)])
    assert found.input_rows == 2 and found.messages["source_row"].tolist() == [5, 6]
    forced = load_inputs([str(path)], header_row=4)
    assert forced.messages["source_row"].tolist() == [5, 6]
    with pytest.raises(InputError, match="missing column for session_id .*found: 导出时间"):
        load_inputs([str(path)], header_row=2)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_header_below_a_long_block_of_notes_is_found(tmp_path, suffix):
    """An export may open with dozens of lines of notes (filters, the shop, a line per field): the
    header on row 61 is found, in a text file and in a workbook."""
    notes = [[f"说明第{i}条：导出范围为所选店铺的全部会话", "", "", "", ""] for i in range(1, 61)]
    table = notes + [["会话ID", "时间", "角色", "客服", "内容"],
                     ["S1", "2026-12-06 10:00:00", "买家", "", "在吗"],
                     ["S1", "2026-12-06 10:00:30", "客服", "小周", "您好 在的"]]
    path = tmp_path / f"notes{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(",".join(row) for row in table) + "\n", encoding="utf-8")
    else:
        book = openpyxl.Workbook()
        for row in table:
            book.active.append(row)
        book.save(path)
    found = load_inputs([str(path)])
    assert found.input_rows == 2 and found.messages["source_row"].tolist() == [62, 63]
    assert any("rows 1–60 skipped" in note for note in found.notes)


def test_a_second_export_joined_below_the_first_does_not_become_the_header(tmp_path):
    """The header stands above the messages: a header line further down (two exports joined) is not
    taken for the file's header with every message above it skipped as notes (review, session 33)."""
    first = [["S1", f"2026-12-08 10:{m:02d}:00", "买家" if m % 2 == 0 else "客服", "在吗"] for m in range(40)]
    second = [["T1", "小芸", "2026-12-08 11:00:00", "买家", "有货吗"]] * 5
    lines = ["会话ID,发送时间,发送方,消息内容"] + [",".join(r) for r in first]
    lines += ["会话ID,客服昵称,发送时间,发送方,消息内容"] + [",".join(r) for r in second]
    path = tmp_path / "joined.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = load_inputs([str(path)])
    assert found.messages["source_row"].tolist()[:2] == [2, 3]  # the first export's messages are read
    assert not any("skipped" in note for note in found.notes)


def test_a_message_naming_a_field_deep_in_a_headerless_file_is_no_header(tmp_path):
    """A headerless dump whose 61st message is the word 客服 (and whose role cell says 买家) names two
    fields there: it is a message, not the header (review, session 33)."""
    rows = []
    for i in range(80):
        buyer = f"buyer_{i // 4}"
        agent = i % 2 == 1
        rows.append([f"{31000000 + i // 4}", f"{90000000 + i}", "木木家居店", buyer, "客服" if agent else "买家",
                     "木木家居店:阿青" if agent else buyer, f"2027-03-02 {10 + i // 60}:{i % 60:02d}:05",
                     f"您好，可以的{i}" if agent else f"这个台灯能调光吗{i}"])
    rows[60][7] = "客服"
    path = tmp_path / "dump.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    found = load_inputs([str(path)])
    assert found.input_rows == 80 and len(found.messages) == 80


def test_header_row_option_on_the_command_line(tmp_path):
    path = write(tmp_path / "t.csv", TITLED)
    result, data = audit_json(tmp_path, str(path), extra=("--header-row", "4"))
    assert result.exit_code == 0, result.output
    assert data["summary"]["input_rows"] == 2 and data["summary"]["audited_rows"] == 2
    wrong = run("audit", str(path), "-o", str(tmp_path / "w.xlsx"), "--header-row", "2")
    assert wrong.exit_code == 2
    assert "missing column for session_id" in wrong.output and "Traceback" not in wrong.output
    assert len(wrong.output.strip().splitlines()) <= 3


def test_a_session_column_in_other_words_is_found_and_told(tmp_path):
    path = write(tmp_path / "odd.csv", "会话编码,时间,角色,内容\nS1,2026-11-20 10:00:00,买家,在吗\n")
    result = load_inputs([str(path)])
    assert result.messages["session_id"].tolist() == ["S1"]
    assert any("columns found by their names: session_id=会话编码" in note for note in result.notes)


def test_no_session_column_names_the_closest_column(tmp_path):
    path = write(tmp_path / "odd.csv", "会话编,时间,角色,内容\nS1,2026-11-20 10:00:00,买家,在吗\n")
    with pytest.raises(InputError) as error:
        load_inputs([str(path)])
    message = str(error.value)
    assert "session_id" in message and "会话编" in message
    assert "--column session_id=会话编" in message


def test_two_level_header_in_text_rows(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["会话", None, "消息", None, "内容"])
    sheet.append(["会话ID", "发送方", "发送时间", "客服名称", None])
    sheet.merge_cells("E1:E2")
    sheet.append(["S1", "访客", "2026-11-20 10:00:00", None, "在吗"])
    sheet.append(["S1", "客服", "2026-11-20 10:00:20", "小花", "在的"])
    book.save(tmp_path / "two.xlsx")
    messages = load_inputs([str(tmp_path / "two.xlsx")]).messages
    assert messages["text"].tolist() == ["在吗", "在的"] and messages["role"].tolist() == ["customer", "agent"]


# --------------------------------------------------------------------------- date + time


@pytest.mark.parametrize("date_name,time_name", [("日期", "时间"), ("发送日期", "发送时间"), ("date", "time")])
def test_date_and_time_columns_become_one_timestamp(tmp_path, date_name, time_name):
    text = (f"会话ID,{date_name},{time_name},角色,内容\n"
            "S1,2026-11-20,10:00:00,买家,在吗\nS1,2026/11/20,10:06:01,客服,在的\n")
    result = load_inputs([str(write(tmp_path / "d.csv", text))])
    assert [str(t) for t in result.messages["timestamp"]] == [
        "2026-11-20 10:00:00+08:00", "2026-11-20 10:06:01+08:00"]
    assert len(result.rejected) == 0


def test_a_date_without_its_time_of_day_is_rejected_not_put_at_midnight(tmp_path):
    """A blank time cell beside a date made the message 00:00 (a false slow reply from 09:00, or a reply
    moved before its question); as with one time column, the row is rejected as an empty time."""
    text = ("会话ID,日期,时间,角色,内容\n"
            "S1,2026-12-06,,买家,在吗 我的快递呢\nS1,2026-12-06,09:10:00,客服,在的亲\n"
            "S2,2026-12-06,09:00:00,买家,在吗\nS2,2026-12-06,09:00:10,客服,在的\n")
    result = load_inputs([str(write(tmp_path / "d.csv", text))])
    assert [str(t) for t in result.messages["timestamp"]] == [
        "2026-12-06 09:10:00+08:00", "2026-12-06 09:00:00+08:00", "2026-12-06 09:00:10+08:00"]
    assert len(result.rejected) == 1 and "empty time" in str(result.rejected.iloc[0].tolist())


def test_date_and_time_columns_with_a_twelve_hour_clock_or_an_excel_day_number(tmp_path):
    """上午/下午 and AM/PM times of day (a few among 24-hour ones) and a date saved as Excel's day number
    pair with their date: every row was rejected as an unparseable time."""
    text = ("会话ID,日期,时间,角色,内容\n"
            "S1,2026/12/6,上午9:02:00,买家,在吗\nS1,2026/12/6,9:02:30,客服,在的\n"
            "S2,2026/12/6,下午2:02:00,买家,在吗\nS2,2026/12/6,2:03:00 PM,客服,在的\n"
            "S3,46362,0.375,买家,在吗\nS3,46362,0.3751,客服,在的\n")
    result = load_inputs([str(write(tmp_path / "d.csv", text))])
    assert [str(t) for t in result.messages["timestamp"]] == [
        "2026-12-06 09:02:00+08:00", "2026-12-06 09:02:30+08:00", "2026-12-06 14:02:00+08:00",
        "2026-12-06 14:03:00+08:00", "2026-12-06 09:00:00+08:00", "2026-12-06 09:00:09+08:00"]
    assert len(result.rejected) == 0


def test_explicit_date_plus_time_mapping(tmp_path):
    text = "会话ID,日子,钟点,角色,内容\nS1,2026-11-20,10:00,买家,在吗\nS1,2026-11-20,10:01,客服,在的\n"
    result = load_inputs([str(write(tmp_path / "d.csv", text))], columns={"timestamp": "日子+钟点"})
    assert [str(t) for t in result.messages["timestamp"]] == [
        "2026-11-20 10:00:00+08:00", "2026-11-20 10:01:00+08:00"]


# --------------------------------------------------------------------------- vocabularies


def test_pinduoduo_and_feige_vocabularies(tmp_path):
    pdd = "会话ID,买家昵称,客服账号,发送者类型,发送时间,聊天内容\nP1,pdd_123,多多店:阿强,买家,2026-11-20 10:00:00,在吗\nP1,pdd_123,多多店:阿强,客服,2026-11-20 10:00:10,在的\n"
    result = load_inputs([str(write(tmp_path / "pdd.csv", pdd))])
    assert result.messages["role"].tolist() == ["customer", "agent"]
    assert result.messages["agent"].tolist()[1] == "多多店:阿强"


# Platform layouts read with no options, each with what makes it hard: (file name, content, encoding,
# the agent on the third row, the second row's time, a note the reader must give or None, the rows).
_LAYOUTS_WITH_NO_OPTIONS = [
    # 微信客服 / 企业微信: 消息 holds the text, 接待人员 the agent, 消息来源 客户/接待人员/系统, times
    # without zero padding, GB18030 as Windows tools write it, a title line
    pytest.param("wecom.csv",
                 "微信客服聊天记录,客服账号:某某小店,导出时间:2026/12/05 08:30\n"
                 "会话编号,客户昵称,接待人员,消息来源,消息时间,消息\n"
                 "wk1,阿强,售后-小雨,系统,2026/12/3 9:05:00,会话已接入\n"
                 "wk1,阿强,售后-小雨,客户,2026/12/3 9:05:10,鞋子开胶了\n"
                 "wk1,阿强,售后-小雨,接待人员,2026/12/3 9:06:00,抱歉，拍张照片给我看看\n",
                 "gb18030", "售后-小雨", "2026-12-03 09:05:10+08:00", None, [3, 4, 5], id="wecom"),
    # 快手小店: 发送方向 = 买家发送/客服发送/系统通知 (the sender told with what it did), milliseconds
    pytest.param("shop.csv",
                 "会话id,消息内容,发送方向,发送时间,客服昵称,买家昵称\n"
                 "K1,会话开始,系统通知,2026-12-06 10:00:00.120,小杨,阿花\n"
                 "K1,发货了吗,买家发送,2026-12-06 10:00:05.500,小杨,阿花\n"
                 "K1,今天下午发,客服发送,2026-12-06 10:00:40.010,小杨,阿花\n",
                 "utf-8", "小杨", "2026-12-06 10:00:05.500000+08:00", None, [2, 3, 4], id="kuaishou"),
    # 小红书千帆: a title and a blank line, the customer's ID beside the nickname (no ambiguity: neither
    # is read), the bot as 智能助手, Chinese dates
    pytest.param("xhs.csv",
                 "\ufeff千帆 会话导出,店铺:某某铺,导出时间:2026年12月11日 08:00\n\n"
                 "会话ID,发送人身份,用户昵称,发送时间,用户ID,消息内容,客服账号,消息类型\n"
                 "X1,智能助手,小羊,2026年12月10日 09:00:01,5f3a0c,您好 客服马上就来,某某铺-阿桃,文本\n"
                 "X1,用户,小羊,2026年12月10日 09:00:05,5f3a0c,口红什么时候发,某某铺-阿桃,文本\n"
                 "X1,客服,小羊,2026年12月10日 09:01:40,5f3a0c,今天下午发出,某某铺-阿桃,文本\n",
                 "utf-8", "某某铺-阿桃", "2026-12-10 09:00:05+08:00", None, [4, 5, 6], id="xiaohongshu"),
    # 苏宁云信: the text under 消息正文, the agent's nickname beside its number, the sender as a
    # direction (访客→坐席); the columns found by their words are told in a note
    pytest.param("sn.csv",
                 "消息方向,会话编号,消息正文,坐席昵称,消息时间,坐席工号\n"
                 "机器人→访客,N1,您好 请描述问题,苏宁-小林,2026/12/13 10:00:01,80231\n"
                 "访客→坐席,N1,空调什么时候装,苏宁-小林,2026/12/13 10:00:09,80231\n"
                 "坐席→访客,N1,后天下午安装师傅过去,苏宁-小林,2026/12/13 10:01:00,80231\n",
                 "utf-8", "苏宁-小林", "2026-12-13 10:00:09+08:00",
                 "columns found by their names: text=消息正文, agent=坐席昵称", [2, 3, 4], id="suning-other-words"),
    # 美团 merchant IM saved by Excel as "Unicode text": UTF-16 with a BOM, tabs, date and time apart, the
    # sender's name beside a 身份 column (顾客 / 商家 / 自动回复): the role column, not the nicknames, decides
    pytest.param("mt.txt",
                 "序号\t会话编号\t日期\t时间\t发送人\t身份\t内容\r\n"
                 "1\tM1\t2026/12/16\t18:00:01\t店长-阿梅\t自动回复\t您好 欢迎光临\r\n"
                 "2\tM1\t2026/12/16\t18:00:09\t小胖丁\t顾客\t汤洒了一半\r\n"
                 "3\tM1\t2026/12/16\t18:01:00\t店长-阿梅\t商家\t抱歉 马上给您退汤的钱\r\n",
                 "utf-16", "店长-阿梅", "2026-12-16 18:00:09+08:00", None, [2, 3, 4], id="meituan-utf16-identity"),
    # 京东健康 system export: an agent flag 是否客服 whose other values name the sender (机器人, 系统)
    pytest.param("jk.csv",
                 "会话ID,客户账号,客服账号,消息时间,是否客服,消息内容\n"
                 "88120931,jd_4a8c1f,jk_药师小周,2026-12-17 14:03:01,机器人,【自动回复】您好\n"
                 "88120931,jd_4a8c1f,jk_药师小周,2026-12-17 14:03:21,否,布洛芬一天吃几次\n"
                 "88120931,jd_4a8c1f,jk_药师小周,2026-12-17 14:04:00,是,成人一次一粒 一天不超过四次\n",
                 "utf-8", "jk_药师小周", "2026-12-17 14:03:21+08:00", None, [2, 3, 4], id="agent-flag-with-bot-value"),
    # English headers, the time as Unix epoch seconds under msg_time, buyer/seller/bot
    pytest.param("vip.csv",
                 "conversation_id,msg_time,sender_role,sender_name,content\n"
                 "v1,1796090400,bot,小唯,您好 我是机器人\n"
                 "v1,1796090405,buyer,阿柚,这件有M码吗\n"
                 "v1,1796090460,seller,唯品-小满,有的 M码有货\n",
                 "utf-8", "唯品-小满", "2026-12-01 10:00:05+08:00", None, [2, 3, 4], id="english-epoch-seconds"),
]


@pytest.mark.parametrize("name, content, encoding, agent, second_time, note, rows", _LAYOUTS_WITH_NO_OPTIONS)
def test_platform_layout_reads_with_no_options(tmp_path, name, content, encoding, agent, second_time, note, rows):
    result = load_inputs([str(write(tmp_path / name, content, encoding=encoding))])
    messages = result.messages
    assert len(result.rejected) == 0
    assert messages["role"].tolist() == ["system", "customer", "agent"]
    assert messages["agent"].tolist()[2] == agent
    assert str(messages["timestamp"].iloc[1]) == second_time
    assert messages["source_row"].tolist() == rows
    if note:
        assert any(note in line for line in result.notes)


def test_folder_lists_every_skipped_file_and_mapping_per_file(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "a.csv", "会话ID,发送时间,角色,内容\nS1,2026-11-20 10:00:00,买家,在吗\nS1,2026-11-20 10:00:10,客服,在的\n")
    write(folder / "b.csv", "编号,时间,角色,话\nB1,2026-11-20 10:00:00,买家,在吗\nB1,2026-11-20 10:00:10,客服,在的\n")
    write(folder / "notes.pdf", "%PDF-1.4")
    write(folder / "old.xls.bak", "x")
    result, data = audit_json(tmp_path, str(folder), extra=("--column", "session_id=编号", "--column", "text=话"))
    assert result.exit_code == 0, result.output
    assert data["summary"]["audited_rows"] == 4
    assert "skipped" in result.output and "notes.pdf" in result.output and "old.xls.bak" in result.output
    assert "b.csv: columns read as" in result.output and "session_id=编号" in result.output
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    summary = "\n".join(str(c.value) for row in book["概览"].iter_rows() for c in row if c.value)
    assert "notes.pdf" in summary and "跳过" in summary


def test_a_folder_of_day_folders_is_read_through_and_reports_in_it_are_skipped(tmp_path):
    """Sub-folders (a day a folder) were ignored without a note; a quoted ** was not recursive."""
    folder = tmp_path / "in"
    (folder / "2026-11-21").mkdir(parents=True)
    (folder / ".git").mkdir()
    write(folder / "a.csv", "会话ID,发送时间,角色,内容\nS1,2026-11-20 10:00:00,买家,在吗\nS1,2026-11-20 10:00:10,客服,在的\n")
    write(folder / "2026-11-21" / "b.csv",
          "会话ID,发送时间,角色,内容\nS2,2026-11-21 10:00:00,买家,在吗\nS2,2026-11-21 10:00:10,客服,在的\n")
    write(folder / ".git" / "c.csv", "not an export")
    first = run("audit", str(folder), "-o", str(folder / "reports" / "r.xlsx"), "--json", str(folder / "reports" / "r.json"),
                "--findings-csv", str(folder / "reports" / "f.csv"))
    assert first.exit_code == 0, first.output
    english = run("audit", str(folder / "a.csv"), "-o", str(tmp_path / "e.xlsx"), "--lang", "en",
                  "--findings-csv", str(folder / "reports" / "f-en.csv"))
    assert english.exit_code == 0, english.output
    again, data = audit_json(tmp_path, str(folder))
    assert again.exit_code == 0, again.output
    reports_line = next(line for line in again.output.splitlines() if "a qa report" in line)
    assert data["summary"]["input_rows"] == 4
    assert all(name in reports_line for name in ("r.xlsx", "r.json", "f.csv", "f-en.csv"))
    assert load_inputs([str(folder / "**" / "*.csv")]).messages["session_id"].tolist() == ["S1", "S1", "S2", "S2"]


def test_report_saved_in_the_export_folder_is_skipped_and_named(tmp_path):
    # a nightly job that writes its report next to the exports audits that folder again
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "a.csv", "会话ID,发送时间,角色,内容\nS1,2026-11-20 10:00:00,买家,在吗\nS1,2026-11-20 10:00:10,客服,在的\n")
    first = run("audit", str(folder), "-o", str(folder / "report.xlsx"))
    assert first.exit_code == 0, first.output
    again, data = audit_json(tmp_path, str(folder))
    assert again.exit_code == 0, again.output
    assert data["summary"]["input_rows"] == 2
    assert "skipped" in again.output and "report.xlsx: a qa report" in again.output
    # named directly, a report is still refused with the reason
    direct = run("audit", str(folder / "report.xlsx"), "-o", str(tmp_path / "x.xlsx"))
    assert direct.exit_code == 2 and "this is a qa report" in direct.output


# --------------------------------------------------------------------------- roles


def test_no_agents_warns_with_the_fix(tmp_path):
    text = "会话ID,时间,发送人,内容\n" + "".join(
        f"S{i},2026-11-20 10:0{i}:00,{nick},你好\n" for i in range(5) for nick in ("买家甲", "小美"))
    result = run("audit", str(write(tmp_path / "n.csv", text)), "-o", str(tmp_path / "r.xlsx"))
    assert "warning:" in result.output and "no agent messages" in result.output
    assert "--agent-pattern" in result.output


def test_unknown_agent_for_most_rows_warns(tmp_path):
    text = "会话ID,时间,角色,客服,内容\n" + "".join(
        f"S{i},2026-11-20 10:0{i}:00,{role},,你好\n" for i in range(5) for role in ("买家", "客服"))
    result = run("audit", str(write(tmp_path / "u.csv", text)), "-o", str(tmp_path / "r.xlsx"))
    assert "warning:" in result.output and "(unknown)" in result.output and "--column agent=" in result.output


# --------------------------------------------------------------------------- never green on nothing


def test_zero_rows_audited_exits_2_with_reasons(tmp_path):
    text = "会话ID,日期,时间,角色,内容\n" + "".join(
        f"S1,昨天,10:0{i}:00,买家,你好\n" for i in range(4)) + "S1,昨天,10:09:00,路人,你好\n"
    result = run("audit", str(write(tmp_path / "z.csv", text)), "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2
    assert "0 rows audited" in result.output
    assert "4 ×" in result.output and "example: row 2" in result.output


def test_an_id_card_column_is_never_taken_for_the_role(tmp_path):
    """身份证号 holds the customer's ID number: the role still comes from the sender's nickname."""
    text = ("会话编号,时间,发送人,身份证号,内容\n"
            "S1,2026-11-20 10:00:00,小胖丁,110101199001011234,在吗\n"
            "S1,2026-11-20 10:00:30,店铺:阿梅,,在的\n")
    result = load_inputs([str(write(tmp_path / "id.csv", text))])
    assert len(result.rejected) == 0
    assert result.messages["role"].tolist() == ["customer", "agent"]


def test_no_agent_message_read_exits_2_with_the_fix(tmp_path):
    """Roles not read (every sender taken for a customer) audit no agent message: never green on that."""
    text = "会话ID,时间,发送人,内容\n" + "".join(
        f"S{i},2026-11-20 10:0{i}:00,{who},你好\n" for i in range(5) for who in ("小胖丁", "店长阿梅"))
    result = run("audit", str(write(tmp_path / "n.csv", text)), "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2
    assert "no agent message audited" in result.output and "--agent-pattern" in result.output
    # the same file with the agents named audits normally
    named = run("audit", str(tmp_path / "n.csv"), "-o", str(tmp_path / "r2.xlsx"), "--agent-pattern", "店长")
    assert named.exit_code == 0, named.output


def test_top_rejection_reasons_printed_on_every_run(tmp_path):
    text = "会话ID,时间,角色,内容\nS1,2026-11-20 10:00:00,买家,在吗\nS1,2026-11-20 10:00:10,客服,在的\nS1,不是时间,买家,好\n"
    result = run("audit", str(write(tmp_path / "r.csv", text)), "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 0
    assert "rejected: 1 × unparseable time" in result.output


def test_chinese_workbook_has_chinese_reasons_and_notes(tmp_path):
    text = "会话ID,时间,角色,内容\nS1,2026-11-20 10:00:00,买家,在吗\nS1,2026-11-20 10:00:10,客服,在的\nS1,不是时间,买家,好\n"
    run("audit", str(write(tmp_path / "r.csv", text)), "-o", str(tmp_path / "r.xlsx"))
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert any("无法识别的时间「不是时间」" in c for c in cells)
    assert not any(c.startswith("unparseable time") for c in cells)
    assert any("没有客服列" in c for c in cells)


# --------------------------------------------------------------------------- output slips


def test_output_slips_get_one_line(tmp_path):
    sample = str(SAMPLES / "qianniu-day.csv")
    pdf = run("audit", sample, "-o", str(tmp_path / "r.pdf"))
    assert pdf.exit_code == 2 and ".xlsx" in pdf.output and len(pdf.output.strip().splitlines()) == 1
    sheet = run("audit", sample, "--sheet", "x", "-o", str(tmp_path / "r.xlsx"))
    assert sheet.exit_code == 2 and "--sheet" in sheet.output and len(sheet.output.strip().splitlines()) == 1
    same = run("audit", sample, "-o", str(tmp_path / "r.xlsx"), "--json", str(tmp_path / "r.xlsx"))
    assert same.exit_code == 2 and len(same.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_qa_report_given_as_input_is_refused(tmp_path):
    report = tmp_path / "day-qa.xlsx"
    assert run("audit", str(SAMPLES / "qianniu-day.csv"), "-o", str(report)).exit_code == 0
    again = run("audit", str(report), "-o", str(tmp_path / "again.xlsx"))
    assert again.exit_code == 2
    assert "this is a qa report; audit the original export" in again.output


def test_a_damaged_chat_sheet_stops_the_file_instead_of_being_skipped_as_a_cover_sheet(tmp_path):
    """A sheet whose XML is cut short was skipped as 'no chat columns (a cover sheet?)' and the run
    went on with the other sheet's rows only (exit 0, half the day lost)."""
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    for number, title in enumerate(["11-20", "11-21"]):
        sheet = book.active if number == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(["会话ID", "发送时间", "角色", "内容"])
        for row in range(60):
            sheet.append([f"S{number}-{row // 2}", f"2026-11-2{number} 10:{row:02d}:00", "买家" if row % 2 == 0 else "客服",
                          f"第{row}条消息的内容"])
    whole = tmp_path / "whole.xlsx"
    book.save(whole)
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet2.xml":
                data = data[: int(len(data) * 0.9)]
            target.writestr(item, data)
    assert len(load_inputs([str(whole)]).messages) == 120
    with pytest.raises(InputError, match="sheet '11-21'"):
        load_inputs([str(damaged)])


def test_utf16_named_without_its_byte_order_on_a_file_without_a_mark_is_a_clear_error(tmp_path):
    source = tmp_path / "u.csv"
    source.write_bytes("会话ID,角色,内容\nS1,买家,在吗\n".encode("utf-16-le"))
    with pytest.raises(InputError, match="no byte-order mark.*utf-16-le"):
        load_inputs([str(source)], encoding="utf-16")
    assert load_inputs([str(source)], encoding="utf-16-le").messages["text"].tolist() == ["在吗"]


def test_the_size_check_of_a_sheet_cut_inside_a_cell_reference_does_not_fail():
    """A sheet cut short inside a cell's reference (<c r="B12 with no closing quote): the size check
    found a column and no row and stopped on max() of nothing, an internal error, before the
    reader could say the sheet cannot be read."""
    from qa.xlsxlimits import _CellArea

    area = _CellArea(10**6)
    area.feed(b'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="B12')
    area.finish()
    assert area.rows == 1  # (the cut cell's column may count: the area is an upper bound)


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_json_nested_deeper_than_the_stack_is_refused_as_no_chat(tmp_path, suffix):
    source = tmp_path / f"deep{suffix}"
    source.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(InputError, match="nested too deep"):
        load_inputs([str(source)])
