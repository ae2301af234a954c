"""Text normalisation that keeps a map back to the original string.

Every normalised character remembers the index of the original character it came from, so
evidence spans found on the normalised text can be reported as substrings of what the user typed.

Steps, character by character:
- Unicode NFKC (full-width letters/digits/punctuation -> half-width, compatibility forms);
- lower-case (English terms such as PUA / Burnout / Offer);
- traditional -> simplified Chinese via the data table ``nlp/data/t2s.tsv``, and a few Cantonese
  written forms to Mandarin (咗 -> 了, 冇 -> 没);
- drop zero-width characters and emoji variation selectors / skin-tone modifiers, so that
  emoji reach the lexicons as one stable code point.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

_DROP = {"\u200b", "\u200c", "\u200d", "\ufeff", "\ufe0e", "\ufe0f", "\u00ad"}
_SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}
# Cantonese written forms -> Mandarin (咗 了, 唔 不, 冇 没, 佢 他 ...): replies from Guangdong/Hong Kong teams
# reach the lexicons in one vocabulary (唔够人 = 不够人, 搞掂咗 = 搞定了). Only characters with no common
# Mandarin use; 係 is left alone (it is also the traditional form of 系).
_DIALECT = {"咗": "了", "唔": "不", "冇": "没", "佢": "他", "喺": "在", "嘅": "的", "揾": "找", "睇": "看",
            "嚟": "来", "啲": "些", "嘢": "东西", "咩": "什么", "乜": "什么", "掂": "定", "攰": "累", "冚": "全"}
# Chinese punctuation that NFKC would fold into ASCII; keep a canonical full-width form for clause splitting.
_PUNCT = {"。": "。", "｡": "。", "，": "，", "､": "、", "！": "！", "？": "？", "；": "；", "：": "："}


@lru_cache(maxsize=1)
def t2s_table() -> dict[str, str]:
    """Traditional -> simplified character map (data file, one `TRAD<TAB>SIMP` pair per line)."""
    table: dict[str, str] = {}
    with open(DATA_DIR / "t2s.tsv", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            trad, simp = line.rstrip("\n").split("\t")[:2]
            if len(trad) == 1 and len(simp) == 1:
                table[trad] = simp
    return table


@lru_cache(maxsize=8192)
def _norm_char(ch: str) -> str:
    if ch in _DROP or ch in _SKIN_TONES:
        return ""
    if ch in _PUNCT:
        return _PUNCT[ch]
    if ch in _DIALECT:
        return _DIALECT[ch]
    out = unicodedata.normalize("NFKC", ch).lower()
    table = t2s_table()
    return "".join(table.get(c, c) for c in out)


@dataclass(frozen=True)
class Normalized:
    original: str
    text: str
    index: tuple[int, ...]  # index[i] = position in `original` of normalised char i

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised [start, end) span to the original string."""
        if end <= start:
            pos = self.index[start] if start < len(self.index) else len(self.original)
            return pos, pos
        return self.index[start], self.index[end - 1] + 1

    def evidence(self, start: int, end: int) -> tuple[str, int, int]:
        s, e = self.span(start, end)
        return self.original[s:e], s, e


def normalize(text: str) -> Normalized:
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        out = _norm_char(ch)
        for c in out:
            chars.append(c)
            index.append(i)
    return Normalized(text, "".join(chars), tuple(index))


def replace_chars(norm: Normalized, start: int, repl: str) -> Normalized:
    """Return a copy with norm.text[start:start+len(repl)] replaced (same length, same index map)."""
    text = norm.text[:start] + repl + norm.text[start + len(repl):]
    return Normalized(norm.original, text, norm.index)


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


_QUESTION_END = re.compile(r"(吗|么|呢|多少|几|啥|没|[?？])[\s。.!！~～]*$")
_QUESTION_START = re.compile(r"^(请问|怎么|怎样|咋|如何|为什么|为啥|能不能|可不可以|有没有|是不是|哪|谁|什么|啥)")
_QUESTION_INSIDE = re.compile(r"干嘛|干啥|怎么用|咋用|是什么|有什么用|有啥用|什么关系|啥关系")


def looks_like_question(text: str) -> bool:
    """A question mark, an ending particle (吗/呢/多少), an opening interrogative (怎么/能不能) or an inner
    one (干嘛/有啥用) in normalised text."""
    return bool(text) and ("?" in text or bool(_QUESTION_END.search(text)) or bool(_QUESTION_START.match(text))
                           or bool(_QUESTION_INSIDE.search(text)))
