"""Target adjustment, employee side: a request in their own words or through a guided flow.

Flow ``adjust`` (one step at a time, state stored per employee)::

    goal ──(pick / number / title)──▶ target ──(number within limit)──▶ reason ──▶ submitted
      ▲ 「从20」≠ current target ──▶ confirm ──(确认 / number)──┘

Anything missing is asked for; anything outside the rules is refused with what is allowed.
A message that does not answer the current step ends the flow and is routed normally.
The approver side (card buttons, rejection reason, escalation job) is in handlers/adjust/decide.py.
"""

from __future__ import annotations

import re
from typing import Any

from bot.context import Ctx
from bot.events import CardAction, TextMessage
from bot.router import Router, normalise
from cards.payload import Action
from handlers.adjust import decide as adjust_decide
from handlers.adjust import rules
from handlers.adjust import store as adj
from handlers.adjust.cards import change_text, goal_choice_card
from handlers.adjust.parse import TRIGGER, clean_reason, first_number, parse_request
from handlers.common.goals import goals_of
from handlers.common.questions import read_as
from storage.models import Conversation, Goal

router = Router("adjust")
FLOW = "adjust"
MIN_REASON, MAX_REASON = 6, 200
YES = {"确认", "是", "是的", "对", "好", "好的", "嗯", "可以", "ok", "确定"}


# -- entry points ------------------------------------------------------------------------------
@router.pattern(TRIGGER)
async def on_explicit_request(ctx: Ctx, msg: TextMessage) -> None:
    await start(ctx, msg.text)


@router.intent("adjust_target")
async def on_adjust_intent(ctx: Ctx, msg: TextMessage, question: object) -> None:
    await start(ctx, msg.text)


@router.command("申请调整目标", "调整目标", "目标调整", "申请目标调整")
async def on_adjust_command(ctx: Ctx, msg: TextMessage) -> None:
    await start(ctx, "")


async def start(ctx: Ctx, text: str) -> None:
    p = parse_request(text)
    data: dict[str, Any] = {"new": p.new, "old": p.old, "reason": p.reason}
    goals = own_open_goals(ctx)
    if not goals:
        ctx.end_flow(FLOW)
        await ctx.reply("你目前没有处于考核期内的目标，暂时无法申请调整。如有疑问请联系你的主管。")
        return
    named = rules.clean_goal_text(p.goal_text) if p.goal_text else ""
    matches = rules.match_goals(goals, named) if named else []
    by_old = [g for g in goals if p.old is not None and g.target is not None and abs(g.target - p.old) < 1e-9]
    if not matches and (len(by_old) == 1 or (len(goals) == 1 and not named)):
        data["goal_id"] = (by_old or goals)[0].id  # 「kpi能不能从24降到23」: the one goal, or the one at 24
        await advance(ctx, data)
        return
    if named and not matches:
        closed = rules.match_goals(goals_of(ctx.db, ctx.employee.id), p.goal_text)
        if closed:  # their own goal, but its period is over (or not started)
            await ctx.reply(goal_problem(ctx, closed[0][0]) or "这个目标当前不能调整。")
            return
        data["options"] = [g.id for g in goals]
        ctx.start_flow(FLOW, "goal", data)
        await ctx.reply(f"在你名下没有找到「{named}」这个目标，请从下面选一个。")
        await ctx.reply_card(goal_choice_card(goals), subject=f"adjpick:{ctx.employee.id}")
        return
    if len(matches) == 1 or (matches and matches[0][1] - matches[1][1] >= 10):
        data["goal_id"] = matches[0][0].id
    elif len(goals) == 1 and not matches:
        data["goal_id"] = goals[0].id
    else:
        shortlist = [g for g, _ in matches] or goals
        data["options"] = [g.id for g in shortlist]
        ctx.start_flow(FLOW, "goal", data)
        await ctx.reply_card(goal_choice_card(shortlist), subject=f"adjpick:{ctx.employee.id}")
        return
    await advance(ctx, data)


def own_open_goals(ctx: Ctx) -> list[Goal]:
    today = ctx.local_now().date()
    return [g for g in goals_of(ctx.db, ctx.employee.id, today) if rules.is_open(g, today)]


