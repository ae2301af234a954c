"""The four alert rules on real stored data through the terminal: an alert fires once, does not fire
again while nothing changes, fires again when the condition worsens or recurs after it cleared, and
can be acknowledged or snoozed from its card."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.channels.terminal import Shown
from handlers.alerts.report import alerts_report
from tests.alerts.scenarios import MONDAY, SCENARIOS, Scenario
from tests.conftest import TZ, texts


async def scan(chat, at: datetime) -> str | None:
    chat.clock.set(at)
    return await chat.run_job("alert_scan", at)


def cards(shown: list[Shown], title: str) -> list[Shown]:
    return [s for s in shown if s.kind == "card" and title in s.text]


async def fired(chat, sc: Scenario) -> dict[str, Shown]:
    """The one new alert card each recipient got (and nothing else about this alert)."""
    out = {}
    for who in sc.to:
        got = cards(chat.seen(who), sc.title)
        assert len(got) == 1, f"{who} got {len(got)} cards titled {sc.title!r}"
        out[who] = got[0]
    return out


def nothing_new(chat, sc: Scenario) -> None:
    for who in sc.to:
        assert cards(chat.seen(who), sc.title) == [], f"{who} was alerted again"


def report_for(chat, sc: Scenario) -> list[dict]:
    return [a for a in alerts_report(chat.bot.db, TZ)["alerts"] if a["rule"] == sc.rule
            and sc.title.endswith(a["who"])]


@pytest.mark.parametrize("sc", SCENARIOS, ids=str)
async def test_fires_once_acknowledge_worsen_clear_recur(chat, sc: Scenario) -> None:
    await lifecycle(chat, sc)


async def test_lifecycle_on_sqlite_and_postgresql(chat_any_db) -> None:
    await lifecycle(chat_any_db, SCENARIOS[3])


async def lifecycle(chat, sc: Scenario) -> None:
    sc.mild(chat.bot.db)
    await scan(chat, MONDAY)
    first = await fired(chat, sc)
    assert sc.mild_text in first[sc.to[0]].text and "建议" in first[sc.to[0]].text
    # the same condition a few hours later: nobody is told again
    await scan(chat, MONDAY + timedelta(hours=2))
    nothing_new(chat, sc)
    # acknowledged from the card: every copy closes, and the unchanged condition stays quiet
    actor = sc.to[0]
    reply = texts(await chat.press(actor, 1, card=first[actor].card_no))
    assert "已确认预警" in reply
    for who in sc.to[1:]:
        assert any(s.kind == "update_card" and "已确认" in s.text for s in chat.seen(who))
    assert report_for(chat, sc)[0]["status"] == "acknowledged"
    await scan(chat, MONDAY + timedelta(hours=3))
    nothing_new(chat, sc)
    # worse: everyone is told again, with the new figures
    sc.worse(chat.bot.db)
    await scan(chat, MONDAY + timedelta(hours=4))
    again = await fired(chat, sc)
    assert sc.worse_text in again[actor].text
    assert report_for(chat, sc)[0]["fired"] == 2
    # cleared: the cards say so and the report no longer lists it
    sc.clear(chat.bot.db)
    await scan(chat, MONDAY + timedelta(hours=5))
    assert any(s.kind == "update_card" and "已解除" in s.text for s in chat.seen(actor))
    assert report_for(chat, sc) == []
    # the condition comes back: a new alert fires
    sc.mild(chat.bot.db)
    await scan(chat, MONDAY + timedelta(hours=6))
    assert sc.mild_text in (await fired(chat, sc))[actor].text


@pytest.mark.parametrize("sc", SCENARIOS, ids=str)
async def test_snoozed_alert_stays_quiet_even_when_worse(chat, sc: Scenario) -> None:
    sc.mild(chat.bot.db)
    await scan(chat, MONDAY)
    card = (await fired(chat, sc))[sc.to[0]]
    reply = texts(await chat.press(sc.to[0], 2, card=card.card_no))
    assert "暂缓到 12月7日" in reply
    assert report_for(chat, sc)[0]["status"] == "snoozed"
    sc.worse(chat.bot.db)
    await scan(chat, MONDAY + timedelta(hours=2))
    nothing_new(chat, sc)
    assert report_for(chat, sc)[0]["status"] == "snoozed"


async def test_snooze_runs_out_and_the_alert_comes_back(chat) -> None:
    sc = SCENARIOS[0]
    sc.mild(chat.bot.db)
    await scan(chat, MONDAY)
    card = (await fired(chat, sc))["E200"]
    await chat.press("E200", 2, card=card.card_no)
    await scan(chat, MONDAY + timedelta(days=6))
    nothing_new(chat, sc)
    await scan(chat, MONDAY + timedelta(days=7, hours=1))  # snoozed until 12月7日 8:00
    assert "研发部" in (await fired(chat, sc))["E200"].text


async def test_only_the_people_concerned_may_act(chat) -> None:
    SCENARIOS[2].mild(chat.bot.db)  # 彭飞's work log: E200's alert
    await scan(chat, MONDAY)
    alert_id = report_for(chat, SCENARIOS[2])[0]["id"]
    assert "只有相关主管、本人和 HR" in texts(await chat.say(f"确认预警 {alert_id}", as_="E100"))
    assert "已确认预警" in texts(await chat.say(f"确认预警 {alert_id}", as_="E200"))
    assert "已确认过" in texts(await chat.say(f"确认预警 {alert_id}", as_="E200"))
    assert "没有找到这条预警" in texts(await chat.say("预警详情 999", as_="E200"))


async def test_alert_about_someone_who_left_clears(chat) -> None:
    from storage.models import Employee

    SCENARIOS[2].mild(chat.bot.db)  # 彭飞 without work logs
    await scan(chat, MONDAY)
    assert report_for(chat, SCENARIOS[2])
    with chat.bot.db.session() as s:
        e = s.get(Employee, "E203")
        e.active = False
        s.add(e)
    await scan(chat, MONDAY + timedelta(days=1))
    assert report_for(chat, SCENARIOS[2]) == []
    assert any(x.kind == "update_card" and "已解除" in x.text for x in chat.seen("E200"))


async def test_a_forged_or_malformed_alert_button_changes_nothing(chat) -> None:
    import uuid

    from bot.events import CardAction

    SCENARIOS[2].mild(chat.bot.db)
    await scan(chat, MONDAY)
    alert_id = report_for(chat, SCENARIOS[2])[0]["id"]

    async def click(as_: str, payload: str) -> str:
        ev = CardAction(channel="terminal", sender=as_, key=f"terminal:{uuid.uuid4().hex}", action=payload)
        await chat.bot.dispatcher.submit(ev, wait=True)
        await chat.bot.drain()
        return texts(chat.terminal.take(as_))

    assert "只有相关主管、本人和 HR" in await click("E101", f"alr:ack:{alert_id}:v1")  # not E101's alert
    assert "按钮已失效" in await click("E200", "alr:ackall:1.x:v1")
    assert "按钮已失效" in await click("E200", "alr:nuke:1:v1")
    assert report_for(chat, SCENARIOS[2])[0]["status"] == "open"


async def test_below_baseline_follows_the_goals_direction(chat) -> None:
    """For a lower-is-better figure (e.g. complaints) rising 15% above the baseline is the bad news."""
    from datetime import date

    from storage.models import Goal
    from tests.alerts.scenarios import BASE, _metrics

    with chat.bot.db.session() as s:
        g = s.get(Goal, "G-E102")
        g.title, g.unit, g.higher_is_better = "客户投诉数", "件", False
    _metrics("G-E102", {**BASE, date(2026, 11, 20): 80, date(2026, 11, 27): 70})(chat.bot.db)  # fewer: good
    await scan(chat, MONDAY)
    assert "李娜" not in texts(chat.seen("E100"))
    _metrics("G-E102", {**BASE, date(2026, 11, 20): 118, date(2026, 11, 27): 125})(chat.bot.db)  # more: bad
    await scan(chat, MONDAY + timedelta(hours=1))
    assert "李娜的「客户投诉数」连续 2 周高于基线 15% 以上：最近一周 125件，基线 100，偏离 25%" in texts(chat.seen("E100"))
