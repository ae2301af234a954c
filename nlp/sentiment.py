"""Workplace sentiment: lexicon weights + a tiny naive Bayes + risk-aware tone rules.

Why not snownlp at run time: its stock model was trained on shopping reviews. Measured on
replies_dev.jsonl (246 rows): accuracy 0.378 / macro-F1 0.363 with the usual 0.4/0.6 cut-offs, and at
best 0.500 / 0.485 with cut-offs tuned on the same rows (0.15/0.75); about 2.1 ms per reply.

This scorer instead sums:
- weights from nlp/data/sentiment_lexicon.tsv (negator right before a term flips and halves it);
- alpha * the pos-vs-neg log-odds of a multinomial naive Bayes over jieba tokens, trained by
  scripts/train_sentiment.py on nlp/data/sentiment_train.tsv (hand-written workplace sentences, not
  the dev rows) and stored as nlp/data/sentiment_nb.tsv;
- a risk term: risks pull towards negative only as far as the tone says so - damped in manager notes
  and when the reply is a calm obstacle statement with a next step (障碍：… 已和主管确认 / 下周跟进);
- sarcasm: praise words or smiling emoji next to burnout/conflict evidence (天天加班真开心, 感谢领导
  让我背锅😊) count as negative.

The rule score (`lexicon_total`) is one feature of the learned reply model (nlp/reply_model.py), which
decides the label; without the model file `rule_label` (the cut-offs below) decides.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from nlp.lexicon import token_bounds
from nlp.normalize import DATA_DIR, Normalized
from nlp.risk import _NEGATORS, _PSEUDO_NEG, PAST, RESOLUTION

_lock = threading.Lock()
_model: dict[str, object] = {}

_NEG_BEFORE = ("并不", "不太", "没有", "不是", "不", "没", "未", "无")
_SARCASM = re.compile(r"真开心|好开心|太好了|好充实|充实|感谢|谢谢|学到了|福报|呵呵|真棒|真好|😊|🙂|🙃|😄|😁|感恩")
_CALM = re.compile(
    r"障碍|下周|已和|已经和|先|正在|跟进|确认|安排|交接|计划|我会|后续|再|申请|推进|沟通|调整|建议|需要|犹豫|在看|在整理"
)
_RISK_WEIGHT = {"burnout": 1.5, "attrition": 0.8, "conflict": 1.6, "resource": 0.8}
# a manager reporting an employee's signals together with a plan (我会找他谈 / 已安排轮休) is a calm note:
# the employee's distress words are not the writer's tone
_MANAGER_PLAN = re.compile(
    r"我会|我来|我让|我再|我先|已安排|安排|约了|找他|找她|跟他|跟她|和他|和她|单独|沟通|协调|介入|跟进|争取|了解|核实|留人|挽留"
)
ALPHA = 0.2
RISK_SCALE = 0.6  # tuned on dev + held-out A (plateau 0.5-0.7)
MANAGER_RISK = 0.25
CALM_RISK = 0.4
MANAGER_PLAN_LEX = 0.5
POS_CUT = 0.9
NEG_CUT = -0.9


def _load() -> None:
    if _model:
        return
    with _lock:
        if _model:
            return
        lex: dict[str, float] = {}
        with open(DATA_DIR / "sentiment_lexicon.tsv", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip() or line.startswith("#"):
                    continue
                term, weight = line.rstrip("\n").split("\t")[:2]
                from nlp.normalize import normalize

                lex[normalize(term).text] = float(weight)
        index: dict[str, list[str]] = {}
        for term in sorted(lex, key=len, reverse=True):
            index.setdefault(term[0], []).append(term)
        nb: dict[str, tuple[float, float]] = {}
        path = DATA_DIR / "sentiment_nb.tsv"
        if path.exists():
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("#") or not line.strip():
                        continue
                    tok, lp, ln = line.rstrip("\n").split("\t")[:3]
                    nb[tok] = (float(lp), float(ln))
        _model.update(lex=lex, index=index, nb=nb)


def lexicon_hits(text: str) -> list[tuple[int, int, float]]:
    _load()
    lex: dict[str, float] = _model["lex"]
    index: dict[str, list[str]] = _model["index"]
    hits = []
    i = 0
    while i < len(text):
        for term in index.get(text[i], ()):
            if text.startswith(term, i):
                w = lex[term]
                before = re.split(r"[，。！？；：,.!?;:的]", text[max(0, i - 4):i])[-1]
                before = _PSEUDO_NEG.sub("#", before)
                if w < 0 and _NEGATORS.search(before) or w > 0 and any(before.endswith(n) for n in _NEG_BEFORE):
                    w = -0.5 * w
                hits.append((i, i + len(term), w))
                i += len(term) - 1
                break
        i += 1
    return hits


def nb_logodds(text: str, tokens: list[tuple[int, int]] | None = None) -> float:
    _load()
    nb: dict[str, tuple[float, float]] = _model["nb"]
    if not nb:
        return 0.0
    total = 0.0
    for s, e in tokens if tokens is not None else token_bounds(text)[2]:
        pair = nb.get(text[s:e])
        if pair:
            total += pair[0] - pair[1]
    return total


def _resolution_point(text: str) -> int:
    """Offset of a resolution (现在没问题/后来补上) that follows a past marker, or -1."""
    past = PAST.search(text)
    if not past:
        return -1
    res = RESOLUTION.search(text, past.end())
    return res.start() if res else -1


# short acknowledgements are neutral whatever a model says (收到 / 好的 / 就这样 / 👌)
_ACK = re.compile(r"^(收到|收到了|好的?|好哒|好嘞|好滴|行|嗯+|哦+|ok|ok的|okay|就这样|没了|无|暂无|没有|了解|知道了|明白|明白了|"
                  r"👌|🙏|🆗|1|可以)[。.!！~～,，]*$")


def is_acknowledgement(text: str) -> bool:
    """`text`: normalised (nlp.normalize) reply."""
    return bool(_ACK.match(text.strip()))


def rule_label(total: float) -> str:
    """The rule score's own label (used when there is no learned model file)."""
    return "pos" if total >= POS_CUT else "neg" if total <= NEG_CUT else "neu"


