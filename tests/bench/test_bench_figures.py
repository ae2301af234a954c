"""The benchmark's own arithmetic (its figures are printed, never asserted; these check the counting)."""

from tests.bench.bench_wecom import Figures, fewest_calls, merge_metrics
from tests.bench.targets import summary


def test_fewest_calls_merges_identical_texts_and_counts_each_card() -> None:
    calls = [
        ("message/send", {"touser": "a|b", "msgtype": "text", "text": {"content": "帮助"}}),
        ("message/send", {"touser": "c", "msgtype": "text", "text": {"content": "帮助"}}),
        ("message/send", {"touser": "a", "msgtype": "text", "text": {"content": "你的任务：1 项"}}),
        ("message/send", {"touser": "a", "msgtype": "markdown", "markdown": {"content": "帮助"}}),
        ("message/send", {"touser": "d", "msgtype": "template_card",
                          "template_card": {"task_id": "t1", "main_title": {"title": "周复盘·张伟"}}}),
        ("message/send", {"touser": "e", "msgtype": "template_card",
                          "template_card": {"task_id": "t2", "main_title": {"title": "周复盘·李娜"}}}),
        ("message/send", {"touser": "d|e", "msgtype": "template_card",
                          "template_card": {"task_id": "t3", "main_title": {"title": "帮助"}}}),
        ("message/send", {"touser": "f", "msgtype": "template_card",
                          "template_card": {"task_id": "t4", "main_title": {"title": "帮助"}}}),
        ("message/update_template_card", {"userids": ["d"]}),
    ]
    # 帮助 as text to a, b, c: one call; the task text: one; 帮助 as markdown: one; two personal cards:
    # two; the same help card to d, e and f (task_ids aside): one.
    assert fewest_calls(calls) == 6


def test_fewest_calls_splits_at_wecoms_touser_limit() -> None:
    people = "|".join(f"u{i}" for i in range(1500))
    calls = [("message/send", {"touser": people, "msgtype": "text", "text": {"content": "同一条通知"}})]
    assert fewest_calls(calls) == 2


def test_metrics_of_several_processes_sum_counters_and_keep_the_worst_gauge() -> None:
    a = ('# TYPE perfbot_db_commits_total counter\nperfbot_db_commits_total 10\n'
         'perfbot_event_loop_lag_seconds{window="since_start"} 0.05\nprocess_resident_memory_bytes 200\n')
    b = ('perfbot_db_commits_total 7\nperfbot_event_loop_lag_seconds{window="since_start"} 0.02\n'
         'process_resident_memory_bytes 250\n')
    merged = merge_metrics([a, b])
    assert merged == {"perfbot_db_commits_total": 17.0, 'perfbot_event_loop_lag_seconds{window="since_start"}': 0.05,
                      "process_resident_memory_bytes": 250.0}
    assert merge_metrics([a]) == {"perfbot_db_commits_total": 10.0,
                                  'perfbot_event_loop_lag_seconds{window="since_start"}': 0.05,
                                  "process_resident_memory_bytes": 200.0}


def test_the_targets_summary_counts_the_runs_that_met_each_target() -> None:
    def run(acks: float, bare: float, p99: float, drain: float) -> tuple[Figures, Figures]:
        bot = Figures(acks_per_s=acks, ack_p99_ms=p99, drain_s=drain, half_p99_s=0.4, commits_per_msg=0.3,
                      lag_phases_ms=(150.0, 5.0, 20.0, 30.0), ready_s=2.2, first_nlp_s=0.1, rss_mb=240.0)
        return bot, Figures(acks_per_s=bare)

    lines = summary("sqlite", [run(2000, 4000, 42.0, 4.1), run(1500, 5000, 51.0, 5.3), run(2600, 5200, 30.0, float("nan"))])
    by_target = {line.split(" met in ")[0].strip(): line.split(" met in ")[1] for line in lines[1:] if " met in " in line}
    assert by_target["bot >= 40% of bare (acks/s)"] == "2 of 3: 0.50 / 0.30 / 0.50"
    assert by_target["ack p99 < 50 ms"] == "2 of 3: 42.0 / 51.0 / 30.0"
    assert by_target["backlog drained < 5 s after the load"].startswith("1 of 3")  # NaN is not met
    assert by_target["loop lag < 100 ms in phases A and B"].startswith("3 of 3")  # start-up lag is not a phase
    # how much CPU the host took meanwhile is printed beside the targets (it explains a run's outlier)
    disturbed = [run(2000, 4000, 42.0, 4.1), run(900, 2500, 80.0, 9.0)]
    disturbed[1][0].steal, disturbed[1][1].steal = 0.31, 0.22
    assert summary("sqlite", disturbed)[-1].endswith("nan% nan% / 22% 31%")


def test_the_bench_bot_runs_no_scheduled_job_unless_asked(tmp_path) -> None:
    from datetime import UTC, datetime, timedelta

    from apscheduler.triggers.cron import CronTrigger

    from bot.config import load_settings
    from scheduler.runner import previous_fire_time
    from tests.bench.bench_wecom import JOB_CRONS, bot_config

    def settings(with_jobs: bool):
        cfg = tmp_path / f"bench-{with_jobs}.toml"
        cfg.write_text(bot_config("sqlite:///x.db", "http://127.0.0.1:1", {"batch_events": "8"}, with_jobs)
                       .replace("port = PORT", "port = 8081"), encoding="utf-8")
        return load_settings(cfg, env={})

    quiet, busy = settings(False), settings(True)
    assert quiet.engine.batch_events == 8 and quiet.server.port == 8081
    # a Monday morning (2026-12-07 09:40 in Shanghai): nothing fell due in the last 24 hours without --with-jobs
    now, day = datetime(2026, 12, 7, 1, 40, tzinfo=UTC), timedelta(hours=24)

    def due(s) -> list[str]:  # as the start-up catch-up asks (scheduler.runner.SchedulerRunner.catch_up)
        return [k for k in JOB_CRONS if previous_fire_time(
            CronTrigger.from_crontab(getattr(s.schedule, k), timezone=s.schedule.tz), now, day) is not None]

    assert due(quiet) == []
    assert {"alert_scan_cron", "battle_map_cron", "escalation_scan_cron"} <= set(due(busy))
