"""Apply a platform ``Snapshot`` to the organisation tables, and say what changed.

The platform owns: names, department membership and tree, managers (the platform's direct manager,
else the leader of the person's department, else of the nearest parent department with one),
department heads and the platform ids. Everything imported locally stays: role, HRBP, weekly capacity,
e-mail (filled in only when empty), team-group ids. Departments are matched on the platform id, then
on the name; people on the platform user id, then on the e-mail. Nobody is deleted: a person the
platform no longer lists is deactivated, their open tasks and pending approvals go to their manager,
and people they managed report to that manager until the platform says otherwise. When too many
would leave at once (``[policy] directory_max_leavers_percent``), nobody is deactivated and HR is told.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from bot.directory import PDept, Snapshot
from storage import identity
from storage.db import Database
from storage.models import AdjustmentRequest, Department, Employee, Task

OPEN_TASK = ("todo", "doing")
MIN_HELD = 3  # this many leavers at once are never held back, whatever the share


@dataclass
class Changes:
    new_departments: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    joined: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    returned: list[tuple[str, str]] = field(default_factory=list)
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # (name, old dept, new dept)
    managers: list[tuple[str, str, str]] = field(default_factory=list)  # (name, old manager, new manager)
    left: list[tuple[str, str, str, int]] = field(default_factory=list)  # (id, name, manager name, items moved)
    held: list[tuple[str, str]] = field(default_factory=list)  # (id, name): would leave, too many at once
    gone_departments: list[str] = field(default_factory=list)  # no longer on the platform (kept, unmapped)

    def any(self) -> bool:
        return any((self.new_departments, self.renamed, self.joined, self.returned, self.moved, self.managers,
                    self.left, self.held, self.gone_departments))


def _ordered(depts: list[PDept]) -> list[PDept]:
    """Parents before children (one pass per level of the tree: each department is split off by its
    own parent, never looked up in the list of those still waiting, which grew with the square)."""
    known = {d.pid for d in depts}
    out: list[PDept] = []
    placed: set[str] = set()
    pending = list(depts)
    while pending:
        rest: list[PDept] = []
        ready: list[PDept] = []
        for d in pending:
            (rest if d.parent in known and d.parent not in placed else ready).append(d)
        out.extend(ready)
        placed.update(d.pid for d in ready)
        if len(rest) == len(pending):  # a cycle: take the rest as they come
            out.extend(rest)
            break
        pending = rest
    return out


def _departments(s: Session, snap: Snapshot, ch: Changes) -> dict[str, Department]:
    col = f"{snap.platform}_dept_id"
    by_pid = {getattr(d, col): d for d in s.execute(select(Department).where(getattr(Department, col).is_not(None)))
              .scalars()}
    by_name = {d.name: d for d in s.execute(select(Department)).scalars()}
    mapped: dict[str, Department] = {}
    for pd in _ordered(snap.depts):
        parent = mapped.get(pd.parent) if pd.parent else None
        d = by_pid.get(pd.pid)
        if d is None:
            d = by_name.get(pd.name)
            if d is not None and getattr(d, col) not in (None, pd.pid):
                d = None  # the same name belongs to another platform department
        name = pd.name
        if by_name.get(name) not in (None, d):
            name = f"{parent.name}/{pd.name}" if parent else f"{pd.name}（{pd.pid}）"
        if d is None:
            d = Department(name=name)
            ch.new_departments.append(name)
        elif d.name != name:
            ch.renamed.append((d.name, name))
            by_name.pop(d.name, None)
            d.name = name
        setattr(d, col, pd.pid)
        d.parent_id = parent.id if parent else None
        s.add(d)
        s.flush()
        by_name[d.name] = d
        mapped[pd.pid] = d
    for pid, d in by_pid.items():
        if pid not in mapped:  # gone from the platform: kept here, unmapped so it is reported once
            setattr(d, col, None)
            s.add(d)
            ch.gone_departments.append(d.name)
    s.flush()
    return mapped


def _manager(snap: Snapshot, uid: str, by_pid: dict[str, PDept]) -> str | None:
    """The platform's manager of ``uid``: direct manager, else a leader up the department tree."""
    u = snap.users[uid]
    if u.manager and u.manager in snap.users:
        return u.manager
    pid: str | None = u.depts[0] if u.depts else None
    while pid is not None and pid in by_pid:
        leaders = [x for x in by_pid[pid].leaders if x != uid and x in snap.users]
        if leaders:
            return leaders[0]
        pid = by_pid[pid].parent
    return None


