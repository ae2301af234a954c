"""The four alert rules over DingTalk: cards sent through the emulator's OpenAPI, the 确认 / 暂缓
buttons clicked as Stream card callbacks, the card updated in place."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.app import PerfBot
from scheduler.runs import run_job
from tests.alerts.scenarios import MONDAY, SCENARIOS, Scenario
from tests.emulators.dingtalk import DingTalkEmulator, until
from tests.emulators.dingtalk_api import CardState, card_buttons, card_text, card_title


async def scan(bot: PerfBot, at: datetime) -> None:
    bot.services.clock.set(at)
    await run_job(bot.services, "alert_scan", at)
    await bot.drain()


def dt(emp: str) -> str:
    return f"dt_{emp.lower()}"


def alert_cards(emu: DingTalkEmulator, emp: str, sc: Scenario) -> list[CardState]:
    ids = [s.card_id for s in emu.api.seen.get(dt(emp), []) if s.kind == "card" and s.card_id]
    return [emu.api.cards[i] for i in ids if sc.title in card_title(emu.api.cards[i])]


def counts(emu: DingTalkEmulator, sc: Scenario) -> list[int]:
    return [len(alert_cards(emu, who, sc)) for who in sc.to]


async def click(emu: DingTalkEmulator, emp: str, card: CardState, label: str, reply: str) -> None:
    before = card.versions
    await emu.acked(await emu.push(emu.click_frame(dt(emp), card, label)))
    await until(lambda: card.versions > before, what=f"the card to close after {label}")
    await until(lambda: any(reply in t for t in emu.api.texts(dt(emp))), what=f"the reply {reply!r}")


@pytest.mark.parametrize("sc", SCENARIOS, ids=str)
async def test_fires_once_acknowledge_worsen_clear_recur(emu, make_bot, sc: Scenario) -> None:
    bot = await make_bot()
    sc.mild(bot.db)
    await scan(bot, MONDAY)
    assert counts(emu, sc) == [1] * len(sc.to)
    first = alert_cards(emu, sc.to[0], sc)[0]
    assert sc.mild_text in card_text(first)
    assert [b["text"] for b in card_buttons(first)] == ["确认", "暂缓", "详情"]
    await scan(bot, MONDAY + timedelta(hours=2))
    assert counts(emu, sc) == [1] * len(sc.to)  # not again
    await click(emu, sc.to[0], first, "确认", "已确认预警")
    assert card_buttons(first) == [] and "已确认" in card_text(first)
    await scan(bot, MONDAY + timedelta(hours=3))
    assert counts(emu, sc) == [1] * len(sc.to)
    sc.worse(bot.db)
    await scan(bot, MONDAY + timedelta(hours=4))
    assert counts(emu, sc) == [2] * len(sc.to)  # worse: told again
    assert sc.worse_text in card_text(alert_cards(emu, sc.to[0], sc)[-1])
    sc.clear(bot.db)
    await scan(bot, MONDAY + timedelta(hours=5))
    latest = alert_cards(emu, sc.to[0], sc)[-1]
    await until(lambda: "已解除" in card_text(latest), what="the card to say it recovered")
    sc.mild(bot.db)
    await scan(bot, MONDAY + timedelta(hours=6))
    assert counts(emu, sc) == [3] * len(sc.to)  # came back after it cleared


@pytest.mark.parametrize("sc", SCENARIOS, ids=str)
async def test_snoozed_alert_stays_quiet_even_when_worse(emu, make_bot, sc: Scenario) -> None:
    bot = await make_bot()
    sc.mild(bot.db)
    await scan(bot, MONDAY)
    card = alert_cards(emu, sc.to[0], sc)[0]
    await click(emu, sc.to[0], card, "暂缓", "暂缓到 12月7日")
    assert "已暂缓至 12月7日" in card_text(card)
    sc.worse(bot.db)
    await scan(bot, MONDAY + timedelta(hours=2))
    assert counts(emu, sc) == [1] * len(sc.to)
