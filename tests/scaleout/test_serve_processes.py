"""``serve --processes N``: several serving processes on one port under a supervisor (bot/supervisor.py),
sharing one PostgreSQL database, with the WeCom emulator as the platform.

1. Both processes answer on the one port (the kernel spreads connections: SO_REUSEPORT), and a burst
   of encrypted callbacks to that port gets every user exactly one reply. DingTalk's Stream is opened
   by the first process only (one client per app), and a DingTalk message is answered once.
2. A serving process that dies (SIGKILL) is started again by the supervisor; callbacks after that
   still get exactly one reply each.
3. SIGTERM to the supervisor stops every process cleanly (exit code 0, the children gone).
4. SQLite refuses several processes with a clear error, before anything starts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bot.config import load_settings
from bot.demo import seed_demo
from storage.db import open_database
from storage.models import Employee
from tests.conftest import REPO, truncate_pg
from tests.emulators.dingtalk import DingTalkEmulator
from tests.emulators.wecom import WeComEmulator
from tests.emulators.wecom_driver import CallbackDriver
from tests.scaleout.test_two_processes import add_employees, free_port, statuses, until, write_config
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN

USERS = 30


async def pids_answering(port: int, tries: int = 200) -> set[int]:
    """The processes that answer /healthz on ``port``, over up to ``tries`` fresh connections."""
    seen: set[int] = set()
    for _ in range(tries):
        connector = aiohttp.TCPConnector(force_close=True)
        try:
            async with aiohttp.ClientSession(connector=connector) as http, \
                    http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                body = await resp.json()
                if body.get("ready"):
                    seen.add(int(body["pid"]))
        except aiohttp.ClientError:
            pass
        if len(seen) >= 2:
            break
        await asyncio.sleep(0.02)
    return seen


def children_of(pid: int) -> set[int]:
    """Live child processes of ``pid`` (Linux /proc)."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(entry))
    return out


async def test_several_processes_share_one_port_and_one_postgresql(pg_database, tmp_path: Path) -> None:
    url = pg_database
    truncate_pg(url)
    db = open_database(url)
    settings = load_settings(REPO / "config.example.toml", env={})
    settings.storage.url = url
    seed_demo(db, settings)
    users = add_employees(db, "P", USERS)
    emulator = WeComEmulator(corp_id=CORP_ID)
    with db.session() as s:
        emulator.users = {u for u in s.execute(select(Employee.wecom_userid)).scalars() if u}
    api_base = await emulator.start()
    ding = await DingTalkEmulator().start()
    port = free_port()
    config = tmp_path / "serve.toml"
    write_config(config, url, api_base, port)
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[dingtalk]\nclient_id = "{ding.client_id}"\nclient_secret = "{ding.client_secret}"\n'
                 f'openapi_base = "{ding.base}"\noapi_base = "{ding.base}"\n')
    log_path = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    env["PYTHONPATH"] = str(REPO)
    with log_path.open("wb") as log_file:
        sup = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config), "--log-level", "INFO", "serve", "--processes", "2",
            cwd=str(tmp_path), env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file)

        def log() -> str:
            return log_path.read_text(encoding="utf-8", errors="replace")

        driver = CallbackDriver(f"http://127.0.0.1:{port}/wecom/callback", emulator, TOKEN, AES_KEY,
                                now=lambda: datetime.now(UTC).timestamp())
        try:
            # -- 1. two processes on one port; a burst there gets one reply per user --------------
            await until(lambda: len(children_of(sup.pid)) == 2, "two serving processes", 30,
                        state=lambda: log()[-2000:])
            first = children_of(sup.pid)
            seen: set[int] = set()

            async def both_answer() -> bool:
                seen.update(await pids_answering(port, 20))
                return seen == first

            for _ in range(60):
                if await both_answer():
                    break
                await asyncio.sleep(0.5)
            assert seen == first, (seen, first, log()[-3000:])
            half = users[: USERS // 2]
            codes = await asyncio.gather(*(driver.post_signed(driver.sign(driver.text_xml(u, "帮助"))) for u in half))
            assert set(codes) == {200}
            await until(lambda: statuses(db, "wecom:msg:") == {"sent": len(half)}, "one reply per user", 60,
                        state=lambda: statuses(db, "wecom:msg:"))
            assert all([s.text for s in emulator.seen[u]] == ["绩效助手 · 帮助"] for u in half)
            await asyncio.sleep(1.0)  # time for a second Stream client to show up, if one were opened
            assert len(ding.live()) == 1 and len(ding.connections) == 1, ding.connections
            assert (await ding.acked(await ding.say("dt_e101", "帮助")))["code"] == 200
            await until(lambda: ding.api.card_of("dt_e101") is not None, "the DingTalk help card", 30)

            # -- 2. a process that dies is started again ------------------------------------------
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            await until(lambda: len(children_of(sup.pid) - {victim}) == 2, "a replacement process", 30,
                        state=lambda: log()[-2000:])
            replacement = (children_of(sup.pid) - first).pop()
            seen.clear()
            for _ in range(60):
                seen.update(await pids_answering(port, 20))
                if replacement in seen:
                    break
                await asyncio.sleep(0.5)
            assert replacement in seen and victim not in seen, (seen, victim, replacement)
            assert f"(pid {victim}) exited with -9" in log()
            rest = users[USERS // 2:]
            codes = await asyncio.gather(*(driver.post_signed(driver.sign(driver.text_xml(u, "帮助"))) for u in rest))
            assert set(codes) == {200}
            await until(lambda: statuses(db, "wecom:msg:") == {"sent": USERS}, "one reply per user", 60,
                        state=lambda: statuses(db, "wecom:msg:"))
            assert all([s.text for s in emulator.seen[u]] == ["绩效助手 · 帮助"] for u in users)
            assert not emulator.duplicates
            assert [x.kind for x in ding.api.seen["dt_e101"]] == ["card"]  # answered once
            await until(lambda: len(ding.live()) == 1, "one DingTalk Stream client", 30,
                        state=lambda: ding.connections)

            # -- 3. SIGTERM stops everything cleanly ----------------------------------------------
            children = children_of(sup.pid)
            sup.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(sup.wait(), 90) == 0, log()[-3000:]
            assert len(children) == 2 and not any(_alive(c) for c in children)
            assert "exit codes [0, 0]" in log() and "Traceback" not in log()
        finally:
            if sup.returncode is None:
                sup.kill()
                await sup.wait()
            await driver.close()
            await emulator.stop()
            await ding.stop()
            db.dispose()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sqlite_refuses_several_processes(tmp_path: Path) -> None:
    import subprocess

    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "serve", *args], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)

    config = tmp_path / "one.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n', encoding="utf-8")
    done = serve("--processes", "2")
    assert done.returncode == 2 and "server.processes" in done.stderr and "PostgreSQL" in done.stderr
    assert not (tmp_path / "bot.db").exists()  # refused before anything opened the database
    config.write_text(f'[server]\nprocesses = 3\n\n[storage]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n',
                      encoding="utf-8")
    done = serve()
    assert done.returncode == 2 and "server.processes" in done.stderr
    assert serve("--processes", "0").returncode == 2
