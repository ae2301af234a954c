"""WeCom contacts (通讯录) reader for the directory sync: ``GET department/list`` (every department
in the app's visibility scope, with ``department_leader``), then ``GET user/list?department_id=``
per department (WeCom does not page this call). ``direct_leader`` is the person's manager when set;
``status`` 2 (disabled) and 5 (left the company) count as gone.
"""

from __future__ import annotations

import aiohttp

from bot.channels.wecom.api import WeComAPI, WeComError
from bot.config import WeComSettings
from bot.directory import DirectoryError, PDept, PUser, Snapshot

GONE = {2, 5}  # disabled, left the company


async def read_directory(settings: WeComSettings) -> Snapshot:
    api = WeComAPI(settings)
    snap = Snapshot("wecom")
    try:
        for d in (await api.call("department/list", method="GET"))["department"]:
            parent = str(d.get("parentid")) if d.get("parentid") else None
            snap.depts.append(PDept(str(d["id"]), str(d["name"]), parent, [str(x) for x in d.get("department_leader", [])]))
        for dept in snap.depts:
            body = await api.call("user/list", method="GET", params={"department_id": dept.pid})
            for u in body.get("userlist", []):
                if int(u.get("status", 1)) in GONE or u["userid"] in snap.users:
                    continue
                depts = [str(x) for x in u.get("department", [])]
                main = str(u.get("main_department") or (depts[0] if depts else ""))
                depts = [main] + [x for x in depts if x != main] if main else depts
                leaders = [str(x) for x in u.get("direct_leader", []) if x != u["userid"]]
                snap.users[u["userid"]] = PUser(u["userid"], u.get("name") or u["userid"], depts,
                                                leaders[0] if leaders else None, u.get("email") or None)
    except WeComError as exc:
        raise DirectoryError(f"WeCom refused a contacts call ({exc}); check the app's 可见范围 and 通讯录 permission") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DirectoryError(f"WeCom could not be reached ({exc.__class__.__name__})") from exc
    finally:
        await api.close()
    return snap
