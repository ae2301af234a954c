"""A day-long outage: retries span it, then messages are parked with a reason, admins get one notice,
``python -m bot outbox retry`` sends them again, and no credential shows anywhere on the way."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage import outbox as ob
from tests.conftest import REPO
from tests.reliability.conftest import INGEST_TOKEN, REPS
from tests.wecom.conftest import AES_KEY, TOKEN, WeComRig

DAY = 24 * 3600


def cli(rig: WeComRig, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "ops.toml"
    w = rig.settings.wecom
    cfg.write_text(f'[storage]\nurl = "{rig.url}"\n[wecom]\ncorp_id = "{w.corp_id}"\nagent_id = {w.agent_id}\n'
                   f'secret = "{w.secret}"\ntoken = "{w.token}"\nencoding_aes_key = "{w.encoding_aes_key}"\n'
                   f'api_base = "{w.api_base}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFBOT_")}
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env)


async def tick(rig: WeComRig, seconds: float) -> None:
    rig.clock.advance(seconds=seconds)
    rig.bot.services.wake("wecom")
    await rig.settle()


async def test_a_day_long_outage_parks_notifies_admins_once_and_retry_sends(
        frig: WeComRig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    emu, users = frig.emulator, REPS[:5]
    emu.set_outage(DAY + 4 * 3600, pattern=["502", "timeout"])  # gettoken fails too: corpsecret in the URL
    m = frig.bot.services.messenger
    for i, u in enumerate(users):
        await m.send_raw("wecom", u, "text", {"text": f"提醒 {i}"}, key=f"day:{u}")
    await frig.settle()
    end = emu.outage[1] if emu.outage else 0.0
    while frig.clock.now().timestamp() < end:
        await tick(frig, 900)
    rows = [ob.get(frig.bot.db, f"day:{u}") for u in users]
    assert [r.status for r in rows] == ["parked"] * 5
    assert all("parked after 24 h of retries" in r.last_error for r in rows)
    errors = [r.last_error for r in rows]
    assert any("gettoken" in e for e in errors), errors  # the failing URL is kept, its secret is not
    assert not any(emu.seen[u] for u in users)
    await tick(frig, 900)  # WeCom is back
    for _ in range(8):
        await tick(frig, 900)
    notices = [t for t in emu.texts("wx_e001") if "已暂停重试" in t]
    assert len(notices) == 1 and "outbox retry --all" in notices[0]  # one admin message, not five
    assert not any(emu.seen[u] for u in users)  # parked stays parked until an operator says so

    failures = await asyncio.to_thread(cli, frig, tmp_path, "outbox", "failures")
    assert failures.returncode == 0 and failures.stdout.count("\tparked\t") == 5
    retried = await asyncio.to_thread(cli, frig, tmp_path, "outbox", "retry", "--all")
    assert retried.returncode == 0 and "requeued 5" in retried.stdout
    await tick(frig, 1)
    assert [emu.texts(u) for u in users] == [[f"提醒 {i}"] for i in range(5)]
    again = await asyncio.to_thread(cli, frig, tmp_path, "outbox", "retry", "999999")
    assert again.returncode == 0 and "requeued 0" in again.stdout and "999999" in again.stderr

    # The secret search: every log line, stored error and CLI output; zero hits.
    haystack = "\n".join([caplog.text, *errors, *(r.stdout + r.stderr for r in (failures, retried, again))])
    secrets = [frig.settings.wecom.secret, TOKEN, AES_KEY, INGEST_TOKEN, *emu.tokens]
    assert len(secrets) > 4
    assert [s for s in secrets if s in haystack] == []
