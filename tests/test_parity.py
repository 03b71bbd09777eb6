"""One husbot server, three surfaces: the web chat, Slack and Teams give the same answer and the same sources.

The same indexed corpus and the same `build_app` server answer each question once per surface, each in a fresh
conversation (so no follow-up logic joins them). The answer sentences are read back from each surface's own
rendering (web JSON, Slack Block Kit, Teams Adaptive Card), stripped of markup, and compared; so are the ordered
citations as (document, section, page)."""
from __future__ import annotations

import asyncio
import html
import json
import re
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from fake_connector import FakeConnector
from fake_slack import BOT_USER_ID, FakeSlack
from slack_sdk.signature import SignatureVerifier
from support import write_corpus

from adapters.server import build_app
from bot import t
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder

SECRET = "parity-secret"
TENANT = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
KARI = {"id": "29:1kari-teams-id", "name": "Kari Nordmann", "aadObjectId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
BOT = {"id": "28:husbot-bot-id", "name": "husbot"}

QUESTIONS = [
    "Hva er Innovasjonshub Orkland?",                        # Norwegian
    "Who moved into Sentrumsgården in Narvik?",               # English
    "Hvordan har pilotene organisert kontorfellesskap?",      # comparison across the pilots
]


# -- normalising what each surface shows ---------------------------------------------------------------------------
def norm(text: str) -> str:
    """The words of a sentence without markup: Slack's escapes, * and _ emphasis, and spacing."""
    text = html.unescape(text)
    text = re.sub(r"[*_]", "", text)
    return " ".join(text.split())


def split_cited(body: str) -> list[tuple[str, int]]:
    """'A. [1] B. [2]' -> [('A.', 1), ('B.', 2)]."""
    parts = re.split(r"\s*\[(\d+)\]\s*", body)
    out = [(norm(parts[i]), int(parts[i + 1])) for i in range(0, len(parts) - 1, 2)]
    assert not norm(parts[-1]), f"text after the last citation mark: {parts[-1]!r}"
    return out


def where_of(where: str, lang: str, title: str) -> tuple[str, int | None]:
    """'section, s. 3' -> ('section', 3); the section is left out of the line when it equals the title."""
    page = None
    m = re.search(rf"(?:^|, ){re.escape(t('label_page', lang))} (\d+)$", where)
    if m:
        page, where = int(m.group(1)), where[:m.start()]
    return norm(where) or norm(title), page


# -- the web chat --------------------------------------------------------------------------------------------------
def web_view(reply: dict) -> dict:
    """The web JSON as {answer: [(sentence, n)] or {pilot: [(sentence, n)]}, citations: [(doc, section, page)]}."""
    if reply["kind"] == "comparison":
        answer = {p["pilot"]: [(norm(s), n) for s, n in p["sentences"]] for p in reply["pilots"]}
    else:
        answer = [(norm(s), n) for s, n in reply["sentences"]]
    citations = [(c["document"], norm(c["section"] or c["title"]), c["page"]) for c in reply["citations"]]
    return {"kind": reply["kind"], "answer": answer, "citations": citations}


# -- Slack ---------------------------------------------------------------------------------------------------------
def slack_view(post: dict, lang: str, documents: dict[str, str]) -> dict:
    """Block Kit back to sentences and sources; a source line names the title, which `documents` maps to the file."""
    sections = [b["text"]["text"] for b in post["blocks"] if b["type"] == "section"]
    contexts = [e["text"] for b in post["blocks"] if b["type"] == "context" for e in b["elements"]]
    if sections and norm(sections[0]) == norm(t("compare_lead", lang)):
        kind, answer = "comparison", {}
        for section in sections[1:]:
            head, _, body = section.partition("\n")
            pilot = norm(head)
            answer[pilot] = [] if norm(body) == norm(t("compare_none", lang, pilot=pilot)) else split_cited(body)
    else:
        kind = "answer"
        text = "\n".join(sections)
        lead, _, body = text.partition("\n")
        answer = split_cited(body)
    citations = []
    for line in contexts:
        m = re.fullmatch(r"\[(\d+)\] \*(.+?)\*(?: – (.*))?", line)
        assert m, f"not a Slack source line: {line!r}"
        title = html.unescape(m.group(2))
        section, page = where_of(html.unescape(m.group(3) or ""), lang, title)
        citations.append((documents.get(title, f"<no document titled {title!r}>"), section, page))
    return {"kind": kind, "answer": answer, "citations": citations}


# -- Teams ---------------------------------------------------------------------------------------------------------
def card_texts(card: dict) -> list[str]:
    out = []
    for item in card.get("body", []):
        if item.get("type") == "TextBlock":
            out.append(item["text"])
        out += card_texts({"body": item.get("items", [])})
    return out


def teams_view(card: dict, lang: str) -> dict:
    lines = card_texts(card)
    sources = t("label_sources", lang)
    cut = lines.index(sources) if sources in lines else len(lines)
    text, source_lines = lines[:cut], lines[cut + 1:]
    if text and norm(text[0]) == norm(t("compare_lead", lang)):
        kind, answer = "comparison", {}
        for line in text[1:]:
            pilot, _, body = line.partition(": ")
            pilot = norm(pilot)
            answer[pilot] = [] if norm(body) == norm(t("compare_none", lang, pilot=pilot)) else split_cited(body)
    else:
        kind = "answer"
        answer = split_cited(" ".join(text[1:]))
    citations = []
    for line in source_lines:
        m = re.fullmatch(r"\[(\d+)\] \*\*(.+?)\*\*(?: \((.+?)\))?(?: – (.*))?", line)
        assert m, f"not a Teams source line: {line!r}"
        title = m.group(2)
        document = m.group(3) or title
        section, page = where_of(m.group(4) or "", lang, title)
        citations.append((document, section, page))
    return {"kind": kind, "answer": answer, "citations": citations}


# -- one server with all three surfaces ----------------------------------------------------------------------------
class Surfaces:
    def __init__(self, server: TestServer, slack: FakeSlack, teams: FakeConnector):
        self.server, self.slack, self.teams = server, slack, teams
        self._n = 0

    def next_id(self) -> int:
        self._n += 1
        return self._n

    async def _post(self, path: str, raw: bytes, headers: dict) -> tuple[int, str]:
        async with aiohttp.ClientSession() as s:
            async with s.post(self.server.make_url(path), data=raw, headers=headers) as r:
                return r.status, await r.text()

    async def web(self, question: str) -> dict:
        body = {"text": question, "conversation_id": f"parity-web-{self.next_id()}"}
        status, text = await self._post("/api/ask", json.dumps(body).encode(), {"Content-Type": "application/json"})
        assert status == 200, text
        return json.loads(text)

    async def slack_ask(self, question: str) -> dict:
        n = self.next_id()
        ts = f"17000{n:05d}.000100"       # a new channel post: its own thread
        event = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> {question}", "channel": "C1",
                 "ts": ts, "event_ts": ts}
        body = json.dumps({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                           "event_id": f"EvParity{n:04d}", "event_time": int(time.time()), "event": event,
                           "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}]})
        now = str(int(time.time()))
        sig = SignatureVerifier(SECRET).generate_signature(timestamp=now, body=body)
        status, text = await self._post("/slack/events", body.encode(), {
            "Content-Type": "application/json", "X-Slack-Request-Timestamp": now, "X-Slack-Signature": sig})
        assert status == 200, text
        for _ in range(500):
            mine = [p for p in self.slack.called("chat.postMessage") if p.get("thread_ts") == ts]
            if mine:
                [post] = mine
                return post
            await asyncio.sleep(0.02)
        raise AssertionError(f"no Slack answer in thread {ts}: {self.slack.calls}")

    async def teams_ask(self, question: str) -> dict:
        n = self.next_id()
        conversation = f"a:1parity-personal-{n}"
        activity = {"type": "message", "id": f"17000000{n:05d}", "timestamp": "2025-03-01T10:00:00.000Z",
                    "serviceUrl": self.teams.url, "channelId": "msteams", "from": KARI, "recipient": BOT,
                    "conversation": {"conversationType": "personal", "tenantId": TENANT, "id": conversation},
                    "locale": "nb-NO", "channelData": {"tenant": {"id": TENANT}}, "text": question,
                    "textFormat": "plain"}
        status, text = await self._post("/api/messages", json.dumps(activity).encode(),
                                        {"Content-Type": "application/json"})
        assert status == 200, text
        for _ in range(500):
            cards = [a["content"] for m in self.teams.sent("message") if m["_conversation"] == conversation
                     for a in m.get("attachments") or [] if a.get("contentType", "").endswith("card.adaptive")]
            if cards:
                [card] = cards
                return card
            await asyncio.sleep(0.02)
        raise AssertionError(f"no Teams card in {conversation}: {self.teams.calls}")


@pytest.fixture
async def surfaces(tmp_path):
    slack = await FakeSlack().start()
    teams = await FakeConnector(members={KARI["id"]: {**KARI, "email": "kari.nordmann@narvik.kommune.no",
                                                      "userPrincipalName": "kari.nordmann@narvik.kommune.no"}}).start()
    # why the low threshold: confidence is calibrated for e5 similarities, not for the fake embedder's
    settings = Settings.load(environ={}, home=str(tmp_path / "home"), slack_bot_token="xoxb-test",
                             slack_signing_secret=SECRET, slack_api_url=slack.url, teams_allow_unauthenticated=True,
                             min_confidence=0.01)
    knowledge = Knowledge(settings, embedder=HashingEmbedder())
    assert index_paths(knowledge, [write_corpus(tmp_path / "corpus")]).errors == []
    server = TestServer(build_app(settings, knowledge), host="127.0.0.1", port=0)
    await server.start_server()
    s = Surfaces(server, slack, teams)
    s.documents = {d.title: d.name for d in knowledge.store.documents()}
    yield s
    await asyncio.sleep(0.05)   # let lazy Slack listeners finish posting before the loop closes
    await server.close()
    await teams.close()
    await slack.close()
    knowledge.close()


async def test_web_slack_and_teams_give_the_same_answer_and_sources(surfaces):
    differences = []
    for question in QUESTIONS:
        web_reply = await surfaces.web(question)
        lang = web_reply["lang"]
        web = web_view(web_reply)
        slack = slack_view(await surfaces.slack_ask(question), lang, surfaces.documents)
        teams = teams_view(await surfaces.teams_ask(question), lang)
        # the questions must really be answered, or the comparison proves nothing
        assert web["kind"] in ("answer", "comparison") and web_reply["found"], (question, web_reply)
        assert web["citations"] and web["answer"], (question, web_reply)
        for name, other in (("slack", slack), ("teams", teams)):
            for field in ("kind", "answer", "citations"):
                if other[field] != web[field]:
                    differences.append(f"{question!r} {field}: web={web[field]!r} {name}={other[field]!r}")
    assert not differences, "surfaces disagree:\n" + "\n".join(differences)


def test_the_questions_cover_norwegian_english_and_a_comparison():
    from bot.compare import is_comparison
    assert [is_comparison(q) for q in QUESTIONS] == [False, False, True]
