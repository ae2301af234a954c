"""The one problem a reply singles out: "X，其他没问题" names X as the week's only trouble.

The ninth-round settlement of nlp/data/GUIDELINE.md keeps such a signal (人手不够，其他没得问题 is
`resource`: "no other problem" does not cover the shortage), but the reassuring tail pulls the learned
model's probability down. nlp.risk.detect_full marks the categories of rule signals followed, in their
own clause or the next one, by such a tail (``Detection.kept``); nlp.reply_model drops them only when the
model is sure (``SINGLED_OUT_FLOOR``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

_CONNECTOR = r"\s*(?:不过|但是?|除此之外|除了这个)?"
SINGLED_OUT = re.compile(
    _CONNECTOR + r"(?:其他|其它|其余|别的)(?:方面)?(?:一切)?(?:都|也)?还?(?:没得|没啥|没什么|没有|没|冇|无)大?(?:问题|事)"
    r"|" + _CONNECTOR + r"(?:其他|其它|其余)(?:一切)?都?(?:正常|还好|挺好)")


class Signal(Protocol):
    category: str
    start: int
    end: int


def singled_out(text: str, spans: list[tuple[int, int]], found: Iterable[Signal]) -> frozenset[str]:
    """Categories of the signals whose own clause (after the signal) or next clause says nothing else
    is wrong. ``spans`` are the reply's clauses, as nlp.risk splits them."""
    out = set()
    for m in found:
        idx = next((i for i, (cs, ce) in enumerate(spans) if cs <= m.start < ce), None)
        if idx is None:
            continue
        if (SINGLED_OUT.match(text, m.end, spans[idx][1])
                or (idx + 1 < len(spans) and SINGLED_OUT.match(text, spans[idx + 1][0], spans[idx + 1][1]))):
            out.add(m.category)
    return frozenset(out)
