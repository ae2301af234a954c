"""`python -m bot jobs list|run NAME --at ISO` as a subprocess on a temporary SQLite config."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import create_engine, text

from tests.conftest import REPO


def bot(config, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_jobs_list_and_run_as_of(tmp_path):
    db = tmp_path / "cli.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    assert bot(config, "demo", "--no-chat").returncode == 0
    listed = bot(config, "jobs", "list")
    assert listed.returncode == 0
    for name, cron in (("checkin_push", "0 16 * * *"), ("escalation_scan", "*/10 * * * *"),
                       ("visit_scan", "*/5 * * * *"), ("visit_summary", "0 9 * * mon")):
        assert name in listed.stdout and cron in listed.stdout
    off = bot(config, "jobs", "run", "checkin_push", "--at", "2026-10-02T16:00")  # National Day
    assert off.returncode == 0 and "not a check-in moment" in off.stdout and "2026-09-30" in off.stdout
    run = bot(config, "jobs", "run", "checkin_push", "--at", "2026-11-27T16:00")
    assert run.returncode == 0, run.stderr
    assert "checkin_push as of 2026-11-27T16:00:00+08:00" in run.stdout and "2026-W48" in run.stdout
    eng = create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        n = c.execute(text("select count(*) from checkins where week='2026-W48' and pushed_at is not null")).scalar()
        runs = c.execute(text("select count(*) from job_runs where job='checkin_push'")).scalar()
    eng.dispose()
    assert n and n > 20 and runs == 2
    assert bot(config, "jobs", "run", "nope").returncode == 2
