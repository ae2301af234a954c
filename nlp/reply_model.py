"""Learned reply model: risk classes and sentiment from one linear model over generalising features.

Features of one reply (`reply_features`), all binary except `n:lex`:
- `k:` concepts of nlp/data/concepts.tsv (nlp/concepts.py: many expressions, one weight; `k!:` negated);
- `w:` jieba tokens and `c:` character 1-, 2- and 3-grams of the normalised, typo-repaired text (n-grams
  never cross punctuation or spaces; digit runs are skipped; a Chinese character alone counts only as a
  jieba token, and single-character function words such as 我/的/了 not at all) - they carry words the
  lexicons never saw;
- the lexicon's verdicts as features rather than only as rules: `R:<cat>` a rule signal of that class,
  `R:<cat>:<severity>`, `V:<cat>` a lexicon term of that class matched but a context rule dropped it
  (negated, resolved, answered, a third party's, other sense, one-off);
- shape: `s:<source>`, `q:` phrased as a question (nlp.normalize.looks_like_question), `L:<bucket>` the length bucket;
- `n:lex`: the rule sentiment score of nlp/sentiment.py (lexicon + naive Bayes + risk and sarcasm terms),
  clipped to [-4, 4].

Model (nlp/data/reply_model.tsv, written deterministically by scripts/train_replies.py with scikit-learn
offline; only this pure-Python reader runs at run time):
- risk: one logistic regression per class; a class is reported when P(class) >= its threshold, the
  thresholds chosen by grouped cross-validation (groups = corpus writers, never split across folds);
- sentiment: a 3-class (pos/neu/neg) logistic regression; the label is argmax(logit + offset), the
  per-class offsets chosen by the same grouped cross-validation (macro-F1).
- TF-IDF (`@tfidf 1`): the features are weighted by idf and each reply's vector is L2-normalised; the
  file stores weights already multiplied by idf, plus idf^2 per feature for the norm (a line with one
  number is a feature known to the norm only). Files without `@tfidf` are the earlier binary models.

Evidence: a rule signal's span when the rules found the class, else the text feature with the largest
positive weight for the class. Loaded lazily, once, under a lock; read-only afterwards (thread-safe).
"""

from __future__ import annotations

import dataclasses
import io
import math
import threading
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nlp.concepts import concept_features
from nlp.lexicon import CATEGORIES
from nlp.normalize import DATA_DIR, looks_like_question
from nlp.packed_weights import PackedWeights

MODEL_PATH = DATA_DIR / "reply_model.tsv"
SENTIMENTS = ("pos", "neu", "neg")
_SKIP = set("，。！？；：,.!?;:、\n \t…~\"'“”‘’（）()[]【】《》<>-—_/\\|*#@&%+=") | {"\ue000"}
LEX_CLIP = 4.0
# single-character function words are no features on their own (they still appear inside 2-3-grams):
# alone they only learn who writes in the first person (我 weighed for conflict, 组 for resource)
_FUNCTION = set("我你他她它咱们的地得了着过是在都也就和与及或个一这那有被把让给对又还很")


