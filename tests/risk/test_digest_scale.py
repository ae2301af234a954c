"""The HR risk digest of a large organisation stays readable: the departments with the most open
flags in full (and in the chart), further flagged departments in one line, the departments without
flags summed up in one paragraph instead of a section each."""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from handlers.risk import record_reply
from handlers.risk.digest import FULL_SECTIONS
from scheduler.runs import run_job
from storage.models import OutboxMessage
from tests.conftest import TZ, org_bot

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)
PEOPLE = 400
TEAMS = 40  # of ten, with their manager; 4 divisions and the company above them
FLAGGED_TEAMS = FULL_SECTIONS + 5


async def test_a_large_digest_shows_the_worst_departments_and_sums_up_the_rest(tmp_path: Path, sqlite_url: str) -> None:
    async with org_bot(tmp_path, sqlite_url, PEOPLE, FRIDAY) as bot:
        await run_job(bot.services, "checkin_push", FRIDAY)
        # One employee with an attrition flag in each of 35 teams; team 7 has three, team 12 two.
        people = [f"U{t * 10:06d}" for t in range(FLAGGED_TEAMS)] + ["U000071", "U000072", "U000121"]
        for who in people:
            await record_reply(bot.services, who, "最近在看机会，已经开始投简历了。", "checkin", f"ci:{who}:scale")
        # Team 36's mood falls from one week to the next (two replies each week, no flag); team 37's
        # too, on one reply a week: too little to name.
        happy, low = "这周顺利签下两个客户，团队配合很好，很开心。", "压力有点大。"
        bot.services.clock.set(FRIDAY - timedelta(days=7))
        for who in ("U000360", "U000361", "U000370"):
            await record_reply(bot.services, who, happy, "checkin", f"ci:{who}:last")
        bot.services.clock.set(FRIDAY)
        for who in ("U000362", "U000363", "U000371"):
            await record_reply(bot.services, who, low, "checkin", f"ci:{who}:this")
        monday = FRIDAY + timedelta(days=3, hours=-6, minutes=-30)  # Monday 9:30
        await run_job(bot.services, "risk_digest", monday)
        await bot.drain()
        with bot.db.session() as s:
            parts = list(s.execute(select(OutboxMessage).where(OutboxMessage.key.like("risk:digest:H0001:%"))
                                   .order_by(OutboxMessage.key)).scalars())
        body = "\n".join(m.payload["text"] for m in parts if m.kind == "text")  # split at line ends
        sections = [part.split("\n")[0].strip() for part in body.split("▌")[1:]]
        assert len(sections) == FULL_SECTIONS
        assert sections[:2] == ["团队0007", "团队0012"]  # most open flags first
        assert "离职倾向 3（" in body.split("▌")[1] and "离职倾向 2（" in body.split("▌")[2]
        assert "全公司待跟进 38 条" in body
        assert f"另有 {FLAGGED_TEAMS - FULL_SECTIONS} 个部门有风险提醒（待跟进 5 条" in body
        # The five teams without flags (the divisions and the company have no data: nobody there is pushed).
        quiet = body.split("其余")[1]
        assert quiet.startswith(f" {TEAMS - FLAGGED_TEAMS} 个部门没有风险提醒。")
        assert "· 周复盘提交率（2026-W48）：合计 0/55（0%）；低于 80%：团队0035 0/11（0%）、团队0036" in quiet
        assert "▌团队0035" not in body
        assert "明显下降：团队0036（+" in quiet and "团队0037（" not in quiet
        # The chart has the departments the text shows in full, in the same order.
        [image] = [m for m in parts if m.kind == "image"]
        with Image.open(io.BytesIO(base64.b64decode(image.payload["data"]))) as img:
            chart = json.loads(img.info["Description"])
        assert chart["rows"] == sections
        assert len(body.encode()) < 12_000  # a few messages, not one section per department
