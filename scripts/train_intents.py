"""Train the learned intent layer (nlp/intent_model.py) and report grouped cross-validation.

    python scripts/train_intents.py            # CV report + write nlp/data/intent_model.tsv
    python scripts/train_intents.py --cv-only

Offline only (scikit-learn, requirements-dev.txt). Training rows: ../shared/data/questions_dev.jsonl (read
in place), tests/nlp/data/*questions*.jsonl (the old held-out question sets, training data since issue 14)
and the writers' corpus nlp/data/corpus/questions.jsonl (adjudicated). Never anything under /work/heldout.

Cross-validation: leave one corpus writer persona out (the other rows always train); the out-of-fold
accuracy on the corpus rows is the in-house estimate (the patterns in intents.tsv were tuned on dev and
the old sets, not on the corpus). Model: multinomial LogisticRegression (lbfgs, L2) over the features of
nlp/intent_model.py; features seen in fewer than MIN_DF rows are dropped, weights under PRUNE are not
written. Deterministic.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus_import import NEWEST_FROZEN, held_back, read  # noqa: E402  (scripts/ is on sys.path when a script runs)

from nlp.intent import _model, _score_repaired, normalize  # noqa: E402
from nlp.intent_model import MODEL_PATH, question_features  # noqa: E402
from nlp.questions_eval import LABELLED  # noqa: E402

CORPUS = ROOT / "nlp" / "data" / "corpus" / "questions.jsonl"
SOURCES = [ROOT.parent / "shared" / "data" / "questions_dev.jsonl",
           *sorted(p for p in (ROOT / "tests" / "nlp" / "data").glob("*questions*.jsonl")
                   if p.name.split("_")[0] not in NEWEST_FROZEN), CORPUS]
CV_REPORT = ROOT / "nlp" / "data" / "corpus" / "CV_INTENTS.md"
MIN_DF = 2
PRUNE = 0.03
C = 2.0
LABELS = LABELLED


def load() -> list[dict]:
    rows = []
    for path in SOURCES:
        for r in read(path):
            if held_back(r):
                continue
            fixed = _model().repair(normalize(r["text"]))
            scores = _score_repaired(fixed)
            r["_feats"] = question_features(fixed, scores)
            ranked = sorted(((v, k) for k, v in scores.items() if k != "none"), reverse=True)
            top = ranked[0] if ranked else (0.0, "none")
            r["_rule"] = "none" if top[0] < 1.0 or scores.get("none", 0.0) >= top[0] else top[1]
            r["_group"] = "w:" + r["writer"] if r.get("writer") else path.stem
            r["_corpus"] = path == CORPUS
            rows.append(r)
    return rows


def fit(rows: list[dict]):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    df = Counter(f for r in rows for f in r["_feats"])
    vec = DictVectorizer()
    x = vec.fit_transform([{f: v for f, v in r["_feats"].items() if df[f] >= MIN_DF} for r in rows])
    m = LogisticRegression(C=C, max_iter=5000)
    m.fit(x, [LABELS.index(r["intent"]) for r in rows])
    return vec, m


def predict(model, rows: list[dict]) -> list[str]:
    vec, m = model
    return [LABELS[int(k)] for k in m.predict(vec.transform([r["_feats"] for r in rows]))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv-only", action="store_true")
    args = ap.parse_args()
    rows = load()
    print(f"{len(rows)} rows, groups {dict(Counter(r['_group'] for r in rows))}")
    corpus = [r for r in rows if r["_corpus"]]
    pred: dict[str, str] = {}
    for g in sorted({r["_group"] for r in corpus}):
        test = [r for r in corpus if r["_group"] == g]
        model = fit([r for r in rows if r["_group"] != g])
        pred.update(zip((r["id"] for r in test), predict(model, test), strict=True))
    n = len(corpus)
    lines = []
    if n:
        acc = sum(pred[r["id"]] == r["intent"] for r in corpus) / n
        rule = sum(r["_rule"] == r["intent"] for r in corpus) / n
        lines.append(f"Corpus questions: {n} rows, {len({r['_group'] for r in corpus})} writer personas (leave one out).")
        lines.append(f"Intent accuracy, out-of-fold: learned layer {acc:.3f}; patterns alone {rule:.3f}.")
        per = Counter(r["intent"] for r in corpus)
        ok = Counter(r["intent"] for r in corpus if pred[r["id"]] == r["intent"])
        lines.append("Per intent (recall): " + ", ".join(f"{k} {ok[k] / per[k]:.2f}" for k in LABELS if per[k]))
        errs = Counter((r["intent"], pred[r["id"]]) for r in corpus if pred[r["id"]] != r["intent"])
        lines.append("Most frequent confusions (gold -> predicted): "
                     + ", ".join(f"{a}->{b} {c}" for (a, b), c in errs.most_common(6)))
    print("\n".join(lines))
    if args.cv_only:
        return
    CV_REPORT.write_text("# Grouped cross-validation of the intent layer (written by scripts/train_intents.py)\n\n"
                         + "\n\n".join(lines) + "\n", encoding="utf-8")
    vec, m = fit(rows)
    out = ["# PerfBot learned intent layer - generated by scripts/train_intents.py, do not edit by hand.",
           "@labels\t" + "\t".join(LABELS[int(k)] for k in m.classes_),
           "@bias\t" + "\t".join(f"{v:.4f}" for v in m.intercept_)]
    kept = 0
    for j, f in sorted(enumerate(vec.get_feature_names_out()), key=lambda x: x[1]):
        w = [float(m.coef_[k][j]) for k in range(len(m.classes_))]
        if max(abs(v) for v in w) >= PRUNE:
            out.append(str(f) + "\t" + "\t".join(f"{v:.3f}" for v in w))
            kept += 1
    MODEL_PATH.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_PATH} ({MODEL_PATH.stat().st_size} bytes, {kept} features)")


if __name__ == "__main__":
    main()