# -- the guided flow ---------------------------------------------------------------------------
@router.flow(FLOW)
async def on_flow_text(ctx: Ctx, msg: TextMessage, conv: Conversation) -> bool:
    data, text = dict(conv.data), msg.text.strip()
    if conv.step != "reason" and re.search(TRIGGER, text):
        ctx.end_flow(FLOW)  # a fresh explicit request replaces the half-finished one
        return False
    if conv.step == "goal":
        goal = _goal_from_answer(ctx, text, data.get("options", []))
        if goal is None:
            ctx.end_flow(FLOW)
            return False
        data["goal_id"] = goal.id
    elif conv.step == "confirm":
        n = first_number(text)
        if n is not None:
            data["new"] = n
        elif text.lower().strip("。！! ") not in YES:
            ctx.end_flow(FLOW)
            return False
        data["old"] = None
    elif conv.step == "target":
        n = first_number(text)
        if n is None:
            ctx.end_flow(FLOW)
            return False
        data["new"] = n
    elif conv.step == "reason":
        if is_elsewhere(ctx, text):
            return False  # 「申请调整目标」 or a question is never taken for the reason
        data["reason"] = clean_reason(text)
    await advance(ctx, data)
    return True


def is_elsewhere(ctx: Ctx, text: str) -> bool:
    """A command of any feature, or a question: not the answer the step waits for."""
    norm = normalise(text)
    if any(norm in c.phrases for c in ctx.services.dispatcher.routing.routes.commands):
        return True
    return read_as(text, ctx.local_now().date()) == "question"


@router.reprompt(FLOW)
async def on_reprompt(ctx: Ctx, conv: Conversation) -> None:
    """Something else was answered while a request was half-written: ask for what is still missing."""
    ask = {"reason": f"（继续申请调整目标）请用一句话说明业务原因（至少 {MIN_REASON} 个字）。",
           "target": "（继续申请调整目标）想调整到多少？请回复一个数字。",
           "goal": "（继续申请调整目标）要调整哪个目标？请回复序号或目标名称。",
           "confirm": "（继续申请调整目标）回复「确认」继续，或直接回复新的目标值。"}.get(conv.step)
    if ask:
        await ctx.reply(ask)


def _goal_from_answer(ctx: Ctx, text: str, options: list[str]) -> Goal | None:
    goals = own_open_goals(ctx)
    n = first_number(text)
    if n is not None and n.is_integer() and 1 <= int(n) <= len(options) and len(text) <= 4:
        return next((g for g in goals if g.id == options[int(n) - 1]), None)
    matches = rules.match_goals(goals, text)
    return matches[0][0] if matches else None


@router.action("adj", "pick")
async def on_pick(ctx: Ctx, event: CardAction, action: Action) -> None:
    """adj:pick:<goal_id>:v1 (requester); approve/reject are in handlers/adjust/decide.py."""
    goal = adj.get_goal(ctx.db, action.arg(0))
    if goal is None or goal.owner_id != ctx.employee.id:
        await ctx.reply("这个目标不在你的名下，无法申请调整。")
        return
    conv = ctx.conversation()
    data = dict(conv.data) if conv is not None and conv.flow == FLOW else {}
    data["goal_id"] = goal.id
    await advance(ctx, data)


async def advance(ctx: Ctx, data: dict[str, Any]) -> None:
    """Check what we have, refuse what breaks the rules, ask for what is missing, else submit."""
    policy = ctx.settings.policy
    goal = adj.get_goal(ctx.db, data["goal_id"])
    if goal is None or goal.owner_id != ctx.employee.id:
        ctx.end_flow(FLOW)
        await ctx.reply("只能申请调整你自己名下的目标。")
        return
    problem = goal_problem(ctx, goal)
    if problem:
        ctx.end_flow(FLOW)
        await ctx.reply(problem)
        return
    if goal.target is None:
        ctx.end_flow(FLOW)
        await ctx.reply("这个目标还没有设定目标值，无法申请调整。")
        return
    unit, cur = goal.unit, rules.fmt(goal.target)
    old, new = data.get("old"), data.get("new")
    if old is not None and abs(old - goal.target) > 1e-9:
        if new is not None and abs(new - goal.target) < 1e-9:
            ctx.end_flow(FLOW)
            await ctx.reply(f"「{goal.title}」当前目标已经是 {cur} {unit}（不是 {rules.fmt(old)} {unit}），无需再申请。")
            return
        ctx.start_flow(FLOW, "confirm", data)
        to = f"调到 {rules.fmt(new)} {unit}" if new is not None else "调整"
        await ctx.reply(f"「{goal.title}」当前目标是 {cur} {unit}，不是 {rules.fmt(old)} {unit}。"
                        f"要按当前目标 {cur} {unit} {to}吗？回复「确认」继续，或直接回复新的目标值。")
        return
    lo, hi = rules.allowed_range(goal.target, policy.max_adjustment_percent)
    limit = f"单次最多调整当前目标的 {policy.max_adjustment_percent:g}%"
    if new is None:
        ctx.start_flow(FLOW, "target", data)
        await ctx.reply(f"「{goal.title}」当前目标 {cur} {unit}（{limit}，可申请 {rules.fmt(lo)}–{rules.fmt(hi)} {unit}）。"
                        "想调整到多少？请回复一个数字。")
        return
    refusal = (rules.whole_number_problem(goal, new, policy.whole_number_units)
               or target_problem(goal, new, lo, hi, limit, policy.max_adjustment_percent))
    if refusal:
        ctx.start_flow(FLOW, "target", data)
        await ctx.reply(refusal + "\n回复范围内的数字可以继续申请，发送「取消」放弃。")
        return
    reason = (data.get("reason") or "").strip()
    if len(reason) < MIN_REASON or len(reason) > MAX_REASON:
        ctx.start_flow(FLOW, "reason", data)
        if not reason:
            ask = f"请用一句话说明业务原因（至少 {MIN_REASON} 个字），例如「XX医院招标推迟到明年一季度」。"
        elif len(reason) < MIN_REASON:
            ask = (f"原因「{reason}」太简短了，请补充具体的业务原因（至少 {MIN_REASON} 个字），"
                   "例如「XX医院招标推迟到明年一季度」。")
        else:
            ask = f"原因请控制在 {MAX_REASON} 字以内，请精简后再回复。"
        await ctx.reply(ask)
        return
    ctx.end_flow(FLOW)
    await submit(ctx, goal, new, reason)


