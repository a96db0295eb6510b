"""The bundled samples flag exactly what samples/README.md says they should (a regression
gate for rule changes, as a CI pipeline running the tool on sample logs would use it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.audit.run import audit
from qa.report.json_report import build_result

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ROW = re.compile(r"^\| (?P<session>[^|]+?) \| `(?P<rule>[a-z-]+)` \| (?P<severity>minor|major|critical) \| (?P<row>\d+) \|")


def expected_by_file() -> dict[str, set[tuple[str, int, str, str]]]:
    """Parse the README: each "## `file`" section's table of (session, row, rule, severity)."""
    expected: dict[str, set] = {}
    current = None
    for line in (SAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## `([^`]+)`", line)
        if heading:
            current = heading.group(1)
            expected[current] = set()
            continue
        match = ROW.match(line)
        if match and current:
            expected[current].add((match["session"].strip(), int(match["row"]), match["rule"], match["severity"]))
    return expected


EXPECTED = expected_by_file()


def test_readme_lists_every_sample():
    files = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".csv", ".tsv", ".xlsx"))
    assert sorted(EXPECTED) == files
    assert all(EXPECTED[name] for name in files)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_flags_exactly_what_its_readme_says(name):
    result = build_result(audit([str(SAMPLES / name)]))
    actual = {(f["session_id"], f["row"], f["rule"], f["severity"]) for f in result["findings"]}
    missing = sorted(EXPECTED[name] - actual)
    unexpected = sorted(actual - EXPECTED[name])
    assert not missing and not unexpected, f"missing: {missing}\nunexpected: {unexpected}"
    summary = result["summary"]
    assert summary["input_rows"] == summary["audited_rows"] + summary["rejected_rows"]
    assert summary["rejected_rows"] == 0


def test_each_samples_totals_line_counts_its_table():
    """The "Totals:" line under a sample's table says what the table lists (a reader trusts it)."""
    from collections import Counter

    current, totals = None, {}
    for line in (SAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## `([^`]+)`", line)
        if heading:
            current = heading.group(1)
        elif line.startswith("Totals:") and current:
            counts = {rule: int(n) for rule, n in re.findall(r"`([a-z-]+)` (\d+)", line)}
            total = int(re.search(r"— (\d+) findings", line).group(1))
            totals[current] = (counts, total)
    assert totals, "no Totals lines found"
    for name, (counts, total) in totals.items():
        listed = Counter(rule for _, _, rule, _ in EXPECTED[name])
        assert counts == dict(listed) and total == sum(listed.values()), name
