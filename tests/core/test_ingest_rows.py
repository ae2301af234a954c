"""POST /ingest/{metrics,tasks,worklogs}: over real HTTP into the running bot, the same checks as the
importer, idempotent by the external id, every problem of an item reported."""

from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import Employee, MetricValue, Task, WorkLog
from tests.core.test_ingest import TOKEN, served  # noqa: F401  (fixture)


async def post(http, path, body, token=TOKEN):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post(path, data=data, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


TASK = {"task_id": "JIRA-7", "owner_id": "E101", "title": "准备华山医院投标材料", "due_date": "2026-12-04",
        "status": "todo", "goal_id": "G-E101", "estimated_hours": 6}


async def test_tasks_are_upserted_by_task_id(served):  # noqa: F811
    bot, _terminal, http = served
    assert await post(http, "/ingest/tasks", TASK) == (202, {"accepted": 1, "updated": 0, "duplicates": 0, "errors": []})
    assert await post(http, "/ingest/tasks", {"tasks": [TASK]}) == (
        202, {"accepted": 0, "updated": 0, "duplicates": 1, "errors": []})  # the tracker retries
    status, body = await post(http, "/ingest/tasks", {**TASK, "status": "done", "estimated_hours": "8"})
    assert (status, body["updated"]) == (202, 1)
    with bot.db.session() as s:
        t = s.get(Task, "JIRA-7")
        assert (t.owner_id, t.status, t.estimated_hours, str(t.due_date)) == ("E101", "done", 8.0, "2026-12-04")


async def test_metrics_by_goal_and_date_and_worklogs_by_worklog_id(served):  # noqa: F811
    bot, _terminal, http = served
    m = {"goal_id": "G-E101", "date": "2026-11-23", "value": 11}
    assert (await post(http, "/ingest/metrics", {"metrics": [m]}))[1]["accepted"] == 1
    assert (await post(http, "/ingest/metrics", m))[1]["duplicates"] == 1
    assert (await post(http, "/ingest/metrics", {**m, "value": 12.5}))[1]["updated"] == 1
    w = {"worklog_id": "WL-1", "employee_id": "E102", "date": "2026-11-23", "content": "拜访仁和医院，确认需求"}
    assert (await post(http, "/ingest/worklogs", {"worklogs": [w]}))[1]["accepted"] == 1
    assert (await post(http, "/ingest/worklogs", {**w, "content": "拜访仁和医院，确认需求并约定演示"}))[1]["updated"] == 1
    plain = {"employee_id": "E102", "date": "2026-11-24", "content": "整理投标材料"}
    assert (await post(http, "/ingest/worklogs", plain))[1]["accepted"] == 1
    assert (await post(http, "/ingest/worklogs", plain))[1]["duplicates"] == 1  # no id: same employee/day/text
    with bot.db.session() as s:
        value = s.execute(select(MetricValue.value).where(MetricValue.goal_id == "G-E101",
                                                          MetricValue.date == m["date"])).scalar_one()
        logs = list(s.execute(select(WorkLog).where(WorkLog.employee_id == "E102",
                                                    WorkLog.date >= m["date"])).scalars())
    assert value == 12.5
    contents = [w.content for w in logs]
    assert "拜访仁和医院，确认需求并约定演示" in contents and "拜访仁和医院，确认需求" not in contents  # edited in place
    assert contents.count("整理投标材料") == 1


async def test_every_problem_of_an_item_is_reported_and_good_items_still_land(served):  # noqa: F811
    bot, _terminal, http = served
    with bot.db.session() as s:
        s.get(Employee, "E105").active = False  # left the company
    status, body = await post(http, "/ingest/tasks", {"tasks": [
        {**TASK, "task_id": "OK-1"},
        {**TASK, "task_id": "BAD-1", "owner_id": "E999", "due_date": "next friday", "status": "blocked",
         "goal_id": "G-NONE"},
        {**TASK, "task_id": "BAD-2", "owner_id": "E105"},
        {**TASK, "task_id": "BAD:3"},
        {**TASK, "task_id": "OK-1"},
        "nope",
        {**TASK, "task_id": "BAD-4", "due_date": "1970-01-01", "estimated_hours": -2},
    ]})
    assert status == 202 and (body["accepted"], body["updated"], body["duplicates"]) == (1, 0, 0)
    errors = {e["index"]: e["error"] for e in body["errors"]}
    assert errors[1] == ("owner_id: unknown employee 'E999'; due_date: not a date (YYYY-MM-DD): 'next friday'; "
                         "status: 'blocked' is not one of todo, doing, done, cancelled; goal_id: unknown goal 'G-NONE'")
    assert errors[2] == "owner_id: unknown employee 'E105'"
    assert "task_id 'BAD:3' contains whitespace" in errors[3]
    assert errors[4] == "task_id: 'OK-1' appears twice (items 0 and 4)"
    assert errors[5] == "each item of tasks must be a JSON object"
    assert errors[6] == "due_date: before 2000: '1970-01-01'; estimated_hours: must be at least 0"
    with bot.db.session() as s:
        assert [t.id for t in s.execute(select(Task).where(Task.id.in_(["OK-1", "BAD-1", "BAD-2", "BAD-4"])))
                .scalars()] == ["OK-1"]


async def test_all_rejected_wrong_token_and_bad_body(served):  # noqa: F811
    bot, _terminal, http = served
    status, body = await post(http, "/ingest/metrics", {"metrics": [{"goal_id": "G-E101", "date": "2026-11-23"}]})
    assert status == 400 and body["error"] == "value: required" and body["accepted"] == 0
    assert (await post(http, "/ingest/worklogs", {"employee_id": "E101", "date": "2026-11-23", "content": "x"},
                       token="wrong"))[0] == 401
    assert (await post(http, "/ingest/tasks", {"tasks": []}))[0] == 400
    with bot.db.session() as s:
        assert s.execute(select(WorkLog).where(WorkLog.content == "x")).first() is None
