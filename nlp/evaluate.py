"""Evaluation of nlp.analyze on a labelled replies file (JSON Lines, see shared/data/README.md).

`eval_replies(path)` returns:
    n, risk_micro_f1, risk {class: {precision, recall, f1, support}},
    sentiment_accuracy, sentiment_macro_f1, sentiment {class: {precision, recall, f1, support}},
    ms_per_item (mean wall time of one analyze() call, measured after a warm-up, start-up excluded).
"""

from __future__ import annotations

import json
import time

from nlp.analyze import analyze
from nlp.lexicon import CATEGORIES

SENTIMENTS = ("pos", "neu", "neg")


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}


def load_rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def eval_replies(path: str) -> dict:
    rows = load_rows(path)
    analyze("预热：人手不够，天天加班", "checkin")  # warm-up: lazy loading is not timed
    for row in rows[:5]:
        analyze(row["text"], row.get("source", "checkin"))
    start = time.perf_counter()
    results = [analyze(row["text"], row.get("source", "checkin")) for row in rows]
    elapsed = time.perf_counter() - start
    counts = {c: [0, 0, 0] for c in CATEGORIES}  # tp, fp, fn
    for row, res in zip(rows, results, strict=True):
        gold, pred = set(row.get("risks", [])), set(res.risk_categories)
        for c in CATEGORIES:
            counts[c][0] += c in gold and c in pred
            counts[c][1] += c in pred and c not in gold
            counts[c][2] += c in gold and c not in pred
    tp, fp, fn = (sum(v[i] for v in counts.values()) for i in range(3))
    micro = _prf(tp, fp, fn)["f1"]
    gold_s = [row["sentiment"] for row in rows]
    pred_s = [res.sentiment for res in results]
    sent = {}
    for c in SENTIMENTS:
        stp = sum(g == p == c for g, p in zip(gold_s, pred_s, strict=True))
        sfp = sum(p == c and g != c for g, p in zip(gold_s, pred_s, strict=True))
        sfn = sum(g == c and p != c for g, p in zip(gold_s, pred_s, strict=True))
        sent[c] = _prf(stp, sfp, sfn)
    n = len(rows)
    return {
        "n": n,
        "risk_micro_f1": micro,
        "risk": {c: _prf(*counts[c]) for c in CATEGORIES},
        "sentiment_accuracy": round(sum(g == p for g, p in zip(gold_s, pred_s, strict=True)) / n, 4) if n else 0.0,
        "sentiment_macro_f1": round(sum(v["f1"] for v in sent.values()) / len(SENTIMENTS), 4),
        "sentiment": sent,
        "ms_per_item": round(elapsed * 1000 / n, 4) if n else 0.0,
    }


def format_replies_report(result: dict) -> str:
    lines = [f"Replies evaluation ({result['n']} items)", ""]
    lines.append(f"{'risk':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for c, m in result["risk"].items():
        lines.append(f"{c:<12}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>9}")
    lines.append(f"{'micro F1':<12}{result['risk_micro_f1']:>30.3f}")
    lines.append("")
    lines.append(f"{'sentiment':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for c, m in result.get("sentiment", {}).items():
        lines.append(f"{c:<12}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>9}")
    lines.append(f"{'accuracy':<12}{result['sentiment_accuracy']:>30.3f}")
    lines.append(f"{'macro F1':<12}{result['sentiment_macro_f1']:>30.3f}")
    lines.append("")
    lines.append(f"time per reply: {result['ms_per_item']:.3f} ms (after warm-up)")
    return "\n".join(lines)
