"""HR report: median and p90 decision time per approver and overall (function and CLI)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from handlers.adjust.report import adjustment_report, percentile
from tests.conftest import REPO

REQ = "申请把{goal}从{old}调到{new}，原因：客户采购预算冻结到明年"


async def _decide(chat, who: str, old: int, new: int, approver: str, button: int, wait_h: float):
    await chat.say(REQ.format(goal="新客户签约数", old=old, new=new), as_=who)
    if approver == "E090":  # above 5%: the manager approves first, the director's time starts then
        await chat.press("E100", 1)
    chat.clock.advance(hours=wait_h)
    await chat.press(approver, button)
    if button == 2:
        await chat.say("本季度先保持原目标", as_=approver)


async def _history(chat) -> None:
    await _decide(chat, "E103", 24, 23, "E100", 1, 1)  # 王磊 1 h
    await _decide(chat, "E104", 24, 23, "E100", 2, 3)  # 王磊 3 h (rejected)
    await _decide(chat, "E105", 18, 17, "E090", 1, 10)  # 陈刚 10 h
    await chat.say(REQ.format(goal="新客户签约数", old=18, new=17), as_="E101")  # still pending


def test_percentile_interpolates():
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 3.0, 10.0], 0.5) == 3.0
    assert abs(percentile([1.0, 3.0, 10.0], 0.9) - 8.6) < 1e-9


async def test_report_per_approver_and_overall(chat):
    await _history(chat)
    r = adjustment_report(chat.bot.db)
    o = r["overall"]
    assert (o["requests"], o["decided"], o["pending"], o["approved"], o["rejected"]) == (4, 3, 1, 2, 1)
    assert (o["median_hours"], o["p90_hours"]) == (3.0, 8.6)
    by = {a["approver_id"]: a for a in r["approvers"]}
    assert (by["E100"]["decided"], by["E100"]["median_hours"], by["E100"]["p90_hours"]) == (2, 2.0, 2.8)
    assert (by["E100"]["approved"], by["E100"]["rejected"]) == (1, 1)
    assert (by["E090"]["median_hours"], by["E090"]["p90_hours"], by["E090"]["name"]) == (10.0, 10.0, "陈刚")
    assert "整体：中位数 3.0 小时，P90 8.6 小时" in r["text"]
    assert "王磊（E100）：2 条，中位数 2.0 小时" in r["text"]


async def test_escalated_decision_time_counts_from_the_escalation_for_the_director(chat):
    await chat.say(REQ.format(goal="新客户签约数", old=24, new=23), as_="E103")
    chat.clock.advance(hours=24)
    await chat.run_job("adjust_escalation")
    chat.clock.advance(minutes=30)
    await chat.press("E090", 1)
    r = adjustment_report(chat.bot.db)
    assert r["overall"]["median_hours"] == 24.5
    assert r["approvers"][0]["median_hours"] == 0.5 and "30 分钟" in r["text"]


def run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


async def test_report_command(chat, sqlite_url):
    await _history(chat)
    env = {**os.environ, "PERFBOT_STORAGE_URL": sqlite_url}
    cmd = [sys.executable, "-m", "bot", "--config", str(REPO / "config.example.toml"), "report", "adjustments"]
    out = await asyncio.to_thread(run, [*cmd, "--json"], env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["overall"]["median_hours"] == 3.0 and data["overall"]["p90_hours"] == 8.6
    assert {a["approver_id"] for a in data["approvers"]} == {"E100", "E090"}
    out = await asyncio.to_thread(run, cmd, env)
    assert out.returncode == 0 and "整体：中位数 3.0 小时，P90 8.6 小时" in out.stdout


async def test_report_with_no_requests(chat):
    r = adjustment_report(chat.bot.db)
    assert r["overall"]["decided"] == 0 and r["overall"]["median_hours"] is None
    assert "暂无已决定的申请" in r["text"]
