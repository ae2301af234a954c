"""Train the learned reply model (nlp/reply_model.py): risk classes + sentiment, grouped cross-validation.

    python scripts/train_replies.py            # CV report (nlp/data/corpus/CV.md) + write nlp/data/reply_model.tsv
    python scripts/train_replies.py --cv-only  # CV report only

Offline only: needs scikit-learn (requirements-dev.txt); the bot reads the TSV with plain Python.

Training rows (every labelled reply in the repository; never anything under /work/heldout, which the
script refuses to read): ../shared/data/replies_dev.jsonl (read in place), tests/nlp/data/heldout*_replies
.jsonl (the old held-out sets A-I, training data since issue 14), nlp/data/train_replies.jsonl (t-NNN) and
the writers' corpus nlp/data/corpus/replies.jsonl (adjudicated labels, see scripts/corpus_import.py).

Groups for cross-validation (leave one group out): each corpus writer (a writer's personas w1a..w1d
together; CV_GROUP=persona: each persona, the earlier rounds' folds), dev, each old held-out set (A..I),
t0..t3. A writer's rows are never split between train and test.

Thresholds: per class, the one nearest 0.5 within THR_TOL of the best out-of-fold F1 (THR_RULE=precision: the best recall among
those with out-of-fold precision >= MIN_PRECISION, the rule until issue 14's third round; see THR_RULE).
The policy (how the model meets the lexicon rules, and rule_floor) is chosen by the same CV from POLICIES;
two numbers are fixed from the leave-one-set-out estimate over the newest blind sets (scripts/loso_replies.py):
model_margin 0.1 (a class no rule found needs P >= threshold + 0.1) and resource veto_over 0.95.
Sentiment offsets: the smallest within OFF_TOL of the best out-of-fold macro-F1.

Honest figures: the rules and lexicons were tuned on dev and the old sets, so out-of-fold figures on those
rows are optimistic; the corpus rows were never tuned on, so their out-of-fold figures are the in-house
estimate. Thresholds (risk) and offsets (sentiment) are chosen on the out-of-fold predictions of the
corpus rows (all rows while the corpus is small), so the reported CV figure is itself slightly optimistic
about the choice of these few numbers; the frozen held-out set measured by the lead is the real estimate.

Model: scikit-learn LogisticRegression (liblinear, L2) per risk class with balanced class weights, and a
multinomial one for sentiment, over the binary features of nlp/reply_model.py plus the numeric rule
sentiment score, TF-IDF weighted (idf over the training rows) and L2-normalised per reply (TFIDF=0: the
plain binary features of the earlier rounds). The risk models are NBSVM-style (NB_BETA, issue 14's sixth round): each
class fits over its features scaled by their naive-Bayes log-count ratio, and the weights are scaled back,
so the file keeps one weight per feature and class (NB_BETA=0: the fourth round's plain TF-IDF risk models). Features seen in fewer than MIN_DF training rows are dropped, and after the final fit
features whose largest absolute weight is below PRUNE are dropped, so the file stays small. Deterministic.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus_import import NEWEST_FROZEN, held_back, read  # noqa: E402  (scripts/ is on sys.path when a script runs)

from nlp.analyze import SOURCES as VALID_SOURCES  # noqa: E402
from nlp.analyze import model_inputs  # noqa: E402
from nlp.lexicon import CATEGORIES  # noqa: E402
from nlp.normalize import normalize  # noqa: E402
from nlp.reply_model import LEX_CLIP, MODEL_PATH, SENTIMENTS, Model, Policy, Scores, class_facts, keeps, score  # noqa: E402

DATA = ROOT / "tests" / "nlp" / "data"
CORPUS = ROOT / "nlp" / "data" / "corpus" / "replies.jsonl"
# EXCLUDE=heldout15[,heldout16]: leave those sets out of training too (scripts/loso_replies.py: the
# leave-one-set-out estimate over the newest sets); MODEL_OUT=path writes the model there, not MODEL_PATH.
EXCLUDE = {*NEWEST_FROZEN, *filter(None, os.environ.get("EXCLUDE", "").split(","))}
MODEL_OUT = Path(os.environ["MODEL_OUT"]) if os.environ.get("MODEL_OUT") else MODEL_PATH
SOURCES = [ROOT.parent / "shared" / "data" / "replies_dev.jsonl",
           *sorted(p for p in DATA.glob("heldout*_replies.jsonl") if p.name.split("_")[0] not in EXCLUDE),
           ROOT / "nlp" / "data" / "train_replies.jsonl", CORPUS]
CV_REPORT = ROOT / "nlp" / "data" / "corpus" / "CV.md"
MIN_DF = int(os.environ.get("MIN_DF", "3"))
MIN_GROUPS = int(os.environ.get("MIN_GROUPS", "1"))  # a feature must occur in rows of this many groups (writers)
# TF-IDF (default since issue 14's fourth round, chosen from ~30 variants under writer-grouped CV): binary features times idf
# (log((1+n)/(1+df))+1 over the training rows), each reply L2-normalised; C 32, prune 0.3 in that space.
# CV_GROUP=writer: risk micro-F1 0.866 -> 0.875 (0.881 with veto_over), sentiment macro-F1 0.860 -> 0.870.
# (idf-scaled features without the norm measured the same risk figure and a worse sentiment: not kept.)
TFIDF = os.environ.get("TFIDF", "1") != "0"  # TFIDF=0: the plain binary features of the earlier rounds
PRUNE = float(os.environ.get("PRUNE", "0.3" if TFIDF else "0.2"))  # binary, 10,200 corpus rows: 0.15 -> 18,400 features, 1.03 MB, CV 0.870; 0.2 -> 13,400, 0.75 MB, 0.869
RISK_C = float(os.environ.get("RISK_C", "32.0" if TFIDF else "1.0"))  # binary, grouped CV on 32 personas: 0.25 0.818, 0.5 0.817, 1.0 0.822, 2.0 0.822
SENT_C = float(os.environ.get("SENT_C", "0.5"))
CORPUS_WEIGHT = float(os.environ.get("CORPUS_WEIGHT", "2.0"))  # sample weight of a corpus row
# sample weight of a row of the blind sets H7.. (new writers). 2 since the eighteenth round: as heavy as a corpus row;
# leave-one-set-out over H22-H24 (1,200 replies each, CV_FOLDS=7): risk micro 0.844 -> 0.846 (0.851/0.847/0.834 ->
# 0.855/0.849/0.835), sentiment 0.859 -> 0.861 (CORPUS_WEIGHT 1 instead, the same ratio: 0.846, sentiment 0.856).
# Over H13-H18 (600 each) it had measured 0.892 -> 0.889, so the gain is small either way.
SET_WEIGHT = float(os.environ.get("SET_WEIGHT", "2.0"))
RISK_CW = None if os.environ.get("RISK_CW") == "none" else "balanced"
# NBSVM-style scaling of the risk models (issue 14's sixth round): per class, each feature's column is scaled
# by (1 - NB_BETA) + NB_BETA * |r_f|, r_f = log((a + weighted positives with f) / |p|) - log((a + negatives)
# / |q|) (the naive-Bayes log-count ratio, a = NB_ALPHA), and the fitted weights are multiplied back by that
# scale, so the file and the runtime are unchanged (a linear model over the same TF-IDF features).
# Features that separate the class get a weaker L2 penalty; those that do not are shrunk harder.
# NB_BETA=0: the plain TF-IDF model of the fourth round.
NB_BETA = float(os.environ.get("NB_BETA", "0.5"))
NB_ALPHA = float(os.environ.get("NB_ALPHA", "3.0"))
# CV folds (issue 14's sixth round: "writer" by default): a writer's personas (w1a..w1d) form one group, so
# thresholds and offsets are chosen on out-of-fold scores of writers the model never saw (the frozen sets
# are new writers); CV_GROUP=persona: one group per persona, the earlier rounds' 112 folds (4x slower).
CV_GROUP = os.environ.get("CV_GROUP", "writer")
# CV_FOLDS=k (> 0): the corpus groups dealt round-robin into k folds (k fits instead of one per writer;
# scripts/loso_replies.py uses 7 for quick comparisons); 0: one fold per group.
CV_FOLDS = int(os.environ.get("CV_FOLDS", "0"))
MIN_PRECISION = 0.87  # THR_RULE=precision: per-class out-of-fold precision floor (target 0.85, a margin)
GRID = [round(0.1 + 0.025 * i, 3) for i in range(33)]  # 0.10 .. 0.90
OFFSETS = [round(-1.5 + 0.25 * i, 2) for i in range(13)]


def group_of(row: dict) -> str:
    if row.get("writer"):  # a persona (w1a); CV_GROUP=writer groups a writer's personas together (w1)
        return "w:" + (row["writer"].rstrip("abcdefghijklmnopqrstuvwxyz") if CV_GROUP == "writer" else row["writer"])
    rid = row["id"]
    if rid.startswith("rd-"):
        return "dev"
    if rid.startswith("t-"):
        return f"t{int(rid[2:]) % 4}"
    return rid.split("-")[1][0]  # rh-a001 -> a, r2-c001 -> c, r6-i001 -> i


def load() -> list[dict]:
    rows = []
    for path in SOURCES:
        for r in read(path):
            if held_back(r):
                continue
            src = r.get("source", "checkin")
            r["_src"] = src = src if src in VALID_SOURCES else "checkin"
            norm = normalize(r["text"])
            if norm.text.strip():
                det, tf, extra, total = model_inputs(norm, src)
                r["_feats"] = dict.fromkeys(tf, 1.0) | dict.fromkeys(extra, 1.0)
                r["_feats"]["n:lex"] = max(-LEX_CLIP, min(LEX_CLIP, total))
                r["_in"] = (det, tf, extra, total)
            else:
                r["_feats"], r["_in"] = {}, None
            r["_rules"] = {m.category for m in det.matches} if r["_in"] else set()
            r["_group"] = group_of(r)
            r["_corpus"] = path == CORPUS
            r["_set"] = path.name.split("_")[0]  # heldout15 (EXCLUDE, scripts/loso_replies.py)
            rows.append(r)
    return rows


def _int32(x):
    """liblinear accepts only 32-bit sparse indices (recent scipy builds 64-bit ones)."""
    x = x.tocsr()
    x.indices = x.indices.astype("int32")
    x.indptr = x.indptr.astype("int32")
    return x


def fit(rows: list[dict]):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    df = Counter(f for r in rows for f in r["_feats"])
    keep = {f for f, n in df.items() if n >= MIN_DF}
    if MIN_GROUPS > 1:  # a feature used by fewer writers (groups) than this learns who writes, not what
        seen: dict[str, set] = {}
        for r in rows:
            for f in r["_feats"]:
                if f in keep:
                    seen.setdefault(f, set()).add(r["_group"])
        keep = {f for f in keep if len(seen[f]) >= MIN_GROUPS}
    vec = DictVectorizer()
    x = vec.fit_transform([{f: v for f, v in r["_feats"].items() if f in keep} for r in rows])
    idf = None
    if TFIDF:
        import numpy as np
        import scipy.sparse as sp
        df_col = np.asarray((x != 0).sum(axis=0)).ravel()
        idf = np.log((1 + x.shape[0]) / (1 + df_col)) + 1
        x = x @ sp.diags(idf)
        norm = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norm[norm == 0] = 1.0
        x = sp.diags(1.0 / norm) @ x
    x = _int32(x)
    sw = [CORPUS_WEIGHT if r["_corpus"] else SET_WEIGHT if r.get("writer") else 1.0 for r in rows]
    risk = []
    if NB_BETA:
        import numpy as np
        import scipy.sparse as sp
        binx = (x != 0).astype(float).tocsr()
        swa = np.asarray(sw)
    for c in CATEGORIES:
        y = [int(c in r["risks"]) for r in rows]
        # liblinear shuffles the rows with a random seed: fixed, so a retrain writes the same file (the model
        # measured on H9 was trained before the seed was fixed; a retrain matches it within 0.001 per weight)
        m = LogisticRegression(C=RISK_C, solver="liblinear", class_weight=RISK_CW, max_iter=2000, random_state=0)
        if not NB_BETA:
            risk.append(m.fit(x, y, sample_weight=sw))
            continue
        ya = np.asarray(y)
        p = NB_ALPHA + np.asarray(binx[ya == 1].T @ swa[ya == 1]).ravel()
        q = NB_ALPHA + np.asarray(binx[ya == 0].T @ swa[ya == 0]).ravel()
        scale = (1 - NB_BETA) + NB_BETA * np.abs(np.log((p / p.sum()) / (q / q.sum())))
        m.fit(_int32(x @ sp.diags(scale)), y, sample_weight=sw)
        m.coef_ = m.coef_ * scale[None, :]  # weights over the unscaled features: what the runtime reads
        risk.append(m)
    sent = LogisticRegression(C=SENT_C, max_iter=3000, class_weight="balanced")
    sent.fit(x, [SENTIMENTS.index(r["sentiment"]) for r in rows], sample_weight=sw)
    return vec, risk, sent, idf


def to_model(fitted, thr: dict[str, float] | None = None, off: tuple[float, ...] = (0.0, 0.0, 0.0),
             policy: Policy = Policy(False, True)) -> Model:
    """The runtime Model of a fit (pruned exactly as written to disk)."""
    vec, risk, sent, idf = fitted
    cols = [m.coef_[0] for m in risk] + [sent.coef_[k] for k in range(3)]
    weights = {}
    for j, f in enumerate(vec.get_feature_names_out()):
        w = tuple(round(float(c[j]), 3) for c in cols)
        keep = max(abs(v) for v in w) >= PRUNE
        if idf is not None:  # weights times idf; every known feature stays (the norm needs its idf^2)
            w = tuple(round(v * float(idf[j]), 3) for v in w) if keep else (0.0,) * 7
            weights[str(f)] = (*w, round(float(idf[j]) ** 2, 2))
        elif keep:
            weights[str(f)] = w
    return Model(tuple(round(float(m.intercept_[0]), 4) for m in risk), thr or dict.fromkeys(CATEGORIES, 0.5),
                 policy, tuple(round(float(v), 4) for v in sent.intercept_), off, weights, TFIDF)


def runtime_scores(model: Model, row: dict) -> Scores | None:
    if row["_in"] is None:
        return None
    _det, tf, extra, total = row["_in"]
    return score(model, tf, extra, total)


def facts(model: Model, row: dict, sc: Scores | None) -> list[tuple[float, bool, bool, float, bool]] | None:
    """Per class (p, ruled, vetoed, evidence weight, span ok): all a threshold/policy decision needs."""
    if sc is None:
        return None
    cf = class_facts(row["_in"][0], sc, row["_src"])
    return [(sc.risk[k], *cf[k][:2], sc.evidence[k], cf[k][2]) for k in range(len(CATEGORIES))]


def risk_pred(fx, thr: dict[str, float], pol: Policy) -> set[str]:
    if fx is None:
        return set()
    return {c for c, (p, ruled, vetoed, ev, ok) in zip(CATEGORIES, fx, strict=True)
            if keeps(pol, thr[c], p, ruled, vetoed, ev, ok, c)}


def sent_pred(sc: Scores | None, off: tuple[float, ...]) -> str:
    if sc is None:
        return "neu"
    return SENTIMENTS[max(range(3), key=lambda k: sc.sentiment[k] + off[k])]


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def risk_counts(rows, preds) -> dict[str, list[int]]:
    out = {c: [0, 0, 0] for c in CATEGORIES}
    for r, pred in zip(rows, preds, strict=True):
        gold = set(r["risks"])
        for c in CATEGORIES:
            out[c][0] += c in gold and c in pred
            out[c][1] += c in pred and c not in gold
            out[c][2] += c in gold and c not in pred
    return out


def macro_f1(gold: list[str], pred: list[str]) -> tuple[float, dict[str, tuple[float, float, float]]]:
    per = {}
    for c in SENTIMENTS:
        tp = sum(g == p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(p == c != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c != p for g, p in zip(gold, pred, strict=True))
        per[c] = prf(tp, fp, fn)
    return sum(v[2] for v in per.values()) / 3, per


# Eligible policies. The model decides (model_drops_rules) but overrules a lexicon hit only when it is
# confident against it (P under rule_floor), and the rules' vetoes bind (negated, resolved, answered, a
# third party's, one-off: the guideline's cases in tests/nlp/test_replies.py are a contract). The clause
# guards on the model's own evidence are off: with the concept features they cost recall for no precision.
# Grouped CV on 64 personas (10,200 corpus rows, with concepts): rules always kept (the earlier policy)
# 0.844; model decides with guards on 0.859, guards off 0.870. Without a floor the model dropped 人手不够
# alone (P 0.35) and 有点累 (P 0.41) - hence the floor. Conservative first: a tie (within 0.005 micro-F1) keeps the earlier (lower) floor.
# veto_over (issue 14's fourth round): a vetoed class the model is >= 95% sure of is
# reported (burnout: 25 of 25 such corpus rows were labelled burnout); listed after "vetoes always bind".
# Off by default: with it the guideline case 昨天加班到十点，把报告赶完了 (one-off) fails. VETO_OVER=1.01,0.95,0.9 turns it on.
VETO_OVER = tuple(float(v) for v in os.environ.get("VETO_OVER", "1.01").split(","))
# MODEL_MARGIN: added to the policy after the CV (Policy.model_margin: a class only the model found needs P >=
# threshold + margin). Not chosen by the corpus CV: the thresholds only bind model-only classes (a rule signal
# needs rule_floor), so the CV would just move them down by the margin; the corpus writers' own out-of-fold
# scores are better calibrated than a new writer's, and the margin is chosen on the new writers' sets
# (scripts/loso_replies.py, leave one of H13..H18 out).
# Leave-one-set-out over H13..H18 (scripts/loso_replies.py, CV_FOLDS=7, mean risk micro-F1; issue 14's
# fourteenth round): baseline (floor chosen by the CV, 0.2; no margin; vetoes bind) 0.889. Offline sweeps on the
# baseline's six models: MODEL_MARGIN 0.1 +0.0015 (0.15 +0.003, but burnout recall 0.953 -> 0.928, conflict
# 0.902 -> 0.890); resource veto_over 0.95 +0.0015 (attrition, conflict: worse; burnout: +0.0005, but see
# VETO_OVER); both 0.892 (precision +0.004..+0.022 per class, recall burnout -0.017, resource -0.007);
# min_evidence 0.5-3: no change. Retrained: SET_WEIGHT 2 0.889, RISK_C 16 0.886, MIN_GROUPS 5 worse on 5 of 6
# sets. A rule floor of 0.4 measured 0.896 with the two knobs, but it drops 人手不够，其他没得问题 (P 0.21), a
# guideline case (tests/nlp/test_replies.py): the floor stays the CV's choice.
MODEL_MARGIN = float(os.environ.get("MODEL_MARGIN", "0.1"))
# VETO_OVER_CLASS=resource:0.95: a per-class veto_over added after the CV like MODEL_MARGIN (chosen on H13..H18):
# a shortage whose subject is a third party (供应商说保温箱缺货) is vetoed by the owner rule, yet ours
VETO_OVER_CLASS = tuple((c, float(v)) for c, v in (x.split(":") for x in os.environ.get("VETO_OVER_CLASS", "resource:0.95").split(",") if x))
# RULE_FLOORS: the rule floors the CV chooses among (one value: fixed)
RULE_FLOORS = tuple(float(v) for v in os.environ.get("RULE_FLOORS", "0.05,0.1,0.2,0.3").split(","))
POLICIES = [Policy(True, True, 0.0, False, f, v) for v in VETO_OVER for f in RULE_FLOORS]
# Thresholds: "f1" maximises each class's out-of-fold F1. The earlier rule ("precision": the best recall
# with out-of-fold precision >= MIN_PRECISION) bought CV precision that the frozen set did not confirm
# (H8: precision 0.80-0.88 at CV 0.87) and cost recall (H8 0.77-0.85); the target asks both >= 0.85.
THR_RULE = os.environ.get("THR_RULE", "f1")
# Ties (issue 14's sixth round): a threshold within THR_TOL of the best out-of-fold F1 and nearer 0.5, or
# sentiment offsets within OFF_TOL of the best out-of-fold macro-F1 and smaller, are preferred: near-ties
# flip between retrains (the sentiment offsets flipped from (0, 0, -0.25) to (0.25, 0, 0) on a model
# change that left the sentiment model itself unchanged) and carry no out-of-fold evidence either way.
THR_TOL = float(os.environ.get("THR_TOL", "0.001"))
OFF_TOL = float(os.environ.get("OFF_TOL", "0.002"))


def choose_thresholds(rows, fxs, policy: Policy) -> tuple[dict[str, float], float]:
    """Per class, the threshold with the best out-of-fold F1 (THR_RULE=precision: the best recall among
    those whose precision reaches MIN_PRECISION, else the best F1); returns them and the micro-F1."""
    thr = {}
    preds = {t: [risk_pred(fx, dict.fromkeys(CATEGORIES, t), policy) for fx in fxs] for t in GRID}
    for c in CATEGORIES:
        cnt = {t: prf(*risk_counts(rows, preds[t])[c]) for t in GRID}
        precise = [t for t in GRID if cnt[t][0] >= MIN_PRECISION] if THR_RULE == "precision" else []
        if precise:  # the target asks precision >= 0.85 per class: the best recall among those thresholds
            thr[c] = max(precise, key=lambda t: (round(cnt[t][1], 9), round(cnt[t][2], 9), t))
        else:
            top = max(cnt[t][2] for t in GRID)  # within THR_TOL of the best F1, the threshold nearest 0.5
            thr[c] = max((t for t in GRID if cnt[t][2] >= top - THR_TOL - 1e-9), key=lambda t: (-abs(t - 0.5), -t))
        print(f"  [thr] {c}: " + " ".join(f"{t}:{cnt[t][2]:.4f}" for t in GRID if 0.2 <= t <= 0.7))
    final = [{c for c in CATEGORIES if c in preds[thr[c]][i]} for i in range(len(rows))]
    cnt = risk_counts(rows, final)
    tp, fp, fn = (sum(v[i] for v in cnt.values()) for i in range(3))
    return thr, prf(tp, fp, fn)[2]


def choose_offsets(rows, oof) -> tuple[float, ...]:
    gold = [r["sentiment"] for r in rows]
    score = {}
    for a in OFFSETS:  # pos
        for b in OFFSETS:  # neg (neu fixed at 0)
            score[(a, 0.0, b)] = macro_f1(gold, [sent_pred(sc, (a, 0.0, b)) for sc in oof])[0]
    top = max(score.values())  # within OFF_TOL of the best macro-F1, the smallest offsets
    best = min((o for o in score if score[o] >= top - OFF_TOL - 1e-9), key=lambda o: (abs(o[0]) + abs(o[2]), OFFSETS.index(o[0]), OFFSETS.index(o[2])))
    print("  [off] " + " ".join(f"{o[0]},{o[2]}:{f:.4f}" for o, f in sorted(score.items(), key=lambda kv: -kv[1])[:6]) + f" -> {best}")
    return best


def report_lines(name: str, rows, risk_preds, sent_preds) -> list[str]:
    cnt = risk_counts(rows, risk_preds)
    tp, fp, fn = (sum(v[i] for v in cnt.values()) for i in range(3))
    per = " | ".join(f"{prf(*cnt[c])[0]:.2f} / {prf(*cnt[c])[1]:.2f}" for c in CATEGORIES)
    mf, sp = macro_f1([r["sentiment"] for r in rows], sent_preds)
    return [f"| {name} | {len(rows)} | {prf(tp, fp, fn)[2]:.3f} | {per} | {mf:.3f} | {sp['pos'][1]:.2f} |"]


def cross_validate(rows: list[dict], full: bool) -> tuple[dict[str, float], tuple[float, ...], Policy, list[str]]:
    """Leave one group out. Only corpus groups are folds unless `full` (the other rows, tuned on by the
    rules, are always in training then: their out-of-fold figures would be optimistic anyway)."""
    groups = sorted({r["_group"] for r in rows if full or r["_corpus"]})
    fold = {g: (i % CV_FOLDS if CV_FOLDS > 0 else g) for i, g in enumerate(groups)}
    fxs: list = [None] * len(rows)
    oof: list[Scores | None] = [None] * len(rows)
    for f in dict.fromkeys(fold.values()):
        model = to_model(fit([r for r in rows if fold.get(r["_group"]) != f]))
        for i, r in enumerate(rows):
            if fold.get(r["_group"]) == f:
                oof[i] = runtime_scores(model, r)
                fxs[i] = facts(model, r, oof[i])
        print(f"  [cv] {f}", flush=True)
    corpus = [i for i, r in enumerate(rows) if r["_corpus"]]
    pick = corpus if len(corpus) >= 300 else [i for i, r in enumerate(rows) if r["_group"] in groups]
    sub_rows, sub_fx = [rows[i] for i in pick], [fxs[i] for i in pick]
    best = None
    for pol in POLICIES:
        thr, micro = choose_thresholds(sub_rows, sub_fx, pol)
        print(f"policy {pol}: thresholds {thr} out-of-fold micro-F1 {micro:.3f}")
        if best is None or micro > best[0] + 0.005:  # a tie keeps the more conservative policy (listed first)
            best = (micro, thr, pol)
    _, thr, pol = best
    if MODEL_MARGIN or VETO_OVER_CLASS:
        pol = replace(pol, model_margin=MODEL_MARGIN, veto_over_class=VETO_OVER_CLASS)
    off = choose_offsets(sub_rows, [oof[i] for i in pick])
    lines = ["| rows | n | risk micro-F1 | P / R burnout | attrition | resource | conflict | sentiment macro-F1 | pos recall |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, idx in [("corpus (honest)", corpus), ("dev + old sets + t (optimistic)",
                                                    [i for i, r in enumerate(rows) if not r["_corpus"]])]:
        idx = [i for i in idx if rows[i]["_group"] in groups]
        if not idx:
            continue
        part = [rows[i] for i in idx]
        sents = [sent_pred(oof[i], off) for i in idx]
        lines += report_lines(name + ", model", part, [risk_pred(fxs[i], thr, pol) for i in idx], sents)
        lines += report_lines(name + ", rules only", part, [rows[i]["_rules"] for i in idx], sents)
    return thr, off, pol, lines


def write(model: Model, path: Path) -> None:
    lines = ["# PerfBot learned reply model - generated by scripts/train_replies.py, do not edit by hand.",
             "# feature <TAB> weights: " + " ".join(CATEGORIES) + " | " + " ".join(SENTIMENTS),
             "@risk_bias\t" + "\t".join(f"{v:.4f}" for v in model.risk_bias),
             "@threshold\t" + "\t".join(f"{model.threshold[c]:.3f}" for c in CATEGORIES),
             f"@policy\t{int(model.policy.model_drops_rules)}\t{int(model.policy.vetoes_bind)}\t{model.policy.min_evidence}"
             f"\t{int(model.policy.guards)}\t{model.policy.rule_floor}\t{model.policy.veto_over}"
             + (f"\t{model.policy.model_margin}" if model.policy.model_margin else ""),
             *(["@veto_over\t" + "\t".join(str(model.policy.veto_over_of(c)) for c in CATEGORIES)]
               if model.policy.veto_over_class else []),
             *(["@tfidf\t1"] if model.tfidf else []),
             "@sent_bias\t" + "\t".join(f"{v:.4f}" for v in model.sent_bias),
             "@sent_offset\t" + "\t".join(f"{v:.2f}" for v in model.sent_offset)]
    def num(v: float) -> str:
        return f"{v:.3f}".rstrip("0").rstrip(".") if v else "0"

    for f, w in sorted(model.weights.items()):
        if model.tfidf and not any(w[:7]):
            lines.append(f"{f}\t{num(w[7])}")  # known to the norm only
        else:
            lines.append(f + "\t" + "\t".join(num(v) for v in w))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv-only", action="store_true")
    ap.add_argument("--full", action="store_true", help="also fold over dev/old sets/t (slow, optimistic figures)")
    args = ap.parse_args()
    rows = load()
    print(f"{len(rows)} rows, groups {dict(Counter(r['_group'] for r in rows))}")
    thr, off, pol, lines = cross_validate(rows, args.full)
    print("\n".join(lines))
    print(f"thresholds {thr}, policy {pol}, sentiment offsets {off}")
    if args.cv_only:
        return
    if MODEL_OUT != MODEL_PATH:  # an experiment: the committed CV report stays
        write(to_model(fit(rows), thr, off, pol), MODEL_OUT)
        print(f"wrote {MODEL_OUT}")
        return
    CV_REPORT.parent.mkdir(parents=True, exist_ok=True)
    CV_REPORT.write_text(
        "# Grouped cross-validation of the reply model (written by scripts/train_replies.py)\n\n"
        "Leave-one-group-out over the corpus " + ("writers (a writer's personas together)" if CV_GROUP == "writer" else "writer personas") + " (dev, old sets A-I and t are always in training). Out-of-fold figures.\n"
        "Corpus rows were never tuned on (honest); the other rows were used to tune the lexicons (optimistic).\n\n"
        + "\n".join(lines) + f"\n\nThresholds {thr}; {pol}; sentiment offsets (pos, neu, neg) {off}.\n",
        encoding="utf-8")
    model = to_model(fit(rows), thr, off, pol)
    write(model, MODEL_OUT)
    print(f"wrote {MODEL_OUT} ({MODEL_OUT.stat().st_size} bytes, {len(model.weights)} features)")


if __name__ == "__main__":
    main()
