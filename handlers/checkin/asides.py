"""Telling an answer from a question asked in the middle of the check-in (issue 13, item 1).

A message the bot reads as a question (「本月还有哪些任务没完成」「我的KPI进度」「对了我的积分多少？」) is
answered by the feature it belongs to and the pending check-in question is asked again; when unsure,
the employee is asked 「这是对第 2 题的回答吗？」 with two buttons. Long statements are answers.
"""

from __future__ import annotations

import re
from datetime import date

from cards.model import Button, Card
from cards.payload import pack
from handlers.checkin.parse import LABELS, PARTS
from nlp.intent import parse_question

_ASKS = re.compile(r"[?？]|吗\s*$|呢\s*$|么\s*$|多少|几(个|项|分|天|家|次|号|点|成)|哪(些|个|里|儿|天|位)|什么|啥|怎么|"
                   r"如何|是否|有没有|能不能|可不可以|谁")
_SHORT = 12  # 「我的KPI进度」: a short noun phrase the classifier is sure about is a question
_STATEMENT = 20  # longer than this without a question mark: an answer
YES = {"是", "是的", "对", "对的", "嗯", "没错", "是回答", "记为回答", "确认"}
NO = {"不是", "不是的", "不", "不对", "是问题", "这是问题", "这是个问题"}


def read_as(text: str, today: date) -> str:
    """'question', 'unsure' or 'answer' for a message typed while a check-in question is pending."""
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


def number_of(part: str) -> int:
    return PARTS.index(part) + 1


def confirm_card(checkin_id: int, part: str, text: str) -> Card:
    n = number_of(part)
    return Card(
        title="确认一下",
        body=f"「{text}」\n这是对第 {n} 题（{LABELS[part]}）的回答吗？",
        buttons=[Button("是，记为回答", pack("ci", "ans", checkin_id)),
                 Button("不是，这是个问题", pack("ci", "qst", checkin_id), "default")],
        footer="也可以直接回复「是」或「不是」。",
    )


def confirm_subject(checkin_id: int) -> str:
    return f"checkin-confirm:{checkin_id}"
