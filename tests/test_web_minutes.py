"""Meeting minutes in the web chat: start/stop through /api/ask, the edit form's save and accept through /api/action,
a cited answer afterwards, malformed forms; and once in a real headless Chromium (edit a box, save, accept)."""
from __future__ import annotations

import shutil

import pytest
from aiohttp.test_utils import TestServer
from test_web_browser import ARGS, CHROMIUM
from test_web_chat import ask, client, indexed_home, web_index  # noqa: F401

from adapters.server import BOT_KEY, build_app
from adapters.web.translate import ERRORS
from bot import t
from bot.minutes import Minutes
from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder

MEETING = [
    "referat start arbeidsmøte 2025-03-05 Lyngdal regionlab",
    "Vi ble enige om å åpne Regionlab Lister for gründere hver fredag.",
    "Kari sender invitasjonen til gründerfrokosten innen 2025-03-12.",
    "Hvem betaler for kaffen?",
]


async def action(client, kind, value, conversation_id="samtale1", status=200):
    resp = await client.post("/api/action", json={"kind": kind, "value": value, "conversation_id": conversation_id})
    assert resp.status == status, await resp.text()
    return await resp.json()


async def meeting(client) -> dict:
    """The meeting above captured and stopped; returns the draft reply."""
    started = await ask(client, MEETING[0])
    assert started["kind"] == "minutes_started"
    for text in MEETING[1:]:
        assert (await ask(client, text))["kind"] == "none"          # collected, not answered
    draft = await ask(client, "referat stopp")
    assert draft["kind"] == "minutes_draft"
    return draft


async def test_start_stop_edit_and_accept_through_the_api_then_a_question_cites_it(client):
    draft = await meeting(client)
    form = draft["data"]["form"]
    assert form["id"] == 1 and form["submit"] == t("label_save") and form["hint"] == t("minutes_form_hint")
    assert form["values"] == {"decisions": "åpne Regionlab Lister for gründere hver fredag",
                              "actions": "sender invitasjonen til gründerfrokosten | Kari | 2025-03-12",
                              "questions": "Hvem betaler for kaffen?"}
    assert [a["kind"] for a in draft["actions"]] == ["minutes_accept", "minutes_edit"]

    saved = await action(client, "minutes_save", {
        "id": form["id"], "decisions": "Regionlab Lister er åpen for gründere hver fredag\nKaffen spanderes av kommunen",
        "actions": form["values"]["actions"], "questions": ""})
    assert saved["kind"] == "minutes_draft" and saved["data"]["minutes"]["version"] == 2
    assert saved["data"]["form"]["values"]["decisions"] == \
        "Regionlab Lister er åpen for gründere hver fredag\nKaffen spanderes av kommunen"
    assert "Utkast til referat #1 (versjon 2)" in saved["text"]

    accepted = await action(client, "minutes_accept", "1")
    assert accepted["kind"] == "minutes_accepted"
    assert accepted["text"] == t("minutes_accepted", id=1, n_decisions=2, n_actions=1)

    answer = await ask(client, "Hvem spanderer kaffen for gründere i Regionlab Lister?", conversation_id="senere")
    assert answer["kind"] == "answer"
    cited = [c for c in answer["citations"] if c["document"] == "referat-1"]
    assert cited and cited[0]["title"] == "Arbeidsmøte Lyngdal 2025-03-05 – Lyngdal regionlab"


async def test_the_form_id_may_be_text_and_empty_boxes_empty_the_section(client):
    await meeting(client)
    saved = await action(client, "minutes_save", {"id": "1", "decisions": "Ett vedtak", "actions": "", "questions": ""})
    content = saved["data"]["minutes"]["content"]
    assert (content["decisions"], content["actions"], content["questions"]) == (["Ett vedtak"], [], [])


@pytest.mark.parametrize("value", [
    "ikke et skjema", ["decisions"], {"decisions": "uten id"}, {"id": "1; drop", "decisions": "x"},
    {"id": "1"}, {"id": 1, "decisions": 42}, None,
])
async def test_a_malformed_form_is_a_400_and_changes_nothing(client, value):
    await meeting(client)
    body = await action(client, "minutes_save", value, status=400)
    assert body == {"error": ERRORS["minutes_form"]}
    rec = Minutes(client.server.app[BOT_KEY].knowledge.store.db).get(1)
    assert (rec["status"], rec["version"]) == ("draft", 1)


async def test_a_form_for_unknown_or_accepted_minutes_says_which(client):
    await meeting(client)
    unknown = await action(client, "minutes_save", {"id": 99, "decisions": "x"})
    assert unknown == {**unknown, "kind": "error", "text": t("minutes_unknown", id="99")}
    await action(client, "minutes_accept", "1")
    late = await action(client, "minutes_save", {"id": 1, "decisions": "x"})
    assert late["kind"] == "error" and late["text"] == t("minutes_not_draft", id=1)
    again = await action(client, "minutes_accept", "1")
    assert again["kind"] == "error" and again["text"] == t("minutes_not_draft", id=1)


