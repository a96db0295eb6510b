"""Rule packs, project config, and the qa rules / qa diff commands, as a QA lead uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import run

from qa.cli import main
from qa.errors import RuleError
from qa.rules import load_rules

DAY = """session_id,timestamp,role,agent,text
S1,2026-11-20 10:00:00,customer,,能便宜点吗
S1,2026-11-20 10:01:00,agent,店:小美,加我微信给你优惠
S2,2026-11-20 10:00:00,customer,,在吗
S2,2026-11-20 10:07:00,agent,店:阿杰,在的亲，久等了
S3,2026-11-20 10:00:00,customer,,还有货吗
S3,2026-11-20 10:01:00,agent,店:阿杰,加 我 V 信，私聊
"""

OFF_PLATFORM = """id = "off-platform"
check = "phrase"
severity = "major"

[message]
zh = "客服引导客户到站外交易「{match}」"
en = "Agent steered the customer off the platform ('{match}')"

[docs]
what = "找出引导客户加微信等站外联系方式的客服消息。"
why = "平台禁止站外导流，违规会被处罚。"
bad = "加我微信给你优惠"
good = "在平台内为您申请优惠券"

[params]
ignore_separators = true
variants = ["微信=v信|vx|薇信|威信"]

[[params.categories]]
name = "off-platform"
label_zh = "站外导流"
phrases = ["加我微信", "加微信"]
"""

SLOW_REPLY_10_MIN = """id = "slow-reply"
[params]
max_wait_seconds = 600
working_hours = "09:00-23:00"
"""

CASES = """rule = "off-platform"

[[case]]
name = "flag_wechat"
chat = \"\"\"
session_id,timestamp,role,agent,text
S1,2026-11-20 10:01:00,agent,小美,加我微信吧
\"\"\"
expect = [{ row = 2, match = "加我微信" }]

