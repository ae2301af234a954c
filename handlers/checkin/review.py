"""The manager's side of a check-in: a card per submission (or a digest when several arrive within
``policy.digest_window_minutes``), 「已阅👍」, and 「写反馈」 with an SBI hint for vague feedback.

Flow ``ci_feedback`` (manager): 写反馈 ─▶ write ─(vague, first time)─▶ write (「就这样」 sends the draft) ─▶ sent
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from bot.context import Ctx
from bot.events import CardAction, TextMessage
from bot.router import Router
from bot.services import Services
from cards.model import Button, Card
from cards.payload import Action, pack
from handlers.checkin import store
from handlers.checkin.parse import summary
from handlers.common.calendar import local
from handlers.risk.analysis_hook import record
from scheduler.registry import JobCtx
from storage.models import CheckIn, Conversation, Employee

router = Router("checkin_review")
FLOW = "ci_feedback"
VAGUE = ("不错", "很好", "挺好", "好的", "继续加油", "加油", "继续努力", "辛苦了", "收到", "可以", "还行", "棒",
         "很棒", "ok", "good", "nice", "赞", "👍", "继续保持", "保持")
SBI_HINT = (
    "这条反馈有点笼统，试试 SBI 的写法，对方更容易知道该保持或改进什么：\n"
    "· 情境（S）：在什么场合 —— 「周三给仁和医院的方案汇报中」\n"
    "· 行为（B）：具体做了什么 —— 「你提前准备了竞品对比」\n"
    "· 影响（I）：带来什么结果 —— 「客户当场同意进入商务谈判」\n"
    "重新写一条发给我；如果就按原文发送，回复「就这样」。"
)


def is_vague(text: str) -> bool:
    core = re.sub(r"[\s，,。.!！~～👍💪]+", "", text.lower())
    if len(core) < 8:
        return True
    return any(core == v or core == v * 2 for v in VAGUE)


def review_card(emp: Employee, ci: CheckIn, tz) -> Card:
    when = ci.revised_at or ci.submitted_at
    note = "（已修改）" if ci.revised_at else ""
    return Card(
        title=f"{emp.name} 的周复盘 · {ci.week}{note}",
        body=summary(ci.__dict__),
        fields=[("提交时间", local(when, tz))] if when else [],
        buttons=[Button("已阅👍", pack("cr", "seen", ci.id)), Button("写反馈", pack("cr", "fb", ci.id), "default")],
    )


def review_subject(ci: CheckIn) -> str:
    return f"checkin-review:{ci.id}"


def _reports_with(services: Services, manager_id: str) -> dict[str, Employee]:
    return store.reports_of(services.db, manager_id)


async def on_submitted(ctx: Ctx, ci: CheckIn, revised: bool) -> None:
    """Tell the manager now, unless they got a check-in card less than a window ago (then digest later)."""
    emp, services = ctx.employee, ctx.services
    if not emp.manager_id:
        return
    if revised and ci.manager_notified_at is not None:
        await ctx.update_cards(review_subject(ci), review_card(emp, ci, services.tz))
        await ctx.send_text(emp.manager_id, f"{emp.name} 修改了 {ci.week} 的周复盘，卡片已更新。")
        return
    if ci.manager_notified_at is not None:
        return
    window = timedelta(minutes=services.settings.policy.digest_window_minutes)
    last = store.last_notice_to(services.db, emp.manager_id)
    if last is None or last <= ctx.now() - window:
        await notify(services, emp.manager_id, [ci], {emp.id: emp}, ctx.now())


async def notify(services: Services, manager_id: str, cis: list[CheckIn], reports: dict[str, Employee],
                 now: datetime) -> None:
    if len(cis) == 1:
        ci = cis[0]
        await services.messenger.send_card(manager_id, review_card(reports[ci.employee_id], ci, services.tz),
                                           f"checkin:review:{ci.id}", review_subject(ci), at_commit=True)
    else:
        ids = sorted(c.id for c in cis if c.id is not None)
        digest = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:10]
        lines = [f"**{reports[c.employee_id].name}**\n{summary(c.__dict__)}" for c in cis]
        card = Card(
            title=f"团队周复盘汇总（{len(cis)} 份）",
            body="\n\n".join(lines),
            buttons=[Button("全部已阅👍", pack("cr", "seenall", *ids[:20]))]
            + [Button(f"写反馈·{reports[c.employee_id].name}", pack("cr", "fb", c.id), "default") for c in cis],
        )
        await services.messenger.send_card(manager_id, card, f"checkin:digest:{manager_id}:{digest}",
                                           f"checkin-digest:{manager_id}:{digest}", at_commit=True)
    store.mark_many(services.db, [ci.id for ci in cis if ci.id is not None], manager_notified_at=now)


async def flush_pending(jctx: JobCtx) -> int:
    """Send held-back submissions once the manager's digest window has passed (escalation_scan), a
    chunk of managers per transaction (``JobCtx.each_in_chunks``)."""
    services, now = jctx.services, jctx.at
    window = timedelta(minutes=services.settings.policy.digest_window_minutes)
    rows = store.held_back(services.db, now - timedelta(days=14), now)
    by_manager: dict[str, list[CheckIn]] = {}
    for ci, emp in rows:
        by_manager.setdefault(emp.manager_id, []).append(ci)

    async def flush(item: tuple[str, list[CheckIn]]) -> str | None:
        manager_id, cis = item
        last = store.last_notice_to(services.db, manager_id)
        if last is not None and now < last + window:
            return None
        await notify(services, manager_id, cis, _reports_with(services, manager_id), now)
        return "sent"

    done = await jctx.each_in_chunks(list(by_manager.items()), flush, key=lambda item: f"digest:{item[0]}")
    return done["sent"]


# -- manager actions ------------------------------------------------------------------------------
def _checkin_for_manager(ctx: Ctx, checkin_id: str) -> tuple[CheckIn, Employee] | None:
    ci = store.get(ctx.db, int(checkin_id)) if checkin_id.isdigit() else None
    emp = store.employee(ctx.db, ci.employee_id) if ci else None
    if ci is None or emp is None or emp.manager_id != ctx.employee.id:
        return None
    return ci, emp


async def mark_seen(ctx: Ctx, ci: CheckIn, emp: Employee) -> None:
    if ci.manager_seen_at is None:
        store.update(ctx.db, ci.id, manager_seen_at=ctx.now())
        await ctx.services.messenger.send_text(emp, f"{ctx.employee.name} 已阅你 {ci.week} 的周复盘 👍",
                                               f"checkin:seen:{ci.id}")
    await ctx.update_cards(review_subject(ci), review_card(emp, ci, ctx.services.tz).closed("已阅👍"))


async def _found(ctx: Ctx, ids: list[str]) -> list[tuple[CheckIn, Employee]]:
    found = [x for x in (_checkin_for_manager(ctx, i) for i in ids) if x is not None]
    if not found:
        await ctx.reply("这份周复盘不属于你的团队成员，无法操作。")
    return found


@router.action("cr", "seen")
@router.action("cr", "seenall")
async def on_seen_button(ctx: Ctx, event: CardAction, action: Action) -> None:
    """cr:seen:<checkin_id> (one report) · cr:seenall:<id>:<id>… (the digest's 全部已阅)."""
    found = await _found(ctx, list(action.args) if action.action == "seenall" else [action.arg(0)])
    if found:
        for ci, emp in found:
            await mark_seen(ctx, ci, emp)
        names = "、".join(emp.name for _, emp in found)
        await ctx.reply(f"已标记为已阅：{names}。")


@router.action("cr", "fb")
async def on_feedback_button(ctx: Ctx, event: CardAction, action: Action) -> None:
    found = await _found(ctx, [action.arg(0)])
    if found:
        await start_writing(ctx, *found[0])


async def start_writing(ctx: Ctx, ci: CheckIn, emp: Employee) -> None:
    if ci.manager_seen_at is None:
        store.update(ctx.db, ci.id, manager_seen_at=ctx.now())
    ctx.start_flow(FLOW, "write", {"checkin_id": ci.id})
    await ctx.reply(f"请写下给 {emp.name} 的反馈（{ci.week}）。具体一点更有帮助：什么情境、什么行为、带来什么影响。"
                    "发送「取消」放弃。")


@router.flow(FLOW)
async def on_feedback_text(ctx: Ctx, msg: TextMessage, conv: Conversation) -> bool | None:
    text = msg.text.strip()
    ci = store.get(ctx.db, int(conv.data.get("checkin_id", 0)))
    emp = store.employee(ctx.db, ci.employee_id) if ci else None
    if ci is None or emp is None:
        ctx.end_flow(FLOW)
        return False
    draft = conv.data.get("draft")
    if draft and text in ("就这样", "发送", "直接发送", "按原文发送", "就这样发"):
        text = draft
    elif not text:
        await ctx.reply("反馈内容是空的，请写几句再发给我。")
        return None
    elif not draft and is_vague(text):
        ctx.set_step("write", {**conv.data, "draft": text})
        await ctx.reply(SBI_HINT)
        return None
    await send_feedback(ctx, ci, emp, text)
    return None


async def send_feedback(ctx: Ctx, ci: CheckIn, emp: Employee, text: str) -> None:
    fb = store.add_feedback(ctx.db, ci, ctx.employee.id, text, ctx.now())
    ctx.end_flow(FLOW)
    await ctx.services.messenger.send_text(
        emp, f"💬 {ctx.employee.name} 对你 {ci.week} 周复盘的反馈：\n{text}", f"feedback:{fb.id}")
    await ctx.update_cards(review_subject(ci), review_card(emp, ci, ctx.services.tz).closed("已反馈"))
    await ctx.reply(f"已发送给 {emp.name} ✅")
    await record(ctx, emp.id, text, "manager", f"feedback:{fb.id}")


# -- feedback by text: 「给张伟写反馈：…」「写反馈 张伟」 (issue 13, item 14) ------------------------------
FEEDBACK_SAID = (r"^\s*(?:给|对)\s*(?P<name>[^\s:：，,]{2,4}?)\s*(?:写|发|的)?\s*(?:一条|个|一下)?\s*反馈\s*[:：，,]?\s*(?P<text>.*)$"
                 r"|^\s*写反馈\s*[:：，,]?\s*(?P<name2>[^\s:：，,]{2,4})\s*(?:[:：，,]\s*(?P<text2>.*))?$")


@router.pattern(FEEDBACK_SAID, escapes=True)
async def on_feedback_said(ctx: Ctx, msg: TextMessage) -> bool | None:
    m = re.match(FEEDBACK_SAID, msg.text.strip(), re.S)
    if m is None:
        return False
    name, text = (m.group("name") or m.group("name2") or ""), (m.group("text") or m.group("text2") or "").strip()
    reports = _reports_with(ctx.services, ctx.employee.id)
    if not reports:
        return False  # not a manager: 「给我的反馈」 etc. is a question for Q&A
    emp = next((e for e in reports.values() if e.name == name and e.active), None)
    if emp is None:
        await ctx.reply(f"{name}不是你的直属下属，只能给直属下属的周复盘写反馈。")
        return None
    ci = store.latest_submitted(ctx.db, emp.id)
    if ci is None:
        await ctx.reply(f"{emp.name}还没有提交过周复盘，暂时没有可以反馈的内容。")
        return None
    if not text:
        await start_writing(ctx, ci, emp)
        return None
    if is_vague(text):
        ctx.start_flow(FLOW, "write", {"checkin_id": ci.id, "draft": text})
        await ctx.reply(SBI_HINT)
        return None
    await send_feedback(ctx, ci, emp, text)
    return None
