"""Public entry point: sentiment + risk signals for one free-text reply.

    >>> a = analyze("人手不够，每天加班到十点。")
    >>> a.risk_categories
    ['burnout', 'resource']

`analyze` is fast (well under a millisecond per reply once warm), thread-safe (no shared mutable state
after the one-time, lock-protected lazy loading of the lexicons, jieba and the learned model).

Pipeline: normalise -> rules (nlp/risk.py: lexicon matches filtered by context rules, and the categories
they vetoed) -> rule sentiment score (nlp/sentiment.py) -> the learned model (nlp/reply_model.py), which
reads the text's n-grams and tokens together with the rules' verdicts and decides both the risk classes
(per-class calibrated thresholds) and the sentiment. A class's evidence is the rule signal's span when
the rules found it, else the text feature that weighs most for it. Without a model file the rules and
the rule score alone decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nlp.focus import head_end
from nlp.lexicon import CATEGORIES
from nlp.normalize import Normalized, looks_like_question, normalize
from nlp.reply_model import (
    Model,
    load_model,
    risk_matches,
    score,
    sentiment_label,
    shape_features,
    text_features,
)
from nlp.risk import Detection, detect_full
from nlp.sentiment import is_acknowledgement, lexicon_total, rule_label

SOURCES = ("checkin", "visit", "manager")


@dataclass(frozen=True)
class RiskSignal:
    category: str  # burnout | attrition | resource | conflict
    evidence: str  # substring of the original text: text[start:end]
    start: int
    end: int
    severity: int  # 1 mild .. 3 severe


@dataclass(frozen=True)
class Analysis:
    sentiment: str  # pos | neu | neg
    score: float  # [-1, 1], negative < 0 < positive
    risks: tuple[RiskSignal, ...]

    @property
    def risk_categories(self) -> list[str]:
        present = {r.category for r in self.risks}
        return [c for c in CATEGORIES if c in present]


def model_inputs(norm: Normalized, source: str) -> tuple[Detection, dict[str, tuple[int, int]], list[str], float]:
    """What the learned model reads (also used by scripts/train_replies.py, so training sees exactly this):
    the rule detection, the text features, the rule-verdict/shape features and the rule sentiment score."""
    det = detect_full(norm, source)
    total = lexicon_total(norm, source, det.matches, det.tokens if det.text == norm.text else None)
    feats = text_features(det.text, det.tokens)
    return det, feats, shape_features(det.text, source, det.matches, det.vetoed), total


def head_scores(model: Model, det: Detection, source: str) -> tuple[float, ...] | None:
    """P(class) on the reply without the reassuring tail that singles a rule signal out (nlp.focus): the
    tail must not count against the one problem it names. None when no signal is singled out."""
    if not det.kept:
        return None
    cut = head_end(det.text, det.spans, det.matches)
    if not cut:
        return None
    _, feats, extra, total = model_inputs(normalize(det.text[:cut]), source)
    return score(model, feats, extra, total).risk


QUESTION_NEG_FLOOR = -1.0  # lexicon total below which a question still reads as negative


def analyze(text: str, source: str = "checkin") -> Analysis:
    if source not in SOURCES:
        source = "checkin"
    norm = normalize(text or "")
    if not norm.text.strip():
        return Analysis("neu", 0.0, ())
    det, feats, extra, total = model_inputs(norm, source)
    model = load_model()
    if model is None:
        matches, label = det.matches, rule_label(total)
    else:
        s = score(model, feats, extra, total)
        label = sentiment_label(s)
        matches = risk_matches(model, det, s, source, head_scores(model, det, source))
    if is_acknowledgement(norm.text):
        label = "neu"
    elif label == "neg" and not matches and total > QUESTION_NEG_FLOOR and looks_like_question(norm.text):
        # A plain question to the bot (我离目标还差多少？) is neutral: only one that carries a risk
        # signal or clearly negative words reads as negative (never a distress reply to a question).
        label = "neu"
    risks = []
    for m in sorted(matches, key=lambda x: (CATEGORIES.index(x.category), x.start)):
        evidence, st, en = norm.evidence(m.start, m.end)
        risks.append(RiskSignal(m.category, evidence, st, en, m.severity))
    return Analysis(label, round(math.tanh(total / 2), 4), tuple(risks))
