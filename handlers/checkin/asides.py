"""Telling an answer from a question asked in the middle of the check-in (issue 13, item 1).

A message the bot reads as a question (「本月还有哪些任务没完成」「我的KPI进度」「对了我的积分多少？」) is
answered by the feature it belongs to and the pending check-in question is asked again; when unsure,
the employee is asked 「这是对第 2 题的回答吗？」 with two buttons. Long statements are answers.
"""

from __future__ import annotations

from cards.model import Button, Card
from cards.payload import pack
from handlers.checkin.parse import LABELS, PARTS
from handlers.common.questions import read_as  # noqa: F401  (re-exported for the check-in flow)

YES = {"是", "是的", "对", "对的", "嗯", "没错", "是回答", "记为回答", "确认"}
NO = {"不是", "不是的", "不", "不对", "是问题", "这是问题", "这是个问题"}


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
