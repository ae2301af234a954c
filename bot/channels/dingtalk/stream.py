"""The Stream connection: dingtalk-stream's client with the 0.24.3 defects contained (spec §B12).

``StreamClient`` keeps the SDK's frame and handler model (Credential, CallbackMessage,
CallbackHandler.raw_process → AckMessage) and replaces its connection loop:
- the gateway call is async (aiohttp) with a timeout, never a blocking ``requests.post``;
- reconnects use jittered exponential backoff; a short-lived connection (e.g. a clean close right
  after connecting) escalates the delay, so there is no reconnect storm;
- ``stop()`` really stops (the loop does not swallow CancelledError);
- a malformed frame is logged and skipped, the receive loop keeps going;
- every frame is acknowledged on the socket it arrived on, per-frame tasks are tracked;
- a liveness watchdog closes a connection that has been silent longer than ``liveness_timeout``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import websockets
import websockets.exceptions
from dingtalk_stream import AckMessage, CallbackMessage, Credential, DingTalkStreamClient, SystemMessage
from dingtalk_stream.frames import Headers
from dingtalk_stream.version import VERSION_STRING

from bot.channels.dingtalk.openapi import DingTalkApiError, OpenApiClient

log = logging.getLogger(__name__)


class StreamClient(DingTalkStreamClient):
    backoff_base = 1.0  # seconds; first retry waits base*[0.5, 1]
    backoff_max = 60.0
    stable_after = 30.0  # a connection that lived this long resets the backoff
    gateway_timeout = 10.0
    liveness_timeout = 90.0  # no frame at all (DingTalk pings regularly) → reconnect
    ack_timeout = 5.0

    def __init__(self, credential: Credential, api: OpenApiClient) -> None:
        super().__init__(credential, logger=log)
        self.api = api
        self.last_frame_at: float | None = None
        self.connected = asyncio.Event()
        self.connections = 0
        self.delays: list[float] = []  # every reconnect delay chosen (health, tests)
        self._task: asyncio.Task[None] | None = None
        self._frames: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._planned = False  # the server sent `disconnect`: reconnect promptly

    # -- lifecycle ----------------------------------------------------------------------------
    def launch(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self.start(), name="dingtalk-stream")

    async def stop(self) -> None:
        self._stopping = True
        tasks = [t for t in [self._task, *self._frames] if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        self.connected.clear()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** attempt) * random.uniform(0.5, 1.0)

    # -- the loop -----------------------------------------------------------------------------
    async def start(self) -> None:  # replaces the SDK's loop (which ignores cancel and storms)
        self.pre_start()
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._stopping:
            began = loop.time()
            self._planned = False
            try:
                conn = await self.open_connection_async()
                if conn is not None:
                    await self._session(conn)
                    reason = "closed by the server"
                else:
                    reason = "gateway refused or unreachable"
            except websockets.exceptions.WebSocketException as exc:
                reason = f"websocket error: {exc!r}"
            except (OSError, TimeoutError) as exc:
                reason = f"network error: {exc!r}"
            except Exception as exc:  # keep the stream alive whatever happens
                log.exception("DingTalk stream loop error")
                reason = f"unexpected error: {exc!r}"
            if self._stopping:
                break
            lived = loop.time() - began
            attempt = 0 if (self._planned or lived >= self.stable_after) else attempt + 1
            delay = self.backoff(attempt)
            self.delays.append(delay)
            log.warning("DingTalk stream disconnected (%s) after %.1fs; reconnecting in %.2fs (attempt %d)",
                        reason, lived, delay, attempt)
            await asyncio.sleep(delay)

    def open_connection(self) -> Any:  # the SDK's blocking version must never run on our loop
        raise RuntimeError("use open_connection_async()")

    async def open_connection_async(self) -> dict[str, Any] | None:
        body = {
            "clientId": self.credential.client_id,
            "clientSecret": self.credential.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": t} for t in self.callback_handler_map],
            "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union+perfbot",
            "localIp": "",
        }
        try:
            conn = await asyncio.wait_for(self.api.open_connection(body), self.gateway_timeout)
        except TimeoutError:
            log.error("DingTalk gateway did not answer within %.0fs", self.gateway_timeout)
            return None
        except (aiohttp.ClientError, DingTalkApiError, OSError) as exc:
            log.error("DingTalk gateway call failed: %s", exc)
            return None
        if not isinstance(conn.get("endpoint"), str) or not isinstance(conn.get("ticket"), str):
            log.error("DingTalk gateway answer has no endpoint/ticket: %r", conn)
            return None
        return conn

    async def _session(self, conn: dict[str, Any]) -> None:
        uri = f'{conn["endpoint"]}?ticket={quote_plus(conn["ticket"])}'
        async with websockets.connect(uri, open_timeout=self.gateway_timeout, ping_interval=20,
                                      ping_timeout=20, close_timeout=3, max_size=4 * 1024 * 1024) as ws:
            loop = asyncio.get_running_loop()
            self.websocket = ws
            self.connections += 1
            self.last_frame_at = loop.time()
            self.connected.set()
            log.info("DingTalk stream connected (connection #%d)", self.connections)
            watchdog = asyncio.create_task(self._watchdog(ws))
            try:
                async for raw in ws:
                    self.last_frame_at = loop.time()
                    task = asyncio.create_task(self._handle(ws, raw))
                    self._frames.add(task)
                    task.add_done_callback(self._frames.discard)
            finally:
                watchdog.cancel()
                self.connected.clear()

    async def _watchdog(self, ws: Any) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.05, min(1.0, self.liveness_timeout / 4)))
            idle = loop.time() - (self.last_frame_at or loop.time())
            if idle > self.liveness_timeout:
                log.warning("DingTalk stream silent for %.1fs; dropping the connection", idle)
                await ws.close(code=1001, reason="liveness timeout")
                return

    # -- frames -------------------------------------------------------------------------------
    async def _handle(self, ws: Any, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
            if not isinstance(frame, dict):
                raise ValueError("frame is not an object")
        except ValueError as exc:
            log.warning("ignoring a malformed DingTalk frame (%s): %r", exc, raw[:200])
            return
        message_id = (frame.get("headers") or {}).get("messageId")
        try:
            ack = await self._route(frame)
        except Exception:
            log.exception("DingTalk frame %s could not be handled; answering 500", message_id)
            ack = _ack(message_id, AckMessage.STATUS_SYSTEM_EXCEPTION, "internal error")
        if ack is None:
            return
        try:
            await asyncio.wait_for(ws.send(json.dumps(ack.to_dict())), self.ack_timeout)
        except (websockets.exceptions.ConnectionClosed, TimeoutError) as exc:
            log.warning("could not ACK DingTalk frame %s: %r (DingTalk may redeliver; dedup covers it)",
                        message_id, exc)
        if frame.get("type") == SystemMessage.TYPE and _topic(frame) == SystemMessage.TOPIC_DISCONNECT:
            self._planned = True
            log.info("DingTalk asked to reconnect: %s", frame.get("data"))
            await ws.close()

    async def _route(self, frame: dict[str, Any]) -> AckMessage | None:
        kind = frame.get("type")
        try:
            msg: Any = (SystemMessage if kind == SystemMessage.TYPE else CallbackMessage).from_dict(frame)
        except (ValueError, TypeError, KeyError) as exc:  # bad `data` JSON or non-numeric `time`
            log.warning("bad DingTalk frame %s: %s", _message_id(frame), exc)
            return _ack(_message_id(frame), AckMessage.STATUS_BAD_REQUEST, "bad request")
        if kind == SystemMessage.TYPE:
            return await self.system_handler.raw_process(msg)
        if kind == CallbackMessage.TYPE:
            handler = self.callback_handler_map.get(msg.headers.topic)
            if handler is None:
                log.warning("no handler for DingTalk topic %r", msg.headers.topic)
                return _ack(msg.headers.message_id, AckMessage.STATUS_NOT_IMPLEMENT, "topic not supported")
            return await handler.raw_process(msg)
        log.warning("DingTalk frame of unexpected type %r ignored (acknowledged)", kind)
        return _ack(_message_id(frame), AckMessage.STATUS_OK, "OK")


def _message_id(frame: dict[str, Any]) -> str | None:
    headers = frame.get("headers")
    return headers.get("messageId") if isinstance(headers, dict) else None


def _topic(frame: dict[str, Any]) -> str | None:
    headers = frame.get("headers")
    return headers.get("topic") if isinstance(headers, dict) else None


def _ack(message_id: str | None, code: int, message: str) -> AckMessage:
    ack = AckMessage()
    ack.code = code
    ack.message = message
    ack.headers.message_id = message_id
    ack.headers.content_type = Headers.CONTENT_TYPE_APPLICATION_JSON
    ack.data = {"response": None}
    return ack
