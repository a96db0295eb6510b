"""Masking personal data: mobiles, ID-card numbers, e-mails; lengths kept; other digits untouched."""

from __future__ import annotations

import pandas as pd
import pytest

from qa.mask import mask_series, mask_text, maybe_mask


@pytest.mark.parametrize(
    "text, expected",
    [
        ("电话13812345678谢谢", "电话138****5678谢谢"),
        ("138-1234-5678", "138-****-5678"),
        ("138 1234 5678", "138 **** 5678"),
        ("+8613812345678", "+86138****5678"),
        ("0086 13812345678", "0086 138****5678"),
        ("１３８１２３４５６７８", "１３８****５６７８"),
        ("两个号码 13812345678 和 15912345678", "两个号码 138****5678 和 159****5678"),
        ("身份证110101199003071234", "身份证**************1234"),
        ("11010119900307123X号", "**************123X号"),
        ("邮箱 zhangsan@example.com 谢谢", "邮箱 z*******@example.com 谢谢"),
        ("x.y_z@mail.example.com.cn", "x****@mail.example.com.cn"),
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
        "12345678901",  # 11 digits not starting 1[3-9]
        "退款 315 元，单号 20261120",
        "a@b",
        "[图片]",
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
