"""Every data-driven rule case (tests/rules/*.toml) run end to end, plus the guard on coverage."""

from __future__ import annotations

import pytest

from rule_cases import CASES_DIR, all_cases, compare, load_case_file, run_case

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_rule_case(case, tmp_path, builtin_rules):
    problems = compare(case, run_case(case, tmp_path, rules=builtin_rules))
    assert not problems, f"{case.id} ({case.source.name}):\n  " + "\n  ".join(problems)


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
