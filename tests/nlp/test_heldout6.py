"""Sixth generalisation round: tests/nlp/data/heldout6_replies.jsonl (I, ids `r6-i…`, 82 rows, 38 with risks,
weighted to attrition (24) and burnout (13) incl. implicit forms, plus hard negatives: recruiting, a
customer's staff leaving, colleagues leaving -> resource, negated/answered intent), written in the dev style
from shared/data/README.md BEFORE this round's changes; never trained or tuned on (scripts/train_risk.py
and scripts/train_sentiment.py refuse r6- ids); only aggregate figures were looked at, measured twice.

Measured (risk micro-F1 / burnout R / attrition R (P) / sentiment macro-F1):
- before:                                                        0.810 / 0.92 / 0.67 (0.89) / 0.758
- after (implicit leaving families in risk_lexicon.tsv: contract not renewed, after the bonus, referral
  for the writer, quit-and-rest / gap, "if refused I leave", 去留/观望, heart not here / how long I stay,
  new employer / back home / start-up, next job settled / poached / 想跳; a term whose object is the
  writer (有人在挖我) is not re-owned by a colleague subject):  0.905 / 0.92 / 0.92 (0.92) / 0.747
Thresholds are the measured levels rounded down; speed is not asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

from nlp.evaluate import eval_replies

REPLIES = Path(__file__).parent / "data" / "heldout6_replies.jsonl"


def test_heldout6_file_is_well_formed() -> None:
    rows = [json.loads(x) for x in REPLIES.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len({r["id"] for r in rows}) == len(rows) >= 80
    for r in rows:
        assert r["id"].startswith("r6-i")
        assert r["source"] in {"checkin", "visit", "manager"}
        assert r["sentiment"] in {"pos", "neu", "neg"}
        assert set(r["risks"]) <= {"burnout", "attrition", "resource", "conflict"}
        if r["source"] == "visit":
            assert len(r["text"]) <= 20, r["id"]


def test_heldout6_replies_honest_level() -> None:
    r = eval_replies(str(REPLIES))
    assert r["risk_micro_f1"] >= 0.90, r["risk"]
    assert r["risk"]["burnout"]["recall"] >= 0.90, r["risk"]
    assert r["risk"]["attrition"]["recall"] >= 0.91, r["risk"]
    assert r["sentiment_macro_f1"] >= 0.74, r["sentiment"]
