"""Load and compile the risk lexicon (nlp/data/risk_lexicon.tsv) and the jieba tokenizer.

The TSV format is documented in the file's header comment. Each row becomes one compiled regular
expression (term and variants as alternatives, longest first) plus its metadata. A per-row set of
possible first characters lets the matcher skip rows that cannot occur in a text.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

try:  # Python 3.11+
    import re._constants as sre_constants
    import re._parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants
    import sre_parse

from nlp.normalize import DATA_DIR, is_cjk, normalize

CATEGORIES = ("burnout", "attrition", "resource", "conflict")
PUNCT = "，。！？；：,.!?;:\n"
GAP = f"[^{re.escape(PUNCT)}]{{0,3}}?"
_GROUP_REF = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Entry:
    category: str
    label: str  # the canonical term as written in the TSV
    regex: re.Pattern[str]
    severity: int
    flags: frozenset[str]
    exclude: tuple[str, ...]
    first: frozenset[str] | None  # possible first characters, None = unknown


@dataclass(frozen=True)
class Lexicon:
    entries: tuple[Entry, ...]
    literals: frozenset[str]  # pure-CJK literal forms (typo anchors, jieba user words)


def split_top(field: str) -> list[str]:
    """Split on | outside (), [] and {} so that regex variants may contain alternations."""
    out, depth, cur = [], 0, []
    for ch in field:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [x.strip() for x in out if x.strip() and x.strip() != "-"]


def _norm(s: str) -> str:
    return normalize(s.strip()).text


def _first_chars(parsed) -> set[str] | None:
    """Possible first characters of a parsed regex, or None when unknown/unbounded."""
    out: set[str] = set()
    for op, av in parsed:
        if op is sre_constants.LITERAL:
            out.add(chr(av))
            return out
        if op is sre_constants.IN:
            for iop, iav in av:
                if iop is not sre_constants.LITERAL:
                    return None
                out.add(chr(iav))
            return out
        if op is sre_constants.BRANCH:
            for branch in av[1]:
                sub = _first_chars(branch)
                if sub is None:
                    return None
                out |= sub
            return out
        if op is sre_constants.SUBPATTERN:
            sub = _first_chars(av[-1])
            if sub is None:
                return None
            if _may_be_empty(av[-1]):
                out |= sub
                continue
            return out | sub
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            lo, _hi, item = av
            sub = _first_chars(item)
            if sub is None:
                return None
            out |= sub
            if lo >= 1:
                return out
            continue
        if op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            continue
        return None
    return None


def _may_be_empty(parsed) -> bool:
    lo, _hi = parsed.getwidth()
    return lo == 0


def _compile_form(form: str, groups: dict[str, list[str]], gap_no: list[int]) -> str:
    def group_alt(name: str) -> str:
        members = sorted(groups[name], key=len, reverse=True)
        return "(?:" + "|".join(re.escape(m) for m in members) + ")"

    if form.startswith("re:"):
        src = form[3:]
        return _GROUP_REF.sub(lambda m: group_alt(m.group(1)) if m.group(1) in groups else m.group(0), src)
    out = []
    i = 0
    while i < len(form):
        ch = form[i]
        if ch == "~":
            out.append(f"(?P<g{gap_no[0]}>{GAP})")
            gap_no[0] += 1
        elif ch == "{" and (m := _GROUP_REF.match(form, i)) and m.group(1) in groups:
            out.append(group_alt(m.group(1)))
            i = m.end()
            continue
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def parse_lexicon(path: Path) -> Lexicon:
    rows: list[list[str]] = []
    groups: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            cols = [c.strip() for c in line.rstrip("\n").split("\t")]
            if cols[0].startswith("@"):
                groups[cols[0][1:]] = [_norm(x) for x in cols[1].split("|") if x.strip()]
            else:
                rows.append(cols + [""] * (6 - len(cols)))
    entries: list[Entry] = []
    literals: set[str] = set()
    for category, term, variants, severity, flags, exclude in (r[:6] for r in rows):
        if category not in CATEGORIES:
            raise ValueError(f"unknown risk category {category!r} in {path}")
        forms = [term] + split_top(variants)
        forms = [f.strip() if f.strip().startswith("re:") else _norm(f) for f in forms]
        for f in forms:
            if f and all(is_cjk(c) for c in f):
                literals.add(f)
        gap_no = [0]
        parts = [_compile_form(f, groups, gap_no) for f in sorted(forms, key=len, reverse=True)]
        src = "|".join(f"(?:{p})" for p in parts)
        firsts = _first_chars(sre_parse.parse(src))
        excl = tuple(_norm(x) for x in exclude.split("|") if x.strip() and x.strip() != "-")
        literals.update(x for x in excl if all(is_cjk(c) for c in x))
        entries.append(
            Entry(
                category=category,
                label=_norm(term) if not term.startswith("re:") else term,
                regex=re.compile(src),
                severity=max(1, min(3, int(severity or 2))),
                flags=frozenset(x.strip() for x in flags.split(",") if x.strip() and x.strip() != "-"),
                exclude=excl,
                first=frozenset(firsts) if firsts else None,
            )
        )
    return Lexicon(tuple(entries), frozenset(literals))


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    return parse_lexicon(DATA_DIR / "risk_lexicon.tsv")


_tok_lock = threading.Lock()
_tokenizer = None
_base_freq: dict[str, int | None] = {}  # jieba's own frequency of every word (and prefix) we added or changed


class BaseFreq:
    """jieba's plain dictionary frequencies, read through the shared tokenizer: its FREQ except for
    the words our user dictionary and lexicon added or changed. One dictionary in memory instead of
    a second Tokenizer (about 65 MB) for the question side's typo repair."""

    def __init__(self, freq: dict[str, int], overrides: dict[str, int | None]) -> None:
        self.freq, self.overrides = freq, overrides

    def get(self, word: str, default: int | None = None) -> int | None:
        if word in self.overrides:
            base = self.overrides[word]
            return default if base is None else base
        return self.freq.get(word, default)


def base_freq() -> BaseFreq:
    return BaseFreq(tokenizer().FREQ, _base_freq)


def tokenizer():
    """A private jieba Tokenizer (does not touch the global jieba state) with our user dictionary
    plus every literal lexicon form and exclude string, so terms come out as single tokens."""
    global _tokenizer
    if _tokenizer is not None:
        return _tokenizer
    with _tok_lock:
        if _tokenizer is None:
            import logging

            from nlp.jieba_import import load as load_jieba

            jieba = load_jieba()
            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            literals = [w for w in sorted(load_lexicon().literals) if len(w) >= 2]
            userdict = (DATA_DIR / "userdict.txt").read_bytes()
            user_words = [line.split()[0] for line in userdict.decode("utf-8").splitlines() if line.strip()]
            global _base_freq
            _base_freq = {w[:i]: tok.FREQ.get(w[:i]) for w in [*user_words, *literals] for i in range(1, len(w) + 1)}
            tok.load_userdict(io.BytesIO(userdict))
            for word in literals:
                tok.add_word(word, freq=max(tok.suggest_freq(word, tune=False), 2000))
            _tokenizer = tok
    return _tokenizer


def token_bounds(text: str) -> tuple[frozenset[int], frozenset[int], list[tuple[int, int]]]:
    """jieba (no HMM) token start and end offsets, plus the token spans."""
    starts, ends, spans = set(), set(), []
    pos = 0
    for tok in tokenizer().cut(text, HMM=False):
        spans.append((pos, pos + len(tok)))
        starts.add(pos)
        pos += len(tok)
        ends.add(pos)
    return frozenset(starts), frozenset(ends), spans
