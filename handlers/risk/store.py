"""Stored reply analyses and HR risk flags: what the flag rules (rules.py) read, deduplication
and handling.

Deduplication: an open (or acknowledged) flag of the same employee and category absorbs new evidence;
otherwise the flag's ``dedup_key`` is ``employee:category:ISO-week`` (unique), so a flag resolved this
week absorbs further evidence of the same week instead of reappearing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select, text

from handlers.common.calendar import week_of
from handlers.risk import rules
from storage import dialect, plain
from storage.db import Database
from storage.driver import Prepared
from storage.models import CheckIn, Department, Employee, ReplyAnalysis, RiskFlag
from storage.types import utc_text

OPEN_STATUSES = ("open", "acknowledged")
HISTORY = 40  # check-in analyses the trend rule reads
STATUSES = ("open", "acknowledged", "resolved")


def get_analysis(db: Database, ref: str) -> ReplyAnalysis | None:
    with db.session() as s:
        return s.execute(select(ReplyAnalysis).where(ReplyAnalysis.ref == ref)).scalar()


@dataclass
class Context:
    """What recording new replies reads, in one query: the analyses already stored under their refs
    (a redelivered reply is not analysed twice), the employee's analyses of the last ``repeat_days``
    days (oldest first) and, when asked, their latest check-in analyses (newest first)."""

    by_ref: dict[str, ReplyAnalysis]
    recent: list[ReplyAnalysis]
    history: list[ReplyAnalysis]


def _context_query(checkin: bool) -> Any:
    mine = ReplyAnalysis.employee_id == bindparam("employee")
    wanted = [ReplyAnalysis.ref.in_(bindparam("refs", expanding=True)),
              and_(mine, ReplyAnalysis.created_at >= bindparam("since"), ReplyAnalysis.created_at <= bindparam("now"))]
    if checkin:  # the newest HISTORY check-in analyses: every row the trend rule may read is returned
        wanted.append(ReplyAnalysis.id.in_(
            select(ReplyAnalysis.id).where(mine, ReplyAnalysis.source == "checkin",
                                           ReplyAnalysis.created_at <= bindparam("now"))
            .order_by(ReplyAnalysis.created_at.desc(), ReplyAnalysis.id.desc()).limit(HISTORY)))
    return select(ReplyAnalysis).where(or_(*wanted))


# Built once (bound parameters only): building and compiling it per reply cost more than running it.
_CONTEXT = {checkin: Prepared(_context_query(checkin)) for checkin in (False, True)}


def analyses_context(db: Database, employee_id: str, refs: list[str], now: datetime, policy: rules.Rules,
                     checkin: bool) -> Context:
    since = now - timedelta(days=policy.repeat_days)
    with db.session() as s:
        rows = plain.fetch(ReplyAnalysis, s.connection(), _CONTEXT[checkin],
                           {"employee": employee_id, "refs": refs, "since": since, "now": now})
    refs_set = set(refs)
    own = [r for r in rows if r.employee_id == employee_id and r.created_at <= now]
    recent = sorted((r for r in own if r.created_at >= since), key=lambda r: (r.created_at, r.id))
    history = [] if not checkin else sorted((r for r in own if r.source == "checkin"),
                                            key=lambda r: (r.created_at, r.id), reverse=True)[:HISTORY]
    return Context({r.ref: r for r in rows if r.ref in refs_set}, recent, history)


_ANALYSES = ReplyAnalysis.__table__
_ANALYSIS_COLUMNS = tuple(c.name for c in _ANALYSES.columns if c.name != "id")
# Inserts here use ON CONFLICT (storage.dialect.insert_ignore), not a caught IntegrityError: on PostgreSQL
# an error aborts the whole transaction, and these run inside an event's unit of work.
_FORGET = delete(_ANALYSES).where(_ANALYSES.c.id.in_(bindparam("ids", expanding=True)))


def new_analysis(**values: Any) -> ReplyAnalysis:
    """An analysis to :func:`save_analyses` (every column but the id given): built without the model's
    validation, which cost more than the rest of recording a reply."""
    return plain.new(ReplyAnalysis, id=None, **values)


# PostgreSQL: a check-in's three analyses in one statement, the same text whatever their number (one
# prepared statement, no per-row round trip); the rows are one JSON parameter, as inbound acceptance's.
_SAVE_PG = Prepared(text(
    "INSERT INTO reply_analyses (employee_id, source, ref, text, sentiment, score, risks, created_at) "
    "SELECT e->>0, e->>1, e->>2, e->>3, e->>4, CAST(e->>5 AS double precision), e->6, CAST(e->>7 AS timestamp) "
    "FROM json_array_elements(CAST(:batch AS json)) WITH ORDINALITY AS t(e, n) ORDER BY n "
    "ON CONFLICT (ref) DO NOTHING RETURNING ref, id"))


def save_analyses(db: Database, rows: list[ReplyAnalysis]) -> bool:
    """Store analyses (their ids are set from it); False, storing none of them, when one of their
    ``ref`` was stored before (the same replies recorded concurrently). A reply has one to three: on
    PostgreSQL one statement for all of them; on SQLite (no round trips) one prepared insert each on the
    driver's cursor, which costs less than SQLAlchemy's multi-row insert."""
    with db.session() as s:
        conn = s.connection()
        if db.is_sqlite:
            one = dialect.insert_ignore_one(db, ReplyAnalysis, "ref", _ANALYSIS_COLUMNS, "ref", "id")
            got = {row["ref"]: row["id"] for r in rows
                   for row in one.rows(conn, {c: getattr(r, c) for c in _ANALYSIS_COLUMNS})}
        else:
            batch = json.dumps([[r.employee_id, r.source, r.ref, r.text, r.sentiment, r.score, r.risks,
                                 utc_text(r.created_at)] for r in rows], ensure_ascii=False)
            got = {row["ref"]: row["id"] for row in _SAVE_PG.rows(conn, {"batch": batch})}
        if len(got) < len(rows):
            if got:  # all or none: the rows that did go in are taken out again
                conn.execute(_FORGET, {"ids": list(got.values())})
            return False
    for r in rows:
        r.id = got[r.ref]
    return True


# Built once (bound parameters only): every flagged reply looks for the flag that absorbs it.
_FLAGS_TO_ABSORB = Prepared(select(RiskFlag).where(
    RiskFlag.employee_id == bindparam("employee"), RiskFlag.category == bindparam("category"),
    RiskFlag.status.in_(OPEN_STATUSES) | (RiskFlag.dedup_key == bindparam("key"))))


def raise_flag(db: Database, employee_id: str, category: str, rule: str, evidence: list[dict],
               now: datetime, tz: tzinfo) -> tuple[RiskFlag, bool]:
    """Create a flag, or add the evidence to the one that absorbs it. Returns (flag, created)."""
    key = f"{employee_id}:{category}:{week_of(now, tz)}"
    for _attempt in range(2):
        with db.session() as s:
            # The open flag of this category absorbs the evidence; else the one of this week (resolved).
            found = plain.fetch(RiskFlag, s.connection(), _FLAGS_TO_ABSORB,
                                {"employee": employee_id, "category": category, "key": key})
            opened = [f for f in found if f.status in OPEN_STATUSES]
            flag = max(opened, key=lambda f: f.id or 0) if opened else next(
                (f for f in found if f.dedup_key == key), None)
            if flag is not None:
                known = {e.get("analysis_id") for e in flag.evidence}
                new = [e for e in evidence if e.get("analysis_id") not in known]
                if new:
                    flag.evidence = [*flag.evidence, *new]
                    flag.updated_at = now
                    s.add(flag)
                return flag, False
        flag = RiskFlag(employee_id=employee_id, category=category, rule=rule, dedup_key=key,
                        evidence=evidence, status="open", created_at=now, updated_at=now)
        values = flag.model_dump(exclude={"id"})
        stmt = dialect.insert_ignore_one(db, RiskFlag, "dedup_key", tuple(values), "id")
        with db.session() as s:
            flag.id = stmt.scalar(s.connection(), values)
        if flag.id is not None:
            return flag, True
        # created concurrently (the other transaction committed it): absorb into it on the second pass
    raise RuntimeError(f"could not raise risk flag {key}")


def get_flag(db: Database, flag_id: int) -> RiskFlag | None:
    with db.session() as s:
        return s.get(RiskFlag, flag_id)


def set_status(db: Database, flag_id: int, status: str, by: str, now: datetime) -> tuple[RiskFlag | None, bool]:
    """Move a flag forward (open → acknowledged → resolved). Returns (flag, changed)."""
    if status not in STATUSES:
        raise ValueError(f"unknown risk flag status {status!r}; one of {STATUSES}")
    with db.session() as s:
        flag = s.get(RiskFlag, flag_id)
        if flag is None:
            return None, False
        if STATUSES.index(status) <= STATUSES.index(flag.status):
            return flag, False
        flag.status, flag.handled_by, flag.updated_at = status, by, now
        s.add(flag)
        return flag, True


def open_flags(db: Database, employee_ids: list[str] | None = None) -> list[RiskFlag]:
    with db.session() as s:
        q = select(RiskFlag).where(RiskFlag.status.in_(OPEN_STATUSES))
        if employee_ids is not None:
            q = q.where(RiskFlag.employee_id.in_(employee_ids))
        return list(s.execute(q.order_by(RiskFlag.created_at)).scalars())


def analyses_by_id(db: Database, ids: list[int]) -> dict[int, ReplyAnalysis]:
    if not ids:
        return {}
    with db.session() as s:
        return {r.id: r for r in s.execute(select(ReplyAnalysis).where(ReplyAnalysis.id.in_(ids))).scalars()
                if r.id is not None}


def people_in_care_of(db: Database, me: Employee) -> dict[str, Employee]:
    """Everyone for HR; else the people ``me`` manages or is HRBP of."""
    with db.session() as s:
        q = select(Employee)
        if me.role != "hr":
            q = q.where((Employee.manager_id == me.id) | (Employee.hrbp_id == me.id))
        return {e.id: e for e in s.execute(q).scalars()}


def digest_inputs(db: Database, at: datetime, flags_since: datetime, signals_since: datetime, week: str) -> tuple[
        dict[int, str], dict[str, Employee], list[RiskFlag], list[ReplyAnalysis], list[CheckIn]]:
    """What the HR digest reads: departments, people, open or recent flags, analyses in
    [signals_since, at] and the check-ins of ``week``."""
    with db.session() as s:
        depts = {d.id: d.name for d in s.execute(select(Department)).scalars()}
        people = {e.id: e for e in s.execute(select(Employee)).scalars()}
        flags = list(s.execute(select(RiskFlag).where(
            (RiskFlag.status.in_(OPEN_STATUSES)) | (RiskFlag.created_at >= flags_since))).scalars())
        rows = list(s.execute(select(ReplyAnalysis).where(
            ReplyAnalysis.created_at >= signals_since, ReplyAnalysis.created_at <= at)).scalars())
        checkins = list(s.execute(select(CheckIn).where(CheckIn.week == week)).scalars())
    return depts, people, flags, rows, checkins
