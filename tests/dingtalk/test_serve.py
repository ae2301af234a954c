"""`python -m bot serve` with [wecom] and [dingtalk] configured runs both channels in one process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import aiohttp

from bot.demo import seed_demo
from storage.db import open_database
from tests.conftest import DEMO_TODAY, REPO, make_settings
from tests.emulators.dingtalk import until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_runs_wecom_and_dingtalk_side_by_side(emu, sqlite_url, tmp_path):
    db = open_database(sqlite_url)
    seed_demo(db, make_settings(sqlite_url), today=DEMO_TODAY)
    db.dispose()
    port = free_port()
    config = tmp_path / "perfbot.toml"
    config.write_text(
        f'[server]\nport = {port}\n\n[storage]\nurl = "{sqlite_url}"\n\n'
        '[wecom]\ncorp_id = "wwcorp"\nagent_id = 1000002\nsecret = "s"\ntoken = "t"\n'
        f'encoding_aes_key = "{"a" * 43}"\napi_base = "{emu.base}/wecom-unused"\n\n'
        f'[dingtalk]\nclient_id = "{emu.client_id}"\nclient_secret = "{emu.client_secret}"\n'
        f'openapi_base = "{emu.base}"\noapi_base = "{emu.base}"\n', encoding="utf-8")  # every host local
    with open(tmp_path / "serve.log", "wb") as log:  # noqa: ASYNC230 - a log file for the subprocess
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config), "serve", cwd=str(REPO), stdout=log,
            stderr=log, env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            await until(lambda: emu.live(), limit=60, what="the served bot to open the stream")
            await emu.acked(await emu.say("dt_e101", "帮助"))
            await until(lambda: emu.api.card_of("dt_e101") is not None, what="the help card")
            async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/healthz") as r:
                health = await r.json()
            assert set(health["channels"]) == {"wecom", "dingtalk"}
            assert health["channels"]["dingtalk"]["connected"] is True
        finally:
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
