"""No configured secret (Slack token, signing secret, Teams password, dashboard token) ever reaches a log line or an
error message: distinctive values, a set of representative flows, every logger at DEBUG (issue #8)."""
from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp.test_utils import TestServer
from slack_sdk.signature import SignatureVerifier
import slack_support
from slack_support import Husbot, fake, start_husbot  # noqa: F401 (fixture)

import bot.tokens
from adapters.server import BOT_KEY

SLACK_TOKEN = "fake-slack-bot-token-SECRET-2f9c7e1ab4"   # distinctive, not token-shaped
SIGNING = "sig-SECRET-8d31c0a7e5"
TEAMS_PASSWORD = "teams-SECRET-pw-5b6e0f"


ACTIVITY = {"type": "message", "id": "1", "text": "hei", "channelId": "msteams", "serviceUrl": "https://smba.example/",
            "from": {"id": "29:u", "aadObjectId": "aad-1"}, "conversation": {"id": "a:1"}, "recipient": {"id": "28:b"}}


def everything(caplog) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)


async def test_secrets_never_appear_in_logs_or_responses(tmp_path, fake, caplog, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setattr(slack_support, "SECRET", SIGNING)   # Husbot.post signs with it
    for name in [""] + list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name or None)
    _, knowledge, app = await start_husbot(tmp_path, fake, slack_bot_token=SLACK_TOKEN, slack_signing_secret=SIGNING,
                                           microsoft_app_id="00000000-0000-0000-0000-00000000abcd",
                                           microsoft_app_password=TEAMS_PASSWORD, scheduler=False)
    dashboard = bot.tokens.Tokens(knowledge.store.db).create("evaluator", "Eva")[1]
    secrets = [SLACK_TOKEN, SIGNING, TEAMS_PASSWORD, dashboard]
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    husbot = Husbot(server, fake)
    bodies = []
    try:
        # Slack: a signed mention (answered through the fake Web API with the bot token), a forged signature and
        # a malformed body
        status, text = await husbot.mention("Hva tilbyr huben i Orkland?")
        assert status == 200
        bodies.append(text)
        await fake.wait_for("chat.postMessage")
        status, text = await husbot.post('{"type":"event_callback"}', "application/json",
                                         signature=SignatureVerifier("wrong").generate_signature(
                                             timestamp="1", body="x"))
        assert status == 401
        bodies.append(text)
        bodies.append((await husbot.post("not json at all", "application/json"))[1])
        async with aiohttp.ClientSession() as s:
            # Teams: no token, and a bearer token that is not one
            for headers in ({}, {"Authorization": f"Bearer {TEAMS_PASSWORD}.x.y"}):
                async with s.post(server.make_url("/api/messages"), json=ACTIVITY,
                                  headers=headers) as r:
                    assert r.status == 401
                    bodies.append(await r.text())
            # the dashboard: a wrong token, then the right one
            async with s.post(server.make_url("/status/login"), data={"token": dashboard + "x"}) as r:
                assert r.status == 403
                bodies.append(await r.text())
            async with s.post(server.make_url("/status/login"), data={"token": dashboard}) as r:
                bodies.append(await r.text())
            # an error path: the web chat's API when the core fails (the traceback is logged)
            async def boom(turn):
                raise RuntimeError("the store is gone")
            monkeypatch.setattr(app[BOT_KEY], "handle", boom)
            async with s.post(server.make_url("/api/ask"), json={"text": "Hva tilbyr huben i Orkland?",
                                                                  "conversation_id": "x"}) as r:
                assert r.status == 500
                bodies.append(await r.text())
    finally:
        await asyncio.sleep(0.05)
        await server.close()
        knowledge.close()
    logged = everything(caplog)
    assert "Slack" in logged and "Teams" in logged   # the flows ran
    out = capsys.readouterr()
    seen = "\n".join([logged, out.out, out.err, *bodies])
    for secret in secrets:
        assert secret not in seen, f"{secret[:8]}… leaked"
    assert "web chat request failed" in logged and "the store is gone" in logged
