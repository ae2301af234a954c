"""The CLI as an operator uses it: real subprocesses on a temporary SQLite config."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys

import aiohttp

from tests.conftest import REPO


def _config(tmp_path, port: int = 0) -> str:
    p = tmp_path / "perfbot.toml"
    p.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n[server]\nport = {port or 8080}\n',
                 encoding="utf-8")
    return str(p)


def run(args, cfg, stdin=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    return subprocess.run([sys.executable, "-m", "bot", "--config", cfg, *args], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_then_chat_answers_help_with_a_card(tmp_path):
    cfg = _config(tmp_path)
    r = run(["demo", "--no-chat"], cfg)
    assert r.returncode == 0, r.stderr
    assert "26 名员工" in r.stdout
    r = run(["chat", "--as", "E101"], cfg, stdin="帮助\n/1\n/as E100\n/as E101\n/quit\n")
    assert r.returncode == 0, r.stderr
    assert "你现在是 张伟（E101" in r.stdout
    assert "卡片 #1" in r.stdout and "[1] 我的任务" in r.stdout
    assert r.stdout.count("绩效助手 · 帮助") == 1  # shown live once, not again after switching back


def test_chat_as_unknown_employee_explains(tmp_path):
    cfg = _config(tmp_path)
    r = run(["chat", "--as", "NOPE"], cfg, stdin="/quit\n")
    assert "找不到员工 NOPE" in r.stderr


def test_import_reports_bad_rows_and_exits_1(tmp_path):
    cfg = _config(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "employees.csv").write_text(
        "employee_id,name,department,manager_id,role,hrbp_id,wecom_userid,dingtalk_userid,"
        "weekly_capacity_hours,email\nE1,甲,,,employee,,,,40,\nE2,乙,,,chief,,,,40,\n", encoding="utf-8")
    r = run(["import", str(folder)], cfg)
    assert r.returncode == 1
    assert "employees: 1" in r.stdout and "employees.csv:3: role: 'chief'" in r.stdout


def test_demo_export_round_trips_through_import(tmp_path):
    cfg = _config(tmp_path)
    out = tmp_path / "export"
    assert run(["demo", "--no-chat", "--export", str(out)], cfg).returncode == 0
    r = run(["import", str(out)], cfg)
    assert r.returncode == 0, r.stdout
    assert "employees: 26" in r.stdout and "rejected" not in r.stdout


async def test_serve_healthz_and_clean_sigterm(tmp_path):
    port = free_port()
    cfg = _config(tmp_path, port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", cfg, "serve", cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        body = None
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        body = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        assert body is not None and body["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    log = err.decode()
    assert "WeCom channel off: [wecom] corp_id, agent_id, secret, token, encoding_aes_key not set" in log
    assert "DingTalk channel off" in log and "shutting down" in log


def test_unreachable_database_is_one_line_without_the_password(tmp_path):
    cfg = tmp_path / "down.toml"
    port = free_port()  # nothing listens there
    cfg.write_text(f'[storage]\nurl = "postgresql+psycopg://perfbot:hunter2secret@127.0.0.1:{port}/perfbot"\n',
                   encoding="utf-8")
    r = run(["outbox", "stats"], str(cfg))
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if " INFO " not in line and line.strip()]
    assert len(lines) == 1 and "cannot reach the database at" in lines[0] and f":{port}/perfbot" in lines[0]
    assert "Traceback" not in r.stderr
    assert "hunter2secret" not in r.stderr + r.stdout
