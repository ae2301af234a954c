"""Is a message typed in the middle of a conversation step a question to answer elsewhere, or the answer
the step waits for? Shared by the flows (check-in, adjustment reason) so none swallows a question."""

from __future__ import annotations

import re
from datetime import date

from nlp.intent import parse_question

_ASKS = re.compile(r"[?？]|吗\s*$|呢\s*$|么\s*$|多少|几(个|项|分|天|家|次|号|点|成)|哪(些|个|里|儿|天|位)|什么|啥|怎么|"
                   r"如何|是否|有没有|能不能|可不可以|谁")
_SHORT = 12  # 「我的KPI进度」: a short noun phrase the classifier is sure about is a question
_STATEMENT = 20  # longer than this without a question mark: an answer


def read_as(text: str, today: date) -> str:
    """'question', 'unsure' or 'answer' for a message typed while a flow waits for an answer."""
    t = text.strip()
    asks = _ASKS.search(t) is not None
    q = parse_question(t, today)
    if q.intent != "none":
        if asks and q.confidence >= 0.7:
            return "question"
        if len(t) <= _SHORT and q.confidence >= 0.8 and not re.search(r"[，,。；;了没]", t):
            return "question"
        if re.search(r"[，,。；;]", t) or len(t) > _STATEMENT:
            return "answer"
        return "unsure"
    return "unsure" if t.endswith(("?", "？")) and len(t) <= _STATEMENT else "answer"
