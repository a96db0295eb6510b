"""Does the session score say something about the customer's experience?

Audits the real JD customer-service chats of the USS corpus (``test_jddc.derived.csv``: one
row per turn, customers rated each dialogue), joins each dialogue's session score with the
customer's overall rating (``test_jddc.overall.derived.csv``: 0 dissatisfied, 1 neutral,
2 satisfied) and prints the AUC of the score separating dissatisfied from satisfied dialogues:
the chance that a satisfied dialogue scores higher than a dissatisfied one (ties count half).
0.5 means the score says nothing; higher is better. It also prints the findings per rule, and
per rule the share of dissatisfied and satisfied dialogues it fires on.

    python benchmarks/satisfaction_auc.py
    python benchmarks/satisfaction_auc.py --corpus ../shared/corpus/uss-jddc --split test_jddc
    python benchmarks/satisfaction_auc.py --keep /tmp/auc      # keep the JSON/workbook

Measure only; do not tune rule lists to the sentences of the split measured (a held-back
split of the same corpus measures the same AUC).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# ../shared beside the checkout (a git worktree may sit one folder deeper).
DEFAULT_CORPUS = next((p / "shared" / "corpus" / "uss-jddc" for p in REPO.parents
                       if (p / "shared" / "corpus" / "uss-jddc").is_dir()),
                      REPO.parent / "shared" / "corpus" / "uss-jddc")


def auc(positive: list[float], negative: list[float]) -> float:
    """P(a positive scores higher than a negative), ties counted half (Mann-Whitney U / n1n2)."""
    if not positive or not negative:
        return float("nan")
    ranked = sorted([(v, 1) for v in positive] + [(v, 0) for v in negative])
    # Average ranks over ties, then U of the positives.
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average = (i + 1 + j) / 2
        rank_sum += average * sum(1 for k in range(i, j) if ranked[k][1] == 1)
        i = j
    u = rank_sum - len(positive) * (len(positive) + 1) / 2
    return u / (len(positive) * len(negative))


def read_overall(path: Path) -> dict[str, int]:
    """dialogue id -> overall rating (0, 1, 2)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["dialogue_id"]: int(row["overall_sat_label"]) for row in csv.DictReader(handle)
                if row.get("overall_sat_label", "").strip() != ""}


def audit(chats: Path, out: Path, qa_command: list[str]) -> dict:
    """Run ``qa audit`` over the corpus file and return its JSON result."""
    command = [*qa_command, "audit", str(chats), "--column", "session_id=dialogue_id",
               "--column", "seq=turn", "--json", str(out / "r.json"), "-o", str(out / "r.xlsx")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode not in (0, 1):  # 1 = findings present (--fail-on), still a result
        sys.exit(f"qa audit failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads((out / "r.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of the USS JDDC files")
    parser.add_argument("--split", default="test_jddc", help="file prefix of the split (test_jddc)")
    parser.add_argument("--keep", type=Path, help="keep the audit outputs in this folder")
    parser.add_argument("--qa-command", default=f"{sys.executable} -m qa", help="how to run qa")
    args = parser.parse_args(argv)

    chats = args.corpus / f"{args.split}.derived.csv"
    overall_file = args.corpus / f"{args.split}.overall.derived.csv"
    for path in (chats, overall_file):
        if not path.is_file():
            sys.exit(f"not found: {path}")
    overall = read_overall(overall_file)
    with tempfile.TemporaryDirectory() as temporary:
        out = args.keep or Path(temporary)
        out.mkdir(parents=True, exist_ok=True)
        result = audit(chats, out, args.qa_command.split())

    scores = {s["session_id"]: float(s["score"]) for s in result["sessions"]}
    fired: dict[str, set[str]] = {}
    for finding in result["findings"]:
        fired.setdefault(finding["rule"], set()).add(finding["session_id"])
    joined = {d: (scores[d], r) for d, r in overall.items() if d in scores}
    dissatisfied = [s for s, r in joined.values() if r == 0]
    satisfied = [s for s, r in joined.values() if r == 2]
    print(f"dialogues: {len(joined)} joined ({len(dissatisfied)} dissatisfied, {len(satisfied)} satisfied, "
          f"{sum(1 for _, r in joined.values() if r == 1)} neutral)")
    print(f"AUC of the session score (satisfied above dissatisfied): {auc(satisfied, dissatisfied):.3f}")
    print(f"mean score: dissatisfied {sum(dissatisfied) / max(len(dissatisfied), 1):.1f}, "
          f"satisfied {sum(satisfied) / max(len(satisfied), 1):.1f}")
    counts = Counter(result["summary"]["by_rule"])
    n_dis = max(len(dissatisfied), 1)
    n_sat = max(len(satisfied), 1)
    print(f"{'rule':22} {'findings':>8} {'dissat.%':>9} {'sat.%':>7}")
    for rule in sorted(counts):
        sessions = fired.get(rule, set())
        dis = sum(1 for d in sessions if joined.get(d, (0, -1))[1] == 0)
        sat = sum(1 for d in sessions if joined.get(d, (0, -1))[1] == 2)
        print(f"{rule:22} {counts[rule]:8d} {100 * dis / n_dis:8.0f}% {100 * sat / n_sat:6.0f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
