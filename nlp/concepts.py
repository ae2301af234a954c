"""Concept features: groups of surface expressions that mean one thing (nlp/data/concepts.tsv).

A linear model over words learns nothing about a word it never saw in training. The concept lexicon
groups the many ways people say one thing (熬夜 / 通宵 / 开夜车 / 爆肝 / OT到凌晨 …, in simplified,
traditional, dialect, slang and English forms) under one name, and the reply model learns one weight
per concept (`k:<class>.<name>`), so an expression that no training row used still carries the
concept's weight. Negated mentions (不累, 没想走, 唔攰) are a separate feature (`k!:<concept>`), so the
model can learn that they mean the opposite.

Matching: every substring of 1-8 characters of the normalised text is looked up in one dictionary
(about 300 lookups for a 40-character reply; no regular expressions); a longer expression wins over
the shorter ones inside it. Loaded once, lazily, under a lock; read-only afterwards (thread-safe).
"""

from __future__ import annotations

import threading
from pathlib import Path

from nlp.normalize import DATA_DIR

CONCEPTS_PATH = DATA_DIR / "concepts.tsv"
MAX_LEN = 8
NEGATORS = ("不", "没", "沒", "无", "無", "未", "别", "別", "唔", "冇", "非")
_lock = threading.Lock()
_table: dict[str, str] | None = None


def parse(lines: list[str]) -> dict[str, str]:
    """``expression -> concept`` from ``<concept>\\t<expr>|<expr>|…`` lines (# comments). An
    expression listed under two concepts keeps the first; expressions are matched lower-case."""
    table: dict[str, str] = {}
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        name, _, exprs = line.rstrip("\n").partition("\t")
        for expr in exprs.split("|"):
            expr = expr.strip().lower()
            if expr and len(expr) <= MAX_LEN:
                table.setdefault(expr, name.strip())
    return table


def table(path: Path = CONCEPTS_PATH) -> dict[str, str]:
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                _table = parse(path.read_text(encoding="utf-8").splitlines()) if path.exists() else {}
    return _table


def _is_latin(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _inside_word(low: str, start: int, end: int) -> bool:
    """A Latin expression must stand as a word: "ot" is not in "hotel", "hc" not in "ahc"."""
    return ((_is_latin(low[start]) and start > 0 and _is_latin(low[start - 1]))
            or (_is_latin(low[end - 1]) and end < len(low) and _is_latin(low[end])))


def concept_features(text: str, lex: dict[str, str] | None = None) -> dict[str, tuple[int, int]]:
    """``k:<concept>`` (or ``k!:<concept>`` when a negator is among the two characters before it: 不累,
    没有加班, 不太忙) -> first span. ``lex``: another table than nlp/data/concepts.tsv (tests)."""
    lex = table() if lex is None else lex
    if not lex:
        return {}
    low = text.lower()
    n = len(low)
    out: dict[str, tuple[int, int]] = {}
    i = 0
    while i < n:
        hit = 0
        for size in range(min(MAX_LEN, n - i), 0, -1):  # longest first
            name = lex.get(low[i:i + size])
            if name is not None and not _inside_word(low, i, i + size):
                before = low[max(0, i - 2):i]
                negated = any(neg in before for neg in NEGATORS)
                out.setdefault(("k!:" if negated else "k:") + name, (i, i + size))
                hit = size
                break
        i += hit or 1
    return out
