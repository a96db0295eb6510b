"""Does the customer's upset need a learned model? An experiment, not part of ``qa``.

unsoothed-emotion misses on blind sets are mostly customer turns no upset class recognises
(``benchmarks/reply_class_trace.py`` stage ``no-word``). This script measures, against an
independent reader's labels of every customer message of ``tests/eval`` (``customer_emotion_labels.csv``:
``file,row,label,why``, label negative/neutral, no message text; written 2026-12-05 by a reader who
saw only STANDARDS.md and the chats, not the ``expect`` column):

1. the trigger classes of ``rules/unsoothed-emotion.toml`` against those labels;
2. a character n-gram logistic regression (as rhetorical-question's recall aid), leave one file out;
3. with ``--held FILE`` (a blind set with ``expect`` labels): how many customer turns before a reply
   labelled unsoothed-emotion each recognises;
4. with ``--real FILE[:COLUMN]`` (a JD-style CSV, role 客户): how many real customer messages the
   model calls upset that no class does (their precision is for a reader to judge: ``--sample N``).

    pip install -e '.[train]'
    python benchmarks/customer_emotion.py --held ../evalsets/at/at_pdd.frozen.csv \\
        --real ../shared/corpus/jddc2019-sample/chat_0.1per.derived.csv:content \\
        --real ../shared/corpus/uss-jddc/test_jddc.derived.csv:text

Measured 2026-12-05 (1,188 labelled messages, 414 negative): classes precision 0.96 / recall 0.51
(they leave the rest to other paths of the rule); the model out of fold at 0.9: 0.98 / 0.38, union with
the classes 0.95 / 0.64; on blind set AT the classes recognise 17 of 25 trigger turns, the union 21;
but on the 11,532 real customer messages the model alone calls 199 upset at 0.9 (459 at 0.8; 40 of
those read by hand were mostly plain questions about a process or a status). Not shipped: it would buy
recall on written sets with false alarms on real chats. (Part of the classes' low recall is by design:
injuries and hazards, which the reader labelled negative, are ignored-complaint's triggers.)
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_question_model import accuracy_module  # noqa: E402

from qa.classes import builtin_classes  # noqa: E402
from qa.normalize import normalize_text  # noqa: E402

LABELS = Path(__file__).with_name("customer_emotion_labels.csv")
THRESHOLDS = (0.5, 0.7, 0.8, 0.9)


def _pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 2), sublinear_tf=True, lowercase=False),
                         LogisticRegression(C=10, class_weight="balanced", max_iter=5000))


def _score(predicted, truth) -> str:
    tp = sum(p and t for p, t in zip(predicted, truth))
    fp = sum(p and not t for p, t in zip(predicted, truth))
    return f"precision {tp / max(1, tp + fp):.2f} recall {tp / max(1, sum(truth)):.2f} (TP {tp}, FP {fp})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--held", type=Path, action="append", default=[])
    parser.add_argument("--real", action="append", default=[], help="CSV[:text column] with role 客户 rows")
    parser.add_argument("--sample", type=int, default=0, help="print N random model-only real messages")
    args = parser.parse_args(argv)
    accuracy = accuracy_module()
    classes = builtin_classes()
    params = tomllib.loads((REPO / "rules" / "unsoothed-emotion.toml").read_text(encoding="utf-8"))["params"]
    triggers = [c for c in params["trigger_classes"] if c in classes.classes]

    def by_classes(text: str) -> bool:
        return any(classes.matches(name, text) for name in triggers)

    labels = {(r["file"], int(r["row"])): r["label"] == "negative" for r in csv.DictReader(LABELS.open(encoding="utf-8"))}
    texts, truth, groups = [], [], []
    eval_dir = REPO / "tests" / "eval"
    for path in sorted(eval_dir.glob("*.csv")) + sorted((eval_dir / "six-rules").glob("*.csv")):
        for message in accuracy.read_messages(path):
            if message.role == "customer" and (path.name, message.row) in labels:
                texts.append(normalize_text(message.text))
                truth.append(labels[(path.name, message.row)])
                groups.append(path.name)
    print(f"{len(texts)} labelled customer messages, {sum(truth)} negative")
    classes_say = [by_classes(t) for t in texts]
    print("trigger classes:", _score(classes_say, truth))
    out_of_fold = [0.0] * len(texts)
    for held in sorted(set(groups)):
        train = [i for i, g in enumerate(groups) if g != held]
        test = [i for i, g in enumerate(groups) if g == held]
        model = _pipeline().fit([texts[i] for i in train], [truth[i] for i in train])
        for i, p in zip(test, model.predict_proba([texts[i] for i in test])[:, 1]):
            out_of_fold[i] = p
    for threshold in THRESHOLDS:
        model_says = [p >= threshold for p in out_of_fold]
        print(f"model at {threshold} (leave one file out): {_score(model_says, truth)}; with the classes: "
              f"{_score([m or c for m, c in zip(model_says, classes_say)], truth)}")
    model = _pipeline().fit(texts, truth)

    for path in args.held:
        messages = accuracy.read_messages(path)
        sessions: dict[str, list] = {}
        for message in messages:
            sessions.setdefault(message.session, []).append(message)
        turns = []
        for ordered in sessions.values():
            for i, message in enumerate(ordered):
                if message.role == "agent" and "unsoothed-emotion" in message.labels:
                    turn, j = [], i - 1
                    while j >= 0 and ordered[j].role != "agent":
                        if ordered[j].role == "customer":
                            turn.append(normalize_text(ordered[j].text))
                        j -= 1
                    if turn:
                        turns.append(turn)
        found = sum(any(by_classes(t) for t in turn) for turn in turns)
        print(f"{path.name}: {len(turns)} customer turns before an unsoothed-emotion label; classes recognise {found}")
        for threshold in THRESHOLDS:
            model_found = [max(model.predict_proba(turn)[:, 1]) >= threshold for turn in turns]
            union = sum(m or any(by_classes(t) for t in turn) for m, turn in zip(model_found, turns))
            print(f"  model at {threshold}: {sum(model_found)}, with the classes {union}")

    real = []
    for spec in args.real:
        path, _, column = spec.partition(":")
        with open(path, encoding="utf-8-sig", newline="") as handle:
            real += [normalize_text(r[column or "text"]) for r in csv.DictReader(handle) if r.get("role") == "客户"]
    if real:
        probabilities = model.predict_proba(real)[:, 1]
        classes_real = [by_classes(t) for t in real]
        print(f"real: {len(real)} customer messages, the classes call {sum(classes_real)} upset")
        for threshold in THRESHOLDS:
            only = [t for t, p, c in zip(real, probabilities, classes_real) if p >= threshold and not c]
            print(f"  model at {threshold}: {sum(probabilities >= threshold)}, of which no class: {len(only)}")
        if args.sample:
            only = [t for t, p, c in zip(real, probabilities, classes_real) if p >= 0.9 and not c]
            for text in random.Random(1).sample(only, min(args.sample, len(only))):
                print("   ", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
