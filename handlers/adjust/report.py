"""HR report: how long target-adjustment decisions take, per approver and overall.

``python -m bot report adjustments [--json]`` prints ``adjustment_report(db)["text"]`` or the dict.
Decision time runs from when the request reached the deciding approver (the escalation time if it
was escalated to them, else the request time) to the decision; "overall" runs from the request.
Percentiles use linear interpolation between closest ranks (p50 = the median).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.adjust import store as adj
from storage.db import Database
from storage.models import AdjustmentRequest

DECIDED = ("approved", "rejected")


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600.0


def _stats(hours: list[float]) -> dict[str, Any]:
    med, p90 = percentile(hours, 0.5), percentile(hours, 0.9)
    return {"decided": len(hours),
            "median_hours": None if med is None else round(med, 2),
            "p90_hours": None if p90 is None else round(p90, 2)}


def _fmt_hours(h: float | None) -> str:
    if h is None:
        return "—"
    return f"{h * 60:.0f} 分钟" if h < 1 else f"{h:.1f} 小时"


def adjustment_report(db: Database) -> dict[str, Any]:
    requests = adj.all_requests(db)
    decided = [r for r in requests if r.status in DECIDED and r.decided_at is not None]
    overall = _stats([_hours(r.created_at, r.decided_at) for r in decided if r.decided_at])
    overall.update({
        "requests": len(requests),
        "pending": sum(r.status == "pending" for r in requests),
        "approved": sum(r.status == "approved" for r in requests),
        "rejected": sum(r.status == "rejected" for r in requests),
    })
    by_approver: dict[str, list[AdjustmentRequest]] = {}
    for r in decided:
        by_approver.setdefault(r.decided_by or "?", []).append(r)
    approvers = []
    for approver_id, rows in sorted(by_approver.items()):
        emp = adj.employee(db, approver_id)
        st = _stats([_hours(r.escalated_at or r.manager_approved_at or r.created_at, r.decided_at) for r in rows if r.decided_at])
        st.update({"approver_id": approver_id, "name": emp.name if emp else approver_id,
                   "approved": sum(r.status == "approved" for r in rows),
                   "rejected": sum(r.status == "rejected" for r in rows)})
        approvers.append(st)
    lines = [f"目标调整审批用时：共 {overall['requests']} 条申请，已决定 {overall['decided']} 条"
             f"（批准 {overall['approved']}，驳回 {overall['rejected']}），待审批 {overall['pending']} 条。"]
    if decided:
        lines.append(f"整体：中位数 {_fmt_hours(overall['median_hours'])}，P90 {_fmt_hours(overall['p90_hours'])}")
        for a in approvers:
            lines.append(f"· {a['name']}（{a['approver_id']}）：{a['decided']} 条，中位数 "
                         f"{_fmt_hours(a['median_hours'])}，P90 {_fmt_hours(a['p90_hours'])}")
    else:
        lines.append("暂无已决定的申请。")
    return {"overall": overall, "approvers": approvers, "text": "\n".join(lines)}
