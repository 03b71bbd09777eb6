"""Slack test helpers: `husbot serve` with Slack on, requests signed as Slack signs them, the fake Web API."""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from fake_slack import BOT_USER_ID, FakeSlack
from slack_sdk.signature import SignatureVerifier
from support import write_corpus

from adapters.server import BOT_KEY, build_app
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder

SECRET = "secret"


class Husbot:
    """`husbot serve` on 127.0.0.1 with Slack on, and a way to send it requests signed as Slack signs them."""

    def __init__(self, server: TestServer, fake: FakeSlack):
        self.server, self.fake = server, fake
        self.bot = server.app[BOT_KEY]
        self._n = 0

    async def post(self, raw: str, content_type: str, *, timestamp: int | None = None, signature: str | None = None,
                   headers: dict | None = None) -> tuple[int, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=raw)
        h = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig,
             **(headers or {})}
        async with aiohttp.ClientSession() as s:
            async with s.post(self.server.make_url("/slack/events"), data=raw.encode(), headers=h) as r:
                return r.status, await r.text()

    async def event(self, event: dict, event_id: str | None = None, **kw) -> tuple[int, str]:
        self._n += 1
        body = {"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                "event_id": event_id or f"Ev{self._n:04d}", "event_time": int(time.time()), "event": event,
                "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}]}
        return await self.post(json.dumps(body), "application/json", **kw)

    async def mention(self, text: str, channel="C1", ts="1700000001.000100", **kw):
        return await self.event({"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> {text}",
                                 "channel": channel, "ts": ts, "event_ts": ts}, **kw)

    async def dm(self, text: str, **event):
        return await self.event({"type": "message", "channel_type": "im", "channel": "D1", "user": "U1",
                                 "text": text, "ts": "1700000002.000100", **event})

    async def command(self, text: str, channel="C1", user="U1") -> tuple[int, str]:
        form = {"token": "x", "team_id": "T1", "channel_id": channel, "channel_name": "general", "user_id": user,
                "user_name": "kari", "command": "/husbot", "text": text, "api_app_id": "A1",
                "response_url": self.fake.response_url(), "trigger_id": "trigger-cmd"}
        return await self.post(urlencode(form), "application/x-www-form-urlencoded")

    async def interact(self, payload: dict) -> tuple[int, str]:
        payload = {"token": "x", "api_app_id": "A1", "team": {"id": "T1"}, "user": {"id": "U1", "username": "kari"},
                   **payload}
        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def press(self, message: dict, button: dict, channel="C1", user="U1") -> tuple[int, str]:
        """Click `button` (a Block Kit element from a posted message) under the posted `message`."""
        return await self.interact({
            "user": {"id": user, "username": "kari" if user == "U1" else user.lower()},
            "type": "block_actions", "trigger_id": "trigger-1", "response_url": self.fake.response_url("btn"),
            "channel": {"id": channel}, "message": {"type": "message", "ts": message["_ts"],
                                                   "thread_ts": message.get("thread_ts"), "text": message["text"]},
            "container": {"type": "message", "message_ts": message["_ts"], "channel_id": channel,
                          "is_ephemeral": False, "thread_ts": message.get("thread_ts")},
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "husbot_actions",
                         "value": button["value"], "action_ts": str(time.time())}]})


async def start_husbot(tmp_path, fake: FakeSlack, indexed: bool = True, embedder=None, **overrides):
    overrides = {"slack_bot_token": "xoxb-test", "slack_signing_secret": SECRET, "slack_api_url": fake.url,
                 **overrides}
    settings = Settings.load(environ={}, home=str(tmp_path / "home"), **overrides)
    knowledge = Knowledge(settings, embedder=embedder or HashingEmbedder())
    if indexed:
        assert index_paths(knowledge, [write_corpus(tmp_path / "corpus")]).errors == []
    app = build_app(settings, knowledge)
    return settings, knowledge, app


@pytest.fixture
async def fake():
    f = await FakeSlack().start()
    yield f
    await f.close()


@pytest.fixture
async def husbot(tmp_path, fake):
    _, knowledge, app = await start_husbot(tmp_path, fake)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield Husbot(server, fake)
    await asyncio.sleep(0.05)   # let lazy listeners still posting finish before the loop closes
    await server.close()
    knowledge.close()


@pytest.fixture
async def empty_husbot(tmp_path, fake):
    _, knowledge, app = await start_husbot(tmp_path, fake, indexed=False)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield Husbot(server, fake)
    await server.close()
    knowledge.close()


def actions_of(post: dict) -> list[dict]:
    return [e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]


def texts_of(post: dict) -> str:
    out = []
    for b in post.get("blocks") or []:
        if b["type"] == "section":
            out.append(b["text"]["text"])
        elif b["type"] == "context":
            out += [e["text"] for e in b["elements"]]
    return "\n".join(out)


async def nothing_posted(fake: FakeSlack, wait: float = 0.4) -> bool:
    await asyncio.sleep(wait)
    return fake.posts == []
