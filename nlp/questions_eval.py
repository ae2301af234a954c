"""Evaluate ``nlp.intent.parse_question`` on a questions JSONL file.

Each line: ``{"id": ..., "text": ..., "intent": ..., "period": <label or null>}``
(see ``../shared/data/README.md``). Used by ``python -m bot eval questions PATH [--json]``.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import date

from nlp.intent import INTENTS, parse_question

__all__ = ["eval_questions", "format_questions_report"]

#: the intents labelled sets know (shared/data/README.md, nlp/data/GUIDELINE.md)
LABELLED = ("tasks_left", "last_feedback", "goal_progress", "goal_alignment", "points", "checkin_status",
            "adjust_target", "help", "none")
#: product-only intents (answered by the bot, with no labelled questions) -> the labelled intent they
#: correspond to, for evaluation against sets that only know the labelled intents
EVAL_MAP: dict[str, str] = {
    "team_view": "goal_progress",  # a manager's view of the team's targets
    "team_progress": "goal_progress",
    "team_status": "checkin_status",  # who in my team has submitted
    "adjust_status": "adjust_target",  # where is my adjustment request
    "adjustment_status": "adjust_target",
    "small_talk": "none",
    "smalltalk": "none",
    "greeting": "none",
    "thanks": "none",
}
EVAL_MAP_HELP = ("Product-only intents are scored as the labelled intent they correspond to: "
                 + ", ".join(f"{k} -> {v}" for k, v in EVAL_MAP.items()) + " (any other unknown intent -> none).")


def labelled(intent: str) -> str:
    """The labelled intent a predicted intent is scored as."""
    return intent if intent in LABELLED else EVAL_MAP.get(intent, "none")


#: the periods labelled sets know; the parser's other periods (今年 -> this_year, 下周 -> next_week,
#: 最近两周 -> recent, 周五前 -> until, 上上周 ...) are labelled null there ("expressions outside the set")
LABELLED_PERIODS = ("this_week", "last_week", "this_month", "last_month", "this_quarter", "last_quarter")


def labelled_period(label: str | None) -> str | None:
    """The labelled period a predicted period is scored as: itself, or null for a product-only one."""
    if label in LABELLED_PERIODS or (label or "").startswith(("month:", "quarter:")):
        return label
    return None


#: reference date used when none is given; the dev set's period labels do not depend on it
DEFAULT_TODAY = date(2026, 11, 24)


def _load(path: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            row = json.loads(line)
            for key in ("text", "intent"):
                if key not in row:
                    raise ValueError(f"{path}:{n}: missing {key!r}")
            rows.append(row)
    return rows


def eval_questions(path: str, today: date | None = None) -> dict:
    """Intent and period accuracy, speed, confusion matrix and errors for ``path``.

    ``ms_per_item`` is measured on a second pass, after a warm-up pass that loads
    the model (jieba dictionary, pattern tables).
    """
    today = today or DEFAULT_TODAY
    rows = _load(path)
    for row in rows[:20] or [{"text": "warm-up"}]:  # warm-up
        parse_question(row["text"], today)

    t0 = time.perf_counter()
    preds = [parse_question(row["text"], today) for row in rows]
    elapsed = time.perf_counter() - t0

    confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors = []
    intent_ok = period_ok = 0
    for row, q in zip(rows, preds, strict=True):
        exp_intent, exp_period = row["intent"], row.get("period")
        got = labelled(q.intent)
        confusion[exp_intent][got] += 1
        i_ok = got == exp_intent
        p_ok = labelled_period(q.period.label) == exp_period
        intent_ok += i_ok
        period_ok += p_ok
        if not (i_ok and p_ok):
            errors.append(
                {
                    "id": row.get("id"),
                    "text": row["text"],
                    "expected": {"intent": exp_intent, "period": exp_period},
                    "got": {"intent": q.intent, "period": q.period.label, "confidence": q.confidence},
                }
            )
    n = len(rows)
    return {
        "n": n,
        "intent_accuracy": round(intent_ok / n, 4) if n else 0.0,
        "period_accuracy": round(period_ok / n, 4) if n else 0.0,
        "ms_per_item": round(elapsed * 1000 / n, 4) if n else 0.0,
        "confusion": {k: dict(v) for k, v in sorted(confusion.items())},
        "errors": errors,
    }


def format_questions_report(result: dict) -> str:
    """Human-readable report of an ``eval_questions`` result."""
    lines = [
        f"questions: n={result['n']}",
        f"  intent accuracy: {result['intent_accuracy']:.2%}",
        f"  period accuracy: {result['period_accuracy']:.2%}",
        f"  speed:           {result['ms_per_item']:.3f} ms/question",
        "",
        "confusion (rows = expected, columns = predicted):",
    ]
    confusion = result.get("confusion", {})
    labels = [i for i in INTENTS if i in confusion or any(i in r for r in confusion.values())]
    seen = {p for r in confusion.values() for p in r} | set(confusion)
    labels += sorted(seen - set(labels))
    short = {lab: lab[:8] for lab in labels}
    lines.append(" " * 16 + " ".join(f"{short[lab]:>8}" for lab in labels))
    for exp in labels:
        if exp not in confusion:
            continue
        row = confusion[exp]
        cells = " ".join(f"{row.get(p, 0) or '.':>8}" for p in labels)
        lines.append(f"  {exp:<14}{cells}")
    errors = result.get("errors", [])
    lines += ["", f"errors ({len(errors)}):"]
    for e in errors:
        exp, got = e["expected"], e["got"]
        what = []
        if exp["intent"] != got["intent"]:
            what.append(f"intent {exp['intent']} → {got['intent']}")
        if exp["period"] != got["period"]:
            what.append(f"period {exp['period']} → {got['period']}")
        lines.append(f"  {e['id']}: {e['text']}  [{'; '.join(what)}]")
    return "\n".join(lines)