def goal_problem(ctx: Ctx, goal: Goal) -> str | None:
    today = ctx.local_now().date()
    if goal.target is None:
        return f"「{goal.title}」还没有设定目标值，无法申请调整。"
    if not rules.is_open(goal, today):
        return (f"「{goal.title}」的考核周期（{goal.period_start} 至 {goal.period_end}）不在进行中，"
                "只能调整当前周期的目标。")
    if goal.target == 0:
        return f"「{goal.title}」目标为 0，无法按比例调整，请直接和主管沟通。"
    pending = adj.pending_for_goal(ctx.db, goal.id)
    if pending is not None:
        approver = adj.employee(ctx.db, pending.approver_id)
        who = approver.name if approver else "审批人"
        return (f"「{goal.title}」已有一条待审批的调整申请（{change_text(pending, goal.unit)}，等待{who}审批），"
                "请等结果出来后再提交新的申请。")
    return None


def target_problem(goal: Goal, new: float, lo: float, hi: float, limit: str, policy_percent: float) -> str | None:
    if goal.target is None:
        return "这个目标还没有设定目标值，无法申请调整。"
    unit, cur = goal.unit, rules.fmt(goal.target)
    if abs(new - goal.target) < 1e-9:
        return f"新目标和当前目标相同（{cur} {unit}），无需调整。"
    if new < 0:
        return "目标值不能是负数。"
    if not rules.within_limit(goal.target, new, policy_percent):
        pct = rules.percent_change(goal.target, new)
        bound = f"最低可调到 {rules.fmt(lo)} {unit}" if new < goal.target else f"最高可调到 {rules.fmt(hi)} {unit}"
        if lo >= goal.target and hi <= goal.target:
            bound = "这个目标按规定无法再调整，请和主管线下沟通"
        return (f"抱歉，这次调整幅度 {pct:+.1f}% 超出了规定（{limit}）。"
                f"「{goal.title}」当前目标 {cur} {unit}，本次可申请 {rules.fmt(lo)}–{rules.fmt(hi)} {unit}，{bound}。")
    return None


async def submit(ctx: Ctx, goal: Goal, new: float, reason: str) -> None:
    policy = ctx.settings.policy
    if goal.target is None:
        raise ValueError(f"goal {goal.id} has no target to adjust")
    pct = rules.percent_change(goal.target, new)
    approver, note = adjust_decide.route_approver(ctx.db, ctx.employee, pct, policy.director_threshold_percent,
                                                  policy.approval_mode)
    if approver is None:
        await ctx.reply("没有找到可以审批的上级，暂时无法提交。请联系 HR 补全汇报关系。")
        return
    req = adj.create(ctx.db, goal=goal, requester_id=ctx.employee.id, new_target=new, reason=reason,
                     approver_id=approver.id, now=ctx.now())
    if req is None:  # someone (another device, a retry) filed one a moment ago
        await ctx.reply(goal_problem(ctx, goal) or "这个目标已有待审批的申请，请等结果出来后再提交。")
        return
    await adjust_decide.send_approval_card(ctx, req, ctx.employee, approver, note)
    await adjust_decide.inform_manager(ctx, req, ctx.employee, approver)
    await ctx.reply(f"已提交目标调整申请：「{goal.title}」{change_text(req, goal.unit)}，"
                    f"原因：{reason}。\n已发给{approver.name}审批，结果出来后我会第一时间通知你。")



router.include(adjust_decide.router)