# -- in a real browser ----------------------------------------------------------------------------------------------
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary found (see tests/test_web_browser.py)")
async def test_in_the_browser_a_draft_is_edited_saved_and_accepted(indexed_home, tmp_path):  # noqa: F811
    from playwright.async_api import async_playwright, expect

    k = Knowledge(Settings.load(environ={}, home=str(shutil.copytree(indexed_home, tmp_path / "home"))),
                  embedder=HashingEmbedder())
    async with TestServer(build_app(k.settings, k), host="127.0.0.1") as server, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await (await browser.new_context(locale="nb-NO")).new_page()
        await page.goto(str(server.make_url("/")))
        for text in MEETING + ["referat stopp"]:
            await page.fill("#question", text)
            async with page.expect_response("**/api/ask"):
                await page.press("#question", "Enter")
            await expect(page.locator(".thinking")).to_have_count(0)
        draft = page.locator("article.kind-minutes_draft")
        await expect(draft.get_by_label("Vedtak")).to_have_value("åpne Regionlab Lister for gründere hver fredag")
        await expect(draft.get_by_label("Åpne spørsmål")).to_have_value("Hvem betaler for kaffen?")

        await draft.get_by_label("Vedtak").fill("Regionlab Lister er åpen for gründere hver fredag\nKommunen betaler")
        async with page.expect_response("**/api/action"):
            await draft.get_by_role("button", name="Lagre").click()
        await expect(draft.locator(".text")).to_contain_text("versjon 2")
        await expect(draft.locator(".text")).to_contain_text("2. Kommunen betaler")
        await expect(page.locator("article.kind-minutes_draft")).to_have_count(1)     # replaced, not added

        async with page.expect_response("**/api/action"):
            await draft.get_by_role("button", name="Godta").click()
        await expect(page.locator("article.kind-minutes_accepted")).to_have_text(
            t("minutes_accepted", id=1, n_decisions=2, n_actions=1))
        await expect(draft.locator("form.minutes-form")).to_have_count(0)

        await page.reload()             # the newest version comes back once, without its form
        await expect(page.locator("article.kind-minutes_draft")).to_have_count(1)
        await expect(page.locator("article.kind-minutes_draft .text")).to_contain_text("versjon 2")
        await expect(page.locator("form.minutes-form")).to_have_count(0)
        await browser.close()
    rec = Minutes(k.store.db).get(1)
    assert rec["status"] == "accepted" and rec["content"]["decisions"][1] == "Kommunen betaler"
    k.close()


# -- uploading finished minutes ------------------------------------------------------------------------------------
def upload_form(name: str, data: bytes, text: str = "referat importer styringsgruppe 2025-03-04",
                conversation_id: str = "samtale1"):
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("text", text)
    form.add_field("conversation_id", conversation_id)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return form


async def test_an_uploaded_markdown_file_becomes_a_draft_and_a_broken_one_stores_nothing(client):
    minutes = ("# Styringsgruppe Lyngdal\n\nVedtak: Regionlab Lister får 200 000 kroner fra fondet.\n\n"
               "Kari sender avtalen til Lister Nyskaping innen 2025-03-14.\n").encode()
    resp = await client.post("/api/upload", data=upload_form("styremote.md", minutes))
    assert resp.status == 200, await resp.text()
    draft = await resp.json()
    assert draft["kind"] == "minutes_draft"
    assert draft["data"]["form"]["values"]["decisions"] == "Regionlab Lister får 200 000 kroner fra fondet"
    assert draft["data"]["form"]["values"]["actions"] == "sender avtalen til Lister Nyskaping | Kari | 2025-03-14"

    broken = await client.post("/api/upload", data=upload_form("styremote.docx", b"PK\x03\x04 brutt"))
    assert broken.status == 200
    assert (await broken.json())["text"] == t("minutes_upload_unreadable", name="styremote.docx")
    big = await client.post("/api/upload", data=upload_form("stor.txt", b"x" * (5 * 2 ** 20 + 10)))
    assert (await big.json())["text"] == t("minutes_upload_too_big", name="stor.txt", mb=5)
    assert len(Minutes(client.server.app[BOT_KEY].knowledge.store.db).list()) == 1


async def test_an_upload_without_a_file_or_as_json_is_a_400(client):
    resp = await client.post("/api/upload", json={"text": "referat importer"})
    assert resp.status == 400 and (await resp.json())["error"] == ERRORS["upload"]
    import aiohttp
    form = aiohttp.FormData()
    form.add_field("text", "referat importer")
    form.add_field("conversation_id", "samtale1")
    resp = await client.post("/api/upload", data=form)
    assert resp.status == 400 and (await resp.json())["error"] == ERRORS["upload"]


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary found (see tests/test_web_browser.py)")
async def test_in_the_browser_a_minutes_file_is_imported_with_the_words_in_the_box(indexed_home, tmp_path):  # noqa: F811
    from playwright.async_api import async_playwright, expect

    k = Knowledge(Settings.load(environ={}, home=str(shutil.copytree(indexed_home, tmp_path / "home"))),
                  embedder=HashingEmbedder())
    notes = tmp_path / "kaffemote.md"
    notes.write_text("# Kaffe med påfyll\n\nVi ble enige om å dele husleieavtalene mellom pilotene.\n", encoding="utf-8")
    async with TestServer(build_app(k.settings, k), host="127.0.0.1") as server, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await (await browser.new_context(locale="nb-NO")).new_page()
        await page.goto(str(server.make_url("/")))
        await page.fill("#question", "kaffemøte 2025-03-06")
        async with page.expect_response("**/api/upload"):
            await page.set_input_files("#minutes-file", str(notes))
        draft = page.locator("article.kind-minutes_draft")
        await expect(draft.get_by_label("Vedtak")).to_have_value("dele husleieavtalene mellom pilotene")
        await expect(page.locator(".msg.user").last).to_contain_text("referat importer kaffemøte 2025-03-06")
        await browser.close()
    rec = Minutes(k.store.db).get(1)
    assert (rec["type"], rec["date"], rec["status"]) == ("kaffemøte", "2025-03-06", "draft")
    k.close()
