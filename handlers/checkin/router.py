"""Weekly check-in (周复盘): the Friday push, the three questions, revision and skip.

Flow ``checkin`` (state in ``Conversation``; answers are saved on the ``CheckIn`` row as they come)::

    push card ──开始填写──▶ achievement ─▶ obstacle ─▶ next_action ─▶ submitted ─▶ manager card
        │                  (all three in one message jump straight to submitted)        │
        └──跳过──▶ skipped (never escalates; 「填写周复盘」 still works later)     「修改周复盘」
                                                                          revise ─▶ submitted
The manager review (已阅/写反馈) lives in handlers.checkin.review, reminders in handlers.checkin.escalation,
the growth archive in handlers.checkin.archive; the review and archive routers are included here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.context import Ctx
from bot.events import CardAction, TextMessage
from bot.router import Router
from bot.services import Services
from cards.model import Button, Card
from cards.payload import Action, pack
from handlers.checkin import archive, asides, store
from handlers.checkin import review as checkin_review
from handlers.checkin.parse import (
    ELABORATE,
    LABELS,
    PARTS,
    QUESTIONS,
    parse_all,
    parse_labelled,
    problem,
    strip_number,
    summary,
)
from handlers.common.calendar import (
    checkin_day,
    coverage_warning,
    cron_parts,
    monday_of,
    week_key,
    week_label,
)
from handlers.common.goals import format_progress, goals_of, goals_of_many
from handlers.risk.analysis_hook import record_many
from scheduler.registry import JobCtx, job
from storage.models import CheckIn, Conversation, Employee, Goal

log = logging.getLogger(__name__)
router = Router("checkin")
FLOW = "checkin"


# -- the push -------------------------------------------------------------------------------------
def push_card(services: Services, emp: Employee, ci: CheckIn, goals: list[Goal] | None = None) -> Card:
    monday = monday_of(ci.week)
    goals = (goals_of(services.db, emp.id, monday) if goals is None else goals)[:3]
    fields = [("目标", format_progress(g)) for g in goals]
    return Card(
        title=f"周复盘 · {week_label(monday)}",
        body=f"{emp.name}，本周辛苦了！花 3 分钟回顾一下这周：成果、障碍和下周行动。",
        fields=fields,
        buttons=[Button("开始填写", pack("ci", "start", ci.id)),
                 Button("本周休假，跳过", pack("ci", "skip", ci.id), "default")],
        footer="也可以一次发完：「成果：… 障碍：… 行动：…」",
    )


def subject(ci: CheckIn) -> str:
    return f"checkin:{ci.employee_id}:{ci.week}"


@job("checkin_push", cron_setting="checkin_cron", daily=True,
     description="周复盘推送：每天在 checkin_cron 的时刻运行，只在本周最后一个工作日推送（节假日/调休见 handlers.common.calendar）")
async def checkin_push(jctx: JobCtx) -> str:
    services = jctx.services
    local_at = jctx.local_at
    minute, hour, nominal = cron_parts(services.settings.schedule.checkin_cron)
    cal = services.settings.calendar
    warning = coverage_warning(local_at.year, cal)
    if warning:
        log.warning(warning)
    note = f" ({warning})" if warning else ""
    day = checkin_day(local_at.date(), nominal, cal)
    if day != local_at.date() or (local_at.hour, local_at.minute) < (hour, minute):
        return f"not a check-in moment (this week's check-in day: {day or 'none'}){note}"
    week = week_key(day)
    people = store.people_to_check_in(services.db)
    monday = monday_of(week)

    async def push(chunk: Sequence[Employee]) -> int:
        ids = [e.id for e in chunk]
        checkins = store.ensure_many(services.db, ids, week)
        goals = goals_of_many(services.db, ids, monday)
        due = [(e, checkins[e.id]) for e in chunk if checkins[e.id].status == "pending"]
        sent = await services.messenger.send_many([
            (e, "card", {"card": push_card(services, e, ci, goals[e.id]).to_dict(), "subject": subject(ci)},
             f"checkin:push:{e.id}:{week}")
            for e, ci in due])
        store.mark_pushed(services.db, [ci.id for _, ci in due if ci.pushed_at is None], jctx.at)
        return sent

    sent = await jctx.in_chunks(people, push, key=lambda e: f"checkin:{e.id}:{week}")
    return f"pushed {sent} check-in cards for {week}{note}"


# -- starting, skipping -------------------------------------------------------------------------
async def ask(ctx: Ctx, ci: CheckIn, part: str, data: dict | None = None) -> None:
    data = {"checkin_id": ci.id, "retried": [], **(data or {})}
    if ctx.conversation() and ctx.conversation().flow == FLOW:
        ctx.set_step(part, data)
    else:
        ctx.start_flow(FLOW, part, data)
    await ctx.reply(QUESTIONS[part])


def first_missing(ci: CheckIn) -> str | None:
    return next((p for p in PARTS if not getattr(ci, p)), None)


async def begin(ctx: Ctx, ci: CheckIn) -> None:
    if ci.status == "submitted":
        await offer_revision(ctx, ci)
        return
    if ci.status != "answering":
        ci = store.update(ctx.db, ci.id, status="answering") or ci
    part = first_missing(ci) or "achievement"
    intro = f"好的，开始 {ci.week} 的周复盘（随时可以一次发完三项，发送「跳过」表示本周休假）。"
    await ctx.reply(intro)
    await ask(ctx, ci, part)


async def skip(ctx: Ctx, ci: CheckIn) -> None:
    if ci.status == "submitted":
        await ctx.reply("本周周复盘已经提交过了，不需要跳过～")
        return
    store.update(ctx.db, ci.id, status="skipped")
    ctx.end_flow(FLOW)
    await ctx.update_cards(subject(ci), push_card(ctx.services, ctx.employee, ci).closed("本周已跳过"))
    await ctx.reply(f"好的，{ci.week} 的周复盘已跳过，好好休息🌿 回来后想补填，发送「填写周复盘」即可。")


async def _own(ctx: Ctx, checkin_id: int) -> CheckIn | None:
    ci = store.get(ctx.db, checkin_id)
    if ci is None or ci.employee_id != ctx.employee.id:
        await ctx.reply("这张周复盘卡片不是你的，无法操作。")
        return None
    return ci


@router.action("ci", "start", args=(int,))
async def on_start_button(ctx: Ctx, event: CardAction, action: Action, checkin_id: int) -> None:
    if (ci := await _own(ctx, checkin_id)) is not None:
        await begin(ctx, ci)


@router.action("ci", "skip", args=(int,))
async def on_skip_button(ctx: Ctx, event: CardAction, action: Action, checkin_id: int) -> None:
    if (ci := await _own(ctx, checkin_id)) is not None:
        await skip(ctx, ci)


def current_or_open(ctx: Ctx) -> CheckIn:
    ci = store.latest_open(ctx.db, ctx.employee.id)
    if ci is not None:
        return ci
    this_week = week_key(ctx.local_now().date())
    return store.ensure(ctx.db, ctx.employee.id, this_week)


@router.command("填写周复盘", "周复盘", "开始填写", "写周复盘", "补填周复盘")
async def on_fill(ctx: Ctx, msg: TextMessage) -> None:
    await begin(ctx, current_or_open(ctx))


@router.command("跳过", "本周跳过", "本周休假", "本周休假，跳过", "跳过本周")
async def on_skip(ctx: Ctx, msg: TextMessage) -> None:
    ci = store.latest_open(ctx.db, ctx.employee.id)
    if ci is None:
        await ctx.reply("目前没有待填写的周复盘，不需要跳过～")
        return
    await skip(ctx, ci)


@router.pattern(r"(?is)((成果|done)\s*[:：].+(障碍|困难|问题|blockers?)\s*[:：])|(^\s*(本周(最重要)?成果|成果|done)\s*\n)"
                r"|(^\s*([1１][.、)）:：]|①|[（(]1[)）]))")
async def on_all_in_one(ctx: Ctx, msg: TextMessage) -> bool | None:
    """All three answers sent without pressing 「开始填写」 first (labelled, or three numbered lines
    while a check-in is open)."""
    if not parse_labelled(msg.text) and not (parse_all(msg.text) and store.latest_open(ctx.db, ctx.employee.id)):
        return False
    ci = current_or_open(ctx)
    if ci.status == "submitted":
        await revise_with(ctx, ci, msg.text)
        return
    await take_answers(ctx, ci, parse_all(msg.text), None, msg.text)


# -- answering ------------------------------------------------------------------------------------
@router.flow(FLOW)
async def on_answer(ctx: Ctx, msg: TextMessage, conv: Conversation) -> bool | None:
    text = msg.text.strip()
    ci = store.get(ctx.db, int(conv.data.get("checkin_id", 0)))
    if ci is None:
        ctx.end_flow(FLOW)
        return False
    if text in ("跳过", "本周跳过", "本周休假"):
        await skip(ctx, ci)
        return None
    if conv.step == "confirm":
        return await on_confirm_text(ctx, ci, conv, text)
    parts = parse_all(text)
    if not parts and asides.read_as(text, ctx.local_now().date()) == "question":
        return False  # answered by its feature; the reprompt asks the pending question again
    if conv.step == "revise":
        await revise_with(ctx, ci, text, conv.data)
        return None
    if parts:
        await take_answers(ctx, ci, parts, conv.data, text)
        return None
    part = conv.step if conv.step in PARTS else (first_missing(ci) or "achievement")
    if asides.read_as(text, ctx.local_now().date()) == "unsure":
        ctx.set_step("confirm", {**conv.data, "part": part, "pending": text})
        await ctx.reply_card(asides.confirm_card(ci.id or 0, part, text), asides.confirm_subject(ci.id or 0))
        return None
    issue = problem(text)
    retried = list(conv.data.get("retried", []))
    if issue and part not in retried:
        ctx.set_step(part, {**conv.data, "retried": [*retried, part]})
        await ctx.reply(ELABORATE[issue])
        return None
    await take_answers(ctx, ci, {part: strip_number(text)}, conv.data, text)
    return None


async def on_confirm_text(ctx: Ctx, ci: CheckIn, conv: Conversation, text: str) -> bool | None:
    """Waiting for 「这是对第 N 题的回答吗？」: 是 / 不是, or a new message (the pending one is dropped)."""
    part, pending = conv.data.get("part", "achievement"), conv.data.get("pending", "")
    data = {k: v for k, v in conv.data.items() if k not in ("part", "pending")}
    reply = text.strip("。！!～~ ")
    if reply in asides.YES or reply in asides.NO:
        await resolve_pending(ctx, ci, part, pending, data, as_answer=reply in asides.YES)
        return None
    ctx.set_step(part, data)
    await ctx.update_cards(asides.confirm_subject(ci.id or 0),
                           asides.confirm_card(ci.id or 0, part, pending).closed("已忽略"))
    conv.step, conv.data = part, data
    return await on_answer(ctx, TextMessage(channel=ctx.event.channel, sender=ctx.event.sender,
                                            key=ctx.event.key, text=text), conv)


async def resolve_pending(ctx: Ctx, ci: CheckIn, part: str, pending: str, data: dict, as_answer: bool) -> None:
    await ctx.update_cards(asides.confirm_subject(ci.id or 0), asides.confirm_card(ci.id or 0, part, pending)
                           .closed("已记为回答" if as_answer else "按问题回答"))
    ctx.set_step(part, data)
    if as_answer:
        await take_answers(ctx, ci, {part: strip_number(pending)}, data, pending)
        return
    routing = ctx.services.dispatcher.routing
    question = routing.classify(ctx, pending)
    fn = routing.routes.intents.get(question.intent) if question is not None else None
    msg = TextMessage(channel=ctx.event.channel, sender=ctx.event.sender, key=ctx.event.key, text=pending)
    if fn is not None:
        await fn(ctx, msg, question)
    elif routing.routes.fallback is not None:
        await routing.routes.fallback(ctx, msg)
    conv = ctx.conversation()
    if conv is not None and conv.flow == FLOW:  # the question did not start another conversation
        await ctx.reply(f"（继续周复盘）{QUESTIONS[part]}")


@router.action("ci", "ans", args=(int,))
async def on_pending_is_answer(ctx: Ctx, event: CardAction, action: Action, checkin_id: int) -> None:
    await _pending_button(ctx, checkin_id, as_answer=True)


@router.action("ci", "qst", args=(int,))
async def on_pending_is_question(ctx: Ctx, event: CardAction, action: Action, checkin_id: int) -> None:
    await _pending_button(ctx, checkin_id, as_answer=False)


async def _pending_button(ctx: Ctx, checkin_id: int, as_answer: bool) -> None:
    ci = await _own(ctx, checkin_id)
    conv = ctx.conversation()
    if ci is None:
        return
    if conv is None or conv.flow != FLOW or conv.step != "confirm":
        await ctx.reply("这条确认已经处理过了。")
        return
    data = {k: v for k, v in conv.data.items() if k not in ("part", "pending")}
    await resolve_pending(ctx, ci, conv.data.get("part", "achievement"), conv.data.get("pending", ""), data,
                          as_answer)


@router.reprompt(FLOW)
async def on_reprompt(ctx: Ctx, conv: Conversation) -> None:
    """A question or command in the middle of the check-in was answered: back to where we were."""
    if conv.step in PARTS:
        await ctx.reply(f"（继续周复盘）{QUESTIONS[conv.step]}")
    elif conv.step == "revise":
        example = "、".join(f"「{LABELS[p]}：……」" for p in PARTS)
        await ctx.reply(f"（继续修改周复盘）请告诉我要改哪一项，例如 {example}；发送「取消」放弃修改。")
    elif conv.step == "confirm":
        n = asides.number_of(conv.data.get("part", "achievement"))
        await ctx.reply(f"（继续周复盘）「{conv.data.get('pending', '')}」是对第 {n} 题的回答吗？回复「是」或「不是」。")


async def take_answers(ctx: Ctx, ci: CheckIn, parts: dict[str, str], data: dict | None, raw: str) -> None:
    values = {p: v for p, v in parts.items() if v}
    nxt = next((p for p in PARTS if not (values.get(p) or getattr(ci, p))), None)
    if nxt is None:
        await submit(ctx, ci, answers=values)  # the last answers and the submission: one UPDATE
        return
    ci = store.update(ctx.db, ci.id, status="answering", **values) or ci
    await ask(ctx, ci, nxt, {"retried": (data or {}).get("retried", [])})


async def submit(ctx: Ctx, ci: CheckIn, revised: bool = False, answers: dict[str, str] | None = None) -> None:
    now = ctx.now()
    values: dict[str, object] = {"status": "submitted", **(answers or {})}
    if revised:
        values["revised_at"] = now
    else:
        values["submitted_at"] = ci.submitted_at or now
    ci = store.update(ctx.db, ci.id, **values) or ci
    ctx.end_flow(FLOW)
    state = "已修改" if revised else "已提交"
    await ctx.update_cards(subject(ci), push_card(ctx.services, ctx.employee, ci).closed(state, summary(ci.__dict__)))
    await ctx.reply(f"✅ {ci.week} 周复盘{state}，谢谢！\n{summary(ci.__dict__)}\n"
                    f"主管查看前都可以发送「修改周复盘」修改。")
    suffix = f":r{int(now.timestamp())}" if revised else ""
    await record_many(ctx, ci.employee_id,
                      [(getattr(ci, p) or "", "checkin", f"checkin:{ci.id}:{p}{suffix}") for p in PARTS])
    await checkin_review.on_submitted(ctx, ci, revised)


# -- revision -------------------------------------------------------------------------------------
async def offer_revision(ctx: Ctx, ci: CheckIn) -> None:
    if ci.manager_seen_at is not None:
        await ctx.reply(f"{ci.week} 的周复盘主管已查看，不能再修改了。如有补充，可以直接和主管沟通～")
        return
    ctx.start_flow(FLOW, "revise", {"checkin_id": ci.id})
    await ctx.reply(f"当前内容：\n{summary(ci.__dict__)}\n\n请发送要修改的部分，例如「障碍：……」，"
                    f"也可以三项一起发送；发送「取消」放弃修改。")


@router.command("修改周复盘", "修改复盘", "修改本周复盘")
async def on_revise(ctx: Ctx, msg: TextMessage) -> None:
    ci = store.latest(ctx.db, ctx.employee.id)
    if ci is None or ci.status != "submitted":
        await ctx.reply("还没有已提交的周复盘可以修改。发送「填写周复盘」开始填写。")
        return
    await offer_revision(ctx, ci)


async def revise_with(ctx: Ctx, ci: CheckIn, text: str, data: dict | None = None) -> None:
    if ci.manager_seen_at is not None:
        ctx.end_flow(FLOW)
        await ctx.reply(f"{ci.week} 的周复盘主管已查看，不能再修改了。如有补充，可以直接和主管沟通～")
        return
    parts = parse_labelled(text) or parse_all(text)
    if not parts:
        example = "、".join(f"「{LABELS[p]}：……」" for p in PARTS)
        await ctx.reply(f"请告诉我要改哪一项，例如 {example}。")
        return
    ci = store.update(ctx.db, ci.id, **parts) or ci
    await submit(ctx, ci, revised=True)


router.include(checkin_review.router, archive.router)
