"""Train the model behind rhetorical-question's learned recall aid, and write it as rule data.

The patterns of ``rules/lists/rhetorical-patterns.txt`` find the reproach forms we have seen; a
writer who never saw them words the same reproach in new ways (measured: a tuning round on one
half of a blind set moved its other half by nothing). This script fits a small text classifier
(character uni- and bigrams within words, TF-IDF, logistic regression: scikit-learn) on the
labelled agent messages kept in the repository, and writes it to
``rules/lists/rhetorical-model.tsv`` (one feature a line: idf, weight, the n-gram as a JSON
string with spaces and # escaped), which ``qa`` scores without scikit-learn (qa.questionmodel).

Training data (all in the repository, all written for the project from STANDARDS.md; no corpus
text): the agent messages of ``tests/eval/*.csv`` and ``tests/eval/six-rules/*.csv`` (label: the
``expect`` column holds rhetorical-question) and of the cases of
``tests/rules/rhetorical-question.toml`` (label: the case expects that row).

The threshold is chosen by leave-one-file-out cross-validation: the lowest score at which the
out-of-fold predictions keep precision >= 0.95. ``qa`` applies the model only to agent questions
of at least ``model_min_han`` Han characters (rules/rhetorical-question.toml): on real JD chats the
model's hits below that were all short clarifying questions (是这个颜色吗?, 您说的是哪件呢?).

    pip install -e '.[train]'
    python benchmarks/train_question_model.py            # writes rules/lists/rhetorical-model.tsv
    python benchmarks/train_question_model.py --check    # the written model scores as scikit-learn does
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa.normalize import normalize_text  # noqa: E402
from qa.questionmodel import QuestionModel, char_wb_ngrams  # noqa: E402

RULE = "rhetorical-question"
MODEL_PATH = REPO / "rules" / "lists" / "rhetorical-model.tsv"
NGRAMS = (1, 2)
C = 100.0
TARGET_PRECISION = 0.95


def accuracy_module():
    """benchmarks/accuracy.py as a module (its reader of labelled chat exports)."""
    spec = importlib.util.spec_from_file_location("qa_accuracy", REPO / "benchmarks" / "accuracy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["qa_accuracy"] = module
    spec.loader.exec_module(module)
    return module


def training_messages(rule: str = RULE) -> list[tuple[str, str, int]]:
    """(group, normalized text, label) of every agent message of the training data."""
    accuracy = accuracy_module()
    out = []
    for path in sorted((REPO / "tests" / "eval").glob("*.csv")) + sorted((REPO / "tests" / "eval" / "six-rules").glob("*.csv")):
        for message in accuracy.read_messages(path):
            if message.role == "agent":
                out.append((path.name, normalize_text(message.text), int(rule in message.labels)))
    cases = tomllib.loads((REPO / "tests" / "rules" / f"{rule}.toml").read_text(encoding="utf-8"))["case"]
    for case in cases:
        rows = list(csv.reader(io.StringIO(case["chat"].strip())))
        header = rows[0]
        if "role" not in header or "text" not in header:
            continue  # a case in another layout (its roles are read the tool's way): left out
        role, text = header.index("role"), header.index("text")
        flagged = {item["row"] for item in case.get("expect", [])}
        for number, row in enumerate(rows[1:], start=2):
            if len(row) > max(role, text) and row[role].strip().lower() in ("agent", "客服"):
                out.append(("cases", normalize_text(row[text]), int(number in flagged)))
    return out


def _pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, lowercase=False),
                         LogisticRegression(C=C, class_weight="balanced", max_iter=5000))


def choose_threshold(data: list[tuple[str, str, int]], target: float = TARGET_PRECISION) -> float:
    """The lowest out-of-fold score (leave one eval file out; the cases always train) at which
    precision stays >= TARGET_PRECISION."""
    import numpy as np

    groups = sorted({g for g, _, _ in data if g != "cases"})
    scores, labels = [], []
    for held in groups:
        train = [(t, y) for g, t, y in data if g != held]
        test = [(t, y) for g, t, y in data if g == held]
        model = _pipeline().fit([t for t, _ in train], [y for _, y in train])
        scores += model.predict_proba([t for t, _ in test])[:, 1].tolist()
        labels += [y for _, y in test]
    scores, labels = np.asarray(scores), np.asarray(labels)
    best = 1.0
    for threshold in sorted(set(scores.tolist()), reverse=True):
        flagged = scores >= threshold
        if flagged.sum() and (flagged & (labels == 1)).sum() / flagged.sum() >= target:
            best = threshold
    found = ((scores >= best) & (labels == 1)).sum()
    print(f"leave-one-file-out at {best:.4f}: recall {found / max(1, labels.sum()):.2f} ({found} of {labels.sum()})")
    return round(float(best), 4)


def write_model(pipeline, threshold: float, path: Path, rule: str = RULE, target: float = TARGET_PRECISION) -> None:
    vectorizer, classifier = pipeline.steps[0][1], pipeline.steps[1][1]
    lines = [
        f"# {rule}'s learned recall aid: written by benchmarks/train_question_model.py, do not edit.",
        f"# char_wb n-grams {NGRAMS[0]}-{NGRAMS[1]}, sublinear tf, idf, l2 norm; logistic regression C={C}",
        f"# threshold: the lowest leave-one-file-out score with precision >= {target}",
        "# then idf<TAB>weight<TAB>n-gram (JSON, spaces and # escaped)",
        f"intercept\t{float(classifier.intercept_[0])!r}",
        f"threshold\t{threshold!r}",
    ]
    for gram, column in sorted(vectorizer.vocabulary_.items()):
        weight = float(classifier.coef_[0][column])
        encoded = json.dumps(gram, ensure_ascii=False).replace(" ", "\\u0020").replace("#", "\\u0023")
        lines.append(f"{float(vectorizer.idf_[column])!r}\t{weight!r}\t{encoded}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--check", action="store_true", help="only compare the written model with scikit-learn")
    parser.add_argument("--rule", default=RULE, help="the rule whose labels train it (rhetorical-question, "
                        "forbidden-phrase: --rule forbidden-phrase --precision 0.99 --out rules/lists/forbidden-model.tsv)")
    parser.add_argument("--precision", type=float, default=TARGET_PRECISION,
                        help="the leave-one-file-out precision the threshold keeps")
    args = parser.parse_args(argv)
    data = training_messages(args.rule)
    texts, labels = [t for _, t, _ in data], [y for _, _, y in data]
    pipeline = _pipeline().fit(texts, labels)
    if not args.check:
        threshold = choose_threshold(data, args.precision)
        write_model(pipeline, threshold, args.out, args.rule, args.precision)
        print(f"{len(texts)} agent messages ({sum(labels)} labelled {args.rule}), threshold {threshold}: wrote {args.out}")
    model = QuestionModel.from_lines(args.out.read_text(encoding="utf-8").splitlines())
    expected = pipeline.predict_proba(texts)[:, 1]
    worst = max(abs(model.probability(t) - e) for t, e in zip(texts, expected))
    print(f"largest difference from scikit-learn over the training texts: {worst:.2e}")
    analyzer = pipeline.steps[0][1].build_analyzer()
    assert all(Counter(char_wb_ngrams(t, *NGRAMS)) == Counter(analyzer(t)) for t in texts[:500])
    return 0 if worst < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