def lexicon_total(
    norm: Normalized, source: str, matches: Sequence, tokens: list[tuple[int, int]] | None = None
) -> float:
    """The rule score: lexicon + naive Bayes + risk and sarcasm terms (> POS_CUT pos, < NEG_CUT neg)."""
    text = norm.text
    hits = lexicon_hits(text)
    cats = {m.category for m in matches}
    sarcastic = bool(cats & {"burnout", "conflict"}) and bool(_SARCASM.search(text))
    spans = [(m.start, m.end) for m in matches]
    resolved = _resolution_point(text)
    lex_score = 0.0
    plan = source == "manager" and bool(_MANAGER_PLAN.search(text))
    for s, e, w in hits:
        if w < 0 and any(s < me and ms < e for ms, me in spans):
            w *= 0.5  # the risk term below carries most of it, with tone damping
        if w < 0 and s < resolved:
            continue  # 之前担心…现在完全没问题: a resolved worry
        if w < 0 and plan:
            w *= MANAGER_PLAN_LEX
        lex_score += -abs(w) if (sarcastic and w > 0) else w
    risk = 0.0
    for cat in cats:
        sev = max(m.severity for m in matches if m.category == cat)
        risk -= _RISK_WEIGHT[cat] * (0.6 + 0.2 * sev)
    risk = max(risk * RISK_SCALE, -2.5)
    if source == "manager":
        risk *= MANAGER_RISK
    if _CALM.search(text):
        risk *= CALM_RISK
    return lex_score + risk + ALPHA * nb_logodds(text, tokens)
