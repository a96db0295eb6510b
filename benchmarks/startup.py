"""Time how fast ``qa`` starts: ``qa --help``, ``qa --version``, ``qa rules list``, a usage error of
``qa audit`` and the audit of a small sample export (the issue's goal: ``qa --help`` <= 0.3 s, the
sample audit <= 1 s).

Each command runs N times in a fresh process (``python -m qa ...``, from a temporary folder), after
one untimed run that fills qa's caches (compiled rules: a fresh ``QA_CACHE_DIR`` of this run, one per
source tree, so that what other runs and the tests left in a shared cache does not change the
figures; ``--cache-dir`` to use another). The sample audit writes to the same workbook every time, as someone auditing again
would (so it also reads the earlier workbook for trainers' verdicts). Printed per command: the
median, minimum and maximum wall time and the median CPU time (user + system) of the runs.

    python benchmarks/startup.py                       # this checkout, 9 runs each
    python benchmarks/startup.py -n 15 --against /tmp/old-checkout
    python benchmarks/startup.py --compiled            # with cached bytecode, as an installed qa runs

``--against DIR`` times another source tree (a checkout or ``git archive`` of another commit) in the
same run, alternating the two run by run, so that a busy machine slows both alike; the figures of
both and the ratio of the medians are printed. Start-up depends on whether Python finds qa's
compiled bytecode: with ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__`` in the checkout,
every run compiles qa's modules from source (about a megabyte), which the first line printed says.
``--compiled`` points Python at a bytecode cache of its own (``PYTHONPYCACHEPREFIX``, filled by the
untimed run), as a wheel install or a checkout run without that variable would have.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "qianniu-export.csv"


def commands(sample: Path, out: Path) -> dict[str, list[str]]:
    """The timed commands (arguments after ``python -m qa``) by name."""
    return {
        "qa --help": ["--help"],
        "qa --version": ["--version"],
        "qa rules list": ["rules", "list"],
        "qa audit (usage error)": ["audit", str(sample), "-o", str(out / "report")],
        f"qa audit {sample.name}": ["audit", str(sample), "-o", str(out / "report.xlsx")],
    }


def run_once(tree: Path, args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the child, exit code) of one ``python -m qa ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "qa", *args], cwd=cwd, env={**env, "PYTHONPATH": str(tree)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, completed.returncode


def bytecode_note(tree: Path, compiled: bool) -> str:
    """How this run finds qa's bytecode."""
    if compiled:
        return "bytecode: cached in a folder of this run (PYTHONPYCACHEPREFIX), as an installed qa has it"
    cached = any((tree / "qa").rglob("__pycache__/*.pyc"))
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not cached:
        return ("bytecode: none (PYTHONDONTWRITEBYTECODE is set and qa/ has no __pycache__): every run compiles "
                "qa's modules from source; --compiled times it with bytecode")
    return "bytecode: " + ("qa/__pycache__ present" if cached else "written to qa/__pycache__ by the first run")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=9, help="timed runs per command and tree (default 9)")
    parser.add_argument("--against", type=Path, help="another source tree to time alternately with this one")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help=f"export to audit (default {SAMPLE.relative_to(ROOT)})")
    parser.add_argument("--compiled", action="store_true", help="run with a bytecode cache (PYTHONPYCACHEPREFIX)")
    parser.add_argument("--only", action="append", default=[], help="time only commands whose name contains this")
    parser.add_argument("--cache-dir", type=Path, help="QA_CACHE_DIR of the runs (default: a fresh one per tree)")
    args = parser.parse_args(argv)

    trees = {"this": ROOT}
    if args.against is not None:
        trees["against"] = args.against.resolve()
    with tempfile.TemporaryDirectory(prefix="qa-startup-") as work:
        work = Path(work)
        env = dict(os.environ)
        if args.compiled:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        print(bytecode_note(ROOT, args.compiled))
        caches = {label: args.cache_dir or work / f"cache-{label}" for label in trees}
        print(f"QA_CACHE_DIR={caches['this'] if args.cache_dir else work / 'cache-<tree>'}; {args.runs} runs per "
              f"command, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
        chosen = {name: cmd for name, cmd in commands(args.sample.resolve(), work).items()
                  if not args.only or any(word in name for word in args.only)}
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for name, cmd in chosen.items():
            for label, tree in trees.items():  # untimed: fills the caches, writes the first workbook
                (work / label).mkdir(exist_ok=True)
                wall, cpu, code = run_once(tree, cmd, {**env, "QA_CACHE_DIR": str(caches[label])}, work / label)
                if code not in (0, 1, 2):
                    print(f"{name} ({label}) exited {code}", file=sys.stderr)
                    return 2
            for _ in range(args.runs):
                for label, tree in trees.items():
                    wall, cpu, _code = run_once(tree, cmd, {**env, "QA_CACHE_DIR": str(caches[label])}, work / label)
                    times.setdefault((name, label), []).append((wall, cpu))
        width = max(len(name) for name in chosen)
        print(f"{'command':<{width}}  {'tree':<7}  {'wall median':>11}  {'min':>6}  {'max':>6}  {'cpu median':>10}")
        for name in chosen:
            medians = {}
            for label in trees:
                walls = [w for w, _ in times[(name, label)]]
                cpus = [c for _, c in times[(name, label)]]
                medians[label] = statistics.median(walls)
                print(f"{name:<{width}}  {label:<7}  {medians[label]:>10.3f}s  {min(walls):>5.3f}s  {max(walls):>5.3f}s  "
                      f"{statistics.median(cpus):>9.3f}s")
            if len(trees) > 1:
                print(f"{'':<{width}}  this/against: {medians['this'] / medians['against']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
