"""Point dingtalk-stream 0.24.3 at the configured OpenAPI base.

The SDK reads ``DINGTALK_OPENAPI_ENDPOINT`` once at import time and copies it by value into
several modules and a class attribute (spec §B1); we overwrite every copy from the settings.
Also imports ``websockets.exceptions`` eagerly: with websockets >= 14 it is loaded lazily and the
SDK's except-clause can raise AttributeError before the first connect (spec §B12.6).
"""

from __future__ import annotations

import websockets.exceptions  # noqa: F401  (eager import, see above)
from dingtalk_stream import card_replier, chatbot, stream, utils

OPEN_PATH = "/v1.0/gateway/connections/open"
_MODULES = (utils, stream, chatbot, card_replier)


def point_sdk_at(base: str) -> None:
    base = base.rstrip("/")
    for mod in _MODULES:
        mod.DINGTALK_OPENAPI_ENDPOINT = base
    stream.DingTalkStreamClient.OPEN_CONNECTION_API = base + OPEN_PATH


def sdk_endpoints() -> dict[str, str]:
    """Every copy of the endpoint (tests check they all agree)."""
    out = {m.__name__: m.DINGTALK_OPENAPI_ENDPOINT for m in _MODULES}
    out["OPEN_CONNECTION_API"] = stream.DingTalkStreamClient.OPEN_CONNECTION_API
    return out
