"""Learned risk component: one logistic regression per category over jieba tokens and character bigrams.

It only adds recall on top of the rules in nlp/risk.py (see `model_matches`):
- a category already found by the rules is left alone;
- a category whose lexicon terms matched but were dropped by a context rule (negated, resolved,
  answered, third party, other sense, one-off...) is vetoed: the model may not bring it back;
- otherwise, when P(category | text) >= the category's threshold and the top feature weighs >= MIN_EVIDENCE (chosen by grouped cross-validation in
  scripts/train_risk.py), the evidence is the highest-weight feature in the text; that span must not
  overlap a rule signal of another category, and must
  still pass the same clause rules (negation, owner, visit-note owner, answered question, resolved,
  recruiting for attrition) before a signal is reported.

Model file: nlp/data/risk_model.tsv, written deterministically by scripts/train_risk.py. Loaded lazily,
once, under a lock; read-only afterwards, so `model_matches` is thread-safe.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from nlp.lexicon import CATEGORIES, Entry
from nlp.normalize import DATA_DIR

MODEL_PATH = DATA_DIR / "risk_model.tsv"
MIN_EVIDENCE = 1.0  # the top feature must carry real weight on its own (not 他的 / 跑 riding on the bias)
_SKIP = set("，。！？；：,.!?;:、\n \t…~\"'“”‘’（）()[]【】《》<>-—_/\\|*#@&%+=") | {"\ue000"}


def features(text: str, tokens: list[tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Binary features -> first span: `w:` jieba tokens and `b:` character bigrams (not across punctuation)."""
    out: dict[str, tuple[int, int]] = {}
    for s, e in tokens:
        tok = text[s:e]
        if tok.strip() and not all(c in _SKIP for c in tok) and not tok.isdigit():
            out.setdefault("w:" + tok, (s, e))
    for i in range(len(text) - 1):
        a, b = text[i], text[i + 1]
        if a in _SKIP or b in _SKIP or a.isspace() or b.isspace() or (a.isdigit() and b.isdigit()):
            continue
        out.setdefault("b:" + a + b, (i, i + 2))
    return out


@dataclass(frozen=True)
class Model:
    bias: dict[str, float]
    threshold: dict[str, float]
    weights: dict[str, tuple[float, ...]]  # feature -> one weight per category (CATEGORIES order)


def parse_model(lines: list[str]) -> Model:
    bias: dict[str, float] = {}
    thr: dict[str, float] = {}
    weights: dict[str, tuple[float, ...]] = {}
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.rstrip("\n").split("\t")
        if cols[0] == "@bias":
            bias = dict(zip(CATEGORIES, map(float, cols[1:]), strict=True))
        elif cols[0] == "@threshold":
            thr = dict(zip(CATEGORIES, map(float, cols[1:]), strict=True))
        else:
            weights[cols[0]] = tuple(float(x) for x in cols[1:])
    return Model(bias, thr, weights)


_lock = threading.Lock()
_model: Model | None = None


def load_model() -> Model | None:
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is None and MODEL_PATH.exists():
            with open(MODEL_PATH, encoding="utf-8") as fh:
                _model = parse_model(fh.readlines())
    return _model


def scores(model: Model, feats: dict[str, tuple[int, int]]) -> list[tuple[float, tuple[int, int] | None]]:
    """Per category: probability and the span of the highest positive-weight feature."""
    out = []
    for k, cat in enumerate(CATEGORIES):
        z = model.bias[cat]
        best, span = 0.0, None
        for f, sp in feats.items():
            w = model.weights.get(f)
            if w is None:
                continue
            z += w[k]
            if w[k] > best:
                best, span = w[k], sp
        out.append((1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))), span))
    return out


def _best_weight(model: Model, feats: dict[str, tuple[int, int]], k: int) -> float:
    return max((model.weights[f][k] for f in feats if f in model.weights), default=0.0)


_NO_FLAGS = Entry("", "", None, 1, frozenset({"self"}), (), None)


def model_matches(det, source: str, model: Model | None = None, thresholds: dict[str, float] | None = None):
    """Extra `Match`es from the model for categories the rules neither found nor vetoed."""
    from nlp.risk import (
        _DECLINED,
        _RECRUIT,
        Match,
        _answered,
        _inherits_third,
        _negated_span,
        _owner_blocks,
        _resolved,
    )

    model = model or load_model()
    if model is None:
        return []
    thr = thresholds or model.threshold
    have = {m.category for m in det.matches} | det.vetoed
    if len(have) == len(CATEGORIES):
        return []
    text, spans = det.text, det.spans
    feats = features(text, det.tokens)
    out = []
    scored = scores(model, feats)
    w_best = {c: _best_weight(model, feats, k) for k, c in enumerate(CATEGORIES)}
    for cat, (p, span) in zip(CATEGORIES, scored, strict=True):
        if cat in have or span is None or p < thr[cat] or w_best[cat] < MIN_EVIDENCE:
            continue
        s, e = span
        if any(m.start < e and s < m.end for m in det.matches):
            continue  # that text is already explained by a rule signal of another category
        idx = next((i for i, (a, b) in enumerate(spans) if a <= s < b), None)
        if idx is None:
            continue
        cs, ce = spans[idx]
        if _negated_span(text, cs, s, e):
            continue
        owner = _owner_blocks(text[cs:s], _NO_FLAGS, source)
        if owner == "third" or (owner == "colleague" and cat == "attrition"):
            continue
        if cat == "attrition" and (_DECLINED.search(text, e) or _RECRUIT.search(text, cs, ce)):
            continue
        if source == "visit" and idx > 0 and _inherits_third(text, spans, idx, s):
            continue
        if _answered(text, spans, idx) or _resolved(text, spans, idx, e):
            continue
        out.append(Match(cat, s, e, 1 if p < 0.75 else 2))
    return out