def apply(db: Database, snap: Snapshot, dry_run: bool = False, max_leavers_percent: float = 20.0) -> Changes:
    """Bring the tables in line with ``snap``; with ``dry_run`` compute the changes and write nothing.
    When more than ``max_leavers_percent`` of the people known on this platform (and more than
    ``MIN_HELD``) would leave at once, nobody is deactivated: they are listed in ``held`` instead."""
    ch = Changes()
    ucol = f"{snap.platform}_userid"
    with db.session() as s:
        depts = _departments(s, snap, ch)
        dept_names = {d.id: d.name for d in s.execute(select(Department)).scalars()}
        everyone = {e.id: e for e in s.execute(select(Employee)).scalars()}
        by_uid = {getattr(e, ucol): e for e in everyone.values() if getattr(e, ucol)}
        by_email = {e.email.lower(): e for e in everyone.values() if e.email and not getattr(e, ucol)}
        leads = {uid for d in snap.depts for uid in d.leaders}
        emp_of: dict[str, Employee] = {}
        for uid, pu in snap.users.items():
            e = by_uid.get(uid) or (by_email.get(pu.email.lower()) if pu.email else None)
            if e is None:
                e = Employee(id=f"{snap.platform}:{uid}"[:64], name=pu.name, role="manager" if uid in leads else "employee")
                ch.joined.append((e.id, pu.name))
                everyone[e.id] = e
            elif not e.active:
                ch.returned.append((e.id, pu.name))
            dept = depts.get(pu.depts[0]) if pu.depts else None
            if e.department_id is not None and dept is not None and e.department_id != dept.id:
                ch.moved.append((pu.name, dept_names.get(e.department_id, "?"), dept.name))
            e.name, e.active = pu.name, True
            e.department_id = dept.id if dept else e.department_id
            setattr(e, ucol, uid)
            e.email = e.email or pu.email
            s.add(e)
            emp_of[uid] = e
        s.flush()
        by_pid = {d.pid: d for d in snap.depts}
        joined = set(ch.joined)  # a first sync joins everyone: not a walk over the list per person
        for uid, e in emp_of.items():
            muid = _manager(snap, uid, by_pid)
            if muid is None or emp_of[muid].id == e.manager_id:
                continue  # the platform names no manager (the top of the tree): keep the imported one
            if (e.id, e.name) not in joined:
                old = everyone.get(e.manager_id or "")
                ch.managers.append((e.name, old.name if old else "无", emp_of[muid].name))
            e.manager_id = emp_of[muid].id
            s.add(e)
        for pd in snap.depts:
            leaders = [emp_of[x].id for x in pd.leaders if x in emp_of]
            if leaders and depts[pd.pid].head_id not in leaders:
                depts[pd.pid].head_id = leaders[0]
                s.add(depts[pd.pid])
        gone = [e for e in by_uid.values() if e.active and getattr(e, ucol) not in snap.users]
        mapped = sum(1 for e in by_uid.values() if e.active)
        if len(gone) > MIN_HELD and len(gone) * 100 > max_leavers_percent * mapped:
            ch.held = [(e.id, e.name) for e in gone]  # a narrowed visibility scope, not a wave of leavers
        else:
            ch.left = [_deactivate(s, e, everyone) for e in gone]
        if dry_run:
            s.rollback()
        else:
            identity.bump(db, s)  # in this transaction: every process drops its cached identities
    if not dry_run:
        identity.invalidate()  # platform ids, managers and leavers changed: drop cached identities
    return ch


def _deactivate(s: Session, e: Employee, everyone: dict[str, Employee]) -> tuple[str, str, str, int]:
    """Deactivate ``e`` and hand their open items to their manager: (id, name, manager name, items moved)."""
    e.active = False
    s.add(e)
    mgr = everyone.get(e.manager_id or "")
    mgr = mgr if mgr is not None and mgr.active else None
    moved = 0
    if mgr is not None:
        for t in s.execute(select(Task).where(Task.owner_id == e.id, Task.status.in_(OPEN_TASK))).scalars():
            t.owner_id = mgr.id
            s.add(t)
            moved += 1
        for r in s.execute(select(AdjustmentRequest).where(AdjustmentRequest.approver_id == e.id,
                                                           AdjustmentRequest.status == "pending")).scalars():
            r.approver_id = mgr.id
            s.add(r)
            moved += 1
        for report in s.execute(select(Employee).where(Employee.manager_id == e.id, Employee.active)).scalars():
            report.manager_id = mgr.id
            s.add(report)
    s.flush()
    return e.id, e.name, mgr.name if mgr else "", moved
