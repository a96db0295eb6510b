"""Masking personal data: mobiles, ID-card numbers, e-mails; lengths kept; other digits untouched."""

from __future__ import annotations

import pandas as pd
import pytest

from qa.mask import distinct_masks, mask_finding, mask_series, mask_text, maybe_mask, shows_name


@pytest.mark.parametrize(
    "text, expected",
    [
        ("电话13812345678谢谢", "电话138****5678谢谢"),
        ("138-1234-5678", "138-****-5678"),
        ("138 1234 5678", "138 **** 5678"),
        # separators typed to dodge a filter or by an input method (session 32 review)
        ("138_1234_5678", "138_****_5678"),
        ("138—1234—5678", "138—****—5678"),
        ("1381234 5678", "138**** 5678"),
        ("1 3 8 1 2 3 4 5 6 7 8", "1 3 8 * * * * 5 6 7 8"),
        ("+8613812345678", "+86138****5678"),
        ("0086 13812345678", "0086 138****5678"),
        ("１３８１２３４５６７８", "１３８****５６７８"),
        ("两个号码 13812345678 和 15912345678", "两个号码 138****5678 和 159****5678"),
        ("身份证110101199003071234", "身份证**************1234"),
        ("11010119900307123X号", "**************123X号"),
        ("邮箱 zhangsan@example.com 谢谢", "邮箱 z*******@example.com 谢谢"),
        ("x.y_z@mail.example.com.cn", "x****@mail.example.com.cn"),
        # bank cards: named (卡号, 账号), in groups of four near 卡 (even mistyped), or a valid card number
        # (Luhn, a network's first digits) in groups of four or near 卡
        ("卡号6222021234567890123", "卡号***************0123"),
        ("银行账号：6217 0012 3456 7890", "银行账号：**** **** **** 7890"),
        ("退到我银行卡里 6222 0212 3456 7890", "退到我银行卡里 **** **** **** 7890"),
        ("4111 1111 1111 1111", "**** **** **** 1111"),
        ("4111-1111-1111-1111", "****-****-****-1111"),
        ("信用卡 4111111111111111", "信用卡 ************1111"),
        ("开户行：招商银行\n账号：1219 0876 5432 108", "开户行：招商银行\n账号：**** **** ***2 108"),
        ("银行卡 ６２２２０２１２３４５６７８９０１２３", "银行卡 ***************０１２３"),
        # address numbers: building, unit, room; a road's house number
        ("杭州市西湖区文三路90号3号楼501室", "杭州市西湖区文三路**号*号楼***室"),
        ("阳光小区5栋2单元302 收", "阳光小区*栋*单元*** 收"),
        ("1幢1201室", "*幢****室"),
        ("８号楼２１", "*号楼**"),
        # the review's forms (session 33): accounts named in other words, a first group of four, Amex 4-6-5
        ("收款账户：6222021234567890128", "收款账户：***************0128"),
        ("户名张三 开户行工商银行 6222021234567890128", "户名张三 开户行工商银行 ***************0128"),
        ("卡号 6222 021234567890128", "卡号 **** ***********0128"),
        ("信用卡 3782 822463 10005", "信用卡 **** ****** *0005"),
        # …and addresses in Chinese numerals, hyphens, lanes, villages, #, 座, floors, labels, spaces, traditional
        ("文三路九十号三号楼五零一室", "文三路**号*号楼***室"),
        ("望京西园3-12-502", "望京西园*-**-***"),
        ("12号楼2-502", "**号楼*-***"),
        ("长乐路1234弄5号602室", "长乐路****弄*号***室"),
        ("张家村3组15号", "张家村*组**号"),
        ("里18号院", "里**号院"),
        ("3#楼502", "*#楼***"),
        ("B座1203", "B座****"),
        ("15楼1502", "**楼****"),
        ("门牌号：1502", "门牌号：****"),
        ("3号楼3单元 1203 室", "*号楼*单元 **** 室"),
        ("忠孝東路四段100號5樓", "忠孝東路四段***號5樓"),
    ],
)
def test_masks(text, expected):
    assert mask_text(text) == expected
    assert len(mask_text(text)) == len(text)


