"""One round of issue 14's blind labelling: writers' files -> blind second labels -> adjudication -> data.

    python scripts/heldout_round.py prep    --src DIR --out DIR             # validate; labellers' inputs
    python scripts/heldout_round.py compare --src DIR --labels DIR --out DIR  # agreement; disagreements, X/Y
    python scripts/heldout_round.py final   --src DIR --labels DIR --decisions FILE --set 27
    python scripts/heldout_round.py final   --src DIR --labels DIR --decisions FILE --corpus DIR

--src holds the writers' files (searched recursively): `replies_<W>.jsonl` ({"id", "writer", "text",
"source", "sentiment", "risks"}) and, for a held-out set, `questions_<W>.jsonl` ({"id", "writer", "text",
"intent", "period"}), labelled by the writer under nlp/data/GUIDELINE.md.

- prep: validates every row (the rules of scripts/corpus_import.py), reports counts per persona and kind,
  texts repeated inside the batch or already in a labelled set, and writes `in_<W>.jsonl` per writer for
  a blind labeller: text only ({"id", "kind", "text", "source"}), shuffled (--seed).
- compare: reads the blind labels `labels2_<W>.jsonl` ({"id", "sentiment", "risks"} or {"id", "intent",
  "period"}) from --labels, prints Cohen's kappa per field and writes `disagreements.jsonl`: one line per
  field the two readers labelled differently, the two labels as X and Y in random order (the adjudicator
  never learns which reader gave which), and `key.jsonl`, which of X and Y was the writer's.
- final: applies the adjudicator's `decisions.jsonl` ({"id", "field", "label", "reason"}; label is yes/no
  for a risk class, the value otherwise) to the agreed labels. --set N writes tests/nlp/data/heldoutN_
  replies.jsonl, heldoutN_questions.jsonl and heldoutN_adjudication.tsv; --corpus DIR writes the writers'
  files and the second labels into DIR for `scripts/corpus_import.py --append --src DIR` and appends the
  decisions to nlp/data/corpus/adjudication.tsv. Every disagreement must have a decision.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from corpus_import import ADJ, EXISTING, OUT, kappa, key, read, valid_question, valid_reply  # noqa: E402

from nlp.lexicon import CATEGORIES  # noqa: E402

DATA = ROOT / "tests" / "nlp" / "data"
REPLY_FIELDS = ("sentiment", *CATEGORIES)
QUESTION_FIELDS = ("intent", "period")


def writers(src: Path) -> dict[str, dict[str, list[dict]]]:
    """{writer: {"replies": rows, "questions": rows}} from the files under src."""
    out: dict[str, dict[str, list[dict]]] = {}
    for kind in ("replies", "questions"):
        for p in sorted(src.rglob(f"{kind}_*.jsonl")):
            out.setdefault(p.stem.split("_", 1)[1], {"replies": [], "questions": []})[kind] += read(p)
    if not out:
        raise SystemExit(f"no replies_<W>.jsonl under {src}")
    return out


def field_value(row: dict, field: str):
    return (field in row["risks"]) if field in CATEGORIES else row.get(field)


def shown(field: str, value) -> str:
    return ("yes" if value else "no") if field in CATEGORIES else "null" if value is None else str(value)


def prep(args: argparse.Namespace) -> None:
    seen = {key(r["text"]) for p in [*EXISTING, OUT / "replies.jsonl", OUT / "questions.jsonl"] for r in read(p)
            if r.get("text")}
    args.out.mkdir(parents=True, exist_ok=True)
    problems = 0
    for w, kinds in writers(args.src).items():
        batch: Counter[str] = Counter()
        rows = []
        for kind, check in (("replies", valid_reply), ("questions", valid_question)):
            per = Counter(r.get("writer") for r in kinds[kind])
            if kinds[kind]:
                print(f"{w} {kind}: {len(kinds[kind])} ({', '.join(f'{k} {n}' for k, n in sorted(per.items()))})")
            if kind == "replies":
                print(f"   sources {dict(Counter(r.get('source') for r in kinds[kind]))}")
            for r in kinds[kind]:
                why = check(r) or ("repeated in the batch" if batch[key(r["text"])] else None) or (
                    "already in a labelled set" if key(r["text"]) in seen else None)
                batch[key(r["text"])] += 1
                if why:
                    problems += 1
                    print(f"   {r.get('id')}: {why}: {r.get('text')!r}")
                rows.append({"id": r["id"], "kind": "reply" if kind == "replies" else "question", "text": r["text"],
                             **({"source": r["source"]} if kind == "replies" else {})})
        random.Random(f"{args.seed}:{w}").shuffle(rows)
        (args.out / f"in_{w}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                                encoding="utf-8")
    print(f"{problems} problem(s); labellers' inputs in {args.out}")


def pairs(args: argparse.Namespace):
    """(writer row, second label, fields) for every labelled row; a row without a second label stops."""
    for w, kinds in writers(args.src).items():
        second = {r["id"]: r for r in read(args.labels / f"labels2_{w}.jsonl")}
        for kind, fields in (("replies", REPLY_FIELDS), ("questions", QUESTION_FIELDS)):
            for r in kinds[kind]:
                if r["id"] not in second:
                    raise SystemExit(f"{r['id']}: no second label in labels2_{w}.jsonl")
                got = second[r["id"]]  # a missing period is null; missing risks are none
                s = {**r, **{f: got.get(f) for f in fields if f not in CATEGORIES}}
                if kind == "replies":
                    s["risks"] = got.get("risks", [])
                    if isinstance(s["risks"], list):
                        s["risks"] = [c for c in CATEGORIES if c in s["risks"]]
                if why := (valid_reply if kind == "replies" else valid_question)(s):
                    raise SystemExit(f"{r['id']}: the second label is not valid ({why}): {second[r['id']]}")
                yield r, s, fields


def compare(args: argparse.Namespace) -> None:
    a: dict[str, list] = {}
    b: dict[str, list] = {}
    rng = random.Random(args.seed)
    dis, keyrows = [], []
    for r, s, fields in pairs(args):
        for f in fields:
            x, y = field_value(r, f), field_value(s, f)
            a.setdefault(f, []).append(x)
            b.setdefault(f, []).append(y)
            if x != y:
                flip = rng.random() < 0.5
                lx, ly = (shown(f, y), shown(f, x)) if flip else (shown(f, x), shown(f, y))
                dis.append({"id": r["id"], "text": r["text"], **({"source": r["source"]} if "source" in r else {}),
                            "field": f, "X": lx, "Y": ly})
                keyrows.append({"id": r["id"], "field": f, "writer": "Y" if flip else "X"})
    print("| field | n | agreement | kappa |\n|---|---|---|---|")
    for f in a:
        n = len(a[f])
        print(f"| {f} | {n} | {sum(x == y for x, y in zip(a[f], b[f], strict=True)) / n:.3f} | {kappa(a[f], b[f]):.3f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("disagreements.jsonl", dis), ("key.jsonl", keyrows)):
        (args.out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(dis)} disagreement(s) -> {args.out / 'disagreements.jsonl'}")


def final(args: argparse.Namespace) -> None:
    decisions = {(d["id"], d["field"]): d for d in read(args.decisions)}
    out: dict[str, list[dict]] = {"replies": [], "questions": []}
    used, tsv = set(), []
    for r, s, fields in pairs(args):
        row = dict(r)
        for f in fields:
            if field_value(r, f) == field_value(s, f):
                continue
            d = decisions.get((r["id"], f))
            if d is None:
                raise SystemExit(f"{r['id']} {f}: the readers disagree and there is no decision")
            used.add((r["id"], f))
            label = str(d["label"])
            if f in CATEGORIES:
                if label not in ("yes", "no"):
                    raise SystemExit(f"{r['id']} {f}: a risk decision is yes or no, not {label!r}")
                have = set(row["risks"]) - {f} | ({f} if label == "yes" else set())
                row["risks"] = [c for c in CATEGORIES if c in have]
                label = "yes" if label == "yes" else "no"
            else:
                row[f] = None if label == "null" else label
            tsv.append((r["id"], f, label, d.get("reason", "").replace("\t", " ").replace("\n", " ")))
        out["replies" if "source" in r else "questions"].append(row)
    if stale := set(decisions) - used:
        print(f"warning: {len(stale)} decision(s) for fields the readers agree on, ignored: {sorted(stale)[:5]}")
    if args.set:
        name = f"heldout{args.set}"
        for kind in ("replies", "questions"):
            rows = [{k: v for k, v in r.items() if not k.startswith("label_")} for r in out[kind]]
            (args.data / f"{name}_{kind}.jsonl").write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        head = (f"# id\tfield\tlabel\treason (H{args.set}: the writer and a blind second labeller disagreed on these "
                f"{len(tsv)} fields; a third reader decided)\n")
        (args.data / f"{name}_adjudication.tsv").write_text(head + "".join("\t".join(t) + "\n" for t in tsv), encoding="utf-8")
        print(f"{name}: {len(out['replies'])} replies, {len(out['questions'])} questions, {len(tsv)} decisions")
    else:
        args.corpus.mkdir(parents=True, exist_ok=True)
        for p in [*args.src.rglob("replies_*.jsonl"), *args.src.rglob("questions_*.jsonl"),
                  *args.labels.glob("labels2_*.jsonl")]:
            (args.corpus / p.name).write_bytes(p.read_bytes())
        with ADJ.open("a", encoding="utf-8") as fh:
            for rid, f, label, reason in tsv:
                fh.write(f"{rid}\t{f}\t{({'yes': '1', 'no': '0'}.get(label, label))}\t{reason}\n")
        print(f"{len(tsv)} decisions appended to {ADJ}; files for corpus_import in {args.corpus}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("prep", "compare", "final"):
        p = sub.add_parser(name)
        p.add_argument("--src", type=Path, required=True)
        p.add_argument("--seed", type=int, default=27)
        if name != "prep":
            p.add_argument("--labels", type=Path, required=True)
        if name != "final":
            p.add_argument("--out", type=Path, required=True)
    f = sub.choices["final"]
    f.add_argument("--decisions", type=Path, required=True)
    g = f.add_mutually_exclusive_group(required=True)
    g.add_argument("--set", type=int)
    g.add_argument("--corpus", type=Path)
    f.add_argument("--data", type=Path, default=DATA, help="where --set writes (default tests/nlp/data)")
    args = ap.parse_args()
    {"prep": prep, "compare": compare, "final": final}[args.cmd](args)


if __name__ == "__main__":
    main()
