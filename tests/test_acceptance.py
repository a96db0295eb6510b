"""The proposal → answer relation (qa.acceptance): refusal depends on what the agent proposed."""

from __future__ import annotations

import pytest

from qa.acceptance import grants, not_accepted
from qa.classes import builtin_classes
from qa.normalize import normalize_text


def _refuses(proposal: str, answer: str):
    return not_accepted(builtin_classes(), normalize_text(proposal), normalize_text(answer))


@pytest.mark.parametrize(("proposal", "answer", "kind"), [
    ("麻烦您把鞋子寄回来检测", "我不寄", "step-refusal"),
    ("建议您多晾晒几天", "不想再晒了", "step-refusal"),
    ("您先把滤网清洗一遍", "洗了 还是不制冷", "step-failed"),
    ("亲，重新插拔一下数据线就好了", "还是充不进电", "step-failed"),
    ("您可以试试恢复出厂设置", "能不能直接换一台", "counter-demand"),
])
def test_an_answer_that_does_not_accept_the_proposal(proposal, answer, kind):
    found = _refuses(proposal, answer)
    assert found is not None and found.cls == kind


@pytest.mark.parametrize(("proposal", "answer"), [
    ("亲，您可以在订单页查看物流", "我不寄"),          # the refused verb is not proposed
    ("麻烦您把鞋子寄回来检测", "好的 不寄也行吗"),      # opens by agreeing
    ("您可以申请退货退款", "我要退货"),                # asks for the remedy proposed
    ("您先重启一下耳机", "重启了 就好了"),              # the step worked
    ("您还记得绑定的邮箱吗", "不记得"),                # answers a question
    ("", "我不寄"),                                    # nothing proposed
])
def test_an_answer_that_accepts_or_is_unrelated(proposal, answer):
    assert _refuses(proposal, answer) is None


def test_a_granted_demand_and_a_refused_one():
    classes = builtin_classes()
    proposal, answer = normalize_text("拔掉电源重新插一下试试呢"), normalize_text("我想直接换一个")
    assert grants(classes, proposal, answer, normalize_text("好的亲，给您换一台新的"))
    assert not grants(classes, proposal, answer, normalize_text("重新插好就正常了"))
    assert not grants(classes, proposal, answer, normalize_text("亲，这边不能换的哦"))
