"""Who changed a goal's target, when and why: ``python -m bot report audit [--goal ID] [--json]`` and the
chat answer 「新客户签约数的调整记录」 (for the goal's owner, their managers up the chain, and HR)."""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

from handlers.adjust import rules, store
from handlers.adjust.status import STATE
from storage.db import Database
from storage.models import Employee, Goal

FIELD = {"target": "目标值"}


def audit_report(db: Database, tz: tzinfo, goal_id: str | None = None) -> dict[str, Any]:
    entries = []
    for row, goal, actor in store.audit_entries(db, goal_id):
        entries.append({"goal_id": row.goal_id, "goal": goal.title if goal else None, "field": row.field,
                        "old": row.old_value, "new": row.new_value, "actor_id": row.actor_id,
                        "actor": actor.name if actor else None, "reason": row.reason, "request_id": row.request_id,
                        "at": row.at.astimezone(tz).isoformat(timespec="minutes")})
    if not entries:
        text = "没有调整记录。" if goal_id is None else f"目标 {goal_id} 没有调整记录。"
    else:
        text = "\n".join(f"{e['at'].replace('T', ' ')[:16]}  {e['goal_id']} {e['goal'] or ''}  "
                         f"{FIELD.get(e['field'], e['field'])} {e['old']} → {e['new']}  "
                         f"批准人 {e['actor'] or e['actor_id'] or '—'}  原因：{e['reason'] or '—'}"
                         + (f"  (申请 #{e['request_id']})" if e["request_id"] else "") for e in entries)
    return {"entries": entries, "text": text}


def may_read(db: Database, me: Employee, goal: Goal) -> bool:
    """The goal's owner, the approvers (managers up the owner's chain) and HR."""
    if me.role in ("hr", "admin") or goal.owner_id == me.id:
        return True
    cur = store.employee(db, goal.owner_id)
    seen: set[str] = set()
    while cur is not None and cur.manager_id and cur.manager_id not in seen:
        if cur.manager_id == me.id:
            return True
        seen.add(cur.manager_id)
        cur = store.employee(db, cur.manager_id)
    return False


def goal_history(db: Database, goal: Goal, tz: tzinfo) -> str:
    reqs = store.requests_for_goal(db, goal.id)
    owner = store.employee(db, goal.owner_id)
    head = f"「{goal.title}」（{owner.name if owner else goal.owner_id}）的调整记录："
    if not reqs:
        return head + "\n还没有调整申请，目标值一直是 " + f"{rules.fmt(goal.target or 0)} {goal.unit}。".replace(" 。", "。")
    lines = [head]
    for r in reqs:
        when = r.created_at.astimezone(tz)
        by = store.employee(db, r.decided_by) if r.decided_by else None
        line = (f"· {when.month}月{when.day}日 {rules.fmt(r.old_target)} → {rules.fmt(r.new_target)} {goal.unit}"
                f"，原因：{r.reason}；{STATE.get(r.status, r.status)}")
        if by is not None:
            decided = r.decided_at.astimezone(tz) if r.decided_at else None
            line += f"（{by.name}" + (f"，{decided.month}月{decided.day}日" if decided else "") + "）"
            if r.status == "rejected" and r.decision_reason:
                line += f"，驳回原因：{r.decision_reason}"
        lines.append(line)
    return "\n".join(lines)


_HISTORY = re.compile(r"(的)?(目标)?(调整|变更|修改|改动)?(记录|历史|日志|audit)")


def wants_history(text: str) -> bool:
    return re.search(r"记录|历史|日志|audit|谁改", text.lower()) is not None


def answer_history(db: Database, me: Employee, text: str, tz: tzinfo) -> str:
    from handlers.common.goals import goals_of
    from storage.employees import named_in as employees_named_in

    named = [e for e in employees_named_in(db, text) if e.id != me.id]
    owners = named or [me]
    query = _HISTORY.sub("", "".join(text.split()))
    for e in owners:
        query = query.replace(e.name, "")
    goals = [g for e in owners for g in goals_of(db, e.id)]
    found = [g for g, _score in rules.match_goals(goals, query)] if query.strip("的我") else goals[:1]
    if not found:
        who = "你" if owners == [me] else "、".join(e.name for e in owners)
        return f"没有在{who}名下找到这个目标。可以这样问：「新客户签约数的调整记录」。"
    goal = found[0]
    if not may_read(db, me, goal):
        return "抱歉，目标的调整记录只对目标负责人、TA 的主管（审批人）和 HR 开放。"
    return goal_history(db, goal, tz)
