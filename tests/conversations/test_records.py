"""Issue 13, item 13: the goal audit trail can be read (CLI and chat), by the right people only."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from tests.conftest import REPO, texts

REQ = "申请把新客户签约数从24调到23，原因：仁和医院招标推迟到明年"


async def _approved(chat) -> None:
    await chat.say(REQ, as_="E103")
    await chat.press("E100", 1)  # 批准 (≤ 5%: the direct manager)


async def test_requester_manager_and_hr_read_the_adjustment_history(chat) -> None:
    assert "还没有调整申请" in texts(await chat.say("新客户签约数的调整记录", as_="E103"))
    await _approved(chat)
    mine = texts(await chat.say("新客户签约数的调整记录", as_="E103"))
    assert "「新客户签约数」（刘洋）的调整记录" in mine
    assert "24 → 23 家，原因：仁和医院招标推迟到明年；已批准 ✅（王磊，11月24日）" in mine
    assert "24 → 23 家" in texts(await chat.say("刘洋的新客户签约数调整记录", as_="E100"))
    assert "24 → 23 家" in texts(await chat.say("刘洋的新客户签约数调整记录", as_="E002"))
    out = texts(await chat.say("刘洋的新客户签约数调整记录", as_="E101"))
    assert "24 → 23" not in out and "只对目标负责人" in out


def run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


async def test_report_audit_command(chat, sqlite_url) -> None:
    await _approved(chat)
    env = {**os.environ, "PERFBOT_STORAGE_URL": sqlite_url}
    cmd = [sys.executable, "-m", "bot", "--config", str(REPO / "config.example.toml"), "report", "audit"]
    out = await asyncio.to_thread(run, [*cmd, "--goal", "G-E103", "--json"], env)
    assert out.returncode == 0, out.stderr
    [entry] = json.loads(out.stdout)["entries"]
    assert (entry["goal_id"], entry["field"], entry["old"], entry["new"], entry["actor_id"]) == (
        "G-E103", "target", "24", "23", "E100")
    assert entry["reason"] == "仁和医院招标推迟到明年" and entry["at"].startswith("2026-11-24T10:00")
    out = await asyncio.to_thread(run, cmd, env)
    assert out.returncode == 0 and "G-E103 新客户签约数  目标值 24 → 23  批准人 王磊" in out.stdout
    out = await asyncio.to_thread(run, [*cmd, "--goal", "G-E101"], env)
    assert out.returncode == 0 and "目标 G-E101 没有调整记录" in out.stdout
