"""Time-period extraction for questions to the bot.

``parse_period(text, today)`` finds the period a question talks about and
resolves it to a half-open date range ``[start, end)``.

Labels (the first group is the evaluation label set, see
``../shared/data/README.md``; the rest are resolved for the handlers but are
never expected by the dev set):

=====================  ==============================================  =========================
label                  examples                                        range
=====================  ==============================================  =========================
``this_week``          本周, 这周, 这礼拜, 本週, this week               Monday .. next Monday
``last_week``          上周, 上个星期, 上礼拜, last week                 previous Monday .. Monday
``this_month``         本月, 这个月, 当月, 本月底, this month            1st .. 1st of next month
``last_month``         上个月, 上月, last month
``this_quarter``       本季度, 这个季度, 本季, this quarter              calendar quarters
``last_quarter``       上季度, 上个季度, last quarter
``month:N``            9月, 9月份, 九月, 十二月, 2025年9月, Sept        see "Bare months" below
``quarter:N``          Q3, 第三季度, 三季度, 3季度, 2025年Q3           see "Bare months" below
``week_before_last``   上上周, 上上个星期
``month_before_last``  上上个月
``quarter_before_last`` 上上季度
``next_week``          下周, 下个星期, 下礼拜
``next_month``         下个月, 下月
``next_quarter``       下季度, 下个季度
``this_year``          今年, 本年度, 本年, this year                    Jan 1 .. next Jan 1
``last_year``          去年, 上一年, last year
``next_year``          明年
``recent``             最近两周, 近7天, 过去3个月, 最近半个月           (today - N) + 1 day .. tomorrow
``until``              周五前, 下周三前, 本周五之前, 明天之前,          today .. deadline + 1 day
                       月底前, 11月30日前, 30号前
=====================  ==============================================  =========================

Rules worth knowing:

* **Bare months and quarters** (``9月``, ``Q3`` with no year) resolve to the most
  recent such month/quarter that has already *started*: if today is in or after
  September, ``9月`` is September of this year, otherwise September of last year.
  ``今年9月`` / ``2026年9月`` pin the year explicitly (``去年``/``明年`` too).
* **No period**: text that names none, and terms that only name a *kind* of target
  (``年度目标``, ``季度目标``, ``月度计划``, ``周报``) return ``Period(None, None, None)``.
  Single days (今天, 明天, 周五 without 前) are not periods either, matching the dataset
  (``明天会下雨吗`` → null, ``周五团建去哪`` → null). ``最近`` without a count
  (``最近一次的反馈``) is not a period.
* **Several periods**: a deadline wins; otherwise the first one mentioned wins
  (``我上周填的下周计划`` → ``last_week``).
* Weeks start on Monday.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

__all__ = ["Period", "parse_period", "normalize_text"]


@dataclass(frozen=True)
class Period:
    label: str | None
    start: date | None
    end: date | None  # exclusive


NO_PERIOD = Period(None, None, None)

# --------------------------------------------------------------------------- text normalisation

# Traditional characters that matter for time expressions (the full table lives in intent.py's data).
_T2S_MIN = str.maketrans({"週": "周", "個": "个", "來": "来", "這": "这", "後": "后", "內": "内", "兩": "两", "號": "号", "禮": "礼"})


@lru_cache(maxsize=4096)
def normalize_text(text: str) -> str:
    """NFKC (full-width → half-width), lower-case, minimal traditional → simplified."""
    return unicodedata.normalize("NFKC", text).lower().translate(_T2S_MIN)


# --------------------------------------------------------------------------- date helpers


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    idx = year * 12 + (month - 1) + delta
    return idx // 12, idx % 12 + 1


def _month_range(year: int, month: int) -> tuple[date, date]:
    ny, nm = _add_months(year, month, 1)
    return date(year, month, 1), date(ny, nm, 1)


def _quarter_range(year: int, q: int) -> tuple[date, date]:
    start = date(year, 3 * (q - 1) + 1, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, end


def _shift_day(d: date, months: int) -> date:
    y, m = _add_months(d.year, d.month, months)
    last = (_month_range(y, m)[1] - timedelta(days=1)).day
    return date(y, m, min(d.day, last))


# --------------------------------------------------------------------------- numbers

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _cn_to_int(s: str) -> int | None:
    """'9' / '九' / '十二' / '二十' / '半' → int (半 is handled by callers)."""
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if s == "十":
        return 10
    if "十" in s:
        left, _, right = s.partition("十")
        tens = _CN_DIGITS.get(left, 1) if left else 1
        ones = _CN_DIGITS.get(right, 0) if right else 0
        return tens * 10 + ones
    if len(s) == 1:
        return _CN_DIGITS.get(s)
    return None


_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_EN_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

# --------------------------------------------------------------------------- patterns

_WEEK = r"(?:周|星期|礼拜|个星期|个礼拜|个周|一周|一个星期|一个礼拜|週)"
_BEFORE = r"(?:之前|以前|前|截止|为止)"
_YEAR = r"(?:(?P<yr>20\d{2}|\d{2})年|(?P<yw>今年|去年|明年|本年|前年))?"

# deadlines: (这|本|下|下个)?周X前, 明天前, 月底前, N月N日前, N号前
_RE_DEADLINE_WEEKDAY = re.compile(
    r"(?P<rel>下下|下个|下|这个|这|本)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天末1-7])(?:下班)?" + _BEFORE
)
_RE_DEADLINE_DAY = re.compile(r"(?P<d>今天|明天|后天)(?:下班)?" + _BEFORE)
_RE_DEADLINE_MONTH_END = re.compile(r"(?P<rel>本|这个|这|下个|下)?月底" + _BEFORE)
_RE_DEADLINE_DATE = re.compile(
    r"(?:(?P<m>\d{1,2}|十[一二]?|[一二三四五六七八九])月)?(?P<d>\d{1,2})(?:日|号)" + _BEFORE
)

_RE_RECENT = re.compile(
    r"(?:最近|近|过去|前)(?:的)?(?P<n>\d{1,3}|[一二两三四五六七八九十]{1,3}|半)(?:个)?(?P<u>天|日|周|星期|礼拜|个月|月|季度|年)"
)
_RE_RECENT_EN = re.compile(r"(?:last|past)\s+(?P<n>\d{1,3})\s+(?P<u>days?|weeks?|months?)")

_RE_MONTH = re.compile(
    _YEAR + r"(?<![\d个几每上下这本当一])(?P<m>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])月(?!\d{1,2}[日号])(?:份)?"
)
_RE_MONTH_DAY = re.compile(r"(?P<m>1[0-2]|0?[1-9])月(?P<d>\d{1,2})(?:日|号)")
_RE_MONTH_EN = re.compile(
    r"\b(?P<m>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
)
_RE_QUARTER = re.compile(
    _YEAR + r"(?:(?<![a-z])q(?P<q1>[1-4])(?![0-9])|第(?P<q2>[一二三四1-4])(?:季度|季)|(?<![上下这本当第个每几0-9])(?P<q3>[一二三四1-4])季度)"
)

# relative words → label; order matters (longer first)
_RELATIVE: list[tuple[str, str]] = [
    (r"上上(?:个)?" + r"(?:周|星期|礼拜)", "week_before_last"),
    (r"上上(?:个)?月", "month_before_last"),
    (r"上上(?:个)?季度?", "quarter_before_last"),
    (r"(?:本|这|这个|这一|当|今个)(?:周|星期|礼拜)|this week", "this_week"),  # 今个礼拜: Cantonese
    (r"上(?:一|个|一个)?(?:周|星期|礼拜)|last week", "last_week"),
    (r"下(?:一|个|一个)?(?:周|星期|礼拜)|next week", "next_week"),
    (r"(?:本|这|这个|这一|当|今个)月|this month", "this_month"),
    (r"上(?:一|个|一个)?月|last month", "last_month"),
    (r"下(?:一|个|一个)?月|next month", "next_month"),
    (r"(?:本|这|这个|这一|当|今个|今)季(?:度)?|this quarter", "this_quarter"),
    (r"上(?:一|个|一个)?季(?:度)?|last quarter", "last_quarter"),
    (r"下(?:一|个|一个)?季(?:度)?|next quarter", "next_quarter"),
    (r"今年|本年度|本年|这一年|this year", "this_year"),
    (r"去年|上一年|last year", "last_year"),
    (r"明年|next year", "next_year"),
]
_RE_RELATIVE = [(re.compile(p), label) for p, label in _RELATIVE]

# 上周 must not fire inside 上上周; 下周三前 etc. are masked beforehand.
_RE_GUARD_PREFIX = {"last_week": "上", "last_month": "上", "last_quarter": "上"}


def _year_for(m: re.Match[str], today: date) -> int | None:
    yr = m.groupdict().get("yr")
    yw = m.groupdict().get("yw")
    if yr:
        y = int(yr)
        return y + 2000 if y < 100 else y
    if yw:
        return {"今年": today.year, "本年": today.year, "去年": today.year - 1,
                "前年": today.year - 2, "明年": today.year + 1}[yw]
    return None


def _relative_period(label: str, today: date) -> Period:
    ws = _week_start(today)
    if label.endswith("week") or label == "week_before_last":
        off = {"this_week": 0, "last_week": -1, "next_week": 1, "week_before_last": -2}[label]
        s = ws + timedelta(weeks=off)
        return Period(label, s, s + timedelta(weeks=1))
    if label.endswith("month") or label == "month_before_last":
        off = {"this_month": 0, "last_month": -1, "next_month": 1, "month_before_last": -2}[label]
        y, m = _add_months(today.year, today.month, off)
        return Period(label, *_month_range(y, m))
    if label.endswith("quarter") or label == "quarter_before_last":
        off = {"this_quarter": 0, "last_quarter": -1, "next_quarter": 1, "quarter_before_last": -2}[label]
        qi = today.year * 4 + (today.month - 1) // 3 + off
        return Period(label, *_quarter_range(qi // 4, qi % 4 + 1))
    off = {"this_year": 0, "last_year": -1, "next_year": 1}[label]
    return Period(label, date(today.year + off, 1, 1), date(today.year + off + 1, 1, 1))


def _until(deadline: date, today: date) -> Period:
    return Period("until", today, deadline + timedelta(days=1))


# --------------------------------------------------------------------------- main entry


def _find_deadline(t: str, today: date) -> tuple[int, Period] | None:
    found: list[tuple[int, Period]] = []
    for m in _RE_DEADLINE_WEEKDAY.finditer(t):
        wd = _WEEKDAY[m.group("wd")]
        rel = m.group("rel") or ""
        ws = _week_start(today)
        if rel.startswith("下下"):
            d = ws + timedelta(weeks=2, days=wd)
        elif rel.startswith("下"):
            d = ws + timedelta(weeks=1, days=wd)
        else:
            d = ws + timedelta(days=wd)
            if not rel and d < today:  # bare 周五前 said on Saturday → the coming Friday
                d += timedelta(weeks=1)
        found.append((m.start(), _until(d, today)))
    for m in _RE_DEADLINE_DAY.finditer(t):
        d = today + timedelta(days={"今天": 0, "明天": 1, "后天": 2}[m.group("d")])
        found.append((m.start(), _until(d, today)))
    for m in _RE_DEADLINE_MONTH_END.finditer(t):
        off = 1 if (m.group("rel") or "").startswith("下") else 0
        y, mo = _add_months(today.year, today.month, off)
        found.append((m.start(), _until(_month_range(y, mo)[1] - timedelta(days=1), today)))
    for m in _RE_DEADLINE_DATE.finditer(t):
        mo = _cn_to_int(m.group("m")) if m.group("m") else today.month
        day = int(m.group("d"))
        if not mo or not 1 <= mo <= 12:
            continue
        year = today.year
        try:
            d = date(year, mo, day)
            if d < today:  # a deadline is in the future: 1月10日前 said in November → next year
                d = date(year + 1, mo, day) if m.group("m") else _shift_day(d, 1)
        except ValueError:
            continue
        found.append((m.start(), _until(d, today)))
    return min(found, key=lambda x: x[0]) if found else None


def _recent(n_raw: str, unit: str, today: date) -> Period | None:
    end = today + timedelta(days=1)
    if n_raw == "半":
        if unit in ("个月", "月"):
            return Period("recent", end - timedelta(days=15), end)
        if unit == "年":
            return Period("recent", _shift_day(today, -6) + timedelta(days=1), end)
        return None
    n = _cn_to_int(n_raw)
    if not n:
        return None
    if unit in ("天", "日", "day", "days"):
        return Period("recent", end - timedelta(days=n), end)
    if unit in ("周", "星期", "礼拜", "week", "weeks"):
        return Period("recent", end - timedelta(weeks=n), end)
    months = {"个月": 1, "月": 1, "month": 1, "months": 1, "季度": 3, "年": 12}[unit]
    return Period("recent", _shift_day(today, -months * n) + timedelta(days=1), end)


def parse_period(text: str, today: date) -> Period:
    """Return the period ``text`` talks about, resolved relative to ``today``."""
    t = normalize_text(text)
    dl = _find_deadline(t, today)
    if dl is not None:
        return dl[1]

    cands: list[tuple[int, Period]] = []

    masked = t
    for rx in (_RE_RECENT, _RE_RECENT_EN):
        for m in rx.finditer(t):
            p = _recent(m.group("n"), m.group("u"), today)
            if p:
                cands.append((m.start(), p))
                # keep 近两个月 from also matching 上个月-like patterns inside it
                masked = masked[: m.start()] + "#" * (m.end() - m.start()) + masked[m.end():]

    for rx, label in _RE_RELATIVE:
        for m in rx.finditer(masked):
            s = m.start()
            if label in _RE_GUARD_PREFIX and s > 0 and masked[s - 1] == "上":
                continue  # part of 上上周
            cands.append((s, _relative_period(label, today)))

    for m in _RE_MONTH.finditer(masked):
        mo = _cn_to_int(m.group("m"))
        if not mo or not 1 <= mo <= 12:
            continue
        year = _year_for(m, today)
        if year is None:
            year = today.year if mo <= today.month else today.year - 1
        cands.append((m.start(), Period(f"month:{mo}", *_month_range(year, mo))))
    for m in _RE_MONTH_EN.finditer(masked):
        key = m.group("m")
        if key == "may" and not re.search(r"\bin may\b|may \d", masked):
            continue  # the modal verb
        mo = _EN_MONTHS[key]
        year = today.year if mo <= today.month else today.year - 1
        cands.append((m.start(), Period(f"month:{mo}", *_month_range(year, mo))))

    for m in _RE_QUARTER.finditer(masked):
        raw = m.group("q1") or m.group("q2") or m.group("q3")
        q = _cn_to_int(raw)
        if not q or not 1 <= q <= 4:
            continue
        year = _year_for(m, today)
        cur_q = (today.month - 1) // 3 + 1
        if year is None:
            year = today.year if q <= cur_q else today.year - 1
        cands.append((m.start(), Period(f"quarter:{q}", *_quarter_range(year, q))))

    if not cands:
        return NO_PERIOD
    # a year prefix (今年9月) is part of the month/quarter expression: prefer the more specific one
    cands.sort(key=lambda c: (c[0], c[1].label in ("this_year", "last_year", "next_year")))
    first_pos, first = cands[0]
    if first.label in ("this_year", "last_year", "next_year"):
        for pos, p in cands[1:]:
            if pos <= first_pos + 4 and p.label and p.label.startswith(("month:", "quarter:")):
                return p
    return first
