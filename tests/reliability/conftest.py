"""The fault suite's rig: a real PerfBot (WeCom channel, HTTP server, outbox workers) on SQLite and
PostgreSQL against the WeCom emulator with its fault layer; time is the injected ManualClock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.config import Settings
from storage.db import Database
from storage.models import Department, Employee
from tests.wecom.conftest import WeComRig, make_rig

API_TIMEOUT = 0.4  # seconds the bot waits for WeCom before the call is "in doubt"
INGEST_TOKEN = "ingest-secret-7f3a9c"


REPS = [f"wx_r{i:04}" for i in range(500)]


def add_reps(db: Database, n: int) -> list[str]:
    """``n`` extra active sales reps with WeCom ids (a bigger company than the demo)."""
    with db.session() as s:
        dept = s.execute(select(Department).limit(1)).scalar_one()
        s.add_all(Employee(id=f"R{i:04}", name=f"代表{i}", department_id=dept.id, manager_id="E100",
                           wecom_userid=f"wx_r{i:04}") for i in range(n))
    return [f"wx_r{i:04}" for i in range(n)]


@pytest.fixture
async def frig(db_url: str, caplog: pytest.LogCaptureFixture) -> AsyncIterator[WeComRig]:
    caplog.set_level(logging.INFO)

    def configure(settings: Settings) -> None:
        settings.wecom.api_timeout_seconds = API_TIMEOUT
        settings.server.ingest_token = INGEST_TOKEN

    async for r in make_rig(db_url, configure, lambda db: add_reps(db, len(REPS))):
        yield r