[[case]]
name = "clean_platform_coupon"
chat = \"\"\"
session_id,timestamp,role,agent,text
S1,2026-11-20 10:01:00,agent,小美,我在平台上给您发优惠券
\"\"\"
expect = []
"""


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    folder = tmp_path / "shop-pack"
    folder.mkdir()
    (folder / "off-platform.toml").write_text(OFF_PLATFORM, encoding="utf-8")
    (folder / "slow-reply.toml").write_text(SLOW_REPLY_10_MIN, encoding="utf-8")
    (folder / "off-platform.cases.toml").write_text(CASES, encoding="utf-8")
    return folder


@pytest.fixture
def day(tmp_path: Path) -> Path:
    path = tmp_path / "day.csv"
    path.write_text(DAY, encoding="utf-8")
    return path


def test_pack_adds_a_rule_and_patches_another(pack):
    rules = {rule.id: rule for rule in load_rules([pack])}
    assert rules["off-platform"].origin == (str(pack / "off-platform.toml"),)
    assert rules["slow-reply"].params["max_wait_seconds"] == 600
    assert rules["slow-reply"].params["working_hours"] == "09:00-23:00"
    assert rules["slow-reply"].origin == ("built-in", str(pack / "slow-reply.toml"))
    assert rules["forbidden-phrase"].origin == ("built-in",)


def test_pack_adds_and_removes_phrases(tmp_path):
    (tmp_path / "fp.toml").write_text(
        'id = "forbidden-phrase"\n[add.categories.impatience]\nphrases = ["你自己琢磨吧"]\n'
        '[remove]\nexceptions = ["滚筒"]\n', encoding="utf-8")
    rule = {r.id: r for r in load_rules([tmp_path / "fp.toml"])}["forbidden-phrase"]
    impatience = next(c for c in rule.params["categories"] if c["name"] == "impatience")
    assert "你自己琢磨吧" in impatience["phrases"]
    assert "滚筒" not in rule.params["exceptions"]


def test_pack_disables_a_rule(tmp_path, day):
    (tmp_path / "off.toml").write_text('id = "slow-reply"\nenabled = false\n', encoding="utf-8")
    js = tmp_path / "r.json"
    result = run("audit", str(day), "--rules", str(tmp_path / "off.toml"), "-o", str(tmp_path / "r.xlsx"), "--json", str(js))
    assert result.exit_code == 0, result.output
    data = json.loads(js.read_text(encoding="utf-8"))
    assert {"rule": "slow-reply", "reason": "disabled"} in data["summary"]["skipped_rules"]


def test_phrase_list_from_a_spreadsheet_column(tmp_path):
    (tmp_path / "禁语库.csv").write_text("编号,禁语\n1,加我微信\n2,\n3,私下交易\n", encoding="utf-8")
    (tmp_path / "pack.toml").write_text(
        OFF_PLATFORM.replace('phrases = ["加我微信", "加微信"]', 'phrases_file = "禁语库.csv#禁语"'),
        encoding="utf-8")
    rule = {r.id: r for r in load_rules([tmp_path / "pack.toml"])}["off-platform"]
    assert rule.params["categories"][0]["phrases"] == ["加我微信", "私下交易"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('id = "slow-reply"\n[params]\nmax_wait_secs = 600\n', ":3: unknown key 'max_wait_secs'"),
        ('id = "slow-reply"\n[params]\nmax_wait_seconds = "ten"\n', ":3: max_wait_seconds must be a whole number"),
        ('id = "new-rule"\ncheck = "sentiment"\nseverity = "major"\n', ":2: unknown check type 'sentiment'"),
        ('id = "nothing-here"\nseverity = "major"\n', ":1: no rule 'nothing-here' to change"),
        ('id = "rhetorical-question"\n[params]\npatterns = ["难道(.*吗"]\n', "does not compile"),
        (OFF_PLATFORM.replace('phrases = ["加我微信", "加微信"]', "phrases = []"), "is empty"),
        (OFF_PLATFORM.replace('"微信=v信|vx|薇信|威信"', '"微信"'), "is not 'word=variant|variant'"),
        ('id = "slow-reply"\nseverity = "fatal"\n', ":2: severity must be minor, major or critical"),
        ('id = "repeated-solution"\n[params]\nclause_similarity = 1.5\n', "clause_similarity must be in (0, 1]"),
    ],
)
def test_invalid_packs_name_file_and_line(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as error:
        load_rules([path])
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_duplicate_ids_in_one_pack(tmp_path):
    (tmp_path / "a.toml").write_text(OFF_PLATFORM, encoding="utf-8")
    (tmp_path / "b.toml").write_text(OFF_PLATFORM, encoding="utf-8")
    with pytest.raises(RuleError, match="duplicate rule id 'off-platform'"):
        load_rules([tmp_path])


def test_rules_check_command(pack, tmp_path):
    assert run("rules", "check", str(pack)).exit_code == 0
    bad = tmp_path / "typo.toml"
    bad.write_text('id = "slow-reply"\n[params]\nmax_wait_secs = 600\n', encoding="utf-8")
    result = run("rules", "check", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:3: unknown key 'max_wait_secs'" in result.stderr


def test_rules_check_warns_of_a_pattern_that_loses_the_re2_screen(tmp_path):
    rule = tmp_path / "wechat.toml"
    text = ('id = "wechat"\ncheck = "pattern"\nseverity = "major"\n[message]\nzh = "站外导流"\n'
            '[docs]\nwhat = "w"\nwhy = "y"\nbad = "b"\ngood = "g"\n[params]\npatterns = ["加我微信"]\n')
    rule.write_text(text, encoding="utf-8")
    assert "not RE2-valid" not in run("rules", "check", str(tmp_path)).stderr
    rule.write_text(text.replace('patterns = ["加我微信"]', 'patterns = ["加我微信", "(?<=加)微信"]'), encoding="utf-8")
    result = run("rules", "check", str(tmp_path))
    assert result.exit_code == 0
    assert "warning: wechat: 1 pattern(s) not RE2-valid" in result.stderr and "(?<=加)微信" in result.stderr


def test_rules_list_and_explain(pack):
    listed = run("rules", "list", "--rules", str(pack))
    assert listed.exit_code == 0
    line = next(line for line in listed.stdout.splitlines() if line.startswith("slow-reply"))
    assert "reply_gap" in line and "built-in + " in line and "slow-reply.toml" in line
    explained = run("rules", "explain", "slow-reply", "--rules", str(pack))
    assert explained.exit_code == 0
    assert "max_wait_seconds = 600" in explained.stdout
    assert "## Why it matters" in explained.stdout
    assert run("rules", "explain", "no-such-rule").exit_code == 2
    assert "yields to:" not in run("rules", "explain", "rhetorical-question").stdout


def test_rules_test_runs_pack_cases_and_reports_failures(pack):
    passed = run("rules", "test", str(pack))
    assert passed.exit_code == 0, passed.output
    assert "2 passed, 0 failed" in passed.stdout
    cases = pack / "off-platform.cases.toml"
    cases.write_text(CASES.replace('expect = [{ row = 2, match = "加我微信" }]', 'expect = [{ row = 2, match = "加微信" }]'),
                     encoding="utf-8")
    failed = run("rules", "test", str(pack))
    assert failed.exit_code == 1
    assert "FAIL off-platform::flag_wechat" in failed.stdout
    assert "match = '加我微信', expected '加微信'" in failed.stdout


def test_diff_previews_a_rule_change(pack, day, tmp_path):
    js = tmp_path / "diff.json"
    result = run("diff", str(day), "--rules", str(pack), "--json", str(js))
    assert result.exit_code == 0, result.output
    report = json.loads(js.read_text(encoding="utf-8"))
    rules = {r["rule"]: r for r in report["rules"]}
    assert rules["off-platform"]["added"] == 2
    assert [e["row"] for e in rules["off-platform"]["added_examples"]] == [3, 7]
    assert rules["slow-reply"]["removed"] == 1  # the 7-minute wait is within the new 10 minutes
    assert "off-platform: 0 -> 2 (+2 -0)" in result.stdout
    agents = {a["agent"]: a for a in report["agents"]}
    assert agents["店:小美"]["delta"] == -5.0  # one new major finding in one session
    assert agents["店:阿杰"]["delta"] == 0.0  # S2 no longer late (+5), S3 now off-platform (-5)


def test_diff_shows_each_agents_findings_and_credits(pack, day, tmp_path):
    """Per agent, the diff carries finding and credit counts of both audits beside the scores;
    the credits equal the audit's own JSON agents[].credits."""
    js, audit_js = tmp_path / "diff.json", tmp_path / "audit.json"
    assert run("diff", str(day), "--rules", str(pack), "--json", str(js)).exit_code == 0
    assert run("audit", str(day), "-o", str(tmp_path / "r.xlsx"), "--json", str(audit_js)).exit_code == 0
    report = json.loads(js.read_text(encoding="utf-8"))
    audited = {a["agent"]: a for a in json.loads(audit_js.read_text(encoding="utf-8"))["agents"]}
    for agent in report["agents"]:
        counts = {k: v for k, v in audited[agent["agent"]]["credits"].items() if k != "per_100_sessions"}
        assert agent["credits_base"] == sum(counts.values())
        assert isinstance(agent["credits_changed"], int)
        assert agent["findings_base"] == audited[agent["agent"]]["findings"]
    assert report["agents"][0]["findings_changed"] != report["agents"][0]["findings_base"] or any(
        a["findings_changed"] != a["findings_base"] for a in report["agents"])


