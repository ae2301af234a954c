"""Directory sync: departments and people from WeCom and DingTalk (``directory_sync`` job, daily at
``[schedule] directory_sync_cron``; ``python -m bot sync directory [--dry-run]`` by hand).

Every configured platform is read completely first (the channels' contacts readers,
``bot/channels/*/directory.py``, injected by the app as ``services.directory_readers``); a platform that fails, or lists
nobody, changes nothing. Then ``store.apply`` maps it onto the tables (see its docstring for what the
platform owns and what stays), and HR (every active employee with role ``hr``) gets one summary of
what changed: new departments, renames, people who joined, came back, moved, changed manager, and
people who left (deactivated, with how many open items went to their manager).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.directory import DirectoryError
from bot.router import Router
from handlers.directory import store
from scheduler.registry import JobCtx, job
from storage import employees

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
router = Router("directory")


SHOW = 15  # changes of one kind listed by name in the HR summary; the rest are counted


def _some(lines: list[str], what: str) -> list[str]:
    if len(lines) <= SHOW:
        return lines
    return lines[:SHOW] + [f"· ……另有 {len(lines) - SHOW} {what}"]


def summary(platform: str, ch: store.Changes) -> str:
    """The HR summary of one sync (friendly Chinese, one line per change, long lists shortened)."""
    name = {"wecom": "企业微信", "dingtalk": "钉钉"}[platform]
    left = []
    for i, n, mgr, moved in ch.left:
        handed = (f"{moved} 项未完成事项已转给 {mgr}" if moved else f"直属下属已改由 {mgr} 管理") if mgr else \
            "没有上级可接手，请手动安排其未完成事项"
        left.append(f"· 已离开：{n}（{i}），账号已停用，{handed}")
    if ch.held:
        names = "、".join(n for _i, n in ch.held[:SHOW]) + (f" 等 {len(ch.held)} 人" if len(ch.held) > SHOW else "")
        left.append(f"· 有 {len(ch.held)} 人不再出现在通讯录中（{names}），一次离开的人数超过 "
                    f"directory_max_leavers_percent，为防止误停用，本次没有停用任何人。请检查应用的可见范围；"
                    f"如确实离职，调高该设置后重新同步。")
    return "\n".join([f"通讯录同步（{name}）有以下变化：",
                      *_some([f"· 新部门：{d}" for d in ch.new_departments], "个新部门"),
                      *_some([f"· 部门改名：{a} → {b}" for a, b in ch.renamed], "个部门改名"),
                      *_some([f"· 通讯录中已没有的部门：{d}（保留，未删除）" for d in ch.gone_departments], "个部门"),
                      *_some([f"· 新同事：{n}（{i}）" for i, n in ch.joined], "位新同事"),
                      *_some([f"· 重新启用：{n}（{i}）" for i, n in ch.returned], "位重新启用"),
                      *_some([f"· 调岗：{n}，{a} → {b}" for n, a, b in ch.moved], "位调岗"),
                      *_some([f"· 上级变更：{n}，{a} → {b}" for n, a, b in ch.managers], "位上级变更"),
                      *left])


async def sync_directory(services: Services, at: datetime, dry_run: bool = False) -> tuple[bool, list[str]]:
    """Sync every configured platform: (all succeeded, one result line per platform)."""
    settings, out, ok = services.settings, [], True
    readers = list(services.directory_readers.items())  # injected by the app: the configured platforms
    if not readers:
        return False, ["directory sync: neither [wecom] nor [dingtalk] is configured; nothing to sync"]
    for name, read in readers:
        try:
            snap = await read()
        except DirectoryError as exc:
            log.error("directory sync: %s", exc)
            out.append(f"{name}: failed, nothing changed: {exc}")
            ok = False
            continue
        if not snap.users:
            out.append(f"{name}: the platform lists nobody (check the app's visibility scope); nothing changed")
            ok = False
            continue
        changes = store.apply(services.db, snap, dry_run=dry_run,
                              max_leavers_percent=settings.policy.directory_max_leavers_percent)
        text = summary(name, changes)
        counts = (f"{len(snap.depts)} departments, {len(snap.users)} people; {len(changes.joined)} joined, "
                  f"{len(changes.left)} left, {len(changes.managers)} manager changes, {len(changes.moved)} moved"
                  + (f"; {len(changes.held)} not deactivated (more than directory_max_leavers_percent at once)"
                     if changes.held else ""))
        if dry_run:
            out.append(f"{name} (dry run, nothing written): {counts}" + ("\n" + text if changes.any() else ""))
            continue
        if changes.any():
            log.info("directory sync: %s", text)
        sent = await _tell_hr(services, name, at, text) if changes.any() else 0
        out.append(f"{name}: {counts}; summary sent to {sent} HR")
    return ok, out


async def _tell_hr(services: Services, platform: str, at: datetime, text: str) -> int:
    hr = employees.active_with_role(services.db, "hr")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    day = at.astimezone(services.tz).date().isoformat()
    sent = 0
    for person in hr:
        if await services.messenger.send_text(person, text, f"directory:{platform}:{day}:{digest}:{person.id}"):
            sent += 1
    return sent


@job("directory_sync", cron_setting="directory_sync_cron",
     description="通讯录同步：从企业微信/钉钉同步部门、人员和上级，离职人员停用并把未完成事项交给上级，变化汇总发给 HR")
async def directory_sync(jctx: JobCtx) -> str:
    _ok, lines = await sync_directory(jctx.services, jctx.at)
    return "\n".join(lines)


jobs = [directory_sync]  # the feature's jobs, for the app to register
