"""Alerts on data that arrives through POST /ingest/{tasks,metrics}: a tracker's tasks push someone
over capacity, a BI system's figures fall below baseline; a later push that fixes it clears the alert."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import update

from scheduler.runs import run_job
from storage.models import Task
from tests.alerts.scenarios import MONDAY
from tests.conftest import texts
from tests.core.test_ingest import TOKEN, served  # noqa: F401  (fixture)

JIRA = [{"task_id": "JIRA-1", "owner_id": "E101", "title": "华山医院投标方案", "due_date": "2026-12-01",
         "status": "todo", "estimated_hours": 20},
        {"task_id": "JIRA-2", "owner_id": "E101", "title": "瑞金医院合同评审", "due_date": "2026-12-03",
         "status": "doing", "estimated_hours": 16}]


async def post(http, path, body):
    async with http.post(path, data=json.dumps(body).encode(), headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        return r.status, await r.json()


async def scan(bot, at):
    bot.services.clock.set(at)
    detail = await run_job(bot.services, "alert_scan", at)
    await bot.drain()
    return detail


async def test_ingested_tasks_and_metrics_raise_alerts_and_a_fix_clears_them(served):  # noqa: F811
    bot, terminal, http = served
    with bot.db.session() as s:  # the demo's own tasks for 张伟 that week are out of the picture
        s.execute(update(Task).where(Task.owner_id == "E101", Task.due_date >= date(2026, 11, 30))
                  .values(status="cancelled"))
    assert (await post(http, "/ingest/tasks", {"tasks": JIRA}))[1]["accepted"] == 2
    # weekly figures (the demo's own dates are overwritten): 100 for months, then 70 two weeks running
    history = [{"goal_id": "G-E102", "date": d, "value": 100}
               for d in ("2026-09-01", "2026-10-01", "2026-10-27", "2026-11-03", "2026-11-10")]
    recent = [{"goal_id": "G-E102", "date": d, "value": 70} for d in ("2026-11-17", "2026-11-26")]
    status, body = await post(http, "/ingest/metrics", {"metrics": history + recent})
    assert (status, body["errors"]) == (202, [])
    await scan(bot, MONDAY)
    manager = texts(terminal.take("E100"))
    assert "张伟本周（2026-W49）到期的未完成任务共 36 小时，占周产能 40 小时的 90%" in manager
    assert "12-01 华山医院投标方案（20h）" in manager and "12-03 瑞金医院合同评审（16h）" in manager
    assert "李娜的「新客户签约数」连续 2 周低于基线 15% 以上：最近一周 70家，基线 100，偏离 30%" in manager
    assert "华山医院投标方案" in texts(terminal.take("E101"))  # the person is told too
    # the tracker reports one task done: back under 80%, the alert clears and its cards say so
    assert (await post(http, "/ingest/tasks", {**JIRA[1], "status": "done"}))[1]["updated"] == 1
    await scan(bot, MONDAY.replace(hour=12))
    assert "已解除" in texts(terminal.take("E101"))
