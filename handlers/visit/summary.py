"""The managers' Monday visit summary: last week's tags and note keywords per team versus the week
before (terms up ≥ ``policy.rising_term_percent`` highlighted) and the team's points leaderboard."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services import Services
from handlers.common.calendar import week_key, week_monday
from handlers.visit import store as vstore
from nlp.jieba_import import load as load_jieba
from scheduler.registry import JobCtx, job
from storage.models import Employee

if TYPE_CHECKING:
    import jieba

DATA = Path(__file__).resolve().parents[2] / "nlp" / "data"
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_stop: set[str] = set()


def tokenizer() -> tuple[jieba.Tokenizer, set[str]]:
    """A private jieba tokenizer with the visit domain dictionary (the NLP feature's stays untouched)."""
    global _tokenizer, _stop
    with _lock:
        if _tokenizer is None:
            tk = load_jieba().Tokenizer()
            tk.initialize()
            with (DATA / "visit_userdict.txt").open("rb") as f:
                tk.load_userdict(f)
            _stop = {w.strip() for w in (DATA / "visit_stopwords.txt").read_text(encoding="utf-8").splitlines()
                     if w.strip()}
            _tokenizer = tk
    return _tokenizer, _stop


def drop_tokenizer() -> None:
    """Forget the visit tokenizer (about 60 MB of dictionary): the weekly job builds it again in a second
    rather than a serving process keeping it all week."""
    global _tokenizer
    with _lock:
        _tokenizer = None


def keywords(notes: list[str]) -> Counter[str]:
    tk, stop = tokenizer()
    c: Counter[str] = Counter()
    for note in notes:
        words = {w.strip() for w in tk.lcut(note)}
        c.update(w for w in words if len(w) >= 2 and w not in stop and not w.isdigit())
    return c


def rising(cur: Counter[str], prev: Counter[str], percent: float) -> list[tuple[str, int, int]]:
    out = []
    for term, n in cur.items():
        p = prev.get(term, 0)
        if (p == 0 and n >= 2) or (p > 0 and (n - p) * 100 / p >= percent):
            out.append((term, n, p))
    return sorted(out, key=lambda t: (-t[1], t[0]))


def _fmt(counter: Counter[str], prev: Counter[str], hot: set[str], limit: int = 8) -> str:
    if not counter:
        return "（无）"
    parts = []
    for term, n in counter.most_common(limit):
        mark = f"**🔥{term}**" if term in hot else term
        parts.append(f"{mark} {n}（前一周 {prev.get(term, 0)}）")
    return "、".join(parts)


def team_summary(services: Services, manager: Employee, team: list[Employee], at: datetime) -> str | None:
    tz = services.tz
    this_monday = week_monday(at.astimezone(tz).date())
    start = datetime.combine(this_monday - timedelta(days=7), time(0), tz)
    prev_start = start - timedelta(days=7)
    ids = [e.id for e in team]
    cur = vstore.notes_between(services.db, ids, start, start + timedelta(days=7))
    prev = vstore.notes_between(services.db, ids, prev_start, start)
    pct = services.settings.policy.rising_term_percent
    tags_cur, tags_prev = Counter(t for f in cur for t in f.tags), Counter(t for f in prev for t in f.tags)
    kw_cur, kw_prev = keywords([f.note or "" for f in cur]), keywords([f.note or "" for f in prev])
    hot_tags = {t for t, _, _ in rising(tags_cur, tags_prev, pct)}
    hot_kw = {t for t, _, _ in rising(kw_cur, kw_prev, pct)}
    board = vstore.leaderboard(services.db, ids, limit=5)
    lines = [
        f"### {manager.name} 团队 · 拜访反馈周报（{week_key(start.date())}）",
        f"上周完成反馈 {len(cur)} 条（前一周 {len(prev)} 条）。",
        f"**标签**：{_fmt(tags_cur, tags_prev, hot_tags)}",
        f"**关键词**：{_fmt(kw_cur, kw_prev, hot_kw)}",
    ]
    hot = [t for t in (*sorted(hot_tags), *sorted(hot_kw))]
    if hot:
        lines.append(f"🔥 上升明显（≥{pct:g}%）：{'、'.join(hot)}，建议在周会上聊一聊。")
    if board:
        lines.append("**积分榜**：" + "；".join(f"{i}. {name} {n} 分" for i, (_, name, n) in enumerate(board, 1)))
    return "\n".join(lines)


@job("visit_summary", cron_setting="visit_summary_cron",
     description="周一给主管发团队拜访反馈周报：标签/关键词与前一周对比（上升词高亮）和积分榜")
async def visit_summary(jctx: JobCtx) -> str:
    services = jctx.services
    staff, bosses = vstore.reps_and_managers(services.db)
    week = week_key((jctx.local_at - timedelta(days=7)).date())
    teams: dict[str, list[Employee]] = {}  # grouped once: a walk over everyone per manager grew with the square
    for e in staff:
        if e.manager_id:
            teams.setdefault(e.manager_id, []).append(e)
    sent = 0
    managers = sorted(bosses.items())
    size = services.settings.engine.fanout_chunk
    try:
        # Each chunk's summaries are written (outside any transaction: reads and keyword extraction)
        # and then queued in one insert, not one commit per manager.
        for i in range(0, len(managers), size):
            batch = [(manager, "markdown", {"title": "拜访反馈周报", "text": text}, f"visit:summary:{mid}:{week}")
                     for mid, manager in managers[i:i + size]
                     if (text := team_summary(services, manager, teams.get(mid, []), jctx.at))]
            sent += await services.messenger.send_many(batch)
            await asyncio.sleep(0)
    finally:
        drop_tokenizer()
    return f"sent {sent} team summaries for {week}"
