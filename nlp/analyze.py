"""Public entry point: sentiment + risk signals for one free-text reply.

    >>> a = analyze("人手不够，每天加班到十点。")
    >>> a.risk_categories
    ['burnout', 'resource']

`analyze` is fast (well under a millisecond per reply once warm), thread-safe (no shared mutable state
after the one-time, lock-protected lazy loading of the lexicons, jieba, the sentiment model and the
risk model). Risk signals come from the rules (nlp/risk.py) plus the learned model (nlp/risk_model.py),
which only adds categories the rules neither found nor vetoed; sentiment sees the rule matches only
(rule score + learned 3-class layer, nlp/sentiment.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from nlp.lexicon import CATEGORIES
from nlp.normalize import normalize
from nlp.risk import detect_full
from nlp.risk_model import model_matches
from nlp.sentiment import score_sentiment

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


def analyze(text: str, source: str = "checkin") -> Analysis:
    if source not in SOURCES:
        source = "checkin"
    norm = normalize(text or "")
    matches = []
    model_found = []
    tokens = None
    if norm.text.strip():
        det = detect_full(norm, source)
        matches = det.matches
        model_found = model_matches(det, source)  # learned recall where the rules found and vetoed nothing
        tokens = det.tokens if det.text == norm.text else None  # reuse the one jieba pass
    risks = []
    for m in sorted(matches + model_found, key=lambda x: (CATEGORIES.index(x.category), x.start)):
        evidence, s, e = norm.evidence(m.start, m.end)
        risks.append(RiskSignal(m.category, evidence, s, e, m.severity))
    label, score = score_sentiment(norm, source, matches, tokens)
    return Analysis(label, score, tuple(risks))
