"""A tiny fake of the Bot Framework connector (a Teams serviceUrl) on 127.0.0.1 (port 0); records what the bot sends."""
from __future__ import annotations

import asyncio
import itertools

from aiohttp import web
from aiohttp.test_utils import TestServer


class FakeConnector:
    """Answers POST /v3/conversations/{id}/activities[/{replyToId}] with {"id": ...} and
    GET /v3/conversations/{id}/members/{memberId} from `members`; every call is kept in `calls`."""

    def __init__(self, members: dict[str, dict] | None = None):
        self.calls: list[dict] = []
        self.members = members or {}
        self._ids = itertools.count(1)
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{reply_to}", self._send)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def start(self) -> "FakeConnector":
        await self.server.start_server()
        return self

    async def close(self) -> None:
        await self.server.close()

    @property
    def url(self) -> str:
        """The serviceUrl to put in activities."""
        return str(self.server.make_url("/"))

    # -- reading back ------------------------------------------------------------------------------------------------
    def sent(self, type_: str | None = None) -> list[dict]:
        """Activities the bot posted (each with `_conversation`, `_reply_to` and `_auth` added), optionally one type."""
        return [c["activity"] for c in self.calls if c["kind"] == "activity"
                and (type_ is None or c["activity"].get("type") == type_)]

    def cards(self) -> list[dict]:
        """The Adaptive Cards in the messages the bot posted."""
        return [a["content"] for m in self.sent("message") for a in m.get("attachments") or []
                if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]

    async def wait_for(self, n: int = 1, type_: str = "message", timeout: float = 10.0) -> list[dict]:
        for _ in range(int(timeout / 0.02)):
            if len(self.sent(type_)) >= n:
                return self.sent(type_)
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {n} {type_} activities, got {self.sent()}")

    # -- the API -----------------------------------------------------------------------------------------------------
    async def _send(self, request: web.Request) -> web.Response:
        activity = await request.json()
        activity["_conversation"] = request.match_info["conversation"]
        activity["_reply_to"] = request.match_info.get("reply_to")
        activity["_auth"] = request.headers.get("Authorization", "")
        self.calls.append({"kind": "activity", "activity": activity})
        return web.json_response({"id": f"reply-{next(self._ids)}"})

    async def _member(self, request: web.Request) -> web.Response:
        member = request.match_info["member"]
        self.calls.append({"kind": "member", "conversation": request.match_info["conversation"], "member": member})
        if member not in self.members:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)
        return web.json_response(self.members[member])
