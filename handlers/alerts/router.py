"""Chat side of the alerts: 「团队预警」 (the battle map), the card buttons (prefix ``alr``: ack, snooze,
detail, ackall, snoozeall, each) and the text commands 「确认预警 N」「暂缓预警 N」「预警详情 N」.

Who may act on an alert: its recipients, its manager, HR and admins; others get a polite refusal."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from bot.context import Ctx
from bot.events import CardAction, TextMessage
from bot.router import Router
from cards.model import Card
from cards.payload import Action
from handlers.alerts import store
from handlers.alerts.cards import alert_card, battle_map_card, closed_card, detail_text, short_date
from handlers.alerts.jobs import map_alerts
from storage.models import Alert, Employee

log = logging.getLogger(__name__)
router = Router("alerts")

NOT_FOUND = "没有找到这条预警，请检查编号（发送「团队预警」查看你的预警）。"
NOT_ALLOWED = "抱歉，这条预警只有相关主管、本人和 HR 可以处理。"
CLEARED = "这条预警已解除（情况已好转或不再适用），无需处理。"
MAP_SUBJECT = "alertmap:{}"


def _allowed(emp: Employee, a: Alert) -> bool:
    return emp.id in a.recipients or emp.id == a.manager_id or emp.role in ("hr", "admin")


async def _apply(ctx: Ctx, a: Alert, status: str) -> Alert | None:
    """Acknowledge or snooze one alert and close its cards; None when nothing changed."""
    until = ctx.now() + timedelta(days=ctx.settings.policy.alert_snooze_days) if status == "snoozed" else None
    if a.id is None:
        return None
    updated, changed = store.set_status(ctx.db, a.id, status, ctx.employee.id, ctx.now(), until)
    if not changed or updated is None:
        return None
    await ctx.update_cards(f"alert:{a.id}", closed_card(updated, ctx.employee.name, ctx.services.tz))
    return updated


async def _one(ctx: Ctx, alert_id: int, status: str) -> None:
    a = store.get(ctx.db, alert_id)
    if a is None:
        await ctx.reply(NOT_FOUND)
        return
    if not _allowed(ctx.employee, a):
        log.info("alert #%s: %s may not act on it", alert_id, ctx.employee.id)
        await ctx.reply(NOT_ALLOWED)
        return
    if a.cleared_at is not None:
        await ctx.reply(CLEARED)
        return
    done = await _apply(ctx, a, status)
    who = a.evidence.get("who", "")
    if done is None:
        await ctx.reply(f"预警 #{a.id}（{who}）已确认过，无需重复操作。情况如果恶化，我会再提醒你。")
    elif status == "acknowledged":
        await ctx.reply(f"已确认预警 #{a.id}（{who}），谢谢跟进。情况如果继续恶化，我会再提醒你。")
    else:
        until = done.snoozed_until or ctx.now()
        await ctx.reply(f"好的，预警 #{a.id}（{who}）暂缓到 {short_date(until, ctx.services.tz)}，"
                        "期间不再提醒；到期后仍未改善会再提醒你。")


async def _many(ctx: Ctx, ids: list[int], status: str) -> None:
    changed = 0
    for i in ids:
        a = store.get(ctx.db, i)
        if a is not None and a.cleared_at is None and _allowed(ctx.employee, a) and await _apply(ctx, a, status):
            changed += 1
    word = "确认" if status == "acknowledged" else f"暂缓 {ctx.settings.policy.alert_snooze_days} 天"
    mine = MAP_SUBJECT.format(ctx.employee.id)
    await ctx.update_cards(mine, Card(title=f"团队预警 · {ctx.employee.name}", body=f"已{word} {changed} 条预警。")
                           .closed(f"已全部{word[:2]} · {short_date(ctx.now(), ctx.services.tz)}"))
    await ctx.reply(f"已{word} {changed} 条预警。" if changed else "这些预警都已处理过，无需重复操作。")


async def _each(ctx: Ctx, ids: list[int]) -> None:
    sent = 0
    for i in ids:
        a = store.get(ctx.db, i)
        if a is None or a.cleared_at is not None or not _allowed(ctx.employee, a):
            continue
        card = alert_card(a, ctx.services.tz) if a.status == "open" else closed_card(a, "", ctx.services.tz)
        await ctx.reply_card(card, subject=f"alert:{a.id}")
        sent += 1
    if not sent:
        await ctx.reply("这些预警都已解除，无需处理。")


async def _detail(ctx: Ctx, alert_id: int) -> None:
    a = store.get(ctx.db, alert_id)
    if a is None:
        await ctx.reply(NOT_FOUND)
    elif not _allowed(ctx.employee, a):
        await ctx.reply(NOT_ALLOWED)
    else:
        await ctx.reply(detail_text(a, ctx.services.tz) + f"\n发送「确认预警 {a.id}」或「暂缓预警 {a.id}」处理。")


def alert_ids(arg: str) -> list[int]:
    """The ``12.13.14`` argument of the battle map's buttons (ValueError when malformed)."""
    ids = [int(x) for x in arg.split(".")]
    if not ids:
        raise ValueError(arg)
    return ids


