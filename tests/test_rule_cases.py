"""Every data-driven rule case (tests/rules/*.toml) run end to end, plus the guard on coverage."""

from __future__ import annotations

import pytest
from rule_cases import CASES_DIR, all_cases, compare, load_case_file, run_case

from qa.casetest import CaseRunner, RuleCase

CASES = all_cases()


@pytest.fixture(scope="module")
def case_runner(tmp_path_factory, builtin_rules):
    """One runner per worker: the cases that share a layout are audited together, a group at
    the first of its cases a worker runs (qa.casetest.CaseRunner)."""
    return CaseRunner(CASES, tmp_path_factory.mktemp("rule-cases"), rules=builtin_rules)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.id for case in CASES])
def test_rule_case(index, case_runner):
    case = CASES[index]
    problems = compare(case, case_runner.findings(index))
    assert not problems, f"{case.id} ({case.source.name}):\n  " + "\n  ".join(problems)


# The one-by-one audits (about a thousand) in shards, so the workers share them.
_SHARDS = 8


@pytest.fixture(scope="module")
def runner_and_folder(tmp_path_factory, builtin_rules):
    """A runner whose shared audits name each case's file as its own audit in ``folder/<index>``
    does (finding ids depend on the file)."""
    folder = tmp_path_factory.mktemp("batched")
    return CaseRunner(CASES, folder, rules=builtin_rules), folder


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(_SHARDS))
def test_batched_cases_find_what_each_case_finds_alone(shard, runner_and_folder, builtin_rules):
    """Every built-in case's findings from the shared audits are its own audit's, record for
    record (rows, session ids, files and finding ids too)."""
    runner, folder = runner_and_folder
    for index in range(shard, len(CASES), _SHARDS):
        batched = runner.findings(index)
        (folder / str(index)).mkdir(exist_ok=True)
        alone = run_case(CASES[index], folder / str(index), rules=builtin_rules)
        assert batched == alone, CASES[index].id


@pytest.mark.slow
def test_nearly_all_cases_are_batched(tmp_path, builtin_rules):
    runner = CaseRunner(CASES, tmp_path, rules=builtin_rules)
    for index in range(len(CASES)):
        runner.findings(index)
    assert len(runner.batched) >= 0.9 * len(CASES)


_HEADER = "session_id,timestamp,role,agent,text"


def _case(name: str, rows: list[str], expect: list, *, header: str = _HEADER) -> RuleCase:
    return RuleCase(rule="forbidden-phrase", name=name, chat="\n".join([header, *rows]) + "\n", expect=expect,
                    params={}, columns={}, file_name="chat.csv", source=CASES_DIR / "forbidden-phrase.toml")


def test_cases_a_shared_file_would_read_otherwise_run_alone(tmp_path, builtin_rules):
    """A case whose rows the shared file would not read as its own file does (a rejected row,
    roles from nicknames, a quoted line break) runs alone; the others are still batched, and
    every case gets its own audit's findings."""
    flagged = "S1,2026-11-20 10:01:00,agent,小美,我已经说过很多遍了"
    cases = [
        _case("plain", ["S1,2026-11-20 10:00:00,customer,,快递还没到", flagged], [{"row": 3}]),
        _case("same_session_id", ["S1,2026-11-20 10:00:00,customer,,在吗", flagged], [{"row": 3}]),
        _case("clean", ["S9,2026-11-20 10:00:00,customer,,谢谢", "S9,2026-11-20 10:01:00,agent,小美,不客气"], []),
        _case("unknown_role", ["S1,2026-11-20 10:00:00,boss,,快递还没到", flagged], [{"row": 3}]),
        _case("quoted_break", ['S1,2026-11-20 10:00:00,customer,,"快递\n还没到"', flagged], [{"row": 3}]),
        _case("nicknames", ["S1,2026-11-20 10:00:00,顾客甲,快递还没到", "S1,2026-11-20 10:01:00,店铺:小美,我已经说过很多遍了"],
              [{"row": 3}], header="session_id,timestamp,sender,text"),
    ]
    runner = CaseRunner(cases, tmp_path, rules=builtin_rules)
    found = [runner.findings(index) for index in range(len(cases))]
    assert runner.batched == {0, 1, 2}
    for index, case in enumerate(cases):
        (tmp_path / str(index)).mkdir(exist_ok=True)
        assert found[index] == run_case(case, tmp_path / str(index), rules=builtin_rules), case.name
        assert not compare(case, found[index]), case.name


