"""Company calendar: ISO weeks, Chinese public holidays and make-up workdays (调休).

Rules (documented for operators):

* **Check-in day.** The check-in cron's weekday (default Friday) is the *nominal* day. The push goes
  out on the latest workday of that ISO week (Mon–Sun) that is on or before the nominal day, or on a
  later make-up workday (调休 Saturday/Sunday) of the same week if there is one — i.e. on the last
  working day of the week. A week without any workday gets no check-in. The job runs daily at the
  cron's hour:minute and pushes only on that effective day.
* **Escalation hours** count only time on workdays: a reminder due "24 h after Friday 16:00" is sent
  on Monday 16:00, never over a weekend or holiday.
* **Coverage.** ``chinesecalendar`` ships the State Council's holidays and 调休 days for the years it
  knows. For a year it does not cover, only the fixed-date statutory holidays are known (元旦 1/1,
  劳动节 5/1–5/2, 国庆节 10/1–10/3, see ``FIXED_HOLIDAYS``); ``coverage_warning`` says so (logged at
  start-up and by ``checkin_push``). ``[calendar] extra_holidays`` / ``extra_workdays`` (operator
  additions) win over both.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.config import CalendarSettings

# Fixed-date statutory holidays (全国年节及纪念日放假办法): the fallback for years chinesecalendar lacks.
FIXED_HOLIDAYS = {(1, 1): "元旦", (5, 1): "劳动节", (5, 2): "劳动节",
                  (10, 1): "国庆节", (10, 2): "国庆节", (10, 3): "国庆节"}


def library_covers(year: int) -> bool:
    """Whether chinesecalendar has the announced holidays and 调休 days of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def coverage_warning(year: int, cal: CalendarSettings | None = None) -> str | None:
    """One line for the operator when ``year`` has no maintained holiday data, else None."""
    if library_covers(year):
        return None
    if cal is not None and any(d.year == year for d in cal.holidays() | cal.workdays()):
        return None  # the operator entered that year's announcement in [calendar]
    return (f"holiday calendar: chinesecalendar has no data for {year}; only 元旦, 劳动节 and 国庆节 are "
            f"treated as holidays. Upgrade chinesecalendar or add that year's holidays and make-up days "
            f"to [calendar] extra_holidays / extra_workdays.")


def is_workday(d: date, cal: CalendarSettings | None = None) -> bool:
    """Workday per the operator's additions, then the maintained holiday calendar; outside its
    covered years, Mon–Fri except the fixed-date statutory holidays."""
    if cal is not None:
        if d in cal.workdays():
            return True
        if d in cal.holidays():
            return False
    return _maintained_workday(d)


@functools.lru_cache(maxsize=8192)
def _maintained_workday(d: date) -> bool:
    """chinesecalendar's answer (cached: it scans its whole holiday table to validate each date,
    and answers count working days over months, per message)."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5 and (d.month, d.day) not in FIXED_HOLIDAYS


def week_key(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def week_of(at: datetime, tz: tzinfo) -> str:
    """The ISO week key of the instant ``at`` in the company time zone."""
    return week_key(at.astimezone(tz).date())


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


def checkin_day(any_day: date, nominal_weekday: int = 4, cal: CalendarSettings | None = None) -> date | None:
    """The effective check-in day of the ISO week containing ``any_day`` (see module doc)."""
    mon = week_monday(any_day)
    days = [mon + timedelta(days=i) for i in range(7)]
    candidates = [d for d in days if is_workday(d, cal) and (d.weekday() <= nominal_weekday or d.weekday() >= 5)]
    return max(candidates) if candidates else None


def add_work_hours(start: datetime, hours: float, tz: ZoneInfo, cal: CalendarSettings | None = None) -> datetime:
    """``start`` plus ``hours`` counted only on workdays (weekends and holidays do not count)."""
    t = start.astimezone(tz)
    remaining = timedelta(hours=hours)
    for _ in range(400):
        day_end = datetime.combine(t.date() + timedelta(days=1), time(0), tz)
        if is_workday(t.date(), cal):
            if remaining <= day_end - t:
                return t + remaining
            remaining -= day_end - t
        t = day_end
    return t + remaining


def local(dt: datetime, tz: tzinfo) -> str:
    """「11月27日 16:00」 in the company time zone."""
    d = dt.astimezone(tz)
    return f"{d.month}月{d.day}日 {d:%H:%M}"


def month_day(d: date) -> str:
    """「11月27日」"""
    return f"{d.month}月{d.day}日"


def local_day(dt: datetime, tz: tzinfo) -> str:
    """「11月27日」 in the company time zone."""
    return month_day(dt.astimezone(tz).date())


def local_short(dt: datetime | None, tz: tzinfo) -> str:
    """「11-27 16:00」 in the company time zone (「—」 when unset): compact, for card fields."""
    return "—" if dt is None else dt.astimezone(tz).strftime("%m-%d %H:%M")
