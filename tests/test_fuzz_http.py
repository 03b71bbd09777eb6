"""Hostile and broken input over HTTP and through the core (issue #8): questions, Slack requests, Teams activities.

One `husbot serve` (web chat, Slack, Teams; hashing embedder) runs for the whole module in a thread of its own, with
the fake Slack Web API and the fake Teams connector beside it; hypothesis sends it what a careless client, a changed
platform or an attacker might. Every case must get no 5xx, no traceback, a message when it is refused, no crash
logged behind the acknowledgement; the store must pass `husbot check` afterwards. Figures: docs/reliability.md.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
import traceback
from urllib.parse import urlencode

import pytest
import requests
from aiohttp import web
from fake_connector import FakeConnector
from fake_slack import BOT_USER_ID, FakeSlack
from fuzz_support import CASES, examples, mutated, no_traceback, questions, report
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier
from support import write_corpus

from adapters.server import build_app
from bot import Bot, Turn
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.check import check
from knowledge.embedder import HashingEmbedder

SECRET = "fuzz-secret"
TENANT = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
KARI = {"id": "29:1kari", "name": "Kari Nordmann", "aadObjectId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
TEAMS_BOT = {"id": "28:husbot", "name": "husbot"}


class Crashes(logging.Handler):
    """ERROR records (a listener that blew up behind Slack's acknowledgement, a logged exception)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record):
        # why sys.exc_info: bolt logs a lazy listener's failure with logger.error inside its except block
        exc = record.exc_info or sys.exc_info()
        where = traceback.format_exception(*exc)[-3:] if exc and exc[0] else []
        self.records.append(f"{record.name}: {record.getMessage()} {''.join(where)}")


class Server:
    """`husbot serve` on 127.0.0.1 in a thread with its own event loop (its SQLite connection lives there too)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(60), "the server did not start"
        self.http = requests.Session()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self):
        self.slack = await FakeSlack().start()
        self.teams = await FakeConnector(members={KARI["id"]: {**KARI, "email": "kari@narvik.kommune.no"}}).start()
        self.settings = Settings.load(environ={}, home=str(self.tmp / "home"), slack_bot_token="xoxb-test",
                                      slack_signing_secret=SECRET, slack_api_url=self.slack.url, scheduler=False,
                                      teams_allow_unauthenticated=True, min_confidence=0.01, embedder="hashing")
        self.knowledge = Knowledge(self.settings, embedder=HashingEmbedder())
        assert index_paths(self.knowledge, [write_corpus(self.tmp / "corpus")]).errors == []
        self.runner = web.AppRunner(build_app(self.settings, self.knowledge))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self):
        async def stop():
            await asyncio.sleep(0.3)          # lazy Slack listeners still answering
            await self.runner.cleanup()
            await self.slack.close()
            await self.teams.close()
            self.knowledge.close()
        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    # -- requests ----------------------------------------------------------------------------------------------------
    def post(self, path: str, data: bytes, headers: dict) -> requests.Response:
        return self.http.post(self.url + path, data=data, headers=headers, timeout=60)

    def slack_post(self, raw: str, content_type: str) -> requests.Response:
        ts = str(int(time.time()))
        sig = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=raw)
        return self.post("/slack/events", raw.encode("utf-8", "surrogatepass"), {
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    crashes = Crashes()
    logging.getLogger().addHandler(crashes)
    s = Server(tmp_path_factory.mktemp("fuzz-serve"))
    s.crashes = crashes
    yield s
    s.close()
    logging.getLogger().removeHandler(crashes)
    for target in ("web /api/ask", "web /api/action", "slack /slack/events", "teams /api/messages"):
        report(target)
    result = check(s.settings.home)
    assert result.ok, result.problems


def assert_handled(r: requests.Response, refused_status=(400, 401, 404, 405, 413, 415)):
    """No 5xx and no traceback; a refusal says why."""
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert no_traceback(r.text), r.text[:500]
    if r.status_code >= 400:
        assert r.status_code in refused_status, r.status_code
        assert r.text.strip(), "a refusal without a message"


def assert_no_crash(server: Server, since: int):
    server.call(asyncio.sleep(0))   # let the loop run what it has queued
    new = server.crashes.records[since:]
    assert not new, new


# -- web chat ----------------------------------------------------------------------------------------------------------
@examples(700)
@given(text=questions(), conversation=st.sampled_from(["fuzz-a", "fuzz-b", "fuzz-c"]),
       pilot=st.sampled_from([None, "", "Narvik", "alle", "Atlantis", 5]), lang=st.sampled_from([None, "nb", "en", 1]))
def test_any_question_to_the_web_api_gets_an_answer_or_a_clear_refusal(server, text, conversation, pilot, lang):
    CASES["web /api/ask"] += 1
    since = len(server.crashes.records)
    body = {"text": text, "conversation_id": conversation, "pilot": pilot, "lang": lang}
    # why ensure_ascii: lone surrogates (\ud800) are valid JSON escapes that reach the server as broken strings
    r = server.post("/api/ask", json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert_handled(r)
    reply = r.json()
    if r.status_code == 200:
        assert reply["kind"] == "none" or reply["text"].strip()
        assert no_traceback(reply["text"])
    else:
        assert reply["error"].strip()
    assert_no_crash(server, since)


@examples(300)
@given(text=questions(st.characters(codec=None, exclude_categories=())), raw=st.binary(max_size=64),
       how=st.sampled_from(["surrogates", "bytes", "not an object", "wrong types"]))
def test_broken_bodies_to_the_web_api_are_refused_with_a_message(server, text, raw, how):
    CASES["web /api/ask"] += 1
    since = len(server.crashes.records)
    data = {"surrogates": json.dumps({"text": text, "conversation_id": "fuzz-s"}).encode(),
            "bytes": raw, "not an object": json.dumps([text]).encode(),
            "wrong types": json.dumps({"text": [text], "conversation_id": {"a": text}}).encode()}[how]
    r = server.post("/api/ask", data, {"Content-Type": "application/json"})
    assert_handled(r)
    assert_no_crash(server, since)


ACTION_KINDS = ["feedback_up", "feedback_down", "show_source", "minutes_accept", "minutes_save", "minutes_edit",
                "status_open", "status_submit", "task_done", "nonsense", ""]


@examples(1000)
@given(data=st.data(), path=st.sampled_from(["/api/action", "/api/action", "/api/feedback/reason"]),
       kind=st.sampled_from(ACTION_KINDS))
def test_mutated_button_presses_and_reasons_to_the_web_api_never_fail(server, data, path, kind):
    CASES["web /api/action"] += 1
    since = len(server.crashes.records)
    base = ({"kind": kind, "value": data.draw(st.sampled_from(["1", "1:1", "x:²", "Narvik:2025-03", "1:" + "9" * 30])),
             "conversation_id": "fuzz-a"} if path == "/api/action" else
            {"feedback_id": data.draw(st.sampled_from([1, "1", 2**70, "²"])), "reason": "feil svar"})
    if kind == "minutes_save":
        base["value"] = {"id": 1, "decisions": "Budsjettet godkjennes.", "actions": "Sende rapport | Kari | 2025-03-07",
                         "questions": ""}
    body = data.draw(mutated(base))
    r = server.post(path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert_handled(r)
    assert_no_crash(server, since)


# -- the core directly (what Slack, Teams and the CLI call) ---------------------------------------------------------
@pytest.fixture(scope="module")
def core(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz-core")
    settings = Settings.load(environ={}, home=str(tmp / "home"), min_confidence=0.01, scheduler=False)
    knowledge = Knowledge(settings, embedder=HashingEmbedder())
    assert index_paths(knowledge, [write_corpus(tmp / "corpus")]).errors == []
    loop = asyncio.new_event_loop()
    yield Bot(knowledge), loop
    loop.close()
    knowledge.close()
    report("bot.handle")
    result = check(settings.home)
    assert result.ok, result.problems


@examples(1000)
@given(text=questions(st.characters(codec=None, exclude_categories=())),
       who=st.sampled_from([("web", "admin", True), ("slack", None, False), ("teams", None, True),
                            ("slack", "guest", True)]),
       thread=st.sampled_from(["", "t1"]), addressed=st.booleans())
def test_any_text_through_bot_handle_gets_a_reply_or_silence_never_an_exception(core, text, who, thread, addressed):
    CASES["bot.handle"] += 1
    bot, loop = core
    platform, role, is_dm = who
    turn = Turn(text, user_id="U1", channel_id="C1", thread_id=thread, platform=platform, role=role, is_dm=is_dm,
                addressed=addressed or is_dm)
    reply = loop.run_until_complete(bot.handle(turn))
    if reply is not None:
        assert reply.text.strip() and no_traceback(reply.text), reply
        if reply.kind == "error":
            assert "\n" not in reply.text.strip() or len(reply.text) < 500


# -- Slack -------------------------------------------------------------------------------------------------------------
def slack_event(text="Hva er Innovasjonshub Orkland?"):
    return {"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev1",
            "event_time": 1700000000, "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}],
            "event": {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> {text}", "channel": "C1",
                      "ts": "1700000001.000100", "event_ts": "1700000001.000100"}}


def slack_dm():
    body = slack_event()
    body["event"] = {"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "text": "hjelp",
                     "ts": "1700000002.000100"}
    return body


def slack_command(server):
    return {"token": "x", "team_id": "T1", "channel_id": "C1", "channel_name": "general", "user_id": "U1",
            "user_name": "kari", "command": "/husbot", "text": "hjelp", "api_app_id": "A1",
            "response_url": server.slack.response_url(), "trigger_id": "trigger-cmd"}


def slack_button(server):
    return {"token": "x", "api_app_id": "A1", "team": {"id": "T1"}, "user": {"id": "U1", "username": "kari"},
            "type": "block_actions", "trigger_id": "trigger-1", "response_url": server.slack.response_url("btn"),
            "channel": {"id": "C1"}, "message": {"type": "message", "ts": "1700000000.000001", "text": "svar"},
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C1"},
            "actions": [{"type": "button", "action_id": "husbot", "block_id": "husbot_actions",
                         "value": json.dumps({"kind": "show_source", "value": "1:1"}), "action_ts": "1700000003.1"}]}


def slack_view(callback_id):
    boxes = {"feedback_reason": {"reason": {"reason": {"type": "plain_text_input", "value": "feil"}}},
             "minutes_edit": {k: {k: {"type": "plain_text_input", "value": "linje"}}
                              for k in ("decisions", "actions", "questions")},
             "status_form": {"aktiviteter": {"aktiviteter": {"type": "plain_text_input", "value": "Møter"}},
                             "budsjett": {"budsjett": {"type": "plain_text_input", "value": "1 200 000"}}}}[callback_id]
    meta = {"feedback_reason": {"feedback_id": 1, "lang": "nb", "channel": "C1", "thread_ts": ""},
            "minutes_edit": {"id": 1, "channel": "C1", "thread_ts": "", "lang": "nb", "shown": {"actions": 1}},
            "status_form": {"pilot": "Narvik", "month": "2025-03", "lang": "nb", "channel": "D1", "page": 1}}[callback_id]
    return {"token": "x", "api_app_id": "A1", "team": {"id": "T1"}, "user": {"id": "U1", "username": "kari"},
            "type": "view_submission", "trigger_id": "trigger-2",
            "view": {"id": "V1", "type": "modal", "callback_id": callback_id, "private_metadata": json.dumps(meta),
                     "state": {"values": boxes}}}


SLACK_BASES = {"event": lambda s: slack_event(), "dm": lambda s: slack_dm(), "command": slack_command, "button": slack_button,
               "reason form": lambda s: slack_view("feedback_reason"),
               "minutes form": lambda s: slack_view("minutes_edit"), "status form": lambda s: slack_view("status_form")}


@examples(1000)
@given(data=st.data(), kind=st.sampled_from(sorted(SLACK_BASES)), n=st.integers(0, 10**9))
def test_mutated_signed_slack_requests_never_get_a_5xx_or_crash_a_listener(server, data, kind, n):
    CASES["slack /slack/events"] += 1
    since = len(server.crashes.records)
    base = SLACK_BASES[kind](server)
    if kind in ("event", "dm"):
        base["event_id"] = f"Ev{n}"         # why: a repeated event id is dropped before anything interesting
    payload = data.draw(mutated(base))
    if kind == "command":
        form = payload if isinstance(payload, dict) else {"text": payload}
        raw = urlencode({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in form.items()})
        r = server.slack_post(raw, "application/x-www-form-urlencoded")
    elif kind in ("event", "dm"):
        r = server.slack_post(json.dumps(payload), "application/json")
    else:
        r = server.slack_post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
    assert_handled(r)
    if kind in ("event", "dm", "command", "button") and n % 50 == 0:
        time.sleep(0.2)                       # now and then let the lazy listeners catch up
    assert_no_crash(server, since)


@examples(100)
@given(raw=st.one_of(st.binary(max_size=200).map(lambda b: b.decode("latin-1")), questions()),
       content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]))
def test_signed_slack_bodies_that_are_not_slack_requests_are_refused(server, raw, content_type):
    CASES["slack /slack/events"] += 1
    since = len(server.crashes.records)
    assert_handled(server.slack_post(raw, content_type))
    assert_no_crash(server, since)


def test_slack_never_showed_a_traceback(server):
    time.sleep(0.5)
    shown = json.dumps([p for _, p in server.slack.posts], ensure_ascii=False)
    assert no_traceback(shown)


# -- Teams ------------------------------------------------------------------------------------------------------------
def teams_activity(server, type_="message", conversation=None, **fields):
    return {"type": type_, "id": "1700000000001", "timestamp": "2025-03-01T10:00:00.000Z",
            "serviceUrl": server.teams.url, "channelId": "msteams", "from": KARI, "recipient": TEAMS_BOT,
            "conversation": conversation or {"conversationType": "personal", "tenantId": TENANT, "id": "a:1kari"},
            "locale": "nb-NO", "channelData": {"tenant": {"id": TENANT}}, **fields}


def teams_bases(server):
    channel = {"conversationType": "channel", "isGroup": True, "tenantId": TENANT, "id": "19:c@thread.tacv2;messageid=1"}
    return {
        "personal": teams_activity(server, text="Hva er Innovasjonshub Orkland?", textFormat="plain"),
        "mention": teams_activity(server, conversation=channel, text="<at>husbot</at> hjelp",
                                  entities=[{"type": "mention", "text": "<at>husbot</at>", "mentioned": TEAMS_BOT}]),
        "button": teams_activity(server, "invoke", name="adaptiveCard/action",
                                 value={"action": {"type": "Action.Execute", "verb": "show_source",
                                                   "data": {"value": "1:1"}}, "trigger": "manual"}),
        "status form": teams_activity(server, "invoke", name="adaptiveCard/action",
                                      value={"action": {"type": "Action.Execute", "verb": "status_submit",
                                                        "data": {"pilot": "Narvik", "month": "2025-03",
                                                                 "budsjett": "1 200 000"}}}),
        "minutes form": teams_activity(server, "invoke", name="adaptiveCard/action",
                                       value={"action": {"type": "Action.Execute", "verb": "minutes_save",
                                                         "data": {"value": "1", "decisions": "Vedtak"}}}),
        "install": teams_activity(server, "conversationUpdate", membersAdded=[TEAMS_BOT]),
        "reaction": teams_activity(server, "messageReaction", reactionsAdded=[{"type": "like"}], replyToId="1"),
    }


@examples(1000)
@given(data=st.data(), kind=st.sampled_from(["personal", "mention", "button", "status form", "minutes form",
                                             "install", "reaction"]), n=st.integers(0, 10**9))
def test_mutated_teams_activities_never_get_a_5xx(server, data, kind, n):
    CASES["teams /api/messages"] += 1
    since = len(server.crashes.records)
    base = teams_bases(server)[kind]
    base["id"] = str(n)
    activity = data.draw(mutated(base))
    r = server.post("/api/messages", json.dumps(activity).encode(), {"Content-Type": "application/json"})
    if r.status_code == 501 and isinstance(activity, dict) and activity.get("type") == "invoke":
        return   # why allowed: 501 is Bot Framework's answer to an invoke name the bot does not handle, not a crash
    assert_handled(r)
    assert_no_crash(server, since)


@examples(100)
@given(raw=st.one_of(st.binary(max_size=200), questions().map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_teams_bodies_that_are_not_activities_are_refused(server, raw):
    CASES["teams /api/messages"] += 1
    assert_handled(server.post("/api/messages", raw, {"Content-Type": "application/json"}))


def test_teams_never_showed_a_traceback(server):
    assert no_traceback(json.dumps(server.teams.sent(), ensure_ascii=False))
