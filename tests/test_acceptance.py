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
    ("给您补一个小挂件当补偿", "不要小挂件", "step-refusal"),  # the declined thing by its noun
    ("今天只能给您发韵达，明天到", "周末没人收 韵达不行", "option-refused"),  # the offered option by its name
    ("麻烦您检查下电源线有没有插紧", "电源线插得好好的", "option-refused"),  # the step declared done right
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
    ("今天只能给您发韵达，明天到", "你们客服不行"),      # an option the agent did not offer
    ("麻烦您检查下电源线有没有插紧", "灯泡装得好好的"),  # a step the agent did not propose
    ("请您耐心等候审核通知", "电视开不了机"),          # a fault told in a cannot-form
    ("订单号发您了，您核对下", "app里查不到订单"),      # 查不到 declines nothing
    ("您选一下要哪个颜色", "不用了，选好了"),          # 不用了 declines no proposed thing
    ("可以开普票，您看可以吗", "发票类别可以开办公耗材"),  # 别 inside 类别 declines nothing
])
def test_an_answer_that_accepts_or_is_unrelated(proposal, answer):
    assert _refuses(proposal, answer) is None


def test_a_granted_demand_and_a_refused_one():
    classes = builtin_classes()
    proposal, answer = normalize_text("拔掉电源重新插一下试试呢"), normalize_text("我想直接换一个")
    assert grants(classes, proposal, answer, normalize_text("好的亲，给您换一台新的"))
    assert not grants(classes, proposal, answer, normalize_text("重新插好就正常了"))
    assert not grants(classes, proposal, answer, normalize_text("亲，这边不能换的哦"))


@pytest.mark.parametrize(("request_text", "reply", "granted"), [
    ("坏了能退吗", "可以的，马上给您申请退款", True),
    ("我要换个新的", "好的，给您换一台新的寄过去", True),
    ("给我补发一个", "这就安排补发", True),
    ("坏了能退吗", "可以退的，您在订单页自己申请", False),     # permission, the agent does nothing
    ("我要退款", "这边不能给您退款哦", False),
    ("我要退款", "好的亲，我看一下", False),                   # an acknowledgement grants nothing
])
def test_a_granted_request(request_text, reply, granted):
    from qa.acceptance import grants_request
    assert grants_request(builtin_classes(), normalize_text(request_text), normalize_text(reply)) is granted


@pytest.mark.parametrize(("proposal", "reply", "other"), [
    ("给您补发一包哈", "那直接给您退这包的钱", True),
    ("可以寄回维修", "那给您换个新的", True),
    ("给您补发一包哈", "给您补寄一包新的", False),               # the same remedy in other words
    ("只能给您补偿3元", "给您补偿3元哦", False),
    ("给您补发一包哈", "给您发个链接看看", False),               # a link is no remedy
])
def test_another_remedy_offered(proposal, reply, other):
    from qa.acceptance import offers_other
    assert offers_other(normalize_text(proposal), normalize_text(reply)) is other


@pytest.mark.parametrize(("question", "reply", "yes"), [
    ("到底支不支持快充", "支持的亲", True),
    ("有没有货啊", "亲，有的", True),
    ("到底支不支持快充", "不支持的哦", False),
    ("到底支不支持快充", "亲，请问是哪一款", False),
])
def test_a_not_a_answered_yes(question, reply, yes):
    from qa.acceptance import answers_yes
    assert answers_yes(normalize_text(question), normalize_text(reply)) is yes


def test_a_rhetorical_shi_bu_shi_is_not_answered_by_shi():
    from qa.acceptance import answers_yes
    assert not answers_yes(normalize_text("你们是不是骗人的"), normalize_text("是这样的亲，活动已经结束了"))


def test_a_cancellation_asked_and_done():
    from qa.acceptance import grants_request
    classes = builtin_classes()
    assert grants_request(classes, normalize_text("我想把它取消了"), normalize_text("那我给您取消下哦"))
    assert not grants_request(classes, normalize_text("我想把它取消了"), normalize_text("已发货无法取消哦"))
