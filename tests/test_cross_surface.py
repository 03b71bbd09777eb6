"""The issue's done-when, end to end through one `husbot serve`: minutes captured in a Slack channel thread and
accepted there are asked about in Teams and come back as a cited answer. Slack talks to a fake Web API and Teams to
a fake connector, both on 127.0.0.1; the server is the real composition root with both surfaces on."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer
from fake_connector import FakeConnector
from fake_slack import BOT_USER_ID, FakeSlack
from slack_support import Husbot as SlackClient
from slack_support import actions_of, start_husbot
from test_teams import KARI, KARI_AAD, texts
from test_teams import Husbot as TeamsClient

from bot import Roster

MEETING = "1700000100.000100"
ROSTER = ("pilot,name,role,email,slack_user_id,teams_aad_id\n"
          f"Narvik,Kari Nordmann,member,kari.nordmann@narvik.kommune.no,U2,{KARI_AAD}\n")


@pytest.fixture
async def surfaces(tmp_path):
    slack_api, connector = await FakeSlack().start(), await FakeConnector(members={KARI["id"]: KARI}).start()
    settings, knowledge, app = await start_husbot(tmp_path, slack_api, min_confidence=0.01,
                                                  teams_allow_unauthenticated=True)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield SlackClient(server, slack_api), TeamsClient(server, connector, settings)
    await asyncio.sleep(0.05)
    await server.close()
    knowledge.close()
    await slack_api.close()
    await connector.close()


async def test_minutes_captured_and_accepted_in_a_slack_thread_are_cited_when_asked_in_teams(surfaces):
    slack, teams = surfaces
    Roster(slack.bot.knowledge.store.db).import_csv(ROSTER)
    slack.bot.roster.add_channel("slack", "C1", "Narvik")

    # the meeting happens in a thread: husbot is mentioned at its root to start, the rest are plain replies
    await slack.mention("referat start styringsgruppe Nordlyskontoret", ts=MEETING)
    for n, text in enumerate(("Styringsgruppen vedtok å sette av 300 000 kroner til Nordlyskontoret i Sentrumsgården.",
                              "Kari sender søknaden om Nordlyskontoret innen 2025-02-21."), start=1):
        status, _ = await slack.event({"type": "message", "channel_type": "channel", "channel": "C1", "user": "U2",
                                       "text": text, "ts": f"1700000100.00020{n}", "thread_ts": MEETING})
        assert status == 200
    await slack.event({"type": "app_mention", "user": "U2", "text": f"<@{BOT_USER_ID}> referat stopp", "channel": "C1",
                       "ts": "1700000100.000300", "thread_ts": MEETING})
    posts = await slack.fake.wait_for("chat.postMessage", 2)
    draft = {**posts[1], "_ts": "1700000100.000400"}
    assert draft["thread_ts"] == MEETING and "300 000 kroner til Nordlyskontoret" in str(draft["blocks"])

    accept = next(b for b in actions_of(draft) if b["action_id"].startswith("minutes_accept:"))
    await slack.press(draft, accept, user="U2")
    accepted = (await slack.fake.wait_for("chat.postMessage", 3))[2]
    assert accepted["text"].startswith("Referat #1 er godtatt")

    card = await teams.ask("Hva vedtok styringsgruppen om Nordlyskontoret?")    # Kari, in her Teams chat
    lines = texts(card)
    assert any("300 000 kroner til Nordlyskontoret" in ln for ln in lines)
    assert any("Styringsgruppe" in ln and "Nordlyskontoret" in ln and "(referat-1)" in ln for ln in lines)
