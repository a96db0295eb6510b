"""Rows an export wrote without text (a product card, a picture, a recalled message) but with a known
sender: messages of that sender, audited as [非文本消息], not refused."""

from __future__ import annotations

from qa.audit.run import AuditOptions, audit
from qa.ingest import load_inputs
from qa.ingest.build import CONTENTLESS
from qa.rules import load_rules

# No 消息类型 column says what the empty rows were: the customer sent a card, the agent answered with one
# within a minute, then wrote its text answer seven minutes after the customer's card.
EXPORT = """会话ID,发送时间,角色,客服,内容
S1,2026-12-01 10:00:00,买家,,这个还有货吗
S1,2026-12-01 10:00:30,买家,,
S1,2026-12-01 10:01:00,客服,小禾,
S1,2026-12-01 10:07:30,客服,小禾,有货的亲，今天下单明天发
S2,2026-12-01 11:00:00,,,
S2,2026-12-01 11:00:10,买家,,在吗
S2,2026-12-01 11:00:40,客服,小禾,在的
"""


def write(tmp_path):
    path = tmp_path / "cards.csv"
    path.write_text(EXPORT, encoding="utf-8")
    return str(path)


def test_a_row_without_text_but_with_its_sender_is_a_message(tmp_path):
    result = load_inputs([write(tmp_path)])
    messages = result.messages
    assert messages["source_row"].tolist() == [2, 3, 4, 5, 7, 8]
    assert messages["text"].tolist()[1:3] == [CONTENTLESS, CONTENTLESS]
    assert messages["role"].tolist()[1:3] == ["customer", "agent"]
    # nothing says a message was sent in row 6 (no sender, no text): refused, with its reason
    assert result.rejected[["row", "reason"]].values.tolist() == [[6, "empty text"]]
    assert any("2 message(s) without text" in note for note in result.notes)


def test_the_agent_s_card_answers_in_time_and_is_no_emoji_only_reply(tmp_path):
    found = audit([write(tmp_path)], AuditOptions(), rules=load_rules([])).findings
    assert "slow-reply" not in set(found["rule"])  # the card came a minute after the question
    assert "emoji-only" not in set(found["rule"])
