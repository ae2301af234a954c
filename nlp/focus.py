"""The one problem a reply singles out: "X，其他没问题" names X as the week's only trouble.

The ninth-round settlement of nlp/data/GUIDELINE.md keeps such a signal (人手不够，其他没得问题 is
`resource`: "no other problem" does not cover the shortage), but the reassuring tail pulls the learned
model's probability down. nlp.risk.detect_full marks the categories of rule signals followed, in their
own clause or the next one, by such a tail (``Detection.kept``), and nlp.analyze has the learned model judge
those signals on the reply without its tail (``head_end``): "no other problem" says nothing about X, so it
must not count against X. The ordinary rule floor then applies (a shortage said alone stays `resource`; a
leaving remark taken back as a joke before the tail is still dropped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Protocol

_CONNECTOR = r"\s*(?:不过|但是?|除此之外|除了这个)?"
SINGLED_OUT = re.compile(
    _CONNECTOR + r"(?:其他|其它|其余|别的)(?:方面)?(?:一切)?(?:都|也)?还?(?:没得|没啥|没什么|没有|没|冇|无)大?(?:问题|事)"
    r"|" + _CONNECTOR + r"(?:其他|其它|其余)(?:一切)?都?(?:正常|还好|挺好)")


class Signal(Protocol):
    category: str
    start: int
    end: int


def _tails(text: str, spans: list[tuple[int, int]], found: Iterable[Signal]) -> Iterator[tuple[str, int]]:
    """(category, where its tail starts) for each signal whose own clause (after the signal) or next
    clause says nothing else is wrong. ``spans`` are the reply's clauses, as nlp.risk splits them."""
    for m in found:
        idx = next((i for i, (cs, ce) in enumerate(spans) if cs <= m.start < ce), None)
        if idx is None:
            continue
        tail = (SINGLED_OUT.match(text, m.end, spans[idx][1])
                or (idx + 1 < len(spans) and SINGLED_OUT.match(text, spans[idx + 1][0], spans[idx + 1][1])) or None)
        if tail is not None:
            yield m.category, tail.start()


def singled_out(text: str, spans: list[tuple[int, int]], found: Iterable[Signal]) -> frozenset[str]:
    """Categories of the signals a reassuring tail singles out as the week's one problem."""
    return frozenset(cat for cat, _ in _tails(text, spans, found))


def head_end(text: str, spans: list[tuple[int, int]], found: Iterable[Signal]) -> int | None:
    """Where the reply's first reassuring tail after a signal starts (None: there is none)."""
    return min((start for _, start in _tails(text, spans, found)), default=None)
