"""Time ``qa audit`` end to end on synthetic logs of several sizes.

For each size it generates a log (cached under benchmarks/data/), runs ``qa audit`` in a
fresh process with all rules on, writing the workbook and JSON, and prints wall time, the
time of each stage (from ``--timings``) and the peak resident memory of that process.

    python benchmarks/run.py 100000 1000000
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate, write_csv  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.0f} GiB, {cpu}, Python {platform.python_version()}"


def log_for(messages: int) -> Path:
    """The cached synthetic log of ``messages`` rows (generated on first use)."""
    path = DATA / f"synthetic-{messages}.csv"
    if not path.exists():
        write_csv(generate(messages), path)
    return path


def run_once(path: Path, extra: list[str]) -> dict:
    """Run one audit in a child process; return wall seconds, stage timings and peak RSS."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "qa", "audit", str(path), "-o", f"{out}/r.xlsx",
                   "--json", f"{out}/r.json", "--timings", *extra]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if completed.returncode not in (0, 1):
        raise SystemExit(f"qa audit failed:\n{completed.stderr}")
    stages = {
        match.group(1): float(match.group(2))
        for match in re.finditer(r"^timing: (.+): ([\d.]+) s$", completed.stderr, re.M)
    }
    # ru_maxrss of children is the max over all children so far; sizes run in increasing order.
    return {"wall": wall, "stages": stages, "peak_mib": max(peak_kib, before) / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark qa audit end to end.")
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="extra qa audit options")
    args = parser.parse_args(argv)
    print(f"machine: {_machine()}")
    for size in sorted(args.sizes):
        path = log_for(size)
        result = run_once(path, args.extra)
        size_mb = path.stat().st_size / 1e6
        print(f"\n{size:>11,} messages ({size_mb:.0f} MB CSV): wall {result['wall']:.2f} s, "
              f"peak RSS {result['peak_mib']:.0f} MiB")
        for stage, seconds in result["stages"].items():
            print(f"  {stage:<28} {seconds:7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
