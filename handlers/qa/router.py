"""Answers from the store: 本月还有哪些任务没完成 / 上次反馈 / KPI 进度 / 对齐哪个公司目标 / 积分 /
周报交了吗. Everyone asks about themselves; managers may also ask about their direct reports
(「张伟本月还有哪些任务」). Asking about anyone else gets a polite refusal."""

from __future__ import annotations

import asyncio
import logging

from bot.context import Ctx
from bot.events import TextMessage
from bot.router import Router
from bot.routing import report_names
from handlers.qa import store as queries
from handlers.qa.answers import ANSWERS, Ask
from nlp.intent import Question, parse_question
from storage.models import Employee

log = logging.getLogger(__name__)
router = Router("qa")

ONLY_SELF = "抱歉，我只能告诉你自己的情况；主管可以查询直属下属的情况。如需了解其他同事，请直接和对方或 TA 的主管沟通。"
NOT_A_REPORT = "抱歉，{name}不是你的直属下属，我不能提供 TA 的信息。你可以查询自己或直属下属的情况。"


def resolve_subject(ctx: Ctx, text: str, subject_name: str | None) -> tuple[Employee | None, str | None]:
    """(who the question is about, None) or (None, refusal text)."""
    me = ctx.employee
    if subject_name and subject_name != me.name:
        report = queries.report_named(ctx.db, me.id, subject_name)
        if report is not None:
            return report, None
    # People the asker may mention without asking about them: themselves, their manager and HRBP.
    exempt = {me.id, me.manager_id, me.hrbp_id}
    others = [e for e in queries.employees_named_in(ctx.db, text) if e.id not in exempt]
    if others:
        mine = [e for e in others if e.manager_id == me.id]
        if mine and len(mine) == len(others):
            return mine[0], None
        stranger = next(e for e in others if e.manager_id != me.id)
        log.info("qa: %s asked about %s, who is not a direct report; refused", me.id, stranger.id)
        return None, NOT_A_REPORT.format(name=stranger.name) if me.role in ("manager", "hr", "admin") else ONLY_SELF
    return me, None


async def answer(ctx: Ctx, msg: TextMessage, intent: str, question: Question | None = None) -> None:
    """Answer ``intent`` about the asker or the report they named. ``question`` is the one the
    dispatcher already parsed; entry points that did not come through the classifier (the menu's
    quick asks, 「我的积分」) leave it out and it is parsed here."""
    today = ctx.local_now().date()
    q = question or parse_question(msg.text, today, known_names=report_names(ctx))
    subject, refusal = resolve_subject(ctx, msg.text, q.subject_name)
    if subject is None:
        await ctx.reply(refusal or ONLY_SELF)
        return
    ask = Ask(ctx.db, subject, q.period, today, ctx.services.tz, subject.id == ctx.employee.id, ctx.settings.policy)
    await ctx.reply(await asyncio.to_thread(ANSWERS[intent], ask))


# 我的积分: the exact phrase always works (also mid-flow), answered by the one points answer.
@router.command("我的积分", "积分", "查积分", escapes=("我的积分",))
async def on_points(ctx: Ctx, msg: TextMessage) -> None:
    await answer(ctx, msg, "points")


def _register(intent: str) -> None:
    async def handler(ctx: Ctx, msg: TextMessage, question: Question) -> None:
        await answer(ctx, msg, intent, question)

    handler.__name__ = f"on_{intent}"
    router.intent(intent)(handler)


for _intent in ANSWERS:
    _register(_intent)
