"""The Slack adapter over real HTTP: signed requests into `husbot serve`, answers read back from a fake Web API."""
from __future__ import annotations

import asyncio
import json
import time

import pytest
import yaml
from aiohttp.test_utils import TestServer
from click.testing import CliRunner
from fake_slack import BOT_ID, BOT_USER_ID
from slack_sdk.signature import SignatureVerifier
from slack_support import (SECRET, Husbot, actions_of, empty_husbot, fake, husbot,  # noqa: F401 (fixtures)
                           nothing_posted, start_husbot, texts_of)

from adapters.server import BOT_KEY, SURFACES_KEY
from adapters.slack import enable_socket_mode, to_blocks
from adapters.slack.cli import slack as slack_cli
from adapters.slack.translate import MAX_BLOCKS, MAX_TEXT, plain_text, to_turn
from bot import Action, CitationView, PilotSection, Reply, t
from knowledge import Settings
from knowledge.embedder import HashingEmbedder

QUESTION = "Hva er Innovasjonshub Orkland?"


class SlowEmbedder(HashingEmbedder):
    """Takes its time over every question, like the real model on a busy server."""

    def embed_query(self, text):
        time.sleep(1.5)
        return super().embed_query(text)


# -- questions ----------------------------------------------------------------------------------------------
async def test_mention_in_channel_is_answered_in_its_thread_with_sources_and_buttons(husbot, fake):
    status, _ = await husbot.mention(QUESTION, ts="1700000001.000100")
    assert status == 200
    [post] = await fake.wait_for("chat.postMessage")
    assert post["channel"] == "C1" and post["thread_ts"] == "1700000001.000100"
    assert post["_token"] == "Bearer xoxb-test"
    assert "Innovasjonshub Orkland" in post["text"]
    sections = [b["text"]["text"] for b in post["blocks"] if b["type"] == "section"]
    assert "[1]" in sections[0]
    contexts = [b["elements"][0]["text"] for b in post["blocks"] if b["type"] == "context"]
    assert contexts[0].startswith("[1] *Statens hus i Orkland – statusrapport*")
    buttons = actions_of(post)
    assert [b["text"]["text"] for b in buttons[:3]] == ["👍", "👎", "Vis kilde 1"]
    assert post["blocks"][-1]["type"] == "actions"


async def test_mention_inside_a_thread_answers_in_that_thread(husbot, fake):
    await husbot.event({"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> {QUESTION}", "channel": "C1",
                        "ts": "1700000009.000100", "thread_ts": "1700000005.000100"})
    [post] = await fake.wait_for("chat.postMessage")
    assert post["thread_ts"] == "1700000005.000100"


async def test_direct_message_is_answered_in_the_conversation(husbot, fake):
    assert (await husbot.dm(QUESTION))[0] == 200
    [post] = await fake.wait_for("chat.postMessage")
    assert post["channel"] == "D1" and not post.get("thread_ts")
    assert "Innovasjonshub Orkland" in texts_of(post)


async def test_asker_is_looked_up_once_for_the_roster(husbot, fake):
    await husbot.dm(QUESTION)
    await fake.wait_for("chat.postMessage")
    await husbot.dm("hjelp")
    await fake.wait_for("chat.postMessage", 2)
    assert [c["user"] for c in fake.called("users.info")] == ["U1"]


async def test_slash_command_answers_through_the_response_url(husbot, fake):
    status, body = await husbot.command(QUESTION)
    assert status == 200 and body == ""
    [reply] = await fake.wait_for("respond")
    assert reply["response_type"] == "in_channel"
    assert "Innovasjonshub Orkland" in texts_of(reply)
    await husbot.command("hjelp")
    help_reply = (await fake.wait_for("respond", 2))[1]
    assert help_reply["text"] == t("help", "nb")
    await husbot.command("kilde 1")
    source = (await fake.wait_for("respond", 3))[2]
    assert source["text"].startswith("Kilde [1]: Statens hus i Orkland")


async def test_slack_gets_its_acknowledgement_before_a_slow_answer(tmp_path, fake):
    _, knowledge, app = await start_husbot(tmp_path, fake, embedder=SlowEmbedder())
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        husbot = Husbot(server, fake)
        started = time.perf_counter()
        assert (await husbot.mention(QUESTION))[0] == 200
        assert (await husbot.command(QUESTION))[0] == 200
        assert time.perf_counter() - started < 1.0
        assert fake.posts == []
        await fake.wait_for("chat.postMessage")
        await fake.wait_for("respond")
    finally:
        await server.close()
        knowledge.close()


