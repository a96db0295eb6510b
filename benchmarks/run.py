"""Time ``qa audit`` end to end on synthetic logs of several sizes.

For each size it generates a log (cached under benchmarks/data/), runs the audit in a fresh
process with all rules on, writing the workbook and the JSON, and prints wall time, the time
of each stage (read, normalize, each rule, score, each output; from ``--timings``), the peak
resident memory (RSS) of that process and the findings per rule.

    python benchmarks/run.py 100000 1000000 3000000
    python benchmarks/run.py 10000000 --out-of-core            # partitions chosen from the size
    python benchmarks/run.py 1000000 --out-of-core --partitions 8
    python benchmarks/run.py 100000 --xlsx                      # .xlsx input instead of CSV
    python benchmarks/run.py 1000000 --distinct 0.9             # ~90% distinct texts, as real logs
    python benchmarks/run.py 1000000 --compare-floor            # qa and benchmarks/floor.py, same log

``--out-of-core`` runs ``qa audit --out-of-core`` (session partitions spilled to disk).
``--compare-floor`` also times the plain-pandas floor (benchmarks/floor.py) on the same log in
the same run, right after qa, and prints the ratio of the wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import Plan, write_log  # noqa: E402

FLOOR = Path(__file__).resolve().parent / "floor.py"

DATA = Path(__file__).resolve().parent / "data"
# Bump when generate.py changes what it writes, so cached logs are regenerated.
GENERATOR_VERSION = 3


def machine() -> str:
    """One line describing the machine: cores, memory, CPU, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores, {memory:.0f} GiB RAM, {cpu}, Python {platform.python_version()}, {platform.system()}"


def log_for(messages: int, suffix: str = ".csv", data: Path = DATA, seed: int = 7,
            distinct: float | None = None) -> Path:
    """The cached synthetic log of ``messages`` rows (generated on first use); ``distinct``
    is generate.py's --distinct."""
    variety = f"-d{distinct:g}" if distinct is not None else ""
    path = data / f"synthetic-v{GENERATOR_VERSION}-s{seed}{variety}-{messages}{suffix}"
    if not path.exists():
        started = time.perf_counter()
        write_log(Plan(messages, seed, distinct=distinct), path)
        print(f"(generated {path.name} in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return path


def audit_command(path: Path, out: Path, *, out_of_core: bool, partitions: int | None,
                  extra: list[str], engine: str = "pandas") -> list[str]:
    """The command line of one timed run."""
    outputs = ["-o", str(out / "r.xlsx"), "--json", str(out / "r.json")]
    command = [sys.executable, "-m", "qa", "audit", str(path), *outputs, "--timings", *extra]
    if engine != "pandas":  # a cluster engine (local here): it partitions sessions itself
        return command + ["--engine", engine] + (["--partitions", str(partitions)] if partitions else [])
    command.append("--out-of-core" if out_of_core else "--in-memory")
    if out_of_core and partitions:
        command += ["--partitions", str(partitions)]
    return command


def _tree_pss_mib(root: int) -> float:
    """The summed proportional set size (PSS: shared pages split between the processes sharing
    them) of process ``root`` and its descendants, in MiB; 0 where /proc cannot tell."""
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in children.read_text().split())
            except OSError:
                continue
    total_kib = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
                    break
        except OSError:
            continue
    return total_kib / 1024


def _sample_tree_memory(pid: int, peak: list[float], stop: threading.Event) -> None:
    while not stop.wait(0.5):
        peak[0] = max(peak[0], _tree_pss_mib(pid))


