"""Two husbot servers on one PostgreSQL database (issue 9): each its own process state and data folder, sharing
everything users see through the database. Real HTTP into both; Slack's Web API faked on 127.0.0.1."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from fake_slack import BOT_USER_ID, FakeSlack
from slack_support import SECRET, Husbot
from support import write_corpus

from adapters.server import BOT_KEY, build_app
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder

pytestmark = pytest.mark.backends("postgresql")

OPENING = datetime(2025, 5, 2, 9, 0, tzinfo=ZoneInfo("Europe/Oslo"))   # the first working day of May 2025
PEOPLE = """pilot,name,role,email,slack_user_id,teams_aad_id
Narvik,Nora Leder,leader,nora@narvik.no,UNARVIK,
Stad,Siri Leder,leader,siri@stad.no,USTAD,
Orkland,Olav Leder,leader,olav@orkland.no,UOLAV,
"""


class Server:
    """One `husbot serve` as its own app, Knowledge (own connection, own search caches) and data folder."""

    def __init__(self, settings: Settings, knowledge: Knowledge, server: TestServer, fake: FakeSlack):
        self.settings, self.knowledge, self.server = settings, knowledge, server
        self.slack = Husbot(server, fake)
        self.bot = server.app[BOT_KEY]

    async def post(self, path: str, body: dict) -> dict:
        async with aiohttp.ClientSession() as s:
            async with s.post(self.server.make_url(path), json=body) as r:
                assert r.status == 200, await r.text()
                return await r.json()

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as s:
            async with s.get(self.server.make_url(path)) as r:
                return r.status, await r.text()


@pytest.fixture
async def fake():
    f = await FakeSlack().start()
    yield f
    await f.close()


@pytest.fixture
async def servers(tmp_path, database_url, fake):
    out = []
    for name in ("a", "b"):
        settings = Settings.load(environ={}, home=str(tmp_path / name), database_url=database_url,
                                 slack_bot_token="xoxb-test", slack_signing_secret=SECRET, slack_api_url=fake.url,
                                 public_url="https://husbot.example.no", refresh_seconds=0.2, min_confidence=0.01)
        knowledge = Knowledge(settings, embedder=HashingEmbedder())
        if name == "a":
            assert index_paths(knowledge, [write_corpus(tmp_path / "corpus")]).errors == []
        server = TestServer(build_app(settings, knowledge), host="127.0.0.1", port=0)
        await server.start_server()
        out.append(Server(settings, knowledge, server, fake))
    out[0].bot.roster.import_csv(PEOPLE)
    yield out
    await asyncio.sleep(0.05)
    for s in out:
        await s.server.close()
        s.knowledge.close()


async def test_a_slack_event_delivered_to_both_servers_is_answered_once(servers, fake):
    a, b = servers
    mention = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> Hva er Innovasjonshub Orkland?",
               "channel": "C1", "ts": "1700000001.000100", "event_ts": "1700000001.000100"}
    acks = await asyncio.gather(a.slack.event(mention, event_id="EvSame"), b.slack.event(mention, event_id="EvSame"))
    assert [status for status, _ in acks] == [200, 200]
    [post] = await fake.wait_for("chat.postMessage")
    assert "Innovasjonshub Orkland" in post["text"]
    await asyncio.sleep(0.5)
    assert len(fake.called("chat.postMessage")) == 1
    # a different event is still answered, by whichever server gets it
    await b.slack.event({**mention, "ts": "1700000002.000100"}, event_id="EvOther")
    await fake.wait_for("chat.postMessage", 2)


async def test_a_passage_indexed_through_one_server_is_found_through_the_other_within_seconds(servers, tmp_path):
    a, b = servers
    first = await b.post("/api/ask", {"text": "Hva er Polarlyshagen i Lyngdal?", "conversation_id": "x"})
    assert "Polarlyshagen" not in json.dumps(first.get("citations", []), ensure_ascii=False)
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "lyngdal-notat.txt").write_text(
        "Lyngdal åpnet Polarlyshagen, et felles servicetorg for Skatteetaten og NAV, i mars 2024. "
        "Polarlyshagen har drop-in hver tirsdag.", encoding="utf-8")
    assert index_paths(a.knowledge, [folder]).indexed == ["lyngdal-notat.txt"]
    started = time.monotonic()
    while True:
        reply = await b.post("/api/ask", {"text": "Hva er Polarlyshagen i Lyngdal?", "conversation_id": "x"})
        if any(c["document"] == "lyngdal-notat.txt" for c in reply.get("citations", [])):
            break
        assert time.monotonic() - started < 5, "server b never saw the passage indexed through server a"
        await asyncio.sleep(0.1)
    assert time.monotonic() - started < 5


async def test_conversation_state_and_feedback_are_shared(servers):
    a, b = servers
    reply = await a.post("/api/ask", {"text": "Hva tilbyr huben i Orkland?", "conversation_id": "delt"})
    # the follow-up and the source button arrive at the other server (a load balancer sent them there)
    source = await b.post("/api/action", {"kind": "show_source", "value": f"{reply['answer_id']}:1",
                                          "conversation_id": "delt"})
    assert source["kind"] == "source" and source["text"].startswith("Kilde [1]:")
    follow = await b.post("/api/ask", {"text": "og i Stad?", "conversation_id": "delt"})
    assert "Stad" in follow["question"] and follow["question"] != "og i Stad?"
    down = await b.post("/api/action", {"kind": "feedback_down", "value": reply["answer_id"],
                                        "conversation_id": "delt"})
    await a.post("/api/feedback-reason", {"feedback_id": down["answer_id"], "reason": "feil pilot"})
    for s in (a, b):
        assert s.bot.feedback.counts() == {"up": 0, "down": 1, "recent_reasons": ["feil pilot"]}
    assert [p["email"] for p in b.bot.roster.people()] == ["nora@narvik.no", "olav@orkland.no", "siri@stad.no"]


async def test_the_monthly_round_run_by_both_servers_at_once_prompts_each_leader_once(servers, fake):
    a, b = servers
    for s in servers:
        s.bot.status.round.now = lambda: OPENING
    results = await asyncio.gather(a.bot.schedule.run("status_round", OPENING),
                                   b.bot.schedule.run("status_round", OPENING))
    await asyncio.sleep(0.3)
    assert sorted(p["channel"] for p in fake.called("chat.postMessage")) == ["UNARVIK", "UOLAV", "USTAD"], results
    # and again after a restart of both (the catch-up at start-up runs the job once more): nothing new goes out
    await asyncio.gather(a.bot.schedule.catch_up(), b.bot.schedule.catch_up())
    await asyncio.sleep(0.3)
    assert len(fake.called("chat.postMessage")) == 3


async def test_a_status_form_link_made_by_one_server_opens_on_the_other(servers, fake):
    a, b = servers
    for s in servers:
        s.bot.status.round.now = lambda: OPENING
    await a.bot.schedule.run("status_round", OPENING)
    [dm] = [p for p in fake.called("chat.postMessage") if p["channel"] == "UNARVIK"]
    url = next(w for w in dm["text"].split() if w.startswith("https://husbot.example.no/status/form"))
    token = parse_qs(urlparse(url).query)["t"][0]
    status, page = await b.get(f"/status/form?t={token}")
    assert status == 200 and "Narvik" in page
    status, _ = await b.get(f"/status/form?t={token[:-2]}xx")
    assert status in (400, 403)


def test_two_servers_claiming_the_same_messages_at_the_same_moment_send_each_once(tmp_path, database_url):
    """The outbox's claim is what stops a double send when two servers' jobs overlap; each server here runs in
    its own thread with its own connection, so their claims really race in the database."""
    import threading

    from bot import Bot
    from bot.outbox import Recipient
    from bot.turn import Reply

    delivered: list[tuple[str, str]] = []
    knowledges = [Knowledge(Settings.load(environ={}, home=str(tmp_path / name), database_url=database_url),
                            embedder=HashingEmbedder()) for name in ("a", "b")]
    start = threading.Barrier(2)

    def serve(name: str, knowledge: Knowledge) -> None:
        bot = Bot(knowledge)

        async def sender(recipient, reply):
            delivered.append((name, reply.text))

        bot.outbox.register("slack", sender)

        async def run():
            for n in range(60):
                await bot.outbox.send(f"status_prompt:2025-05:Narvik:{n}", "status_prompt",
                                      Recipient(name="Nora", slack_user_id="UNARVIK"), Reply("status_prompt", str(n)))
        start.wait()
        asyncio.run(run())

    threads = [threading.Thread(target=serve, args=(n, k)) for n, k in zip("ab", knowledges)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for k in knowledges:
        k.close()
    texts = [text for _, text in delivered]
    assert sorted(texts, key=int) == [str(n) for n in range(60)], "a message went out twice or not at all"
    assert {name for name, _ in delivered} <= {"a", "b"}


async def test_while_one_server_runs_a_job_the_other_skips_it(servers, fake):
    a, b = servers
    for s in servers:
        s.bot.status.round.now = lambda: OPENING
    with a.knowledge.store.job_lock("status_round") as mine:
        assert mine
        assert await b.bot.schedule.run("status_round", OPENING) is None
    await asyncio.sleep(0.2)
    assert fake.called("chat.postMessage") == []
    assert (await b.bot.schedule.run("status_round", OPENING))["sent"] == 3


async def test_an_evaluator_signed_in_on_one_server_stays_signed_in_on_the_other(servers):
    """The dashboard's sessions live in the database: a load balancer may send the next request anywhere."""
    from bot.tokens import Tokens
    a, b = servers
    _, token = Tokens(a.knowledge.store.db).create("evaluator", "Eva")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.post(a.server.make_url("/status/login"), data={"token": token},
                          headers={"Origin": str(a.server.make_url("")).rstrip("/")}, allow_redirects=False) as r:
            assert r.status in (302, 303), await r.text()
            cookie = r.cookies["husbot_status"].value
        async with s.get(b.server.make_url("/status"), cookies={"husbot_status": cookie}) as r:
            page = await r.text()
            assert r.status == 200 and "Eva" in page and 'name="token"' not in page


