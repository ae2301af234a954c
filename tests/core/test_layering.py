"""Architecture guards: platform SDKs stay behind the Channel seam; modules stay small."""

from __future__ import annotations

import re

from tests.conftest import REPO

SDK = re.compile(r"^\s*(import|from)\s+(wechatpy|dingtalk_stream|websockets)\b", re.M)
PACKAGES = ("bot", "handlers", "cards", "nlp", "storage", "scheduler")


def _sources():  # type: ignore[no-untyped-def]
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def test_only_channels_import_platform_sdks():
    offenders = [
        str(p.relative_to(REPO)) for p in _sources()
        if SDK.search(p.read_text(encoding="utf-8")) and "channels" not in p.parts
    ]
    assert offenders == []


def test_handlers_never_touch_the_wire():
    for path in (REPO / "handlers").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "aiohttp" not in text, f"{path.name} does HTTP itself; go through the Channel seam"


def test_modules_stay_reasonably_small():
    big = {str(p.relative_to(REPO)): n for p in _sources()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert big == {}