def run_once(command: list[str]) -> dict:
    """Run one audit in a child process: wall and CPU seconds (its waited-for workers' too), stage
    timings, its own peak RSS and the peak summed PSS of it and its worker processes (sampled every
    0.5 s from /proc, ~20 ms each at 2 GiB; 0 elsewhere)."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True)
        peak, stop = [0.0], threading.Event()
        sampler = threading.Thread(target=_sample_tree_memory, args=(child.pid, peak, stop), daemon=True)
        if Path("/proc/self/smaps_rollup").exists():
            sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        stop.set()
        if sampler.is_alive():
            sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        err = stderr.read()
    if child.returncode not in (0, 1):
        raise SystemExit(f"audit failed ({child.returncode}): {' '.join(command)}\n{err}")
    stages = {m.group(1): float(m.group(2)) for m in re.finditer(r"^timing: (.+): ([\d.]+) s$", err, re.M)}
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "stages": stages,
            "peak_mib": usage.ru_maxrss / 1024, "tree_mib": peak[0], "stderr": err}


def run_size(size: int, *, out_of_core: bool = False, partitions: int | None = None, xlsx: bool = False,
             extra: list[str] = (), data: Path = DATA, keep_json: bool = False, engine: str = "pandas",
             distinct: float | None = None) -> dict:
    """Generate (or reuse) the log of ``size`` messages and time one audit of it; with
    ``keep_json`` the result has the whole JSON document under ``json``."""
    path = log_for(size, ".xlsx" if xlsx else ".csv", data, distinct=distinct)
    with tempfile.TemporaryDirectory() as out:
        command = audit_command(path, Path(out), out_of_core=out_of_core, partitions=partitions, extra=list(extra),
                                engine=engine)
        result = run_once(command)
        document = json.loads((Path(out) / "r.json").read_text(encoding="utf-8"))
    result.update(path=path, size_mb=path.stat().st_size / 1e6, summary=document["summary"], command=command)
    if keep_json:
        result["json"] = document
    return result


def run_floor(path: Path) -> dict:
    """Time benchmarks/floor.py on ``path`` in a child process, like :func:`run_once`."""
    with tempfile.TemporaryDirectory() as out:
        return run_once([sys.executable, str(FLOOR), str(path), "-o", out])


def floor_report(result: dict, qa_wall: float) -> str:
    """The printed block of the floor's run, with qa's wall time as a multiple of it."""
    lines = [f"  floor (benchmarks/floor.py): wall {result['wall']:.2f} s, CPU {result['cpu']:.2f} s, "
             f"peak RSS {result['peak_mib']:.0f} MiB; qa / floor = {qa_wall / result['wall']:.2f}x"]
    for stage, seconds in result["stages"].items():
        lines.append(f"    {stage:<26} {seconds:7.3f} s")
    return "\n".join(lines)


def report(size: int, result: dict, label: str) -> str:
    """The printed block of one run."""
    summary = result["summary"]
    lines = [
        f"{size:>11,} messages, {label} ({result['size_mb']:.0f} MB {result['path'].suffix[1:]}): "
        f"wall {result['wall']:.2f} s, CPU {result.get('cpu', 0):.2f} s, peak RSS {result['peak_mib']:.0f} MiB, "
        f"peak PSS of all its processes {result.get('tree_mib', 0):.0f} MiB",
        f"  {summary['audited_rows']:,} audited, {summary['rejected_rows']} rejected, "
        f"{summary['sessions']:,} sessions, {summary['agents']} agents, {summary['findings']:,} findings",
    ]
    per_1k = ", ".join(f"{rule} {count * 1000 / max(summary['audited_rows'], 1):.2f}"
                       for rule, count in summary["by_rule"].items())
    lines.append(f"  findings per 1,000 messages: {per_1k}")
    for stage, seconds in result["stages"].items():
        lines.append(f"  {stage:<28} {seconds:7.3f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description="Benchmark qa audit end to end.")
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--out-of-core", action="store_true", help="audit through the out-of-core path")
    parser.add_argument("--partitions", type=int, help="partitions for --out-of-core (default: from the size)")
    parser.add_argument("--xlsx", action="store_true", help="use .xlsx logs instead of CSV")
    parser.add_argument("--engine", choices=["pandas", "dask", "spark"], default="pandas",
                        help="qa audit --engine (dask: a local cluster; spark: local[*]); peak RSS is the "
                             "largest process the run waited for (not Spark's JVM)")
    parser.add_argument("--distinct", type=float, metavar="FRACTION",
                        help="logs with about FRACTION distinct texts (generate.py --distinct; 0.9 is realistic)")
    parser.add_argument("--compare-floor", action="store_true",
                        help="also time the plain-pandas floor (benchmarks/floor.py) on the same log")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="extra qa audit options")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    label = "out-of-core" if args.out_of_core else "in memory"
    if args.engine != "pandas":
        label = f"--engine {args.engine}"
    if args.out_of_core and args.partitions:
        label += f", {args.partitions} partitions"
    if args.distinct is not None:
        label += f", {args.distinct:g} distinct"
    if args.compare_floor and args.xlsx:
        parser.error("--compare-floor reads CSV logs only")
    for size in sorted(args.sizes):
        result = run_size(size, out_of_core=args.out_of_core, partitions=args.partitions, xlsx=args.xlsx,
                          extra=args.extra, engine=args.engine, distinct=args.distinct)
        print("\n" + report(size, result, label), flush=True)
        if args.compare_floor:
            print(floor_report(run_floor(result["path"]), result["wall"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
