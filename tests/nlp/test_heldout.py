"""Generalisation guard: the held-out sets in tests/nlp/data were written from the labelling rules in
shared/data/README.md, without reading the nlp/ code, in the same style as the dev sets.

Each file has two halves, told apart by id: `rh-a…`/`qh-a…` (half A) was used to tune lexicons and
weights, `rh-b…`/`qh-b…` (half B) was never tuned on and is the honest estimate for unseen data.

Product targets on unseen data: risk micro-F1 >= 0.92 with burnout and attrition recall >= 0.92,
sentiment macro-F1 >= 0.80, intent accuracy >= 0.95, period accuracy >= 0.95.
Thresholds below are what the code reaches on half B (rounded down, a small margin). Where that is
below a product target the assertion states the measured level, and the gap is named in the comment.
Speed is not asserted here (wall time depends on the machine); see `python -m bot eval`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp.evaluate import eval_replies
from nlp.questions_eval import eval_questions

DATA = Path(__file__).parent / "data"
REPLIES = DATA / "heldout_replies.jsonl"
QUESTIONS = DATA / "heldout_questions.jsonl"


def _half(src: Path, prefix: str, tmp_path: Path) -> str:
    rows = [line for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = [line for line in rows if json.loads(line)["id"].startswith(prefix)]
    assert picked, prefix
    out = tmp_path / f"{prefix}.jsonl"
    out.write_text("\n".join(picked) + "\n", encoding="utf-8")
    return str(out)


def test_heldout_files_are_well_formed() -> None:
    replies = [json.loads(x) for x in REPLIES.read_text(encoding="utf-8").splitlines() if x.strip()]
    questions = [json.loads(x) for x in QUESTIONS.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len(replies) >= 200 and len(questions) >= 140
    order = ["burnout", "attrition", "resource", "conflict"]
    for r in replies:
        assert r["source"] in ("checkin", "visit", "manager")
        assert r["sentiment"] in ("pos", "neu", "neg")
        assert r["risks"] == [c for c in order if c in r["risks"]]
        if r["source"] == "visit":
            assert len(r["text"]) <= 20, r["id"]
    assert len({r["id"] for r in replies}) == len(replies)
    assert len({q["id"] for q in questions}) == len(questions)


@pytest.fixture(scope="module")
def replies_b(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return eval_replies(_half(REPLIES, "rh-b", tmp_path_factory.mktemp("b")))


@pytest.fixture(scope="module")
def questions_b(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return eval_questions(_half(QUESTIONS, "qh-b", tmp_path_factory.mktemp("qb")))


def test_heldout_b_risks(replies_b: dict) -> None:
    risk = replies_b["risk"]
    assert replies_b["risk_micro_f1"] >= 0.92  # target 0.92 (measured 0.925)
    assert risk["burnout"]["recall"] >= 0.92  # target 0.92 (measured 1.00)
    # GAP: target 0.92, measured 0.909 (10/11): a team lead's worry that team members interview is missed
    assert risk["attrition"]["recall"] >= 0.90
    assert risk["resource"]["recall"] >= 0.75  # weakest class (measured 0.75)
    assert risk["conflict"]["recall"] >= 0.85  # measured 0.875
    for c in ("burnout", "attrition", "resource", "conflict"):
        assert risk[c]["precision"] >= 0.90, c


def test_heldout_b_sentiment(replies_b: dict) -> None:
    assert replies_b["sentiment_macro_f1"] >= 0.88  # target 0.80 (measured 0.90)


def test_heldout_b_questions(questions_b: dict) -> None:
    assert questions_b["intent_accuracy"] >= 0.95  # target 0.95 (measured 0.959)
    assert questions_b["period_accuracy"] >= 0.95  # target 0.95 (measured 1.00)


def test_heldout_whole_files() -> None:
    """Both halves together (A was tuned on, so these are optimistic; they guard against regressions)."""
    r = eval_replies(str(REPLIES))
    assert r["risk_micro_f1"] >= 0.95
    assert r["risk"]["burnout"]["recall"] >= 0.95
    assert r["risk"]["attrition"]["recall"] >= 0.95
    assert r["sentiment_macro_f1"] >= 0.92
    q = eval_questions(str(QUESTIONS))
    assert q["intent_accuracy"] >= 0.97
    assert q["period_accuracy"] >= 0.98
