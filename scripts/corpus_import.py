"""Bring the writers' corpus into the repository: validate, de-duplicate, measure agreement, adjudicate.

    python scripts/corpus_import.py [--src /work/corpus]
    python scripts/corpus_import.py --append --src /work/corpus15/src --batch corpus15   # add a batch, keep every row

Reads `replies_<writer>.jsonl`, `questions_<writer>.jsonl` (the writer's labels) and `labels2_<writer>.jsonl`
(a second, blind label: {"id", "sentiment", "risks"} or {"id", "intent", "period"}) from --src, and writes:
- nlp/data/corpus/replies.jsonl, questions.jsonl: the kept rows with the adjudicated label in the usual
  fields (sentiment/risks, intent/period), plus `label_writer` and `label_second` (both raw labels; the
  second is null when the row has no second label yet) and `adjudication` (how the label was decided);
- nlp/data/corpus/AGREEMENT.md: validation counts, Cohen's kappa per field, the disagreements' resolution.

Validation: required fields and values (nlp/data/GUIDELINE.md), risks put in canonical order, visit notes of
more than 20 characters dropped, duplicate ids dropped, exact duplicates (normalised text) of an earlier
corpus row or of any existing labelled set dropped, near-duplicates (rapidfuzz ratio >= NEAR, texts of at
least NEAR_MIN_LEN characters) of an earlier row of the same kind dropped.

Adjudication, per field (a risk class is one field):
1. both labels agree -> that label;
2. the guideline settles it (a short acknowledgement is `neu`) -> the guideline's label;
3. a decision recorded in nlp/data/corpus/adjudication.tsv (id, field, label, reason - the adjudicator's
   own reading of the row) -> that label (decisions for rows dropped at validation are removed from the file);
4. otherwise the writer's label (the writer knows what they meant; the disagreement stays counted).
Then a risk class relabelled under a later reading of the guideline (nlp/data/corpus/relabel7.tsv, relabel8.tsv,
same columns: blind relabels of the rows on the settled points) takes that label, agreed or not.
The frozen held-out sets (/work/heldout, /work/heldout8, ... : any /work/heldout*) are never read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.lexicon import CATEGORIES  # noqa: E402
from nlp.normalize import normalize  # noqa: E402
from nlp.sentiment import is_acknowledgement  # noqa: E402

OUT = ROOT / "nlp" / "data" / "corpus"
ADJ = OUT / "adjudication.tsv"
# Rows relabelled blind when the guideline settled (seventh round) or was applied anew (eighth round) to
# points after they were labelled (risk classes only); these decisions come after adjudication, in order.
RELABELS = [OUT / "relabel7.tsv", OUT / "relabel8.tsv"]
EXISTING = [ROOT.parent / "shared" / "data" / "replies_dev.jsonl", ROOT.parent / "shared" / "data" / "questions_dev.jsonl",
            *sorted((ROOT / "tests" / "nlp" / "data").glob("*.jsonl")), ROOT / "nlp" / "data" / "train_replies.jsonl"]
SOURCES = {"checkin", "visit", "manager"}
SENTIMENTS = ("pos", "neu", "neg")
INTENTS = ("tasks_left", "last_feedback", "goal_progress", "goal_alignment", "points", "checkin_status",
           "adjust_target", "help", "none")
PERIOD = re.compile(r"^(this_week|last_week|this_month|last_month|this_quarter|last_quarter|month:(1[0-2]|[1-9])|quarter:[1-4])$")
NEAR = 90
NEAR_MIN_LEN = 8


# The newest frozen held-out sets measure the model trained without them: both training scripts
# (train_replies.py, train_intents.py) never read them (tests/nlp/test_heldout.py holds their first-seen
# figures). A round that writes new frozen sets moves this name to them; the older ones become training data.
# H58/H59 are the newest frozen sets (written, labelled and frozen in the thirteenth session, measured first on the
# thirty-fourth-round model); H52-H57 are training data since the thirty-fourth round (all six measured first on the
# thirty-third-round model).
NEWEST_FROZEN = ("heldout58", "heldout59")
# Personas of earlier frozen sets whose trades the newest frozen sets repeat (a round's briefs gave the same
# trade to a new writer): the training scripts leave their rows out while NEWEST_FROZEN is measured, so a
# first-seen figure is not helped by the same trade's words. Empty since the twenty-sixth round (its briefs
# gave H38/H39 trades no earlier set used; the six personas held back in round 25 are training data now).
HELD_BACK: frozenset[str] = frozenset()


def held_back(row: dict) -> bool:
    return row.get("writer") in HELD_BACK


def read(path: Path) -> list[dict]:
    """The rows of a JSON Lines file ([] when it does not exist); refuses the frozen held-out set."""
    if any(p.parent == Path("/work") and p.name.startswith("heldout") for p in (path.resolve(), *path.resolve().parents)):
        raise SystemExit(f"refusing to read {path}: the frozen held-out set is never read here")
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def key(text: str) -> str:
    return re.sub(r"[\s，。！？,.!?~～…]+", "", normalize(text).text)


def kappa(a: list, b: list) -> float:
    n = len(a)
    if not n:
        return float("nan")
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def valid_reply(r: dict) -> str | None:
    if not isinstance(r.get("text"), str) or not r["text"].strip():
        return "empty text"
    if r.get("source") not in SOURCES:
        return "bad source"
    if r.get("sentiment") not in SENTIMENTS:
        return "bad sentiment"
    if not isinstance(r.get("risks"), list) or not set(r["risks"]) <= set(CATEGORIES):
        return "bad risks"
    if r["source"] == "visit" and len(r["text"]) > 20:
        return "visit note over 20 characters"
    return None


def valid_question(q: dict) -> str | None:
    if not isinstance(q.get("text"), str) or not q["text"].strip():
        return "empty text"
    if q.get("intent") not in INTENTS:
        return "bad intent"
    if q.get("period") is not None and not PERIOD.match(str(q["period"])):
        return "bad period"
    return None


def load_adjudication(path: Path = ADJ) -> dict[tuple[str, str], tuple[str, str]]:
    """Recorded decisions (adjudication.tsv, or a relabel file of the same columns) by (id, field)."""
    out = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                rid, field, value, reason = (line.split("\t") + ["", "", "", ""])[:4]
                out[(rid, field)] = (value, reason)
    return out


MISSING = object()  # no second label (a null period is a label)


def decide(rid: str, field: str, mine, second, adj, guideline=None) -> tuple[object, str]:
    if second is MISSING:
        return mine, "single"
    if mine == second:
        return mine, "agree"
    if guideline is not None:
        return guideline, "guideline"
    if (rid, field) in adj:
        v = adj[(rid, field)][0]
        return (None if v == "null" else int(v) if v in ("0", "1") else v), "adjudicated"
    return mine, "writer"


def prune_adjudication(path: Path = ADJ) -> int:
    """Drop recorded decisions whose row is not in the corpus (a row dropped at validation, e.g. a duplicate
    of an earlier one): a decision names a kept row or none. Returns how many were dropped."""
    ids = {r["id"] for kind in ("replies", "questions") for r in read(OUT / f"{kind}.jsonl")}
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    keep = [x for x in lines if x.startswith("#") or not x.strip() or x.split("\t", 1)[0] in ids]
    if len(keep) < len(lines):
        path.write_text("".join(keep), encoding="utf-8")
        print(f"{len(lines) - len(keep)} decision(s) for rows not in the corpus dropped from {path.name}")
    return len(lines) - len(keep)


def writer_order(p: Path) -> tuple:
    """w2 before w10: a later writer's row that repeats an earlier writer's is the one dropped."""
    return tuple(int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p.stem))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default="/work/corpus")
    ap.add_argument("--append", action="store_true",
                    help="add --src's writers to the corpus already in nlp/data/corpus (its rows and AGREEMENT.md "
                         "are kept; the batch is checked against them and reported in a section of its own)")
    ap.add_argument("--batch", help="with --append: the batch's name in AGREEMENT.md (default: --src's folder name)")
    args = ap.parse_args()
    src = Path(args.src)
    from rapidfuzz import fuzz, process

    seen = {key(r["text"]) for p in EXISTING if p.exists() for r in read(p)}
    kept = {kind: read(OUT / f"{kind}.jsonl") if args.append else [] for kind in ("replies", "questions")}
    seen |= {key(r["text"]) for rows in kept.values() for r in rows}
    second: dict[str, dict] = {}
    for p in sorted(src.glob("labels2_*.jsonl")):
        for r in read(p):
            second[r["id"]] = r
    adj = load_adjudication()
    relabel = {k: v for path in RELABELS for k, v in load_adjudication(path).items()}
    stats: Counter = Counter()
    report: dict[str, list[str]] = {}
    for kind, validate in (("replies", valid_reply), ("questions", valid_question)):
        if args.append and not any(src.glob(f"{kind}_*.jsonl")):
            continue
        rows, ids, texts = [], {r["id"] for r in kept[kind]}, []
        for p in sorted(src.glob(f"{kind}_*.jsonl"), key=writer_order):
            for r in read(p):
                why = "duplicate id" if r.get("id") in ids else "no writer" if not r.get("writer") else validate(r)
                k = key(r.get("text") or "")
                if why is None and k in seen:
                    why = "exact duplicate"
                if why:
                    stats[(kind, why)] += 1
                    continue
                ids.add(r["id"])
                seen.add(k)
                rows.append(r)
                texts.append(k)
        keep = [True] * len(rows)
        if rows:
            sim = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=NEAR, dtype="uint8", workers=1)
            for i in range(len(rows)):
                if len(texts[i]) < NEAR_MIN_LEN:
                    continue
                if any(keep[j] and sim[i, j] for j in range(i)):
                    keep[i] = False
                    stats[(kind, "near duplicate")] += 1
            old = [key(r["text"]) for r in kept[kind]]
            if old:  # a new row close to a row already in the corpus
                near_old = process.cdist(texts, old, scorer=fuzz.ratio, score_cutoff=NEAR, dtype="uint8", workers=1)
                for i in range(len(rows)):
                    if keep[i] and len(texts[i]) >= NEAR_MIN_LEN and near_old[i].any():
                        keep[i] = False
                        stats[(kind, "near duplicate")] += 1
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        out = []
        pairs: dict[str, tuple[list, list]] = {}
        how: Counter = Counter()
        for r in rows:
            s = second.get(r["id"])
            if kind == "replies":
                mine = {"sentiment": r["sentiment"], "risks": [c for c in CATEGORIES if c in r["risks"]]}
                sec = None if s is None else {"sentiment": s.get("sentiment"),
                                              "risks": [c for c in CATEGORIES if c in (s.get("risks") or [])]}
                ack = "neu" if is_acknowledgement(normalize(r["text"]).text) else None
                sent, h = decide(r["id"], "sentiment", mine["sentiment"], MISSING if sec is None else sec["sentiment"],
                                 adj, ack)
                how[("sentiment", h)] += 1
                risks = []
                for c in CATEGORIES:
                    v, h = decide(r["id"], c, int(c in mine["risks"]), MISSING if sec is None else int(c in sec["risks"]),
                                  adj)
                    if (r["id"], c) in relabel:  # a later guideline's settlement, relabelled blind
                        v, h = int(relabel[(r["id"], c)][0]), "relabelled"
                    how[(c, h)] += 1
                    if v:
                        risks.append(c)
                if sec is not None:
                    pairs.setdefault("sentiment", ([], []))
                    pairs["sentiment"][0].append(mine["sentiment"])
                    pairs["sentiment"][1].append(sec["sentiment"])
                    for c in CATEGORIES:
                        pairs.setdefault(c, ([], []))
                        pairs[c][0].append(c in mine["risks"])
                        pairs[c][1].append(c in sec["risks"])
                    pairs.setdefault("risks (exact set)", ([], []))
                    pairs["risks (exact set)"][0].append(tuple(mine["risks"]))
                    pairs["risks (exact set)"][1].append(tuple(sec["risks"]))
                out.append({"id": r["id"], "writer": r["writer"], "text": r["text"], "source": r["source"],
                            "sentiment": sent, "risks": risks, "label_writer": mine, "label_second": sec})
            else:
                mine = {"intent": r["intent"], "period": r.get("period")}
                sec = None if s is None else {"intent": s.get("intent"), "period": s.get("period")}
                intent, h1 = decide(r["id"], "intent", mine["intent"], MISSING if sec is None else sec["intent"], adj)
                period, h2 = decide(r["id"], "period", mine["period"], MISSING if sec is None else sec["period"], adj)
                how[("intent", h1)] += 1
                how[("period", h2)] += 1
                if sec is not None:
                    for f in ("intent", "period"):
                        pairs.setdefault(f, ([], []))
                        pairs[f][0].append(mine[f])
                        pairs[f][1].append(sec[f])
                out.append({"id": r["id"], "writer": r["writer"], "text": r["text"], "intent": intent,
                            "period": period, "label_writer": mine, "label_second": sec})
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{kind}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept[kind] + out),
                                           encoding="utf-8")
        batch = f" (batch {args.batch or src.name}, appended)" if args.append else ""
        lines = [f"### {kind}{batch}: {len(out)} rows kept from {len(set(r['writer'] for r in out))} writer personas; "
                 f"{sum(r['label_second'] is not None for r in out)} with a second label", "",
                 "| field | n (double-labelled) | raw agreement | Cohen's kappa | agree | guideline | adjudicated | writer's label kept |",
                 "|---|---|---|---|---|---|---|---|"]
        for f, (a, b) in pairs.items():
            agree = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
            hf = f if f != "risks (exact set)" else None
            counts = " | ".join(str(how[(hf, h)]) if hf else "-" for h in ("agree", "guideline", "adjudicated", "writer"))
            lines.append(f"| {f} | {len(a)} | {agree:.3f} | {kappa(a, b):.3f} | {counts} |")
        dropped = {w: n for (k, w), n in stats.items() if k == kind}
        lines += ["", f"Dropped at validation: {dropped or 'none'}.", ""]
        report[kind] = lines
        print("\n".join(lines))
    prune_adjudication()
    if args.append:
        with (OUT / "AGREEMENT.md").open("a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(report.get("replies", []) + report.get("questions", [])) + "\n")
        return
    (OUT / "AGREEMENT.md").write_text(
        "# Corpus: validation and inter-annotator agreement (written by scripts/corpus_import.py)\n\n"
        "Each row has the writer's label and a blind second label (labels2_<writer>.jsonl). Kappa is Cohen's\n"
        "kappa between the two raw labels (per risk class: present / absent). Adjudication rules: see\n"
        "scripts/corpus_import.py and nlp/data/GUIDELINE.md; recorded decisions in adjudication.tsv.\n\n"
        + "\n".join(report["replies"] + report["questions"]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
