"""Who a question is about, and who may ask.

Rules (issue 13): everyone may ask about themselves; managers about their direct reports; directors
(managers of managers) about anyone in their subtree; HRBPs about the status of the people they
support (never the raw check-in text). A question that names someone else is refused, never answered
silently about the asker; a partial or ambiguous name (「小张」「老王」, two 张伟) gets 「你指的是谁？」.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from handlers.qa import store as queries
from storage.db import Database
from storage.models import Employee

log = logging.getLogger(__name__)

ONLY_SELF = "抱歉，我只能告诉你自己的情况；主管可以查询团队成员的情况。如需了解其他同事，请直接和对方或 TA 的主管沟通。"
NOT_A_REPORT = "抱歉，{name}不在你的团队里，我不能提供 TA 的信息。你可以查询自己或团队成员的情况。"

# 小张, 老王, 阿强, 张总, 王姐, 李经理 … (a surname plus a familiar prefix/suffix)
_NICK = re.compile(r"(?:小|老|阿)([\u4e00-\u9fff])(?![\u4e00-\u9fff]?(?:时|组|区|事|板|家|师|样|朋友))"
                   r"|([\u4e00-\u9fff])(?:总|哥|姐|经理|主管|老师|工)(?![\u4e00-\u9fff]*(?:结|体|部))")
_ABOUT_ME = re.compile(r"我|本人|自己")


@dataclass
class Subject:
    """The person a question is about, or the reply that says why not / asks who."""
    employee: Employee | None
    reply: str | None = None
    supported: Employee | None = None  # refused, but the asker is this person's HRBP (status only)


def can_see(db: Database, asker: Employee, other: Employee) -> bool:
    """Manager of ``other`` anywhere up the chain (direct report or subtree)."""
    seen: set[str] = set()
    cur: str | None = other.manager_id
    while cur and cur not in seen:
        if cur == asker.id:
            return True
        seen.add(cur)
        boss = queries.employee(db, cur)
        cur = boss.manager_id if boss else None
    return False


def _ask_who(names: list[str], example: str) -> str:
    if len(names) == 1:
        return f"你指的是{names[0]}吗？请用全名再问一次，例如「{example}」。"
    return f"你指的是谁？{'、'.join(names)}都有可能，请用全名再问一次。"


def resolve(db: Database, me: Employee, text: str) -> Subject:
    named = [e for e in queries.employees_named_in(db, text) if e.id != me.id]
    # 「王磊给我的反馈」: my own manager or HRBP mentioned in a question about me
    about_me = _ABOUT_ME.search(text) is not None
    if named and about_me and all(e.id in (me.manager_id, me.hrbp_id) for e in named):
        return Subject(me)
    if named:
        names = sorted({e.name for e in named})
        visible = [e for e in named if can_see(db, me, e)]
        if len(visible) == len(named) and len(named) == 1:
            return Subject(named[0])
        if len(visible) == len(named):
            if len(names) < len(named):  # two colleagues with the same name
                return Subject(None, f"你的团队里有 {len(named)} 位{names[0]}，暂时无法区分，请直接在卡片上查看或联系 HR。")
            return Subject(None, f"一次只能查一位同事：你指的是{'还是'.join(names)}？")
        stranger = next(e for e in named if e not in visible)
        log.info("qa: %s asked about %s, who is not in their team; refused", me.id, stranger.id)
        supported = stranger if len(named) == 1 and stranger.hrbp_id == me.id else None
        return Subject(None, NOT_A_REPORT.format(name=stranger.name) if queries.has_reports(db, me.id) else ONLY_SELF,
                       supported)
    for m in _NICK.finditer(text):
        surname = m.group(1) or m.group(2)
        if me.name.startswith(surname) and not about_me:
            continue
        people = [e for e in queries.with_surname(db, surname) if e.id != me.id]
        if not people:
            continue
        if about_me and any(e.id in (me.manager_id, me.hrbp_id) for e in people):
            continue  # 「王总给我的反馈」: my own manager, the question is about me
        mine = [e for e in people if can_see(db, me, e)]
        if mine:
            example = text.replace(m.group(0), mine[0].name, 1)
            return Subject(None, _ask_who([e.name for e in mine], example))
        return Subject(None, ONLY_SELF if not queries.has_reports(db, me.id) else
                       f"抱歉，你的团队里没有姓{surname}的同事，我不能提供其他同事的信息。")
    return Subject(me)