def text_features(text: str, tokens: list[tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Binary text features -> first span: `w:` jieba tokens, `c:` character 1-3-grams."""
    out: dict[str, tuple[int, int]] = {}
    for s, e in tokens:
        tok = text[s:e]
        if tok.strip() and not all(c in _SKIP for c in tok) and not tok.isdigit() and tok not in _FUNCTION:
            out.setdefault("w:" + tok, (s, e))
    n = len(text)
    # characters that end an n-gram: punctuation, spaces; a digit only continues a non-digit
    stop = [c in _SKIP or c.isspace() for c in text]
    digit = [c.isdigit() for c in text]
    for i in range(n):
        if stop[i] or digit[i]:
            continue
        a = text[i]
        if not ("\u4e00" <= a <= "\u9fff"):
            out.setdefault("c:" + a, (i, i + 1))  # emoji, symbols, Latin letters; a Chinese character alone
            # is a feature only as a jieba token (累, 烦): alone it mostly learns topics (考 from 考编)
        if i + 1 < n and not stop[i + 1]:
            out.setdefault("c:" + text[i:i + 2], (i, i + 2))
            if i + 2 < n and not stop[i + 2] and not (digit[i + 2] and digit[i + 1]):
                out.setdefault("c:" + text[i:i + 3], (i, i + 3))
    out.update(concept_features(text))
    return out


def shape_features(text: str, source: str, matches, vetoed) -> list[str]:
    out = [f"s:{source}"]
    for m in matches:
        out.append(f"R:{m.category}")
        out.append(f"R:{m.category}:{m.severity}")
    out += [f"V:{c}" for c in vetoed]
    if looks_like_question(text):
        out.append("q:")
    n = len(text)
    out.append("L:" + ("1" if n <= 2 else "2" if n <= 5 else "3" if n <= 12 else "4" if n <= 40 else "5"))
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class Policy:
    """How the model's risk decision meets the rules' (chosen by grouped CV, stored in the model file)."""

    model_drops_rules: bool  # a rule signal whose P(class) is under the threshold is dropped
    vetoes_bind: bool  # a class the rules vetoed (negated, a third party's...) cannot come from the model
    min_evidence: float = 0.0  # the model's own class needs one text feature weighing at least this much
    guards: bool = True  # the model's own evidence must pass the clause rules (nlp.risk.model_span_ok)
    # with model_drops_rules: a rule signal is dropped only when P(class) is under min(threshold, rule_floor),
    # so the model overrules a lexicon hit only when it is confident against it (人手不够 alone stays resource)
    rule_floor: float = 1.0
    # a class the rules vetoed is still reported when the model is this sure (P >= veto_over; > 1: never)
    veto_over: float = 1.01
    # a class only the model found (no rule signal) needs P >= threshold + model_margin: character n-grams
    # alone (我勸, 外面, 白天) carry less evidence than a lexicon hit, and more so for writers never seen
    model_margin: float = 0.0
    # per-class veto_over, overriding it for the classes named: (("resource", 0.95),) reports a vetoed resource
    # class the model is >= 95% sure of (供应商说保温箱缺货: the supplier is the subject, the shortage is ours)
    veto_over_class: tuple[tuple[str, float], ...] = ()

    def veto_over_of(self, cat: str) -> float:
        return next((v for c, v in self.veto_over_class if c == cat), self.veto_over)


@dataclass(frozen=True)
class Model:
    risk_bias: tuple[float, ...]
    threshold: dict[str, float]
    policy: Policy
    sent_bias: tuple[float, ...]
    sent_offset: tuple[float, ...]
    weights: Mapping[str, Sequence[float]]  # feature -> 4 risk weights (CATEGORIES) + 3 sentiment weights
    # (+ idf^2 when tfidf: the reply's features are x_f = idf_f / ||idf over the reply's known features||,
    # the stored weights are already multiplied by idf_f, so z = bias + sum(weights) / norm)
    tfidf: bool = False


def parse_model(lines: Iterable[str]) -> Model:
    """Read a model file's lines (a list, or the open file itself: rows are packed as they are read).
    Meta lines (`@...`) come before the features, as scripts/train_replies.py writes them."""
    meta: dict[str, tuple[float, ...]] = {}
    weights = PackedWeights()
    tfidf = False
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.rstrip("\n").split("\t")
        vec = tuple(float(x) for x in cols[1:])
        if cols[0].startswith("@"):
            meta[cols[0]] = vec
            tfidf = tfidf or (cols[0] == "@tfidf" and bool(vec[0]))
        else:  # with tfidf, a vocabulary-only line (the norm needs it) carries just idf^2 after 7 zero weights
            weights.add(cols[0], (0.0,) * 7 + vec if tfidf and len(vec) != 8 else vec)
    weights.build()  # the index now, not at a reply's first lookup
    pol = meta.get("@policy", (0.0, 1.0, 0.0, 1.0))
    floor = pol[4] if len(pol) > 4 else 1.0
    veto_over = pol[5] if len(pol) > 5 else 1.01
    margin = pol[6] if len(pol) > 6 else 0.0
    vo_class = tuple((c, v) for c, v in zip(CATEGORIES, meta.get("@veto_over", ()), strict=False) if v != veto_over)
    return Model(meta["@risk_bias"], dict(zip(CATEGORIES, meta["@threshold"], strict=True)),
                 Policy(bool(pol[0]), bool(pol[1]), pol[2], bool(pol[3]), floor, veto_over, margin, vo_class), meta["@sent_bias"],
                 meta["@sent_offset"], weights, tfidf)


_lock = threading.Lock()
_model: Model | None = None


def load_model() -> Model | None:
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is None and MODEL_PATH.exists():
            from nlp import model_cache  # a binary copy keyed by the file's hash: a start skips the parse

            raw = MODEL_PATH.read_bytes()
            copy = model_cache.cache_path(raw)
            _model = model_cache.read(copy, from_parts)
            if _model is None:
                _model = parse_model(io.StringIO(raw.decode("utf-8")))
                model_cache.write(copy, model_cache.dump(*to_parts(_model)), "reply_model-")
    return _model


def to_parts(model: Model) -> tuple[dict, bytes, array, array, array, array, dict[str, int]]:
    """A packed model as nlp.model_cache stores it: its other fields (JSON-able) and its arrays."""
    w = model.weights
    if not isinstance(w, PackedWeights):
        raise TypeError("only a packed model is stored")
    meta = {"risk_bias": model.risk_bias, "threshold": model.threshold, "policy": dataclasses.asdict(model.policy),
            "sent_bias": model.sent_bias, "sent_offset": model.sent_offset, "tfidf": model.tfidf}
    return (meta, *w.parts())


def from_parts(meta: dict, names: bytes, keys: array, rows: array, flat: array, vocab: array,
               clash: dict[str, int]) -> Model:
    weights = PackedWeights.from_index(names, keys, rows, flat, vocab, clash)
    p = dict(meta["policy"])
    p["veto_over_class"] = tuple((c, v) for c, v in p["veto_over_class"])
    return Model(tuple(meta["risk_bias"]), dict(meta["threshold"]), Policy(**p), tuple(meta["sent_bias"]),
                 tuple(meta["sent_offset"]), weights, bool(meta["tfidf"]))


@dataclass(frozen=True)
class Scores:
    risk: tuple[float, ...]  # P(class), CATEGORIES order
    spans: tuple[tuple[int, int] | None, ...]  # span of the strongest positive text feature (2+ chars) per class
    evidence: tuple[float, ...]  # that feature's weight
    sentiment: tuple[float, ...]  # logits + offsets, SENTIMENTS order


def score(model: Model, feats: dict[str, tuple[int, int]], extra: list[str], lex: float) -> Scores:
    """The model's risk probabilities and sentiment logits for one reply's features. A TF-IDF model
    (``model.tfidf``) divides the sums by the reply's L2 norm: the square root of the summed idf^2
    (each weight line's 8th number) of its known features, ``n:lex`` counted as lex * idf."""
    tfidf = model.tfidf
    z0 = z1 = z2 = z3 = s0 = s1 = s2 = q = 0.0
    best = [0.0, 0.0, 0.0, 0.0]
    spans: list[tuple[int, int] | None] = [None] * 4
    weights = model.weights
    for f, sp in feats.items():
        w = weights.get(f)
        if w is None:
            continue
        z0 += w[0]
        z1 += w[1]
        z2 += w[2]
        z3 += w[3]
        s0 += w[4]
        s1 += w[5]
        s2 += w[6]
        if tfidf:
            q += w[7]
        if sp[1] - sp[0] < 2:
            continue  # a single character (累, 烦) is no evidence a person can read
        for k in range(4):
            if w[k] > best[k]:
                best[k], spans[k] = w[k], sp
    z = [z0, z1, z2, z3, s0, s1, s2]
    for f in extra:
        w = weights.get(f)
        if w is not None:
            q += w[7] if tfidf else 0.0
            for k in range(7):
                z[k] += w[k]
    w = weights.get("n:lex")
    if w is not None:
        v = max(-LEX_CLIP, min(LEX_CLIP, lex))
        q += w[7] * v * v if tfidf else 0.0
        for k in range(7):
            z[k] += w[k] * v
    norm = (math.sqrt(q) or 1.0) if tfidf else 1.0
    bias = model.risk_bias + model.sent_bias
    z = [bias[k] + z[k] / norm for k in range(7)]
    risk = tuple(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, v)))) for v in z[:4])
    sent = tuple(z[4 + k] + model.sent_offset[k] for k in range(3))
    return Scores(risk, tuple(spans), tuple(best), sent)


