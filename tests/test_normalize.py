"""Normalization for matching: written Cantonese and Shanghainese read as Mandarin, one character for one."""

import pandas as pd
import pytest

from qa.normalize import normalize_column, normalize_text, original_span


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Cantonese-only characters become their Mandarin words, so the rules' classes find them
        ("系骑手嘅问题，唔关我哋事", "系骑手的问题,不关我们事"),
        ("自己睇物流啦，唔好问我", "自己看物流啦,不要问我"),
        ("唔好意思，我哋搞错咗", "不好意思,我们搞错了"),
        ("呢个我哋冇得搞", "呢个我们没得搞"),
        # traditional first, then Cantonese (你哋 written 你哋 in both)
        ("你哋咁樣搞，我唔會再嚟", "你们咁样搞,我不会再来"),
        # a lone 唔 is Mandarin's "hmm", not a negation
        ("唔，好的", "唔,好的"),
        # Shanghainese words become their Mandarin ones: the soothing and forbidden classes find them
        ("对勿起，是阿拉额问题，侬覅急", "对不起,是我们的问题,你别急"),
        ("勿好意思，格么今朝帮侬发，好伐？", "不好意思,那么今天帮你发,好吗?"),
        ("好额，搿个是阿拉额", "好的,这个是我们的"),
        # Mandarin's own 勿 forbids and stays, and so do 阿拉伯, 砍伐 and 余额 / 你额度
        ("请勿拆封，切勿暴晒，勿忘好评，稍安勿躁，闲人勿进", "请勿拆封,切勿暴晒,勿忘好评,稍安勿躁,闲人勿进"),
        ("阿拉伯数字 砍伐 余额不足 你额度不够", "阿拉伯数字 砍伐 余额不足 你额度不够"),
        # Sichuan and northern words too; 要得 only standing alone (我要得到 is Mandarin), 莫得罪 stays
        ("要得，你咋个不早说嘛，莫得问题，俺晓得了，甭急", "好的,你怎么不早说嘛,没有问题,我晓得了,别急"),
        ("我要得到它 莫得罪人 啥子颜色", "我要得到它 莫得罪人 什么颜色"),
    ],
)
def test_written_cantonese_shanghainese_and_sichuan_are_read_as_mandarin_one_for_one(text, expected):
    assert normalize_text(text) == expected
    assert len(normalize_text(text)) == len(text)


def test_the_column_and_the_single_text_normalize_alike_and_spans_map_back():
    texts = ["唔关我哋事", "唔，好的", "自己睇物流啦"]
    column = normalize_column(pd.Series(texts))
    assert column.tolist() == [normalize_text(t) for t in texts]
    # one character for one: a match on the normalized text is the same span of the original
    norm = normalize_text("系骑手嘅问题，唔关我哋事")
    start = norm.index("不关我们事")
    assert original_span("系骑手嘅问题，唔关我哋事", start, start + 5) == (7, 12)
