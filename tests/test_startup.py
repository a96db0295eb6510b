"""Commands that only read rules start instantly: they import neither pandas, numpy nor pyarrow.

The check types are declared (:mod:`qa.checktypes`) apart from their code (:mod:`qa.checks`),
which is imported when a rule runs or is compiled; these tests keep both halves in step.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import qa.checks
from qa.checktypes import CHECK_TYPES

HEAVY = ("pandas", "numpy", "pyarrow")


def _imported(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``python -X importtime -m qa ARGS``; the result and the top-level names of every
    module it imported."""
    completed = subprocess.run([sys.executable, "-X", "importtime", "-m", "qa", *args],
                               capture_output=True, text=True, timeout=120)
    modules = {line.rsplit("|", 1)[-1].strip().split(".")[0]
               for line in completed.stderr.splitlines() if line.startswith("import time:")}
    return completed, modules


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("rules", "list"), ("rules", "explain", "slow-reply")])
def test_reading_rules_imports_no_pandas(args):
    completed, modules = _imported(*args)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip()
    assert "qa" in modules  # the import log was read
    assert not modules & set(HEAVY), f"qa {' '.join(args)} imported {sorted(modules & set(HEAVY))}"


@pytest.mark.parametrize("args", [("-o", "report"), ("-o", "report.csv", "--engine", "pandas")])
def test_a_usage_error_of_audit_is_told_before_pandas_loads(tmp_path: Path, args):
    """A workbook path that is not .xlsx is a slip in the arguments: one line, exit 2, and no
    wait for the pipeline (pandas, the rules) to load first."""
    log = tmp_path / "log.csv"
    log.write_text("session_id,role,text,timestamp\ns1,customer,你好,2026-11-20 09:00:00\n", encoding="utf-8")
    completed, modules = _imported("audit", str(log), *[str(tmp_path / a) if a.startswith("report") else a for a in args])
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "give a path ending in .xlsx" in completed.stderr
    assert "qa" in modules
    assert not modules & set(HEAVY), f"qa audit {' '.join(args)} imported {sorted(modules & set(HEAVY))}"


@pytest.mark.slow
def test_rules_list_reads_a_pack_and_rules_check_compiles_it(tmp_path: Path):
    """Listing reads the files (an unknown key is refused, as always); compiling a regex is
    `qa rules check`'s job (and every audit's), and that reports the bad one as file:line."""
    pack = tmp_path / "pack"
    pack.mkdir()
    rule = pack / "off-platform.toml"
    rule.write_text('id = "off-platform"\ncheck = "pattern"\nseverity = "major"\n'
                    '[message]\nzh = "站外导流"\n'
                    '[docs]\nwhat = "w"\nwhy = "y"\nbad = "b"\ngood = "g"\n'
                    '[params]\npatterns = ["加我(微信"]\n', encoding="utf-8")
    listed, modules = _imported("rules", "list", "--rules", str(pack))
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "off-platform" in listed.stdout and not modules & set(HEAVY)
    checked = subprocess.run([sys.executable, "-m", "qa", "rules", "check", str(pack)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 2
    assert f"{rule}:" in checked.stderr and "patterns" in checked.stderr

    rule.write_text(rule.read_text(encoding="utf-8") + 'typo = 1\n', encoding="utf-8")
    listed = subprocess.run([sys.executable, "-m", "qa", "rules", "list", "--rules", str(pack)],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 2
    assert "unknown key 'typo'" in listed.stderr


def test_every_check_type_has_its_code_and_all_code_is_declared():
    for name, check in CHECK_TYPES.items():
        assert callable(check.run), name
        assert check.validate is None or callable(check.validate), name
    implementations = {check.implementation for check in CHECK_TYPES.values()}
    modules = {f"qa.checks.{m.name}" for m in pkgutil.iter_modules(qa.checks.__path__)} - {"qa.checks.base", "qa.checks.stage"}
    assert modules == implementations, "a check module without a declaration in qa/checktypes/ (or the reverse)"
