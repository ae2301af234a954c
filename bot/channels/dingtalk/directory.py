"""DingTalk contacts (通讯录) reader for the directory sync, on the legacy oapi host
(``[dingtalk] oapi_base``, ``?access_token=`` from the OpenAPI token): ``topapi/v2/department/get``
for the root, ``topapi/v2/department/listsub`` recursively, then ``topapi/v2/user/list`` per
department page by page (``cursor``, ``size`` 100, until ``has_more`` is false); ``leader`` marks the
department's leaders.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.channels.dingtalk.openapi import DingTalkApiError, OpenApiClient
from bot.config import DingTalkSettings
from bot.directory import DirectoryError, PDept, PUser, Snapshot

PAGE = 100  # the largest page topapi/v2/user/list accepts


async def read_directory(ds: DingTalkSettings) -> Snapshot:
    client = OpenApiClient(ds.openapi_base, ds.client_id, ds.client_secret)
    snap = Snapshot("dingtalk")
    try:
        token = await client.access_token()
        session = await client.session()

        async def call(path: str, body: dict[str, Any]) -> Any:
            async with session.post(ds.oapi_base.rstrip("/") + path, params={"access_token": token}, json=body) as r:
                answer = await r.json(content_type=None)
            if not isinstance(answer, dict) or answer.get("errcode") != 0:
                raise DirectoryError(f"DingTalk {path} answered {answer!r:.200}; check the app's 通讯录 read permission")
            return answer.get("result")

        root = await call("/topapi/v2/department/get", {"dept_id": 1})
        todo = [1]
        snap.depts.append(PDept("1", str(root["name"]), None))
        while todo:
            parent = todo.pop(0)
            for d in await call("/topapi/v2/department/listsub", {"dept_id": parent}):
                if any(x.pid == str(d["dept_id"]) for x in snap.depts):
                    continue  # listed twice: never walk a department again
                snap.depts.append(PDept(str(d["dept_id"]), str(d["name"]), str(parent)))
                todo.append(int(d["dept_id"]))
        for dept in snap.depts:
            cursor: int | None = 0
            while cursor is not None:
                page = await call("/topapi/v2/user/list", {"dept_id": int(dept.pid), "cursor": cursor,
                                                           "size": PAGE})
                for u in page.get("list", []):
                    if u.get("leader"):
                        dept.leaders.append(u["userid"])
                    if u["userid"] not in snap.users:
                        depts = [str(x) for x in u.get("dept_id_list", [])] or [dept.pid]
                        snap.users[u["userid"]] = PUser(u["userid"], u.get("name") or u["userid"], depts,
                                                        None, u.get("email") or None)
                cursor = page.get("next_cursor") if page.get("has_more") else None
    except DingTalkApiError as exc:
        raise DirectoryError(f"DingTalk refused the access token ({exc.code}); check [dingtalk] credentials") from exc
    except (aiohttp.ClientError, TimeoutError, KeyError, TypeError) as exc:
        raise DirectoryError(f"DingTalk contacts could not be read ({exc.__class__.__name__}: {exc})") from exc
    finally:
        await client.close()
    return snap
