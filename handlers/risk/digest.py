"""The weekly HR risk digest (job ``risk_digest``, Monday 9:30): per department with risk flags, open
flags by category with evidence snippets, new flags this week vs. last week, the sentiment trend,
last week's check-in response rate, and a department × week heat map (PNG) of the same new flags
the text counts: one column per 7-day window ending at the run time, so the last two columns are the
text's 「近 7 天」 and 「此前 7 天」.

It stays readable for a large organisation: the departments with the most open flags come first,
at most ``FULL_SECTIONS`` of them in full (and in the chart); further departments with flags are
named in one line with their counts, and the departments without any flag are summed up in one
paragraph (their response rate with the lowest rates named, their sentiment trend with the sharpest
falls named) instead of a section each: 2,000 teams no longer make 150 messages."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.alerts.report import digest_section
from handlers.common.calendar import local, week_of
from handlers.risk.cards import label
from handlers.risk.charts import has_cjk_font, heatmap
from handlers.risk.rules import TREND
from handlers.risk.store import OPEN_STATUSES, digest_inputs
from nlp.lexicon import CATEGORIES
from scheduler.registry import JobCtx, job
from storage import employees
from storage.db import Database

CHART_WEEKS = 6
FULL_SECTIONS = 30  # departments with flags shown in full and charted; the others are named in one line
NAMED_MAX = 20  # at most this many departments named in a summary line
LOW_RATE = 0.8  # quiet departments under this check-in response rate are named (lowest first)
SENTIMENT_DROP = 0.3  # quiet departments whose mean sentiment fell this much week on week are named
SENTIMENT_MIN_REPLIES = 2  # ...when each week has at least this many analysed replies


@dataclass
class DeptStats:
    name: str
    open_by_cat: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    new_by_window: list[int] = field(default_factory=lambda: [0] * CHART_WEEKS)  # oldest first
    scores_this: list[float] = field(default_factory=list)
    scores_last: list[float] = field(default_factory=list)
    pushed: int = 0
    submitted: int = 0

    @property
    def new_this(self) -> int:
        return self.new_by_window[-1]

    @property
    def new_last(self) -> int:
        return self.new_by_window[-2]

    @property
    def open_count(self) -> int:
        return sum(len(v) for v in self.open_by_cat.values())

    @property
    def flagged(self) -> bool:
        return bool(self.open_by_cat or any(self.new_by_window))

    @property
    def has_data(self) -> bool:
        return bool(self.open_by_cat or any(self.new_by_window) or self.scores_this
                    or self.scores_last or self.pushed)


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _trend(a: float | None, b: float | None) -> str:
    if a is None and b is None:
        return "暂无数据"
    if a is None or b is None:
        return f"{(b if b is not None else a):+.2f}"
    arrow = "↑" if b - a > 0.05 else "↓" if a - b > 0.05 else "→"
    return f"{a:+.2f} → {b:+.2f} {arrow}"


def window_ends(at: datetime) -> list[datetime]:
    """The chart's columns: the ends of CHART_WEEKS 7-day windows, the last one ending at ``at``."""
    return [at - timedelta(weeks=k) for k in range(CHART_WEEKS - 1, -1, -1)]


