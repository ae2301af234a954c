"""The HR risk flag policy: which rules a new reply analysis fires (pure functions; the reads are
in store.py).

Rules (``settings.policy``):

* **strong** — any ``attrition`` signal, or a ``burnout`` signal with severity ≥ ``alert_min_severity``;
* **repeated** — ≥ ``risk_repeat_count`` replies carrying the same category within ``risk_repeat_days`` days
  (the three parts of one check-in count as one reply, see :func:`reply_group`);
* **trend** — check-in sentiment falling over three consecutive check-in weeks (strictly, by at least
  ``TREND_MIN_DROP`` in total, ending below zero), flagged as category ``sentiment``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from handlers.common.calendar import week_of
from nlp.lexicon import CATEGORIES
from storage.models import ReplyAnalysis

TREND = "sentiment"
TREND_MIN_DROP = 0.3


@dataclass(frozen=True)
class Rules:
    alert_min_severity: int = 3
    repeat_count: int = 2
    repeat_days: int = 14

    @classmethod
    def from_policy(cls, policy: Any) -> Rules:
        return cls(policy.alert_min_severity, policy.risk_repeat_count, policy.risk_repeat_days)


def reply_group(a: ReplyAnalysis) -> str:
    """The parts of one check-in (refs ``checkin:<id>:<part>[:r<rev>]``) count as one reply."""
    ref = a.ref or f"#{a.id}"
    if a.source == "checkin" and ref.startswith("checkin:"):
        return ":".join(ref.split(":")[:2])
    return ref


def _evidence(a: ReplyAnalysis, category: str) -> dict[str, Any]:
    snippets = [r["evidence"] for r in a.risks if r.get("category") == category]
    return {"analysis_id": a.id, "source": a.source, "at": a.created_at.isoformat(),
            "snippet": "、".join(dict.fromkeys(snippets)) or a.text[:30], "text": a.text, "score": round(a.score, 2)}


def evaluate(a: ReplyAnalysis, recent: list[ReplyAnalysis], checkin_history: list[ReplyAnalysis], rules: Rules,
             tz: tzinfo) -> list[tuple[str, str, list[dict]]]:
    """(category, rule, evidence) for every rule the new analysis ``a`` fires. ``recent``: the
    employee's analyses of the last ``repeat_days`` days up to ``a`` (oldest first);
    ``checkin_history``: their latest check-in analyses (newest first; used for check-in replies)."""
    found: list[tuple[str, str, list[dict]]] = []
    cats = [c for c in CATEGORIES if any(r.get("category") == c for r in a.risks)]
    for c in cats:
        strong = c == "attrition" or (c == "burnout" and any(
            r["category"] == c and int(r.get("severity", 1)) >= rules.alert_min_severity for r in a.risks))
        if strong:
            found.append((c, "strong", [_evidence(a, c)]))
    for c in cats:
        hits = [r for r in recent if any(x.get("category") == c for x in r.risks)]
        if len({reply_group(r) for r in hits}) >= rules.repeat_count:
            found.append((c, "repeated", [_evidence(r, c) for r in hits]))
    if a.source == "checkin":
        trend = falling(checkin_history, tz)
        if trend:
            found.append((TREND, "trend", trend))
    return found


def falling(rows: list[ReplyAnalysis], tz: tzinfo) -> list[dict] | None:
    """Evidence when check-in sentiment fell over the last three check-in weeks (``rows``: the
    employee's check-in analyses, newest first)."""
    weeks: dict[str, list[ReplyAnalysis]] = defaultdict(list)
    for r in rows:
        weeks[week_of(r.created_at, tz)].append(r)
    last3 = sorted(weeks)[-3:]
    if len(last3) < 3:
        return None
    means = [sum(r.score for r in weeks[w]) / len(weeks[w]) for w in last3]
    if not (means[0] > means[1] > means[2] and means[0] - means[2] >= TREND_MIN_DROP and means[2] < 0):
        return None
    out = []
    for w, m in zip(last3, means, strict=True):
        r = weeks[w][0]  # newest of the week
        out.append({"analysis_id": r.id, "source": r.source, "at": r.created_at.isoformat(),
                    "snippet": r.text[:30], "text": r.text, "score": round(m, 2), "week": w})
    return out