@pytest.mark.parametrize(
    "text",
    [
        "订单号2024051013812345678",  # a mobile-like run inside a longer number
        "订单号123456789012345678",  # 18 digits but no valid birth date: an order number
        "金额1381234567元",  # 10 digits
        "金额 1381234 元",  # 7 digits, no 4 after them
        "1 2 3 4 5 6 7 8 9 0 1",  # spaced digits not starting 1 [3-9]
        "12345678901",  # 11 digits not starting 1[3-9]
        "退款 315 元，单号 20261120",
        "a@b",
        "[图片]",
        # a run of 16-19 digits with no card named near it is an order number, even when it passes Luhn
        "订单号4111111111111111",
        "2026112014030012345",
        "6222 0212 3456 7893",  # grouped, no 卡 near it, fails the Luhn check
        "电话 0755 8765 4321",  # twelve digits in fours, no account named
        "两室一厅 2室1厅 3号发货 8号统一发货 12层 3楼 1号链接",  # no building, unit or room number
        # …nor a course's unit, a flat's layout, a date before 号楼下, a bus, 知道/这里 before a date (review)
        "课程第3单元的视频打不开", "书柜是3单元的吗", "我要2室1卫的那个方案", "12月3号楼下自提点", "我坐的是5路3号车",
        "我知道3号能到吗", "这里3号发货",
        # an order named right before a number is no card, whatever 卡 is near (物流卡住了)
        "物流卡住了，订单号2345678901234567896", "卡住了，订单号 1234 5678 9012 3456",

        "",
    ],
)
def test_leaves_other_text_alone(text):
    assert mask_text(text) == text


def test_series_masks_only_candidates_and_keeps_missing_blank():
    values = pd.Series(["您好", "联系 13812345678", None, "邮箱 ab@qq.com", "联系 13812345678"], dtype="object")
    masked = mask_series(values)
    assert masked.tolist() == ["您好", "联系 138****5678", "", "邮箱 a*@qq.com", "联系 138****5678"]
    assert maybe_mask(values, False).tolist() == ["您好", "联系 13812345678", "", "邮箱 ab@qq.com", "联系 13812345678"]


def test_span_still_points_at_the_same_characters():
    text = "我的电话13812345678，你有病吧"
    start = text.index("你有病")
    masked = mask_text(text)
    assert masked[start : start + 3] == "你有病"


# -- the formats issue 11 found unmasked, and the 19x/16x/17x prefixes ---------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("8613800138003", "86138****8003"),  # 86 written straight before the number
        ("+86 138 0013 8000", "+86 138 **** 8000"),
        ("138.0013.8005", "138.****.8005"),
        ("1380 013 8006", "138* *** 8006"),  # 4-3-4 grouping
        ("138-0013-8006", "138-****-8006"),
        ("19912345678", "199****5678"),
        ("电话19112345678", "电话191****5678"),
        ("16612345678", "166****5678"),
        ("17012345678", "170****5678"),
        ("021-12345678", "021-****5678"),
        ("座机(0755)87654321", "座机(0755)****4321"),
        ("0755-8765432", "0755-***5432"),
        ("010 62345678", "010 ****5678"),
        ("110101900307123", "***********7123"),  # 15-digit ID (before 1999)
        ("110101 19900307 123X", "****** ******** 123X"),
        ("110101-19900307-1234", "******-********-1234"),
        ("zhangsan@example。com", "z*******@example。com"),
        ("zhangsan＠example．com", "z*******＠example．com"),
        ("张三@例子.中国", "张*@例子.中国"),
        ("mail li@例子.中国", "mail l*@例子.中国"),
        ("a@x.cn、bcd@y.cn", "a@x.cn、b**@y.cn"),  # the first domain does not swallow the second address
    ],
)
def test_masks_the_formats_issue_11_found(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单号2026112014030012345",  # 19 digits: an order number
        "订单号2026112014",  # 12 digits
        "订单 201311201403",  # 12 digits starting like a mobile, but longer
        "单号 8613800138003123",  # longer than a mobile with 86
        "订单123456789012345",  # 15 digits whose region 12 is real, but month 78 is not
        "2026-11-20 14:03",
        "2026.11.20",
        "打 12315 或 315 热线",
        "金额1380.00元，共 13800138 分",
        "02112345678",  # a landline needs its separator or brackets
        "¥1,380,013.80",
    ],
)
def test_order_numbers_amounts_dates_stay_visible(text):
    assert mask_text(text) == text


