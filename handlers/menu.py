"""帮助 / menu: what the bot can do, and the fallback for messages it does not understand."""

from __future__ import annotations

import re

from bot.context import Ctx
from bot.events import CardAction, TextMessage
from bot.router import Router, normalise
from cards.model import Button, Card
from cards.payload import Action, pack
from handlers import qa, risk

router = Router("menu")

HELP_TEXT = (
    "我是绩效助手，可以帮你：\n"
    "· 每周五填写周复盘（本周成果 / 主要障碍 / 下周行动）\n"
    "· 客户拜访后 1 分钟反馈（选标签 + 一句话观察），赚积分\n"
    "· 查询：「本月还有哪些任务没完成」「我的KPI进度」「上次反馈提到的改进建议」\n"
    "· 「我的工作对齐哪个公司目标」「我的积分」「这周周报交了吗」\n"
    "· 申请调整目标：「申请把XX目标从20调到18，原因：…」\n"
    "· 「导出我的周复盘」获取成长档案"
)
MANAGER_TEXT = "\n作为主管，你还可以问「张三本月还有哪些任务」，并直接在卡片上审批目标调整。"
FALLBACK = "抱歉，我没太明白。你可以问我「本月还有哪些任务没完成」「我的KPI进度」「我的积分」，或发送「帮助」查看全部功能。"

QUICK_ASKS = (
    ("我的任务", "tasks_left", "本月还有哪些任务没完成"),
    ("KPI 进度", "goal_progress", "我的KPI进度"),
    ("我的积分", "points", "我的积分"),
)


def help_card(role: str) -> Card:
    return Card(
        title="绩效助手 · 帮助",
        body=HELP_TEXT + (MANAGER_TEXT if role in ("manager", "hr", "admin") else ""),
        buttons=[Button(label, pack("menu", "ask", intent), "default") for label, intent, _ in QUICK_ASKS],
        footer="随时发送「帮助」再次打开本菜单。",
    )


@router.command("帮助", "help", "/help", "菜单", "?", "？", "你能做什么", "你能干什么", interrupts=True,
                escapes=("帮助",))
async def on_help(ctx: Ctx, msg: TextMessage) -> None:
    # The same card for everyone of a role, never updated: many people asking at once get it in one call.
    await ctx.reply_card(help_card(ctx.employee.role), subject=f"help:{ctx.employee.id}", shared=True)


@router.command("取消", "退出", "cancel", interrupts=True)
async def on_cancel(ctx: Ctx, msg: TextMessage) -> None:
    if ctx.conversation() is None:
        await ctx.reply("当前没有进行中的操作。")
        return
    ctx.end_flow()
    await ctx.reply("好的，已取消当前操作。已填写的内容会保留，随时可以继续。")


@router.action("menu", "ask", args=(str,))
async def on_menu_action(ctx: Ctx, event: CardAction, action: Action, intent: str) -> None:
    """A quick-ask button: answered by the Q&A feature as if the question had been typed."""
    question = {i: q for _, i, q in QUICK_ASKS}.get(intent)
    if question is None:
        await ctx.reply(FALLBACK)
        return
    await qa.answer(ctx, TextMessage(channel=event.channel, sender=event.sender, key=event.key, text=question), intent)


@router.intent("help")
async def on_help_intent(ctx: Ctx, msg: TextMessage, question: object) -> None:
    await on_help(ctx, msg)


CARE_FLAGGED = ("辛苦了，谢谢你愿意说出来。我已请{who}以关怀的方式和你聊聊，你的原话只有{who}和 HR 能看到。"
                "也可以直接约 HRBP 聊聊。")
CARE_NOTED = "辛苦了，谢谢你愿意说出来，我已经记下了。想聊聊的话，可以直接找{who}。"
CARE_LOW = "听起来最近不太顺，辛苦了。可以在周复盘的「主要障碍」里写下来，主管会看到并跟进。"
THANKS_REPLY = "不客气😊 有需要随时找我。"
ACK_REPLY = "好的👌 有需要随时找我，发送「帮助」查看我能做什么。"

_THANKS = re.compile(r"^(谢谢|多谢|感谢|谢啦|谢了|辛苦了|thx|thanks|thank you|🙏)+(你|您|啦|了|哈|呀)*$")
_ACK = re.compile(r"^(好的?|好滴|好嘞|ok|okay|嗯+|哦+|噢+|收到|了解|明白|知道了|懂了|就这样|行|可以|没问题|"
                  r"[👍👌🙏😊🙂✌️✅💪]+)+(啦|了|哈|呀|的)*$")
_QUESTION = re.compile(r"[?？]|吗|呢|么|多少|几[个项天分家次人]|哪|什么|啥|怎么|如何|是否|有没有|能不能|可不可以|谁")


def small_talk(text: str) -> str | None:
    """The reply to thanks or a short acknowledgement (never read as distress), else None."""
    t = normalise(text).replace(" ", "")
    if _THANKS.match(t):
        return THANKS_REPLY
    if _ACK.match(t):
        return ACK_REPLY
    return None


def is_question(text: str) -> bool:
    return _QUESTION.search(text) is not None


def _care_who(ctx: Ctx, ids: list[tuple[str, str | None]]) -> str:
    """「主管王磊或 HRBP 吴婷」 for [("主管", "E100"), ("HRBP", "E003")]."""
    names = [f"{role}{e.name}" if role != "HRBP" else f"HRBP {e.name}"
             for role, i in ids if i and (e := ctx.services.employee(i)) is not None]
    return " 或 ".join(names) if names else "HR"


@router.fallback
async def fallback(ctx: Ctx, msg: TextMessage) -> None:
    """Not a command or a question the bot knows: thanks and acknowledgements get a short reply;
    anything else is read anyway (people vent to bots). A question is never consoled, and the reply
    promises only what really happens (a care card goes out only when a risk flag was raised)."""
    reply = small_talk(msg.text)
    if reply is not None:
        await ctx.reply(reply)
        return
    raised: list = []
    row = await risk.record_reply(ctx.services, ctx.employee.id, msg.text, "chat", f"chat:{ctx.event.key}", raised)
    me = ctx.employee
    if raised:
        await ctx.reply(CARE_FLAGGED.format(
            who=_care_who(ctx, [("主管", me.manager_id)] if me.manager_id else [("HRBP", me.hrbp_id)])))
    elif row is not None and row.risks:
        await ctx.reply(CARE_NOTED.format(who=_care_who(ctx, [("主管", me.manager_id), ("HRBP", me.hrbp_id)])))
    elif row is not None and row.sentiment == "neg" and not is_question(msg.text):
        await ctx.reply(CARE_LOW)
    else:
        await ctx.reply(FALLBACK)
