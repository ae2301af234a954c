"""Benchmark: N encrypted WeCom text callbacks through the whole bot vs a bare aiohttp handler.

    python -m tests.bench.bench_wecom [-n 1000] [-c 20]

Full path: HTTP → verify/decrypt → dispatch (durable inbox) → 「帮助」 handler → outbox → worker →
message/send on the WeCom emulator; latency is from sending the callback until the emulator has the
reply. Bare path: an aiohttp handler that only decrypts, parses and encrypts a reply; latency is
the HTTP round trip. Both run in this process on loopback against the same emulator crypto.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import web
from sqlalchemy import insert
from wechatpy.work.crypto import WeChatCrypto

from bot.app import PerfBot
from bot.channels.wecom.inbound import parse_xml
from storage.db import open_database
from storage.models import Employee
from tests.emulators.wecom import WeComEmulator
from tests.emulators.wecom_driver import CallbackDriver
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN, wecom_settings


def summary(name: str, latencies: list[float], elapsed: float) -> dict[str, float]:
    lat = sorted(latencies)
    p = {
        "rate": len(lat) / elapsed,
        "p50": statistics.median(lat) * 1000,
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
    }
    print(f"{name:<32} {p['rate']:9.1f} msg/s   p50 {p['p50']:7.1f} ms   p99 {p['p99']:7.1f} ms")
    return p


async def run_pool(n: int, concurrency: int, one) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def bench_full(n: int, concurrency: int, tmp: Path) -> dict[str, float]:
    emulator = WeComEmulator(corp_id=CORP_ID)
    settings = wecom_settings(f"sqlite:///{tmp / 'bench.db'}", await emulator.start())
    users = [f"wx_b{i:06d}" for i in range(n)]
    emulator.users = set(users)
    db = open_database(settings.storage.url)
    with db.session() as s:
        s.execute(insert(Employee), [{"id": f"B{i:06d}", "name": f"员工{i}", "wecom_userid": u, "role": "employee",
                                      "weekly_capacity_hours": 40.0, "active": True} for i, u in enumerate(users)])
    bot = PerfBot(settings, db=db, scheduler=False)
    port = await bot.serve_http(host="127.0.0.1", port=0)
    await bot.start()
    driver = CallbackDriver(f"http://127.0.0.1:{port}{settings.wecom.callback_path}", emulator, TOKEN, AES_KEY,
                            now=time.time)
    sent_at: dict[str, float] = {}
    acks: list[float] = []

    async def one(i: int) -> None:
        user = users[i]
        signed = driver.sign(driver.text_xml(user, "帮助"))
        sent_at[user] = time.time()
        assert await driver.post_signed(signed) == 200
        acks.append(time.time() - sent_at[user])

    try:
        start = time.time()
        ack_elapsed = await run_pool(n, concurrency, one)
        summary("full bot: callback acknowledged", acks, ack_elapsed)
        for _ in range(600_000):  # bounded wait for the last replies
            if len(emulator.seen) >= n:
                break
            await asyncio.sleep(0.001)
        done = max(emulator.seen[u][0].at for u in users)
        latencies = [emulator.seen[u][0].at - sent_at[u] for u in users]
        return summary("full bot: reply at WeCom", latencies, done - start)
    finally:
        await bot.stop()
        await driver.close()
        await emulator.stop()
        db.dispose()


async def bench_bare(n: int, concurrency: int) -> dict[str, float]:
    """The floor: decrypt, parse, encrypt a reply; nothing else."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)

    async def handler(request: web.Request) -> web.Response:
        q = request.query
        outer = parse_xml(await request.read())
        plain = crypto.decrypt_message({"Encrypt": outer.findtext("Encrypt")}, q["msg_signature"], q["timestamp"],
                                       q["nonce"])
        msg = parse_xml(plain)
        reply = f"<xml><ToUserName><![CDATA[{msg.findtext('FromUserName')}]]></ToUserName><Content>ok</Content></xml>"
        return web.Response(text=crypto.encrypt_message(reply, q["nonce"], q["timestamp"]))

    app = web.Application()
    app.router.add_post("/cb", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    emulator = WeComEmulator(corp_id=CORP_ID)
    driver = CallbackDriver(f"http://127.0.0.1:{port}/cb", emulator, TOKEN, AES_KEY, now=time.time)
    latencies: list[float] = []

    async def one(i: int) -> None:
        signed = driver.sign(driver.text_xml(f"wx_b{i:06d}", "帮助"))
        t0 = time.perf_counter()
        async with driver.session().post(driver.url, params=signed.query, data=signed.body) as resp:
            assert resp.status == 200
            await resp.read()
        latencies.append(time.perf_counter() - t0)

    try:
        elapsed = await run_pool(n, concurrency, one)
        return summary("bare handler (decrypt+parse+enc)", latencies, elapsed)
    finally:
        await driver.close()
        await runner.cleanup()


async def main(n: int, concurrency: int) -> None:
    print(f"{n} encrypted text callbacks, {concurrency} concurrent senders")
    with tempfile.TemporaryDirectory() as tmp:
        full = await bench_full(n, concurrency, Path(tmp))
    bare = await bench_bare(n, concurrency)
    print(f"{'ratio bare / full':<32} {bare['rate'] / full['rate']:9.1f}x throughput   "
          f"p50 {full['p50'] / bare['p50']:5.1f}x   p99 {full['p99'] / bare['p99']:5.1f}x latency")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="callbacks per run")
    ap.add_argument("-c", type=int, default=20, help="concurrent senders")
    args = ap.parse_args()
    asyncio.run(main(args.n, args.c))
