"""Target adjustment, approver side: who approves, the card buttons, the rejection reason and
the escalation job.

Payloads: ``adj:approve:<request_id>:v1`` and ``adj:reject:<request_id>:v1``; cards about one request
share the subject ``adj:<request_id>`` so every copy is closed with the outcome.

Flow ``adjust_reject`` (approver)::

    「驳回」 ──▶ reason ──(a short reason)──▶ rejected, cards closed, requester told
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.context import Ctx
from bot.events import CardAction, TextMessage
from bot.router import Router
from cards.payload import Action
from handlers.adjust import store as adj
from handlers.adjust.cards import approval_card, change_text, closed_card, subject
from handlers.common.calendar import add_work_hours, local_short
from handlers.common.goals import alignment, format_progress
from scheduler.registry import JobCtx, job
from storage.db import Database
from storage.models import AdjustmentRequest, Conversation, Employee

log = logging.getLogger(__name__)
router = Router("adjust_decide")
REJECT_FLOW = "adjust_reject"
MIN_REJECT_REASON, MAX_REJECT_REASON = 2, 200
STALE = "这个按钮已失效，请在最新的卡片上操作。"
STATUS = {"approved": "已批准", "rejected": "已驳回", "cancelled": "已失效", "pending": "待审批"}


def _active(db: Database, employee_id: str | None) -> Employee | None:
    emp = adj.employee(db, employee_id)
    return emp if emp is not None and emp.active else None


def route_approver(db: Database, requester: Employee, percent: float, director_threshold: float,
                   mode: str = "manager_then_director") -> tuple[Employee | None, str]:
    """Who decides first. Up to the threshold: the requester's manager. Above it, by
    ``policy.approval_mode``: the manager first and then the director ("manager_then_director"), or the
    director alone with the manager informed ("director_only"). Without a manager: the director."""
    manager = _active(db, requester.manager_id)
    director = _active(db, manager.manager_id if manager else None)
    if director is not None and director.id == requester.id:
        director = None
    big = abs(percent) > director_threshold + 1e-9
    if big and director is not None and (mode == "director_only" or manager is None):
        informed = "；已告知直属主管" if manager is not None else ""
        return director, f"调整幅度超过 {director_threshold:g}%，由上级主管审批{informed}"
    if manager is not None:
        if big and director is not None:
            return manager, f"调整幅度超过 {director_threshold:g}%：你批准后还需{director.name}最终审批"
        return manager, ""
    if director is not None:
        return director, "直属主管暂不可用，由上级主管审批"
    return None, ""


def director_after(db: Database, req: AdjustmentRequest, requester: Employee, approver: Employee,
                   policy: Any) -> Employee | None:
    """The director who must approve after this manager (two-stage approval), else None."""
    if (policy.approval_mode != "manager_then_director" or req.manager_approved_by is not None
            or approver.id != requester.manager_id or abs(req.percent) <= policy.director_threshold_percent + 1e-9):
        return None
    director = _active(db, approver.manager_id)
    return director if director is not None and director.id != requester.id else None


async def hand_to_director(ctx: Ctx, req: AdjustmentRequest, requester: Employee, director: Employee) -> None:
    """The manager approved the first stage: close their card, send the director theirs, tell the requester."""
    tz, me = ctx.services.tz, ctx.employee
    fresh = adj.pass_to_director(ctx.db, req, me.id, director.id, ctx.now())
    if fresh is None:
        latest = adj.get(ctx.db, req.id or 0)
        await ctx.reply((refusal_for(ctx, latest) if latest else None) or STALE)
        return
    goal = adj.get_goal(ctx.db, req.goal_id)
    unit = goal.unit if goal else ""
    change = f"「{goal.title if goal else req.goal_id}」{change_text(fresh, unit)}"
    threshold = ctx.settings.policy.director_threshold_percent
    await ctx.update_cards(subject(req.id or 0), closed_card(
        ctx.db, fresh, requester, tz, f"已批准 · {me.name} · {local_short(ctx.now(), tz)} · 待{director.name}最终审批"))
    await send_approval_card(ctx, fresh, requester, director,
                             f"{me.name}已批准；调整幅度超过 {threshold:g}%，需要你最终审批")
    await ctx.send_text(requester, f"{me.name}已批准你的目标调整申请{change}；调整幅度超过 {threshold:g}%，"
                                   f"还需{director.name}最终审批，结果出来后我会通知你。")
    await ctx.reply(f"已批准。调整幅度超过 {threshold:g}%，已转给{director.name}做最终审批，结果会同步给你。")


async def inform_manager(ctx: Ctx, req: AdjustmentRequest, requester: Employee, approver: Employee) -> None:
    """director_only mode: the manager who does not decide is told about the request."""
    manager = _active(ctx.db, requester.manager_id)
    if manager is None or manager.id == approver.id:
        return
    goal = adj.get_goal(ctx.db, req.goal_id)
    change = f"「{goal.title if goal else req.goal_id}」{change_text(req, goal.unit if goal else '')}"
    await ctx.send_text(manager, f"供你知悉：{requester.name}申请把{change}，原因：{req.reason}。"
                                 f"调整幅度超过 {ctx.settings.policy.director_threshold_percent:g}%，由{approver.name}审批，"
                                 "结果出来后我会告诉你。")


async def send_approval_card(ctx: Ctx, req: AdjustmentRequest, requester: Employee, approver: Employee,
                             note: str) -> None:
    hours = ctx.settings.policy.approval_escalation_hours if approver.id == requester.manager_id else None
    card = approval_card(ctx.db, req, requester, ctx.services.tz, note, hours)
    await ctx.send_card(approver, card, subject(req.id or 0))


# -- buttons -----------------------------------------------------------------------------------
@router.action("adj", "approve")
@router.action("adj", "reject")
async def on_decision_action(ctx: Ctx, event: CardAction, action: Action) -> None:
    """adj:approve|reject:<request_id>:v1 (approver)."""
    try:
        request_id = int(action.arg(0))
    except ValueError:
        request_id = 0
    if not 0 < request_id < 2**31:  # a forged 30-digit id is a stale button, not a database error
        request_id = 0
    req = adj.get(ctx.db, request_id) if request_id else None
    if req is None or action.action not in ("approve", "reject"):
        await ctx.reply(STALE)
        return
    if action.action == "approve":
        requester = adj.employee(ctx.db, req.requester_id)
        director = (director_after(ctx.db, req, requester, ctx.employee, ctx.settings.policy)
                    if requester is not None and req.status == "pending" and req.approver_id == ctx.employee.id
                    else None)
        if director is not None and requester is not None:
            await hand_to_director(ctx, req, requester, director)
            return
        decision = adj.decide(ctx.db, req.id or 0, ctx.employee.id, True, ctx.now())
        await after_decision(ctx, decision)
        return
    refusal = refusal_for(ctx, req)
    if refusal:
        await ctx.reply(refusal)
        return
    ctx.start_flow(REJECT_FLOW, "reason", {"request_id": req.id})
    await ctx.reply("请回复驳回原因（一句话即可），我会转告申请人。发送「取消」放弃驳回。")


def refusal_for(ctx: Ctx, req: AdjustmentRequest) -> str | None:
    """Why this person cannot decide this request now (None if they can)."""
    if req.status != "pending":
        who = adj.employee(ctx.db, req.decided_by)
        by = f"（{who.name}，{local_short(req.decided_at, ctx.services.tz)}）" if who else ""
        return f"这条申请已经处理过了：{STATUS.get(req.status, req.status)}{by}，无需重复操作。"
    if req.approver_id != ctx.employee.id:
        approver = adj.employee(ctx.db, req.approver_id)
        name = approver.name if approver else "指定审批人"
        return f"抱歉，这条目标调整申请需由{name}审批，你的操作未生效。"
    return None


@router.flow(REJECT_FLOW)
async def on_reject_reason(ctx: Ctx, msg: TextMessage, conv: Conversation) -> bool:
    reason = msg.text.strip().strip("。.！! ")
    if len(reason) < MIN_REJECT_REASON or len(reason) > MAX_REJECT_REASON:
        await ctx.reply(f"请用 {MIN_REJECT_REASON}–{MAX_REJECT_REASON} 个字说明驳回原因，发送「取消」放弃驳回。")
        return True
    ctx.end_flow(REJECT_FLOW)
    decision = adj.decide(ctx.db, int(conv.data["request_id"]), ctx.employee.id, False, ctx.now(), reason)
    await after_decision(ctx, decision)
    return True


async def after_decision(ctx: Ctx, decision: adj.Decision) -> None:
    req, tz = decision.request, ctx.services.tz
    if req is None:
        await ctx.reply(STALE)
        return
    if decision.outcome in ("not_pending", "not_approver"):
        await ctx.reply(refusal_for(ctx, req) or STALE)
        return
    conv = ctx.conversation()
    if conv is not None and conv.flow == REJECT_FLOW and conv.data.get("request_id") == req.id:
        ctx.end_flow(REJECT_FLOW)  # approved after pressing 「驳回」: the reason is no longer wanted
    requester = adj.employee(ctx.db, req.requester_id)
    goal = adj.get_goal(ctx.db, req.goal_id)
    if requester is None or goal is None:
        log.warning("adjustment #%s: requester or goal no longer exists; nobody told", req.id)
        return
    me, when = ctx.employee.name, local_short(req.decided_at, tz)
    change = f"「{goal.title}」{change_text(req, goal.unit)}"
    if decision.outcome == "approved":
        state = f"已批准 · {me} · {when}"
        a = alignment(ctx.db, goal.id)
        lines = [f"你的目标调整申请已获{me}批准：{change}。", f"最新进度：{format_progress(goal)}"]
        if a is not None and len(a.chain) > 1:
            lines.append(a.text())
        note, mine = "\n".join(lines), f"已批准{change}，已通知{requester.name}。"
    elif decision.outcome == "rejected":
        state = f"已驳回 · {me} · {when}"
        note = f"你的目标调整申请{change}未获批准（{me}）。\n原因：{req.decision_reason}\n如有疑问，可以直接和{me}沟通。"
        mine = f"已驳回，已把原因转告{requester.name}。"
    else:  # goal_changed
        state = "已失效 · 目标已被修改"
        note = f"你的目标调整申请{change}已失效：目标在审批前被修改了。如仍需调整，请重新提交。"
        mine = "这个目标在审批前已被修改，申请已失效，无需再处理。"
    detail = f"驳回原因：{req.decision_reason}" if decision.outcome == "rejected" else ""
    await ctx.update_cards(subject(req.id or 0), closed_card(ctx.db, req, requester, tz, state, detail))
    await ctx.send_text(requester, note)
    manager = _active(ctx.db, requester.manager_id)
    if manager is not None and manager.id != ctx.employee.id and decision.outcome in ("approved", "rejected"):
        outcome = "批准" if decision.outcome == "approved" else f"驳回（原因：{req.decision_reason}）"
        await ctx.send_text(manager, f"{me}已{outcome}{requester.name}的目标调整申请{change}。")
    await ctx.reply(mine)


# -- escalation ----------------------------------------------------------------------------------
@job("adjust_escalation", cron="*/10 * * * *",
     description="目标调整申请超时未审批（按工作日小时计）：转给上级主管（或提醒一次）")
async def adjust_escalation(jctx: JobCtx) -> str:
    """Requests waiting too long go up to the approver's manager (or the approver is reminded
    once), in chunks (``JobCtx.in_chunks``: one transaction per chunk, a bad request skipped and noted)."""
    services = jctx.services
    hours = services.settings.policy.approval_escalation_hours
    tz, cal = services.tz, services.settings.calendar
    # hours count on workdays only, like the check-in chain: Friday 16:00 + 24 h is Monday 16:00
    due = [req for req in adj.due_for_escalation(services.db, jctx.at - timedelta(hours=hours))
           if add_work_hours(req.manager_approved_at or req.created_at, hours, tz, cal) <= jctx.at]
    done = await jctx.each_in_chunks(due, lambda req: _escalate(jctx, req, hours), key=lambda req: f"adj:{req.id}")
    return f"escalated {done['escalated']}, reminded {done['reminded']}"


async def _escalate(jctx: JobCtx, req: AdjustmentRequest, hours: int) -> str | None:
    """Escalate one overdue request (or remind its approver); what was done, None if nothing."""
    services = jctx.services
    db, messenger, tz = services.db, services.messenger, services.tz
    requester = adj.employee(db, req.requester_id)
    approver = adj.employee(db, req.approver_id)
    if requester is None or approver is None:
        return None
    up = _active(db, approver.manager_id)
    key, subj = f"adj:{req.id}:escalate", subject(req.id or 0)
    if approver.id == requester.manager_id and up is not None and up.id != requester.id:
        if not adj.escalate(db, req, up.id, jctx.at):
            return None  # decided (or escalated) meanwhile
        note = f"{approver.name}超过 {hours} 小时未处理，已升级由你审批"
        await messenger.update_cards(
            subj, closed_card(db, req, requester, tz, f"已升级至{up.name}审批（超过 {hours} 小时未处理）"),
            f"{key}:close")
        fresh = adj.get(db, req.id or 0)
        if fresh is None:
            return None
        await messenger.send_card(up, approval_card(db, fresh, requester, tz, note), f"{key}:card", subj)
        await messenger.send_text(requester, f"你的目标调整申请超过 {hours} 小时未获处理，已转给{up.name}审批。",
                                  f"{key}:requester")
        await messenger.send_text(approver, f"{requester.name}的目标调整申请超过 {hours} 小时未处理，"
                                  f"已转给{up.name}审批。", f"{key}:approver")
        return "escalated"
    if adj.mark_escalated(db, req):
        await messenger.send_text(approver, f"提醒：{requester.name}的目标调整申请已等待超过 {hours} 小时，"
                                  "请在审批卡片上尽快处理。", f"adj:{req.id}:remind")
        return "reminded"
    return None
