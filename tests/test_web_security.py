"""The web pages' defences (issue #8): hashed tokens compared in constant time, CSRF on every POST, cookies,
a Content-Security-Policy without inline script on every HTML page, and rate-limited sign-in."""
from __future__ import annotations

import re
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

import bot.tokens
from adapters.server import BOT_KEY, build_app
from adapters.web.guard import LOGIN_FAILURES, LOGIN_WINDOW
from adapters.web.status import SESSION_COOKIE
from bot.status import links
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder
from support import write_corpus

PEOPLE = """pilot,name,role,email,slack_user_id,teams_aad_id
Narvik,Nora Leder,leader,nora@narvik.no,UNARVIK,
"""


@pytest.fixture
async def client(tmp_path):
    k = Knowledge(Settings.load(environ={}, home=str(tmp_path / "home"), public_url="https://husbot.example.no/"),
                  embedder=HashingEmbedder())
    assert index_paths(k, [write_corpus(tmp_path / "corpus")]).errors == []
    app = build_app(k.settings, k)
    app[BOT_KEY].roster.import_csv(PEOPLE)
    async with TestClient(TestServer(app)) as c:
        yield c
    k.close()


def bot_of(client):
    return client.server.app[BOT_KEY]


def status_view(client):
    route = next(r for r in client.server.app.router.routes() if r.resource.canonical == "/status/login")
    return route.handler.__self__


def new_token(client, role="evaluator") -> str:
    return bot.tokens.Tokens(bot_of(client).knowledge.store.db).create(role, "Eva")[1]


