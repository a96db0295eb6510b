"""Draw a random sample of findings for a careful reader to judge, and score the verdicts.

Precision on real chats cannot be computed by the tool that makes the findings: someone who
did not write the rules reads each sampled finding in its dialogue and says whether the
standard (shared/STANDARDS.md) really is broken there. This script does the drawing and the
counting; the reading is theirs.

    # 1. audit the real JD test split and draw 50 findings of the three newer rules
    python benchmarks/findings_sample.py draw --out /tmp/sample \\
        --rules unsoothed-emotion,repeated-solution,brand-doubt --n 50
    # -> /tmp/sample/sample.md (each finding with the dialogue around it)
    #    /tmp/sample/verdicts.csv (id, rule, verdict = empty: the reader writes yes / no)
    # 2. after the reader filled verdicts.csv
    python benchmarks/findings_sample.py score /tmp/sample/verdicts.csv

``draw`` takes ``--json FILE`` to sample an audit already made instead of running one; the
default input is the JD test split (``--input``, ``--column`` as for ``qa audit``). The sample
is the same for the same findings and ``--seed``. Nothing from the corpus is written into the
repository: the output folder is outside it.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = next((p / "shared" / "corpus" / "uss-jddc" / "test_jddc.derived.csv" for p in REPO.parents
                      if (p / "shared" / "corpus" / "uss-jddc").is_dir()),
                     REPO.parent / "shared" / "corpus" / "uss-jddc" / "test_jddc.derived.csv")
DEFAULT_COLUMNS = ["session_id=dialogue_id", "seq=turn"]
BEFORE, AFTER = 8, 3  # rows of the dialogue shown around a finding


def audit(source: Path, columns: list[str], work: Path) -> Path:
    """Run ``qa audit`` on ``source`` and return its JSON."""
    js = work / "audit.json"
    command = [sys.executable, "-m", "qa", "audit", str(source), "-o", str(work / "audit.xlsx"), "--json", str(js)]
    for pair in columns:
        command += ["--column", pair]
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return js


def read_rows(source: Path, session_column: str, seq_column: str) -> dict[str, list[dict]]:
    """The input's rows by session, in order, each with its row number as qa reports it."""
    sessions: dict[str, list[dict]] = defaultdict(list)
    with source.open(encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            row["_row"] = number
            sessions[row[session_column]].append(row)
    for rows in sessions.values():
        rows.sort(key=lambda r: (float(r[seq_column]) if r.get(seq_column, "").strip() else 0, r["_row"]))
    return sessions


def draw(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = Path(args.input)
    if args.json:
        js = Path(args.json)
    else:
        js = audit(source, args.column, Path(tempfile.mkdtemp(prefix="qa-sample-")))
    findings = json.loads(js.read_text(encoding="utf-8"))["findings"]
    wanted = set(args.rules.split(",")) if args.rules else None
    pool = sorted((f for f in findings if wanted is None or f["rule"] in wanted), key=lambda f: f["id"])
    sample = random.Random(args.seed).sample(pool, min(args.n, len(pool)))
    columns = dict(pair.split("=", 1) for pair in args.column)
    sessions = read_rows(source, columns.get("session_id", "session_id"), columns.get("seq", "seq"))
    text_column = columns.get("text", "text")
    role_column = columns.get("role", "role")
    lines = [f"# {len(sample)} findings drawn from {len(pool)} ({', '.join(sorted(wanted or ['all rules']))}), "
             f"seed {args.seed}", "",
             "For each finding: does the agent's message break the standard the rule names "
             "(shared/STANDARDS.md)? Write yes or no (and a few words why) in verdicts.csv.", ""]
    for number, finding in enumerate(sample, 1):
        rows = sessions.get(finding["session_id"], [])
        at = next((i for i, r in enumerate(rows) if r["_row"] == finding["row"]), None)
        lines += [f"## {number}. {finding['rule']} · {finding['id']} · session {finding['session_id']}, row {finding['row']}",
                  "", f"reason: {finding['reason']}", ""]
        if at is None:
            lines += ["(row not found in the input)", ""]
            continue
        for row in rows[max(0, at - BEFORE): at + AFTER + 1]:
            mark = "→ " if row["_row"] == finding["row"] else "  "
            lines.append(f"    {mark}[{row[role_column]}] {row[text_column]}")
        lines.append("")
    (out / "sample.md").write_text("\n".join(lines), encoding="utf-8")
    with (out / "verdicts.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "id", "rule", "verdict", "why"])
        for number, finding in enumerate(sample, 1):
            writer.writerow([number, finding["id"], finding["rule"], "", ""])
    print(f"drew {len(sample)} of {len(pool)} findings: {dict(Counter(f['rule'] for f in sample))}")
    print(f"wrote {out / 'sample.md'} and {out / 'verdicts.csv'}")


def score(args: argparse.Namespace) -> None:
    with open(args.verdicts, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    judged = [r for r in rows if r["verdict"].strip().lower() in ("yes", "no")]
    if len(judged) < len(rows):
        print(f"{len(rows) - len(judged)} of {len(rows)} findings have no yes/no verdict yet", file=sys.stderr)
    by_rule: dict[str, list[bool]] = defaultdict(list)
    for row in judged:
        by_rule[row["rule"]].append(row["verdict"].strip().lower() == "yes")
    for rule, verdicts in sorted(by_rule.items()):
        print(f"{rule:22} {sum(verdicts):3}/{len(verdicts):<3} precision {sum(verdicts) / len(verdicts):.2f}")
    every = [v for verdicts in by_rule.values() for v in verdicts]
    if every:
        print(f"{'all':22} {sum(every):3}/{len(every):<3} precision {sum(every) / len(every):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    drawing = commands.add_parser("draw", help="audit (or read --json) and draw a sample")
    drawing.add_argument("--out", required=True, help="folder for sample.md and verdicts.csv (outside the repository)")
    drawing.add_argument("--input", default=str(DEFAULT_INPUT))
    drawing.add_argument("--column", action="append", default=None, help="FIELD=SOURCE as for qa audit")
    drawing.add_argument("--json", help="the JSON of an audit already made of --input")
    drawing.add_argument("--rules", default="", help="comma-separated rule ids (default: all)")
    drawing.add_argument("--n", type=int, default=50)
    drawing.add_argument("--seed", type=int, default=2026)
    scoring = commands.add_parser("score", help="precision from a filled verdicts.csv")
    scoring.add_argument("verdicts")
    args = parser.parse_args()
    if args.command == "draw":
        args.column = args.column or DEFAULT_COLUMNS
        draw(args)
    else:
        score(args)


if __name__ == "__main__":
    main()