def sentiment_label(s: Scores) -> str:
    return SENTIMENTS[max(range(3), key=lambda k: s.sentiment[k])]


def keeps(pol: Policy, thr: float, p: float, ruled: bool, vetoed: bool, evidence: float, span_ok: bool | None,
          cat: str = "") -> bool:
    """Whether one class (`cat`) is reported, from the facts about it (scripts/train_replies.py tunes on this).
    `span_ok`: None when there is no evidence span, else whether it passes the clause rules."""
    if ruled:
        return p >= min(thr, pol.rule_floor) or not pol.model_drops_rules
    return (p >= thr + pol.model_margin and evidence >= pol.min_evidence and span_ok is not None and (span_ok or not pol.guards)
            and not (pol.vetoes_bind and vetoed and p < pol.veto_over_of(cat)))


def class_facts(det, s: Scores, source: str) -> list[tuple[bool, bool, bool | None]]:
    """Per class: a rule signal found it, the rules vetoed it, the model's evidence passes the clause rules."""
    from nlp.risk import model_span_ok

    out = []
    for k, cat in enumerate(CATEGORIES):
        ruled = any(m.category == cat for m in det.matches)
        span = s.spans[k]
        ok = None if ruled or span is None else model_span_ok(det, cat, span[0], span[1], source)
        out.append((ruled, cat in det.vetoed, ok))
    return out


