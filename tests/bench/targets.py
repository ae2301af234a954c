"""Issue 10's targets held against a benchmark's runs: each target, its value in every run, and in how
many runs it was met. A run-to-run spread is the rule on a shared 2-core machine (the bare handler
alone has varied by a factor of two between consecutive runs), so one run says little; ``bench_wecom
--runs N`` prints this after N runs per database."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

# (target, the run's value from (bot figures, bare figures), comparison, bound, format)
TARGETS: list[tuple[str, Callable[[Any, Any], float], Callable[[float, float], bool], float, str]] = [
    ("bot >= 40% of bare (acks/s)", lambda bot, bare: bot.acks_per_s / bare.acks_per_s if bare.acks_per_s else math.nan,
     operator.ge, 0.40, "{:.2f}"),
    ("ack p99 < 50 ms", lambda bot, _: bot.ack_p99_ms, operator.lt, 50.0, "{:.1f}"),
    ("reply p99 < 1 s at half the rate", lambda bot, _: bot.half_p99_s, operator.lt, 1.0, "{:.2f}"),
    ("backlog drained < 5 s after the load", lambda bot, _: bot.drain_s, operator.lt, 5.0, "{:.2f}"),
    ("<= 3 commits per message", lambda bot, _: bot.commits_per_msg, operator.le, 3.0, "{:.2f}"),
    ("loop lag < 100 ms in phases A and B", lambda bot, _: max(bot.lag_phases_ms[2:]), operator.lt, 100.0, "{:.0f}"),
    ("ready < 3 s", lambda bot, _: bot.ready_s, operator.lt, 3.0, "{:.2f}"),
    ("first NLP reply < 2 s", lambda bot, _: bot.first_nlp_s, operator.lt, 2.0, "{:.2f}"),
    ("RSS < 300 MB (each process)", lambda bot, _: max(bot.rss_mb, bot.helper_rss_mb), operator.lt, 300.0, "{:.0f}"),
]


def summary(db: str, runs: list[tuple[Any, Any]]) -> list[str]:
    """One line per target: in how many of ``runs`` ((bot, bare) figures each) it was met, and its
    value in each run. A value that could not be measured (NaN) counts as not met."""
    lines = [f"\n== {db}: {len(runs)} run(s) against issue 10's targets =="]
    for name, value, holds, bound, fmt in TARGETS:
        values = [value(bot, bare) for bot, bare in runs]
        met = sum(1 for v in values if not math.isnan(v) and holds(v, bound))
        lines.append(f"{name:<38} met in {met} of {len(runs)}: " + " / ".join(fmt.format(v) for v in values))
    steal = " / ".join(f"{bare.steal:.0%} {bot.steal:.0%}" for bot, bare in runs)
    lines.append(f"{'(host CPU steal, bare then bot)':<38} {steal}")
    return lines
