"""Check type ``phrase``: its vectorised screen keeps every message the exact matching flags."""

from __future__ import annotations

import pandas as pd
from tables import message_table

import qa.checks.phrase as phrase_module
from qa.checks import CHECK_TYPES
from qa.checks.base import CheckContext
from qa.rules import builtin_rules_dir, load_rule_file

RULE = load_rule_file(builtin_rules_dir() / "forbidden-phrase.toml")

# Flagged only in the clause view (a space between longer runs ends a clause: 无法处理的 stands alone).
CLAUSE_ONLY = "退款了 无法处理的 辛苦重新购买"


def _agent_texts() -> list[str]:
    """More distinct agent texts than a screen skips, with and without clause spaces."""
    texts = [f"您好 订单{n}已经发出 请耐心等待" for n in range(40)]
    texts += [f"好的亲，订单{n}这边帮您催一下" for n in range(40)]
    return [*texts, CLAUSE_ONLY, "这个 我帮您 问一下 仓库"]


def _findings(texts: list[str]) -> pd.DataFrame:
    rows = [("customer", "在吗")] + [("agent", text) for text in texts]
    found = CHECK_TYPES["phrase"].run(message_table(rows), RULE, CheckContext())
    return found.reset_index(drop=True)


def test_the_screen_keeps_a_match_only_the_clause_view_shows(monkeypatch):
    texts = _agent_texts()
    screened = _findings(texts)
    assert screened["match"].tolist() == ["无法处理的"]
    assert screened["msg"].tolist() == [1 + texts.index(CLAUSE_ONLY)]
    # every text a candidate: the exact matching alone decides, as for a few texts
    monkeypatch.setattr(phrase_module, "FEW_TEXTS_TO_SCREEN", 10**9)
    pd.testing.assert_frame_equal(screened, _findings(texts))


# Flagged only when the characters spaced out one by one close up into one word before a clause space.
SPACED_OUT = "帮 不 了 就这样"


def test_the_screen_keeps_characters_spaced_out_before_a_clause_space(monkeypatch):
    texts = [*_agent_texts()[:-2], SPACED_OUT, "好 的 亲 马上 给您 处理"]
    screened = _findings(texts)
    assert screened["match"].tolist() == ["帮 不 了"]
    assert screened["msg"].tolist() == [1 + texts.index(SPACED_OUT)]
    monkeypatch.setattr(phrase_module, "FEW_TEXTS_TO_SCREEN", 10**9)
    pd.testing.assert_frame_equal(screened, _findings(texts))


def test_clause_view_closes_up_characters_spaced_out():
    assert phrase_module._clause_view("帮 不 了 就这样") == "帮 不 了,就这样"
    assert phrase_module._clause_view("你 有 病") is None
    assert phrase_module._clause_view("这个真没办法哈 您自己看着弄吧") == "这个真没办法哈,您自己看着弄吧"


def test_a_loaded_rule_is_compiled_once_and_found_again_by_identity(monkeypatch):
    params = dict(RULE.params)  # a dict of its own, so the identity cache starts empty for it
    first = phrase_module._compile(params)
    # found again without its JSON text (which holds the model's lines): json.dumps would fail here
    monkeypatch.setattr(phrase_module.json, "dumps", lambda *a, **k: (_ for _ in ()).throw(AssertionError("dumped")))
    assert phrase_module._compile(params) is first
    monkeypatch.undo()
    # an equal dict of other identity is the same rule: found by its JSON text
    assert phrase_module._compile(dict(RULE.params)) is first
