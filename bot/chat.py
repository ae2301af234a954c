"""Interactive terminal chat (``python -m bot chat --as E001``)."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import datetime

from bot.app import PerfBot
from bot.channels.terminal import Shown, TerminalChannel
from bot.clock import OffsetClock
from scheduler.runs import run_job
from storage import employees

WEEKDAYS = "一二三四五六日"
CHAT_HELP = """终端命令：
  /as 员工编号        切换身份（如 /as E002），/who 查看当前身份
  /1 /2 …            按下最新卡片的第 N 个按钮；/press 卡片号 按钮号
  /tags 卡片号 1,3    在卡片上勾选第 1、3 个标签
  /time              查看当前时钟；/time 2026-11-27T16:00 把时钟拨到某个时刻
  /advance 24h       时钟前进 24 小时（或 30m、2d）
  /jobs              列出定时任务；/run 任务名  以当前时钟运行一次
  /quit              退出
其余输入都会作为消息发给绩效助手，例如「帮助」。"""


def _print(recipient: str, shown: Shown, current: list[str]) -> bool:
    """Print messages for the current identity; others wait until you switch to them (/as)."""
    if recipient != current[0]:
        return False
    print(f"\n🤖 {shown.text}\n", flush=True)
    return True


def _parse_duration(s: str) -> dict[str, float] | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([mhd])", s.strip())
    if not m:
        return None
    unit = {"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
    return {unit: float(m.group(1))}


class ChatSession:
    def __init__(self, bot: PerfBot, terminal: TerminalChannel, clock: OffsetClock, who: str) -> None:
        self.bot, self.terminal, self.clock = bot, terminal, clock
        self.current = [who]

    def _name(self, emp_id: str) -> str | None:
        emp = employees.get(self.bot.db, emp_id)
        return f"{emp.name}（{emp.id}，{emp.role}）" if emp else None

    def _clock_line(self) -> str:
        now = self.bot.services.local_now()
        return f"当前时间：{now:%Y-%m-%d} 周{WEEKDAYS[now.weekday()]} {now:%H:%M}（{self.bot.services.tz.key}）"

    async def handle(self, line: str) -> bool:
        """Handle one input line; False to quit."""
        line = line.strip()
        if not line:
            return True
        t, me = self.terminal, self.current[0]
        try:
            if line in ("/quit", "/exit", "/q"):
                return False
            if line == "/help":
                print(CHAT_HELP)
            elif line == "/who":
                print(f"当前身份：{self._name(me)}；时钟：{self.bot.services.local_now():%Y-%m-%d %H:%M %Z}")
            elif line.startswith("/as "):
                who = line[4:].strip()
                name = self._name(who)
                if name is None:
                    print(f"找不到员工 {who}")
                else:
                    self.current[0] = who
                    print(f"已切换为 {name}")
                    for shown in t.take(who):
                        print(f"\n🤖（离线消息）{shown.text}\n")
            elif line == "/time":
                print(self._clock_line())
            elif line.startswith("/time "):
                when = datetime.fromisoformat(line[6:].strip())
                if when.tzinfo is None:
                    when = when.replace(tzinfo=self.bot.services.tz)
                self.clock.set(when)
                print(f"时钟已设为 {self.bot.services.local_now():%Y-%m-%d %H:%M %Z}")
            elif line.startswith("/advance "):
                d = _parse_duration(line[9:])
                if d is None:
                    print("用法：/advance 24h（单位 m/h/d）")
                else:
                    self.clock.advance(**d)
                    print(f"时钟已前进到 {self.bot.services.local_now():%Y-%m-%d %H:%M %Z}")
            elif line == "/jobs":
                for spec in self.bot.services.jobs.values():
                    print(f"  {spec.name:18} {spec.cron_expr(self.bot.services) or '-':16} {spec.description}")
            elif line.startswith("/run "):
                name = line[5:].strip()
                detail = await run_job(self.bot.services, name, self.bot.services.now())
                print(f"任务 {name} 已运行：{detail or '完成'}")
            elif line.startswith("/tags "):
                parts = line[6:].split()
                nums = [int(x) for x in re.split(r"[,，\s]+", parts[1]) if x]
                ids = t.select_tags(int(parts[0]), nums)
                print(f"已勾选：{', '.join(ids) or '无'}；再按提交按钮即可")
            elif line.startswith("/press "):
                card_no, btn = (int(x) for x in line[7:].split()[:2])
                await self.bot.dispatcher.submit(t.press_event(me, card_no, btn), wait=True)
            elif re.fullmatch(r"/\d+", line):
                card_no = t.latest_card(me)
                if card_no is None:
                    print("当前没有可以操作的卡片")
                else:
                    await self.bot.dispatcher.submit(t.press_event(me, card_no, int(line[1:])), wait=True)
            elif line.startswith("/"):
                print("未知命令，输入 /help 查看终端命令")
            else:
                await self.bot.dispatcher.submit(t.text_event(me, line), wait=True)
        except (LookupError, ValueError, IndexError) as exc:
            print(f"⚠️ {exc}")
        await self.bot.drain()
        return True


async def run_chat(bot: PerfBot, terminal: TerminalChannel, clock: OffsetClock, who: str,
                   greeting: str = "") -> None:
    session = ChatSession(bot, terminal, clock, who)
    terminal.printer = lambda r, s: _print(r, s, session.current)
    name = session._name(who)
    if name is None:
        print(f"找不到员工 {who}。先运行 `python -m bot demo` 或 `python -m bot import PATH`。", file=sys.stderr)
        return
    await bot.start(workers=False)
    print(greeting + f"你现在是 {name}。输入「帮助」开始，/help 查看终端命令，/quit 退出。")
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                line = await loop.run_in_executor(None, input, f"{session.current[0]}> ")
            except EOFError:
                break
            if not await session.handle(line):
                break
    finally:
        await bot.stop()
