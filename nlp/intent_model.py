"""Learned intent layer: a multinomial logistic regression over the question's character 1-3-grams and
the pattern scores of nlp/data/intents.tsv.

Features (`question_features`): `c:` character n-grams (1-3, not across spaces or punctuation) of the
normalised, typo-repaired question; `p:<intent>` the pattern score of each intent (numeric, clipped to
[0, 6]); `t:<intent>` the intent the patterns rank first; `q:` a question ending. Model file:
nlp/data/intent_model.tsv, written deterministically by scripts/train_intents.py (scikit-learn offline;
only this pure-Python reader runs at run time), loaded once under a lock.

`decide_learned` returns None (the patterns decide) when there is no model file, or when the patterns
rank first an intent the model does not know (a product-only intent added to intents.tsv without
labelled questions): new intents keep working by their patterns alone.
"""

from __future__ import annotations

import math
import threading

from nlp.normalize import DATA_DIR

MODEL_PATH = DATA_DIR / "intent_model.tsv"
SCORE_CLIP = 6.0
_SKIP = set("，。！？；：,.!?;:、\n \t…~\"'“”‘’（）()[]【】《》<>-—_/\\|*#@&%+=")

_lock = threading.Lock()
_model: tuple[tuple[str, ...], tuple[float, ...], dict[str, tuple[float, ...]]] | None = None
_loaded = False


def question_features(fixed: str, scores: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    n = len(fixed)
    for i in range(n):
        if fixed[i] in _SKIP or fixed[i].isspace():
            continue
        for j in range(i + 1, min(n, i + 3) + 1):
            if fixed[j - 1] in _SKIP or fixed[j - 1].isspace():
                break
            out["c:" + fixed[i:j]] = 1.0
    for intent, v in scores.items():
        if v > 0:
            out["p:" + intent] = min(SCORE_CLIP, v)
    if scores:
        out["t:" + max(scores.items(), key=lambda kv: kv[1])[0]] = 1.0
    if fixed.rstrip(" 。.!！~").endswith(("?", "？", "吗", "么", "呢", "啥", "多少", "几")):
        out["q:"] = 1.0
    return out


def load() -> tuple[tuple[str, ...], tuple[float, ...], dict[str, tuple[float, ...]]] | None:
    global _model, _loaded
    if _loaded:
        return _model
    with _lock:
        if not _loaded:
            if MODEL_PATH.exists():
                labels: tuple[str, ...] = ()
                bias: tuple[float, ...] = ()
                weights: dict[str, tuple[float, ...]] = {}
                for line in MODEL_PATH.read_text(encoding="utf-8").splitlines():
                    if not line.strip() or line.startswith("#"):
                        continue
                    cols = line.split("\t")
                    if cols[0] == "@labels":
                        labels = tuple(cols[1:])
                    elif cols[0] == "@bias":
                        bias = tuple(float(x) for x in cols[1:])
                    else:
                        weights[cols[0]] = tuple(float(x) for x in cols[1:])
                _model = (labels, bias, weights)
            _loaded = True
    return _model


def logits(model, feats: dict[str, float]) -> list[float]:
    labels, bias, weights = model
    z = list(bias)
    for f, v in feats.items():
        w = weights.get(f)
        if w is not None:
            for k in range(len(z)):
                z[k] += w[k] * v
    return z


def decide_learned(fixed: str, scores: dict[str, float]) -> tuple[str, float] | None:
    """(intent, confidence) from the learned layer, or None when the patterns should decide."""
    model = load()
    if model is None:
        return None
    labels = model[0]
    ranked = [kv for kv in scores.items() if kv[0] != "none" and kv[1] > 0]
    if ranked and max(ranked, key=lambda kv: kv[1])[0] not in labels:
        return None  # a product-only intent: its patterns decide
    z = logits(model, question_features(fixed, scores))
    m = max(z)
    exp = [math.exp(v - m) for v in z]
    k = max(range(len(z)), key=lambda i: z[i])
    return labels[k], round(min(0.99, exp[k] / sum(exp)), 3)
