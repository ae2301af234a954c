"""Housekeeping: finished records are removed after the retention period (``retention_sweep`` job,
daily at ``[schedule] retention_cron``; periods in ``[retention]``). Outbox rows and inbound events
carry what people wrote and were sent; once a message is sent (or failed for good) and an event is
processed, they are kept only as long as they still guard against acting twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.router import Router
from scheduler.registry import JobCtx, job
from storage import retention

router = Router("housekeeping")  # no conversation: the package only declares its job
CHUNK = 5000  # rows per transaction; the loop yields between chunks


@job("retention_sweep", cron_setting="retention_cron",
     description="数据保留：删除超过保留期的已发送消息和已处理的收件记录")
async def retention_sweep(jctx: JobCtx) -> str:
    services = jctx.services
    db, keep = services.db, services.settings.retention
    counts = []
    for purge, days in ((retention.purge_outbox, keep.outbox_days), (retention.purge_inbound, keep.inbound_days)):
        before, total = jctx.at - timedelta(days=days), 0
        while True:
            n = await db.run(purge, db, before, CHUNK)
            total += n
            if n < CHUNK:
                break
            await asyncio.sleep(0)
        counts.append(total)
    return (f"已清理超过保留期的记录：发件 {counts[0]} 条（保留 {keep.outbox_days} 天），"
            f"收件 {counts[1]} 条（保留 {keep.inbound_days} 天）")


jobs = [retention_sweep]
