"""帮助 / menu: what the bot can do, and the fallback for messages it does not understand."""

from __future__ import annotations

from bot.context import Ctx
from bot.events import CardAction, TextMessage
from bot.router import Router
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
    await ctx.reply_card(help_card(ctx.employee.role), subject=f"help:{ctx.employee.id}")


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


CARE_RISK = ("辛苦了，谢谢你愿意说出来。我已经记下，会提醒你的主管（以及 HRBP）以关怀的方式跟进，"
             "你的原话只有他们能看到。也可以直接约 HRBP 聊聊。")
CARE_LOW = "听起来最近不太顺，辛苦了。可以在周复盘的「主要障碍」里写下来，主管会看到并跟进。"


@router.fallback
async def fallback(ctx: Ctx, msg: TextMessage) -> None:
    """Not a command or a question: read it anyway (people vent to bots), answer with care if it
    carries risk signals or distress, else say what the bot can do."""
    row = await risk.record_reply(ctx.services, ctx.employee.id, msg.text, "chat", f"chat:{ctx.event.key}")
    if row is not None and row.risks:
        await ctx.reply(CARE_RISK)
    elif row is not None and row.sentiment == "neg":
        await ctx.reply(CARE_LOW)
    else:
        await ctx.reply(FALLBACK)