# -- tokens ---------------------------------------------------------------------------------------------------------
async def test_dashboard_tokens_are_stored_hashed_and_compared_in_constant_time(client, monkeypatch):
    tokens = bot.tokens.Tokens(bot_of(client).knowledge.store.db)
    values = [tokens.create("evaluator", f"e{n}")[1] for n in range(3)]
    dump = "\n".join(bot_of(client).knowledge.store.db.conn.iterdump())
    assert not any(v in dump for v in values)
    calls = []
    real = bot.tokens.hmac.compare_digest
    monkeypatch.setattr(bot.tokens.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    assert tokens.verify(values[0])["name"] == "e0"
    assert tokens.verify("hb_wrong") is None
    # every active token is compared both times, with compare_digest: the time does not depend on which one matched
    assert len(calls) == 6


# -- CSRF -------------------------------------------------------------------------------------------------------------
CHAT_POSTS = [("/api/ask", {"text": "Hva tilbyr huben i Orkland?", "conversation_id": "s1"}),
              ("/api/action", {"kind": "feedback_up", "value": "nope", "conversation_id": "s1"}),
              ("/api/feedback-reason", {"feedback_id": 1, "reason": "feil", "conversation_id": "s1"})]


@pytest.mark.parametrize("path,body", CHAT_POSTS, ids=[p for p, _ in CHAT_POSTS])
@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site", "Origin": "https://husbot.example.no"}])
async def test_chat_api_refuses_posts_from_another_site(client, path, body, headers):
    resp = await client.post(path, json=body, headers=headers)
    assert resp.status == 403
    assert (await resp.json())["error"].startswith("Forespørselen kom fra en annen nettside og ble avvist.")
    assert bot_of(client).knowledge.store.db["answers"].count == 0


@pytest.mark.parametrize("headers", [{}, {"Sec-Fetch-Site": "same-origin"}, {"Origin": "__HOST__"},
                                     {"Origin": "https://husbot.example.no"}])
async def test_chat_api_accepts_its_own_page_and_non_browser_clients(client, headers):
    headers = {k: v.replace("__HOST__", str(client.make_url("")).rstrip("/")) for k, v in headers.items()}
    resp = await client.post("/api/ask", json=CHAT_POSTS[0][1], headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["kind"] == "answer"


async def test_sign_in_from_another_site_is_refused(client):
    resp = await client.post("/status/login", data={"token": new_token(client)},
                             headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert resp.status == 403 and "Innloggingen kom fra en annen nettside" in await resp.text()
    assert SESSION_COOKIE not in resp.cookies


async def test_logout_without_the_sessions_csrf_token_keeps_the_session(client):
    await client.post("/status/login", data={"token": new_token(client)}, allow_redirects=False)
    await client.post("/status/logout", data={"csrf": "wrong"}, allow_redirects=False)
    resp = await client.get("/status")
    assert "Logg ut" in await resp.text()


# -- cookies ----------------------------------------------------------------------------------------------------------
async def test_session_cookie_is_httponly_samesite_strict_and_secure_behind_https(client):
    resp = await client.post("/status/login", data={"token": new_token(client)}, allow_redirects=False)
    assert resp.status == 303
    cookie = resp.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/status"
    assert not cookie["secure"]
    resp = await client.post("/status/login", data={"token": new_token(client)}, allow_redirects=False,
                             headers={"X-Forwarded-Proto": "https"})
    assert resp.cookies[SESSION_COOKIE]["secure"]


# -- Content-Security-Policy ----------------------------------------------------------------------------------------
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.I)


def assert_strict_page(resp, text):
    csp = resp.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    scripts = re.search(r"script-src ([^;]*)", csp)
    assert scripts is None or scripts.group(1).strip() == "'self'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert not INLINE.search(text), INLINE.search(text).group(0)


async def test_every_html_page_has_a_csp_without_inline_script_or_style(client):
    bot_ = bot_of(client)
    nora = bot_.roster.people()[0]
    token = links.make_token(links.key(bot_.knowledge.settings.home), "Narvik", "2025-05", nora["id"],
                             nora["email"], time.time() + 3600)
    pages = [await client.get("/"), await client.get("/status"),
             await client.post("/status/login", data={"token": "hb_wrong"}),
             await client.get("/status/form", params={"t": "forged"})]
    pages.append(await client.get("/status/form", params={"t": token}))
    await client.post("/status/login", data={"token": new_token(client)})
    pages += [await client.get("/status"), await client.get("/status/answer", params={"pilot": "Narvik",
                                                                                      "month": "2025-05"})]
    for resp in pages:
        assert resp.content_type == "text/html", resp.url
        assert_strict_page(resp, await resp.text())
    # the chat page's own files carry the script and the styles
    page = await (await client.get("/")).text()
    assert '<script src="/static/app.js" defer></script>' in page
    assert (await client.get("/static/app.js")).status == 200


# -- sign-in rate limit -----------------------------------------------------------------------------------------------
async def test_sign_in_is_refused_for_ten_minutes_after_five_failures(client):
    good = new_token(client)
    now = [1000.0]
    status_view(client).limiter.clock = lambda: now[0]
    for _ in range(LOGIN_FAILURES):
        assert (await client.post("/status/login", data={"token": "hb_guess"})).status == 403
    resp = await client.post("/status/login", data={"token": good}, allow_redirects=False)
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    page = await resp.text()
    assert "For mange mislykkede innlogginger fra denne adressen. Vent ti minutter og prøv igjen" in page
    assert SESSION_COOKIE not in resp.cookies
    now[0] += LOGIN_WINDOW + 1
    resp = await client.post("/status/login", data={"token": good}, allow_redirects=False)
    assert resp.status == 303 and SESSION_COOKIE in resp.cookies


async def test_a_successful_sign_in_clears_earlier_failures(client):
    good = new_token(client)
    for _ in range(LOGIN_FAILURES - 1):
        await client.post("/status/login", data={"token": "hb_guess"})
    assert (await client.post("/status/login", data={"token": good}, allow_redirects=False)).status == 303
    for _ in range(LOGIN_FAILURES - 1):
        assert (await client.post("/status/login", data={"token": "hb_guess"})).status == 403