def test_masking_twice_changes_nothing():
    text = "13800138000 021-12345678 110101199003071234 zhangsan@example.com 张三@例子.中国"
    once = mask_text(text)
    assert once != text and mask_text(once) == once


# -- a rule matching inside a masked span -------------------------------------------------


def test_match_inside_an_email_is_shown_masked_in_match_and_reason():
    text = "联系xtmdy@163.com"
    start = text.index("tmd")
    masked_text, match, reason, _ = mask_finding(text, "tmd", start, start + 3, "客服使用服务禁语「tmd」（辱骂）")
    assert masked_text == "联系x****@163.com"
    assert match == "***" and masked_text[start : start + 3] == match
    assert reason == "客服使用服务禁语「***」（辱骂）"


def test_a_match_also_visible_outside_the_span_is_not_hidden():
    text = "tmd 看邮件 xtmdy@163.com"
    _, match, reason, _ = mask_finding(text, "tmd", 0, 3, "禁语「tmd」")
    assert match == "tmd" and reason == "禁语「tmd」"


def test_a_quote_cut_inside_a_number_hides_what_it_shows_of_it():
    text = "我要投诉，我电话13800138000，邮箱zhangsan@example.com"
    reason = "客户提出敏感投诉「我要投诉，我电话1380013…」；又「邮箱zhangs…」"
    _, _, masked, _ = mask_finding(text, "投诉", 2, 4, reason)
    assert "1380013" not in masked and "hangs" not in masked
    assert masked == "客户提出敏感投诉「我要投诉，我电话138****…」；又「邮箱z*****…」"


def test_a_quote_of_the_context_is_masked_too():
    _, _, masked, context = mask_finding("嗯", "嗯", 0, 1, "客户「身份证110101199003071234」客服「嗯」",
                                         "身份证110101199003071234")
    assert "110101199003071234" not in masked and masked == f"客户「{context}」客服「嗯」"


def test_a_match_from_the_normalized_text_is_masked_by_what_it_shares():
    # span -1: the check could not map its match back; the match is the normalized text
    _, match, _, _ = mask_finding("ＸＴＭＤＹ@163.com 你好", "xtmdy@163.com", -1, -1, "")
    assert match == "x****@163.com"


# -- session ids and agent names ----------------------------------------------------------


def test_names_that_mask_alike_stay_distinct():
    mapping = distinct_masks(["13800138000", "13811118000", "13899998000", "小美", "a@b.cn"])
    assert mapping == {"13800138000": "138****8000", "13811118000": "138****8000~2", "13899998000": "138****8000~3"}


def test_shows_name_accepts_every_written_form_of_a_name_and_nothing_else():
    assert shows_name("13811118000", "13811118000")
    assert shows_name("138****8000", "13811118000")
    assert shows_name("138****8000~2", "13811118000")
    assert not shows_name("138****8000~2", "13911118000")
    assert not shows_name("S1~2", "S1")  # an unmasked name never gets a suffix


@pytest.mark.parametrize("text", [
    "订单2345", "１２３４号", "a@b.cn", "邮箱＠", "﹫", "3号楼", "三號樓", "五栋", "二单元", "101室", "7#", "2弄", "路5", "街口",
    "大道8", "楼123", "樓12", "中12-3", "中12－３", "门牌", "我的门牌号", "123", "１２３", "谢谢", "", "Abc-12-3", "退货3天内",
])
def test_the_column_screen_agrees_with_the_pattern(text):
    """The RE2 screen over a column finds what the Python pattern finds, text by text."""
    import re

    from qa import mask

    expected = re.search(mask._CANDIDATE, text) is not None
    assert mask.may_hold_personal_data(pd.Series([text], dtype="str")).tolist() == [expected]