# -- two real `husbot serve` processes ---------------------------------------------------------------------------

async def _serve_process(home, port: int, environ: dict):
    import subprocess
    import sys
    from pathlib import Path
    husbot = str(Path(sys.executable).with_name("husbot"))
    proc = subprocess.Popen([husbot, "--home", str(home), "serve", "--port", str(port)], env=environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError("husbot serve did not start")


async def test_two_husbot_serve_processes_answer_each_slack_event_once(tmp_path, database_url, fake):
    """The deployment of docs/postgresql.md in small: two processes, one database; every event reaches both (as a
    retrying Slack or proxy may cause) and each is answered exactly once."""
    import os
    import socket

    from click.testing import CliRunner
    from slack_sdk.signature import SignatureVerifier

    from adapters.cli.main import cli
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HUSBOT_", "SLACK_"))}
    environ.update({"HUSBOT_EMBEDDER": "hashing", "HUSBOT_DATABASE_URL": database_url, "HF_HUB_OFFLINE": "1",
                    "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "HUSBOT_SLACK_API_URL": fake.url,
                    "HUSBOT_MIN_CONFIDENCE": "0.01"})
    indexed = CliRunner().invoke(cli, ["--home", str(tmp_path / "indexer"), "index",
                                       str(write_corpus(tmp_path / "corpus"))], env=environ)
    assert indexed.exit_code == 0, indexed.output
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    procs = [await _serve_process(tmp_path / f"server-{n}", port, environ) for n, port in enumerate(ports)]
    try:
        async def deliver(port: int, n: int) -> int:
            body = json.dumps({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                               "event_id": f"EvTwice{n}", "event_time": int(time.time()),
                               "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}],
                               "event": {"type": "app_mention", "user": "U1", "channel": "C1",
                                         "text": f"<@{BOT_USER_ID}> Hva er Innovasjonshub Orkland? ({n})",
                                         "ts": f"17000000{n:02d}.000100", "event_ts": f"17000000{n:02d}.000100"}})
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
                       "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)}
            async with aiohttp.ClientSession() as s:
                async with s.post(f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=headers) as r:
                    return r.status

        statuses = await asyncio.gather(*(deliver(port, n) for n in range(8) for port in ports))
        assert set(statuses) == {200}
        posts = await fake.wait_for("chat.postMessage", 8, timeout=60)
        await asyncio.sleep(1.0)
        posts = fake.called("chat.postMessage")
        assert sorted(p["thread_ts"] for p in posts) == [f"17000000{n:02d}.000100" for n in range(8)]
        assert all("Innovasjonshub Orkland" in p["text"] for p in posts)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


async def test_minutes_captured_across_both_servers_end_up_in_one_draft_and_are_found_through_either(servers):
    """A meeting's messages reach whichever server the proxy picks; the capture, the draft and the accepted minutes
    are one record in the database."""
    a, b = servers
    conv = {"conversation_id": "styringsgruppe"}
    await a.post("/api/ask", {**conv, "text": "referat start styringsgruppe Narvik"})
    await b.post("/api/ask", {**conv, "text": "Vedtak: Narvik kjøper inn felles møteromsbooking fra april."})
    await a.post("/api/ask", {**conv, "text": "@Kari sender tilbudet til etatene innen fredag."})
    draft = await b.post("/api/ask", {**conv, "text": "referat stopp"})
    content = draft["data"]["minutes"]["content"]
    assert any("møteromsbooking" in d for d in content["decisions"])
    assert any("tilbudet" in x["text"] for x in content["actions"])
    accepted = await a.post("/api/action", {**conv, "kind": "minutes_accept",
                                            "value": str(draft["data"]["minutes"]["id"])})
    assert accepted["kind"] == "minutes_accepted"
    started = time.monotonic()
    while True:
        reply = await b.post("/api/ask", {"text": "Hva ble vedtatt om møteromsbooking i Narvik?",
                                          "conversation_id": "etterpaa"})
        if any(c["document"].startswith("referat-") for c in reply.get("citations", [])):
            break
        assert time.monotonic() - started < 5, reply
        await asyncio.sleep(0.1)


async def test_a_status_answer_left_unindexed_is_made_searchable_by_the_hourly_job(servers):
    """Two servers indexing the same pilot's status at once: the loser's answer is stored, and the re-index job
    (at start-up and hourly, on whichever server takes it) makes the newest version searchable."""
    a, b = servers
    for s in servers:
        s.bot.status.round.now = lambda: OPENING
    answer = a.bot.status.round.book.add_answer("Narvik", "2025-05", {"status": "Kontorfellesskapet åpnet i mai."},
                                                by="nora@narvik.no", platform="web", at=OPENING, deadline=None,
                                                late=False)
    assert answer["indexed_at"] is None          # stored, as if the server had died before indexing it
    assert await b.bot.schedule.run("status_reindex", OPENING) == (1, 1)
    assert a.bot.status.round.book.latest("Narvik", "2025-05")["indexed_at"]
    assert await a.bot.schedule.run("status_reindex", OPENING) == (0, 0)
