"""The status round on the web: the leader's form behind a signed link, the evaluator dashboard and the export."""
from __future__ import annotations

import csv
import hashlib
import io
import re
import time
from datetime import datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.server import BOT_KEY, build_app
from adapters.web.status import CSRF_COOKIE, SESSION_COOKIE
from bot import Turn
from bot.status import links
from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2025, 5, 6, 10, 0, tzinfo=OSLO)       # the May round's deadline is 2025-05-09
PEOPLE = """pilot,name,role,email,slack_user_id,teams_aad_id
Narvik,Nora Leder,leader,nora@narvik.no,UNARVIK,
Stad,Siri Leder,leader,siri@stad.no,USTAD,
Stad,Sverre Medlem,member,sverre@stad.no,USVERRE,
,Eva Evaluator,evaluator,eva@oxford.no,UEVA,
"""


@pytest.fixture
def home(tmp_path):
    k = Knowledge(Settings.load(environ={}, home=str(tmp_path / "home"), public_url="https://husbot.example.no/"),
                  embedder=HashingEmbedder())
    yield k
    k.close()


@pytest.fixture
async def client(home):
    app = build_app(home.settings, home)
    bot = app[BOT_KEY]
    bot.roster.import_csv(PEOPLE)
    bot.status.round.now = lambda: NOW
    async with TestClient(TestServer(app)) as c:
        yield c


def bot_of(client):
    return client.server.app[BOT_KEY]


def person(bot, email: str) -> dict:
    return next(p for p in bot.roster.people() if p["email"] == email)


def form_token(bot, pilot="Narvik", month="2025-05", email="nora@narvik.no") -> str:
    """The link the round's prompt carries for this person (bot/status/links.py through the prompt's text)."""
    reply = bot.status.round.prompt_reply(pilot, month, "2025-05-09", "Nora", person=person(bot, email))
    url = reply.data["form_url"]
    assert url in reply.text and url.startswith("https://husbot.example.no/status/form?t=")
    return parse_qs(urlsplit(url).query)["t"][0]


def hidden(page: str, name: str) -> str:
    return unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))


def box(page: str, key: str) -> str:
    """What the form shows in the box of field `key`."""
    m = re.search(rf'<textarea rows="\d+" name="{key}"[^>]*>(.*?)</textarea>', page, re.S) or \
        re.search(rf'<input type="text" inputmode="decimal" name="{key}"[^>]*value="([^"]*)"', page)
    return unescape(m.group(1))


async def open_form(client, token):
    resp = await client.get("/status/form", params={"t": token})
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def send_form(client, page: str, values: dict, **overrides):
    data = {"t": hidden(page, "t"), "csrf": hidden(page, "csrf"), **values, **overrides}
    return await client.post("/status/form", data={k: v for k, v in data.items() if v is not None})


