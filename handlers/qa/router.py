"""Answers from the store: 本月还有哪些任务没完成 / 上次反馈 / KPI 进度 / 对齐哪个公司目标 / 积分 /
周报交了吗. Everyone asks about themselves; managers may also ask about their direct reports
(「张伟本月还有哪些任务」). Asking about anyone else gets a polite refusal."""

from __future__ import annotations

import logging

from bot.context import Ctx
from bot.events import TextMessage
from bot.router import Router
from bot.routing import report_names
from handlers.qa import people, team
from handlers.qa.answers import ANSWERS, Ask
from nlp.intent import Question, parse_question

log = logging.getLogger(__name__)
router = Router("qa")

ONLY_SELF = people.ONLY_SELF


async def answer(ctx: Ctx, msg: TextMessage, intent: str, question: Question | None = None) -> None:
    """Answer ``intent`` about the asker or the report they named. ``question`` is the one the
    dispatcher already parsed; entry points that did not come through the classifier (the menu's
    quick asks, 「我的积分」) leave it out and it is parsed here."""
    today = ctx.local_now().date()
    q = question or parse_question(msg.text, today, known_names=report_names(ctx))
    found = people.resolve(ctx.db, ctx.employee, msg.text)
    subject, refusal = found.employee, found.reply
    if found.supported is not None and intent in team.TEAM_INTENTS:  # an HRBP: status of the people they support
        await ctx.reply(await ctx.services.compute(team.hrbp_status, ctx.db, found.supported, intent, q.period,
                                                   today, msg.text))
        return
    if subject is ctx.employee and intent in team.TEAM_INTENTS and team.is_team_question(msg.text):
        await ctx.reply(await ctx.services.compute(team.answer_team, ctx.db, ctx.employee, intent, q.period,
                                                   today, msg.text))
        return
    if subject is None:
        await ctx.reply(refusal or ONLY_SELF)
        return
    ask = Ask(ctx.db, subject, q.period, today, ctx.services.tz, subject.id == ctx.employee.id, ctx.settings.policy,
              msg.text)
    await ctx.reply(await ctx.services.compute(ANSWERS[intent], ask))


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


@router.intent("adjust_status")
async def on_adjust_status(ctx: Ctx, msg: TextMessage, question: Question) -> None:
    from handlers.adjust.audit import answer_history, wants_history
    from handlers.adjust.status import answer_status

    if wants_history(msg.text):
        await ctx.reply(await ctx.services.compute(answer_history, ctx.db, ctx.employee, msg.text, ctx.services.tz))
        return
    await ctx.reply(await ctx.services.compute(answer_status, ctx.db, ctx.employee, ctx.services.tz))
