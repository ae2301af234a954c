"""Intent detection for employees' questions to the bot.

``parse_question(text, today, known_names)`` returns the intent, a confidence,
the period the question names (see ``nlp.period``) and, when a manager asks
about one of their reports, that report's name.

How it works (all data lives in ``nlp/data``):

1. **Normalise**: NFKC (full-width → half-width), lower case, traditional →
   simplified (``intent_chars.tsv``), e.g. ``還有哪些任務沒完成`` → ``还有哪些任务没完成``.
2. **Typo repair** against the Chinese keywords of ``intents.tsv``:
   * homophones: a window that sounds like a keyword, shares at least one
     character with it and is not itself a common word (``鸡分``→``积分``,
     ``周保``→``周报``, ``对其``→``对齐``, ``未完城``→``未完成``);
   * one wrong character: a token jieba does not know as a word, one substitution
     away from a keyword (``反惯``→``反馈``), checked with rapidfuzz.
3. **Score**: every pattern in ``intents.tsv`` (``intent<TAB>pattern<TAB>weight``;
   plain substring or ``re:`` regex) that matches adds its weight to its intent.
4. **Decide**: the learned layer (``nlp/intent_model.py``: a logistic regression over
   character 1-3-grams plus these pattern scores, trained by ``scripts/train_intents.py``)
   picks among the labelled intents, unless the patterns point to an intent it was not
   trained on (a product-only intent), which the patterns then decide. Without the model
   file: the best intent wins if its score reaches ``MIN_SCORE``; otherwise, or if the
   out-of-scope cues (食堂, 报销, 年假, 你好…) win, the answer is ``none``.
   ``confidence`` grows with the winning score and its margin over the runner-up.

Add phrasings by adding rows to ``intents.tsv``; ``python -m bot eval questions``
(``nlp.questions_eval``) measures the effect.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import Hamming

from nlp.intent_model import decide_learned
from nlp.period import Period, parse_period

__all__ = ["INTENTS", "MIN_SCORE", "Question", "normalize", "parse_question", "score_intents"]

INTENTS = (
    "tasks_left",
    "last_feedback",
    "goal_progress",
    "goal_alignment",
    "points",
    "checkin_status",
    "adjust_target",
    "adjust_status",
    "help",
    "none",
)

#: below this summed weight a question is treated as out of scope (``none``)
MIN_SCORE = 1.0
REMEMBERED = 4096  # short questions whose intent is kept (_remembered)
REMEMBER_CHARS = 40
#: windows that jieba counts more often than this are real words, never typos (几分 is not 积分)
_TYPO_MAX_FREQ = 5
#: a one-character typo is only assumed when the odd character is not a very common one (惯 yes, 要 no)
_TYPO_CHAR_MAX_FREQ = 20000

_DATA = Path(__file__).with_name("data")


@dataclass(frozen=True)
class Question:
    intent: str
    confidence: float
    period: Period
    subject_name: str | None


# --------------------------------------------------------------------------- data loading


def _is_cjk(s: str) -> bool:
    return bool(s) and all("\u4e00" <= c <= "\u9fff" for c in s)


@dataclass(frozen=True)
class _Pattern:
    intent: str
    regex: re.Pattern[str] | None  # None → plain substring
    text: str
    weight: float


class _Model:
    def __init__(self) -> None:
        self.t2s: dict[int, str] = {}
        self.pinyin: dict[str, frozenset[str]] = {}
        for line in (_DATA / "intent_chars.tsv").read_text(encoding="utf-8").splitlines():
            if not line or line.startswith("#"):
                continue
            ch, simp, readings = (line.split("\t") + ["", ""])[:3]
            if simp:
                self.t2s[ord(ch)] = simp
            if readings:
                self.pinyin[ch] = frozenset(readings.split(","))

        self.patterns: list[_Pattern] = []
        for n, line in enumerate((_DATA / "intents.tsv").read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 3 or parts[0] not in INTENTS:
                raise ValueError(f"intents.tsv:{n}: expected 'intent<TAB>pattern<TAB>weight': {line!r}")
            intent, pat, weight = parts[0], parts[1], float(parts[2])
            if pat.startswith("re:"):
                self.patterns.append(_Pattern(intent, re.compile(pat[3:]), pat, weight))
            elif pat.isascii() and re.fullmatch(r"[a-z0-9 ]+", pat):
                rx = re.compile(r"(?<![a-z])" + re.escape(pat) + r"(?![a-z])")
                self.patterns.append(_Pattern(intent, rx, pat, weight))
            else:
                self.patterns.append(_Pattern(intent, None, pat, weight))

        # vocabulary for typo repair: the Chinese plain keywords
        # (out-of-scope cues are left out: repairing 快到 into 快递 would only hide a real question)
        vocab = sorted(
            {
                p.text
                for p in self.patterns
                if p.regex is None and p.intent != "none" and _is_cjk(p.text) and len(p.text) >= 2
            }
        )
        vocab += ["完成", "没完成", "未完成", "提交"]  # pieces of regex patterns worth repairing too
        self.vocab_by_len: dict[int, list[str]] = defaultdict(list)
        self.vocab_by_reading: dict[str, list[str]] = defaultdict(list)
        for w in dict.fromkeys(vocab):
            self.vocab_by_len[len(w)].append(w)
            for r in self.pinyin.get(w[0], ()):
                self.vocab_by_reading[r].append(w)
            self.vocab_by_reading["=" + w[0]].append(w)

        # jieba's dictionary once per process: the reply side's tokenizer, read with jieba's own
        # frequencies (nlp.lexicon.base_freq), so typo repair decides exactly as with a plain jieba
        from nlp.lexicon import base_freq, tokenizer

        self.tokenizer = tokenizer()
        self.freq = base_freq()

    # ----------------------------------------------------------------- typo repair

    def _sounds_like(self, a: str, b: str) -> bool:
        ra, rb = self.pinyin.get(a), self.pinyin.get(b)
        return a == b or (ra is not None and rb is not None and not ra.isdisjoint(rb))

    def repair(self, text: str) -> str:
        out = text
        # homophones
        i = 0
        while i < len(out):
            ch = out[i]
            cands: list[str] = []
            for r in self.pinyin.get(ch, ()):
                cands.extend(self.vocab_by_reading.get(r, ()))
            best = None
            for w in cands:
                win = out[i : i + len(w)]
                if len(win) != len(w) or win == w:
                    continue
                if not any(a == b for a, b in zip(win, w, strict=True)):
                    continue
                if not all(self._sounds_like(a, b) for a, b in zip(win, w, strict=True)):
                    continue
                if self.freq.get(win, 0) > _TYPO_MAX_FREQ:
                    continue
                if best is None or len(w) > len(best):
                    best = w
            if best:
                out = out[:i] + best + out[i + len(best) :]
                i += len(best)
            else:
                i += 1
        # one wrong character in a token jieba does not know
        if any(_is_cjk(c) for c in out):
            pieces: list[str] = []
            for tok in self.tokenizer.lcut(out):
                rep = tok
                if 2 <= len(tok) <= 4 and _is_cjk(tok) and not self.freq.get(tok):
                    for w in self.vocab_by_len.get(len(tok), ()):
                        if Hamming.distance(tok, w) != 1 or (len(tok) == 2 and tok[0] != w[0]):
                            continue
                        wrong = next(a for a, b in zip(tok, w, strict=True) if a != b)
                        if self.freq.get(wrong, 0) < _TYPO_CHAR_MAX_FREQ:  # 周要 is not 周报: 要 is no typo
                            rep = w
                            break
                pieces.append(rep)
            out = "".join(pieces)
        return out


@lru_cache(maxsize=1)
def _model() -> _Model:
    return _Model()


def normalize(text: str) -> str:
    """NFKC, lower case, traditional → simplified."""
    return unicodedata.normalize("NFKC", text).lower().translate(_model().t2s).strip()


# --------------------------------------------------------------------------- scoring


def score_intents(text: str) -> dict[str, float]:
    """Summed pattern weights per intent for already-normalised ``text`` (typos repaired here)."""
    return _score_repaired(_model().repair(text))


def _score_repaired(fixed: str) -> dict[str, float]:
    m = _model()
    scores: dict[str, float] = defaultdict(float)
    for p in m.patterns:
        hit = p.text in fixed if p.regex is None else p.regex.search(fixed) is not None
        if hit:
            scores[p.intent] += p.weight
    return dict(scores)


def _confidence(top: float, second: float) -> float:
    strength = 1.0 - math.exp(-top)
    margin = top / (top + second) if top + second > 0 else 0.0
    return round(min(0.99, strength * margin), 3)


def _find_subject(text: str, known_names: Iterable[str]) -> str | None:
    names = sorted({n for n in known_names if n}, key=len, reverse=True)
    for name in names:
        if name in text:
            return name
    return None


def parse_question(text: str, today: date, known_names: Iterable[str] = ()) -> Question:
    """Classify a question and extract its period and (for managers) the report it is about."""
    raw = text or ""
    subject = _find_subject(raw, known_names)
    norm = normalize(raw)
    if subject is None:
        subject = _find_subject(norm, known_names)
    # the name is taken out before anything else reads the text (a name like 周五一 must not become a period)
    scoring_text = norm.replace(normalize(subject), "他") if subject else norm
    period = parse_period(scoring_text, today)

    intent, conf = (_remembered(scoring_text) if len(scoring_text) <= REMEMBER_CHARS
                    else _intent_of(scoring_text))
    return Question(intent, conf, period, subject)


def _intent_of(scoring_text: str) -> tuple[str, float]:
    """The intent and its confidence for normalised text with the subject taken out: a pure function
    of the text (the period and the subject are read apart from it)."""
    fixed = _model().repair(scoring_text)
    scores = _score_repaired(fixed)
    learned = decide_learned(fixed, scores)
    if learned is not None:
        return learned
    none_score = scores.pop("none", 0.0)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    top_intent, top = ranked[0] if ranked else ("none", 0.0)
    second = ranked[1][1] if len(ranked) > 1 else 0.0

    if top < MIN_SCORE or none_score >= top:
        # out of scope: confident when nothing domain-like matched or an out-of-scope cue did
        conf = 0.9 if top == 0 or none_score >= top else round(0.5 + 0.4 * (1 - top / MIN_SCORE), 3)
        return "none", conf
    return top_intent, _confidence(top, max(second, none_score))


# Users type the help card's phrases (帮助, 我的KPI进度, 本月还有哪些任务没完成) verbatim again and again:
# a repeated short question skips the typo repair, the pattern scan and the learned model (0.1-0.3 ms
# each). Long free text rarely repeats, so it is not kept (bounded memory: at most
# REMEMBERED × REMEMBER_CHARS characters).
_remembered = lru_cache(maxsize=REMEMBERED)(_intent_of)
