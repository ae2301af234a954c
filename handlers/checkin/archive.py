"""Growth archive: 「导出我的周复盘」 sends the employee their check-in history as a Markdown file."""

from __future__ import annotations

from bot.context import Ctx
from bot.events import TextMessage
from bot.router import Router
from handlers.checkin import store
from handlers.common.calendar import local

router = Router("archive")
STATUS = {"submitted": "已提交", "skipped": "已跳过（休假）", "pending": "未填写", "answering": "填写中"}


def render(ctx: Ctx) -> tuple[str, int]:
    emp, tz = ctx.employee, ctx.services.tz
    rows = store.history(ctx.db, emp.id)
    out = [f"# {emp.name} 的周复盘成长档案", "", f"导出时间：{local(ctx.now(), tz)}（{tz.key}）", ""]
    for ci, feedback in rows:
        out.append(f"## {ci.week} · {STATUS.get(ci.status, ci.status)}")
        if ci.submitted_at:
            out.append(f"提交：{local(ci.submitted_at, tz)}" + (f"，修改：{local(ci.revised_at, tz)}" if ci.revised_at else ""))
        for label, value in (("本周最重要成果", ci.achievement), ("主要障碍", ci.obstacle), ("下周关键行动", ci.next_action)):
            if value:
                out.append(f"- **{label}**：{value}")
        for fb in feedback:
            author = store.employee(ctx.db, fb.author_id)
            out.append(f"- **主管反馈**（{getattr(author, 'name', fb.author_id)}，{local(fb.created_at, tz)}）：{fb.text}")
        out.append("")
    return "\n".join(out), len(rows)


@router.command("导出我的周复盘", "导出周复盘", "我的成长档案", "成长档案", "导出复盘", escapes=("导出我的周复盘",))
async def on_export(ctx: Ctx, msg: TextMessage) -> None:
    text, n = render(ctx)
    if n == 0:
        await ctx.reply("你还没有周复盘记录，填写后就可以导出啦。")
        return
    filename = f"周复盘-{ctx.employee.name}-{ctx.local_now():%Y%m%d}.md"
    await ctx.reply_file(text.encode("utf-8"), filename)
    await ctx.reply(f"已导出 {n} 周的周复盘和主管反馈（Markdown 文件），可直接用于年度述职。")
