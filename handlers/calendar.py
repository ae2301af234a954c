"""Company calendar: ISO weeks, Chinese public holidays and make-up workdays (调休).

Rules (documented for operators):

* **Check-in day.** The check-in cron's weekday (default Friday) is the *nominal* day. The push goes
  out on the latest workday of that ISO week (Mon–Sun) that is on or before the nominal day, or on a
  later make-up workday (调休 Saturday/Sunday) of the same week if there is one — i.e. on the last
  working day of the week. A week without any workday gets no check-in. The job runs daily at the
  cron's hour:minute and pushes only on that effective day.
* **Escalation hours** count only time on workdays: a reminder due "24 h after Friday 16:00" is sent
  on Monday 16:00, never over a weekend or holiday.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar


def is_workday(d: date) -> bool:
    """Workday per the maintained holiday calendar; plain Mon–Fri outside its covered years."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5


def week_key(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def week_monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def week_label(d: date) -> str:
    """「2026-W48（11/23–11/29）」"""
    mon = week_monday(d)
    sun = mon + timedelta(days=6)
    return f"{week_key(d)}（{mon.month}/{mon.day}–{sun.month}/{sun.day}）"


def monday_of(week: str) -> date:
    y, w = week.split("-W")
    return date.fromisocalendar(int(y), int(w), 1)


def cron_parts(cron: str) -> tuple[int, int, int]:
    """(minute, hour, nominal weekday 0=Mon) of a weekly cron such as ``0 16 * * fri``."""
    minute, hour, _dom, _mon, dow = cron.split()
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    first = dow.split(",")[0].split("-")[0].lower()
    if first in ("*", "?"):
        wd = 4
    elif first[:3] in names:
        wd = names.index(first[:3])
    else:
        wd = (int(first) - 1) % 7  # cron: 0/7 = Sunday, 1 = Monday
    return int(minute), int(hour), wd


def daily_cron(cron: str) -> str:
    minute, hour, *_ = cron.split()
    return f"{minute} {hour} * * *"


def checkin_day(any_day: date, nominal_weekday: int = 4) -> date | None:
    """The effective check-in day of the ISO week containing ``any_day`` (see module doc)."""
    mon = week_monday(any_day)
    days = [mon + timedelta(days=i) for i in range(7)]
    candidates = [d for d in days if is_workday(d) and (d.weekday() <= nominal_weekday or d.weekday() >= 5)]
    return max(candidates) if candidates else None


def add_work_hours(start: datetime, hours: float, tz: ZoneInfo) -> datetime:
    """``start`` plus ``hours`` counted only on workdays (weekends and holidays do not count)."""
    t = start.astimezone(tz)
    remaining = timedelta(hours=hours)
    for _ in range(400):
        day_end = datetime.combine(t.date() + timedelta(days=1), time(0), tz)
        if is_workday(t.date()):
            if remaining <= day_end - t:
                return t + remaining
            remaining -= day_end - t
        t = day_end
    return t + remaining


def local(dt: datetime, tz: ZoneInfo) -> str:
    """「11月27日 16:00」 in the company time zone."""
    d = dt.astimezone(tz)
    return f"{d.month}月{d.day}日 {d:%H:%M}"