def test_project_config_sets_packs_and_fail_on(pack, day, tmp_path, monkeypatch):
    (tmp_path / "qa.toml").write_text(f'rules = ["{pack.name}"]\nfail_on = "major"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run("audit", str(day), "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 1
    assert "off-platform major" in result.stdout
    assert f"config: {tmp_path / 'qa.toml'}" in result.stderr
    import openpyxl

    rules_sheet = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)["规则"]
    rows = {row[0]: row for row in rules_sheet.iter_rows(values_only=True) if row and row[0]}
    assert rows["配置文件"][1] == str(tmp_path / "qa.toml")
    assert rows["规则包"][1] == str(tmp_path / pack.name)
    assert "slow-reply.toml" in rows["slow-reply"][9]  # the rule's origin names the pack file
    assert run("audit", str(day), "-o", str(tmp_path / "r.xlsx"), "--fail-on", "never").exit_code == 0


def test_project_config_rejects_unknown_keys(tmp_path, day, monkeypatch):
    (tmp_path / "qa.toml").write_text('timezone = "Asia/Shanghai"\nfail_onn = "major"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run("audit", str(day), "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2
    assert "qa.toml:2: unknown key 'fail_onn'" in result.stderr


def test_spelling_variants_and_separators_are_seen_through(pack, day, tmp_path):
    """加 我 V 信 matches 加我微信 through the variant map and the ignored spaces; the report
    shows the original text."""
    js = tmp_path / "r.json"
    result = run("audit", str(day), "--rules", str(pack), "-o", str(tmp_path / "r.xlsx"), "--json", str(js))
    assert result.exit_code == 0, result.output
    findings = [f for f in json.loads(js.read_text(encoding="utf-8"))["findings"] if f["rule"] == "off-platform"]
    assert [(f["row"], f["match"]) for f in findings] == [(3, "加我微信"), (7, "加 我 V 信")]
    assert findings[1]["text"][findings[1]["span"][0]:findings[1]["span"][1]] == "加 我 V 信"


def test_diff_of_a_scoring_only_pack_shows_the_score_change(day, tmp_path):
    scoring = tmp_path / "strict-scoring"
    scoring.mkdir()
    (scoring / "scoring.toml").write_text("[points]\nminor = 2\nmajor = 15\ncritical = 20\n", encoding="utf-8")
    js = tmp_path / "diff.json"
    result = run("diff", str(day), "--rules", str(scoring), "--json", str(js))
    assert result.exit_code == 0, result.output
    assert "agent scores: unchanged" not in result.stdout
    agents = {a["agent"]: a for a in json.loads(js.read_text(encoding="utf-8"))["agents"]}
    # 阿杰's one major finding (S2's 7-minute wait) costs 15 points instead of 5, in one of two sessions
    assert agents["店:阿杰"]["score_base"] == 97.5
    assert agents["店:阿杰"]["score_changed"] == 92.5
    assert all(rule["added"] == rule["removed"] == 0 for rule in json.loads(js.read_text(encoding="utf-8"))["rules"])


def test_diff_applies_the_config_packs_to_both_sides(pack, day, tmp_path, monkeypatch):
    (tmp_path / "qa.toml").write_text(f'rules = ["{pack.name}"]\nworking_hours = "10:05-23:00"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty-pack"
    empty.mkdir()
    (empty / "scoring.toml").write_text("[points]\nminor = 2\nmajor = 5\ncritical = 20\n", encoding="utf-8")
    result = run("diff", str(day), "--rules", str(empty))
    assert result.exit_code == 0, result.output
    # the same pack and working hours on both sides: nothing added or removed, no score moves
    assert "(+" not in result.stdout
    assert "agent scores: unchanged" in result.stdout


NAMED_RULE = OFF_PLATFORM.replace('severity = "major"\n', 'severity = "major"\n{extra}\n[name]\nzh = "站外导流"\nen = "Off-platform contact"\n')


def _named_pack(tmp_path: Path, extra: str = "") -> Path:
    folder = tmp_path / "named-pack"
    folder.mkdir(exist_ok=True)
    (folder / "off-platform.toml").write_text(NAMED_RULE.replace("{extra}", extra), encoding="utf-8")
    return folder


def test_a_pack_rule_shows_its_own_name_everywhere(tmp_path, day):
    import openpyxl

    from qa.review import read_reviewed_workbook, review_workbooks

    pack = _named_pack(tmp_path)
    book, js = tmp_path / "r.xlsx", tmp_path / "r.json"
    assert run("audit", str(day), "--rules", str(pack), "-o", str(book), "--json", str(js)).exit_code == 0
    sheets = openpyxl.load_workbook(book)
    findings = [row for row in sheets["违规明细"].iter_rows(values_only=True) if "站外导流" in row]
    assert len(findings) == 2 and all("off-platform" not in row for row in findings)
    rules_rows = [row for row in sheets["规则"].iter_rows(values_only=True) if row[0] == "off-platform"]
    assert rules_rows and rules_rows[0][1] == "站外导流"
    agent_headers = next(row for row in sheets["客服评分"].iter_rows(values_only=True) if "客服" in row)
    assert {"站外导流 次数", "站外导流 每百会话"} <= set(agent_headers)
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["summary"]["rule_names"]["off-platform"] == {"zh": "站外导流", "en": "Off-platform contact"}
    assert data["summary"]["rule_names"]["slow-reply"] == {"zh": "回复超时", "en": "Slow reply"}  # built-in, same way
    listed = run("rules", "list", "--rules", str(pack)).stdout
    assert any(line.startswith("off-platform") and "站外导流 / Off-platform contact" in line for line in listed.splitlines())
    assert "name: 站外导流 / Off-platform contact" in run("rules", "explain", "off-platform", "--rules", str(pack)).stdout
    # English workbook, and the review of it (names carried in its data, not looked up in code)
    book_en = tmp_path / "en.xlsx"
    assert run("audit", str(day), "--rules", str(pack), "-o", str(book_en), "--lang", "en").exit_code == 0
    en_findings = [row for row in openpyxl.load_workbook(book_en)["Findings"].iter_rows(values_only=True)
                   if "Off-platform contact" in row]
    assert len(en_findings) == 2
    review = review_workbooks([read_reviewed_workbook(book_en)])
    assert review.rule_names()["off-platform"] == {"zh": "站外导流", "en": "Off-platform contact"}


def test_a_pack_rule_is_suppressible_per_its_metadata(tmp_path, day):
    suppress = tmp_path / "s.toml"
    suppress.write_text('version = 1\n[[suppress]]\nrule = "off-platform"\ntext = "加我微信给你优惠"\n', encoding="utf-8")
    js = tmp_path / "r.json"
    pack = _named_pack(tmp_path)
    result = run("audit", str(day), "--rules", str(pack), "--suppress", str(suppress), "-o", str(tmp_path / "r.xlsx"),
                 "--json", str(js))
    assert result.exit_code == 0, result.output
    data = json.loads(js.read_text(encoding="utf-8"))
    assert [f["text"] for f in data["findings"] if f["rule"] == "off-platform"] == ["加 我 V 信，私聊"]
    assert data["summary"]["suppressed"]["count"] == 1
    # The same rule declared not suppressible by text: the suppression file is refused.
    pack = _named_pack(tmp_path, "suppress_by_text = false")
    assert not {r.id: r for r in load_rules([pack])}["off-platform"].suppress_by_text
    result = CliRunner().invoke(main, ["audit", str(day), "--rules", str(pack), "--suppress", str(suppress),
                                       "-o", str(tmp_path / "r2.xlsx")])
    assert result.exit_code == 2
    assert "findings of off-platform (check phrase) cannot be suppressed by text" in result.output


@pytest.mark.parametrize(("text", "expected"), [
    ('[name]\nzh = ""\n', "[name] keys are zh, en with non-empty string values"),
    ('[name]\nfr = "x"\n', "[name] keys are zh, en"),
    ('name = "x"\n', "[name] must be a table"),
    ('suppress_by_text = "no"\n', "suppress_by_text must be true or false"),
    ('yields_to = "forbidden-phrase"\n', "yields_to must be a list of rule ids"),
    ('yields_to = ["forbidden-phrase:severe"]\n', "unknown severity 'severe'"),
    ('yields_to = ["no-such-rule"]\n', "yields_to names no loaded rule 'no-such-rule'"),
    ('asked_from = "forbidden-phrase"\n', "asked_from must be a list of rule ids"),
    ('asked_from = ["no-such-rule"]\n', "asked_from names no loaded rule 'no-such-rule'"),
    ('asked_from = ["forbidden-phrase:rudeness"]\n', "asked_from: 'forbidden-phrase' has no category 'rudeness'"),
])
def test_rule_metadata_is_validated(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(OFF_PLATFORM.replace('severity = "major"\n', 'severity = "major"\n' + text), encoding="utf-8")
    with pytest.raises(RuleError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_rules([path])


def _replies_audit(tmp_path, question: str, replies: list[str]):
    """A day of sessions S1, S2, … each of ``question`` answered by one of ``replies``, and a function
    auditing it with rule packs that returns the (session, rule) of every finding, sorted."""
    day = tmp_path / "day.csv"
    day.write_text("session_id,timestamp,role,agent,text\n" + "".join(
        f"S{n},2026-11-20 10:00:00,customer,,{question}\nS{n},2026-11-20 10:01:00,agent,店:小美,{reply}\n"
        for n, reply in enumerate(replies, 1)), encoding="utf-8")

    def found(*packs) -> list[tuple[str, str]]:
        out = tmp_path / "r.json"
        result = run("audit", day, "--json", out, "-o", tmp_path / "r.xlsx", "--no-history",
                     *[a for p in packs for a in ("--rules", p)])
        assert result.exit_code == 0, result.output
        return sorted((f["session_id"], f["rule"]) for f in json.loads(out.read_text(encoding="utf-8"))["findings"])

    return found


def test_a_rule_yields_to_another_rules_severe_finding(tmp_path):
    """One message, one verdict where a pack wants it: a rule that yields_to forbidden-phrase:critical
    makes no finding where abuse was found, keeps it where the forbidden phrase is a lesser one, and
    a pack can take the yield away again. The built-in rules yield to none."""
    found = _replies_audit(tmp_path, "在吗", ["你是不是有病啊？", "您自己不会在订单里查一下吗？"])
    both = [("S1", "forbidden-phrase"), ("S1", "rhetorical-question"), ("S2", "forbidden-phrase"),
            ("S2", "rhetorical-question")]
    assert found() == both
    yields = tmp_path / "yields.toml"
    yields.write_text('id = "rhetorical-question"\nyields_to = ["forbidden-phrase:critical"]\n', encoding="utf-8")
    assert found(yields) == [("S1", "forbidden-phrase"), ("S2", "forbidden-phrase"), ("S2", "rhetorical-question")]
    undo = tmp_path / "undo.toml"
    undo.write_text('id = "rhetorical-question"\nyields_to = []\n', encoding="utf-8")
    assert found(yields, undo) == both


def test_contempt_asked_as_a_question_is_a_rhetorical_question_too_unless_a_pack_says_not(tmp_path):
    """asked_from: forbidden-phrase's contempt in a sentence asked as a question is also rhetorical-question's
    finding (the wording is forbidden-phrase's, the question the asking); said, not asked, it is not; a pack
    takes it away with asked_from = [] and the rules explain says where it comes from."""
    found = _replies_audit(tmp_path, "这个怎么装", ["给你讲了八百回了你还记不住吗", "给你讲了八百回了，往上翻。"])
    assert found() == [("S1", "forbidden-phrase"), ("S1", "rhetorical-question"), ("S2", "forbidden-phrase")]
    undo = tmp_path / "undo.toml"
    undo.write_text('id = "rhetorical-question"\nasked_from = []\n', encoding="utf-8")
    assert found(undo) == [("S1", "forbidden-phrase"), ("S2", "forbidden-phrase")]
    assert "asked from: forbidden-phrase (abuse, contempt" in run("rules", "explain", "rhetorical-question").stdout


def test_diff_without_rules_is_refused_not_a_diff_of_nothing_that_passes(day):
    result = run("diff", str(day))
    assert result.exit_code == 2 and "needs --rules NEW" in result.output


def test_a_phrase_category_may_count_only_as_a_reply_to_a_customer_turn(tmp_path):
    """replies_to: a category whose words count only after a customer turn of the named classes — the
    built-in 激将投诉 (去呗 to a threat of complaint) — and a class that does not exist is a load error."""
    day = tmp_path / "day.csv"
    day.write_text("session_id,timestamp,role,agent,text\n"
                   "S1,2026-11-20 10:00:00,customer,,不给退我就去消协告你们\n"
                   "S1,2026-11-20 10:01:00,agent,店:小美,去呗\n"
                   "S2,2026-11-20 10:00:00,customer,,我先去门口拿下外卖\n"
                   "S2,2026-11-20 10:01:00,agent,店:小美,去呗\n", encoding="utf-8")
    out = tmp_path / "r.json"
    result = run("audit", day, "--json", out, "-o", tmp_path / "r.xlsx", "--no-history", "--fail-on", "never")
    assert result.exit_code == 0, result.output
    forbidden = [f for f in json.loads(out.read_text(encoding="utf-8"))["findings"] if f["rule"] == "forbidden-phrase"]
    assert [(f["session_id"], f["match"]) for f in forbidden] == [("S1", "去呗")]
    bad = tmp_path / "bad.toml"
    bad.write_text(OFF_PLATFORM.replace('name = "off-platform"\n', 'name = "off-platform"\nreplies_to = ["no-such-class"]\n', 1),
                   encoding="utf-8")
    with pytest.raises(RuleError, match="replies_to names no class 'no-such-class'"):
        load_rules([bad])


def test_a_phrase_rule_may_carry_a_learned_model_for_wording_no_list_holds(tmp_path):
    """model / model_file on a phrase rule: an agent message with no list match, long enough
    (model_min_han) and put in the class by the model, is flagged with the model's label; a short one,
    one holding an exception, and one the lists matched (reported by its category) are not the model's."""
    model = tmp_path / "tiny-model.tsv"
    model.write_text('intercept\t-6.0\nthreshold\t0.5\n1.0\t12.0\t"推锅"\n', encoding="utf-8")
    pack = tmp_path / "pass-the-pot.toml"
    pack.write_text(OFF_PLATFORM.replace('id = "off-platform"', 'id = "pass-the-pot"').replace(
        "ignore_separators = true\n",
        'ignore_separators = true\nmodel_file = "tiny-model.tsv"\nmodel_min_han = 10\nmodel_label_zh = "模型"\n'
        'exceptions = ["不推锅"]\n'), encoding="utf-8")
    day = tmp_path / "day.csv"
    day.write_text("session_id,timestamp,role,agent,text\n"
                   "S1,2026-11-20 10:00:00,agent,店:小美,这个事情我们只能推锅给快递公司了\n"
                   "S2,2026-11-20 10:00:00,agent,店:小美,推锅给快递\n"
                   "S3,2026-11-20 10:00:00,agent,店:小美,我们这个事情绝对不推锅的您放心吧\n"
                   "S4,2026-11-20 10:00:00,agent,店:小美,加我微信推锅给快递公司再说这个事情\n", encoding="utf-8")
    out = tmp_path / "r.json"
    result = run("audit", day, "--json", out, "-o", tmp_path / "r.xlsx", "--no-history", "--fail-on", "never",
                 "--rules", pack)
    assert result.exit_code == 0, result.output
    found = sorted((f["session_id"], f["match"]) for f in json.loads(out.read_text(encoding="utf-8"))["findings"]
                   if f["rule"] == "pass-the-pot")
    # the model's finding shows the whole message; the list's, its match
    assert found == [("S1", "这个事情我们只能推锅给快递公司了"), ("S4", "加我微信")]
