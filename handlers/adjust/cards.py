"""Cards and messages of the target-adjustment feature (built once, rendered per platform)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from cards.model import Button, Card
from cards.payload import BadPayload, pack
from handlers.adjust import rules
from handlers.adjust import store as adj
from handlers.common.calendar import local_short
from handlers.common.goals import format_progress
from storage.cardstore import for_subject
from storage.db import Database
from storage.models import AdjustmentRequest, Employee, Goal

PREFIX = "adj"


def subject(request_id: int) -> str:
    return f"{PREFIX}:{request_id}"


def change_text(req: AdjustmentRequest, unit: str) -> str:
    return f"{rules.fmt(req.old_target)} → {rules.fmt(req.new_target)} {unit}（{req.percent:+.1f}%）".replace(" （", "（")


def approval_card(db: Database, req: AdjustmentRequest, requester: Employee, tz: ZoneInfo,
                  note: str = "", escalation_hours: int | None = None) -> Card:
    """The approver's card: goal, old → new, % change, reason, progress and evidence."""
    goal = adj.get_goal(db, req.goal_id)
    unit = goal.unit if goal else ""
    metrics = adj.recent_metrics(db, req.goal_id)
    tasks = adj.open_tasks(db, req.goal_id)
    fields = [
        ("申请人", requester.name),
        ("目标", goal.title if goal else req.goal_id),
        ("调整", change_text(req, unit)),
        ("原因", req.reason),
        ("当前进度", format_progress(goal) if goal else "—"),
        ("近期数据", " · ".join(f"{m.date:%m-%d} {m.value:g}" for m in metrics) or "暂无"),
        ("未完成任务", "；".join(
            t.title + (f"（{t.due_date:%m-%d} 截止）" if t.due_date else "") for t in tasks) or "无"),
    ]
    if note:
        fields.append(("说明", note))
    footer = f"提交于 {local_short(req.created_at, tz)}"
    if escalation_hours:
        footer += f" · {escalation_hours} 小时内未处理将升级至上级"
    if req.id is None:
        raise ValueError("approval_card needs a stored request (with an id)")
    return Card(
        title="目标调整审批",
        body=f"{requester.name}申请调整目标「{goal.title if goal else req.goal_id}」，请审批。",
        fields=fields,
        buttons=[Button("批准", pack(PREFIX, "approve", req.id), "primary"),
                 Button("驳回", pack(PREFIX, "reject", req.id), "danger")],
        footer=footer,
    )


STATE_MAX = 32  # cards_sent.state is VARCHAR(32): longer detail goes in the body


def closed_card(db: Database, req: AdjustmentRequest, requester: Employee, tz: ZoneInfo, state: str,
                detail: str = "") -> Card:
    """The card as first delivered (same evidence), now showing the outcome instead of buttons."""
    records = for_subject(db, subject(req.id or 0))
    base = Card.from_dict(records[0].card) if records else approval_card(db, req, requester, tz)
    card = base.closed(state[:STATE_MAX], body=base.body + (f"\n{detail}" if detail else ""))
    card.footer = f"提交于 {local_short(req.created_at, tz)}"  # no more "will escalate" once closed
    return card


def goal_choice_card(goals: list[Goal]) -> Card:
    lines, buttons = [], []
    for i, g in enumerate(goals, 1):
        cur = "—" if g.current is None else rules.fmt(g.current)
        tgt = "—" if g.target is None else rules.fmt(g.target)
        lines.append(f"{i}. {g.title}（目标 {tgt} {g.unit}，已完成 {cur}）".replace(" ，", "，"))
        try:
            buttons.append(Button(g.title[:16], pack(PREFIX, "pick", g.id), "default"))
        except BadPayload:  # an id that cannot travel in a payload: choose by number instead
            pass
    return Card(title="申请调整目标", body="要调整哪个目标？\n" + "\n".join(lines), buttons=buttons,
                footer="也可以直接回复序号或目标名称；发送「取消」退出。")