def test_every_rule_has_enough_cases():
    """Each built-in rule has a case file with >= 8 must-flag and >= 8 must-stay-clean chats."""
    from qa.rules import load_rules

    for rule in load_rules():
        path = CASES_DIR / f"{rule.id}.toml"
        assert path.is_file(), f"no case file {path.name} for rule {rule.id}"
        cases = load_case_file(path)
        flagged = [c for c in cases if c.expect]
        clean = [c for c in cases if not c.expect]
        assert len(flagged) >= 8, f"{rule.id}: only {len(flagged)} must-flag cases"
        assert len(clean) >= 8, f"{rule.id}: only {len(clean)} must-stay-clean cases"
        assert all(c.rule == rule.id for c in cases)


@pytest.mark.parametrize("params, problem", [
    ({"max_wait_secs": 600}, "unknown key 'max_wait_secs'"),   # a typo must not silently do nothing
    ({"max_wait_seconds": "ten"}, "max_wait_seconds"),          # nor a wrong type
])
def test_case_params_are_validated_like_a_rule_file(tmp_path, params, problem):
    from qa.errors import RuleError

    source = tmp_path / "slow-reply.toml"
    source.write_text(f'rule = "slow-reply"\n[[case]]\nname = "x"\nparams = {params!r}\n'.replace("'", '"'), encoding="utf-8")
    case = load_case_file(CASES_DIR / "slow-reply.toml")[0]
    case.params, case.source = params, source
    with pytest.raises(RuleError, match=problem):
        run_case(case, tmp_path)


@pytest.mark.parametrize("expect, problem", [
    ('["S1:2"]', "expect entries are"),          # a row written as text, not a { row = N } table
    ('"S1:2"', "needs expect"),                    # not a list at all
    ("[{ match = \"x\" }]", "expect entries are"),  # a table without its row
])
def test_malformed_case_expectations_are_refused_by_name(tmp_path, expect, problem):
    source = tmp_path / "slow-reply.toml"
    source.write_text(f'rule = "slow-reply"\n[[case]]\nname = "x"\nchat = "a"\nexpect = {expect}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=f"case x: {problem}"):
        load_case_file(source)


def test_new_rules_have_twelve_cases_each_way():
    """Issue 15: each of the three newer rules has >= 12 must-flag and >= 12 must-stay-clean cases."""
    for rule in ("unsoothed-emotion", "repeated-solution", "brand-doubt"):
        cases = load_case_file(CASES_DIR / f"{rule}.toml")
        assert sum(bool(c.expect) for c in cases) >= 12, rule
        assert sum(not c.expect for c in cases) >= 12, rule


def test_findings_only_audit_finds_what_the_full_audit_finds(builtin_rules):
    """The cases run findings-only audits (score=False, no credits or scores): on logs where every
    rule fires, those findings are the full audit's, record for record (ids too)."""
    from pathlib import Path

    from qa.audit.run import AuditOptions, audit
    from qa.report.json_report import findings_records

    root = Path(__file__).resolve().parent.parent
    inputs = [str(root / "samples" / "qianniu-day.csv"), str(root / "tests" / "eval" / "a_taobao.csv")]
    full = audit(inputs, AuditOptions(), rules=builtin_rules)
    only = audit(inputs, AuditOptions(), rules=builtin_rules, score=False)
    assert len(full.findings) > 20 and len(full.credits) > 0 and len(full.agents) > 0
    assert findings_records(only) == findings_records(full)
    assert only.skipped_rules == full.skipped_rules
    assert only.sessions.empty and only.agents.empty and not len(only.credits)


def test_an_empty_rule_pack_folder_is_an_error_not_a_silent_no_op(tmp_path):
    """--rules EMPTY (a mistyped or empty pack folder) was accepted and changed nothing."""
    from qa.errors import RuleError
    from qa.rules import load_rules

    with pytest.raises(RuleError, match="holds no .toml file"):
        load_rules([tmp_path], deep=False)
