"""The web chat's JSON API and page, through aiohttp's test client over a small indexed corpus."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.server import BOT_KEY, build_app
from adapters.web import to_turn
from adapters.web.routes import STATIC
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder
from support import write_corpus

LYNGDAL_REPORT = """Statens hus i Lyngdal – sluttrapport

Regionlab Lister i Lyngdal ga statsansatte kontorplass i det gamle rådhuset. Kontorfellesskapet ble organisert
med en vertskapsfunksjon i kommunen og et felles resepsjonsområde. Listerregionen brukte labben til
innovasjonsprosjekter sammen med næringslivet, og ansatte fra fem etater møttes til faglige frokostmøter.
"""


@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory) -> Path:
    """Four one-pilot reports (Stad, Orkland, Narvik, Lyngdal) indexed once with the hashing embedder."""
    tmp = tmp_path_factory.mktemp("web")
    folder = write_corpus(tmp / "corpus")
    (folder / "lyngdal-sluttrapport.txt").write_text(LYNGDAL_REPORT, encoding="utf-8")
    k = Knowledge(Settings.load(environ={}, home=str(tmp / "home")), embedder=HashingEmbedder())
    report = index_paths(k, [folder])
    assert len(report.indexed) == 4 and report.errors == []
    k.close()
    return tmp / "home"


@pytest.fixture
def web_index(indexed_home, tmp_path):
    """A private copy of the indexed corpus, so answers and feedback of one test never reach another."""
    home = shutil.copytree(indexed_home, tmp_path / "home")
    k = Knowledge(Settings.load(environ={}, home=str(home)), embedder=HashingEmbedder())
    yield k
    k.close()


@pytest.fixture
async def client(web_index):
    app = build_app(web_index.settings, web_index)
    async with TestClient(TestServer(app)) as c:
        yield c


async def ask(client, text, conversation_id="samtale1", **extra):
    resp = await client.post("/api/ask", json={"text": text, "conversation_id": conversation_id, **extra})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def act(client, kind, value, conversation_id="samtale1"):
    resp = await client.post("/api/action", json={"kind": kind, "value": value, "conversation_id": conversation_id})
    assert resp.status == 200, await resp.text()
    return await resp.json()


# -- asking -----------------------------------------------------------------------------------------------------
async def test_question_gets_an_answer_with_numbered_citations(client):
    reply = await ask(client, "Hva tilbyr huben i Orkland?")
    assert reply["kind"] == "answer" and reply["found"] is True
    assert reply["lead"] == "Dette sier kildene:"
    assert reply["sentences"][0] == ["Orkland kommune bygde opp Innovasjonshub Orkland på Orkanger.", 1]
    first = reply["citations"][0]
    assert first["number"] == 1
    assert first["title"] == "Statens hus i Orkland – statusrapport"
    assert first["document"] == "orkland-statusrapport.txt"
    assert first["page"] == 1
    assert "Lakseregionen og Thams Innovasjon" in first["text"]
    assert [a["kind"] for a in reply["actions"]][:2] == ["feedback_up", "feedback_down"]
    assert re.fullmatch(r"[0-9a-f]{16}", reply["answer_id"])


async def test_follow_up_in_the_same_conversation_keeps_the_topic(client):
    await ask(client, "Hva tilbyr huben i Orkland?", "samtale-a")
    reply = await ask(client, "og i Narvik?", "samtale-a")
    assert reply["question"] == "Hva tilbyr huben i Narvik?"
    assert reply["citations"][0]["document"] == "narvik-resultatnotat.txt"


async def test_follow_up_words_in_a_new_conversation_are_a_question_of_their_own(client):
    await ask(client, "Hva tilbyr huben i Orkland?", "samtale-a")
    reply = await ask(client, "og i Narvik?", "samtale-b")
    assert reply["question"] == "og i Narvik?"


async def test_pilot_filter_limits_the_sources_to_that_pilot(client):
    everyone = await ask(client, "Hvem arrangerte frokostmøter?", "s1")
    narvik = await ask(client, "Hvem arrangerte frokostmøter?", "s2", pilot="Narvik")
    assert {c["document"] for c in everyone["citations"]} > {"narvik-resultatnotat.txt"}
    assert [c["pilots"] for c in narvik["citations"]] == [["Narvik"]]


@pytest.mark.parametrize("pilot", [None, "", "Alle"])
async def test_no_pilot_or_alle_means_every_pilot(client, pilot):
    reply = await ask(client, "Hva tilbyr huben i Orkland?", pilot=pilot)
    assert reply["found"] is True and len(reply["citations"]) == 4


async def test_unknown_pilot_is_refused_with_the_list_of_pilots(client):
    resp = await client.post("/api/ask", json={"text": "Hei", "conversation_id": "x", "pilot": "Oslo"})
    assert resp.status == 400
    assert await resp.json() == {"error": "Ukjent pilot «Oslo». Velg en av Stad, Orkland, Narvik, Lyngdal, "
                                          "eller la feltet stå tomt for alle."}


async def test_comparison_comes_back_per_pilot(client):
    reply = await ask(client, "Hvilke etater flyttet inn hos pilotene?")
    assert reply["kind"] == "comparison"
    assert [p["pilot"] for p in reply["pilots"]] == ["Stad", "Orkland", "Narvik", "Lyngdal"]
    narvik = reply["pilots"][2]
    assert narvik["found"] is True and narvik["sentences"][0][1] == 1
    assert reply["citations"][0]["document"] == "narvik-resultatnotat.txt"
    assert "Stad: Ingen kilde funnet for Stad." in reply["text"]


async def test_suggestion_is_offered_and_can_be_asked(client):
    reply = await ask(client, "Hvem arrangerte frokostmøter?")
    assert reply["suggestions"] == ["Sammenlign pilotene på: Hvem arrangerte frokostmøter?"]
    follow = await ask(client, reply["suggestions"][0])
    assert follow["kind"] == "comparison"


async def test_empty_question_gets_a_friendly_reply(client):
    reply = await ask(client, "   ")
    assert reply["kind"] == "error"
    assert reply["text"] == "Skriv et spørsmål, så leter jeg i kildene. Skriv «hjelp» for eksempler."


async def test_help_lists_what_the_bot_can_do(client):
    reply = await ask(client, "hjelp")
    assert reply["kind"] == "help" and reply["text"].startswith("Jeg er husbot.")


async def test_a_40_kb_question_gets_the_bots_too_long_reply(client):
    reply = await ask(client, "Hva skjedde? " * 3100)
    assert reply["kind"] == "error"
    assert reply["text"].startswith("Spørsmålet er for langt (")
    assert "Korte det ned til under 2000 tegn og prøv igjen." in reply["text"]


async def test_a_request_above_the_size_limit_is_refused_with_413(client):
    resp = await client.post("/api/ask", json={"text": "x" * (1024 ** 2 + 10), "conversation_id": "x"})
    assert resp.status == 413
    assert await resp.json() == {"error": "Forespørselen er for stor. Korte ned teksten og prøv igjen."}


# -- buttons ----------------------------------------------------------------------------------------------------
async def test_show_source_gives_the_full_passage(client):
    reply = await ask(client, "Hva tilbyr huben i Orkland?")
    source = await act(client, "show_source", f"{reply['answer_id']}:1")
    assert source["kind"] == "source"
    assert source["text"].startswith("Kilde [1]: Statens hus i Orkland – statusrapport – ")
    assert "Utfordringen har vært å få de største etatene" in source["text"]


async def test_show_source_for_a_missing_number_says_so(client):
    reply = await ask(client, "Hva tilbyr huben i Orkland?")
    source = await act(client, "show_source", f"{reply['answer_id']}:9")
    assert source["text"] == "Jeg finner ingen kilde nummer 9 i forrige svar. Still et spørsmål først."


async def test_thumbs_up_is_counted_and_thanked(client):
    reply = await ask(client, "Hva tilbyr huben i Orkland?")
    thanks = await act(client, "feedback_up", reply["answer_id"])
    assert thanks["text"] == "Takk for tilbakemeldingen! 👍"
    assert client.app[BOT_KEY].feedback.counts()["up"] == 1


async def test_thumbs_down_then_reason_is_stored(client):
    reply = await ask(client, "Hva tilbyr huben i Orkland?")
    down = await act(client, "feedback_down", reply["answer_id"])
    assert down["text"].startswith("Takk! Hva var galt med svaret?")
    resp = await client.post("/api/feedback-reason", json={"feedback_id": down["answer_id"], "reason": "feil pilot"})
    assert resp.status == 200
    assert (await resp.json())["text"] == "Takk, begrunnelsen er lagret."
    counts = client.app[BOT_KEY].feedback.counts()
    assert counts["down"] == 1 and counts["recent_reasons"] == ["feil pilot"]


async def test_question_after_thumbs_down_is_answered_not_taken_as_the_reason(client):
    reply = await ask(client, "Hva tilbyr huben i Orkland?")
    down = await act(client, "feedback_down", reply["answer_id"])
    await client.post("/api/feedback-reason", json={"feedback_id": down["answer_id"], "reason": "for kort"})
    nxt = await ask(client, "Fortell om Mørketidsmagi", "samtale1")    # users often leave out the "?"
    assert nxt["kind"] == "answer"
    assert client.app[BOT_KEY].feedback.counts()["recent_reasons"] == ["for kort"]


async def test_feedback_on_an_unknown_answer_says_so(client):
    reply = await act(client, "feedback_up", "finnesikke")
    assert reply["text"] == "Jeg finner ikke det svaret lenger."


# -- malformed requests -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/ask", "/api/action", "/api/feedback-reason"])
@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "", "\"tekst\""])
async def test_body_that_is_not_a_json_object_is_a_400_in_norwegian(client, path, body):
    resp = await client.post(path, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error.startswith("Forespørselen må være et JSON-objekt")


@pytest.mark.parametrize("path, body, message", [
    ("/api/ask", {"conversation_id": "x"}, "Feltet «text» mangler eller er ikke tekst."),
    ("/api/ask", {"text": 42, "conversation_id": "x"}, "Feltet «text» mangler eller er ikke tekst."),
    ("/api/ask", {"text": "Hei"}, "Feltet «conversation_id» mangler eller er ikke tekst."),
    ("/api/ask", {"text": "Hei", "conversation_id": "../etc"},
     "Feltet «conversation_id» må være 1–64 tegn: bokstaver, tall, - eller _."),
    ("/api/action", {"value": "abc", "conversation_id": "x"}, "Feltet «kind» mangler eller er ikke tekst."),
    ("/api/action", {"kind": "feedback_up", "conversation_id": "x"}, "Feltet «value» mangler eller er ikke tekst."),
    ("/api/feedback-reason", {"reason": "feil"}, "Feltet «feedback_id» mangler eller er ikke et tall."),
    ("/api/feedback-reason", {"feedback_id": "1; drop", "reason": "feil"},
     "Feltet «feedback_id» mangler eller er ikke et tall."),
    ("/api/feedback-reason", {"feedback_id": 1, "reason": "  "}, "Skriv en kort begrunnelse før du sender."),
])
async def test_missing_or_wrong_fields_are_named_in_a_400(client, path, body, message):
    resp = await client.post(path, json=body)
    assert resp.status == 400
    assert await resp.json() == {"error": message}


async def test_reason_for_unknown_feedback_is_a_json_error_not_a_traceback(client):
    resp = await client.post("/api/feedback-reason", json={"feedback_id": 999, "reason": "feil"})
    body = await resp.json()
    assert "Traceback" not in await resp.text()
    assert body.get("error") or body.get("text")


def test_only_this_machine_acts_as_admin():
    body = {"conversation_id": "x"}
    assert to_turn(body, "127.0.0.1").role == "admin"
    assert to_turn(body, "::1").role == "admin"
    assert to_turn(body, "10.0.0.7").role is None      # the roster decides (a guest)
    assert to_turn(body, None).role is None


# -- page and health --------------------------------------------------------------------------------------------
async def test_page_is_served_with_its_own_script_only(client):
    resp = await client.get("/")
    assert resp.status == 200
    html = await resp.text()
    assert '<select id="pilot"' in html and "Lyngdal</option>" in html
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert (await client.get(asset)).status == 200


def test_page_script_never_writes_html_from_text():
    # why: answers quote the corpus and the user; all of it must reach the page as text, never as markup
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)


async def test_healthz_reports_the_index_and_the_web_surface(client):
    resp = await client.get("/healthz")
    assert resp.status == 200
    health = await resp.json()
    assert (health["status"], health["documents"], health["passages"]) == ("ok", 4, 4)
    assert "web" in health["surfaces"]
