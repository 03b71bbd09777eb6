"""A tiny fake of the Slack Web API on 127.0.0.1 (port 0) that records every call, plus a Socket Mode WebSocket."""
from __future__ import annotations

import asyncio
import itertools
import json

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"


class FakeSlack:
    """Answers auth.test, chat.postMessage, chat.postEphemeral, chat.update, views.open, users.info and
    apps.connections.open; `response_url`s point at /respond/...; /socket is the Socket Mode WebSocket."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.delay = 0.0        # seconds each Web API call takes after it is recorded (a slow Slack)
        self.socket_received: list[dict] = []
        self.socket: web.WebSocketResponse | None = None
        self._ts = itertools.count(1)
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{id}", self._respond)
        app.router.add_get("/socket", self._socket)
        app.router.add_get("/files/{name}", self._file)
        self.files: dict[str, bytes] = {}
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def start(self) -> "FakeSlack":
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        await self.server.close()

    @property
    def url(self) -> str:
        return str(self.server.make_url("/api/"))

    def response_url(self, name: str = "1") -> str:
        return str(self.server.make_url(f"/respond/{name}"))

    @property
    def socket_url(self) -> str:
        return str(self.server.make_url("/socket")).replace("http://", "ws://")

    def share(self, name: str, data: bytes) -> dict:
        """A file as Slack describes it in a `file_share` message; its private URL needs the bot token."""
        self.files[name] = data
        url = str(self.server.make_url(f"/files/{name}"))
        return {"id": f"F{len(self.files)}", "name": name, "size": len(data), "url_private": url,
                "url_private_download": url}

    async def _file(self, request: web.Request) -> web.Response:
        self.calls.append(("files.download", {"name": request.match_info["name"],
                                              "_token": request.headers.get("Authorization", "")}))
        if not request.headers.get("Authorization", "").startswith("Bearer xoxb-"):
            return web.Response(status=403)
        data = self.files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    # -- reading back ---------------------------------------------------------------------------------------
    def called(self, method: str) -> list[dict]:
        return [params for m, params in self.calls if m == method]

    @property
    def posts(self) -> list[tuple[str, dict]]:
        """Everything shown to a user: messages, ephemeral messages and response_url replies."""
        return [(m, p) for m, p in self.calls if m in ("chat.postMessage", "chat.postEphemeral", "respond")]

    async def wait_for(self, method: str, n: int = 1, timeout: float = 10.0) -> list[dict]:
        for _ in range(int(timeout / 0.02)):
            if len(self.called(method)) >= n:
                return self.called(method)
            await asyncio.sleep(0.02)
        raise AssertionError(f"{method} was called {len(self.called(method))} times, expected {n}: {self.calls}")

    # -- the API ------------------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict:
        params = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(dict(await request.post()))
        for key in ("blocks", "view"):   # the SDK sends these JSON-encoded in form posts
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        params["_token"] = request.headers.get("Authorization", "")
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        if self.delay:
            await asyncio.sleep(self.delay)
        ts = f"1700000000.{next(self._ts):06d}"
        params["_ts"] = ts   # the ts Slack gave the posted message, for tests that click its buttons
        body = {
            "auth.test": {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": "T1", "user": "husbot",
                          "team": "Statens hus", "url": "https://statens-hus.slack.com/"},
            "chat.postMessage": {"channel": params.get("channel"), "ts": ts,
                                 "message": {"text": params.get("text"), "ts": ts, "bot_id": BOT_ID}},
            "chat.postEphemeral": {"message_ts": ts},
            "chat.update": {"channel": params.get("channel"), "ts": params.get("ts")},
            "views.open": {"view": {"id": "V1", "callback_id": (params.get("view") or {}).get("callback_id")}},
            "users.info": {"user": {"id": params.get("user"), "name": "kari", "real_name": "Kari Nordmann",
                                    "profile": {"display_name": "Kari", "email": "kari@example.no"}}},
            "apps.connections.open": {"url": self.socket_url},
        }.get(method)
        if body is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response({"ok": True, **body})

    async def _respond(self, request: web.Request) -> web.Response:
        self.calls.append(("respond", await request.json()))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.socket_received.append(json.loads(msg.data))
        return ws

    async def wait_for_socket(self, timeout: float = 10.0) -> web.WebSocketResponse:
        for _ in range(int(timeout / 0.02)):
            if self.socket is not None:
                return self.socket
            await asyncio.sleep(0.02)
        raise AssertionError("nobody connected to the Socket Mode WebSocket")
