"""Meeting minutes on Teams over real HTTP: capture in a channel's reply chain (messages without an @mention under
RSC), the draft card with its edit form, «Lagre» and «Godta» as card invokes, a cited answer afterwards, minutes
taken in the web chat and asked about in Teams, and due-date reminders through the outbox as proactive messages."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime

import aiohttp
import pytest
from test_teams import (CHANNEL, KARI, KARI_AAD, PERSONAL, TEAM, TENANT, fake, husbot,  # noqa: F401
                        husbot_settings, texts, verb_button)

from adapters.teams import to_card
from adapters.teams.package import manifest, validate_zip
from adapters.teams.package import build as build_package
from bot import Reply, Roster, t
from bot.minutes import Minutes

OLA_AAD = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
OLA = {"id": "29:1ola-teams-id", "name": "Ola Hansen", "aadObjectId": OLA_AAD}
MEETING_DAY = "2025-03-03"
DECISION = "Vi ble enige om å flytte Polarlysfestivalen til Narvikgården."
TASK = "Jeg sender budsjettet for Polarlysfestivalen innen 2025-03-14."
QUESTION = "Hvem booker lokalet til festivalen?"
ROSTER = ("pilot,name,role,email,slack_user_id,teams_aad_id\n"
          f"Narvik,Kari Nordmann,member,kari.nordmann@narvik.kommune.no,,{KARI_AAD}\n"
          f"Narvik,Ola Hansen,member,ola.hansen@narvik.kommune.no,,{OLA_AAD}\n")


def channel_post(h, text: str, root: str, who: dict = KARI) -> dict:
    """A reply in the channel thread under `root` that does not @mention husbot (Teams delivers it under RSC)."""
    a = h.activity("message", {}, text=text, textFormat="plain", **{"from": who},
                   channelData={"teamsChannelId": CHANNEL, "teamsTeamId": TEAM, "channel": {"id": CHANNEL},
                                "team": {"id": TEAM}, "tenant": {"id": TENANT}})
    a["conversation"] = {"conversationType": "channel", "isGroup": True, "tenantId": TENANT,
                         "id": f"{CHANNEL};messageid={root}"}
    return a


def inputs(card: dict) -> dict[str, str]:
    """The edit form's boxes (inside «Rediger»'s ShowCard): id → prefilled text."""
    found = {}
    for action in card.get("actions", []):
        if action["type"] == "Action.ShowCard":
            found.update({i["id"]: i.get("value", "") for i in action["card"]["body"] if i["type"] == "Input.Text"})
    return found


def save_button(card: dict) -> dict:
    [shown] = [a for a in card["actions"] if a["type"] == "Action.ShowCard"]
    [save] = shown["card"]["actions"]
    return save


async def mention_and_wait(h, text: str, root: str | None = None) -> tuple[dict, dict]:
    """@husbot in the channel (a new post, or in the thread under `root`); returns (the activity, the card posted)."""
    before = len(h.fake.cards())
    activity = h.mention(text, root=root)
    status, _ = await h.post(activity)
    assert status == 200
    await h.fake.wait_for(before + 1)
    return activity, h.fake.cards()[before]


async def capture_meeting(h) -> tuple[str, dict]:
    """«referat start» in a channel post, three thread replies without a mention, «referat stopp»: (root, draft)."""
    Roster(h.bot.knowledge.store.db).import_csv(ROSTER)
    Roster(h.bot.knowledge.store.db).add_channel("teams", CHANNEL, "Narvik")
    root, started = await mention_and_wait(h, f"referat start arbeidsmøte {MEETING_DAY} Polarlysfestivalen")
    assert texts(started)[0].startswith("Referat #1 startet (arbeidsmøte: Polarlysfestivalen)")
    posted = len(h.fake.sent())
    for text, who in ((DECISION, OLA), (TASK, KARI), (QUESTION, OLA)):
        status, _ = await h.post(channel_post(h, text, root["id"], who))
        assert status == 200
    await asyncio.sleep(0.2)
    assert len(h.fake.sent()) == posted                      # collected: not answered, not even "typing"
    _, draft = await mention_and_wait(h, "referat stopp", root=root["id"])
    return root["id"], draft


# -- capture, draft card, edit form, accept, cited answer -----------------------------------------------------------
async def test_channel_meeting_is_captured_drafted_edited_accepted_and_then_cited(husbot):
    root, draft = await capture_meeting(husbot)
    assert husbot.fake.sent("message")[-1]["_conversation"] == f"{CHANNEL};messageid={root}"
    lines = texts(draft)
    assert lines[0] == "Utkast til referat #1 (versjon 1): Arbeidsmøte Narvik 2025-03-03 – Polarlysfestivalen"
    assert "  1. flytte Polarlysfestivalen til Narvikgården" in lines
    assert any("sender budsjettet for Polarlysfestivalen" in ln and "ansvar: Kari Nordmann" in ln
               and "frist: 2025-03-14" in ln for ln in lines)
    assert f"  • {QUESTION}" in lines
    # «Godta» is a universal action; «Rediger» opens the form in the card, its boxes prefilled
    accept = verb_button(draft, "minutes_accept")
    assert accept == {"type": "Action.Execute", "title": "Godta", "verb": "minutes_accept", "data": {"value": "1"}}
    assert inputs(draft) == {"decisions": "flytte Polarlysfestivalen til Narvikgården",
                             "actions": "sender budsjettet for Polarlysfestivalen | Kari Nordmann | 2025-03-14",
                             "questions": QUESTION}
    [shown] = [a for a in draft["actions"] if a["type"] == "Action.ShowCard"]
    assert shown["title"] == "Rediger" and all(i["isMultiline"] for i in shown["card"]["body"]
                                               if i["type"] == "Input.Text")
    save = save_button(draft)
    assert (save["type"], save["title"], save["verb"], save["data"]) == \
        ("Action.Execute", "Lagre", "minutes_save", {"value": "1", "id": "1"})

    # «Lagre»: Teams sends the boxes' text along with the button's data; the answer replaces the card
    edited = {**save["data"], "decisions": "Polarlysfestivalen flyttes til Narvikgården\nBillettprisen holdes på 200 kr",
              "actions": "sender budsjettet for Polarlysfestivalen | Kari Nordmann | 2025-03-14\n"
                         "booker Narvikgården | Ola Hansen | innen 7. mars",
              "questions": ""}
    posted = len(husbot.fake.sent())
    status, body = await husbot.post(husbot.press("minutes_save", edited, conversation=channel_conv(root)))
    assert status == 200 and body["statusCode"] == 200
    v2 = body["value"]
    assert texts(v2)[0].startswith("Utkast til referat #1 (versjon 2)")
    assert "  2. Billettprisen holdes på 200 kr" in texts(v2)
    assert any("booker Narvikgården – ansvar: Ola Hansen – frist: 2025-03-07" in ln for ln in texts(v2))
    assert inputs(v2)["decisions"] == "Polarlysfestivalen flyttes til Narvikgården\nBillettprisen holdes på 200 kr"
    assert len(husbot.fake.sent()) == posted                 # answered in the invoke response only
    versions = Minutes(husbot.bot.knowledge.store.db).versions(1)
    assert [(v["version"], v["author"], v["note"]) for v in versions] == \
        [(1, "Kari Nordmann", "extracted"), (2, "Kari Nordmann", "form")]

    status, body = await husbot.post(husbot.press("minutes_accept", verb_button(v2, "minutes_accept")["data"],
                                                  conversation=channel_conv(root)))
    assert status == 200
    assert texts(body["value"]) == [t("minutes_accepted", id=1, n_decisions=2, n_actions=2)]
    assert "actions" not in body["value"]

    _, answer = await mention_and_wait(husbot, "Hva ble vedtatt om Billettprisen for Polarlysfestivalen?")
    lines = texts(answer)
    assert any("Billettprisen holdes på 200 kr" in ln and "[" in ln for ln in lines)
    assert any(ln.startswith("[") and "**Arbeidsmøte Narvik 2025-03-03 – Polarlysfestivalen** (referat-1)" in ln
               for ln in lines)


def channel_conv(root: str) -> dict:
    return {"conversationType": "channel", "isGroup": True, "tenantId": TENANT, "id": f"{CHANNEL};messageid={root}"}


async def test_channel_messages_without_a_mention_are_never_answered_or_stored_without_a_capture(husbot):
    root, _ = await mention_and_wait(husbot, "hjelp")
    before = len(husbot.fake.sent())
    for text in ("Hva er Innovasjonshub Orkland?", "hjelp", "referat stopp"):
        assert (await husbot.post(channel_post(husbot, text, root["id"])))[0] == 200
    await asyncio.sleep(0.2)
    assert len(husbot.fake.sent()) == before
    db = husbot.bot.knowledge.store.db
    assert db["minutes"].count == 0 and db["answers"].count == 0


async def test_in_a_group_chat_every_message_is_addressed(husbot):
    group = {"conversationType": "groupChat", "isGroup": True, "tenantId": TENANT, "id": "19:group-chat@thread.v2"}
    status, _ = await husbot.post(husbot.activity("message", group, text="hjelp", textFormat="plain"))
    assert status == 200
    [card] = [a["attachments"][0]["content"] for a in await husbot.fake.wait_for(1)]
    assert texts(card)[0] == t("help").split("\n")[0]


# -- bad input ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    {},                                                         # the id and the boxes lost on the way
    {"decisions": "noe nytt"},                                  # no id
    {"id": "1; drop table", "value": "x", "decisions": "noe nytt"},
    {"id": "1", "decisions": ["ikke", "tekst"]},                # a box that is no text
    {"id": "1"},                                                # an id but no boxes
    "not an object",                                            # data that is no JSON object
])
async def test_a_garbled_form_says_so_and_changes_nothing(husbot, data):
    root, draft = await capture_meeting(husbot)
    value = {"action": {"type": "Action.Execute", "verb": "minutes_save", "data": data}, "trigger": "manual"}
    press = husbot.activity("invoke", channel_conv(root), name="adaptiveCard/action", value=value)
    status, body = await husbot.post(press)
    assert status == 200 and texts(body["value"]) == [t("minutes_bad_form")]
    rec = Minutes(husbot.bot.knowledge.store.db).get(1)
    assert (rec["status"], rec["version"]) == ("draft", 1)


async def test_a_form_for_minutes_that_do_not_exist_or_are_accepted_says_which(husbot):
    root, draft = await capture_meeting(husbot)
    status, body = await husbot.post(husbot.press("minutes_save", {"id": "99", "decisions": "x"}, channel_conv(root)))
    assert texts(body["value"]) == [t("minutes_unknown", id="99")]
    await husbot.post(husbot.press("minutes_accept", {"value": "1"}, channel_conv(root)))
    status, body = await husbot.post(husbot.press("minutes_save", {**save_button(draft)["data"], "decisions": "x"},
                                                  channel_conv(root)))
    assert texts(body["value"]) == [t("minutes_not_draft", id=1)]
    assert Minutes(husbot.bot.knowledge.store.db).get(1)["content"]["decisions"] == [
        "flytte Polarlysfestivalen til Narvikgården"]


def test_a_draft_too_big_for_a_card_is_edited_by_command_instead():
    form = {"id": 4, "values": {"decisions": "x" * 13000, "actions": "", "questions": ""},
            "labels": {"decisions": "Vedtak", "actions": "Oppgaver", "questions": "Åpne spørsmål"},
            "hint": "", "title": "Rediger referat #4", "submit": "Lagre"}
    from bot import Action
    reply = Reply("minutes_draft", "Utkast", actions=[Action("minutes_accept", "Godta", "4"),
                                                      Action("minutes_edit", "Rediger", "4")], data={"form": form})
    assert [a["type"] for a in to_card(reply)["actions"]] == ["Action.Execute", "Action.Execute"]
    small = {**form, "values": {"decisions": "kort", "actions": "", "questions": ""}}
    card = to_card(Reply("minutes_draft", "Utkast", actions=reply.actions, data={"form": small}))
    assert [a["type"] for a in card["actions"]] == ["Action.Execute", "Action.ShowCard"]
    assert inputs(card) == {"decisions": "kort", "actions": "", "questions": ""}


# Teams uploads for «referat importer» are not supported (the bot declares supportsFiles: false), so there is no
# corrupt-upload case on this surface; pasted text goes through «referat importer <tekst>» like any message.


# -- the done-when: minutes from another surface, asked about in Teams -------------------------------------------
async def test_minutes_taken_in_the_web_chat_are_cited_when_asked_in_teams(husbot):
    Roster(husbot.bot.knowledge.store.db).import_csv(ROSTER)

    async def web(path: str, body: dict) -> dict:
        async with aiohttp.ClientSession() as s:
            async with s.post(husbot.server.make_url(path), json={"conversation_id": "styremote", **body}) as r:
                assert r.status == 200, await r.text()
                return await r.json()

    started = await web("/api/ask", {"text": "referat start styringsgruppe 2025-02-10 Narvik nordlysbudsjett"})
    assert started["kind"] == "minutes_started"
    for text in ("Styringsgruppen vedtok å sette av 300 000 kroner til Nordlyskontoret i Sentrumsgården.",
                 "Kari sender søknaden om Nordlyskontoret innen 2025-02-21."):
        assert (await web("/api/ask", {"text": text}))["kind"] == "none"
    draft = await web("/api/ask", {"text": "referat stopp"})
    assert draft["kind"] == "minutes_draft"
    accepted = await web("/api/action", {"kind": "minutes_accept", "value": str(draft["data"]["form"]["id"])})
    assert accepted["kind"] == "minutes_accepted"

    card = await husbot.ask("Hva vedtok styringsgruppen om Nordlyskontoret?")     # Kari, a Narvik member
    lines = texts(card)
    assert any("300 000 kroner til Nordlyskontoret" in ln for ln in lines)
    assert any("**Styringsgruppe Narvik 2025-02-10 – Narvik nordlysbudsjett** (referat-1)" in ln for ln in lines)


# -- due-date reminders through the outbox ---------------------------------------------------------------------------
async def test_an_owner_with_a_stored_teams_chat_gets_the_due_date_reminder_once(husbot):
    await husbot.ask("hjelp")                                  # Kari's personal chat is now stored
    await capture_meeting(husbot)
    await husbot.post(husbot.press("minutes_accept", {"value": "1"}))
    before = len(husbot.fake.sent("message"))

    counts = await husbot.bot.minutes.remind_due(datetime(2025, 3, 14, 8, 0))
    assert counts == {"sent": 1}
    [reminder] = husbot.fake.sent("message")[before:]
    assert reminder["_conversation"] == PERSONAL and reminder["_reply_to"] is None
    card = reminder["attachments"][0]["content"]
    assert any("sender budsjettet for Polarlysfestivalen" in ln for ln in texts(card))
    assert verb_button(card, "task_done")["data"] == {"value": "1"}

    assert await husbot.bot.minutes.remind_due(datetime(2025, 3, 14, 9, 0)) == {"already": 1}
    assert len(husbot.fake.sent("message")) == before + 1
    [row] = husbot.bot.outbox.sent("task_due")
    assert (row["platform"], row["status"], row["recipient"]) == ("teams", "sent", "Kari Nordmann")

    # «Ferdig» on the reminder closes the task
    status, body = await husbot.post(husbot.press("task_done", {"value": "1"}))
    assert status == 200 and texts(body["value"])[0].startswith("Oppgave #1")


async def test_an_owner_without_a_stored_teams_chat_is_recorded_as_failed_with_the_reason(husbot):
    await capture_meeting(husbot)                               # only the channel is stored, not Kari's chat
    await husbot.post(husbot.press("minutes_accept", {"value": "1"}, channel_conv("x")))
    assert await husbot.bot.minutes.remind_due(datetime(2025, 3, 15, 8, 0)) == {"failed": 1}
    [row] = husbot.bot.outbox.sent("task_due")
    assert row["status"] == "failed" and "no stored personal Teams chat with Kari Nordmann" in row["error"]


# -- the app package asks for the channel messages --------------------------------------------------------------------
def test_the_app_package_requests_rsc_for_channel_messages_and_still_validates(tmp_path):
    settings = husbot_settings(tmp_path, microsoft_app_id="3f1c9a2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
                               microsoft_app_password="x", public_url="https://husbot.example.no")
    data = manifest(settings)
    assert data["authorization"] == {"permissions": {"resourceSpecific": [
        {"name": "ChannelMessage.Read.Group", "type": "Application"}]}}
    assert data["webApplicationInfo"]["id"] == settings.microsoft_app_id
    assert validate_zip(build_package(settings, tmp_path / "husbot.zip")) == []
    from adapters.teams.package import validate
    bad = {**data, "authorization": {"permissions": {"resourceSpecific": [{"name": "ChannelMessage.Read.Group",
                                                                           "type": "Sometimes"}]}}}
    problems = validate({"manifest.json": json.dumps(bad).encode()})
    assert any("authorization/permissions/resourceSpecific/0/type" in p for p in problems)
