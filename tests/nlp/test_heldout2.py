"""Second generalisation round: tests/nlp/data/heldout2_*.jsonl, written from the labelling rules in
shared/data/README.md before the nlp/ code was read, in the dev set's style.

Halves, told apart by id:
- `r2-c…`/`q2-c…` (C): tuned on.
- `r2-d…`/`q2-d…` (D): meant as the honest estimate, but its BEFORE error list was printed next to C's
  and several generic lexicon forms were written with both in view, so D is optimistic (contaminated).
- `r2-e…`/`q2-e…` (E): a small set written after tuning and never tuned on; the honest estimate.
  Measured: risk micro-F1 0.78 (burnout recall 0.71, attrition recall 0.67), sentiment macro-F1 0.87,
  intent 0.963, period 1.0 - the risk figures are BELOW the product targets (0.92 / recall 0.92).

Product targets: risk micro-F1 >= 0.92 with burnout and attrition recall >= 0.92, sentiment macro-F1
>= 0.80, intent accuracy >= 0.95, period accuracy >= 0.95. Thresholds below are the measured levels
rounded down with a small margin. Speed is not asserted (machine dependent).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp.evaluate import eval_replies
from nlp.questions_eval import eval_questions

DATA = Path(__file__).parent / "data"
REPLIES = DATA / "heldout2_replies.jsonl"
QUESTIONS = DATA / "heldout2_questions.jsonl"
RISKS = {"burnout", "attrition", "resource", "conflict"}
INTENTS = {"tasks_left", "last_feedback", "goal_progress", "goal_alignment", "points", "checkin_status",
           "adjust_target", "help", "none"}


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _half(src: Path, prefix: str, tmp_path: Path) -> str:
    picked = [r for r in _rows(src) if r["id"].startswith(prefix)]
    assert picked, prefix
    out = tmp_path / f"{prefix}.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
    return str(out)


def test_heldout2_files_are_well_formed() -> None:
    replies, questions = _rows(REPLIES), _rows(QUESTIONS)
    assert len({r["id"] for r in replies}) == len(replies)
    assert len({q["id"] for q in questions}) == len(questions)
    for r in replies:
        assert r["source"] in {"checkin", "visit", "manager"}
        assert r["sentiment"] in {"pos", "neu", "neg"}
        assert set(r["risks"]) <= RISKS
        if r["source"] == "visit":
            assert len(r["text"]) <= 20, r["id"]
    for q in questions:
        assert q["intent"] in INTENTS
    counts = {c: sum(c in r["risks"] for r in replies) for c in RISKS}
    assert min(counts.values()) >= 25, counts


@pytest.mark.parametrize(
    ("prefix", "micro", "burnout", "attrition", "sentiment"),
    [
        ("r2-c", 0.98, 0.95, 0.95, 0.90),  # tuned on
        ("r2-d", 0.94, 0.92, 0.95, 0.80),  # optimistic: see module docstring
        ("r2-e", 0.75, 0.70, 0.65, 0.84),  # honest: below the risk targets (gap named in the docstring)
    ],
)
def test_heldout2_replies(tmp_path: Path, prefix: str, micro: float, burnout: float, attrition: float,
                          sentiment: float) -> None:
    r = eval_replies(_half(REPLIES, prefix, tmp_path))
    assert r["risk_micro_f1"] >= micro, r
    assert r["risk"]["burnout"]["recall"] >= burnout, r["risk"]
    assert r["risk"]["attrition"]["recall"] >= attrition, r["risk"]
    assert r["sentiment_macro_f1"] >= sentiment, r["sentiment"]


@pytest.mark.parametrize(("prefix", "intent", "period"), [("q2-c", 0.98, 0.98), ("q2-d", 0.97, 0.97),
                                                          ("q2-e", 0.95, 0.95)])
def test_heldout2_questions(tmp_path: Path, prefix: str, intent: float, period: float) -> None:
    r = eval_questions(_half(QUESTIONS, prefix, tmp_path))
    assert r["intent_accuracy"] >= intent, r["errors"]
    assert r["period_accuracy"] >= period, r["errors"]
