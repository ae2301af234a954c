"""Leave-one-set-out estimate of the reply model over the newest held-out sets (default H13..H18).

    python scripts/loso_replies.py [--sets 13,14,...] [--jobs 2] [--tag NAME] [--save DIR]

The training configuration comes from the environment exactly as for scripts/train_replies.py (CORPUS_WEIGHT,
RISK_C, CV_FOLDS...). The rows are read once; for each set N (one worker process per set, --jobs at a time)
the model is trained on every row except heldoutN's (thresholds, policy and offsets chosen by the grouped
CV of that training), then heldoutN is measured with nlp.evaluate.eval_replies on that model. Prints per set
and the mean: risk micro-F1, per-class R/P, sentiment macro-F1. Nothing in the repository is written
(--save DIR writes each set's model file there).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing as mp
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import train_replies as T  # noqa: E402

import nlp.reply_model as rm  # noqa: E402
from nlp.evaluate import eval_replies  # noqa: E402
from nlp.lexicon import CATEGORIES as RISKS  # noqa: E402

ROWS: list[dict] = []
SAVE: Path | None = None


def run(n: int) -> dict:
    name = f"heldout{n}"
    train = [r for r in ROWS if r["_set"] != name]
    with contextlib.redirect_stdout(io.StringIO()):
        thr, off, pol, _ = T.cross_validate(train, False)
        model = T.to_model(T.fit(train), thr, off, pol)
    rm._model = model
    res = eval_replies(str(T.DATA / f"{name}_replies.jsonl"))
    if SAVE:
        T.write(model, SAVE / f"m{n}.tsv")
        res["size"] = (SAVE / f"m{n}.tsv").stat().st_size
    res["features"] = len(model.weights)
    res["thr"], res["policy"] = thr, str(pol)
    print(f"  H{n}: {res['risk_micro_f1']:.3f}", flush=True)
    return res


def row(name: str, r: dict) -> str:
    cls = " | ".join(f"{r['risk'][c]['recall']:.3f} / {r['risk'][c]['precision']:.3f}" for c in RISKS)
    return f"| {name} | {r['risk_micro_f1']:.3f} | {cls} | {r['sentiment_macro_f1']:.3f} |"


def main() -> None:
    global ROWS, SAVE
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="13,14,15,16,17,18")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tag", default="")
    ap.add_argument("--save", default="")
    args = ap.parse_args()
    sets = [int(s) for s in args.sets.split(",")]
    if args.save:
        SAVE = Path(args.save)
        SAVE.mkdir(parents=True, exist_ok=True)
    ROWS = T.load()
    with mp.get_context("fork").Pool(args.jobs) as pool:
        res = dict(zip(sets, pool.map(run, sets, chunksize=1), strict=True))
    k = len(res)
    mean = {"risk_micro_f1": sum(r["risk_micro_f1"] for r in res.values()) / k,
            "sentiment_macro_f1": sum(r["sentiment_macro_f1"] for r in res.values()) / k,
            "risk": {c: {m: sum(r["risk"][c][m] for r in res.values()) / k for m in ("recall", "precision")}
                     for c in RISKS}}
    lines = [f"LOSO {args.tag}", "| set | risk micro-F1 | R / P burnout | attrition | resource | conflict | sentiment macro-F1 |",
             "|---|---|---|---|---|---|---|"]
    lines += [row(f"H{n}", r) for n, r in res.items()] + [row("mean", mean)]
    print("\n".join(lines))
    print(f"features {max(r['features'] for r in res.values())}; ms/item {max(r['ms_per_item'] for r in res.values()):.3f}"
          + (f"; model size {max(r['size'] for r in res.values())} bytes" if SAVE else ""))
    for n, r in res.items():
        print(f"H{n} thr {r['thr']} {r['policy']}")


if __name__ == "__main__":
    main()
