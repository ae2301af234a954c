"""15-minute visit feedback: a card with preset tags, a key observation (≤ 20 characters, never cut),
one nudge, and a point per complete feedback.

Inputs: imported visits (scan job ``visit_scan``), the typed ``SystemEvent("visit_ended")`` and the rep
saying 「拜访结束 XX客户」. Flow ``visit_note``::

    card ──tags (1..3) + 提交──▶ note ──≤20 字──▶ complete (+1 point if on the visit's day)
                                  └─ too long / empty ─▶ note (ask again, nothing cut)
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, time, timedelta

from bot.context import Ctx
from bot.events import CardAction, SystemEvent, TextMessage
from bot.router import Router
from bot.services import Services
from cards.model import Button, Card, TagChoice, TagOption
from cards.payload import Action, pack
from handlers.common.calendar import local
from handlers.risk.analysis_hook import record
from handlers.visit import store as vstore
from scheduler.registry import JobCtx, job
from storage.models import Conversation, Visit

router = Router("visit")
log = logging.getLogger(__name__)
FLOW = "visit_note"
ASK_FLOW = "visit_customer"  # 「拜访结束」 without a customer: which one?
CARD_MAX_AGE = timedelta(days=1)  # imported history older than this never gets a card


def visit_card(services: Services, v: Visit) -> Card:
    pol = services.settings.policy
    return Card(
        title=f"拜访反馈 · {v.customer}",
        body=(f"拜访结束于 {local(v.ended_at, services.tz)}。花 1 分钟：选最多 {pol.visit_max_tags} 个标签，"
              f"再用一句话（≤{pol.visit_note_max_chars} 字）写下关键观察，完成可得 1 积分。"),
        tags=TagChoice(question_key="tags", options=[TagOption(t, t) for t in pol.visit_tags],
                       max_selected=pol.visit_max_tags, submit=Button("提交", pack("visit", "tags", v.id))),
    )


async def send_card(services: Services, v: Visit, now: datetime) -> bool:
    sent = await services.messenger.send_card(v.employee_id, visit_card(services, v), f"visit:card:{v.id}",
                                              f"visit:{v.id}")
    vstore.mark_card_sent(services.db, v.id, now)
    return sent


# -- inputs ---------------------------------------------------------------------------------------
@router.on_system("visit_ended")
async def on_visit_ended(ctx: Ctx, event: SystemEvent) -> None:
    """data: {"visit_id", "customer", "ended_at" (ISO, optional: now)}; sender = the rep."""
    d = event.data
    ended = datetime.fromisoformat(d["ended_at"]) if d.get("ended_at") else ctx.now()
    if ended.tzinfo is None:
        ended = ended.replace(tzinfo=ctx.services.tz)
    v = vstore.upsert_visit(ctx.db, str(d.get("visit_id") or f"EV-{event.key}")[:64], ctx.employee.id,
                            str(d.get("customer") or "客户"), ended)
    if v.card_sent_at is None and ctx.now() - v.ended_at <= CARD_MAX_AGE:
        await send_card(ctx.services, v, ctx.now())


VISIT_SAID = r"^\s*(?:刚刚?|已经?|今天)?(?:拜访结束|拜访完毕|拜访完了?|见完客户了?)\s*[:：，,]?\s*(\S.*)?$"


@router.pattern(VISIT_SAID, escapes=True)
async def on_visit_said(ctx: Ctx, msg: TextMessage) -> None:
    m = re.match(VISIT_SAID, msg.text)
    customer = (m.group(1) if m and m.group(1) else "").strip(" :：，,。")
    ctx.end_flow(FLOW)
    if not customer:
        ctx.start_flow(ASK_FLOW, "customer", {})
        await ctx.reply("拜访了哪位客户？请回复客户名称，例如「瑞金医院」（发送「取消」放弃）。")
        return
    await declare(ctx, customer)


@router.flow(ASK_FLOW)
async def on_customer_named(ctx: Ctx, msg: TextMessage, conv: Conversation) -> bool | None:
    customer = msg.text.strip(" :：，,。")
    if not customer or len(customer) > 40:
        await ctx.reply("请只回复客户名称，例如「瑞金医院」（发送「取消」放弃）。")
        return None
    ctx.end_flow(ASK_FLOW)
    await declare(ctx, customer)
    return None


async def declare(ctx: Ctx, customer: str) -> None:
    """A visit declared in chat: one per customer per day, never on top of the same customer's imported
    or ingested visit that day, and at most ``policy.visit_chat_daily_cap`` a day."""
    now, tz = ctx.now(), ctx.services.tz
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(), tz)
    today = vstore.visits_between(ctx.db, ctx.employee.id, start, start + timedelta(days=1))
    same = next((v for v in today if vstore.same_customer(v.customer, customer)), None)
    if same is not None:
        fb = vstore.feedback_for(ctx.db, same.id)
        done = fb is not None and fb.complete
        how = "已经记录过" if same.id.startswith(vstore.CHAT_PREFIX) else "已经由系统同步"
        tail = "反馈也已完成，谢谢！" if done else "请在那张拜访卡片上完成反馈（积分按次计，同一客户每天只记一次）。"
        await ctx.reply(f"今天和「{same.customer}」的拜访{how}（{local(same.ended_at, tz)}），{tail}")
        if not done and same.card_sent_at is None and now - same.ended_at <= CARD_MAX_AGE:
            await send_card(ctx.services, same, now)
        return
    cap = ctx.settings.policy.visit_chat_daily_cap
    if cap and sum(v.id.startswith(vstore.CHAT_PREFIX) for v in today) >= cap:
        await ctx.reply(f"今天通过聊天登记的拜访已经有 {cap} 次，达到每日上限。更多拜访请通过 CRM 同步，"
                        "或明天再登记。")
        return
    key = f"{ctx.employee.id}|{day.isoformat()}|{''.join(customer.split()).lower()}"
    vid = vstore.CHAT_PREFIX + hashlib.sha1(key.encode()).hexdigest()[:16]
    v = vstore.upsert_visit(ctx.db, vid, ctx.employee.id, customer[:200], now)
    await send_card(ctx.services, v, now)


# -- tags and note --------------------------------------------------------------------------------
@router.action("visit", "tags")
async def on_tags(ctx: Ctx, event: CardAction, action: Action) -> None:
    v = vstore.get_visit(ctx.db, action.arg(0))
    pol = ctx.settings.policy
    if v is None or v.employee_id != ctx.employee.id:
        await ctx.reply("这张拜访卡片不是你的，无法提交。")
        return
    fb = vstore.feedback_for(ctx.db, v.id)
    if fb is not None and fb.complete:
        await ctx.reply("这次拜访的反馈已经完成啦，谢谢！")
        return
    chosen = [t for t in event.selected.get("tags", []) if t in pol.visit_tags]
    if not chosen:
        await ctx.reply("请先在卡片上选择至少 1 个标签，再点「提交」。")
        return
    if len(chosen) > pol.visit_max_tags:
        await ctx.reply(f"最多只能选 {pol.visit_max_tags} 个标签，你选了 {len(chosen)} 个，请减少后再提交。")
        return
    vstore.set_tags(ctx.db, v, chosen, ctx.now())
    await ctx.update_cards(f"visit:{v.id}", visit_card(ctx.services, v).closed("已选：" + "、".join(chosen)))
    ctx.start_flow(FLOW, "note", {"visit_id": v.id})
    await ctx.reply(f"已记下：{'、'.join(chosen)}。\n最后一步：用一句话（不超过 {pol.visit_note_max_chars} 字）"
                    f"写下这次拜访「{v.customer}」的关键观察。")


@router.flow(FLOW)
async def on_note(ctx: Ctx, msg: TextMessage, conv: Conversation) -> bool | None:
    text = msg.text.strip()
    v = vstore.get_visit(ctx.db, conv.data.get("visit_id", ""))
    if v is None:
        ctx.end_flow(FLOW)
        return False
    limit = ctx.settings.policy.visit_note_max_chars
    if not text:
        await ctx.reply(f"请用一句话写下关键观察（不超过 {limit} 字）。")
        return None
    if len(text) > limit:
        await ctx.reply(f"这条观察有 {len(text)} 字，超过了 {limit} 字的上限。请精简后重新发送"
                        "（我不会自动截断，以免丢掉关键信息）。")
        return None
    await complete(ctx, v, text)
    return None


async def complete(ctx: Ctx, v: Visit, note: str) -> None:
    now, pol, tz = ctx.now(), ctx.settings.policy, ctx.services.tz
    if not vstore.complete_feedback(ctx.db, v.id, note, now):
        return
    ctx.end_flow(FLOW)
    on_time = now.astimezone(tz).date() == v.ended_at.astimezone(tz).date()
    if on_time and vstore.award(ctx.db, v.employee_id, f"visit:{v.id}", f"拜访反馈：{v.customer}", now):
        balance = vstore.points_balance(ctx.db, v.employee_id)
        text = f"✅ 反馈已记录，+1 积分！当前积分 {balance}。"
        if pol.points_redeem_every and balance % pol.points_redeem_every == 0:
            text += f"\n🎉 已累计 {balance} 分，{pol.points_redeem_text}"
    else:
        text = "✅ 反馈已记录，谢谢！（当天完成的反馈才计积分）"
    await ctx.reply(text)
    await record(ctx, v.employee_id, note, "visit", f"visit:{v.id}")


# -- scan: cards for imported visits, one nudge ---------------------------------------------------
@job("visit_scan", cron="*/5 * * * *",
     description="拜访反馈：给刚结束（1 天内）且未发卡片的拜访发卡片；结束 visit_nudge_minutes 分钟后仍未反馈的提醒一次")
async def visit_scan(jctx: JobCtx) -> str:
    """Cards for visits that ended without one, one nudge for feedback still missing; in chunks
    (``JobCtx.in_chunks``: one transaction per chunk, a bad visit redone alone, skipped and noted)."""
    services, now = jctx.services, jctx.at
    nudge_after = timedelta(minutes=services.settings.policy.visit_nudge_minutes)
    recent, done = vstore.recent_visits(services.db, now - CARD_MAX_AGE, now)
    due = [v for v in recent if v.card_sent_at is None or (
        v.id not in done and v.nudged_at is None and now >= max(v.ended_at, v.card_sent_at) + nudge_after)]
    counts = await jctx.each_in_chunks(due, lambda v: _scan_one(services, v, now), key=lambda v: f"visit:{v.id}")
    return f"cards={counts['cards']}, nudges={counts['nudges']}"


async def _scan_one(services: Services, v: Visit, now: datetime) -> str | None:
    """The card for a visit without one, else the nudge; what was sent (None: nothing)."""
    if v.card_sent_at is None:
        return "cards" if await send_card(services, v, now) else None
    fb = vstore.feedback_for(services.db, v.id)  # state at send time
    if fb is not None and fb.complete:
        return None
    await services.messenger.send_text(
        v.employee_id, f"拜访「{v.customer}」结束 {int((now - v.ended_at).total_seconds() // 60)} 分钟啦，"
        "趁记忆新鲜花 1 分钟完成反馈吧：在卡片上选标签并提交～", f"visit:nudge:{v.id}")
    vstore.mark_nudged(services.db, v.id, now)
    return "nudges"
