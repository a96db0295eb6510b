"""Make the test helpers (tests/rule_cases.py, tests/tables.py) importable."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def builtin_rules():
    """The built-in rules, loaded once for the session (rules are immutable dataclasses; a
    test that needs other parameters replaces them on a copy)."""
    from qa.rules import load_rules

    return load_rules()


@pytest.fixture(scope="session")
def rules(builtin_rules):
    """The built-in rules under the short name the engine, partition and transfer tests use (a
    module that means other rules defines its own ``rules`` fixture, which takes precedence)."""
    return builtin_rules


def pytest_ignore_collect(collection_path, config):
    """Skip importing tests/test_engines.py when slow tests are deselected (the default run):
    every test in it is slow, and importing it starts Dask and probes for Spark, which takes
    seconds before a single test is deselected."""
    if collection_path.name == "test_engines.py" and config.getoption("markexpr", "") == "not slow":
        return True
    return None
