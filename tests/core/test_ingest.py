"""The visit ingest API, over real HTTP into the running bot."""

from __future__ import annotations

import json

import aiohttp
import pytest

from bot.app import PerfBot
from bot.channels.terminal import TerminalChannel
from bot.clock import ManualClock
from bot.demo import seed_demo
from storage.db import open_database
from storage.models import Visit
from tests.conftest import DEMO_NOW, DEMO_TODAY, make_settings

TOKEN = "s3cret-token"


@pytest.fixture
async def served(sqlite_url, tmp_path):
    settings = make_settings(sqlite_url)
    settings.server.ingest_token = TOKEN
    settings.server.max_body_bytes = 4096
    db = open_database(sqlite_url)
    seed_demo(db, settings, today=DEMO_TODAY)
    terminal = TerminalChannel(out_dir=tmp_path / "files")
    bot = PerfBot(settings, clock=ManualClock(DEMO_NOW), channels=[terminal], db=db, scheduler=False)
    port = await bot.serve_http("127.0.0.1", 0)
    await bot.start(workers=False)
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http:
        yield bot, terminal, http
    await bot.stop()
    db.dispose()


def visit(**kw):
    return {"visit_id": "CRM-1", "employee_id": "E101", "customer": "华山医院",
            "ended_at": "2026-11-24T09:40:00+08:00", **kw}


async def post(http, body, token=TOKEN):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post("/ingest/visits", data=data, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def test_posted_visit_reaches_the_rep_once(served):
    bot, terminal, http = served
    status, body = await post(http, visit())
    assert (status, body) == (202, {"accepted": 1, "duplicates": 0, "errors": []})
    await bot.drain()
    shown = terminal.take("E101")
    assert len(shown) == 1 and shown[0].kind == "card" and "拜访反馈 · 华山医院" in shown[0].text
    status, body = await post(http, {"visits": [visit()]})  # the CRM retries
    assert body == {"accepted": 0, "duplicates": 1, "errors": []}
    await bot.drain()
    assert terminal.take("E101") == []
    with bot.db.session() as s:
        assert s.get(Visit, "CRM-1").customer == "华山医院"


async def test_bad_items_are_reported_and_good_ones_still_accepted(served):
    bot, terminal, http = served
    status, body = await post(http, {"visits": [
        visit(visit_id="CRM-2"), visit(visit_id="CRM-3", employee_id="E999"),
        visit(visit_id="CRM-4", ended_at="yesterday"), {"visit_id": "CRM-5"}, "nope"]})
    assert status == 202 and body["accepted"] == 1
    assert [e["index"] for e in body["errors"]] == [1, 2, 3, 4]
    assert "unknown or inactive employee 'E999'" in body["errors"][0]["error"]
    assert "not an ISO datetime" in body["errors"][1]["error"]


async def test_wrong_token_bad_json_and_oversize_are_rejected_and_nothing_stored(served):
    bot, terminal, http = served
    assert (await post(http, visit(visit_id="X1"), token="wrong"))[0] == 401
    assert (await post(http, b"{not json"))[0] == 400
    assert (await post(http, {"visits": []}))[0] == 400
    assert (await post(http, b"x" * 10_000))[0] == 413
    await bot.drain()
    with bot.db.session() as s:
        assert s.get(Visit, "X1") is None
    assert terminal.take("E101") == []


@pytest.mark.parametrize("bad_id", ["CRM 7", "CRM:7", "CRM\n7", "CRM\t7", "x" * 65, "", "CRM\x007"])
async def test_poison_ids_are_refused_at_the_door_with_the_reason(served, bad_id):
    bot, terminal, http = served
    status, body = await post(http, visit(visit_id=bad_id))
    assert status == 400 and "visit_id" in body["error"]
    status, body = await post(http, visit(visit_id="CRM-8", employee_id=bad_id or "E 1"))
    assert status == 400 and "employee_id" in body["error"]
    await bot.drain()
    assert terminal.take("E101") == []


@pytest.mark.parametrize("ended_at,reason", [
    ("0001-01-01T00:00:00", "before 2000"),
    ("2099-01-01T09:00:00+08:00", "in the future"),
    ("2026-11-26T10:00:00+08:00", "in the future"),
    ("9999-12-31T23:59:59-12:00", "out of range"),
])
async def test_impossible_times_are_client_errors(served, ended_at, reason):
    bot, terminal, http = served
    status, body = await post(http, visit(visit_id="CRM-T", ended_at=ended_at))
    assert status == 400 and reason in body["error"]
    await bot.drain()
    assert terminal.take("E101") == []


async def test_a_naive_time_is_company_time_and_a_visit_later_today_is_fine(served):
    bot, terminal, http = served
    status, body = await post(http, visit(visit_id="CRM-N", ended_at="2026-11-24T09:30:00"))
    assert status == 202 and body["accepted"] == 1
    await bot.drain()
    with bot.db.session() as s:
        assert s.get(Visit, "CRM-N").ended_at.astimezone(DEMO_NOW.tzinfo).hour == 9


async def test_bare_token_non_object_and_deep_json_are_refused(served):
    bot, terminal, http = served
    async with http.post("/ingest/visits", data=json.dumps(visit(visit_id="B1")),
                         headers={"Authorization": TOKEN}) as r:
        assert r.status == 401
    for body in (b"[1, 2]", b'"visit"', b"42", b"null"):
        status, answer = await post(http, body)
        assert status == 400 and "object" in answer["error"]
    status, answer = await post(http, b'{"visits": ' + b"[" * 2000 + b"]" * 2000 + b"}")
    assert status in (400, 413)
    status, answer = await post(http, {"visits": [{"a": {"b": {"c": {"d": {"e": {}}}}}}]})
    assert status == 400 and "nested" in answer["error"]
    await bot.drain()
    with bot.db.session() as s:
        assert s.get(Visit, "B1") is None
