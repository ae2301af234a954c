"""「我的调整申请批了吗」「目标调整进度」: where the asker's adjustment requests stand."""

from __future__ import annotations

from datetime import tzinfo

from handlers.adjust import rules, store
from storage.db import Database
from storage.models import Employee

STATE = {"pending": "审批中", "approved": "已批准 ✅", "rejected": "未通过", "cancelled": "已撤回"}


def answer_status(db: Database, me: Employee, tz: tzinfo) -> str:
    rows = store.requests_of(db, me.id)
    if not rows:
        return "你还没有提交过目标调整申请。想申请的话，可以说「申请把XX目标从20调到18，原因：…」。"
    lines = ["你的目标调整申请："]
    for req, goal in rows:
        title = goal.title if goal else req.goal_id
        when = req.created_at.astimezone(tz)
        line = (f"· {title}：{rules.fmt(req.old_target)} → {rules.fmt(req.new_target)} {goal.unit if goal else ''}"
                f"（{when.month}月{when.day}日提交）{STATE.get(req.status, req.status)}").replace(" （", "（")
        if req.status == "pending":
            who = store.employee(db, req.approver_id)
            line += f"，等待{who.name if who else '审批人'}审批"
        elif req.status == "rejected" and req.decision_reason:
            line += f"，原因：{req.decision_reason}"
        lines.append(line)
    return "\n".join(lines)
