"""emoji-only on real JD chats: precision and recall against independent hand labels.

``benchmarks/jd_emoji_labels.csv`` (``dialogue_id,turn,label,reason``; no message text) holds one
label per agent reply of the JDDC test split that is made only of emoji/emoticon codes, under
the 2026-12-03 definition of STANDARDS.md (flag only where an answer was due). It was written
by a labeller who did not see the tool (see the labeller's notes, JD_EMOJI_LABELS.md).
``violation`` = the tool must flag the reply, ``ok`` = it must not.

The script runs ``qa audit`` as a user would, on
``../shared/corpus/uss-jddc/test_jddc.derived.csv`` (beside the repository; the corpus is not
part of it), with ``--column session_id=dialogue_id --column seq=turn``, and compares the
``emoji-only`` findings with the labels::

    python benchmarks/jd_emoji.py [CORPUS_CSV] [--min-precision 0.9 --min-recall 0.9]

Exit 0 when the targets are met (or none were given), 1 below a target, 2 when the corpus is
missing or the audit fails. Findings on rows without a label count as false positives (the
labels cover every emoji-only agent reply, so such a finding flags a reply with text).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "benchmarks" / "jd_emoji_labels.csv"
CORPUS = Path("shared") / "corpus" / "uss-jddc" / "test_jddc.derived.csv"
RULE = "emoji-only"


def default_corpus() -> Path:
    """``../shared/corpus/...`` beside the repository (also from a worktree one level deeper)."""
    for base in (REPO.parent, REPO.parent.parent):
        if (base / CORPUS).is_file():
            return base / CORPUS
    return REPO.parent / CORPUS


def read_labels(path: Path = LABELS) -> dict[tuple[str, int], str]:
    """``{(dialogue_id, turn): "violation" | "ok"}``."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {(row["dialogue_id"], int(row["turn"])): row["label"].strip() for row in csv.DictReader(handle)}


def row_keys(corpus: Path) -> dict[int, tuple[str, int]]:
    """Spreadsheet row (header = 1) -> (dialogue_id, turn)."""
    with corpus.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return {number: (row["dialogue_id"], int(row["turn"])) for number, row in enumerate(reader, start=2)}


def flagged(corpus: Path, qa_command: list[str]) -> set[tuple[str, int]]:
    """(dialogue_id, turn) of every emoji-only finding of ``qa audit`` on the corpus."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        command = qa_command + ["audit", str(corpus), "--column", "session_id=dialogue_id", "--column",
                                "seq=turn", "--json", str(out), "-o", str(Path(tmp) / "r.xlsx")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if not out.is_file():
            raise RuntimeError(f"qa audit failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        result = json.loads(out.read_text(encoding="utf-8"))
    rows = row_keys(corpus)
    return {rows[int(f["row"])] for f in result.get("findings", []) if f.get("rule") == RULE and int(f["row"]) in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=None)
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--min-precision", type=float, default=None)
    parser.add_argument("--min-recall", type=float, default=None)
    parser.add_argument("--qa-command", default=f"{sys.executable} -m qa")
    parser.add_argument("--list", action="store_true", help="print every false positive and negative")
    args = parser.parse_args(argv)
    corpus = args.corpus or default_corpus()
    if not corpus.is_file():
        print(f"corpus not found: {corpus}", file=sys.stderr)
        return 2
    labels = read_labels(args.labels)
    try:
        found = flagged(corpus, args.qa_command.split())
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    must = {key for key, label in labels.items() if label == "violation"}
    tp = len(found & must)
    fp = sorted(found - must)
    fn = sorted(must - found)
    precision = tp / (tp + len(fp)) if found else 1.0
    recall = tp / len(must) if must else 1.0
    print(f"emoji-only on {corpus.name}: {len(labels)} labelled replies, {len(must)} violations")
    print(f"TP {tp}  FP {len(fp)}  FN {len(fn)}  precision {precision:.3f}  recall {recall:.3f}")
    if args.list:
        for key in fp:
            print(f"  FP {key[0]} turn {key[1]} (label: {labels.get(key, 'none')})")
        for key in fn:
            print(f"  FN {key[0]} turn {key[1]}")
    below = (args.min_precision is not None and precision < args.min_precision) or (
        args.min_recall is not None and recall < args.min_recall
    )
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
