"""Helpers for the adjustment tests: raw card clicks (old cards, other people, replays) and reads."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from bot.events import CardAction
from cards.payload import pack
from storage.models import AdjustmentRequest, Goal, GoalAudit
from tests.conftest import texts

REQUEST = "申请把新客户签约数目标从18调到17，原因：XX医院招标推迟到明年一季度"


async def click(chat, as_: str, action: str, request_id: int, key: str | None = None) -> str:
    """A click on an ``adj`` button as the platform would deliver it (even from a card the terminal
    already shows as closed: on WeCom/DingTalk an old copy can still be clicked)."""
    ev = CardAction(channel="terminal", sender=as_, key=key or f"terminal:{uuid.uuid4().hex}",
                    action=pack("adj", action, request_id))
    await chat.bot.dispatcher.submit(ev, wait=True)
    await chat.bot.drain()
    return texts(chat.terminal.take(as_))


def requests(chat) -> list[AdjustmentRequest]:
    with chat.bot.db.session() as s:
        return list(s.execute(select(AdjustmentRequest).order_by(AdjustmentRequest.id)).scalars())


def goal(chat, goal_id: str = "G-E101") -> Goal:
    with chat.bot.db.session() as s:
        g = s.get(Goal, goal_id)
        assert g is not None
        return g


def audits(chat, goal_id: str = "G-E101") -> list[GoalAudit]:
    with chat.bot.db.session() as s:
        return list(s.execute(select(GoalAudit).where(GoalAudit.goal_id == goal_id)).scalars())


def recorded_cards(db, subject_like: str = "adj:%") -> int:
    """Cards the bot has recorded as delivered (records are written at claim time, before the send returns)."""
    from sqlalchemy import func

    from storage.models import CardRecord

    with db.session() as s:
        return int(s.execute(select(func.count()).select_from(CardRecord)
                             .where(CardRecord.subject.like(subject_like),
                                    CardRecord.delivered_at.is_not(None))).scalar_one())
