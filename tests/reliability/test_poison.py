"""One poison row never blocks everyone: refused at the ingest door, and a bad row already in the
database is isolated by the job (logged once, noted, the other reps still get their cards)."""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp
import pytest

from scheduler.runs import run_job
from storage import jobruns
from storage.models import Visit
from tests.conftest import DEMO_NOW
from tests.reliability.conftest import INGEST_TOKEN, REPS
from tests.wecom.conftest import WeComRig

POISON = "CRM 7:x\n"


def visit(i: int, **kw: str) -> dict[str, str]:
    return {"visit_id": f"CRM-{i}", "employee_id": f"R{i:04}", "customer": f"客户{i}",
            "ended_at": (DEMO_NOW - timedelta(minutes=5)).isoformat(), **kw}


def cards(rig: WeComRig, user: str) -> int:
    return rig.emulator.deliveries(user, "template_card")


async def test_a_poison_ingest_row_is_refused_and_every_other_rep_gets_the_card(frig: WeComRig) -> None:
    url = f"http://127.0.0.1:{frig.bot._port}/ingest/visits"
    body = {"visits": [visit(i) for i in range(20)] + [visit(20, visit_id=POISON)]}
    async with aiohttp.ClientSession() as http, \
            http.post(url, json=body, headers={"Authorization": f"Bearer {INGEST_TOKEN}"}) as r:
        assert r.status == 202
        answer = await r.json()
    assert answer["accepted"] == 20 and [e["index"] for e in answer["errors"]] == [20]
    assert "visit_id" in answer["errors"][0]["error"]
    await frig.settle()
    assert [cards(frig, u) for u in REPS[:21]] == [1] * 20 + [0]


async def test_a_bad_row_already_stored_is_isolated_by_the_job(frig: WeComRig, caplog: pytest.LogCaptureFixture) -> None:
    ended = DEMO_NOW - timedelta(minutes=5)
    with frig.bot.db.session() as s:  # data from before the door checks (or another writer)
        s.add_all([Visit(id=f"V-{i}", employee_id=f"R{i:04}", customer=f"客户{i}", ended_at=ended) for i in range(10)])
        s.add(Visit(id=POISON, employee_id="R0010", customer="毒客户", ended_at=ended))
    caplog.clear()
    for minutes in (0, 5, 10):  # three runs of the scan
        await run_job(frig.bot.services, "visit_scan", DEMO_NOW + timedelta(minutes=minutes))
        await frig.settle()
    assert [cards(frig, u) for u in REPS[:11]] == [1] * 10 + [0]  # every other rep got the card, once
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and "visit_scan" in r.getMessage()]
    assert len(logged) == 1 and "skipped" in logged[0].getMessage()  # logged once, not every run
    [noted] = jobruns.row_failures(frig.bot.db, "visit_scan")
    assert noted.row_key == f"visit:{POISON}" and noted.failures == 3 and "BadPayload" in (noted.error or "")
