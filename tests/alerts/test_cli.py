"""``python -m bot report alerts [--json]`` and ``jobs run alert_scan`` as an operator runs them."""

from __future__ import annotations

import json

from tests.core.test_cli import _config, run


def test_report_alerts_after_a_scan_of_the_demo(tmp_path):
    cfg = _config(tmp_path)
    assert run(["demo", "--no-chat"], cfg).returncode == 0
    r = run(["report", "alerts"], cfg)
    assert r.returncode == 0 and "未解除的预警 0 条" in r.stdout
    r = run(["jobs", "run", "alert_scan"], cfg)
    assert r.returncode == 0, r.stderr
    assert "alert_scan as of" in r.stdout and "notified" in r.stdout
    r = run(["report", "alerts", "--json"], cfg)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    rules = {a["rule"] for a in report["alerts"]}
    assert {"worklog", "capacity"} <= rules  # the demo's 宋佳 and 罗斌, whatever today is
    worklog = next(a for a in report["alerts"] if a["rule"] == "worklog")
    assert worklog["who"] == "宋佳" and worklog["manager_id"] == "E300" and worklog["status"] == "open"
    assert set(worklog) >= {"id", "subject", "level", "color", "figure", "summary", "recipients", "fired",
                            "created_at", "last_fired_at", "snoozed_until"}
    assert report["counts"]["worklog"] >= 1 and "工作日志未更新" in report["text"]