async def test_retried_event_is_answered_once(husbot, fake):
    await husbot.mention(QUESTION, event_id="EvRETRY")
    await fake.wait_for("chat.postMessage")
    status, _ = await husbot.mention(QUESTION, event_id="EvRETRY",
                                     headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert status == 200
    await asyncio.sleep(0.4)
    assert len(fake.called("chat.postMessage")) == 1


async def test_url_verification_challenge_is_answered(husbot):
    status, body = await husbot.post(json.dumps({"token": "x", "challenge": "abc123", "type": "url_verification"}),
                                     "application/json")
    assert status == 200 and json.loads(body) == {"challenge": "abc123"}


# -- buttons and the reason form ----------------------------------------------------------------------------
async def test_thumbs_down_thanks_opens_the_reason_form_and_stores_the_reason(husbot, fake):
    await husbot.mention(QUESTION)
    [answer] = await fake.wait_for("chat.postMessage")
    down = next(b for b in actions_of(answer) if b["text"]["text"] == "👎")
    assert (await husbot.press({**answer, "thread_ts": answer["thread_ts"]}, down))[0] == 200

    [opened] = await fake.wait_for("views.open")
    assert opened["trigger_id"] == "trigger-1"
    assert opened["view"]["title"]["text"] == "Hva var galt?"
    [thanks] = await fake.wait_for("chat.postEphemeral")
    assert thanks["user"] == "U1" and thanks["text"] == t("thanks_down", "nb")

    view = {**opened["view"], "id": "V1", "state": {"values": {"reason": {"reason": {
        "type": "plain_text_input", "value": "Svaret gjaldt feil pilot"}}}}}
    status, body = await husbot.interact({"type": "view_submission", "trigger_id": "trigger-2", "view": view})
    assert status == 200 and body == ""
    saved = (await fake.wait_for("chat.postEphemeral", 2))[1]
    assert saved["text"] == t("reason_saved", "nb") and saved["thread_ts"] == answer["thread_ts"]
    assert husbot.bot.feedback.counts() == {"up": 0, "down": 1, "recent_reasons": ["Svaret gjaldt feil pilot"]}


async def test_thread_goes_on_normally_after_the_reason_form(husbot, fake):
    await husbot.mention(QUESTION)
    [answer] = await fake.wait_for("chat.postMessage")
    await husbot.press(answer, actions_of(answer)[1])
    [opened] = await fake.wait_for("views.open")
    view = {**opened["view"], "state": {"values": {"reason": {"reason": {"value": "Feil pilot"}}}}}
    await husbot.interact({"type": "view_submission", "trigger_id": "trigger-2", "view": view})
    await fake.wait_for("chat.postEphemeral", 2)
    await husbot.event({"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> Fortell om Sentrumsgården",
                        "channel": "C1", "ts": "1700000009.000100", "thread_ts": answer["thread_ts"]})
    second = (await fake.wait_for("chat.postMessage", 2))[1]
    assert second["text"] != t("reason_saved", "nb")   # answered, not taken as a second reason
    assert "show_source" in json.dumps(second["blocks"])
    assert husbot.bot.feedback.counts()["recent_reasons"] == ["Feil pilot"]


async def test_thumbs_up_is_thanked_only_to_the_voter(husbot, fake):
    await husbot.mention(QUESTION)
    [answer] = await fake.wait_for("chat.postMessage")
    await husbot.press(answer, actions_of(answer)[0])
    [thanks] = await fake.wait_for("chat.postEphemeral")
    assert thanks["text"] == t("thanks_up", "nb")
    assert fake.called("views.open") == []
    assert husbot.bot.feedback.counts()["up"] == 1


async def test_show_source_button_posts_the_passage_in_the_thread(husbot, fake):
    await husbot.mention(QUESTION)
    [answer] = await fake.wait_for("chat.postMessage")
    show = next(b for b in actions_of(answer) if b["text"]["text"] == "Vis kilde 1")
    await husbot.press(answer, show)
    source = (await fake.wait_for("chat.postMessage", 2))[1]
    assert source["thread_ts"] == answer["thread_ts"]
    assert source["text"].startswith("Kilde [1]: Statens hus i Orkland – statusrapport")
    assert "Orkland kommune bygde opp Innovasjonshub Orkland på Orkanger" in source["text"]


# -- what Slack must not be able to trigger -----------------------------------------------------------------
async def test_forged_slack_signature_is_rejected(husbot, fake):
    status, _ = await husbot.mention(QUESTION, signature="v0=" + "0" * 64)
    assert status == 401
    assert await nothing_posted(fake)
    assert fake.calls == []


async def test_request_older_than_five_minutes_is_rejected(husbot, fake):
    status, _ = await husbot.mention(QUESTION, timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    assert await nothing_posted(fake)


async def test_a_valid_request_replayed_after_five_minutes_is_refused(husbot, fake, monkeypatch):
    """Someone who copied correctly signed requests cannot deliver them again once Slack's window has passed."""
    import slack_sdk.signature

    def signed(event_id: str, ts: str) -> tuple[str, str, str]:
        event = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> {QUESTION}", "channel": "C1",
                 "ts": ts, "event_ts": ts}
        raw = json.dumps({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                          "event_id": event_id, "event_time": int(time.time()), "event": event,
                          "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}]})
        stamp = str(int(time.time()))
        return raw, stamp, SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=raw)

    delivered = signed("EvDELIVERED", "1700000050.000100")
    intercepted = signed("EvINTERCEPTED", "1700000060.000100")   # signed by Slack, never delivered in time
    raw, stamp, signature = delivered
    assert (await husbot.post(raw, "application/json", timestamp=int(stamp), signature=signature))[0] == 200
    await fake.wait_for("chat.postMessage")
    posted = len(fake.posts)

    now = time.time
    monkeypatch.setattr(slack_sdk.signature, "time", lambda: now() + 5 * 60 + 2)   # the window has just passed
    for raw, stamp, signature in (delivered, intercepted):
        status, _ = await husbot.post(raw, "application/json", timestamp=int(stamp), signature=signature)
        assert status == 401
    await asyncio.sleep(0.4)
    assert len(fake.posts) == posted
    assert husbot.bot.knowledge.store.db["answers"].count == 1


async def test_bots_own_message_and_other_bots_are_ignored(husbot, fake):
    await husbot.dm("Takk for spørsmålet", user=BOT_USER_ID, bot_id=BOT_ID)
    await husbot.dm(QUESTION, user="U9", bot_id="BOTHER", subtype="bot_message")
    await husbot.dm("", subtype="message_changed")
    assert await nothing_posted(fake)


async def test_channel_messages_without_mention_are_not_answered(husbot, fake):
    await husbot.event({"type": "message", "channel_type": "channel", "channel": "C1", "user": "U1",
                        "text": QUESTION, "ts": "1700000003.000100"})
    assert await nothing_posted(fake)


# -- bad input ----------------------------------------------------------------------------------------------
async def test_empty_mention_gets_a_friendly_hint(husbot, fake):
    await husbot.mention("")
    [hint] = await fake.wait_for("chat.postEphemeral")
    assert hint["text"] == t("empty_question", "nb") and hint["user"] == "U1"


async def test_40_kb_message_is_told_it_is_too_long(husbot, fake):
    status, _ = await husbot.dm("Hva skjedde i Orkland? " * 1800)
    assert status == 200
    [reply] = await fake.wait_for("chat.postEphemeral")
    assert reply["text"].startswith("Spørsmålet er for langt (")
    assert "under 2000 tegn" in reply["text"]


@pytest.mark.parametrize("raw, content_type", [
    ('{"type": "event_callback", "event": {', "application/json"),
    ("[1, 2, 3]", "application/json"),
    ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    ("payload=42", "application/x-www-form-urlencoded"),
])
async def test_malformed_body_is_a_client_error_not_a_crash(husbot, fake, raw, content_type):
    status, _ = await husbot.post(raw, content_type)
    assert status == 400
    status, _ = await husbot.post(raw, content_type, signature="v0=" + "0" * 64)
    assert status == 401
    assert await nothing_posted(fake, 0.1)


async def test_unknown_event_type_is_acknowledged_and_ignored(husbot, fake):
    status, _ = await husbot.event({"type": "reaction_added", "user": "U1", "reaction": "thumbsup",
                                    "item": {"type": "message", "channel": "C1", "ts": "1.0"}})
    assert status == 200
    assert await nothing_posted(fake)


async def test_question_while_the_index_is_empty_says_so(empty_husbot, fake):
    await empty_husbot.mention(QUESTION)
    [post] = await fake.wait_for("chat.postMessage")
    assert post["text"] == t("empty_index", "nb")


# -- Socket Mode --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("signing_secret", [SECRET, ""], ids=["beside-http", "socket-mode-only"])
async def test_socket_mode_acknowledges_the_envelope_and_answers(tmp_path, fake, signing_secret):
    settings, knowledge, app = await start_husbot(tmp_path, fake, slack_app_token="xapp-test",
                                                  slack_signing_secret=signing_secret)
    enable_socket_mode(app, app[BOT_KEY], settings)
    assert ("slack" in app[SURFACES_KEY]) == bool(signing_secret)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        ws = await fake.wait_for_socket()
        [opened] = fake.called("apps.connections.open")
        assert opened["_token"] == "Bearer xapp-test"
        payload = {"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "EvSOCK",
                   "event_time": int(time.time()),
                   "event": {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> {QUESTION}",
                             "channel": "C2", "ts": "1700000007.000100"}}
        await ws.send_json({"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                            "retry_attempt": 0, "retry_reason": "", "payload": payload})
        [post] = await fake.wait_for("chat.postMessage")
        assert post["channel"] == "C2" and post["thread_ts"] == "1700000007.000100"
        assert {"envelope_id": "env-1"} in fake.socket_received
    finally:
        await server.close()
        knowledge.close()


# -- pieces -------------------------------------------------------------------------------------------------
def test_mention_markup_is_stripped_from_the_question():
    assert plain_text(f"<@{BOT_USER_ID}> Hva &amp; hvem i <#C1|general>?", BOT_USER_ID) == "Hva & hvem i <#C1|general>?"
    assert plain_text("<@U123|kari> hei") == "hei"
    turn = to_turn({"type": "app_mention", "channel": "C1", "user": "U1", "ts": "5.0", "text": f"<@{BOT_USER_ID}>"},
                   event_id="Ev1", bot_user_id=BOT_USER_ID)
    assert (turn.text, turn.thread_id, turn.event_id, turn.platform, turn.is_dm) == ("", "5.0", "Ev1", "slack", False)


def test_blocks_stay_within_slack_limits():
    citations = [CitationView(n, f"Rapport {n}", f"r{n}.txt", "Kapittel", n, "…", n) for n in range(1, 61)]
    reply = Reply("answer", "x", lead="Dette sier kildene:", sentences=[("ord " * 1500, 1), ("<b> & co", 2)],
                  citations=citations, actions=[Action("show_source", f"Vis kilde {n}" + "!" * 80, f"a:{n}")
                                                for n in range(1, 61)])
    blocks = to_blocks(reply)
    assert len(blocks) <= MAX_BLOCKS and blocks[-1]["type"] == "actions"
    assert len(blocks[-1]["elements"]) <= 25
    assert all(len(e["text"]["text"]) <= 75 for e in blocks[-1]["elements"])
    for b in blocks:
        for part in [b.get("text")] + b.get("elements", []):
            if part and part.get("type") == "mrkdwn":
                assert len(part["text"]) <= MAX_TEXT
    assert "&lt;b&gt; &amp; co [2]" in "".join(b["text"]["text"] for b in blocks if b["type"] == "section")


def test_comparison_gets_one_section_per_pilot():
    reply = Reply("comparison", "…", lead="Slik svarer kildene for hver pilot:", pilots=[
        PilotSection("Stad", [("Stad har en hub.", 1)], True),
        PilotSection("Narvik", [], False)])
    sections = [b["text"]["text"] for b in to_blocks(reply) if b["type"] == "section"]
    assert sections == ["Slik svarer kildene for hver pilot:", "*Stad*\nStad har en hub. [1]",
                        "*Narvik*\n" + t("compare_none", "nb", pilot="Narvik")]


# -- CLI ----------------------------------------------------------------------------------------------------
def test_slack_manifest_command_prints_the_app_manifest():
    obj = {"settings": Settings.load(environ={})}
    result = CliRunner().invoke(slack_cli, ["manifest", "--url", "https://husbot.example.no"], obj=obj)
    assert result.exit_code == 0, result.output
    m = json.loads(result.output)
    assert m["oauth_config"]["scopes"]["bot"] == sorted(["app_mentions:read", "channels:history", "chat:write",
                                                         "files:read", "groups:history", "im:history", "im:read", "im:write",
                                                         "commands", "users:read", "users:read.email"])
    assert m["settings"]["event_subscriptions"] == {"bot_events": ["app_mention", "message.channels",
                                                                   "message.groups", "message.im"],
                                                    "request_url": "https://husbot.example.no/slack/events"}
    assert m["settings"]["interactivity"]["request_url"] == "https://husbot.example.no/slack/events"
    [command] = m["features"]["slash_commands"]
    assert command["command"] == "/husbot" and command["usage_hint"]
    assert m["settings"]["socket_mode_enabled"] is False

    result = CliRunner().invoke(slack_cli, ["manifest", "--socket-mode", "--format", "yaml"], obj=obj)
    assert result.exit_code == 0, result.output
    m = yaml.safe_load(result.output)
    assert m["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in m["settings"]["event_subscriptions"]
