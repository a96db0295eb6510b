"""The built-in rules' case files (tests/rules/<rule-id>.toml); the runner is qa.casetest."""

from __future__ import annotations

from pathlib import Path

from qa.casetest import RuleCase, compare, load_case_file, load_case_files, run_case  # noqa: F401

CASES_DIR = Path(__file__).parent / "rules"


def all_cases() -> list[RuleCase]:
    """Every case of every built-in rule case file, in file order."""
    return load_case_files(sorted(CASES_DIR.glob("*.toml")))