@router.action("alr", "ack", args=(int,))
async def on_ack(ctx: Ctx, event: CardAction, action: Action, alert_id: int) -> None:
    await _one(ctx, alert_id, "acknowledged")


@router.action("alr", "snooze", args=(int,))
async def on_snooze(ctx: Ctx, event: CardAction, action: Action, alert_id: int) -> None:
    await _one(ctx, alert_id, "snoozed")


@router.action("alr", "detail", args=(int,))
async def on_detail(ctx: Ctx, event: CardAction, action: Action, alert_id: int) -> None:
    await _detail(ctx, alert_id)


@router.action("alr", "ackall", args=(alert_ids,))
async def on_ack_all(ctx: Ctx, event: CardAction, action: Action, ids: list[int]) -> None:
    await _many(ctx, ids, "acknowledged")


@router.action("alr", "snoozeall", args=(alert_ids,))
async def on_snooze_all(ctx: Ctx, event: CardAction, action: Action, ids: list[int]) -> None:
    await _many(ctx, ids, "snoozed")


@router.action("alr", "each", args=(alert_ids,))
async def on_each(ctx: Ctx, event: CardAction, action: Action, ids: list[int]) -> None:
    await _each(ctx, ids)


@router.command("团队预警", "预警", "我的预警", "预警列表", "作战图")
async def on_battle_map(ctx: Ctx, msg: TextMessage) -> None:
    alerts, snoozed = map_alerts(ctx.services, ctx.employee.id, ctx.now(), at_recipient=True)
    if not alerts:
        extra = f"（另有 {snoozed} 条已暂缓）" if snoozed else ""
        await ctx.reply(f"目前没有需要你处理的预警{extra}。")
        return
    await ctx.reply_card(battle_map_card(ctx.employee.name, alerts, snoozed, ctx.services.tz),
                         subject=MAP_SUBJECT.format(ctx.employee.id))


@router.pattern(r"^\s*(确认|暂缓)预警\s*#?\s*(\d+)\s*$")
async def on_alert_command(ctx: Ctx, msg: TextMessage) -> bool | None:
    m = re.search(r"(确认|暂缓)预警\s*#?\s*(\d+)", msg.text)
    if m is None:
        return False
    await _one(ctx, int(m.group(2)), "acknowledged" if m.group(1) == "确认" else "snoozed")


@router.pattern(r"^\s*预警详情\s*#?\s*(\d+)\s*$")
async def on_alert_detail(ctx: Ctx, msg: TextMessage) -> bool | None:
    m = re.search(r"(\d+)", msg.text)
    if m is None:
        return False
    await _detail(ctx, int(m.group(1)))