def collect(db: Database, at: datetime, tz) -> tuple[list[DeptStats], str]:
    """Per-department figures as of ``at``; also last week's key."""
    d7, d14 = at - timedelta(days=7), at - timedelta(days=14)
    since = at - timedelta(weeks=CHART_WEEKS)
    last_week = week_of(d7, tz)
    depts, people, flags, rows, checkins = digest_inputs(db, at, since, d14, last_week)
    stats: dict[int, DeptStats] = {i: DeptStats(n) for i, n in sorted(depts.items())}

    def dept_of(emp_id: str) -> DeptStats | None:
        e = people.get(emp_id)
        return stats.get(e.department_id) if e and e.department_id is not None else None

    for f in flags:
        st = dept_of(f.employee_id)
        if st is None:
            continue
        if f.status in OPEN_STATUSES:
            quote = "、".join(dict.fromkeys(e.get("snippet", "") for e in f.evidence[-2:] if e.get("snippet")))
            name = people[f.employee_id].name
            st.open_by_cat[f.category].append(name if f.category == TREND or not quote else f"{name}「{quote}」")
        if since < f.created_at <= at:
            st.new_by_window[CHART_WEEKS - 1 - (at - f.created_at) // timedelta(weeks=1)] += 1
    for r in rows:
        st = dept_of(r.employee_id)
        if st is None:
            continue
        if r.created_at > d7:
            st.scores_this.append(r.score)
        elif r.created_at > d14:
            st.scores_last.append(r.score)
    for c in checkins:
        st = dept_of(c.employee_id)
        if st is None or (c.pushed_at is None and c.status != "submitted"):
            continue
        st.pushed += 1
        st.submitted += c.status == "submitted"
    return [st for st in stats.values() if st.has_data], last_week


Arranged = tuple[list[DeptStats], list[DeptStats], list[DeptStats]]


def arrange(stats: list[DeptStats]) -> Arranged:
    """(shown in full and charted, further departments with flags, departments without flags): the
    departments with flags by open flags, then new ones, most first (ties in department order)."""
    flagged = sorted((st for st in stats if st.flagged),
                     key=lambda st: (-st.open_count, -st.new_this, -sum(st.new_by_window)))
    return flagged[:FULL_SECTIONS], flagged[FULL_SECTIONS:], [st for st in stats if not st.flagged]


def _names(items: list[str]) -> str:
    return "、".join(items[:NAMED_MAX]) + ("等" if len(items) > NAMED_MAX else "")


def _rate(submitted: int, pushed: int) -> str:
    return f"{submitted}/{pushed}（{submitted * 100 // pushed}%）"


def _section(st: DeptStats, last_week: str) -> list[str]:
    lines = [f"\n▌{st.name}"]
    if st.open_by_cat:
        parts = [f"{label(c)} {len(st.open_by_cat[c])}（{'；'.join(st.open_by_cat[c][:3])}）"
                 for c in (*CATEGORIES, TREND) if c in st.open_by_cat]
        lines.append("· 待跟进：" + "；".join(parts))
    else:
        lines.append("· 待跟进：无")
    lines.append(f"· 新增：近 7 天 {st.new_this} / 此前 7 天 {st.new_last}")
    lines.append(f"· 情绪均值：{_trend(_mean(st.scores_last), _mean(st.scores_this))}")
    lines.append(f"· 周复盘提交率（{last_week}）：{_rate(st.submitted, st.pushed) if st.pushed else '暂无推送'}")
    return lines


def _drop(st: DeptStats) -> float:
    """How far the department's mean sentiment fell from the previous 7 days to the last 7 (0 with
    fewer than SENTIMENT_MIN_REPLIES analysed replies in either)."""
    if min(len(st.scores_last), len(st.scores_this)) < SENTIMENT_MIN_REPLIES:
        return 0.0
    return sum(st.scores_last) / len(st.scores_last) - sum(st.scores_this) / len(st.scores_this)


def _quiet(quiet: list[DeptStats], last_week: str) -> list[str]:
    """One paragraph for the departments without any flag."""
    pushed, submitted = sum(st.pushed for st in quiet), sum(st.submitted for st in quiet)
    lines = [f"\n其余 {len(quiet)} 个部门没有风险提醒。"]
    if pushed:
        low = sorted((st for st in quiet if st.pushed and st.submitted < LOW_RATE * st.pushed),
                     key=lambda st: st.submitted / st.pushed)
        lines.append(f"· 周复盘提交率（{last_week}）：合计 {_rate(submitted, pushed)}"
                     + (f"；低于 {LOW_RATE:.0%}：{_names([f'{st.name} {_rate(st.submitted, st.pushed)}' for st in low])}"
                        if low else ""))
    last = [x for st in quiet for x in st.scores_last]
    this = [x for st in quiet for x in st.scores_this]
    if last or this:
        drops = [(d, st) for st in quiet if (d := _drop(st)) >= SENTIMENT_DROP]  # each computed once
        falling = [st for _, st in sorted(drops, key=lambda x: -x[0])]  # steepest first, ties in order
        named = [f"{st.name}（{_trend(_mean(st.scores_last), _mean(st.scores_this))}）" for st in falling]
        lines.append(f"· 情绪均值：{_trend(_mean(last), _mean(this))}" + (f"；明显下降：{_names(named)}" if named else ""))
    return lines


def digest_text(arranged: Arranged, week: str, last_week: str, at_label: str, legend: str) -> str:
    """The digest's text for the departments as :func:`arrange` ordered them (the chart shows the same
    first part)."""
    shown, more, quiet = arranged
    stats = [*shown, *more, *quiet]
    total_open = sum(st.open_count for st in stats)
    new_this = sum(st.new_this for st in stats)
    new_last = sum(st.new_last for st in stats)
    lines = [f"【HR 风险周报】{week}（截至 {at_label}）",
             f"全公司待跟进 {total_open} 条；近 7 天新增 {new_this} 条，此前 7 天 {new_last} 条。"]
    for st in shown:
        lines += _section(st, last_week)
    if more:
        lines.append(f"\n另有 {len(more)} 个部门有风险提醒（待跟进 {sum(st.open_count for st in more)} 条，"
                     f"近 7 天新增 {sum(st.new_this for st in more)} 条）："
                     + _names([f"{st.name}（{st.open_count}）" for st in more]) + "。")
    if quiet:
        lines += _quiet(quiet, last_week)
    if not stats:
        lines.append("\n本期没有需要关注的数据。")
    if legend:
        lines.append(f"\n{legend}")
    lines.append("原话属敏感信息，请勿转发。发送「风险列表」查看全部待跟进提醒。")
    return "\n".join(lines)


@job("risk_digest", cron_setting="risk_digest_cron", description="HR 风险周报（按部门，附热力图）")
async def risk_digest(jctx: JobCtx) -> str:
    services = jctx.services
    tz = services.tz
    stats, last_week = collect(services.db, jctx.at, tz)
    arranged = arrange(stats)
    charted = arranged[0]  # the departments the text shows in full
    week = week_of(jctx.at, tz)
    cols = [f"{d.month}/{d.day}" for d in (end.astimezone(tz) for end in window_ends(jctx.at))]
    if has_cjk_font():
        row_labels, legend = [st.name for st in charted], ""
        title = "新增风险提醒（按部门；每列为截至该日的 7 天）"
    else:  # no Chinese font on this host: number the departments and explain the numbers in the text
        row_labels = [f"D{i}" for i in range(1, len(charted) + 1)]
        legend = "图中部门编号：" + "，".join(f"{c} {st.name}" for c, st in zip(row_labels, charted, strict=True))
        title = "New risk flags by department (7 days up to each date)"
    values = [[float(n) for n in st.new_by_window] for st in charted] or [[0.0] * CHART_WEEKS]
    png = await asyncio.to_thread(heatmap, row_labels or ["-"], cols, values, title)
    text = digest_text(arranged, week, last_week, local(jctx.at, tz), legend)
    text += digest_section(services.db, jctx.at, tz)  # the early-warning alerts (handlers/alerts)
    hr = employees.active_with_role(services.db, "hr")
    sent = 0
    for person in hr:
        key = f"risk:digest:{person.id}:{week}"
        sent += await services.messenger.send_text(person, text, key)
        await services.messenger.send_image(person, png, f"risk-heatmap-{week}.png", f"{key}:chart")
    return f"risk digest {week}: {len(stats)} departments, sent to {sent} of {len(hr)} HR"
