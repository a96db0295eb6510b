"""A merchant back-end export whose sender is a bare 工号 and whose roles only a second sheet, the staff
directory, tells (京东 商家后台 聊天明细 + 客服工号对照)."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.errors import InputError
from qa.ingest import load_inputs
from qa.ingest.staffdir import staff_directory

CHAT = [
    ("DD01", 0, "jd_7f3a", 2051, "空气炸锅收到外壳有道划痕"),
    ("DD01", 1, 9001, "jd_7f3a", "您好，京小智为您服务，请描述您的问题"),
    ("DD01", 2, 2051, "jd_7f3a", "抱歉让您收到有划痕的锅，给您补发一个新外壳可以吗"),
    ("DD01", 3, "jd_7f3a", 2051, "可以"),
    ("DD02", 0, "jd_老周", 2077, "发票开错抬头了"),
    ("DD02", 1, 2077, "jd_老周", "好的，麻烦提供新抬头，我帮您重开"),
    ("DD02", 2, 9999, "jd_老周", "邀请您对本次服务进行评价"),
    ("DD03", 0, "jd_c9e1", 2099, "还在吗"),
    ("DD03", 1, 2099, "jd_c9e1", "在的，请问有什么可以帮您"),
]
DIRECTORY = [("工号", "姓名", "账号类型", "状态"), (2051, "青禾", "人工客服", "在职"), (2077, "阿远", "人工客服", "在职"),
             (2099, "小满", "人工客服", "已离职"), (9001, "京小智", "智能机器人", "启用"), (9999, "系统消息", "系统", "-")]


def write_workbook(path, directory=True):
    book = openpyxl.Workbook()
    chat = book.active
    chat.title = "聊天明细"
    chat.append(["会话ID", "消息时间", "发送人", "接收人", "消息内容"])
    start = dt.datetime(2026, 12, 1, 10, 0, 0)
    for session, step, sender, receiver, text in CHAT:
        chat.append([session, start + dt.timedelta(minutes=10 * int(session[-1]), seconds=40 * step),
                     sender, receiver, text])
    if directory:
        staff = book.create_sheet("客服工号对照")
        for row in DIRECTORY:
            staff.append(list(row))
    book.save(path)
    return path


def test_the_directory_tells_staff_robot_and_notices_from_customers(tmp_path):
    result = load_inputs([str(write_workbook(tmp_path / "jd.xlsx"))])
    messages = result.messages
    assert result.rejected.empty
    assert messages["role"].tolist() == ["customer", "system", "agent", "customer",
                                         "customer", "agent", "system", "customer", "agent"]
    # agents under the directory's names, a former colleague (已离职) among them
    assert messages.loc[messages["role"] == "agent", "agent"].tolist() == ["青禾", "阿远", "小满"]
    assert any("staff directory" in note for note in result.notes)


def test_an_export_with_a_directory_is_audited_with_no_options(tmp_path):
    path = write_workbook(tmp_path / "jd.xlsx")
    out = tmp_path / "out.json"
    run = CliRunner().invoke(main, ["audit", str(path), "--json", str(out), "-o", str(tmp_path / "r.xlsx")])
    assert run.exit_code == 0, run.output
    agents = {agent["agent"] for agent in json.loads(out.read_text(encoding="utf-8"))["agents"]}
    assert agents == {"青禾", "阿远", "小满"}


def test_without_the_directory_sheet_the_ids_tell_nothing(tmp_path):
    # the same messages with no directory: no sender is known as staff (the CLI then refuses, saying why)
    result = load_inputs([str(write_workbook(tmp_path / "jd.xlsx", directory=False))])
    assert not (result.messages["role"] == "agent").any()


def test_a_directory_is_a_sheet_naming_ids_and_names():
    cover = pd.DataFrame([["客服绩效报表", ""], ["统计日期", "2026-12-01"]])
    assert staff_directory(cover) == ()
    titled = pd.DataFrame([["客服名单（2026-12）", "", ""], ["客服ID", "客服昵称", "角色"],
                           ["k01", "木子", "人工"], ["", "", ""], ["bot", "小蜜", "机器人"]])
    assert staff_directory(titled) == (("k01", "木子", "agent"), ("bot", "小蜜", "system"))


def test_a_workbook_holding_only_a_directory_says_what_is_missing(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "客服工号对照"
    for row in DIRECTORY:
        book.active.append(list(row))
    book.save(tmp_path / "staff.xlsx")
    with pytest.raises(InputError, match="missing column"):
        load_inputs([str(tmp_path / "staff.xlsx")])