# -- the leader's form --------------------------------------------------------------------------------------------
async def test_form_link_shows_the_fields_prefilled_with_changes_and_open_action_items(client):
    bot = bot_of(client)
    april = bot.status.round.submit("Narvik", "2025-04", {"status": "Rekrutteringen går bra.", "budsjett": "1 200 000",
                                                          "erfaringer": "Felles lunsj virker."}, by="Nora")
    assert april["version"] == 1
    await bot.handle(Turn("referat importer arbeidsmøte 2025-04-20 Narvik\nKari sender husleieavtalen innen fredag.",
                          role="admin", thread_id="M1"))
    await bot.handle(Turn("referat godta", role="admin", thread_id="M1"))
    resp = await client.get("/status/form", params={"t": form_token(bot)})
    assert resp.status == 200
    assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]
    assert "script-src" not in resp.headers["Content-Security-Policy"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    cookie = resp.cookies[CSRF_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    page = await resp.text()
    assert "<h1>Månedsstatus Narvik – mai 2025</h1>" in page and "<script" not in page
    assert box(page, "status") == "Rekrutteringen går bra." and box(page, "budsjett") == "1200000"
    assert "Forhåndsutfylt fra forrige måned (2025-04)" in page
    assert page.count("fra forrige måned</span>") == 3
    assert "sender husleieavtalen" in page
    # this month's answer with a new budget: the changed field is marked and last month's value shown beside it
    bot.status.round.submit("Narvik", "2025-05", {"status": "Rekrutteringen går bra.", "budsjett": "1 300 000"})
    page = await open_form(client, form_token(bot))
    assert box(page, "budsjett") == "1300000"
    changed = re.search(r'<div class="field changed" id="f-budsjett">.*?</div>', page, re.S).group(0)
    assert "endret siden forrige måned" in changed and "1200000" in changed
    assert '<div class="field" id="f-status">' in page
    assert "Siste lagrede versjon: 1" in page


async def test_the_rounds_prompt_carries_each_leaders_own_link(client):
    bot = bot_of(client)
    sent = []

    async def dm(recipient, reply):
        sent.append((recipient.slack_user_id, reply))

    bot.outbox.register("slack", dm)
    await bot.status.round.start("2025-05")
    links_by_user = {user: reply.data["form_url"] for user, reply in sent}
    assert set(links_by_user) == {"UNARVIK", "USTAD"} and links_by_user["UNARVIK"] != links_by_user["USTAD"]
    prompt = next(reply for user, reply in sent if user == "UNARVIK")
    assert prompt.text.endswith(f"Du kan også fylle ut skjemaet i nettleseren: {links_by_user['UNARVIK']}")
    page = await open_form(client, parse_qs(urlsplit(links_by_user["UNARVIK"]).query)["t"][0])
    assert "<h1>Månedsstatus Narvik – mai 2025</h1>" in page


async def test_form_post_stores_a_new_version_and_confirms_it(client):
    bot = bot_of(client)
    page = await open_form(client, form_token(bot))
    resp = await send_form(client, page, {"status": "Huben har fått to nye etater.", "budsjett": "2 000 000 kr",
                                          "forbrukt": "450.000", "endringer_godkjent": "ja"})
    assert resp.status == 200
    done = await resp.text()
    assert "Takk! Månedsstatus for Narvik, mai 2025 er lagret (versjon 1)." in done
    assert "Merket som sent" not in done
    latest = bot.status.round.book.latest("Narvik", "2025-05")
    assert latest["answers"] == {"status": "Huben har fått to nye etater.", "budsjett": "2000000",
                                 "forbrukt": "450000", "endringer_godkjent": "ja"}
    assert latest["submitted_by"] == "Nora Leder" and latest["platform"] == "web" and latest["indexed_at"]
    overview = bot.status.overview_data("2025-05")
    assert {r["pilot"]: r["state"] for r in overview["pilots"]}["Narvik"] == "answered"


async def test_form_after_the_deadline_is_stored_and_flagged_late(client):
    bot = bot_of(client)
    bot.status.round.now = lambda: datetime(2025, 5, 20, 9, 0, tzinfo=OSLO)
    page = await open_form(client, form_token(bot))
    assert "Fristen har gått ut" in page
    resp = await send_form(client, page, {"status": "Sent, men godt."})
    done = await resp.text()
    assert resp.status == 200 and "Merket som sent" in done and "etter fristen 2025-05-09" in done
    assert bot.status.round.book.latest("Narvik", "2025-05")["late"]


async def test_too_long_field_is_shown_as_an_error_and_the_typed_values_are_kept(client):
    bot = bot_of(client)
    page = await open_form(client, form_token(bot))
    long_text = "Lang tekst. " * 4300          # ~50 KB
    resp = await send_form(client, page, {"status": "Alt går etter planen.", "erfaringer": long_text,
                                          "budsjett": "mye"})
    assert resp.status == 422
    again = await resp.text()
    assert "Ingenting er lagret ennå: 2 felt må rettes." in again
    assert re.search(r'<div class="field invalid" id="f-erfaringer">.*?class="error" id="e-erfaringer">For langt '
                     r'\(51599 tegn\)', again, re.S)
    assert "er ikke et tall" in re.search(r'id="f-budsjett">.*?</div>', again, re.S).group(0)
    assert box(again, "erfaringer") == long_text.strip() or box(again, "erfaringer") == long_text
    assert box(again, "status") == "Alt går etter planen." and box(again, "budsjett") == "mye"
    assert bot.status.round.book.latest("Narvik", "2025-05") is None
    # the page that came back can be sent again once corrected
    resp = await send_form(client, again, {"status": "Alt går etter planen.", "erfaringer": "Kort nå.",
                                           "budsjett": "100"})
    assert resp.status == 200 and bot.status.round.book.latest("Narvik", "2025-05")["answers"]["budsjett"] == "100"


async def test_forged_or_expired_link_is_refused_with_a_norwegian_message(client):
    bot = bot_of(client)
    token = form_token(bot)
    payload, _, signature = token.partition(".")
    stad = links._b64(links._unb64(payload).replace(b'"Narvik"', b'"Stad"'))
    for forged in (f"{stad}.{signature}", token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "", "tull"):
        resp = await client.get("/status/form", params={"t": forged})
        assert resp.status == 403
        assert "Lenken til skjemaet er ugyldig." in await resp.text()
    secret = links.key(bot.knowledge.settings.home)
    old = links.make_token(secret, "Narvik", "2025-05", person(bot, "nora@narvik.no")["id"], "nora@narvik.no",
                           NOW.timestamp() - 60)
    resp = await client.get("/status/form", params={"t": old})
    assert resp.status == 403 and "Lenken til skjemaet er utløpt." in await resp.text()
    # a link for Stad made for Narvik's leader does not let her answer for Stad
    other = links.make_token(secret, "Stad", "2025-05", person(bot, "nora@narvik.no")["id"], "nora@narvik.no",
                             NOW.timestamp() + 3600)
    resp = await client.get("/status/form", params={"t": other})
    assert resp.status == 403 and "Lenken gjelder ikke lenger" in await resp.text()
    assert bot.status.round.book.latest("Stad", "2025-05") is None


async def test_form_post_without_or_with_a_wrong_csrf_token_is_refused(client):
    bot = bot_of(client)
    page = await open_form(client, form_token(bot))
    for csrf in (None, "", "feil"):
        resp = await send_form(client, page, {"status": "Forsøk."}, csrf=csrf)
        assert resp.status == 403 and "sikkerhetskontrollen" in await resp.text()
    client.session.cookie_jar.clear()
    resp = await send_form(client, page, {"status": "Forsøk."})
    assert resp.status == 403
    assert bot.status.round.book.latest("Narvik", "2025-05") is None


async def test_without_public_url_the_prompt_has_no_link(tmp_path):
    k = Knowledge(Settings.load(environ={}, home=str(tmp_path / "home")), embedder=HashingEmbedder())
    try:
        app = build_app(k.settings, k)
        bot = app[BOT_KEY]
        bot.roster.import_csv(PEOPLE)
        reply = bot.status.round.prompt_reply("Narvik", "2025-05", "2025-05-09", person=person(bot, "nora@narvik.no"))
        assert "form_url" not in reply.data and "http" not in reply.text
    finally:
        k.close()


# -- the dashboard --------------------------------------------------------------------------------------------------
async def login(client, role="evaluator"):
    _, token = _tokens(client).create(role, "Eva")
    resp = await client.post("/status/login", data={"token": token}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return resp


def _tokens(client):
    from bot.tokens import Tokens
    return Tokens(bot_of(client).knowledge.store.db)


async def test_dashboard_without_a_session_shows_the_login(client):
    resp = await client.get("/status")
    page = await resp.text()
    assert resp.status == 200 and 'action="/status/login"' in page and "matrix" not in page
    for path in ("/status/export?from=2025-05&to=2025-05&format=csv", "/status/answer?pilot=Narvik&month=2025-05"):
        resp = await client.get(path)
        assert resp.status == 401 and 'action="/status/login"' in await resp.text()


async def test_wrong_or_revoked_token_is_refused(client):
    resp = await client.post("/status/login", data={"token": "hb_gjettet"}, allow_redirects=False)
    assert resp.status == 403 and "Ukjent eller tilbakekalt nøkkel" in await resp.text()
    assert SESSION_COOKIE not in resp.cookies
    tid, token = _tokens(client).create("evaluator", "Eva")
    _tokens(client).revoke(tid)
    resp = await client.post("/status/login", data={"token": token}, allow_redirects=False)
    assert resp.status == 403


async def test_member_level_access_is_refused(client):
    bot = bot_of(client)
    # a token row with a role below evaluator (older store, hand-made row) does not open the dashboard
    token = "hb_medlem"
    bot.knowledge.store.db["api_tokens"].insert({"sha256": hashlib.sha256(token.encode()).hexdigest(),
                                                 "role": "member", "name": "Sverre", "created_at": time.time(),
                                                 "revoked_at": None})
    resp = await client.post("/status/login", data={"token": token}, allow_redirects=False)
    assert resp.status == 403 and "bare evaluatorer og administratorer" in await resp.text()
    # nor does a leader's form link
    resp = await client.post("/status/login", data={"token": form_token(bot)}, allow_redirects=False)
    assert resp.status == 403
    assert "matrix" not in await (await client.get("/status")).text()


async def test_evaluator_sees_the_matrix_with_answered_and_missing_pilots(client):
    bot = bot_of(client)
    await bot.act(Turn("", platform="slack", user_id="UNARVIK"), "status_submit",
                  {"pilot": "Narvik", "month": "2025-05", "values": {"status": "I rute.", "budsjett": "900000",
                                                                     "forbrukt": "300000", "prognose": "850000"}})
    resp = await login(client)
    cookie = resp.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/status"
    assert not cookie.value.startswith("hb_")
    resp = await client.get("/status", params={"month": "2025-05"})
    assert resp.status == 200
    page = await resp.text()
    assert "<script" not in page
    rows = dict(re.findall(r'<tr class="pilot-(\w+) state-(\w+)">', page))
    assert rows == {"stad": "missing", "orkland": "missing", "narvik": "answered", "lyngdal": "missing"}
    narvik = re.search(r'<tr class="pilot-narvik.*?</tr>', page, re.S).group(0)
    assert '<td class="f-filled"' in narvik and '<td class="f-empty"' in narvik and "v1, UNARVIK" in narvik
    assert "<strong>1</strong> svart, <strong>0</strong> for sent, <strong>3</strong> mangler" in page
    assert page.count("<svg") == 3 and "<rect" in page and "<path" in page
    assert "Narvik, budsjett: 900\u00a0000\u00a0kr" in page
    assert 'href="/status/answer?pilot=Narvik&amp;month=2025-05"' in page


async def test_an_answer_is_readable_with_its_versions(client):
    bot = bot_of(client)
    for text in ("Første utkast.", "Rettet versjon."):
        bot.status.round.submit("Narvik", "2025-05", {"status": text}, by="Nora", platform="web")
    await login(client)
    resp = await client.get("/status/answer", params={"pilot": "narvik", "month": "2025-05"})
    page = await resp.text()
    assert resp.status == 200 and "2 versjoner" in page
    assert page.index("Versjon 2") < page.index("Versjon 1")
    assert "Rettet versjon." in page and "Første utkast." in page and "endret</span>" in page
    resp = await client.get("/status/answer", params={"pilot": "Stad", "month": "2025-05"})
    assert resp.status == 404


async def test_logout_ends_the_session(client):
    await login(client)
    page = await (await client.get("/status")).text()
    resp = await client.post("/status/logout", data={"csrf": hidden(page, "csrf")}, allow_redirects=False)
    assert resp.status == 303
    page = await (await client.get("/status")).text()
    assert 'action="/status/login"' in page


async def test_export_downloads_csv_and_xlsx(client):
    bot = bot_of(client)
    bot.status.round.submit("Narvik", "2025-04", {"status": "April: i rute.", "budsjett": "1 000 000"}, by="Nora")
    bot.status.round.submit("Narvik", "2025-05", {"status": "Mai: æøå i rute.", "budsjett": "1 100 000"}, by="Nora")
    await login(client)
    resp = await client.get("/status/export", params={"from": "2025-04", "to": "2025-05", "format": "csv"})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert 'filename="husbot-status-2025-04_2025-05.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    fields = len(bot.status.round.fields)
    assert len(rows) == 2 * fields
    may = {r["field"]: r for r in rows if r["month"] == "2025-05"}
    assert may["status"]["value"] == "Mai: æøå i rute." and may["budsjett"]["value"] == "1100000"
    assert may["status"]["submitted_by"] == "Nora" and may["status"]["status"] == "answered"
    resp = await client.get("/status/export", params={"from": "2025-04", "to": "2025-05", "format": "xlsx"})
    assert resp.status == 200 and "spreadsheetml" in resp.headers["Content-Type"]
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(await resp.read())).active
    table = list(ws.iter_rows(values_only=True))
    head = table[0]
    assert head[:3] == ("pilot", "month", "field") and len(table) == 1 + 2 * fields
    april_budget = next(r for r in table[1:] if r[1] == "2025-04" and r[2] == "budsjett")
    assert april_budget[head.index("value")] == 1000000
    bad = await client.get("/status/export", params={"from": "2025-06", "to": "2025-05", "format": "csv"})
    assert bad.status == 400
