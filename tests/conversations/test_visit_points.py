"""Issue 13, item 10: points integrity for visits declared in chat."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.models import PointsEntry, Visit
from tests.conftest import texts


def cards(shown) -> list:
    return [s for s in shown if s.kind == "card"]


def points(chat, emp: str = "E101") -> int:
    with chat.bot.db.session() as s:
        return int(s.execute(select(func.coalesce(func.sum(PointsEntry.delta), 0))
                             .where(PointsEntry.employee_id == emp)).scalar_one())


async def test_one_chat_visit_per_customer_per_day(chat) -> None:
    before = points(chat)
    assert len(cards(await chat.say("拜访结束 瑞金医院", as_="E101"))) == 1
    await chat.press("E101", 1, tags=[1])
    await chat.say("客户认可方案，下周报价", as_="E101")
    assert points(chat) == before + 1
    for _ in range(3):  # typed again, seconds or hours later
        shown = await chat.say("拜访结束 瑞金医院", as_="E101")
        assert cards(shown) == [] and "今天和「瑞金医院」的拜访已经记录过" in texts(shown)
    chat.clock.advance(hours=3)
    assert cards(await chat.say("刚拜访完瑞金医院", as_="E101")) == []
    assert points(chat) == before + 1
    chat.clock.advance(days=1)  # another day, another visit
    assert len(cards(await chat.say("拜访结束 瑞金医院", as_="E101"))) == 1


async def test_daily_cap_on_chat_declared_visits(chat) -> None:
    chat.bot.services.settings.policy.visit_chat_daily_cap = 2
    assert len(cards(await chat.say("拜访结束 瑞金医院", as_="E101"))) == 1
    assert len(cards(await chat.say("拜访结束 华山医院", as_="E101"))) == 1
    shown = await chat.say("拜访结束 同济医院", as_="E101")
    assert cards(shown) == [] and "达到每日上限" in texts(shown)


async def test_an_imported_visit_is_not_doubled_by_a_chat_declaration(chat) -> None:
    with chat.bot.db.session() as s:
        s.add(Visit(id="CRM-9", employee_id="E101", customer="同济医院",
                    ended_at=chat.clock.now() - timedelta(minutes=30)))
    shown = await chat.say("拜访完了 同济", as_="E101")
    assert "今天和「同济医院」的拜访已经由系统同步" in texts(shown)
    [card] = cards(shown)  # the synced visit's own card, not a second visit
    assert "拜访反馈 · 同济医院" in card.text
    with chat.bot.db.session() as s:
        assert s.execute(select(func.count()).select_from(Visit).where(Visit.id.like("CHAT-%"))).scalar_one() == 0


async def test_visit_without_a_customer_asks_which(chat) -> None:
    shown = await chat.say("拜访结束", as_="E101")
    assert cards(shown) == [] and "拜访了哪位客户" in texts(shown)
    [card] = cards(await chat.say("瑞金医院", as_="E101"))
    assert "拜访反馈 · 瑞金医院" in card.text