def risk_matches(model: Model, det, s: Scores, source: str, head: Sequence[float] | None = None) -> list:
    """The reported risk `Match`es: rule signals the model keeps, plus the model's own classes whose
    evidence passes the clause rules (nlp.risk.model_span_ok, checked only when everything else passes).
    ``head``: P(class) on the reply without its reassuring tail (nlp.focus.head_end), which decides the
    rule signals that tail singles out (``det.kept``: 人手不够，其他没得问题)."""
    from nlp.risk import Match, model_span_ok

    out = []
    pol = model.policy
    for k, cat in enumerate(CATEGORIES):
        p, thr = s.risk[k], model.threshold[cat]
        ruled = [m for m in det.matches if m.category == cat]
        if ruled:
            if head is not None and cat in det.kept:
                p = head[k]
            if keeps(pol, thr, p, True, False, 0.0, None):
                out += ruled
            continue
        if cat in det.firm:  # the visited party's own signal (nlp.risk.Detection.firm)
            continue
        span = s.spans[k]
        if span is None or not keeps(pol, thr, p, False, cat in det.vetoed, s.evidence[k], True, cat):
            continue
        if keeps(pol, thr, p, False, cat in det.vetoed, s.evidence[k], model_span_ok(det, cat, span[0], span[1], source), cat):
            out.append(Match(cat, span[0], span[1], 1 if p < 0.75 else 2))
    return out
